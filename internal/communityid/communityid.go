// Package communityid computes the Community ID of a flow (version 1 of
// the Community ID Flow Hashing specification, github.com/corelight/
// community-id-spec): the string Zeek, Suricata, Wireshark and tshark
// (tshark's -Y 'communityid == "1:…"') print for a connection, so that a
// connection found in one tool can be picked out in another.
package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// ProtoTCP is TCP's IP protocol number.
const ProtoTCP = 6

// Of returns "1:" and the base64 of the SHA-1 of the seed and the flow's
// endpoints, the lesser endpoint first, so that both directions give the
// same ID. Addresses keep their family: an IPv4-mapped IPv6 address is
// hashed as the IPv4 address it maps.
func Of(seed uint16, a, b netip.AddrPort, proto uint8) string {
	aa, ba := a.Addr().Unmap(), b.Addr().Unmap()
	ap, bp := a.Port(), b.Port()
	if c := aa.Compare(ba); c > 0 || c == 0 && ap > bp {
		aa, ba, ap, bp = ba, aa, bp, ap
	}
	buf := make([]byte, 0, 2+16+16+4+4)
	buf = binary.BigEndian.AppendUint16(buf, seed)
	buf = append(buf, aa.AsSlice()...)
	buf = append(buf, ba.AsSlice()...)
	buf = append(buf, proto, 0)
	buf = binary.BigEndian.AppendUint16(buf, ap)
	buf = binary.BigEndian.AppendUint16(buf, bp)
	sum := sha1.Sum(buf)
	return "1:" + base64.StdEncoding.EncodeToString(sum[:])
}
