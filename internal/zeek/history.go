package zeek

import (
	"github.com/tcplens/tcplens/internal/wire"
)

// Zeek's conn.log summarises a connection in two fields, conn_state and
// history, computed from its own coarse endpoint states. History keeps a
// copy of that bookkeeping, following Zeek's TCPSessionAdapter::Process,
// TCP_Endpoint, TCP_Reassembler, ConnSize_Analyzer and conn/main.zeek
// step for step, so that every field means exactly what Zeek users know;
// testdata/zeek holds what Zeek itself logs for the captures, and tests
// compare.
//
// It reproduces Zeek as it reads a capture file in its usual setting:
// checksums ignored (zeek -C, as Zeek's own tests run it: a capture taken
// on a host with checksum offload would otherwise lose that host's every
// packet), so no 'C' letters; and reassembly on (Zeek's protocol
// detection asks for the contents of every TCP connection), so that
// acknowledged data the capture does not hold is a content gap, 'G', and
// counts in missed_bytes.

// zeekState is Zeek's TCP_ENDPOINT_* state.
type zeekState uint8

const (
	zInactive zeekState = iota
	zSynSent
	zSynAckSent
	zPartial
	zEstablished
	zClosed
	zReset
)

// Zeek's history masks, one bit per kind and direction.
const (
	histSYN     = 1 << 0
	histFIN     = 1 << 1
	histRST     = 1 << 2
	histFINRST  = 1 << 3
	histMulti   = 1 << 4
	histData    = 1 << 5
	histACK     = 1 << 6
	respHistory = 16 // the responder's bits sit 16 higher
)

// Zeek's defaults (init-bare.zeek) that decide when it gives up
// reassembling a direction, and so stops reporting its gaps.
const (
	zeekTooLargeSeqDelta            = 1 << 20 // TOO_LARGE_SEQ_DELTA
	zeekMaxInitialWindow            = 16384   // tcp_max_initial_window
	zeekMaxAboveHoleWithoutAnyAcks  = 16384   // tcp_max_above_hole_without_any_acks
	zeekExcessiveDataWithoutFurther = 10 << 20
)

// zeekEndpoint is Zeek's TCP_Endpoint: raw 32-bit sequence numbers with
// wrap counters, as Zeek keeps them.
type zeekEndpoint struct {
	state, prev               zeekState
	startSeq, lastSeq, ackSeq uint32
	seqWraps, ackWraps        uint32
	finCnt                    int
	finSeq                    uint64 // relative: one past the FIN
	lastSYN, lastFIN, lastRST uint64 // hist_last_*: relative
	rxmt, rxmtThresh          uint32
	zeroWin, zeroWinThresh    uint32
	gap, gapThresh            uint32
	seen                      bool // first_packet_seen for this side
	didClose, didEOF          bool // TCP_Endpoint's did_close, TCP_Reassembler's did_EOF
	reasm                     reassembler
}

// History is Zeek's bookkeeping of one TCP connection: both endpoints'
// coarse states, the history letters, the sizes and content gaps that
// conn.log reports, and when Zeek considers the connection closed. The
// zero value is a connection that has seen nothing yet, its first end
// the originator.
type History struct {
	letters []byte
	seen    uint32
	partial bool // TCPSessionAdapter's is_partial
	// ends are the two endpoints; ends[0] is the originator unless the
	// roles were flipped. Zeek swaps its orig and resp pointers when it
	// flips; the endpoints themselves stay put, so that a flip in the
	// middle of a segment leaves the segment's sender where it was.
	ends    [2]zeekEndpoint
	flipped bool
	// closeDeferred is TCPSessionAdapter's close_deferred: an end closed
	// while data of its was still to be delivered; deferredGenEvent is
	// its deferred_gen_event.
	closeDeferred, deferredGenEvent bool
	// finished is TCPSessionAdapter's is_active cleared: the connection
	// finished or was reset, and Zeek's attempt and expire timers no
	// longer act on it.
	finished bool
	// What ConnSize_Analyzer counts: packets and IP bytes by role.
	origPkts, origIPBytes, respPkts, respIPBytes uint64
	missed                                       uint64 // bytes in content gaps, as content_gap reports them
	events                                       Events // what the segment being stepped did
}

