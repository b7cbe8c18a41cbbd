package bpf

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/pcap"
)

// The primitives below follow libpcap 1.10's gencode.c function for
// function (named in each comment); where libpcap's optimizer removes a
// test that cannot change the outcome, so does tcplens, so that a frame
// cut short by the snapshot length is accepted or refused as tcpdump does.

func (p *parser) ip() (cond, error)  { return p.linktype(etherIP) }
func (p *parser) ip6() (cond, error) { return p.linktype(etherIPv6) }

// ipProto and ip6Proto are gen_proto with Q_IP and Q_IPV6: the IPv6 test
// also looks behind a fragment header, and at nothing else.
func (p *parser) ipProto(n uint32) (cond, error) {
	ip, err := p.ip()
	return and(ip, p.cmp(bNet, 9, 1, n)), err
}

func (p *parser) ip6Proto(n uint32) (cond, error) {
	ip6, err := p.ip6()
	return and(ip6, or(p.cmp(bNet, 6, 1, n), and(p.cmp(bNet, 6, 1, 44), p.cmp(bNet, 40, 1, n)))), err
}

func (p *parser) anyProto(n uint32) (cond, error) {
	a, err := p.ipProto(n)
	if err != nil {
		return nil, err
	}
	b, err := p.ip6Proto(n)
	return or(a, b), err
}

// abbrev is gen_proto_abbrev: a protocol keyword standing alone.
func (p *parser) abbrev(pr proto) (cond, error) {
	switch pr {
	case pIP:
		return p.ip()
	case pIPv6:
		return p.ip6()
	case pARP:
		return p.linktype(etherARP)
	case pRARP:
		return p.linktype(etherRARP)
	case pTCP:
		return p.anyProto(6)
	case pUDP:
		return p.anyProto(17)
	case pSCTP:
		return p.anyProto(132)
	case pICMP:
		return p.ipProto(1)
	case pICMPv6:
		return p.ip6Proto(58)
	case pIGMP:
		return p.ipProto(2)
	case pIGRP:
		return p.ipProto(9)
	case pPIM:
		return p.anyProto(103)
	case pVRRP, pCARP:
		return p.ipProto(112)
	case pAH:
		return p.anyProto(51)
	case pESP:
		return p.anyProto(50)
	}
	return nil, fmt.Errorf("link layer applied in wrong context")
}

func dirs(d dir, src, dst cond) cond {
	switch d {
	case dSrc:
		return src
	case dDst:
		return dst
	case dAnd:
		return and(src, dst)
	}
	return or(src, dst)
}

// ncode is gen_ncode for a number or dotted address v giving bits bits:
// host, net, port, portrange, proto or protochain, by q.
func (p *parser) ncode(q qual, v uint32, bits int, isNumber bool) (cond, error) {
	switch q.addr {
	case aDefault, aHost, aNet:
		if q.proto == pLink {
			return nil, fmt.Errorf("illegal link layer address")
		}
		mask := ^uint32(0)
		if isNumber && q.addr == aNet {
			for v != 0 && v&0xff000000 == 0 { // "net 10" is 10.0.0.0/8
				v <<= 8
				mask <<= 8
			}
		} else if bits < 32 {
			v <<= 32 - bits
			mask <<= 32 - bits
		}
		return p.host4(q, v, mask)
	case aPort, aPortrange:
		if v > 65535 {
			return nil, fmt.Errorf("illegal port number %d > 65535", v)
		}
		protos, err := portProtos(q.proto)
		if err != nil {
			return nil, err
		}
		return p.ports(q.dir, protos, v, v)
	case aProto:
		return p.proto(q, v)
	case aProtochain:
		return p.protochain(q, v)
	}
	return nil, fmt.Errorf("unexpected address")
}

