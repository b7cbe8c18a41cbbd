package tcp

import (
	"strconv"
	"strings"

	"github.com/tcplens/tcplens/internal/seq"
)

// The reasons of the transitions. machine.go picks the transition and
// the reason's kind, with the few numbers it names; the words are made
// only when asked for. Every transition of every connection has a
// reason, and few are ever read (explain, read --annotate, conns --json
// for a connection or two), so a reason costs no allocation when made: a
// constant one is its kind alone, a formatted one its kind and numbers
// in the transition. The kinds whose wording depends on what the
// handshake carried (TCP Fast Open, RFC 7413) or on what the endpoint
// had sent before are chosen by the functions at the end of this file.

// timeWaitHeld is what every entry into TIME_WAIT says of its length:
// the capture cannot show the timer, so its length is stated.
const timeWaitHeld = "Linux holds it 60 s (TCP_TIMEWAIT_LEN; RFC 9293 says 2×MSL)"

// retransmittedFIN begins the reason of a move made again on a FIN sent
// again: the reason of the first move follows it.
const retransmittedFIN = "received the retransmitted FIN: "

// Reason says why a transition happened. Its String is the reason in
// words; the zero Reason says nothing ("").
type Reason struct {
	kind  reasonKind
	state State // a state the words name
	// x is a small number whose meaning the kind gives: a Fast Open
	// cookie's length, 1 for a SYN that came again, or bits 32-39 of a
	// second frame.
	x uint8
	// fins is how many times the words begin with retransmittedFIN.
	fins uint8
	a    uint32 // a sequence or acknowledgment number, or a second frame's low 32 bits
	n    uint64 // a frame, a count of bytes, or an ACK (high 32 bits) and a count (low)
}

// reasonKind is what a Reason says; the kinds before firstFormatted are
// constant words.
type reasonKind uint8

const (
	reasonNone reasonKind = iota
	reasonTimeWaitEnded
	reasonRSTNoConnection
	reasonRefusedSYN
	reasonSYNAgain
	reasonWasListening
	reasonSimultaneousSYNACK
	reasonMidStreamSends
	reasonMidStreamFIN
	reasonAssumedListening
	reasonSimultaneousSYN
	reasonSimultaneousSYNACKArrived
	reasonSYNACKAgainArrived
	reasonRefused
	reasonRSTInSynReceived
	reasonRSTInTimeWait
	reasonMidStreamReceives
	reasonFINBeforeACK
	reasonLastACK
	reasonNeverAnswered

	// The kinds from here on name numbers or states.
	reasonRSTToSYNACK              // a: seq
	reasonRSTAbortive              // state
	reasonRSTAfterClose            // state
	reasonSYNSent                  // a: ISS
	reasonSYNSentTFORequest        // a: ISS
	reasonSYNSentTFOData           // a: ISS; n: bytes
	reasonSYNSentData              // a: ISS; n: bytes
	reasonSYNsCrossed              // a: seq; n: the peer's SYN's frame
	reasonSimultaneousOpen         // n: the peer's SYN's frame
	reasonSYNACKAgain              // n: the first SYN-ACK's frame; a, x: the handshake ACK's
	reasonSYNACKSent               // a: seq; n: ack<<32; x: cookie
	reasonSYNACKSentTFOAccepted    // a: seq; n: ack<<32 | bytes acknowledged; x: cookie
	reasonSYNACKSentTFORefused     // a: seq; n: ack<<32 | bytes on the SYN; x: cookie
	reasonSYNArrived               // a: ISS; x: 1 if again
	reasonSYNArrivedTFORequest     // a: ISS; x: 1 if again
	reasonSYNArrivedTFOData        // a: ISS; n: bytes; x: 1 if again
	reasonSYNLost                  // n: the earlier SYN's frame
	reasonSYNACKArrived            // a: ack; x: cookie
	reasonSYNACKArrivedTFOAccepted // a: ack; n: bytes acknowledged; x: cookie
	reasonSYNACKArrivedTFORefused  // a: ack; n: bytes on the SYN; x: cookie
	reasonSYNACKLost               // n: the first SYN-ACK's frame
	reasonHandshakeAcked           // a: ack
	reasonHandshakeAckedTFO        // a: ack
	reasonFINSent                  // a: FIN's seq
	reasonFINSentNoData            // a: FIN's seq
	reasonFINSentAfterAccept       // a: FIN's seq
	reasonFINSentLast              // a: FIN's seq
	reasonFINsCrossed              // a: ack; n: the peer's FIN's frame; state: the state it closed from
	reasonSimultaneousClose        // n: the peer's FIN's frame
	reasonRSTLost                  // n: the RST's frame; state: where it was
	reasonRSTFromClosed            // a: seq; n: the frame the peer closed at
	reasonRSTExact                 // a: seq
	reasonFINAckedWithFIN          // a: ack
	reasonTimeWaitWithACK          // a: the peer's FIN's seq
	reasonFINAcked                 // a: ack
	reasonTimeWaitFromClosing      // a: ack
	reasonCloseWait                // a: the peer's FIN's seq
	reasonTimeWaitFromFinWait2     // a: the peer's FIN's seq
	reasonRSTWithoutSocket         // a: seq
	reasonSYNCookieSent            // n: the SYN-ACK's frame
	reasonSYNCookieChecked         // a: ack
	reasonTimeWaitTakenOver        // n: the new SYN's frame
	reasonFINLost                  // n: the FIN's frame
	reasonForgedRSTTTL             // a: TTL, own min<<8, own max<<16; n: own packets; state: held
	reasonForgedRSTIPID            // a: IP ID; n: the peer's frame; state: held
	reasonForgedRSTArrived         // a: seq; state: the peer's, held
	reasonSYNACKNeverAcked         // n: the first SYN-ACK's frame
)

