package pcap

import (
	"slices"
	"strconv"
)

// LinkType is a LINKTYPE_ value from the tcpdump.org link-layer header type
// registry, as written in pcap and pcapng files.
type LinkType uint16

// Link types tcplens decodes: every one libpcap reads whose frames carry IP
// and tcpdump prints (testdata/README.md says which others exist and why
// they are left out). DLT 12 and 14 are raw IP on the systems that wrote
// such files (12 elsewhere, 14 on OpenBSD); libpcap writes them as 101.
const (
	LinkNull                   LinkType = 0   // BSD loopback, address family in host byte order
	LinkEthernet               LinkType = 1   // Ethernet II and IEEE 802.3 with LLC, with 802.1Q / QinQ tags
	LinkTokenRing              LinkType = 6   // IEEE 802.5 Token Ring
	LinkSLIP                   LinkType = 8   // SLIP, with a 16-byte pseudo-header
	LinkPPP                    LinkType = 9   // PPP (RFC 1661), address and control fields optional
	LinkFDDI                   LinkType = 10  // FDDI
	LinkRaw12                  LinkType = 12  // raw IP (DLT_RAW on most systems)
	LinkRaw14                  LinkType = 14  // raw IP (DLT_RAW on OpenBSD)
	LinkPPPHDLC                LinkType = 50  // PPP in HDLC-like framing (RFC 1662), or Cisco HDLC
	LinkPPPoE                  LinkType = 51  // PPPoE (RFC 2516), from the PPPoE header on
	LinkATMRFC1483             LinkType = 100 // LLC-encapsulated ATM (RFC 1483)
	LinkRaw                    LinkType = 101 // raw IP: version nibble says 4 or 6
	LinkCHDLC                  LinkType = 104 // Cisco HDLC
	LinkIEEE80211              LinkType = 105 // IEEE 802.11, no radio header
	LinkFrameRelay             LinkType = 107 // Frame Relay (RFC 2427 over Q.922)
	LinkLoop                   LinkType = 108 // OpenBSD loopback, address family in network byte order
	LinkENC                    LinkType = 109 // OpenBSD IPsec encapsulation (enc)
	LinkSLL                    LinkType = 113 // Linux cooked capture v1
	LinkPFLOG                  LinkType = 117 // OpenBSD pflog
	LinkPrism                  LinkType = 119 // IEEE 802.11 with a Prism monitor-mode header
	LinkIPOverFC               LinkType = 122 // IP over Fibre Channel (RFC 2625)
	LinkSunATM                 LinkType = 123 // Solaris SunATM
	LinkRadiotap               LinkType = 127 // IEEE 802.11 with a radiotap header
	LinkAppleIP1394            LinkType = 138 // Apple IP over IEEE 1394
	LinkAVS                    LinkType = 163 // IEEE 802.11 with an AVS radio header
	LinkJuniperEther           LinkType = 178 // Juniper Ethernet, with Juniper's cookie header
	LinkIPNET                  LinkType = 226 // Solaris ipnet
	LinkIPv4                   LinkType = 228 // raw IPv4
	LinkIPv6                   LinkType = 229 // raw IPv6
	LinkNFLOG                  LinkType = 239 // Linux netfilter NFLOG
	LinkNetAnalyzer            LinkType = 240 // Ethernet with a Hilscher netANALYZER header
	LinkNetAnalyzerTransparent LinkType = 241 // the same, with preamble and SFD
	LinkIPoIB                  LinkType = 242 // IP over InfiniBand (RFC 4391)
	LinkSLL2                   LinkType = 276 // Linux cooked capture v2
)

var linkNames = map[LinkType]string{
	LinkNull:                   "BSD loopback",
	LinkEthernet:               "Ethernet",
	LinkTokenRing:              "Token Ring",
	LinkSLIP:                   "SLIP",
	LinkPPP:                    "PPP",
	LinkFDDI:                   "FDDI",
	LinkRaw12:                  "raw IP",
	LinkRaw14:                  "raw IP",
	LinkPPPHDLC:                "PPP in HDLC framing",
	LinkPPPoE:                  "PPPoE",
	LinkATMRFC1483:             "ATM (RFC 1483 LLC)",
	LinkRaw:                    "raw IP",
	LinkCHDLC:                  "Cisco HDLC",
	LinkIEEE80211:              "IEEE 802.11",
	LinkFrameRelay:             "Frame Relay",
	LinkLoop:                   "OpenBSD loopback",
	LinkENC:                    "OpenBSD enc",
	LinkSLL:                    "Linux cooked v1",
	LinkPFLOG:                  "OpenBSD pflog",
	LinkPrism:                  "IEEE 802.11 with Prism header",
	LinkIPOverFC:               "IP over Fibre Channel",
	LinkSunATM:                 "SunATM",
	LinkRadiotap:               "IEEE 802.11 with radiotap",
	LinkAppleIP1394:            "Apple IP over IEEE 1394",
	LinkAVS:                    "IEEE 802.11 with AVS header",
	LinkJuniperEther:           "Juniper Ethernet",
	LinkIPNET:                  "Solaris ipnet",
	LinkIPv4:                   "raw IPv4",
	LinkIPv6:                   "raw IPv6",
	LinkNFLOG:                  "Linux NFLOG",
	LinkNetAnalyzer:            "netANALYZER",
	LinkNetAnalyzerTransparent: "netANALYZER transparent",
	LinkIPoIB:                  "IP over InfiniBand",
	LinkSLL2:                   "Linux cooked v2",
}

// LinkTypes lists the link types tcplens decodes, in numeric order.
func LinkTypes() []LinkType {
	out := make([]LinkType, 0, len(linkNames))
	for t := range linkNames {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// String names the link type in words, or gives its number.
func (t LinkType) String() string {
	if s, ok := linkNames[t]; ok {
		return s
	}
	return "link type " + strconv.Itoa(int(t))
}