// maskedNet is gen_mcode: "net 10.1.0.0/16" and "net 10.1.0.0 mask 255.255.0.0".
func (p *parser) maskedNet(q qual, t token, at int) (cond, error) {
	if t.kind != tHID {
		return nil, p.errorf("unexpected %q", clip(p.tok(0).s))
	}
	v, bits, err := dotted(t.s)
	if err != nil {
		return nil, p.errorAt(at, "%v", err)
	}
	v <<= 32 - bits
	var mask uint32
	if p.next().s == "/" {
		n := p.next()
		if n.kind != tNum {
			return nil, p.errorAt(p.pos-1, "a prefix length is a number")
		}
		if n.n > 32 {
			return nil, p.errorAt(p.pos-1, "mask length must be <= 32")
		}
		if n.n > 0 {
			mask = ^uint32(0) << (32 - n.n)
		}
		if v&^mask != 0 {
			return nil, p.errorAt(at, "non-network bits set in \"%s/%d\"", t.s, n.n)
		}
	} else {
		m := p.next()
		if m.kind != tHID && m.kind != tNum {
			return nil, p.errorAt(p.pos-1, "mask wants a dotted IPv4 mask")
		}
		mv, mbits := m.n, 32
		if m.kind == tHID {
			if mv, mbits, err = dotted(m.s); err != nil {
				return nil, p.errorAt(p.pos-1, "%v", err)
			}
		}
		mask = mv << (32 - mbits)
		if v&^mask != 0 {
			return nil, p.errorAt(at, "non-network bits set in \"%s mask %s\"", t.s, m.s)
		}
	}
	if q.addr != aNet {
		return nil, p.errorAt(at, "Mask syntax for networks only")
	}
	c, err := p.host4(q, v, mask)
	if err != nil {
		return nil, p.errorAt(at, "%v", err)
	}
	return c, nil
}

// host4 is gen_host: an IPv4 host or network, in IP and, unqualified,
// as the sender or target of ARP and RARP (but not inside MPLS).
func (p *parser) host4(q qual, v, mask uint32) (cond, error) {
	hostop := func(ll uint32, src, dst int) (cond, error) {
		l, err := p.linktype(ll)
		return and(l, dirs(q.dir, p.mcmp(bNet, src, 4, v, mask), p.mcmp(bNet, dst, 4, v, mask))), err
	}
	switch q.proto {
	case pDefault:
		c, err := hostop(etherIP, 12, 16)
		if err != nil || p.mplsDepth > 0 {
			return c, err
		}
		arp, err := hostop(etherARP, 14, 24)
		if err != nil {
			return nil, err
		}
		rarp, err := hostop(etherRARP, 14, 24)
		return or(c, or(arp, rarp)), err
	case pIP:
		return hostop(etherIP, 12, 16)
	case pARP:
		return hostop(etherARP, 14, 24)
	case pRARP:
		return hostop(etherRARP, 14, 24)
	}
	return nil, fmt.Errorf("'%s' modifier applied to host", protoWord(q.proto))
}

func protoWord(pr proto) string {
	for _, w := range []string{"link", "ip", "arp", "rarp", "sctp", "tcp", "udp", "icmp", "igmp", "igrp", "pim", "vrrp", "carp", "ip6", "icmp6", "ah", "esp", "radio"} {
		if protoNames[w] == pr {
			return w
		}
	}
	return "?"
}

// host6 is gen_mcode6 and gen_host6: an IPv6 host or network.
func (p *parser) host6(q qual, s string, bits int) (cond, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return nil, fmt.Errorf("bogus IPv6 address %s", s)
	}
	pf := netip.PrefixFrom(a, bits)
	if pf.Masked() != pf {
		return nil, fmt.Errorf("non-network bits set in \"%s/%d\"", s, bits)
	}
	switch q.addr {
	case aDefault, aHost:
		if bits != 128 {
			return nil, fmt.Errorf("Mask syntax for networks only")
		}
	case aNet:
	default:
		return nil, fmt.Errorf("invalid qualifier against IPv6 address")
	}
	if q.proto != pDefault && q.proto != pIPv6 {
		return nil, fmt.Errorf("'%s' modifier applied to ip6 host", protoWord(q.proto))
	}
	ip6, err := p.ip6()
	return and(ip6, dirs(q.dir, p.words6(8, pf), p.words6(24, pf))), err
}

// words6 compares the prefix's network bits at off in the network
// header, 32 bits at a time; words of no network bits are not loaded
// (libpcap's optimizer drops their "and #0" tests), unless the prefix has
// none at all.
func (p *parser) words6(off int, pf netip.Prefix) cond {
	addr := pf.Addr().AsSlice()
	if pf.Bits() == 0 {
		return p.mcmp(bNet, off, 4, 0, 0)
	}
	var c cond = condTrue{}
	for i := 0; i < pf.Bits(); i += 32 {
		v := binary.BigEndian.Uint32(addr[i/8:])
		mask := ^uint32(0)
		if n := pf.Bits() - i; n < 32 {
			mask <<= 32 - n
		}
		c = and(c, p.mcmp(bNet, off+i/8, 4, v&mask, mask))
	}
	return c
}

