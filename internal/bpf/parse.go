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

// Options say what the program will run on.
type Options struct {
	Link pcap.LinkType // LinkEthernet, LinkSLL or LinkRaw (LinkIPv4, LinkIPv6, LinkRaw12, LinkRaw14 are raw IP too)
	// Cooked compiles for a Linux SOCK_DGRAM packet socket: data starts at
	// the network header and the EtherType is read with the SKF_AD_PROTOCOL
	// extension. Link is ignored.
	Cooked bool
	// Kernel compiles for a live Linux socket: the kernel has moved 802.1Q
	// tags out of the frame into metadata (skb_vlan_untag runs before packet
	// taps), so vlan reads the SKF_AD_VLAN_TAG extensions and later
	// primitives do not look behind a tag. Programs that use extensions run
	// only in the kernel, not in golang.org/x/net/bpf's VM.
	Kernel bool
	// SnapLen is what an accepting program returns: the bytes to keep.
	// 0 means 262144, tcpdump's default.
	SnapLen uint32
}

// A SyntaxError reports a filter expression that cannot be compiled.
type SyntaxError struct {
	Expr string
	Pos  int // byte offset in Expr of the token at fault
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("bpf: filter %q at character %d: %s", e.Expr, e.Pos+1, e.Msg)
}

// Compile compiles a tcpdump filter expression. An empty expression
// accepts every frame.
func Compile(expr string, opt Options) ([]xbpf.Instruction, error) {
	c, err := parse(expr, opt)
	if err != nil {
		return nil, err
	}
	snap := opt.SnapLen
	if snap == 0 {
		snap = 262144
	}
	prog, err := generate(c, snap)
	if err != nil {
		return nil, &SyntaxError{Expr: expr, Pos: 0, Msg: err.Error()}
	}
	return prog, nil
}

type token struct {
	s   string
	pos int
}

// lex splits an expression into words, parentheses and the operators
// ! && ||; everything else (addresses, CIDRs, ranges) is one word.
func lex(s string) []token {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			out = append(out, token{s[i : i+1], i})
			i++
		case c == '!' && !strings.HasPrefix(s[i:], "!="):
			out = append(out, token{"!", i})
			i++
		case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||"):
			out = append(out, token{s[i : i+2], i})
			i += 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()!", rune(s[j])) && !strings.HasPrefix(s[j:], "&&") && !strings.HasPrefix(s[j:], "||") {
				j++
			}
			out = append(out, token{s[i:j], i})
			i = j
		}
	}
	return out
}

// Directions.
const (
	dirDefault = iota // src or dst
	dirSrc
	dirDst
	dirAnd // src and dst
)

type quals struct {
	proto string // "", ip, ip6, arp, rarp, tcp, udp, sctp
	dir   int
	typ   string // "", host, net, port, portrange, proto
}

var protoWords = map[string]bool{"ip": true, "ip6": true, "arp": true, "rarp": true, "tcp": true, "udp": true, "sctp": true, "icmp": true, "icmp6": true}
var typeWords = map[string]bool{"host": true, "net": true, "port": true, "portrange": true, "proto": true}
var reserved = map[string]bool{"and": true, "or": true, "not": true, "src": true, "dst": true, "vlan": true, "greater": true, "less": true, "mask": true, "(": true, ")": true, "!": true, "&&": true, "||": true}

type parser struct {
	expr string
	toks []token
	pos  int
	opt  Options

	lt, nl int // offsets of the EtherType field (-1: none) and of the network header

	last     quals
	haveLast bool
}

func parse(expr string, opt Options) (cond, error) {
	p := &parser{expr: expr, toks: lex(expr), opt: opt}
	switch {
	case opt.Cooked:
		p.lt, p.nl = -1, 0
	case opt.Link == pcap.LinkEthernet:
		p.lt, p.nl = 12, 14
	case opt.Link == pcap.LinkSLL:
		p.lt, p.nl = 14, 16
	case isRaw(opt.Link):
		p.lt, p.nl = -1, 0
	default:
		return nil, &SyntaxError{Expr: expr, Msg: fmt.Sprintf("link type %v is not supported (Ethernet, Linux cooked v1, raw IP)", opt.Link)}
	}
	if len(p.toks) == 0 {
		return condTrue{}, nil
	}
	c, err := p.expression()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, p.errorf("unexpected %q", p.toks[p.pos].s)
	}
	return c, nil
}

