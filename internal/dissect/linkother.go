package dissect

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// otherBase dissects the own header of the link types beyond Ethernet,
// Linux cooked captures, loopback and raw IP, and returns its layer's id;
// "" for a link type tcplens does not decode.
func (b *builder) otherBase(l *wire.Link, err error) string {
	t := b.frame.Link
	switch t {
	case pcap.LinkPPP, pcap.LinkPPPHDLC, pcap.LinkPPPoE:
		return b.noBase(l, "ppp", "Point-to-Point Protocol (PPP)")
	case pcap.LinkCHDLC:
		return b.noBase(l, "chdlc", "Cisco HDLC")
	case pcap.LinkATMRFC1483:
		return b.noBase(l, "llc", "IEEE 802.2 Logical Link Control")
	case pcap.LinkIEEE80211:
		return b.noBase(l, "802.11", "IEEE 802.11 MAC header")
	case pcap.LinkSLIP:
		b.baseLayer(l, err, "slip", "SLIP pseudo-header")
		if !b.has(0, 1) {
			break
		}
		dir := "received"
		if b.data[0] == 1 {
			dir = "sent"
		}
		b.put(b.mk("direction", "direction", 0, 1, utoa(b.data[0]), dir+" (SLIPDIR_IN is 0, SLIPDIR_OUT 1)"))
		b.put(b.mk("cslip", "compressed-TCP state", 1, 15, "", "what CSLIP (RFC 1144) kept to rebuild a compressed header; the packet follows uncompressed"))
		b.layer().Summary = dir
	case pcap.LinkFDDI:
		b.baseLayer(l, err, "fddi", "FDDI")
		if b.has(0, 1) {
			fc := b.data[0]
			m := "not an LLC frame: SMT or MAC, which carries no IP"
			if fc&0xf0 == 0x50 {
				m = fmt.Sprintf("an asynchronous LLC frame, priority %d: an 802.2 LLC header follows", fc&7)
			}
			b.put(b.mk("fc", "frame control", 0, 1, fmt.Sprintf("0x%02x", fc), m))
		}
		b.put(b.fddiMAC("dst", "destination", 1))
		b.put(b.fddiMAC("src", "source", 7))
		if b.has(1, 12) {
			b.layer().Summary = fmt.Sprintf("%s → %s", macString(bitSwap(b.data[7:13])), macString(bitSwap(b.data[1:7])))
		}
	case pcap.LinkTokenRing:
		b.tokenRing(l, err)
	case pcap.LinkIPOverFC:
		b.baseLayer(l, err, "ip_over_fc", "IP over Fibre Channel network header")
		b.put(b.mk("dst", "destination", 0, 8, hexColon(b.data, 0, 8), "network address authority and 48-bit address (RFC 2625)"))
		b.put(b.mk("src", "source", 8, 8, hexColon(b.data, 8, 8), "network address authority and 48-bit address (RFC 2625)"))
	case pcap.LinkSunATM:
		b.baseLayer(l, err, "sunatm", "SunATM pseudo-header")
		if b.has(0, 4) {
			typ := b.data[0] & 0x0f
			m := map[byte]string{1: "LANE", 2: "LLC-encapsulated: an 802.2 LLC header follows"}[typ]
			if m == "" {
				m = "not LLC-encapsulated: tcplens does not guess what follows"
			}
			dir := "received"
			if b.data[0]&0x80 != 0 {
				dir = "sent"
			}
			b.put(b.mk("flags", "direction and traffic type", 0, 1, fmt.Sprintf("0x%02x", b.data[0]), dir+"; type "+utoa(typ)+": "+m))
			b.put(b.mk("vpi", "VPI", 1, 1, utoa(b.data[1]), "virtual path identifier"))
			vci := binary.BigEndian.Uint16(b.data[2:])
			b.put(b.mk("vci", "VCI", 2, 2, utoa(vci), "virtual channel identifier"))
			b.layer().Summary = fmt.Sprintf("VPI %d, VCI %d", b.data[1], vci)
		}
	case pcap.LinkAppleIP1394:
		b.baseLayer(l, err, "ap1394", "Apple IP over IEEE 1394")
		b.put(b.mk("dst", "destination", 0, 8, hexColon(b.data, 0, 8), "EUI-64"))
		b.put(b.mk("src", "source", 8, 8, hexColon(b.data, 8, 8), "EUI-64"))
		b.etherTypeField(16)
	case pcap.LinkIPoIB:
		b.baseLayer(l, err, "ipoib", "IP over InfiniBand pseudo-header")
		b.put(b.mk("addresses", "hardware addresses", 0, 40, "", "two 20-byte IPoIB hardware addresses (queue pair number and GID), as the capturing host put them"))
		b.etherTypeField(40)
		if b.has(42, 2) {
			b.put(b.mk("reserved", "reserved", 42, 2, hex16(binary.BigEndian.Uint16(b.data[42:])), "RFC 4391 9.1"))
		}
	case pcap.LinkFrameRelay:
		b.frameRelay(l, err)
	case pcap.LinkENC:
		b.enc(l, err)
	case pcap.LinkPFLOG:
		b.pflog(l, err)
	case pcap.LinkIPNET:
		b.ipnet(l, err)
	case pcap.LinkNFLOG:
		b.nflog(l, err)
	case pcap.LinkJuniperEther:
		b.juniper(l, err)
	case pcap.LinkNetAnalyzer, pcap.LinkNetAnalyzerTransparent:
		b.netAnalyzer(l, err)
	case pcap.LinkRadiotap:
		b.radiotap(l, err)
	case pcap.LinkPrism:
		if b.has(0, 4) {
			if c := binary.BigEndian.Uint32(b.data); c == 0x80211001 || c == 0x80211002 {
				b.avs(l, err)
				return "avs"
			}
		}
		b.prism(l, err)
	case pcap.LinkAVS:
		b.avs(l, err)
	default:
		return ""
	}
	return b.layer().ID
}