// Events are what one segment did to the connection that decides when
// Zeek lets go of it: Tracker arms Zeek's timers from them.
type Events uint8

const (
	// Processed: the segment reached the state machine (Zeek drops one
	// whose TCP header the capture cut).
	Processed Events = 1 << iota
	// Attempt: the originator's first SYN; Zeek arms its attempt timer.
	Attempt
	// Established: an endpoint left the handshake states while the other
	// was still in them; the inactivity timeout becomes TCP's.
	Established
	// CloseComplete: the close is complete (both ends closed, or one
	// reset, or the peer never spoke); Zeek deletes the connection
	// tcp_close_delay after its last time.
	CloseComplete
	// HalfClosed: one end closed; Zeek looks again tcp_session_timer
	// after the connection's last time.
	HalfClosed
	// Flipped: the roles were swapped (a SYN answered by a SYN seen after
	// it): the originator is now the other end.
	Flipped
)

// orig and resp are the endpoints in their current roles.
func (h *History) orig() *zeekEndpoint {
	if h.flipped {
		return &h.ends[1]
	}
	return &h.ends[0]
}

func (h *History) resp() *zeekEndpoint {
	if h.flipped {
		return &h.ends[0]
	}
	return &h.ends[1]
}

// isOrig says whether e is the originator now.
func (h *History) isOrig(e *zeekEndpoint) bool { return e == h.orig() }

func seqDelta(a, b uint32) int32 { return int32(a - b) }

func fullSeq(seq, wraps uint32) uint64 { return uint64(wraps)<<32 | uint64(seq) }

func (e *zeekEndpoint) initSeqs(start, last uint32) {
	e.startSeq, e.ackSeq, e.lastSeq = start, start, last
}

func (e *zeekEndpoint) updateLastSeq(s uint32) {
	if s < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = s
}

func (e *zeekEndpoint) updateAckSeq(s uint32) {
	if s < e.ackSeq {
		e.ackWraps++
	}
	e.ackSeq = s
}

// relative is Zeek's ToRelativeSeqSpace.
func (e *zeekEndpoint) relative(seq, wraps uint32) uint64 {
	return fullSeq(seq, wraps) - uint64(e.startSeq)
}

// relativeSeq is Zeek's get_relative_seq: seq relative to the start of
// e's sequence space, tracking wraps past 2^32 from last.
func (e *zeekEndpoint) relativeSeq(cur, last, wraps uint32) (rel uint64, underflow bool) {
	switch d := seqDelta(cur, last); {
	case d < 0:
		if wraps > 0 && cur > last {
			wraps-- // part of the previous 32-bit space
		}
	case d > 0:
		if cur < last {
			wraps++
		}
	}
	if wraps == 0 {
		d := seqDelta(cur, e.startSeq)
		return uint64(int64(d)), d < 0
	}
	return e.relative(cur, wraps), false
}

// noDataAcked is Zeek's NoDataAcked: the peer acknowledged nothing
// beyond the SYN.
func (e *zeekEndpoint) noDataAcked() bool {
	ack := fullSeq(e.ackSeq, e.ackWraps)
	return ack == uint64(e.startSeq) || ack == uint64(e.startSeq)+1
}

// size is Zeek's TCP_Endpoint::Size: payload bytes from sequence numbers,
// without the SYN and FIN.
func (e *zeekEndpoint) size(peer *zeekEndpoint) uint64 {
	if e.prev == zSynSent && e.state == zReset && peer.state == zInactive && !e.noDataAcked() {
		return 0 // a half-open connection discovered and aborted
	}
	last, ack := fullSeq(e.lastSeq, e.seqWraps), fullSeq(e.ackSeq, e.ackWraps)
	size := max(last, ack) - uint64(e.startSeq)
	if size != 0 {
		size--
	}
	if e.finCnt > 0 && size != 0 {
		size--
	}
	return size
}

func (h *History) add(c byte) { h.letters = append(h.letters, c) }

