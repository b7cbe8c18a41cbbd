package conn

import (
	"github.com/tcplens/tcplens/internal/wire"
)

// Zeek's conn.log summarises a connection in two fields, conn_state and
// history, computed from its own coarse endpoint states. tcplens keeps a
// copy of that bookkeeping, following Zeek's TCPSessionAdapter::Process,
// TCP_Endpoint, TCP_Reassembler and conn/main.zeek step for step, so that
// both fields mean exactly what Zeek users know; testdata/zeek holds what
// Zeek itself logs for the captures, and a test compares.
//
// It reproduces Zeek as it reads a capture file in its usual setting:
// checksums ignored (zeek -C, as Zeek's own tests run it: a capture taken
// on a host with checksum offload would otherwise lose that host's every
// packet), so no 'C' letters; and reassembly on (Zeek's protocol
// detection asks for the contents of every TCP connection), so that
// acknowledged data the capture does not hold is a content gap, 'G'.
// The roles, and so '^', are tcplens's: the SYN's sender is the
// originator, and without a handshake the same guess from ports that
// [Conn.Role] records (Zeek guesses from its analyzers' ports).

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
	reasm                     reassembler
}

// history is Zeek's per-connection history and endpoint states.
type history struct {
	letters []byte
	seen    uint32
	partial bool // TCPSessionAdapter's is_partial
	orig    zeekEndpoint
	resp    zeekEndpoint
}

func seqDelta(a, b uint32) int32 { return int32(a - b) }

func fullSeq(seq, wraps uint32) uint64 { return uint64(wraps)<<32 | uint64(seq) }

func (e *zeekEndpoint) setState(s zeekState) {
	if s != e.state {
		e.prev, e.state = e.state, s
	}
}

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

func (h *history) add(c byte) { h.letters = append(h.letters, c) }

func letter(c byte, orig bool) byte {
	if orig {
		return c
	}
	return c + ('a' - 'A')
}

