package bpf

import (
	"fmt"

	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/pcap"
)

// arth is an arithmetic expression of grammar.y: a number, len, a load
// proto[expr:size], or an operation. checks are the protocol tests its
// loads need ("tcp[13]" holds only for TCP in an IPv4 first fragment),
// in libpcap's order; the value is computed only once they all hold.
type arth struct {
	checks cond
	kind   arthKind
	k      uint32 // aConst's value
	op     xbpf.ALUOp
	a, b   *arth              // operands; a is a load's index
	x      []xbpf.Instruction // a load's: what puts the variable part of its header's offset in X
	off    int                // a load's: the constant part
	size   int
	reg    int // the scratch word libpcap would keep the value in (regs.go)
}

type arthKind uint8

const (
	aConst arthKind = iota
	aLen
	aLoad
	aBinary
	aNeg
)

// relation is "arth relop arth" (gen_relation).
func (p *parser) relation() (cond, error) {
	start := p.pos
	c, err := p.relationAt()
	if err != nil {
		if _, ok := err.(*SyntaxError); !ok {
			err = p.errorAt(start, "%v", err)
		}
	}
	return c, err
}

func (p *parser) relationAt() (cond, error) {
	fix := &relFix{}
	p.fix = fix
	defer func() { p.fix = nil }()
	a, err := p.arith(0)
	if err != nil {
		return nil, err
	}
	opTok := p.tok(0)
	if opTok.kind != tOp {
		return nil, p.errorf("a comparison (=, !=, <, <=, >, >=) should follow")
	}
	var test xbpf.JumpTest
	negate := false
	switch opTok.s {
	case ">":
		test = xbpf.JumpGreaterThan
	case ">=":
		test = xbpf.JumpGreaterOrEqual
	case "=", "==":
		test = xbpf.JumpEqual
	case "<=":
		test, negate = xbpf.JumpGreaterThan, true
	case "<":
		test, negate = xbpf.JumpGreaterOrEqual, true
	case "!=":
		test, negate = xbpf.JumpEqual, true
	default:
		return nil, p.errorf("a comparison (=, !=, <, <=, >, >=) should follow, not %q", clip(opTok.s))
	}
	p.next()
	b, err := p.arith(0)
	if err != nil {
		return nil, err
	}
	p.lpFree(a.reg)
	p.lpFree(b.reg)
	p.fixes = append(p.fixes, fix)
	at := atom{test: test, fix: fix}
	if b.kind == aConst {
		if at.pre, err = p.emit(nil, a, 0); err != nil {
			return nil, err
		}
		at.val = b.k
	} else {
		pre, err := p.emit(nil, a, 0)
		if err != nil {
			return nil, err
		}
		pre = append(pre, xbpf.StoreScratch{Src: xbpf.RegA, N: 0})
		if pre, err = p.emit(pre, b, 1); err != nil {
			return nil, err
		}
		at.pre = append(pre, xbpf.TAX{}, xbpf.LoadScratch{Dst: xbpf.RegA, N: 0})
		at.x = true
	}
	var c cond = at
	if negate {
		c = not(c)
	}
	return and(and(checksOf(a), checksOf(b)), c), nil
}

func checksOf(a *arth) cond {
	if a.checks == nil {
		return condTrue{}
	}
	return a.checks
}

// Binary operators by precedence, as grammar.y declares them; % and ^
// have none there, so yacc shifts them: they take everything to their
// right ("len + 3 ^ 2 + 1" is len + (3 ^ (2 + 1))), as tcpdump does.
var binaryOps = map[string]struct {
	prec int
	op   xbpf.ALUOp
}{
	"|": {1, xbpf.ALUOpOr}, "&": {2, xbpf.ALUOpAnd}, "<<": {3, xbpf.ALUOpShiftLeft}, ">>": {3, xbpf.ALUOpShiftRight},
	"+": {4, xbpf.ALUOpAdd}, "-": {4, xbpf.ALUOpSub}, "*": {5, xbpf.ALUOpMul}, "/": {5, xbpf.ALUOpDiv},
	"%": {0, xbpf.ALUOpMod}, "^": {0, xbpf.ALUOpXor},
}

