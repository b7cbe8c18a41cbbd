package tcp

import (
	"strconv"
	"time"

	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
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
// segments: equal TSvals say nothing, and then the IP ID of a sender that
// numbers its packets one by one decides. Without either, the capture's
// own clock can: whatever told the sender of a loss (a duplicate ACK, a
// SACK) came of a segment above the hole reaching the receiver, so a
// resend reaches the capture point a whole round trip (capture point to
// receiver, to sender, back) after the first segment above the hole went
// by, wherever the capture was taken. A fill sooner than that is no
// resend. tshark's own out-of-order rule is that one, with a round trip
// taken from the handshake; tcplens takes half the shortest round trip
// the connection showed, and only where tshark's precedence made the fill
// a fast retransmission, or when the analysis counts losses, does it say
// more than tshark's label.

// Clock names the mark of a sender's own order that a comparison used.
type Clock uint8

const (
	clockTS   Clock = 1 << iota // the TSval (RFC 7323)
	clockIPID                   // the IPv4 identification of a sender that counts one by one
	clockLoop                   // the capture's own clock against the path's round trip
)

// ClockTSVal, ClockIPID and ClockRoundTrip are the clocks an [Order]
// may name.
const (
	ClockTSVal     = clockTS
	ClockIPID      = clockIPID
	ClockRoundTrip = clockLoop
)

// String names the clock as the explanations do.
func (c Clock) String() string {
	switch c {
	case clockTS:
		return "TSval"
	case clockIPID:
		return "IP ID"
	case clockLoop:
		return "round trip"
	}
	return "none"
}

// Name is the clock's stable name, as JSON prints it.
func (c Clock) Name() string {
	switch c {
	case clockTS:
		return "tsval"
	case clockIPID:
		return "ipid"
	case clockLoop:
		return "round_trip"
	}
	return "none"
}

// Order is the evidence that a segment was sent before one the capture
// saw first: of the segments above it captured before it, Frame is the
// one its sender sent first, and the clock By says this segment is older
// still (Own against Theirs). With the round trip as the clock, Frame is
// the first of them captured, and this segment came After it, less than
// Floor, half the shortest round trip the connection showed. The zero
// Order is no evidence.
type Order struct {
	Frame        int
	By           Clock
	Own, Theirs  uint32
	After, Floor time.Duration
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

// sentBefore looks for the evidence that the data segment s of frame,
// captured now, was sent before every segment wholly above it that the
// capture saw first: the unacknowledged ones, and the first ACK without
// data that went beyond the data. It walks the list only for segments
// below the highest sequence number, which a capture holds few of.
func (f *flow) sentBefore(s *wire.Segment, frame int, now pcap.Time, ipid bool, floor time.Duration) Order {
	own := clockOf(s)
	if !ipid {
		own &^= clockIPID
	}
	end := s.SeqEnd()
	var ts, id, first *unacked // the oldest above, by each clock, and the first captured
	repeat := false            // an earlier segment still unacknowledged carried some of it
	consider := func(u *unacked) {
		if u.frame == frame {
			return
		}
		if u.seq.Less(end) {
			repeat = repeat || s.Seq.Less(u.next)
			return
		}
		if first == nil || u.time < first.time {
			first = u
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
	live := f.live()
	for i := range live {
		consider(&live[i])
	}
	if f.ahead.frame != 0 {
		consider(&f.ahead)
	}
	if first == nil {
		return Order{}
	}
	if own&clockTS != 0 {
		switch d := int32(s.Options.TSVal - ts.tsval); {
		case d < 0:
			return Order{Frame: ts.frame, By: clockTS, Own: s.Options.TSVal, Theirs: ts.tsval}
		case d > 0:
			return Order{} // sent after one of them
		}
	}
	// Within one tick of the TSval (or without timestamps) the IP ID of
	// a sender that numbers its packets one by one still orders them: a
	// retransmission takes the next number like any packet.
	if own&clockIPID != 0 {
		if int16(s.IPID-id.ipid) < 0 {
			return Order{Frame: id.frame, By: clockIPID, Own: uint32(s.IPID), Theirs: uint32(id.ipid)}
		}
		return Order{}
	}
	// The round trip speaks only of a fill: data sent again after a
	// timer, not after news from the receiver, may follow the segments
	// above it closely, and its first copy went by already.
	if after := now.Sub(first.time); after < floor && !repeat {
		return Order{Frame: first.frame, By: clockLoop, After: after, Floor: floor}
	}
	return Order{}
}

// noteAhead keeps the first segment without data (an ACK) whose
// sequence number went beyond the data captured: its sender had sent
// every byte below it, so it is one of the segments above a late
// original, and often the one that opened the hole (an ACK overtook the
// data). It stays until the data catches up with it.
func (f *flow) noteAhead(s *wire.Segment, frame int, now pcap.Time) {
	if f.ahead.frame != 0 && f.ahead.seq.Greater(f.nextSeq) {
		return
	}
	f.ahead = unacked{seq: s.Seq, next: s.Seq, frame: frame, time: now, tsval: s.Options.TSVal, ipid: s.IPID, clock: clockOf(s)}
}

// loopFloor is half the shortest round trip the connection showed: the
// handshake's (SYN to the ACK of the SYN-ACK spans the whole path
// wherever the capture was taken), or the two half-loops the capture point
// measured, if shorter. Half, because one sample may hold queueing that
// later round trips do not. Zero without a captured handshake.
func (c *Conn) loopFloor(from, to *Endpoint) time.Duration {
	if c.HandshakeAck == 0 || c.SYNTime == 0 {
		return 0
	}
	rtt := c.HandshakeAckTime.Sub(c.SYNTime)
	if from.RTT.Samples > 0 && to.RTT.Samples > 0 {
		rtt = min(rtt, from.RTT.Min+to.RTT.Min)
	}
	return rtt / 2
}

// lateOriginal takes a data segment that tshark's rules call a
// retransmission (or out of order) and that its sender's clocks say was
// sent before the segments above it the capture saw first for what it
// is: an original that came late, out of order as tshark names it.
func (c *Conn) lateOriginal(from, to *Endpoint, in *Input, r *Result) {
	s := in.Seg
	a := &r.Analysis
	if s.PayloadLen == 0 || !(a.Has(event.Retransmission) || a.Has(event.SpuriousRetransmission) || a.Has(event.OutOfOrder)) {
		return
	}
	floor := c.loopFloor(from, to)
	if a.Has(event.SpuriousRetransmission) {
		floor = 0 // its bytes had arrived: the capture saw them before
	}
	o := from.flow.sentBefore(s, in.Frame, in.Time, from.countsOneByOne(), floor)
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
// (TSval 91808491 < 91808494)", or "captured 0.040 ms after frame 187360,
// sooner than a resend could follow it (half the round trip: 5.426 ms)".
func (o Order) AppendText(b []byte) []byte {
	if o.By == clockLoop {
		b = append(b, "captured "...)
		b = appendMillis(b, o.After)
		b = append(b, " after frame "...)
		b = strconv.AppendInt(b, int64(o.Frame), 10)
		b = append(b, ", sooner than a resend could follow it (half the round trip: "...)
		b = appendMillis(b, o.Floor)
		return append(b, ')')
	}
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

// appendMillis appends d in milliseconds with three decimals.
func appendMillis(b []byte, d time.Duration) []byte {
	b = strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', 3, 64)
	return append(b, " ms"...)
}
