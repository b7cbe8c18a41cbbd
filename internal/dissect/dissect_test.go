package dissect_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/dissect"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// hexBytes decodes a hex fixture: whitespace and // comments are ignored.
func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	var sb strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		sb.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		t.Fatalf("bad hex fixture: %v", err)
	}
	return b
}

// fixSums writes correct IPv4 header and TCP checksums into a well-formed
// frame, so fixtures can leave them zero.
func fixSums(t testing.TB, link pcap.LinkType, b []byte) {
	t.Helper()
	f := pcap.Frame{Link: link, Data: b, Length: len(b)}
	l, err := wire.ParseLink(link, b)
	if err != nil {
		t.Fatalf("fixSums: %v", err)
	}
	if l.EtherType == wire.EtherTypeIPv4 {
		ip := b[l.HeaderLen:]
		hl := int(ip[0]&15) * 4
		binary.BigEndian.PutUint16(ip[10:], 0)
		binary.BigEndian.PutUint16(ip[10:], ^wire.Fold(wire.Sum(0, ip[:hl])))
	}
	var s wire.Segment
	if err := wire.Decode(&f, &s); err != nil && s.HeaderLen == 0 {
		t.Fatalf("fixSums: %v", err) // a malformed option still leaves the lengths
	}
	seg := b[s.TCPOffset : s.TCPOffset+s.HeaderLen+s.PayloadLen]
	binary.BigEndian.PutUint16(seg[16:], 0)
	want, _ := wire.TCPChecksum(s.Src.Addr(), s.Dst.Addr(), seg)
	binary.BigEndian.PutUint16(seg[16:], want)
}

// Building blocks of the fixtures.
const (
	ethIPv4 = `
		001122334455 // destination MAC
		66778899aabb // source MAC (U/L bit set)
		0800         // EtherType IPv4
`
	ethIPv6 = `
		001122334455 // destination MAC
		66778899aabb // source MAC
		86dd         // EtherType IPv6
`
	tcpSYN = `
		3039 0050 // ports 12345 → 80
		00000064  // seq 100
		00000000  // ack 0
		50 02     // data offset 5; flags SYN
		ffff      // window 65535
		0000      // checksum
		0000      // urgent pointer
`
	tcpACK = `
		3039 0050 // ports 12345 → 80
		00000064  // seq 100
		000003e8  // ack 1000
		50 10     // data offset 5; flags ACK
		0200      // window 512
		0000      // checksum
		0000      // urgent pointer
`
)

// ipv4 is an IPv4 header without options: total length, protocol and the
// flags-and-fragment-offset word vary.
func ipv4(total, proto, frag int) string {
	return fmt.Sprintf(`
		45 00     // version 4, IHL 5; DSCP 0, ECN 0
		%04x      // total length
		1234 %04x // identification; flags and fragment offset
		40 %02x   // TTL 64; protocol
		0000      // header checksum
		0a000001  // source 10.0.0.1
		0a000002  // destination 10.0.0.2
`, total, frag, proto)
}

// ipv6 is an IPv6 fixed header.
func ipv6(payload, next int) string {
	return fmt.Sprintf(`
		6000 0000 // version 6, traffic class 0, flow label 0
		%04x %02x 40 // payload length; next header; hop limit 64
		20010db8000000000000000000000001 // source 2001:db8::1
		20010db8000000000000000000000002 // destination 2001:db8::2
`, payload, next)
}

// tcpWith is a TCP header with options (whose length must be a multiple
// of 4) and the given flags byte, ack 1000.
func tcpWith(flags int, opts string, urgent int) string {
	n := len(strings.ReplaceAll(strings.Join(strings.Fields(stripComments(opts)), ""), " ", "")) / 2
	return fmt.Sprintf(`
		3039 0050 // ports 12345 → 80
		00000064  // seq 100
		000003e8  // ack 1000
		%x0 %02x  // data offset; flags
		4000      // window 16384
		0000      // checksum
		%04x      // urgent pointer
		%s        // options
`, 5+n/4, flags, urgent, stripComments(opts))
}

func stripComments(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		out = append(out, line)
	}
	return strings.Join(out, " ")
}

type dissectCase struct {
	name      string
	link      pcap.LinkType
	hex       string
	wireLen   int  // bytes on the wire, when more than the fixture holds
	sums      bool // fix the IPv4 and TCP checksums first
	layers    string
	stop      string // a substring of Stop.Reason; "" means no Stop
	malformed bool
	fields    map[string]string // layer/field/sub-field → a substring of "value: meaning"
	warn      string            // a substring of some warning
}

