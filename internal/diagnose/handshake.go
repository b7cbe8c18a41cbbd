package diagnose

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// synFrames are the client's SYN and its retransmissions.
func (c *Conn) synFrames() []int {
	fs := []int{c.Client.Offered.Frame, c.Facts.Client.FirstSYN.Frame}
	fs = append(fs, c.Facts.Client.Kind(event.SYNRetransmission).Frames...)
	return frames(fs...)
}

// synackFrames are the server's SYN-ACK and its retransmissions (a
// SYN-ACK with another ISN is another server's, or another connection's).
func (c *Conn) synackFrames() []int {
	return frames(append([]int{c.Server.Offered.Frame}, c.Facts.Server.SYNACKAgain...)...)
}

// clientOpened reports whether the client sent a SYN the capture saw.
func (c *Conn) clientOpened() bool { return c.Client.Offered.Seen && !c.RoleGuessed }

func ruleRefused(x *env, c *Conn) *Finding {
	sv := &c.Server
	if !c.clientOpened() || sv.Offered.Seen || !sv.SentRST || sv.Packets == 0 {
		return nil
	}
	if g, _, _ := x.forgedRST(c, server); g != nil {
		return nil // middlebox-reset says it
	}
	syns := c.synFrames()
	f := c.Facts.Server
	var ev claims
	ev.add(c.sent(client, synOnly, synMask, syns...))
	after := ""
	if f.RST.Seen() && c.Facts.Client.AnsweredSYN.Seen() {
		d := f.RST.Time.Sub(c.Facts.Client.AnsweredSYN.Time)
		after = " " + dur(d) + " later"
		ev.add(c.elapsed(c.Facts.Client.AnsweredSYN.Frame, f.RST.Frame, d))
	}
	tries := ""
	if len(syns) > 1 {
		tries = fmt.Sprintf(" (sent %d times)", len(syns))
	}
	rst, flags := "RST", wire.RST
	if f.RSTAck {
		rst, flags = "RST,ACK", wire.RST|wire.ACK
	}
	ev.add(c.sent(server, flags, rstMask|wire.ACK, sv.RSTFrame))
	origin, oc := x.rstOrigin(c, server)
	ev.add(oc...)
	expl := fmt.Sprintf("The client's SYN%s (%s) to %s was answered by %s%s (frame %d): nothing listens on that port, "+
		"so the server's kernel resets the attempt and connect() fails with ECONNREFUSED; a firewall that rejects with a TCP "+
		"reset (iptables -j REJECT --reject-with tcp-reset) looks the same. %s",
		tries, frameList(syns, len(syns)), sv.Addr, rst, after, sv.RSTFrame, origin)
	return &Finding{
		ID: "refused", Severity: Error, Evidence: ev,
		Title:       fmt.Sprintf("connection refused: %s answered the SYN with RST", sv.Addr),
		Explanation: expl,
		Advice: "Check that the service runs and listens on that address and port (on the server: ss -ltn 'sport = :" +
			fmt.Sprint(sv.Addr.Port()) + "'); if it does, look for a firewall REJECT rule between the two hosts.",
	}
}

func ruleSYNTimeout(x *env, c *Conn) *Finding {
	sv := &c.Server
	if !c.clientOpened() || sv.Packets > 0 {
		return nil
	}
	// One SYN alone, as from every source of a flood, is told without
	// building the list of SYNs.
	if fc := &c.Facts.Client; fc.Kind(event.SYNRetransmission).N == 0 &&
		(c.Client.Offered.Frame == 0 || fc.FirstSYN.Frame == 0 || c.Client.Offered.Frame == fc.FirstSYN.Frame) {
		return nil
	}
	syns := c.synFrames()
	f := &c.Facts.Client
	if len(syns) < 2 {
		return nil // one SYN alone may be a capture that ended too soon; syn-flood counts those
	}
	var ev claims
	ev.add(c.sent(client, synOnly, synMask, syns...), c.claim(ClaimSilent, server))
	var backoff []string
	for i, g := range c.synGaps() {
		backoff = append(backoff, dur(g))
		ev.add(c.elapsed(f.SYNMarks[i].Frame, f.SYNMarks[i+1].Frame, g))
	}
	expl := fmt.Sprintf("The client sent its SYN %d times (%s), %s apart, and nothing came back from %s: no SYN-ACK, no RST. "+
		"Each retry doubles the wait (Linux: 1 s, 2 s, 4 s … up to net.ipv4.tcp_syn_retries, 6 by default, about 127 s in all) "+
		"and connect() then fails with ETIMEDOUT. Silence, unlike a refusal, means the SYNs were dropped: the host is down or unreachable, "+
		"or a firewall drops them.",
		len(syns), frameList(syns, len(syns)), strings.Join(backoff, ", then "), sv.Addr)
	tail := ""
	if c.Vantage == analyze.VantageUnknown {
		tail = " A capture next to the server would tell whether the SYNs arrive there (then the server or its host firewall drops them) or not (the path does)."
	}
	fd := &Finding{
		ID: "syn-timeout", Severity: Error,
		Title: fmt.Sprintf("SYN to %s never answered (%d tries)", sv.Addr, len(syns)),
		Advice: "Check that the server is up and routable from the client, and look for a firewall rule that drops (rather than rejects) " +
			"traffic to that port; capture at the server to see whether the SYNs arrive.",
		weight: float64(len(syns)),
	}
	// How long the capture goes on after the last SYN is known at its
	// end: the words are written then.
	last := f.AnsweredSYN
	fd.late = func(fd *Finding, end Mark) {
		fd.Explanation, fd.Evidence = expl, ev
		if end.Time > last.Time && end.Frame != last.Frame {
			d := end.Time.Sub(last.Time)
			fd.Explanation += fmt.Sprintf(" The capture goes on %s after the last SYN.", dur(d))
			if end.Frame != 0 { // unknown when another run read the last frame
				fd.Evidence = append(slices.Clip(ev), elapsedAny(last.Frame, end.Frame, d))
			}
		}
		fd.Explanation += tail
		fd.evidenceFrames()
	}
	fd.late(fd, x.end)
	return fd
}

