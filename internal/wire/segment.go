package wire

import (
	"encoding/binary"
	"net/netip"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
)

// Segment is the decoded meaning of one TCP segment: what tcplens needs of
// its link, IP and TCP headers. Decode fills it in place; the byte slices
// point into the frame and are valid as long as the frame's data.
type Segment struct {
	Link Link

	// Network layer.
	IPVersion  uint8 // 4 or 6
	IPOffset   int   // offset of the IP header in the frame
	IPv4       IPv4  // view of the IPv4 header, nil for IPv6
	IPv6       IPv6  // view of the IPv6 header, nil for IPv4
	IPv6Chain  IPv6Chain
	TTL        uint8  // TTL or hop limit
	IPID       uint16 // IPv4 identification; 0 for IPv6
	ECN        uint8  // IP ECN codepoint: 0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE
	DF         bool   // IPv4 don't-fragment
	Fragment   bool   // the first fragment of a fragmented datagram
	IPLenFixed bool   // the IP length field was 0 (TSO, BIG TCP); lengths come from the frame
	// IPLenBeyondFrame says the IP length claimed more than the frame held
	// on the wire; PayloadLen counts only what was on the wire.
	IPLenBeyondFrame bool

	// Transport layer.
	TCPOffset  int // offset of the TCP header in the frame
	TCP        TCP // view of the TCP header, options included
	Src, Dst   netip.AddrPort
	Seq, Ack   seq.Num
	Flags      Flags
	Window     uint16 // raw header value, before window scaling
	Urgent     uint16
	HeaderLen  int     // TCP header length in bytes
	Options    Options // decoded options
	PayloadLen int     // payload length the IP header implies
	Payload    []byte  // the captured part of the payload
	WireLen    int     // frame length on the wire
}

// SeqEnd is the sequence number after the segment: SYN and FIN each take
// one, the payload takes its length (RFC 9293 section 3.4).
func (s *Segment) SeqEnd() seq.Num {
	n := uint32(s.PayloadLen)
	if s.Flags.Has(SYN) {
		n++
	}
	if s.Flags.Has(FIN) {
		n++
	}
	return s.Seq.Add(n)
}

// Truncated reports whether the capture holds less of the payload than the
// segment carried.
func (s *Segment) Truncated() bool { return len(s.Payload) < s.PayloadLen }

// Decode decodes the TCP segment in frame f into s. It returns nil for a
// well-formed segment, ErrNotTCP (or ErrFragment) for a frame that holds no
// TCP header, and *Error for a malformed one; in that case s holds
// whatever was decoded before the problem. It allocates nothing unless the
// frame is malformed.
func Decode(f *pcap.Frame, s *Segment) error {
	*s = Segment{WireLen: f.Length}
	return decode(f, s, false)
}

