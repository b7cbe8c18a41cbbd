package diagnose

import (
	"fmt"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/event"
)

// perSide builds one sentence per end that shows something, and gathers
// the evidence frames.
func (c *Conn) perSide(show func(r role, s *analyze.Side, f *SideFacts) (string, []int)) (string, []int) {
	var parts []string
	var fs []int
	for _, r := range []role{client, server} {
		s, f := c.side(r)
		if text, ev := show(r, s, f); text != "" {
			parts = append(parts, text)
			fs = append(fs, ev...)
		}
	}
	return strings.Join(parts, " "), frames(fs...)
}

func ruleRTO(x *env, c *Conn) *Finding {
	if c.Client.Retrans.RTO+c.Server.Retrans.RTO == 0 {
		return nil
	}
	rtt := c.rtt()
	var total time.Duration
	text, fs := c.perSide(func(r role, s *analyze.Side, f *SideFacts) (string, []int) {
		n := s.Retrans.RTO
		if n == 0 {
			return "", nil
		}
		ev := f.Kind(event.RTORetransmission)
		total += f.RTOWaitTotal
		w := fmt.Sprintf("%s resent data %s after a retransmission timeout (%s); the longest wait was %s (frame %d)",
			capitalise(c.who(r)), timesWord(n), frameList(ev.Frames, ev.N), dur(f.RTOWorstWait), f.RTOWorst.Frame)
		if rtt > 0 {
			w += fmt.Sprintf(", %s the %s RTT", times(f.RTOWorstWait, rtt), dur(rtt))
		}
		if f.RTOWorstRTO > 0 {
			w += fmt.Sprintf(", against the %s RTO the sender would compute", dur(f.RTOWorstRTO))
		}
		return w + ".", ev.Frames
	})
	sev := Notice
	if total >= 200*time.Millisecond || (rtt > 0 && total >= 10*rtt) {
		sev = Warning
	}
	return &Finding{
		ID: "rto-retransmission", Severity: sev, Frames: fs, weight: total.Seconds(),
		Title: fmt.Sprintf("%s: the sender waited out the timer, %s lost", count(c.Client.Retrans.RTO+c.Server.Retrans.RTO, "RTO retransmission"), dur(total)),
		Explanation: text + fmt.Sprintf(" No duplicate ACKs or SACKs told the sender of the loss sooner, so it sat idle until its timer "+
			"fired (at least 200 ms on Linux, doubling at each repeat): RTO retransmissions cost %s in all. This is what a loss at the "+
			"end of a flight, or of a window too small to draw three duplicate ACKs, costs; fast retransmission would have taken about one RTT.", dur(total)),
		Advice: "Find where the packets are lost (see packet-loss): a congested or policed link, a flaky interface. Short flows suffer " +
			"most: fewer, larger writes and keeping SACK and tail loss probes on (Linux defaults) shorten recovery.",
	}
}

