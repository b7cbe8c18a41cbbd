// Package freezer packs a value of a struct type into a compact string
// of bytes and back, losslessly: the connection table keeps the analysis
// state of connections nothing has been heard from for a while so (a
// closed connection waits 70 s, a SYN flood's attempts until evicted), in
// a fifth of the memory, and unpacks one when a segment comes for it.
//
// A Freezer is compiled once from the type, by reflection, into a program
// of the value's regions: bytes without pointers, which it packs word by
// word (zero words in two bits; the others as varints, or as varints of
// their difference from a base time, which the capture's timestamps are
// close to); slices of such bytes, which it packs whole; pointers of the
// types it is told to pack, whose values it packs in place; and every
// other pointer, which it keeps as it is. Unexported fields are packed
// like the others: the program reads and writes the value's memory.
package freezer

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"reflect"
	"unsafe"
)

// A Freezer packs and unpacks values of type T.
type Freezer[T any] struct {
	prog *program
	buf  []byte
	ptrs []unsafe.Pointer
}

// Frozen is a value packed: its bytes, and the pointers it keeps.
type Frozen struct {
	data []byte
	ptrs []unsafe.Pointer
}

// Empty reports whether f holds no value: the zero Frozen.
func (f *Frozen) Empty() bool { return f.data == nil }

// Size is the memory a Frozen holds, in bytes, its own aside.
func (f *Frozen) Size() int { return cap(f.data) + 8*cap(f.ptrs) }

// New compiles a Freezer of T, which must be a struct. pack lists the
// pointer types whose values are packed with the value that points to
// them (each must be pointed to by that value alone); every other pointer
// is kept.
func New[T any](pack ...reflect.Type) *Freezer[T] {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("freezer: %v is not a struct", t))
	}
	packed := map[reflect.Type]bool{}
	for _, p := range pack {
		if p.Kind() != reflect.Pointer {
			panic(fmt.Sprintf("freezer: %v is not a pointer type", p))
		}
		packed[p] = true
	}
	c := compiler{packed: packed, progs: map[reflect.Type]*program{}}
	return &Freezer[T]{prog: c.compile(t)}
}

// Freeze packs *v into fr, reusing fr's memory where it can. base is a
// time that the value's timestamps are near (its connection's start).
func (z *Freezer[T]) Freeze(v *T, base int64, fr *Frozen) {
	w := writer{buf: z.buf[:0], ptrs: z.ptrs[:0], base: base}
	z.prog.freeze(&w, unsafe.Pointer(v))
	w.flush()
	fr.data = append(fr.data[:0:0], w.buf...)
	fr.ptrs = append(fr.ptrs[:0:0], w.ptrs...)
	z.buf, z.ptrs = w.buf, w.ptrs
	clear(z.ptrs) // hold nothing alive
}

// Thaw unpacks fr into *v, which it overwrites whole; base is the one
// Freeze was given.
func (z *Freezer[T]) Thaw(fr *Frozen, base int64, v *T) {
	r := reader{data: fr.data, ptrs: fr.ptrs, base: base}
	z.prog.thaw(&r, unsafe.Pointer(v))
}

// program is the regions of a type's memory, in order.
type program struct {
	size uintptr
	ops  []op
}

type opKind uint8

const (
	opPlain     opKind = iota // size bytes without pointers
	opKeep                    // a pointer word, kept
	opFlatSlice               // a slice of elements without pointers, size bytes each
	opSlice                   // a slice of elements with pointers, each by sub
	opPacked                  // a pointer whose value sub packs
)

type op struct {
	kind opKind
	off  uintptr
	size uintptr
	sub  *program
	typ  reflect.Type // the slice's or the pointer's type
}

// compiler compiles the programs of a type and the types it packs, each
// once: a type may point to itself (a list).
type compiler struct {
	packed map[reflect.Type]bool
	progs  map[reflect.Type]*program
}

func (c *compiler) compile(t reflect.Type) *program {
	if p := c.progs[t]; p != nil {
		return p
	}
	p := &program{size: t.Size()}
	c.progs[t] = p
	c.add(p, t, 0)
	// Join adjacent plain regions, the padding between them included.
	var ops []op
	for _, o := range p.ops {
		if n := len(ops); n > 0 && o.kind == opPlain && ops[n-1].kind == opPlain && ops[n-1].off+ops[n-1].size == o.off {
			ops[n-1].size += o.size
			continue
		}
		ops = append(ops, o)
	}
	p.ops = ops
	return p
}

