package diagnose

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/wire"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
)

// forgedRST says whether an RST from role r's address was forged in the
// path, as the analysis judged it when it came (tcp.Forgery: a TTL two or
// more away from those of every packet the end sent before it in the
// connection, or the IP ID of the peer's packet it answers, which
// injectors copy and stacks do not), why in words, and the claims behind
// it. The analysis leaves the state of the end it was forged for where it
// was; a TTL unlike the host's packets in other connections alone is a
// hint (rstOrigin says it), not a verdict.
func (x *env) forgedRST(c *Conn, r role) (*tcp.Forgery, string, []Claim) {
	s, _ := c.side(r)
	g := s.Forged
	if g == nil {
		return nil, "", nil
	}
	var why string
	var cs []Claim
	if g.OwnN > 0 {
		own := fmt.Sprint(g.OwnMin)
		if g.OwnMax != g.OwnMin {
			own = fmt.Sprintf("%d to %d", g.OwnMin, g.OwnMax)
		}
		pkts := fmt.Sprintf("own %d packets", g.OwnN)
		if g.OwnN == 1 {
			pkts = "one packet"
		}
		why = fmt.Sprintf("it arrived with TTL %d, while the %s's %s before it in the connection arrived with TTL %s",
			g.TTL, r, pkts, own)
		cs = append(cs, c.claim(ClaimTTLUnlikeOwn, r, g.Frame).withN(int64(g.TTL)))
	} else {
		why = fmt.Sprintf("its IP ID %d is that of the packet it answers (frame %d): a stack numbers its own packets, an injector copies the ID it sees",
			g.IPID, g.PeerFrame)
		cs = append(cs, c.pair(ClaimIPIDCopied, r, g.Frame, g.PeerFrame))
		if h, ok := x.hosts.get(s.Addr.Addr()); ok && (int(g.TTL) < int(h.min)-1 || int(g.TTL) > int(h.max)+1) {
			why += fmt.Sprintf("; and it arrived with TTL %d, while %s's other packets in the capture, RSTs aside (%d), arrived with TTL %s",
				g.TTL, s.Addr.Addr(), h.n, ttlWords(h))
			cs = append(cs, c.claim(ClaimTTLUnlike, r, g.Frame).withN(int64(g.TTL)))
		}
	}
	return g, why, cs
}

// ttlWords is the TTLs of a host's packets: "49", or "48 to 50".
func ttlWords(h ttlRange) string {
	if h.max != h.min {
		return fmt.Sprintf("%d to %d", h.min, h.max)
	}
	return fmt.Sprint(h.min)
}

// rstOrigin says what the RST's IP header tells of who sent it, when it
// does not look forged, and the claims behind the words.
func (x *env) rstOrigin(c *Conn, r role) (string, []Claim) {
	s, f := c.side(r)
	if !f.RST.Seen() {
		return "", nil
	}
	_, ok := x.hosts.get(s.Addr.Addr())
	if !ok && x.hosts.dropped > 0 {
		return fmt.Sprintf("tcplens stopped recording hosts' TTLs at %d addresses, before %s, so the RST's TTL (%d) has nothing to be compared with.",
			maxHosts, s.Addr.Addr(), f.RSTTTL), nil
	}
	if !ok {
		return fmt.Sprintf("The capture holds no other packet from %s to compare the RST's TTL (%d) with; a TTL unlike the host's own packets would point to a firewall answering for it.",
			s.Addr.Addr(), f.RSTTTL), nil
	}
	if h, _ := x.hosts.get(s.Addr.Addr()); int(f.RSTTTL) < int(h.min)-1 || int(f.RSTTTL) > int(h.max)+1 {
		return fmt.Sprintf("Its TTL (%d) is unlike that of %s's other packets in the capture (%s), though nothing the end sent before it in the connection "+
				"shows it forged: it took another path than the host's other packets, or a device in the path answered in the host's name.",
				f.RSTTTL, s.Addr.Addr(), ttlWords(h)),
			[]Claim{c.claim(ClaimTTLUnlike, r, f.RST.Frame).withN(int64(f.RSTTTL))}
	}
	cs := []Claim{c.claim(ClaimTTLLike, r, f.RST.Frame)}
	w := fmt.Sprintf("Its TTL (%d) matches %s's other packets", f.RSTTTL, s.Addr.Addr())
	if f.RSTIPv4 && f.HadIPID && f.RSTIPID != 0 && f.RSTIPID-f.IPIDBeforeRST < 16 && f.IPIDBeforeRSTFrame != 0 {
		w += fmt.Sprintf(" and its IP ID %d follows theirs (%d before)", f.RSTIPID, f.IPIDBeforeRST)
		cs = append(cs, c.pair(ClaimIPIDSkipped, r, f.IPIDBeforeRSTFrame, f.RST.Frame).withN(int64(f.RSTIPID-f.IPIDBeforeRST-1)))
	}
	return w + ": the host's own stack sent it, not a device in the path.", cs
}

