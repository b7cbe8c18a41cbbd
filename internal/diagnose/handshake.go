package diagnose

import (
	"fmt"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
)

// synFrames are the client's SYN and its retransmissions.
func (c *Conn) synFrames() []int {
	fs := []int{c.Client.Offered.Frame, c.Facts.Client.FirstSYN.Frame}
	fs = append(fs, c.Facts.Client.Kind(event.SYNRetransmission).Frames...)
	return frames(fs...)
}

// synackFrames are the server's SYN-ACK and its retransmissions.
func (c *Conn) synackFrames() []int {
	fs := []int{c.Server.Offered.Frame}
	fs = append(fs, c.Facts.Server.Kind(event.SYNACKRetransmission).Frames...)
	return frames(fs...)
}

// clientOpened reports whether the client sent a SYN the capture saw.
func (c *Conn) clientOpened() bool { return c.Client.Offered.Seen && !c.RoleGuessed }

func ruleRefused(x *env, c *Conn) *Finding {
	cl, sv := &c.Client, &c.Server
	if !c.clientOpened() || sv.Offered.Seen || !sv.SentRST || sv.Packets == 0 {
		return nil
	}
	if forged, _ := x.forgedRST(c, server); forged {
		return nil // middlebox-reset says it
	}
	syns := c.synFrames()
	f := c.Facts.Server
	after := ""
	if f.RST.Seen() && c.Facts.Client.AnsweredSYN.Seen() {
		after = " " + dur(f.RST.Time.Sub(c.Facts.Client.AnsweredSYN.Time)) + " later"
	}
	tries := ""
	if len(syns) > 1 {
		tries = fmt.Sprintf(" (sent %d times)", len(syns))
	}
	expl := fmt.Sprintf("The client's SYN%s (%s) to %s was answered by RST,ACK%s (frame %d): nothing listens on that port, "+
		"so the server's kernel resets the attempt and connect() fails with ECONNREFUSED; a firewall that rejects with a TCP "+
		"reset (iptables -j REJECT --reject-with tcp-reset) looks the same. %s",
		tries, frameList(syns, len(syns)), sv.Addr, after, sv.RSTFrame, x.rstOrigin(c, server))
	_ = cl
	return &Finding{
		ID: "refused", Severity: Error, Frames: frames(append(syns, sv.RSTFrame)...),
		Title:       fmt.Sprintf("connection refused: %s answered the SYN with RST", sv.Addr),
		Explanation: expl,
		Advice: "Check that the service runs and listens on that address and port (on the server: ss -ltn 'sport = :" +
			fmt.Sprint(sv.Addr.Port()) + "'); if it does, look for a firewall REJECT rule between the two hosts.",
	}
}

