// Package event names what tcplens can say about a segment: the analysis
// kinds (Wireshark's names where Wireshark has the notion, tcplens's own
// beyond), each with a one-line explanation. The names are API: JSON
// output and golden files use them, so they never change.
package event

import "math/bits"

// Kind is one analysis finding about a segment.
type Kind uint8

// The kinds. The first block carries tshark's tcp.analysis names and, by
// default, tshark's conditions; the comments say where tcplens decides
// differently and why.
const (
	Invalid Kind = iota

	Retransmission         // data or SYN/FIN below the highest sequence number seen in its direction
	FastRetransmission     // a retransmission answering duplicate ACKs or SACK evidence, within the sender's RTO
	SpuriousRetransmission // retransmits data the receiver had already acknowledged
	OutOfOrder             // below the highest sequence number seen, sooner than a retransmission could be
	LostSegment            // tshark's "previous segment not captured": a hole before this segment
	AckLostSegment         // tshark's "ACKed unseen segment": acknowledges data the capture never saw
	DuplicateAck           // repeats the previous ACK: same ack, window, no data
	ZeroWindow             // advertises a window of zero: the receiver's buffer is full
	ZeroWindowProbe        // probes a zero window (1-byte at SND.NXT, or Linux's persist probe at SND.UNA-1)
	ZeroWindowProbeAck     // answers a zero-window probe, window still zero
	WindowUpdate           // a pure ACK that only changes the window
	WindowFull             // fills the receiver's advertised window exactly
	KeepAlive              // a keep-alive: 0 or 1 byte at SND.UNA-1 while the peer's window is open
	KeepAliveAck           // answers a keep-alive
	ReusedPorts            // a new SYN on a 4-tuple that was in use
	RTORetransmission      // a retransmission after a timeout: no duplicate ACKs or SACKs prompted it
	TailLossProbe          // Linux TLP: the last segment resent about 2 SRTT after it, without dup ACKs
	SYNRetransmission      // the SYN again: no SYN-ACK came within the SYN timeout
	SYNACKRetransmission   // the SYN-ACK again: no final ACK reached the server
	FINRetransmission      // the FIN again: it was not acknowledged in time
	DSACK                  // a duplicate SACK (RFC 2883): the receiver got some data twice
	PAWSReject             // TSval older than the receiver's TS.Recent: RFC 7323 PAWS drops it
	BadChecksum            // the TCP checksum is wrong (and it is not the capturing host's offload)
	ChallengeACK           // an ACK the receiver sends after an RST or SYN it will not act on (RFC 5961)
	OutOfWindow            // outside the receiver's window: acknowledged and dropped
	WindowScaleInferred    // the window scale of a mid-stream connection was inferred, not seen
	Malformed              // the TCP header could not be decoded whole
	DuplicateFrame         // the same packet captured again (a capture on "any", a mirror port): not a retransmission

	numKinds
)

var names = [numKinds]string{
	Retransmission:         "retransmission",
	FastRetransmission:     "fast_retransmission",
	SpuriousRetransmission: "spurious_retransmission",
	OutOfOrder:             "out_of_order",
	LostSegment:            "lost_segment",
	AckLostSegment:         "ack_lost_segment",
	DuplicateAck:           "duplicate_ack",
	ZeroWindow:             "zero_window",
	ZeroWindowProbe:        "zero_window_probe",
	ZeroWindowProbeAck:     "zero_window_probe_ack",
	WindowUpdate:           "window_update",
	WindowFull:             "window_full",
	KeepAlive:              "keep_alive",
	KeepAliveAck:           "keep_alive_ack",
	ReusedPorts:            "reused_ports",
	RTORetransmission:      "rto_retransmission",
	TailLossProbe:          "tail_loss_probe",
	SYNRetransmission:      "syn_retransmission",
	SYNACKRetransmission:   "synack_retransmission",
	FINRetransmission:      "fin_retransmission",
	DSACK:                  "dsack",
	PAWSReject:             "paws_reject",
	BadChecksum:            "bad_checksum",
	ChallengeACK:           "challenge_ack",
	OutOfWindow:            "out_of_window",
	WindowScaleInferred:    "window_scale_inferred",
	Malformed:              "malformed",
	DuplicateFrame:         "duplicate_frame",
}

