package diagnose

import (
	"fmt"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/wire"
)

// perSide builds one sentence per end that shows something, and gathers
// the claims behind them.
func (c *Conn) perSide(show func(r role, s *analyze.Side, f *SideFacts) (string, []Claim)) (string, []Claim) {
	var parts []string
	var ev claims
	for _, r := range []role{client, server} {
		s, f := c.side(r)
		if text, cs := show(r, s, f); text != "" {
			parts = append(parts, text)
			ev.add(cs...)
		}
	}
	return strings.Join(parts, " "), ev
}

// Linux's smallest retransmission timeout (TCP_RTO_MIN): a sender that
// waits this long with nothing acknowledged waited for its timer.
const rtoMin = 200 * time.Millisecond

// upstreamResends are a side's packets that came after IP IDs the
// capture point never saw, in order and after a pause: the data of a
// packet lost before the capture point, sent again. The pause tells how:
// at least the smallest retransmission timeout (rto), or less, a tail
// loss probe.
func (c *Conn) upstreamResends(f *SideFacts, rto bool) []IPIDGap {
	// Where the capture missed packets itself, a skipped IP ID may be
	// one of those.
	if !f.IPIDTrusted() || !f.Complete() {
		return nil
	}
	var out []IPIDGap
	for _, g := range f.IPIDGaps {
		if !g.Data || g.Fill {
			continue
		}
		pause := g.At.Time.Sub(g.Prev.Time)
		probe := pause < rtoMin && (c.rtt() == 0 || pause >= c.rtt()+c.rtt()/2)
		if (rto && pause >= rtoMin) || (!rto && probe) {
			out = append(out, g)
		}
	}
	return out
}

// gapClaims are the claims of IP ID gaps: the two packets and the
// numbers between, and the pause between them.
func (c *Conn) gapClaims(r role, gs []IPIDGap, pause bool) []Claim {
	var out []Claim
	for _, g := range gs {
		out = append(out, c.pair(ClaimIPIDSkipped, r, g.Prev.Frame, g.At.Frame).withN(int64(g.Missing)))
		if pause {
			out = append(out, c.elapsed(g.Prev.Frame, g.At.Frame, g.At.Time.Sub(g.Prev.Time)))
		}
	}
	return out
}

// dataGaps are the gaps where what never came carried data.
func dataGaps(gs []IPIDGap) []IPIDGap {
	var out []IPIDGap
	for _, g := range gs {
		if g.DataLoss {
			out = append(out, g)
		}
	}
	return out
}

func gapFrames(gs []IPIDGap) []int {
	out := make([]int, len(gs))
	for i, g := range gs {
		out[i] = g.At.Frame
	}
	return out
}