// decode is Decode into a Segment whose Link is zero. With locateOnly it
// stops once it has the TCP header's view and the ports of Src and Dst:
// what Locate needs, at a third of the cost.
func decode(f *pcap.Frame, s *Segment, locateOnly bool) error {
	data := f.Data
	l := &s.Link
	if err := parseLink(f.Link, data, l); err != nil {
		return err
	}
	off := l.HeaderLen
	if off > len(data) {
		return ErrNotTCP
	}
	wireAtIP := f.Length - off
	var tcpLen int // TCP header + payload as the IP header states it
	switch l.EtherType {
	case EtherTypeIPv4:
		ip, err := ParseIPv4(data[off:], off)
		if err != nil {
			return err
		}
		s.IPVersion, s.IPOffset, s.IPv4 = 4, off, ip
		s.TTL, s.IPID, s.ECN, s.DF = ip.TTL(), ip.ID(), ip.ECN(), ip.DontFragment()
		if ip.Protocol() != ProtoTCP {
			return ErrNotTCP
		}
		hl := ip.HeaderLen()
		if hl < ipv4MinHeaderLen {
			return errorf("ipv4", off, "header length %d < minimum 20", hl)
		}
		total := int(ip.TotalLength())
		if total == 0 {
			// TSO or BIG TCP: the sender's stack left the length to the NIC.
			total = wireAtIP
			s.IPLenFixed = true
		}
		if total < hl {
			return errorf("ipv4", off+2, "total length %d < header length %d", total, hl)
		}
		if ip.FragmentOffset() != 0 {
			return ErrFragment
		}
		s.Fragment = ip.MoreFragments()
		if hl > len(ip) {
			return errorf("ipv4", off, "header of %d bytes, %d captured", hl, len(ip))
		}
		s.Src = netip.AddrPortFrom(ip.Src(), 0)
		s.Dst = netip.AddrPortFrom(ip.Dst(), 0)
		tcpLen = total - hl
		off += hl
	case EtherTypeIPv6:
		ip, err := ParseIPv6(data[off:], off)
		if err != nil {
			return err
		}
		s.IPVersion, s.IPOffset, s.IPv6 = 6, off, ip
		s.TTL, s.ECN = ip.HopLimit(), ip.ECN()
		chain, err := ip.Walk(off)
		s.IPv6Chain = chain
		if err != nil {
			return err
		}
		if chain.Fragment && chain.FragOffset != 0 {
			if chain.Upper == ProtoTCP {
				return ErrFragment
			}
			return ErrNotTCP
		}
		if chain.Upper != ProtoTCP {
			return ErrNotTCP
		}
		s.Fragment = chain.MoreFrags
		payload := int(ip.PayloadLength())
		switch {
		case payload == 0 && chain.Jumbo != 0:
			payload = int(chain.Jumbo)
		case payload == 0:
			payload = wireAtIP - IPv6HeaderLen
			s.IPLenFixed = true
		}
		s.Src = netip.AddrPortFrom(ip.Src(), 0)
		s.Dst = netip.AddrPortFrom(ip.Dst(), 0)
		tcpLen = payload - (chain.UpperOff - IPv6HeaderLen)
		if tcpLen < 0 {
			return errorf("ipv6", off+4, "payload length %d is shorter than its extension headers", payload)
		}
		off += chain.UpperOff
	default:
		return ErrNotTCP
	}
	if off > len(data) {
		// An IPv6 extension header ran past the capture.
		return errorf("tcp", len(data), "no TCP header captured: it would start at byte %d", off)
	}
	// An IP length beyond what the frame held on the wire is a lie (a
	// corrupt or forged header): those bytes never existed. Like tshark,
	// count only what was on the wire.
	if onWire := f.Length - off; tcpLen > onWire && onWire >= 0 {
		tcpLen = onWire
		s.IPLenBeyondFrame = true
	}
	if tcpLen < TCPMinHeaderLen {
		return errorf("tcp", off, "the IP length leaves %d bytes for TCP, the header needs %d", tcpLen, TCPMinHeaderLen)
	}
	// Bytes past the IP length are link padding, not TCP.
	end := min(len(data), off+tcpLen)
	tcp, err := ParseTCP(data[off:end], off)
	if err != nil {
		return err
	}
	s.TCPOffset, s.TCP = off, tcp
	s.Src = netip.AddrPortFrom(s.Src.Addr(), tcp.SrcPort())
	s.Dst = netip.AddrPortFrom(s.Dst.Addr(), tcp.DstPort())
	if locateOnly {
		return nil
	}
	s.Seq, s.Ack, s.Flags = tcp.Seq(), tcp.Ack(), tcp.Flags()
	s.Window, s.Urgent = tcp.Window(), tcp.Urgent()
	hl := tcp.HeaderLen()
	s.HeaderLen = hl
	switch {
	case hl < TCPMinHeaderLen:
		return errorf("tcp", off+12, "data offset %d words < minimum 5", int(tcp.DataOffset()))
	case hl > tcpLen && s.Fragment:
		return errorf("tcp", off+12, "header length %d exceeds the %d bytes of this first IP fragment", hl, tcpLen)
	case hl > tcpLen:
		return errorf("tcp", off+12, "header length %d exceeds the segment length %d the IP header gives", hl, tcpLen)
	}
	s.PayloadLen = tcpLen - hl
	if hl <= len(tcp) {
		s.Payload = tcp[hl:]
		s.TCP = tcp[:hl]
	}
	err = ParseOptions(tcp.Options(), off+TCPMinHeaderLen, &s.Options)
	if hl > len(tcp) {
		// The snaplen cut the options: an option that seems to overrun
		// the area ran into the cut, and says nothing about the sender.
		// Options keeps those captured whole.
		return errorf("tcp", off+len(tcp), "options cut short by the capture: %d of %d header bytes", len(tcp), hl)
	}
	return err
}