// fddiMAC makes the field of an FDDI address. FDDI sends each byte's most
// significant bit first, Ethernet its least: the address in the frame is
// bit-swapped from the canonical form people read (and Wireshark shows).
func (b *builder) fddiMAC(id, label string, off int) Field {
	f := b.mk(id, label, off, 6, "", "")
	if captured(&f) {
		c := bitSwap(f.Raw)
		f.Value = macString(c)
		f.Meaning = fmt.Sprintf("in canonical form; %s as sent, in FDDI's bit order; %s", macString(f.Raw), macMeaning(c))
	}
	return f
}

// bitSwap reverses the bits of each byte.
func bitSwap(a []byte) []byte {
	out := make([]byte, len(a))
	for i, c := range a {
		out[i] = bits.Reverse8(c)
	}
	return out
}

// noBase starts the layer of a link type whose frames begin with an
// encapsulation, when wire.ParseLink could not record it: a place for the
// stop. It returns id.
func (b *builder) noBase(l *wire.Link, id, title string) string {
	if l.NumEncaps == 0 {
		b.begin(id, title, 0)
		b.end(len(b.data))
	}
	return id
}

// baseLayer starts the layer of a link type's own header, which ends
// where wire.ParseLink says, or at the end of the frame when it is
// malformed and nothing follows.
func (b *builder) baseLayer(l *wire.Link, err error, id, title string) {
	b.begin(id, title, 0)
	end := baseEnd(l)
	if err != nil && l.NumEncaps == 0 {
		end = len(b.data)
	}
	b.end(end)
}

// etherTypeField adds a 2-byte EtherType field at off.
func (b *builder) etherTypeField(off int) {
	if !b.has(off, 2) {
		return
	}
	typ := binary.BigEndian.Uint16(b.data[off:])
	b.put(b.mk("type", "EtherType", off, 2, hex16(typ), etherTypeName(typ)))
	b.layer().Summary = etherTypeName(typ)
}

// hexColon formats n bytes at off as colon-separated hex, as far as they
// were captured.
func hexColon(data []byte, off, n int) string {
	if off >= len(data) {
		return ""
	}
	return macString(data[off:min(off+n, len(data))])
}

