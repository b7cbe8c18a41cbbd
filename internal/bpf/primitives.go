package bpf

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	xbpf "golang.org/x/net/bpf"
)

// The primitives below follow libpcap 1.10's gencode.c function for
// function (named in each comment); where libpcap's optimizer removes a
// test that cannot change the outcome, so does tcplens, so that a frame
// cut short by the snapshot length is accepted or refused as tcpdump does.

func load(off, size int) xbpf.Instruction { return xbpf.LoadAbsolute{Off: uint32(off), Size: size} }

// cmp is gen_cmp: the size bytes at off equal v.
func cmp(off, size int, v uint32) cond {
	return atom{pre: []xbpf.Instruction{load(off, size)}, test: xbpf.JumpEqual, val: v}
}

// linktype is gen_linktype: the frame carries protocol ll (an EtherType).
func (p *parser) linktype(ll uint32) (cond, error) {
	switch p.kind {
	case lCooked:
		return atom{pre: []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtProto}}, test: xbpf.JumpEqual, val: ll}, nil
	case lEthernet, lEthernetKernel, lSLL, lSLL2:
		if ll <= 1500 {
			return nil, fmt.Errorf("protocol %d is an 802.2 LLC SAP, which tcplens's filters do not test", ll)
		}
		return cmp(p.lt, 2, ll), nil
	case lRaw:
		version := func(v uint32) cond {
			return atom{pre: []xbpf.Instruction{load(0, 1), xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0xf0}}, test: xbpf.JumpEqual, val: v}
		}
		switch ll {
		case 0x0800:
			return version(0x40), nil
		case 0x86dd:
			return version(0x60), nil
		}
	case lIPv4:
		if ll == 0x0800 {
			return condTrue{}, nil
		}
	case lIPv6:
		if ll == 0x86dd {
			return condTrue{}, nil
		}
	case lNull, lLoop:
		// The AF_ values of BSD loopback; IPv6 has three, one per BSD.
		af := func(v uint32) cond {
			if p.kind == lNull && !p.opt.BigEndian {
				v = v>>24 | v>>8&0xff00 | v<<8&0xff0000 | v<<24
			}
			return cmp(p.lt, 4, v)
		}
		switch ll {
		case 0x0800:
			return af(2), nil
		case 0x86dd:
			return or(af(30), or(af(24), af(28))), nil
		}
	}
	return condFalse{}, nil
}

func (p *parser) mustLinktype(ll uint32) cond {
	c, err := p.linktype(ll)
	if err != nil {
		panic("bpf: linktype of a known protocol failed: " + err.Error())
	}
	return c
}

func (p *parser) ip() cond  { return p.mustLinktype(0x0800) }
func (p *parser) ip6() cond { return p.mustLinktype(0x86dd) }

// ipProto and ip6Proto are gen_proto with Q_IP and Q_IPV6: the IPv6 test
// also looks behind a fragment header, and at nothing else.
func (p *parser) ipProto(n uint32) cond { return and(p.ip(), cmp(p.nl+9, 1, n)) }

func (p *parser) ip6Proto(n uint32) cond {
	return and(p.ip6(), or(cmp(p.nl+6, 1, n), and(cmp(p.nl+6, 1, 44), cmp(p.nl+40, 1, n))))
}

func (p *parser) anyProto(n uint32) cond { return or(p.ipProto(n), p.ip6Proto(n)) }

