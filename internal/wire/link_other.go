package wire

import (
	"encoding/binary"

	"github.com/tcplens/tcplens/internal/pcap"
)

// Header lengths of the link types whose header is of fixed size.
const (
	slipHeaderLen      = 16 // direction and the compressed-TCP state of CSLIP
	fddiHeaderLen      = 13 // frame control, destination, source
	tokenRingHeaderLen = 14 // access control, frame control, destination, source
	ipfcHeaderLen      = 16 // destination and source network addresses
	sunATMHeaderLen    = 4  // flags and traffic type, VPI, VCI
	ap1394HeaderLen    = 18 // destination and source EUI-64, EtherType
	ipoibHeaderLen     = 44 // 40 bytes of addresses, EtherType, reserved
	encHeaderLen       = 12 // address family, SPI, flags
	ipnetHeaderLen     = 24 // version, family, hardware type, length, interfaces, zones
	nflogHeaderLen     = 4  // family, version, resource id
	netAnalyzerLen     = 4  // the netANALYZER header
	netAnalyzerPreLen  = 8  // preamble and start-of-frame delimiter, in transparent mode
	pflogMinHeaderLen  = 45 // OpenBSD's PFLOG_REAL_HDRLEN before the rule fields grew
	juniperCookieLen   = 4  // "MGC" and flags
	sunATMTypeLLC      = 2  // SunATM traffic type: LLC-encapsulated
	nflogTypePayload   = 9  // NFULA_PAYLOAD
	juniperFlagExt     = 0x80
	juniperFlagNoL2    = 0x40
	tokenRingRouted    = 0x80 // the route information indicator: a bit of the source address
	fddiFCLLC          = 0x50 // FDDI frame control: an asynchronous LLC frame
	tokenRingFCLLC     = 0x40 // Token Ring frame control: an LLC frame
	frameRelayControl  = 0x03 // Q.922 UI
	nlpidIPv4          = 0xcc
	nlpidIPv6          = 0x8e
	ipnetFamilyInet    = 2
	linuxFamilyInet    = 2
	ipnetFamilyInet6   = solarisFamilyInet6
	pppAddress         = 0xff
	chdlcUnicast       = 0x0f
	chdlcBroadcast     = 0x8f
	prismHeaderLen     = 144
	avsCookieV1        = 0x80211001
	avsCookieV2        = 0x80211002
	wlanTypeData       = 2
	radiotapFlagFCS    = 0x10
	radiotapFlagPad    = 0x20
	radiotapFlagsBit   = 1
	radiotapTSFTBit    = 0
	radiotapExtBit     = 31
	ieee80211HeaderLen = 24
)

