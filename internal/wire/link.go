package wire

import (
	"encoding/binary"

	"github.com/tcplens/tcplens/internal/pcap"
)

// EtherTypes of the network protocols tcplens follows, of VLAN tags, and
// of the encapsulations it looks through.
const (
	EtherTypeIPv4      = 0x0800
	EtherTypeIPv6      = 0x86DD
	EtherTypeVLAN      = 0x8100 // IEEE 802.1Q
	EtherTypeQinQ      = 0x88A8 // IEEE 802.1ad
	EtherTypeVLAN9100  = 0x9100 // pre-standard QinQ
	EtherTypeVLAN9200  = 0x9200
	EtherTypeMPLS      = 0x8847 // MPLS unicast (RFC 3032)
	EtherTypeMPLSMulti = 0x8848 // MPLS multicast (RFC 5332)
	EtherTypePPPoE     = 0x8864 // PPPoE session stage (RFC 2516)
	maxEthernetLength  = 1500   // a type field at or below this is an 802.3 length
	ethernetHeaderLen  = 14
	sllHeaderLen       = 16
	sll2HeaderLen      = 20
	nullHeaderLen      = 4
	vlanTagLen         = 4
	sllHATypeRadiotap  = 803
	sllProto8022       = 0x0004 // Linux ETH_P_802_2: an 802.2 LLC frame follows
	bsdFamilyInet      = 2
	bsdFamilyInet6BSD  = 24
	bsdFamilyInet6Free = 28
	bsdFamilyInet6Dar  = 30
	linuxFamilyInet6   = 10
	solarisFamilyInet6 = 26
)

// SLL packet types (the sll_pkttype of Linux cooked captures).
const (
	PacketHost      = 0 // addressed to this host
	PacketBroadcast = 1
	PacketMulticast = 2
	PacketOtherHost = 3 // to another host, seen in promiscuous mode
	PacketOutgoing  = 4 // sent by this host
)

// MaxVLANs is how many VLAN tags Link records; deeper stacks are counted.
const MaxVLANs = 4

// MaxEncaps is how many encapsulations Link records; more are counted.
const MaxEncaps = 8

// EncapKind names a header a frame crosses between its link-layer header
// and IP.
type EncapKind uint8

// Encapsulations. The link type's own header comes before them; each is
// read at its offset in the frame.
const (
	EncapNone     EncapKind = iota
	EncapEthernet           // an Ethernet header inside another (Juniper, netANALYZER); its VLAN tags are Link's
	EncapLLC                // IEEE 802.2 LLC: DSAP, SSAP, control
	EncapSNAP               // SNAP (RFC 1042): OUI and EtherType
	EncapMPLS               // one MPLS label stack entry (RFC 3032)
	EncapPPPoE              // a PPPoE session header (RFC 2516)
	EncapPPP                // PPP: address and control (optional) and protocol (RFC 1661)
	EncapCHDLC              // Cisco HDLC: address, control, EtherType
	Encap80211              // an IEEE 802.11 MAC header, padding included
)

var encapNames = [...]string{"none", "ethernet", "llc", "snap", "mpls", "pppoe", "ppp", "chdlc", "802.11"}

func (k EncapKind) String() string {
	if int(k) < len(encapNames) {
		return encapNames[k]
	}
	return "encap"
}

// Encap is one encapsulation crossed: its kind, where it starts and how
// long it is.
type Encap struct {
	Kind   EncapKind
	Len    uint8
	Offset uint32
}

