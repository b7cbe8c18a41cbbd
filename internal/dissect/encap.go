package dissect

import (
	"encoding/binary"
	"fmt"

	"github.com/tcplens/tcplens/internal/wire"
)

// encaps dissects the encapsulations wire.ParseLink crossed after the
// link type's own header, a layer each.
func (b *builder) encaps(l *wire.Link, err error) {
	n := min(l.NumEncaps, wire.MaxEncaps)
	for i := range n {
		e := l.Encaps[i]
		off := int(e.Offset)
		end := l.HeaderLen
		if i+1 < n {
			end = int(l.Encaps[i+1].Offset)
		}
		if err != nil && i == n-1 {
			end = max(end, len(b.data))
		}
		switch e.Kind {
		case wire.EncapEthernet:
			b.ethernet(l, nil, off, end)
		case wire.EncapLLC:
			b.llc(off)
		case wire.EncapSNAP:
			b.snap(off)
		case wire.EncapMPLS:
			b.mpls(off)
		case wire.EncapPPPoE:
			b.pppoe(off)
		case wire.EncapPPP:
			b.ppp(off, int(e.Len))
		case wire.EncapCHDLC:
			b.chdlc(off)
		case wire.Encap80211:
			b.wlan(off, int(e.Len))
		}
		b.end(end)
	}
	if l.NumEncaps > wire.MaxEncaps {
		b.warn(l.HeaderLen, "%d encapsulations: tcplens shows the first %d", l.NumEncaps, wire.MaxEncaps)
	}
}

// notIPEncap stops after the last encapsulation when what it announces is
// not IP.
func (b *builder) notIPEncap(l *wire.Link) {
	e := l.Encaps[min(l.NumEncaps, wire.MaxEncaps)-1]
	id := b.layer().ID
	off := int(e.Offset)
	switch e.Kind {
	case wire.EncapLLC:
		dsap := b.data[off]
		b.stop(id, off, "DSAP 0x%02x (%s): this LLC frame carries no IP (IP over 802.2 uses SNAP, or SAP 6)", dsap, sapName(dsap))
	case wire.EncapSNAP:
		b.stop(id, off, "SNAP OUI %s, protocol 0x%04x: no IP follows (IP over SNAP has OUI 00:00:00 and the EtherType of IPv4 or IPv6)", macString(b.data[off:off+3]), binary.BigEndian.Uint16(b.data[off+3:]))
	case wire.EncapMPLS:
		b.stop(id, l.HeaderLen, "neither IPv4 nor IPv6 under the label stack (an explicit null label, or a first byte of 0x45-0x4f or 0x6X, would say which): an Ethernet pseudowire or another payload tcplens does not follow")
	case wire.EncapPPPoE:
		b.stop(id, off, "PPPoE code 0x%02x (%s): a discovery packet, which carries no IP", b.data[off+1], pppoeCode(b.data[off+1]))
	case wire.EncapPPP:
		p := off + int(e.Len) - 2
		typ := uint16(0)
		if e.Len == 1 || e.Len == 3 {
			p++ // a compressed, one-byte protocol
			typ = uint16(b.data[p])
		} else {
			typ = binary.BigEndian.Uint16(b.data[p:])
		}
		b.stop(id, p, "PPP protocol 0x%04x (%s) carries no IP: tcplens follows IPv4 and IPv6 only", typ, pppProtocolName(typ))
	case wire.Encap80211:
		b.stop(id, off, "no LLC header follows this 802.11 header")
	default: // an EtherType: of Cisco HDLC, or of an inner Ethernet header
		p := l.HeaderLen - 2
		typ := binary.BigEndian.Uint16(b.data[p:])
		b.stop(id, p, "EtherType 0x%04x (%s) carries no IP: tcplens follows IPv4 and IPv6 only", typ, etherTypeName(typ))
	}
}

