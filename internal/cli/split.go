package cli

import (
	"io"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/tcplens/tcplens/internal/bpf"
	"github.com/tcplens/tcplens/internal/pcap"
)

// A filter that passes few frames leaves a command little to do but read
// the file and run the filter, one frame after another on one core. So a
// large classic pcap file read through a filter is read by two: the
// caller's goroutine reads the first half as usual, a second goroutine
// reads the second half from a record boundary (pcap.Boundary guesses
// it), filters it with a filter of its own and keeps the frames that pass,
// at most splitBuffered at a time. When the first half's reader reaches
// the boundary and finds a record starting exactly there, the guess was
// right and the frames of the second half follow, numbered on from the
// first's; otherwise the second half's work is thrown away and the first
// reader goes on alone. Should the second half meet anything but clean
// records (a warning, a corrupt record, a frame the filter cannot take),
// it stops there, and the first reader takes over from the record after
// the last one the second half handled: the frames, their numbers and the
// warnings are exactly those of one reading from the start.

// splitMinSize is the smallest file read by two: below it, starting the
// second costs more than it saves. (A variable, for the tests.)
var splitMinSize int64 = 32 << 20

// splitGuess guesses where the second half starts. (A variable, for the
// tests: a wrong guess must cost nothing but time.)
var splitGuess = func(r *pcap.Reader, f *os.File, size int64) (int64, bool) { return r.Boundary(f, size, size/2) }

const (
	// splitBatchBytes and splitBuffered bound what the second half keeps
	// waiting for the first: a filter that passes most frames fills it,
	// and the second half waits.
	splitBatchBytes = 1 << 20
	splitBuffered   = 16
)

// split is the second half of a capture read by two.
type split struct {
	at      int64 // where the second half starts: a record's offset, if the guess is right
	batches chan *splitBatch
	free    chan *splitBatch // batches handed out, to be filled again
	stop    chan struct{}
	bytes   atomic.Int64 // read of the file by the second half

	draining bool        // the first half reached the boundary: frames come from batches
	base     int         // frames before the boundary: the first frame of the second half is base+1
	cur      *splitBatch // the batch being handed out
	i        int         // the next frame of cur
	// skipTo is, after the second half stopped short, the offset of the
	// last record it handled: the first half's reader goes on from the
	// record after it.
	skipTo int64
}

// read is how many frames of the file are read, up to the batch being
// handed out.
func (s *split) readSoFar() int {
	if s.cur == nil {
		return s.base
	}
	return s.base + s.cur.read
}

// splitBatch is frames of the second half that passed the filter, their
// data copied, numbered from 1 at the boundary.
type splitBatch struct {
	frames []pcap.Frame
	arena  []byte
	read   int // frames the second half had read up to the end of the batch
	// last is the offset of the last record the batch covers; done says
	// the second half ended after it: cleanly (failed false), or at a
	// problem the first half's reader will meet again.
	last   int64
	done   bool
	failed bool
}

// startSplit starts reading the second half of c's one input, when it is
// a file large enough, uncompressed classic pcap, read through a filter,
// on a machine with a second core.
func (c *capture) startSplit(expr string) {
	in := c.one
	if c.filter == nil || in.path == "" || in.size < splitMinSize || in.compressed || in.format != pcap.FormatPcap ||
		runtime.GOMAXPROCS(0) < 2 {
		return
	}
	f, err := os.Open(in.path)
	if err != nil {
		return
	}
	at, ok := splitGuess(in.reader, f, in.size)
	if !ok {
		f.Close()
		return
	}
	s := &split{at: at, batches: make(chan *splitBatch, splitBuffered), free: make(chan *splitBatch, splitBuffered+2), stop: make(chan struct{})}
	r, err := pcap.ResumeClassic(&countingReaderAt{f, &s.bytes}, in.size, at)
	if err != nil {
		f.Close()
		return
	}
	flt, err := bpf.NewFilter(expr) // a Filter is one goroutine's
	if err != nil {
		f.Close()
		return
	}
	c.split = s
	go s.read(f, r, flt, in.bigEndian)
}

// read is the second half's goroutine.
func (s *split) read(f *os.File, r *pcap.Reader, flt *bpf.Filter, bigEndian bool) {
	defer f.Close()
	defer close(s.batches)
	// Batches come back to be filled again: a batch made for each would
	// have the collector stop both readers to sweep them.
	fresh := func(last int64, read int) *splitBatch {
		select {
		case b := <-s.free:
			b.frames, b.arena, b.last, b.read = b.frames[:0], b.arena[:0], last, read
			return b
		default:
			return &splitBatch{frames: make([]pcap.Frame, 0, batchFrames), arena: make([]byte, 0, splitBatchBytes+64<<10), last: last, read: read}
		}
	}
	b := fresh(s.at-1, 0)
	send := func() bool {
		select {
		case s.batches <- b:
			b = fresh(b.last, b.read)
			return true
		case <-s.stop:
			return false
		}
	}
	for {
		fr, err := r.Next()
		if err != nil {
			// The end, or a problem: the first half's reader says what
			// it is, if anything, when it meets it.
			b.done, b.failed = true, err != io.EOF
			send()
			return
		}
		pass, err := flt.Match(&fr, bigEndian)
		if err != nil {
			b.done, b.failed = true, true
			send()
			return
		}
		b.read++
		b.last = fr.Offset
		if pass {
			start := len(b.arena)
			b.arena = append(b.arena, fr.Data...)
			fr.Data = b.arena[start:len(b.arena):len(b.arena)]
			b.frames = append(b.frames, fr)
		}
		if len(b.arena) >= splitBatchBytes || len(b.frames) >= batchFrames {
			if !send() {
				return
			}
		}
	}
}

// reached is called with the first frame the first half's reader reads at
// or past the boundary; it reports whether the frame is the second half's
// first, so that the frames now come from the second half. If not, the
// guess was wrong, and the second half is stopped.
func (s *split) reached(f *pcap.Frame) bool {
	if f.Offset != s.at {
		s.cancel()
		return false
	}
	s.draining, s.base = true, f.Number-1
	return true
}

// cancel stops the second half and forgets it.
func (s *split) cancel() {
	if s.stop != nil {
		close(s.stop)
		s.stop = nil
		for range s.batches {
		}
	}
	s.draining = false
}

// next hands out the second half's next frame, renumbered; false when
// the second half is done: at the end of the file (end true), or short of
// it, the first half's reader to go on from the record after skipTo.
func (s *split) next() (f pcap.Frame, ok, end bool) {
	for {
		if s.cur != nil && s.i < len(s.cur.frames) {
			f = s.cur.frames[s.i]
			s.i++
			f.Number += s.base
			return f, true, false
		}
		if s.cur != nil && s.cur.done {
			s.draining = false
			s.skipTo = s.cur.last
			return f, false, !s.cur.failed
		}
		if s.cur != nil {
			select {
			case s.free <- s.cur: // its frames are handed out, the last no longer in use
			default:
			}
		}
		b, more := <-s.batches
		if !more {
			// Stopped without a last batch: cannot happen while
			// draining, but the first half can always go on.
			s.draining = false
			s.skipTo = s.at - 1
			return f, false, false
		}
		s.cur, s.i = b, 0
	}
}

// countingReaderAt counts the bytes the second half reads, for the
// progress line, which reads them from another goroutine.
type countingReaderAt struct {
	r io.ReaderAt
	n *atomic.Int64
}

func (c *countingReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(b, off)
	if c.n != nil {
		c.n.Add(int64(n))
	}
	return n, err
}