// Link is what the link-layer header says about a frame.
type Link struct {
	Type       pcap.LinkType
	HeaderLen  int    // bytes before the network-layer header, VLAN tags and encapsulations included
	EtherType  uint16 // the final type field; for links that name the network protocol otherwise (families, PPP protocols, MPLS) the EtherType of IPv4 or IPv6; 0 for none
	NumVLANs   int    // VLAN tags crossed
	VLANs      [MaxVLANs]uint16
	VLANTypes  [MaxVLANs]uint16 // the tag protocol identifier of each tag
	PacketType uint16           // SLL and SLL2 packet type (PacketHost, PacketOutgoing …)
	IfIndex    uint32           // SLL2 interface index
	HAType     uint16           // SLL and SLL2 ARPHRD_ type of the interface
	Family     uint32           // address family of BSD loopback, pflog, enc, ipnet and NFLOG, normalised to host order
	NumEncaps  int              // encapsulations crossed after the link type's own header
	Encaps     [MaxEncaps]Encap
	// End is where the link layer says the packet ends (an 802.3 length,
	// a PPPoE length, an NFLOG payload's): bytes beyond it are padding.
	// 0 if it says nothing.
	End int
	// FCSLen is the bytes of frame check sequence at the end of the
	// frame that the link header announces (radiotap).
	FCSLen int
}

// VLAN returns the VLAN id (the low 12 bits of the TCI) of tag i.
func (l *Link) VLAN(i int) uint16 { return l.VLANs[i] & 0x0fff }

// Base is the length of the link type's own header: where the first
// encapsulation, or else the VLAN tags or the network layer, starts.
func (l *Link) Base() int {
	if l.NumEncaps > 0 {
		return int(l.Encaps[0].Offset)
	}
	return l.HeaderLen
}

// WireEnd is the end of the packet on the wire, for a frame of wire
// length n: before its FCS and link padding.
func (l *Link) WireEnd(n int) int {
	n -= l.FCSLen
	if l.End > 0 && l.End < n {
		n = l.End
	}
	return n
}

// ParseLink decodes the link-layer header of a frame of type t, and the
// encapsulations after it. A frame whose link layer is intact but carries
// no IP returns EtherType 0 (or the EtherType it does carry) and no error.
func ParseLink(t pcap.LinkType, data []byte) (Link, error) {
	var l Link
	err := parseLink(t, data, &l)
	return l, err
}

// parseLink is ParseLink into a zero Link of the caller's: Decode fills
// the Segment's, which it has just zeroed, rather than copy it twice per
// frame.
func parseLink(t pcap.LinkType, data []byte, l *Link) error {
	l.Type = t
	if len(data) == 0 {
		return errNoBytes
	}
	switch t {
	case pcap.LinkEthernet:
		if len(data) >= ethernetHeaderLen {
			// Nearly every frame: an untagged IP frame, decoded here
			// rather than through a call, which costs a tenth of Decode.
			if typ := binary.BigEndian.Uint16(data[12:]); typ == EtherTypeIPv4 || typ == EtherTypeIPv6 {
				l.HeaderLen, l.EtherType = ethernetHeaderLen, typ
				return nil
			}
		}
		return l.ethernet(data, 0)
	case pcap.LinkSLL, pcap.LinkSLL2:
		return l.sll(t, data)
	case pcap.LinkNull, pcap.LinkLoop:
		if len(data) < nullHeaderLen {
			return errorf("loopback", 0, "frame is %d bytes, the header needs %d", len(data), nullHeaderLen)
		}
		// The family is in the writer's byte order (NULL) or network order
		// (LOOP); a value with upper bits set is the other order.
		l.Family = eitherOrder(binary.LittleEndian.Uint32(data))
		l.HeaderLen = nullHeaderLen
		l.EtherType = bsdFamily(l.Family)
	case pcap.LinkRaw, pcap.LinkRaw12, pcap.LinkRaw14:
		l.EtherType = ipVersion(data, 0)
	case pcap.LinkIPv4:
		l.EtherType = EtherTypeIPv4
	case pcap.LinkIPv6:
		l.EtherType = EtherTypeIPv6
	default:
		return l.other(t, data)
	}
	return nil
}

