package wire

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers tcplens meets on the way to TCP.
const (
	ProtoHopByHop = 0
	ProtoTCP      = 6
	ProtoRouting  = 43
	ProtoFragment = 44
	ProtoDestOpts = 60
	ProtoMobility = 135
)

// IPv4 is a view of an IPv4 header (RFC 791).
type IPv4 []byte

const ipv4MinHeaderLen = 20

// ParseIPv4 checks that b starts with the fixed part of an IPv4 header.
// The options and payload may be cut short by the capture: HeaderLen and
// TotalLength say what the header claims, len(b) what was captured.
func ParseIPv4(b []byte, off int) (IPv4, error) {
	if len(b) < ipv4MinHeaderLen {
		return nil, errorf("ipv4", off, "%d bytes captured, the header needs %d", len(b), ipv4MinHeaderLen)
	}
	if v := b[0] >> 4; v != 4 {
		return nil, errorf("ipv4", off, "version %d, want 4", int(v))
	}
	return IPv4(b), nil
}

// Version is the version field: 4.
func (b IPv4) Version() uint8 { return b[0] >> 4 }

// HeaderLen is the header length in bytes (IHL × 4), options included.
func (b IPv4) HeaderLen() int { return int(b[0]&0x0f) * 4 }

// TOS is the type-of-service byte: DSCP in the upper six bits, ECN in the lower two.
func (b IPv4) TOS() uint8 { return b[1] }

// ECN is the explicit congestion notification codepoint (RFC 3168):
// 0 not ECT, 1 ECT(1), 2 ECT(0), 3 CE.
func (b IPv4) ECN() uint8 { return b[1] & 3 }

// TotalLength is the length of the datagram, header included, as the
// header states it. Zero means the sender offloaded segmentation (TSO or
// BIG TCP) and the real length is the frame's.
func (b IPv4) TotalLength() uint16 { return binary.BigEndian.Uint16(b[2:]) }

// ID is the identification field.
func (b IPv4) ID() uint16 { return binary.BigEndian.Uint16(b[4:]) }

// Flags and fragment offset.
const (
	IPv4Reserved      = 0x8000 // the "evil bit" of RFC 3514
	IPv4DontFragment  = 0x4000
	IPv4MoreFragments = 0x2000
	ipv4OffsetMask    = 0x1fff
)

// FlagsOffset is the raw 16-bit flags-and-fragment-offset field.
func (b IPv4) FlagsOffset() uint16 { return binary.BigEndian.Uint16(b[6:]) }

// FragmentOffset is the offset of this fragment's data, in bytes.
func (b IPv4) FragmentOffset() int { return int(b.FlagsOffset()&ipv4OffsetMask) * 8 }

// MoreFragments reports the MF flag.
func (b IPv4) MoreFragments() bool { return b.FlagsOffset()&IPv4MoreFragments != 0 }

// DontFragment reports the DF flag.
func (b IPv4) DontFragment() bool { return b.FlagsOffset()&IPv4DontFragment != 0 }

// TTL is the time to live.
func (b IPv4) TTL() uint8 { return b[8] }

// Protocol is the payload's protocol number (6 for TCP).
func (b IPv4) Protocol() uint8 { return b[9] }

// Checksum is the header checksum field.
func (b IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(b[10:]) }

// Src is the source address.
func (b IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(b[12:16])) }

// Dst is the destination address.
func (b IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(b[16:20])) }

// Options returns the captured option bytes.
func (b IPv4) Options() []byte {
	hl := b.HeaderLen()
	if hl <= ipv4MinHeaderLen {
		return nil
	}
	return b[ipv4MinHeaderLen:min(hl, len(b))]
}

// HeaderChecksumOK verifies the header checksum, if the whole header was captured.
func (b IPv4) HeaderChecksumOK() (ok, checked bool) {
	hl := b.HeaderLen()
	if hl < ipv4MinHeaderLen || hl > len(b) {
		return false, false
	}
	return Fold(Sum(0, b[:hl])) == 0xffff, true
}

// IPv6 is a view of an IPv6 fixed header (RFC 8200).
type IPv6 []byte

// IPv6HeaderLen is the length of the fixed header.
const IPv6HeaderLen = 40

// ParseIPv6 checks that b starts with a whole IPv6 fixed header.
func ParseIPv6(b []byte, off int) (IPv6, error) {
	if len(b) < IPv6HeaderLen {
		return nil, errorf("ipv6", off, "%d bytes captured, the header needs %d", len(b), IPv6HeaderLen)
	}
	if v := b[0] >> 4; v != 6 {
		return nil, errorf("ipv6", off, "version %d, want 6", int(v))
	}
	return IPv6(b), nil
}

// Version is the version field: 6.
func (b IPv6) Version() uint8 { return b[0] >> 4 }

