package diagnose

import (
	"fmt"
	"time"

	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/wire"
)

func ruleZeroWindow(x *env, c *Conn) *Finding {
	for _, r := range []role{client, server} {
		s, f := c.side(r)
		if f.ZeroStalls == 0 {
			continue
		}
		_, pf := c.side(r.other())
		st := f.ZeroLongest
		zw := f.Kind(event.ZeroWindow)
		var ev claims
		ev.add(c.claim(ClaimZeroWindow, r, append([]int{st.Start.Frame}, zw.Frames...)...), c.elapsed(st.Start.Frame, st.End.Frame, st.Duration()))
		probes := ""
		if pf.ZeroWinProbe.N > 0 {
			probes = fmt.Sprintf(" Meanwhile %s probed the window %s (%s).", c.who(r.other()), timesWord(pf.ZeroWinProbe.N), frameList(pf.ZeroWinProbe.Frames, pf.ZeroWinProbe.N))
			ev.add(c.claim(ClaimSent, r.other(), pf.ZeroWinProbe.Frames...))
		}
		end := fmt.Sprintf("until frame %d opened it again", st.End.Frame)
		sev := Warning
		if f.ZeroAtEnd {
			end = "and it was still closed when the connection's capture ended"
			sev = Error
		} else {
			ev.add(c.claim(ClaimWindowOpen, r, st.End.Frame))
		}
		stalls := ""
		if f.ZeroStalls > 1 {
			stalls = fmt.Sprintf(" In all %s, %s.", count(f.ZeroStalls, "stall"), dur(f.ZeroTotal))
		}
		return &Finding{
			ID: "zero-window", Severity: sev, Evidence: ev, weight: f.ZeroTotal.Seconds(),
			Title: fmt.Sprintf("%s advertised a zero window: the sender stalled %s", s.Addr, dur(f.ZeroTotal)),
			Explanation: fmt.Sprintf("%s advertised a zero window at frame %d %s, %s later: its receive buffer was full because its "+
				"application was not reading, and the sender may send nothing but probes while the window is closed.%s%s",
				capitalise(c.who(r)), st.Start.Frame, end, dur(st.Duration()), probes, stalls),
			Advice: "Look at the receiving application on " + s.Addr.Addr().String() + ": why it stops reading (blocked on a disk, a lock, " +
				"a downstream service; ss -tmi shows the full Recv-Q). A bigger receive buffer only delays the stall of a slow reader.",
		}
	}
	return nil
}

func ruleRwndLimited(x *env, c *Conn) *Finding {
	for _, r := range []role{client, server} {
		_, f := c.side(r)
		peer, _ := c.side(r.other())
		if f.WindowBound.N < 3 || f.DataSegments < 10 || f.WindowBound.N*10 < f.DataSegments {
			continue
		}
		rtt := c.rtt()
		ceiling := ""
		ev := claims{c.claim(ClaimData, r, f.WindowBound.Frames...), c.claim(ClaimMaxWindow, r.other()).withN(int64(f.MaxPeerWnd))}
		if !f.Complete() {
			continue // what it had in flight is unknown where the capture missed its data (see capture-incomplete)
		}
		ev.add(c.claim(ClaimComplete, r))
		if rtt > 0 && f.MaxPeerWnd > 0 {
			ceiling = fmt.Sprintf(" With at most %s in flight per %s round trip, the transfer cannot exceed %s, whatever the network offers.",
				bytesWord(uint64(f.MaxPeerWnd)), dur(rtt), rate(float64(f.MaxPeerWnd), rtt))
		}
		sev := Notice
		if f.WindowBound.N*5 >= f.DataSegments {
			sev = Warning
		}
		return &Finding{
			ID: "rwnd-limited", Severity: sev, Evidence: ev, weight: float64(f.WindowBound.N),
			Title: fmt.Sprintf("the %s's sending was limited by %s's receive window (%s)", r, peer.Addr, timesWord(f.WindowBound.N)),
			Explanation: fmt.Sprintf("%s filled the window %s advertised %s (%s): its in-flight data reached the receiver's window "+
				"(%s at most; %s in flight at the peak), so the receiver, not the network, set the pace.%s",
				capitalise(c.who(r)), c.who(r.other()), timesWord(f.WindowBound.N), frameList(f.WindowBound.Frames, f.WindowBound.N),
				bytesWord(uint64(f.MaxPeerWnd)), bytesWord(uint64(f.MaxInFlight)), ceiling),
			Advice: "Let the receiver's buffer grow: raise net.ipv4.tcp_rmem's maximum and do not pin SO_RCVBUF (setting it turns autotuning " +
				"off); make sure the receiving application reads promptly.",
		}
	}
	return nil
}

