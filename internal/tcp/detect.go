package tcp

import (
	"time"

	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/wire"
)

// pawsWindow is how many ticks older than TS.Recent a TSval may be and
// pass Linux's PAWS check (TCP_PAWS_WINDOW).
const pawsWindow = 1

// overlay is where tcplens decides differently from tshark, or beyond it:
// the kind of each retransmission from the measured RTT and the dup-ACK
// and SACK evidence, Linux's persist probes, D-SACK, PAWS, checksums,
// challenge ACKs, the window scale of mid-stream connections, and the
// corrections lost SYNs and FINs make to the receiver's state.
func (c *Conn) overlay(from, to *Endpoint, in *Input, r *Result) {
	s := in.Seg
	a := &r.Analysis

	// Linux probes a zero window with a segment at SND.UNA-1 and no data
	// (tcp_xmit_probe_skb), which tshark calls a keep-alive. With the
	// peer's window at zero it is a zero-window probe.
	if a.Has(event.KeepAlive) && to.flow.window == 0 {
		a.Remove(event.KeepAlive)
		a.Add(event.ZeroWindowProbe)
	}
	if a.Has(event.KeepAliveAck) && s.Window == 0 {
		a.Remove(event.KeepAliveAck)
		a.Add(event.ZeroWindowProbeAck)
	}

	c.lateOriginal(from, to, in, r)
	if a.Has(event.Retransmission) || a.Has(event.SpuriousRetransmission) {
		c.classifyRetransmission(from, to, in, r)
	} else {
		a.Remove(event.FastRetransmission)
	}

	// D-SACK (RFC 2883 section 4): the first block lies below the
	// cumulative ACK, or inside the second block.
	if s.Options.NumSACK > 0 && s.Flags.Has(wire.ACK) {
		b := s.Options.SACK[0]
		if b.End.LessEq(s.Ack) || (s.Options.NumSACK > 1 && s.Options.SACK[1].Contains(b.Start) && b.End.LessEq(s.Options.SACK[1].End)) {
			a.Add(event.DSACK)
			if x, ok := to.flow.dsacked(b); ok {
				to.Retrans.undo(x.kind)
				r.Undid, r.UndidKind = x.frame, x.kind
			} else {
				to.Retrans.Spurious++
			}
		}
	}

	// PAWS (RFC 7323 section 5): a segment whose TSval is older than the
	// receiver's TS.Recent is dropped; Linux allows one tick
	// (TCP_PAWS_WINDOW), exempts RSTs and tolerates disordered pure
	// ACKs, so only segments that carry something count.
	if s.Options.Has(wire.HasTimestamps) {
		// PAWS applies in synchronized states, not to the handshake.
		carries := (s.PayloadLen > 0 || s.Flags.Has(wire.FIN)) && !s.Flags.Has(wire.SYN)
		if to.HaveTSRecent && to.State.Synchronized() && int32(to.TSRecent-s.Options.TSVal) > pawsWindow && !s.Flags.Has(wire.RST) && carries {
			a.Add(event.PAWSReject)
		}
		if s.Flags.Has(wire.ACK) && (!from.HaveTSRecent || int32(s.Options.TSEcr-from.TSRecent) > 0) {
			from.TSRecent, from.HaveTSRecent = s.Options.TSEcr, true
		}
	}

	if in.Checksum == ChecksumBad && !in.Offload {
		a.Add(event.BadChecksum)
	}

	// The ACK that answers an RST it would not act on (RFC 5961 3.2).
	if from.challenge != 0 && s.PayloadLen == 0 && !s.Flags.Any(wire.SYN|wire.FIN|wire.RST) && s.Flags.Has(wire.ACK) {
		a.Add(event.ChallengeACK)
		from.challenge = 0
	}
	// A SYN to a 4-tuple the server still holds draws an ACK, not a
	// SYN-ACK (RFC 5961 4.2).
	if from.State == SynReceived && !from.SentSYN && s.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.ACK && s.PayloadLen == 0 {
		a.Add(event.ChallengeACK)
	}

	c.inferWindowScale(from, to, in, r)
	c.correctFIN(from, to, in, r)

	if a.Has(event.DuplicateAck) {
		from.DupAcks++
	}
}

// pathRTT is the best estimate of the round trip between the two ends,
// whatever the capture point: the handshake's (SYN to SYN-ACK to ACK spans
// the whole path), else the two half-loops the capture point sees, each
// the quickest data-to-ACK time of one direction.
func (c *Conn) pathRTT(from, to *Endpoint) time.Duration {
	if c.HandshakeAck != 0 && c.SYNTime != 0 {
		return c.HandshakeAckTime.Sub(c.SYNTime)
	}
	if from.RTT.Samples > 0 && to.RTT.Samples > 0 {
		return from.RTT.Min + to.RTT.Min
	}
	return max(from.RTT.SRTT, to.RTT.SRTT)
}

// expectedRTO is the timeout the sender would be running: its smoothed
// RTT where it has samples (at least the path's RTT) plus Linux's variance
// term, never below Linux's 200 ms floor.
func (c *Conn) expectedRTO(from, to *Endpoint) time.Duration {
	rtt := max(c.pathRTT(from, to), from.RTT.SRTT)
	if rtt == 0 {
		return LinuxRTOInit
	}
	return rtt + max(4*from.RTT.RTTVar, LinuxRTOMin)
}