// ethernet decodes an Ethernet header at off, its VLAN tags and what
// follows: an EtherType, or an 802.3 length and an LLC header.
func (l *Link) ethernet(data []byte, off int) error {
	if len(data) < off+ethernetHeaderLen {
		return errorf("ethernet", off, "frame is %d bytes, the header needs %d", len(data)-off, ethernetHeaderLen)
	}
	typ, off, err := l.vlans(data, binary.BigEndian.Uint16(data[off+12:]), off+ethernetHeaderLen, isVLAN)
	if err != nil {
		return err
	}
	if typ <= maxEthernetLength {
		// IEEE 802.3: a length, then an 802.2 LLC header.
		l.setEnd(off + int(typ))
		return l.llc(data, off)
	}
	return l.etherType(data, off, typ)
}

// vlans reads the VLAN tags that a type field typ announces, the first
// at off; it returns the final type and the offset after the tags.
func (l *Link) vlans(data []byte, typ uint16, off int, tag func(uint16) bool) (uint16, int, error) {
	for tag(typ) {
		if len(data) < off+vlanTagLen {
			return 0, 0, errorf("802.1q", off, "VLAN tag needs %d bytes, %d captured", vlanTagLen, len(data)-off)
		}
		l.addVLAN(typ, binary.BigEndian.Uint16(data[off:]))
		typ = binary.BigEndian.Uint16(data[off+2:])
		off += vlanTagLen
	}
	return typ, off, nil
}

func isDot1Q(typ uint16) bool { return typ == EtherTypeVLAN }

// sll decodes a Linux cooked capture header, v1 or v2.
func (l *Link) sll(t pcap.LinkType, data []byte) error {
	name, hl, protoOff := "sll", sllHeaderLen, 14
	if t == pcap.LinkSLL2 {
		name, hl, protoOff = "sll2", sll2HeaderLen, 0
	}
	if len(data) < hl {
		return errorf(name, 0, "frame is %d bytes, the header needs %d", len(data), hl)
	}
	if t == pcap.LinkSLL {
		l.PacketType = binary.BigEndian.Uint16(data[0:])
		l.HAType = binary.BigEndian.Uint16(data[2:])
	} else {
		l.IfIndex = binary.BigEndian.Uint32(data[4:])
		l.HAType = binary.BigEndian.Uint16(data[8:])
		l.PacketType = uint16(data[10])
	}
	// Linux cooked captures carry only 802.1Q tags in this field; the
	// kernel has already stripped a hardware-accelerated outer tag. The
	// tags follow the header.
	typ, off, err := l.vlans(data, binary.BigEndian.Uint16(data[protoOff:]), hl, isDot1Q)
	if err != nil {
		return err
	}
	l.HeaderLen = off
	switch {
	case l.HAType == sllHATypeRadiotap:
		// An 802.11 frame with its radiotap header: the protocol field
		// says nothing of it.
		return nil
	case typ == sllProto8022:
		return l.llc(data, off)
	case typ > maxEthernetLength:
		return l.etherType(data, off, typ)
	}
	return nil
}

// etherType follows an EtherType at off: IP, or an MPLS label stack, or a
// PPPoE session; anything else is recorded as it is.
func (l *Link) etherType(data []byte, off int, typ uint16) error {
	l.HeaderLen = off
	switch typ {
	case EtherTypeMPLS, EtherTypeMPLSMulti:
		return l.mpls(data, off)
	case EtherTypePPPoE:
		return l.pppoe(data, off)
	}
	l.EtherType = typ
	return nil
}

