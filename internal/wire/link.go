package wire

import (
	"encoding/binary"

	"github.com/tcplens/tcplens/internal/pcap"
)

// EtherTypes of the network protocols tcplens follows, and of VLAN tags.
const (
	EtherTypeIPv4      = 0x0800
	EtherTypeIPv6      = 0x86DD
	EtherTypeVLAN      = 0x8100 // IEEE 802.1Q
	EtherTypeQinQ      = 0x88A8 // IEEE 802.1ad
	EtherTypeVLAN9100  = 0x9100 // pre-standard QinQ
	EtherTypeVLAN9200  = 0x9200
	maxEthernetLength  = 1500 // a type field at or below this is an 802.3 length
	ethernetHeaderLen  = 14
	sllHeaderLen       = 16
	sll2HeaderLen      = 20
	nullHeaderLen      = 4
	vlanTagLen         = 4
	sllHATypeRadiotap  = 803
	bsdFamilyInet      = 2
	bsdFamilyInet6BSD  = 24
	bsdFamilyInet6Free = 28
	bsdFamilyInet6Dar  = 30
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

// Link is what the link-layer header says about a frame.
type Link struct {
	Type       pcap.LinkType
	HeaderLen  int    // bytes before the network-layer header, VLAN tags included
	EtherType  uint16 // the final type field; for loopback and raw IP the EtherType of the family or version; 0 for none (802.3 length, unknown family)
	NumVLANs   int    // VLAN tags crossed
	VLANs      [MaxVLANs]uint16
	VLANTypes  [MaxVLANs]uint16 // the tag protocol identifier of each tag
	PacketType uint16           // SLL and SLL2 packet type (PacketHost, PacketOutgoing …)
	IfIndex    uint32           // SLL2 interface index
	HAType     uint16           // SLL and SLL2 ARPHRD_ type of the interface
	Family     uint32           // BSD loopback address family, normalised to host order
}

// VLAN returns the VLAN id (the low 12 bits of the TCI) of tag i.
func (l *Link) VLAN(i int) uint16 { return l.VLANs[i] & 0x0fff }

// ParseLink decodes the link-layer header of a frame of type t. A frame
// whose link layer is intact but carries no IP returns EtherType 0 and no
// error.
func ParseLink(t pcap.LinkType, data []byte) (Link, error) {
	var l Link
	err := parseLink(t, data, &l)
	return l, err
}

// parseLink is ParseLink into a zero Link of the caller's: Decode fills
// the Segment's, which it has just zeroed, rather than copy 64 bytes twice
// per frame.
func parseLink(t pcap.LinkType, data []byte, l *Link) error {
	l.Type = t
	if len(data) == 0 {
		return errNoBytes
	}
	switch t {
	case pcap.LinkEthernet:
		if len(data) < ethernetHeaderLen {
			return errorf("ethernet", 0, "frame is %d bytes, the header needs %d", len(data), ethernetHeaderLen)
		}
		typ := binary.BigEndian.Uint16(data[12:])
		off := ethernetHeaderLen
		for isVLAN(typ) {
			if len(data) < off+vlanTagLen {
				return errorf("802.1q", off, "VLAN tag needs %d bytes, %d captured", vlanTagLen, len(data)-off)
			}
			l.addVLAN(typ, binary.BigEndian.Uint16(data[off:]))
			typ = binary.BigEndian.Uint16(data[off+2:])
			off += vlanTagLen
		}
		l.HeaderLen = off
		if typ > maxEthernetLength {
			l.EtherType = typ
		}
	case pcap.LinkSLL, pcap.LinkSLL2:
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
		typ := binary.BigEndian.Uint16(data[protoOff:])
		off := hl
		// Linux cooked captures carry only 802.1Q tags in this field; the
		// kernel has already stripped a hardware-accelerated outer tag.
		for typ == EtherTypeVLAN {
			if len(data) < off+vlanTagLen {
				return errorf("802.1q", off, "VLAN tag needs %d bytes, %d captured", vlanTagLen, len(data)-off)
			}
			l.addVLAN(typ, binary.BigEndian.Uint16(data[off:]))
			typ = binary.BigEndian.Uint16(data[off+2:])
			off += vlanTagLen
		}
		l.HeaderLen = off
		if l.HAType != sllHATypeRadiotap && typ > maxEthernetLength {
			l.EtherType = typ
		}
	case pcap.LinkNull, pcap.LinkLoop:
		if len(data) < nullHeaderLen {
			return errorf("loopback", 0, "frame is %d bytes, the header needs %d", len(data), nullHeaderLen)
		}
		// The family is in the writer's byte order (NULL) or network order
		// (LOOP); a value with upper bits set is the other order.
		fam := binary.LittleEndian.Uint32(data)
		if fam&0xffff0000 != 0 {
			fam = swap32(fam)
		}
		l.Family = fam
		l.HeaderLen = nullHeaderLen
		switch fam {
		case bsdFamilyInet:
			l.EtherType = EtherTypeIPv4
		case bsdFamilyInet6BSD, bsdFamilyInet6Free, bsdFamilyInet6Dar:
			l.EtherType = EtherTypeIPv6
		}
	case pcap.LinkRaw, pcap.LinkRaw12, pcap.LinkRaw14:
		switch data[0] >> 4 {
		case 4:
			l.EtherType = EtherTypeIPv4
		case 6:
			l.EtherType = EtherTypeIPv6
		}
	case pcap.LinkIPv4:
		l.EtherType = EtherTypeIPv4
	case pcap.LinkIPv6:
		l.EtherType = EtherTypeIPv6
	}
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

func swap32(v uint32) uint32 {
	return v>>24 | (v>>8)&0xff00 | (v<<8)&0xff0000 | v<<24
}