// synGaps are the times between the client's successive SYNs.
func (c *Conn) synGaps() []time.Duration {
	ts := c.Facts.Client.SYNMarks
	out := make([]time.Duration, 0, len(ts))
	for i := 1; i < len(ts); i++ {
		out = append(out, ts[i].Time.Sub(ts[i-1].Time))
	}
	return out
}

func ruleSYNACKRetrans(x *env, c *Conn) *Finding {
	sv, cl := &c.Server, &c.Client
	if sv.Retrans.SYNACK == 0 || c.simultaneousOpen() {
		return nil // in a simultaneous open each SYN-ACK repeats its sender's SYN
	}
	sa := c.synackFrames()
	fc, fsv := &c.Facts.Client, &c.Facts.Server
	firstRe := 0
	if re := fsv.Kind(event.SYNACKRetransmission).Frames; len(re) > 0 {
		firstRe = re[0]
	}
	handshakeAck := c.handshakeAckFrame()
	var ev claims
	ev.add(c.sent(server, synACK, synMask, sa...), c.claim(ClaimSameSeq, server, sa...))

	cost := ""
	if last := fsv.LastSYNACK; last.Frame > sv.Offered.Frame {
		cost = fmt.Sprintf(" The server spent at least %s in SYN_RECV, where one round trip (%s) should do.", dur(last.Time.Sub(sv.Offered.Time)), dur(c.rtt()))
		ev.add(c.elapsed(sv.Offered.Frame, last.Frame, last.Time.Sub(sv.Offered.Time)))
	}
	// The client's SYNs sent again after the first SYN-ACK: each draws a
	// SYN-ACK of its own, the server's answer to a SYN in SYN_RECV.
	var synsAfter []int
	for _, m := range fc.SYNMarks {
		if m.Frame > sv.Offered.Frame {
			synsAfter = append(synsAfter, m.Frame)
		}
	}
	first := fc.FirstNonSYN
	echoesFirst := first.Seen() && first.Frame > sv.Offered.Frame && fc.FirstNonSYNHas && fsv.SYNACKHasTS && fc.FirstNonSYNTS == fsv.SYNACKTSVal
	switch {
	case c.firstSYNACKLost() && c.synackResentAcrossAck():
		return nil // handshake-latency: the first SYN-ACK was lost, and the resend only crossed the ACK
	case handshakeAck > 0 && handshakeAck < firstRe && !c.synackResentAcrossAck():
		where := "between the capture point and the server"
		if c.Vantage == analyze.VantageServer { // next to the server: the ACK was captured, so it arrived
			where = "at the server itself (the capture next to the server saw it): the server did not accept it, e.g. its accept queue was full"
		}
		ev.add(c.sent(client, ackNoFlags, wire.ACK|wire.SYN|wire.RST, handshakeAck), c.claim(ClaimAcked, server, sv.Offered.Frame))
		return &Finding{
			ID: "synack-retrans-lost-ack", Severity: severityIf(c.HandshakeRTT > 0, Notice, Warning), Evidence: ev,
			Title: "SYN-ACK retransmitted although the client had answered it: the ACK was lost",
			Explanation: fmt.Sprintf("The server sent its SYN-ACK again (%s) although the client had acknowledged the first (frame %d): "+
				"that ACK never reached the server's socket, so the server stayed in SYN_RECV until its SYN-ACK timer fired "+
				"(Linux: 1 s, doubling, net.ipv4.tcp_synack_retries=5). The client was already ESTABLISHED and answered the retransmission "+
				"again. The ACK was lost %s.%s",
				frameList(sa, len(sa)), handshakeAck, where, cost),
			Advice: lostACKAdvice,
		}
	case len(synsAfter) > 0 && echoesFirst:
		// The SYN-ACKs answered SYNs the client sent again because the
		// first SYN-ACK had not reached it yet; its ACK of that first
		// one shows it came, late.
		ev.add(c.sent(client, synOnly, synMask, synsAfter...), c.pair(ClaimEchoes, client, first.Frame, sv.Offered.Frame))
		d := first.Time.Sub(sv.Offered.Time)
		ev.add(c.elapsed(sv.Offered.Frame, first.Frame, d))
		return &Finding{
			ID: "handshake-latency", Severity: Notice, Evidence: ev, weight: d.Seconds(),
			Title: fmt.Sprintf("the SYN-ACK reached the client late: it sent its SYN again %s first", timesWord(len(synsAfter))),
			Explanation: fmt.Sprintf("The server answered the SYN at once (frame %d), but the client sent its SYN again (%s) before "+
				"that SYN-ACK reached it, and the server answered each with the same SYN-ACK (%s): a SYN that arrives in SYN_RECV draws "+
				"the SYN-ACK again. The client's first ACK (frame %d, %s after the first SYN-ACK) echoes that first SYN-ACK's timestamp: it "+
				"did arrive, late, so nothing was lost: the path from the server to the client delayed it by about as long as the client "+
				"waited before resending its SYN.%s",
				sv.Offered.Frame, frameList(synsAfter, len(synsAfter)), frameList(sa[1:], len(sa)-1), first.Frame, dur(d), cost),
			Advice: "Look for queueing on the path towards the client (a congested link, a busy middlebox); a client whose SYN timer " +
				"is shorter than the path's round trip resends every handshake.",
		}
	case len(synsAfter) > 0:
		ev.add(c.sent(client, synOnly, synMask, synsAfter...))
		return &Finding{
			ID: "synack-retrans-lost-ack", Severity: Notice, Evidence: ev,
			Title: "SYN-ACK retransmitted: the first SYN-ACK did not reach the client",
			Explanation: fmt.Sprintf("The client sent its SYN again (%s) after the server's SYN-ACK (frame %d): the SYN-ACK, not the "+
				"ACK, was lost on the way to the client, which stayed in SYN_SENT; both ends retried on their timers (%s).%s",
				frameList(synsAfter, len(synsAfter)), sv.Offered.Frame, frameList(sa, len(sa)), cost),
			Advice: "Nothing the applications can do: the network lost a packet on the server-to-client path.",
		}
	case handshakeAck == 0 && first.Seen() && first.Frame > firstRe && !cl.SentRST &&
		(echoesFirst || fc.FirstNonSYNGap > 0):
		// Next to the server or in the middle, an ACK lost before the
		// capture point leaves its marks on the ACK that follows.
		var marks []string
		if echoesFirst {
			ev.add(c.pair(ClaimEchoes, client, first.Frame, sv.Offered.Frame))
			marks = append(marks, fmt.Sprintf("echoes the timestamp of the first SYN-ACK (frame %d), not of the one it answers: the client "+
				"had received the first and acknowledged it", sv.Offered.Frame))
		}
		if fc.FirstNonSYNGap > 0 && fc.FirstNonSYNPrv != 0 {
			ev.add(c.pair(ClaimIPIDSkipped, client, fc.FirstNonSYNPrv, first.Frame).withN(int64(fc.FirstNonSYNGap)))
			marks = append(marks, fmt.Sprintf("carries an IP ID %s after the client's previous packet (frame %d): Linux numbers a "+
				"connection's packets one by one, so the client sent %s the capture never saw",
				count(fc.FirstNonSYNGap+1, "number"), fc.FirstNonSYNPrv, count(fc.FirstNonSYNGap, "packet")))
		}
		ev.add(c.sent(client, ackNoFlags, wire.ACK|wire.SYN|wire.RST, first.Frame))
		return &Finding{
			ID: "synack-retrans-lost-ack", Severity: Notice, Evidence: ev,
			Title: "SYN-ACK retransmitted although the client had answered it: the ACK was lost before the capture point",
			Explanation: fmt.Sprintf("The server sent its SYN-ACK again (%s): its SYN_RECV timer fired, so no ACK of the first had reached "+
				"it. The client's first ACK in the capture (frame %d) %s. The client's ACK of the first SYN-ACK was lost on the way, before "+
				"this capture point, and the server stayed in SYN_RECV until its timer resent the SYN-ACK (Linux: 1 s, doubling).%s",
				frameList(sa, len(sa)), first.Frame, strings.Join(marks, ", and "), cost),
			Advice: lostACKAdvice,
		}
	}
	clientRST := cl.SentRST && cl.RSTFrame > firstRe && firstRe > 0
	var answer string
	switch {
	case clientRST:
		answer = fmt.Sprintf("answered it with RST (frame %d)", cl.RSTFrame)
		ev.add(c.sent(client, wire.RST, rstMask, cl.RSTFrame))
	case !first.Seen() || first.Frame < sv.Offered.Frame:
		answer = "did not answer it at all"
		ev.add(c.claim(ClaimSilent, client, sv.Offered.Frame))
	default:
		// It answered only after the SYN-ACK came again.
		ev.add(c.sent(client, ackNoFlags, wire.ACK|wire.SYN|wire.RST, first.Frame), c.pair(ClaimQuiet, client, sv.Offered.Frame, firstRe))
		return &Finding{
			ID: "synack-retrans-lost-ack", Severity: Notice, Evidence: ev,
			Title: "SYN-ACK retransmitted: the client answered only the second",
			Explanation: fmt.Sprintf("The server sent its SYN-ACK again (%s) and the client sent nothing between the first and the second; "+
				"its first answer is frame %d. The first SYN-ACK, or the client's answer to it, was lost on the way: a capture next to the "+
				"client would tell which (an ACK there means it was the ACK).%s", frameList(sa, len(sa)), first.Frame, cost),
			Advice: lostACKAdvice,
		}
	}
	expl := fmt.Sprintf("The server sent its SYN-ACK again (%s) and the client %s: the client no longer knows this connection. "+
		"Either a NAT between them dropped the mapping (common on long-RTT cellular paths with short NAT timeouts), so the SYN-ACK "+
		"reaches a host that never sent the SYN, or the client gave up on connect() (a short connect timeout) before the SYN-ACK arrived.",
		frameList(sa, len(sa)), answer)
	if !clientRST {
		expl += " Silence also fits a client whose ACKs are all lost on the way: a capture next to the client would show whether it answers."
	}
	if handshakeAck == 0 && c.Vantage == analyze.VantageServer {
		expl += " The capture was taken next to the server, so the first SYN-ACK may have been lost before the client: the client's RST shows it had forgotten the connection by the time one arrived."
	}
	return &Finding{
		ID: "synack-retrans-client-forgot", Severity: Error, Evidence: ev,
		Title:       "SYN-ACK retransmitted and the client answered RST or nothing: it forgot the connection",
		Explanation: expl,
		Advice: "Check the client's connect timeout (too short for this path's RTT?) and any NAT between the hosts (its TCP timeouts for " +
			"half-open connections); keepalives or a longer connect timeout on the client help.",
	}
}

