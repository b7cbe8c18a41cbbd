package analyze

import (
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// Step is one segment of a connection's story, as `explain` tells it: what
// the segment carried and how it moved each endpoint.
type Step struct {
	Frame int
	Time  pcap.Time
	Dir   conn.Dir // who sent it

	Flags          wire.Flags
	Seq, Ack       uint32 // relative, as Wireshark numbers them
	SeqRaw, AckRaw uint32
	Len            int
	Window         uint16 // raw
	Options        wire.Options
	SACK           []seq.Range // the SACK blocks, relative as Ack is
	Err            error       // a malformed header

	// Before and After are the client's and the server's states around
	// the segment ([0] the client, [1] the server).
	Before, After [2]tcp.State
	// Changes are the transitions it caused, each with its reason; End
	// says whose (0 the client, 1 the server).
	Changes []StepChange
	// Result is the segment's analysis, its Changes moved to Changes.
	Result tcp.Result
}

// StepChange is one transition of one endpoint.
type StepChange struct {
	Client bool // the client's transition, else the server's
	tcp.Transition
}

// Ladder is the steps of one connection, in capture order.
type Ladder struct {
	Conn  int
	Steps []Step
}

// LadderRecorder keeps the steps of the connections it is asked for, and
// of no other: the only per-segment history tcplens holds, for the
// renderers that tell a connection's story.
type LadderRecorder struct {
	want    func(id int) bool
	ladders map[*conn.Conn]*Ladder
}

// NewLadderRecorder records the connections whose id want accepts (every
// connection when want is nil).
func NewLadderRecorder(want func(id int) bool) *LadderRecorder {
	return &LadderRecorder{want: want, ladders: make(map[*conn.Conn]*Ladder)}
}

// Segment records s if its connection is wanted.
func (l *LadderRecorder) Segment(s *Segment) {
	c := s.Conn
	if c == nil || s.Seg == nil || (l.want != nil && !l.want(c.ID)) {
		return
	}
	ld := l.ladders[c]
	if ld == nil {
		ld = &Ladder{Conn: c.ID}
		l.ladders[c] = ld
	}
	ld.Steps = append(ld.Steps, StepOf(s))
}

// StepOf is the ladder step of s, whose connection and decoded segment
// must be known. It copies what it keeps, so it outlives the callback.
func StepOf(s *Segment) Step {
	c, seg, r := s.Conn, s.Seg, s.Result
	st := Step{
		Frame: s.Frame.Number, Time: s.Frame.Time, Dir: s.Dir,
		Flags: seg.Flags, Seq: r.RelSeq, Ack: r.RelAck, SeqRaw: uint32(seg.Seq), AckRaw: uint32(seg.Ack),
		Len: seg.PayloadLen, Window: seg.Window, Options: seg.Options, Err: s.Err,
		Result: *r,
	}
	st.Result.Changes = nil
	if seg.Options.NumSACK > 0 {
		st.SACK = s.RelSACK(nil)
	}
	cl, sv := c.ClientEnd(), c.ServerEnd()
	st.After = [2]tcp.State{cl.State, sv.State}
	st.Before = st.After
	// Undo the changes, last first, to find the states before.
	for i := len(r.Changes) - 1; i >= 0; i-- {
		ch := r.Changes[i]
		client := ch.Sender == (s.End == c.Client)
		idx := 1
		if client {
			idx = 0
		}
		st.Before[idx] = ch.From
	}
	for _, ch := range r.Changes {
		st.Changes = append(st.Changes, StepChange{Client: ch.Sender == (s.End == c.Client), Transition: ch.Transition})
	}
	return st
}

// End returns the ladder of a connection that has ended, and forgets it;
// nil if it was not recorded.
func (l *LadderRecorder) End(c *conn.Conn) *Ladder {
	ld := l.ladders[c]
	delete(l.ladders, c)
	return ld
}