// firstFormatted is the first kind that names numbers or states.
const firstFormatted = reasonRSTToSYNACK

// constantReasons are the words of the kinds that name no number.
var constantReasons = [firstFormatted]string{
	reasonTimeWaitEnded:             "TIME_WAIT ended: " + timeWaitHeld + ", and no segment restarted it",
	reasonRSTNoConnection:           "sent RST without a connection: nothing is listening on the port, or it has no socket for this 4-tuple",
	reasonRefusedSYN:                "answered the SYN with RST: nothing listens on the port (connection refused), or a firewall rejects it",
	reasonSYNAgain:                  "sent its SYN again: the SYN-ACK on its way did not reach it (or it did not accept it), so it was still in SYN_SENT",
	reasonWasListening:              "answers a SYN: it was listening",
	reasonSimultaneousSYNACK:        "sent SYN-ACK while in SYN_SENT: a simultaneous open",
	reasonMidStreamSends:            "sends without a captured handshake: the connection was already open when the capture began (treated as ESTABLISHED, ISN and window scale unknown)",
	reasonMidStreamFIN:              "sent FIN: its application closed (or shut down writing)",
	reasonAssumedListening:          "a SYN is addressed to its port: assumed listening",
	reasonSimultaneousSYN:           "received a SYN while in SYN_SENT: a simultaneous open; it answers SYN-ACK",
	reasonSimultaneousSYNACKArrived: "received SYN-ACK in SYN_RECV (simultaneous open): ESTABLISHED",
	reasonSYNACKAgainArrived:        "received the retransmitted SYN-ACK: ESTABLISHED; it sends the final ACK",
	reasonRefused:                   "received RST,ACK acknowledging its SYN: the connection is refused (connect() fails with ECONNREFUSED); nothing listens on the port, or a firewall rejects it",
	reasonRSTInSynReceived:          "received RST in SYN_RECV: the half-open connection is dropped",
	reasonRSTInTimeWait:             "received RST in TIME_WAIT: Linux ends TIME_WAIT early (RFC 1337's TIME-WAIT assassination; net.ipv4.tcp_rfc1337 prevents it)",
	reasonMidStreamReceives:         "receives without a captured handshake: the connection was already open when the capture began (treated as ESTABLISHED)",
	reasonFINBeforeACK:              "received the peer's FIN before the ACK of its own: a simultaneous close; CLOSING until its FIN is acknowledged",
	reasonLastACK:                   "the last ACK acknowledges its FIN: the connection is closed",
	reasonNeverAnswered:             "nothing it sent was captured: the SYN may never have reached it, or nothing listened and nothing answered; the capture says nothing of its state",
}