// other decodes the link types beyond Ethernet, Linux cooked captures,
// loopback and raw IP.
func (l *Link) other(t pcap.LinkType, data []byte) error {
	switch t {
	case pcap.LinkPPP:
		return l.ppp(data, 0, pppAny)
	case pcap.LinkPPPHDLC:
		// PPP in HDLC framing, or Cisco HDLC, as the first byte says.
		if data[0] == chdlcUnicast || data[0] == chdlcBroadcast {
			return l.chdlc(data, 0)
		}
		if data[0] != pppAddress {
			return nil // neither: tcpdump says "unknown addr"
		}
		return l.ppp(data, 0, pppHDLC)
	case pcap.LinkPPPoE:
		return l.pppoe(data, 0)
	case pcap.LinkCHDLC:
		return l.chdlc(data, 0)
	case pcap.LinkATMRFC1483:
		return l.llc(data, 0)
	case pcap.LinkSLIP:
		if len(data) < slipHeaderLen {
			return errorf("slip", 0, "frame is %d bytes, the header needs %d", len(data), slipHeaderLen)
		}
		l.HeaderLen = slipHeaderLen
		l.EtherType = ipVersion(data, slipHeaderLen)
	case pcap.LinkFDDI:
		if len(data) < fddiHeaderLen {
			return errorf("fddi", 0, "frame is %d bytes, the header needs %d", len(data), fddiHeaderLen)
		}
		l.HeaderLen = fddiHeaderLen
		if data[0]&0xf0 == fddiFCLLC {
			return l.llc(data, fddiHeaderLen)
		}
	case pcap.LinkTokenRing:
		return l.tokenRing(data)
	case pcap.LinkIPOverFC:
		return l.fixedThenLLC("ip over fc", data, ipfcHeaderLen)
	case pcap.LinkSunATM:
		if len(data) < sunATMHeaderLen {
			return errorf("sunatm", 0, "frame is %d bytes, the header needs %d", len(data), sunATMHeaderLen)
		}
		l.HeaderLen = sunATMHeaderLen
		if data[0]&0x0f == sunATMTypeLLC {
			return l.llc(data, sunATMHeaderLen)
		}
	case pcap.LinkAppleIP1394:
		if len(data) < ap1394HeaderLen {
			return errorf("ap1394", 0, "frame is %d bytes, the header needs %d", len(data), ap1394HeaderLen)
		}
		return l.etherType(data, ap1394HeaderLen, binary.BigEndian.Uint16(data[16:]))
	case pcap.LinkIPoIB:
		if len(data) < ipoibHeaderLen {
			return errorf("ipoib", 0, "frame is %d bytes, the header needs %d", len(data), ipoibHeaderLen)
		}
		return l.etherType(data, ipoibHeaderLen, binary.BigEndian.Uint16(data[40:]))
	case pcap.LinkFrameRelay:
		return l.frameRelay(data)
	case pcap.LinkENC:
		if len(data) < encHeaderLen {
			return errorf("enc", 0, "frame is %d bytes, the header needs %d", len(data), encHeaderLen)
		}
		// The family and flags are in the writer's byte order.
		l.Family = eitherOrder(binary.LittleEndian.Uint32(data))
		l.HeaderLen = encHeaderLen
		l.EtherType = bsdFamily(l.Family)
	case pcap.LinkPFLOG:
		return l.pflog(data)
	case pcap.LinkIPNET:
		if len(data) < ipnetHeaderLen {
			return errorf("ipnet", 0, "frame is %d bytes, the header needs %d", len(data), ipnetHeaderLen)
		}
		l.Family = uint32(data[1])
		l.HeaderLen = ipnetHeaderLen
		switch l.Family {
		case ipnetFamilyInet:
			l.EtherType = EtherTypeIPv4
		case ipnetFamilyInet6:
			l.EtherType = EtherTypeIPv6
		}
	case pcap.LinkNFLOG:
		return l.nflog(data)
	case pcap.LinkJuniperEther:
		return l.juniper(data)
	case pcap.LinkNetAnalyzer, pcap.LinkNetAnalyzerTransparent:
		n := netAnalyzerLen
		if t == pcap.LinkNetAnalyzerTransparent {
			n += netAnalyzerPreLen
		}
		if len(data) < n {
			return errorf("netanalyzer", 0, "frame is %d bytes, the header needs %d", len(data), n)
		}
		l.addEncap(EncapEthernet, n, ethernetHeaderLen)
		return l.ethernet(data, n)
	case pcap.LinkIEEE80211:
		return l.ieee80211(data, 0, false)
	case pcap.LinkRadiotap:
		return l.radiotap(data)
	case pcap.LinkPrism:
		// A Prism header, unless it starts with the AVS cookie: Linux
		// uses one ARPHRD type for both.
		if len(data) >= 4 {
			if c := binary.BigEndian.Uint32(data); c == avsCookieV1 || c == avsCookieV2 {
				return l.avs(data)
			}
		}
		if len(data) < prismHeaderLen {
			return errorf("prism", 0, "frame is %d bytes, the header needs %d", len(data), prismHeaderLen)
		}
		return l.ieee80211(data, prismHeaderLen, false)
	case pcap.LinkAVS:
		return l.avs(data)
	}
	return nil
}

// fixedThenLLC decodes a header of n bytes that an LLC header follows.
func (l *Link) fixedThenLLC(name string, data []byte, n int) error {
	if len(data) < n {
		return errorf(name, 0, "frame is %d bytes, the header needs %d", len(data), n)
	}
	l.HeaderLen = n
	return l.llc(data, n)
}

// tokenRing decodes an IEEE 802.5 header with its route information
// field: present when the source address's top bit is set, its length in
// bits 8-12 of the routing control.
func (l *Link) tokenRing(data []byte) error {
	if len(data) < tokenRingHeaderLen {
		return errorf("token ring", 0, "frame is %d bytes, the header needs %d", len(data), tokenRingHeaderLen)
	}
	n := tokenRingHeaderLen
	if data[8]&tokenRingRouted != 0 {
		if len(data) < n+2 {
			return errorf("token ring", n, "route information needs 2 bytes, %d captured", len(data)-n)
		}
		n += int(data[n]) & 0x1f
		if len(data) < n {
			return errorf("token ring", tokenRingHeaderLen, "route information of %d bytes, %d captured", n-tokenRingHeaderLen, len(data)-tokenRingHeaderLen)
		}
	}
	l.HeaderLen = n
	if data[1]&0xc0 == tokenRingFCLLC {
		return l.llc(data, n)
	}
	return nil
}

