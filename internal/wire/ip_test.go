package wire_test

import (
	"net/netip"
	"testing"

	"github.com/tcplens/tcplens/internal/wire"
)

// ipv4Opts is an IPv4 header with four bytes of options.
var ipv4Opts = mustHex("" +
	"46" + // version 4, IHL 6 (24 bytes)
	"02" + // DSCP 0, ECN 2 (ECT(0))
	"0040" + // total length 64
	"1234" + // identification 0x1234
	"4000" + // flags DF, fragment offset 0
	"40" + // TTL 64
	"06" + // protocol TCP
	"394a" + // header checksum
	"c0000201" + // source 192.0.2.1
	"c6336402" + // destination 198.51.100.2
	"01010100") // options: NOP, NOP, NOP, EOL

func TestParseIPv4(t *testing.T) {
	ip, err := wire.ParseIPv4(ipv4Opts, 14)
	if err != nil {
		t.Fatalf("ParseIPv4: %v", err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Version", ip.Version(), uint8(4)},
		{"HeaderLen", ip.HeaderLen(), 24},
		{"TOS", ip.TOS(), uint8(2)},
		{"ECN", ip.ECN(), uint8(2)},
		{"TotalLength", ip.TotalLength(), uint16(64)},
		{"ID", ip.ID(), uint16(0x1234)},
		{"FlagsOffset", ip.FlagsOffset(), uint16(0x4000)},
		{"FragmentOffset", ip.FragmentOffset(), 0},
		{"MoreFragments", ip.MoreFragments(), false},
		{"DontFragment", ip.DontFragment(), true},
		{"TTL", ip.TTL(), uint8(64)},
		{"Protocol", ip.Protocol(), uint8(6)},
		{"Checksum", ip.Checksum(), uint16(0x394a)},
		{"Src", ip.Src(), netip.MustParseAddr("192.0.2.1")},
		{"Dst", ip.Dst(), netip.MustParseAddr("198.51.100.2")},
		{"Options", string(ip.Options()), "\x01\x01\x01\x00"},
	} {
		if c.got != c.want {
			t.Errorf("%s() = %v, want %v", c.name, c.got, c.want)
		}
	}
	if ok, checked := ip.HeaderChecksumOK(); !ok || !checked {
		t.Errorf("HeaderChecksumOK() = %v, %v, want true, true", ok, checked)
	}
}

func TestIPv4Fragments(t *testing.T) {
	tests := []struct {
		flagsOffset string
		offset      int
		mf, df      bool
	}{
		{"0000", 0, false, false},
		{"2000", 0, true, false},     // first fragment
		{"20b9", 1480, true, false},  // middle fragment: offset 185 × 8
		{"00b9", 1480, false, false}, // last fragment
		{"5fff", 65528, false, true}, // DF with the largest offset (a contradiction, decoded as sent)
		{"8000", 0, false, false},    // reserved bit only
	}
	for _, tc := range tests {
		h := cat(ipv4SYN)
		copy(h[6:], mustHex(tc.flagsOffset))
		ip, err := wire.ParseIPv4(h, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ip.FragmentOffset() != tc.offset || ip.MoreFragments() != tc.mf || ip.DontFragment() != tc.df {
			t.Errorf("flags/offset %s: FragmentOffset %d MF %v DF %v, want %d %v %v", tc.flagsOffset,
				ip.FragmentOffset(), ip.MoreFragments(), ip.DontFragment(), tc.offset, tc.mf, tc.df)
		}
	}
}

func TestIPv4HeaderChecksum(t *testing.T) {
	// Real header: zeek-ftp-bigtransfer.pcap frame 16.
	real := mustHex("" +
		"45" + // version 4, IHL 5
		"10" + // DSCP 4 (low delay), ECN 0
		"0039" + // total length 57
		"44d5" + // identification
		"4000" + // DF
		"40" + // TTL 64
		"06" + // TCP
		"0423" + // header checksum
		"c0a83801" + // 192.168.56.1
		"c0a83865") // 192.168.56.101
	bad := cat(real)
	bad[8]-- // TTL decremented without fixing the checksum
	tests := []struct {
		name        string
		b           []byte
		ok, checked bool
	}{
		{"real", real, true, true},
		{"options", ipv4Opts, true, true},
		{"bad", bad, false, true},
		{"options not captured", ipv4Opts[:22], false, false},
		{"IHL 4", append(mustHex("44"), real[1:]...), false, false},
	}
	for _, tc := range tests {
		ip, err := wire.ParseIPv4(tc.b, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ok, checked := ip.HeaderChecksumOK(); ok != tc.ok || checked != tc.checked {
			t.Errorf("%s: HeaderChecksumOK() = %v, %v, want %v, %v", tc.name, ok, checked, tc.ok, tc.checked)
		}
	}
}

func TestIPv4Options(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"none", ipv4SYN, ""},
		{"four bytes", ipv4Opts, "\x01\x01\x01\x00"},
		{"cut short", ipv4Opts[:22], "\x01\x01"},
		{"IHL 3", append(mustHex("43"), ipv4SYN[1:]...), ""},
	}
	for _, tc := range tests {
		ip, err := wire.ParseIPv4(tc.b, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(ip.Options()); got != tc.want {
			t.Errorf("%s: Options() = %x, want %x", tc.name, got, tc.want)
		}
	}
}

func TestParseIPv4Truncated(t *testing.T) {
	for n := range 20 {
		_, err := wire.ParseIPv4(ipv4SYN[:n], 18)
		wantError(t, "ParseIPv4 of "+itoa(n)+" bytes", err, "ipv4", 18)
	}
	_, err := wire.ParseIPv4(cat(ipv6Hdr[:20]), 4)
	wantError(t, "ParseIPv4 of version 6", err, "ipv4", 4)
}

func TestParseIPv6(t *testing.T) {
	ip, err := wire.ParseIPv6(ipv6Hdr, 4)
	if err != nil {
		t.Fatalf("ParseIPv6: %v", err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Version", ip.Version(), uint8(6)},
		{"TrafficClass", ip.TrafficClass(), uint8(0xb9)},
		{"ECN", ip.ECN(), uint8(1)},
		{"FlowLabel", ip.FlowLabel(), uint32(0x12345)},
		{"PayloadLength", ip.PayloadLength(), uint16(40)},
		{"NextHeader", ip.NextHeader(), uint8(6)},
		{"HopLimit", ip.HopLimit(), uint8(64)},
		{"Src", ip.Src(), netip.MustParseAddr("2001:db8::1")},
		{"Dst", ip.Dst(), netip.MustParseAddr("2001:db8::2")},
	} {
		if c.got != c.want {
			t.Errorf("%s() = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseIPv6Truncated(t *testing.T) {
	for n := range 40 {
		_, err := wire.ParseIPv6(ipv6Hdr[:n], 16)
		wantError(t, "ParseIPv6 of "+itoa(n)+" bytes", err, "ipv6", 16)
	}
	_, err := wire.ParseIPv6(cat(ipv4SYN, ipv4SYN), 0)
	wantError(t, "ParseIPv6 of version 4", err, "ipv6", 0)
}

// Extension headers for TestIPv6Walk, 8 bytes or more each; the first
// byte (next header) is patched by ext.
var (
	hopByHopJumbo = mustHex("" +
		"06" + // next header
		"00" + // header extension length 0 (8 bytes)
		"c2" + // option type: Jumbo Payload (RFC 2675)
		"04" + // option length 4
		"00011170") // jumbo payload length 70000
	hopByHopPadded = mustHex("" +
		"06" + // next header
		"01" + // header extension length 1 (16 bytes)
		"00" + // Pad1
		"00" + // Pad1
		"c2" + // Jumbo Payload
		"04" + // option length 4
		"000186a0" + // jumbo payload length 100000
		"0104" + // PadN, 4 bytes of padding
		"00000000")
	hopByHopRouterAlert = mustHex("" +
		"06" + // next header
		"00" + // header extension length 0
		"0502" + // Router Alert, length 2
		"0000" + // MLD
		"0100") // PadN, 0 bytes
	routing = mustHex("" +
		"06" + // next header
		"02" + // header extension length 2 (24 bytes)
		"04" + // routing type 4 (segment routing)
		"01" + // segments left 1
		"00000000" + // last entry, flags, tag
		"20010db8000000000000000000000003") // segment
	destOpts = mustHex("" +
		"06" + // next header
		"00" + // header extension length 0 (8 bytes)
		"0104" + // PadN, 4 bytes of padding
		"00000000")
	fragFirst = mustHex("" +
		"06" + // next header
		"00" + // reserved
		"0001" + // fragment offset 0, M=1
		"0000abcd") // identification
	fragLater = mustHex("" +
		"06" + // next header
		"00" + // reserved
		"05c8" + // fragment offset 185 (1480 bytes), M=0
		"0000abcd") // identification
	fragAtomic = mustHex("" +
		"06" + // next header
		"00" + // reserved
		"0000" + // fragment offset 0, M=0 (RFC 6946 atomic fragment)
		"00001234") // identification
)

// ext returns a copy of an extension header whose next header is nh.
func ext(h []byte, nh byte) []byte {
	h = cat(h)
	h[0] = nh
	return h
}

func TestIPv6Walk(t *testing.T) {
	const (
		hbh  = wire.ProtoHopByHop
		rt   = wire.ProtoRouting
		frag = wire.ProtoFragment
		dst  = wire.ProtoDestOpts
		tcp  = wire.ProtoTCP
		udp  = 17
	)
	tests := []struct {
		name  string
		first uint8  // the fixed header's next header
		chain []byte // extension headers and what follows
		want  wire.IPv6Chain
	}{
		{
			name:  "no extension headers",
			first: tcp,
			chain: ackTCP,
			want:  wire.IPv6Chain{Upper: tcp, UpperOff: 40},
		},
		{
			name:  "hop-by-hop jumbo payload",
			first: hbh,
			chain: cat(ext(hopByHopJumbo, tcp), ackTCP),
			want: wire.IPv6Chain{Upper: tcp, UpperOff: 48, Count: 1, Jumbo: 70000,
				Headers: [4]wire.ExtHeader{{Proto: hbh, Offset: 40, Len: 8}}},
		},
		{
			name:  "hop-by-hop jumbo after padding",
			first: hbh,
			chain: cat(ext(hopByHopPadded, tcp), ackTCP),
			want: wire.IPv6Chain{Upper: tcp, UpperOff: 56, Count: 1, Jumbo: 100000,
				Headers: [4]wire.ExtHeader{{Proto: hbh, Offset: 40, Len: 16}}},
		},
		{
			name:  "hop-by-hop router alert",
			first: hbh,
			chain: cat(ext(hopByHopRouterAlert, 58), mustHex("8f000000")), // ICMPv6 MLDv2 report
			want: wire.IPv6Chain{Upper: 58, UpperOff: 48, Count: 1,
				Headers: [4]wire.ExtHeader{{Proto: hbh, Offset: 40, Len: 8}}},
		},
		{
			name:  "hop-by-hop option without its length byte",
			first: hbh,
			chain: cat(mustHex(""+
				"06"+ // next header
				"00"+ // header extension length 0
				"0103"+"000000"+ // PadN, 3 bytes
				"c2"), // Jumbo Payload type, no room for its length
				ackTCP),
			want: wire.IPv6Chain{Upper: tcp, UpperOff: 48, Count: 1,
				Headers: [4]wire.ExtHeader{{Proto: hbh, Offset: 40, Len: 8}}},
		},
		{
			name:  "routing",
			first: rt,
			chain: cat(ext(routing, tcp), ackTCP),
			want: wire.IPv6Chain{Upper: tcp, UpperOff: 64, Count: 1,
				Headers: [4]wire.ExtHeader{{Proto: rt, Offset: 40, Len: 24}}},
		},
		{
			name:  "destination options",
			first: dst,
			chain: cat(ext(destOpts, tcp), ackTCP),
			want: wire.IPv6Chain{Upper: tcp, UpperOff: 48, Count: 1,
				Headers: [4]wire.ExtHeader{{Proto: dst, Offset: 40, Len: 8}}},
		},
		{
			name:  "first fragment",
			first: frag,
			chain: cat(ext(fragFirst, tcp), ackTCP),
			want: wire.IPv6Chain{Upper: tcp, UpperOff: 48, Count: 1,
				Fragment: true, MoreFrags: true, FragID: 0xabcd,
				Headers: [4]wire.ExtHeader{{Proto: frag, Offset: 40, Len: 8}}},
		},
		{
			name:  "atomic fragment",
			first: frag,
			chain: cat(ext(fragAtomic, tcp), ackTCP),
			want: wire.IPv6Chain{Upper: tcp, UpperOff: 48, Count: 1,
				Fragment: true, FragID: 0x1234,
				Headers: [4]wire.ExtHeader{{Proto: frag, Offset: 40, Len: 8}}},
		},
		{
			name:  "non-first fragment stops the walk",
			first: frag,
			// What follows the fragment header is the middle of the
			// datagram, here bytes that look like a destination options
			// header: Walk must not cross them.
			chain: cat(ext(fragLater, dst), ext(destOpts, tcp), ackTCP),
			want: wire.IPv6Chain{Upper: dst, UpperOff: 48, Count: 1,
				Fragment: true, FragOffset: 1480, FragID: 0xabcd,
				Headers: [4]wire.ExtHeader{{Proto: frag, Offset: 40, Len: 8}}},
		},
		{
			name:  "every kind, five headers, four recorded",
			first: hbh,
			chain: cat(ext(hopByHopJumbo, dst), ext(destOpts, rt), ext(routing, frag), ext(fragFirst, dst), ext(destOpts, udp), mustHex("00350035")),
			want: wire.IPv6Chain{Upper: udp, UpperOff: 96, Count: 5, Jumbo: 70000,
				Fragment: true, MoreFrags: true, FragID: 0xabcd,
				Headers: [4]wire.ExtHeader{
					{Proto: hbh, Offset: 40, Len: 8},
					{Proto: dst, Offset: 48, Len: 8},
					{Proto: rt, Offset: 56, Len: 24},
					{Proto: frag, Offset: 80, Len: 8},
				}},
		},
		{
			name:  "upper layer not captured",
			first: rt,
			chain: ext(routing, tcp)[:16], // the routing header overruns the capture; TCP follows it
			want: wire.IPv6Chain{Upper: tcp, UpperOff: 64, Count: 1,
				Headers: [4]wire.ExtHeader{{Proto: rt, Offset: 40, Len: 24}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := cat(withIPv6Len(ipv6Hdr, len(tc.chain), tc.first), tc.chain)
			ip, err := wire.ParseIPv6(b, 14)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ip.Walk(14)
			if err != nil {
				t.Fatalf("Walk: %v", err)
			}
			if got != tc.want {
				t.Errorf("Walk\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestIPv6WalkTruncated(t *testing.T) {
	tests := []struct {
		name   string
		first  uint8
		chain  []byte
		offset int // of the error, from the start of the frame (the IPv6 header is at 14)
	}{
		{"hop-by-hop needs 8 bytes", wire.ProtoHopByHop, ext(hopByHopJumbo, 6)[:7], 14 + 40},
		{"fragment needs 8 bytes", wire.ProtoFragment, ext(fragFirst, 6)[:4], 14 + 40},
		{"second header needs 8 bytes", wire.ProtoDestOpts, cat(ext(destOpts, wire.ProtoRouting), routing[:3]), 14 + 48},
		// The header's length byte claims 256 bytes, so the next header
		// cannot be reached: the error points at the header that overruns,
		// inside the frame, not at where the next one would be.
		{"overrun hides the next header", wire.ProtoRouting, cat(mustHex("3c1f"), routing[2:]), 14 + 40},
	}
	for _, tc := range tests {
		b := cat(withIPv6Len(ipv6Hdr, len(tc.chain), tc.first), tc.chain)
		ip, err := wire.ParseIPv6(b, 14)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ip.Walk(14)
		wantError(t, tc.name, err, "ipv6", tc.offset)
	}
}