// llc decodes an IEEE 802.2 LLC header at off and, for SNAP, the SNAP
// header: RFC 1042 (OUI 00-00-00) and 802.1H (00-00-F8) carry an
// EtherType. IP straight over LLC (SAP 6) is IPv4.
func (l *Link) llc(data []byte, off int) error {
	l.HeaderLen = off
	if len(data) < off+3 {
		return errorf("llc", off, "LLC header needs 3 bytes, %d captured", len(data)-off)
	}
	l.addEncap(EncapLLC, off, 3)
	l.HeaderLen = off + 3
	dsap, ssap, ctl := data[off], data[off+1], data[off+2]
	switch {
	case dsap == 0xaa && ssap == 0xaa && ctl == 0x03:
		off += 3
		if len(data) < off+5 {
			return errorf("snap", off, "SNAP header needs 5 bytes, %d captured", len(data)-off)
		}
		l.addEncap(EncapSNAP, off, 5)
		l.HeaderLen = off + 5
		oui := uint32(data[off])<<16 | uint32(data[off+1])<<8 | uint32(data[off+2])
		if oui == 0x000000 || oui == 0x0000f8 {
			return l.etherType(data, off+5, binary.BigEndian.Uint16(data[off+3:]))
		}
	case dsap == 0x06 && ssap == 0x06 && ctl == 0x03:
		l.EtherType = EtherTypeIPv4
	}
	return nil
}

// mpls decodes an MPLS label stack at off. MPLS does not say what is under
// the stack; as tcpdump and Wireshark do, the explicit null labels (0 for
// IPv4, 2 for IPv6) and otherwise the first byte decide.
func (l *Link) mpls(data []byte, off int) error {
	for {
		if len(data) < off+4 {
			return errorf("mpls", off, "label stack entry needs 4 bytes, %d captured", len(data)-off)
		}
		entry := binary.BigEndian.Uint32(data[off:])
		l.addEncap(EncapMPLS, off, 4)
		off += 4
		l.HeaderLen = off
		if entry&0x100 == 0 {
			continue
		}
		switch label := entry >> 12; {
		case label == 0:
			l.EtherType = EtherTypeIPv4
		case label == 2:
			l.EtherType = EtherTypeIPv6
		case off < len(data) && data[off] >= 0x45 && data[off] <= 0x4f:
			l.EtherType = EtherTypeIPv4
		case off < len(data) && data[off]>>4 == 6:
			l.EtherType = EtherTypeIPv6
		}
		return nil
	}
}

// pppoe decodes a PPPoE session header at off and the PPP protocol after
// it. Only session data (code 0) carries IP.
func (l *Link) pppoe(data []byte, off int) error {
	if len(data) < off+6 {
		return errorf("pppoe", off, "header needs 6 bytes, %d captured", len(data)-off)
	}
	l.addEncap(EncapPPPoE, off, 6)
	l.HeaderLen = off + 6
	if data[off+1] != 0 {
		return nil // discovery: PADI, PADO, …
	}
	l.setEnd(off + 6 + int(binary.BigEndian.Uint16(data[off+4:])))
	return l.ppp(data, off+6, pppAny)
}

// PPP protocol numbers (RFC 1332, RFC 5072, RFC 3032) tcplens follows.
const (
	PPPIPv4      = 0x0021
	PPPIPv6      = 0x0057
	PPPMPLS      = 0x0281
	PPPMPLSMulti = 0x0283
)

// pppFraming says how a PPP header is framed.
type pppFraming uint8

const (
	// pppAny: the address and control bytes FF 03 when present (RFC 1661
	// 6.6 lets them be left out), then the protocol, one byte when
	// compressed (an odd first byte, RFC 1661 6.5).
	pppAny pppFraming = iota
	// pppHDLC: HDLC-like framing (RFC 1662): address and control always,
	// a protocol of two bytes.
	pppHDLC
)