// macHost is gen_ehostop and its kin (gen_fhostop, gen_thostop,
// gen_wlanhostop, gen_ipfchostop): a 48-bit MAC address as the link
// type places it.
func (p *parser) macHost(d dir, mac []byte) (cond, error) {
	var src, dst int
	switch {
	case p.ethernet():
		src, dst = 6, 0
	case p.dlt == pcap.LinkFDDI:
		src, dst = 7, 1
	case p.dlt == pcap.LinkTokenRing:
		src, dst = 8, 2
	case p.dlt == pcap.LinkIPOverFC:
		src, dst = 10, 2
	case p.wifi():
		return p.wlanHost(d, mac), nil
	default:
		return nil, fmt.Errorf("%v frames have no Ethernet addresses (Ethernet, FDDI, Token Ring, 802.11 and IP over FC do)", p.dlt)
	}
	return dirs(d, p.bcmp(bLinkHdr, src, mac), p.bcmp(bLinkHdr, dst, mac)), nil
}

// wlanHost is gen_wlanhostop: the source or destination address of an
// 802.11 frame depends on its type and on its To DS and From DS bits.
func (p *parser) wlanHost(d dir, mac []byte) cond {
	flag := func(off int, bits uint32) cond { return p.set(bLinkHdr, off, 1, bits) }
	addr := func(off int) cond { return p.bcmp(bLinkHdr, off, mac) }
	const toDS, fromDS = 0x01, 0x02
	// Management frames have the address at mgmt, data frames at
	// data; control frames have none.
	frame := func(mgmt int, data cond) cond {
		c := and(flag(0, wlanTypeData), data)
		c = or(and(not(flag(0, wlanTypeData)), addr(mgmt)), c)
		return and(not(flag(0, wlanTypeCtl)), c)
	}
	src := func() cond {
		fromDSSet := or(and(not(flag(1, toDS)), addr(16)), and(flag(1, toDS), addr(24)))
		data := or(and(not(flag(1, fromDS)), addr(10)), and(flag(1, fromDS), fromDSSet))
		return frame(10, data)
	}
	dst := func() cond {
		return frame(4, or(and(not(flag(1, toDS)), addr(4)), and(flag(1, toDS), addr(16))))
	}
	switch d {
	case dSrc:
		return src()
	case dDst:
		return dst()
	case dAnd:
		return and(src(), dst())
	}
	return or(src(), dst())
}

// macMulticast is gen_multicast for the link layer: the group bit of the
// destination address.
func (p *parser) macMulticast() (cond, error) {
	group := func(off int) cond { return p.set(bLinkHdr, off, 1, 1) }
	switch {
	case p.ethernet():
		return group(0), nil
	case p.dlt == pcap.LinkFDDI:
		return group(1), nil
	case p.dlt == pcap.LinkTokenRing, p.dlt == pcap.LinkIPOverFC:
		return group(2), nil
	case p.wifi():
		flag := func(off int, bits uint32) cond { return p.set(bLinkHdr, off, 1, bits) }
		data := or(and(not(flag(1, 0x01)), group(4)), and(flag(1, 0x01), group(16)))
		c := or(and(not(flag(0, wlanTypeData)), group(4)), and(flag(0, wlanTypeData), data))
		return and(not(flag(0, wlanTypeCtl)), c), nil
	}
	return nil, fmt.Errorf("%v frames have no link-layer multicast (Ethernet, FDDI, Token Ring, 802.11 and IP over FC do)", p.dlt)
}

// etherHost is gen_ecode: an Ethernet address.
func (p *parser) etherHost(q qual, s string) (cond, error) {
	if (q.addr != aHost && q.addr != aDefault) || q.proto != pLink {
		return nil, fmt.Errorf("ethernet address used in non-ether expression")
	}
	if p.opt.Cooked {
		return nil, fmt.Errorf("ethernet addresses are not in the frames of a Linux cooked socket")
	}
	mac, err := parseMAC(s)
	if err != nil {
		return nil, err
	}
	return p.macHost(q.dir, mac[:])
}

func parseMAC(s string) ([6]byte, error) {
	var mac [6]byte
	var groups []string
	switch {
	case strings.Count(s, ":") == 5:
		groups = strings.Split(s, ":")
	case strings.Count(s, "-") == 5:
		groups = strings.Split(s, "-")
	case strings.Count(s, ".") == 5:
		groups = strings.Split(s, ".")
	default:
		hex := strings.ReplaceAll(s, ".", "")
		for i := 0; i+2 <= len(hex); i += 2 {
			groups = append(groups, hex[i:i+2])
		}
	}
	if len(groups) != 6 {
		return mac, fmt.Errorf("bogus ethernet address %s", s)
	}
	for i, g := range groups {
		n, err := strconv.ParseUint(g, 16, 8)
		if err != nil {
			return mac, fmt.Errorf("bogus ethernet address %s", s)
		}
		mac[i] = byte(n)
	}
	return mac, nil
}