// lostACKAdvice is what to do about a handshake ACK the network lost.
const lostACKAdvice = "Nothing the applications can do: the network lost a packet. If it recurs, look for loss on the client-to-server " +
	"path (interface errors, a congested or policed link); clients that speak first lose nothing, because their data repeats the ACK."

// handshakeAckFrame is the client's first ACK of the server's SYN-ACK.
func (c *Conn) handshakeAckFrame() int {
	for _, t := range c.Server.History {
		if t.From == tcp.SynReceived && t.State == tcp.Established && !t.Correction {
			return t.Frame
		}
	}
	return 0
}

func severityIf(cond bool, yes, no Severity) Severity {
	if cond {
		return yes
	}
	return no
}

// firstSYNACKLost says the server had answered the client's first SYN,
// though the client sent it again before a SYN-ACK reached the capture
// point: the first SYN-ACK the capture saw echoes the first SYN's
// timestamp, which a Linux server keeps from the SYN that made the
// half-open connection (a SYN it dropped, on a full queue, makes none).
func (c *Conn) firstSYNACKLost() bool {
	fc, fs := &c.Facts.Client, &c.Facts.Server
	return fc.SYNs > 1 && fc.AnsweredSYN.Frame > fc.FirstSYN.Frame && fc.SYNHasTS && fs.SYNACKHasTS && fs.SYNACKTSEcr == fc.SYNTSVal &&
		fc.AnsweredSYNTSVal != fc.SYNTSVal
}

