package graph

import (
	"net/netip"
	"slices"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// Limits bound what a Recorder keeps of one connection.
type Limits struct {
	// Steps is the most ladder steps kept: the first, the last, and
	// between them those that change a state, carry an analysis tag, a
	// SYN, FIN or RST, or a frame Keep names.
	Steps int
	// Points is the most points a series holds before it is merged into
	// time columns.
	Points int
}

// maxTime bounds the time a point is drawn at, in nanoseconds since the
// connection's first segment: a year.
const maxTime = int64(366 * 24 * time.Hour)

// DefaultLimits keep a ladder a person can scroll and graphs a browser
// draws at once: about a megabyte of SVG per connection at most.
var DefaultLimits = Limits{Steps: 1000, Points: 1500}

// Step is one ladder step.
type Step struct {
	analyze.Step
	N int // its place among the connection's segments, from 1: a jump in N is segments left out
}

// Flow is what the graphs of one direction's data show: the segments its
// sender sent, and what the receiver's ACKs said of them. Values are
// relative sequence numbers (bytes) in the sender's space, unwrapped past
// 2^32; times are nanoseconds since the connection's first segment.
type Flow struct {
	Data     Series // segments with payload, SYN or FIN, other than those below
	Retrans  Series // retransmissions, of every kind, with the kind in the note
	Probes   Series // zero-window probes and keep-alives
	Ack      Series // the receiver's acknowledgment number
	Window   Series // the right edge of the receiver's window: ACK plus scaled window
	SACK     Series // the receiver's SACK blocks
	DupAck   Series // the receiver's duplicate ACKs, at their ACK number
	ZeroWin  Series // the receiver's zero windows, at their ACK number
	InFlight Series // bytes in flight after each data segment (tshark's)
	Rwnd     Series // the receiver's advertised window, scaled
	RTT      Series // RTT samples of this data, from the receiver's ACKs (nanoseconds)
	Bytes    uint64 // payload bytes sent

	space unwrapper // the sender's sequence space
}

// Conn is the pictures' record of one connection.
type Conn struct {
	ID             int
	Client, Server netip.AddrPort
	RoleGuessed    bool
	Start          pcap.Time // its first segment
	Duration       int64     // nanoseconds from the first segment to the latest
	Segments       int
	Steps          []Step  // in capture order; fewer than Segments when the ladder is cut
	Flows          [2]Flow // by conn.Dir: the client's data, the server's data

	limits    Limits
	keep      func(frame int) bool
	head      int    // steps kept from the start
	essential int    // steps kept for a state change, a SYN, FIN or RST
	notable   int    // steps kept for their analysis
	tail      []Step // the latest other steps, from tailAt on
	tailAt    int
	sack      []seq.Range
}

// Recorder keeps the pictures' record of the connections it is asked for,
// and of no other: with a connection's ladder and graphs bounded by
// Limits, memory stays flat however long the connection.
type Recorder struct {
	want   func(id int) bool
	keep   func(frame int) bool
	limits Limits
	conns  map[*conn.Conn]*Conn
}

// NewRecorder records the connections whose id want accepts (every one
// when want is nil). keep, which may be nil, names frames a cut ladder
// keeps, such as the evidence of findings.
func NewRecorder(want func(id int) bool, keep func(frame int) bool, l Limits) *Recorder {
	if l.Steps < 3 {
		l.Steps = DefaultLimits.Steps
	}
	if l.Points < 2 {
		l.Points = DefaultLimits.Points
	}
	return &Recorder{want: want, keep: keep, limits: l, conns: map[*conn.Conn]*Conn{}}
}

// Segment records s if its connection is wanted.
func (r *Recorder) Segment(s *analyze.Segment) {
	c := s.Conn
	if c == nil || s.Seg == nil || (r.want != nil && !r.want(c.ID)) {
		return
	}
	g := r.conns[c]
	if g == nil {
		g = r.newConn(c, s.Frame.Time)
		r.conns[c] = g
	}
	g.add(s)
}

// End returns the record of a connection that has ended, and forgets it;
// nil if it was not recorded.
func (r *Recorder) End(c *conn.Conn) *Conn {
	g := r.conns[c]
	if g == nil {
		return nil
	}
	delete(r.conns, c)
	g.Client, g.Server = c.ClientEnd().Addr, c.ServerEnd().Addr
	g.RoleGuessed = c.RoleGuessed()
	g.finish()
	return g
}

func (r *Recorder) newConn(c *conn.Conn, start pcap.Time) *Conn {
	g := &Conn{ID: c.ID, Start: start, limits: r.limits, keep: r.keep}
	for d := range g.Flows {
		f := &g.Flows[d]
		for _, s := range f.all() {
			*s = newSeries(r.limits.Points)
		}
	}
	return g
}

// all lists the flow's series, for what is done to each alike.
func (f *Flow) all() []*Series {
	return []*Series{&f.Data, &f.Retrans, &f.Probes, &f.Ack, &f.Window, &f.SACK, &f.DupAck, &f.ZeroWin, &f.InFlight, &f.Rwnd, &f.RTT}
}

// retransmissionKinds are the kinds that make a segment a resending.
const retransmissionKinds = 1<<event.Retransmission | 1<<event.FastRetransmission | 1<<event.SpuriousRetransmission |
	1<<event.RTORetransmission | 1<<event.TailLossProbe | 1<<event.SYNRetransmission |
	1<<event.SYNACKRetransmission | 1<<event.FINRetransmission

func (g *Conn) add(s *analyze.Segment) {
	g.Segments++
	// A timestamp before the connection's first (capture clocks step back)
	// or beyond a year after it (a corrupt record) is drawn at the edge.
	t := min(max(int64(s.Frame.Time)-int64(g.Start), 0), maxTime)
	g.Duration = max(g.Duration, t)
	g.addStep(s)

	seg, r := s.Seg, s.Result
	a := r.Analysis
	frame := s.Frame.Number
	note := ""
	if !a.Empty() {
		note = string(render.AppendAnalysis(nil, r))
	}

	// As sender: the data.
	out := &g.Flows[s.Dir]
	out.Bytes += uint64(seg.PayloadLen)
	if seg.PayloadLen > 0 || seg.Flags.Any(wire.SYN|wire.FIN) {
		lo := out.space.at(r.RelSeq)
		hi := lo + int64(seg.PayloadLen)
		switch {
		case a&retransmissionKinds != 0:
			out.Retrans.add(t, lo, hi, hi, frame, note)
		case a.Has(event.ZeroWindowProbe) || a.Has(event.KeepAlive):
			out.Probes.add(t, lo, hi, hi, frame, note)
		default:
			out.Data.add(t, lo, hi, hi, frame, note)
		}
		if r.BytesInFlight >= 0 {
			out.InFlight.add(t, r.BytesInFlight, r.BytesInFlight, r.BytesInFlight, frame, "")
		}
	}

	// As receiver: what it says of the other direction's data.
	in := &g.Flows[1-s.Dir]
	if !seg.Flags.Has(wire.ACK) {
		return
	}
	ack := in.space.at(r.RelAck)
	in.Ack.add(t, ack, ack, ack, frame, "")
	if right, ok := s.WindowRight(); ok {
		w := in.space.at(right)
		in.Window.add(t, w, w, w, frame, "")
		in.Rwnd.add(t, r.WindowScaled, r.WindowScaled, r.WindowScaled, frame, "")
	}
	g.sack = s.RelSACK(g.sack[:0])
	for _, b := range g.sack {
		lo := in.space.at(uint32(b.Start))
		hi := lo + int64(b.Len())
		in.SACK.add(t, lo, hi, hi, frame, note)
	}
	if a.Has(event.DuplicateAck) {
		in.DupAck.add(t, ack, ack, ack, frame, note)
	}
	if a.Has(event.ZeroWindow) || a.Has(event.ZeroWindowProbeAck) {
		in.ZeroWin.add(t, ack, ack, ack, frame, note)
	}
	if rtt := int64(r.RTTSample); rtt > 0 {
		in.RTT.add(t, rtt, rtt, rtt, frame, "")
	}
}

// addStep keeps the segment's ladder step if the budget allows: the
// first steps; those that change a state or carry a SYN, FIN or RST,
// which are few and tell the story; those with analysis or that Keep
// names; and the latest of the rest, as many as the budget has left. Each
// kind has its share, so that a thousand duplicate ACKs do not push out
// the FIN, and at least a fifth of the budget holds the latest steps.
func (g *Conn) addStep(s *analyze.Segment) {
	l := g.limits.Steps
	headMax, essentialMax, notableMax := l*3/10, l/5, l*3/10
	keep := true
	switch {
	case g.head < headMax:
		g.head++
	case g.essential < essentialMax && (len(s.Result.Changes) > 0 || s.Seg.Flags.Any(wire.SYN|wire.FIN|wire.RST)):
		g.essential++
	case g.notable < notableMax && (!s.Result.Analysis.Empty() || s.Err != nil || (g.keep != nil && g.keep(s.Frame.Number))):
		g.notable++
	default:
		keep = false
	}
	st := Step{Step: analyze.StepOf(s), N: g.Segments}
	if keep {
		g.Steps = append(g.Steps, st)
	} else {
		g.tail = append(g.tail, st)
	}
	// The latest steps take what the budget has left: the oldest of them
	// leaves the ladder.
	for len(g.tail)-g.tailAt > l-len(g.Steps) {
		g.tail[g.tailAt] = Step{}
		g.tailAt++
	}
	if g.tailAt > l {
		g.tail = append(g.tail[:0], g.tail[g.tailAt:]...)
		g.tailAt = 0
	}
}

func (g *Conn) finish() {
	g.Steps = append(g.Steps, g.tail[g.tailAt:]...)
	g.tail = nil
	slices.SortFunc(g.Steps, func(a, b Step) int { return a.N - b.N })
	g.sack = nil
}

// Cut reports whether the ladder leaves segments out.
func (g *Conn) Cut() bool { return len(g.Steps) < g.Segments }

// MainDir is the direction that carried more data: the one a
// time-sequence graph shows by default (the client's on a tie).
func (g *Conn) MainDir() conn.Dir {
	if g.Flows[conn.ServerToClient].Bytes > g.Flows[conn.ClientToServer].Bytes {
		return conn.ServerToClient
	}
	return conn.ClientToServer
}
