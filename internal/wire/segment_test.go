package wire_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// segmentSummary is the comparable part of a Segment, with the lengths of
// its views in place of the views.
type segmentSummary struct {
	Link       wire.Link
	IPVersion  uint8
	IPOffset   int
	IPv6Chain  wire.IPv6Chain
	TTL        uint8
	IPID       uint16
	ECN        uint8
	DF         bool
	Fragment   bool
	IPLenFixed bool
	TCPOffset  int
	Src, Dst   netip.AddrPort
	Seq, Ack   seq.Num
	Flags      wire.Flags
	Window     uint16
	Urgent     uint16
	HeaderLen  int
	Options    wire.Options
	PayloadLen int
	WireLen    int

	TCPViewLen  int // len(s.TCP)
	PayloadCapt int // len(s.Payload)
	Truncated   bool
}

func summarize(s *wire.Segment) segmentSummary {
	return segmentSummary{
		Link: s.Link, IPVersion: s.IPVersion, IPOffset: s.IPOffset, IPv6Chain: s.IPv6Chain,
		TTL: s.TTL, IPID: s.IPID, ECN: s.ECN, DF: s.DF, Fragment: s.Fragment, IPLenFixed: s.IPLenFixed,
		TCPOffset: s.TCPOffset, Src: s.Src, Dst: s.Dst, Seq: s.Seq, Ack: s.Ack, Flags: s.Flags,
		Window: s.Window, Urgent: s.Urgent, HeaderLen: s.HeaderLen, Options: s.Options,
		PayloadLen: s.PayloadLen, WireLen: s.WireLen,
		TCPViewLen: len(s.TCP), PayloadCapt: len(s.Payload), Truncated: s.Truncated(),
	}
}

var (
	addr4a = netip.MustParseAddr("192.0.2.1")
	addr4b = netip.MustParseAddr("198.51.100.2")
	addr6a = netip.MustParseAddr("2001:db8::1")
	addr6b = netip.MustParseAddr("2001:db8::2")
)

// synSummary is what Decode makes of ethIPv4 + ipv4SYN + synTCP.
var synSummary = segmentSummary{
	Link:      wire.Link{Type: pcap.LinkEthernet, HeaderLen: 14, EtherType: wire.EtherTypeIPv4},
	IPVersion: 4, IPOffset: 14, TTL: 64, IPID: 0x1234, ECN: 2, DF: true,
	TCPOffset: 34,
	Src:       netip.AddrPortFrom(addr4a, 50000), Dst: netip.AddrPortFrom(addr4b, 80),
	Seq: 0x01020304, Flags: wire.SYN, Window: 64240, HeaderLen: 40,
	Options: wire.Options{Present: wire.HasMSS | wire.HasSACKPermitted | wire.HasTimestamps | wire.HasWindowScale,
		MSS: 1460, WindowScale: 7, TSVal: 12345},
	WireLen: 74, TCPViewLen: 40,
}

// ackSummary is what Decode makes of ackTCP behind the given addresses,
// before the test adjusts lengths.
func ackSummary(src, dst netip.Addr) segmentSummary {
	return segmentSummary{
		Src: netip.AddrPortFrom(src, 80), Dst: netip.AddrPortFrom(dst, 50000),
		Seq: 0xfffffff0, Ack: 0x01020305, Flags: wire.ACK, Window: 512, HeaderLen: 20, TCPViewLen: 20,
	}
}

// ipv4Frag returns ipv4SYN with total length n and the given
// flags-and-offset field (checksum not fixed).
func ipv4Frag(n int, flagsOffset uint16) []byte {
	h := withIPv4Len(ipv4SYN, n)
	h[6], h[7] = byte(flagsOffset>>8), byte(flagsOffset)
	return h
}