// scode is gen_scode: a name. tcplens resolves no host names (it never
// touches DNS); service names are those of its own table (services.go),
// protocol names /etc/protocols'.
func (p *parser) scode(q qual, name string) (cond, error) {
	switch q.addr {
	case aDefault, aHost, aNet:
		if _, err := netip.ParseAddr(name); err == nil {
			return nil, fmt.Errorf("%q needs host or net before it", clip(name))
		}
		return nil, fmt.Errorf("unknown host %q: tcplens resolves no names, give the address", clip(name))
	case aPort:
		if _, err := portProtos(q.proto); err != nil {
			return nil, err
		}
		port, real, ok := lookupService(name)
		if !ok {
			return nil, fmt.Errorf("unknown port '%s' (tcplens knows the service names of Debian's /etc/services; give the number)", clip(name))
		}
		protos, err := serviceProtos(q.proto, real, "port '"+clip(name)+"'")
		if err != nil {
			return nil, err
		}
		return p.ports(q.dir, protos, port, port)
	case aPortrange:
		if _, err := portProtos(q.proto); err != nil {
			return nil, err
		}
		lo, hi, real, err := portRange(name)
		if err != nil {
			return nil, err
		}
		protos, err := serviceProtos(q.proto, real, "port in range '"+clip(name)+"'")
		if err != nil {
			return nil, err
		}
		return p.ports(q.dir, protos, min(lo, hi), max(lo, hi))
	case aProto, aProtochain:
		if q.proto == pLink {
			n, ok := etherProtos[name]
			if !ok {
				return nil, fmt.Errorf("unknown ether proto '%s'", name)
			}
			if q.addr == aProtochain {
				return p.protochain(q, n)
			}
			return p.proto(q, n)
		}
		n, ok := ipProtos[name]
		if !ok {
			return nil, fmt.Errorf("unknown ip proto '%s'", name)
		}
		if q.addr == aProtochain {
			return p.protochain(q, n)
		}
		return p.proto(q, n)
	}
	return nil, fmt.Errorf("unexpected name %q", clip(name))
}

var etherProtos = map[string]uint32{"ip": etherIP, "ip6": etherIPv6, "arp": etherARP, "rarp": etherRARP}

// ipProtos is Debian's /etc/protocols, which tcpdump reads for these names.
var ipProtos = map[string]uint32{}

func init() {
	for _, e := range strings.Split("ip 0 IP;hopopt 0 HOPOPT;icmp 1 ICMP;igmp 2 IGMP;ggp 3 GGP;ipencap 4 IP-ENCAP;st 5 ST;tcp 6 TCP;egp 8 EGP;igp 9 IGP;pup 12 PUP;udp 17 UDP;hmp 20 HMP;xns-idp 22 XNS-IDP;rdp 27 RDP;iso-tp4 29 ISO-TP4;dccp 33 DCCP;xtp 36 XTP;ddp 37 DDP;idpr-cmtp 38 IDPR-CMTP;ipv6 41 IPv6;ipv6-route 43 IPv6-Route;ipv6-frag 44 IPv6-Frag;idrp 45 IDRP;rsvp 46 RSVP;gre 47 GRE;esp 50 IPSEC-ESP;ah 51 IPSEC-AH;skip 57 SKIP;ipv6-icmp 58 IPv6-ICMP;ipv6-nonxt 59 IPv6-NoNxt;ipv6-opts 60 IPv6-Opts;rspf 73 RSPF CPHB;vmtp 81 VMTP;eigrp 88 EIGRP;ospf 89 OSPFIGP;ax.25 93 AX.25;ipip 94 IPIP;etherip 97 ETHERIP;encap 98 ENCAP;pim 103 PIM;ipcomp 108 IPCOMP;vrrp 112 VRRP;l2tp 115 L2TP;isis 124 ISIS;sctp 132 SCTP;fc 133 FC;mobility-header 135 Mobility-Header;udplite 136 UDPLite;mpls-in-ip 137 MPLS-in-IP;manet 138;hip 139 HIP;shim6 140 Shim6;wesp 141 WESP;rohc 142 ROHC;ethernet 143 Ethernet", ";") {
		f := strings.Fields(e)
		n, _ := strconv.Atoi(f[1])
		for _, name := range append(f[:1:1], f[2:]...) {
			ipProtos[name] = uint32(n)
		}
	}
}

