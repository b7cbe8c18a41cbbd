package wire

import (
	"encoding/binary"
	"net/netip"

	"github.com/tcplens/tcplens/internal/pcap"
)

// Sum adds the bytes of b, as big-endian 16-bit words, to the running
// one's-complement sum s (RFC 1071). An odd final byte is padded with
// zero. Words are added 32 bits at a time into 64 bits, so carries are
// deferred to Fold.
func Sum(s uint64, b []byte) uint64 {
	for len(b) >= 8 {
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		s += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// Fold reduces a running sum to 16 bits with end-around carry.
func Fold(s uint64) uint16 {
	s = s>>32 + s&0xffffffff
	s = s>>32 + s&0xffffffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s)
}

// PseudoHeaderSum is the sum of the IPv4 or IPv6 pseudo-header of a
// transport segment of the given length (RFC 9293 section 3.1, RFC 8200
// section 8.1).
func PseudoHeaderSum(src, dst netip.Addr, proto uint8, length int) uint64 {
	var s uint64
	if src.Is4() {
		a, b := src.As4(), dst.As4()
		s = Sum(s, a[:])
		s = Sum(s, b[:])
	} else {
		a, b := src.As16(), dst.As16()
		s = Sum(s, a[:])
		s = Sum(s, b[:])
	}
	return s + uint64(proto) + uint64(uint32(length)>>16) + uint64(length&0xffff)
}

// TCPChecksum computes the checksum a sender should have put in the TCP
// header segment (header and payload, with the checksum field as sent):
// it returns the value that makes the sum come out right, and whether the
// field already holds it. A segment too short to hold the checksum field
// gives 0, false.
func TCPChecksum(src, dst netip.Addr, segment []byte) (want uint16, ok bool) {
	if len(segment) < TCPMinHeaderLen {
		return 0, false
	}
	s := PseudoHeaderSum(src, dst, ProtoTCP, len(segment))
	s = Sum(s, segment)
	ok = Fold(s) == 0xffff
	// Remove the field to compute what it should have been.
	field := binary.BigEndian.Uint16(segment[16:])
	s += uint64(^field)
	want = ^Fold(s)
	return want, ok
}

// ChecksumStatus is the verdict on a segment's checksum.
type ChecksumStatus uint8

const (
	ChecksumUnverified ChecksumStatus = iota // not all of the segment was captured, or it is a first fragment
	ChecksumCorrect
	ChecksumIncorrect
)

// OffloadCause says why an incorrect checksum is most likely checksum
// offload at the capturing host rather than corruption: the host captures
// its own outgoing segments before the NIC fills the field in.
type OffloadCause uint8

const (
	NoOffload       OffloadCause = iota
	OffloadOutgoing              // a Linux cooked capture marks the frame as sent by the capturing host
	OffloadTSO                   // the IP length is 0: segmentation (and so checksums) left to the NIC
	OffloadPartial               // the field holds the pseudo-header sum, Linux's CHECKSUM_PARTIAL
	OffloadZero                  // the field is zero, left for the NIC
)

// VerifyChecksum checks the TCP checksum of a decoded segment against the
// pseudo-header (RFC 9293 section 3.1). It reads only what Decode kept.
func (s *Segment) VerifyChecksum() (status ChecksumStatus, computed uint16, cause OffloadCause) {
	if s.TCP == nil || s.Fragment || len(s.Payload) < s.PayloadLen || s.HeaderLen < TCPMinHeaderLen || len(s.TCP) < s.HeaderLen {
		return ChecksumUnverified, 0, NoOffload
	}
	seg := s.TCP[:s.HeaderLen+s.PayloadLen]
	want, ok := TCPChecksum(s.Src.Addr(), s.Dst.Addr(), seg)
	if ok {
		return ChecksumCorrect, s.TCP.Checksum(), NoOffload
	}
	return ChecksumIncorrect, want, s.OffloadCause(len(seg))
}

// OffloadCause says whether an incorrect checksum on this segment of
// segLen bytes looks like checksum offload at the capturing host.
func (s *Segment) OffloadCause(segLen int) OffloadCause {
	field := s.TCP.Checksum()
	partial := Fold(PseudoHeaderSum(s.Src.Addr(), s.Dst.Addr(), ProtoTCP, segLen))
	switch {
	case (s.Link.Type == pcap.LinkSLL || s.Link.Type == pcap.LinkSLL2) && s.Link.PacketType == PacketOutgoing:
		return OffloadOutgoing
	case s.IPLenFixed:
		return OffloadTSO
	case field == partial || field == ^partial:
		return OffloadPartial
	case field == 0:
		return OffloadZero
	}
	return NoOffload
}