// stateBefore is the state an end was in just before frame n.
func stateBefore(h []tcp.Transition, n int) tcp.State {
	st := tcp.Unknown
	for _, t := range h {
		if t.Frame >= n && t.Frame != 0 {
			break
		}
		st = t.State
	}
	return st
}

// idleLong reports whether a silence is long enough to be an idle
// timeout's: at least 100 round trips and a second, or 30 s whatever the
// RTT (the shortest idle timeouts of common middleboxes).
func idleLong(gap, rtt time.Duration) bool {
	if gap >= 30*time.Second {
		return true
	}
	return rtt > 0 && gap >= time.Second && gap >= 100*rtt
}

func ruleAcceptThenClose(x *env, c *Conn) *Finding {
	sv, cl := &c.Server, &c.Client
	fsv, fcl := &c.Facts.Server, &c.Facts.Client
	ack := c.handshakeAckFrame()
	if !c.clientOpened() || ack == 0 || !fsv.FIN.Seen() || c.FirstClosed != "server" {
		return nil
	}
	if fcl.FirstData.Seen() && fcl.FirstData.Frame < fsv.FIN.Frame {
		return nil // the client spoke first: the server's close answers it
	}
	if fsv.FirstData.Seen() && fsv.FirstData.Frame < fsv.FIN.Frame {
		// Data then FIN is a refusal banner only from a service port: a
		// listener on an ephemeral port that sends and closes is a
		// one-way data channel (FTP's), and more than a banner is a reply.
		if sv.PayloadBytes > 512 || sv.Addr.Port() >= 32768 {
			return nil
		}
	}
	after := fsv.FIN.Time.Sub(c.Start)
	from := c.FirstFrame
	if t := c.handshakeAckTime(); t != 0 {
		after, from = fsv.FIN.Time.Sub(t), ack
	}
	var ev claims
	ev.add(c.sent(client, synOnly, synMask, cl.Offered.Frame), c.sent(server, synACK, synMask, sv.Offered.Frame),
		c.sent(client, ackNoFlags, wire.ACK|wire.SYN|wire.RST, ack), c.sent(server, wire.FIN, finMask, fsv.FIN.Frame),
		c.elapsed(from, fsv.FIN.Frame, after), c.pair(ClaimNoData, client, 0, fsv.FIN.Frame))
	banner := "without sending a byte"
	if fsv.FirstData.Seen() && fsv.FirstData.Frame < fsv.FIN.Frame {
		banner = fmt.Sprintf("after only %s (frame %d: a greeting or a refusal message)", bytesWord(sv.PayloadBytes), fsv.FirstData.Frame)
		ev.add(c.claim(ClaimData, server, fsv.FirstData.Frame))
	} else {
		ev.add(c.pair(ClaimNoData, server, 0, fsv.FIN.Frame))
	}
	return &Finding{
		ID: "accept-then-close", Severity: Warning, Evidence: ev,
		Title: fmt.Sprintf("the server accepted the connection and closed it %s later, before the client said anything", dur(after)),
		Explanation: fmt.Sprintf("The handshake completed (frame %d) and %s later the server sent FIN (frame %d) %s, before the client had "+
			"sent any data. The kernel completes the handshake by itself; the application learns of the connection only at accept(), so a "+
			"FIN this soon is the application's own close(): it refused this client on purpose, by an address check (an ACL or whitelist, "+
			"TCP wrappers' hosts.deny) or a limit (max clients, connections per IP, a licence). A FIN is an orderly close: not a crash in "+
			"the handshake, nor a reset. (Linux closes a dying process's sockets with FIN too, but a crash would end the application's "+
			"other connections as well: look at them.)",
			ack, dur(after), fsv.FIN.Frame, banner),
		Advice: "Look at the server application's access control and connection limits, and its log for this client's address; " +
			"a refusal banner, when there is one, usually says which.",
	}
}