// portProtos are the transport protocols a port qualified by pr is
// looked for in: SCTP, TCP and UDP when unqualified, in libpcap's order.
func portProtos(pr proto) ([]uint32, error) {
	switch pr {
	case pDefault:
		return []uint32{132, 6, 17}, nil
	case pTCP:
		return []uint32{6}, nil
	case pUDP:
		return []uint32{17}, nil
	case pSCTP:
		return []uint32{132}, nil
	}
	return nil, fmt.Errorf("illegal qualifier of 'port'")
}

// ports is gen_port6 or gen_port (and their range versions): IPv6 with
// the transport header right after the fixed header, then IPv4 first
// fragments.
func (p *parser) ports(d dir, protos []uint32, lo, hi uint32) (cond, error) {
	protoIs := func(off int) cond {
		var c cond = condFalse{}
		for _, n := range protos {
			c = or(c, p.cmp(bNet, off, 1, n))
		}
		return c
	}
	match := func(b base, off int) cond {
		pre := p.load(b, off, 2)
		if lo == hi {
			return atom{pre: pre, test: xbpf.JumpEqual, val: lo}
		}
		return and(atom{pre: pre, test: xbpf.JumpGreaterOrEqual, val: lo}, not(atom{pre: pre, test: xbpf.JumpGreaterThan, val: hi}))
	}
	ip6, err := p.ip6()
	if err != nil {
		return nil, err
	}
	v6 := and(ip6, and(protoIs(6), dirs(d, match(bTransIPv6, 0), match(bTransIPv6, 2))))
	ip, err := p.ip()
	v4 := and(ip, and(protoIs(9), and(p.notFragment(), dirs(d, match(bTransIPv4, 0), match(bTransIPv4, 2)))))
	return or(v6, v4), err
}

// notFragment is gen_ipfrag: not an IPv4 fragment other than the first.
func (p *parser) notFragment() cond { return not(p.set(bNet, 6, 2, 0x1fff)) }

// proto is gen_proto: "ip proto 6", "ip6 proto 17", "proto 132", "ether proto 0x86dd".
func (p *parser) proto(q qual, n uint32) (cond, error) {
	if q.dir != dDefault {
		return nil, fmt.Errorf("direction applied to 'proto'")
	}
	switch q.proto {
	case pDefault:
		return p.anyProto(n)
	case pIP:
		return p.ipProto(n)
	case pIPv6:
		return p.ip6Proto(n)
	case pLink:
		return p.linktype(n)
	}
	return nil, fmt.Errorf("'%s proto' is not supported (ip, ip6 or ether proto)", protoWord(q.proto))
}

