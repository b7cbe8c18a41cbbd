package dissect

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// Connection is what a frame's connection says of it: the states of both
// endpoints before and after it, what the receiving stack does with it,
// and its sequence numbers relative to the connection's ISNs.
type Connection struct {
	ID               int
	Dir              conn.Dir
	Sender, Receiver Party

	// RelSeq and RelAck count from the ISNs, as Wireshark's relative
	// numbers do; SeqBase and AckBase are what they count from, and
	// SeqISN and AckISN say whether that is an ISN the capture saw in a
	// SYN (else the first number seen, less one: a mid-stream capture).
	RelSeq, RelAck   uint32
	SeqBase, AckBase uint32
	SeqISN, AckISN   bool
	HasAck           bool
	SACK             []seq.Range // the SACK blocks, relative as RelAck is

	Receives string // what the receiving stack does with the segment
	Sends    string // what sending it says of the sender
	Analysis []event.Kind
}

// Party is one endpoint around the segment.
type Party struct {
	Role          string // client or server
	Addr          netip.AddrPort
	Before, After tcp.State
	Changes       []tcp.Transition
}

// ConnectionOf describes an analysed segment in its connection; nil when
// it could not be tied to one.
func ConnectionOf(s *analyze.Segment) *Connection {
	c := s.Conn
	if c == nil || s.Seg == nil {
		return nil
	}
	from, to := &c.Ends[s.End], &c.Ends[1-s.End]
	r := s.Result
	cx := &Connection{ID: c.ID, Dir: s.Dir, RelSeq: r.RelSeq, RelAck: r.RelAck, HasAck: s.Seg.Flags.Has(wire.ACK),
		Analysis: r.Analysis.Kinds()}
	cx.SACK = s.RelSACK(nil)
	cx.Sender = party(c, s.End, from, r, true)
	cx.Receiver = party(c, 1-s.End, to, r, false)
	if b, ok := from.RelativeBase(); ok {
		cx.SeqBase, cx.SeqISN = uint32(b), from.Handshake.Seen
	}
	if b, ok := to.RelativeBase(); ok {
		cx.AckBase, cx.AckISN = uint32(b), to.Handshake.Seen
	}
	cx.Receives = receives(s, cx, from, to)
	cx.Sends = sends(cx)
	if o := r.SentBefore; o.Frame != 0 {
		cx.Sends += " It was " + string(o.AppendText(nil)) + ", a segment above it that the capture saw first: an original that " +
			"the path delivered late, not a retransmission."
	}
	return cx
}

func party(c *conn.Conn, end int, e *tcp.Endpoint, r *tcp.Result, sender bool) Party {
	p := Party{Role: "server", Addr: e.Addr, Before: e.State, After: e.State}
	if end == c.Client {
		p.Role = "client"
	}
	first := true
	for _, ch := range r.Changes {
		if ch.Sender != sender {
			continue
		}
		if first {
			p.Before, first = ch.From, false
		}
		p.Changes = append(p.Changes, ch.Transition)
	}
	return p
}