// synackResentAcrossAck says the server's SYN-ACKs sent again after the
// client's handshake ACK all left before that ACK could reach the server:
// they came less than the capture point's round trip to the server (its
// SYN to SYN-ACK) after it.
func (c *Conn) synackResentAcrossAck() bool {
	fc, fs := &c.Facts.Client, &c.Facts.Server
	ack := c.handshakeAckTime()
	toServer := c.Server.Offered.Time.Sub(fc.AnsweredSYN.Time)
	return ack != 0 && fc.AnsweredSYN.Seen() && fs.LastSYNACK.Time > ack && fs.LastSYNACK.Time.Sub(ack) < toServer
}

func ruleHandshakeLatency(x *env, c *Conn) *Finding {
	fc := &c.Facts.Client
	sv := &c.Server
	if !c.clientOpened() || !sv.Offered.Seen || !fc.FirstSYN.Seen() {
		return nil
	}
	// A SYN-ACK sent again is synack-retrans-lost-ack's, unless it only
	// crossed the ACK of a SYN-ACK that answered a resent SYN.
	if sv.Retrans.SYNACK > 0 && !(c.firstSYNACKLost() && c.synackResentAcrossAck()) {
		return nil
	}
	lost := fc.AnsweredSYN.Time.Sub(fc.FirstSYN.Time)
	answer := sv.Offered.Time.Sub(fc.AnsweredSYN.Time)
	ref := c.Client.RTT.Min // capture point to server and back, as data measures it
	switch {
	case c.firstSYNACKLost():
		syns := c.synFrames()
		var ev claims
		ev.add(c.sent(client, synOnly, synMask, syns...), c.sent(server, synACK, synMask, sv.Offered.Frame),
			c.claim(ClaimFirstFrom, server, sv.Offered.Frame), c.pair(ClaimEchoes, server, sv.Offered.Frame, fc.FirstSYN.Frame),
			c.elapsed(fc.FirstSYN.Frame, sv.Offered.Frame, lost+answer))
		return &Finding{
			ID: "handshake-latency", Severity: severityIf(lost >= time.Second, Warning, Notice), weight: (lost + answer).Seconds(),
			Evidence: ev,
			Title:    fmt.Sprintf("connect took %s: the server answered the first SYN, but that SYN-ACK was lost", dur(lost+answer)),
			Explanation: fmt.Sprintf("The client sent its SYN %d times (%s) before a SYN-ACK reached the capture point (frame %d): the "+
				"handshake took %s instead of one round trip. The server had received the first SYN: its SYN-ACK echoes that SYN's "+
				"timestamp (TSval %d), which Linux keeps from the SYN that made the half-open connection and repeats in every SYN-ACK "+
				"of it, whichever SYN it answers. So the server answered at once and its SYN-ACK was lost on the way, before this capture "+
				"point; the client's SYN timer (1 s, then doubling) sent the SYN again, and the answer to that one got through.",
				fc.SYNs, frameList(syns, len(syns)), sv.Offered.Frame, dur(lost+answer), fc.SYNTSVal),
			Advice: "Nothing the applications can do: the network lost a packet on the server-to-client path. If it recurs, look for " +
				"loss there (interface errors and drops, a congested or policed link).",
		}
	case fc.SYNs > 1 && fc.AnsweredSYN.Frame > fc.FirstSYN.Frame:
		syns := c.synFrames()
		var ev claims
		ev.add(c.sent(client, synOnly, synMask, syns...), c.sent(server, synACK, synMask, sv.Offered.Frame),
			c.claim(ClaimFirstFrom, server, sv.Offered.Frame), c.elapsed(fc.FirstSYN.Frame, sv.Offered.Frame, lost+answer),
			c.elapsed(fc.AnsweredSYN.Frame, sv.Offered.Frame, answer))
		return &Finding{
			ID: "handshake-latency", Severity: severityIf(lost >= time.Second, Warning, Notice), weight: (lost + answer).Seconds(),
			Evidence: ev,
			Title:    fmt.Sprintf("connect took %s: %s went unanswered first", dur(lost+answer), count(fc.SYNs-1, "SYN")),
			Explanation: fmt.Sprintf("The client sent its SYN %d times (%s) before the server answered (frame %d, %s after the last SYN): "+
				"the handshake took %s instead of one round trip, all of it the client's SYN timer (1 s, then doubling). "+
				"Unanswered SYNs are lost on the way, or dropped by the server when its listen queue is full (the accept queue of an "+
				"application that does not accept fast enough: Linux then drops SYNs and counts ListenOverflows/ListenDrops in nstat) or "+
				"when a SYN flood fills the SYN backlog.",
				fc.SYNs, frameList(syns, len(syns)), sv.Offered.Frame, dur(answer), dur(lost+answer)),
			Advice: "On the server, check nstat -az TcpExtListenOverflows TcpExtListenDrops and the listener's backlog (ss -ltn shows Recv-Q/Send-Q); " +
				"raise the backlog (listen(), net.core.somaxconn) or accept faster. If the server never saw the SYNs, look for loss on the path.",
		}
	case ref > 0 && fc.AnsweredSYN.Seen() && answer > 3*ref && answer-ref > 20*time.Millisecond:
		cause := "A kernel answers a SYN at once; a SYN proxy or load balancer that connects to the backend first, SYN cookies under load, or a busy host delays it."
		if ref < time.Millisecond && answer > 20*ref {
			cause = fmt.Sprintf("ACKs within %s cannot come from a host whose SYN-ACK takes %s: something next to the capture point "+
				"acknowledges data for the server, a transparent proxy, TCP-splitting WAN optimiser or scanning gateway, and it answered "+
				"the SYN only once its own connection to the server was up.", dur(ref), dur(answer))
		}
		return &Finding{
			ID: "handshake-latency", Severity: Notice, weight: answer.Seconds(),
			Evidence: []Claim{c.sent(client, synOnly, synMask, fc.AnsweredSYN.Frame), c.sent(server, synACK, synMask, sv.Offered.Frame),
				c.elapsed(fc.AnsweredSYN.Frame, sv.Offered.Frame, answer)},
			Title: fmt.Sprintf("slow SYN-ACK: %s after the SYN, %s the data round trip", dur(answer), times(answer, ref)),
			Explanation: fmt.Sprintf("The server answered the SYN (frame %d) after %s, while its ACKs of data came back within %s of the data: "+
				"something between the capture point and the server's kernel spent %s on the SYN. %s",
				sv.Offered.Frame, dur(answer), dur(ref), dur(answer-ref), cause),
			Advice: "Look at what terminates TCP in front of the server (a load balancer or SYN proxy) and at the server's load; a capture on the server itself would show whether the delay is in its kernel.",
		}
	}
	return nil
}