func isRaw(l pcap.LinkType) bool {
	switch l {
	case pcap.LinkRaw, pcap.LinkRaw12, pcap.LinkRaw14, pcap.LinkIPv4, pcap.LinkIPv6:
		return true
	}
	return false
}

func (p *parser) errorf(format string, args ...any) error {
	pos := len(p.expr)
	if p.pos < len(p.toks) {
		pos = p.toks[p.pos].pos
	}
	return &SyntaxError{Expr: p.expr, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) peek(ahead int) string {
	if p.pos+ahead < len(p.toks) {
		return p.toks[p.pos+ahead].s
	}
	return ""
}

func (p *parser) next() string {
	s := p.peek(0)
	p.pos++
	return s
}

// expression: term { (and | or) term }, left to right with equal
// precedence, as pcap-filter(7) says.
func (p *parser) expression() (cond, error) {
	a, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		switch p.peek(0) {
		case "and", "&&":
			p.next()
			b, err := p.term()
			if err != nil {
				return nil, err
			}
			a = and(a, b)
		case "or", "||":
			p.next()
			b, err := p.term()
			if err != nil {
				return nil, err
			}
			a = or(a, b)
		default:
			return a, nil
		}
	}
}

func (p *parser) term() (cond, error) {
	switch p.peek(0) {
	case "not", "!":
		p.next()
		a, err := p.term()
		if err != nil {
			return nil, err
		}
		return not(a), nil
	case "(":
		p.next()
		a, err := p.expression()
		if err != nil {
			return nil, err
		}
		if p.peek(0) != ")" {
			return nil, p.errorf("missing )")
		}
		p.next()
		return a, nil
	case "":
		return nil, p.errorf("expression ends too soon")
	}
	return p.primitive()
}

func (p *parser) primitive() (cond, error) {
	var q quals
	explicit := false
	w := p.peek(0)
	switch {
	case w == "vlan":
		return p.vlan()
	case w == "greater" || w == "less":
		p.next()
		n, err := p.number(p.next(), 0xffffffff)
		if err != nil {
			return nil, err
		}
		length := []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtLen}}
		if w == "greater" { // len >= n
			return atom{length, xbpf.JumpGreaterOrEqual, n}, nil
		}
		return not(atom{length, xbpf.JumpGreaterThan, n}), nil // len <= n
	case protoWords[w]:
		after := p.peek(1)
		if after == "src" || after == "dst" || typeWords[after] {
			q.proto, explicit = p.next(), true
		} else {
			p.next()
			return p.protoPrimitive(w)
		}
	}
	if w := p.peek(0); w == "src" || w == "dst" {
		p.next()
		q.dir = dirSrc
		if w == "dst" {
			q.dir = dirDst
		}
		if o, d := p.peek(0), p.peek(1); (o == "or" || o == "and") && (d == "src" || d == "dst") && d != w {
			p.next()
			p.next()
			q.dir = dirDefault
			if o == "and" {
				q.dir = dirAnd
			}
		}
		explicit = true
	}
	if typeWords[p.peek(0)] {
		q.typ = p.next()
		explicit = true
	}
	idPos := p.pos
	id := p.next()
	if id == "" || reserved[id] || protoWords[id] || typeWords[id] {
		p.pos = idPos
		if id == "" {
			return nil, p.errorf("expression ends where an address, network or port should be")
		}
		return nil, p.errorf("%q where an address, network or port should be", id)
	}
	if !explicit && p.haveLast {
		q = p.last
	}
	p.last, p.haveLast = q, true
	c, err := p.build(q, id)
	if err != nil {
		p.pos = idPos
		return nil, p.errorf("%v", err)
	}
	return c, nil
}