// sapNames names the LLC service access points a capture commonly holds
// (IEEE 802 numbers).
var sapNames = map[uint8]string{
	0x00: "null SAP",
	0x06: "IP (ARPANET)",
	0x42: "spanning tree (802.1D)",
	0xaa: "SNAP",
	0xe0: "IPX",
	0xf0: "NetBIOS",
	0xfe: "OSI (ISO network layer)",
	0xff: "global SAP",
}

func sapName(s uint8) string {
	if n, ok := sapNames[s&^1]; ok {
		return n
	}
	return "a SAP tcplens does not name"
}

// llc dissects the 3-byte IEEE 802.2 LLC header of an unnumbered frame.
func (b *builder) llc(off int) {
	b.begin("llc", "IEEE 802.2 Logical Link Control", off)
	if !b.has(off, 3) {
		return
	}
	dsap, ssap, ctl := b.data[off], b.data[off+1], b.data[off+2]
	b.put(b.mk("dsap", "DSAP", off, 1, fmt.Sprintf("0x%02x", dsap), "destination service access point: "+sapName(dsap)))
	ssapMeaning := "source service access point: " + sapName(ssap)
	if ssap&1 == 1 {
		ssapMeaning += "; the low bit says this is a response"
	}
	b.put(b.mk("ssap", "SSAP", off+1, 1, fmt.Sprintf("0x%02x", ssap), ssapMeaning))
	m := "an I or S frame: a 2-byte control field in connection-mode LLC"
	if ctl&3 == 3 {
		m = "U frame"
		if ctl == 0x03 {
			m = "UI: unnumbered information, connectionless, as IP uses it"
		}
	}
	b.put(b.mk("control", "control", off+2, 1, fmt.Sprintf("0x%02x", ctl), m))
	switch {
	case dsap == 0xaa && ssap == 0xaa:
		b.layer().Summary = "SNAP"
	case dsap == 0x06 && ssap == 0x06:
		b.layer().Summary = "IP"
	default:
		b.layer().Summary = fmt.Sprintf("DSAP 0x%02x, SSAP 0x%02x", dsap, ssap)
	}
}

// snap dissects a SNAP header: OUI and protocol (RFC 1042).
func (b *builder) snap(off int) {
	b.begin("snap", "SubNetwork Access Protocol (SNAP)", off)
	if !b.has(off, 5) {
		return
	}
	oui := b.data[off : off+3]
	typ := binary.BigEndian.Uint16(b.data[off+3:])
	m := "an organisation's own protocols: the protocol field is its own"
	switch {
	case oui[0] == 0 && oui[1] == 0 && oui[2] == 0:
		m = "encapsulated Ethernet (RFC 1042): the protocol field is an EtherType"
	case oui[0] == 0 && oui[1] == 0 && oui[2] == 0xf8:
		m = "802.1H bridge tunnel: the protocol field is an EtherType"
	}
	b.put(b.mk("oui", "OUI", off, 3, macString(oui), m))
	b.put(b.mk("pid", "protocol", off+3, 2, hex16(typ), etherTypeName(typ)))
	b.layer().Summary = etherTypeName(typ)
}

// mplsLabelNames names the reserved MPLS labels (RFC 3032, RFC 7274).
var mplsLabelNames = map[uint32]string{
	0:  "IPv4 explicit null: an IPv4 packet follows",
	1:  "router alert: deliver to the router's control plane",
	2:  "IPv6 explicit null: an IPv6 packet follows",
	3:  "implicit null (signalled only, never on the wire)",
	7:  "entropy label indicator",
	13: "generic associated channel (GAL)",
	14: "OAM alert",
	15: "extension label",
}

