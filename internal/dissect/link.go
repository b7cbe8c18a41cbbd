package dissect

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// link dissects the link-layer header, the encapsulations after it, and
// goes on to the network layer.
//
// wire.ParseLink gives the decoded facts (VLAN tags, encapsulations and
// their offsets, EtherType, SLL packet type, interface index, ARPHRD type,
// address family); wire has no view of the link headers' other fields
// (MAC addresses, label values, radio fields), so those are read here at
// the offsets it gives.
func (b *builder) link() {
	t := b.frame.Link
	l, err := wire.ParseLink(t, b.data)
	b.linkHdr = l
	id := b.base(&l, err)
	if id == "" {
		b.stop("frame", 0, "link type %d (%s) is not one tcplens decodes; it reads the link types libpcap reads that carry IP (tcplens read --help lists them)", uint16(t), t)
		return
	}
	b.encaps(&l, err)
	if err != nil {
		layer := id
		if b.cur >= 0 {
			layer = b.layer().ID
		}
		b.stopErr(layer, asWireError(err, id, 0))
		return
	}
	off := l.HeaderLen
	switch l.EtherType {
	case wire.EtherTypeIPv4:
		b.ipv4(off)
	case wire.EtherTypeIPv6:
		b.ipv6(off)
	default:
		b.notIP(id, &l)
	}
	b.trailer()
}

// baseEnd is where the link type's own header ends: at the first
// encapsulation, or at the network layer.
func baseEnd(l *wire.Link) int { return l.Base() }

// base dissects the link type's own header and returns its layer's id, or
// "" for a link type tcplens does not decode.
func (b *builder) base(l *wire.Link, err error) string {
	switch b.frame.Link {
	case pcap.LinkEthernet:
		b.ethernet(l, err, 0, baseEnd(l))
		return "ethernet"
	case pcap.LinkSLL:
		b.sll(l, err)
		return "sll"
	case pcap.LinkSLL2:
		b.sll2(l, err)
		return "sll2"
	case pcap.LinkNull, pcap.LinkLoop:
		b.loopback(l, err)
		return "loopback"
	case pcap.LinkRaw, pcap.LinkRaw12, pcap.LinkRaw14, pcap.LinkIPv4, pcap.LinkIPv6:
		// No link-layer header: the frame starts with the IP header.
		return "frame"
	}
	return b.otherBase(l, err)
}

// notIP stops at a link layer that carries no IP.
func (b *builder) notIP(id string, l *wire.Link) {
	if n := l.NumEncaps; n > 0 {
		b.notIPEncap(l)
		return
	}
	switch id {
	case "frame":
		v := 0
		if len(b.data) > 0 {
			v = int(b.data[0] >> 4)
		}
		b.stop(id, 0, "IP version %d: a raw IP frame must start with version 4 or 6", v)
	case "loopback":
		name, what := bsdFamily(l.Family)
		b.stop(id, 0, "address family %d (%s, %s) carries no IP: tcplens follows IPv4 and IPv6 only", l.Family, name, what)
	case "ethernet", "sll", "sll2":
		off := l.HeaderLen - 2
		if id == "sll2" && l.NumVLANs == 0 {
			off = 0
		}
		if !b.has(off, 2) {
			b.stop(id, l.HeaderLen, "no network-layer protocol")
			return
		}
		typ := binary.BigEndian.Uint16(b.data[off:])
		switch {
		case l.HAType == 803 && id != "ethernet":
			b.stop(id, l.HeaderLen, "an 802.11 frame with a radiotap header follows: capture it as DLT_IEEE802_11_RADIO (LINKTYPE 127), which tcplens reads, rather than through a Linux cooked header")
		case typ < 0x0600 && id != "ethernet":
			b.stop(id, off, "protocol 0x%04x is a Linux protocol number (ETH_P_*), not an EtherType: no IP follows", typ)
		default:
			b.stop(id, off, "EtherType 0x%04x (%s) carries no IP: tcplens follows IPv4 and IPv6 only", typ, etherTypeName(typ))
		}
	default:
		b.otherNotIP(id, l)
	}
}