// cString is a NUL-terminated string field's text.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// tokenRing dissects an IEEE 802.5 MAC header and its route information
// field (IEEE 802.5 2.2.7.5).
func (b *builder) tokenRing(l *wire.Link, err error) {
	b.baseLayer(l, err, "token_ring", "IEEE 802.5 Token Ring")
	if !b.has(0, 2) {
		return
	}
	ac, fc := b.data[0], b.data[1]
	b.put(b.mk("ac", "access control", 0, 1, fmt.Sprintf("0x%02x", ac), fmt.Sprintf("priority %d, token bit %d, monitor bit %d, reservation %d", ac>>5, ac>>4&1, ac>>3&1, ac&7)))
	m := "a MAC frame: ring management, which carries no IP"
	if fc>>6 == 1 {
		m = "an LLC frame: an 802.2 LLC header follows"
	}
	b.put(b.mk("fc", "frame control", 1, 1, fmt.Sprintf("0x%02x", fc), m))
	b.put(b.mac("dst", "destination", 2, 6))
	routed := b.has(8, 1) && b.data[8]&0x80 != 0
	if b.has(8, 6) {
		src := bytes.Clone(b.data[8:14])
		src[0] &^= 0x80
		f := b.mk("src", "source", 8, 6, macString(b.data[8:14]), macMeaning(src))
		if routed {
			f.Meaning = fmt.Sprintf("%s, with its top bit, the route information indicator, set: a route information field follows; %s", macString(src), macMeaning(src))
		}
		b.put(f)
	}
	if routed && b.has(14, 2) {
		rcf := binary.BigEndian.Uint16(b.data[14:])
		n := int(rcf >> 8 & 0x1f)
		bcast := [4]string{"specifically routed (non-broadcast)", "specifically routed (non-broadcast)", "all-routes explorer", "single-route explorer"}[rcf>>14]
		dir := "forward"
		if rcf&0x80 != 0 {
			dir = "backward: read the route descriptors from the last"
		}
		rf := b.mk("rcf", "routing control", 14, 2, hex16(rcf), fmt.Sprintf("%s; %d bytes of route information; %s; largest frame %s bytes", bcast, n, dir, largestFrames[rcf>>4&7]))
		b.put(rf)
		for i, off := 0, 16; off+2 <= 14+n; i, off = i+1, off+2 {
			if !b.has(off, 2) {
				break
			}
			rd := binary.BigEndian.Uint16(b.data[off:])
			b.put(b.mk(fmt.Sprintf("route_%d", i+1), fmt.Sprintf("route descriptor %d", i+1), off, 2, fmt.Sprintf("ring %d, bridge %d", rd>>4, rd&15), "a LAN segment and the bridge to the next"))
		}
	}
	if b.has(2, 12) {
		src := bytes.Clone(b.data[8:14])
		src[0] &^= 0x80
		b.layer().Summary = fmt.Sprintf("%s → %s", macString(src), macString(b.data[2:8]))
		if routed {
			b.layer().Summary += ", source-routed"
		}
	}
}

// largestFrames are the largest-frame codes of a Token Ring route.
var largestFrames = [8]string{"516", "1500", "2052", "4472", "8144", "11407", "17800", "reserved"}

// frameRelay dissects a Q.922 address, the control byte and the NLPID
// (RFC 2427).
func (b *builder) frameRelay(l *wire.Link, err error) {
	b.baseLayer(l, err, "frame_relay", "Frame Relay (RFC 2427)")
	n := 0
	for n < 4 && b.has(n, 1) {
		n++
		if b.data[n-1]&1 == 1 {
			break
		}
	}
	if n < 2 {
		return
	}
	a := b.data
	dlci := uint32(a[0]>>2)<<4 | uint32(a[1]>>4)
	m := fmt.Sprintf("DLCI %d, the virtual circuit; FECN %d, BECN %d (congestion), DE %d (discard eligible), C/R %d", dlci, a[1]>>3&1, a[1]>>2&1, a[1]>>1&1, a[0]>>1&1)
	if n > 2 {
		m = fmt.Sprintf("a %d-byte Q.922 address", n)
	}
	b.put(b.mk("address", "address", 0, n, hexColon(b.data, 0, n), m))
	if !b.has(n, 1) {
		return
	}
	b.put(b.mk("control", "control", n, 1, fmt.Sprintf("0x%02x", a[n]), "UI: unnumbered information"))
	p := n + 1
	if b.has(p, 1) && a[p] == 0 {
		b.put(b.mk("pad", "pad", p, 1, "0x00", "aligns what follows"))
		p++
	}
	if b.has(p, 1) {
		nl := a[p]
		nm := map[byte]string{0xcc: "IPv4", 0x8e: "IPv6", 0x80: "SNAP", 0x81: "ISO CLNP", 0x08: "Q.933"}[nl]
		if nm == "" {
			nm = "an NLPID tcplens does not name"
		}
		b.put(b.mk("nlpid", "NLPID", p, 1, fmt.Sprintf("0x%02x", nl), nm))
		if n == 2 {
			b.layer().Summary = fmt.Sprintf("DLCI %d, %s", dlci, nm)
		}
	}
}

