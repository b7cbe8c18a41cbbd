package wire_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/tcplens/tcplens/internal/wire"
)

// checksumSlow is the Internet checksum sum written the obvious way: add
// the bytes as big-endian 16-bit words, padding an odd last byte with
// zero, and fold every carry out of bit 15 back into bit 0 as it happens
// (RFC 1071 section 4.1). It returns the folded sum, not its complement.
func checksumSlow(b []byte) uint16 {
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		word := uint32(b[i]) << 8
		if i+1 < len(b) {
			word |= uint32(b[i+1])
		}
		sum += word
		if sum > 0xffff {
			sum = sum - 0x10000 + 1 // end-around carry
		}
	}
	return uint16(sum)
}

// pseudoHeaderSlow builds the pseudo-header bytes of RFC 9293 section 3.1
// (IPv4) or RFC 8200 section 8.1 (IPv6).
func pseudoHeaderSlow(src, dst netip.Addr, proto uint8, length int) []byte {
	var b []byte
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	if src.Is4() {
		b = append(b, 0, proto)
		b = binary.BigEndian.AppendUint16(b, uint16(length))
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(length))
		b = append(b, 0, 0, 0, proto)
	}
	return b
}

// Real segments with odd lengths, checksums as sent and verified by tshark.
var (
	// zeek-ftp-bigtransfer.pcap frame 16: "PWD\r\n" over IPv4.
	realIPv4Src = netip.MustParseAddr("192.168.56.1")
	realIPv4Dst = netip.MustParseAddr("192.168.56.101")
	realIPv4TCP = mustHex("" +
		"e972" + // source port 59762
		"0015" + // destination port 21
		"f15ea0b7" + // sequence number
		"9ccade25" + // acknowledgment number
		"80" + // data offset 8 words
		"18" + // PSH, ACK
		"4012" + // window
		"470c" + // checksum
		"0000" + // urgent pointer
		"0101080a3e42fb04022b2d75" + // NOP, NOP, timestamps
		"5057440d0a") // payload "PWD\r\n"
	// zeek-ftp-ipv6.pcap frame 24: "PWD\r\n" over IPv6.
	realIPv6Src = netip.MustParseAddr("2001:470:1f11:81f:c999:d94:aa7c:2e3e")
	realIPv6Dst = netip.MustParseAddr("2001:470:4867:99::21")
	realIPv6TCP = mustHex("" +
		"c021" + // source port 49185
		"0015" + // destination port 21
		"268a7e87" + // sequence number
		"067301e1" + // acknowledgment number
		"80" + // data offset 8 words
		"18" + // PSH, ACK
		"804c" + // window
		"4b12" + // checksum
		"0000" + // urgent pointer
		"0101080a3a01fc290000000a" + // NOP, NOP, timestamps
		"5057440d0a") // payload "PWD\r\n"
)

func TestTCPChecksum(t *testing.T) {
	tests := []struct {
		name     string
		src, dst netip.Addr
		seg      []byte
		want     uint16
	}{
		{"ipv4 odd length", realIPv4Src, realIPv4Dst, realIPv4TCP, 0x470c},
		{"ipv6 odd length", realIPv6Src, realIPv6Dst, realIPv6TCP, 0x4b12},
		{"crafted SYN", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2"), synTCP, 0x68f8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, ok := wire.TCPChecksum(tc.src, tc.dst, tc.seg)
			if want != tc.want || !ok {
				t.Errorf("TCPChecksum = %#04x, %v, want %#04x, true", want, ok, tc.want)
			}
			// The whole segment and pseudo-header sum to 0xffff.
			sum := wire.Fold(wire.Sum(wire.PseudoHeaderSum(tc.src, tc.dst, wire.ProtoTCP, len(tc.seg)), tc.seg))
			if sum != 0xffff {
				t.Errorf("folded sum %#04x, want 0xffff", sum)
			}
			if slow := checksumSlow(append(pseudoHeaderSlow(tc.src, tc.dst, wire.ProtoTCP, len(tc.seg)), tc.seg...)); slow != 0xffff {
				t.Errorf("slow sum %#04x, want 0xffff", slow)
			}
			// A changed payload byte shows, and want is what fixes it.
			bad := cat(tc.seg)
			bad[len(bad)-1] ^= 0x20
			want, ok = wire.TCPChecksum(tc.src, tc.dst, bad)
			if ok {
				t.Fatal("TCPChecksum accepted a changed segment")
			}
			binary.BigEndian.PutUint16(bad[16:], want)
			if _, ok := wire.TCPChecksum(tc.src, tc.dst, bad); !ok {
				t.Errorf("TCPChecksum does not accept its own value %#04x", want)
			}
		})
	}
}

