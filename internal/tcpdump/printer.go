package tcpdump

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// TimeFormat selects the timestamp, as tcpdump's -t flags do.
type TimeFormat int

const (
	TimeLocal      TimeFormat = iota // default: HH:MM:SS.ffffff in local time
	TimeNone                         // -t
	TimeEpoch                        // -tt: seconds since the epoch
	TimeDeltaPrev                    // -ttt: since the previous printed packet
	TimeDate                         // -tttt: date and local time
	TimeDeltaFirst                   // -ttttt: since the first printed packet
)

// Options configure a Printer.
type Options struct {
	Time     TimeFormat
	Nano     bool           // nanosecond fractions, as tcpdump --nano
	Absolute bool           // -S: absolute sequence numbers
	Location *time.Location // zone for TimeLocal and TimeDate; nil means UTC
	// IfName names a Linux cooked v2 interface index. tcpdump calls
	// if_indextoname() on the machine that reads the file; a nil IfName
	// prints "?" as tcpdump does for an unknown index.
	IfName func(index uint32) string
}

// maxSeqEntries bounds the relative-sequence table. tcpdump never forgets a
// connection; tcplens keeps two generations of this many entries, so a
// connection is forgotten only after this many newer ones came and it was
// silent all the while.
const maxSeqEntries = 1 << 20

// Printer formats frames as tcpdump does. It is not safe for concurrent use.
type Printer struct {
	opt Options

	seqCur, seqOld map[seqKey]seqBase
	lastKey        seqKey
	lastVal        seqBase
	lastOK         bool
	endpoints      []endpointText

	haveRef bool
	refTime pcap.Time // previous or first printed packet, for -ttt and -ttttt

	zoneFrom, zoneTo int64 // local-time cache: [from, to) share zoneOffset
	zoneOffset       int64
}

// NewPrinter returns a Printer.
func NewPrinter(opt Options) *Printer {
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	return &Printer{opt: opt, seqCur: make(map[seqKey]seqBase), seqOld: make(map[seqKey]seqBase),
		endpoints: make([]endpointText, endpointCacheSize)}
}

// pkt is one frame being printed: its bytes and tcpdump's "snapend", the
// end of the bytes a printer may read, which the IP layer moves to the end
// of the datagram.
type pkt struct {
	data    []byte
	snapend int
	proto   string // tcpdump's ndo_protocol, named in truncation markers
}

// ttest reports whether n bytes at off were captured (ND_TTEST_LEN).
func (k *pkt) ttest(off, n int) bool {
	return n >= 0 && off >= 0 && off+n <= k.snapend
}

func (k *pkt) u8(off int) uint8   { return k.data[off] }
func (k *pkt) u16(off int) uint16 { return binary.BigEndian.Uint16(k.data[off:]) }
func (k *pkt) u32(off int) uint32 { return binary.BigEndian.Uint32(k.data[off:]) }

// trunc appends tcpdump's truncation marker for the current protocol.
func (k *pkt) trunc(b []byte) []byte {
	b = append(b, " [|"...)
	b = append(b, k.proto...)
	return append(b, ']')
}

// maximumSnaplen is tcpdump's MAXIMUM_SNAPLEN.
const maximumSnaplen = 262144

// Append appends tcpdump's line for frame f, newline included, if f carries
// TCP; otherwise it returns b unchanged and false. Frames are TCP when
// tcpdump's "tcp" filter would pass them, extended to VLAN-tagged frames
// and IPv6 extension headers, which that filter does not look through.
func (p *Printer) Append(b []byte, f *pcap.Frame) ([]byte, bool) {
	return p.AppendPrefix(b, f, len(f.Data))
}