// mpls dissects one MPLS label stack entry (RFC 3032 2.1).
func (b *builder) mpls(off int) {
	b.begin("mpls", "MPLS label stack entry", off)
	if !b.has(off, 4) {
		return
	}
	e := binary.BigEndian.Uint32(b.data[off:])
	label, tc, bos, ttl := e>>12, e>>9&7, e>>8&1, e&0xff
	m := mplsLabelNames[label]
	if m == "" && label < 16 {
		m = "reserved"
	}
	if m == "" {
		m = "a label the router that pushed it assigned: the forwarding equivalence class"
	}
	b.put(b.mkBits("label", "label", off, 3, 0, 20, utoa(label), m))
	b.put(b.mkBits("tc", "traffic class", off+2, 1, 4, 3, utoa(tc), "QoS class (the EXP field before RFC 5462); also ECN in the MPLS domain"))
	bm := "another stack entry follows"
	if bos == 1 {
		bm = "bottom of stack: the packet follows"
		if b.has(off+4, 1) {
			switch v := b.data[off+4]; {
			case label == 0 || label == 2:
			case v >= 0x45 && v <= 0x4f:
				bm += "; its first byte 0x" + fmt.Sprintf("%02x", v) + " is an IPv4 header's (MPLS does not say what it carries)"
			case v>>4 == 6:
				bm += "; its first nibble 6 is an IPv6 header's (MPLS does not say what it carries)"
			}
		}
	}
	b.put(b.mkBits("bos", "bottom of stack", off+2, 1, 7, 1, utoa(bos), bm))
	b.put(b.mk("ttl", "TTL", off+3, 1, utoa(ttl), "hops left in the MPLS domain"))
	s := fmt.Sprintf("label %d, TC %d, TTL %d", label, tc, ttl)
	if bos == 1 {
		s += ", bottom of stack"
	}
	b.layer().Summary = s
}

func pppoeCode(c uint8) string {
	switch c {
	case 0x00:
		return "session data"
	case 0x07:
		return "PADO"
	case 0x09:
		return "PADI"
	case 0x19:
		return "PADR"
	case 0x65:
		return "PADS"
	case 0xa7:
		return "PADT"
	}
	return "unknown"
}

// pppoe dissects a PPPoE header (RFC 2516 4).
func (b *builder) pppoe(off int) {
	b.begin("pppoe", "PPP over Ethernet (PPPoE)", off)
	if !b.has(off, 6) {
		return
	}
	vt := b.data[off]
	b.put(b.mkBits("version", "version", off, 1, 0, 4, utoa(vt>>4), "1, as RFC 2516 requires"))
	b.put(b.mkBits("type", "type", off, 1, 4, 4, utoa(vt&15), "1, as RFC 2516 requires"))
	code := b.data[off+1]
	b.put(b.mk("code", "code", off+1, 1, fmt.Sprintf("0x%02x", code), pppoeCode(code)))
	sid := binary.BigEndian.Uint16(b.data[off+2:])
	b.put(b.mk("session_id", "session ID", off+2, 2, fmt.Sprintf("0x%04x", sid), "the PPP session the access concentrator assigned in PADS"))
	n := binary.BigEndian.Uint16(b.data[off+4:])
	b.put(b.mk("length", "payload length", off+4, 2, utoa(n), fmt.Sprintf("%s of PPP follow; anything after them is Ethernet padding", plural(int(n), "byte"))))
	b.layer().Summary = fmt.Sprintf("%s, session 0x%04x", pppoeCode(code), sid)
}

// pppProtocols names PPP protocol numbers (IANA "PPP DLL Protocol Numbers").
var pppProtocols = map[uint16]string{
	0x0021: "IPv4",
	0x0057: "IPv6",
	0x0281: "MPLS unicast",
	0x0283: "MPLS multicast",
	0x002d: "Van Jacobson compressed TCP/IP",
	0x002f: "Van Jacobson uncompressed TCP/IP",
	0x00fd: "compressed datagram",
	0x8021: "IPCP",
	0x8057: "IPv6CP",
	0xc021: "LCP",
	0xc023: "PAP",
	0xc223: "CHAP",
	0xc025: "link quality report",
	0x80fd: "CCP",
	0x0800: "IPv4 (an EtherType where a PPP protocol belongs; tcpdump takes it so)",
	0x86dd: "IPv6 (an EtherType where a PPP protocol belongs; tcpdump takes it so)",
}