// abbrev is gen_proto_abbrev: a protocol keyword standing alone.
func (p *parser) abbrev(pr proto, at int) (cond, error) {
	switch pr {
	case pIP:
		return p.ip(), nil
	case pIPv6:
		return p.ip6(), nil
	case pARP:
		return p.mustLinktype(0x0806), nil
	case pRARP:
		return p.mustLinktype(0x8035), nil
	case pTCP:
		return p.anyProto(6), nil
	case pUDP:
		return p.anyProto(17), nil
	case pSCTP:
		return p.anyProto(132), nil
	case pICMP:
		return p.ipProto(1), nil
	case pICMPv6:
		return p.ip6Proto(58), nil
	case pIGMP:
		return p.ipProto(2), nil
	case pIGRP:
		return p.ipProto(9), nil
	case pPIM:
		return p.anyProto(103), nil
	case pVRRP, pCARP:
		return p.ipProto(112), nil
	case pAH:
		return p.anyProto(51), nil
	case pESP:
		return p.anyProto(50), nil
	}
	return nil, p.errorAt(at, "link layer applied in wrong context")
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
// host, net, port, portrange or proto, by q.
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
		return p.ports(q, v, v)
	case aProto:
		return p.proto(q, v)
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
// as the sender or target of ARP and RARP.
func (p *parser) host4(q qual, v, mask uint32) (cond, error) {
	word := func(off int) cond {
		if mask == ^uint32(0) {
			return cmp(off, 4, v)
		}
		return atom{pre: []xbpf.Instruction{load(off, 4), xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: mask}}, test: xbpf.JumpEqual, val: v}
	}
	hostop := func(ll uint32, src, dst int) cond {
		return and(p.mustLinktype(ll), dirs(q.dir, word(p.nl+src), word(p.nl+dst)))
	}
	switch q.proto {
	case pDefault:
		return or(hostop(0x0800, 12, 16), or(hostop(0x0806, 14, 24), hostop(0x8035, 14, 24))), nil
	case pIP:
		return hostop(0x0800, 12, 16), nil
	case pARP:
		return hostop(0x0806, 14, 24), nil
	case pRARP:
		return hostop(0x8035, 14, 24), nil
	}
	return nil, fmt.Errorf("'%s' modifier applied to host", protoWord(q.proto))
}

func protoWord(pr proto) string {
	for _, w := range []string{"link", "ip", "arp", "rarp", "sctp", "tcp", "udp", "icmp", "igmp", "igrp", "pim", "vrrp", "carp", "ip6", "icmp6", "ah", "esp"} {
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
	return and(p.ip6(), dirs(q.dir, words6(p.nl+8, pf), words6(p.nl+24, pf))), nil
}

// words6 compares the prefix's network bits at off, 32 bits at a time;
// words of no network bits are not loaded (libpcap's optimizer drops
// their "and #0" tests), unless the prefix has none at all.
func words6(off int, pf netip.Prefix) cond {
	addr := pf.Addr().AsSlice()
	if pf.Bits() == 0 {
		return atom{pre: []xbpf.Instruction{load(off, 4), xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0}}, test: xbpf.JumpEqual, val: 0}
	}
	var c cond = condTrue{}
	for i := 0; i < pf.Bits(); i += 32 {
		v := binary.BigEndian.Uint32(addr[i/8:])
		ins := []xbpf.Instruction{load(off+i/8, 4)}
		if n := pf.Bits() - i; n < 32 {
			mask := ^uint32(0) << (32 - n)
			ins = append(ins, xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: mask})
			v &= mask
		}
		c = and(c, atom{pre: ins, test: xbpf.JumpEqual, val: v})
	}
	return c
}

// etherHost is gen_ecode: an Ethernet address.
func (p *parser) etherHost(q qual, s string) (cond, error) {
	if (q.addr != aHost && q.addr != aDefault) || q.proto != pLink {
		return nil, fmt.Errorf("ethernet address used in non-ether expression")
	}
	if p.kind != lEthernet && p.kind != lEthernetKernel {
		return nil, fmt.Errorf("ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel")
	}
	mac, err := parseMAC(s)
	if err != nil {
		return nil, err
	}
	return dirs(q.dir, macAt(6, mac), macAt(0, mac)), nil
}