// protoPrimitive is a protocol keyword standing alone: "tcp", "ip6".
func (p *parser) protoPrimitive(w string) (cond, error) {
	switch w {
	case "ip":
		return p.ether(0x0800), nil
	case "ip6":
		return p.ether(0x86dd), nil
	case "arp":
		return p.ether(0x0806), nil
	case "rarp":
		return p.ether(0x8035), nil
	case "tcp":
		return p.anyProto(6), nil
	case "udp":
		return p.anyProto(17), nil
	case "sctp":
		return p.anyProto(132), nil
	case "icmp":
		return p.ipProto(1), nil
	case "icmp6":
		return p.ip6Proto(58), nil
	}
	return nil, p.errorf("unknown protocol %q", w)
}

func (p *parser) vlan() (cond, error) {
	p.next()
	var id uint32
	hasID := false
	if w := p.peek(0); w != "" && w[0] >= '0' && w[0] <= '9' {
		n, err := p.number(p.next(), 4095)
		if err != nil {
			return nil, err
		}
		id, hasID = n, true
	}
	if p.opt.Kernel {
		c := cond(atom{[]xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtVLANTagPresent}}, xbpf.JumpEqual, 1})
		if hasID {
			c = and(c, atom{[]xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtVLANTag}, xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0xfff}}, xbpf.JumpEqual, id})
		}
		return c, nil
	}
	if p.lt < 0 || p.opt.Link != pcap.LinkEthernet {
		return nil, p.errorf("no VLAN support for link type %v", p.opt.Link)
	}
	tag := or(or(p.ether(0x8100), p.ether(0x88a8)), p.ether(0x9100))
	if hasID {
		tag = and(tag, atom{[]xbpf.Instruction{load(p.lt+2, 2), xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0xfff}}, xbpf.JumpEqual, id})
	}
	// libpcap moves the offsets of everything parsed after a vlan
	// keyword behind the tag, whatever the structure of the expression.
	p.lt += 4
	p.nl += 4
	return tag, nil
}

func (p *parser) number(s string, max uint32) (uint32, error) {
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil || uint32(n) > max {
		return 0, p.errorf("%q is not a number up to %d", s, max)
	}
	return uint32(n), nil
}

func load(off, size int) xbpf.Instruction { return xbpf.LoadAbsolute{Off: uint32(off), Size: size} }

// ether tests the EtherType (or, on raw links, the IP version).
func (p *parser) ether(t uint16) cond {
	switch {
	case p.opt.Cooked:
		return atom{[]xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtProto}}, xbpf.JumpEqual, uint32(t)}
	case p.lt >= 0:
		return atom{[]xbpf.Instruction{load(p.lt, 2)}, xbpf.JumpEqual, uint32(t)}
	}
	version := func(v uint32) cond {
		return atom{[]xbpf.Instruction{load(0, 1), xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0xf0}}, xbpf.JumpEqual, v}
	}
	switch t {
	case 0x0800:
		return version(0x40)
	case 0x86dd:
		return version(0x60)
	}
	return condFalse{}
}

func (p *parser) ipProto(n uint32) cond {
	return and(p.ether(0x0800), atom{[]xbpf.Instruction{load(p.nl+9, 1)}, xbpf.JumpEqual, n})
}

// ip6Proto follows libpcap: the next header, or the one after a
// fragment header; no other extension header is walked.
func (p *parser) ip6Proto(n uint32) cond {
	nh := func(off int, v uint32) cond { return atom{[]xbpf.Instruction{load(off, 1)}, xbpf.JumpEqual, v} }
	return and(p.ether(0x86dd), or(nh(p.nl+6, n), and(nh(p.nl+6, 44), nh(p.nl+40, n))))
}

func (p *parser) anyProto(n uint32) cond { return or(p.ipProto(n), p.ip6Proto(n)) }

func dirs(dir int, src, dst cond) cond {
	switch dir {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirAnd:
		return and(src, dst)
	}
	return or(src, dst)
}

