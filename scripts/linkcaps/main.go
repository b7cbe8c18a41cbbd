// Command linkcaps writes the link-type test captures of testdata/links/:
// the TCP packets of two real captures in testdata/captures, their IP
// datagrams byte for byte with their timestamps, re-encapsulated in each
// link layer that carries IP which libpcap reads and tcpdump prints.
//
// Usage (from the repository root):
//
//	go run ./scripts/linkcaps [-o testdata/links]
//
// The IPv4 packets are the 16 of zeek-tcp-tcp-fast-open.pcap (two whole
// connections), the IPv6 ones the first 12 of zeek-ftp-ipv6.pcap (a
// handshake and data); every IP datagram is at most 1,359 bytes, so it
// fits the smallest MTU here (PPPoE's and 802.3 with SNAP's, 1,492). Each
// file holds all 28 in time order (the IPv6 ones are older), each frame
// wrapped in its link type's header, with the variations a real capture
// of that link shows (VLAN tags, label stacks, compressed PPP fields,
// source routes, 802.11 frame kinds) cycling from frame to frame. The
// output is deterministic: TestLinkCapturesReproduce (internal/wire)
// regenerates it and compares.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// packet is one IP datagram taken from a source capture.
type packet struct {
	time pcap.Time
	ip   []byte // the captured bytes, from the IP header on
	wire int    // its length on the wire
	v6   bool
}

// sources are the captures the packets come from, and how many of each.
var sources = []struct {
	name string
	max  int
}{
	{"zeek-tcp-tcp-fast-open.pcap", 16},
	{"zeek-ftp-ipv6.pcap", 12},
}

func main() {
	out := flag.String("o", "testdata/links", "directory to write the captures to")
	in := flag.String("i", "testdata/captures", "directory of the source captures")
	flag.Parse()
	pkts, err := load(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "linkcaps:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "linkcaps:", err)
		os.Exit(1)
	}
	for _, c := range Captures {
		path := filepath.Join(*out, c.Name+".pcap")
		if err := os.WriteFile(path, c.File(pkts), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "linkcaps:", err)
			os.Exit(1)
		}
	}
}

// load reads the source packets, in time order.
func load(dir string) ([]packet, error) {
	var pkts []packet
	for _, src := range sources {
		f, err := os.Open(filepath.Join(dir, src.name))
		if err != nil {
			return nil, err
		}
		r, err := pcap.NewReader(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		n := 0
		for n < src.max {
			fr, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", src.name, err)
			}
			var s wire.Segment
			if err := wire.Decode(&fr, &s); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: frame %d: %w", src.name, fr.Number, err)
			}
			off := s.Link.HeaderLen
			pkts = append(pkts, packet{time: fr.Time, ip: bytes.Clone(fr.Data[off:]), wire: fr.Length - off, v6: s.IPVersion == 6})
			n++
		}
		f.Close()
	}
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].time < pkts[j].time })
	return pkts, nil
}

// Capture is one test capture: a link type and how it wraps the i-th
// packet. wrap returns the bytes before the IP datagram and after it.
type Capture struct {
	Name string
	Link pcap.LinkType
	wrap func(i int, p *packet) (head, tail []byte)
	keep func(p *packet) bool // the packets it holds; nil: all
}

// only4 and only6 select one IP version, for the link types that carry
// only one (LINKTYPE_IPV4, LINKTYPE_IPV6).
func only4(p *packet) bool { return !p.v6 }
func only6(p *packet) bool { return p.v6 }

