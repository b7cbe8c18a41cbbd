package dissect

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// ipv4 dissects an IPv4 header at off and goes on to TCP.
func (b *builder) ipv4(off int) {
	b.begin("ipv4", "Internet Protocol version 4", off)
	raw := b.data[min(off, len(b.data)):]
	if len(raw) == 0 {
		b.stopErr("ipv4", b.malformed("ipv4", off, "0 bytes captured, the header needs 20"))
		return
	}
	ip, err := wire.ParseIPv4(raw, off)
	if err != nil {
		werr := asWireError(err, "ipv4", off)
		if raw[0]>>4 != 4 {
			b.put(b.mkBits("version", "version", off, 1, 0, 4, utoa(raw[0]>>4), "not 4: this is not an IPv4 header"))
			b.end(off + 1)
			b.stopErr("ipv4", werr)
			return
		}
		// Cut short by the capture: show the fields that were captured.
		ip, _ = wire.ParseIPv4(padded(raw, 60), off)
		defer b.stopErr("ipv4", werr)
	}
	hl := ip.HeaderLen()
	total := int(ip.TotalLength())
	b.end(off + max(hl, 20))

	b.put(b.mkBits("version", "version", off, 1, 0, 4, utoa(ip.Version()), ""))
	b.put(b.mkBits("ihl", "header length (IHL)", off, 1, 4, 4, itoa(hl/4), ihlMeaning(hl)))
	b.put(b.mkBits("dscp", "DSCP", off+1, 1, 0, 6, utoa(ip.TOS()>>2), dscpMeaning(ip.TOS()>>2)))
	en, em := ecnMeaning(ip.ECN())
	b.put(b.mkBits("ecn", "ECN", off+1, 1, 6, 2, fmt.Sprintf("%d (%s)", ip.ECN(), en), em))

	wireAtIP := b.frame.Length - off
	lenFixed := false
	var tm string
	switch {
	case total == 0:
		lenFixed = true
		tm = fmt.Sprintf("left for the NIC to fill in (TCP segmentation offload or BIG TCP on the capturing host); tcplens uses the frame's length, %d", wireAtIP)
		total = wireAtIP
	case total < hl:
		tm = fmt.Sprintf("less than the %d-byte header: malformed", hl)
	default:
		tm = fmt.Sprintf("%d bytes of header and %d of payload", hl, total-hl)
		if have := len(raw); have < total {
			tm += fmt.Sprintf("; %d of them captured", have)
		}
		if total > wireAtIP {
			tm += fmt.Sprintf("; more than the %d bytes the frame had on the wire: the length is wrong", wireAtIP)
			b.warn(off+2, "IPv4 total length %d exceeds the %d bytes the frame had on the wire", total, wireAtIP)
		}
	}
	b.put(b.mk("total_length", "total length", off+2, 2, utoa(ip.TotalLength()), tm))
	if lenFixed {
		b.warn(off+2, "IPv4 total length 0: segmentation offload on the capturing host; the lengths come from the frame")
	}

	fo := ip.FlagsOffset()
	df, mf, evil := ip.DontFragment(), ip.MoreFragments(), fo&wire.IPv4Reserved != 0
	fragOff := ip.FragmentOffset()
	idm := "identifies the fragments of one datagram"
	if df && !mf && fragOff == 0 {
		idm += "; DF is set and this datagram is whole, so it serves no purpose here (RFC 6864)"
	}
	b.put(b.mk("id", "identification", off+4, 2, fmt.Sprintf("%d (0x%04x)", ip.ID(), ip.ID()), idm))

	flags := b.mkBits("flags", "flags", off+6, 2, 0, 3, ipv4FlagsValue(evil, df, mf), "")
	sub(&flags, b.mkBits("reserved", "reserved (evil bit)", off+6, 2, 0, 1, bit(evil),
		choose(evil, "set: must be zero (RFC 791); RFC 3514's April-fools \"evil bit\"", "not set, as it must be")))
	sub(&flags, b.mkBits("df", "don't fragment (DF)", off+6, 2, 1, 1, bit(df),
		choose(df, "set: a router must drop the packet rather than fragment it, and say so with ICMP \"fragmentation needed\" (path MTU discovery)",
			"not set: routers may fragment this packet")))
	sub(&flags, b.mkBits("mf", "more fragments (MF)", off+6, 2, 2, 1, bit(mf),
		choose(mf, "set: more fragments of this datagram follow", "not set: the last or only fragment")))
	b.put(flags)
	var fm string
	switch {
	case fragOff == 0 && mf:
		fm = "the first fragment: it holds the TCP header, and later fragments the rest of the segment"
	case fragOff == 0:
		fm = "the datagram is not fragmented"
	default:
		fm = fmt.Sprintf("this fragment's data starts at byte %d of the datagram (%d × 8)", fragOff, fragOff/8)
	}
	b.put(b.mkBits("frag_offset", "fragment offset", off+6, 2, 3, 13, itoa(fragOff/8), fm))
	b.put(b.mk("ttl", "time to live (TTL)", off+8, 1, utoa(ip.TTL()), ttlMeaning(ip.TTL())))
	b.put(b.mk("protocol", "protocol", off+9, 1, fmt.Sprintf("%d (%s)", ip.Protocol(), protoName(ip.Protocol())), ""))
	b.ipv4Checksum(ip, off, err == nil)
	b.put(b.mk("src", "source", off+12, 4, ip.Src().String(), addrMeaning(ip.Src())))
	b.put(b.mk("dst", "destination", off+16, 4, ip.Dst().String(), addrMeaning(ip.Dst())))
	if hl > 20 {
		b.ipv4Options(ip.Options(), off+20, hl-20)
	}
	b.layer().Summary = fmt.Sprintf("%s → %s, protocol %s", ip.Src(), ip.Dst(), protoName(ip.Protocol()))
	if err != nil {
		return
	}

	// Past here the fixed header is whole. The order of the checks is
	// wire.Decode's.
	b.ipEnd = off + total
	if ip.Protocol() != wire.ProtoTCP {
		b.stop("ipv4", off+9, "protocol %d (%s) is not TCP: tcplens dissects TCP only", ip.Protocol(), protoName(ip.Protocol()))
		return
	}
	if hl < 20 {
		b.stopErr("ipv4", b.malformed("ipv4", off, "header length %d < minimum 20", hl))
		return
	}
	if total < hl {
		b.stopErr("ipv4", b.malformed("ipv4", off+2, "total length %d < header length %d", total, hl))
		return
	}
	if fragOff != 0 {
		b.stop("ipv4", off+6, "a non-first fragment (offset %d): the TCP header travels in the fragment at offset 0, and tcplens does not reassemble", fragOff)
		return
	}
	if hl > len(ip) {
		b.stopErr("ipv4", b.malformed("ipv4", off, "header of %d bytes, %d captured", hl, len(ip)))
		return
	}
	b.tcp(off+hl, total-hl, tcpContext{src: ip.Src(), dst: ip.Dst(), fragment: mf, lenFixed: lenFixed})
}

