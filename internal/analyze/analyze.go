// Package analyze is the pipeline from frames to analysed segments and
// finished connections: decode, find the connection, run both endpoints'
// state machines and the segment analysis. It streams: memory grows with
// the connections open at once, not with the capture.
package analyze

import (
	"errors"
	"net/netip"
	"runtime"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/flowhash"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// Options configure an Analyzer.
type Options struct {
	MaxConns int // cap on connections held at once; 0 for conn.DefaultMaxConns
	// Pipeline steps the connections on a goroutine of its own, for
	// twice the speed on two cores; it applies when onSegment is nil,
	// and with more than one core. The connections are the same.
	Pipeline bool
	// Shard, when its N is above 1, analyses only the connections whose
	// flow hash (internal/flowhash: both directions alike, the same on
	// every machine) falls in shard K of N, so that N runs over the same
	// capture, K from 0 to N-1, analyse each connection once between
	// them. A segment of another shard is decoded and counted, moves the
	// connection table's clock (connections end at the moments they
	// would in a run of every shard), goes to OnSkip when set, and is
	// otherwise left alone.
	Shard  Shard
	OnSkip func(f *pcap.Frame, s *wire.Segment)
}

// Shard is shard K of N.
type Shard struct{ K, N int }

// Has reports whether the connection between a and b is in the shard.
func (sh Shard) Has(a, b netip.AddrPort) bool {
	return sh.N <= 1 || flowhash.Shard(flowhash.Of(a, b), sh.N) == sh.K
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

// Analyzer runs the pipeline.
type Analyzer struct {
	table     *conn.Table
	frame     pcap.Frame // a copy of the frame being analysed, so the caller's does not escape
	seg       wire.Segment
	res       tcp.Result
	out       Segment
	onSegment func(*Segment)
	Stats     Stats

	frags fragments // IP fragments of TCP segments, until their datagrams are whole

	link    pcap.LinkType // the link type of the latest frames
	linkRun int           // how many of them Stats.Links does not count yet

	pipe *pipeline // nil when the analysis runs on the caller's goroutine alone

	shard  Shard
	onSkip func(*pcap.Frame, *wire.Segment)
}

// New returns an Analyzer that calls onSegment for every TCP segment (may
// be nil) and onConn for every connection when it ends: idle, evicted,
// replaced by a new one on its 4-tuple, or at the end of the capture.
func New(opts Options, onSegment func(*Segment), onConn func(*conn.Conn, conn.EndReason)) *Analyzer {
	a := &Analyzer{onSegment: onSegment, shard: opts.Shard, onSkip: opts.OnSkip}
	a.Stats.Links = map[pcap.LinkType]int{}
	a.table = conn.NewTable(opts.MaxConns, onConn)
	a.res.Changes = make([]tcp.Change, 0, 8)
	if opts.Pipeline && onSegment == nil && runtime.GOMAXPROCS(0) > 1 {
		a.pipe = newPipeline()
		a.table.Settle = a.settle
	}
	return a
}

// Table exposes the connection table, for its counts.
func (a *Analyzer) Table() *conn.Table { return a.table }

// Add analyses one frame. It does not keep f.
func (a *Analyzer) Add(frame *pcap.Frame) {
	if a.pipe != nil {
		a.addPiped(frame)
		return
	}
	a.frame = *frame
	f := &a.frame
	s := &a.seg
	c, end, err := a.find(f, s)
	if c == nil {
		if err != nil && s.TCP == nil && !errors.Is(err, wire.ErrFragment) && !errors.Is(err, wire.ErrNotTCP) && err != errSkipped {
			a.res = tcp.Result{BytesInFlight: -1, WindowScaled: -1, Changes: a.res.Changes[:0]}
			a.res.Analysis.Add(event.Malformed)
			a.emit(f, err, nil, 0)
		}
		return
	}
	in := input(f, s)
	c.Step(end, &in, &a.res)
	if err != nil {
		a.res.Analysis.Add(event.Malformed)
	}
	a.emit(f, err, c, end)
}

// find counts frame f, decodes it into s and finds the connection of the
// segment. It returns a nil connection for a frame without a TCP header
// to analyse, and the error for a malformed one.
func (a *Analyzer) find(f *pcap.Frame, s *wire.Segment) (*conn.Conn, int, error) {
	st := &a.Stats
	st.Frames++
	if f.Link != a.link {
		a.flushLinks()
		a.link = f.Link
	}
	a.linkRun++
	if st.First == 0 || f.Time < st.First {
		st.First = f.Time
	}
	st.Last = max(st.Last, f.Time)

	err := wire.Decode(f, s)
	if s.Fragment || err != nil && errors.Is(err, wire.ErrFragment) {
		// Analysed once, when its datagram is whole (frag.go).
		err = a.frags.add(f, s)
	}
	switch {
	case err == nil:
	case errors.Is(err, wire.ErrFragment):
		st.Fragments++
		return nil, 0, err
	case errors.Is(err, wire.ErrNotTCP):
		st.NotTCP++
		return nil, 0, err
	default:
		st.Malformed++
		if s.TCP == nil {
			return nil, 0, err
		}
		// The fixed header is there: the numbers can still be analysed.
	}
	if !a.shard.Has(s.Src, s.Dst) {
		st.Skipped++
		a.table.Tick(f.Time)
		if a.onSkip != nil {
			a.onSkip(f, s)
		}
		return nil, 0, errSkipped
	}
	st.Segments++
	a.table.Frame = f.Number
	c, end := a.table.Lookup(s, f.Time)
	if c.Segments == 1 {
		st.Conns++
	}
	return c, end, err
}

// errSkipped marks a segment of another shard's connection.
var errSkipped = errors.New("analyze: a connection of another shard")

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
	a.out = Segment{Frame: f, Seg: &a.seg, Err: err, Conn: c, End: end, Result: &a.res}
	if c != nil {
		a.out.Dir = c.DirOf(end)
	}
	a.onSegment(&a.out)
}

func (a *Analyzer) flushLinks() {
	if a.linkRun > 0 {
		a.Stats.Links[a.link] += a.linkRun
		a.linkRun = 0
	}
}

// Close ends the capture: every connection still open is handed to onConn.
func (a *Analyzer) Close() {
	if a.pipe != nil {
		a.pipe.close()
		a.pipe = nil // the stepper has stepped everything: settle has nothing to wait for
	}
	a.flushLinks()
	a.table.Close(a.Stats.Last)
}
