package tcp

import (
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// change moves e to state st and records it in r.
func change(e *Endpoint, sender bool, st State, in *Input, reason Reason, correction bool, r *Result) {
	if t := e.setState(st, in.Frame, in.Time, reason, correction); t != nil {
		r.Changes = append(r.Changes, Change{Sender: sender, Transition: *t})
	}
}

// ExpireTimeWait ends TIME_WAIT for an endpoint that has held it for
// Linux's 60 s by now. It reports whether it did.
func (e *Endpoint) ExpireTimeWait(now pcap.Time) bool {
	if e.State != TimeWait || len(e.History) == 0 {
		return false
	}
	entered := e.History[len(e.History)-1].Time
	if now.Sub(entered) < LinuxTimeWaitLen {
		return false
	}
	e.setState(Closed, 0, entered+pcap.Time(LinuxTimeWaitLen), because(reasonTimeWaitEnded), false)
	return true
}

// TakenOver ends the TIME_WAIT of c's ends when a new connection's SYN
// (frame, at t) takes their 4-tuple: Linux reuses a TIME_WAIT 4-tuple for
// an outgoing connection with tcp_tw_reuse, and accepts a new SYN into
// one whose sequence number or timestamp is newer (RFC 6191), and either
// way the old connection is gone.
func (c *Conn) TakenOver(frame int, t pcap.Time) {
	for i := range c.Ends {
		if e := &c.Ends[i]; e.State == TimeWait {
			e.setState(Closed, frame, t, Reason{kind: reasonTimeWaitTakenOver, n: uint64(frame)}, false)
		}
	}
}

// Ended makes the corrections that only a connection's end allows, at
// time t: an end that never sent a packet had been taken to have
// received its peer's SYN (listening, then SYN_RECV), but nothing it did
// shows that the SYN arrived, nor that anything listened: the capture
// says nothing of its state.
//
// An end that sent its SYN, was taken to be ESTABLISHED by the peer's
// SYN-ACK, and then sent nothing at all, neither the ACK a socket sends
// at once nor its SYN again, had no socket waiting for the answer (a
// scanner's SYN, sent from a raw socket), or no SYN-ACK reached it and it
// gave up unseen: either way nothing says it is ESTABLISHED.
func (c *Conn) Ended(t pcap.Time) {
	for i := range c.Ends {
		e, peer := &c.Ends[i], &c.Ends[1-i]
		switch {
		case e.Packets == 0 && (e.State == SynReceived || e.State == Listen):
			e.setState(Unknown, 0, t, because(reasonNeverAnswered), true)
		case e.State == Established && e.SentSYN && !e.ackedSYNACK && peer.synACKFrame != 0 &&
			e.Packets == 1+e.Retrans.SYN && !e.SentFIN && !e.SentRST:
			e.setState(Unknown, 0, t, ofFrame(reasonSYNACKNeverAcked, peer.synACKFrame), true)
		}
	}
}

// handshake records what SYNs offer and, once both are seen, what the two
// ends negotiated (RFC 7323: window scaling and timestamps only when both
// SYNs carry the option; RFC 2018: SACK likewise).
func (c *Conn) handshake(from, to *Endpoint, in *Input) {
	s := in.Seg
	if !s.Flags.Has(wire.SYN) {
		if s.Options.Has(wire.HasTimestamps) && !from.Timestamps && from.MidStream {
			// Timestamps on data mean both ends agreed to them.
			from.Timestamps, to.Timestamps = true, true
		}
		return
	}
	h := &from.Handshake
	if !h.Seen {
		o := &s.Options
		*h = Handshake{
			Seen:        true,
			Frame:       in.Frame,
			Time:        in.Time,
			WindowScale: -1,
			SACK:        o.Has(wire.HasSACKPermitted),
			Timestamps:  o.Has(wire.HasTimestamps),
			TFO:         o.Has(wire.HasFastOpen),
			TFOCookie:   o.FastOpenCookie,
			Data:        s.PayloadLen,
			Window:      s.Window,
		}
		if o.Has(wire.HasMSS) {
			h.MSS = o.MSS
		}
		if o.Has(wire.HasWindowScale) {
			h.WindowScale = int8(min(o.WindowScale, 14))
		}
		if s.Flags.Has(wire.ACK) {
			h.ECN = s.Flags.Has(wire.ECE) && !s.Flags.Has(wire.CWR)
			h.AccECN = s.Flags&(wire.AE|wire.CWR|wire.ECE) != 0 && !h.ECN
		} else {
			h.ECN = s.Flags.Has(wire.ECE | wire.CWR)
			h.AccECN = s.Flags.Has(wire.AE | wire.ECE | wire.CWR)
		}
		from.ISS = s.Seq
		from.SndUna = s.Seq
		from.SndNxt = s.Seq
		from.SentSYN = true
		if !s.Flags.Has(wire.ACK) {
			c.FirstSYNTime = in.Time
		}
	}
	// The latest SYN and SYN-ACK time the handshake: a retransmitted one
	// is the one the answer answers (Karn's rule for the handshake).
	if s.Flags.Has(wire.ACK) {
		c.SYNACKTime = in.Time
	} else {
		c.SYNTime = in.Time
	}
	if !s.Flags.Has(wire.ACK) {
		return
	}
	// A SYN-ACK: the negotiation is settled.
	peer := &to.Handshake
	if h.WindowScale >= 0 {
		// A server sends the option only if the SYN carried it (RFC 7323
		// 2.2), so scaling is on even if the SYN was not captured.
		from.WindowShift = h.WindowScale
		if peer.Seen {
			to.WindowShift = max(peer.WindowScale, 0)
		}
	} else {
		from.WindowShift, to.WindowShift = 0, 0
	}
	from.SACK = h.SACK && (!peer.Seen || peer.SACK)
	to.SACK = from.SACK
	from.Timestamps = h.Timestamps && (!peer.Seen || peer.Timestamps)
	to.Timestamps = from.Timestamps
	if peer.MSS != 0 {
		from.MSS = peer.MSS
	}
	if h.MSS != 0 {
		to.MSS = h.MSS
	}
}

// advance updates the RFC 9293 variables the segment reveals.
func (c *Conn) advance(from, to *Endpoint, in *Input, r *Result) {
	s := in.Seg
	end := s.SeqEnd()
	if from.Packets == 1 && !s.Flags.Has(wire.SYN) {
		// The first segment seen from it, without a SYN: mid-stream.
		from.ISS = s.Seq - 1
		from.SndUna = s.Seq
		from.SndNxt = s.Seq
	}
	// An RST's sequence number is a claim, not data sent: it does not
	// move SND.NXT (it may be forged, or answer a segment out of window).
	if end.Greater(from.SndNxt) && !s.Flags.Has(wire.RST) {
		from.SndNxt = end
	}
	if s.Flags.Has(wire.FIN) && !from.SentFIN {
		from.SentFIN = true
		from.FINSeq = end - 1
		from.FINFrame = in.Frame
	}
	if s.Flags.Has(wire.ACK) {
		if s.Ack.Greater(from.RcvNxt) || from.RcvNxt == 0 {
			from.RcvNxt = s.Ack
		}
		if !s.Flags.Has(wire.SYN) && to.SentSYN && s.Ack.Greater(to.ISS) {
			from.ackedSYNACK = true
		}
		// An acceptable ACK (RFC 9293 3.10.7.4) moves the peer's SND.UNA.
		if s.Ack.Greater(to.SndUna) && s.Ack.LessEq(to.SndNxt) {
			to.SndUna = s.Ack
		}
		if to.SentFIN && s.Ack.Greater(to.FINSeq) {
			to.FINAcked = true
		}
		// Round-trip sample for the peer: Karn's rule keeps only segments
		// sent once; the timestamp echo names the transmission it answers.
		if r.AckedFrame != 0 && r.ackedSent == 1 && r.AckRTT > 0 {
			to.RTT.Sample(r.AckRTT)
			r.RTTSample = r.AckRTT
		} else if s.Options.Has(wire.HasTimestamps) && s.Options.TSEcr != 0 && r.AckedFrame != 0 {
			if t, ok := to.flow.tsTime(s.Options.TSEcr); ok {
				d := in.Time.Sub(t)
				to.RTT.Sample(d)
				r.RTTSample = d
			}
		}
	}
	if s.Options.Has(wire.HasTimestamps) {
		from.flow.rememberTS(s.Options.TSVal, in.Time)
	}
	if w, ok := from.ScaledWindow(s.Window, s.Flags.Has(wire.SYN)); ok {
		from.RcvWnd = w
		to.SndWnd = w
	}
	if s.Window == 0 && !s.Flags.Any(wire.SYN|wire.FIN|wire.RST) {
		from.ZeroWindows++
	}
}

// rememberTS notes when a TSval was first sent, in a small ring: an echo
// comes back within a round trip, and a sender's clock ticks a few times
// per round trip at most.
func (f *flow) rememberTS(val uint32, t pcap.Time) {
	last := (f.tsNext + maxTSSent - 1) % maxTSSent
	if f.tsCount > 0 && f.tsSent[last].val == val {
		return
	}
	f.tsSent[f.tsNext] = tsSend{val: val, time: t}
	f.tsNext = (f.tsNext + 1) % maxTSSent
	f.tsCount = min(f.tsCount+1, maxTSSent)
}

// tsTime is when val was first sent.
func (f *flow) tsTime(val uint32) (pcap.Time, bool) {
	for i := 1; i <= f.tsCount; i++ {
		e := &f.tsSent[(f.tsNext+maxTSSent-i)%maxTSSent]
		if e.val == val {
			return e.time, true
		}
	}
	return 0, false
}

// machine runs both endpoints' state machines for one segment: the sender
// moves when it sends, the receiver when the segment arrives (assumed at
// capture time, corrected when later evidence says it was lost).
func (c *Conn) machine(from, to *Endpoint, in *Input, r *Result) {
	s := in.Seg
	f := s.Flags
	for _, e := range [2]*Endpoint{from, to} {
		if e.ExpireTimeWait(in.Time) {
			t := e.History[len(e.History)-1]
			r.Changes = append(r.Changes, Change{Sender: e == from, Transition: t})
		}
	}

	// The sender.
	var g Forgery
	forged := f.Has(wire.RST) && c.forged(from, to, in, &g)
	switch {
	case forged:
		// It did not send this RST: it stays where it was, and still
		// holds the connection.
		from.SentRST = true
		from.RSTFrame = in.Frame
		if from.Forged == nil {
			from.Forged = new(Forgery)
			*from.Forged = g
		}
		r.Changes = append(r.Changes, Change{Sender: true, Transition: Transition{State: from.State, From: from.State,
			Frame: in.Frame, Time: in.Time, Reason: forgedReason(&g)}})
	case f.Has(wire.RST):
		from.SentRST = true
		from.RSTFrame = in.Frame
		switch {
		case from.State == Unknown:
			change(from, true, Closed, in, because(reasonRSTNoConnection), false, r)
		case from.State == SynReceived && !from.SentSYN:
			// It was assumed listening when the SYN arrived; the RST says no.
			change(from, true, Closed, in, because(reasonRefusedSYN), true, r)
		case from.State == Established && !f.Has(wire.ACK) && to.synACKFrame != 0 && from.synACKFrame == 0 && !from.ackedSYNACK:
			// A socket that aborts sends RST with ACK; an RST without
			// ACK, seq taken from the segment's ACK, is what a host
			// sends for a segment no socket owns (RFC 9293 3.10.7.1).
			// So the SYN-ACK that was taken to establish the client
			// found no socket: it had given up on the connection before.
			change(from, true, Closed, in, withNum(reasonRSTToSYNACK, s.Seq), true, r)
		case from.State == Established && !f.Has(wire.ACK) && s.Seq == to.RcvNxt && to.SndNxt.Greater(from.RcvNxt):
			// The same form answering data it never acknowledged: it
			// had no socket, so whatever ended the connection at its
			// end (its own RST, a restart) never showed in the capture.
			change(from, true, Closed, in, withNum(reasonRSTWithoutSocket, s.Seq), true, r)
		case from.State != Closed:
			change(from, true, Closed, in, rstSent(from.State), false, r)
		}
	case f.Has(wire.SYN) && !f.Has(wire.ACK):
		switch from.State {
		case Unknown, Closed:
			change(from, true, SynSent, in, synSent(&from.Handshake, s.Seq), false, r)
		case SynReceived:
			if from.Handshake.Frame == in.Frame {
				// It was assumed listening when the peer's SYN went by. A
				// listener answers a SYN with SYN-ACK; a bare SYN of its
				// own is an active open, sent before the peer's SYN
				// arrived: the two SYNs crossed (RFC 9293 figure 7), and
				// the peer's arrives now at the earliest.
				change(from, true, SynSent, in, withFrame(reasonSYNsCrossed, s.Seq, to.Handshake.Frame), true, r)
				change(from, true, SynReceived, in, ofFrame(reasonSimultaneousOpen, to.Handshake.Frame), false, r)
			}
		case Established:
			if from.Handshake.Frame != in.Frame && !from.ackedSYNACK {
				// It sends its SYN again after a SYN-ACK was seen on its
				// way: that SYN-ACK did not reach it.
				change(from, true, SynSent, in, because(reasonSYNAgain), true, r)
			}
		}
	case f.Has(wire.SYN | wire.ACK):
		first := from.synACKFrame
		if first == 0 {
			from.synACKFrame = in.Frame
		}
		switch from.State {
		case Established:
			if first != 0 && !from.SentFIN && !r.Analysis.Has(event.ReusedPorts) {
				// Linux resends a SYN-ACK only from SYN_RECV, on its
				// timer: the ACK that seemed to complete the handshake
				// never reached it. (A SYN-ACK with a new ISN is
				// another connection's, not a resend.)
				change(from, true, SynReceived, in, synACKAgain(first, c.HandshakeAck), true, r)
			}
		case Unknown, Closed, Listen:
			if from.State == Unknown {
				change(from, true, Listen, in, because(reasonWasListening), false, r)
			}
			change(from, true, SynReceived, in, synAckSent(&from.Handshake, &to.Handshake, s.Seq, s.Ack, to.ISS), false, r)
		case SynSent:
			// Simultaneous open (RFC 9293 figure 7): SYN-ACK from SYN-SENT.
			change(from, true, SynReceived, in, because(reasonSimultaneousSYNACK), false, r)
		}
	default:
		if from.State == Closed {
			c.rstLost(from, to, in, r)
		}
		if from.State == Unknown {
			from.MidStream = true
			st := Established
			if f.Has(wire.FIN) {
				st = FinWait1
			}
			change(from, true, Established, in, because(reasonMidStreamSends), false, r)
			if st != Established {
				change(from, true, st, in, because(reasonMidStreamFIN), false, r)
			}
			break
		}
		if f.Has(wire.FIN) && from.FINFrame == in.Frame {
			if from.State == CloseWait && f.Has(wire.ACK) && to.SentFIN && !s.Ack.Greater(to.FINSeq) {
				c.finsCrossed(from, to, in, r)
				break
			}
			switch from.State {
			case Established, SynReceived:
				change(from, true, FinWait1, in, finSent(from), false, r)
			case CloseWait:
				change(from, true, LastAck, in, withNum(reasonFINSentLast, from.FINSeq), false, r)
			}
		}
	}

	if !f.Has(wire.RST) {
		from.ownPacket(in)
	}

	// The receiver, on arrival.
	switch {
	case f.Has(wire.RST):
		n := len(r.Changes)
		c.receiveRST(from, to, in, r)
		if forged && len(r.Changes) > n {
			// It is reset by an RST its peer never sent: the peer still
			// holds the connection, which is now half-open.
			why := Reason{kind: reasonForgedRSTArrived, a: uint32(s.Seq), state: from.State}
			r.Changes[n].Reason = why
			to.History[len(to.History)-1].Reason = why
		}
	case f.Has(wire.SYN) && !f.Has(wire.ACK):
		switch to.State {
		case Unknown:
			change(to, false, Listen, in, because(reasonAssumedListening), false, r)
			fallthrough
		case Listen:
			change(to, false, SynReceived, in, synArrived(&from.Handshake, s.Seq, false), false, r)
		case SynReceived:
			if from.Handshake.Frame != in.Frame && !to.SentSYN {
				// The SYN came again and no SYN-ACK was seen: the
				// previous one did not arrive.
				prev := to.History[len(to.History)-1].Frame
				change(to, false, Listen, in, ofFrame(reasonSYNLost, prev), true, r)
				change(to, false, SynReceived, in, synArrived(&from.Handshake, s.Seq, true), false, r)
			}
		case SynSent:
			change(to, false, SynReceived, in, because(reasonSimultaneousSYN), false, r)
		}
	case f.Has(wire.SYN | wire.ACK):
		switch to.State {
		case SynSent:
			if s.Ack == to.ISS+1 || (to.Handshake.Data > 0 && s.Ack.InWindow(to.ISS+1, uint32(to.Handshake.Data)+1)) {
				change(to, false, Established, in, synAckArrived(&to.Handshake, &from.Handshake, s.Ack, to.ISS), false, r)
			}
		case SynReceived:
			change(to, false, Established, in, because(reasonSimultaneousSYNACKArrived), false, r)
		case Established:
			if c.synAckAgain(from, to, in) {
				change(to, false, SynSent, in, ofFrame(reasonSYNACKLost, from.Handshake.Frame), true, r)
				change(to, false, Established, in, because(reasonSYNACKAgainArrived), false, r)
			}
		}
	default:
		c.receive(from, to, in, r)
	}
}

// forged judges an RST from `from`'s address against its own packets in
// the connection (see Forgery), the why in g.
func (c *Conn) forged(from, to *Endpoint, in *Input, g *Forgery) bool {
	s := in.Seg
	*g = Forgery{Frame: in.Frame, TTL: s.TTL, OwnMin: from.ttlMin, OwnMax: from.ttlMax, OwnN: from.ttlN, Held: from.State}
	switch {
	case from.ttlN > 0 && (int(s.TTL) < int(from.ttlMin)-1 || int(s.TTL) > int(from.ttlMax)+1):
	case s.IPVersion == 4 && s.IPID != 0 && to.lastIPIDFrame != 0 && s.IPID == to.lastIPID &&
		(from.lastIPIDFrame == 0 || s.IPID-from.lastIPID >= 16):
		// Its own next IP ID, by chance the peer's, would be close to
		// its last one.
		g.OwnN, g.IPID, g.PeerFrame = 0, s.IPID, to.lastIPIDFrame
	default:
		return false
	}
	return true
}

// ownPacket notes the TTL and IP ID of a packet the endpoint sent.
func (e *Endpoint) ownPacket(in *Input) {
	s := in.Seg
	if e.ttlN == 0 {
		e.ttlMin, e.ttlMax = s.TTL, s.TTL
	}
	e.ttlMin, e.ttlMax = min(e.ttlMin, s.TTL), max(e.ttlMax, s.TTL)
	e.ttlN++
	if s.IPVersion == 4 && s.IPID != 0 {
		if e.lastIPIDFrame != 0 {
			e.ipidSteps++
			if s.IPID-e.lastIPID == 1 {
				e.ipidOnes++
			}
		}
		e.lastIPID, e.lastIPIDFrame = s.IPID, in.Frame
	}
}

// finsCrossed handles a FIN sent from CLOSE_WAIT whose ACK does not cover
// the peer's FIN: Linux acknowledges everything it has processed, so the
// peer's FIN had not reached it when it closed. The FINs crossed on the
// path (a simultaneous close, RFC 9293 3.6 case 2): it was in ESTABLISHED,
// its FIN takes it to FIN_WAIT1, and the peer's FIN arrives now at the
// earliest, in FIN_WAIT1: CLOSING.
func (c *Conn) finsCrossed(from, to *Endpoint, in *Input, r *Result) {
	before := Established
	for i := len(from.History) - 1; i >= 0; i-- {
		if t := from.History[i]; t.State == CloseWait && t.Frame == to.FINFrame {
			before = t.From
			break
		}
	}
	change(from, true, before, in, Reason{kind: reasonFINsCrossed, a: uint32(in.Seg.Ack), n: uint64(to.FINFrame), state: before}, true, r)
	change(from, true, FinWait1, in, finSent(from), false, r)
	change(from, true, Closing, in, ofFrame(reasonSimultaneousClose, to.FINFrame), false, r)
}

// rstLost handles a segment sent by an endpoint taken to be closed by the
// peer's RST. A reset socket is gone and sends nothing more (its host
// answers what still comes with RST alone), so the RST did not reach it,
// or did not reset it: it is where it was before.
func (c *Conn) rstLost(from, to *Endpoint, in *Input, r *Result) {
	n := len(from.History)
	if n == 0 || !to.SentRST {
		return
	}
	t := from.History[n-1]
	if t.State != Closed || t.Correction || t.Frame != to.RSTFrame || t.From == Unknown {
		return
	}
	change(from, true, t.From, in, Reason{kind: reasonRSTLost, n: uint64(t.Frame), state: t.From}, true, r)
}

// synAckAgain reports whether a repeated SYN-ACK shows the first did not
// reach the client: nothing the client sent since acknowledged it.
func (c *Conn) synAckAgain(server, client *Endpoint, in *Input) bool {
	return server.Handshake.Frame != in.Frame && client.RcvNxt != server.ISS+1
}

// receiveRST applies RFC 9293 3.10.7 with RFC 5961 as Linux does: an RST
// in SYN_SENT must acknowledge the SYN; in other states it resets only if
// its sequence number is exactly RCV.NXT, and an in-window one draws a
// challenge ACK.
func (c *Conn) receiveRST(from, to *Endpoint, in *Input, r *Result) {
	s := in.Seg
	switch to.State {
	case Unknown, Closed:
		return
	case Listen:
		return // a listener ignores an RST
	case SynSent:
		if s.Flags.Has(wire.ACK) && s.Ack == to.SndNxt {
			change(to, false, Closed, in, because(reasonRefused), false, r)
		}
		return
	case SynReceived:
		change(to, false, Closed, in, because(reasonRSTInSynReceived), false, r)
		return
	case TimeWait:
		change(to, false, Closed, in, because(reasonRSTInTimeWait), false, r)
		return
	}
	exact := s.Seq == to.RcvNxt || to.RcvNxt == 0 || s.Seq == from.SndNxt
	if !exact {
		// Where the capture missed some of the peer's data, RCV.NXT is
		// uncertain; the sender's own next sequence number is what it
		// believes the receiver expects.
		prev := from.SndNxt - seq.Num(s.PayloadLen)
		exact = s.Seq == prev
	}
	if exact {
		if n := len(from.History); !s.Flags.Has(wire.ACK) && from.State == Closed && n > 0 && from.History[n-1].Frame != in.Frame {
			change(to, false, Closed, in, withFrame(reasonRSTFromClosed, s.Seq, from.History[n-1].Frame), false, r)
			return
		}
		change(to, false, Closed, in, withNum(reasonRSTExact, s.Seq), false, r)
		return
	}
	if s.Seq.InWindow(to.RcvNxt, max(to.RcvWnd, 1)) {
		to.challenge = in.Frame
		return
	}
}

// receive moves the receiver on a segment without SYN or RST.
func (c *Conn) receive(from, to *Endpoint, in *Input, r *Result) {
	s := in.Seg
	f := s.Flags
	acksFIN := f.Has(wire.ACK) && to.SentFIN && s.Ack.Greater(to.FINSeq)
	acksSYN := f.Has(wire.ACK) && to.SentSYN && s.Ack.Greater(to.ISS)
	if to.State == Unknown {
		to.MidStream = true
		change(to, false, Established, in, because(reasonMidStreamReceives), false, r)
	}
	switch to.State {
	case SynReceived:
		if acksSYN {
			if c.HandshakeAck == 0 {
				c.HandshakeAck, c.HandshakeAckTime = in.Frame, in.Time
			}
			if to.synACKFrame != 0 && to.synACKFrame == to.Handshake.Frame && to.Retrans.SYNACK == 0 && in.Time.Sub(to.Handshake.Time) >= SYNACKTimer {
				// No SYN_RECV socket waits this long without resending
				// its SYN-ACK: there was none, only a cookie.
				change(to, false, Listen, in, Reason{kind: reasonSYNCookieSent, n: uint64(to.synACKFrame)}, true, r)
				change(to, false, SynReceived, in, withNum(reasonSYNCookieChecked, s.Ack), false, r)
			}
			change(to, false, Established, in, handshakeAcked(s.Ack, from), false, r)
		}
	case SynSent:
		// An ACK without SYN in SYN_SENT is not acceptable: RST expected.
		return
	case FinWait1:
		if acksFIN {
			if f.Has(wire.FIN) {
				// RFC 9293 3.10.7.4, as Linux runs it: the ACK is
				// processed first (FIN_WAIT2), then the FIN; a poll of
				// the kernel's socket table can catch the moment between.
				change(to, false, FinWait2, in, withNum(reasonFINAckedWithFIN, s.Ack), false, r)
				change(to, false, TimeWait, in, withNum(reasonTimeWaitWithACK, from.FINSeq), false, r)
				return
			}
			change(to, false, FinWait2, in, withNum(reasonFINAcked, s.Ack), false, r)
		} else if f.Has(wire.FIN) {
			change(to, false, Closing, in, because(reasonFINBeforeACK), false, r)
			return
		}
	case Closing:
		if acksFIN {
			change(to, false, TimeWait, in, withNum(reasonTimeWaitFromClosing, s.Ack), false, r)
		}
		return
	case LastAck:
		if acksFIN {
			change(to, false, Closed, in, because(reasonLastACK), false, r)
		}
		return
	case TimeWait:
		return
	}
	if f.Has(wire.FIN) {
		switch to.State {
		case Established, SynReceived:
			change(to, false, CloseWait, in, withNum(reasonCloseWait, from.FINSeq), false, r)
		case FinWait2:
			change(to, false, TimeWait, in, withNum(reasonTimeWaitFromFinWait2, from.FINSeq), false, r)
		}
	}
}