func TestDecode(t *testing.T) {
	payload10 := []byte("0123456789")
	type test struct {
		name string
		f    *pcap.Frame
		want segmentSummary
		err  error // nil, ErrNotTCP or ErrFragment; *Error cases are in other tests
	}
	tests := []test{
		{
			name: "ethernet ipv4 syn",
			f:    frame(pcap.LinkEthernet, cat(ethIPv4, ipv4SYN, synTCP), 0),
			want: synSummary,
		},
		func() test {
			// A 54-byte frame padded to Ethernet's minimum of 60: the
			// padding is not payload.
			w := ackSummary(addr4a, addr4b)
			w.Link = wire.Link{Type: pcap.LinkEthernet, HeaderLen: 14, EtherType: wire.EtherTypeIPv4}
			w.IPVersion, w.IPOffset, w.TTL, w.IPID, w.ECN, w.DF, w.TCPOffset = 4, 14, 64, 0x1234, 2, true, 34
			w.WireLen = 60
			return test{
				name: "ethernet padding is not payload",
				f:    frame(pcap.LinkEthernet, cat(ethIPv4, withIPv4Len(ipv4SYN, 40), ackTCP, make([]byte, 6)), 0),
				want: w,
			}
		}(),
		func() test {
			w := ackSummary(addr4a, addr4b)
			w.Link = wire.Link{Type: pcap.LinkRaw, EtherType: wire.EtherTypeIPv4}
			w.IPVersion, w.TTL, w.IPID, w.ECN, w.DF, w.TCPOffset = 4, 64, 0x1234, 2, true, 20
			w.PayloadLen, w.PayloadCapt, w.WireLen = 10, 10, 50
			return test{
				name: "raw ipv4 with payload",
				f:    frame(pcap.LinkRaw, cat(withIPv4Len(ipv4SYN, 50), ackTCP, payload10), 0),
				want: w,
			}
		}(),
		func() test {
			w := ackSummary(addr4a, addr4b)
			w.Link = wire.Link{Type: pcap.LinkRaw, EtherType: wire.EtherTypeIPv4}
			w.IPVersion, w.TTL, w.IPID, w.ECN, w.DF, w.TCPOffset = 4, 64, 0x1234, 2, true, 20
			w.PayloadLen, w.PayloadCapt, w.Truncated, w.WireLen = 10, 4, true, 50
			return test{
				name: "snaplen cut the payload",
				f:    frame(pcap.LinkRaw, cat(withIPv4Len(ipv4SYN, 50), ackTCP, payload10[:4]), 50),
				want: w,
			}
		}(),
		func() test {
			// TSO: the sender's stack left the total length 0 for the NIC
			// to fill; the capture (on the sender, snaplen 64) kept 64 of
			// the 1514 bytes.
			w := ackSummary(addr4a, addr4b)
			w.Link = wire.Link{Type: pcap.LinkEthernet, HeaderLen: 14, EtherType: wire.EtherTypeIPv4}
			w.IPVersion, w.IPOffset, w.TTL, w.IPID, w.ECN, w.DF, w.TCPOffset = 4, 14, 64, 0x1234, 2, true, 34
			w.IPLenFixed = true
			w.PayloadLen, w.PayloadCapt, w.Truncated, w.WireLen = 1460, 10, true, 1514
			return test{
				name: "tso ipv4 total length 0",
				f:    frame(pcap.LinkEthernet, cat(ethIPv4, withIPv4Len(ipv4SYN, 0), ackTCP, payload10), 1514),
				want: w,
			}
		}(),
		func() test {
			w := ackSummary(addr4a, addr4b)
			w.Link = wire.Link{Type: pcap.LinkRaw, EtherType: wire.EtherTypeIPv4}
			w.IPVersion, w.TTL, w.IPID, w.ECN, w.TCPOffset = 4, 64, 0x1234, 2, 20
			w.Fragment = true
			w.PayloadLen, w.PayloadCapt, w.WireLen = 8, 8, 48
			return test{
				name: "ipv4 first fragment",
				f:    frame(pcap.LinkRaw, cat(ipv4Frag(48, wire.IPv4MoreFragments), ackTCP, payload10[:8]), 0),
				want: w,
			}
		}(),
		{
			name: "ipv4 later fragment",
			f:    frame(pcap.LinkRaw, cat(ipv4Frag(48, 3), payload10, payload10, payload10[:8]), 0), // offset 24
			want: segmentSummary{Link: wire.Link{Type: pcap.LinkRaw, EtherType: wire.EtherTypeIPv4},
				IPVersion: 4, TTL: 64, IPID: 0x1234, ECN: 2, WireLen: 48},
			err: wire.ErrFragment,
		},
		{
			name: "ipv4 last fragment",
			f:    frame(pcap.LinkRaw, cat(ipv4Frag(28, 0x0001), payload10[:8]), 0), // offset 8, MF clear
			want: segmentSummary{Link: wire.Link{Type: pcap.LinkRaw, EtherType: wire.EtherTypeIPv4},
				IPVersion: 4, TTL: 64, IPID: 0x1234, ECN: 2, WireLen: 28},
			err: wire.ErrFragment,
		},
		{
			name: "ipv4 udp",
			f:    frame(pcap.LinkRaw, cat(append(cat(ipv4SYN[:9]), append([]byte{17}, ipv4SYN[10:]...)...), make([]byte, 40)), 0),
			want: segmentSummary{Link: wire.Link{Type: pcap.LinkRaw, EtherType: wire.EtherTypeIPv4},
				IPVersion: 4, TTL: 64, IPID: 0x1234, ECN: 2, DF: true, WireLen: 60},
			err: wire.ErrNotTCP,
		},
		{
			name: "arp",
			f:    frame(pcap.LinkEthernet, cat(ethIPv4[:12], mustHex("0806"), make([]byte, 28)), 0),
			want: segmentSummary{Link: wire.Link{Type: pcap.LinkEthernet, HeaderLen: 14, EtherType: 0x0806}, WireLen: 42},
			err:  wire.ErrNotTCP,
		},
		{
			name: "radiotap in sll",
			f: frame(pcap.LinkSLL, mustHex(""+
				"0000"+ // packet type
				"0323"+ // ARPHRD_IEEE80211_RADIOTAP
				"0006"+ // address length
				"66778899aabb0000"+ // address
				"0800"+ // protocol field
				"45000000"), 0), // not IP, whatever it looks like
			want: segmentSummary{Link: wire.Link{Type: pcap.LinkSLL, HeaderLen: 16, HAType: 803}, WireLen: 20},
			err:  wire.ErrNotTCP,
		},
		func() test {
			w := ackSummary(addr4a, addr4b)
			w.Link = wire.Link{Type: pcap.LinkEthernet, HeaderLen: 22, EtherType: wire.EtherTypeIPv4, NumVLANs: 2,
				VLANs: [4]uint16{10, 20}, VLANTypes: [4]uint16{0x88a8, 0x8100}}
			w.IPVersion, w.IPOffset, w.TTL, w.IPID, w.ECN, w.DF, w.TCPOffset = 4, 22, 64, 0x1234, 2, true, 42
			w.WireLen = 62
			return test{
				name: "qinq",
				f: frame(pcap.LinkEthernet, cat(ethIPv4[:12], mustHex(""+
					"88a8"+"000a"+ // service tag, VID 10
					"8100"+"0014"+ // customer tag, VID 20
					"0800"), // IPv4
					withIPv4Len(ipv4SYN, 40), ackTCP), 0),
				want: w,
			}
		}(),
		func() test {
			w := ackSummary(addr6a, addr6b)
			w.Link = wire.Link{Type: pcap.LinkSLL2, HeaderLen: 20, EtherType: wire.EtherTypeIPv6, IfIndex: 3, HAType: 1, PacketType: wire.PacketOutgoing}
			w.IPVersion, w.IPOffset, w.TTL, w.ECN, w.TCPOffset = 6, 20, 64, 1, 60
			w.IPv6Chain = wire.IPv6Chain{Upper: wire.ProtoTCP, UpperOff: 40}
			w.PayloadLen, w.PayloadCapt, w.WireLen = 10, 10, 90
			return test{
				name: "sll2 ipv6",
				f: frame(pcap.LinkSLL2, cat(mustHex(""+
					"86dd"+ // protocol IPv6
					"0000"+ // reserved
					"00000003"+ // interface index 3
					"0001"+ // ARPHRD_ETHER
					"04"+ // outgoing
					"06"+ // address length
					"66778899aabb0000"), // address
					withIPv6Len(ipv6Hdr, 30, wire.ProtoTCP), ackTCP, payload10), 0),
				want: w,
			}
		}(),
		func() test {
			w := ackSummary(addr6a, addr6b)
			w.Link = wire.Link{Type: pcap.LinkNull, HeaderLen: 4, EtherType: wire.EtherTypeIPv6, Family: 30}
			w.IPVersion, w.IPOffset, w.TTL, w.ECN, w.TCPOffset = 6, 4, 64, 1, 4+40+24+8
			w.IPv6Chain = wire.IPv6Chain{Upper: wire.ProtoTCP, UpperOff: 72, Count: 2, Headers: [4]wire.ExtHeader{
				{Proto: wire.ProtoRouting, Offset: 40, Len: 24}, {Proto: wire.ProtoDestOpts, Offset: 64, Len: 8}}}
			w.WireLen = 96
			return test{
				name: "null ipv6 routing and destination options",
				f: frame(pcap.LinkNull, cat(mustHex("1e000000"), withIPv6Len(ipv6Hdr, 52, wire.ProtoRouting),
					ext(routing, wire.ProtoDestOpts), ext(destOpts, wire.ProtoTCP), ackTCP), 0),
				want: w,
			}
		}(),
		func() test {
			// RFC 2675 jumbogram: payload length 0, the length in a
			// hop-by-hop option; 100 bytes captured of 70054.
			w := ackSummary(addr6a, addr6b)
			w.Link = wire.Link{Type: pcap.LinkEthernet, HeaderLen: 14, EtherType: wire.EtherTypeIPv6}
			w.IPVersion, w.IPOffset, w.TTL, w.ECN, w.TCPOffset = 6, 14, 64, 1, 62
			w.IPv6Chain = wire.IPv6Chain{Upper: wire.ProtoTCP, UpperOff: 48, Count: 1, Jumbo: 70000,
				Headers: [4]wire.ExtHeader{{Proto: wire.ProtoHopByHop, Offset: 40, Len: 8}}}
			w.PayloadLen, w.PayloadCapt, w.Truncated, w.WireLen = 70000-8-20, 18, true, 14+40+70000
			return test{
				name: "ipv6 jumbogram",
				f: frame(pcap.LinkEthernet, cat(ethIPv6, withIPv6Len(ipv6Hdr, 0, wire.ProtoHopByHop),
					ext(hopByHopJumbo, wire.ProtoTCP), ackTCP, make([]byte, 18)), 14+40+70000),
				want: w,
			}
		}(),
		func() test {
			// BIG TCP over IPv6 as captured on the sender: payload
			// length 0 and no jumbo option.
			w := ackSummary(addr6a, addr6b)
			w.Link = wire.Link{Type: pcap.LinkEthernet, HeaderLen: 14, EtherType: wire.EtherTypeIPv6}
			w.IPVersion, w.IPOffset, w.TTL, w.ECN, w.TCPOffset = 6, 14, 64, 1, 54
			w.IPv6Chain = wire.IPv6Chain{Upper: wire.ProtoTCP, UpperOff: 40}
			w.IPLenFixed = true
			w.PayloadLen, w.PayloadCapt, w.Truncated, w.WireLen = 100000, 10, true, 14+40+20+100000
			return test{
				name: "ipv6 payload length 0",
				f:    frame(pcap.LinkEthernet, cat(ethIPv6, withIPv6Len(ipv6Hdr, 0, wire.ProtoTCP), ackTCP, payload10), 14+40+20+100000),
				want: w,
			}
		}(),
		func() test {
			w := ackSummary(addr6a, addr6b)
			w.Link = wire.Link{Type: pcap.LinkIPv6, EtherType: wire.EtherTypeIPv6}
			w.IPVersion, w.TTL, w.ECN, w.TCPOffset = 6, 64, 1, 48
			w.IPv6Chain = wire.IPv6Chain{Upper: wire.ProtoTCP, UpperOff: 48, Count: 1, Fragment: true, MoreFrags: true, FragID: 0xabcd,
				Headers: [4]wire.ExtHeader{{Proto: wire.ProtoFragment, Offset: 40, Len: 8}}}
			w.Fragment = true
			w.PayloadLen, w.PayloadCapt, w.WireLen = 10, 10, 78
			return test{
				name: "ipv6 first fragment",
				f:    frame(pcap.LinkIPv6, cat(withIPv6Len(ipv6Hdr, 38, wire.ProtoFragment), ext(fragFirst, wire.ProtoTCP), ackTCP, payload10), 0),
				want: w,
			}
		}(),
		{
			name: "ipv6 later fragment",
			f:    frame(pcap.LinkIPv6, cat(withIPv6Len(ipv6Hdr, 18, wire.ProtoFragment), ext(fragLater, wire.ProtoTCP), payload10), 0),
			want: segmentSummary{Link: wire.Link{Type: pcap.LinkIPv6, EtherType: wire.EtherTypeIPv6},
				IPVersion: 6, TTL: 64, ECN: 1, WireLen: 58,
				IPv6Chain: wire.IPv6Chain{Upper: wire.ProtoTCP, UpperOff: 48, Count: 1, Fragment: true, FragOffset: 1480, FragID: 0xabcd,
					Headers: [4]wire.ExtHeader{{Proto: wire.ProtoFragment, Offset: 40, Len: 8}}}},
			err: wire.ErrFragment,
		},
		{
			name: "ipv6 later fragment of udp",
			f:    frame(pcap.LinkIPv6, cat(withIPv6Len(ipv6Hdr, 18, wire.ProtoFragment), ext(fragLater, 17), payload10), 0),
			want: segmentSummary{Link: wire.Link{Type: pcap.LinkIPv6, EtherType: wire.EtherTypeIPv6},
				IPVersion: 6, TTL: 64, ECN: 1, WireLen: 58,
				IPv6Chain: wire.IPv6Chain{Upper: 17, UpperOff: 48, Count: 1, Fragment: true, FragOffset: 1480, FragID: 0xabcd,
					Headers: [4]wire.ExtHeader{{Proto: wire.ProtoFragment, Offset: 40, Len: 8}}}},
			err: wire.ErrNotTCP,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s wire.Segment
			s.PayloadLen = -1 // Decode must reset what was there
			err := wire.Decode(tc.f, &s)
			if err != tc.err {
				t.Fatalf("Decode = %v, want %v", err, tc.err)
			}
			if got := summarize(&s); got != tc.want {
				t.Errorf("Decode\n got %+v\nwant %+v", got, tc.want)
			}
			if err == nil {
				checkViews(t, tc.f, &s)
			}
		})
	}
	if !errors.Is(wire.ErrFragment, wire.ErrNotTCP) {
		t.Error("ErrFragment does not wrap ErrNotTCP")
	}
}

