package seq

import (
	"math/big"
	"testing"
)

// lessSlow is the reference for Less: it compares the two numbers as points
// on a circle of 2^32, with big integers so that no machine overflow can hide
// a mistake. n is before m when going forward from n reaches m in at most 2^31
// steps (Linux's before(): exactly 2^31 counts both ways).
func lessSlow(n, m Num) bool {
	d := new(big.Int).Sub(big.NewInt(int64(m)), big.NewInt(int64(n)))
	d.Mod(d, big.NewInt(1<<32))
	return d.Sign() != 0 && d.Cmp(big.NewInt(1<<31)) <= 0
}

func TestLess(t *testing.T) {
	tests := []struct {
		n, m Num
		want bool
	}{
		{0, 1, true},
		{1, 0, false},
		{5, 5, false},
		{0xffffffff, 0, true}, // wrap: the number before zero
		{0, 0xffffffff, false},
		{0xfffffff0, 0x10, true},
		{0x10, 0xfffffff0, false},
		{0, 0x7fffffff, true},
		{0, 0x80000000, true}, // exactly half the space apart: Linux says before,
		{0x80000000, 0, true}, // both ways
	}
	for _, tc := range tests {
		if got := tc.n.Less(tc.m); got != tc.want {
			t.Errorf("Num(%#x).Less(%#x) = %v, want %v", tc.n, tc.m, got, tc.want)
		}
		if got := lessSlow(tc.n, tc.m); got != tc.want {
			t.Errorf("lessSlow(%#x, %#x) = %v, want %v", tc.n, tc.m, got, tc.want)
		}
	}
}

func TestInWindow(t *testing.T) {
	tests := []struct {
		n, start Num
		size     uint32
		want     bool
	}{
		{10, 10, 0, false},
		{10, 10, 1, true},
		{11, 10, 1, false},
		{2, 0xfffffffe, 5, true}, // window straddles the wrap
		{3, 0xfffffffe, 5, false},
		{0xfffffffd, 0xfffffffe, 5, false},
	}
	for _, tc := range tests {
		if got := tc.n.InWindow(tc.start, tc.size); got != tc.want {
			t.Errorf("Num(%#x).InWindow(%#x, %d) = %v, want %v", tc.n, tc.start, tc.size, got, tc.want)
		}
	}
}

func TestRange(t *testing.T) {
	r := Range{Start: 0xfffffff0, End: 0x10}
	if r.Len() != 0x20 {
		t.Errorf("Len = %d, want 32", r.Len())
	}
	if !r.Contains(0) || !r.Contains(0xfffffff0) || r.Contains(0x10) {
		t.Errorf("Contains is wrong across the wrap")
	}
	if Max(0xfffffff0, 0x10) != 0x10 || Min(0xfffffff0, 0x10) != 0xfffffff0 {
		t.Errorf("Max/Min are wrong across the wrap")
	}
}

func FuzzLess(f *testing.F) {
	f.Add(uint32(0), uint32(1))
	f.Add(uint32(0xffffffff), uint32(0))
	f.Add(uint32(0), uint32(0x80000000))
	f.Fuzz(func(t *testing.T, a, b uint32) {
		n, m := Num(a), Num(b)
		if got, want := n.Less(m), lessSlow(n, m); got != want {
			t.Fatalf("Num(%#x).Less(%#x) = %v, slow reference says %v", a, b, got, want)
		}
		if n.Less(m) && m.Less(n) && uint32(n-m) != 1<<31 {
			t.Fatalf("both %#x < %#x and the reverse", a, b)
		}
		if got := n.Add(uint32(m.Sub(n))); got != m {
			t.Fatalf("n + (m - n) = %#x, want %#x", got, m)
		}
	})
}