// simultaneousOpenFrames are the frames that moved an end from SYN_SENT
// to SYN_RECV: the mark of a simultaneous open.
func (c *Conn) simultaneousOpenFrames() []int {
	var fs []int
	for _, h := range [][]tcp.Transition{c.Client.History, c.Server.History} {
		for _, t := range h {
			if t.From == tcp.SynSent && t.State == tcp.SynReceived {
				fs = append(fs, t.Frame)
			}
		}
	}
	return fs
}

func (c *Conn) simultaneousOpen() bool { return len(c.simultaneousOpenFrames()) > 0 }

func ruleSimultaneousOpen(x *env, c *Conn) *Finding {
	fs := c.simultaneousOpenFrames()
	if len(fs) == 0 {
		return nil
	}
	return &Finding{
		ID: "simultaneous-open", Severity: Info,
		Evidence: []Claim{c.sent(client, synOnly, synMask, c.Client.Offered.Frame), c.sent(server, synOnly, synMask, c.Server.Offered.Frame)},
		Title:    "simultaneous open: both ends sent a SYN",
		Explanation: fmt.Sprintf("Both %s and %s sent a SYN before receiving the other's, so each answered with a SYN-ACK from "+
			"SYN_SENT and went through SYN_RECV to ESTABLISHED (RFC 9293 section 3.5, figure 8). Nobody listens in a simultaneous "+
			"open: both ends connect(). Which end tcplens calls the client is only the one whose SYN came first.",
			c.Client.Addr, c.Server.Addr),
		Advice: "Nothing to fix: rare outside peer-to-peer NAT traversal (TCP hole punching), where it is done on purpose.",
	}
}