// macAt is gen_bcmp over six bytes: the last four, then the first two.
func macAt(off int, mac [6]byte) cond {
	return and(cmp(off+2, 4, binary.BigEndian.Uint32(mac[2:])), cmp(off, 2, uint32(binary.BigEndian.Uint16(mac[:2]))))
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
// touches DNS) and no service names; protocol names are /etc/protocols'.
func (p *parser) scode(q qual, name string) (cond, error) {
	switch q.addr {
	case aDefault, aHost, aNet:
		if _, err := netip.ParseAddr(name); err == nil {
			return nil, fmt.Errorf("%q needs host or net before it", clip(name))
		}
		return nil, fmt.Errorf("unknown host %q: tcplens resolves no names, give the address", clip(name))
	case aPort:
		return nil, fmt.Errorf("unknown port %q: tcplens resolves no service names, give the number", clip(name))
	case aPortrange:
		lo, hi, ok := strings.Cut(name, "-")
		a, err1 := strconv.ParseUint(lo, 10, 32)
		b, err2 := strconv.ParseUint(hi, 10, 32)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("portrange %q: want two port numbers, LOW-HIGH (tcplens resolves no service names)", clip(name))
		}
		if a > 65535 || b > 65535 {
			return nil, fmt.Errorf("illegal port number %d > 65535", max(a, b))
		}
		return p.ports(q, uint32(min(a, b)), uint32(max(a, b)))
	case aProto:
		if q.proto == pLink {
			n, ok := etherProtos[name]
			if !ok {
				return nil, fmt.Errorf("unknown ether proto '%s'", name)
			}
			return p.proto(q, n)
		}
		n, ok := ipProtos[name]
		if !ok {
			return nil, fmt.Errorf("unknown ip proto '%s'", name)
		}
		return p.proto(q, n)
	}
	return nil, fmt.Errorf("unexpected name %q", clip(name))
}

var etherProtos = map[string]uint32{"ip": 0x0800, "ip6": 0x86dd, "arp": 0x0806, "rarp": 0x8035}

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

// ports is gen_port6 or gen_port (and their range versions): IPv6 with
// the transport header right after the fixed header, then IPv4 first
// fragments; for an unqualified port SCTP, TCP and UDP.
func (p *parser) ports(q qual, lo, hi uint32) (cond, error) {
	var protos []uint32
	switch q.proto {
	case pDefault:
		protos = []uint32{132, 6, 17}
	case pTCP:
		protos = []uint32{6}
	case pUDP:
		protos = []uint32{17}
	case pSCTP:
		protos = []uint32{132}
	default:
		return nil, fmt.Errorf("illegal qualifier of 'port'")
	}
	protoIs := func(off int) cond {
		var c cond = condFalse{}
		for _, n := range protos {
			c = or(c, cmp(off, 1, n))
		}
		return c
	}
	match := func(pre []xbpf.Instruction) cond {
		if lo == hi {
			return atom{pre: pre, test: xbpf.JumpEqual, val: lo}
		}
		return and(atom{pre: pre, test: xbpf.JumpGreaterOrEqual, val: lo}, not(atom{pre: pre, test: xbpf.JumpGreaterThan, val: hi}))
	}
	v6 := and(p.ip6(), and(protoIs(p.nl+6),
		dirs(q.dir, match([]xbpf.Instruction{load(p.nl+40, 2)}), match([]xbpf.Instruction{load(p.nl+42, 2)}))))
	ihl := func(off int) []xbpf.Instruction {
		return []xbpf.Instruction{xbpf.LoadMemShift{Off: uint32(p.nl)}, xbpf.LoadIndirect{Off: uint32(p.nl + off), Size: 2}}
	}
	v4 := and(p.ip(), and(protoIs(p.nl+9), and(p.notFragment(), dirs(q.dir, match(ihl(0)), match(ihl(2))))))
	return or(v6, v4), nil
}

// notFragment is gen_ipfrag: not an IPv4 fragment other than the first.
func (p *parser) notFragment() cond {
	return not(atom{pre: []xbpf.Instruction{load(p.nl+6, 2)}, test: xbpf.JumpBitsSet, val: 0x1fff})
}

