package tcp

import (
	"time"

	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// Checksum is what the capture says of a segment's checksum.
type Checksum uint8

const (
	ChecksumUnverified Checksum = iota // not all of the segment was captured
	ChecksumGood
	ChecksumBad
)

// Input is one segment handed to Conn.Step.
type Input struct {
	Seg      *wire.Segment
	Frame    int
	Time     pcap.Time
	Checksum Checksum
	// Offload says the sender is the capturing host and its checksums are
	// left to the NIC (checksum offload): a bad checksum is then expected.
	Offload bool
}

// Change is a state transition a segment caused.
type Change struct {
	Sender bool // the sender's transition, else the receiver's
	Transition
}

// Result is what one segment meant.
type Result struct {
	Analysis event.Set

	DupAckNum   int // the n-th duplicate of the ACK of DupAckFrame
	DupAckFrame int

	RetransFrame int           // the original transmission this retransmits
	RetransDelay time.Duration // time since it
	Attempt      int           // which sending this is: 2 for the first retransmission
	SincePrev    time.Duration // time since the previous sending of the same bytes
	RTO          time.Duration // the sender's retransmission timeout estimate then
	SRTT         time.Duration // the sender's smoothed RTT then

	// SentBefore is why a segment tshark's rules take for a
	// retransmission is out of order instead: its sender's clock says it
	// sent it before a segment above it that the capture saw first.
	SentBefore Order
	// Undid is the retransmission a D-SACK of this segment shows was not
	// needed (the data had arrived), UndidKind the kind it was counted
	// as; the count moved to the spurious ones.
	Undid     int
	UndidKind event.Kind

	AckRTT     time.Duration // tshark's ack RTT: since the segment this ACK acknowledges
	AckedFrame int
	RTTSample  time.Duration // the sample this ACK gave the peer's estimator (Karn's rule, TS echo)

	BytesInFlight int64 // tshark's bytes in flight after this segment; -1 if none
	InitialRTT    time.Duration

	RelSeq, RelAck uint32 // Wireshark's relative numbers
	WindowScaled   int64  // window after scaling; -1 if the scale is unknown
	Changes        []Change

	ackedSent  int    // how many times the segment AckedFrame names was sent
	ackedTSVal uint32 // its TSval
}

func (r *Result) reset() {
	changes := r.Changes[:0]
	*r = Result{BytesInFlight: -1, WindowScaled: -1, Changes: changes}
}

// Conn is the analysis state of one connection: its two endpoints, indexed
// by the direction of the segments they send.
type Conn struct {
	Ends [2]Endpoint

	// InitialRTT is tshark's tcp.analysis.initial_rtt: from the most recent
	// SYN to the first pure ACK.
	InitialRTT time.Duration
	// SYNTime and SYNACKTime are when the handshake's SYN and SYN-ACK were
	// last seen, FirstSYNTime when the first SYN was; HandshakeAck is the
	// frame of the ACK that completed the handshake.
	SYNTime, SYNACKTime pcap.Time
	FirstSYNTime        pcap.Time
	HandshakeAck        int
	HandshakeAckTime    pcap.Time

	lastSYN pcap.Time // tshark's ts_mru_syn
}

// NewConn returns a connection between a and b, neither seen yet.
func NewConn(a, b Endpoint) *Conn {
	return &Conn{Ends: [2]Endpoint{a, b}}
}

// Step analyses one segment sent by Ends[dir] to Ends[1-dir]: it updates
// both endpoints and fills r, whose Changes slice is reused.
func (c *Conn) Step(dir int, in *Input, r *Result) {
	r.reset()
	from, to := &c.Ends[dir], &c.Ends[1-dir]
	s := in.Seg
	// The same packet captured twice is not a second packet: nothing
	// changes, so that it does not pass for a retransmission or a
	// duplicate ACK.
	sig := signatureOf(s)
	gap := maxDuplicateGap
	if sig.ipid == 0 {
		// Without an IP ID (IPv6, or a stack that sends 0 with DF) two
		// duplicate ACKs sent within the same millisecond look alike;
		// only copies microseconds apart are taken for one packet.
		gap = maxDuplicateGapNoID
	}
	if from.Packets > 0 && sig == from.lastSig && in.Time.Sub(from.lastSigTime) <= gap {
		r.Analysis.Add(event.DuplicateFrame)
		from.Duplicates++
		r.fill(c, from, to, s)
		return
	}
	from.lastSig, from.lastSigTime = sig, in.Time
	from.Packets++
	from.PayloadBytes += uint64(s.PayloadLen)
	from.LastSeen = in.Time
	to.LastSeen = max(to.LastSeen, 0)

	// tshark's handling of a SYN on a known 4-tuple: the same ISN is a
	// retransmission (its nextseq is restored, RFC 793 3.4 lets an RST
	// carry the SYN's number); a SYN-ACK with a new ISN marks reused ports.
	if f := s.Flags; from.flow.baseSet && f.Has(wire.SYN) {
		if !f.Has(wire.ACK) && s.Seq == from.flow.baseSeq {
			from.flow.nextSeq = from.flow.maxSeqToAck
		} else if f.Has(wire.ACK) && s.Seq != from.flow.baseSeq {
			from.flow.baseSeq = s.Seq
			r.Analysis.Add(event.ReusedPorts)
		}
	}
	c.tsharkBase(from, to, s)
	c.tsharkAnalyze(from, to, in, r)
	c.tsharkAfter(from, to, in)

	c.handshake(from, to, in)
	c.advance(from, to, in, r)
	c.machine(from, to, in, r)
	c.overlay(from, to, in, r)

	r.fill(c, from, to, s)
	// The next segment the other way asks only these of it; the rest
	// (bad_checksum above all, which the pipeline leaves unverified) is
	// the segment's own.
	from.flow.lastFlags = r.Analysis & (1<<event.KeepAlive | 1<<event.ZeroWindowProbe)
}

// fill sets the numbers every result carries.
func (r *Result) fill(c *Conn, from, to *Endpoint, s *wire.Segment) {
	r.RelSeq = uint32(s.Seq - from.flow.baseSeq)
	if s.Flags.Has(wire.ACK) {
		r.RelAck = uint32(s.Ack - to.flow.baseSeq)
	}
	if w, ok := from.ScaledWindow(s.Window, s.Flags.Has(wire.SYN)); ok {
		r.WindowScaled = int64(w)
	}
	r.InitialRTT = c.InitialRTT
}

// signature is what makes a packet the same packet: everything a sender
// changes between two transmissions, the IPv4 identification and the
// timestamp above all, and the checksum over the rest.
type signature struct {
	seq, ack, tsval uint32
	len             uint32
	ipid            uint16
	flags           wire.Flags
	window          uint16
	checksum        uint16
}

// maxDuplicateGap bounds the time between two captures of one packet: a
// capture on "any" or a mirror port sees the copy within microseconds.
const (
	maxDuplicateGap     = 10 * time.Millisecond
	maxDuplicateGapNoID = 20 * time.Microsecond
)

func signatureOf(s *wire.Segment) signature {
	sig := signature{ipid: s.IPID, seq: uint32(s.Seq), ack: uint32(s.Ack), flags: s.Flags,
		len: uint32(s.PayloadLen), window: s.Window, tsval: s.Options.TSVal}
	if s.TCP != nil {
		sig.checksum = s.TCP.Checksum()
	}
	return sig
}

// seglen is the sequence space the payload takes: tshark's th_seglen.
func seglen(s *wire.Segment) uint32 { return uint32(s.PayloadLen) }

// tsharkBase sets the relative-numbering bases as Wireshark does: the ISN
// from a SYN, else the first sequence number less one; the peer's from
// the first ACK seen, less one.
func (c *Conn) tsharkBase(from, to *Endpoint, s *wire.Segment) {
	if !from.flow.baseSet {
		if s.Flags.Has(wire.SYN) {
			from.flow.baseSeq = s.Seq
		} else {
			from.flow.baseSeq = s.Seq - 1
		}
		from.flow.baseSet = true
	}
	if !to.flow.baseSet && s.Flags.Has(wire.ACK) {
		to.flow.baseSeq = s.Ack - 1
		to.flow.baseSet = true
	}
}

// tsharkAfter does what tshark does after its sequence analysis: the SYN
// bookkeeping for the initial RTT, and the window scale of SYNs.
func (c *Conn) tsharkAfter(from, to *Endpoint, in *Input) {
	s := in.Seg
	f := s.Flags
	if f.Has(wire.SYN) {
		if !f.Has(wire.ACK) {
			c.lastSYN = in.Time
		}
		from.flow.isFirstAck = true
	}
	if f&(wire.SYN|wire.ACK) == wire.ACK {
		if c.lastSYN != 0 && c.InitialRTT == 0 {
			c.InitialRTT = in.Time.Sub(c.lastSYN)
		}
		from.flow.isFirstAck = false
	}
	// Options: the SACK blocks (for bytes in flight) and the window scale.
	from.flow.numSack = 0
	for i, b := range s.Options.SACKBlocks() {
		if i >= len(from.flow.sack) {
			break
		}
		from.flow.sack[i] = b
		from.flow.numSack = i + 1
	}
	if s.Options.Has(wire.HasWindowScale) {
		from.flow.winScale = int8(min(s.Options.WindowScale, 14))
	}
	if f.Has(wire.SYN) {
		// verify_tcp_window_scaling: scaling only if both SYNs carry it.
		if from.flow.winScale == -1 {
			from.flow.winScale, to.flow.winScale = -2, -2
		} else if f.Has(wire.ACK) && to.flow.winScale == -2 {
			from.flow.winScale = -2
		}
	}
}

// tsharkAnalyze is tshark 4.0's tcp_analyze_sequence_number, condition for
// condition, on raw sequence numbers and raw windows as tshark runs it.
// The comments are tshark's reasons, shortened.
func (c *Conn) tsharkAnalyze(from, to *Endpoint, in *Input, r *Result) {
	s := in.Seg
	fwd, rev := &from.flow, &to.flow
	sq, ack := s.Seq, s.Ack // tshark reads the ACK field whatever the flag says
	slen := seglen(s)
	flags := s.Flags
	window := uint32(s.Window)
	a := &r.Analysis

	if flags.Has(wire.ACK) {
		rev.validBIF = true
	}

	// ZERO WINDOW PROBE: the next expected byte, alone, into a zero window.
	if slen == 1 && sq == fwd.nextSeq && rev.window == 0 {
		a.Add(event.ZeroWindowProbe)
		goto finishedFwd
	}
	// ZERO WINDOW: window 0 on anything but SYN, FIN, RST.
	if window == 0 && !flags.Any(wire.RST|wire.FIN|wire.SYN) {
		a.Add(event.ZeroWindow)
	}
	// LOST PACKET: beyond the highest nextseq seen: a segment before it
	// was not captured. RSTs are not checked.
	if fwd.nextSeq != 0 && sq.Greater(fwd.nextSeq) && !flags.Has(wire.RST) {
		a.Add(event.LostSegment)
		fwd.validBIF = false
		if slen == 0 && !flags.Any(wire.SYN|wire.FIN) {
			fwd.noteAhead(s, in.Frame, in.Time)
		}
	}
	// KEEP ALIVE: 0 or 1 byte starting one before the next expected byte.
	if (slen == 0 || slen == 1) && sq == fwd.nextSeq-1 && !flags.Any(wire.SYN|wire.FIN|wire.RST) {
		a.Add(event.KeepAlive)
	}
	// WINDOW UPDATE: a pure ACK repeating seq and ack with a new window.
	if slen == 0 && window != 0 && window != fwd.window && sq == fwd.nextSeq && ack == fwd.lastAck &&
		!flags.Any(wire.SYN|wire.FIN|wire.RST) {
		a.Add(event.WindowUpdate)
	}
	// WINDOW FULL: data that reaches the edge of the peer's window.
	if slen > 0 && rev.winScale != -1 && !flags.Any(wire.SYN|wire.FIN|wire.RST) {
		shift := uint(0)
		if !rev.isFirstAck && rev.winScale != -2 {
			shift = uint(rev.winScale)
		}
		if sq.Add(slen) == rev.lastAck.Add(rev.window<<shift) {
			a.Add(event.WindowFull)
		}
	}
	// KEEP ALIVE ACK: repeats the previous ACK after a keep-alive.
	if slen == 0 && window != 0 && window == fwd.window && sq == fwd.nextSeq && ack == fwd.lastAck &&
		rev.lastFlags.Has(event.KeepAlive) && !flags.Any(wire.SYN|wire.FIN|wire.RST) {
		a.Add(event.KeepAliveAck)
		goto finishedFwd
	}
	// ZERO WINDOW PROBE ACK: repeats a zero window after a probe.
	if slen == 0 && window == 0 && window == fwd.window && sq == fwd.nextSeq && ack == fwd.lastAck &&
		rev.lastFlags.Has(event.ZeroWindowProbe) && !flags.Any(wire.SYN|wire.FIN|wire.RST) {
		a.Add(event.ZeroWindowProbeAck)
		goto finishedFwd
	}
	// DUPLICATE ACK: same window, seq and ack, no data.
	if slen == 0 && window != 0 && window == fwd.window && sq == fwd.nextSeq && ack == fwd.lastAck &&
		!flags.Any(wire.SYN|wire.FIN|wire.RST) {
		if fwd.dupAckNum == -1 {
			fwd.dupAckNum = 1 // neutralise an "ACKed unseen segment"
		} else {
			fwd.dupAckNum++
		}
		a.Add(event.DuplicateAck)
		r.DupAckNum = fwd.dupAckNum
		r.DupAckFrame = fwd.lastNonDup
	}

finishedFwd:
	if ack != fwd.lastAck {
		fwd.lastNonDup = in.Frame
		fwd.dupAckNum = 0
	}

	// ACKED LOST PACKET: acknowledges beyond what the other direction
	// was seen to send.
	if rev.maxSeqToAck != 0 && ack.Greater(rev.maxSeqToAck) && flags.Has(wire.ACK) {
		if rev.maxSeqToAck.Less(rev.nextSeq) {
			rev.maxSeqToAck = rev.nextSeq
			a.Add(event.AckLostSegment)
		} else {
			if rev.dupAckNum == 0 {
				a.Add(event.AckLostSegment)
			}
			rev.dupAckNum = -1
		}
	}

	// RETRANSMISSION / FAST RETRANSMISSION / OUT-OF-ORDER: data (or SYN,
	// FIN) that does not advance the sequence number.
	if slen > 0 || flags.Any(wire.SYN|wire.FIN) {
		seqNotAdvanced := fwd.nextSeq != 0 && sq.Less(fwd.nextSeq)
		if a.Has(event.KeepAlive) {
			goto finishedRetrans
		}
		// One byte less than nextseq with more than a byte of data: new
		// data after a zero-window probe, not a retransmission.
		if slen > 1 && fwd.nextSeq-1 == sq {
			seqNotAdvanced = false
		}
		// SPURIOUS: everything in it was already acknowledged.
		if slen > 0 && rev.lastAck != 0 && sq.Add(slen).LessEq(rev.lastAck) {
			// tshark reports a spurious retransmission as a retransmission too.
			a.Add(event.SpuriousRetransmission)
			a.Add(event.Retransmission)
			goto finishedRetrans
		}
		// FAST RETRANSMISSION (tshark's precedence): two or more dup ACKs
		// asking for this sequence number, within 20 ms of the last.
		if seqNotAdvanced && rev.dupAckNum >= 2 && rev.lastAck == sq && in.Time.Sub(rev.lastAckTime) < 20*time.Millisecond {
			// Reported as a retransmission too.
			a.Add(event.FastRetransmission)
			a.Add(event.Retransmission)
			goto finishedRetrans
		}
		// OUT-OF-ORDER: soon after the highest segment, and not a repeat
		// of it.
		{
			thres := 3 * time.Millisecond
			if c.InitialRTT != 0 {
				thres = c.InitialRTT
			}
			end := sq.Add(slen)
			if flags.Any(wire.SYN | wire.FIN) {
				end++
			}
			if seqNotAdvanced && in.Time.Sub(fwd.nextSeqTime) < thres && fwd.nextSeq != end {
				a.Add(event.OutOfOrder)
				goto finishedRetrans
			}
		}
		if seqNotAdvanced {
			a.Add(event.Retransmission)
			r.RetransFrame = fwd.nextSeqFrm
			r.RetransDelay = in.Time.Sub(fwd.nextSeqTime)
			if live := fwd.live(); len(live) > 0 {
				// The eldest unacknowledged segment is the likely original.
				r.RetransFrame = live[0].frame
				r.RetransDelay = in.Time.Sub(live[0].time)
			}
		}
	}
finishedRetrans:

	nextseq := sq.Add(slen)
	if slen > 0 || flags.Any(wire.SYN|wire.FIN) {
		if flags.Any(wire.SYN | wire.FIN) {
			nextseq++
		}
		if fwd.count() < maxUnacked {
			fwd.push(unacked{seq: sq, next: nextseq, frame: in.Frame, time: in.Time, sent: 1, tsval: s.Options.TSVal, ipid: s.IPID, clock: clockOf(s)})
		}
	}
	// The highest nextseq, except from a zero-window probe.
	if nextseq.Greater(fwd.nextSeq) || fwd.nextSeq == 0 {
		if !a.Has(event.ZeroWindowProbe) {
			fwd.nextSeq = nextseq
			fwd.nextSeqFrm = in.Frame
			fwd.nextSeqTime = in.Time
		}
	}
	// The highest contiguous sequence number, for ACKED LOST PACKET.
	if sq == fwd.maxSeqToAck || fwd.maxSeqToAck == 0 {
		if !a.Has(event.ZeroWindowProbe) {
			fwd.maxSeqToAck = fwd.nextSeq
		}
	}
	fwd.window = window
	fwd.lastAck = ack
	fwd.lastAckTime = in.Time

	// Remove what this ACKs from the other direction's list; the ack RTT
	// is from the segment it acknowledges exactly.
	rev.ack(ack, in.Time, r)
	if rev.ahead.frame != 0 && flags.Has(wire.ACK) && !ack.Less(rev.ahead.seq) {
		rev.ahead = unacked{} // no original below it can come late any more
	}
	if to.SentFIN || to.SentRST {
		rev.release()
	}

	// BYTES IN FLIGHT, tshark's default payload-based way.
	if slen != 0 && fwd.count() > 0 && fwd.validBIF {
		first, last := fwd.span()
		inFlight := uint32(last - first)
		for i := range rev.numSack {
			inFlight -= rev.sack[i].Len()
		}
		if inFlight > 0 && inFlight < 2000000000 {
			r.BytesInFlight = int64(inFlight)
			if flags.Any(wire.SYN | wire.FIN) {
				r.BytesInFlight--
			}
		}
	}
}
