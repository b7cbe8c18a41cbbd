package cli

import (
	"io"
	"runtime"
	"sync"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcpdump"
	"github.com/tcplens/tcplens/internal/wire"
)

// Plain `read` formats lines on every core. tcpdump's only state is per
// connection (the relative-sequence bases), so frames are dealt to
// workers by a hash of their 4-tuple, both directions alike: each worker
// sees all of its connections' frames, in order, with a printer of its
// own. The reader copies frames into batches; a batch goes to every
// worker, each formats its share into its own buffer, and the lines are
// written in frame order.

// A batch holds up to batchFrames frames, their headers only (at most
// some 140 bytes each, see connHash), or batchBytes of short frames kept
// whole.
const (
	batchFrames = 4096
	batchBytes  = 1 << 20
)

type batch struct {
	arena  []byte
	frames []pcap.Frame // Data holds the headers: the first bytes of caplen[i]
	caplen []int
	owner  []int8    // worker that printed frame i, -1 for none
	share  [][]int32 // per worker: the frames it formats
	out    [][]byte
	marks  [][]int // per worker: end offset in out[w] of each line it printed
	wg     sync.WaitGroup
}

// newBatch makes a batch with buffers of its working size, or small ones
// that grow as it fills: the first batch starts small, so a short capture
// never pays for megabytes of buffers (on a file of a few packets that
// cost more time than the reading), and the others start full-sized, since
// growing them costs the long captures time in copies and collections.
func newBatch(workers int, small bool) *batch {
	arena, out := batchBytes+64<<10, 2*batchFrames*160/workers
	if small {
		arena, out = 64<<10, 16<<10
	}
	b := &batch{arena: make([]byte, 0, arena), share: make([][]int32, workers),
		out: make([][]byte, workers), marks: make([][]int, workers)}
	for w := range b.out {
		b.out[w] = make([]byte, 0, out)
	}
	return b
}

func (b *batch) reset() {
	b.arena = b.arena[:0]
	b.frames = b.frames[:0]
	b.caplen = b.caplen[:0]
	b.owner = b.owner[:0]
	for w := range b.out {
		b.out[w] = b.out[w][:0]
		b.marks[w] = b.marks[w][:0]
		b.share[w] = b.share[w][:0]
	}
}

// add copies the first keep bytes of f into the batch for worker w; it
// reports whether the batch is full.
func (b *batch) add(f *pcap.Frame, w, keep int) bool {
	start := len(b.arena)
	b.arena = append(b.arena, f.Data[:min(keep, len(f.Data))]...)
	g := *f
	g.Data = b.arena[start:len(b.arena):len(b.arena)]
	b.share[w] = append(b.share[w], int32(len(b.frames)))
	b.frames = append(b.frames, g)
	b.caplen = append(b.caplen, len(f.Data))
	b.owner = append(b.owner, -1)
	return len(b.frames) >= batchFrames || len(b.arena) >= batchBytes
}

// connHash spreads frames over workers by connection, both directions
// alike, and says how many bytes the printer needs: through the longest
// TCP header there could be. Frames it cannot place go to worker 0 whole.
func connHash(f *pcap.Frame) (h uint32, keep int) {
	d := f.Data
	keep = len(d)
	link, err := wire.ParseLink(f.Link, d)
	if err != nil {
		return 0, keep
	}
	off := link.HeaderLen
	var a, b []byte
	tcp := -1
	switch link.EtherType {
	case wire.EtherTypeIPv4:
		if len(d) < off+20 {
			return 0, keep
		}
		a, b = d[off+12:off+16], d[off+16:off+20]
		if d[off+6]&0x1f == 0 && d[off+7] == 0 { // not a later fragment
			tcp = off + int(d[off]&0x0f)*4
		}
	case wire.EtherTypeIPv6:
		if len(d) < off+40 {
			return 0, keep
		}
		a, b = d[off+8:off+24], d[off+24:off+40]
		chain, _ := wire.IPv6(d[off:]).Walk(off)
		if chain.Upper == wire.ProtoTCP && !(chain.Fragment && chain.FragOffset != 0) {
			tcp = off + chain.UpperOff
		}
	default:
		return 0, keep
	}
	for i := range a {
		h += uint32(a[i]) ^ uint32(b[i]) // symmetric in the two addresses
		h *= 16777619
	}
	if tcp >= 0 && len(d) >= tcp+4 {
		sp := uint32(d[tcp])<<8 | uint32(d[tcp+1])
		dp := uint32(d[tcp+2])<<8 | uint32(d[tcp+3])
		h ^= (sp ^ dp) * 2654435761
		// The longest TCP header the data offset can claim: whatever the
		// header says, the printer reads no further.
		keep = tcp + 60
	}
	return h, keep
}

// readParallel prints every frame of c with one printer per worker, as
// the sequential loop does, and returns the first write error.
func readParallel(c *capture, opt tcpdump.Options, w io.Writer) error {
	workers := min(runtime.GOMAXPROCS(0), 8)
	const inFlight = 3
	free := make(chan *batch, inFlight)
	made := 1
	// nextBatch makes up to inFlight batches, and only as the reader
	// outruns the printers.
	nextBatch := func() *batch {
		if made < inFlight {
			select {
			case b := <-free:
				return b
			default:
				made++
				return newBatch(workers, false)
			}
		}
		return <-free
	}
	work := make([]chan *batch, workers)
	done := make(chan *batch, inFlight)
	for i := range work {
		work[i] = make(chan *batch, inFlight)
		go func(id int, in <-chan *batch) {
			p := tcpdump.NewPrinter(opt)
			for b := range in {
				for _, i := range b.share[id] {
					f := &b.frames[i]
					var ok bool
					b.out[id], ok = p.AppendPrefix(b.out[id], f, b.caplen[i])
					if ok {
						b.owner[i] = int8(id)
						b.marks[id] = append(b.marks[id], len(b.out[id]))
					}
				}
				b.wg.Done()
			}
		}(i, work[i])
	}
	// The writer waits for each batch in order and writes its lines in
	// frame order.
	var werr error
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		next := make([]int, workers)
		pos := make([]int, workers)
		for b := range done {
			b.wg.Wait()
			clear(next)
			clear(pos)
			for _, o := range b.owner {
				if o < 0 || werr != nil {
					continue
				}
				end := b.marks[o][next[o]]
				if _, err := w.Write(b.out[o][pos[o]:end]); err != nil {
					werr = err
				}
				pos[o] = end
				next[o]++
			}
			b.reset()
			free <- b
		}
	}()
	b := newBatch(workers, true)
	send := func() {
		b.wg.Add(workers)
		for _, ch := range work {
			ch <- b
		}
		done <- b
	}
	for {
		f, ok := c.next()
		if !ok {
			break
		}
		h, keep := connHash(&f)
		if b.add(&f, int(h%uint32(workers)), keep) {
			send()
			b = nextBatch()
		}
	}
	if len(b.frames) > 0 {
		send()
	} else {
		free <- b
	}
	for _, ch := range work {
		close(ch)
	}
	close(done)
	<-writerDone
	return werr
}
