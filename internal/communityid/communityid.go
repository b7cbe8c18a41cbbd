// Package communityid computes the Community ID of a flow (version 1 of
// the Community ID Flow Hashing specification, github.com/corelight/
// community-id-spec): the string Zeek, Suricata, Arkime, Wireshark and
// tshark (tshark's -Y 'communityid == "1:…"') give a connection, so that
// a connection found in one tool can be picked out in another, and the
// records each writes about it join on it.
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
	ProtoTCP  = 6
	ProtoUDP  = 17
	ProtoSCTP = 132
)

// Of returns "1:" and the base64 of the SHA-1 of the seed and the flow's
// endpoints, the lesser endpoint first, so that both directions give the
// same ID. Addresses keep their family: an IPv4-mapped IPv6 address is
// hashed as the IPv4 address it maps, as a decoder that saw IPv4 on the
// wire would have given it. The seed is 0 unless every tool that is to
// agree was given another.
func Of(seed uint16, a, b netip.AddrPort, proto uint8) string {
	var buf [64]byte
	return string(Append(buf[:0], seed, a, b, proto))
}

// Append appends the Community ID of the flow to dst, as Of returns it,
// without allocating when dst has room.
func Append(dst []byte, seed uint16, a, b netip.AddrPort, proto uint8) []byte {
	aa, ba := a.Addr().Unmap(), b.Addr().Unmap()
	ap, bp := a.Port(), b.Port()
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