// add appends to p the regions of a value of type t at offset off.
func (c *compiler) add(p *program, t reflect.Type, off uintptr) {
	if !hasPointers(t) {
		if t.Size() > 0 {
			p.ops = append(p.ops, op{kind: opPlain, off: off, size: t.Size()})
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		end := off
		for i := range t.NumField() {
			f := t.Field(i)
			if at := off + f.Offset; at > end {
				p.ops = append(p.ops, op{kind: opPlain, off: end, size: at - end}) // padding
			}
			c.add(p, f.Type, off+f.Offset)
			end = off + f.Offset + f.Type.Size()
		}
		if last := off + t.Size(); last > end {
			p.ops = append(p.ops, op{kind: opPlain, off: end, size: last - end})
		}
	case reflect.Array:
		for i := range t.Len() {
			c.add(p, t.Elem(), off+uintptr(i)*t.Elem().Size())
		}
	case reflect.Slice:
		if e := t.Elem(); !hasPointers(e) {
			p.ops = append(p.ops, op{kind: opFlatSlice, off: off, size: e.Size(), typ: t})
		} else {
			p.ops = append(p.ops, op{kind: opSlice, off: off, sub: c.compile(e), typ: t})
		}
	case reflect.Pointer:
		if c.packed[t] {
			p.ops = append(p.ops, op{kind: opPacked, off: off, sub: c.compile(t.Elem()), typ: t})
		} else {
			p.ops = append(p.ops, op{kind: opKeep, off: off})
		}
	case reflect.String:
		p.ops = append(p.ops, op{kind: opKeep, off: off}, op{kind: opPlain, off: off + 8, size: 8})
	case reflect.Interface:
		p.ops = append(p.ops, op{kind: opKeep, off: off}, op{kind: opKeep, off: off + 8})
	case reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		p.ops = append(p.ops, op{kind: opKeep, off: off})
	default:
		panic(fmt.Sprintf("freezer: cannot pack a %v", t))
	}
}

// hasPointers reports whether a value of type t holds pointers.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.String, reflect.Interface, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// sliceHeader is a slice as it lies in memory.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

func (p *program) freeze(w *writer, v unsafe.Pointer) {
	for i := range p.ops {
		o := &p.ops[i]
		at := unsafe.Add(v, o.off)
		switch o.kind {
		case opPlain:
			w.plain(unsafe.Slice((*byte)(at), o.size))
		case opKeep:
			w.ptrs = append(w.ptrs, *(*unsafe.Pointer)(at))
		case opFlatSlice, opSlice:
			h := (*sliceHeader)(at)
			if h.data == nil {
				w.uvarint(0)
				continue
			}
			w.uvarint(uint64(h.len) + 1)
			if o.kind == opFlatSlice {
				w.plain(unsafe.Slice((*byte)(h.data), uintptr(h.len)*o.size))
				continue
			}
			for j := range h.len {
				o.sub.freeze(w, unsafe.Add(h.data, uintptr(j)*o.sub.size))
			}
		case opPacked:
			q := *(*unsafe.Pointer)(at)
			if q == nil {
				w.uvarint(0)
				continue
			}
			w.uvarint(1)
			o.sub.freeze(w, q)
		}
	}
}

func (p *program) thaw(r *reader, v unsafe.Pointer) {
	for i := range p.ops {
		o := &p.ops[i]
		at := unsafe.Add(v, o.off)
		switch o.kind {
		case opPlain:
			r.plain(unsafe.Slice((*byte)(at), o.size))
		case opKeep:
			*(*unsafe.Pointer)(at) = r.ptrs[0]
			r.ptrs = r.ptrs[1:]
		case opFlatSlice:
			n := int(r.uvarint())
			h := (*sliceHeader)(at)
			if n == 0 {
				h.data = nil // a pointer store: the compiler adds the write barrier
				h.len, h.cap = 0, 0
				continue
			}
			n--
			// Elements without pointers: words serve, aligned as any
			// element needs, and the collector does not scan them.
			words := make([]uint64, (uintptr(n)*o.size+7)/8+1)
			data := unsafe.Pointer(&words[0])
			r.plain(unsafe.Slice((*byte)(data), uintptr(n)*o.size))
			h.data = data
			h.len, h.cap = n, n
		case opSlice:
			n := r.uvarint()
			field := reflect.NewAt(o.typ, at).Elem()
			if n == 0 {
				field.SetZero()
				continue
			}
			s := reflect.MakeSlice(o.typ, int(n-1), int(n-1))
			data := s.UnsafePointer()
			for j := range int(n - 1) {
				o.sub.thaw(r, unsafe.Add(data, uintptr(j)*o.sub.size))
			}
			field.Set(s)
		case opPacked:
			field := reflect.NewAt(o.typ, at).Elem()
			if r.uvarint() == 0 {
				field.SetZero()
				continue
			}
			q := reflect.New(o.typ.Elem())
			o.sub.thaw(r, q.UnsafePointer())
			field.Set(q)
		}
	}
}

// The words of plain bytes are packed four to a control byte, two bits
// each: zero, a varint of the word, a varint of the zigzagged difference
// from the previous word packed so (the first: from the base), or the
// word's eight bytes. Times come in runs near each other (the steps of a
// connection's history), and near its start.
const (
	wordZero = iota
	wordVarint
	wordBase
	wordRaw
)

type writer struct {
	buf  []byte
	ptrs []unsafe.Pointer
	base int64 // the previous word packed as a difference
	ctl  int   // the index in buf of the control byte being filled
	n    int   // words it holds
}

// word packs x; most words are zero, and cost a test.
func (w *writer) word(x uint64) {
	if w.n == 0 {
		w.ctl = len(w.buf)
		w.buf = append(w.buf, 0)
	}
	if x != 0 {
		w.buf[w.ctl] |= w.value(x) << (2 * w.n)
	}
	w.n = (w.n + 1) & 3
}

// value appends a word that is not zero and returns its kind.
func (w *writer) value(x uint64) byte {
	if bits.Len64(x) <= 42 { // six bytes of varint or fewer
		w.buf = binary.AppendUvarint(w.buf, x)
		return wordVarint
	}
	if z := zigzag(int64(x) - w.base); bits.Len64(z) <= 49 {
		w.buf = binary.AppendUvarint(w.buf, z)
		w.base = int64(x)
		return wordBase
	}
	w.buf = binary.LittleEndian.AppendUint64(w.buf, x)
	return wordRaw
}

// plain packs bytes without pointers, a word at a time; a last part word
// is packed as a word of its bytes.
func (w *writer) plain(b []byte) {
	for len(b) >= 8 {
		// word, by hand: this loop is most of what freezing costs.
		if w.n == 0 {
			w.ctl = len(w.buf)
			w.buf = append(w.buf, 0)
		}
		if x := binary.LittleEndian.Uint64(b); x != 0 {
			w.buf[w.ctl] |= w.value(x) << (2 * w.n)
		}
		w.n = (w.n + 1) & 3
		b = b[8:]
	}
	if len(b) > 0 {
		var tail [8]byte
		copy(tail[:], b)
		w.word(binary.LittleEndian.Uint64(tail[:]))
	}
}

// uvarint writes a count, ending the control byte being filled so that
// the reader finds the count where the writer put it.
func (w *writer) uvarint(x uint64) {
	w.n = 0
	w.buf = binary.AppendUvarint(w.buf, x)
}

func (w *writer) flush() { w.n = 0 }

func zigzag(d int64) uint64 { return uint64(d<<1) ^ uint64(d>>63) }

type reader struct {
	data []byte
	ptrs []unsafe.Pointer
	base int64
	ctl  byte
	n    int
}

func (r *reader) word() uint64 {
	if r.n == 0 {
		r.ctl, r.data = r.data[0], r.data[1:]
	}
	kind := r.ctl >> (2 * r.n) & 3
	r.n = (r.n + 1) & 3
	return r.value(kind)
}

// value reads a word of the kind given.
func (r *reader) value(kind byte) uint64 {
	switch kind {
	case wordVarint:
		x, n := binary.Uvarint(r.data)
		r.data = r.data[n:]
		return x
	case wordBase:
		z, n := binary.Uvarint(r.data)
		r.data = r.data[n:]
		r.base += int64(z>>1) ^ -int64(z&1)
		return uint64(r.base)
	case wordRaw:
		x := binary.LittleEndian.Uint64(r.data)
		r.data = r.data[8:]
		return x
	}
	return 0
}

func (r *reader) plain(b []byte) {
	for len(b) >= 8 {
		if r.n == 0 {
			r.ctl, r.data = r.data[0], r.data[1:]
		}
		kind := r.ctl >> (2 * r.n) & 3
		r.n = (r.n + 1) & 3
		if kind == wordZero {
			binary.LittleEndian.PutUint64(b, 0)
		} else {
			binary.LittleEndian.PutUint64(b, r.value(kind))
		}
		b = b[8:]
	}
	if len(b) > 0 {
		var tail [8]byte
		binary.LittleEndian.PutUint64(tail[:], r.word())
		copy(b, tail[:])
	}
}

func (r *reader) uvarint() uint64 {
	r.n = 0
	x, n := binary.Uvarint(r.data)
	r.data = r.data[n:]
	return x
}