func ruleNoWindowScaling(x *env, c *Conn) *Finding {
	co, so := &c.Client.Offered, &c.Server.Offered
	if !co.Seen || !so.Seen || c.Negotiated.WindowScale {
		return nil
	}
	offered := "Neither SYN carried the window-scale option"
	ws := int64(wire.HasWindowScale)
	opts := []Claim{c.claim(ClaimOptions, client, co.Frame).withM(ws), c.claim(ClaimOptions, server, so.Frame).withM(ws)}
	switch {
	case co.WindowScale >= 0:
		offered = fmt.Sprintf("The client offered window scaling (shift %d) but the server's SYN-ACK did not", co.WindowScale)
		opts[0] = c.claim(ClaimOptions, client, co.Frame).withN(ws)
	case so.WindowScale >= 0:
		offered = "The server's SYN-ACK carried window scaling but the client's SYN did not (so it does not apply)"
		opts[1] = c.claim(ClaimOptions, server, so.Frame).withN(ws)
	}
	rtt := c.rtt()
	for _, r := range []role{client, server} {
		_, f := c.side(r)
		if (f.MaxInFlight < 48*1024 && f.WindowBound.N < 3) || !f.Complete() {
			continue
		}
		ceiling := ""
		if rtt > 0 {
			ceiling = fmt.Sprintf(" At the %s RTT that caps this connection at %s, and the bandwidth-delay product of even a 100 Mbit/s path "+
				"at that RTT is %s.", dur(rtt), rate(65535, rtt), bytesWord(uint64(100e6/8*rtt.Seconds())))
		}
		return &Finding{
			ID: "no-window-scaling", Severity: Warning, Evidence: append(opts, c.claim(ClaimData, r, f.WindowBound.Frames...), c.claim(ClaimComplete, r)),
			Title: "no window scaling: windows capped at 64 KiB, and the transfer hit the cap",
			Explanation: fmt.Sprintf("%s (frames %d and %d), so every window is at most 65,535 bytes. %s had up to %s in flight and "+
				"found the window full %s.%s If the option left the client's host (check a capture there) a middlebox stripped it.",
				offered, co.Frame, so.Frame, capitalise(c.who(r)), bytesWord(uint64(f.MaxInFlight)), timesWord(f.WindowBound.N), ceiling),
			Advice: "Turn window scaling on (net.ipv4.tcp_window_scaling=1, the Linux default) on both hosts, and find any firewall or " +
				"proxy that removes TCP options from SYNs.",
		}
	}
	return &Finding{
		ID: "no-window-scaling", Severity: Info, Evidence: opts,
		Title:       "no window scaling (it did not limit this connection)",
		Explanation: fmt.Sprintf("%s (frames %d and %d): windows are capped at 65,535 bytes. This connection never came near the cap.", offered, co.Frame, so.Frame),
		Advice:      "Nothing to fix for small transfers; bulk transfers over long paths need window scaling on both hosts.",
	}
}

func ruleCwndLimited(x *env, c *Conn) *Finding {
	for _, r := range []role{client, server} {
		_, f := c.side(r)
		if f.CwndBound.N < 3 || f.WindowBound.N > f.CwndBound.N || !f.Complete() {
			continue
		}
		return &Finding{
			ID: "cwnd-limited", Severity: Info, Evidence: []Claim{c.claim(ClaimData, r, f.CwndBound.Frames...), c.claim(ClaimComplete, r)}, weight: float64(f.CwndBound.N),
			Title: fmt.Sprintf("the %s's congestion window set the pace, not the receiver", r),
			Explanation: fmt.Sprintf("%s %s resumed sending at an ACK with its data in flight well under half the peer's window "+
				"(%s in flight at most, against a window of up to %s; %s): the sender's congestion window, which grows through slow "+
				"start and shrinks on loss, was the limit. That is normal for short transfers and the start of long ones. %s.",
				capitalise(c.who(r)), timesWord(f.CwndBound.N), bytesWord(uint64(f.MaxInFlight)), bytesWord(uint64(f.MaxPeerWnd)),
				frameList(f.CwndBound.Frames, f.CwndBound.N), c.rttWords()),
			Advice: "Nothing to fix unless the transfer should be faster: then look at loss (it shrinks the window) and at the congestion " +
				"control (BBR copes with loss and long paths better than CUBIC).",
		}
	}
	return nil
}