func letter(c byte, orig bool) byte {
	if orig {
		return c
	}
	return c + ('a' - 'A')
}

// check is Zeek's CheckHistory: it records the letter the first time
// and reports whether the kind was seen before.
func (h *History) check(mask uint32, c byte, orig bool) bool {
	if !orig {
		mask <<= respHistory
	}
	if h.seen&mask != 0 {
		return true
	}
	h.seen |= mask
	h.add(letter(c, orig))
	return false
}

// scaled is Zeek's ScaledHistoryEntry: the letter at the 1st, 10th,
// 100th … occurrence.
func (h *History) scaled(c byte, orig bool, counter, threshold *uint32) {
	if *threshold == 0 {
		*threshold = 1
	}
	*counter++
	if *counter != *threshold {
		return
	}
	h.add(letter(c, orig))
	if next := *threshold * 10; next > *threshold {
		*threshold = next
	} else {
		*counter = 0 // the threshold would wrap: Zeek starts counting again
	}
}

func (h *History) end(orig bool) (*zeekEndpoint, *zeekEndpoint) {
	if orig {
		return h.orig(), h.resp()
	}
	return h.resp(), h.orig()
}

// Flip swaps the roles, as Zeek's Connection::FlipRoles does, and records
// its "^": the originator is not the first packet's sender (or no longer
// the end it was).
func (h *History) Flip() {
	h.flipped = !h.flipped
	h.partial = false
	h.origPkts, h.respPkts = h.respPkts, h.origPkts
	h.origIPBytes, h.respIPBytes = h.respIPBytes, h.origIPBytes
	h.add('^')
}

// Step is Zeek's TCPSessionAdapter::Process for a segment from the
// originator (orig) or the responder, and ConnSize_Analyzer's count of
// it. It reports what the segment did that Zeek's timers depend on.
func (h *History) Step(s *wire.Segment, orig bool) Events {
	if len(s.TCP) < s.HeaderLen || s.HeaderLen < wire.TCPMinHeaderLen {
		return 0 // Zeek drops a segment whose header the capture cut ("truncated_header")
	}
	h.events = Processed
	e, peer := h.end(orig)
	f := s.Flags
	length := s.PayloadLen
	seq, ack := uint32(s.Seq), uint32(s.Ack)

	// SetPartialStatus: decided by each side's first packet.
	if !e.seen {
		if orig {
			h.partial = !f.Has(wire.SYN) || f.Has(wire.ACK)
		} else if !h.partial {
			h.partial = !f.Has(wire.SYN)
		}
	}

	segLen := uint32(length)
	if f.Has(wire.SYN) {
		segLen++
	}
	if f.Has(wire.FIN) {
		segLen++
	}
	if f.Has(wire.RST) {
		segLen -= uint32(length) // an RST's data is not part of the stream
	}
	onePast := seq + segLen
	e.initEndpoint(f, seq, onePast)

	rel, underflow := e.relativeSeq(seq, e.lastSeq, e.seqWraps)
	h.updateHistory(e, f, rel, uint64(length), orig)

	// update_window: zero windows, unless with or after a reset, or after
	// the peer's FIN.
	if s.Window == 0 && !f.Has(wire.RST) && peer.state != zClosed && e.state != zReset {
		h.scaled('W', orig, &e.zeroWin, &e.zeroWinThresh)
	}
	if f.Has(wire.FIN) {
		e.finCnt++
		e.finSeq = rel + uint64(segLen)
	}

	var relAck uint64
	if f.Has(wire.ACK) {
		if peer.state == zInactive {
			relAck = 1
			// init_peer: number the peer as though its SYN had been seen.
			peer.initSeqs(ack-1, ack-1)
		} else {
			r, under := peer.relativeSeq(ack, peer.ackSeq, peer.ackWraps)
			switch d := seqDelta(ack, peer.ackSeq); {
			case under:
				r = 0
			case f.Has(wire.RST): // an RST's ACK is not trusted
			case ack == 0 && d > zeekTooLargeSeqDelta: // more likely broken than wrapped onto 0
			case d > 0:
				peer.updateAckSeq(ack)
			}
			relAck = r
		}
	}

	deltaLast := seqDelta(onePast, e.lastSeq)
	switch {
	case f.Any(wire.SYN|wire.RST) && (deltaLast > zeekTooLargeSeqDelta || deltaLast < -zeekTooLargeSeqDelta):
	case f.Has(wire.FIN) && e.lastSeq == e.startSeq+1:
		e.updateLastSeq(onePast) // a > 2 GB connection seen only by its SYN and FIN
	case e.state == zReset: // sequence numbers after a reset are not trusted
	case deltaLast > 0:
		e.updateLastSeq(onePast)
	case length > 0:
		h.scaled('T', orig, &e.rxmt, &e.rxmtThresh)
	}

	doClose, genEvent := h.machine(e, peer, f, seq, ack, length, orig)

	// Only after the state machine, so that a gap revealed by the last
	// FIN or RST is not flagged.
	if f.Has(wire.ACK) {
		h.ackReceived(peer, e, relAck)
	}
	e.seen = true
	// A payload cut short by the snap length never reaches Zeek's
	// reassembler: the ACK that covers it reveals a gap.
	if length > 0 && len(s.Payload) >= length && !f.Has(wire.RST) && !underflow {
		dataSeq := rel
		if f.Has(wire.SYN) {
			dataSeq++
		}
		h.dataSent(e, peer, dataSeq, uint64(length))
	}
	h.checkEOF(e, peer)
	if doClose {
		// After the data, so that data on the FIN is delivered first.
		h.closed(e, peer, genEvent)
	}
	// ConnSize_Analyzer counts by the role the segment came in with.
	if orig {
		h.origPkts++
		h.origIPBytes += uint64(ipLength(s))
	} else {
		h.respPkts++
		h.respIPBytes += uint64(ipLength(s))
	}
	return h.events
}