// forgedReason is the reason an endpoint stays where it was at an RST
// forged in its name.
func forgedReason(g *Forgery) Reason {
	if g.OwnN > 0 {
		return Reason{kind: reasonForgedRSTTTL, a: uint32(g.TTL) | uint32(g.OwnMin)<<8 | uint32(g.OwnMax)<<16, n: uint64(g.OwnN), state: g.Held}
	}
	return Reason{kind: reasonForgedRSTIPID, a: uint32(g.IPID), n: uint64(g.PeerFrame), state: g.Held}
}

// heldWords says what an endpoint an RST was forged for still holds.
func heldWords(st State) string {
	if st == Unknown || st == Closed {
		return "so the RST says nothing of its state"
	}
	return "so it still holds the connection, in " + st.String()
}

// because is the reason of a kind that names no number.
func because(k reasonKind) Reason { return Reason{kind: k} }

// String says the reason in words. It allocates only for a reason that
// names numbers or states.
func (r Reason) String() string {
	if r.fins == 0 && r.kind < firstFormatted {
		return constantReasons[r.kind]
	}
	var buf [512]byte
	return string(r.appendWords(buf[:0]))
}

// AppendText appends the reason in words to b (encoding.TextAppender):
// the export writes the words of every transition, hundreds of
// thousands on a large capture, without a string for each.
func (r Reason) AppendText(b []byte) ([]byte, error) { return r.appendWords(b), nil }

func (r Reason) appendWords(b []byte) []byte {
	for range r.fins {
		b = append(b, retransmittedFIN...)
	}
	return r.appendWhy(b)
}

// again is the reason of a move made again on a FIN sent again, whose
// first move was for r.
func (r Reason) again() Reason {
	r.fins++
	return r
}

// frame is the frame r names first.
func (r Reason) frame() int { return int(r.n) }

// frame2 is the frame r names second, held in 40 bits: a capture of a
// trillion frames is beyond any reader (Wireshark numbers frames in 32).
func (r Reason) frame2() int { return int(uint64(r.a) | uint64(r.x)<<32) }

// ack is the acknowledgment number of a SYN-ACK's reason, which names
// three numbers.
func (r Reason) ack() uint32 { return uint32(r.n >> 32) }

// count is the count of bytes of a reason that names three numbers.
func (r Reason) count() uint32 { return uint32(r.n) }