// File is the classic pcap file of the capture (little-endian,
// microseconds, snapshot length 262144).
func (c *Capture) File(pkts []packet) []byte {
	var b []byte
	le := binary.LittleEndian
	b = le.AppendUint32(b, 0xa1b2c3d4)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0) // thiszone
	b = le.AppendUint32(b, 0) // sigfigs
	b = le.AppendUint32(b, 262144)
	b = le.AppendUint32(b, uint32(c.Link))
	i := 0
	for k := range pkts {
		p := &pkts[k]
		if c.keep != nil && !c.keep(p) {
			continue
		}
		head, tail := c.wrap(i, p)
		i++
		sec, nsec := p.time.Unix()
		b = le.AppendUint32(b, uint32(sec))
		b = le.AppendUint32(b, uint32(nsec/1000))
		b = le.AppendUint32(b, uint32(len(head)+len(p.ip)+len(tail)))
		b = le.AppendUint32(b, uint32(len(head)+p.wire+len(tail)))
		b = append(b, head...)
		b = append(b, p.ip...)
		b = append(b, tail...)
	}
	return b
}

// EtherType of the packet's IP version.
func (p *packet) etherType() uint16 {
	if p.v6 {
		return wire.EtherTypeIPv6
	}
	return wire.EtherTypeIPv4
}

// pppProto is the PPP protocol number of the packet's IP version (RFC 1332,
// RFC 5072).
func (p *packet) pppProto() uint16 {
	if p.v6 {
		return 0x0057
	}
	return 0x0021
}

var (
	be = binary.BigEndian
	le = binary.LittleEndian

	macA = []byte{0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e}
	macB = []byte{0x3c, 0xfd, 0xfe, 0x01, 0x02, 0x03}
	macC = []byte{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30} // an access point's BSSID
)

