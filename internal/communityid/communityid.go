// Package communityid computes Corelight's Community ID v1 of a flow
// (https://github.com/corelight/community-id-spec): a string that Zeek,
// Suricata, Arkime and Wireshark compute alike for the same flow, so that
// the records each tool writes about it join on it.
//
// Only protocols with 16-bit ports are covered (TCP, UDP, SCTP); the
// spec's mapping of ICMP types and codes onto ports is not needed by
// tcplens, which reads TCP alone.
package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
)

// IP protocol numbers, as the hash takes them.
const (
	TCP  = 6
	UDP  = 17
	SCTP = 132
)

// Of returns the Community ID v1 of the flow between a and b over the IP
// protocol proto, with the hash seeded by seed (0 unless every tool that
// is to agree was given another). The order of a and b does not matter.
// An IPv4-mapped IPv6 address counts as the IPv4 address it maps, as a
// decoder that saw IPv4 on the wire would have given it.
func Of(seed uint16, proto uint8, a, b netip.AddrPort) string {
	return string(Append(nil, seed, proto, a, b))
}

// Append appends the Community ID of the flow to dst, as Of returns it.
func Append(dst []byte, seed uint16, proto uint8, a, b netip.AddrPort) []byte {
	aa, ba := a.Addr().Unmap(), b.Addr().Unmap()
	ap, bp := a.Port(), b.Port()
	// The spec orders the endpoints so that both directions hash alike:
	// the lesser address first, the lesser port breaking a tie.
	if c := aa.Compare(ba); c > 0 || c == 0 && ap > bp {
		aa, ba, ap, bp = ba, aa, bp, ap
	}
	var buf [2 + 16 + 16 + 2 + 4]byte
	in := append(buf[:0], byte(seed>>8), byte(seed))
	in = appendAddr(in, aa)
	in = appendAddr(in, ba)
	in = append(in, proto, 0, byte(ap>>8), byte(ap), byte(bp>>8), byte(bp))
	sum := sha1.Sum(in)
	dst = append(dst, "1:"...)
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// appendAddr appends the address's bytes in network order: 4 for IPv4,
// 16 for IPv6.
func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	v := a.As16()
	return append(b, v[:]...)
}