// classifyRetransmission says what made the sender send again.
func (c *Conn) classifyRetransmission(from, to *Endpoint, in *Input, r *Result) {
	s := in.Seg
	a := &r.Analysis
	r.RTO = c.expectedRTO(from, to)
	r.SRTT = from.RTT.SRTT
	a.Remove(event.FastRetransmission) // tshark's fixed 20 ms rule; decided below
	from.Retrans.Total++
	// tshark names the eldest unacknowledged segment; the original of
	// these bytes is the first still-unacknowledged sending that holds
	// them, and the timer restarts at each sending, so the backoff shows
	// in the time since the previous one.
	if first, latest, n := from.flow.transmissions(s.Seq, in.Frame); n > 0 {
		r.RetransFrame = first.frame
		r.RetransDelay = in.Time.Sub(first.time)
		r.Attempt = n + 1
		r.SincePrev = in.Time.Sub(latest.time)
	} else if r.RetransFrame != 0 {
		r.Attempt = 2
		r.SincePrev = r.RetransDelay
	}
	switch {
	case s.Flags.Has(wire.SYN) && !s.Flags.Has(wire.ACK):
		a.Add(event.SYNRetransmission)
		from.Retrans.SYN++
		return
	case s.Flags.Has(wire.SYN | wire.ACK):
		a.Add(event.SYNACKRetransmission)
		from.Retrans.SYNACK++
		return
	case s.Flags.Has(wire.FIN) && s.PayloadLen == 0:
		a.Add(event.FINRetransmission)
		from.Retrans.FIN++
		return
	}
	if a.Has(event.SpuriousRetransmission) {
		from.Retrans.Spurious++
		from.flow.noteResend(s, in.Frame, event.SpuriousRetransmission)
		return
	}
	rev := &to.flow
	// Evidence the receiver has data above this segment: duplicate ACKs
	// asking for it, or a SACK block beyond it.
	dupacks := rev.dupAckNum > 0 && rev.lastAck == s.Seq
	sacked := false
	for i := range rev.numSack {
		if rev.sack[i].Start.Greater(s.Seq) {
			sacked = true
		}
	}
	// A fast retransmission leaves as soon as the evidence reaches the
	// sender (RACK waits at most a quarter of an RTT more), so the capture
	// shows it within about one capture-to-sender round trip of the
	// evidence, whatever the path's length: tshark's fixed 20 ms misses
	// it on any path slower than that. Evidence older than a round trip
	// and a half did not prompt it: the timer did.
	sinceEvidence := in.Time.Sub(rev.lastAckTime)
	prompt := r.RTO
	if rtt := c.pathRTT(from, to); rtt > 0 {
		prompt = min(prompt, rtt+rtt/2+10*time.Millisecond)
	}
	if (dupacks || sacked) && sinceEvidence <= prompt {
		a.Add(event.FastRetransmission)
		from.Retrans.Fast++
		from.flow.noteResend(s, in.Frame, event.FastRetransmission)
		return
	}
	// Linux's tail loss probe (RFC 8985 7): the last segment sent goes
	// again after the probe timeout, about two SRTTs, before the RTO.
	srtt := max(from.RTT.SRTT, c.pathRTT(from, to))
	last := s.SeqEnd() == from.flow.nextSeq
	if last && srtt > 0 && r.SincePrev < r.RTO && r.SincePrev >= srtt {
		a.Add(event.TailLossProbe)
		from.Retrans.TailLossProbe++
		return
	}
	a.Add(event.RTORetransmission)
	from.Retrans.RTO++
}

// inferWindowScale infers the window scale of a mid-stream connection:
// the bytes the sender keeps in flight must fit the receiver's advertised
// window, so the smallest shift that makes them fit is a lower bound on
// the real one.
func (c *Conn) inferWindowScale(from, to *Endpoint, in *Input, r *Result) {
	if in.Seg.PayloadLen == 0 || !(to.WindowShift < 0 || to.ShiftInferred) || to.flow.window == ^uint32(0) {
		return
	}
	inFlight := uint32(from.SndNxt - from.SndUna)
	raw := to.flow.window
	if raw == 0 {
		return
	}
	shift := max(to.WindowShift, 0)
	for shift < 14 && raw<<uint(shift) < inFlight {
		shift++
	}
	if shift != to.WindowShift && (shift > 0 || to.WindowShift < 0) {
		if shift == 0 && to.WindowShift < 0 {
			return // nothing learned yet: the window alone holds the bytes in flight
		}
		to.WindowShift = shift
		to.ShiftInferred = true
		r.Analysis.Add(event.WindowScaleInferred)
	}
}

// correctFIN handles a FIN sent again that the receiver had not
// acknowledged: the first did not arrive, so the receiver's move on it is
// undone and made again now.
func (c *Conn) correctFIN(from, to *Endpoint, in *Input, r *Result) {
	if !r.Analysis.Has(event.FINRetransmission) && !(r.Analysis.Has(event.Retransmission) && in.Seg.Flags.Has(wire.FIN)) {
		return
	}
	if to.RcvNxt.Greater(from.FINSeq) {
		return // the receiver acknowledged the FIN: it arrived, the ACK was lost
	}
	for i := len(to.History) - 1; i >= 0; i-- {
		t := to.History[i]
		if t.Frame != from.FINFrame || t.Correction {
			continue
		}
		if i != len(to.History)-1 {
			return // it moved on since: leave the history alone
		}
		change(to, false, t.From, in, ofFrame(reasonFINLost, from.FINFrame), true, r)
		change(to, false, t.State, in, t.Reason.again(), false, r)
		return
	}
}