func ruleFastOpen(x *env, c *Conn) *Finding {
	co, so := &c.Client.Offered, &c.Server.Offered
	if !co.TFO {
		return nil
	}
	tfo := c.claim(ClaimOptions, client, co.Frame).withN(int64(wire.HasFastOpen))
	data := c.claim(ClaimData, client, co.Frame)
	synack := c.sent(server, synACK, synMask, so.Frame)
	switch {
	case co.Data > 0 && c.Negotiated.TFO:
		saved := ""
		if r := c.rtt(); r > 0 {
			saved = fmt.Sprintf(": the request reached the server one round trip (%s) sooner than after a handshake", dur(r))
		}
		return &Finding{
			ID: "tcp-fast-open", Severity: Info, Evidence: []Claim{tfo, data, synack, c.claim(ClaimAcked, client, co.Frame)},
			Title: fmt.Sprintf("TCP Fast Open: %s of data on the SYN, accepted", bytesWord(uint64(co.Data))),
			Explanation: fmt.Sprintf("The client's SYN (frame %d) carried a Fast Open cookie and %s of data, and the SYN-ACK (frame %d) "+
				"acknowledged the data too (RFC 7413)%s. The server may answer before the handshake completes.",
				co.Frame, bytesWord(uint64(co.Data)), so.Frame, saved),
			Advice: "Nothing to fix. Fast Open data can be replayed by a duplicated SYN: only idempotent requests belong on it.",
		}
	case co.Data > 0 && so.Seen:
		return &Finding{
			ID: "tcp-fast-open", Severity: Notice, Evidence: []Claim{tfo, data, synack},
			Title: fmt.Sprintf("TCP Fast Open ignored: the server did not accept the %s on the SYN", bytesWord(uint64(co.Data))),
			Explanation: fmt.Sprintf("The client's SYN (frame %d) carried a Fast Open option and %s of data, but the SYN-ACK (frame %d) "+
				"acknowledged only the SYN: the server did not take the data (an invalid or expired cookie, Fast Open off on the server "+
				"— net.ipv4.tcp_fastopen lacks bit 2 — or a middlebox that strips the option), so the client must send it again after the handshake "+
				"and Fast Open saved nothing.", co.Frame, bytesWord(uint64(co.Data)), so.Frame),
			Advice: "Enable Fast Open on the server (net.ipv4.tcp_fastopen=3 and TCP_FASTOPEN on the listener) or stop the client from trying; " +
				"if the server has it on, a middlebox is the suspect: compare captures on both sides.",
		}
	case co.Data == 0 && so.TFO:
		return &Finding{
			ID: "tcp-fast-open", Severity: Info, Evidence: []Claim{tfo, synack, c.claim(ClaimOptions, server, so.Frame).withN(int64(wire.HasFastOpen))},
			Title: "TCP Fast Open: the client asked for a cookie and got one",
			Explanation: fmt.Sprintf("The client's SYN (frame %d) carried an empty Fast Open option, a cookie request, and the SYN-ACK "+
				"(frame %d) returned a %d-byte cookie: the client's next connection to this server can carry data on its SYN.",
				co.Frame, so.Frame, so.TFOCookie),
			Advice: "Nothing to fix.",
		}
	}
	ev := []Claim{tfo}
	if so.Seen {
		ev = append(ev, c.claim(ClaimOptions, server, so.Frame).withM(int64(wire.HasFastOpen)))
	}
	return &Finding{
		ID: "tcp-fast-open", Severity: Info, Evidence: ev,
		Title: "TCP Fast Open: the client asked for a cookie; the server gave none",
		Explanation: fmt.Sprintf("The client's SYN (frame %d) carried a Fast Open option but no cookie came back: Fast Open is off on the "+
			"server, or a middlebox removed the option.", co.Frame),
		Advice: "Enable it on the server (net.ipv4.tcp_fastopen=3) if Fast Open is wanted.",
	}
}

// cookieCompleted returns the transition that completed c's handshake when
// the capture shows the server kept no state for it: its one SYN-ACK went
// unanswered longer than any SYN-ACK timer, was never sent again, and the
// client's late segment still established the connection. A listener that
// answered with a SYN cookie (net/ipv4/syncookies.c) has no SYN_RECV entry
// to time out and resend; the cookie in the ACK field rebuilds it.
func (c *Conn) cookieCompleted() (tcp.Transition, bool) {
	sv := &c.Server
	if !c.clientOpened() || !sv.Offered.Seen || sv.Retrans.SYNACK > 0 {
		return tcp.Transition{}, false
	}
	for _, t := range sv.History {
		if t.From != tcp.SynReceived || t.State != tcp.Established || t.Correction {
			continue
		}
		fs := &c.Facts.Server
		answered := fs.Packets >= 2 && !(fs.RST.Seen() && fs.Packets == 2)
		return t, answered && t.Time.Sub(sv.Offered.Time) >= tcp.SYNACKTimer
	}
	return tcp.Transition{}, false
}

