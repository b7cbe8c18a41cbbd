package dissect

import (
	"fmt"

	"github.com/tcplens/tcplens/internal/wire"
)

// etherTypes names the EtherTypes a capture commonly holds (IEEE registry).
var etherTypes = map[uint16]string{
	0x0800:                 "IPv4",
	0x0806:                 "ARP",
	0x0842:                 "Wake-on-LAN",
	0x22f0:                 "AVTP",
	0x22f3:                 "TRILL",
	0x6558:                 "transparent Ethernet bridging",
	0x8035:                 "RARP",
	0x809b:                 "AppleTalk",
	0x80f3:                 "AARP",
	wire.EtherTypeVLAN:     "802.1Q VLAN tag",
	0x8137:                 "IPX",
	0x8204:                 "QNX Qnet",
	wire.EtherTypeIPv6:     "IPv6",
	0x8808:                 "Ethernet flow control",
	0x8809:                 "slow protocols (LACP)",
	0x8847:                 "MPLS unicast",
	0x8848:                 "MPLS multicast",
	0x8863:                 "PPPoE discovery",
	0x8864:                 "PPPoE session",
	0x886d:                 "Intel ANS",
	0x887b:                 "HomePlug",
	0x888e:                 "EAP over LAN (802.1X)",
	0x8892:                 "PROFINET",
	0x889a:                 "HyperSCSI",
	0x88a2:                 "ATA over Ethernet",
	0x88a4:                 "EtherCAT",
	wire.EtherTypeQinQ:     "802.1ad service VLAN tag (QinQ)",
	0x88ab:                 "Ethernet Powerlink",
	0x88b8:                 "GOOSE",
	0x88cc:                 "LLDP",
	0x88cd:                 "SERCOS III",
	0x88e1:                 "HomePlug AV",
	0x88e3:                 "MRP",
	0x88e5:                 "MACsec",
	0x88e7:                 "provider backbone bridging (802.1ah)",
	0x88f7:                 "PTP",
	0x88fb:                 "PRP",
	0x8902:                 "CFM (802.1ag)",
	0x8906:                 "FCoE",
	0x8914:                 "FCoE initialization",
	0x8915:                 "RoCE",
	0x891d:                 "TTEthernet",
	0x893a:                 "IEEE 1905.1",
	0x892f:                 "HSR",
	0x894f:                 "NSH",
	wire.EtherTypeVLAN9100: "VLAN tag (pre-standard QinQ, 0x9100)",
	wire.EtherTypeVLAN9200: "VLAN tag (pre-standard QinQ, 0x9200)",
	0x9000:                 "Ethernet loopback test",
}

// etherTypeName names t, or says it is unknown.
func etherTypeName(t uint16) string {
	if s, ok := etherTypes[t]; ok {
		return s
	}
	return "unknown EtherType"
}

// isVLANType reports the tag protocol identifiers wire.ParseLink crosses.
func isVLANType(t uint16) bool {
	switch t {
	case wire.EtherTypeVLAN, wire.EtherTypeQinQ, wire.EtherTypeVLAN9100, wire.EtherTypeVLAN9200:
		return true
	}
	return false
}

// ipProtos names IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
var ipProtos = map[uint8]string{
	0:   "IPv6 hop-by-hop options",
	1:   "ICMP",
	2:   "IGMP",
	4:   "IPv4 in IP",
	6:   "TCP",
	8:   "EGP",
	17:  "UDP",
	27:  "RDP",
	33:  "DCCP",
	41:  "IPv6 in IP",
	43:  "IPv6 routing header",
	44:  "IPv6 fragment header",
	46:  "RSVP",
	47:  "GRE",
	50:  "ESP (IPsec)",
	51:  "AH (IPsec)",
	58:  "ICMPv6",
	59:  "no next header",
	60:  "IPv6 destination options",
	88:  "EIGRP",
	89:  "OSPF",
	94:  "IPIP",
	97:  "EtherIP",
	103: "PIM",
	108: "IP compression",
	112: "VRRP",
	115: "L2TP",
	132: "SCTP",
	135: "Mobility header",
	136: "UDP-Lite",
	137: "MPLS in IP",
	139: "HIP",
	140: "Shim6",
	143: "Ethernet",
	253: "experimental (RFC 3692)",
	254: "experimental (RFC 3692)",
}

// protoName names an IP protocol number.
func protoName(p uint8) string {
	if s, ok := ipProtos[p]; ok {
		return s
	}
	return "unassigned"
}

