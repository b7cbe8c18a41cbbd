package bpf

import (
	"errors"
	"fmt"

	xbpf "golang.org/x/net/bpf"
)

// cond is a filter as a tree of tests: the evaluation order of its leaves
// is the order in which the program loads packet bytes, which decides
// what a truncated frame does (a load past the end rejects it).
type cond interface{ isCond() }

type condTrue struct{}
type condFalse struct{}
type condAnd struct{ a, b cond }
type condOr struct{ a, b cond }
type condNot struct{ a cond }

// atom is one test: instructions that leave a value in A (loads, ALU),
// then a conditional jump on it.
type atom struct {
	pre  []xbpf.Instruction
	test xbpf.JumpTest // JumpEqual, JumpGreaterThan, JumpGreaterOrEqual or JumpBitsSet
	val  uint32
}

func (condTrue) isCond()  {}
func (condFalse) isCond() {}
func (condAnd) isCond()   {}
func (condOr) isCond()    {}
func (condNot) isCond()   {}
func (atom) isCond()      {}

// and, or and not simplify constants away, so that "arp host X" on a raw
// IP link becomes "reject" rather than a program that tests nothing.
func and(a, b cond) cond {
	switch {
	case a == cond(condFalse{}):
		return a
	case a == cond(condTrue{}):
		return b
	case b == cond(condTrue{}):
		return a
	}
	// b false: a's loads still run first, then reject (libpcap does the same).
	return condAnd{a, b}
}

func or(a, b cond) cond {
	switch {
	case a == cond(condTrue{}):
		return a
	case a == cond(condFalse{}):
		return b
	case b == cond(condFalse{}):
		return a
	}
	return condOr{a, b}
}

func not(a cond) cond {
	switch a {
	case cond(condTrue{}):
		return condFalse{}
	case cond(condFalse{}):
		return condTrue{}
	}
	if n, ok := a.(condNot); ok {
		return n.a
	}
	return condNot{a}
}

type label int

// item is an instruction, or a jump whose targets are labels.
type item struct {
	ins    xbpf.Instruction
	jump   bool // conditional jump to t or f
	always bool // unconditional jump to t
	test   xbpf.JumpTest
	val    uint32
	t, f   label
}

type generator struct {
	items  []item
	labels []int // label → index of the item it precedes
}

func (g *generator) label() label {
	g.labels = append(g.labels, -1)
	return label(len(g.labels) - 1)
}

func (g *generator) place(l label) { g.labels[l] = len(g.items) }

// emit generates code that continues at t if c holds and at f if not.
func (g *generator) emit(c cond, t, f label) {
	switch c := c.(type) {
	case condTrue:
		g.items = append(g.items, item{always: true, t: t})
	case condFalse:
		g.items = append(g.items, item{always: true, t: f})
	case condNot:
		g.emit(c.a, f, t)
	case condAnd:
		mid := g.label()
		g.emit(c.a, mid, f)
		g.place(mid)
		g.emit(c.b, t, f)
	case condOr:
		mid := g.label()
		g.emit(c.a, t, mid)
		g.place(mid)
		g.emit(c.b, t, f)
	case atom:
		for _, in := range c.pre {
			g.items = append(g.items, item{ins: in})
		}
		g.items = append(g.items, item{jump: true, test: c.test, val: c.val, t: t, f: f})
	}
}

var errTooFar = errors.New("program too large: a jump spans more than 255 instructions; give tcpdump -ddd output instead")

// generate lays out the program: the tests, then "accept" and "reject".
func generate(c cond, snap uint32) ([]xbpf.Instruction, error) {
	switch c.(type) {
	case condTrue:
		return []xbpf.Instruction{xbpf.RetConstant{Val: snap}}, nil
	case condFalse:
		return []xbpf.Instruction{xbpf.RetConstant{Val: 0}}, nil
	}
	g := &generator{}
	accept, reject := g.label(), g.label()
	g.emit(c, accept, reject)
	g.place(accept)
	g.items = append(g.items, item{ins: xbpf.RetConstant{Val: snap}})
	g.place(reject)
	g.items = append(g.items, item{ins: xbpf.RetConstant{Val: 0}})

	// A jump to the very next instruction is dropped when unconditional,
	// which shortens the common "and" chains; conditional jumps keep their
	// test (the load before them matters), with skip 0.
	out := make([]xbpf.Instruction, 0, len(g.items))
	index := make([]int, len(g.items)+1) // item → output position
	for i, it := range g.items {
		index[i] = len(out)
		if it.always && g.labels[it.t] == i+1 {
			continue
		}
		out = append(out, nil)
	}
	index[len(g.items)] = len(out)
	for i, it := range g.items {
		if it.always && g.labels[it.t] == i+1 {
			continue
		}
		at := index[i]
		skip := func(l label) (uint8, error) {
			d := index[g.labels[l]] - at - 1
			if d < 0 || d > 255 {
				return 0, errTooFar
			}
			return uint8(d), nil
		}
		switch {
		case it.always:
			d := index[g.labels[it.t]] - at - 1
			if d < 0 {
				return nil, fmt.Errorf("internal error: backward jump")
			}
			out[at] = xbpf.Jump{Skip: uint32(d)}
		case it.jump:
			st, err := skip(it.t)
			if err != nil {
				return nil, err
			}
			sf, err := skip(it.f)
			if err != nil {
				return nil, err
			}
			out[at] = xbpf.JumpIf{Cond: it.test, Val: it.val, SkipTrue: st, SkipFalse: sf}
		default:
			out[at] = it.ins
		}
	}
	return out, nil
}