// article is "an" before a number said with a vowel sound (8, 11, 18,
// 80-89, 800-899, ...), else "a".
func article(n int) string {
	s := itoa(n)
	if s[0] == '8' || n == 11 || n == 18 || (n >= 11000 && n < 12000) || (n >= 18000 && n < 19000) {
		return "an"
	}
	return "a"
}

func ihlMeaning(hl int) string {
	switch {
	case hl < 20:
		return fmt.Sprintf("%s %d-byte header, below the minimum of 20: malformed", article(hl), hl)
	case hl == 20:
		return "a 20-byte header, no options"
	}
	return fmt.Sprintf("%s %d-byte header, so %d bytes of options", article(hl), hl, hl-20)
}

func ipv4FlagsValue(evil, df, mf bool) string {
	var s []string
	if evil {
		s = append(s, "reserved")
	}
	if df {
		s = append(s, "DF")
	}
	if mf {
		s = append(s, "MF")
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// ttlMeaning guesses the sender's initial TTL: the usual ones are 64
// (Linux, BSD, macOS), 128 (Windows) and 255 (network equipment, Solaris).
func ttlMeaning(ttl uint8) string {
	if ttl == 0 {
		return "the next router must drop the packet"
	}
	start, who := 255, "network equipment and some Unixes"
	switch {
	case ttl <= 32:
		start, who = 32, "old Windows"
	case ttl <= 64:
		start, who = 64, "Linux, BSD, macOS"
	case ttl <= 128:
		start, who = 128, "Windows"
	}
	return fmt.Sprintf("routers may forward it %d more times; from a sender starting at %d (%s), it has crossed %d", ttl, start, who, start-int(ttl))
}

// addrMeaning notes what kind of address a is, when that is notable.
func addrMeaning(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "loopback: the packet never left the host"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast():
		return "multicast"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsPrivate():
		return "private (RFC 1918 / RFC 4193): behind NAT or inside a network"
	}
	if a.Is4() {
		v := a.As4()
		if v[0] == 100 && v[1]&0xc0 == 64 {
			return "carrier-grade NAT space (RFC 6598)"
		}
	}
	if a.Is6() && strings.HasPrefix(a.String(), "2001:db8:") {
		return "documentation prefix (RFC 3849)"
	}
	return ""
}

// ipv4Checksum adds the header checksum field, verified.
func (b *builder) ipv4Checksum(ip wire.IPv4, off int, whole bool) {
	c := Checksum{Layer: "ipv4", Offset: off + 10, Value: ip.Checksum()}
	var ok, checked bool
	if whole {
		ok, checked = ip.HeaderChecksumOK()
	}
	if checked {
		hl := ip.HeaderLen()
		// One's-complement subtraction of the field as sent gives the
		// value it should have held (as wire.TCPChecksum does).
		c.Computed = ^wire.Fold(wire.Sum(0, ip[:hl]) + uint64(^ip.Checksum()))
		c.Status = Incorrect
		if ok {
			c.Status = Correct
			c.Computed = c.Value
		}
	} else {
		hl := max(20, ip.HeaderLen())
		c.Reason = fmt.Sprintf("the header is not wholly captured (%d of %d bytes)", max(0, min(len(b.data)-off, hl)), hl)
		if ip.HeaderLen() < 20 {
			c.Reason = "the header length is below the minimum"
		}
	}
	var v, m string
	switch c.Status {
	case Correct:
		v, m = "correct", "the header arrived as sent"
	case Incorrect:
		v = fmt.Sprintf("incorrect, should be 0x%04x", c.Computed)
		if b.linkHdr.PacketType == wire.PacketOutgoing && isSLL(b.linkHdr) {
			c.Offload = true
			c.Reason = "the frame was sent by the capturing host, which captures it before the NIC computes the checksum: checksum offload is the likely cause"
			m = c.Reason
		} else if c.Value == 0 {
			c.Offload = true
			c.Reason = "an all-zero field is what a sender leaves for the NIC to fill in: checksum offload on the capturing host is the likely cause"
			m = c.Reason
		} else {
			m = "the header was corrupted on the way, or changed by a device that did not update the checksum"
		}
	default:
		v, m = "unverified", c.Reason
	}
	if b.put(b.mk("checksum", "header checksum", off+10, 2, v, m)) {
		b.d.Checksums = append(b.d.Checksums, c)
		if c.Status == Incorrect {
			msg := fmt.Sprintf("IPv4 header checksum 0x%04x is incorrect, should be 0x%04x", c.Value, c.Computed)
			if c.Offload {
				msg += " (checksum offload is the likely cause)"
			}
			b.warn(off+10, "%s", msg)
		}
	}
}

func isSLL(l wire.Link) bool { return l.Type == pcap.LinkSLL || l.Type == pcap.LinkSLL2 }

// ipv4Options adds the IPv4 options (RFC 791 section 3.1). wire has no
// iterator for them, so the type-length-value walk is here; opts is what
// was captured of the n option bytes at frame offset base.
func (b *builder) ipv4Options(opts []byte, base, n int) {
	group := b.mk("options", "options", base, n, plural(n, "byte"), "")
	for i := 0; i < len(opts); {
		typ := opts[i]
		name, ok := ipv4OptionNames[typ]
		if !ok {
			name = fmt.Sprintf("unknown type %d", typ)
		}
		copied, class, num := typ>>7, typ>>5&3, typ&31
		typeMeaning := fmt.Sprintf("copied %d (%s), class %d (%s), number %d",
			copied, choose(copied == 1, "repeated in every fragment", "first fragment only"),
			class, choose(class == 2, "debugging and measurement", choose(class == 0, "control", "reserved")), num)
		if typ == 0 || typ == 1 {
			f := b.mk(ipv4OptionID(typ, i), name, base+i, 1, name, "")
			if typ == 0 {
				f.Meaning = "end of the options: the rest is padding"
			} else {
				f.Meaning = "padding that aligns the next option"
			}
			sub(&f, b.mk("type", "type", base+i, 1, utoa(typ), typeMeaning))
			sub(&group, f)
			i++
			if typ == 0 {
				if rest := len(opts) - i; rest > 0 {
					sub(&group, b.mk("padding", "padding", base+i, rest, plural(rest, "byte"), "after the end of the options"))
				}
				break
			}
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			why := "no length byte"
			if i+1 < len(opts) {
				if opts[i+1] < 2 {
					why = fmt.Sprintf("length %d < 2", opts[i+1])
				} else {
					why = fmt.Sprintf("length %d runs past the options", opts[i+1])
				}
			}
			rest := len(opts) - i
			sub(&group, b.mk("malformed", "malformed option", base+i, rest, fmt.Sprintf("type %d", typ), why+"; the options cannot be read further"))
			b.warn(base+i, "IPv4 option type %d: %s", typ, why)
			break
		}
		l := int(opts[i+1])
		data := opts[i+2 : i+l]
		f := b.mk(ipv4OptionID(typ, i), name, base+i, l, "", ipv4OptionMeaning(typ, data))
		f.Value = ipv4OptionValue(typ, data)
		sub(&f, b.mk("type", "type", base+i, 1, utoa(typ), typeMeaning))
		sub(&f, b.mk("length", "length", base+i+1, 1, itoa(l), ""))
		if len(data) > 0 {
			sub(&f, b.mk("data", "data", base+i+2, len(data), fmt.Sprintf("%x", data), ""))
		}
		sub(&group, f)
		i += l
	}
	b.put(group)
}

func ipv4OptionValue(typ uint8, d []byte) string {
	switch typ {
	case 7, 131, 137: // record route, loose and strict source route
		if len(d) < 1 {
			return "(empty)"
		}
		var addrs []string
		for i := 1; i+4 <= len(d); i += 4 {
			addrs = append(addrs, netip.AddrFrom4([4]byte(d[i:i+4])).String())
		}
		return fmt.Sprintf("pointer %d, %s", d[0], strings.Join(addrs, " "))
	case 148: // router alert
		if len(d) == 2 {
			return utoa(binary.BigEndian.Uint16(d))
		}
	case 68: // timestamp
		if len(d) >= 2 {
			return fmt.Sprintf("pointer %d, overflow %d, flag %d", d[0], d[1]>>4, d[1]&15)
		}
	}
	return fmt.Sprintf("%x", d)
}

func ipv4OptionMeaning(typ uint8, d []byte) string {
	switch typ {
	case 7:
		return "each router on the way writes its address into the list"
	case 131:
		return "the sender names routers the packet must pass through; most networks drop such packets"
	case 137:
		return "the sender names every router on the path; most networks drop such packets"
	case 68:
		return "routers on the way add timestamps"
	case 148:
		if len(d) == 2 && binary.BigEndian.Uint16(d) == 0 {
			return "every router must examine this packet (MLD, IGMP, RSVP)"
		}
		return "routers must examine this packet"
	case 130, 133, 134:
		return "a security label for multilevel-secure systems"
	}
	return ""
}

// ipv4OptionID is the stable id of an IPv4 option field: a short name and
// the option's offset in the options area.
func ipv4OptionID(typ uint8, at int) string {
	short := map[uint8]string{0: "eol", 1: "nop", 7: "rr", 68: "ts", 82: "traceroute", 130: "security",
		131: "lsrr", 133: "ext_security", 134: "cipso", 136: "stream_id", 137: "ssrr", 148: "router_alert"}[typ]
	if short == "" {
		short = fmt.Sprintf("type%d", typ)
	}
	return fmt.Sprintf("%s@%d", short, at)
}

// ipv6OptionID is the stable id of an IPv6 option field: a short name and
// the option's offset in its extension header.
func ipv6OptionID(typ uint8, at int) string {
	short := map[uint8]string{0x00: "pad1", 0x01: "padn", 0x04: "tunnel_limit", 0x05: "router_alert",
		0x07: "calipso", 0xc2: "jumbo", 0xc9: "home_address"}[typ]
	if short == "" {
		short = fmt.Sprintf("type%d", typ)
	}
	return fmt.Sprintf("%s@%d", short, at)
}

func bit(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

func choose(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

// ipv6 dissects an IPv6 header at off, its extension headers, and goes on
// to TCP.
func (b *builder) ipv6(off int) {
	b.begin("ipv6", "Internet Protocol version 6", off)
	raw := b.data[min(off, len(b.data)):]
	if len(raw) == 0 {
		b.stopErr("ipv6", b.malformed("ipv6", off, "0 bytes captured, the header needs 40"))
		return
	}
	ip, err := wire.ParseIPv6(raw, off)
	if err != nil {
		werr := asWireError(err, "ipv6", off)
		if raw[0]>>4 != 6 {
			b.put(b.mkBits("version", "version", off, 1, 0, 4, utoa(raw[0]>>4), "not 6: this is not an IPv6 header"))
			b.end(off + 1)
			b.stopErr("ipv6", werr)
			return
		}
		ip, _ = wire.ParseIPv6(padded(raw, wire.IPv6HeaderLen), off)
		defer b.stopErr("ipv6", werr)
	}
	b.end(off + wire.IPv6HeaderLen)
	b.put(b.mkBits("version", "version", off, 1, 0, 4, utoa(ip.Version()), ""))
	tc := ip.TrafficClass()
	tcf := b.mkBits("traffic_class", "traffic class", off, 2, 4, 8, utoa(tc), "")
	sub(&tcf, b.mkBits("dscp", "DSCP", off, 2, 4, 6, utoa(tc>>2), dscpMeaning(tc>>2)))
	en, em := ecnMeaning(ip.ECN())
	sub(&tcf, b.mkBits("ecn", "ECN", off, 2, 10, 2, fmt.Sprintf("%d (%s)", ip.ECN(), en), em))
	b.put(tcf)
	fl := ip.FlowLabel()
	b.put(b.mkBits("flow_label", "flow label", off+1, 3, 4, 20, utoa(fl),
		choose(fl == 0, "no flow label", "labels the packets of one flow, for load balancing (RFC 6437)")))
	pl := int(ip.PayloadLength())
	wireAtIP := b.frame.Length - off
	var plm string
	if pl == 0 {
		plm = "a jumbogram (see the hop-by-hop jumbo payload option) or left for the NIC to fill in (segmentation offload or BIG TCP)"
	} else {
		plm = fmt.Sprintf("%d bytes after this 40-byte header, extension headers included", pl)
		if pl > wireAtIP-40 {
			plm += fmt.Sprintf("; more than the %d the frame had on the wire: the length is wrong", max(0, wireAtIP-40))
			b.warn(off+4, "IPv6 payload length %d exceeds the %d bytes the frame had on the wire", pl, max(0, wireAtIP-40))
		}
	}
	b.put(b.mk("payload_length", "payload length", off+4, 2, itoa(pl), plm))
	b.put(b.mk("next_header", "next header", off+6, 1, fmt.Sprintf("%d (%s)", ip.NextHeader(), protoName(ip.NextHeader())), ""))
	b.put(b.mk("hop_limit", "hop limit", off+7, 1, utoa(ip.HopLimit()), ttlMeaning(ip.HopLimit())))
	b.put(b.mk("src", "source", off+8, 16, ip.Src().String(), addrMeaning(ip.Src())))
	b.put(b.mk("dst", "destination", off+24, 16, ip.Dst().String(), addrMeaning(ip.Dst())))
	b.layer().Summary = fmt.Sprintf("%s → %s, next header %s", ip.Src(), ip.Dst(), protoName(ip.NextHeader()))
	if err != nil {
		return
	}

	chain, werr := ip.Walk(off)
	for i := range min(chain.Count, len(chain.Headers)) {
		b.extHeader(ip, off, chain.Headers[i], &chain)
	}
	if chain.Count > len(chain.Headers) {
		b.warn(off, "%d extension headers: tcplens shows the first %d", chain.Count, len(chain.Headers))
	}
	if werr != nil {
		b.stopErr("ipv6", asWireError(werr, "ipv6", off))
		return
	}
	switch {
	case chain.Jumbo != 0 && pl == 0:
		pl = int(chain.Jumbo)
		b.ipEnd = off + 40 + pl
	case pl == 0:
		b.warn(off+4, "IPv6 payload length 0: segmentation offload on the capturing host; the lengths come from the frame")
		pl = wireAtIP - 40
	default:
		b.ipEnd = off + 40 + pl
	}
	upperOff := off + chain.UpperOff
	if upperOff > len(b.data) && chain.Upper != wire.ProtoTCP && chain.Count > 0 {
		last := chain.Headers[min(chain.Count, len(chain.Headers))-1]
		b.stopErr("ipv6", wire.NewError("ipv6", off+last.Offset,
			fmt.Sprintf("extension header %d of %d bytes runs past the %d bytes captured", last.Proto, last.Len, len(b.data)-off-last.Offset)))
		return
	}
	if chain.Fragment && chain.FragOffset != 0 {
		b.stop("ipv6", upperOff, "a non-first fragment (offset %d): the TCP header travels in the fragment at offset 0, and tcplens does not reassemble", chain.FragOffset)
		return
	}
	if chain.Upper != wire.ProtoTCP {
		why := ""
		switch chain.Upper {
		case 50:
			why = "; ESP encrypts what follows"
		case 51:
			why = "; tcplens does not cross an AH header"
		case 59:
			why = "; nothing follows"
		}
		b.stop("ipv6", upperOff, "next header %d (%s) is not TCP%s: tcplens dissects TCP only", chain.Upper, protoName(chain.Upper), why)
		return
	}
	tcpLen := pl - (chain.UpperOff - 40)
	if tcpLen < 0 {
		b.stopErr("ipv6", b.malformed("ipv6", off+4, "payload length %d is shorter than its extension headers", pl))
		return
	}
	b.tcp(upperOff, tcpLen, tcpContext{src: ip.Src(), dst: ip.Dst(), fragment: chain.MoreFrags, lenFixed: ip.PayloadLength() == 0 && chain.Jumbo == 0})
}

// extHeader adds one IPv6 extension header as a layer (RFC 8200 section 4).
// wire.IPv6.Walk finds each header and decodes the fragment header; the
// other headers' inner fields have no wire accessor and are read here.
func (b *builder) extHeader(ip wire.IPv6, ipOff int, h wire.ExtHeader, chain *wire.IPv6Chain) {
	p := ipOff + h.Offset
	var id, title string
	switch h.Proto {
	case wire.ProtoHopByHop:
		id, title = "ipv6.hop_by_hop", "IPv6 hop-by-hop options"
	case wire.ProtoRouting:
		id, title = "ipv6.routing", "IPv6 routing header"
	case wire.ProtoFragment:
		id, title = "ipv6.fragment", "IPv6 fragment header"
	default:
		id, title = "ipv6.dest_opts", "IPv6 destination options"
	}
	b.begin(id, title, p)
	b.end(p + h.Len)
	hb := ip[h.Offset:min(h.Offset+h.Len, len(ip))]
	nh := hb[0]
	b.put(b.mk("next_header", "next header", p, 1, fmt.Sprintf("%d (%s)", nh, protoName(nh)), ""))
	if h.Proto == wire.ProtoFragment {
		b.put(b.mk("reserved", "reserved", p+1, 1, utoa(hb[1]), choose(hb[1] == 0, "zero, as it must be", "should be zero")))
		// Walk decodes the fragment header (the values of the last one it
		// crossed; a chain with two is malformed anyway). The two reserved
		// bits have no accessor.
		fragOff, more, fragID := chain.FragOffset, chain.MoreFrags, chain.FragID
		b.put(b.mkBits("frag_offset", "fragment offset", p+2, 2, 0, 13, itoa(fragOff/8),
			fmt.Sprintf("this fragment's data starts at byte %d of the fragmentable part (%d × 8)", fragOff, fragOff/8)))
		res := hb[3] >> 1 & 3
		b.put(b.mkBits("res", "reserved", p+2, 2, 13, 2, utoa(res), choose(res == 0, "zero, as it must be", "should be zero")))
		b.put(b.mkBits("m", "more fragments (M)", p+2, 2, 15, 1, bit(more),
			choose(more, "set: more fragments follow", "not set: the last or only fragment")))
		b.put(b.mk("id", "identification", p+4, 4, fmt.Sprintf("%d (0x%08x)", fragID, fragID), "identifies the fragments of one datagram"))
		switch {
		case fragOff == 0 && !more:
			b.layer().Summary = "an atomic fragment (RFC 6946): offset 0 and no more fragments, a whole datagram behind a fragment header"
		case fragOff == 0:
			b.layer().Summary = "the first fragment"
		default:
			b.layer().Summary = fmt.Sprintf("a fragment at offset %d", fragOff)
		}
		return
	}
	b.put(b.mk("hdr_ext_len", "header extension length", p+1, 1, utoa(hb[1]),
		fmt.Sprintf("%s %d-byte header ((%d + 1) × 8)", article(h.Len), h.Len, hb[1])))
	if h.Proto == wire.ProtoRouting {
		b.routing(hb, p, h.Len)
		return
	}
	b.ipv6Options(hb, p, h.Len)
}

// routing adds the fields of a routing header.
func (b *builder) routing(hb []byte, p, n int) {
	if len(hb) < 4 {
		return
	}
	rt, left := hb[2], hb[3]
	var rtm string
	switch rt {
	case 0:
		rtm = "type 0 source route: deprecated by RFC 5095, routers drop it"
	case 2:
		rtm = "type 2: Mobile IPv6 home address (RFC 6275)"
	case 3:
		rtm = "type 3: RPL source route (RFC 6554)"
	case 4:
		rtm = "type 4: segment routing header (SRv6, RFC 8754)"
	default:
		rtm = "a routing type tcplens does not decode"
	}
	b.put(b.mk("routing_type", "routing type", p+2, 1, utoa(rt), rtm))
	b.put(b.mk("segments_left", "segments left", p+3, 1, utoa(left),
		fmt.Sprintf("%d more listed nodes to visit before the destination", left)))
	switch {
	case (rt == 0 || rt == 2) && n >= 8:
		b.put(b.mk("reserved", "reserved", p+4, 4, fmt.Sprintf("%x", hb[4:min(8, len(hb))]), ""))
		for i, a := 0, 8; a+16 <= n && a+16 <= len(hb); i, a = i+1, a+16 {
			b.put(b.mk(fmt.Sprintf("address_%d", i+1), fmt.Sprintf("address %d", i+1), p+a, 16,
				netip.AddrFrom16([16]byte(hb[a:a+16])).String(), ""))
		}
	case rt == 4 && n >= 8 && len(hb) >= 8:
		b.put(b.mk("last_entry", "last entry", p+4, 1, utoa(hb[4]), "index of the last segment in the list"))
		b.put(b.mk("flags", "flags", p+5, 1, fmt.Sprintf("0x%02x", hb[5]), ""))
		b.put(b.mk("tag", "tag", p+6, 2, utoa(binary.BigEndian.Uint16(hb[6:])), ""))
		for i, a := 0, 8; a+16 <= n && a+16 <= len(hb); i, a = i+1, a+16 {
			b.put(b.mk(fmt.Sprintf("segment_%d", i), fmt.Sprintf("segment %d", i), p+a, 16,
				netip.AddrFrom16([16]byte(hb[a:a+16])).String(), choose(i == int(left)-1, "the next segment", "")))
		}
	case n > 4:
		b.put(b.mk("data", "type-specific data", p+4, n-4, plural(n-4, "byte"), ""))
	}
}

// ipv6Options adds the TLV options of a hop-by-hop or destination options
// header (RFC 8200 section 4.2).
func (b *builder) ipv6Options(hb []byte, p, n int) {
	end := min(n, len(hb))
	for i := 2; i < end; {
		typ := hb[i]
		name, ok := ipv6OptionNames[typ]
		if !ok {
			name = fmt.Sprintf("unknown type 0x%02x", typ)
		}
		if typ == 0 {
			f := b.mk(ipv6OptionID(0, i), "Pad1", p+i, 1, "Pad1", "one byte of padding")
			b.put(f)
			i++
			continue
		}
		if i+1 >= end || i+2+int(hb[i+1]) > end {
			b.put(b.mk("malformed", "malformed option", p+i, end-i, fmt.Sprintf("type 0x%02x", typ), "its length runs past the header"))
			b.warn(p+i, "IPv6 option type 0x%02x: its length runs past the header", typ)
			return
		}
		l := int(hb[i+1])
		data := hb[i+2 : i+2+l]
		f := b.mk(ipv6OptionID(typ, i), name, p+i, l+2, fmt.Sprintf("%x", data), "")
		act := typ >> 6
		sub(&f, b.mk("type", "type", p+i, 1, fmt.Sprintf("0x%02x", typ), fmt.Sprintf("if unknown: %s; %s en route",
			[...]string{"skip it", "discard the packet", "discard and send ICMP Parameter Problem", "discard and send ICMP unless multicast"}[act],
			choose(typ&0x20 != 0, "may change", "does not change"))))
		sub(&f, b.mk("length", "length", p+i+1, 1, itoa(l), ""))
		switch typ {
		case 0x01:
			f.Value, f.Meaning = plural(l+2, "byte"), "padding"
		case 0xc2:
			if l == 4 {
				f.Value = utoa(binary.BigEndian.Uint32(data))
				f.Meaning = "the payload length of a jumbogram, larger than 65535 bytes (RFC 2675)"
			}
		case 0x05:
			if l == 2 {
				v := binary.BigEndian.Uint16(data)
				f.Value = utoa(v)
				f.Meaning = "routers must examine this packet" + choose(v == 0, " (0: MLD)", "")
			}
		case 0x04:
			if l == 1 {
				f.Value = utoa(data[0])
				f.Meaning = "how many more levels of tunnel encapsulation are allowed"
			}
		}
		b.put(f)
		i += 2 + l
	}
}