// ipLength is the IP datagram's length as Zeek's IP_Hdr::TotalLen takes
// it: the IPv4 total length, or the IPv6 payload length and the fixed
// header. A length field left 0 by segmentation offload is taken from
// what the segment holds.
func ipLength(s *wire.Segment) int {
	switch {
	case s.IPLenFixed:
	case s.IPv4 != nil:
		return int(s.IPv4.TotalLength())
	case s.IPv6 != nil:
		return int(s.IPv6.PayloadLength()) + wire.IPv6HeaderLen
	}
	return s.TCPOffset - s.IPOffset + s.HeaderLen + s.PayloadLen
}

// closed is TCPSessionAdapter::ConnectionClosed for end e, which sent a
// FIN or an RST (or whose close waited for its data). genEvent says the
// close is one Zeek reports as finished (a FIN, or an RST that was not a
// rejection).
func (h *History) closed(e, peer *zeekEndpoint, genEvent bool) {
	if h.dataPending(e, peer) {
		h.closeDeferred = true // until its data is delivered: checkEOF
		h.deferredGenEvent = h.deferredGenEvent || genEvent
		return
	}
	h.closeDeferred = false
	if e.didClose {
		return
	}
	e.didClose = true
	switch {
	case e.state == zReset || peer.didClose || peer.state == zInactive:
		if e.prev != zInactive || peer.state != zInactive {
			if h.deferredGenEvent {
				genEvent, h.deferredGenEvent = true, false
			}
			if genEvent {
				h.finished = true // ConnectionFinished
			}
		}
		h.events |= CloseComplete
	case e.prev != zInactive:
		h.events |= HalfClosed
		// An end that closed with its first packet arms Zeek's partial
		// close timer, but only for a script that handles
		// connection_partial_close, which Zeek's own do not.
	}
}

// checkEOF is TCP_Reassembler::CheckEOF and TCPSessionAdapter::EndpointEOF
// for end e: once a closing end's data is all delivered, a close that
// waited for it happens.
func (h *History) checkEOF(e, peer *zeekEndpoint) {
	if e.didEOF || (e.finCnt == 0 && e.state != zClosed && e.state != zReset) || h.dataPending(e, peer) {
		return
	}
	e.didEOF = true
	if h.closeDeferred {
		h.closed(e, peer, h.deferredGenEvent)
		h.closeDeferred = false
	}
}

