package bpf

import (
	"fmt"
	"strconv"
	"strings"

	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/pcap"
)

// Limits on what a filter may ask of the compiler, so that no expression
// costs more than a few milliseconds and a few megabytes: tcpdump's own
// filters are a few hundred bytes, long generated ones (a list of hosts)
// tens of kilobytes.
const (
	MaxLength       = 64 << 10 // bytes of expression text
	MaxDepth        = 100      // nested parentheses, not, unary minus and brackets
	MaxInstructions = 65536    // instructions of a program run by tcplens
	MaxKernel       = 4096     // instructions of a program for the kernel (BPF_MAXINSNS)
)

// Options say what the program will run on.
type Options struct {
	// Link is the link type of the frames; LinkNull's header is in the
	// byte order of the machine that wrote the file, BigEndian says which.
	Link      pcap.LinkType
	BigEndian bool
	// Cooked compiles for a Linux SOCK_DGRAM packet socket: data starts at
	// the network header and the EtherType is read with the SKF_AD_PROTOCOL
	// extension. Link is ignored.
	Cooked bool
	// Kernel compiles for a live Linux socket: the kernel has moved 802.1Q
	// tags out of the frame into metadata (skb_vlan_untag runs before packet
	// taps), so vlan reads the SKF_AD_VLAN_TAG extensions and later
	// primitives do not look behind a tag. Programs that use extensions run
	// only in the kernel. Kernel programs are at most MaxKernel long.
	Kernel bool
	// SnapLen is what an accepting program returns: the bytes to keep.
	// 0 means 262144, tcpdump's default.
	SnapLen uint32
}

// A SyntaxError reports a filter expression that cannot be compiled, and
// where: it quotes the offending part, never the whole expression.
type SyntaxError struct {
	Expr string
	Pos  int // byte offset in Expr of the token at fault
	Len  int // its length in bytes (0: the error concerns the whole filter)
	Msg  string
}

func (e *SyntaxError) Error() string {
	msg := e.Msg
	if len(msg) > 120 { // a message that quotes a long name
		msg = printable(msg[:120]) + "…"
	}
	if e.Len == 0 && e.Pos == 0 {
		return "filter: " + msg
	}
	if e.Pos >= len(e.Expr) {
		return fmt.Sprintf("filter: at its end (%s): %s", excerpt(e.Expr, len(e.Expr), 0), msg)
	}
	return fmt.Sprintf("filter: at character %d (%s): %s", e.Pos+1, excerpt(e.Expr, e.Pos, e.Len), msg)
}

// excerpt quotes the token at pos with a little context on each side,
// clipped to keep the message one short line.
func excerpt(s string, pos, n int) string {
	// Quoting can double the length (a filter of '"'s): less context
	// then keeps the message short.
	for _, side := range []int{20, 8} {
		if e := excerptAround(s, pos, n, side); len(e) <= 120 {
			return e
		}
	}
	return excerptAround(s, pos, n, 0)
}

func excerptAround(s string, pos, n, side int) string {
	n = min(n, 30)
	lo, hi := max(0, pos-side), min(len(s), pos+n+side)
	// Stay on UTF-8 boundaries: a rune is at most 4 bytes, and bytes
	// that are no UTF-8 at all must not widen the excerpt.
	for i := 0; i < 3 && lo > 0 && lo < len(s) && s[lo]&0xc0 == 0x80; i++ {
		lo--
	}
	for i := 0; i < 3 && hi < len(s) && s[hi]&0xc0 == 0x80; i++ {
		hi++
	}
	q := printable(strings.Join(strings.Fields(s[lo:hi]), " "))
	if lo > 0 {
		q = "…" + q
	}
	if hi < len(s) {
		q += "…"
	}
	if pos < len(s) {
		return fmt.Sprintf("%q in %q", printable(s[pos:min(len(s), pos+max(n, 1))]), q)
	}
	return strconv.Quote(q)
}

// Compile compiles a tcpdump filter expression to a classic BPF program
// for the link type opt names. An empty expression accepts every frame.
func Compile(expr string, opt Options) ([]xbpf.Instruction, error) {
	c, prologue, err := parse(expr, opt)
	if err != nil {
		return nil, err
	}
	snap := opt.SnapLen
	if snap == 0 {
		snap = 262144
	}
	limit := MaxInstructions
	if opt.Kernel || opt.Cooked {
		limit = MaxKernel
	}
	prog, err := generate(prologue, c, snap, limit)
	if err != nil {
		return nil, &SyntaxError{Expr: expr, Msg: err.Error()}
	}
	return prog, nil
}