// ethernet dissects an Ethernet II or IEEE 802.3 header at off, with its
// VLAN tags, ending at end.
func (b *builder) ethernet(l *wire.Link, err error, off, end int) {
	b.begin("ethernet", "Ethernet II", off)
	b.put(b.mac("dst", "destination", off, 6))
	b.put(b.mac("src", "source", off+6, 6))
	final := b.typeFields(l, func(i int) int { return off + 12 + 4*i }, func(i int) int { return off + 14 + 4*i }, "EtherType")
	if final >= 0 && final <= 1500 {
		b.layer().Title = "IEEE 802.3 Ethernet"
	}
	b.end(end)
	if err != nil && l.NumEncaps == 0 {
		b.end(len(b.data)) // the header itself is cut short
	}
	if b.has(off, 12) {
		b.layer().Summary = fmt.Sprintf("%s → %s", macString(b.data[off+6:off+12]), macString(b.data[off:off+6]))
		if l.NumVLANs > 0 {
			b.layer().Summary += fmt.Sprintf(", %s", vlanSummary(l))
		}
		if final >= 0 && final <= 1500 {
			b.layer().Summary += fmt.Sprintf(", 802.3 length %d", final)
		} else if final > 0 {
			b.layer().Summary += ", " + etherTypeName(uint16(final))
		}
	}
}

// vlanSummary lists the VLAN ids of a frame's tags, outermost first.
func vlanSummary(l *wire.Link) string {
	var ids []string
	for i := range min(l.NumVLANs, wire.MaxVLANs) {
		ids = append(ids, fmt.Sprint(l.VLAN(i)))
	}
	if l.NumVLANs > wire.MaxVLANs {
		ids = append(ids, "…")
	}
	return "VLAN " + strings.Join(ids, "/")
}

// typeFields adds the type fields of a link header and the VLAN tags
// between them: typeOff(i) is the offset of the type field before tag i
// (or, for i == NumVLANs, of the final EtherType) and tciOff(i) that of
// tag i's tag control information. It returns the final type, or -1 if it
// was not captured.
func (b *builder) typeFields(l *wire.Link, typeOff, tciOff func(int) int, label string) int {
	n := l.NumVLANs
	for i := 0; i <= n; i++ {
		off := typeOff(i)
		if !b.has(off, 2) {
			return -1
		}
		var typ uint16
		if i < n && i < wire.MaxVLANs {
			typ = l.VLANTypes[i]
		} else {
			// The final type (IP, or what leads to it: MPLS, PPPoE), a
			// length (802.3), a Linux protocol number, a tag beyond the
			// ones wire.Link records, or a tag cut short: the raw field
			// says which.
			typ = binary.BigEndian.Uint16(b.data[off:])
		}
		id, lab := strings.ToLower(label), label
		if i > 0 {
			id, lab = fmt.Sprintf("ethertype_%d", i), "EtherType"
		}
		var meaning string
		switch {
		case isVLANType(typ):
			id, lab = fmt.Sprintf("tpid_%d", i+1), fmt.Sprintf("TPID, tag %d", i+1)
			meaning = fmt.Sprintf("tag protocol identifier: VLAN tag %d follows", i+1)
			if i == n {
				meaning += ", but the capture cuts it short"
			}
		case typ <= 1500 && label == "EtherType":
			meaning = fmt.Sprintf("an IEEE 802.3 length (%d), not an EtherType: %d bytes of an 802.2 LLC frame follow", typ, typ)
		case typ < 0x0600 && label == "EtherType":
			meaning = "neither a length nor an EtherType (1501 to 1535 are undefined)"
		case typ == 0x0004:
			meaning = "Linux's ETH_P_802_2: an 802.2 LLC frame follows"
		case typ < 0x0600:
			meaning = "a Linux protocol number (ETH_P_*), not an EtherType: the frame carries no IP"
		}
		val := etherTypeName(typ)
		if typ < 0x0600 {
			val = utoa(typ)
		}
		b.put(b.mk(id, lab, off, 2, val, meaning))
		if i == n || i >= wire.MaxVLANs {
			if i < n {
				b.warn(off, "%d VLAN tags: tcplens shows the first %d", n, wire.MaxVLANs)
				return -1
			}
			return int(typ)
		}
		b.put(b.vlanTag(i, tciOff(i), l.VLANs[i]))
	}
	return -1
}

// vlanTag makes the field of one 802.1Q tag control information (TCI).
func (b *builder) vlanTag(i, off int, tci uint16) Field {
	pcp, dei, vid := tci>>13, tci>>12&1, tci&0x0fff
	f := b.mk(fmt.Sprintf("vlan_%d", i+1), fmt.Sprintf("VLAN tag %d", i+1), off, 2,
		fmt.Sprintf("VID %d, PCP %d, DEI %d", vid, pcp, dei), "")
	sub(&f, b.mkBits("pcp", "priority (PCP)", off, 2, 0, 3, utoa(pcp), pcpMeaning(pcp)))
	deiMeaning := "not set: keep this frame under congestion if possible"
	if dei == 1 {
		deiMeaning = "set: drop eligible, a switch drops this frame first under congestion"
	}
	sub(&f, b.mkBits("dei", "drop eligible (DEI)", off, 2, 3, 1, utoa(dei), deiMeaning))
	var vm string
	switch vid {
	case 0:
		vm = "no VLAN: a priority tag, which only carries the PCP"
	case 0xfff:
		vm = "reserved value 4095"
	default:
		vm = fmt.Sprintf("the frame belongs to VLAN %d", vid)
	}
	sub(&f, b.mkBits("vid", "VLAN id (VID)", off, 2, 4, 12, utoa(vid), vm))
	return f
}