// handshakeAckTime is when the client's ACK completed the handshake.
func (c *Conn) handshakeAckTime() pcap.Time {
	for _, tr := range c.Server.History {
		if tr.From == tcp.SynReceived && tr.State == tcp.Established && !tr.Correction {
			return tr.Time
		}
	}
	return 0
}

// ruleRST classifies the connection's first RST that the handshake rules
// did not explain: forged in the path, after a long silence, answering a
// connection its sender no longer has, right after the handshake, with
// unread data, or an abortive close after the exchange.
func ruleRST(x *env, c *Conn) *Finding {
	r, ok := c.firstRST()
	if !ok {
		return nil
	}
	s, f := c.side(r)
	peer, pf := c.side(r.other())
	if c.clientOpened() && !c.Server.Offered.Seen {
		if g, why, ev := x.forgedRST(c, r); g != nil && r == server {
			return x.middleboxReset(c, r, g, why, ev)
		}
		return nil // refused or syn-timeout
	}
	if c.Server.Retrans.SYNACK > 0 && c.handshakeAckFrame() == 0 && r == client {
		return nil // synack-retrans-client-forgot
	}
	if g, why, ev := x.forgedRST(c, r); g != nil {
		return x.middleboxReset(c, r, g, why, ev)
	}
	origin, oc := x.rstOrigin(c, r)
	rtt := c.rtt()
	dataBefore := (f.FirstData.Seen() && f.FirstData.Frame < f.RST.Frame) || (pf.FirstData.Seen() && pf.FirstData.Frame < f.RST.Frame)
	rst := c.sent(r, wire.RST, rstMask, f.RST.Frame)

	if f.NoSocketRST == f.RST {
		return c.noSocket(x, r)
	}
	if idleLong(f.RSTIdle, rtt) && dataBefore && f.RSTInFlight == 0 {
		var ev claims
		ev.add(rst, c.pair(ClaimSilence, r, f.RSTPrev.Frame, f.RST.Frame).withD(f.RSTIdle))
		both := ""
		if peer.SentRST && pf.RST.Seen() && pf.RST.Time.Sub(f.RST.Time) < max(rtt, time.Millisecond)*2 {
			both = fmt.Sprintf(" The other end sent an RST too (frame %d) at the same moment: a middlebox that evicts a connection often resets both ends.", pf.RST.Frame)
			ev.add(c.sent(r.other(), wire.RST, rstMask, pf.RST.Frame))
		}
		ratio := ""
		if rtt > 0 {
			ratio = fmt.Sprintf(" (%s the %s RTT)", times(f.RSTIdle, rtt), dur(rtt))
		}
		who := "load balancers, firewalls and NATs evict connections idle longer than their limit (AWS ALB 60 s, NLB 350 s, many " +
			"firewalls 30 to 60 min) and reset them, at eviction or when traffic resumes; servers have idle timeouts of their own."
		if h, ok := x.hosts.get(s.Addr.Addr()); ok && f.RSTTTL >= h.min && f.RSTTTL <= h.max {
			who = fmt.Sprintf("since the RST is the host's own, the timeout is most likely %s's application's (an HTTP keep-alive timeout, "+
				"a database's idle timeout), or a device in front of it that answers with the host's TTL; load balancers, firewalls and NATs "+
				"(AWS ALB 60 s, NLB 350 s, many firewalls 30 to 60 min) reset idle connections the same way.", s.Addr)
		}
		ev.add(oc...)
		return &Finding{
			ID: "rst-idle-timeout", Severity: Warning, Evidence: ev, weight: f.RSTIdle.Seconds(),
			Title: fmt.Sprintf("RST from %s after %s of silence: an idle timeout", s.Addr, dur(f.RSTIdle)),
			Explanation: fmt.Sprintf("The connection was silent for %s%s, then %s reset it (frame %d).%s That is the mark of an idle timeout. %s %s",
				dur(f.RSTIdle), ratio, c.who(r), f.RST.Frame, both, origin, capitalise(who)),
			Advice: "Keep the connection busier than the shortest idle timeout on the path: TCP keepalive with net.ipv4.tcp_keepalive_time " +
				"(or TCP_KEEPIDLE) below it, or application-level pings; otherwise make the client reconnect on ECONNRESET.",
		}
	}
	if !dataBefore && c.handshakeAckFrame() > 0 {
		ack := c.handshakeAckFrame()
		after := f.RST.Time.Sub(c.handshakeAckTime())
		who := "The client aborted right after connecting, as a port scanner's connect scan (nmap -sT) or a health check that only tests the port does, " +
			"or its application closed with SO_LINGER 0"
		if r == server {
			who = "The server's application (or its kernel, with net.ipv4.tcp_abort_on_overflow=1 and a full accept queue) reset the connection before serving it"
		}
		var ev claims
		ev.add(c.sent(client, synOnly, synMask, c.Client.Offered.Frame), c.sent(server, synACK, synMask, c.Server.Offered.Frame),
			c.sent(client, ackNoFlags, wire.ACK|wire.SYN|wire.RST, ack), rst, c.elapsed(ack, f.RST.Frame, after),
			c.pair(ClaimNoData, client, 0, f.RST.Frame), c.pair(ClaimNoData, server, 0, f.RST.Frame))
		ev.add(oc...)
		return &Finding{
			ID: "rst-after-handshake", Severity: Warning, Evidence: ev,
			Title: fmt.Sprintf("RST from %s %s after the handshake, before any data", s.Addr, dur(after)),
			Explanation: fmt.Sprintf("The handshake completed (frame %d) and %s later %s sent RST (frame %d) before either side sent data. %s. "+
				"A reset this early can also come from a middlebox that dislikes the connection. %s",
				ack, dur(after), c.who(r), f.RST.Frame, who, origin),
			Advice: "Look at the resetting end's application (and its logs) for why it aborts new connections; if it denies sending it, capture " +
				"next to that end to see whether the RST leaves it.",
		}
	}
	if f.FIN.Seen() && f.FIN.Frame < f.RST.Frame && pf.AfterPeerFIN > 0 {
		var ev claims
		ev.add(c.sent(r, wire.FIN, finMask, f.FIN.Frame), c.claim(ClaimData, r.other(), pf.AfterPeerFINFirst.Frame), rst)
		ev.add(oc...)
		return &Finding{
			ID: "rst-unread-data", Severity: Warning, Evidence: ev,
			Title: fmt.Sprintf("%s reset the connection when data arrived after it had closed", s.Addr),
			Explanation: fmt.Sprintf("%s closed (FIN, frame %d), then %s sent %s more (from frame %d), and %s answered with RST (frame %d). "+
				"An application that called close() (not shutdown(SHUT_WR)) will never read again, so Linux resets the connection as soon as "+
				"data arrives for it (TCPAbortOnData in nstat) rather than let the peer send into the void; the peer's pending reply is lost "+
				"and its next read fails with ECONNRESET. %s",
				capitalise(c.who(r)), f.FIN.Frame, c.who(r.other()), bytesWord(pf.AfterPeerFIN), pf.AfterPeerFINFirst.Frame, c.who(r), f.RST.Frame, origin),
			Advice: "If the closing end still expected that data, it should shutdown(SHUT_WR) and read to EOF before close(); if not, the " +
				"protocol lets the peer speak after the other side is done: fix the peer or the framing.",
		}
	}
	if f.UnansweredAtRST > 0 && (r == server || f.DataSegments == 0) {
		var ev claims
		ev.add(c.claim(ClaimData, r.other(), pf.LastData.Frame), c.pair(ClaimNoData, r, pf.LastData.Frame, f.RST.Frame), rst)
		ev.add(oc...)
		return &Finding{
			ID: "rst-unread-data", Severity: Warning, Evidence: ev,
			Title: fmt.Sprintf("%s reset the connection with %s received and unanswered: close() with unread data", s.Addr, bytesWord(f.UnansweredAtRST)),
			Explanation: fmt.Sprintf("%s had received %s it never answered (the last in frame %d), then sent RST (frame %d) "+
				"instead of FIN. Linux, like most stacks (RFC 2525 section 2.17), resets when an application closes a socket that still "+
				"holds unread data: the peer's next read fails with ECONNRESET and whatever it had in flight is lost. The capture cannot "+
				"show whether the application read those bytes; if it did, this is an abortive close (SO_LINGER 0) instead, which the "+
				"application's code or an strace of its close() would tell. %s",
				capitalise(c.who(r)), bytesWord(f.UnansweredAtRST), pf.LastData.Frame, f.RST.Frame, origin),
			Advice: "Make the application read the request to its end before closing (or shutdown(SHUT_WR) and drain), and check its error paths " +
				"that close early, e.g. on a request it rejects.",
		}
	}
	if !dataBefore {
		return nil // a lone RST: nothing before it says what it ends
	}
	var ev claims
	ev.add(rst, c.pair(ClaimSilence, r, f.RSTPrev.Frame, f.RST.Frame).withD(f.RSTIdle))
	ev.add(oc...)
	return &Finding{
		ID: "abortive-close", Severity: Notice, Evidence: ev,
		Title: fmt.Sprintf("%s closed with RST instead of FIN after the exchange", s.Addr),
		Explanation: fmt.Sprintf("After the exchange %s ended the connection with RST (frame %d, %s after the previous segment) instead "+
			"of FIN: an abortive close. SO_LINGER with a zero timeout makes close() do this (no TIME_WAIT, buffered data discarded), as "+
			"do applications that abort on purpose or on error. The peer's next read or write fails with ECONNRESET. %s",
			c.who(r), f.RST.Frame, dur(f.RSTIdle), origin),
		Advice: "If the aborting end does it to avoid TIME_WAIT, prefer letting the client close first or pooling connections; " +
			"if the peer logs 'connection reset by peer' errors because of it, close with FIN (no SO_LINGER 0).",
	}
}