// protochain is gen_protochain: protocol n anywhere in the chain of
// IPv6 extension headers (and IPv4's AH headers), followed by a loop
// whose backward jumps only tcplens's own interpreter runs, as only
// libpcap's does. The code is libpcap's instruction for instruction, its
// AH step included (which sets the offset to the AH header's length
// rather than adding it).
func (p *parser) protochain(q qual, n uint32) (cond, error) {
	if q.dir != dDefault {
		return nil, fmt.Errorf("direction applied to 'protochain'")
	}
	if n > 255 {
		return nil, fmt.Errorf("protocol number %d > 255", n)
	}
	if p.opt.Kernel || p.opt.Cooked {
		return nil, fmt.Errorf("'protochain' needs backward jumps, which the kernel's BPF does not take")
	}
	if p.pl.reg >= 0 {
		return nil, fmt.Errorf("'protochain' not supported with variable length headers")
	}
	switch q.proto {
	case pDefault:
		a, err := p.protochain(qual{proto: pIP, addr: q.addr}, n)
		if err != nil {
			return nil, err
		}
		b, err := p.protochain(qual{proto: pIPv6, addr: q.addr}, n)
		return or(a, b), err
	case pIP, pIPv6:
	default:
		return nil, fmt.Errorf("'%s' modifier applied to protochain", protoWord(q.proto))
	}
	nl := uint32(p.pl.k + p.nl)
	b := func(off uint32) xbpf.Instruction { return xbpf.LoadIndirect{Off: nl + off, Size: 1} }
	add := func(v uint32) xbpf.Instruction { return xbpf.ALUOpConstant{Op: xbpf.ALUOpAdd, Val: v} }
	mul := func(v uint32) xbpf.Instruction { return xbpf.ALUOpConstant{Op: xbpf.ALUOpMul, Val: v} }
	eq := func(v uint32, t, f uint8) xbpf.Instruction {
		return xbpf.JumpIf{Cond: xbpf.JumpEqual, Val: v, SkipTrue: t, SkipFalse: f}
	}
	st, ld := xbpf.StoreScratch{Src: xbpf.RegA, N: 0}, xbpf.LoadScratch{Dst: xbpf.RegA, N: 0}
	ahStep := func() []xbpf.Instruction { // the AH check, then 11 instructions, a jump back and the end
		return []xbpf.Instruction{eq(51, 0, 12), xbpf.TXA{}, b(0), st, xbpf.TXA{}, add(1), xbpf.TAX{}, b(0), add(2), mul(4), xbpf.TAX{}, ld}
	}
	var link cond
	var code []xbpf.Instruction
	var err error
	if q.proto == pIP {
		link, err = p.ip()
		// again (2): the protocol, or none; then AH.
		code = []xbpf.Instruction{xbpf.LoadAbsolute{Off: nl + 9, Size: 1}, xbpf.LoadMemShift{Off: nl},
			eq(n, 15, 0), eq(59, 14, 0), add(0)}
		code = append(code, ahStep()...)
		code = append(code, xbpf.Jump{Skip: uint32(2 - (len(code) + 1))})
	} else {
		link, err = p.ip6()
		// again (2): the protocol, or none; hop-by-hop, destination,
		// routing and fragment headers advance by their length; then AH.
		code = []xbpf.Instruction{xbpf.LoadAbsolute{Off: nl + 6, Size: 1}, xbpf.LoadConstant{Dst: xbpf.RegX, Val: 40},
			eq(n, 27, 0), eq(59, 26, 0),
			eq(0, 3, 0), eq(60, 2, 0), eq(43, 1, 0), eq(44, 0, 9),
			b(0), st, b(1), add(1), mul(8), xbpf.ALUOpX{Op: xbpf.ALUOpAdd}, xbpf.TAX{}, ld}
		code = append(code, xbpf.Jump{Skip: uint32(2 - (len(code) + 1))})
		code = append(code, ahStep()...)
		code = append(code, xbpf.Jump{Skip: uint32(2 - (len(code) + 1))})
	}
	code = append(code, add(0)) // the end the protocol and "none" jump to
	return and(link, atom{pre: code, test: xbpf.JumpEqual, val: n}), err
}

// other is grammar.y's other: less, greater, vlan, mpls, pppoes, pppoed,
// llc, broadcast, multicast, inbound, outbound, ifindex.
func (p *parser) other() (cond, error) {
	at := p.pos
	pr := pDefault
	if x, ok := protoNames[p.tok(0).s]; ok {
		pr = x
		p.next()
	}
	w := p.next().s
	number := func() (uint32, error) {
		t := p.next()
		if t.kind != tNum {
			p.pos--
			return 0, p.errorf("%s wants a number", w)
		}
		return t.n, nil
	}
	fail := func(c cond, err error) (cond, error) {
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				return nil, p.errorAt(at, "%v", err)
			}
		}
		return c, err
	}
	length := []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtLen}}
	switch w {
	case "less": // gen_less: len <= n
		n, err := number()
		return not(atom{pre: length, test: xbpf.JumpGreaterThan, val: n}), err
	case "greater": // gen_greater: len >= n
		n, err := number()
		return atom{pre: length, test: xbpf.JumpGreaterOrEqual, val: n}, err
	case "vlan":
		return p.vlan()
	case "mpls":
		return p.mpls()
	case "pppoes":
		return p.pppoes()
	case "pppoed":
		return fail(p.linktype(etherPPPoED))
	case "llc":
		return p.llc()
	case "broadcast":
		switch pr {
		case pDefault, pLink:
			if !p.ethernet() && !p.wifi() && p.dlt != pcap.LinkFDDI && p.dlt != pcap.LinkTokenRing && p.dlt != pcap.LinkIPOverFC {
				return nil, p.errorAt(at, "not a broadcast link (%v)", p.dlt)
			}
			return fail(p.macHost(dDst, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))
		case pIP:
			// tcpdump reading a file knows no netmask, and takes 0: the
			// broadcast addresses are 0.0.0.0 and 255.255.255.255.
			ip, err := p.ip()
			return fail(and(ip, or(p.cmp(bNet, 16, 4, 0), p.cmp(bNet, 16, 4, 0xffffffff))), err)
		}
		return nil, p.errorAt(at, "only link-layer/IP broadcast filters supported")
	case "multicast":
		switch pr {
		case pDefault, pLink:
			return fail(p.macMulticast())
		case pIP:
			ip, err := p.ip()
			return fail(and(ip, atom{pre: p.load(bNet, 16, 1), test: xbpf.JumpGreaterOrEqual, val: 224}), err)
		case pIPv6:
			ip6, err := p.ip6()
			return fail(and(ip6, p.cmp(bNet, 24, 1, 255)), err)
		}
		return nil, p.errorAt(at, "link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel")
	case "inbound", "outbound":
		return fail(p.direction(w == "outbound"))
	case "ifindex":
		n, err := number()
		if err != nil {
			return nil, err
		}
		switch {
		case p.opt.Cooked || p.opt.Kernel:
			return atom{pre: []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtInterfaceIndex}}, test: xbpf.JumpEqual, val: n}, nil
		case p.dlt == pcap.LinkSLL2:
			return p.cmp(bLinkHdr, 4, 4, n), nil
		}
		return nil, p.errorAt(at, "ifindex not supported on %v when reading savefiles", p.dlt)
	}
	return nil, p.errorAt(at, "unexpected %q", clip(w))
}