// Qualifiers (grammar.y's pqual, dqual, aqual).
type proto uint8

const (
	pDefault proto = iota
	pLink
	pIP
	pARP
	pRARP
	pSCTP
	pTCP
	pUDP
	pICMP
	pIGMP
	pIGRP
	pPIM
	pVRRP
	pCARP
	pIPv6
	pICMPv6
	pAH
	pESP
	pRadio
)

var protoNames = map[string]proto{
	"link": pLink, "ether": pLink, "ppp": pLink, "slip": pLink, "fddi": pLink, "tr": pLink, "wlan": pLink,
	"ip": pIP, "arp": pARP, "rarp": pRARP, "sctp": pSCTP, "tcp": pTCP, "udp": pUDP, "icmp": pICMP,
	"igmp": pIGMP, "igrp": pIGRP, "pim": pPIM, "vrrp": pVRRP, "carp": pCARP, "ip6": pIPv6,
	"icmp6": pICMPv6, "ah": pAH, "esp": pESP, "radio": pRadio,
}

// unsupported are libpcap's keywords for protocols and link layers
// tcplens does not compile.
var unsupported = map[string]bool{
	"atalk": true, "aarp": true, "decnet": true, "lat": true, "sca": true, "moprc": true,
	"mopdl": true, "iso": true, "esis": true, "es-is": true, "isis": true, "is-is": true, "l1": true,
	"l2": true, "iih": true, "lsp": true, "snp": true, "csnp": true, "psnp": true, "clnp": true,
	"stp": true, "ipx": true, "netbeui": true,
	"geneve": true, "batadv": true, "lane": true, "metac": true, "bcc": true, "oam": true,
	"oamf4": true, "oamf4ec": true, "oamf4sc": true, "sc": true, "ilmic": true, "vpi": true, "vci": true,
	"connectmsg": true, "metaconnect": true, "on": true, "ifname": true, "rset": true, "ruleset": true,
	"rnr": true, "rulenum": true, "srnr": true, "subrulenum": true, "reason": true, "action": true,
	"fisu": true, "lssu": true, "lsu": true, "msu": true, "hfisu": true, "hlssu": true, "hmsu": true,
	"sio": true, "opc": true, "dpc": true, "sls": true, "hsio": true, "hopc": true, "hdpc": true,
	"hsls": true, "type": true, "subtype": true, "direction": true, "dir": true, "address1": true,
	"addr1": true, "address2": true, "addr2": true, "address3": true, "addr3": true, "address4": true,
	"addr4": true, "ra": true, "ta": true, "byte": true, "gateway": true,
}

type dir uint8

const (
	dDefault dir = iota // src or dst
	dSrc
	dDst
	dAnd // src and dst
)

type addrType uint8

const (
	aDefault addrType = iota
	aHost
	aNet
	aPort
	aPortrange
	aProto
	aProtochain
	aUndef // grammar.y's qerr: nothing to inherit
)

var addrNames = map[string]addrType{"host": aHost, "net": aNet, "port": aPort, "portrange": aPortrange, "proto": aProto, "protochain": aProtochain}

type qual struct {
	proto proto
	dir   dir
	addr  addrType
}

var qerr = qual{addr: aUndef}

type parser struct {
	text  string
	toks  []token
	match []int // for a "(" token, the index of its ")"; -1 if unmatched
	pos   int
	opt   Options
	depth int

	// libpcap's compiler state, which vlan, mpls and pppoes change for
	// all that follows them (link.go).
	dlt, outer   pcap.LinkType // the link type now (PPP after pppoes) and the frame's
	hdr, lt, pl  hdrOff        // the link header, its protocol field, its payload
	nl, nlNoSnap int           // the network header from the payload, with and without SNAP
	mplsDepth    int
	used         [16]bool // scratch words whose variable offsets the prologue must compute

	lp    lpRegs    // libpcap's register allocator, followed (regs.go)
	fix   *relFix   // the relation being parsed
	fixes []*relFix // every relation's
}