var explanations = [numKinds]string{
	Retransmission:         "carries data (or a SYN or FIN) that was already sent",
	FastRetransmission:     "resent in answer to duplicate ACKs or SACKs, before the retransmission timer fired",
	SpuriousRetransmission: "resends data the receiver had already acknowledged",
	OutOfOrder:             "arrived below the highest sequence number seen, too soon to be a retransmission",
	LostSegment:            "a segment before this one was not captured",
	AckLostSegment:         "acknowledges data the capture never saw",
	DuplicateAck:           "repeats the previous acknowledgment: the receiver is missing data",
	ZeroWindow:             "the receiver's buffer is full: the sender must stop",
	ZeroWindowProbe:        "asks whether a zero window has opened",
	ZeroWindowProbeAck:     "answers a zero-window probe: the window is still zero",
	WindowUpdate:           "only announces a new window",
	WindowFull:             "fills the receiver's advertised window",
	KeepAlive:              "checks that an idle peer is still there",
	KeepAliveAck:           "answers a keep-alive",
	ReusedPorts:            "a new connection on a 4-tuple that was in use",
	RTORetransmission:      "resent after the retransmission timer fired: nothing told the sender sooner",
	TailLossProbe:          "Linux's tail loss probe: the last segment resent to draw an ACK",
	SYNRetransmission:      "the SYN again: no SYN-ACK came back in time",
	SYNACKRetransmission:   "the SYN-ACK again: the final ACK did not reach the server",
	FINRetransmission:      "the FIN again: it was not acknowledged in time",
	DSACK:                  "reports data received twice (RFC 2883)",
	PAWSReject:             "older than the last timestamp the receiver saw: PAWS drops it (RFC 7323)",
	BadChecksum:            "the checksum is wrong: the receiver drops it",
	ChallengeACK:           "an ACK answering an RST or SYN the receiver will not act on (RFC 5961)",
	OutOfWindow:            "outside the receiver's window: acknowledged and dropped",
	WindowScaleInferred:    "the window scale was inferred from the bytes in flight: the handshake was not captured",
	Malformed:              "the TCP header could not be decoded",
	DuplicateFrame:         "the same packet captured a second time (same IP ID, header and checksum): not a retransmission",
}

// String is the stable snake_case name.
func (k Kind) String() string {
	if k < numKinds && names[k] != "" {
		return names[k]
	}
	return "invalid"
}

// Explain says in words what the kind means.
func (k Kind) Explain() string {
	if k < numKinds {
		return explanations[k]
	}
	return ""
}

// Parse returns the kind with the given name.
func Parse(name string) (Kind, bool) {
	for k := Kind(1); k < numKinds; k++ {
		if names[k] == name {
			return k, true
		}
	}
	return Invalid, false
}

// Set is a set of kinds, one bit each.
type Set uint32

// Add puts k in the set.
func (s *Set) Add(k Kind) { *s |= 1 << k }

// Remove takes k out of the set.
func (s *Set) Remove(k Kind) { *s &^= 1 << k }

// Has reports whether k is in the set.
func (s Set) Has(k Kind) bool { return s&(1<<k) != 0 }

// Empty reports whether the set has no kind.
func (s Set) Empty() bool { return s == 0 }

// Kinds lists the kinds in the set in the order of the constants, which is
// the order output shows them in.
func (s Set) Kinds() []Kind {
	out := make([]Kind, 0, bits.OnesCount32(uint32(s)))
	for v := uint32(s); v != 0; v &= v - 1 {
		out = append(out, Kind(bits.TrailingZeros32(v)))
	}
	return out
}

// AppendNames appends the names of the kinds, separated by sep.
func (s Set) AppendNames(b []byte, sep string) []byte {
	first := true
	for v := uint32(s); v != 0; v &= v - 1 {
		if !first {
			b = append(b, sep...)
		}
		first = false
		b = append(b, names[bits.TrailingZeros32(v)]...)
	}
	return b
}