// noSocket explains an RST from an end that had no socket for the
// connection any more (or never had one in the capture's view).
func (c *Conn) noSocket(x *env, r role) *Finding {
	s, f := c.side(r)
	var ev claims
	var why string
	switch f.NoSocketWas {
	case tcp.Unknown:
		ev.add(c.claim(ClaimFirstFrom, r, f.NoSocketRST.Frame))
		why = fmt.Sprintf("It is the first packet of %s in the capture, answering the peer's segment (frame %d): its kernel has no socket "+
			"for this 4-tuple. The host rebooted or its application aborted the connection before the capture began, or a NAT or load "+
			"balancer in between lost its state and sent the traffic to a host that never had the connection.", s.Addr, f.Answers.Frame)
	case tcp.Established:
		// Corrected at the RST: whatever ended it was never captured.
		why = fmt.Sprintf("Its kernel answers the peer's segment (frame %d) with the reset a host gives a segment no socket owns, so "+
			"it had left the connection before, unseen: it closed without telling the peer (a connect() that timed out sends nothing, "+
			"and neither does a host that restarted), or what it sent to end it never reached the capture point.", f.Answers.Frame)
	default:
		lost := ""
		if f.ClosedAt.Seen() {
			gap := f.Answers.Time.Sub(f.ClosedAt.Time)
			lost = fmt.Sprintf(" It had closed at frame %d; the peer still sent frame %d %s later", f.ClosedAt.Frame, f.Answers.Frame, dur(gap))
			ev.add(c.elapsed(f.ClosedAt.Frame, f.Answers.Frame, gap))
			peer, _ := c.side(r.other())
			switch rtt := c.rtt(); {
			case peer.Forged != nil && peer.Forged.Frame == f.ClosedAt.Frame:
				lost += fmt.Sprintf(": what ended it was an RST forged in the %s's name (frame %d, middlebox-reset), which the %s never sent, "+
					"so it still held the connection", r.other(), f.ClosedAt.Frame, r.other())
			case f.peerSentBeforeClose():
				lost += fmt.Sprintf(", but the %s had sent it before the close could reach it (its TSval %d, against %d in its packet "+
					"before the close; it echoes %d, this end's last TSval before the close being %d): it was in flight, or queued on the path",
					r.other(), f.AnswersTSVal, f.AtClose.Peer, f.AnswersTSEcr, f.AtClose.Own)
			case rtt > 0 && gap > rtt+rtt/2:
				lost += fmt.Sprintf(", more than a round trip (%s) after: the peer had not acted on the close, which was lost on the path "+
					"or still queued on its way (a bottleneck's queue or a busy receiver can hold packets for many round trips)", dur(rtt))
			}
			lost += "."
		}
		why = fmt.Sprintf("It had already left the connection (%s in the capture's view), so its kernel answers the peer's segment "+
			"(frame %d) with a reset.%s", f.NoSocketWas, f.Answers.Frame, lost)
	}
	bare := ""
	flags, mask := wire.RST, rstMask
	if !f.RSTAck {
		bare = " It carries no ACK bit, the form RFC 9293 prescribes for a segment that arrives for no connection."
		mask |= wire.ACK
	}
	ev.add(c.sent(r, flags, mask, f.NoSocketRST.Frame), c.claim(ClaimAnswered, r.other(), f.Answers.Frame))
	origin, oc := x.rstOrigin(c, r)
	ev.add(oc...)
	severity, advice := Warning, "Find why that end dropped the connection (its application log, a restart, an idle or keepalive "+
		"timeout); if a NAT or load balancer sits between the ends, compare its state timeouts with the connection's idle times."
	if f.peerSentBeforeClose() {
		// The segment crossed the close: the RST only tells the peer
		// what the close had told it already.
		severity = Notice
		advice = "Nothing was lost if the peer had nothing more to say. If its application did (a read failing with ECONNRESET), " +
			"let the end that closes first drain the peer before close(): shutdown(SHUT_WR), then read to EOF."
	}
	return &Finding{
		ID: "rst-no-socket", Severity: severity, Evidence: ev,
		Title:       fmt.Sprintf("%s answered with RST: it no longer has this connection", s.Addr),
		Explanation: fmt.Sprintf("%s sent RST (frame %d). %s%s %s", capitalise(c.who(r)), f.NoSocketRST.Frame, why, bare, origin),
		Advice:      advice,
	}
}