// TrafficClass is DSCP and ECN.
func (b IPv6) TrafficClass() uint8 { return uint8(binary.BigEndian.Uint16(b[0:]) >> 4) }

// ECN is the explicit congestion notification codepoint.
func (b IPv6) ECN() uint8 { return b.TrafficClass() & 3 }

// FlowLabel is the 20-bit flow label.
func (b IPv6) FlowLabel() uint32 { return binary.BigEndian.Uint32(b[0:]) & 0xfffff }

// PayloadLength is the length after the fixed header, extension headers
// included. Zero means a jumbogram or an offloaded (BIG TCP) send.
func (b IPv6) PayloadLength() uint16 { return binary.BigEndian.Uint16(b[4:]) }

// NextHeader is the protocol of the first extension header or the payload.
func (b IPv6) NextHeader() uint8 { return b[6] }

// HopLimit is the hop limit.
func (b IPv6) HopLimit() uint8 { return b[7] }

// Src is the source address.
func (b IPv6) Src() netip.Addr { return netip.AddrFrom16([16]byte(b[8:24])) }

// Dst is the destination address.
func (b IPv6) Dst() netip.Addr { return netip.AddrFrom16([16]byte(b[24:40])) }

// ExtHeader is one IPv6 extension header found by Walk.
type ExtHeader struct {
	Proto  uint8 // ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDestOpts
	Offset int   // offset from the start of the IPv6 header
	Len    int   // length in bytes
}

// IPv6Chain is what Walk found between the fixed header and the payload.
type IPv6Chain struct {
	Headers    [4]ExtHeader // the first four extension headers
	Count      int          // extension headers crossed
	Upper      uint8        // the protocol after the last extension header
	UpperOff   int          // its offset from the start of the IPv6 header
	FragOffset int          // fragment offset in bytes, when a fragment header was crossed
	Fragment   bool         // a fragment header was crossed
	MoreFrags  bool         // its M flag
	FragID     uint32       // its identification
	Jumbo      uint32       // Jumbo Payload length from a hop-by-hop option, 0 if none
}

// Walk follows the extension-header chain of b (RFC 8200 section 4)
// to the upper-layer protocol. It stops at a non-first fragment, whose
// upper-layer header lies in another packet.
func (b IPv6) Walk(off int) (IPv6Chain, error) {
	c := IPv6Chain{Upper: b.NextHeader(), UpperOff: IPv6HeaderLen}
	for {
		if !isExtHeader(c.Upper) {
			return c, nil
		}
		p := c.UpperOff
		if len(b) < p+8 {
			return c, errorf("ipv6", off+p, "extension header %d needs 8 bytes, %d captured", int(c.Upper), len(b)-p)
		}
		n := 8
		if c.Upper != ProtoFragment {
			n = (int(b[p+1]) + 1) * 8
		}
		// A header that overruns the capture hides the one after it. The
		// upper-layer header's absence is the caller's to report (it may
		// not want it), but another extension header cannot be walked.
		if len(b) < p+n && isExtHeader(b[p]) {
			return c, errorf("ipv6", off+p, "extension header %d of %d bytes, %d captured", int(c.Upper), n, len(b)-p)
		}
		if c.Count < len(c.Headers) {
			c.Headers[c.Count] = ExtHeader{Proto: c.Upper, Offset: p, Len: n}
		}
		c.Count++
		switch c.Upper {
		case ProtoFragment:
			fo := binary.BigEndian.Uint16(b[p+2:])
			c.Fragment = true
			c.FragOffset = int(fo &^ 7)
			c.MoreFrags = fo&1 != 0
			c.FragID = binary.BigEndian.Uint32(b[p+4:])
		case ProtoHopByHop:
			if len(b) >= p+n {
				c.Jumbo = jumboOption(b[p+2 : p+n])
			}
		}
		c.Upper = b[p]
		c.UpperOff = p + n
		if c.Fragment && c.FragOffset != 0 {
			return c, nil
		}
	}
}

// isExtHeader reports whether Walk crosses a header of protocol p.
func isExtHeader(p uint8) bool {
	switch p {
	case ProtoHopByHop, ProtoRouting, ProtoDestOpts, ProtoFragment:
		return true
	}
	return false
}

// jumboOption finds the Jumbo Payload option (RFC 2675) among hop-by-hop options.
func jumboOption(opts []byte) uint32 {
	for i := 0; i < len(opts); {
		typ := opts[i]
		if typ == 0 { // Pad1
			i++
			continue
		}
		if i+1 >= len(opts) {
			return 0
		}
		n := int(opts[i+1]) + 2
		if typ == 0xc2 && n == 6 && i+6 <= len(opts) {
			return binary.BigEndian.Uint32(opts[i+2:])
		}
		i += n
	}
	return 0
}
