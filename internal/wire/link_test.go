package wire_test

import (
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

func TestParseLink(t *testing.T) {
	ipv4 := mustHex("45") // first byte of an IPv4 header
	ipv6 := mustHex("60") // first byte of an IPv6 header
	tests := []struct {
		name string
		link pcap.LinkType
		data []byte
		want wire.Link
	}{
		{
			name: "ethernet",
			link: pcap.LinkEthernet,
			data: cat(ethIPv4, ipv4),
			want: wire.Link{HeaderLen: 14, EtherType: wire.EtherTypeIPv4},
		},
		{
			name: "802.1q",
			link: pcap.LinkEthernet,
			data: cat(mustHex(""+
				"001122334455"+ // destination MAC
				"66778899aabb"+ // source MAC
				"8100"+ // TPID 802.1Q
				"2064"+ // TCI: PCP 1, DEI 0, VID 100
				"86dd"), // EtherType IPv6
				ipv6),
			want: wire.Link{HeaderLen: 18, EtherType: wire.EtherTypeIPv6, NumVLANs: 1,
				VLANs: [4]uint16{0x2064}, VLANTypes: [4]uint16{0x8100}},
		},
		{
			name: "qinq 802.1ad then 802.1q",
			link: pcap.LinkEthernet,
			data: cat(mustHex(""+
				"001122334455"+ // destination MAC
				"66778899aabb"+ // source MAC
				"88a8"+ // TPID 802.1ad (service tag)
				"a00a"+ // TCI: PCP 5, VID 10
				"8100"+ // TPID 802.1Q (customer tag)
				"0014"+ // TCI: VID 20
				"0800"), // EtherType IPv4
				ipv4),
			want: wire.Link{HeaderLen: 22, EtherType: wire.EtherTypeIPv4, NumVLANs: 2,
				VLANs: [4]uint16{0xa00a, 0x0014}, VLANTypes: [4]uint16{0x88a8, 0x8100}},
		},
		{
			name: "pre-standard qinq 0x9100",
			link: pcap.LinkEthernet,
			data: cat(mustHex(""+
				"001122334455"+ // destination MAC
				"66778899aabb"+ // source MAC
				"9100"+ // TPID 0x9100
				"0001"+ // TCI: VID 1
				"0800"), // EtherType IPv4
				ipv4),
			want: wire.Link{HeaderLen: 18, EtherType: wire.EtherTypeIPv4, NumVLANs: 1,
				VLANs: [4]uint16{1}, VLANTypes: [4]uint16{0x9100}},
		},
		{
			name: "five tags, four recorded",
			link: pcap.LinkEthernet,
			data: cat(mustHex(""+
				"001122334455"+ // destination MAC
				"66778899aabb"+ // source MAC
				"88a8"+"0001"+ // tag 1
				"9100"+"0002"+ // tag 2
				"9200"+"0003"+ // tag 3
				"8100"+"0004"+ // tag 4
				"8100"+"0005"+ // tag 5, counted only
				"0800"), // EtherType IPv4
				ipv4),
			want: wire.Link{HeaderLen: 34, EtherType: wire.EtherTypeIPv4, NumVLANs: 5,
				VLANs: [4]uint16{1, 2, 3, 4}, VLANTypes: [4]uint16{0x88a8, 0x9100, 0x9200, 0x8100}},
		},
		{
			name: "802.3 length field",
			link: pcap.LinkEthernet,
			data: mustHex("" +
				"0180c2000000" + // destination MAC (STP)
				"66778899aabb" + // source MAC
				"0026" + // 802.3 length 38, not an EtherType
				"424203"), // LLC: spanning tree
			want: wire.Link{HeaderLen: 17, NumEncaps: 1, Encaps: [wire.MaxEncaps]wire.Encap{{Kind: wire.EncapLLC, Len: 3, Offset: 14}}, End: 14 + 38},
		},
		{
			name: "ethernet arp",
			link: pcap.LinkEthernet,
			data: mustHex("" +
				"ffffffffffff" + // destination MAC
				"66778899aabb" + // source MAC
				"0806"), // EtherType ARP
			want: wire.Link{HeaderLen: 14, EtherType: 0x0806},
		},
		{
			name: "sll",
			link: pcap.LinkSLL,
			data: cat(mustHex(""+
				"0004"+ // packet type: outgoing
				"0001"+ // ARPHRD_ETHER
				"0006"+ // address length 6
				"66778899aabb0000"+ // address, padded to 8
				"0800"), // protocol IPv4
				ipv4),
			want: wire.Link{HeaderLen: 16, EtherType: wire.EtherTypeIPv4, PacketType: wire.PacketOutgoing, HAType: 1},
		},
		{
			name: "sll with a vlan tag",
			link: pcap.LinkSLL,
			data: cat(mustHex(""+
				"0000"+ // packet type: to us
				"0001"+ // ARPHRD_ETHER
				"0006"+ // address length 6
				"66778899aabb0000"+ // address, padded to 8
				"8100"+ // protocol 802.1Q
				"0064"+ // TCI: VID 100
				"86dd"), // EtherType IPv6
				ipv6),
			want: wire.Link{HeaderLen: 20, EtherType: wire.EtherTypeIPv6, PacketType: wire.PacketHost, HAType: 1,
				NumVLANs: 1, VLANs: [4]uint16{100}, VLANTypes: [4]uint16{0x8100}},
		},
		{
			name: "sll radiotap carries no ip",
			link: pcap.LinkSLL,
			data: mustHex("" +
				"0000" + // packet type: to us
				"0323" + // ARPHRD_IEEE80211_RADIOTAP (803)
				"0006" + // address length 6
				"66778899aabb0000" + // address, padded to 8
				"0800" + // protocol field that would say IPv4 on Ethernet
				"00000800"), // radiotap header start
			want: wire.Link{HeaderLen: 16, HAType: 803},
		},
		{
			name: "sll2",
			link: pcap.LinkSLL2,
			data: cat(mustHex(""+
				"86dd"+ // protocol IPv6
				"0000"+ // reserved
				"00000007"+ // interface index 7
				"0001"+ // ARPHRD_ETHER
				"04"+ // packet type: outgoing
				"06"+ // address length 6
				"66778899aabb0000"), // address, padded to 8
				ipv6),
			want: wire.Link{HeaderLen: 20, EtherType: wire.EtherTypeIPv6, PacketType: wire.PacketOutgoing, IfIndex: 7, HAType: 1},
		},
		{
			name: "sll2 with a vlan tag",
			link: pcap.LinkSLL2,
			data: cat(mustHex(""+
				"8100"+ // protocol 802.1Q
				"0000"+ // reserved
				"00000002"+ // interface index 2
				"0001"+ // ARPHRD_ETHER
				"03"+ // packet type: other host
				"06"+ // address length 6
				"66778899aabb0000"+ // address, padded to 8
				"0fff"+ // TCI: VID 4095
				"0800"), // EtherType IPv4
				ipv4),
			want: wire.Link{HeaderLen: 24, EtherType: wire.EtherTypeIPv4, PacketType: wire.PacketOtherHost, IfIndex: 2, HAType: 1,
				NumVLANs: 1, VLANs: [4]uint16{0xfff}, VLANTypes: [4]uint16{0x8100}},
		},
		{
			name: "null little-endian inet",
			link: pcap.LinkNull,
			data: cat(mustHex("02000000"), ipv4), // AF_INET in a little-endian writer's order
			want: wire.Link{HeaderLen: 4, EtherType: wire.EtherTypeIPv4, Family: 2},
		},
		{
			name: "null big-endian inet",
			link: pcap.LinkNull,
			data: cat(mustHex("00000002"), ipv4), // AF_INET in a big-endian writer's order
			want: wire.Link{HeaderLen: 4, EtherType: wire.EtherTypeIPv4, Family: 2},
		},
		{
			name: "null little-endian inet6 bsd",
			link: pcap.LinkNull,
			data: cat(mustHex("18000000"), ipv6), // AF_INET6 = 24 (NetBSD, OpenBSD)
			want: wire.Link{HeaderLen: 4, EtherType: wire.EtherTypeIPv6, Family: 24},
		},
		{
			name: "null big-endian inet6 freebsd",
			link: pcap.LinkNull,
			data: cat(mustHex("0000001c"), ipv6), // AF_INET6 = 28 (FreeBSD)
			want: wire.Link{HeaderLen: 4, EtherType: wire.EtherTypeIPv6, Family: 28},
		},
		{
			name: "null little-endian inet6 darwin",
			link: pcap.LinkNull,
			data: cat(mustHex("1e000000"), ipv6), // AF_INET6 = 30 (macOS)
			want: wire.Link{HeaderLen: 4, EtherType: wire.EtherTypeIPv6, Family: 30},
		},
		{
			name: "null unknown family",
			link: pcap.LinkNull,
			data: cat(mustHex("07000000"), ipv4), // family 7: not IP
			want: wire.Link{HeaderLen: 4, Family: 7},
		},
		{
			name: "loop network order",
			link: pcap.LinkLoop,
			data: cat(mustHex("00000002"), ipv4), // AF_INET, network order as OpenBSD writes it
			want: wire.Link{HeaderLen: 4, EtherType: wire.EtherTypeIPv4, Family: 2},
		},
		{
			name: "loop little-endian",
			link: pcap.LinkLoop,
			data: cat(mustHex("18000000"), ipv6), // AF_INET6, host order of a little-endian writer
			want: wire.Link{HeaderLen: 4, EtherType: wire.EtherTypeIPv6, Family: 24},
		},
		{
			name: "raw ip version 4",
			link: pcap.LinkRaw,
			data: ipv4,
			want: wire.Link{EtherType: wire.EtherTypeIPv4},
		},
		{
			name: "raw ip version 6",
			link: pcap.LinkRaw,
			data: ipv6,
			want: wire.Link{EtherType: wire.EtherTypeIPv6},
		},
		{
			name: "raw ip version 5",
			link: pcap.LinkRaw,
			data: mustHex("50"),
			want: wire.Link{},
		},
		{
			name: "dlt 12 raw ip",
			link: pcap.LinkRaw12,
			data: ipv6,
			want: wire.Link{EtherType: wire.EtherTypeIPv6},
		},
		{
			name: "dlt 14 raw ip",
			link: pcap.LinkRaw14,
			data: ipv4,
			want: wire.Link{EtherType: wire.EtherTypeIPv4},
		},
		{
			name: "raw ipv4 link type",
			link: pcap.LinkIPv4,
			data: ipv4,
			want: wire.Link{EtherType: wire.EtherTypeIPv4},
		},
		{
			name: "raw ipv6 link type",
			link: pcap.LinkIPv6,
			data: ipv6,
			want: wire.Link{EtherType: wire.EtherTypeIPv6},
		},
		{
			name: "unknown link type",
			link: 147, // LINKTYPE_USER0
			data: ipv4,
			want: wire.Link{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := wire.ParseLink(tc.link, tc.data)
			if err != nil {
				t.Fatalf("ParseLink(%v, %x) error %v", tc.link, tc.data, err)
			}
			tc.want.Type = tc.link
			if got != tc.want {
				t.Errorf("ParseLink(%v, %x)\n got %+v\nwant %+v", tc.link, tc.data, got, tc.want)
			}
		})
	}
}

func TestLinkVLAN(t *testing.T) {
	l := wire.Link{NumVLANs: 2, VLANs: [4]uint16{0xa00a, 0x1fff}}
	if got := l.VLAN(0); got != 10 {
		t.Errorf("VLAN(0) = %d, want 10 (PCP bits dropped)", got)
	}
	if got := l.VLAN(1); got != 0xfff {
		t.Errorf("VLAN(1) = %d, want 4095 (DEI bit dropped)", got)
	}
}

func TestParseLinkTruncated(t *testing.T) {
	qinq := mustHex("" +
		"001122334455" + // destination MAC
		"66778899aabb" + // source MAC
		"88a8" + "000a" + // service tag
		"8100" + "0014" + // customer tag
		"0800") // EtherType IPv4
	sllVLAN := mustHex("" +
		"0000" + // packet type
		"0001" + // ARPHRD_ETHER
		"0006" + // address length
		"66778899aabb0000" + // address
		"8100" + // protocol 802.1Q
		"0064" + // TCI
		"0800") // EtherType IPv4
	sll2 := mustHex("" +
		"0800" + // protocol IPv4
		"0000" + // reserved
		"00000001" + // interface index
		"0001" + // ARPHRD_ETHER
		"00" + // packet type
		"06" + // address length
		"66778899aabb0000") // address
	tests := []struct {
		link pcap.LinkType
		data []byte
		// errAt gives the wanted error layer and offset for a frame of n bytes.
		errAt func(n int) (string, int)
	}{
		{pcap.LinkEthernet, qinq, func(n int) (string, int) {
			switch {
			case n < 14:
				return "ethernet", 0
			case n < 18:
				return "802.1q", 14
			default:
				return "802.1q", 18
			}
		}},
		{pcap.LinkSLL, sllVLAN, func(n int) (string, int) {
			if n < 16 {
				return "sll", 0
			}
			return "802.1q", 16
		}},
		{pcap.LinkSLL2, sll2, func(int) (string, int) { return "sll2", 0 }},
		{pcap.LinkNull, mustHex("02000000"), func(int) (string, int) { return "loopback", 0 }},
		{pcap.LinkLoop, mustHex("00000002"), func(int) (string, int) { return "loopback", 0 }},
		{pcap.LinkRaw, mustHex("45"), func(int) (string, int) { return "raw ip", 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.link.String(), func(t *testing.T) {
			for n := range len(tc.data) {
				_, err := wire.ParseLink(tc.link, tc.data[:n])
				layer, off := tc.errAt(n)
				if n == 0 {
					layer = "frame" // nothing captured: no link layer at all
				}
				wantError(t, tc.link.String()+" of "+itoa(n)+" bytes", err, layer, off)
			}
			if _, err := wire.ParseLink(tc.link, tc.data); err != nil {
				t.Errorf("whole header: %v", err)
			}
		})
	}
}