func ruleRTO(x *env, c *Conn) *Finding {
	var upC, upS []IPIDGap
	if c.Client.Retrans.RTO+c.Server.Retrans.RTO == 0 {
		upC, upS = c.upstreamResends(&c.Facts.Client, true), c.upstreamResends(&c.Facts.Server, true)
		if len(upC)+len(upS) == 0 {
			return nil
		}
	}
	rtt := c.rtt()
	var total time.Duration
	n := 0
	text, ev := c.perSide(func(r role, s *analyze.Side, f *SideFacts) (string, []Claim) {
		if k := s.Retrans.RTO; k > 0 {
			n += k
			e := f.Kind(event.RTORetransmission)
			total += f.RTOWaitTotal
			w := fmt.Sprintf("%s resent data %s after a retransmission timeout (%s); the longest wait was %s (frame %d)",
				capitalise(c.who(r)), timesWord(k), frameList(e.Frames, e.N), dur(f.RTOWorstWait), f.RTOWorst.Frame)
			if rtt > 0 {
				w += fmt.Sprintf(", %s the %s RTT", times(f.RTOWorstWait, rtt), dur(rtt))
			}
			if f.RTOWorstRTO > 0 {
				w += fmt.Sprintf(", against the %s RTO the sender would compute", dur(f.RTOWorstRTO))
			}
			return w + ".", append(c.resent(r, e.Frames...), c.claim(ClaimNotAckedBefore, r, e.Frames...))
		}
		up := upC
		if r == server {
			up = upS
		}
		if len(up) == 0 {
			return "", nil
		}
		n += len(up)
		var worst time.Duration
		for _, g := range up {
			p := g.At.Time.Sub(g.Prev.Time)
			total += p
			worst = max(worst, p)
		}
		return fmt.Sprintf("%s sent data %s (%s) after a silence of at least the smallest retransmission timeout (200 ms on Linux; "+
			"the longest %s) with IP IDs skipped just before: packets of its never reached the capture point, and it sent their data "+
			"again when its retransmission timer fired; this capture, downstream of the loss, sees the resend as the first copy.",
			capitalise(c.who(r)), timesWord(len(up)), frameList(gapFrames(up), len(up)), dur(worst)), c.gapClaims(r, up, true)
	})
	sev := Notice
	if total >= 200*time.Millisecond || (rtt > 0 && total >= 10*rtt) {
		sev = Warning
	}
	for _, r := range []role{client, server} {
		if s, _ := c.side(r); s.Packets == 0 {
			text += fmt.Sprintf(" The capture holds no packet from %s at all: whether the data was lost, or %s is down or its "+
				"answers take another path, it cannot tell.", c.who(r), s.Addr)
			ev = append(ev, c.claim(ClaimSilent, r))
		}
	}
	return &Finding{
		ID: "rto-retransmission", Severity: sev, Evidence: ev, weight: total.Seconds(),
		Title: fmt.Sprintf("%s: the sender waited out the timer, %s lost", count(n, "RTO retransmission"), dur(total)),
		Explanation: text + fmt.Sprintf(" No duplicate ACKs or SACKs told the sender of the loss sooner, so it sat idle until its timer "+
			"fired (at least 200 ms on Linux, doubling at each repeat): RTO retransmissions cost %s in all. This is what a loss at the "+
			"end of a flight, or of a window too small to draw three duplicate ACKs, costs; fast retransmission would have taken about one RTT.", dur(total)),
		Advice: "Find where the packets are lost (see packet-loss): a congested or policed link, a flaky interface. Short flows suffer " +
			"most: fewer, larger writes and keeping SACK and tail loss probes on (Linux defaults) shorten recovery.",
	}
}

func ruleTailLossProbe(x *env, c *Conn) *Finding {
	var upC, upS []IPIDGap
	if c.Client.Retrans.TailLossProbe+c.Server.Retrans.TailLossProbe == 0 {
		upC, upS = c.upstreamResends(&c.Facts.Client, false), c.upstreamResends(&c.Facts.Server, false)
		if len(upC)+len(upS) == 0 {
			return nil
		}
	}
	n := 0
	text, ev := c.perSide(func(r role, s *analyze.Side, f *SideFacts) (string, []Claim) {
		if e := f.Kind(event.TailLossProbe); e.N > 0 {
			n += e.N
			w := fmt.Sprintf("%s resent the last segment of a flight %s (%s) instead of waiting for its retransmission timeout",
				capitalise(c.who(r)), timesWord(e.N), frameList(e.Frames, e.N))
			if s.RTT.RTO > 0 {
				w += fmt.Sprintf(" (%s; its RTO was %s)", c.rttWords(), dur(s.RTT.RTO))
			}
			return w + ".", c.resent(r, e.Frames...)
		}
		up := upC
		if r == server {
			up = upS
		}
		if len(up) == 0 {
			return "", nil
		}
		n += len(up)
		return fmt.Sprintf("%s sent data %s (%s) after a silence of one and a half to a few round trips (%s), shorter than any "+
			"retransmission timeout, with IP IDs skipped just before: the tail of a flight never reached the capture point, and the "+
			"sender probed with it again; this capture, downstream of the loss, sees the probe as the first copy.",
			capitalise(c.who(r)), timesWord(len(up)), frameList(gapFrames(up), len(up)), c.rttWords()), c.gapClaims(r, up, true)
	})
	return &Finding{
		ID: "tail-loss-probe", Severity: Notice, Evidence: ev, weight: float64(n),
		Title: "tail loss probe: the last segment resent after about two RTTs",
		Explanation: text + " Linux's tail loss probe (RFC 8985) fires about two smoothed RTTs after the last transmission when no ACK " +
			"came: if the tail of a flight was lost, the probe draws a SACK that triggers fast recovery, so a loss costs a few RTTs " +
			"instead of a 200 ms timeout. A probe that was not needed (the ACK was only late) is harmless.",
		Advice: "Nothing to tune; if probes are frequent, look for loss at the end of flights (see packet-loss).",
	}
}