// dataPending is TCP_Reassembler::DataPending for end e: data it sent is
// still to be delivered, or its peer's is.
func (h *History) dataPending(e, peer *zeekEndpoint) bool {
	r := &e.reasm
	if r.skip {
		return false
	}
	delivered := uint64(e.startSeq) + r.dataSeq()
	last := fullSeq(e.lastSeq, e.seqWraps)
	switch {
	case last < delivered:
		return false
	case delivered != last-1 && delivered != last:
		return true
	}
	return e.state != zReset && len(peer.reasm.blocks) > 0
}

// initEndpoint is Zeek's init_endpoint: the sequence numbers a side
// starts from, and the SYNs that restart them.
func (e *zeekEndpoint) initEndpoint(f wire.Flags, seq, onePast uint32) {
	syn := f.Has(wire.SYN)
	switch e.state {
	case zInactive:
		if syn {
			e.initSeqs(seq, onePast)
		} else {
			// A partial connection: numbered as though a SYN had been seen,
			// and its first packet not taken for a retransmission.
			e.initSeqs(seq-1, seq)
		}
	case zSynSent, zSynAckSent:
		if syn && seq != e.startSeq {
			e.initSeqs(seq, onePast)
		}
	case zEstablished, zPartial:
		if syn {
			e.initSeqs(seq, onePast)
		}
	case zReset:
		if syn && e.prev == zInactive {
			e.initSeqs(seq, onePast) // the RST that started it was likely injected
		}
	}
}

// updateHistory is Zeek's update_history.
func (h *History) updateHistory(e *zeekEndpoint, f wire.Flags, rel, length uint64, orig bool) {
	bits := 0
	for _, b := range [...]wire.Flags{wire.SYN, wire.FIN, wire.RST} {
		if f.Has(b) {
			bits++
		}
	}
	switch {
	case bits > 1:
		if f.Has(wire.FIN | wire.RST) {
			h.check(histFINRST, 'I', orig)
		} else {
			h.check(histMulti, 'Q', orig)
		}
	case bits == 1:
		if f.Has(wire.SYN) {
			code := byte('S')
			if f.Has(wire.ACK) {
				code = 'H'
			}
			if h.check(histSYN, code, orig) && rel != e.lastSYN {
				h.add(letter(code, orig))
			}
			e.lastSYN = rel
		}
		if f.Has(wire.FIN) {
			// A FIN's number is at the end of its data.
			if h.check(histFIN, 'F', orig) && rel+length != e.lastFIN {
				h.add(letter('F', orig))
			}
			e.lastFIN = rel + length
		}
		if f.Has(wire.RST) {
			if h.check(histRST, 'R', orig) && rel != e.lastRST {
				h.add(letter('R', orig))
			}
			e.lastRST = rel
		}
	default:
		if length > 0 {
			h.check(histData, 'D', orig)
		} else if f.Has(wire.ACK) {
			h.check(histACK, 'A', orig)
		}
	}
}

