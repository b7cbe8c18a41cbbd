package pcap

import "strconv"

// LinkType is a LINKTYPE_ value from the tcpdump.org link-layer header type
// registry, as written in pcap and pcapng files.
type LinkType uint16

// Link types tcplens decodes. DLT 12 and 14 are raw IP on the systems that
// wrote such files (12 elsewhere, 14 on OpenBSD); libpcap writes them as 101.
const (
	LinkNull     LinkType = 0   // BSD loopback, address family in host byte order
	LinkEthernet LinkType = 1   // Ethernet II, with 802.1Q / QinQ tags
	LinkRaw12    LinkType = 12  // raw IP (DLT_RAW on most systems)
	LinkRaw14    LinkType = 14  // raw IP (DLT_RAW on OpenBSD)
	LinkRaw      LinkType = 101 // raw IP: version nibble says 4 or 6
	LinkLoop     LinkType = 108 // OpenBSD loopback, address family in network byte order
	LinkSLL      LinkType = 113 // Linux cooked capture v1
	LinkIPv4     LinkType = 228 // raw IPv4
	LinkIPv6     LinkType = 229 // raw IPv6
	LinkSLL2     LinkType = 276 // Linux cooked capture v2
)

var linkNames = map[LinkType]string{
	LinkNull:     "BSD loopback",
	LinkEthernet: "Ethernet",
	LinkRaw12:    "raw IP",
	LinkRaw14:    "raw IP",
	LinkRaw:      "raw IP",
	LinkLoop:     "OpenBSD loopback",
	LinkSLL:      "Linux cooked v1",
	LinkIPv4:     "raw IPv4",
	LinkIPv6:     "raw IPv6",
	LinkSLL2:     "Linux cooked v2",
}

// String names the link type in words, or gives its number.
func (t LinkType) String() string {
	if s, ok := linkNames[t]; ok {
		return s
	}
	return "link type " + strconv.Itoa(int(t))
}