var dissectCases = []dissectCase{
	{
		name: "ipv4 SYN with MSS, SACK-permitted, timestamps and window scale",
		link: pcap.LinkEthernet, sums: true,
		hex: ethIPv4 + ipv4(60, 6, 0x4000) + tcpWith(0x02, `
			020405b4             // MSS 1460
			0402                 // SACK permitted
			080a 0000000a 00000000 // timestamps TSval 10, TSecr 0
			01                   // NOP
			030307               // window scale 7`, 0),
		layers: "ethernet ipv4 tcp payload",
		fields: map[string]string{
			"ethernet/dst":                    "00:11:22:33:44:55: unicast, globally unique",
			"ethernet/src":                    "locally administered",
			"ethernet/ethertype":              "IPv4",
			"ipv4/ihl":                        "5: a 20-byte header, no options",
			"ipv4/ecn":                        "0 (Not-ECT)",
			"ipv4/flags/df":                   "1: set",
			"ipv4/checksum":                   "correct",
			"ipv4/protocol":                   "6 (TCP)",
			"tcp/data_offset":                 "10: a 40-byte header, so 20 bytes of options",
			"tcp/flags":                       "SYN: a connection request",
			"tcp/flags/syn":                   "1: set: the sender opens a connection; 100 is its initial sequence number",
			"tcp/flags/ack":                   "0: not set: the first SYN of a connection acknowledges nothing",
			"tcp/ack":                         "not meaningful: ACK is not set, so the receiver ignores it",
			"tcp/window":                      "never scaled (RFC 7323",
			"tcp/checksum":                    "correct",
			"tcp/options/mss@0":               "1460: the largest payload this end accepts in one segment (an MTU of 1500",
			"tcp/options/sack_perm@4":         "yes: this end can receive SACK blocks",
			"tcp/options/timestamps@6":        "TSval 10, TSecr 0",
			"tcp/options/timestamps@6/tsecr":  "meaningful only with ACK",
			"tcp/options/wscale@17":           "shift 7: this end's windows count in units of 128 bytes",
			"tcp/options/wscale@17/kind":      "3: window scale",
			"tcp/options/wscale@17/length":    "3: kind and length bytes included",
			"payload/length":                  "0 bytes: this segment carries no data",
			"tcp/options/nop@16":              "kind 1: no operation",
			"tcp/options/timestamps@6/tsval":  "10: the sender's timestamp clock",
			"tcp/options/mss@0/mss":           "1460",
			"tcp/urgent":                      "0: meaningful only with URG, which is not set",
			"tcp/reserved":                    "0: zero, as RFC 9293 requires",
			"tcp/src_port":                    "12345",
			"tcp/dst_port":                    "80: HTTP",
			"tcp/seq":                         "100: the initial sequence number (ISN)",
			"ipv4/ttl":                        "64: routers may forward it 64 more times",
			"ipv4/frag_offset":                "0: the datagram is not fragmented",
			"ipv4/total_length":               "60: 20 bytes of header and 40 of payload",
			"ipv4/src":                        "10.0.0.1: private",
			"tcp/options/sack_perm@4/length":  "2",
			"tcp/flags/fin":                   "0: not set",
			"tcp/options/wscale@17/shift":     "7: multiply the window by 128",
			"ipv4/dscp":                       "0: CS0",
			"ipv4/version":                    "4",
			"tcp/flags/ece":                   "0: not set",
			"tcp/flags/ae":                    "0: not set",
			"tcp/options":                     "20 bytes: MSS, SACK permitted, timestamps, window scale",
			"tcp/options/timestamps@6/kind":   "8: timestamps",
			"tcp/options/timestamps@6/length": "10",
			"tcp/options/mss@0/kind":          "2: maximum segment size",
			"tcp/options/mss@0/length":        "4",
			"tcp/options/sack_perm@4/kind":    "4: SACK permitted",
			"ipv4/id":                         "4660 (0x1234)",
			"ipv4/flags":                      "DF",
			"ipv4/flags/mf":                   "0: not set",
			"ipv4/flags/reserved":             "0: not set, as it must be",
			"ipv4/dst":                        "10.0.0.2",
			"tcp/flags/urg":                   "0: not set",
			"tcp/flags/psh":                   "0: not set",
			"tcp/flags/rst":                   "0: not set",
			"tcp/flags/cwr":                   "0: not set",
		},
	},
	{
		name: "QinQ: an 802.1ad tag then an 802.1Q tag",
		link: pcap.LinkEthernet, sums: true,
		hex: `
			001122334455 66778899aabb // MACs
			88a8 a064 // TPID 802.1ad; PCP 5, DEI 0, VID 100
			8100 3ffe // TPID 802.1Q; PCP 1, DEI 1, VID 4094
			0800      // EtherType IPv4` + ipv4(40, 6, 0x4000) + tcpSYN,
		layers: "ethernet ipv4 tcp payload",
		fields: map[string]string{
			"ethernet/tpid_1":      "802.1ad service VLAN tag (QinQ): tag protocol identifier: VLAN tag 1 follows",
			"ethernet/vlan_1":      "VID 100, PCP 5, DEI 0",
			"ethernet/vlan_1/pcp":  "5: voice",
			"ethernet/vlan_1/dei":  "0: not set",
			"ethernet/vlan_1/vid":  "100: the frame belongs to VLAN 100",
			"ethernet/tpid_2":      "802.1Q VLAN tag: tag protocol identifier: VLAN tag 2 follows",
			"ethernet/vlan_2/dei":  "1: set: drop eligible",
			"ethernet/vlan_2/vid":  "4094",
			"ethernet/ethertype_2": "IPv4",
			"ipv4/checksum":        "correct",
			"tcp/checksum":         "correct",
			"tcp/window":           "65535: the sender can take 65535 bytes",
			"tcp/data_offset":      "5: a 20-byte header, no options",
			"ethernet/vlan_2/pcp":  "1: background",
		},
	},
	{
		name: "an 802.3 length instead of an EtherType, then LLC/SNAP with no IP",
		link: pcap.LinkEthernet,
		hex: `
			001122334455 66778899aabb // MACs
			0026      // length 38
			aaaa03000000 0000 // LLC/SNAP, protocol 0`,
		layers: "ethernet llc snap",
		stop:   "SNAP OUI 00:00:00, protocol 0x0000: no IP follows",
		fields: map[string]string{"ethernet/ethertype": "38: an IEEE 802.3 length (38)", "llc/dsap": "0xaa: destination service access point: SNAP"},
	},
	{
		name: "spanning tree over 802.2 LLC",
		link: pcap.LinkEthernet,
		hex: `
			0180c2000000 66778899aabb // MACs
			0026      // length 38
			424203 0000 // LLC: STP`,
		layers: "ethernet llc",
		stop:   "DSAP 0x42 (spanning tree (802.1D)): this LLC frame carries no IP",
	},
	{
		name: "ARP",
		link: pcap.LinkEthernet,
		hex: `
			ffffffffffff 66778899aabb // broadcast; source
			0806 // ARP
			0001 0800 06 04 0001 66778899aabb 0a000001 000000000000 0a000002`,
		layers: "ethernet",
		stop:   "EtherType 0x0806 (ARP) carries no IP",
		fields: map[string]string{"ethernet/dst": "broadcast"},
	},
	{
		name: "Linux cooked v1, sent by the capturing host, with an offloaded checksum",
		link: pcap.LinkSLL,
		hex: `
			0004 // packet type: outgoing
			0001 // ARPHRD_ETHER
			0006 // address length 6
			a65843f24806 0000 // address, padding
			0800 // protocol IPv4` + ipv4(40, 6, 0x4000) + tcpSYN,
		layers: "sll ipv4 tcp payload",
		fields: map[string]string{
			"sll/pkttype":   "4 (sent by us): PACKET_OUTGOING",
			"sll/hatype":    "1: ARPHRD_ETHER",
			"sll/halen":     "6: the sender's link-layer address is 6 bytes",
			"sll/addr":      "a6:58:43:f2:48:06",
			"sll/protocol":  "IPv4",
			"tcp/checksum":  "incorrect, should be 0x",
			"ipv4/checksum": "incorrect, should be 0x",
		},
		warn: "checksum offload is the likely cause",
	},
	{
		name: "Linux cooked v2",
		link: pcap.LinkSLL2, sums: true,
		hex: `
			0800     // protocol IPv4
			0000     // reserved
			00000002 // interface index 2
			0001     // ARPHRD_ETHER
			00       // packet type: to us
			06       // address length
			001122334455 0000 // address` + ipv4(40, 6, 0x4000) + tcpACK,
		layers: "sll2 ipv4 tcp payload",
		fields: map[string]string{
			"sll2/protocol": "IPv4",
			"sll2/reserved": "0: zero",
			"sll2/ifindex":  "2: the capturing host's interface number",
			"sll2/hatype":   "1: ARPHRD_ETHER",
			"sll2/pkttype":  "0 (to us): PACKET_HOST",
			"sll2/halen":    "6",
			"sll2/addr":     "00:11:22:33:44:55",
			"tcp/checksum":  "correct",
			"tcp/flags":     "ACK: a pure acknowledgment",
			"tcp/ack":       "the sender has received every byte before 1000 and expects 1000 next",
		},
	},
	{
		name: "BSD loopback, IPv4, little-endian",
		link: pcap.LinkNull, sums: true,
		hex:    `02000000 // AF_INET, little-endian` + ipv4(40, 6, 0) + tcpSYN,
		layers: "loopback ipv4 tcp payload",
		fields: map[string]string{"loopback/family": "2 (AF_INET): IPv4; written little-endian, the byte order of the host that wrote the file"},
	},
	{
		name: "OpenBSD loopback, IPv6, network order",
		link: pcap.LinkLoop, sums: true,
		hex:    `00000018 // AF_INET6 (24), big-endian` + ipv6(20, 6) + tcpSYN,
		layers: "loopback ipv6 tcp payload",
		fields: map[string]string{
			"loopback/family": "24 (AF_INET6): IPv6 (the value NetBSD, OpenBSD and BSD/OS use); written big-endian (network order), DLT_LOOP always uses network order",
			"ipv6/src":        "2001:db8::1: documentation prefix",
			"tcp/checksum":    "correct",
		},
	},
	{
		name: "BSD loopback, macOS IPv6",
		link: pcap.LinkNull, sums: true,
		hex:    `1e000000 // AF_INET6 (30)` + ipv6(20, 6) + tcpSYN,
		layers: "loopback ipv6 tcp payload",
		fields: map[string]string{"loopback/family": "30 (AF_INET6): IPv6 (the value macOS and iOS use)"},
	},
	{
		name: "BSD loopback, not IP",
		link: pcap.LinkNull,
		hex:  `07000000 // AF_OSI` + `0000`,
		stop: "address family 7 (AF_OSI, OSI, not IP) carries no IP",
	},
	{
		name: "raw IPv4", link: pcap.LinkRaw, sums: true,
		hex:    ipv4(40, 6, 0) + tcpSYN,
		layers: "ipv4 tcp payload",
		fields: map[string]string{"ipv4/flags": "none", "ipv4/id": "4660"},
	},
	{
		name:   "raw IP with a bad version",
		link:   pcap.LinkRaw,
		hex:    `5500 0000`,
		stop:   "IP version 5",
		layers: "",
	},
	{
		name: "unknown link type",
		link: 147, hex: `00`,
		stop: "link type 147",
	},
	{
		name: "an empty Ethernet frame", link: pcap.LinkEthernet, hex: ``,
		stop: "frame at byte 0: no bytes captured", malformed: true,
		layers: "ethernet",
	},
	{
		name: "IPv4 options: router alert, record route, EOL",
		link: pcap.LinkEthernet, sums: true,
		hex: ethIPv4 + `
			48 00 0034 1234 0000 40 06 0000 0a000001 0a000002 // IHL 8, total 52
			94 04 0000        // router alert 0
			07 07 04 0a0a0a0a // record route, pointer 4, one slot
			00                // EOL` + tcpSYN,
		layers: "ethernet ipv4 tcp payload",
		fields: map[string]string{
			"ipv4/ihl":                         "8: a 32-byte header, so 12 bytes of options",
			"ipv4/options":                     "12 bytes",
			"ipv4/options/router_alert@0":      "0: every router must examine this packet",
			"ipv4/options/router_alert@0/type": "148: copied 1 (repeated in every fragment), class 0 (control), number 20",
			"ipv4/options/rr@4":                "pointer 4, 10.10.10.10",
			"ipv4/options/eol@11":              "end of option list: end of the options",
			"ipv4/checksum":                    "correct",
			"tcp/checksum":                     "correct",
		},
	},
	{
		name: "IPv4 carrying UDP",
		link: pcap.LinkEthernet,
		hex:  ethIPv4 + ipv4(28, 17, 0) + `0035 0035 0008 0000 // UDP`,
		stop: "protocol 17 (UDP) is not TCP", layers: "ethernet ipv4",
	},
	{
		name: "a non-first IPv4 fragment",
		link: pcap.LinkEthernet,
		hex:  ethIPv4 + ipv4(28, 6, 0x0003) + `0000000000000000`,
		stop: "a non-first fragment (offset 24)", layers: "ethernet ipv4",
		fields: map[string]string{"ipv4/frag_offset": "3: this fragment's data starts at byte 24 of the datagram"},
	},
	{
		name: "the first IPv4 fragment: the TCP checksum cannot be verified",
		link: pcap.LinkEthernet,
		hex:  ethIPv4 + ipv4(48, 6, 0x2000) + tcpACK + `4745542f20485454`,
		fields: map[string]string{
			"ipv4/flags/mf":    "1: set: more fragments of this datagram follow",
			"ipv4/frag_offset": "the first fragment",
			"tcp/checksum":     "unverified: this packet is the first IP fragment",
		},
		layers: "ethernet ipv4 tcp payload",
	},
	{
		name: "IPv4 header length below 20",
		link: pcap.LinkEthernet,
		hex:  ethIPv4 + `44 00 0028 1234 0000 40 06 0000 0a000001 0a000002` + tcpSYN,
		stop: "ipv4 at byte 14: header length 16 < minimum 20", malformed: true,
		layers: "ethernet ipv4",
		fields: map[string]string{"ipv4/ihl": "4: a 16-byte header, below the minimum of 20"},
	},
	{
		name: "IPv4 header cut short by the capture",
		link: pcap.LinkEthernet,
		hex:  ethIPv4 + `45 00 0028 1234 4000`,
		stop: "ipv4 at byte 14: 8 bytes captured, the header needs 20", malformed: true,
		layers: "ethernet ipv4",
		fields: map[string]string{
			"ipv4/total_length": "40",
			"ipv4/id":           "4660",
			"ipv4/checksum":     "-", // not captured
		},
	},
	{
		name: "IPv4 with a wrong header checksum",
		link: pcap.LinkRaw,
		hex:  `45 00 0028 1234 4000 40 06 1c40 0a000001 0a000002` + tcpSYN,
		fields: map[string]string{
			"ipv4/checksum": "incorrect, should be 0x",
		},
		warn: "IPv4 header checksum 0x1c40 is incorrect",
	},
	{
		name: "IPv4 total length 0: segmentation offload",
		link: pcap.LinkRaw,
		hex:  ipv4(0, 6, 0x4000) + tcpACK + `48454c4c4f`,
		fields: map[string]string{
			"ipv4/total_length": "left for the NIC to fill in",
			"payload/length":    "5 bytes",
			"tcp/checksum":      "incorrect, should be 0x",
		},
		warn:   "segmentation offload",
		layers: "ipv4 tcp payload",
	},
	{
		name: "IPv6 with hop-by-hop, routing, fragment and destination options headers",
		link: pcap.LinkEthernet, sums: true,
		hex: ethIPv6 + ipv6(68, 0) + `
			2b 00 05020000 0100 // hop-by-hop: next routing; router alert 0; PadN
			2c 02 04 01 00 00 0000 20010db8000000000000000000000009 // SRH: next fragment; segments left 1; segment 0
			3c 00 0000 00000001 // fragment: next dest opts; offset 0, M 0; id 1
			06 00 0104 00000000 // dest opts: next TCP; PadN` + tcpSYN,
		layers: "ethernet ipv6 ipv6.hop_by_hop ipv6.routing ipv6.fragment ipv6.dest_opts tcp payload",
		fields: map[string]string{
			"ipv6/version":                        "6",
			"ipv6/traffic_class/ecn":              "0 (Not-ECT)",
			"ipv6/flow_label":                     "0: no flow label",
			"ipv6/payload_length":                 "68",
			"ipv6/next_header":                    "0 (IPv6 hop-by-hop options)",
			"ipv6/hop_limit":                      "64",
			"ipv6.hop_by_hop/next_header":         "43 (IPv6 routing header)",
			"ipv6.hop_by_hop/router_alert@2":      "0: routers must examine this packet (0: MLD)",
			"ipv6.hop_by_hop/router_alert@2/type": "if unknown: skip it",
			"ipv6.hop_by_hop/padn@6":              "2 bytes: padding",
			"ipv6.routing/routing_type":           "4: type 4: segment routing header",
			"ipv6.routing/segments_left":          "1",
			"ipv6.routing/segment_0":              "2001:db8::9: the next segment",
			"ipv6.fragment/frag_offset":           "0",
			"ipv6.fragment/m":                     "0: not set",
			"ipv6.fragment/id":                    "1 (0x00000001)",
			"ipv6.dest_opts/next_header":          "6 (TCP)",
			"ipv6.dest_opts/hdr_ext_len":          "0: an 8-byte header",
			"tcp/checksum":                        "correct",
			"tcp/options":                         "-",
			"ipv6.hop_by_hop/hdr_ext_len":         "0",
			"ipv6.routing/hdr_ext_len":            "2: a 24-byte header",
			"ipv6.fragment/reserved":              "0: zero",
		},
	},
	{
		name:   "IPv6 with no next header",
		link:   pcap.LinkIPv6,
		hex:    ipv6(0, 59),
		stop:   "next header 59 (no next header) is not TCP; nothing follows",
		layers: "ipv6",
	},
	{
		name:   "IPv6 extension header cut short",
		link:   pcap.LinkIPv6,
		hex:    ipv6(8, 0) + `06 00 0000`,
		stop:   "ipv6 at byte 40: extension header 0 needs 8 bytes, 4 captured",
		layers: "ipv6", malformed: true,
	},
	{
		name:    "TCP header cut short by the capture",
		link:    pcap.LinkEthernet,
		hex:     ethIPv4 + ipv4(40, 6, 0x4000) + `3039 0050 00000064 0000`,
		wireLen: 54,
		stop:    "tcp at byte 34: 10 bytes captured, the header needs 20", malformed: true,
		layers: "ethernet ipv4 tcp",
		fields: map[string]string{
			"tcp/src_port": "12345",
			"tcp/seq":      "100",
			"tcp/ack":      "-",
		},
	},
	{
		name: "TCP data offset below 5",
		link: pcap.LinkRaw,
		hex:  ipv4(40, 6, 0) + `3039 0050 00000064 00000000 30 10 0200 0000 0000`,
		stop: "tcp at byte 32: data offset 3 words < minimum 5", malformed: true,
		fields: map[string]string{"tcp/data_offset": "3: a 12-byte header, below the minimum of 20"},
	},
	{
		name: "TCP header longer than the segment",
		link: pcap.LinkRaw,
		hex:  ipv4(40, 6, 0) + `3039 0050 00000064 00000000 f0 10 0200 0000 0000`,
		stop: "header length 60 exceeds", malformed: true,
	},
	{
		name: "a malformed option: length 0",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(44, 6, 0) + tcpWith(0x10, `
			01 25 00 01 // NOP; kind 37 length 0; NOP`, 0),
		layers: "ipv4 tcp payload",
		fields: map[string]string{
			"tcp/options/malformed":      "kind 37: kind 37 has length 0 < 2: receivers stop reading the options here",
			"tcp/options/malformed/kind": "37 (unknown kind 37)",
			"tcp/options":                "malformed",
		},
		warn: "tcp option at byte 42: kind 37 has length 0 < 2",
	},
	{
		name: "SACK with a D-SACK block",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(60, 6, 0) + tcpWith(0x10, `
			01 01 05 12          // NOP NOP; SACK, two blocks
			00000384 000003e8    // 900-1000: below the ack, a D-SACK
			000007d0 00000bb8    // 2000-3000`, 0),
		fields: map[string]string{
			"tcp/options/sack@2":               "2 blocks",
			"tcp/options/sack@2/block_1":       "900-1000: a D-SACK (RFC 2883): 100 bytes below the acknowledgment number arrived twice",
			"tcp/options/sack@2/block_2":       "2000-3000: 1000 bytes from ack+1000 to ack+2000",
			"tcp/options/sack@2/block_2/left":  "2000: the first sequence number received",
			"tcp/options/sack@2/block_2/right": "3000",
		},
	},
	{
		name: "D-SACK inside the next block",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(60, 6, 0) + tcpWith(0x10, `
			01 01 05 12
			000007d0 00000834 // 2000-2100
			000007d0 00000bb8 // 2000-3000`, 0),
		fields: map[string]string{
			"tcp/options/sack@2/block_1": "a D-SACK (RFC 2883): 100 bytes reported again inside the next block",
		},
	},
	{
		name: "TFO cookie request and the RFC 6994 experimental form",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(48, 6, 0) + tcpWith(0x02, `
			22 02        // TFO cookie request
			fe 04 f989   // experimental TFO, cookie request
			01 01`, 0),
		fields: map[string]string{
			"tcp/options/tfo@0":      "cookie request: the client asks the server for a Fast Open cookie",
			"tcp/options/exp@2":      "cookie request",
			"tcp/options/exp@2/exid": "0xf989: TCP Fast Open, in the experimental form (RFC 6994)",
		},
	},
	{
		name: "TFO cookie on a SYN-ACK",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(52, 6, 0) + tcpWith(0x12, `
			22 0a 0102030405060708 // TFO cookie
			01 01`, 0),
		fields: map[string]string{
			"tcp/options/tfo@0":        "cookie 0102030405060708: the server's cookie for this client",
			"tcp/options/tfo@0/cookie": "0102030405060708: 8 bytes",
			"tcp/flags":                "SYN, ACK: a connection accepted",
			"tcp/ack":                  "acknowledges the peer's SYN: the peer's ISN was 999",
		},
	},
	{
		name: "MD5 signature",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(60, 6, 0) + tcpWith(0x10, `
			13 12 000102030405060708090a0b0c0d0e0f // MD5
			01 01`, 0),
		fields: map[string]string{"tcp/options/md5@0": "tcplens cannot verify it without the key"},
	},
	{
		name: "TCP-AO, user timeout, AccECN, an unknown kind and EOL padding",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(68, 6, 0) + tcpWith(0x10, `
			1d 08 01 02 aabbccdd     // TCP-AO: key 1, next key 2, 4-byte MAC
			1c 04 800a               // UTO: 10 minutes
			ac 0b 000001 000002 000003 // AccECN0: EE0B 1, ECEB 2, EE1B 3
			63 03 ab                 // kind 99, unknown
			00 07                    // EOL, then a nonzero padding byte`, 0),
		fields: map[string]string{
			"tcp/options/tcp_ao@0":            "key 1, next key 2",
			"tcp/options/tcp_ao@0/mac":        "aabbccdd",
			"tcp/options/uto@8":               "10 minutes: the sender will wait 10 minutes",
			"tcp/options/uto@8/granularity":   "1: minutes",
			"tcp/options/accecn0@12":          "EE0B 1, ECEB 2, EE1B 3",
			"tcp/options/accecn0@12/eceb":     "2: bytes received marked CE",
			"tcp/options/kind99@23":           "ab: a kind tcplens does not decode",
			"tcp/options/eol@26":              "kind 0: end of the option list",
			"tcp/options/padding":             "1 byte: after the end of the option list: should be zeros",
			"tcp/options/uto@8/timeout":       "10",
			"tcp/options/accecn0@12/ee1b":     "3",
			"tcp/options/tcp_ao@0/keyid":      "1",
			"tcp/options/tcp_ao@0/rnextkeyid": "2",
		},
	},
	{
		name: "user timeout in seconds, AccECN1",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(52, 6, 0) + tcpWith(0x10, `
			1c 04 001e     // UTO 30 seconds
			ae 05 000009   // AccECN1: EE1B 9
			01 01 01`, 0),
		fields: map[string]string{
			"tcp/options/uto@0":          "30 seconds",
			"tcp/options/accecn1@4":      "EE1B 9",
			"tcp/options/accecn1@4/ee1b": "9: bytes received marked ECT(1)",
		},
	},
	{
		name: "an MSS option of the wrong length, and MSS outside a SYN",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(48, 6, 0) + tcpWith(0x10, `
			02 03 05     // MSS with length 3
			01
			020405b4     // MSS 1460 on an ACK`, 0),
		fields: map[string]string{
			"tcp/options/mss@0": "malformed: length 3, but an MSS option is 4 bytes",
			"tcp/options/mss@4": "it belongs on a SYN only",
		},
		warn: "TCP option maximum segment size (MSS) at byte 40: length 3",
	},
	{
		name: "MPTCP DSS with a data ACK and a mapping",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(60, 6, 0) + tcpWith(0x10, `
			1e 14 20 05   // MPTCP, length 20, DSS; flags M and A
			00000010      // data ACK
			00000020      // data sequence number
			00000001      // subflow sequence number
			0005          // data-level length
			abcd          // checksum`, 0),
		fields: map[string]string{
			"tcp/options/mptcp@0":             "DSS: data ACK, mapping",
			"tcp/options/mptcp@0/subtype":     "2 (DSS)",
			"tcp/options/mptcp@0/flags":       "M (mapping present), A (data ACK present)",
			"tcp/options/mptcp@0/data_ack":    "16",
			"tcp/options/mptcp@0/dsn":         "32",
			"tcp/options/mptcp@0/ssn":         "1",
			"tcp/options/mptcp@0/data_length": "5",
			"tcp/options/mptcp@0/checksum":    "0xabcd",
		},
	},
	{
		name: "MPTCP MP_CAPABLE on a SYN",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(44, 6, 0) + tcpWith(0x02, `1e 04 01 01 // MP_CAPABLE v1, flag H`, 0),
		fields: map[string]string{
			"tcp/options/mptcp@0":         "MP_CAPABLE v1: the client asks to use MPTCP v1",
			"tcp/options/mptcp@0/version": "1: MPTCP v1 (RFC 8684)",
			"tcp/options/mptcp@0/flags":   "H (HMAC-SHA256)",
		},
	},
	{
		name: "urgent data",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(45, 6, 0) + tcpWith(0x38, ``, 5) + `4142434445`,
		fields: map[string]string{
			"tcp/flags/urg": "1: set: the urgent pointer is meaningful",
			"tcp/urgent":    "5: the urgent data ends just before sequence number 105 (seq + 5)",
			"tcp/seq":       "the data is bytes 100 to 104, so the next is 105",
			"tcp/flags/psh": "1: set: the receiver should hand the data to the application now",
		},
	},
	{
		name: "a RST carrying text",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(44, 6, 0) + tcpWith(0x14, ``, 0) + `6f6f7073`,
		fields: map[string]string{
			"tcp/flags":       "RST, ACK: a reset",
			"tcp/flags/rst":   "1: set: the sender aborts the connection",
			"tcp/window":      "ignored on a RST",
			"payload/length":  "4 bytes: the IP header's length minus the IP and TCP headers; data on a RST is diagnostic text",
			"payload/preview": "first 4 bytes",
		},
	},
	{
		name:    "payload cut short by the capture: the checksum cannot be verified",
		link:    pcap.LinkRaw,
		hex:     ipv4(50, 6, 0) + tcpWith(0x18, ``, 0) + `41424344`,
		wireLen: 50,
		fields: map[string]string{
			"tcp/checksum":     "unverified: only 24 of the segment's 30 bytes were captured",
			"payload/captured": "4 bytes: 4 of 10: the capture kept only the start of the frame",
		},
		layers: "ipv4 tcp payload",
	},
	{
		name: "Ethernet padding after a short datagram",
		link: pcap.LinkEthernet, sums: true,
		hex:    ethIPv4 + ipv4(40, 6, 0) + tcpACK + `000000000000`,
		layers: "ethernet ipv4 tcp payload trailer",
		fields: map[string]string{
			"trailer/padding": "6 bytes: 6 bytes after the end of the IP datagram: not part of it; padding up to Ethernet's 60-byte minimum frame",
			"tcp/checksum":    "correct",
		},
	},
	{
		name: "an ECN-setup SYN",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(40, 6, 0) + tcpWith(0xc2, ``, 0),
		fields: map[string]string{
			"tcp/flags":     "SYN, ECE, CWR",
			"tcp/flags/ece": "1: set: with CWR on a SYN, asks to use ECN",
			"tcp/flags/cwr": "1: set: with ECE on a SYN, asks to use ECN",
		},
	},
	{
		name: "a FIN with data, and reserved bits set",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(42, 6, 0) + `3039 0050 00000064 000003e8 5e 11 0200 0000 0000` + `6869`,
		fields: map[string]string{
			"tcp/reserved": "7: must be zero",
			"tcp/flags":    "FIN, ACK: a close: the sender is done sending, carrying 2 bytes of data",
			"tcp/seq":      "the data is bytes 100 to 101 and the FIN takes 102, so the next is 103",
		},
		warn: "TCP reserved bits are 0x7",
	},
	{
		name: "no flags at all",
		link: pcap.LinkRaw, sums: true,
		hex: ipv4(40, 6, 0) + `3039 0050 00000064 00000000 50 00 0200 0000 0000`,
		fields: map[string]string{
			"tcp/flags": "none: no SYN, ACK, RST or FIN",
		},
	},
}