// checkViews checks that the views of a decoded segment point into the
// frame where the offsets say.
func checkViews(t *testing.T, f *pcap.Frame, s *wire.Segment) {
	t.Helper()
	data := f.Data
	same := func(name string, view []byte, off int) {
		if len(view) == 0 {
			return
		}
		if off+len(view) > len(data) || &view[0] != &data[off] {
			t.Errorf("%s does not alias the frame at byte %d", name, off)
		}
	}
	if s.IPVersion == 4 {
		same("IPv4", s.IPv4, s.IPOffset)
		if s.IPv6 != nil {
			t.Error("IPv6 view set on an IPv4 segment")
		}
	} else {
		same("IPv6", s.IPv6, s.IPOffset)
		if s.IPv4 != nil {
			t.Error("IPv4 view set on an IPv6 segment")
		}
	}
	same("TCP", s.TCP, s.TCPOffset)
	same("Payload", s.Payload, s.TCPOffset+s.HeaderLen)
	if len(s.TCP) != s.HeaderLen {
		t.Errorf("len(TCP) = %d, want the header length %d", len(s.TCP), s.HeaderLen)
	}
}

func TestDecodeImpossibleLength(t *testing.T) {
	// setDataOffset returns a copy of a TCP header with data offset n words.
	setDataOffset := func(h []byte, n byte) []byte {
		h = cat(h)
		h[12] = n<<4 | h[12]&0x0f
		return h
	}
	tests := []struct {
		name   string
		f      *pcap.Frame
		layer  string
		offset int
	}{
		{"IHL 4", frame(pcap.LinkEthernet, cat(ethIPv4, append(mustHex("44"), ipv4SYN[1:]...), synTCP), 0), "ipv4", 14},
		{"IHL 0", frame(pcap.LinkEthernet, cat(ethIPv4, append(mustHex("40"), ipv4SYN[1:]...), synTCP), 0), "ipv4", 14},
		{"total length < header length", frame(pcap.LinkEthernet, cat(ethIPv4, withIPv4Len(ipv4SYN, 19), synTCP), 0), "ipv4", 16},
		{"total length < header length with options", frame(pcap.LinkEthernet, cat(ethIPv4, withIPv4Len(ipv4Opts, 22), synTCP), 0), "ipv4", 16},
		{"IHL 15, 40 bytes captured", frame(pcap.LinkRaw, cat(append(mustHex("4f"), ipv4SYN[1:]...), ackTCP), 0), "ipv4", 0},
		{"tso and a wire length shorter than the header", frame(pcap.LinkEthernet, cat(ethIPv4, withIPv4Len(ipv4SYN, 0), ackTCP), 30), "ipv4", 16},
		{"ip length leaves 10 bytes for tcp", frame(pcap.LinkEthernet, cat(ethIPv4, withIPv4Len(ipv4SYN, 30), synTCP), 0), "tcp", 34},
		{"data offset 4", frame(pcap.LinkEthernet, cat(ethIPv4, ipv4SYN, setDataOffset(synTCP, 4)), 0), "tcp", 46},
		{"data offset 0", frame(pcap.LinkEthernet, cat(ethIPv4, ipv4SYN, setDataOffset(synTCP, 0)), 0), "tcp", 46},
		{"data offset beyond the ip length", frame(pcap.LinkEthernet, cat(ethIPv4, ipv4SYN, setDataOffset(synTCP, 15), make([]byte, 20)), 0), "tcp", 46},
		{"data offset 11 in a 40-byte segment", frame(pcap.LinkRaw, cat(withIPv4Len(ipv4SYN, 60), setDataOffset(synTCP, 11)), 0), "tcp", 32},
		{"header split over a first fragment", frame(pcap.LinkRaw, cat(ipv4Frag(44, wire.IPv4MoreFragments), synTCP[:24]), 0), "tcp", 32},
		{"ipv6 payload shorter than its extension headers", frame(pcap.LinkEthernet, cat(ethIPv6, withIPv6Len(ipv6Hdr, 4, wire.ProtoHopByHop),
			ext(hopByHopRouterAlert, wire.ProtoTCP), ackTCP), 0), "ipv6", 18},
		{"ipv6 payload leaves 12 bytes for tcp", frame(pcap.LinkIPv6, cat(withIPv6Len(ipv6Hdr, 20, wire.ProtoDestOpts),
			ext(destOpts, wire.ProtoTCP), ackTCP), 0), "tcp", 48},
		{"ipv6 data offset beyond the payload length", frame(pcap.LinkIPv6, cat(withIPv6Len(ipv6Hdr, 20, wire.ProtoTCP), synTCP), 0), "tcp", 52},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s wire.Segment
			err := wire.Decode(tc.f, &s)
			wantError(t, "Decode", err, tc.layer, tc.offset)
		})
	}
}