func (p *parser) build(q quals, id string) (cond, error) {
	typ := q.typ
	if typ == "" {
		switch {
		case strings.Contains(id, "/"):
			typ = "net"
		default:
			if _, err := netip.ParseAddr(id); err != nil {
				return nil, fmt.Errorf("%q needs a type (host, net, port, portrange): tcplens resolves no names", id)
			}
			typ = "host"
		}
	}
	switch typ {
	case "host", "net":
		pf, err := p.network(typ, id)
		if err != nil {
			return nil, err
		}
		return p.addrMatch(q, pf)
	case "port", "portrange":
		lo, hi, err := portRange(typ, id)
		if err != nil {
			return nil, err
		}
		return p.ports(q, lo, hi)
	case "proto":
		n, err := protoNumber(id)
		if err != nil {
			return nil, err
		}
		switch q.proto {
		case "":
			return p.anyProto(n), nil
		case "ip":
			return p.ipProto(n), nil
		case "ip6":
			return p.ip6Proto(n), nil
		}
		return nil, fmt.Errorf("%s proto: proto takes ip or ip6", q.proto)
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

// network parses a host address, a CIDR, "ADDR mask MASK" (consuming the
// next two tokens) or a dotted IPv4 prefix ("10", "192.168").
func (p *parser) network(typ, id string) (netip.Prefix, error) {
	if typ == "host" {
		a, err := netip.ParseAddr(id)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("host %q is not an IP address (names are not resolved)", id)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	if strings.Contains(id, "/") {
		pf, err := netip.ParsePrefix(id)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("net %q: %v", id, err)
		}
		if pf.Masked() != pf {
			return netip.Prefix{}, fmt.Errorf("non-network bits set in %q", id)
		}
		return pf, nil
	}
	if p.peek(0) == "mask" {
		p.next()
		m, err := netip.ParseAddr(p.next())
		a, err2 := netip.ParseAddr(id)
		if err != nil || err2 != nil || !m.Is4() || !a.Is4() {
			return netip.Prefix{}, fmt.Errorf("net %s mask: want IPv4 address and mask", id)
		}
		mask := binary.BigEndian.Uint32(m.AsSlice())
		bits := 0
		for bits < 32 && mask&(1<<(31-bits)) != 0 {
			bits++
		}
		if mask != ^uint32(0)<<(32-bits) && bits != 32 {
			return netip.Prefix{}, fmt.Errorf("mask %s is not contiguous", m)
		}
		pf := netip.PrefixFrom(a, bits)
		if pf.Masked() != pf {
			return netip.Prefix{}, fmt.Errorf("non-network bits set in \"%s mask %s\"", id, m)
		}
		return pf, nil
	}
	if a, err := netip.ParseAddr(id); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	// A dotted prefix: "10" is 10.0.0.0/8, "172.16" is 172.16.0.0/16.
	parts := strings.Split(id, ".")
	if len(parts) > 3 {
		return netip.Prefix{}, fmt.Errorf("net %q is not a network", id)
	}
	var b [4]byte
	for i, s := range parts {
		n, err := strconv.ParseUint(s, 10, 8)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("net %q is not a network", id)
		}
		b[i] = byte(n)
	}
	return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(parts)), nil
}

// addrMatch is host and net: IPv4 matches IP and ARP/RARP sender and
// target, IPv6 the IPv6 source and destination.
func (p *parser) addrMatch(q quals, pf netip.Prefix) (cond, error) {
	if pf.Addr().Is6() {
		if q.proto != "" && q.proto != "ip6" {
			return nil, fmt.Errorf("%s with an IPv6 address", q.proto)
		}
		return and(p.ether(0x86dd), dirs(q.dir, words(p.nl+8, pf), words(p.nl+24, pf))), nil
	}
	ip := and(p.ether(0x0800), dirs(q.dir, words(p.nl+12, pf), words(p.nl+16, pf)))
	arpAt := func(c cond) cond { return and(c, dirs(q.dir, words(p.nl+14, pf), words(p.nl+24, pf))) }
	switch q.proto {
	case "":
		return or(ip, arpAt(or(p.ether(0x0806), p.ether(0x8035)))), nil
	case "ip":
		return ip, nil
	case "arp":
		return arpAt(p.ether(0x0806)), nil
	case "rarp":
		return arpAt(p.ether(0x8035)), nil
	}
	return nil, fmt.Errorf("%s host/net: takes ip, ip6, arp or rarp", q.proto)
}