// ppp decodes a PPP header at off. Like tcpdump, the EtherTypes of IP and
// MPLS are taken as their PPP protocols.
func (l *Link) ppp(data []byte, off int, framing pppFraming) error {
	start := off
	if framing == pppHDLC {
		if len(data) < off+2 {
			return errorf("ppp", off, "address and control need 2 bytes, %d captured", len(data)-off)
		}
		off += 2
	} else if len(data) >= off+2 && data[off] == 0xff && data[off+1] == 0x03 {
		off += 2
	}
	if len(data) < off+1 {
		return errorf("ppp", off, "no protocol field captured")
	}
	var proto uint16
	if framing == pppAny && data[off]&1 == 1 {
		proto = uint16(data[off])
		off++
	} else {
		if len(data) < off+2 {
			return errorf("ppp", off, "protocol field needs 2 bytes, %d captured", len(data)-off)
		}
		proto = binary.BigEndian.Uint16(data[off:])
		off += 2
	}
	l.addEncap(EncapPPP, start, off-start)
	l.HeaderLen = off
	switch proto {
	case PPPIPv4, EtherTypeIPv4:
		l.EtherType = EtherTypeIPv4
	case PPPIPv6, EtherTypeIPv6:
		l.EtherType = EtherTypeIPv6
	case PPPMPLS, PPPMPLSMulti, EtherTypeMPLS, EtherTypeMPLSMulti:
		return l.mpls(data, off)
	}
	return nil
}

// chdlc decodes a Cisco HDLC header at off: address (0x0F unicast, 0x8F
// broadcast), control, and an EtherType.
func (l *Link) chdlc(data []byte, off int) error {
	if len(data) < off+4 {
		return errorf("chdlc", off, "header needs 4 bytes, %d captured", len(data)-off)
	}
	l.addEncap(EncapCHDLC, off, 4)
	typ := binary.BigEndian.Uint16(data[off+2:])
	if typ == EtherTypeMPLS || typ == EtherTypeMPLSMulti {
		l.HeaderLen = off + 4
		return l.mpls(data, off+4)
	}
	l.HeaderLen = off + 4
	l.EtherType = typ
	return nil
}

// errNoBytes is the error of a frame that captured nothing: one value, so
// that a file of millions of empty records allocates nothing for them.
var errNoBytes = &Error{Layer: "frame", format: "no bytes captured"}

func isVLAN(typ uint16) bool {
	switch typ {
	case EtherTypeVLAN, EtherTypeQinQ, EtherTypeVLAN9100, EtherTypeVLAN9200:
		return true
	}
	return false
}

func (l *Link) addVLAN(tpid, tci uint16) {
	if l.NumVLANs < MaxVLANs {
		l.VLANs[l.NumVLANs] = tci
		l.VLANTypes[l.NumVLANs] = tpid
	}
	l.NumVLANs++
}

func (l *Link) addEncap(k EncapKind, off, n int) {
	if l.NumEncaps < MaxEncaps {
		l.Encaps[l.NumEncaps] = Encap{Kind: k, Len: uint8(n), Offset: uint32(off)}
	}
	l.NumEncaps++
}

// setEnd records where a length field says the packet ends; an inner
// length never extends an outer one.
func (l *Link) setEnd(end int) {
	if l.End == 0 || end < l.End {
		l.End = end
	}
}

// ipVersion is the EtherType of the IP version whose header starts at off,
// or 0.
func ipVersion(data []byte, off int) uint16 {
	if off < len(data) {
		switch data[off] >> 4 {
		case 4:
			return EtherTypeIPv4
		case 6:
			return EtherTypeIPv6
		}
	}
	return 0
}

// bsdFamily is the EtherType of a BSD address family: AF_INET is 2
// everywhere, AF_INET6 24, 28 or 30 depending on the BSD.
func bsdFamily(fam uint32) uint16 {
	switch fam {
	case bsdFamilyInet:
		return EtherTypeIPv4
	case bsdFamilyInet6BSD, bsdFamilyInet6Free, bsdFamilyInet6Dar:
		return EtherTypeIPv6
	}
	return 0
}

// eitherOrder reads a small 32-bit value written in either byte order:
// one with upper bits set is the other order.
func eitherOrder(v uint32) uint32 {
	if v&0xffff0000 != 0 {
		return swap32(v)
	}
	return v
}

func swap32(v uint32) uint32 {
	return v>>24 | (v>>8)&0xff00 | (v<<8)&0xff0000 | v<<24
}