func ruleFastRetransmission(x *env, c *Conn) *Finding {
	if c.Client.Retrans.Fast+c.Server.Retrans.Fast == 0 {
		return nil
	}
	text, ev := c.perSide(func(r role, s *analyze.Side, f *SideFacts) (string, []Claim) {
		e := f.Kind(event.FastRetransmission)
		if e.N == 0 {
			return "", nil
		}
		_, pf := c.side(r.other())
		dup := pf.Kind(event.DuplicateAck)
		w := fmt.Sprintf("%s resent %s (%s) on the evidence of duplicate ACKs or SACK blocks", capitalise(c.who(r)), count(e.N, "segment"), frameList(e.Frames, e.N))
		cs := c.resent(r, e.Frames...)
		if dup.N > 0 {
			w += fmt.Sprintf(" (the peer sent %s, from frame %d)", count(dup.N, "duplicate ACK"), dup.Frames[0])
			cs = append(cs, c.sent(r.other(), wire.ACK, wire.ACK|wire.SYN|wire.RST, dup.Frames[0]))
		}
		return w + ".", cs
	})
	return &Finding{
		ID: "fast-retransmission", Severity: Notice, Evidence: ev, weight: float64(c.Client.Retrans.Fast + c.Server.Retrans.Fast),
		Title: "fast retransmission: losses repaired on duplicate ACKs, within a round trip or so",
		Explanation: text + " Fast retransmit (RFC 5681, with SACK RFC 6675) resends a segment as soon as three duplicate ACKs or a " +
			"SACK show later data arrived: the loss costs about one round trip, not a timeout, and the sender halves its congestion " +
			"window. " + c.rttWords() + ".",
		Advice: "Packets are being lost (see packet-loss), but the connection recovers the quick way; look at the path if the rate matters.",
	}
}

func ruleSpurious(x *env, c *Conn) *Finding {
	fc, fsv := &c.Facts.Client, &c.Facts.Server
	n := c.Client.Retrans.Spurious + c.Server.Retrans.Spurious
	data := fc.Kind(event.SpuriousRetransmission).N + fsv.Kind(event.SpuriousRetransmission).N + fc.Undone.N + fsv.Undone.N
	if n == 0 && data == 0 {
		return nil
	}
	if data == 0 && c.simultaneousOpen() {
		return nil // the crossing SYN-ACKs draw D-SACKs: expected, not a loss
	}
	text, ev := c.perSide(func(r role, s *analyze.Side, f *SideFacts) (string, []Claim) {
		e := f.Kind(event.SpuriousRetransmission)
		_, pf := c.side(r.other())
		dsack := pf.Kind(event.DSACK)
		if e.N == 0 && dsack.N == 0 && f.Undone.N == 0 {
			return "", nil
		}
		var w []string
		var cs []Claim
		if e.N > 0 {
			w = append(w, fmt.Sprintf("%s resent %s the receiver had already acknowledged (%s)", capitalise(c.who(r)), count(e.N, "segment"), frameList(e.Frames, e.N)))
			cs = append(cs, c.claim(ClaimAckedBefore, r, e.Frames...))
		}
		if dsack.N > 0 {
			w = append(w, fmt.Sprintf("%s reported data received twice with D-SACK %s (%s)", capitalise(c.who(r.other())), timesWord(dsack.N), frameList(dsack.Frames, dsack.N)))
			cs = append(cs, c.claim(ClaimSent, r.other(), dsack.Frames...))
		}
		if u := f.Undone; u.N > 0 {
			w = append(w, fmt.Sprintf("%s resent %s on duplicate ACKs or SACKs (%s) that the D-SACKs show had arrived: what prompted "+
				"the fast retransmission was reordering, not loss", capitalise(c.who(r)), count(u.N, "segment"), frameList(u.Frames, u.N)))
			cs = append(cs, c.resent(r, u.Frames...)...)
		}
		return strings.Join(w, "; ") + ".", cs
	})
	if len(ev) == 0 {
		return nil
	}
	return &Finding{
		ID: "spurious-retransmission", Severity: Notice, Evidence: ev, weight: float64(n + data),
		Title: "spurious retransmissions: data resent that had arrived",
		Explanation: text + " The data was not lost: the sender's timer fired too early (the RTT jumped, or ACKs were lost or " +
			"delayed), or reordering looked like loss. Each costs bandwidth, and a congestion-window reduction unless the sender " +
			"undoes it on the D-SACK (Linux does). " + c.rttWords() + ".",
		Advice: "Look for delay spikes (bufferbloat, a busy receiver that delays ACKs) or reordering on the path (parallel links, ECMP).",
	}
}