func (r Reason) appendWhy(b []byte) []byte {
	if r.kind < firstFormatted {
		return append(b, constantReasons[r.kind]...)
	}
	switch r.kind {
	case reasonRSTToSYNACK:
		return appendf(b, "answered the SYN-ACK with an RST without ACK, seq=%d: a host's answer to a segment no socket owns, so it had no socket for this connection any more; its application gave up on connect() earlier (a timeout, or a NAT that forgot the mapping), which sends nothing the capture could show", num(r.a))
	case reasonRSTAbortive:
		return appendf(b, "sent RST in %s: an abortive close, which Linux sends instead of a FIN when the application closes with unread data in its receive buffer (RFC 2525 2.17) or with SO_LINGER 0, or when keepalive gives up; the connection and what it had buffered are gone", str(r.state.String()))
	case reasonRSTAfterClose:
		return appendf(b, "sent RST in %s, after its application had closed: the kernel resets a closed connection that receives data it can no longer deliver, or whose timer gives up; the connection is gone", str(r.state.String()))
	case reasonSYNSent:
		return appendf(b, "sent SYN seq=%d: an active open (connect())", num(r.a))
	case reasonSYNSentTFORequest:
		return appendf(b, "sent SYN seq=%d asking for a Fast Open cookie (an empty TFO option, RFC 7413): an active open (connect())", num(r.a))
	case reasonSYNSentTFOData:
		return appendf(b, "sent SYN seq=%d carrying a Fast Open cookie and %d bytes of data (TFO, RFC 7413): an active open whose first data rides on the SYN", num(r.a), num(r.n))
	case reasonSYNSentData:
		return appendf(b, "sent SYN seq=%d carrying %d bytes of data without a Fast Open cookie: an active open; the peer keeps the data only once the handshake completes", num(r.a), num(r.n))
	case reasonSYNsCrossed:
		return appendf(b, "sent a SYN of its own, seq=%d: it was not listening but opening actively (connect()), and the peer's SYN of frame %d had not reached it yet; the SYNs crossed", num(r.a), num(r.frame()))
	case reasonSimultaneousOpen:
		return appendf(b, "received the peer's SYN of frame %d while in SYN_SENT: a simultaneous open; it answers SYN-ACK", num(r.frame()))
	case reasonSYNACKAgain:
		b = appendf(b, "sent its SYN-ACK of frame %d again: the handshake ACK", num(r.frame()))
		if f := r.frame2(); f != 0 {
			b = appendf(b, " of frame %d", num(f))
		}
		return append(b, " did not reach it, so it was still in SYN_RECV and its timer resent the SYN-ACK"...)
	case reasonSYNACKSent, reasonSYNACKSentTFOAccepted, reasonSYNACKSentTFORefused:
		return r.synAckSent(b)
	case reasonSYNArrived, reasonSYNArrivedTFORequest, reasonSYNArrivedTFOData:
		what := "SYN"
		if r.x != 0 {
			what = "the retransmitted SYN"
		}
		switch r.kind {
		case reasonSYNArrivedTFOData:
			return appendf(b, "received %s seq=%d carrying %d bytes and a Fast Open cookie: a listener that accepts the cookie (RFC 7413) makes the connection at once, in SYN_RECV, hands the data to its application and may answer before the handshake completes", str(what), num(r.a), num(r.n))
		case reasonSYNArrivedTFORequest:
			return appendf(b, "received %s seq=%d asking for a Fast Open cookie: a listening socket answers SYN-ACK (with a cookie if Fast Open is on) and waits for the final ACK", str(what), num(r.a))
		}
		return appendf(b, "received %s seq=%d: a listening socket answers SYN-ACK and waits for the final ACK", str(what), num(r.a))
	case reasonSYNLost:
		return appendf(b, "the SYN of frame %d did not arrive (or was not answered): it came again with no SYN-ACK in between", num(r.frame()))
	case reasonSYNACKArrived, reasonSYNACKArrivedTFOAccepted, reasonSYNACKArrivedTFORefused:
		return r.synAckArrived(b)
	case reasonSYNACKLost:
		return appendf(b, "no segment from it acknowledged the SYN-ACK of frame %d, and it came again: the first did not arrive (or was not answered)", num(r.frame()))
	case reasonHandshakeAcked:
		return appendf(b, "ack=%d acknowledges its SYN: ESTABLISHED; the connection waits in the accept queue until the application accepts it", num(r.a))
	case reasonHandshakeAckedTFO:
		return appendf(b, "ack=%d acknowledges its SYN: ESTABLISHED; with Fast Open its application has had the connection since the SYN", num(r.a))
	case reasonFINSent:
		return appendf(b, "sent FIN seq=%d: its application closed the socket (or shut down writing); it waits for the ACK", num(r.a))
	case reasonFINSentNoData:
		return appendf(b, "sent FIN seq=%d without having sent any data: its application closed the connection (or shut down writing) unused; it waits for the ACK", num(r.a))
	case reasonFINSentAfterAccept:
		return appendf(b, "sent FIN seq=%d without having sent any data: its application accepted the connection and closed it at once, as an access list or a connection limit does after accept(); it waits for the ACK", num(r.a))
	case reasonFINSentLast:
		return appendf(b, "sent FIN seq=%d after the peer's: its application closed too; it waits for the last ACK", num(r.a))
	case reasonFINsCrossed:
		return appendf(b, "its FIN's ack=%d does not cover the peer's FIN of frame %d: it had not received that FIN when it closed, so it closed from %s and the two FINs crossed", num(r.a), num(r.frame()), str(r.state.String()))
	case reasonSimultaneousClose:
		return appendf(b, "received the peer's FIN of frame %d before the ACK of its own: a simultaneous close; CLOSING until its FIN is acknowledged", num(r.frame()))
	case reasonRSTLost:
		return appendf(b, "sends after the RST of frame %d, which a reset socket never does: that RST had not reached it when it sent this, or did not reset it, so it was still in %s", num(r.frame()), str(r.state.String()))
	case reasonRSTFromClosed:
		return appendf(b, "received RST seq=%d, exactly the next expected, from a peer that had closed the connection at frame %d: an RST without ACK is a host's answer to a segment no socket owns; the connection is reset (ECONNRESET) and its buffers discarded", num(r.a), num(r.frame()))
	case reasonRSTExact:
		return appendf(b, "received RST seq=%d, exactly the next expected: the connection is reset (ECONNRESET) and its buffers discarded", num(r.a))
	case reasonFINAckedWithFIN:
		return appendf(b, "ack=%d acknowledges its FIN: FIN_WAIT2, and the same segment carries the peer's FIN", num(r.a))
	case reasonTimeWaitWithACK:
		return appendf(b, "received the peer's FIN seq=%d with the ACK of its own: TIME_WAIT; %s", num(r.a), str(timeWaitHeld))
	case reasonFINAcked:
		return appendf(b, "ack=%d acknowledges its FIN: FIN_WAIT2, waiting for the peer's FIN", num(r.a))
	case reasonTimeWaitFromClosing:
		return appendf(b, "ack=%d acknowledges its FIN after a simultaneous close: TIME_WAIT; %s", num(r.a), str(timeWaitHeld))
	case reasonCloseWait:
		return appendf(b, "received FIN seq=%d: the peer finished sending; it waits in CLOSE_WAIT until its application closes", num(r.a))
	case reasonTimeWaitFromFinWait2:
		return appendf(b, "received the peer's FIN seq=%d and acknowledges it: TIME_WAIT; %s", num(r.a), str(timeWaitHeld))
	case reasonRSTWithoutSocket:
		return appendf(b, "sent an RST without ACK, seq=%d, the ack of the peer's segment: a host's answer to a segment no socket owns (RFC 9293 3.10.7.1; a socket that aborts sends RST with ACK), so it had left the connection before, by a close or reset the capture did not show (lost before the capture point, or sent before the capture began)", num(r.a))
	case reasonSYNCookieSent:
		return appendf(b, "its SYN-ACK of frame %d went unanswered longer than a SYN_RECV socket waits before resending it (1 s on Linux, 3 s elsewhere) and was never resent: it had answered the SYN with a SYN cookie, keeping no state, so it was only listening", num(r.frame()))
	case reasonSYNCookieChecked:
		return appendf(b, "ack=%d returns its SYN cookie: the kernel checks it and makes the connection from it, in SYN_RECV and at once ESTABLISHED", num(r.a))
	case reasonTimeWaitTakenOver:
		return appendf(b, "a new connection's SYN (frame %d) took over the 4-tuple: Linux ends a TIME_WAIT for it (tcp_tw_reuse for an outgoing connection, RFC 6191 for an incoming SYN with a newer sequence number or timestamp), and this connection is gone", num(r.frame()))
	case reasonForgedRSTTTL:
		ttl, lo, hi := r.a&0xff, r.a>>8&0xff, r.a>>16&0xff
		b = appendf(b, "did not send this RST: it arrived with TTL %d, and ", num(ttl))
		if r.n == 1 {
			b = append(b, "its one packet"...)
		} else {
			b = appendf(b, "its own %d packets", num(r.n))
		}
		b = appendf(b, " before it in this connection with TTL %d", num(lo))
		if hi != lo {
			b = appendf(b, " to %d", num(hi))
		}
		return appendf(b, "; a device in the path made it in its name, %s", str(heldWords(r.state)))
	case reasonForgedRSTIPID:
		return appendf(b, "did not send this RST: its IP ID %d is that of the peer's packet of frame %d, which it answers; a stack numbers its own packets, an injector copies the header it sees; a device in the path made it in its name, %s", num(r.a), num(r.frame()), str(heldWords(r.state)))
	case reasonForgedRSTArrived:
		if r.state == Unknown {
			return appendf(b, "received RST seq=%d, forged in the path in its peer's name: its socket is reset (connect() fails, or ECONNRESET) though the peer never sent it", num(r.a))
		}
		return appendf(b, "received RST seq=%d, forged in the path in its peer's name: its socket is reset (connect() fails, or ECONNRESET) while the peer, which never sent it, still holds the connection in %s: half-open", num(r.a), str(r.state.String()))
	case reasonSYNACKNeverAcked:
		return appendf(b, "it never acknowledged the SYN-ACK of frame %d, nor sent its SYN again, nor anything else: a socket in SYN_SENT acknowledges a SYN-ACK at once, so none was waiting for it (a scanner's SYN, sent from a raw socket), or no SYN-ACK reached it and it gave up unseen; the capture says nothing of its state", num(r.frame()))
	case reasonFINLost:
		return appendf(b, "the FIN of frame %d did not arrive: it was sent again and never acknowledged", num(r.frame()))
	}
	return appendf(b, "reason %d", num(r.kind))
}