// AppendPrefix is Append for a frame of which f.Data holds only the first
// bytes of the caplen captured, through the end of its TCP header at
// least: tcpdump's line needs the headers and the lengths, never the
// payload, so a caller that keeps frames around need not copy it.
func (p *Printer) AppendPrefix(b []byte, f *pcap.Frame, caplen int) ([]byte, bool) {
	link, err := wire.ParseLink(f.Link, f.Data)
	if err != nil || !isTCP(f.Data, &link) {
		return b, false
	}
	length := f.Length
	// pretty_print_packet's sanity checks come before the timestamp.
	if caplen == 0 || length == 0 || length < caplen || caplen > maximumSnaplen || length > maximumSnaplen {
		return appendInvalidHeader(b, caplen, length), true
	}
	b = p.appendTime(b, f.Time)
	k := pkt{data: f.Data, snapend: caplen}
	ipOff := link.HeaderLen
	b = p.appendLink(b, &k, &link)
	// A radiotap FCS is not part of the packet: tcpdump takes it off the
	// length and off what the printers may read; an 802.3, PPPoE or NFLOG
	// length bounds what follows it.
	end := link.WireEnd(length)
	if link.FCSLen > 0 && k.snapend > length-link.FCSLen {
		k.snapend = max(length-link.FCSLen, 0)
	}
	wireAtIP := end - ipOff
	if link.EtherType == wire.EtherTypeIPv4 {
		b = p.ip4(b, &k, ipOff, wireAtIP)
	} else {
		b = p.ip6(b, &k, ipOff, wireAtIP)
	}
	return append(b, '\n'), true
}

// isTCP decides whether the frame is printed: IPv4 with protocol 6 (any
// fragment, as tcpdump's filter), or IPv6 whose header chain leads to TCP.
// The bytes the decision needs must have been captured.
func isTCP(data []byte, link *wire.Link) bool {
	off := link.HeaderLen
	switch link.EtherType {
	case wire.EtherTypeIPv4:
		if link.Type == pcap.LinkRaw || link.Type == pcap.LinkRaw12 || link.Type == pcap.LinkRaw14 {
			// The filter checks the version nibble on raw links.
			if len(data) < 1 || data[0]>>4 != 4 {
				return false
			}
		}
		return len(data) > off+9 && data[off+9] == wire.ProtoTCP
	case wire.EtherTypeIPv6:
		if len(data) < off+wire.IPv6HeaderLen {
			return len(data) > off+6 && data[off+6] == wire.ProtoTCP
		}
		chain, _ := wire.IPv6(data[off:]).Walk(off)
		return chain.Upper == wire.ProtoTCP
	}
	return false
}

func appendInvalidHeader(b []byte, caplen, length int) []byte {
	b = append(b, "[Invalid header:"...)
	sep := false
	add := func(s string) {
		if sep {
			b = append(b, ',')
		}
		b = append(b, s...)
		sep = true
	}
	if caplen == 0 {
		b = b[:len(b)-1] // tcpdump prints "[Invalid header: caplen==0"
		b = append(b, ": caplen==0"...)
		sep = true
	}
	if length == 0 {
		add(" len==0")
	} else if length < caplen {
		add(" len(" + strconv.Itoa(length) + ") < caplen(" + strconv.Itoa(caplen) + ")")
	}
	if caplen > maximumSnaplen {
		add(" caplen(" + strconv.Itoa(caplen) + ") > " + strconv.Itoa(maximumSnaplen))
	}
	if length > maximumSnaplen {
		add(" len(" + strconv.Itoa(length) + ") > " + strconv.Itoa(maximumSnaplen))
	}
	return append(b, "]\n"...)
}

// appendSLLVLANs reproduces a quirk of tcpdump's cooked-capture printers:
// even without -e they print "ethertype X, " for each 802.1Q tag, X the
// type after the tag.
func appendSLLVLANs(b []byte, data []byte, link *wire.Link) []byte {
	hl := 16 // the tags follow the header
	if link.Type == pcap.LinkSLL2 {
		hl = 20
	}
	for i := range link.NumVLANs {
		off := hl + 4*i + 2
		if off+2 > len(data) {
			break
		}
		b = append(b, "ethertype "...)
		b = append(b, etherTypeName(binary.BigEndian.Uint16(data[off:]))...)
		b = append(b, ", "...)
	}
	return b
}

// etherTypeName is tcpdump's name of the EtherTypes that can lead to IP.
func etherTypeName(t uint16) string {
	switch t {
	case wire.EtherTypeIPv4:
		return "IPv4"
	case wire.EtherTypeIPv6:
		return "IPv6"
	case wire.EtherTypeVLAN:
		return "802.1Q"
	case wire.EtherTypeMPLS:
		return "MPLS unicast"
	case wire.EtherTypeMPLSMulti:
		return "MPLS multicast"
	case wire.EtherTypePPPoE:
		return "PPPoE S"
	}
	return "Unknown"
}