func TestTCPChecksumShort(t *testing.T) {
	for n := range 20 {
		if want, ok := wire.TCPChecksum(realIPv4Src, realIPv4Dst, realIPv4TCP[:n]); want != 0 || ok {
			t.Errorf("TCPChecksum of %d bytes = %#04x, %v, want 0, false", n, want, ok)
		}
	}
}

func TestSumFold(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want uint16 // folded sum, not complemented
	}{
		{"empty", nil, 0},
		{"one byte", mustHex("ab"), 0xab00},
		{"two bytes", mustHex("abcd"), 0xabcd},
		{"three bytes", mustHex("abcdef"), 0xabcd + 0xef00 - 0xffff},
		// RFC 1071 section 3's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
		{"rfc 1071", mustHex("0001f203f4f5f6f7"), 0xddf2},
		{"carry wraps to ffff", mustHex("ffffffff"), 0xffff},
		{"all zero", make([]byte, 9), 0},
	}
	for _, tc := range tests {
		if got := wire.Fold(wire.Sum(0, tc.b)); got != tc.want {
			t.Errorf("%s: Fold(Sum(%x)) = %#04x, want %#04x", tc.name, tc.b, got, tc.want)
		}
		if got := checksumSlow(tc.b); got != tc.want {
			t.Errorf("%s: checksumSlow(%x) = %#04x, want %#04x", tc.name, tc.b, got, tc.want)
		}
	}
	// Fold must survive sums near the top of uint64.
	if got, want := wire.Fold(^uint64(0)), uint16(0xffff); got != want {
		t.Errorf("Fold(max uint64) = %#04x, want %#04x", got, want)
	}
	if got, want := wire.Fold(1<<48), uint16(1); got != want {
		t.Errorf("Fold(1<<48) = %#04x, want %#04x", got, want)
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	tests := []struct {
		src, dst string
		length   int
	}{
		{"192.0.2.1", "198.51.100.2", 40},
		{"255.255.255.255", "255.255.255.255", 0xffff},
		{"2001:db8::1", "2001:db8::2", 70000}, // jumbogram: the length has 32 bits
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::", 1},
	}
	for _, tc := range tests {
		src, dst := netip.MustParseAddr(tc.src), netip.MustParseAddr(tc.dst)
		got := wire.Fold(wire.PseudoHeaderSum(src, dst, wire.ProtoTCP, tc.length))
		want := checksumSlow(pseudoHeaderSlow(src, dst, wire.ProtoTCP, tc.length))
		if got != want {
			t.Errorf("PseudoHeaderSum(%s, %s, %d) folds to %#04x, want %#04x", tc.src, tc.dst, tc.length, got, want)
		}
	}
}

func FuzzChecksum(f *testing.F) {
	f.Add([]byte{}, uint16(0), uint64(0))
	f.Add(mustHex("ab"), uint16(0), uint64(0))
	f.Add(realIPv4TCP, uint16(20), uint64(0x12345))
	f.Add(realIPv6TCP, uint16(7), ^uint64(0)>>16)
	f.Add(make([]byte, 1000), uint16(999), uint64(0))
	f.Add(append(make([]byte, 63), 0xff), uint16(64), uint64(1<<40))
	f.Fuzz(func(t *testing.T, b []byte, split uint16, start uint64) {
		if got, want := wire.Fold(wire.Sum(0, b)), checksumSlow(b); got != want {
			t.Fatalf("Fold(Sum(0, %x)) = %#04x, want %#04x", b, got, want)
		}
		// Sums chain at any even split.
		at := min(int(split)&^1, len(b)&^1)
		if got, want := wire.Fold(wire.Sum(wire.Sum(0, b[:at]), b[at:])), checksumSlow(b); got != want {
			t.Fatalf("Sum split at %d of %x = %#04x, want %#04x", at, b, got, want)
		}
		// A running sum carried in: Fold(start + words) equals the one's-
		// complement sum of start's 16-bit pieces and the words. Keep start
		// small enough that adding len(b)/2 words cannot overflow 64 bits.
		start >>= 8
		var pieces []byte
		pieces = binary.BigEndian.AppendUint64(pieces, start)
		if got, want := wire.Fold(wire.Sum(start, b)), checksumSlow(append(pieces, evenPad(b)...)); got != want {
			t.Fatalf("Fold(Sum(%#x, %x)) = %#04x, want %#04x", start, b, got, want)
		}
	})
}

// evenPad returns b padded with a zero byte to an even length.
func evenPad(b []byte) []byte {
	if len(b)%2 == 0 {
		return b
	}
	return append(cat(b), 0)
}