// Place is what a frame holds for the connection table, as Decode finds it.
type Place uint8

const (
	// NoSegment: no TCP header, Decode fails before it finds one (not
	// TCP, or a frame malformed below TCP).
	NoSegment Place = iota
	// AtSegment: a TCP header, whose addresses and ports Decode gives the
	// segment even if something after them is malformed.
	AtSegment
	// AtFragment: an IP fragment of a TCP datagram (the first or a
	// later one), which is analysed once its datagram is whole.
	AtFragment
)

// Locate finds a frame's TCP segment and its endpoints as Decode does, at
// a fraction of the cost: the link and IP headers and the TCP ports, no
// more. It is how the analysis spread over cores deals each frame to the
// core that holds its connection before any core decodes it: a frame
// Decode makes a segment of is AtSegment with the same Src and Dst, by
// construction (both run the same code up to there), and a fragment is
// AtFragment exactly when Decode calls it one. s is scratch, reused from
// frame to frame: only Src, Dst, IPVersion, IPID and Flags mean something
// after it (what the analysis learns of a host across connections), and
// only for AtSegment.
func Locate(f *pcap.Frame, s *Segment) Place {
	if p, ok := locateFast(f, s); ok {
		return p
	}
	s.Link = Link{}
	s.TCP, s.Fragment, s.IPID = nil, false, 0
	err := decode(f, s, true)
	switch {
	case s.Fragment || err == ErrFragment:
		return AtFragment
	case s.TCP != nil:
		s.Flags = s.TCP.Flags()
		return AtSegment
	}
	return NoSegment
}

// locateFast is Locate for the frames most captures are made of: TCP in
// IPv4 without options or in IPv6 without extension headers, on Ethernet
// without VLAN tags, neither fragmented, its lengths set and its header
// whole. For those Decode's checks all pass and come down to the few
// below; anything else it leaves to locate (ok false). The fuzz test holds
// Locate to Decode, this path included.
func locateFast(f *pcap.Frame, s *Segment) (Place, bool) {
	d := f.Data
	if f.Link != pcap.LinkEthernet || len(d) < ethernetHeaderLen+ipv4MinHeaderLen+TCPMinHeaderLen {
		return NoSegment, false
	}
	switch binary.BigEndian.Uint16(d[12:]) {
	case EtherTypeIPv4:
		const at = ethernetHeaderLen + ipv4MinHeaderLen // TCP
		total := int(binary.BigEndian.Uint16(d[16:]))
		if d[14] != 0x45 || d[23] != ProtoTCP || d[20]&0x3f != 0 || d[21] != 0 ||
			total < ipv4MinHeaderLen+TCPMinHeaderLen || f.Length < at+TCPMinHeaderLen {
			return NoSegment, false
		}
		s.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(d[26:30])), binary.BigEndian.Uint16(d[at:]))
		s.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(d[30:34])), binary.BigEndian.Uint16(d[at+2:]))
		s.IPVersion, s.IPID, s.Flags = 4, binary.BigEndian.Uint16(d[18:]), TCP(d[at:]).Flags()
		return AtSegment, true
	case EtherTypeIPv6:
		const at = ethernetHeaderLen + IPv6HeaderLen // TCP
		if len(d) < at+TCPMinHeaderLen || d[14]>>4 != 6 || d[20] != ProtoTCP ||
			binary.BigEndian.Uint16(d[18:]) < TCPMinHeaderLen || f.Length < at+TCPMinHeaderLen {
			return NoSegment, false
		}
		s.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(d[22:38])), binary.BigEndian.Uint16(d[at:]))
		s.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(d[38:54])), binary.BigEndian.Uint16(d[at+2:]))
		s.IPVersion, s.IPID, s.Flags = 6, 0, TCP(d[at:]).Flags()
		return AtSegment, true
	}
	return NoSegment, false
}
