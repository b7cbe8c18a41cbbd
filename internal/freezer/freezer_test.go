package freezer

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// sample has a field of every kind a Freezer handles, unexported ones,
// odd sizes and the padding they leave.
type sample struct {
	A       int64
	b       bool
	c       int8
	d       uint16
	e       [3]byte
	Addr    netip.AddrPort // a kept pointer inside
	when    int64          // near the base
	Floats  [2]float64
	Plain   []uint32
	Nested  []inner
	Own     *owned // packed
	Shared  *int   // kept
	Name    string
	Any     any
	NilS    []byte
	Empty   []byte
	z       uint8
	history []step
}

type inner struct {
	N     int
	Tags  []byte
	Other *int
}

type owned struct {
	X, Y  int32
	Items []uint64
	Next  *owned
}

type step struct {
	Frame int
	Time  int64
	Why   uint8
}

func randomSample(r *rand.Rand, shared *int) sample {
	small := func() int64 { return int64(r.IntN(1 << uint(r.IntN(62)+1))) }
	s := sample{
		A: small(), b: r.IntN(2) == 0, c: int8(r.IntN(256) - 128), d: uint16(r.Uint32()),
		e:      [3]byte{byte(r.Uint32()), 0, byte(r.Uint32())},
		Addr:   netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(r.Uint32())}), uint16(r.Uint32())),
		when:   1767225600e9 + small(),
		Floats: [2]float64{r.Float64(), -r.Float64() * 1e300},
		Shared: shared,
		Name:   "conn",
		Any:    r.IntN(5),
		Empty:  []byte{},
		z:      byte(r.Uint32()),
	}
	if r.IntN(4) > 0 {
		s.Plain = make([]uint32, r.IntN(20), 40)
		for i := range s.Plain {
			s.Plain[i] = r.Uint32()
		}
	}
	for range r.IntN(3) {
		in := inner{N: int(small()), Other: shared}
		if r.IntN(2) == 0 {
			in.Tags = []byte{1, 2, byte(r.Uint32())}
		}
		s.Nested = append(s.Nested, in)
	}
	if r.IntN(3) > 0 {
		s.Own = &owned{X: int32(r.Uint32()), Y: -1, Items: []uint64{r.Uint64(), 0, 7}}
		if r.IntN(2) == 0 {
			s.Own.Next = &owned{X: 5}
		}
	}
	for range r.IntN(8) {
		s.history = append(s.history, step{Frame: r.IntN(1e7), Time: 1767225600e9 + small(), Why: byte(r.Uint32())})
	}
	return s
}

// TestRoundTrip checks that thawing what Freeze packed gives back the
// value, every field of it, the unexported ones included, with kept
// pointers still pointing where they did.
func TestRoundTrip(t *testing.T) {
	z := New[sample](reflect.TypeFor[*owned]())
	r := rand.New(rand.NewPCG(1, 2))
	shared := new(int)
	for i := range 2000 {
		want := randomSample(r, shared)
		var fr Frozen
		z.Freeze(&want, 1767225600e9, &fr)
		var got sample
		z.Thaw(&fr, 1767225600e9, &got)
		if diff := cmp.Diff(want, got, cmp.Exporter(func(reflect.Type) bool { return true })); diff != "" {
			t.Fatalf("sample %d: thawed differs (-frozen +thawed):\n%s", i, diff)
		}
		if got.Shared != shared {
			t.Fatalf("sample %d: a kept pointer moved", i)
		}
		if want.Own != nil && got.Own == want.Own {
			t.Fatalf("sample %d: a packed pointer was kept", i)
		}
		if (got.NilS == nil) != (want.NilS == nil) || (got.Empty == nil) != (want.Empty == nil) {
			t.Fatalf("sample %d: nil and empty slices mixed up", i)
		}
	}
}

// TestPacks checks that packing pays: a value of small numbers and times
// near the base takes a fraction of its size.
func TestPacks(t *testing.T) {
	z := New[sample](reflect.TypeFor[*owned]())
	s := sample{A: 7, when: 1767225600e9 + 123456789, d: 443}
	var fr Frozen
	z.Freeze(&s, 1767225600e9, &fr)
	if size := unsafe.Sizeof(s); fr.Size() > int(size)/3 {
		t.Errorf("a %d-byte value of small numbers froze into %d bytes", size, fr.Size())
	}
}

// TestNotStruct checks the refusal of what it cannot pack.
func TestNotStruct(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New of a non-struct did not panic")
		}
	}()
	New[int]()
}

func BenchmarkFreezeThaw(b *testing.B) {
	z := New[sample](reflect.TypeFor[*owned]())
	s := randomSample(rand.New(rand.NewPCG(1, 2)), new(int))
	var fr Frozen
	var out sample
	for b.Loop() {
		z.Freeze(&s, 1767225600e9, &fr)
		z.Thaw(&fr, 1767225600e9, &out)
	}
}