func TestDecodeTruncated(t *testing.T) {
	ipv4Frame := cat(ethIPv4, withIPv4Len(ipv4SYN, 65), synTCP, []byte("hello"))
	ipv6Frame := cat(ethIPv6, withIPv6Len(ipv6Hdr, 8+24+20+5, wire.ProtoHopByHop),
		ext(hopByHopRouterAlert, wire.ProtoRouting), ext(routing, wire.ProtoTCP), ackTCP, []byte("hello"))
	tests := []struct {
		name  string
		data  []byte
		errAt func(n int) (layer string, offset int) // for a capture of n bytes; "" for no error
	}{
		{"ipv4", ipv4Frame, func(n int) (string, int) {
			switch {
			case n < 14:
				return "ethernet", 0
			case n < 34:
				return "ipv4", 14
			case n < 54:
				return "tcp", 34
			case n < 74:
				return "tcp", n // options cut short where the capture ends
			}
			return "", 0
		}},
		{"ipv6", ipv6Frame, func(n int) (string, int) {
			switch {
			case n < 14:
				return "ethernet", 0
			case n < 54:
				return "ipv6", 14
			case n < 62:
				return "ipv6", 54 // hop-by-hop needs 8 bytes
			case n < 70:
				return "ipv6", 62 // routing needs 8 bytes
			case n < 86:
				return "tcp", n // the routing header ran past the capture: no TCP header
			case n < 106:
				return "tcp", 86
			}
			return "", 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for n := 0; n <= len(tc.data); n++ {
				f := frame(pcap.LinkEthernet, tc.data[:n], len(tc.data))
				var s wire.Segment
				err := wire.Decode(f, &s)
				layer, off := tc.errAt(n)
				if n == 0 {
					layer = "frame" // nothing captured: no link layer at all
				}
				what := "Decode of " + itoa(n) + " bytes"
				if layer == "" {
					if err != nil {
						t.Errorf("%s: %v", what, err)
						continue
					}
					if wantCapt := n - (len(tc.data) - 5); len(s.Payload) != wantCapt || s.PayloadLen != 5 || s.Truncated() != (n < len(tc.data)) {
						t.Errorf("%s: payload %d of %d captured, Truncated %v", what, len(s.Payload), s.PayloadLen, s.Truncated())
					}
					continue
				}
				wantError(t, what, err, layer, off)
			}
		})
	}
}