func packetType(t uint16) string {
	switch t {
	case wire.PacketHost:
		return "In"
	case wire.PacketBroadcast:
		return "B"
	case wire.PacketMulticast:
		return "M"
	case wire.PacketOtherHost:
		return "P"
	case wire.PacketOutgoing:
		return "Out"
	}
	return "?"
}

// appendPadded appends s left-aligned in a field of width w (printf "%-ws").
func appendPadded(b []byte, s string, w int) []byte {
	b = append(b, s...)
	for i := len(s); i < w; i++ {
		b = append(b, ' ')
	}
	return b
}

// appendTime prints the timestamp as tcpdump's ts_print does.
func (p *Printer) appendTime(b []byte, t pcap.Time) []byte {
	sec, nsec := t.Unix()
	frac := nsec / 1000
	if p.opt.Nano {
		frac = nsec
	}
	switch p.opt.Time {
	case TimeNone:
		return b
	case TimeEpoch:
		if uint32(sec)&0x80000000 != 0 {
			return append(b, "[Error converting time] "...)
		}
		b = appendUint(b, uint64(uint32(sec)))
		b = p.appendFrac(b, frac)
		return append(b, ' ')
	case TimeDeltaPrev, TimeDeltaFirst:
		// tcpdump subtracts timestamps already cut to the printed precision.
		q := t - t%1000
		if p.opt.Nano {
			q = t
		}
		if !p.haveRef {
			p.refTime, p.haveRef = q, true
		}
		d := q - p.refTime
		if d < 0 {
			b = append(b, '-')
			d = -d
		} else {
			b = append(b, ' ')
		}
		if p.opt.Time == TimeDeltaPrev {
			p.refTime = q
		}
		ds, dn := d.Unix()
		df := dn / 1000
		if p.opt.Nano {
			df = dn
		}
		b = appendClock(b, ds)
		b = p.appendFrac(b, df)
		return append(b, ' ')
	case TimeDate:
		if uint32(sec)&0x80000000 != 0 {
			return append(b, "[Error converting time] "...)
		}
		lt := time.Unix(sec, 0).In(p.opt.Location)
		b = lt.AppendFormat(b, "2006-01-02 15:04:05")
		b = p.appendFrac(b, frac)
		return append(b, ' ')
	default:
		if uint32(sec)&0x80000000 != 0 {
			return append(b, "[Error converting time] "...)
		}
		b = appendClock(b, sec+p.zone(sec))
		b = p.appendFrac(b, frac)
		return append(b, ' ')
	}
}

// zone returns the local-time offset in seconds at sec, caching the span
// over which it holds so that a capture costs one zone lookup per
// daylight-saving period, not per packet.
func (p *Printer) zone(sec int64) int64 {
	if sec >= p.zoneFrom && sec < p.zoneTo {
		return p.zoneOffset
	}
	t := time.Unix(sec, 0).In(p.opt.Location)
	_, off := t.Zone()
	from, to := t.ZoneBounds()
	p.zoneOffset = int64(off)
	p.zoneFrom, p.zoneTo = -1<<62, 1<<62
	if !from.IsZero() {
		p.zoneFrom = from.Unix()
	}
	if !to.IsZero() {
		p.zoneTo = to.Unix()
	}
	return p.zoneOffset
}

// appendClock appends HH:MM:SS of the second-of-day of sec.
func appendClock(b []byte, sec int64) []byte {
	s := sec % 86400
	if s < 0 {
		s += 86400
	}
	b = append2(b, int(s/3600))
	b = append(b, ':')
	b = append2(b, int(s/60%60))
	b = append(b, ':')
	return append2(b, int(s%60))
}

func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

func (p *Printer) appendFrac(b []byte, frac int64) []byte {
	width := 6
	if p.opt.Nano {
		width = 9
	}
	b = append(b, '.')
	return appendZeroPadded(b, uint64(frac), width)
}

// appendZeroPadded appends v in decimal, zero-padded to width digits.
func appendZeroPadded(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v > 0 || i > len(tmp)-width {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[i:]...)
}
