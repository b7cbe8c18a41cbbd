package bpf

import (
	"fmt"

	xbpf "golang.org/x/net/bpf"
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
	a, b   *arth // operands; a is a load's index
	load   loadKind
	off    int // a load's offset of its header's start (for lTrans, of the IPv4 header)
	size   int
}

type arthKind uint8

const (
	aConst arthKind = iota
	aLen
	aLoad
	aBinary
	aNeg
)

type loadKind uint8

const (
	ldAbs   loadKind = iota // from a fixed offset: the link header, the network header
	ldTrans                 // from the transport header behind an IPv4 header of any length
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
	var at atom
	at.test = test
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
	return &arth{checks: andChecks(a.checks, b.checks), kind: aBinary, op: op, a: a, b: b}, nil
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
		return &arth{checks: a.checks, kind: aNeg, a: a}, nil
	}
	return p.primary()
}

func (p *parser) primary() (*arth, error) {
	t := p.tok(0)
	switch {
	case t.kind == tNum:
		p.next()
		return &arth{kind: aConst, k: t.n}, nil
	case p.is(0, "len", "length"):
		p.next()
		return &arth{kind: aLen}, nil
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
		return p.load()
	case t.kind == tEnd:
		return nil, p.errorf("the expression ends where a number, len or proto[offset] should be")
	}
	return nil, p.errorf("%q where a number, len or proto[offset] should be", clip(t.s))
}

// load is gen_load: proto[expr] or proto[expr:size].
func (p *parser) load() (*arth, error) {
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
	l := &arth{kind: aLoad, a: idx, size: size, load: ldAbs}
	switch pr {
	case pLink:
		l.off = 0
		l.checks = idx.checks
	case pIP, pIPv6, pARP, pRARP:
		l.off = p.nl
		abbrev, err := p.abbrev(pr, at)
		if err != nil {
			return nil, err
		}
		l.checks = andChecks(idx.checks, abbrev)
	case pTCP, pUDP, pSCTP, pICMP, pIGMP, pIGRP, pPIM, pVRRP, pCARP:
		// The transport header behind an IPv4 header only: libpcap 1.10
		// does not look behind IPv6 for tcp[…].
		l.load, l.off = ldTrans, p.nl
		abbrev, _ := p.abbrev(pr, at)
		l.checks = and(p.ip(), andChecks(idx.checks, and(abbrev, p.notFragment())))
	case pICMPv6:
		l.off = p.nl + 40
		l.checks = andChecks(idx.checks, and(p.ip6(), cmp(p.nl+6, 1, 58)))
	default:
		return nil, p.errorAt(at, "%s[…] is not supported", protoWord(pr))
	}
	return l, nil
}

// emit appends the instructions that leave a's value in A, using the
// scratch words from reg up.
func (p *parser) emit(out []xbpf.Instruction, a *arth, reg int) ([]xbpf.Instruction, error) {
	if reg > 15 {
		return nil, fmt.Errorf("the arithmetic needs more than 16 scratch registers")
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
		k := uint64(a.a.k)
		if a.load == ldTrans {
			out = append(out, xbpf.LoadMemShift{Off: uint32(a.off)})
		}
		if k+uint64(a.off) > 0xffffffff {
			// Past any packet: the load fails, as libpcap's does.
			return append(out, xbpf.LoadAbsolute{Off: 0xffffffff, Size: a.size}), nil
		}
		if a.load == ldTrans {
			return append(out, xbpf.LoadIndirect{Off: uint32(k) + uint32(a.off), Size: a.size}), nil
		}
		return append(out, xbpf.LoadAbsolute{Off: uint32(k) + uint32(a.off), Size: a.size}), nil
	}
	if out, err = p.emit(out, a.a, reg); err != nil {
		return nil, err
	}
	if a.load == ldTrans {
		out = append(out, xbpf.LoadMemShift{Off: uint32(a.off)}, xbpf.ALUOpX{Op: xbpf.ALUOpAdd})
	}
	return append(out, xbpf.TAX{}, xbpf.LoadIndirect{Off: uint32(a.off), Size: a.size}), nil
}