func TestFrame(t *testing.T) {
	for _, tc := range dissectCases {
		t.Run(tc.name, func(t *testing.T) {
			b := hexBytes(t, tc.hex)
			if tc.sums {
				fixSums(t, tc.link, b)
			}
			n := len(b)
			if tc.wireLen > n {
				n = tc.wireLen
			}
			f := pcap.Frame{Number: 7, Link: tc.link, Data: b, Length: n, Time: 1e18 + 123456000}
			d := dissect.Frame(&f, dissect.Capture{File: "x.pcap", SnapLen: len(b)})
			checkInvariants(t, d, b)
			if tc.layers != "" || tc.stop != "" {
				var ids []string
				for _, l := range d.Layers {
					ids = append(ids, l.ID)
				}
				if tc.layers != "" && strings.Join(ids, " ") != tc.layers {
					t.Errorf("layers = %q, want %q", strings.Join(ids, " "), tc.layers)
				}
			}
			switch {
			case tc.stop == "" && d.Stop != nil:
				t.Errorf("Stop = %q, want none", d.Stop.Reason)
			case tc.stop != "" && d.Stop == nil:
				t.Errorf("no Stop, want %q", tc.stop)
			case tc.stop != "" && !strings.Contains(d.Stop.Reason, tc.stop):
				t.Errorf("Stop = %q, want it to contain %q", d.Stop.Reason, tc.stop)
			case d.Stop != nil && d.Stop.Malformed != tc.malformed:
				t.Errorf("Stop.Malformed = %v, want %v (%s)", d.Stop.Malformed, tc.malformed, d.Stop.Reason)
			case d.Stop != nil && d.Stop.Malformed && d.Stop.Err == nil:
				t.Errorf("malformed Stop without a *wire.Error")
			}
			for path, want := range tc.fields {
				f := fieldAt(d, path)
				if want == "-" {
					if f != nil {
						t.Errorf("%s = %q, want it absent", path, f.Value)
					}
					continue
				}
				if f == nil {
					t.Errorf("%s: no such field", path)
					continue
				}
				got := f.Value
				if f.Meaning != "" {
					got += ": " + f.Meaning
				}
				if !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to contain %q", path, got, want)
				}
			}
			if tc.warn != "" {
				found := false
				for _, w := range d.Warnings {
					found = found || strings.Contains(w.Message, tc.warn)
				}
				if !found {
					t.Errorf("no warning containing %q in %+v", tc.warn, d.Warnings)
				}
			}
		})
	}
}

