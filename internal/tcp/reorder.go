package tcp

import (
	"strconv"

	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// A segment that fills a hole, or repeats data, looks like a
// retransmission to tshark's rules. It may instead be an original that
// came late: the path reordered it behind segments sent after it (a
// router's parallel queues; veth delivers through per-CPU backlogs, so two
// CPUs sending reorder). The sender's own clocks tell the two apart
// wherever the capture was taken: a sender's TSval never goes back, and
// Linux numbers a connection's IPv4 packets one by one. A sender sends
// each byte first in sequence order, so an original is sent before every
// segment above it; a retransmission is sent after the sender learned of
// the loss, after the originals above it that told it. A segment sent
// before every segment above it that the capture saw first is therefore an
// original, late (RFC 4737 calls it reordered); one sent after any of
// them is what tshark says. A clock tick (1 ms on Linux) holds many
// segments: equal values say nothing, and the analysis stays tshark's.

// Clock names the mark of a sender's own order that a comparison used.
type Clock uint8

const (
	clockTS   Clock = 1 << iota // the TSval (RFC 7323)
	clockIPID                   // the IPv4 identification of a sender that counts one by one
)

// ClockTSVal and ClockIPID are the clocks an [Order] may name.
const (
	ClockTSVal = clockTS
	ClockIPID  = clockIPID
)

// String names the clock as the explanations do.
func (c Clock) String() string {
	switch c {
	case clockTS:
		return "TSval"
	case clockIPID:
		return "IP ID"
	}
	return "none"
}

// Order is the evidence that a segment was sent before one the capture
// saw first: of the segments above it captured before it, Frame is the
// one its sender sent first, and the clock By says this segment is older
// still (Own against Theirs). The zero Order is no such evidence.
type Order struct {
	Frame       int
	By          Clock
	Own, Theirs uint32
}

// clockOf says which of the sender's clocks a segment carries.
func clockOf(s *wire.Segment) Clock {
	var c Clock
	if s.Options.Has(wire.HasTimestamps) {
		c |= clockTS
	}
	if s.IPVersion == 4 && s.IPID != 0 {
		c |= clockIPID
	}
	return c
}

// countsOneByOne reports whether the endpoint numbers its IPv4 packets one
// by one, as diagnose's IP ID rules judge it: at least four steps of one,
// and three in four steps one (random IDs almost never step by one).
func (e *Endpoint) countsOneByOne() bool {
	return e.ipidOnes >= 4 && e.ipidOnes*4 >= e.ipidSteps*3
}

// sentBefore looks for the evidence that the data segment s of frame was
// sent before every unacknowledged segment wholly above it that the
// capture saw first. It walks the list only for segments below the
// highest sequence number, which a capture holds few of.
func (f *flow) sentBefore(s *wire.Segment, frame int, ipid bool) Order {
	own := clockOf(s)
	if !ipid {
		own &^= clockIPID
	}
	if own == 0 {
		return Order{}
	}
	end := s.SeqEnd()
	var ts, id *unacked // the oldest above, by each clock
	for i, live := 0, f.live(); i < len(live) && own != 0; i++ {
		u := &live[i]
		if u.frame == frame || u.seq.Less(end) {
			continue
		}
		// Every segment above must carry the clock: one that does not
		// might be the oldest.
		own &= u.clock
		if ts == nil || int32(u.tsval-ts.tsval) < 0 {
			ts = u
		}
		if id == nil || int16(u.ipid-id.ipid) < 0 {
			id = u
		}
	}
	switch {
	case ts == nil:
	case own&clockTS != 0 && int32(s.Options.TSVal-ts.tsval) < 0:
		return Order{Frame: ts.frame, By: clockTS, Own: s.Options.TSVal, Theirs: ts.tsval}
	case own&clockTS == 0 && own&clockIPID != 0 && int16(s.IPID-id.ipid) < 0:
		// The IP ID decides only without timestamps: with them, an
		// equal TSval already said the clock cannot tell.
		return Order{Frame: id.frame, By: clockIPID, Own: uint32(s.IPID), Theirs: uint32(id.ipid)}
	}
	return Order{}
}

// lateOriginal takes a data segment that tshark's rules call a
// retransmission (or out of order) and that its sender's clocks say was
// sent before the segments above it the capture saw first for what it
// is: an original that came late, out of order as tshark names it.
func (c *Conn) lateOriginal(from *Endpoint, in *Input, r *Result) {
	s := in.Seg
	a := &r.Analysis
	if s.PayloadLen == 0 || !(a.Has(event.Retransmission) || a.Has(event.SpuriousRetransmission) || a.Has(event.OutOfOrder)) {
		return
	}
	o := from.flow.sentBefore(s, in.Frame, from.countsOneByOne())
	if o.Frame == 0 {
		return
	}
	a.Remove(event.Retransmission)
	a.Remove(event.FastRetransmission)
	a.Remove(event.SpuriousRetransmission)
	a.Add(event.OutOfOrder)
	r.SentBefore = o
	r.RetransFrame, r.RetransDelay = 0, 0
}

// resend is one fast or spurious retransmission of data, kept until a
// D-SACK may show it was not needed.
type resend struct {
	seq, next seq.Num
	frame     int
	kind      event.Kind
}

// maxResends is how many of a sender's latest retransmissions a D-SACK
// can be matched with: a D-SACK comes a round trip after the copy it
// reports, and recovery resends seldom more in a round trip.
const maxResends = 16

// noteResend remembers a data retransmission and its kind, in a ring of
// maxResends made at the sender's first (a slice, not a pointer, so
// that a connection prints whole).
func (f *flow) noteResend(s *wire.Segment, frame int, kind event.Kind) {
	if s.PayloadLen == 0 {
		return
	}
	if f.resent == nil {
		f.resent = make([]resend, maxResends)
	}
	f.resent[f.resentNext] = resend{seq: s.Seq, next: s.Seq.Add(uint32(s.PayloadLen)), frame: frame, kind: kind}
	f.resentNext = (f.resentNext + 1) % maxResends
}

// dsacked finds the latest retransmission of the sender that a D-SACK
// block reports received twice, and forgets it: one D-SACK undoes one.
func (f *flow) dsacked(b seq.Range) (resend, bool) {
	for i := range f.resent {
		x := &f.resent[(f.resentNext-1-i+maxResends)%maxResends]
		if x.frame != 0 && x.seq.Less(b.End) && b.Start.Less(x.next) {
			found := *x
			*x = resend{}
			return found, true
		}
	}
	return resend{}, false
}

// undo moves a fast retransmission that a D-SACK showed was not needed
// to the spurious ones: the data had arrived, and reordering made it look
// lost (RFC 2883 4, RFC 3708). A spurious one was counted so already. A
// timer's retransmission (RTO, tail loss probe) stays what it was: the
// sender did wait out its timer, and a probe is often not needed.
func (n *Retransmissions) undo(kind event.Kind) {
	if kind == event.FastRetransmission {
		n.Fast--
		n.Spurious++
	}
}

// AppendText appends the evidence in words: "sent before frame 185089
// (TSval 91808491 < 91808494)".
func (o Order) AppendText(b []byte) []byte {
	b = append(b, "sent before frame "...)
	b = strconv.AppendInt(b, int64(o.Frame), 10)
	b = append(b, " ("...)
	b = append(b, o.By.String()...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(o.Own), 10)
	b = append(b, " < "...)
	b = strconv.AppendUint(b, uint64(o.Theirs), 10)
	return append(b, ')')
}