// pcpMeaning names an 802.1Q priority code point (IEEE 802.1Q table I-2).
func pcpMeaning(p uint16) string {
	return [...]string{
		"best effort (the default)",
		"background, the lowest priority",
		"excellent effort",
		"critical applications",
		"video, under 100 ms latency",
		"voice, under 10 ms latency",
		"internetwork control",
		"network control, the highest priority",
	}[p&7]
}

// mac makes the field of a MAC address.
func (b *builder) mac(id, label string, off, n int) Field {
	f := b.mk(id, label, off, n, "", "")
	if !captured(&f) {
		return f
	}
	a := b.data[off : off+n]
	f.Value = macString(a)
	f.Meaning = macMeaning(a)
	return f
}

func macString(a []byte) string {
	var sb strings.Builder
	for i, c := range a {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}

// macMeaning explains the I/G and U/L bits of a 6-byte MAC address.
func macMeaning(a []byte) string {
	if len(a) != 6 {
		return ""
	}
	allZero, allOnes := true, true
	for _, c := range a {
		allZero = allZero && c == 0
		allOnes = allOnes && c == 0xff
	}
	switch {
	case allOnes:
		return "broadcast: every host on the link"
	case allZero:
		return "all zeros: no real address (a loopback, tunnel or synthetic capture)"
	case a[0] == 0x33 && a[1] == 0x33:
		return "IPv6 multicast (33:33 + the low 32 bits of the group address)"
	case a[0] == 0x01 && a[1] == 0x00 && a[2] == 0x5e:
		return "IPv4 multicast (01:00:5e + the low 23 bits of the group address)"
	case a[0]&1 != 0:
		return "a group (multicast) address: the I/G bit is set"
	case a[0]&2 != 0:
		return "unicast, locally administered (the U/L bit is set: a virtual or randomised address)"
	}
	return fmt.Sprintf("unicast, globally unique: the vendor's OUI is %02x:%02x:%02x", a[0], a[1], a[2])
}

// sll dissects a Linux cooked capture v1 header (16 bytes):
// packet type, ARPHRD type, address length, 8 address bytes, protocol.
func (b *builder) sll(l *wire.Link, err error) {
	b.begin("sll", "Linux cooked capture v1 (SLL)", 0)
	b.packetType(0, 2, l.PacketType)
	b.put(b.mk("hatype", "ARPHRD type", 2, 2, utoa(l.HAType), arphrdName(l.HAType)))
	if b.has(4, 2) {
		n := int(binary.BigEndian.Uint16(b.data[4:]))
		b.addrFields(4, 2, 6, n)
	}
	final := b.typeFields(l, func(i int) int { return 14 + 4*i }, func(i int) int { return 16 + 4*i }, "protocol")
	b.end(baseEnd(l))
	if err != nil && l.NumEncaps == 0 {
		b.end(len(b.data))
	}
	b.sllSummary(l, final)
}

// sll2 dissects a Linux cooked capture v2 header (20 bytes): protocol,
// reserved, interface index, ARPHRD type, packet type, address length,
// 8 address bytes.
func (b *builder) sll2(l *wire.Link, err error) {
	b.begin("sll2", "Linux cooked capture v2 (SLL2)", 0)
	final := b.typeFields(l, func(i int) int {
		if i == 0 {
			return 0
		}
		return 18 + 4*i
	}, func(i int) int { return 20 + 4*i }, "protocol")
	// typeFields put the tags after the protocol; the fixed fields at 2-19
	// go between them, in frame order.
	tail := append([]Field(nil), b.layer().Fields...)
	b.layer().Fields = nil
	if len(tail) > 0 {
		b.layer().Fields = append(b.layer().Fields, tail[0])
		tail = tail[1:]
	}
	if b.has(2, 2) {
		r := binary.BigEndian.Uint16(b.data[2:])
		m := "zero, as it must be"
		if r != 0 {
			m = "should be zero"
		}
		b.put(b.mk("reserved", "reserved", 2, 2, utoa(r), m))
	}
	b.put(b.mk("ifindex", "interface index", 4, 4, utoa(l.IfIndex),
		"the capturing host's interface number; `ip link` on that host names it"))
	b.put(b.mk("hatype", "ARPHRD type", 8, 2, utoa(l.HAType), arphrdName(l.HAType)))
	b.packetType(10, 1, l.PacketType)
	if b.has(11, 1) {
		b.addrFields(11, 1, 12, int(b.data[11]))
	}
	b.layer().Fields = append(b.layer().Fields, tail...)
	b.end(baseEnd(l))
	if err != nil && l.NumEncaps == 0 {
		b.end(len(b.data))
	}
	b.sllSummary(l, final)
}

func (b *builder) sllSummary(l *wire.Link, final int) {
	name, _ := packetTypeMeaning(l.PacketType)
	s := name
	if l.IfIndex != 0 {
		s += fmt.Sprintf(", interface %d", l.IfIndex)
	}
	if l.NumVLANs > 0 {
		s += ", " + vlanSummary(l)
	}
	if final > 1500 {
		s += ", " + etherTypeName(uint16(final))
	}
	b.layer().Summary = s
}

// packetType adds the SLL packet type field.
func (b *builder) packetType(off, n int, t uint16) {
	name, meaning := packetTypeMeaning(t)
	b.put(b.mk("pkttype", "packet type", off, n, fmt.Sprintf("%d (%s)", t, name), meaning))
}

// addrFields adds an SLL address length field and the 8-byte address
// field after it, of which the first alen bytes are the address.
func (b *builder) addrFields(lenOff, lenSize, addrOff, alen int) {
	m := fmt.Sprintf("the sender's link-layer address is %s", plural(alen, "byte"))
	switch {
	case alen == 0:
		m = "no link-layer address (loopback, tun and other interfaces without one)"
	case alen > 8:
		m += ", but the header holds only 8 of them"
	}
	b.put(b.mk("halen", "address length", lenOff, lenSize, itoa(alen), m))
	f := b.mk("addr", "address", addrOff, 8, "", "")
	if captured(&f) {
		a := f.Raw[:min(alen, 8)]
		f.Value = macString(a)
		switch {
		case alen == 0:
			f.Value = "(none)"
			f.Meaning = "unused: 8 bytes of zeros or leftovers"
		case len(a) == 6:
			f.Meaning = "the sender's address; " + macMeaning(a)
		case alen < 8:
			f.Meaning = fmt.Sprintf("the first %s; the other %s are padding", plural(alen, "byte"), plural(8-alen, "byte"))
		case alen > 8:
			f.Meaning = "truncated to the 8 bytes the header has room for"
		}
		b.put(f)
	}
}

// loopback dissects the 4-byte BSD loopback header: the address family,
// in the writer's byte order (DLT_NULL) or network order (DLT_LOOP).
func (b *builder) loopback(l *wire.Link, err error) {
	title := "BSD loopback (DLT_NULL)"
	if b.frame.Link == pcap.LinkLoop {
		title = "OpenBSD loopback (DLT_LOOP)"
	}
	b.begin("loopback", title, 0)
	b.end(4)
	if err != nil || !b.has(0, 4) {
		return
	}
	name, what := bsdFamily(l.Family)
	// wire.Link normalises the family; comparing with the bytes as
	// written tells which order the writer used.
	order := "big-endian (network order)"
	if binary.LittleEndian.Uint32(b.data) == l.Family {
		order = "little-endian"
	}
	how := "the byte order of the host that wrote the file"
	if b.frame.Link == pcap.LinkLoop {
		how = "DLT_LOOP always uses network order"
	}
	b.put(b.mk("family", "address family", 0, 4, fmt.Sprintf("%d (%s)", l.Family, name),
		fmt.Sprintf("%s; written %s, %s", what, order, how)))
	b.layer().Summary = fmt.Sprintf("%s, %s", name, what)
}

// trailer describes the bytes after the IP datagram: Ethernet padding to
// the 60-byte minimum, or a trailer some devices append.
func (b *builder) trailer() {
	if b.ipEnd <= 0 || b.ipEnd >= len(b.data) {
		return
	}
	for _, l := range b.d.Layers {
		if l.Offset+l.Length > b.ipEnd {
			return // the IP length is wrong, and the stop or a warning says so
		}
	}
	n := len(b.data) - b.ipEnd
	b.begin("trailer", "Link-layer trailer", b.ipEnd)
	b.end(len(b.data))
	zero := true
	for _, c := range b.data[b.ipEnd:] {
		zero = zero && c == 0
	}
	m := fmt.Sprintf("%s after the end of the IP datagram: not part of it", plural(n, "byte"))
	switch {
	case b.frame.Link == pcap.LinkEthernet && len(b.data) == 60:
		m += "; padding up to Ethernet's 60-byte minimum frame"
	case zero:
		m += "; zeros, padding"
	default:
		m += "; a trailer some NICs, switches or capture devices append"
	}
	f := b.mk("padding", "padding", b.ipEnd, min(n, 64), plural(n, "byte"), m)
	f.Dump = true
	b.put(f)
	b.layer().Summary = plural(n, "byte")
}
