// Package seq is TCP sequence-number arithmetic: serial numbers modulo 2^32
// (RFC 1982, RFC 9293 section 3.4). Every comparison of sequence or
// acknowledgment numbers in tcplens goes through it, so a connection that
// wraps past 2^32 is never mistaken for one that went backwards.
package seq

// Num is a TCP sequence or acknowledgment number.
type Num uint32

// Add returns n advanced by d bytes of sequence space.
func (n Num) Add(d uint32) Num { return n + Num(d) }

// Sub returns the signed distance from m to n (n - m), which is correct as
// long as the two are less than 2^31 apart.
func (n Num) Sub(m Num) int32 { return int32(n - m) }

// Less reports whether n comes before m in sequence space. It is Linux's
// before(): two numbers exactly 2^31 apart are each before the other, a case
// RFC 1982 leaves undefined; matching the kernel matters more here than
// antisymmetry, because tcplens predicts what the kernel does.
func (n Num) Less(m Num) bool { return int32(n-m) < 0 }

// LessEq reports whether n comes before m or equals it.
func (n Num) LessEq(m Num) bool { return int32(n-m) <= 0 }

// Greater reports whether n comes after m.
func (n Num) Greater(m Num) bool { return int32(n-m) > 0 }

// GreaterEq reports whether n comes after m or equals it.
func (n Num) GreaterEq(m Num) bool { return int32(n-m) >= 0 }

// InWindow reports whether n lies in the window [start, start+size).
// An empty window holds nothing.
func (n Num) InWindow(start Num, size uint32) bool {
	return uint32(n-start) < size
}

// Max returns the later of n and m.
func Max(n, m Num) Num {
	if n.Less(m) {
		return m
	}
	return n
}

// Min returns the earlier of n and m.
func Min(n, m Num) Num {
	if n.Less(m) {
		return n
	}
	return m
}

// Range is the half-open span of sequence space [Start, End).
type Range struct {
	Start, End Num
}

// Len is the number of sequence numbers in r.
func (r Range) Len() uint32 { return uint32(r.End - r.Start) }

// Contains reports whether n lies inside r.
func (r Range) Contains(n Num) bool { return n.InWindow(r.Start, r.Len()) }