// fieldAt finds a field by path: a layer id, then field ids.
func fieldAt(d *dissect.Dissection, path string) *dissect.Field {
	parts := strings.Split(path, "/")
	for i := range d.Layers {
		if d.Layers[i].ID != parts[0] {
			continue
		}
		fs := d.Layers[i].Fields
		var f *dissect.Field
		for _, p := range parts[1:] {
			f = nil
			for j := range fs {
				if fs[j].ID == p {
					f = &fs[j]
					break
				}
			}
			if f == nil {
				return nil
			}
			fs = f.Fields
		}
		return f
	}
	return nil
}

// checkInvariants checks what every dissection promises: fields lie in
// the captured bytes and hold exactly them, sub-byte fields fit their
// bytes, ids are unique among siblings, and layers are in frame order.
func checkInvariants(t *testing.T, d *dissect.Dissection, data []byte) {
	t.Helper()
	var walk func(where string, fs []dissect.Field)
	walk = func(where string, fs []dissect.Field) {
		seen := map[string]bool{}
		for i := range fs {
			f := &fs[i]
			w := where + "/" + f.ID
			if seen[f.ID] {
				t.Errorf("%s: duplicate id", w)
			}
			seen[f.ID] = true
			if f.Offset < 0 || f.Offset+f.Length > len(data) {
				t.Errorf("%s: bytes %d+%d outside the %d captured", w, f.Offset, f.Length, len(data))
				continue
			}
			if len(f.Raw) != f.Length || string(f.Raw) != string(data[f.Offset:f.Offset+f.Length]) {
				t.Errorf("%s: Raw %x is not the frame's bytes %d+%d", w, f.Raw, f.Offset, f.Length)
			}
			if f.Bits > 0 && f.Bit+f.Bits > 8*f.Length {
				t.Errorf("%s: bits %d+%d outside %d bytes", w, f.Bit, f.Bits, f.Length)
			}
			if f.Label == "" || f.ID == "" {
				t.Errorf("%s: empty id or label", w)
			}
			walk(w, f.Fields)
		}
	}
	prev := -1
	for i := range d.Layers {
		l := &d.Layers[i]
		if l.Offset < prev {
			t.Errorf("layer %s at %d before the previous one at %d", l.ID, l.Offset, prev)
		}
		prev = l.Offset
		walk(l.ID, l.Fields)
	}
	// A stop that is not a malformation lies in the frame; a malformed one
	// has wire's offset, which may name where a missing header would start.
	if s := d.Stop; s != nil && (s.Offset < 0 || !s.Malformed && s.Offset > len(data)) {
		t.Errorf("Stop offset %d is outside the %d-byte frame: %s", s.Offset, len(data), s.Reason)
	}
}

