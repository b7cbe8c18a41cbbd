package testcap

import (
	"encoding/binary"
	"net/netip"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// SYNFlood returns frame i of a SYN flood, in b (at least 54 bytes): a SYN
// from a source of its own (10.x.y.z, one of 64 ports) to 192.0.2.1:80, a
// microsecond after the one before, its checksums right, for tests of what must stay bounded
// however many sources a flood has. scripts/make-synflood.py writes the
// same as a file.
func SYNFlood(i int, b []byte) pcap.Frame {
	b = b[:54]
	clear(b)
	b[12], b[13] = 0x08, 0x00 // IPv4
	ip := b[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, wire.ProtoTCP
	binary.BigEndian.PutUint16(ip[2:], 40)
	binary.BigEndian.PutUint32(ip[12:], 0x0a000000|uint32(i>>6)&0xffffff)
	copy(ip[16:], []byte{192, 0, 2, 1})
	tcp := b[34:54]
	binary.BigEndian.PutUint16(tcp[0:], uint16(1024+(i&63)*1000))
	binary.BigEndian.PutUint16(tcp[2:], 80)
	binary.BigEndian.PutUint32(tcp[4:], uint32(i)*2654435761)
	tcp[12], tcp[13] = 5<<4, byte(wire.SYN)
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	binary.BigEndian.PutUint16(ip[10:], ^wire.Fold(wire.Sum(0, ip)))
	src, dst := netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
	sum, _ := wire.TCPChecksum(src, dst, tcp)
	binary.BigEndian.PutUint16(tcp[16:], sum)
	return pcap.Frame{Number: i + 1, Time: pcap.Time(1767225600e9 + int64(i)*1000), Link: pcap.LinkEthernet, Length: 54, Data: b}
}