func rulePacketLoss(x *env, c *Conn) *Finding {
	fc, fs := &c.Facts.Client, &c.Facts.Server
	// The packets the IP IDs say were lost: at least one where numbers
	// were skipped. Not one per number: a drop before the stack cut a
	// packet into segments (GSO: a firewall or a queue on the sender)
	// skips a number per segment, and the sender sends the data again
	// itself.
	gaps := func(f *SideFacts) int {
		if f.IPIDTrusted() && f.Complete() {
			return f.IPIDDataSkips
		}
		return 0
	}
	holesC, holesS := fc.HolesLost(), fs.HolesLost()
	if fc.LostSeen.N+fs.LostSeen.N+holesC.N+holesS.N+gaps(fc)+gaps(fs) == 0 {
		return nil
	}
	var worst float64
	var worstWords string
	text, ev := c.perSide(func(r role, s *analyze.Side, f *SideFacts) (string, []Claim) {
		peer, pf := c.side(r.other())
		// A D-SACK says data arrived twice: a resend was not needed. Those
		// that named a fast retransmission took it out of LostSeen
		// already.
		lostAfter := f.LostSeen.N - (pf.Kind(event.DSACK).N - pf.DSACKMatched)
		if peer.Packets == 0 {
			// Data sent again to an end the capture never saw says
			// the sender had no answer: a loss, a dead peer or a peer
			// whose answers take another path look the same.
			lostAfter = 0
		}
		complete := f.Complete()
		// The holes a retransmission filled, or nothing did; a hole
		// that only originals sent before its opener filled (their
		// sender's clock says so) was reordering, not loss.
		holes := holesC
		if r == server {
			holes = holesS
		}
		// Before the capture point: the holes the capture saw filled
		// later (when it missed nothing itself) and the IP IDs it never
		// saw, whichever tells of more.
		lostBefore := 0
		if complete {
			// A hole held at least one segment, and at least as many
			// as its bytes fill of the largest the side may send (its
			// peer's MSS, or the largest it was seen to send).
			lostBefore = holes.N
			mss := c.Negotiated.MSSClient
			if r == server {
				mss = c.Negotiated.MSSServer
			}
			if seg := uint64(max(f.MaxPayload, int(mss), 1)); holes.N > 0 {
				lostBefore = max(lostBefore, int((f.cover.lostBytes()+seg-1)/seg))
			}
		}
		if g := gaps(f); g > lostBefore {
			lostBefore = g
		}
		if lostAfter <= 0 && lostBefore == 0 {
			return "", nil
		}
		var w []string
		var cs []Claim
		if lostAfter > 0 {
			w = append(w, fmt.Sprintf("%s after the capture point (the capture saw them, then saw them sent again before the %s "+
				"had acknowledged them: %s)", count(lostAfter, "segment"), r.other(), frameList(f.LostSeen.Frames, f.LostSeen.N)))
			cs = append(cs, c.claim(ClaimRetransmitted, r, f.LostSeen.Frames...), c.claim(ClaimNotAckedBefore, r, f.LostSeen.Frames...))
		}
		if lostBefore > 0 {
			var how []string
			if complete && holes.N > 0 {
				open, openBytes := f.cover.unfilled()
				hole := fmt.Sprintf("a hole in the sequence before %s", frameList(holes.Frames, holes.N))
				if holes.N > 1 {
					hole = fmt.Sprintf("holes in the sequence before %s", frameList(holes.Frames, holes.N))
				}
				switch {
				case f.cover.overflow:
				case open == 0:
					hole += ", filled later"
				case open >= holes.N:
					hole += fmt.Sprintf(" that no captured packet ever filled (%s): they never reached the capture point, "+
						"and the peer never acknowledged them", bytesWord(openBytes))
				default:
					hole += fmt.Sprintf(", %d of them never filled (%s)", open, bytesWord(openBytes))
				}
				how = append(how, hole)
				cs = append(cs, c.claim(ClaimHole, r, holes.Frames...).withD(c.loopFloor()), c.claim(ClaimComplete, r))
			}
			if g := gaps(f); g > 0 {
				data := dataGaps(f.IPIDGaps)
				how = append(how, fmt.Sprintf("IP IDs skipped %s before %s that resend data, open a hole or follow a "+
					"retransmission timer's pause (%s): Linux numbers a connection's packets one by one, so at least one packet "+
					"with data before each never reached the capture point", count(f.IPIDDataMissing, "number"),
					count(g, "packet"), frameList(gapFrames(data), g)))
				cs = append(cs, c.gapClaims(r, data, false)...)
			}
			w = append(w, fmt.Sprintf("%s before it (%s)", count(lostBefore, "packet"), strings.Join(how, "; ")))
		}
		toward := "server"
		if r == server {
			toward = "client"
		}
		lead := fmt.Sprintf("Some of the %s's data was lost on the way to the %s", r, toward)
		if complete {
			// Every transmission the capture saw or inferred,
			// retransmissions included: each loss cost one of them.
			sent := max(f.DataSegments, 1) + lostBefore
			lost := max(lostAfter, 0) + lostBefore
			rate := float64(lost) / float64(sent)
			if rate > worst {
				worst = rate
				worstWords = fmt.Sprintf("%d of the %s's %s lost (%.1f%%)", lost, r, count(sent, "data segment"), 100*rate)
			}
			lead = fmt.Sprintf("Of the %s's data, %.1f%% was lost on the way to the %s", r, 100*rate, toward)
			cs = append(cs, c.claim(ClaimDataSegments, r).withN(int64(f.DataSegments)), c.claim(ClaimComplete, r))
		} else if worstWords == "" {
			worstWords = fmt.Sprintf("the %s's data lost on the way (the capture itself missed some: no rate)", r)
		}
		return lead + ": " + strings.Join(w, "; ") + ".", cs
	})
	if text == "" {
		return nil
	}
	where := "The capture point's place is unknown, so 'before' and 'after' it cannot be turned into 'near the client' or 'near the server'."
	switch c.Vantage {
	case analyze.VantageClient:
		where = "The capture was taken next to the client: losses after the capture point on the client's data happened on the path to the server; holes in the server's data, on the path from it."
	case analyze.VantageServer:
		where = "The capture was taken next to the server: losses after the capture point on the server's data happened on the path to the client; holes in the client's data, on the path from it."
	case analyze.VantageMiddle:
		where = "The capture was taken on the path: a loss after the capture point happened between it and the receiver, a hole between the sender and it."
	}
	if unseen := fc.AckedUnseen + fs.AckedUnseen; unseen > 0 {
		where += fmt.Sprintf(" The receivers acknowledged %s the capture never saw: the capture itself dropped packets (or saw only one "+
			"path), so its holes are not counted as losses and no loss rate is given for that data (see capture-incomplete).", bytesWord(unseen))
	}
	sev := Notice
	if worst >= 0.02 {
		sev = Warning
	}
	return &Finding{
		ID: "packet-loss", Severity: sev, Evidence: ev, weight: worst,
		Title:       "packet loss: " + worstWords,
		Explanation: text + " " + where,
		Advice: "Narrow the loss down with captures at more points, and look at interface error and drop counters (ip -s link, " +
			"ethtool -S) and at policers and queue drops on the devices of that segment of the path.",
	}
}