func pppProtocolName(p uint16) string {
	if n, ok := pppProtocols[p]; ok {
		return n
	}
	return "a PPP protocol tcplens does not name"
}

// ppp dissects a PPP header of n bytes at off: address and control when
// present, and the protocol (one byte when compressed).
func (b *builder) ppp(off, n int) {
	b.begin("ppp", "Point-to-Point Protocol (PPP)", off)
	p := off
	if n == 4 || n == 3 {
		b.put(b.mk("address", "address", off, 1, fmt.Sprintf("0x%02x", b.data[off]), "all stations: PPP has only one peer"))
		b.put(b.mk("control", "control", off+1, 1, fmt.Sprintf("0x%02x", b.data[off+1]), "UI: unnumbered information (RFC 1662)"))
		p += 2
	}
	var proto uint16
	pn := off + n - p
	if !b.has(p, pn) {
		return
	}
	if pn == 1 {
		proto = uint16(b.data[p])
		b.put(b.mk("protocol", "protocol", p, 1, fmt.Sprintf("0x%02x", proto), pppProtocolName(proto)+"; one byte: protocol field compression (RFC 1661 6.5)"))
	} else {
		proto = binary.BigEndian.Uint16(b.data[p:])
		m := pppProtocolName(proto)
		if n == 2 {
			m += "; no address and control: address and control field compression (RFC 1661 6.6)"
		}
		b.put(b.mk("protocol", "protocol", p, 2, hex16(proto), m))
	}
	b.layer().Summary = pppProtocolName(proto)
}

// chdlc dissects a Cisco HDLC header: address, control, EtherType.
func (b *builder) chdlc(off int) {
	b.begin("chdlc", "Cisco HDLC", off)
	if !b.has(off, 4) {
		return
	}
	a := b.data[off]
	m := "unicast"
	if a == 0x8f {
		m = "broadcast"
	}
	b.put(b.mk("address", "address", off, 1, fmt.Sprintf("0x%02x", a), m))
	b.put(b.mk("control", "control", off+1, 1, fmt.Sprintf("0x%02x", b.data[off+1]), "always 0"))
	typ := binary.BigEndian.Uint16(b.data[off+2:])
	b.put(b.mk("protocol", "protocol", off+2, 2, hex16(typ), etherTypeName(typ)))
	b.layer().Summary = fmt.Sprintf("%s, %s", m, etherTypeName(typ))
}

// wlanDataSubtypes names the subtypes of 802.11 data frames.
var wlanDataSubtypes = [16]string{
	"data", "data + CF-ack", "data + CF-poll", "data + CF-ack + CF-poll", "null", "CF-ack", "CF-poll", "CF-ack + CF-poll",
	"QoS data", "QoS data + CF-ack", "QoS data + CF-poll", "QoS data + CF-ack + CF-poll", "QoS null", "reserved", "QoS CF-poll", "QoS CF-ack + CF-poll",
}

