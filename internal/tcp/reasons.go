package tcp

import (
	"fmt"

	"github.com/tcplens/tcplens/internal/seq"
)

// The reasons of the transitions whose wording depends on what the
// handshake carried (TCP Fast Open, RFC 7413) or on what the endpoint had
// sent before; machine.go picks the transition, these say why.

// timeWaitHeld is what every entry into TIME_WAIT says of its length:
// the capture cannot show the timer, so its length is stated.
const timeWaitHeld = "Linux holds it 60 s (TCP_TIMEWAIT_LEN; RFC 9293 says 2×MSL)"

// synSent is the reason of an active open: its SYN, and what the SYN
// carries of Fast Open.
func synSent(h *Handshake, iss seq.Num) string {
	switch {
	case h.TFO && h.TFOCookie == 0:
		return fmt.Sprintf("sent SYN seq=%d asking for a Fast Open cookie (an empty TFO option, RFC 7413): an active open (connect())", iss)
	case h.TFO && h.Data > 0:
		return fmt.Sprintf("sent SYN seq=%d carrying a Fast Open cookie and %d bytes of data (TFO, RFC 7413): an active open whose first data rides on the SYN", iss, h.Data)
	case h.Data > 0:
		return fmt.Sprintf("sent SYN seq=%d carrying %d bytes of data without a Fast Open cookie: an active open; the peer keeps the data only once the handshake completes", iss, h.Data)
	}
	return fmt.Sprintf("sent SYN seq=%d: an active open (connect())", iss)
}

// synArrived is the reason of a listener's SYN_RECV when the SYN arrives.
func synArrived(h *Handshake, iss seq.Num, again bool) string {
	what := "SYN"
	if again {
		what = "the retransmitted SYN"
	}
	switch {
	case h.TFO && h.Data > 0:
		return fmt.Sprintf("received %s seq=%d carrying %d bytes and a Fast Open cookie: a listener that accepts the cookie (RFC 7413) makes the connection at once, in SYN_RECV, hands the data to its application and may answer before the handshake completes", what, iss, h.Data)
	case h.TFO && h.TFOCookie == 0:
		return fmt.Sprintf("received %s seq=%d asking for a Fast Open cookie: a listening socket answers SYN-ACK (with a cookie if Fast Open is on) and waits for the final ACK", what, iss)
	}
	return fmt.Sprintf("received %s seq=%d: a listening socket answers SYN-ACK and waits for the final ACK", what, iss)
}

// synAckSent is the reason of a listener's SYN-ACK: whether it took the
// data on the SYN, and whether it hands out a Fast Open cookie.
func synAckSent(h, peer *Handshake, seqNum, ack seq.Num, peerISS seq.Num) string {
	s := fmt.Sprintf("received a SYN and sent SYN-ACK seq=%d ack=%d", seqNum, ack)
	if peer.Data == 0 && !(h.TFO && h.TFOCookie > 0) {
		return s + ": it waits for the final ACK"
	}
	switch {
	case peer.Data > 0 && ack.Greater(peerISS+1):
		s += fmt.Sprintf(", acknowledging the %d bytes on the SYN: it accepted the Fast Open cookie, so its application has the connection and the data already", ack-peerISS-1)
	case peer.Data > 0:
		s += fmt.Sprintf(", acknowledging the SYN but not the %d bytes on it: it did not take the data (no valid Fast Open cookie); the client sends them again", peer.Data)
	}
	if h.TFO && h.TFOCookie > 0 {
		s += fmt.Sprintf("; it carries a Fast Open cookie (%d bytes) for the client's later connections", h.TFOCookie)
	}
	return s + "; it waits for the final ACK"
}

// synAckArrived is the reason of the client's ESTABLISHED on the SYN-ACK:
// whether the server took the data on its SYN, and whether it hands out a
// Fast Open cookie.
func synAckArrived(h, peer *Handshake, ack, iss seq.Num) string {
	var s string
	switch {
	case h.Data > 0 && ack.Greater(iss+1):
		s = fmt.Sprintf("received SYN-ACK ack=%d acknowledging its SYN and the %d bytes on it: the server accepted the Fast Open cookie; ESTABLISHED, and it sends the final ACK", ack, ack-iss-1)
	case h.Data > 0:
		s = fmt.Sprintf("received SYN-ACK ack=%d acknowledging its SYN but not the %d bytes on it: the server did not take them (no valid Fast Open cookie); ESTABLISHED, and it sends them again", ack, h.Data)
	default:
		s = fmt.Sprintf("received SYN-ACK ack=%d acknowledging its SYN: ESTABLISHED; it sends the final ACK", ack)
	}
	if peer.TFO && peer.TFOCookie > 0 {
		s += fmt.Sprintf("; the SYN-ACK gives it a Fast Open cookie (%d bytes) for later connections", peer.TFOCookie)
	}
	return s
}

// handshakeAcked is the reason of a listener's ESTABLISHED on the final
// ACK of the handshake. With Fast Open accepted, the application had the
// connection since the SYN; otherwise it is in the accept queue.
func handshakeAcked(ack seq.Num, peer *Endpoint) string {
	if peer.Handshake.Data > 0 && peer.SndUna.Greater(peer.ISS+1) {
		return fmt.Sprintf("ack=%d acknowledges its SYN: ESTABLISHED; with Fast Open its application has had the connection since the SYN", ack)
	}
	return fmt.Sprintf("ack=%d acknowledges its SYN: ESTABLISHED; the connection waits in the accept queue until the application accepts it", ack)
}

// finSent is the reason of a FIN from ESTABLISHED (or SYN_RECV). A server
// that closes before sending anything at all turned the client away.
func finSent(e *Endpoint) string {
	if e.PayloadBytes == 0 && e.synACKFrame != 0 {
		return fmt.Sprintf("sent FIN seq=%d without having sent any data: its application accepted the connection and closed it at once, as an access list or a connection limit does after accept(); it waits for the ACK", e.FINSeq)
	}
	if e.PayloadBytes == 0 {
		return fmt.Sprintf("sent FIN seq=%d without having sent any data: its application closed the connection (or shut down writing) unused; it waits for the ACK", e.FINSeq)
	}
	return fmt.Sprintf("sent FIN seq=%d: its application closed the socket (or shut down writing); it waits for the ACK", e.FINSeq)
}

// rstSent is the reason of an RST that ends a connection the sender had:
// what makes Linux send one instead of a FIN while the application still
// holds the socket, and after it has closed.
func rstSent(st State) string {
	if st == Established || st == CloseWait {
		return fmt.Sprintf("sent RST in %s: an abortive close, which Linux sends instead of a FIN when the application closes with unread data in its receive buffer (RFC 2525 2.17) or with SO_LINGER 0, or when keepalive gives up; the connection and what it had buffered are gone", st)
	}
	return fmt.Sprintf("sent RST in %s, after its application had closed: the kernel resets a closed connection that receives data it can no longer deliver, or whose timer gives up; the connection is gone", st)
}