// direction is gen_inbound: the direction the link header records.
func (p *parser) direction(outbound bool) (cond, error) {
	pick := func(in, out uint32) uint32 {
		if outbound {
			return out
		}
		return in
	}
	notIf := func(c cond) cond { // c holds for outgoing frames
		if outbound {
			return c
		}
		return not(c)
	}
	switch {
	case p.opt.Cooked || p.opt.Kernel:
		return notIf(atom{pre: []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtType}}, test: xbpf.JumpEqual, val: 4}), nil
	case p.dlt == pcap.LinkSLL: // the packet type Linux recorded, 4 = outgoing
		return notIf(p.cmp(bLinkHdr, 0, 2, 4)), nil
	case p.dlt == pcap.LinkSLL2:
		return notIf(p.cmp(bLinkHdr, 10, 1, 4)), nil
	case p.dlt == pcap.LinkSLIP: // 0 = received
		return not(notIf(p.cmp(bLinkHdr, 0, 1, 0))), nil
	case p.dlt == pcap.LinkIPNET:
		return p.cmp(bLinkHdr, 2, 2, pick(2, 1)), nil
	case p.dlt == pcap.LinkPFLOG:
		return p.cmp(bLinkHdr, 60, 1, pick(1, 2)), nil
	case p.dlt == pcap.LinkJuniperEther:
		return p.mcmp(bLinkHdr, 3, 1, pick(1, 0), 0x01), nil
	}
	return nil, fmt.Errorf("inbound/outbound not supported on %v when reading savefiles", p.dlt)
}

// vlan is gen_vlan: an 802.1Q, 802.1ad or 0x9100 tag, with ID when given.
func (p *parser) vlan() (cond, error) {
	at := p.pos - 1
	var id uint32
	hasID := false
	if p.tok(0).kind == tNum {
		id, hasID = p.next().n, true
		if id > 4095 {
			return nil, p.errorAt(p.pos-1, "VLAN tag %d greater than maximum %d", id, 4095)
		}
	}
	if p.opt.Kernel || p.opt.Cooked {
		c := cond(atom{pre: []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtVLANTagPresent}}, test: xbpf.JumpEqual, val: 1})
		if hasID {
			c = and(c, atom{pre: []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtVLANTag}, xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0xfff}}, test: xbpf.JumpEqual, val: id})
		}
		return c, nil
	}
	if p.mplsDepth > 0 {
		return nil, p.errorAt(at, "no VLAN match after MPLS")
	}
	if !p.ethernet() && !p.wifi() {
		return nil, p.errorAt(at, "no VLAN support for %v", p.dlt)
	}
	var tag cond = condFalse{}
	for _, tpid := range []uint32{etherVLAN, etherQinQ, etherVLAN91} {
		l, err := p.linktype(tpid)
		if err != nil {
			return nil, p.errorAt(at, "%v", err)
		}
		tag = or(tag, l)
	}
	if hasID {
		tag = and(tag, p.mcmp(bNet, 0, 2, id, 0x0fff))
	}
	// libpcap moves the offsets of everything parsed after a vlan
	// keyword behind the tag, whatever the structure of the expression.
	p.pl.k += 4
	p.lt.k += 4
	return tag, nil
}