func TestTimeDigits(t *testing.T) {
	for _, tc := range []struct {
		time  pcap.Time
		given int
		want  int
	}{
		{1362692526869344000, 0, 6},
		{1362692526869344001, 0, 9},
		{1362692526869344000, 9, 9},
	} {
		f := pcap.Frame{Number: 1, Link: pcap.LinkRaw, Time: tc.time}
		d := dissect.Frame(&f, dissect.Capture{TimeDigits: tc.given})
		if d.Frame.TimeDigits != tc.want {
			t.Errorf("TimeDigits for %d (given %d) = %d, want %d", tc.time, tc.given, d.Frame.TimeDigits, tc.want)
		}
	}
}

func TestFrameInfo(t *testing.T) {
	b := hexBytes(t, ipv4(40, 6, 0)+tcpSYN)
	f := pcap.Frame{Number: 3, File: 1, Offset: 1234, Link: pcap.LinkRaw, Data: b[:30], Length: 40, Time: 5}
	d := dissect.Frame(&f, dissect.Capture{File: "b.pcap", SnapLen: 30, Interface: "eth0"})
	want := dissect.FrameInfo{Number: 3, Time: 5, TimeDigits: 9, WireLen: 40, CapLen: 30, SnapLen: 30,
		Link: pcap.LinkRaw, File: "b.pcap", FileOffset: 1234, Interface: "eth0"}
	if d.Frame != want {
		t.Errorf("Frame = %+v, want %+v", d.Frame, want)
	}
	if !d.Frame.Truncated() {
		t.Errorf("Truncated() = false, want true")
	}
}