// macs is a destination and source MAC, swapped for odd frames.
func macs(i int) []byte {
	if i%2 == 0 {
		return cat(macA, macB)
	}
	return cat(macB, macA)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u16(v uint16) []byte { return be.AppendUint16(nil, v) }
func u32(v uint32) []byte { return be.AppendUint32(nil, v) }

// snap is an 802.2 LLC header with a SNAP header (RFC 1042): DSAP and
// SSAP 0xAA, UI, OUI 00-00-00, then the EtherType.
func snap(p *packet) []byte {
	return cat([]byte{0xaa, 0xaa, 0x03, 0, 0, 0}, u16(p.etherType()))
}

// mpls is a label stack entry (RFC 3032): label, traffic class, bottom of
// stack, TTL.
func mpls(label uint32, tc uint8, bottom bool, ttl uint8) []byte {
	v := label<<12 | uint32(tc&7)<<9 | uint32(ttl)
	if bottom {
		v |= 1 << 8
	}
	return u32(v)
}

// labels is the i-th frame's MPLS stack: one label, two, an explicit
// null (RFC 3032: 0 for IPv4, 2 for IPv6), and three with traffic
// classes.
func labels(i int, p *packet) []byte {
	null := uint32(0)
	if p.v6 {
		null = 2
	}
	switch i % 4 {
	case 0:
		return mpls(16, 0, true, 64)
	case 1:
		return cat(mpls(1000, 0, false, 255), mpls(200, 0, true, 254))
	case 2:
		return mpls(null, 0, true, 63)
	}
	return cat(mpls(1048575, 5, false, 10), mpls(300000, 3, false, 9), mpls(17, 1, true, 8))
}

// pppoe is a PPPoE session header (RFC 2516) and the PPP protocol field.
func pppoe(p *packet) []byte {
	return cat([]byte{0x11, 0x00}, u16(0x1234), u16(uint16(2+p.wire)), u16(p.pppProto()))
}

// sllInner is what a Linux cooked capture's protocol field says and what
// follows its header: MPLS, PPPoE, 802.2 LLC (Linux's protocol 4), and an
// 802.1Q tag before MPLS.
func sllInner(i int, p *packet) (uint16, []byte) {
	switch i % 4 {
	case 0:
		return 0x8847, labels(i, p)
	case 1:
		return 0x8864, pppoe(p)
	case 2:
		return 0x0004, snap(p)
	}
	return wire.EtherTypeVLAN, cat(u16(0x6000|99), u16(0x8847), labels(i, p))
}

// pad60 pads an Ethernet frame to the 60-byte minimum, as a NIC does.
func pad60(head []byte, p *packet) []byte {
	if n := len(head) + len(p.ip); n < 60 {
		return make([]byte, 60-n)
	}
	return nil
}

// rtField is one radiotap field: its presence bit and its value,
// little-endian as radiotap has it.
type rtField struct {
	bit   int
	value []byte
}

// rtAlign is each radiotap field's alignment (radiotap.org): its value is
// padded to it, counting from the start of the header.
var rtAlign = map[int]int{0: 8, 3: 2, 4: 2, 7: 2, 8: 2, 9: 2, 14: 2, 15: 2, 18: 4, 20: 4, 21: 2, 22: 8}

// radiotapHeader builds a radiotap header from presence words (the
// extension bit is set on all but the last) and the fields in order.
func radiotapHeader(words []uint32, fields []rtField) []byte {
	h := []byte{0, 0, 0, 0}
	for i, w := range words {
		if i < len(words)-1 {
			w |= 1 << 31
		}
		h = le.AppendUint32(h, w)
	}
	for _, f := range fields {
		a := rtAlign[f.bit]
		if a == 0 {
			a = 1
		}
		for len(h)%a != 0 {
			h = append(h, 0)
		}
		h = append(h, f.value...)
	}
	le.PutUint16(h[2:], uint16(len(h)))
	return h
}

// presence is the presence word of fields of the default namespace.
func presence(fields []rtField) uint32 {
	var w uint32
	for _, f := range fields {
		w |= 1 << f.bit
	}
	return w
}

func le16(v uint16) []byte { return le.AppendUint16(nil, v) }
func le32(v uint32) []byte { return le.AppendUint32(nil, v) }

// radiotapVariants are the radio headers the radiotap capture cycles
// through: every field tcpdump prints, in the combinations drivers write
// (flags, rates and channels of 802.11b, g, a and n; MCS and VHT; A-MPDU;
// extended presence bitmaps; a vendor namespace).
var radiotapVariants = []func(fcs bool) []byte{
	func(fcs bool) []byte { // 802.11b: flags, rate, channel, signal, antenna
		f := []rtField{{1, []byte{0x02 | fcsFlag(fcs)}}, {2, []byte{2}}, {3, cat(le16(2412), le16(0x00a0))}, {5, []byte{0xd8}}, {11, []byte{0}}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
	func(fcs bool) []byte { // 802.11g with TSFT and noise
		f := []rtField{{0, le.AppendUint64(nil, 123456789)}, {1, []byte{fcsFlag(fcs)}}, {2, []byte{108}}, {3, cat(le16(2437), le16(0x0480))}, {5, []byte{0xc9}}, {6, []byte{0xa1}}, {11, []byte{1}}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
	func(fcs bool) []byte { // CFP, fragmented, bad FCS; pure g; an MCS in the rate
		f := []rtField{{1, []byte{0x01 | 0x08 | 0x40 | fcsFlag(fcs)}}, {2, []byte{0x83}}, {3, cat(le16(2462), le16(0x00c0))}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
	func(fcs bool) []byte { // 11a half and quarter rate, turbo
		f := []rtField{{1, []byte{fcsFlag(fcs)}}, {2, []byte{12}}, {3, cat(le16(5180), le16(0x0140|0x4000))}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
	func(fcs bool) []byte { // FHSS, lock quality, attenuations, TX power
		f := []rtField{{1, []byte{fcsFlag(fcs)}}, {3, cat(le16(2412), le16(0x0880))}, {4, []byte{3, 7}}, {7, le16(42)}, {8, le16(5)}, {9, le16(3)}, {10, []byte{0x0f}}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
	func(fcs bool) []byte { // dB signal and noise, RX flags
		f := []rtField{{1, []byte{fcsFlag(fcs)}}, {2, []byte{22}}, {12, []byte{40}}, {13, []byte{3}}, {14, le16(0)}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
	func(fcs bool) []byte { // channel and extended channel (HT20), MCS fully known
		f := []rtField{{1, []byte{fcsFlag(fcs)}}, {3, cat(le16(5745), le16(0x0140))}, {5, []byte{0xc4}}, {18, cat(le32(0x10140), le16(5745), []byte{149, 30})}, {19, []byte{0x7f, 0x04 | 0x10 | 0x20, 7}}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
	func(fcs bool) []byte { // MCS 40 MHz, long GI, greenfield; A-MPDU status
		f := []rtField{{1, []byte{fcsFlag(fcs)}}, {3, cat(le16(2422), le16(0x0480))}, {19, []byte{0x0f, 0x01 | 0x08, 15}}, {20, cat(le32(77), le16(0x000c), []byte{0, 0})}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
	func(fcs bool) []byte { // MCS index only; HT40 minus on the channel
		f := []rtField{{1, []byte{fcsFlag(fcs)}}, {3, cat(le16(2442), le16(0x0480))}, {18, cat(le32(0x40480), le16(2442), []byte{7, 20})}, {19, []byte{0x02, 0, 9}}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
	func(fcs bool) []byte { // VHT: 80 MHz, short GI, two users
		f := []rtField{{1, []byte{fcsFlag(fcs)}}, {3, cat(le16(5210), le16(0x0140))}, {21, cat(le16(0x0044), []byte{0x04, 4, 0x92, 0x31, 0, 0, 0x01, 0}, le16(0))}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
	func(fcs bool) []byte { // a second presence word, empty
		f := []rtField{{1, []byte{fcsFlag(fcs)}}, {2, []byte{4}}, {3, cat(le16(2417), le16(0x00a0))}, {5, []byte{0xbb}}}
		return radiotapHeader([]uint32{presence(f), 0}, f)
	},
	func(fcs bool) []byte { // a vendor namespace after the radiotap fields
		f := []rtField{{1, []byte{fcsFlag(fcs)}}, {2, []byte{48}}, {3, cat(le16(2447), le16(0x0480))}}
		h := radiotapHeader([]uint32{presence(f) | 1<<30, 1 << 0}, f)
		// Vendor namespace: OUI, sub-namespace, skip length, aligned to 2;
		// then the vendor's 4 bytes.
		for len(h)%2 != 0 {
			h = append(h, 0)
		}
		h = append(h, 0x00, 0x11, 0x22, 0x01)
		h = append(h, le16(4)...)
		h = append(h, 0xde, 0xad, 0xbe, 0xef)
		le.PutUint16(h[2:], uint16(len(h)))
		return h
	},
	func(fcs bool) []byte { // TX flags and retries, then a field tcpdump does not know
		f := []rtField{{1, []byte{fcsFlag(fcs)}}, {2, []byte{11}}, {15, le16(0x0008)}, {16, []byte{2}}, {17, []byte{3}}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
	func(fcs bool) []byte { // data padding between the 802.11 header and its body
		f := []rtField{{1, []byte{0x20 | fcsFlag(fcs)}}, {2, []byte{24}}, {3, cat(le16(5500), le16(0x0140))}}
		return radiotapHeader([]uint32{presence(f)}, f)
	},
}

func fcsFlag(fcs bool) byte {
	if fcs {
		return 0x10
	}
	return 0
}

// dot11 is an 802.11 data frame header and the LLC/SNAP header after it:
// to the access point, from it (as QoS data), or between two (WDS, four
// addresses).
func dot11(i int, p *packet) []byte { return cat(dot11Header(i), snap(p)) }

// dot11Header is the i-th frame's 802.11 MAC header.
func dot11Header(i int) []byte {
	seq := le.AppendUint16(nil, uint16(i)<<4)
	switch i % 3 {
	case 0: // data, to DS: BSSID, source, destination
		return cat([]byte{0x08, 0x01}, le.AppendUint16(nil, 44), macC, macA, macB, seq)
	case 1: // QoS data, from DS: destination, BSSID, source
		return cat([]byte{0x88, 0x02}, le.AppendUint16(nil, 44), macA, macC, macB, seq, []byte{0x00, 0x00})
	}
	// data, WDS: receiver, transmitter, destination, seq, source
	return cat([]byte{0x08, 0x03}, le.AppendUint16(nil, 44), macC, macB, macA, seq, macB)
}

// fcs is the IEEE CRC-32 of an 802.11 frame, little-endian as sent.
func fcs(frame ...[]byte) []byte {
	return le.AppendUint32(nil, crc32.ChecksumIEEE(cat(frame...)))
}

// Captures are the test captures, one per link layer.
var Captures = []Capture{
	{"link-ethernet-llc-snap", pcap.LinkEthernet, func(i int, p *packet) ([]byte, []byte) {
		h := macs(i)
		if i%3 == 2 {
			h = cat(h, u16(wire.EtherTypeVLAN), u16(0x2000|42))
		}
		h = cat(h, u16(uint16(8+p.wire)), snap(p))
		return h, pad60(h, p)
	}, nil},
	{"link-ethernet-mpls", pcap.LinkEthernet, func(i int, p *packet) ([]byte, []byte) {
		h := macs(i)
		if i%5 == 4 {
			h = cat(h, u16(wire.EtherTypeVLAN), u16(7))
		}
		typ := uint16(0x8847)
		if i%3 == 2 {
			typ = 0x8848 // multicast
		}
		h = cat(h, u16(typ), labels(i, p))
		return h, pad60(h, p)
	}, nil},
	{"link-ethernet-pppoe", pcap.LinkEthernet, func(i int, p *packet) ([]byte, []byte) {
		h := cat(macs(i), u16(0x8864), pppoe(p))
		return h, pad60(h, p)
	}, nil},
	{"link-sll-encap", pcap.LinkSLL, func(i int, p *packet) ([]byte, []byte) {
		typ, rest := sllInner(i, p)
		return cat(u16(uint16(i%2*4)), u16(1), u16(6), macA, []byte{0, 0}, u16(typ), rest), nil
	}, nil},
	{"link-sll2-encap", pcap.LinkSLL2, func(i int, p *packet) ([]byte, []byte) {
		typ, rest := sllInner(i, p)
		return cat(u16(typ), u16(0), u32(2), u16(1), []byte{byte(i % 2 * 4), 6}, macB, []byte{0, 0}, rest), nil
	}, nil},
	{"link-pppoe", linkPPPoE, func(i int, p *packet) ([]byte, []byte) {
		return pppoe(p), nil
	}, nil},
	{"link-ppp", linkPPP, func(i int, p *packet) ([]byte, []byte) {
		switch i % 3 {
		case 0:
			return cat([]byte{0xff, 0x03}, u16(p.pppProto())), nil
		case 1: // address and control field compression (RFC 1661 6.6)
			return u16(p.pppProto()), nil
		}
		// and protocol field compression (RFC 1661 6.5)
		return []byte{byte(p.pppProto())}, nil
	}, nil},
	{"link-ppp-hdlc", linkPPPHDLC, func(i int, p *packet) ([]byte, []byte) {
		if i%4 == 3 {
			// Cisco HDLC in the same link type, as libpcap documents.
			return cat([]byte{0x0f, 0x00}, u16(p.etherType())), nil
		}
		return cat([]byte{0xff, 0x03}, u16(p.pppProto())), nil
	}, nil},
	{"link-chdlc", linkCHDLC, func(i int, p *packet) ([]byte, []byte) {
		addr := byte(0x0f)
		if i%4 == 3 {
			addr = 0x8f // broadcast
		}
		return cat([]byte{addr, 0x00}, u16(p.etherType())), nil
	}, nil},
	{"link-fddi", linkFDDI, func(i int, p *packet) ([]byte, []byte) {
		return cat([]byte{0x50}, macs(i), snap(p)), nil
	}, nil},
	{"link-token-ring", linkTokenRing, func(i int, p *packet) ([]byte, []byte) {
		dst, src := macA, macB
		if i%2 == 1 {
			dst, src = macB, macA
		}
		if i%3 == 2 {
			// A source route (IEEE 802.5 RIF): the route indicator bit of
			// the source address, then a 6-byte routing field: control,
			// two route descriptors.
			src = cat([]byte{src[0] | 0x80}, src[1:])
			return cat([]byte{0x10, 0x40}, dst, src, []byte{0x06, 0x30, 0x00, 0x11, 0x00, 0x20}, snap(p)), nil
		}
		return cat([]byte{0x10, 0x40}, dst, src, snap(p)), nil
	}, nil},
	{"link-ieee802-11", linkIEEE80211, func(i int, p *packet) ([]byte, []byte) {
		return dot11(i, p), nil
	}, nil},
	{"link-ieee802-11-radiotap", linkRadiotap, func(i int, p *packet) ([]byte, []byte) {
		withFCS := i%3 == 1
		v := i % len(radiotapVariants)
		rt := radiotapVariants[v](withFCS)
		mac := dot11Header(i)
		if v == len(radiotapVariants)-1 {
			// The last variant says the MAC header is padded to 32 bits.
			for len(mac)%4 != 0 {
				mac = append(mac, 0)
			}
		}
		h := cat(mac, snap(p))
		if withFCS {
			return cat(rt, h), fcs(h, p.ip)
		}
		return cat(rt, h), nil
	}, nil},
	{"link-ieee802-11-prism", linkPrism, func(i int, p *packet) ([]byte, []byte) {
		return cat(prism(i), dot11(i, p)), nil
	}, nil},
	{"link-ieee802-11-avs", linkAVS, func(i int, p *packet) ([]byte, []byte) {
		return cat(avs(i), dot11(i, p)), nil
	}, nil},
	{"link-pflog", linkPFLOG, func(i int, p *packet) ([]byte, []byte) {
		return pflog(i, p), nil
	}, nil},
	{"link-enc", linkENC, func(i int, p *packet) ([]byte, []byte) {
		af := uint32(2)
		if p.v6 {
			af = 24 // OpenBSD's AF_INET6
		}
		flags := []uint32{0x0400 | 0x0800, 0x0800, 0}[i%3] // M_CONF|M_AUTH, M_AUTH, none
		return cat(le.AppendUint32(nil, af), u32(0x1000+uint32(i)), le.AppendUint32(nil, flags)), nil
	}, nil},
	{"link-ipnet", linkIPNET, func(i int, p *packet) ([]byte, []byte) {
		fam := byte(2) // IPH_AF_INET
		if p.v6 {
			fam = 26 // IPH_AF_INET6
		}
		return cat([]byte{1, fam}, u16(0), u32(uint32(p.wire)), u32(2), u32(0), u32(0), u32(0)), nil
	}, nil},
	{"link-nflog", linkNFLOG, func(i int, p *packet) ([]byte, []byte) {
		// The kernel pads the payload attribute to 4 bytes, as every
		// netlink attribute.
		return nflog(i, p), make([]byte, (4-len(p.ip)%4)%4)
	}, nil},
	{"link-juniper-ether", linkJuniperEther, func(i int, p *packet) ([]byte, []byte) {
		eth := cat(macs(i), u16(p.etherType()))
		if i%2 == 0 {
			// No extensions: magic "MGC", flags (packet in, extensions absent).
			return cat([]byte{'M', 'G', 'C', 0x01}, eth), nil
		}
		// With TLV extensions: the interface index and the logical unit.
		ext := cat([]byte{1, 4}, u32(0x0203), []byte{4, 4}, u32(7))
		return cat([]byte{'M', 'G', 'C', 0x81}, u16(uint16(len(ext))), ext, eth), nil
	}, nil},
	{"link-loop", pcap.LinkLoop, func(i int, p *packet) ([]byte, []byte) {
		af := uint32(2)
		if p.v6 {
			af = 24
		}
		return u32(af), nil
	}, nil},
	{"link-raw", pcap.LinkRaw, func(int, *packet) ([]byte, []byte) { return nil, nil }, nil},
	{"link-ipv4", pcap.LinkIPv4, func(int, *packet) ([]byte, []byte) { return nil, nil }, only4},
	{"link-ipv6", pcap.LinkIPv6, func(int, *packet) ([]byte, []byte) { return nil, nil }, only6},
	{"link-slip", linkSLIP, func(i int, p *packet) ([]byte, []byte) {
		dir := byte(i % 2) // SLIPDIR_IN, SLIPDIR_OUT
		return append([]byte{dir, 0x40}, make([]byte, 14)...), nil
	}, nil},
	{"link-atm-rfc1483", linkATMRFC1483, func(i int, p *packet) ([]byte, []byte) {
		return snap(p), nil
	}, nil},
	{"link-netanalyzer", linkNetAnalyzer, func(i int, p *packet) ([]byte, []byte) {
		return netAnalyzer(i, p, false)
	}, nil},
	{"link-ipoib", linkIPOIB, func(i int, p *packet) ([]byte, []byte) {
		return cat(make([]byte, 40), u16(p.etherType()), u16(0)), nil
	}, nil},
	{"link-netanalyzer-transparent", linkNetAnalyzerTransparent, func(i int, p *packet) ([]byte, []byte) {
		return netAnalyzer(i, p, true)
	}, nil},
	{"link-frelay", 107, func(i int, p *packet) ([]byte, []byte) {
		nlpid := byte(0xcc)
		if p.v6 {
			nlpid = 0x8e
		}
		return []byte{0x18, 0x41, 0x03, nlpid}, nil
	}, nil},
	{"link-ipfc", 122, func(i int, p *packet) ([]byte, []byte) {
		return cat(make([]byte, 2), macA, make([]byte, 2), macB, snap(p)), nil
	}, nil},
	{"link-sunatm", 123, func(i int, p *packet) ([]byte, []byte) {
		return cat([]byte{0x02, 0x00}, u16(100), snap(p)), nil
	}, nil},
	{"link-ap1394", 138, func(i int, p *packet) ([]byte, []byte) {
		return cat(make([]byte, 16), u16(p.etherType())), nil
	}, nil},
}

// LINKTYPE_ values (tcpdump.org's registry) of the captures.
const (
	linkSLIP                   pcap.LinkType = 8
	linkPPP                    pcap.LinkType = 9
	linkTokenRing              pcap.LinkType = 6
	linkFDDI                   pcap.LinkType = 10
	linkPPPHDLC                pcap.LinkType = 50
	linkPPPoE                  pcap.LinkType = 51
	linkATMRFC1483             pcap.LinkType = 100
	linkCHDLC                  pcap.LinkType = 104
	linkIEEE80211              pcap.LinkType = 105
	linkENC                    pcap.LinkType = 109
	linkPFLOG                  pcap.LinkType = 117
	linkPrism                  pcap.LinkType = 119
	linkRadiotap               pcap.LinkType = 127
	linkAVS                    pcap.LinkType = 163
	linkJuniperEther           pcap.LinkType = 178
	linkIPNET                  pcap.LinkType = 226
	linkNetAnalyzerTransparent pcap.LinkType = 241
	linkNFLOG                  pcap.LinkType = 239
	linkNetAnalyzer            pcap.LinkType = 240
	linkIPOIB                  pcap.LinkType = 242
)

// netAnalyzer is a netANALYZER header (a little-endian word: no errors,
// Ethernet port i%4, header version 1, the frame's length with its FCS, and
// in transparent mode the transparent bit), the preamble and SFD in
// transparent mode, then an Ethernet header; the tail is the frame's FCS,
// which the netANALYZER keeps.
func netAnalyzer(i int, p *packet, transparent bool) ([]byte, []byte) {
	eth := cat(macs(i), u16(p.etherType()))
	h := uint32(1)<<10 | uint32(i%4)<<14 | uint32(len(eth)+p.wire+4)<<16
	pre := []byte(nil)
	if transparent {
		h |= 1 << 9
		pre = []byte{0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xd5}
	}
	return cat(le32(h), pre, eth), fcs(eth, p.ip)
}

// prism is the 144-byte Prism monitor-mode header of the linux-wlan-ng
// driver: message code, length, device name, then ten items (DID, status,
// length, 32-bit data) in host byte order.
func prism(i int) []byte {
	h := cat(le.AppendUint32(nil, 0x44), le.AppendUint32(nil, 144))
	name := make([]byte, 16)
	copy(name, "wlan0")
	h = append(h, name...)
	items := []struct{ did, data uint32 }{
		{0x1041, uint32(1000 * i)}, // hosttime
		{0x2041, uint32(2000 * i)}, // mactime
		{0x3041, 6},                // channel
		{0x4041, uint32(256 - 45)}, // rssi
		{0x5041, 0},                // sq
		{0x6041, uint32(256 - 45)}, // signal
		{0x7041, uint32(256 - 95)}, // noise
		{0x8041, 108},              // rate, 500 kb/s units
		{0x9041, 0},                // istx
		{0xa041, uint32(44 + i)},   // frmlen
	}
	for _, it := range items {
		h = le.AppendUint32(h, it.did)
		h = le.AppendUint16(h, 0) // status: supplied
		h = le.AppendUint16(h, 4)
		h = le.AppendUint32(h, it.data)
	}
	return h
}

// avs is the AVS WLAN capture header, version 2 (64 bytes, big-endian).
func avs(i int) []byte {
	h := cat(u32(0x80211001), u32(64))
	h = be.AppendUint64(h, uint64(1000*i)) // mactime
	h = be.AppendUint64(h, uint64(2000*i)) // hosttime
	for _, v := range []uint32{4, 6, 540, 0, 0, 2, uint32(0xffffffff - 44), uint32(0xffffffff - 94), 1, 2} {
		// phytype OFDM, channel 6, rate 54 Mb/s (100 kb/s units), antenna,
		// priority, SSI type dBm, signal -45, noise -95, preamble short,
		// encoding OFDM
		h = be.AppendUint32(h, v)
	}
	return h
}

// pflog is OpenBSD's pflog header (struct pfloghdr, 61 bytes padded to 64):
// length, address family, action, reason, interface, ruleset, rule and
// subrule numbers, uids and pids, direction.
func pflog(i int, p *packet) []byte {
	af := byte(2)
	if p.v6 {
		af = 24
	}
	action := []byte{0, 1, 0}[i%3] // pass, block
	dir := []byte{1, 2, 1}[i%3]    // in, out
	ifname := make([]byte, 16)
	copy(ifname, []string{"em0", "pppoe0", "vio0"}[i%3])
	ruleset := make([]byte, 16)
	subrule := uint32(0xffffffff)
	if i%4 == 3 {
		copy(ruleset, "anchor1")
		subrule = 2
	}
	h := cat([]byte{61, af, action, 0}, ifname, ruleset, u32(uint32(i%7)), u32(subrule))
	h = cat(h, u32(0xffffffff), u32(0xffffffff), u32(0), u32(0), []byte{dir, 0, 0, 0})
	return h
}

// nflog is a Linux NFLOG header (family, version, resource id) and its
// TLVs: the packet header (hardware protocol, hook), a prefix string, the
// mark, then the payload TLV whose value is the packet. TLV lengths and
// types are in host byte order (little-endian here); each value is padded
// to 4 bytes.
func nflog(i int, p *packet) []byte {
	fam := byte(2)
	if p.v6 {
		fam = 10
	}
	tlv := func(typ uint16, v []byte) []byte {
		b := cat(le.AppendUint16(nil, uint16(4+len(v))), le.AppendUint16(nil, typ), v)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	h := cat([]byte{fam, 0}, u16(uint16(i%3)))
	h = cat(h, tlv(1, cat(u16(p.etherType()), []byte{1, 0}))) // NFULA_PACKET_HDR: hook NF_INET_LOCAL_IN
	if i%2 == 0 {
		h = cat(h, tlv(10, []byte("tcplens: \x00"))) // NFULA_PREFIX
	}
	h = cat(h, tlv(2, u32(uint32(i))))                                                 // NFULA_MARK
	payload := cat(le.AppendUint16(nil, uint16(4+len(p.ip))), le.AppendUint16(nil, 9)) // NFULA_PAYLOAD
	return cat(h, payload)
}