func TestDecodeBadOptions(t *testing.T) {
	// Options cut short by the snaplen: an error, but the fixed header,
	// the lengths and the options captured whole are decoded.
	f := frame(pcap.LinkEthernet, cat(ethIPv4, ipv4SYN, synTCP[:27]), 74)
	var s wire.Segment
	err := wire.Decode(f, &s)
	wantError(t, "options cut short", err, "tcp", 61)
	want := synSummary
	want.Options = wire.Options{Present: wire.HasMSS | wire.HasSACKPermitted | wire.HasMalformed, MSS: 1460}
	want.TCPViewLen = 27
	if got := summarize(&s); got != want {
		t.Errorf("options cut short:\n got %+v\nwant %+v", got, want)
	}

	// A malformed option (length 0) in a whole header: a "tcp option"
	// error, with the options before it kept.
	tcp := cat(synTCP)
	tcp[20+4], tcp[20+5] = 0x05, 0x00 // SACK permitted becomes SACK of length 0
	f = frame(pcap.LinkEthernet, cat(ethIPv4, ipv4SYN, tcp), 0)
	err = wire.Decode(f, &s)
	wantError(t, "option length 0", err, "tcp option", 34+20+5)
	want = synSummary
	want.Options = wire.Options{Present: wire.HasMSS | wire.HasMalformed, MSS: 1460}
	if got := summarize(&s); got != want {
		t.Errorf("option length 0:\n got %+v\nwant %+v", got, want)
	}
}