func TestRawValue(t *testing.T) {
	for _, tc := range []struct {
		f   dissect.Field
		v   uint64
		hex string
	}{
		{dissect.Field{Length: 2, Raw: []byte{0xe9, 0xd0}}, 0xe9d0, "0xe9d0"},
		{dissect.Field{Length: 1, Bit: 0, Bits: 4, Raw: []byte{0xb0}}, 0xb, "0xb"},
		{dissect.Field{Length: 2, Bit: 7, Bits: 9, Raw: []byte{0xb0, 0x12}}, 0x012, "0x012"},
		{dissect.Field{Length: 3, Bit: 4, Bits: 20, Raw: []byte{0x00, 0x01, 0x23}}, 0x00123, "0x00123"},
		{dissect.Field{Length: 2, Bit: 15, Bits: 1, Raw: []byte{0x00, 0x01}}, 1, "0x1"},
	} {
		if got := tc.f.RawValue(); got != tc.v {
			t.Errorf("RawValue(%+v) = %#x, want %#x", tc.f, got, tc.v)
		}
		if got := tc.f.RawHex(); got != tc.hex {
			t.Errorf("RawHex(%+v) = %s, want %s", tc.f, got, tc.hex)
		}
	}
}

// FuzzFrame feeds arbitrary bytes under every link type: Frame must never
// panic, and what it returns must keep its invariants.
func FuzzFrame(f *testing.F) {
	// A small link number is an index into the link types tcplens
	// decodes; a larger one is taken as it is.
	links := pcap.LinkTypes()
	index := func(t pcap.LinkType) uint16 {
		if i := slices.Index(links, t); i >= 0 {
			return uint16(i)
		}
		return uint16(t)
	}
	for _, tc := range dissectCases {
		b := hexBytes(f, tc.hex)
		f.Add(index(tc.link), b, 0)
	}
	// The first frames of every link-type capture.
	files, _ := filepath.Glob(filepath.Join(linksDir, "*.pcap"))
	for _, file := range files {
		fh, err := os.Open(file)
		if err != nil {
			f.Fatal(err)
		}
		r, err := pcap.NewReader(fh)
		if err != nil {
			f.Fatal(err)
		}
		for range 3 {
			if fr, err := r.Next(); err == nil {
				f.Add(index(fr.Link), bytes.Clone(fr.Data), fr.Length-len(fr.Data))
			}
		}
		fh.Close()
	}
	f.Fuzz(func(t *testing.T, link uint16, b []byte, extra int) {
		if extra < 0 || extra > 1<<20 {
			extra = 0
		}
		lt := pcap.LinkType(link)
		if int(link) < len(links) {
			lt = links[link]
		}
		fr := pcap.Frame{Number: 1, Link: lt, Data: b, Length: len(b) + extra}
		d := dissect.Frame(&fr, dissect.Capture{})
		checkInvariants(t, d, b)
	})
}