// dscpNames names the standard DSCP codepoints (RFC 2474, 2597, 3246, 5865, 8622).
var dscpNames = map[uint8]string{
	0:  "CS0, default forwarding (best effort)",
	1:  "LE, lower effort (RFC 8622)",
	8:  "CS1, low-priority data",
	10: "AF11, high-throughput data, low drop",
	12: "AF12, high-throughput data, medium drop",
	14: "AF13, high-throughput data, high drop",
	16: "CS2, OAM",
	18: "AF21, low-latency data, low drop",
	20: "AF22, low-latency data, medium drop",
	22: "AF23, low-latency data, high drop",
	24: "CS3, broadcast video",
	26: "AF31, multimedia streaming, low drop",
	28: "AF32, multimedia streaming, medium drop",
	30: "AF33, multimedia streaming, high drop",
	32: "CS4, real-time interactive",
	34: "AF41, multimedia conferencing, low drop",
	36: "AF42, multimedia conferencing, medium drop",
	38: "AF43, multimedia conferencing, high drop",
	40: "CS5, signaling",
	44: "VOICE-ADMIT (RFC 5865)",
	46: "EF, expedited forwarding (telephony)",
	48: "CS6, network control",
	56: "CS7, reserved for network control",
}

func dscpMeaning(d uint8) string {
	if s, ok := dscpNames[d]; ok {
		return s
	}
	return "not a standard codepoint: a local or experimental class"
}

// ecnMeaning explains an IP ECN codepoint (RFC 3168).
func ecnMeaning(e uint8) (name, meaning string) {
	switch e {
	case 0:
		return "Not-ECT", "this packet does not use ECN: routers drop it rather than mark it"
	case 1:
		return "ECT(1)", "ECN-capable transport (ECT(1), also the L4S identifier of RFC 9331): a congested router marks it CE instead of dropping it"
	case 2:
		return "ECT(0)", "ECN-capable transport: a congested router marks it CE instead of dropping it"
	}
	return "CE", "congestion experienced: a router on the path was congested and marked this packet; the receiver echoes it to the sender (TCP ECE or AccECN counters)"
}

// arphrdNames names the Linux ARPHRD_ types seen in cooked captures.
var arphrdNames = map[uint16]string{
	1:     "ARPHRD_ETHER (Ethernet)",
	6:     "ARPHRD_IEEE802 (Token Ring)",
	24:    "ARPHRD_IEEE1394 (FireWire)",
	32:    "ARPHRD_INFINIBAND",
	256:   "ARPHRD_SLIP",
	512:   "ARPHRD_PPP",
	513:   "ARPHRD_CISCO (Cisco HDLC)",
	768:   "ARPHRD_TUNNEL (IPIP)",
	769:   "ARPHRD_TUNNEL6 (IPv6 in IPv6)",
	772:   "ARPHRD_LOOPBACK (loopback)",
	776:   "ARPHRD_SIT (IPv6 in IPv4)",
	778:   "ARPHRD_IPGRE (GRE)",
	783:   "ARPHRD_IRDA",
	801:   "ARPHRD_IEEE80211 (Wi-Fi)",
	802:   "ARPHRD_IEEE80211_PRISM",
	803:   "ARPHRD_IEEE80211_RADIOTAP (Wi-Fi with radiotap)",
	804:   "ARPHRD_IEEE802154",
	820:   "ARPHRD_PHONET",
	823:   "ARPHRD_CAIF",
	824:   "ARPHRD_NETLINK",
	825:   "ARPHRD_6LOWPAN",
	280:   "ARPHRD_CAN",
	519:   "ARPHRD_RAWHDLC",
	65534: "ARPHRD_NONE (tun, WireGuard: no link header)",
	65535: "ARPHRD_VOID",
}

func arphrdName(t uint16) string {
	if s, ok := arphrdNames[t]; ok {
		return s
	}
	return "an ARPHRD_ type tcplens does not name"
}