// frameRelay decodes a Q.922 address (2 to 4 bytes, the last with its EA
// bit set), the UI control byte, an optional pad and the NLPID (RFC 2427).
func (l *Link) frameRelay(data []byte) error {
	n := 0
	for n < 4 && n < len(data) {
		n++
		if data[n-1]&1 == 1 {
			break
		}
	}
	if n < 2 || data[n-1]&1 == 0 {
		return errorf("frame relay", 0, "no Q.922 address of 2 to 4 bytes")
	}
	if len(data) < n+2 {
		return errorf("frame relay", n, "control and NLPID need 2 bytes, %d captured", len(data)-n)
	}
	l.HeaderLen = n + 1
	if data[n] != frameRelayControl {
		return nil
	}
	p := n + 1
	if data[p] == 0 {
		p++ // the pad that aligns what follows
		if len(data) < p+1 {
			return errorf("frame relay", p, "no NLPID captured")
		}
	}
	l.HeaderLen = p + 1
	switch data[p] {
	case nlpidIPv4:
		l.EtherType = EtherTypeIPv4
	case nlpidIPv6:
		l.EtherType = EtherTypeIPv6
	}
	return nil
}

// pflog decodes OpenBSD's pflog header: its length (in its first byte,
// padded to 4 bytes) and the address family.
func (l *Link) pflog(data []byte) error {
	n := (int(data[0]) + 3) &^ 3
	switch {
	case int(data[0]) < pflogMinHeaderLen:
		return errorf("pflog", 0, "header length %d < minimum %d", int(data[0]), pflogMinHeaderLen)
	case len(data) < n:
		return errorf("pflog", 0, "header of %d bytes, %d captured", n, len(data))
	}
	l.Family = uint32(data[1])
	l.HeaderLen = n
	l.EtherType = bsdFamily(l.Family)
	return nil
}

// nflog decodes a Linux NFLOG header and walks its TLVs to the payload.
// The TLV lengths and types are in the writer's byte order; a first
// length that cannot be is taken in the other.
func (l *Link) nflog(data []byte) error {
	if len(data) < nflogHeaderLen {
		return errorf("nflog", 0, "frame is %d bytes, the header needs %d", len(data), nflogHeaderLen)
	}
	l.Family = uint32(data[0])
	var order binary.ByteOrder = binary.LittleEndian
	off := nflogHeaderLen
	if len(data) >= off+4 {
		if n := int(order.Uint16(data[off:])); n < 4 || n > len(data)-off {
			order = binary.BigEndian
		}
	}
	for {
		if len(data) < off+4 {
			l.HeaderLen = off
			return errorf("nflog", off, "TLV header needs 4 bytes, %d captured: no payload TLV", len(data)-off)
		}
		n, typ := int(order.Uint16(data[off:])), order.Uint16(data[off+2:])
		switch {
		case n < 4:
			return errorf("nflog", off, "TLV length %d < minimum 4", n)
		case typ != nflogTypePayload && off+(n+3)&^3 > len(data):
			return errorf("nflog", off, "TLV of %d bytes (padded) runs past the frame's %d", (n+3)&^3, len(data))
		}
		if typ == nflogTypePayload {
			l.HeaderLen = off + 4
			l.setEnd(off + n)
			break
		}
		off += (n + 3) &^ 3
	}
	switch l.Family {
	case linuxFamilyInet:
		l.EtherType = EtherTypeIPv4
	case linuxFamilyInet6:
		l.EtherType = EtherTypeIPv6
	}
	return nil
}