// wlan dissects an IEEE 802.11 data frame's MAC header of n bytes
// (IEEE 802.11-2020 9.3.2.1): the addresses mean what the DS bits say.
func (b *builder) wlan(off, n int) {
	b.begin("802.11", "IEEE 802.11 MAC header", off)
	if !b.has(off, 24) {
		return
	}
	fc0, fc1 := b.data[off], b.data[off+1]
	sub := fc0 >> 4
	fc := b.mk("frame_control", "frame control", off, 2, fmt.Sprintf("0x%02x%02x", fc0, fc1), fmt.Sprintf("%s frame", wlanDataSubtypes[sub]))
	subf := func(id, label string, byteOff, bit int, m1, m0 string) {
		v := b.data[byteOff] >> (7 - bit) & 1
		m := m0
		if v == 1 {
			m = m1
		}
		fc.Fields = append(fc.Fields, b.mkBits(id, label, byteOff, 1, bit, 1, utoa(v), m))
	}
	fc.Fields = append(fc.Fields,
		b.mkBits("subtype", "subtype", off, 1, 0, 4, utoa(sub), wlanDataSubtypes[sub]),
		b.mkBits("type", "type", off, 1, 4, 2, utoa(fc0>>2&3), "data"),
		b.mkBits("version", "protocol version", off, 1, 6, 2, utoa(fc0&3), "0, the only version"))
	subf("order", "order (+HTC)", off+1, 0, "set: an HT control field follows QoS control", "not set")
	subf("protected", "protected", off+1, 1, "set: the body is encrypted", "not set: the body is in the clear")
	subf("more_data", "more data", off+1, 2, "set: the sender has more frames buffered", "not set")
	subf("power_mgmt", "power management", off+1, 3, "set: the sender goes to sleep after this frame", "not set")
	subf("retry", "retry", off+1, 4, "set: a retransmission of an earlier frame", "not set")
	subf("more_frags", "more fragments", off+1, 5, "set: more fragments follow", "not set")
	subf("from_ds", "from DS", off+1, 6, "set: from the distribution system (the access point's side)", "not set")
	subf("to_ds", "to DS", off+1, 7, "set: to the distribution system (the access point's side)", "not set")
	b.put(fc)
	dur := binary.LittleEndian.Uint16(b.data[off+2:])
	b.put(b.mk("duration", "duration", off+2, 2, utoa(dur), fmt.Sprintf("%d µs the medium stays reserved (NAV), little-endian", dur)))
	names := map[uint8][4][2]string{
		0: {{"da", "destination"}, {"sa", "source"}, {"bssid", "BSSID"}},
		1: {{"bssid", "BSSID"}, {"sa", "source"}, {"da", "destination"}},
		2: {{"da", "destination"}, {"bssid", "BSSID"}, {"sa", "source"}},
		3: {{"ra", "receiver"}, {"ta", "transmitter"}, {"da", "destination"}, {"sa", "source"}},
	}[fc1&3]
	for i, a := range [3]int{4, 10, 16} {
		b.put(b.mac(names[i][0], fmt.Sprintf("address %d: %s", i+1, names[i][1]), off+a, 6))
	}
	sc := binary.LittleEndian.Uint16(b.data[off+22:])
	scf := b.mk("sequence_control", "sequence control", off+22, 2, fmt.Sprintf("sequence %d, fragment %d", sc>>4, sc&15), "little-endian: the 12-bit sequence number and the 4-bit fragment number")
	b.put(scf)
	p := off + 24
	if fc1&3 == 3 {
		b.put(b.mac(names[3][0], "address 4: "+names[3][1], p, 6))
		p += 6
	}
	if sub&8 != 0 && b.has(p, 2) {
		q := binary.LittleEndian.Uint16(b.data[p:])
		b.put(b.mk("qos_control", "QoS control", p, 2, fmt.Sprintf("TID %d", q&15), "little-endian: the traffic identifier (user priority) and acknowledgment policy"))
		p += 2
		if fc1&0x80 != 0 {
			b.put(b.mk("ht_control", "HT control", p, 4, "", "link adaptation and the like for 802.11n and later"))
			p += 4
		}
	}
	if p < off+n {
		b.put(b.mk("padding", "padding", p, off+n-p, plural(off+n-p, "byte"), "pads the header to 32 bits, as the radio header says"))
	}
	if b.has(off+4, 18) {
		s := fmt.Sprintf("%s, %s → %s", wlanDataSubtypes[sub], macString(b.data[off+10:off+16]), macString(b.data[off+4:off+10]))
		b.layer().Summary = s
	}
}