func (p *parser) arith(minPrec int) (*arth, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	a, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.tok(0)
		o, ok := binaryOps[t.s]
		if t.kind != tOp || !ok {
			return a, nil
		}
		if t.s == "%" || t.s == "^" {
			return p.shiftRight(a)
		}
		if o.prec < minPrec {
			return a, nil
		}
		p.next()
		b, err := p.arith(o.prec + 1)
		if err != nil {
			return nil, err
		}
		if a, err = p.binary(t, o.op, a, b); err != nil {
			return nil, err
		}
	}
}

// shiftRight applies a % or ^ that follows a to all that comes after it.
func (p *parser) shiftRight(a *arth) (*arth, error) {
	for p.is(0, "%", "^") {
		t := p.next()
		b, err := p.arith(0)
		if err != nil {
			return nil, err
		}
		if a, err = p.binary(t, binaryOps[t.s].op, a, b); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// binary is gen_arth, with its checks of a constant right operand.
func (p *parser) binary(t token, op xbpf.ALUOp, a, b *arth) (*arth, error) {
	if b.kind == aConst {
		switch {
		case op == xbpf.ALUOpDiv && b.k == 0:
			return nil, p.errorAt(p.indexOf(t), "division by zero")
		case op == xbpf.ALUOpMod && b.k == 0:
			return nil, p.errorAt(p.indexOf(t), "modulus by zero")
		case (op == xbpf.ALUOpShiftLeft || op == xbpf.ALUOpShiftRight) && b.k > 31:
			return nil, p.errorAt(p.indexOf(t), "shift by more than 31 bits")
		}
	}
	p.lpFree(a.reg)
	p.lpFree(b.reg)
	return p.lpStore(&arth{checks: andChecks(a.checks, b.checks), kind: aBinary, op: op, a: a, b: b, reg: p.lpAlloc()}), nil
}

func (p *parser) indexOf(t token) int {
	for i := range p.toks {
		if p.toks[i].pos == t.pos {
			return i
		}
	}
	return p.pos
}

func andChecks(a, b cond) cond {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return and(a, b)
}

func (p *parser) unary() (*arth, error) {
	if p.is(0, "-") {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		a, err := p.unary()
		p.leave()
		if err != nil {
			return nil, err
		}
		if a, err = p.shiftRight(a); err != nil {
			return nil, err
		}
		return p.lpStore(&arth{checks: a.checks, kind: aNeg, a: a, reg: a.reg}), nil
	}
	return p.primary()
}

func (p *parser) primary() (*arth, error) {
	t := p.tok(0)
	switch {
	case t.kind == tNum:
		p.next()
		return p.lpStore(&arth{kind: aConst, k: t.n, reg: p.lpAlloc()}), nil
	case p.is(0, "len", "length"):
		p.next()
		return p.lpStore(&arth{kind: aLen, reg: p.lpAlloc()}), nil
	case p.is(0, "("):
		p.next()
		a, err := p.arith(0)
		if err != nil {
			return nil, err
		}
		if !p.is(0, ")") {
			return nil, p.errorf("missing )")
		}
		p.next()
		return a, nil
	case t.kind == tWord && (protoNames[t.s] != 0 || t.s == "link") && p.is(1, "["):
		return p.indexLoad()
	case t.kind == tEnd:
		return nil, p.errorf("the expression ends where a number, len or proto[offset] should be")
	}
	return nil, p.errorf("%q where a number, len or proto[offset] should be", clip(t.s))
}

// indexLoad is gen_load: proto[expr] or proto[expr:size].
func (p *parser) indexLoad() (*arth, error) {
	at := p.pos
	pr := protoNames[p.next().s]
	p.next() // [
	idx, err := p.arith(0)
	if err != nil {
		return nil, err
	}
	size := 1
	if p.is(0, ":") {
		p.next()
		n := p.next()
		if n.kind != tNum || (n.n != 1 && n.n != 2 && n.n != 4) {
			return nil, p.errorAt(p.pos-1, "data size must be 1, 2, or 4")
		}
		size = int(n.n)
	}
	if !p.is(0, "]") {
		return nil, p.errorf("missing ]")
	}
	p.next()
	l := &arth{kind: aLoad, a: idx, size: size, reg: p.lpAlloc()}
	p.lpFree(idx.reg)
	var b base
	var checks cond
	switch pr {
	case pLink:
		b = bLinkHdr
	case pRadio: // the radio header, from the frame's first byte
		if p.outer != pcap.LinkRadiotap && p.outer != pcap.LinkAVS && p.outer != pcap.LinkPrism {
			return nil, p.errorAt(at, "radio information not present in %v frames", p.outer)
		}
		b = bPacket
	case pIP, pIPv6, pARP, pRARP:
		b = bNet
		checks, err = p.abbrev(pr)
	case pTCP, pUDP, pSCTP, pICMP, pIGMP, pIGRP, pPIM, pVRRP, pCARP:
		// The transport header behind an IPv4 header only: libpcap 1.10
		// does not look behind IPv6 for tcp[…].
		b = bTransIPv4
		var ip, abbrev cond
		if ip, err = p.ip(); err == nil {
			abbrev, err = p.abbrev(pr)
		}
		checks = and(ip, andChecks(idx.checks, and(abbrev, p.notFragment())))
	case pICMPv6:
		b = bTransIPv6
		var ip6 cond
		ip6, err = p.ip6()
		checks = andChecks(idx.checks, and(ip6, p.cmp(bNet, 6, 1, 58)))
	default:
		return nil, p.errorAt(at, "%s[…] is not supported", protoWord(pr))
	}
	if err != nil {
		return nil, p.errorAt(at, "%v", err)
	}
	switch pr {
	case pIP, pIPv6, pARP, pRARP:
		checks = andChecks(idx.checks, checks)
	case pLink, pRadio:
		checks = idx.checks
	}
	l.checks = checks
	l.x, l.off = p.ref(b)
	return p.lpStore(l), nil
}

// emit appends the instructions that leave a's value in A, using the
// scratch words from reg up.
func (p *parser) emit(out []xbpf.Instruction, a *arth, reg int) ([]xbpf.Instruction, error) {
	if reg > maxArithReg {
		return nil, fmt.Errorf("the arithmetic needs more than %d scratch registers", maxArithReg+1)
	}
	var err error
	switch a.kind {
	case aConst:
		return append(out, xbpf.LoadConstant{Dst: xbpf.RegA, Val: a.k}), nil
	case aLen:
		return append(out, xbpf.LoadExtension{Num: xbpf.ExtLen}), nil
	case aNeg:
		if out, err = p.emit(out, a.a, reg); err != nil {
			return nil, err
		}
		return append(out, xbpf.NegateA{}), nil
	case aBinary:
		if out, err = p.emit(out, a.a, reg); err != nil {
			return nil, err
		}
		if a.b.kind == aConst {
			return append(out, xbpf.ALUOpConstant{Op: a.op, Val: a.b.k}), nil
		}
		out = append(out, xbpf.StoreScratch{Src: xbpf.RegA, N: reg})
		if out, err = p.emit(out, a.b, reg+1); err != nil {
			return nil, err
		}
		return append(out, xbpf.TAX{}, xbpf.LoadScratch{Dst: xbpf.RegA, N: reg}, xbpf.ALUOpX{Op: a.op}), nil
	}
	// A load.
	if a.a.kind == aConst {
		return append(out, at(a.x, int64(a.off)+int64(a.a.k), a.size)...), nil
	}
	if out, err = p.emit(out, a.a, reg); err != nil {
		return nil, err
	}
	if a.x != nil {
		// X is the variable part plus the index; the code for the
		// variable part may need A, which holds the index.
		keep := clobbersA(a.x)
		if keep {
			out = append(out, xbpf.StoreScratch{Src: xbpf.RegA, N: reg})
		}
		out = append(out, a.x...)
		if keep {
			out = append(out, xbpf.LoadScratch{Dst: xbpf.RegA, N: reg})
		}
		out = append(out, xbpf.ALUOpX{Op: xbpf.ALUOpAdd})
	}
	return append(out, xbpf.TAX{}, xbpf.LoadIndirect{Off: uint32(a.off), Size: a.size}), nil
}

// clobbersA reports whether code changes A.
func clobbersA(code []xbpf.Instruction) bool {
	for _, in := range code {
		switch in := in.(type) {
		case xbpf.LoadMemShift:
		case xbpf.LoadScratch:
			if in.Dst != xbpf.RegX {
				return true
			}
		default:
			return true
		}
	}
	return false
}