func ruleTailLossProbe(x *env, c *Conn) *Finding {
	if c.Client.Retrans.TailLossProbe+c.Server.Retrans.TailLossProbe == 0 {
		return nil
	}
	text, fs := c.perSide(func(r role, s *analyze.Side, f *SideFacts) (string, []int) {
		ev := f.Kind(event.TailLossProbe)
		if ev.N == 0 {
			return "", nil
		}
		w := fmt.Sprintf("%s resent the last segment of a flight %s (%s) instead of waiting for its retransmission timeout",
			capitalise(c.who(r)), timesWord(ev.N), frameList(ev.Frames, ev.N))
		if s.RTT.RTO > 0 {
			w += fmt.Sprintf(" (%s; its RTO was %s)", c.rttWords(), dur(s.RTT.RTO))
		}
		return w + ".", ev.Frames
	})
	return &Finding{
		ID: "tail-loss-probe", Severity: Notice, Frames: fs, weight: float64(c.Client.Retrans.TailLossProbe + c.Server.Retrans.TailLossProbe),
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
	text, fs := c.perSide(func(r role, s *analyze.Side, f *SideFacts) (string, []int) {
		ev := f.Kind(event.FastRetransmission)
		if ev.N == 0 {
			return "", nil
		}
		_, pf := c.side(r.other())
		dup := pf.Kind(event.DuplicateAck)
		w := fmt.Sprintf("%s resent %s (%s) on the evidence of duplicate ACKs or SACK blocks", capitalise(c.who(r)), count(ev.N, "segment"), frameList(ev.Frames, ev.N))
		if dup.N > 0 {
			w += fmt.Sprintf(" (the peer sent %s, from frame %d)", count(dup.N, "duplicate ACK"), dup.Frames[0])
		}
		return w + ".", ev.Frames
	})
	return &Finding{
		ID: "fast-retransmission", Severity: Notice, Frames: fs, weight: float64(c.Client.Retrans.Fast + c.Server.Retrans.Fast),
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
	data := fc.Kind(event.SpuriousRetransmission).N + fsv.Kind(event.SpuriousRetransmission).N
	if n == 0 && data == 0 {
		return nil
	}
	if data == 0 && c.simultaneousOpen() {
		return nil // the crossing SYN-ACKs draw D-SACKs: expected, not a loss
	}
	text, fs := c.perSide(func(r role, s *analyze.Side, f *SideFacts) (string, []int) {
		ev := f.Kind(event.SpuriousRetransmission)
		_, pf := c.side(r.other())
		dsack := pf.Kind(event.DSACK)
		if ev.N == 0 && dsack.N == 0 {
			return "", nil
		}
		var w []string
		if ev.N > 0 {
			w = append(w, fmt.Sprintf("%s resent %s the receiver had already acknowledged (%s)", capitalise(c.who(r)), count(ev.N, "segment"), frameList(ev.Frames, ev.N)))
		}
		if dsack.N > 0 {
			w = append(w, fmt.Sprintf("%s reported data received twice with D-SACK %s (%s)", capitalise(c.who(r.other())), timesWord(dsack.N), frameList(dsack.Frames, dsack.N)))
		}
		return strings.Join(w, "; ") + ".", append(append([]int(nil), ev.Frames...), dsack.Frames...)
	})
	return &Finding{
		ID: "spurious-retransmission", Severity: Notice, Frames: fs, weight: float64(n + data),
		Title: "spurious retransmissions: data resent that had arrived",
		Explanation: text + " The data was not lost: the sender's timer fired too early (the RTT jumped, or ACKs were lost or " +
			"delayed), or reordering looked like loss. Each costs bandwidth, and a congestion-window reduction unless the sender " +
			"undoes it on the D-SACK (Linux does). " + c.rttWords() + ".",
		Advice: "Look for delay spikes (bufferbloat, a busy receiver that delays ACKs) or reordering on the path (parallel links, ECMP).",
	}
}

func rulePacketLoss(x *env, c *Conn) *Finding {
	seen := c.Facts.Client.RetransSeen.N + c.Facts.Server.RetransSeen.N
	unseen := c.Facts.Client.RetransUnseen.N + c.Facts.Server.RetransUnseen.N
	holes := c.Facts.Client.Kind(event.LostSegment).N + c.Facts.Server.Kind(event.LostSegment).N
	if seen+unseen+holes == 0 {
		return nil
	}
	var worst float64
	var worstWords string
	text, fs := c.perSide(func(r role, s *analyze.Side, f *SideFacts) (string, []int) {
		_, pf := c.side(r.other())
		lostAfter := f.RetransSeen.N - max(f.Kind(event.SpuriousRetransmission).N, pf.Kind(event.DSACK).N)
		lostBefore := f.Kind(event.LostSegment).N
		if lostAfter <= 0 && lostBefore == 0 {
			return "", nil
		}
		// Every transmission the capture saw or inferred, retransmissions
		// included: each loss cost one of them.
		sent := max(f.DataSegments, 1) + lostBefore
		lost := max(lostAfter, 0) + lostBefore
		rate := float64(lost) / float64(sent)
		if rate > worst {
			worst = rate
			worstWords = fmt.Sprintf("%d of the %s's %s lost (%.1f%%)", lost, r, count(sent, "data segment"), 100*rate)
		}
		var w []string
		if lostAfter > 0 {
			w = append(w, fmt.Sprintf("%s after the capture point (the capture saw them, then saw them sent again: %s)",
				count(lostAfter, "segment"), frameList(f.RetransSeen.Frames, f.RetransSeen.N)))
		}
		if lostBefore > 0 {
			lb := f.Kind(event.LostSegment)
			w = append(w, fmt.Sprintf("%s before it (the capture shows a hole in the sequence before %s)", count(lostBefore, "segment"), frameList(lb.Frames, lb.N)))
		}
		toward := "server"
		if r == server {
			toward = "client"
		}
		return fmt.Sprintf("Of the %s's data, %s was lost on the way to the %s: %s.", r, fmt.Sprintf("%.1f%%", 100*rate), toward, strings.Join(w, "; ")),
			append(append([]int(nil), f.RetransSeen.Frames...), f.Kind(event.LostSegment).Frames...)
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
	acked := c.Facts.Client.Kind(event.AckLostSegment).N + c.Facts.Server.Kind(event.AckLostSegment).N
	if acked > 0 {
		where += fmt.Sprintf(" %s acknowledged data the capture never saw: the capture itself dropped packets (or saw only one path), so not every hole is a network loss.", count(acked, "segment"))
	}
	sev := Notice
	if worst >= 0.02 {
		sev = Warning
	}
	return &Finding{
		ID: "packet-loss", Severity: sev, Frames: fs, weight: worst,
		Title:       "packet loss: " + worstWords,
		Explanation: text + " " + where,
		Advice: "Narrow the loss down with captures at more points, and look at interface error and drop counters (ip -s link, " +
			"ethtool -S) and at policers and queue drops on the devices of that segment of the path.",
	}
}