// machine is Zeek's UpdateStateMachine. It reports Zeek's do_close (the
// segment closed its sender's side) and gen_event (a close Zeek reports
// as the connection finishing).
func (h *History) machine(e, peer *zeekEndpoint, f wire.Flags, seq, ack uint32, length int, orig bool) (doClose, genEvent bool) {
	switch e.state {
	case zInactive:
		if f.Has(wire.SYN) {
			switch {
			case orig && f.Has(wire.ACK):
				h.setState(e, peer, zSynAckSent)
				h.events |= Attempt
			case orig:
				h.setState(e, peer, zSynSent)
				h.events |= Attempt
			default:
				if !f.Has(wire.ACK) && peer.state == zSynAckSent && seq == e.startSeq {
					// A SYN-ACK then the SYN it answers (two interfaces
					// merged out of order): Zeek flips the roles and
					// takes the connection for established.
					h.Flip()
					h.events |= Flipped
					h.setState(peer, e, zEstablished)
					e.seen = true
				}
				if peer.state == zSynSent {
					h.setState(peer, e, zEstablished)
				}
				h.setState(e, peer, zEstablished)
			}
		}
		if f.Has(wire.FIN) {
			h.setState(e, peer, zClosed)
			doClose, genEvent = true, true
		}
		if f.Has(wire.RST) {
			h.setState(e, peer, zReset)
			// An RST that rejects: the originator's answer to a SYN-ACK
			// whose SYN was not seen, or the responder's to a SYN.
			reject := peer.state == zEstablished
			if !orig {
				reject = peer.state == zSynSent || peer.state == zSynAckSent
			}
			doClose, genEvent = true, !reject
		}
		if e.state == zInactive {
			switch {
			case !orig && length == 0 && h.orig().state == zSynSent:
				// an ACK of the SYN before the SYN-ACK: not a partial connection
			case f.Has(wire.ACK) && peer.state == zEstablished:
				// the SYN-ACK was seen, the SYN missed: established after all
				h.setState(e, peer, zEstablished)
				h.partial = false
			default:
				h.setState(e, peer, zPartial)
			}
		}
	case zSynSent, zSynAckSent:
		if f.Has(wire.FIN) {
			h.setState(e, peer, zClosed)
			doClose, genEvent = true, true
		}
		if f.Has(wire.RST) {
			h.setState(e, peer, zReset)
			h.finished = true // ConnectionReset
			doClose = true
		}
	case zEstablished, zPartial:
		if f.Has(wire.SYN) && e.state == zPartial && peer.state == zInactive && !f.Has(wire.ACK) {
			h.setState(e, peer, zSynSent)
		}
		if f.Has(wire.FIN) && !f.Has(wire.RST) {
			h.setState(e, peer, zClosed)
			if peer.state == zReset && peer.prev == zClosed {
				h.setState(peer, e, zClosed) // a FIN then an RST: a normal close after all
			}
			doClose, genEvent = true, true
		}
		if f.Has(wire.RST) {
			h.setState(e, peer, zReset)
			doClose = true
			if peer.state != zReset || peer.prev != zEstablished {
				h.finished = true // ConnectionReset
			}
		}
	case zClosed:
		if f.Has(wire.RST) && peer.state != zClosed {
			h.setState(e, peer, zReset)
			doClose = !e.didClose // an RST after a FIN not yet taken for a close
			// Zeek's reset timer, armed here, is armed only for a script
			// that handles connection_reset: the close, or the expire
			// timer, lets go of the connection as soon.
		}
	}
	return doClose, genEvent
}

// setState is TCP_Endpoint::SetState for end e, whose peer is peer: an
// end that leaves the handshake states while its peer is still in them
// switches the connection to TCP's inactivity timeout.
func (h *History) setState(e, peer *zeekEndpoint, s zeekState) {
	if s == e.state {
		return
	}
	if !handshaking(s) && handshaking(e.state) && handshaking(peer.state) {
		h.events |= Established
	}
	e.prev, e.state = e.state, s
}

// handshaking is Zeek's is_handshake: inactive, or a SYN sent.
func handshaking(s zeekState) bool { return s == zInactive || s == zSynSent || s == zSynAckSent }

// reassembler is what tcplens keeps of Zeek's TCP_Reassembler: not the
// bytes, only which stretches of sequence space were captured, which is
// all that decides where the content gaps are. Sequence numbers are
// Zeek's relative ones, 1 for the first byte after the SYN.
type reassembler struct {
	started          bool
	lastReassem      uint64   // everything below was delivered, or skipped as a gap
	trimSeq          uint64   // everything below was acknowledged and dropped
	blocks           []seqRun // captured stretches at or above trimSeq, sorted, disjoint
	skip             bool     // skip_deliveries: Zeek gave up on this direction
	buffered         uint64   // bytes in blocks
	maxBlocksReached bool
}

// seqRun is a stretch [lo, hi) of relative sequence space.
type seqRun struct{ lo, hi uint64 }

// maxBlocks bounds what one direction keeps; past it, tcplens stops
// reporting that direction's gaps rather than grow (Zeek would keep the
// data, up to its 10 MiB limit).
const maxBlocks = 64

