package bpf

import (
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
	fix  *relFix // code run first: libpcap's clobbering of scratch words (regs.go)
	pre  []xbpf.Instruction
	test xbpf.JumpTest // JumpEqual, JumpGreaterThan, JumpGreaterOrEqual or JumpBitsSet
	val  uint32
	x    bool // compare A with X, not with val
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
	x      bool
	t, f   label

	// Trampolines: a conditional jump reaches at most 255 instructions
	// ahead; a farther target is reached through an unconditional jump
	// placed right after it, as libpcap does.
	farT, farF bool
}

type generator struct {
	items  []item
	labels []int // label → index of the item it precedes
	limit  int
}

func (g *generator) label() label {
	g.labels = append(g.labels, -1)
	return label(len(g.labels) - 1)
}

func (g *generator) place(l label) { g.labels[l] = len(g.items) }

func (g *generator) add(it item) error {
	if len(g.items) >= g.limit {
		return errTooLarge(g.limit)
	}
	g.items = append(g.items, it)
	return nil
}

func errTooLarge(limit int) error {
	return fmt.Errorf("the program would be more than %d instructions", limit)
}

// emit generates code that continues at t if c holds and at f if not.
func (g *generator) emit(c cond, t, f label) error {
	switch c := c.(type) {
	case condTrue:
		return g.add(item{always: true, t: t})
	case condFalse:
		return g.add(item{always: true, t: f})
	case condNot:
		return g.emit(c.a, f, t)
	case condAnd:
		mid := g.label()
		if err := g.emit(c.a, mid, f); err != nil {
			return err
		}
		g.place(mid)
		return g.emit(c.b, t, f)
	case condOr:
		mid := g.label()
		if err := g.emit(c.a, t, mid); err != nil {
			return err
		}
		g.place(mid)
		return g.emit(c.b, t, f)
	case atom:
		if c.fix != nil {
			for _, in := range c.fix.code {
				if err := g.add(item{ins: in}); err != nil {
					return err
				}
			}
		}
		for _, in := range c.pre {
			if err := g.add(item{ins: in}); err != nil {
				return err
			}
		}
		return g.add(item{jump: true, test: c.test, val: c.val, x: c.x, t: t, f: f})
	}
	return fmt.Errorf("internal error: condition %T", c)
}

// generate lays out the program: the prologue (whose jumps stay inside
// it or land on the first test), the tests, then "accept" and "reject",
// in at most limit instructions.
func generate(prologue []xbpf.Instruction, c cond, snap uint32, limit int) ([]xbpf.Instruction, error) {
	if len(prologue) == 0 {
		switch c.(type) {
		case condTrue:
			return []xbpf.Instruction{xbpf.RetConstant{Val: snap}}, nil
		case condFalse:
			return []xbpf.Instruction{xbpf.RetConstant{Val: 0}}, nil
		}
	}
	g := &generator{limit: limit}
	for _, in := range prologue {
		if err := g.add(item{ins: in}); err != nil {
			return nil, err
		}
	}
	accept, reject := g.label(), g.label()
	if err := g.emit(c, accept, reject); err != nil {
		return nil, err
	}
	g.place(accept)
	g.items = append(g.items, item{ins: xbpf.RetConstant{Val: snap}})
	g.place(reject)
	g.items = append(g.items, item{ins: xbpf.RetConstant{Val: 0}})

	// A jump to the very next instruction is dropped when unconditional,
	// which shortens the common "and" chains; conditional jumps keep their
	// test (the load before them matters), with skip 0.
	dropped := func(i int) bool { return g.items[i].always && g.labels[g.items[i].t] == i+1 }
	index := make([]int, len(g.items)+1) // item → output position
	for {
		n := 0
		for i, it := range g.items {
			index[i] = n
			switch {
			case dropped(i):
			case it.jump:
				n++
				if it.farT {
					n++
				}
				if it.farF {
					n++
				}
			default:
				n++
			}
		}
		index[len(g.items)] = n
		if n > limit {
			return nil, errTooLarge(limit)
		}
		grew := false
		for i := range g.items {
			it := &g.items[i]
			if !it.jump {
				continue
			}
			after := index[i] + 1
			if !it.farT && index[g.labels[it.t]]-after > 255 {
				it.farT, grew = true, true
			}
			if !it.farF && index[g.labels[it.f]]-after > 255 {
				it.farF, grew = true, true
			}
		}
		if !grew {
			break
		}
	}
	out := make([]xbpf.Instruction, index[len(g.items)])
	for i, it := range g.items {
		if dropped(i) {
			continue
		}
		at := index[i]
		target := func(l label) int { return index[g.labels[l]] }
		switch {
		case it.always:
			d := target(it.t) - at - 1
			if d < 0 {
				return nil, fmt.Errorf("internal error: backward jump")
			}
			out[at] = xbpf.Jump{Skip: uint32(d)}
		case it.jump:
			var st, sf uint8
			pad := 0
			if it.farT {
				st = 0
				out[at+1] = xbpf.Jump{Skip: uint32(target(it.t) - (at + 2))}
				pad++
			} else {
				st = uint8(target(it.t) - at - 1)
			}
			if it.farF {
				sf = uint8(pad)
				out[at+1+pad] = xbpf.Jump{Skip: uint32(target(it.f) - (at + 2 + pad))}
			} else {
				sf = uint8(target(it.f) - at - 1)
			}
			if it.x {
				out[at] = xbpf.JumpIfX{Cond: it.test, SkipTrue: st, SkipFalse: sf}
			} else {
				out[at] = xbpf.JumpIf{Cond: it.test, Val: it.val, SkipTrue: st, SkipFalse: sf}
			}
		default:
			out[at] = it.ins
		}
	}
	return out, nil
}