func ruleAppLimited(x *env, c *Conn) *Finding {
	for _, r := range []role{client, server} {
		_, f := c.side(r)
		if f.AppPauses.N == 0 || f.AppPauseTime < max(100*time.Millisecond, 10*c.rtt()) || !f.Complete() {
			continue
		}
		return &Finding{
			ID: "app-limited", Severity: Info, Evidence: []Claim{c.claim(ClaimData, r, f.AppPauses.Frames...), c.claim(ClaimComplete, r)}, weight: f.AppPauseTime.Seconds(),
			Title: fmt.Sprintf("the %s's application paused %s with nothing in flight", r, timesWord(f.AppPauses.N)),
			Explanation: fmt.Sprintf("%s had everything acknowledged and stayed silent before sending more, %s (%s), %s in all: "+
				"its application had nothing to send then, so neither the network nor the receiver was the limit. In a "+
				"request-response protocol this is the other side's think time. %s.",
				capitalise(c.who(r)), timesWord(f.AppPauses.N), frameList(f.AppPauses.Frames, f.AppPauses.N), dur(f.AppPauseTime), c.rttWords()),
			Advice: "If the connection is slow, look at the application (or what it waits on), not the network.",
		}
	}
	return nil
}

func ruleNagle(x *env, c *Conn) *Finding {
	for _, r := range []role{client, server} {
		_, f := c.side(r)
		if f.Nagle.N < 2 {
			continue
		}
		avg := f.NagleHeld / time.Duration(f.Nagle.N)
		sev := Notice
		if f.NagleHeld >= 200*time.Millisecond {
			sev = Warning
		}
		return &Finding{
			ID: "nagle-delayed-ack", Severity: sev, Evidence: []Claim{c.claim(ClaimData, r, f.Nagle.Frames...)}, weight: f.NagleHeld.Seconds(),
			Title: fmt.Sprintf("Nagle meets delayed ACK: the %s's small segments waited %s each for the peer's ACK", r, dur(avg)),
			Explanation: fmt.Sprintf("%s (%s) a small segment from %s left only when the peer's ACK of the previous small one "+
				"arrived, and that ACK came %s after the data on average (%s): the peer delayed its ACK "+
				"(Linux waits up to 40 ms, Windows 200 ms, hoping to piggyback it on a reply) while Nagle's algorithm held the next small "+
				"segment until everything sent was acknowledged. Together they cost %s. The pattern is a write-write-read: a "+
				"request sent in two writes.",
				capitalise(timesWord(f.Nagle.N)), frameList(f.Nagle.Frames, f.Nagle.N), c.who(r), dur(avg), c.rttWords(), dur(f.NagleHeld)),
			Advice: "Send each request in one write (buffer it, or writev), or set TCP_NODELAY on the sender for request/response " +
				"traffic; TCP_QUICKACK on the receiver helps only until its next read.",
		}
	}
	return nil
}

func rulePMTUBlackhole(x *env, c *Conn) *Finding {
	for _, r := range []role{client, server} {
		s, f := c.side(r)
		// A black hole lets small segments through: with none
		// delivered, or no packet from the peer at all, nothing tells
		// one from a dead peer or path.
		if f.BigRetrans.N < 3 || f.BigRetransN <= f.MaxDelivered || f.MaxDelivered == 0 || f.MaxDeliveredFrame == 0 {
			continue
		}
		small := fmt.Sprintf("segments of up to %s got through (frame %d, acknowledged)", bytesWord(uint64(f.MaxDelivered)), f.MaxDeliveredFrame)
		ev := claims{c.claim(ClaimRetransmitted, r, f.BigRetrans.Frames...), c.claim(ClaimNotAcked, r, f.BigRetrans.Frames...),
			c.claim(ClaimData, r, f.MaxDeliveredFrame), c.claim(ClaimAcked, r, f.MaxDeliveredFrame)}
		return &Finding{
			ID: "pmtu-blackhole", Severity: Error, Evidence: ev, weight: float64(f.BigRetrans.N),
			Title: fmt.Sprintf("path MTU black hole: %s's %d-byte segments never get through", s.Addr, f.BigRetransN),
			Explanation: fmt.Sprintf("%s sent segments of %s again and again on its retransmission timer (%s) and none was "+
				"acknowledged, while %s: a link on the path has a smaller MTU than these packets, and the ICMP 'fragmentation "+
				"needed' (IPv6: 'packet too big') that should tell the sender is filtered somewhere, so the sender never shrinks them. "+
				"tcplens reads only TCP: a capture including ICMP would show whether that message was sent.",
				capitalise(c.who(r)), bytesWord(uint64(f.BigRetransN)), frameList(f.BigRetrans.Frames, f.BigRetrans.N), small),
			Advice: "Let ICMP type 3 code 4 (ICMPv6 type 2) through the firewalls; clamp the MSS on the router before the small-MTU link " +
				"(iptables -t mangle ... TCPMSS --clamp-mss-to-pmtu); on Linux hosts net.ipv4.tcp_mtu_probing=1 recovers by itself.",
		}
	}
	return nil
}