// proto is gen_proto: "ip proto 6", "ip6 proto 17", "proto 132", "ether proto 0x86dd".
func (p *parser) proto(q qual, n uint32) (cond, error) {
	if q.dir != dDefault {
		return nil, fmt.Errorf("direction applied to 'proto'")
	}
	switch q.proto {
	case pDefault:
		return p.anyProto(n), nil
	case pIP:
		return p.ipProto(n), nil
	case pIPv6:
		return p.ip6Proto(n), nil
	case pLink:
		return p.linktype(n)
	}
	return nil, fmt.Errorf("'%s proto' is not supported (ip, ip6 or ether proto)", protoWord(q.proto))
}

// other is grammar.y's other: less, greater, vlan, broadcast, multicast,
// inbound, outbound, ifindex.
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
	case "broadcast":
		switch pr {
		case pDefault, pLink:
			if p.kind != lEthernet && p.kind != lEthernetKernel {
				return nil, p.errorAt(at, "not a broadcast link")
			}
			return macAt(0, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), nil
		case pIP:
			// tcpdump reading a file knows no netmask, and takes 0: the
			// broadcast addresses are 0.0.0.0 and 255.255.255.255.
			return and(p.ip(), or(cmp(p.nl+16, 4, 0), cmp(p.nl+16, 4, 0xffffffff))), nil
		}
		return nil, p.errorAt(at, "only link-layer/IP broadcast filters supported")
	case "multicast":
		switch pr {
		case pDefault, pLink:
			if p.kind != lEthernet && p.kind != lEthernetKernel {
				return nil, p.errorAt(at, "link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel")
			}
			return atom{pre: []xbpf.Instruction{load(0, 1)}, test: xbpf.JumpBitsSet, val: 1}, nil
		case pIP:
			return and(p.ip(), atom{pre: []xbpf.Instruction{load(p.nl+16, 1)}, test: xbpf.JumpGreaterOrEqual, val: 224}), nil
		case pIPv6:
			return and(p.ip6(), cmp(p.nl+24, 1, 255)), nil
		}
		return nil, p.errorAt(at, "link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel")
	case "inbound", "outbound":
		// gen_inbound: the packet type Linux recorded, 4 = outgoing.
		var out cond
		switch p.kind {
		case lSLL:
			out = cmp(0, 2, 4)
		case lSLL2:
			out = cmp(10, 1, 4)
		case lCooked, lEthernetKernel:
			out = atom{pre: []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtType}}, test: xbpf.JumpEqual, val: 4}
		default:
			return nil, p.errorAt(at, "inbound/outbound not supported on link type %v", p.opt.Link)
		}
		if w == "inbound" {
			return not(out), nil
		}
		return out, nil
	case "ifindex":
		n, err := number()
		if err != nil {
			return nil, err
		}
		switch p.kind {
		case lSLL2:
			return cmp(4, 4, n), nil
		case lCooked, lEthernetKernel:
			return atom{pre: []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtInterfaceIndex}}, test: xbpf.JumpEqual, val: n}, nil
		}
		return nil, p.errorAt(at, "ifindex not supported on link type %v", p.opt.Link)
	}
	return nil, p.errorAt(at, "unexpected %q", clip(w))
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
	if p.kind == lEthernetKernel || p.kind == lCooked {
		c := cond(atom{pre: []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtVLANTagPresent}}, test: xbpf.JumpEqual, val: 1})
		if hasID {
			c = and(c, atom{pre: []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtVLANTag}, xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0xfff}}, test: xbpf.JumpEqual, val: id})
		}
		return c, nil
	}
	if p.kind != lEthernet {
		return nil, p.errorAt(at, "no VLAN support for link type %v", p.opt.Link)
	}
	tag := or(cmp(p.lt, 2, 0x8100), or(cmp(p.lt, 2, 0x88a8), cmp(p.lt, 2, 0x9100)))
	if hasID {
		tag = and(tag, atom{pre: []xbpf.Instruction{load(p.lt+2, 2), xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0xfff}}, test: xbpf.JumpEqual, val: id})
	}
	// libpcap moves the offsets of everything parsed after a vlan
	// keyword behind the tag, whatever the structure of the expression.
	p.lt += 4
	p.nl += 4
	return tag, nil
}