// receives says what the receiving stack does with the segment, given the
// state it was in.
func receives(s *analyze.Segment, cx *Connection, from, to *tcp.Endpoint) string {
	seg, r := s.Seg, s.Result
	rv := &cx.Receiver
	who := fmt.Sprintf("The %s (%s) is %s", rv.Role, rv.Addr, rv.Before)
	a := r.Analysis
	switch {
	case a.Has(event.BadChecksum):
		return who + "; the checksum is wrong, so its stack drops the segment before TCP looks at it, and the sender will have to send it again."
	case a.Has(event.PAWSReject):
		return fmt.Sprintf("%s; the segment's TSval %d is more than one tick older than the one its own ACKs echo (TS.Recent %d): PAWS (RFC 7323) drops it and answers with an ACK.",
			who, seg.Options.TSVal, to.TSRecent)
	case len(rv.Changes) > 0:
		if seg.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.ACK && to.SentSYN && seg.Ack == to.ISS+1 &&
			rv.Before == tcp.SynReceived && rv.After == tcp.Established && len(rv.Changes) == 1 {
			return fmt.Sprintf("%s; ack %d = ISS+1 acknowledges its SYN, so it becomes ESTABLISHED and the connection waits in the "+
				"accept queue until the application calls accept().", who, uint32(seg.Ack))
		}
		var parts []string
		for _, ch := range rv.Changes {
			parts = append(parts, becomes(ch))
		}
		return who + "; " + strings.Join(parts, "; then ") + "."
	case seg.Flags.Has(wire.RST) && rv.Before == tcp.SynSent:
		return fmt.Sprintf("%s; in SYN_SENT it accepts an RST only if it acknowledges its SYN (ack %d), and this one's %s, so it drops the RST (RFC 9293 3.10.7.3).",
			who, uint32(to.ISS+1), rstAckWords(seg))
	case seg.Flags.Has(wire.RST):
		if a.Has(event.ChallengeACK) || to.State.Synchronized() {
			return fmt.Sprintf("%s; the RST's sequence number %d is not exactly the next it expects (%d): RFC 5961 makes it ignore the RST and send a challenge ACK.",
				who, uint32(seg.Seq), uint32(to.RcvNxt))
		}
		return who + "; it has no connection to reset, so it ignores the RST."
	case seg.Flags.Has(wire.SYN|wire.ACK) && rv.Before.Synchronized() && from.Handshake.Seen && seg.Seq == from.ISS:
		return who + "; the SYN-ACK repeats the one it already answered: its ACK did not reach the peer, so it sends that ACK again."
	case seg.Flags.Has(wire.SYN) && rv.Before.Synchronized():
		return who + "; a SYN on a synchronized connection does not reset it: it answers with a challenge ACK (RFC 5961 section 4)."
	case a.Has(event.ZeroWindowProbe):
		return who + "; the segment probes its zero window: it answers with an ACK that advertises its window, still zero while its application does not read."
	case a.Has(event.KeepAlive):
		return who + "; the segment is a keep-alive one byte below what it already has: it answers with an ACK, which tells the sender it is alive."
	case seg.PayloadLen > 0:
		return who + "; " + receivesData(seg, cx, to) + "."
	case a.Has(event.DuplicateAck):
		return fmt.Sprintf("%s; the segment repeats the ACK of frame %d (duplicate #%d): a sign that a segment it sent is missing at the peer. "+
			"The third duplicate makes it retransmit that segment at once (fast retransmit).", who, r.DupAckFrame, r.DupAckNum)
	case seg.Flags.Has(wire.ACK) && seg.Window == 0:
		return fmt.Sprintf("%s; the segment acknowledges up to %d and advertises a zero window: it must stop sending data and probe until the window opens.", who, cx.RelAck)
	case seg.Flags.Has(wire.ACK):
		w := ""
		if r.WindowScaled >= 0 {
			w = fmt.Sprintf(", and may have up to %d bytes unacknowledged from there (the window)", r.WindowScaled)
		}
		return fmt.Sprintf("%s; the segment acknowledges everything it sent before %d: those bytes leave its send buffer%s.", who, cx.RelAck, w)
	}
	return who + "."
}

// receivesData says what the receiver does with the bytes a segment
// carries, from where they fall against the next byte it expects.
func receivesData(seg *wire.Segment, cx *Connection, to *tcp.Endpoint) string {
	first := cx.RelSeq
	last := first + uint32(seg.PayloadLen) - 1
	next := to.RcvNxt
	rel := func(n seq.Num) uint32 { return uint32(n) - cx.SeqBase }
	switch {
	case next == 0 || seg.Seq == next:
		return fmt.Sprintf("the segment carries bytes %d to %d, the next it expects: it queues them for its application "+
			"(recv() returns them) and acknowledges them, at once or within the delayed-ACK time (up to 40 ms on Linux)", first, last)
	case seg.SeqEnd().LessEq(next):
		return fmt.Sprintf("the segment carries bytes %d to %d, which it already has (it acknowledged up to %d): it drops them "+
			"and acknowledges again, with a D-SACK block if SACK was negotiated", first, last, rel(next))
	case seg.Seq.Greater(next):
		return fmt.Sprintf("the segment carries bytes %d to %d, beyond the next it expects (%d): a segment before it is missing, so "+
			"it keeps these out of order and sends a duplicate ACK of %d (with a SACK block for them)", first, last, rel(next), rel(next))
	}
	return fmt.Sprintf("the segment carries bytes %d to %d, overlapping what it has (it acknowledged up to %d): it keeps the new "+
		"part and acknowledges it", first, last, rel(next))
}