func ruleSYNTimeout(x *env, c *Conn) *Finding {
	cl, sv := &c.Client, &c.Server
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
	var backoff []string
	for _, g := range c.synGaps() {
		backoff = append(backoff, dur(g))
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
	_ = cl
	fd := &Finding{
		ID: "syn-timeout", Severity: Error, Frames: syns,
		Title: fmt.Sprintf("SYN to %s never answered (%d tries)", sv.Addr, len(syns)),
		Advice: "Check that the server is up and routable from the client, and look for a firewall rule that drops (rather than rejects) " +
			"traffic to that port; capture at the server to see whether the SYNs arrive.",
		weight: float64(len(syns)),
	}
	// How long the capture goes on after the last SYN is known at its
	// end: the words are written then.
	last := f.AnsweredSYN.Time
	fd.late = func(fd *Finding, end pcap.Time) {
		fd.Explanation = expl
		if end > last {
			fd.Explanation += fmt.Sprintf(" The capture goes on %s after the last SYN.", dur(end.Sub(last)))
		}
		fd.Explanation += tail
	}
	fd.late(fd, x.end)
	return fd
}

// synGaps are the times between the client's successive SYNs.
func (c *Conn) synGaps() []time.Duration {
	ts := c.Facts.Client.SYNTimes
	out := make([]time.Duration, 0, len(ts))
	for i := 1; i < len(ts); i++ {
		out = append(out, ts[i].Sub(ts[i-1]))
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
	clientRST := cl.SentRST && cl.RSTFrame > firstRe && firstRe > 0
	synAgain := fc.AnsweredSYN.Frame > sv.Offered.Frame && sv.Offered.Frame > 0

	cost := ""
	if last := fsv.LastSYNACK; last.Frame > sv.Offered.Frame {
		cost = fmt.Sprintf(" The server spent at least %s in SYN_RECV, where one round trip (%s) should do.", dur(last.Time.Sub(sv.Offered.Time)), dur(c.rtt()))
	}
	switch {
	case handshakeAck > 0 && handshakeAck < firstRe:
		where := "between the capture point and the server"
		if c.Vantage == analyze.VantageServer { // next to the server: the ACK was captured, so it arrived
			where = "at the server itself (the capture next to the server saw it): the server did not accept it, e.g. its accept queue was full"
		}
		return &Finding{
			ID: "synack-retrans-lost-ack", Severity: severityIf(c.HandshakeRTT > 0, Notice, Warning),
			Frames: frames(append(sa, handshakeAck)...),
			Title:  "SYN-ACK retransmitted although the client had answered it: the ACK was lost",
			Explanation: fmt.Sprintf("The server sent its SYN-ACK again (%s) although the client had acknowledged the first (frame %d): "+
				"that ACK never reached the server's socket, so the server stayed in SYN_RECV until its SYN-ACK timer fired "+
				"(Linux: 1 s, doubling, net.ipv4.tcp_synack_retries=5). The client was already ESTABLISHED and answered the retransmission "+
				"again. The ACK was lost %s.%s",
				frameList(sa, len(sa)), handshakeAck, where, cost),
			Advice: "Nothing the applications can do: the network lost a packet. If it recurs, look for loss on the client-to-server " +
				"path (interface errors, a congested or policed link); clients that speak first lose nothing, because their data repeats the ACK.",
		}
	case synAgain:
		return &Finding{
			ID: "synack-retrans-lost-ack", Severity: Notice,
			Frames: frames(append(sa, c.synFrames()...)...),
			Title:  "SYN-ACK retransmitted: the first SYN-ACK did not reach the client",
			Explanation: fmt.Sprintf("The client sent its SYN again (frame %d) after the server's SYN-ACK (frame %d): the SYN-ACK, not the "+
				"ACK, was lost on the way to the client, which stayed in SYN_SENT; both ends retried on their timers (%s).%s",
				fc.AnsweredSYN.Frame, sv.Offered.Frame, frameList(sa, len(sa)), cost),
			Advice: "Nothing the applications can do: the network lost a packet on the server-to-client path.",
		}
	}
	answer := "did not answer it at all"
	if clientRST {
		answer = fmt.Sprintf("answered it with RST (frame %d)", cl.RSTFrame)
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
	fs := frames(append(sa, cl.RSTFrame)...)
	return &Finding{
		ID: "synack-retrans-client-forgot", Severity: Error, Frames: fs,
		Title:       "SYN-ACK retransmitted and the client answered RST or nothing: it forgot the connection",
		Explanation: expl,
		Advice: "Check the client's connect timeout (too short for this path's RTT?) and any NAT between the hosts (its TCP timeouts for " +
			"half-open connections); keepalives or a longer connect timeout on the client help.",
	}
}

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

func ruleHandshakeLatency(x *env, c *Conn) *Finding {
	fc := &c.Facts.Client
	sv := &c.Server
	if !c.clientOpened() || !sv.Offered.Seen || !fc.FirstSYN.Seen() || sv.Retrans.SYNACK > 0 {
		return nil
	}
	lost := fc.AnsweredSYN.Time.Sub(fc.FirstSYN.Time)
	answer := sv.Offered.Time.Sub(fc.AnsweredSYN.Time)
	ref := c.Client.RTT.Min // capture point to server and back, as data measures it
	switch {
	case fc.SYNs > 1 && fc.AnsweredSYN.Frame > fc.FirstSYN.Frame:
		syns := c.synFrames()
		return &Finding{
			ID: "handshake-latency", Severity: severityIf(lost >= time.Second, Warning, Notice), weight: (lost + answer).Seconds(),
			Frames: frames(append(syns, sv.Offered.Frame)...),
			Title:  fmt.Sprintf("connect took %s: %s went unanswered first", dur(lost+answer), count(fc.SYNs-1, "SYN")),
			Explanation: fmt.Sprintf("The client sent its SYN %d times (%s) before the server answered (frame %d, %s after the last SYN): "+
				"the handshake took %s instead of one round trip, all of it the client's SYN timer (1 s, then doubling). "+
				"Unanswered SYNs are lost on the way, or dropped by the server when its listen queue is full (the accept queue of an "+
				"application that does not accept fast enough: Linux then drops SYNs and counts ListenOverflows/ListenDrops in nstat) or "+
				"when a SYN flood fills the SYN backlog.",
				fc.SYNs, frameList(syns, len(syns)), sv.Offered.Frame, dur(answer), dur(lost+answer)),
			Advice: "On the server, check nstat -az TcpExtListenOverflows TcpExtListenDrops and the listener's backlog (ss -ltn shows Recv-Q/Send-Q); " +
				"raise the backlog (listen(), net.core.somaxconn) or accept faster. If the server never saw the SYNs, look for loss on the path.",
		}
	case ref > 0 && answer > 3*ref && answer-ref > 20*time.Millisecond:
		cause := "A kernel answers a SYN at once; a SYN proxy or load balancer that connects to the backend first, SYN cookies under load, or a busy host delays it."
		if ref < time.Millisecond && answer > 20*ref {
			cause = fmt.Sprintf("ACKs within %s cannot come from a host whose SYN-ACK takes %s: something next to the capture point "+
				"acknowledges data for the server, a transparent proxy, TCP-splitting WAN optimiser or scanning gateway, and it answered "+
				"the SYN only once its own connection to the server was up.", dur(ref), dur(answer))
		}
		return &Finding{
			ID: "handshake-latency", Severity: Notice, Frames: frames(fc.AnsweredSYN.Frame, sv.Offered.Frame), weight: answer.Seconds(),
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
		ID: "simultaneous-open", Severity: Info, Frames: frames(append(fs, c.Client.Offered.Frame, c.Server.Offered.Frame)...),
		Title: "simultaneous open: both ends sent a SYN",
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
	fs := frames(co.Frame, so.Frame)
	switch {
	case co.Data > 0 && c.Negotiated.TFO:
		saved := ""
		if r := c.rtt(); r > 0 {
			saved = fmt.Sprintf(": the request reached the server one round trip (%s) sooner than after a handshake", dur(r))
		}
		return &Finding{
			ID: "tcp-fast-open", Severity: Info, Frames: fs,
			Title: fmt.Sprintf("TCP Fast Open: %s of data on the SYN, accepted", bytesWord(uint64(co.Data))),
			Explanation: fmt.Sprintf("The client's SYN (frame %d) carried a Fast Open cookie and %s of data, and the SYN-ACK (frame %d) "+
				"acknowledged the data too (RFC 7413)%s. The server may answer before the handshake completes.",
				co.Frame, bytesWord(uint64(co.Data)), so.Frame, saved),
			Advice: "Nothing to fix. Fast Open data can be replayed by a duplicated SYN: only idempotent requests belong on it.",
		}
	case co.Data > 0 && so.Seen:
		return &Finding{
			ID: "tcp-fast-open", Severity: Notice, Frames: fs,
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
			ID: "tcp-fast-open", Severity: Info, Frames: fs,
			Title: "TCP Fast Open: the client asked for a cookie and got one",
			Explanation: fmt.Sprintf("The client's SYN (frame %d) carried an empty Fast Open option, a cookie request, and the SYN-ACK "+
				"(frame %d) returned a %d-byte cookie: the client's next connection to this server can carry data on its SYN.",
				co.Frame, so.Frame, so.TFOCookie),
			Advice: "Nothing to fix.",
		}
	}
	return &Finding{
		ID: "tcp-fast-open", Severity: Info, Frames: fs,
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
	return &Finding{
		ID: "syn-cookies", Severity: sev, Frames: frames(co.Frame, so.Frame, t.Frame),
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
	fs := frames(co.Frame, so.Frame)
	kind := "classic ECN (RFC 3168)"
	if c.Negotiated.AccECN {
		kind = "Accurate ECN"
	}
	var b strings.Builder
	switch {
	case c.Negotiated.ECN || c.Negotiated.AccECN:
		fmt.Fprintf(&b, "The handshake (frames %d and %d) negotiated %s: routers may mark packets CE (congestion experienced) instead of dropping them. ", co.Frame, so.Frame, kind)
	case offered && so.Seen:
		fmt.Fprintf(&b, "The client offered ECN on its SYN (frame %d) and the server declined it (frame %d): Linux servers accept ECN only with net.ipv4.tcp_ecn=1 or 2 (2, the default, accepts it when asked), so the server's stack has it off or a middlebox cleared the bits. ", co.Frame, so.Frame)
	}
	if ect := fc.ECT + fsv.ECT; ect > 0 {
		fmt.Fprintf(&b, "%s carried an ECT codepoint. ", count(ect, "packet"))
	}
	if ece > 0 {
		eceFrames := append(append([]int(nil), fc.ECE.Frames...), fsv.ECE.Frames...)
		fs = frames(append(fs, eceFrames...)...)
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
		ID: "ecn", Severity: Info, Frames: fs, Title: title,
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
	return &Finding{
		ID: "ecn", Severity: Notice, Frames: frames(firstCE, echo, cwr),
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