// ruleNoSocket reports an RST from an end that had closed, when it is not
// the connection's first RST (ruleRST explains that one).
func ruleNoSocket(x *env, c *Conn) *Finding {
	r, ok := c.firstRST()
	for _, e := range []role{client, server} {
		_, f := c.side(e)
		if !f.NoSocketRST.Seen() || (ok && e == r && f.NoSocketRST == f.RST) || f.NoSocketWas == tcp.Unknown {
			continue
		}
		if !f.ClosedAt.Seen() {
			continue
		}
		// An RST that crossed the peer's segment in flight says nothing;
		// one a round trip later says the peer never learnt of the close.
		if rtt := c.rtt(); rtt == 0 || f.Answers.Time.Sub(f.ClosedAt.Time) <= rtt+rtt/2 || f.peerSentBeforeClose() {
			continue
		}
		return c.noSocket(x, e)
	}
	return nil
}

func (x *env) middleboxReset(c *Conn, r role, g *tcp.Forgery, why string, ev []Claim) *Finding {
	s, _ := c.side(r)
	peer, _ := c.side(r.other())
	held := "still holds the connection, in " + g.Held.String()
	if g.Held == tcp.Unknown || g.Held == tcp.Closed {
		held = "is not moved by it"
	}
	took := fmt.Sprintf("The %s did not take it (in SYN_SENT an RST must acknowledge the SYN, later carry exactly the next sequence "+
		"number expected), so the connection went on.", r.other())
	for _, t := range peer.History {
		if t.Frame == g.Frame {
			took = fmt.Sprintf("The %s took it for the %s's and its socket is reset (%s from %s), while the %s, which never sent it, %s: "+
				"the connection is half-open until the %s sends and is answered by an RST.", r.other(), r, t.State, t.From, r, held, r)
			break
		}
	}
	if !strings.HasPrefix(took, "The "+r.other().String()+" took") {
		took += fmt.Sprintf(" The %s never sent it and %s.", r, held)
	}
	return &Finding{
		ID: "middlebox-reset", Severity: Error, Evidence: append([]Claim{c.sent(r, wire.RST, rstMask, g.Frame)}, ev...),
		Title: fmt.Sprintf("RST claiming to come from %s was forged in the path", s.Addr),
		Explanation: fmt.Sprintf("The RST in frame %d claims to come from %s, but %s. A firewall, IPS, DPI box or load balancer "+
			"forged it to kill the connection; RST injection is how many content filters and censors end connections. %s",
			g.Frame, c.who(r), why, took),
		Advice: "Find the device between the capture point and " + s.Addr.Addr().String() + " that resets: its logs around this time, " +
			"or captures on both sides of it (the RST appears on one side only). Check the rule or signature it matched.",
	}
}