// juniper decodes Juniper's cookie header ("MGC", flags, and when the
// flags say so a length and TLV extensions) and the Ethernet frame after
// it. Without a layer 2 header (a flag) there is no Ethernet frame, and
// what follows is not read.
func (l *Link) juniper(data []byte) error {
	if len(data) < juniperCookieLen {
		return errorf("juniper", 0, "frame is %d bytes, the header needs %d", len(data), juniperCookieLen)
	}
	if data[0] != 'M' || data[1] != 'G' || data[2] != 'C' {
		return errorf("juniper", 0, "no \"MGC\" magic")
	}
	flags := data[3]
	n := juniperCookieLen
	if flags&juniperFlagExt != 0 {
		if len(data) < n+2 {
			return errorf("juniper", n, "extension length needs 2 bytes, %d captured", len(data)-n)
		}
		n += 2 + int(binary.BigEndian.Uint16(data[n:]))
		if len(data) < n {
			return errorf("juniper", juniperCookieLen, "extensions of %d bytes, %d captured", n-juniperCookieLen-2, len(data)-juniperCookieLen-2)
		}
	}
	l.HeaderLen = n
	if flags&juniperFlagNoL2 != 0 {
		return nil
	}
	l.addEncap(EncapEthernet, n, ethernetHeaderLen)
	return l.ethernet(data, n)
}

// radiotap decodes a radiotap header: its length, and the flags that say
// whether the frame ends with its FCS and whether the 802.11 header is
// padded to 32 bits. The flags field is the second of the first presence
// word, after the 8-byte-aligned TSFT when that is present.
func (l *Link) radiotap(data []byte) error {
	if len(data) < 8 {
		return errorf("radiotap", 0, "frame is %d bytes, the header needs 8", len(data))
	}
	n := int(binary.LittleEndian.Uint16(data[2:]))
	if n < 8 || len(data) < n {
		return errorf("radiotap", 2, "header length %d outside [8, %d]", n, len(data))
	}
	present := binary.LittleEndian.Uint32(data[4:])
	off := 8
	for w := present; w&(1<<radiotapExtBit) != 0; off += 4 {
		if off+4 > n {
			return errorf("radiotap", off, "presence bitmaps run past the %d-byte header", n)
		}
		w = binary.LittleEndian.Uint32(data[off:])
	}
	var flags byte
	if present&(1<<radiotapFlagsBit) != 0 {
		if present&(1<<radiotapTSFTBit) != 0 {
			off = (off+7)&^7 + 8
		}
		if off >= n {
			return errorf("radiotap", 4, "the presence words announce a flags field beyond the %d-byte header", n)
		}
		flags = data[off]
	}
	if flags&radiotapFlagFCS != 0 {
		l.FCSLen = 4
	}
	return l.ieee80211(data, n, flags&radiotapFlagPad != 0)
}

// avs decodes the AVS radio header: a cookie, then its length.
func (l *Link) avs(data []byte) error {
	if len(data) < 8 {
		return errorf("avs", 0, "frame is %d bytes, the header needs 8", len(data))
	}
	n := binary.BigEndian.Uint32(data[4:])
	if n < 8 || uint64(n) > uint64(len(data)) {
		return errorf("avs", 4, "header length %d outside [8, %d]", int(min(n, 1<<30)), len(data))
	}
	return l.ieee80211(data, int(n), false)
}

// ieee80211 decodes an IEEE 802.11 MAC header at off: only data frames
// that are neither null nor protected carry an LLC header and so IP. The
// header holds a fourth address between two distribution systems, QoS
// control in QoS data frames, and HT control when those set the order bit
// (IEEE 802.11-2020 9.2.4.1.10); pad rounds it up to 32 bits.
func (l *Link) ieee80211(data []byte, off int, pad bool) error {
	l.HeaderLen = off
	if len(data) < off+2 {
		return errorf("802.11", off, "frame control needs 2 bytes, %d captured", len(data)-off)
	}
	fc0, fc1 := data[off], data[off+1]
	typ, subtype := fc0>>2&3, fc0>>4
	if typ != wlanTypeData || subtype&0x4 != 0 || fc1&0x40 != 0 {
		return nil // management, control, no data, or protected
	}
	n := ieee80211HeaderLen
	if fc1&3 == 3 {
		n += 6 // a fourth address
	}
	if subtype&0x8 != 0 {
		n += 2 // QoS control
		if fc1&0x80 != 0 {
			n += 4 // HT control
		}
	}
	if pad {
		n = (n + 3) &^ 3
	}
	if len(data) < off+n {
		return errorf("802.11", off, "header of %d bytes, %d captured", n, len(data)-off)
	}
	l.addEncap(Encap80211, off, n)
	return l.llc(data, off+n)
}