// packetTypeMeaning explains an sll_pkttype value (linux/if_packet.h).
func packetTypeMeaning(t uint16) (name, meaning string) {
	switch t {
	case wire.PacketHost:
		return "to us", "PACKET_HOST: addressed to this host, the one capturing"
	case wire.PacketBroadcast:
		return "broadcast", "PACKET_BROADCAST: sent to every host on the link"
	case wire.PacketMulticast:
		return "multicast", "PACKET_MULTICAST: sent to a group this host listens to"
	case wire.PacketOtherHost:
		return "to another host", "PACKET_OTHERHOST: addressed to another host, seen in promiscuous mode"
	case wire.PacketOutgoing:
		return "sent by us", "PACKET_OUTGOING: sent by this host, the one capturing; captured before the NIC, so checksums the NIC computes (offload) are not filled in yet"
	case 5:
		return "looped back", "PACKET_LOOPBACK: looped back to this host (multicast loopback)"
	case 6:
		return "to user space", "PACKET_USER: to user space"
	case 7:
		return "to the kernel", "PACKET_KERNEL: to the kernel"
	}
	return "unknown", "not a packet type Linux defines"
}

// bsdFamilies names the BSD loopback address families (the DLT_NULL and
// DLT_LOOP header): AF_INET is 2 everywhere, AF_INET6 differs by system.
func bsdFamily(f uint32) (name, meaning string) {
	switch f {
	case 2:
		return "AF_INET", "IPv4"
	case 24:
		return "AF_INET6", "IPv6 (the value NetBSD, OpenBSD and BSD/OS use)"
	case 28:
		return "AF_INET6", "IPv6 (the value FreeBSD and DragonFly use)"
	case 30:
		return "AF_INET6", "IPv6 (the value macOS and iOS use)"
	case 7:
		return "AF_OSI", "OSI, not IP"
	case 16:
		return "AF_APPLETALK", "AppleTalk, not IP"
	}
	return "unknown", "not an address family tcplens knows"
}

// ipv4OptionNames names IPv4 option types (IANA "IP Option Numbers").
var ipv4OptionNames = map[uint8]string{
	0:   "end of option list",
	1:   "no operation",
	7:   "record route",
	10:  "experimental measurement (ZSU)",
	11:  "MTU probe (obsolete)",
	12:  "MTU reply (obsolete)",
	15:  "encode (ENCODE)",
	25:  "quick-start (RFC 4782)",
	30:  "RFC 3692-style experiment",
	68:  "timestamp",
	82:  "traceroute (RFC 1393)",
	94:  "RFC 3692-style experiment",
	130: "security (RFC 1108)",
	131: "loose source route",
	133: "extended security (RFC 1108)",
	134: "commercial IP security (CIPSO)",
	136: "stream identifier (obsolete)",
	137: "strict source route",
	142: "experimental access control (VISA)",
	144: "IMI traffic descriptor",
	145: "extended internet protocol (RFC 1385)",
	147: "address extension",
	148: "router alert (RFC 2113)",
	149: "selective directed broadcast",
	151: "dynamic packet state",
	152: "upstream multicast packet",
	158: "RFC 3692-style experiment",
	205: "experimental flow control (FINN)",
	222: "RFC 3692-style experiment",
}

// ipv6OptionNames names IPv6 hop-by-hop and destination option types.
var ipv6OptionNames = map[uint8]string{
	0x00: "Pad1",
	0x01: "PadN",
	0x04: "tunnel encapsulation limit (RFC 2473)",
	0x05: "router alert (RFC 2711)",
	0x07: "CALIPSO (RFC 5570)",
	0x08: "SMF duplicate detection",
	0x26: "quick-start (RFC 4782)",
	0x31: "IOAM (RFC 9486)",
	0x63: "RPL option (RFC 6553)",
	0x6d: "MPL option (RFC 7731)",
	0x8a: "endpoint identification (deprecated)",
	0xc2: "jumbo payload (RFC 2675)",
	0xc9: "home address (RFC 6275)",
	0xee: "IP_DFF (RFC 6971)",
	0x1e: "RFC 3692-style experiment",
	0x3e: "RFC 3692-style experiment",
	0x5e: "RFC 3692-style experiment",
	0x7e: "RFC 3692-style experiment",
	0x9e: "RFC 3692-style experiment",
	0xbe: "RFC 3692-style experiment",
	0xde: "RFC 3692-style experiment",
	0xfe: "RFC 3692-style experiment",
}

