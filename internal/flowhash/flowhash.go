// Package flowhash hashes a TCP connection's two endpoints so that both
// directions of the connection, every run and every machine give the same
// number. It decides which shard a connection belongs to, for the analysis
// spread over cores and for export's --shard K/N spread over machines: N
// processes that read the same captures with the same N each keep the
// connections of their own shard, and the union of what they write is
// what one process writes.
//
// The value is part of that contract: shards made by different runs must
// agree, so the function never changes (a test holds it to fixed vectors).
package flowhash

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Of returns the hash of the endpoints a and b, the same as Of(b, a).
// An IPv4 address hashes as its IPv4-mapped IPv6 form, so a connection
// hashes alike whichever form a decoder gave its addresses in.
func Of(a, b netip.AddrPort) uint64 {
	ah, al, ap := words(a)
	bh, bl, bp := words(b)
	// The lesser endpoint first, so that the order of the arguments does
	// not matter.
	if ah > bh || ah == bh && (al > bl || al == bl && ap > bp) {
		ah, al, ap, bh, bl, bp = bh, bl, bp, ah, al, ap
	}
	// Each word multiplied by its own odd constant, so that no two
	// positions cancel, then one full mix.
	return mix(ah*0x9e3779b97f4a7c15 ^
		bits.RotateLeft64(al*0xc2b2ae3d27d4eb4f, 31) ^
		(ap<<16|bp)*0x165667b19e3779f9 ^
		bits.RotateLeft64(bh*0xd6e8feb86659fd93, 17) ^
		bl*0xff51afd7ed558ccd)
}

// Of4 is Of of two IPv4 endpoints given as numbers (an address's four
// bytes big-endian) and ports: the same value, in a quarter of the time,
// for the caller that hashes every packet.
func Of4(a uint32, pa uint16, b uint32, pb uint16) uint64 {
	// As Of with an IPv4-mapped address: the high words are zero, the low
	// ones 0xffff<<32 | address, so the lesser endpoint is the lesser
	// address, then port.
	if a > b || a == b && pa > pb {
		a, pa, b, pb = b, pb, a, pa
	}
	const mapped = 0xffff << 32
	return mix(bits.RotateLeft64((mapped|uint64(a))*0xc2b2ae3d27d4eb4f, 31) ^
		(uint64(pa)<<16|uint64(pb))*0x165667b19e3779f9 ^
		(mapped|uint64(b))*0xff51afd7ed558ccd)
}

// Shard returns the shard of n (0 to n-1) that the hash h falls in. It
// takes the high bits of h·n rather than h mod n, which spreads evenly
// for any n without a division.
func Shard(h uint64, n int) int {
	if n <= 1 {
		return 0
	}
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}

func words(e netip.AddrPort) (hi, lo, port uint64) {
	a := e.Addr().As16()
	return binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), uint64(e.Port())
}

// mix is the finaliser of MurmurHash3 (fmix64): every input bit affects
// every output bit.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