func (r *reassembler) init() {
	if !r.started {
		r.started, r.lastReassem, r.trimSeq = true, 1, 1
	}
}

// cleanlyOpen is Zeek's is_clean: established, or closed from established.
func cleanlyOpen(e *zeekEndpoint) bool {
	return e.state == zEstablished || (e.state == zClosed && e.prev == zEstablished)
}

// gapFound is TCP_Reassembler::Gap for n bytes: only gaps of a
// connection that is established, or closing cleanly, go into the history
// and missed_bytes (content_gap is raised under the same condition).
func (h *History) gapFound(e, peer *zeekEndpoint, n uint64) {
	if cleanlyOpen(e) && cleanlyOpen(peer) {
		h.scaled('G', h.isOrig(e), &e.gap, &e.gapThresh)
		h.missed += n
	}
}

// dataSent is TCP_Reassembler::DataSent for data [seq, seq+n) of e.
func (h *History) dataSent(e, peer *zeekEndpoint, seq, n uint64) {
	r := &e.reasm
	r.init()
	if r.skip {
		return
	}
	acked := e.relative(e.ackSeq, e.ackWraps)
	upper := seq + n
	if seq < acked {
		if upper <= acked {
			return // delivered and acknowledged already
		}
		seq = acked
	}
	// Reassembler::NewBlock.
	if upper <= r.trimSeq {
		return
	}
	seq = max(seq, r.trimSeq)
	r.insert(seq, upper)
	h.delivered(e, peer)

	if e.noDataAcked() && len(r.blocks) > 0 && r.blocks[len(r.blocks)-1].hi-r.lastReassem > zeekMaxAboveHoleWithoutAnyAcks {
		r.clear() // above_hole_data_without_any_acks
	}
	if r.buffered > zeekExcessiveDataWithoutFurther {
		r.clear() // excessive_data_without_further_acks
	}
}

func (r *reassembler) clear() {
	r.blocks, r.buffered, r.skip = r.blocks[:0], 0, true
}

// insert adds [lo, hi) to the captured stretches.
func (r *reassembler) insert(lo, hi uint64) {
	i := 0
	for i < len(r.blocks) && r.blocks[i].hi < lo {
		i++
	}
	j := i
	for j < len(r.blocks) && r.blocks[j].lo <= hi {
		lo, hi = min(lo, r.blocks[j].lo), max(hi, r.blocks[j].hi)
		r.buffered -= r.blocks[j].hi - r.blocks[j].lo
		j++
	}
	r.buffered += hi - lo
	if i == j {
		if len(r.blocks) >= maxBlocks {
			r.clear()
			r.maxBlocksReached = true
			return
		}
		r.blocks = append(r.blocks, seqRun{})
		copy(r.blocks[i+1:], r.blocks[i:])
	} else {
		r.blocks = append(r.blocks[:i+1], r.blocks[j:]...)
	}
	r.blocks[i] = seqRun{lo, hi}
}

// delivered is TCP_Reassembler::BlockInserted: data that reaches the
// delivery point moves it on; Zeek then lets go of what a sender keeps
// sending without any ACK.
func (h *History) delivered(e, peer *zeekEndpoint) {
	r := &e.reasm
	for _, b := range r.blocks {
		if b.lo <= r.lastReassem && b.hi > r.lastReassem {
			r.lastReassem = b.hi
		}
	}
	if e.noDataAcked() && e.size(peer) > zeekMaxInitialWindow {
		h.trimToSeq(e, peer, r.lastReassem)
	}
}

// trimToSeq is Reassembler::TrimToSeq: drops what lies below seq, and
// reports as gaps whatever of it was never captured.
func (h *History) trimToSeq(e, peer *zeekEndpoint, seq uint64) {
	r := &e.reasm
	if seq > r.lastReassem {
		h.undelivered(e, peer, seq)
	}
	n := 0
	for _, b := range r.blocks {
		switch {
		case b.hi <= seq:
			r.buffered -= b.hi - b.lo
		default:
			r.blocks[n] = b
			n++
		}
	}
	r.blocks = r.blocks[:n]
	r.trimSeq = max(r.trimSeq, seq)
}