// words compares the prefix's network bits at off, 32 bits at a time.
func words(off int, pf netip.Prefix) cond {
	addr := pf.Addr().AsSlice()
	var c cond = condTrue{}
	for i := 0; i < pf.Bits(); i += 32 {
		v := binary.BigEndian.Uint32(addr[i/8:])
		ins := []xbpf.Instruction{load(off+i/8, 4)}
		if n := pf.Bits() - i; n < 32 {
			mask := ^uint32(0) << (32 - n)
			ins = append(ins, xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: mask})
			v &= mask
		}
		c = and(c, atom{ins, xbpf.JumpEqual, v})
	}
	if pf.Bits() == 0 {
		// libpcap still loads the word: a frame too short for it is rejected.
		return atom{[]xbpf.Instruction{load(off, 4), xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0}}, xbpf.JumpEqual, 0}
	}
	return c
}

func portRange(typ, id string) (lo, hi uint32, err error) {
	a, b := id, id
	if typ == "portrange" {
		var ok bool
		if a, b, ok = strings.Cut(id, "-"); !ok {
			return 0, 0, fmt.Errorf("portrange %q: want LOW-HIGH", id)
		}
	}
	l, err1 := strconv.ParseUint(a, 10, 16)
	h, err2 := strconv.ParseUint(b, 10, 16)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%s %q is not a port number (service names are not resolved)", typ, id)
	}
	if l > h {
		l, h = h, l // libpcap swaps a reversed range
	}
	return uint32(l), uint32(h), nil
}

// ports is port and portrange, after libpcap's gen_port6 then gen_port:
// IPv6 with the transport header right after the fixed header, then IPv4
// first fragments.
func (p *parser) ports(q quals, lo, hi uint32) (cond, error) {
	var protos []uint32
	switch q.proto {
	case "":
		protos = []uint32{132, 6, 17}
	case "tcp":
		protos = []uint32{6}
	case "udp":
		protos = []uint32{17}
	case "sctp":
		protos = []uint32{132}
	default:
		return nil, fmt.Errorf("%s port: port takes tcp, udp or sctp", q.proto)
	}
	protoIs := func(off int) cond {
		var c cond = condFalse{}
		for _, n := range protos {
			c = or(c, atom{[]xbpf.Instruction{load(off, 1)}, xbpf.JumpEqual, n})
		}
		return c
	}
	match := func(pre []xbpf.Instruction) cond {
		if lo == hi {
			return atom{pre, xbpf.JumpEqual, lo}
		}
		return and(atom{pre, xbpf.JumpGreaterOrEqual, lo}, not(atom{pre, xbpf.JumpGreaterThan, hi}))
	}
	v6 := and(p.ether(0x86dd), and(protoIs(p.nl+6),
		dirs(q.dir, match([]xbpf.Instruction{load(p.nl+40, 2)}), match([]xbpf.Instruction{load(p.nl+42, 2)}))))
	ihl := func(off int) []xbpf.Instruction {
		return []xbpf.Instruction{xbpf.LoadMemShift{Off: uint32(p.nl)}, xbpf.LoadIndirect{Off: uint32(p.nl + off), Size: 2}}
	}
	notFragment := not(atom{[]xbpf.Instruction{load(p.nl+6, 2)}, xbpf.JumpBitsSet, 0x1fff})
	v4 := and(p.ether(0x0800), and(protoIs(p.nl+9), and(notFragment, dirs(q.dir, match(ihl(0)), match(ihl(2))))))
	return or(v6, v4), nil
}

func protoNumber(id string) (uint32, error) {
	switch strings.TrimPrefix(id, `\`) {
	case "tcp":
		return 6, nil
	case "udp":
		return 17, nil
	case "icmp":
		return 1, nil
	case "icmp6":
		return 58, nil
	case "sctp":
		return 132, nil
	}
	n, err := strconv.ParseUint(id, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("proto %q: want a number up to 255, or tcp, udp, icmp, icmp6, sctp", id)
	}
	return uint32(n), nil
}