func ruleSYNCookies(x *env, c *Conn) *Finding {
	t, ok := c.cookieCompleted()
	if !ok {
		return nil
	}
	co, so := &c.Client.Offered, &c.Server.Offered
	var b strings.Builder
	fmt.Fprintf(&b, "The server's SYN-ACK (frame %d) went unanswered for %s and was never sent again; then the client's segment in frame %d "+
		"established the connection. A server that keeps a SYN_RECV entry resends its SYN-ACK when its timer runs out (after 1 s on "+
		"Linux, up to 3 s elsewhere): this one kept nothing, because it answered the SYN (frame %d) with a SYN cookie, the state encoded "+
		"in the SYN-ACK's sequence number and checked when the ACK comes back. Linux sends cookies when the listener's SYN queue is full "+
		"(net.ipv4.tcp_syncookies=1, the default), or always with 2. ",
		so.Frame, dur(t.Time.Sub(so.Time)), t.Frame, co.Frame)
	sev := Info
	var lost []string
	if co.SACK && !so.SACK {
		lost = append(lost, "SACK")
	}
	if co.WindowScale >= 0 && so.WindowScale < 0 {
		lost = append(lost, "window scaling")
	}
	if len(lost) > 0 && !so.Timestamps {
		sev = Notice
		fmt.Fprintf(&b, "The SYN offered %s and the SYN-ACK only an MSS: without timestamps a cookie has room for nothing but the MSS "+
			"(one of four values; with timestamps it keeps the window scale and SACK in the TSval's low bits), so this connection runs "+
			"without %s.", strings.Join(lost, " and "), strings.Join(lost, " or "))
	}
	ev := []Claim{c.sent(client, synOnly, synMask, co.Frame), c.sent(server, synACK, synMask, so.Frame),
		c.pair(ClaimQuiet, server, so.Frame, t.Frame), c.pair(ClaimQuiet, client, so.Frame, t.Frame), c.elapsed(so.Frame, t.Frame, t.Time.Sub(so.Time))}
	if len(lost) > 0 && !so.Timestamps {
		var offered wire.OptionSet
		if co.SACK {
			offered |= wire.HasSACKPermitted
		}
		if co.WindowScale >= 0 {
			offered |= wire.HasWindowScale
		}
		ev = append(ev, c.claim(ClaimOptions, client, co.Frame).withN(int64(offered)),
			c.claim(ClaimOptions, server, so.Frame).withN(int64(wire.HasMSS)).withM(int64(wire.HasSACKPermitted|wire.HasWindowScale|wire.HasTimestamps)))
	}
	return &Finding{
		ID: "syn-cookies", Severity: sev, Evidence: ev,
		Title:       fmt.Sprintf("SYN cookie: %s kept no state for the handshake", c.Server.Addr),
		Explanation: strings.TrimSpace(b.String()),
		Advice: "If cookies were not forced (tcp_syncookies=2), the listener's SYN queue overflowed: check nstat's TcpExtSyncookiesSent and " +
			"TcpExtListenOverflows on the server, raise the listen backlog and net.ipv4.tcp_max_syn_backlog, and look for a SYN flood " +
			"(see syn-flood). Keep timestamps on so that cookies keep SACK and window scaling.",
	}
}