// undelivered is TCP_Reassembler::Undelivered: everything up to upTo was
// acknowledged; each hole below it is a gap.
func (h *History) undelivered(e, peer *zeekEndpoint, upTo uint64) {
	r := &e.reasm
	if upTo <= 2 && h.partial {
		// The first ACK of a partial connection, whose numbering was made up.
		return
	}
	if !r.skip {
		for _, b := range r.blocks {
			if b.hi <= r.lastReassem {
				continue
			}
			if b.lo >= upTo {
				break
			}
			if b.lo > r.lastReassem {
				h.gapFound(e, peer, b.lo-r.lastReassem)
			}
			r.lastReassem = max(r.lastReassem, b.hi)
		}
		if upTo > r.lastReassem {
			h.gapFound(e, peer, upTo-r.lastReassem)
		}
	}
	r.lastReassem = max(r.lastReassem, upTo)
}

// ackReceived is TCP_Reassembler::AckReceived for e's data, acknowledged
// up to relative seq by its peer.
func (h *History) ackReceived(e, peer *zeekEndpoint, seq uint64) {
	r := &e.reasm
	r.init()
	if e.finCnt > 0 && seq >= e.finSeq {
		seq = e.finSeq - 1 // the FIN's own number is not data
	}
	if seq <= r.trimSeq {
		return
	}
	h.trimToSeq(e, peer, seq)
	h.checkEOF(e, peer)
}

// dataSeq is the reassembler's delivery point: Zeek's DataSeq, 1 before
// anything was delivered.
func (r *reassembler) dataSeq() uint64 {
	if !r.started {
		return 1
	}
	return r.lastReassem
}

// String is the history letters.
func (h *History) String() string { return string(h.letters) }

// State is Zeek's conn_state for the connection as it stands
// (base/protocols/conn/main.zeek, conn_state).
func (h *History) State() string {
	o, r := h.orig(), h.resp()
	os, rs := o.state, r.state
	oInactive := os == zInactive || os == zPartial
	rInactive := rs == zInactive || rs == zPartial
	switch {
	case rs == zReset:
		switch {
		case os == zSynSent || os == zSynAckSent || (os == zReset && o.size(r) == 0 && r.size(o) == 0):
			return "REJ"
		case oInactive:
			return "RSTRH"
		}
		return "RSTR"
	case os == zReset:
		if rInactive {
			if rstos0(h.String()) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == zClosed && os == zClosed:
		return "SF"
	case os == zClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == zClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == zSynSent && rs == zInactive:
		return "S0"
	case os == zEstablished && rs == zEstablished:
		return "S1"
	}
	return "OTH"
}

// rstos0 matches Zeek's /\^?S[^HAFGIQ]*R.*/ against the whole history.
func rstos0(h string) bool {
	i := 0
	if i < len(h) && h[i] == '^' {
		i++
	}
	if i >= len(h) || h[i] != 'S' {
		return false
	}
	for i++; i < len(h); i++ {
		switch h[i] {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}

// Sizes are what conn.log says of a connection's volume.
type Sizes struct {
	OrigBytes, RespBytes     uint64 // payload bytes by sequence numbers (orig_bytes, resp_bytes)
	MissedBytes              uint64 // bytes in content gaps (missed_bytes)
	OrigPkts, RespPkts       uint64 // packets each role sent (orig_pkts, resp_pkts)
	OrigIPBytes, RespIPBytes uint64 // IP bytes each role sent (orig_ip_bytes, resp_ip_bytes)
}

// Sizes returns the connection's volume as conn.log reports it.
func (h *History) Sizes() Sizes {
	o, r := h.orig(), h.resp()
	return Sizes{
		OrigBytes: o.size(r), RespBytes: r.size(o),
		MissedBytes: h.missed,
		OrigPkts:    h.origPkts, RespPkts: h.respPkts,
		OrigIPBytes: h.origIPBytes, RespIPBytes: h.respIPBytes,
	}
}