func (r Reason) synAckSent(b []byte) []byte {
	b = appendf(b, "received a SYN and sent SYN-ACK seq=%d ack=%d", num(r.a), num(r.ack()))
	if r.kind == reasonSYNACKSent && r.x == 0 {
		return append(b, ": it waits for the final ACK"...)
	}
	switch r.kind {
	case reasonSYNACKSentTFOAccepted:
		b = appendf(b, ", acknowledging the %d bytes on the SYN: it accepted the Fast Open cookie, so its application has the connection and the data already", num(r.count()))
	case reasonSYNACKSentTFORefused:
		b = appendf(b, ", acknowledging the SYN but not the %d bytes on it: it did not take the data (no valid Fast Open cookie); the client sends them again", num(r.count()))
	}
	if r.x > 0 {
		b = appendf(b, "; it carries a Fast Open cookie (%d bytes) for the client's later connections", num(r.x))
	}
	return append(b, "; it waits for the final ACK"...)
}

func (r Reason) synAckArrived(b []byte) []byte {
	switch r.kind {
	case reasonSYNACKArrivedTFOAccepted:
		b = appendf(b, "received SYN-ACK ack=%d acknowledging its SYN and the %d bytes on it: the server accepted the Fast Open cookie; ESTABLISHED, and it sends the final ACK", num(r.a), num(r.n))
	case reasonSYNACKArrivedTFORefused:
		b = appendf(b, "received SYN-ACK ack=%d acknowledging its SYN but not the %d bytes on it: the server did not take them (no valid Fast Open cookie); ESTABLISHED, and it sends them again", num(r.a), num(r.n))
	default:
		b = appendf(b, "received SYN-ACK ack=%d acknowledging its SYN: ESTABLISHED; it sends the final ACK", num(r.a))
	}
	if r.x > 0 {
		b = appendf(b, "; the SYN-ACK gives it a Fast Open cookie (%d bytes) for later connections", num(r.x))
	}
	return b
}