func TestSeqEnd(t *testing.T) {
	tests := []struct {
		seq   seq.Num
		flags wire.Flags
		n     int
		want  seq.Num
	}{
		{100, wire.ACK, 0, 100},
		{100, wire.ACK | wire.PSH, 10, 110},
		{100, wire.SYN, 0, 101},
		{100, wire.SYN | wire.ACK, 5, 106}, // TFO SYN-ACK with data
		{100, wire.FIN | wire.ACK, 0, 101},
		{100, wire.FIN | wire.ACK, 10, 111},
		{100, wire.SYN | wire.FIN, 0, 102},
		{100, wire.RST, 0, 100},
		{0xffffffff, wire.SYN, 0, 0},                   // wraps past 2^32
		{0xfffffff0, wire.ACK, 0x20, 0x10},             // wraps past 2^32
		{0xfffffff0, wire.FIN | wire.ACK, 0x10, 1},     // FIN lands after the wrap
		{0x80000000, wire.ACK, 0x7fffffff, 0xffffffff}, // largest payload of a jumbogram that stays before the wrap
	}
	for _, tc := range tests {
		s := wire.Segment{Seq: tc.seq, Flags: tc.flags, PayloadLen: tc.n}
		if got := s.SeqEnd(); got != tc.want {
			t.Errorf("SeqEnd(seq %d, %v, len %d) = %d, want %d", tc.seq, tc.flags, tc.n, got, tc.want)
		}
	}
}