// mpls is gen_mpls: an MPLS label (with the given value), after which
// the network header is looked for 4 bytes further.
func (p *parser) mpls() (cond, error) {
	at := p.pos - 1
	var c cond
	if p.mplsDepth > 0 {
		c = p.mcmp(bNet, -2, 1, 0, 0x01) // not the bottom of the stack yet
	} else {
		var err error
		switch {
		case p.ethernet() || p.dlt == pcap.LinkCHDLC:
			c, err = p.linktype(etherMPLS)
		case p.dlt == pcap.LinkPPP:
			c, err = p.linktype(pppMPLS)
		default:
			return nil, p.errorAt(at, "no MPLS support for %v", p.dlt)
		}
		if err != nil {
			return nil, p.errorAt(at, "%v", err)
		}
	}
	if p.tok(0).kind == tNum {
		label := p.next().n
		if label > 0xfffff {
			return nil, p.errorAt(p.pos-1, "MPLS label %d greater than maximum %d", label, 0xfffff)
		}
		c = and(c, p.mcmp(bNet, 0, 4, label<<12, 0xfffff000))
	}
	p.nl += 4
	p.nlNoSnap += 4
	p.mplsDepth++
	return c, nil
}

// pppoes is gen_pppoes: a PPPoE session frame (of the given session),
// after which the link layer is PPP, starting behind the PPPoE header.
func (p *parser) pppoes() (cond, error) {
	at := p.pos - 1
	c, err := p.linktype(etherPPPoES)
	if err != nil {
		return nil, p.errorAt(at, "%v", err)
	}
	if p.tok(0).kind == tNum {
		id := p.next().n
		if id > 0xffff {
			return nil, p.errorAt(p.pos-1, "PPPoE session number %d greater than maximum %d", id, 0xffff)
		}
		c = and(c, p.mcmp(bNet, 0, 4, id, 0xffff))
	}
	p.dlt = pcap.LinkPPP
	p.hdr = hdrOff{k: p.pl.k + p.nl + 6, reg: p.pl.reg}
	p.lt = p.hdr
	p.pl.k = p.hdr.k + 2
	p.nl, p.nlNoSnap = 0, 0
	return c, nil
}

// llc is gen_llc and its kin: 802.2 frames, or I, S or U frames, or S
// and U frames of one kind ("llc rr", "llc ui").
func (p *parser) llc() (cond, error) {
	at := p.pos - 1
	var c cond
	switch {
	case p.dlt == pcap.LinkEthernet && !p.opt.Cooked: // a length, and not Novell's 802.3
		c = and(not(atom{pre: p.load(bLinkType, 0, 2), test: xbpf.JumpGreaterThan, val: ethernetMTU}), not(p.cmp(bLLC, 0, 2, 0xffff)))
	case p.dlt == pcap.LinkSunATM:
		c = p.mcmp(bLinkHdr, 0, 1, 2, 0x0f)
	case p.dlt == pcap.LinkTokenRing, p.dlt == pcap.LinkFDDI, p.dlt == pcap.LinkATMRFC1483:
		c = condTrue{}
	case p.wifi():
		c = p.wlanDataFrame()
	default:
		return nil, p.errorAt(at, "'llc' not supported for %v", p.dlt)
	}
	t := p.tok(0)
	if t.kind != tWord && t.kind != tName || keywords[t.s] && t.s != "rnr" {
		return c, nil
	}
	p.next()
	control := func(v, mask uint32) cond { return and(c, p.mcmp(bLLC, 2, 1, v, mask)) }
	switch name := strings.ToLower(t.s); name {
	case "i":
		return and(c, not(p.set(bLLC, 2, 1, 0x01))), nil
	case "s":
		return control(0x01, 0x03), nil
	case "u":
		return control(0x03, 0x03), nil
	default:
		if v, ok := llcSTypes[name]; ok {
			return control(v, 0x0f), nil
		}
		if v, ok := llcUTypes[name]; ok {
			return control(v, 0xef), nil
		}
	}
	return nil, p.errorAt(p.pos-1, "unknown LLC type name \"%s\"", clip(t.s))
}

// The supervisory and unnumbered frames of 802.2 (libpcap's llc.h).
var (
	llcSTypes = map[string]uint32{"rr": 0x01, "rnr": 0x05, "rej": 0x09}
	llcUTypes = map[string]uint32{"ui": 0x03, "ua": 0x63, "disc": 0x43, "dm": 0x0f, "sabme": 0x6f, "test": 0xe3, "xid": 0xaf, "frmr": 0x87}
)