// parse compiles expr to a condition and the prologue it needs.
func parse(expr string, opt Options) (cond, []xbpf.Instruction, error) {
	if len(expr) > MaxLength {
		return nil, nil, &SyntaxError{Expr: expr, Msg: fmt.Sprintf("the expression is %d bytes, more than the %d a filter may have", len(expr), MaxLength)}
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, nil, err
	}
	p := &parser{text: expr, toks: toks, opt: opt, lp: newLPRegs()}
	if err := p.setLink(); err != nil {
		return nil, nil, err
	}
	p.match = make([]int, len(toks))
	var open []int
	for i, t := range toks {
		p.match[i] = -1
		if t.kind != tOp {
			continue
		}
		switch t.s {
		case "(":
			open = append(open, i)
		case ")":
			if len(open) > 0 {
				p.match[open[len(open)-1]] = i
				open = open[:len(open)-1]
			}
		}
	}
	if len(toks) == 0 {
		return condTrue{}, nil, nil
	}
	c, _, err := p.expr(qerr)
	if err != nil {
		return nil, nil, err
	}
	if p.pos < len(p.toks) {
		return nil, nil, p.errorf("unexpected %q", clip(p.toks[p.pos].s))
	}
	if err := p.clobbers(); err != nil {
		return nil, nil, err
	}
	return c, p.prologue(), nil
}

func (p *parser) errorf(format string, args ...any) error {
	pos, n := len(p.text), 0
	if p.pos < len(p.toks) {
		pos, n = p.toks[p.pos].pos, len(p.toks[p.pos].s)
	}
	return &SyntaxError{Expr: p.text, Pos: pos, Len: n, Msg: fmt.Sprintf(format, args...)}
}

// errorAt reports an error about token i.
func (p *parser) errorAt(i int, format string, args ...any) error {
	save := p.pos
	p.pos = i
	err := p.errorf(format, args...)
	p.pos = save
	return err
}

func (p *parser) tok(ahead int) token {
	if p.pos+ahead < len(p.toks) {
		return p.toks[p.pos+ahead]
	}
	return token{kind: tEnd, pos: len(p.text)}
}

// is reports whether the token ahead is the keyword or operator s.
func (p *parser) is(ahead int, s ...string) bool {
	t := p.tok(ahead)
	if t.kind != tWord && t.kind != tOp {
		return false
	}
	for _, w := range s {
		if t.s == w {
			return true
		}
	}
	return false
}

func (p *parser) next() token {
	t := p.tok(0)
	p.pos++
	return t
}