// enc dissects OpenBSD's enc header: address family and flags in the
// writer's byte order, the SPI in network order.
func (b *builder) enc(l *wire.Link, err error) {
	b.baseLayer(l, err, "enc", "OpenBSD IPsec encapsulation (enc)")
	if !b.has(0, 12) {
		return
	}
	name, what := bsdFamily(l.Family)
	b.put(b.mk("af", "address family", 0, 4, fmt.Sprintf("%d (%s)", l.Family, name), what))
	spi := binary.BigEndian.Uint32(b.data[4:])
	b.put(b.mk("spi", "SPI", 4, 4, fmt.Sprintf("0x%08x", spi), "the security parameter index of the IPsec SA the packet went through"))
	flags := binary.LittleEndian.Uint32(b.data[8:])
	if flags&0xffff0000 != 0 {
		flags = binary.BigEndian.Uint32(b.data[8:])
	}
	var prot []string
	for _, f := range []struct {
		bit  uint32
		name string
	}{{0x0400, "confidential (ESP encryption)"}, {0x0800, "authentic (ESP or AH authentication)"}, {0x1000, "compressed (IPcomp)"}, {0x2000, "AH"}} {
		if flags&f.bit != 0 {
			prot = append(prot, f.name)
		}
	}
	m := "unprotected"
	if len(prot) > 0 {
		m = strings.Join(prot, ", ")
	}
	b.put(b.mk("flags", "flags", 8, 4, fmt.Sprintf("0x%08x", flags), m))
	b.layer().Summary = fmt.Sprintf("SPI 0x%08x, %s", spi, m)
}

// pflogActions and pflogReasons name pflog's action and reason codes
// (OpenBSD net/pfvar.h).
var (
	pflogActions = []string{"pass", "block", "scrub", "no scrub", "nat", "no nat", "binat", "no binat", "rdr", "no rdr", "synproxy drop", "defer", "match", "divert", "rt", "af-rt"}
	pflogReasons = []string{"match", "bad-offset", "fragment", "short", "normalize", "memory", "bad-timestamp", "congestion", "ip-option", "proto-cksum", "state-mismatch", "state-insert", "state-limit", "src-limit", "synproxy", "translate", "no-route"}
)

func nameOf(names []string, v int) string {
	if v < len(names) {
		return names[v]
	}
	return "unknown"
}

// pflog dissects OpenBSD's pflog header (struct pfloghdr).
func (b *builder) pflog(l *wire.Link, err error) {
	b.baseLayer(l, err, "pflog", "OpenBSD pflog")
	if !b.has(0, 4) {
		return
	}
	d := b.data
	b.put(b.mk("length", "header length", 0, 1, utoa(d[0]), fmt.Sprintf("%d bytes before padding to 32 bits: %d", d[0], (int(d[0])+3)&^3)))
	name, what := bsdFamily(uint32(d[1]))
	b.put(b.mk("af", "address family", 1, 1, fmt.Sprintf("%d (%s)", d[1], name), what))
	b.put(b.mk("action", "action", 2, 1, utoa(d[2]), nameOf(pflogActions, int(d[2]))))
	b.put(b.mk("reason", "reason", 3, 1, utoa(d[3]), nameOf(pflogReasons, int(d[3]))))
	if b.has(4, 16) {
		b.put(b.mk("ifname", "interface", 4, 16, cString(d[4:20]), "where pf saw the packet"))
	}
	if b.has(20, 16) {
		b.put(b.mk("ruleset", "ruleset", 20, 16, cString(d[20:36]), "the anchor of the rule; empty for the main ruleset"))
	}
	if b.has(36, 8) {
		rn, srn := int32(binary.BigEndian.Uint32(d[36:])), int32(binary.BigEndian.Uint32(d[40:]))
		b.put(b.mk("rulenr", "rule number", 36, 4, fmt.Sprint(rn), "the rule that matched"))
		b.put(b.mk("subrulenr", "subrule number", 40, 4, fmt.Sprint(srn), "the rule within the anchor; -1 for none"))
	}
	if b.has(60, 1) {
		dir := map[byte]string{0: "in or out", 1: "in", 2: "out"}[d[60]]
		b.put(b.mk("dir", "direction", 60, 1, utoa(d[60]), dir))
		b.layer().Summary = fmt.Sprintf("%s %s on %s", nameOf(pflogActions, int(d[2])), dir, cString(d[4:20]))
	}
}