// wordArg is a number or words that appendf puts in a reason's words.
type wordArg struct {
	words string
	n     uint64
	neg   bool
}

func num[T ~int | ~uint8 | ~uint32 | ~uint64](v T) wordArg {
	if v < 0 {
		return wordArg{n: uint64(-int64(v)), neg: true}
	}
	return wordArg{n: uint64(v)}
}

func str(s string) wordArg { return wordArg{words: s} }

// appendf appends format to b with each %d and %s replaced by the next
// argument, as fmt would print it: fmt's own boxes its numbers and
// allocates the string it makes.
func appendf(b []byte, format string, args ...wordArg) []byte {
	for _, arg := range args {
		i := strings.IndexByte(format, '%')
		if i < 0 || i+1 == len(format) {
			break
		}
		b = append(b, format[:i]...)
		switch {
		case format[i+1] == 's':
			b = append(b, arg.words...)
		case arg.neg:
			b = append(b, '-')
			fallthrough
		default:
			b = strconv.AppendUint(b, arg.n, 10)
		}
		format = format[i+2:]
	}
	return append(b, format...)
}

// ofFrame is the reason of kind k that names a frame.
func ofFrame(k reasonKind, frame int) Reason { return Reason{kind: k, n: uint64(frame)} }

// withFrame is the reason of kind k that names a sequence or
// acknowledgment number and a frame.
func withFrame(k reasonKind, num seq.Num, frame int) Reason {
	return Reason{kind: k, a: uint32(num), n: uint64(frame)}
}

// withNum is the reason of kind k that names a sequence or
// acknowledgment number.
func withNum(k reasonKind, num seq.Num) Reason { return Reason{kind: k, a: uint32(num)} }

// synACKAgain is the reason of a SYN-ACK sent again from what seemed
// ESTABLISHED: the first SYN-ACK's frame, and the handshake ACK's that
// did not reach the server (0 if none was captured).
func synACKAgain(first, hsAck int) Reason {
	return Reason{kind: reasonSYNACKAgain, n: uint64(first), a: uint32(hsAck), x: uint8(uint64(hsAck) >> 32)}
}