func ruleECN(x *env, c *Conn) *Finding {
	co, so := &c.Client.Offered, &c.Server.Offered
	fc, fsv := &c.Facts.Client, &c.Facts.Server
	ce := fc.CE + fsv.CE
	ece := fc.ECE.N + fsv.ECE.N
	offered := co.ECN || co.AccECN
	if !offered && ce == 0 && ece == 0 {
		return nil
	}
	if ce > 0 {
		return ecnMarked(c)
	}
	var ev claims
	kind := "classic ECN (RFC 3168)"
	if c.Negotiated.AccECN {
		kind = "Accurate ECN"
	}
	var b strings.Builder
	switch {
	case c.Negotiated.AccECN:
		ev.add(c.sent(client, wire.SYN|wire.ECE|wire.CWR, synMask|wire.ECE|wire.CWR, co.Frame), c.sent(server, synACK, synMask, so.Frame))
		fmt.Fprintf(&b, "The handshake (frames %d and %d) negotiated %s: routers may mark packets CE (congestion experienced) instead of dropping them. ", co.Frame, so.Frame, kind)
	case c.Negotiated.ECN:
		ev.add(c.sent(client, wire.SYN|wire.ECE|wire.CWR, synMask|wire.ECE|wire.CWR, co.Frame), c.sent(server, synACK|wire.ECE, synMask|wire.ECE, so.Frame))
		fmt.Fprintf(&b, "The handshake (frames %d and %d) negotiated %s: routers may mark packets CE (congestion experienced) instead of dropping them. ", co.Frame, so.Frame, kind)
	case offered && so.Seen:
		ev.add(c.sent(client, wire.SYN|wire.ECE|wire.CWR, synMask|wire.ECE|wire.CWR, co.Frame), c.sent(server, synACK, synMask|wire.ECE, so.Frame))
		fmt.Fprintf(&b, "The client offered ECN on its SYN (frame %d) and the server declined it (frame %d): Linux servers accept ECN only with net.ipv4.tcp_ecn=1 or 2 (2, the default, accepts it when asked), so the server's stack has it off or a middlebox cleared the bits. ", co.Frame, so.Frame)
	case offered:
		ev.add(c.sent(client, wire.SYN|wire.ECE|wire.CWR, synMask|wire.ECE|wire.CWR, co.Frame))
	}
	if ect := fc.ECT + fsv.ECT; ect > 0 {
		fmt.Fprintf(&b, "%s carried an ECT codepoint. ", count(ect, "packet"))
	}
	if ece > 0 {
		eceFrames := append(append([]int(nil), fc.ECE.Frames...), fsv.ECE.Frames...)
		ev.add(c.sent(client, wire.ECE, wire.ECE|wire.SYN, fc.ECE.Frames...), c.sent(server, wire.ECE, wire.ECE|wire.SYN, fsv.ECE.Frames...))
		fmt.Fprintf(&b, "%s echoed congestion back with ECE (%s)", count(ece, "segment"), frameList(frames(eceFrames...), ece))
		if cwr := fc.CWR.N + fsv.CWR.N; cwr > 0 {
			fmt.Fprintf(&b, " and the sender answered CWR %s, having reduced its congestion window", timesWord(cwr))
		}
		b.WriteString(" (the CE marks themselves were not in the capture: they were set after the capture point). ")
	}
	title := "ECN negotiated"
	switch {
	case !(c.Negotiated.ECN || c.Negotiated.AccECN) && offered:
		title = "ECN offered by the client, declined by the server"
	case ece > 0:
		title = "ECN: congestion echoed (ECE)"
	}
	return &Finding{
		ID: "ecn", Severity: Info, Evidence: ev, Title: title,
		Explanation: strings.TrimSpace(b.String()),
		Advice:      "Nothing to fix: ECN lets a congested queue slow the sender without a loss.",
	}
}

// ecnMarked explains CE marks on c: the congestion a router signalled,
// the receiver's echo (ECE) and the sender's answer (CWR). The evidence is
// the first of each, in the direction that carried the most marks.
func ecnMarked(c *Conn) *Finding {
	snd := server
	if c.Facts.Client.CE > c.Facts.Server.CE {
		snd = client
	}
	_, sf := c.side(snd)
	_, rf := c.side(snd.other())
	firstCE := sf.CEFrames[0]
	echo := firstAfter(rf.ECE.Frames, firstCE)
	cwr := firstAfter(sf.CWR.Frames, echo)
	ce := c.Facts.Client.CE + c.Facts.Server.CE
	var b strings.Builder
	negotiated := "since the packets said their ends speak ECN (an ECT codepoint)"
	if c.Negotiated.ECN || c.Negotiated.AccECN {
		negotiated = fmt.Sprintf("since the connection had negotiated ECN (frames %d and %d)", c.Client.Offered.Frame, c.Server.Offered.Frame)
	}
	fmt.Fprintf(&b, "%s from %s arrived marked CE, congestion experienced (%s): a router on the path had a filling queue and, "+
		"%s, marked the packets instead of dropping them. ", count(ce, "packet"), c.who(snd), frameList(sf.CEFrames, ce), negotiated)
	switch {
	case echo == 0:
		fmt.Fprintf(&b, "%s never echoed the marks with ECE, so the sender never learnt of the congestion: its stack ignores ECN or a "+
			"middlebox cleared the ECE bit. ", capitalise(c.who(snd.other())))
	default:
		fmt.Fprintf(&b, "%s echoed them with ECE from frame %d on (%s with ECE in all), as RFC 3168 has a receiver do until the sender "+
			"confirms. ", capitalise(c.who(snd.other())), echo, count(rf.ECE.N, "segment"))
		if cwr == 0 {
			b.WriteString("No CWR from the sender followed in the capture: it had not yet reacted, or it ignores the echo. ")
		} else {
			fmt.Fprintf(&b, "The sender answered with CWR in frame %d: it had cut its congestion window as it would for a loss (by half in "+
				"Reno, to 70%% in Linux's CUBIC), ", cwr)
			if c.lostData() {
				b.WriteString("and this connection lost data too, so not every congestion signal came as a mark. ")
			} else {
				b.WriteString("without losing a packet or waiting for a retransmission. ")
			}
		}
	}
	var ev claims
	ev.add(c.claim(ClaimCE, snd, firstCE), c.sent(snd.other(), wire.ECE, wire.ECE|wire.SYN, echo), c.sent(snd, wire.CWR, wire.CWR|wire.SYN, cwr))
	return &Finding{
		ID: "ecn", Severity: Notice, Evidence: ev,
		Title:       fmt.Sprintf("ECN: %s marked congestion experienced", count(ce, "packet")),
		Explanation: strings.TrimSpace(b.String()),
		Advice: "Nothing to fix in the endpoints: ECN let a congested queue slow the sender without a loss. The marks say the path is " +
			"congested at times; if throughput matters, find the bottleneck link (the router that marks) and its load.",
	}
}

// firstAfter is the first of fs after frame n, or 0.
func firstAfter(fs []int, n int) int {
	for _, f := range fs {
		if f > n {
			return f
		}
	}
	return 0
}