// rstAckWords says what an RST's acknowledgment field holds.
func rstAckWords(seg *wire.Segment) string {
	if !seg.Flags.Has(wire.ACK) {
		return "carries no ACK"
	}
	return fmt.Sprintf("is %d", uint32(seg.Ack))
}

// becomes says one change of an endpoint; one to the state it was in
// says that it stays (an RST forged in its name).
func becomes(ch tcp.Transition) string {
	if ch.From == ch.State && !ch.Correction {
		return fmt.Sprintf("it stays %s: %s", ch.State, ch.Reason)
	}
	return fmt.Sprintf("it becomes %s: %s", ch.State, ch.Reason)
}

// sends says what the segment's sending did to the sender.
func sends(cx *Connection) string {
	sd := &cx.Sender
	if len(sd.Changes) == 0 {
		return fmt.Sprintf("The %s (%s) stays %s.", sd.Role, sd.Addr, sd.After)
	}
	var parts []string
	for _, ch := range sd.Changes {
		parts = append(parts, becomes(ch))
	}
	return fmt.Sprintf("The %s (%s) was %s; %s.", sd.Role, sd.Addr, sd.Before, strings.Join(parts, "; then "))
}

// AddConnection attaches what the connection says of the frame, and gives
// the TCP sequence and acknowledgment fields their relative numbers, which
// a frame alone cannot.
func (d *Dissection) AddConnection(cx *Connection) {
	if cx == nil {
		return
	}
	d.Connection = cx
	for i := range d.Layers {
		l := &d.Layers[i]
		if l.ID != "tcp" {
			continue
		}
		var ackRaw uint32
		for j := range l.Fields {
			f := &l.Fields[j]
			switch f.ID {
			case "seq":
				// What follows the raw number's words (the bytes the data
				// spans) stays; a segment without data has nothing more.
				rest := strings.TrimPrefix(strings.TrimPrefix(f.Meaning, seqAlone), "; ")
				f.Meaning = relativeMeaning(cx.RelSeq, cx.SeqBase, cx.SeqISN, cx.Sender.Role)
				if rest != "" {
					f.Meaning += "; " + rest
				}
			case "ack":
				if cx.HasAck {
					ackRaw = uint32(f.RawValue())
					f.Meaning = relativeMeaning(cx.RelAck, cx.AckBase, cx.AckISN, cx.Receiver.Role) + "; " + strings.TrimSuffix(f.Meaning, ackAlone)
				}
			case "options":
				if cx.HasAck && len(cx.SACK) > 0 {
					relativeSACK(f, ackRaw-cx.RelAck)
				}
			}
		}
	}
}

// relativeSACK gives each block of the SACK option among options its
// relative edges, counted from base as the ack is: the numbers tcpdump and
// tcplens read print.
func relativeSACK(options *Field, base uint32) {
	for i := range options.Fields {
		o := &options.Fields[i]
		if !strings.HasPrefix(o.ID, "sack@") {
			continue
		}
		for j := range o.Fields {
			blk := &o.Fields[j]
			if !strings.HasPrefix(blk.ID, "block_") || len(blk.Raw) != 8 {
				continue
			}
			l, r := binary.BigEndian.Uint32(blk.Raw), binary.BigEndian.Uint32(blk.Raw[4:])
			blk.Meaning = fmt.Sprintf("relative %d:%d; %s", l-base, r-base, blk.Meaning)
		}
	}
}

// The parts of seqMeaning and ackMeaning that say a frame alone has no
// relative numbers: the connection replaces them.
const (
	seqAlone = "raw; a relative number needs the ISN from this connection's SYN, which one frame alone does not give"
	ackAlone = " (raw; relative numbers need the peer's ISN)"
)

func relativeMeaning(rel, base uint32, isn bool, role string) string {
	from := fmt.Sprintf("the %s's ISN %d (its SYN)", role, base)
	if !isn {
		from = fmt.Sprintf("%d, one before the %s's first sequence number in the capture (its SYN was not captured)", base, role)
	}
	return fmt.Sprintf("relative %d, counting from %s", rel, from)
}