// firstRST is the end whose RST came first.
func (c *Conn) firstRST() (role, bool) {
	fc, fs := c.Facts.Client.RST, c.Facts.Server.RST
	switch {
	case fc.Seen() && (!fs.Seen() || fc.Frame < fs.Frame):
		return client, true
	case fs.Seen():
		return server, true
	}
	return client, false
}

func capitalise(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func ruleCloseWaitLeak(x *env, c *Conn) *Finding {
	for _, r := range []role{client, server} {
		_, f := c.side(r)
		peer, pf := c.side(r.other())
		if !f.FIN.Seen() || peer.State != tcp.CloseWait || peer.SentFIN || peer.SentRST {
			continue
		}
		ev := claims{c.sent(r, wire.FIN, finMask, f.FIN.Frame), c.claim(ClaimNone, r.other()).withFlags(wire.FIN, wire.FIN), c.claim(ClaimNone, r.other()).withFlags(wire.RST, wire.RST)}
		ack := "never acknowledged it in the capture"
		closerState := "FIN_WAIT1, waiting for that ACK"
		if f.FINAcked.Seen() {
			ack = fmt.Sprintf("acknowledged it (frame %d)", f.FINAcked.Frame)
			closerState = "FIN_WAIT2, which Linux ends after net.ipv4.tcp_fin_timeout (60 s) once its socket is closed"
			ev.add(c.claim(ClaimAcked, r, f.FIN.Frame), c.sent(r.other(), wire.ACK, wire.ACK|wire.SYN|wire.RST, f.FINAcked.Frame))
		} else {
			ev.add(c.claim(ClaimNotAcked, r, f.FIN.Frame))
		}
		sent := ""
		if pf.AfterPeerFIN > 0 {
			sent = fmt.Sprintf(" (after sending %s more)", bytesWord(pf.AfterPeerFIN))
		}
		// How long it has been held is known only at the capture's end:
		// the words are written then (late), from these.
		rtt, fin, connEnd := c.rtt(), f.FIN, Mark{Frame: c.LastFrame, Time: c.End}
		addr, closer, holder := peer.Addr, c.who(r), c.who(r.other())
		held := func(end Mark) time.Duration {
			if end.Frame == 0 {
				end = connEnd
			}
			return end.Time.Sub(fin.Time)
		}
		// A close takes the application at least a round trip to answer:
		// a FIN at the capture's very end says nothing yet.
		if h := held(x.end); h <= 0 || h < rtt {
			continue
		}
		fd := &Finding{
			ID: "close-wait-leak",
			Advice: "On " + addr.Addr().String() + ", find the process holding CLOSE_WAIT sockets (ss -tanp state close-wait) and " +
				"make it close the socket when a read returns EOF.",
		}
		fd.late = func(fd *Finding, end Mark) {
			if end.Frame == 0 {
				end = connEnd
			}
			held := end.Time.Sub(fin.Time)
			fd.weight = held.Seconds()
			fd.Severity = Notice
			if held >= 10*time.Second || (rtt > 0 && held >= time.Second && held >= 100*rtt) {
				fd.Severity = Warning
			}
			fd.Evidence = append(slices.Clip([]Claim(ev)), elapsedAny(fin.Frame, end.Frame, held))
			fd.evidenceFrames()
			fd.Title = fmt.Sprintf("%s stays in CLOSE_WAIT: %s after the peer's FIN it has not closed", addr, dur(held))
			fd.Explanation = fmt.Sprintf("%s closed its side (FIN, frame %d) and %s %s, but never sent a FIN of its own%s: when the "+
				"capture ends, %s later, it is still in CLOSE_WAIT. CLOSE_WAIT lasts until the application calls close(); the kernel "+
				"never times it out. One such socket may be a slow close; many (ss -tan state close-wait) are a leak: a code path that "+
				"sees EOF and never closes (a missing close in an error path, a pool that keeps dead connections). %s meanwhile sits in "+
				"%s.",
				capitalise(closer), fin.Frame, holder, ack, sent, dur(held), capitalise(closer), closerState)
		}
		// Until then, the end so far: held can only grow.
		fd.late(fd, x.end)
		return fd
	}
	return nil
}

func ruleSimultaneousClose(x *env, c *Conn) *Finding {
	var fs []int
	for _, h := range [][]tcp.Transition{c.Client.History, c.Server.History} {
		for _, t := range h {
			if t.State == tcp.Closing {
				fs = append(fs, t.Frame)
			}
		}
	}
	if len(fs) == 0 {
		return nil
	}
	fc, fsv := &c.Facts.Client, &c.Facts.Server
	if !fc.FIN.Seen() || !fsv.FIN.Seen() {
		return nil
	}
	return &Finding{
		ID: "simultaneous-close", Severity: Info,
		Evidence: []Claim{c.sent(client, wire.FIN, finMask, fc.FIN.Frame), c.sent(server, wire.FIN, finMask, fsv.FIN.Frame),
			c.pair(ClaimCrossed, client, fc.FIN.Frame, fsv.FIN.Frame)},
		Title: "simultaneous close: both FINs crossed",
		Explanation: fmt.Sprintf("Both ends sent FIN (frames %d and %d) before receiving the other's, so each received a FIN in "+
			"FIN_WAIT1 and went through CLOSING to TIME_WAIT (RFC 9293 section 3.6): both ends hold TIME_WAIT, 60 s on Linux.",
			fc.FIN.Frame, fsv.FIN.Frame),
		Advice: "Nothing to fix: both applications closed at the same moment.",
	}
}

func ruleHalfClose(x *env, c *Conn) *Finding {
	for _, r := range []role{client, server} {
		_, f := c.side(r)
		_, pf := c.side(r.other())
		if !f.FIN.Seen() || pf.AfterPeerFIN == 0 {
			continue
		}
		if f.RST.Seen() && f.RST.Frame > pf.AfterPeerFINFirst.Frame {
			continue // it had closed, not shut down: rst-unread-data says so
		}
		span := pf.LastData.Time.Sub(f.FIN.Time)
		var ev claims
		ev.add(c.sent(r, wire.FIN, wire.FIN|wire.SYN, f.FIN.Frame), c.claim(ClaimData, r.other(), pf.AfterPeerFINFirst.Frame, pf.LastData.Frame),
			c.claim(ClaimNotAckedBefore, r.other(), pf.AfterPeerFINFirst.Frame),
			c.claim(ClaimAcked, r.other(), pf.LastData.Frame), c.elapsed(f.FIN.Frame, pf.LastData.Frame, span))
		return &Finding{
			ID: "half-close", Severity: Info, Evidence: ev,
			Title: fmt.Sprintf("half-close: the %s finished sending and went on receiving %s", r, bytesWord(pf.AfterPeerFIN)),
			Explanation: fmt.Sprintf("%s sent FIN (frame %d), then received %s more from the %s over %s (frames %d to %d), which it "+
				"acknowledged: a FIN closes one direction only. This is shutdown(SHUT_WR), used by clients that signal the end of "+
				"a request with EOF (HTTP/1.0, rsh, some proxies).",
				capitalise(c.who(r)), f.FIN.Frame, bytesWord(pf.AfterPeerFIN), r.other(), dur(span), pf.AfterPeerFINFirst.Frame, pf.LastData.Frame),
			Advice: "Nothing to fix.",
		}
	}
	return nil
}
