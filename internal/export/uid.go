package export

import (
	"crypto/sha1"
	"encoding/binary"
	"net/netip"

	"github.com/tcplens/tcplens/internal/communityid"
	"github.com/tcplens/tcplens/internal/pcap"
)

// Flow is what identifies a connection across tools and runs: its
// Community ID and its uid, both derived from the connection alone.
type Flow struct {
	CommunityID string
	UID         string
}

// FlowOf returns the identity of the TCP connection between a and b whose
// first packet was captured at start. The uid has the shape of Zeek's
// ("C" and 96 bits in base 62) but, unlike Zeek's, which Zeek draws at
// random, it is a hash of the Community ID and the first packet's time
// (to the microsecond, as Zeek and most tools record it): every run, and
// every shard of a run, gives a connection the same uid, so datasets made
// apart join and deduplicate on it.
func FlowOf(a, b netip.AddrPort, start pcap.Time) Flow {
	var buf [64]byte
	cid := communityid.Append(buf[:0], 0, a, b, communityid.ProtoTCP)
	f := Flow{CommunityID: string(cid)}
	h := sha1.New()
	h.Write(cid)
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(microseconds(start)))
	h.Write(t[:])
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	u := append(buf[:0], 'C')
	u = appendBase62(u, binary.BigEndian.Uint64(sum[:8]))
	u = appendBase62(u, uint64(binary.BigEndian.Uint32(sum[8:12])))
	f.UID = string(u)
	return f
}

// microseconds is t truncated to the microsecond, toward minus infinity.
func microseconds(t pcap.Time) int64 {
	sec, ns := t.Unix()
	return sec*1e6 + ns/1e3
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// appendBase62 appends v in base 62, most significant digit first, as
// Zeek's uitoa_n writes each word of a uid.
func appendBase62(b []byte, v uint64) []byte {
	var d [11]byte
	i := len(d)
	for {
		i--
		d[i] = base62[v%62]
		v /= 62
		if v == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}