// tcpOptionNames names TCP option kinds (IANA "TCP Option Kind Numbers").
var tcpOptionNames = map[uint8]string{
	wire.OptEOL:           "end of option list (EOL)",
	wire.OptNOP:           "no operation (NOP)",
	wire.OptMSS:           "maximum segment size (MSS)",
	wire.OptWindowScale:   "window scale",
	wire.OptSACKPermitted: "SACK permitted",
	wire.OptSACK:          "SACK",
	wire.OptEcho:          "echo (obsolete, RFC 1072)",
	wire.OptEchoReply:     "echo reply (obsolete, RFC 1072)",
	wire.OptTimestamps:    "timestamps",
	9:                     "partial order connection permitted (obsolete)",
	10:                    "partial order service profile (obsolete)",
	wire.OptCC:            "CC (obsolete, T/TCP)",
	wire.OptCCNew:         "CC.NEW (obsolete, T/TCP)",
	wire.OptCCEcho:        "CC.ECHO (obsolete, T/TCP)",
	14:                    "alternate checksum request (obsolete)",
	15:                    "alternate checksum data (obsolete)",
	16:                    "Skeeter",
	17:                    "Bubba",
	18:                    "trailer checksum",
	wire.OptMD5:           "MD5 signature (RFC 2385)",
	wire.OptSCPS:          "SCPS capabilities",
	21:                    "selective negative acknowledgments",
	22:                    "record boundaries",
	23:                    "corruption experienced",
	24:                    "SNAP",
	26:                    "TCP compression filter",
	27:                    "quick-start response (RFC 4782)",
	wire.OptUTO:           "user timeout (RFC 5482)",
	wire.OptAO:            "TCP authentication option (TCP-AO, RFC 5925)",
	wire.OptMPTCP:         "multipath TCP (MPTCP, RFC 8684)",
	wire.OptFastOpen:      "TCP Fast Open cookie (RFC 7413)",
	69:                    "encryption negotiation (TCP-ENO, RFC 8547)",
	wire.OptAccECN0:       "accurate ECN order 0 (AccECN0)",
	wire.OptAccECN1:       "accurate ECN order 1 (AccECN1)",
	wire.OptExperiment1:   "RFC 3692-style experiment 1",
	wire.OptExperiment2:   "RFC 3692-style experiment 2",
}

func tcpOptionName(k uint8) string {
	if s, ok := tcpOptionNames[k]; ok {
		return s
	}
	return fmt.Sprintf("unknown kind %d", k)
}

// portNames names a few well-known TCP ports, to make a dissection easier
// to place; the port decides nothing.
var portNames = map[uint16]string{
	20: "FTP data", 21: "FTP", 22: "SSH", 23: "Telnet", 25: "SMTP", 53: "DNS",
	80: "HTTP", 110: "POP3", 111: "RPC portmapper", 119: "NNTP", 135: "MS RPC",
	139: "NetBIOS session", 143: "IMAP", 179: "BGP", 389: "LDAP", 443: "HTTPS",
	445: "SMB", 465: "SMTPS", 514: "rsh", 587: "SMTP submission", 636: "LDAPS",
	873: "rsync", 993: "IMAPS", 995: "POP3S", 1433: "MS SQL", 1521: "Oracle",
	1883: "MQTT", 2049: "NFS", 3306: "MySQL", 3389: "RDP", 5060: "SIP",
	5432: "PostgreSQL", 5672: "AMQP", 5900: "VNC", 6379: "Redis", 6443: "Kubernetes API",
	8080: "HTTP alternate", 8443: "HTTPS alternate", 9092: "Kafka", 11211: "memcached",
	27017: "MongoDB",
}

// tcpOptionLabel is the short label of an option field.
func tcpOptionLabel(k uint8) string {
	switch k {
	case wire.OptEOL:
		return "EOL"
	case wire.OptNOP:
		return "NOP"
	case wire.OptMSS:
		return "MSS"
	case wire.OptWindowScale:
		return "window scale"
	case wire.OptSACKPermitted:
		return "SACK permitted"
	case wire.OptSACK:
		return "SACK"
	case wire.OptTimestamps:
		return "timestamps"
	case wire.OptMD5:
		return "MD5 signature"
	case wire.OptUTO:
		return "user timeout"
	case wire.OptAO:
		return "TCP-AO"
	case wire.OptMPTCP:
		return "MPTCP"
	case wire.OptFastOpen:
		return "TFO"
	case wire.OptAccECN0:
		return "AccECN0"
	case wire.OptAccECN1:
		return "AccECN1"
	case wire.OptExperiment1, wire.OptExperiment2:
		return fmt.Sprintf("experiment (kind %d)", k)
	}
	return fmt.Sprintf("kind %d", k)
}