// cookie is the length of the Fast Open cookie h hands out, 0 for none.
func cookie(h *Handshake) uint8 {
	if h.TFO && h.TFOCookie > 0 {
		return uint8(h.TFOCookie)
	}
	return 0
}

// synSent is the reason of an active open: its SYN, and what the SYN
// carries of Fast Open.
func synSent(h *Handshake, iss seq.Num) Reason {
	r := Reason{kind: reasonSYNSent, a: uint32(iss), n: uint64(h.Data)}
	switch {
	case h.TFO && h.TFOCookie == 0:
		r.kind = reasonSYNSentTFORequest
	case h.TFO && h.Data > 0:
		r.kind = reasonSYNSentTFOData
	case h.Data > 0:
		r.kind = reasonSYNSentData
	}
	return r
}

// synArrived is the reason of a listener's SYN_RECV when the SYN arrives.
func synArrived(h *Handshake, iss seq.Num, again bool) Reason {
	r := Reason{kind: reasonSYNArrived, a: uint32(iss), n: uint64(h.Data)}
	if again {
		r.x = 1
	}
	switch {
	case h.TFO && h.Data > 0:
		r.kind = reasonSYNArrivedTFOData
	case h.TFO && h.TFOCookie == 0:
		r.kind = reasonSYNArrivedTFORequest
	}
	return r
}

// synAckSent is the reason of a listener's SYN-ACK: whether it took the
// data on the SYN, and whether it hands out a Fast Open cookie.
func synAckSent(h, peer *Handshake, seqNum, ack seq.Num, peerISS seq.Num) Reason {
	r := Reason{kind: reasonSYNACKSent, a: uint32(seqNum), n: uint64(ack) << 32, x: cookie(h)}
	switch {
	case peer.Data > 0 && ack.Greater(peerISS+1):
		r.kind = reasonSYNACKSentTFOAccepted
		r.n |= uint64(uint32(ack - peerISS - 1))
	case peer.Data > 0:
		r.kind = reasonSYNACKSentTFORefused
		r.n |= uint64(uint32(peer.Data))
	}
	return r
}

// synAckArrived is the reason of the client's ESTABLISHED on the SYN-ACK:
// whether the server took the data on its SYN, and whether it hands out a
// Fast Open cookie.
func synAckArrived(h, peer *Handshake, ack, iss seq.Num) Reason {
	r := Reason{kind: reasonSYNACKArrived, a: uint32(ack), x: cookie(peer)}
	switch {
	case h.Data > 0 && ack.Greater(iss+1):
		r.kind = reasonSYNACKArrivedTFOAccepted
		r.n = uint64(uint32(ack - iss - 1))
	case h.Data > 0:
		r.kind = reasonSYNACKArrivedTFORefused
		r.n = uint64(h.Data)
	}
	return r
}

// handshakeAcked is the reason of a listener's ESTABLISHED on the final
// ACK of the handshake. With Fast Open accepted, the application had the
// connection since the SYN; otherwise it is in the accept queue.
func handshakeAcked(ack seq.Num, peer *Endpoint) Reason {
	if peer.Handshake.Data > 0 && peer.SndUna.Greater(peer.ISS+1) {
		return withNum(reasonHandshakeAckedTFO, ack)
	}
	return withNum(reasonHandshakeAcked, ack)
}

// finSent is the reason of a FIN from ESTABLISHED (or SYN_RECV). A server
// that closes before sending anything at all turned the client away.
func finSent(e *Endpoint) Reason {
	if e.PayloadBytes == 0 && e.synACKFrame != 0 {
		return withNum(reasonFINSentAfterAccept, e.FINSeq)
	}
	if e.PayloadBytes == 0 {
		return withNum(reasonFINSentNoData, e.FINSeq)
	}
	return withNum(reasonFINSent, e.FINSeq)
}

// rstSent is the reason of an RST that ends a connection the sender had:
// what makes Linux send one instead of a FIN while the application still
// holds the socket, and after it has closed.
func rstSent(st State) Reason {
	if st == Established || st == CloseWait {
		return Reason{kind: reasonRSTAbortive, state: st}
	}
	return Reason{kind: reasonRSTAfterClose, state: st}
}
