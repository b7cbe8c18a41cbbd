package conn

import (
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// Zeek's conn.log summarises a connection in two fields, conn_state and
// history, computed from its own coarse endpoint states. tcplens keeps a
// copy of that bookkeeping, following Zeek's TCPSessionAdapter and
// conn/main.zeek, so that both fields mean exactly what Zeek users know.

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

type zeekEndpoint struct {
	state, prev               zeekState
	started                   bool
	startSeq, lastSeq         seq.Num
	size                      uint64 // payload bytes, as Zeek's Size() counts them from sequence numbers
	didClose                  bool
	lastSYN, lastFIN, lastRST seq.Num
	rxmt, rxmtThresh          uint32
	zeroWin, zeroWinThresh    uint32
	checksum, checksumThresh  uint32
	gap, gapThresh            uint32
}

// history is Zeek's per-connection history and endpoint states.
type history struct {
	letters []byte
	seen    uint32
	orig    zeekEndpoint
	resp    zeekEndpoint
}

func (h *history) add(c byte) { h.letters = append(h.letters, c) }
func lower(c byte, orig bool) byte {
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
	h.add(lower(c, orig))
	return false
}

// scaled is Zeek's ScaledHistoryEntry: the letter at the 1st, 10th,
// 100th … occurrence.
func (h *history) scaled(c byte, orig bool, counter, threshold *uint32) {
	if *threshold == 0 {
		*threshold = 1
	}
	*counter++
	if *counter == *threshold {
		h.add(lower(c, orig))
		if next := *threshold * 10; next > *threshold {
			*threshold = next
		}
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

// step updates Zeek's view with a segment from the originator (orig) or
// the responder. retransmitted says the payload did not advance the
// sender's sequence space; badChecksum and gap as their names say.
func (h *history) step(s *wire.Segment, orig, badChecksum bool) {
	e, peer := h.end(orig)
	f := s.Flags
	segLen := uint32(s.PayloadLen)
	if f.Has(wire.SYN) {
		segLen++
	}
	if f.Has(wire.FIN) {
		segLen++
	}
	if f.Has(wire.RST) {
		segLen -= uint32(s.PayloadLen)
	}
	if !e.started {
		e.started = true
		if f.Has(wire.SYN) {
			e.startSeq = s.Seq
			e.lastSeq = s.Seq.Add(segLen)
		} else {
			e.startSeq = s.Seq - 1
			e.lastSeq = s.Seq
		}
	}
	rel := seq.Num(s.Seq - e.startSeq)

	// update_history
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
				h.add(lower(code, orig))
			}
			e.lastSYN = rel
		}
		if f.Has(wire.FIN) {
			end := rel.Add(uint32(s.PayloadLen))
			if h.check(histFIN, 'F', orig) && end != e.lastFIN {
				h.add(lower('F', orig))
			}
			e.lastFIN = end
		}
		if f.Has(wire.RST) {
			if h.check(histRST, 'R', orig) && rel != e.lastRST {
				h.add(lower('R', orig))
			}
			e.lastRST = rel
		}
	default:
		if s.PayloadLen > 0 {
			h.check(histData, 'D', orig)
		} else if f.Has(wire.ACK) {
			h.check(histACK, 'A', orig)
		}
	}
	// update_window: zero windows, unless with or after a reset, or after
	// the peer's FIN.
	if s.Window == 0 && !f.Has(wire.RST) && peer.state != zClosed && e.state != zReset {
		h.scaled('W', orig, &e.zeroWin, &e.zeroWinThresh)
	}
	if badChecksum {
		h.scaled('C', orig, &e.checksum, &e.checksumThresh)
	}

	// update_last_seq
	last := s.Seq.Add(segLen)
	delta := last.Sub(e.lastSeq)
	switch {
	case f.Any(wire.SYN|wire.RST) && (delta > 1<<20 || delta < -(1<<20)):
	case f.Has(wire.FIN) && e.lastSeq == e.startSeq+1:
		e.lastSeq = last
	case e.state == zReset:
	case delta > 0:
		e.lastSeq = last
	case delta <= 0 && s.PayloadLen > 0:
		h.scaled('T', orig, &e.rxmt, &e.rxmtThresh)
	}
	e.size = uint64(uint32(e.lastSeq - e.startSeq))

	h.machine(e, peer, s, orig)
}

// gapIn records Zeek's 'g': the peer acknowledged data of this endpoint
// that the capture never saw.
func (h *history) gapIn(orig bool) {
	e, _ := h.end(orig)
	h.scaled('G', orig, &e.gap, &e.gapThresh)
}

func (e *zeekEndpoint) set(s zeekState) {
	e.prev = e.state
	e.state = s
}

// machine is Zeek's UpdateStateMachine.
func (h *history) machine(e, peer *zeekEndpoint, s *wire.Segment, orig bool) {
	f := s.Flags
	switch e.state {
	case zInactive:
		if f.Has(wire.SYN) {
			if orig {
				if f.Has(wire.ACK) {
					e.set(zSynAckSent)
				} else {
					e.set(zSynSent)
				}
			} else {
				if peer.state == zSynSent {
					peer.set(zEstablished)
				}
				e.set(zEstablished)
			}
		}
		if f.Has(wire.FIN) {
			e.set(zClosed)
			e.didClose = true
		}
		if f.Has(wire.RST) {
			e.set(zReset)
			e.didClose = true
		}
		if e.state == zInactive {
			switch {
			case !orig && s.PayloadLen == 0 && h.orig.state == zSynSent:
				// an ACK of the SYN before the SYN-ACK: not a partial connection
			case f.Has(wire.ACK) && peer.state == zEstablished:
				e.set(zEstablished)
			default:
				e.set(zPartial)
			}
		}
	case zSynSent, zSynAckSent:
		if f.Has(wire.FIN) {
			e.set(zClosed)
			e.didClose = true
		}
		if f.Has(wire.RST) {
			e.set(zReset)
			e.didClose = true
		}
	case zEstablished, zPartial:
		if f.Has(wire.SYN) && e.state == zPartial && peer.state == zInactive && !f.Has(wire.ACK) {
			e.set(zSynSent)
		}
		if f.Has(wire.FIN) && !f.Has(wire.RST) {
			e.set(zClosed)
			if peer.state == zReset && peer.prev == zClosed {
				peer.set(zClosed) // a FIN then an RST: a normal close after all
			}
			e.didClose = true
		}
		if f.Has(wire.RST) {
			e.set(zReset)
			e.didClose = true
		}
	case zClosed:
		if f.Has(wire.RST) && peer.state != zClosed {
			e.set(zReset)
		}
	}
}

// String is the history letters.
func (h *history) String() string { return string(h.letters) }

// State is Zeek's conn_state for the connection as it stands.
func (h *history) State() string {
	os, rs := h.orig.state, h.resp.state
	oInactive := os == zInactive || os == zPartial
	rInactive := rs == zInactive || rs == zPartial
	switch {
	case rs == zReset:
		switch {
		case os == zSynSent || os == zSynAckSent || (os == zReset && h.orig.size == 0 && h.resp.size == 0):
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
