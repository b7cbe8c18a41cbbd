package analyze

import (
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// The numbers a time-sequence graph draws against the sender's relative
// sequence numbers, for an ACK travelling the other way: where the
// receiver's window ends, and which blocks it holds beyond the ACK.

// WindowRight is the right edge of the window s advertises, in the
// relative numbers of the data it acknowledges: RelAck plus the scaled
// window (RFC 9293 3.8.6: the peer may send up to SEG.ACK + SEG.WND). It
// is false when s carries no ACK or its window scale is unknown.
func (s *Segment) WindowRight() (uint32, bool) {
	r := s.Result
	if s.Seg == nil || r == nil || !s.Seg.Flags.Has(wire.ACK) || r.WindowScaled < 0 {
		return 0, false
	}
	return r.RelAck + uint32(r.WindowScaled), true
}

// RelSACK appends the SACK blocks s carries to dst, in the relative
// numbers of the data they acknowledge. A SACK block is meaningful only
// beside an acknowledgment (RFC 2018), whose relative number gives the
// base; blocks on a segment without ACK are left out.
func (s *Segment) RelSACK(dst []seq.Range) []seq.Range {
	if s.Seg == nil || s.Result == nil || !s.Seg.Flags.Has(wire.ACK) {
		return dst
	}
	base := s.Seg.Ack - seq.Num(s.Result.RelAck)
	for _, b := range s.Seg.Options.SACKBlocks() {
		dst = append(dst, seq.Range{Start: b.Start - base, End: b.End - base})
	}
	return dst
}