// ipnet dissects Solaris's ipnet header (struct dl_ipnetinfo).
func (b *builder) ipnet(l *wire.Link, err error) {
	b.baseLayer(l, err, "ipnet", "Solaris ipnet")
	if !b.has(0, 24) {
		return
	}
	d := b.data
	b.put(b.mk("version", "version", 0, 1, utoa(d[0]), "1"))
	fm := map[byte]string{2: "IPv4 (IPH_AF_INET)", 26: "IPv6 (IPH_AF_INET6)"}[d[1]]
	if fm == "" {
		fm = "not IP"
	}
	b.put(b.mk("family", "family", 1, 1, utoa(d[1]), fm))
	b.put(b.mk("htype", "hook type", 2, 2, utoa(binary.BigEndian.Uint16(d[2:])), "where on the IP stack the packet was seen"))
	b.put(b.mk("pktlen", "packet length", 4, 4, utoa(binary.BigEndian.Uint32(d[4:])), "the packet's length after this header"))
	b.put(b.mk("ifindex", "interface index", 8, 4, utoa(binary.BigEndian.Uint32(d[8:])), "the interface the packet went through"))
	b.put(b.mk("grifindex", "group interface index", 12, 4, utoa(binary.BigEndian.Uint32(d[12:])), "its IPMP group's interface, 0 for none"))
	b.put(b.mk("zsrc", "source zone", 16, 4, utoa(binary.BigEndian.Uint32(d[16:])), "the sending zone's ID"))
	b.put(b.mk("zdst", "destination zone", 20, 4, utoa(binary.BigEndian.Uint32(d[20:])), "the receiving zone's ID"))
	b.layer().Summary = fm
}

// nflogTypes names the NFLOG attribute types (linux/netfilter/nfnetlink_log.h).
var nflogTypes = []string{"unused", "packet header", "mark", "timestamp", "input interface", "output interface", "physical input interface", "physical output interface", "hardware address", "payload", "prefix", "UID", "sequence", "global sequence", "GID", "hardware type", "hardware header", "hardware header length", "conntrack", "conntrack info", "VLAN", "layer 2 header"}

// nflog dissects a Linux NFLOG header and its TLVs up to the payload.
func (b *builder) nflog(l *wire.Link, err error) {
	b.baseLayer(l, err, "nflog", "Linux netfilter NFLOG")
	if !b.has(0, 4) {
		return
	}
	d := b.data
	fm := map[byte]string{2: "IPv4 (AF_INET)", 10: "IPv6 (AF_INET6)"}[d[0]]
	if fm == "" {
		fm = "not IP"
	}
	b.put(b.mk("family", "family", 0, 1, utoa(d[0]), fm))
	b.put(b.mk("version", "version", 1, 1, utoa(d[1]), "0, NFULNL_VERSION"))
	b.put(b.mk("res_id", "resource ID", 2, 2, utoa(binary.BigEndian.Uint16(d[2:])), "the NFLOG group (iptables --nflog-group)"))
	var order binary.ByteOrder = binary.LittleEndian
	if b.has(4, 2) {
		if n := int(order.Uint16(d[4:])); n < 4 || n > len(d)-4 {
			order = binary.BigEndian
		}
	}
	for i, off := 1, 4; b.has(off, 4) && off < l.HeaderLen; i++ {
		n, typ := int(order.Uint16(d[off:])), order.Uint16(d[off+2:])
		name := nameOf(nflogTypes, int(typ))
		value, flen := "", (n+3)&^3
		switch typ {
		case 9:
			flen = 4 // the payload itself is the packet, dissected next
		case 10:
			if b.has(off+4, n-4) {
				value = fmt.Sprintf("%q", cString(d[off+4:off+n]))
			}
		}
		f := b.mk(fmt.Sprintf("tlv_%d", i), name, off, min(flen, max(len(d)-off, 0)), value, fmt.Sprintf("type %d, length %d (host byte order)", typ, n))
		b.put(f)
		if typ == 9 || n < 4 {
			break
		}
		off += flen
	}
	b.layer().Summary = fm
}