func (p *parser) enter() error {
	if p.depth++; p.depth > MaxDepth {
		return p.errorf("nested more than %d deep", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) isAnd() bool { return p.is(0, "and", "&&") }
func (p *parser) isOr() bool  { return p.is(0, "or", "||") }
func (p *parser) isNot() bool { return p.is(0, "not", "!") }

// expr is grammar.y's expr: terms, or bare ids that take the qualifiers
// of the primitive before them ("port 80 or 443"), joined by and and or
// with equal precedence, left to right. q is the qualifiers the first
// term may pass on; expr returns those of its last primitive.
func (p *parser) expr(q qual) (cond, qual, error) {
	a, q, err := p.term(q)
	if err != nil {
		return nil, q, err
	}
	for p.isAnd() || p.isOr() {
		isAnd := p.isAnd()
		p.next()
		var b cond
		if p.startsID(0) {
			b, q, err = p.id(q)
		} else {
			b, q, err = p.term(q)
		}
		if err != nil {
			return nil, q, err
		}
		if isAnd {
			a = and(a, b)
		} else {
			a = or(a, b)
		}
	}
	return a, q, nil
}

// startsID reports whether the tokens ahead are an id (an address, a
// number, a name, a parenthesised list of them, possibly negated) rather
// than a term.
func (p *parser) startsID(ahead int) bool {
	for p.is(ahead, "not", "!") {
		ahead++
	}
	t := p.tok(ahead)
	switch t.kind {
	case tName, tHID, tHID6, tEID:
		return true
	case tWord:
		return !keywords[t.s]
	case tNum:
		return !p.arithOpAt(p.pos + ahead + 1)
	case tOp:
		if t.s == "(" && !p.arithParen(p.pos+ahead) {
			return p.startsID(ahead + 1)
		}
	}
	return false
}

// arithOpAt reports whether token i is an arithmetic or relational operator.
func (p *parser) arithOpAt(i int) bool {
	if i >= len(p.toks) || p.toks[i].kind != tOp {
		return false
	}
	switch p.toks[i].s {
	case "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", ">", ">=", "=", "==", "<=", "<", "!=":
		return true
	}
	return false
}

// arithParen reports whether the "(" at token i opens arithmetic, as in
// "(tcp[13] & 2) != 0": its ")" is followed by an operator.
func (p *parser) arithParen(i int) bool {
	m := p.match[i]
	return m >= 0 && p.arithOpAt(m+1)
}

// term: not term | rterm.
func (p *parser) term(q qual) (cond, qual, error) {
	if p.isNot() {
		if err := p.enter(); err != nil {
			return nil, q, err
		}
		p.next()
		c, q, err := p.term(q)
		p.leave()
		if err != nil {
			return nil, q, err
		}
		return not(c), q, nil
	}
	return p.rterm(q)
}

func (p *parser) rterm(q qual) (cond, qual, error) {
	t := p.tok(0)
	switch t.kind {
	case tEnd:
		return nil, q, p.errorf("the expression ends where a primitive should follow")
	case tNum:
		c, err := p.relation()
		return c, qerr, err
	case tOp:
		switch {
		case t.s == "(" && p.arithParen(p.pos):
			c, err := p.relation()
			return c, qerr, err
		case t.s == "(":
			if err := p.enter(); err != nil {
				return nil, q, err
			}
			p.next()
			c, _, err := p.expr(q)
			p.leave()
			if err != nil {
				return nil, q, err
			}
			if !p.is(0, ")") {
				return nil, q, p.errorf("missing )")
			}
			p.next()
			return c, q, nil // grammar.y: $$.q = $1.q, what came before the "("
		case t.s == "-":
			c, err := p.relation()
			return c, qerr, err
		}
		return nil, q, p.errorf("unexpected %q", clip(t.s))
	case tHID, tHID6, tEID, tName:
		return nil, q, p.errorf("%q needs a qualifier before it (host, net, port, …)", clip(t.s))
	}
	w := t.s
	switch {
	case w == "len" || w == "length":
		c, err := p.relation()
		return c, qerr, err
	case protoNames[w] != 0 || w == "link":
		if p.is(1, "[") {
			c, err := p.relation()
			return c, qerr, err
		}
		if p.is(1, "broadcast", "multicast") {
			c, err := p.other()
			return c, qerr, err
		}
		if p.headFollows(1) {
			return p.headID()
		}
		p.next()
		c, err := p.abbrev(protoNames[w])
		if err != nil {
			return nil, qerr, p.errorAt(p.pos-1, "%v", err)
		}
		return c, qerr, nil
	case p.headFollows(0):
		return p.headID()
	case w == "less" || w == "greater" || w == "vlan" || w == "mpls" || w == "pppoes" || w == "pppoed" ||
		w == "llc" || w == "broadcast" || w == "multicast" || w == "inbound" || w == "outbound" || w == "ifindex":
		c, err := p.other()
		return c, qerr, err
	case unsupported[w]:
		return nil, q, p.errorf("%q is not supported by tcplens's filters", clip(w))
	case keywords[w]:
		return nil, q, p.errorf("unexpected %q", clip(w))
	}
	return nil, q, p.errorf("%q needs a qualifier before it (host, net, port, …): tcplens resolves no names", clip(w))
}

// headFollows reports whether a direction or address qualifier is ahead.
func (p *parser) headFollows(ahead int) bool {
	return p.is(ahead, "src", "dst", "host", "net", "port", "portrange", "proto", "protochain", "gateway")
}

// headID is "head id": [proto] [src|dst|src or dst|src and dst] [host|net|port|portrange|proto] id.
func (p *parser) headID() (cond, qual, error) {
	var q qual
	if pr, ok := protoNames[p.tok(0).s]; ok && p.tok(0).kind == tWord {
		q.proto = pr
		p.next()
	}
	if p.is(0, "src", "dst") {
		first := p.next().s
		q.dir = dSrc
		if first == "dst" {
			q.dir = dDst
		}
		if p.is(0, "or", "and", "||", "&&") && p.is(1, "src", "dst") && p.tok(1).s != first {
			q.dir = dDefault
			if p.is(0, "and", "&&") {
				q.dir = dAnd
			}
			p.next()
			p.next()
		}
	}
	if p.is(0, "gateway") {
		return nil, q, p.errorf("%q is not supported by tcplens's filters", clip(p.tok(0).s))
	}
	if a, ok := addrNames[p.tok(0).s]; ok && p.tok(0).kind == tWord {
		q.addr = a
		p.next()
	}
	return p.id(q)
}

// id is grammar.y's id: an address, number or name with the qualifiers
// q, a parenthesised list of ids, or a negated id.
func (p *parser) id(q qual) (cond, qual, error) {
	if q.addr == aUndef {
		return nil, q, p.errorf("%q needs a qualifier before it (host, net, port, …)", clip(p.tok(0).s))
	}
	if p.isNot() {
		if err := p.enter(); err != nil {
			return nil, q, err
		}
		p.next()
		c, q, err := p.id(q)
		p.leave()
		if err != nil {
			return nil, q, err
		}
		return not(c), q, nil
	}
	if p.is(0, "(") {
		if err := p.enter(); err != nil {
			return nil, q, err
		}
		p.next()
		c, err := p.idList(q)
		p.leave()
		if err != nil {
			return nil, q, err
		}
		if !p.is(0, ")") {
			return nil, q, p.errorf("missing )")
		}
		p.next()
		return c, q, nil
	}
	c, err := p.nid(q)
	return c, q, err
}

// idList is grammar.y's pid: ids joined by and and or, all with q.
func (p *parser) idList(q qual) (cond, error) {
	a, _, err := p.id(q)
	if err != nil {
		return nil, err
	}
	for p.isAnd() || p.isOr() {
		isAnd := p.isAnd()
		p.next()
		b, _, err := p.id(q)
		if err != nil {
			return nil, err
		}
		if isAnd {
			a = and(a, b)
		} else {
			a = or(a, b)
		}
	}
	return a, nil
}

// nid is one address, network, number or name.
func (p *parser) nid(q qual) (cond, error) {
	at := p.pos
	t := p.next()
	wrap := func(c cond, err error) (cond, error) {
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				return nil, p.errorAt(at, "%v", err)
			}
		}
		return c, err
	}
	switch t.kind {
	case tNum:
		if p.is(0, "/") || p.is(0, "mask") {
			return wrap(p.maskedNet(q, t, at))
		}
		return wrap(p.ncode(q, t.n, 32, true))
	case tHID:
		if p.is(0, "/") || p.is(0, "mask") {
			return wrap(p.maskedNet(q, t, at))
		}
		v, bits, err := dotted(t.s)
		if err != nil {
			return nil, p.errorAt(at, "%v", err)
		}
		switch q.addr {
		case aPort, aPortrange, aProto, aProtochain:
			return nil, p.errorAt(at, "'%s' modifier applied to ip host", addrWord(q.addr))
		}
		return wrap(p.ncode(q, v, bits, false))
	case tHID6:
		bits := 128
		if p.is(0, "/") {
			p.next()
			n := p.next()
			if n.kind != tNum || n.n > 128 {
				return nil, p.errorAt(p.pos-1, "an IPv6 prefix length is a number up to 128")
			}
			bits = int(n.n)
		}
		return wrap(p.host6(q, t.s, bits))
	case tEID:
		return wrap(p.etherHost(q, t.s))
	case tWord, tName:
		if t.kind == tWord && keywords[t.s] {
			p.pos = at
			return nil, p.errorf("%q where an address, network or port should be", clip(t.s))
		}
		return wrap(p.scode(q, t.s))
	case tEnd:
		p.pos = at
		return nil, p.errorf("the expression ends where an address, network or port should be")
	}
	p.pos = at
	return nil, p.errorf("%q where an address, network or port should be", clip(t.s))
}

func addrWord(a addrType) string {
	for w, x := range addrNames {
		if x == a {
			return w
		}
	}
	return "?"
}

// dotted parses 10, 10.1, 10.1.2 or 10.1.2.3 as libpcap's __pcap_atoin
// does: the parts fill the address from the left, and their count says
// how many bits are given.
func dotted(s string) (v uint32, bits int, err error) {
	parts := strings.Split(s, ".")
	for _, part := range parts {
		n, err := parseNumber(part)
		if err != nil {
			return 0, 0, err
		}
		if n > 255 {
			return 0, 0, fmt.Errorf("%s: each part of an IPv4 address is at most 255", s)
		}
		v = v<<8 | n
	}
	return v, 8 * len(parts), nil
}

// clip shortens a name quoted in a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// printable keeps an excerpt one short line: bytes that would be escaped
// in quotes become "?".
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
