// Package analyze is the pipeline from frames to analysed segments and
// finished connections: decode, find the connection, run both endpoints'
// state machines and the segment analysis. It streams: memory grows with
// the connections open at once, not with the capture.
package analyze

import (
	"errors"
	"math"
	"net/netip"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/flowhash"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// Options configure an Analyzer or a Parallel.
type Options struct {
	MaxConns int // cap on connections held at once; 0 for conn.DefaultMaxConns
	// Threads is how many workers a Parallel runs (at most the shards
	// there are); 0 or less for one. The results do not depend on it.
	Threads int
	// Shard, when its N is above 1, has an Analyzer or a Parallel
	// analyse only the connections whose flow hash (internal/flowhash:
	// both directions alike, the same on every machine) falls in shard K
	// of N, so that N runs over the same capture, K from 0 to N-1,
	// analyse each connection once between them. A segment of another
	// shard is counted (Stats.Skipped), moves the analysis's clock
	// (connections end at the moments they would in a run of every
	// shard), goes to OnSkip when set (a Parallel's to its note and its
	// workers' Hooks.Other), and is otherwise left alone.
	Shard  Shard
	OnSkip func(f *pcap.Frame, s *wire.Segment) // an Analyzer's
}

// Shard is shard K of N.
type Shard struct{ K, N int }

// Has reports whether the connection between a and b is in the shard.
func (sh Shard) Has(a, b netip.AddrPort) bool {
	return sh.N <= 1 || flowhash.Shard(hashOf(a, b), sh.N) == sh.K
}

// Segment is one analysed TCP segment. It and everything it points to are
// valid only during the callback that receives it.
type Segment struct {
	Frame  *pcap.Frame
	Seg    *wire.Segment
	Err    error      // a malformed header; Seg holds what could be decoded
	Conn   *conn.Conn // nil when the segment could not be tied to a connection
	End    int        // index in Conn.Ends of the sender
	Dir    conn.Dir
	Result *tcp.Result
}

// Stats counts what the capture held.
type Stats struct {
	Frames      int
	Segments    int // TCP segments analysed
	NotTCP      int // frames without TCP
	Fragments   int // later IP fragments of TCP segments
	Malformed   int // TCP segments whose headers could not be decoded
	Skipped     int // TCP segments of connections in other shards (Options.Shard)
	First, Last pcap.Time
	// Links counts frames by link type. It lags by the frames of the
	// latest run of one link type until Close: a map update per frame
	// cost a twentieth of the whole analysis.
	Links map[pcap.LinkType]int
	Conns int // connections seen
}

// Analyzer runs the analysis on the caller's goroutine, calling back for
// every segment; Parallel spreads it over cores, for callers that need
// only the connections.
type Analyzer struct {
	w         *worker
	shards    int
	frame     pcap.Frame // a copy of the frame being analysed, so the caller's does not escape
	out       Segment
	onSegment func(*Segment)
	onConn    func(*conn.Conn, conn.EndReason)
	Stats     Stats
	counter   frameCounter
	ids       int       // connections numbered so far
	lastScan  pcap.Time // the time of the latest expiry
	shard     Shard
	onSkip    func(*pcap.Frame, *wire.Segment)
}

// New returns an Analyzer that calls onSegment for every TCP segment (may
// be nil) and onConn for every connection when it ends: idle, evicted,
// replaced by a new one on its 4-tuple, or at the end of the capture.
func New(opts Options, onSegment func(*Segment), onConn func(*conn.Conn, conn.EndReason)) *Analyzer {
	a := &Analyzer{onSegment: onSegment, onConn: onConn, shards: Shards(opts.MaxConns), shard: opts.Shard, onSkip: opts.OnSkip}
	a.Stats.Links = map[pcap.LinkType]int{}
	a.w = newWorker(a.shards, func(int) bool { return true }, opts.MaxConns, &a.Stats)
	return a
}

// Counts are the connection tables' counts.
func (a *Analyzer) Counts() TableCounts {
	var c TableCounts
	a.w.counts(&c)
	return c
}

// Add analyses one frame. It does not keep f.
func (a *Analyzer) Add(frame *pcap.Frame) {
	a.frame = *frame
	f := &a.frame
	w := a.w
	s := &w.seg
	c, end, err := a.find(f, s)
	a.flush()
	if err == errSkipped && a.onSkip != nil {
		// After the connections its tick ended are handed on, as a
		// segment of this shard is after them: what it tells of its
		// host is news to the rules of the connections ending at it.
		a.onSkip(f, s)
	}
	if c == nil {
		if err != nil && s.TCP == nil && !errors.Is(err, wire.ErrFragment) && !errors.Is(err, wire.ErrNotTCP) && err != errSkipped {
			w.res = tcp.Result{BytesInFlight: -1, WindowScaled: -1, Changes: w.res.Changes[:0]}
			w.res.Analysis.Add(event.Malformed)
			a.emit(f, err, nil, 0)
		}
		return
	}
	in := input(f, s)
	c.Step(end, &in, &w.res)
	if err != nil {
		w.res.Analysis.Add(event.Malformed)
	}
	a.emit(f, err, c, end)
}

// find counts frame f, decodes it into s and finds the connection of the
// segment, expiring idle connections every conn.ExpireEvery. It returns a
// nil connection for a frame without a TCP header to analyse, and the
// error for a malformed one.
func (a *Analyzer) find(f *pcap.Frame, s *wire.Segment) (*conn.Conn, int, error) {
	a.counter.count(f, &a.Stats)
	err := wire.Decode(f, s)
	if s.Fragment || err != nil && errors.Is(err, wire.ErrFragment) {
		// Analysed once, when its datagram is whole (frag.go).
		whole, ok := a.counter.frags.add(f, s)
		if !ok {
			a.Stats.Fragments++
			return nil, 0, wire.ErrFragment
		}
		err = wire.Decode(&whole, s)
	}
	w := a.w
	if !w.counted(s, err) {
		return nil, 0, err
	}
	if !a.shard.Has(s.Src, s.Dst) {
		a.Stats.Skipped++
		a.tick(f)
		return nil, 0, errSkipped
	}
	c, end := w.lookup(f, s, shardOf(s.Src, s.Dst, a.shards))
	a.tick(f)
	return c, end, err
}

// tick expires idle connections every conn.ExpireEvery, at a segment:
// one of another shard too, so that connections end at the moments they
// would in a run of every shard.
func (a *Analyzer) tick(f *pcap.Frame) {
	if f.Time.Sub(a.lastScan) >= conn.ExpireEvery {
		a.lastScan = f.Time
		a.w.expire(f.Number, f.Time)
	}
}

// errSkipped marks a segment of another shard's connection.
var errSkipped = errors.New("analyze: a connection of another shard")

// flush numbers the connections the worker logged as new and hands on
// those that ended, in the order logged.
func (a *Analyzer) flush() {
	w := a.w
	for i := range w.log {
		r := &w.log[i]
		if r.created {
			a.ids++
			r.c.ID = a.ids
		} else if a.onConn != nil {
			a.onConn(r.c, r.why)
		}
	}
	clear(w.log) // the connections may end long before the log fills again
	w.log = w.log[:0]
}

// input is what Step needs of a segment, its checksum verified.
func input(f *pcap.Frame, s *wire.Segment) tcp.Input {
	status, _, cause := s.VerifyChecksum()
	in := tcp.Input{Seg: s, Frame: f.Number, Time: f.Time}
	switch status {
	case wire.ChecksumCorrect:
		in.Checksum = tcp.ChecksumGood
	case wire.ChecksumIncorrect:
		in.Checksum = tcp.ChecksumBad
		in.Offload = cause != wire.NoOffload
	}
	return in
}

func (a *Analyzer) emit(f *pcap.Frame, err error, c *conn.Conn, end int) {
	if a.onSegment == nil {
		return
	}
	a.out = Segment{Frame: f, Seg: &a.w.seg, Err: err, Conn: c, End: end, Result: &a.w.res}
	if c != nil {
		a.out.Dir = c.DirOf(end)
	}
	a.onSegment(&a.out)
}

// Close ends the capture: every connection still open is handed to onConn.
func (a *Analyzer) Close() {
	a.counter.flushLinks(&a.Stats)
	a.w.close(a.Stats.Frames+1, a.Stats.Last, math.MaxInt)
	a.flush()
}

// frameCounter counts what every frame is, before any decoding, and puts
// fragmented datagrams back together: what the analysis does with a
// frame before it knows its connection.
type frameCounter struct {
	frags   fragments     // IP fragments of TCP segments, until their datagrams are whole
	link    pcap.LinkType // the link type of the latest frames
	linkRun int           // how many of them Stats.Links does not count yet
}

// count counts frame f into st: Frames, First, Last and (with a lag, see
// Stats.Links) Links.
func (fc *frameCounter) count(f *pcap.Frame, st *Stats) {
	st.Frames++
	if f.Link != fc.link {
		fc.flushLinks(st)
		fc.link = f.Link
	}
	fc.linkRun++
	if st.First == 0 || f.Time < st.First {
		st.First = f.Time
	}
	st.Last = max(st.Last, f.Time)
}

func (fc *frameCounter) flushLinks(st *Stats) {
	if fc.linkRun > 0 {
		st.Links[fc.link] += fc.linkRun
		fc.linkRun = 0
	}
}