// juniper dissects Juniper's cookie header.
func (b *builder) juniper(l *wire.Link, err error) {
	b.baseLayer(l, err, "juniper", "Juniper cookie header")
	if !b.has(0, 4) {
		return
	}
	d := b.data
	b.put(b.mk("magic", "magic", 0, 3, string(d[0:3]), "\"MGC\""))
	fl := d[3]
	var m []string
	if fl&1 == 1 {
		m = append(m, "received (in)")
	} else {
		m = append(m, "sent (out)")
	}
	if fl&0x80 != 0 {
		m = append(m, "extensions follow")
	}
	if fl&0x40 != 0 {
		m = append(m, "no layer 2 header")
	}
	b.put(b.mk("flags", "flags", 3, 1, fmt.Sprintf("0x%02x", fl), strings.Join(m, ", ")))
	if fl&0x80 != 0 && b.has(4, 2) {
		n := int(binary.BigEndian.Uint16(d[4:]))
		b.put(b.mk("ext_len", "extensions length", 4, 2, utoa(uint16(n)), "bytes of TLV extensions that follow"))
		for off, i := 6, 1; off+2 <= 6+n && b.has(off, 2); i++ {
			tl := int(d[off+1])
			b.put(b.mk(fmt.Sprintf("ext_%d", i), fmt.Sprintf("extension %d", i), off, 2+tl, hexColon(d, off+2, tl), fmt.Sprintf("TLV type %d, %s", d[off], plural(tl, "byte"))))
			off += 2 + tl
		}
	}
	b.layer().Summary = strings.Join(m, ", ")
}

// netAnalyzer dissects the netANALYZER header: a 32-bit little-endian
// word of bit fields, and in transparent mode the preamble and SFD.
func (b *builder) netAnalyzer(l *wire.Link, err error) {
	b.baseLayer(l, err, "netanalyzer", "Hilscher netANALYZER header")
	if !b.has(0, 4) {
		return
	}
	h := binary.LittleEndian.Uint32(b.data)
	m := "no receive errors"
	if h&0xff != 0 {
		m = fmt.Sprintf("receive error bits 0x%02x (RX_ER, alignment, FCS, too long, SFD, short, preamble)", h&0xff)
	}
	port := "Ethernet port"
	if h&0x100 != 0 {
		port = "GPIO"
	}
	f := b.mk("header", "header", 0, 4, fmt.Sprintf("0x%08x", h), fmt.Sprintf("%s; from %s %d; version %d; frame length %d", m, port, h>>14&3, h>>10&15, h>>16&0xfff))
	b.put(f)
	if b.frame.Link == pcap.LinkNetAnalyzerTransparent {
		b.put(b.mk("preamble", "preamble and SFD", 4, 8, hexColon(b.data, 4, 8), "the bits before the frame, captured in transparent mode"))
	}
	b.layer().Summary = fmt.Sprintf("port %d, frame length %d", h>>14&3, h>>16&0xfff)
}

// otherNotIP stops at a link header of the other link types that carries
// no IP.
func (b *builder) otherNotIP(id string, l *wire.Link) {
	switch id {
	case "slip":
		v := 0
		if b.has(16, 1) {
			v = int(b.data[16] >> 4)
		}
		b.stop(id, 16, "IP version %d: a SLIP frame carries IPv4 or IPv6", v)
	case "fddi", "token_ring", "sunatm":
		b.stop(id, 0, "not an LLC frame: it carries no IP")
	case "frame_relay":
		b.stop(id, l.HeaderLen-1, "not IPv4 or IPv6 (NLPID 0xcc or 0x8e): tcplens follows those only")
	case "enc", "pflog", "ipnet", "nflog":
		b.stop(id, 0, "address family %d is neither IPv4 nor IPv6", l.Family)
	case "juniper":
		b.stop(id, l.HeaderLen, "no layer 2 header: tcplens does not guess what follows")
	case "802.11":
		b.stop(id, l.Base(), "not a data frame that carries an LLC header in the clear (management, control, null or protected): no IP to read")
	case "radiotap", "prism", "avs":
		b.stop(id, l.Base(), "the 802.11 frame is not a data frame that carries an LLC header in the clear (management, control, null or protected): no IP to read")
	default:
		b.stop(id, l.HeaderLen, "no IP follows")
	}
}