// check is Zeek's CheckHistory: it records the letter the first time
// and reports whether the kind was seen before.
func (h *history) check(mask uint32, c byte, orig bool) bool {
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
func (h *history) scaled(c byte, orig bool, counter, threshold *uint32) {
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

func (h *history) end(orig bool) (*zeekEndpoint, *zeekEndpoint) {
	if orig {
		return &h.orig, &h.resp
	}
	return &h.resp, &h.orig
}

// flipped records Zeek's "^": the roles are not those of the first packet.
func (h *history) flipped() { h.add('^') }

// step is Zeek's TCPSessionAdapter::Process for a segment from the
// originator (orig) or the responder.
func (h *history) step(s *wire.Segment, orig bool) {
	if len(s.TCP) < s.HeaderLen || s.HeaderLen < wire.TCPMinHeaderLen {
		return // Zeek drops a segment whose header the capture cut ("truncated_header")
	}
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

	h.machine(e, peer, f, seq, ack, length, orig)

	// Only after the state machine, so that a gap revealed by the last
	// FIN or RST is not flagged.
	if f.Has(wire.ACK) {
		h.ackReceived(peer, e, relAck, !orig)
	}
	// A payload cut short by the snap length never reaches Zeek's
	// reassembler: the ACK that covers it reveals a gap.
	if length > 0 && len(s.Payload) >= length && !f.Has(wire.RST) && !underflow {
		dataSeq := rel
		if f.Has(wire.SYN) {
			dataSeq++
		}
		h.dataSent(e, peer, dataSeq, uint64(length), orig)
	}
	e.seen = true
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
func (h *history) updateHistory(e *zeekEndpoint, f wire.Flags, rel, length uint64, orig bool) {
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

// machine is Zeek's UpdateStateMachine.
func (h *history) machine(e, peer *zeekEndpoint, f wire.Flags, seq, ack uint32, length int, orig bool) {
	switch e.state {
	case zInactive:
		if f.Has(wire.SYN) {
			switch {
			case orig && f.Has(wire.ACK):
				e.setState(zSynAckSent)
			case orig:
				e.setState(zSynSent)
			default:
				if peer.state == zSynSent {
					peer.setState(zEstablished)
				}
				e.setState(zEstablished)
			}
		}
		if f.Has(wire.FIN) {
			e.setState(zClosed)
		}
		if f.Has(wire.RST) {
			e.setState(zReset)
		}
		if e.state == zInactive {
			switch {
			case !orig && length == 0 && h.orig.state == zSynSent:
				// an ACK of the SYN before the SYN-ACK: not a partial connection
			case f.Has(wire.ACK) && peer.state == zEstablished:
				// the SYN-ACK was seen, the SYN missed: established after all
				e.setState(zEstablished)
				h.partial = false
			default:
				e.setState(zPartial)
			}
		}
	case zSynSent, zSynAckSent:
		if f.Has(wire.FIN) {
			e.setState(zClosed)
		}
		if f.Has(wire.RST) {
			e.setState(zReset)
		}
	case zEstablished, zPartial:
		if f.Has(wire.SYN) && e.state == zPartial && peer.state == zInactive && !f.Has(wire.ACK) {
			e.setState(zSynSent)
		}
		if f.Has(wire.FIN) && !f.Has(wire.RST) {
			e.setState(zClosed)
			if peer.state == zReset && peer.prev == zClosed {
				peer.setState(zClosed) // a FIN then an RST: a normal close after all
			}
		}
		if f.Has(wire.RST) {
			e.setState(zReset)
		}
	case zClosed:
		if f.Has(wire.RST) && peer.state != zClosed {
			e.setState(zReset)
		}
	}
}

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

// gapFound is TCP_Reassembler::Gap: only gaps of a connection that is
// established, or closing cleanly, go into the history.
func (h *history) gapFound(e, peer *zeekEndpoint, orig bool) {
	if cleanlyOpen(e) && cleanlyOpen(peer) {
		h.scaled('G', orig, &e.gap, &e.gapThresh)
	}
}

// dataSent is TCP_Reassembler::DataSent for data [seq, seq+n) of e.
func (h *history) dataSent(e, peer *zeekEndpoint, seq, n uint64, orig bool) {
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
	h.delivered(e, peer, orig)

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
func (h *history) delivered(e, peer *zeekEndpoint, orig bool) {
	r := &e.reasm
	for _, b := range r.blocks {
		if b.lo <= r.lastReassem && b.hi > r.lastReassem {
			r.lastReassem = b.hi
		}
	}
	if e.noDataAcked() && e.size(peer) > zeekMaxInitialWindow {
		h.trimToSeq(e, peer, r.lastReassem, orig)
	}
}

// trimToSeq is Reassembler::TrimToSeq: drops what lies below seq, and
// reports as gaps whatever of it was never captured.
func (h *history) trimToSeq(e, peer *zeekEndpoint, seq uint64, orig bool) {
	r := &e.reasm
	if seq > r.lastReassem {
		h.undelivered(e, peer, seq, orig)
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
func (h *history) undelivered(e, peer *zeekEndpoint, upTo uint64, orig bool) {
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
				h.gapFound(e, peer, orig)
			}
			r.lastReassem = max(r.lastReassem, b.hi)
		}
		if upTo > r.lastReassem {
			h.gapFound(e, peer, orig)
		}
	}
	r.lastReassem = max(r.lastReassem, upTo)
}

// ackReceived is TCP_Reassembler::AckReceived for e's data, acknowledged
// up to relative seq by its peer.
func (h *history) ackReceived(e, peer *zeekEndpoint, seq uint64, orig bool) {
	r := &e.reasm
	r.init()
	if e.finCnt > 0 && seq >= e.finSeq {
		seq = e.finSeq - 1 // the FIN's own number is not data
	}
	if seq <= r.trimSeq {
		return
	}
	h.trimToSeq(e, peer, seq, orig)
}

// String is the history letters.
func (h *history) String() string { return string(h.letters) }

// State is Zeek's conn_state for the connection as it stands
// (base/protocols/conn/main.zeek, conn_state).
func (h *history) State() string {
	os, rs := h.orig.state, h.resp.state
	oInactive := os == zInactive || os == zPartial
	rInactive := rs == zInactive || rs == zPartial
	switch {
	case rs == zReset:
		switch {
		case os == zSynSent || os == zSynAckSent || (os == zReset && h.orig.size(&h.resp) == 0 && h.resp.size(&h.orig) == 0):
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
