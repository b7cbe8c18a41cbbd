package analyze

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// A TCP segment split into IP fragments is put back together and analysed
// once, at the frame that completes it, as tshark and Zeek do: the first
// fragment alone holds only its share of the payload, so analysing it
// would leave the rest of the segment's sequence space unseen (a "lost
// segment" before the next one) and the receiver's ACK of it unexplained.
// A datagram that never completes is not analysed, as neither tool does.
// TCP avoids fragments (path MTU discovery), so this is off the common
// path: only frames that are fragments come here.

const (
	fragTimeout    = 30 * time.Second // Linux's ipfrag_time
	fragMaxPending = 256              // datagrams being put together at once
	fragMaxBytes   = 4 << 20          // Linux's ipfrag_high_thresh
	fragMaxPayload = 65535            // the most an IP datagram can carry
)

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	v6       bool
}

// span is the payload range [lo, hi), in bytes from the datagram's
// fragmentable part.
type span struct{ lo, hi int }

// datagram is one fragmented datagram being put together.
type datagram struct {
	key    fragKey
	since  pcap.Time
	header []byte // the first fragment's fixed IP header, once seen
	skip   int    // IPv6: extension headers between the fragment header and TCP
	total  int    // payload length, known from the last fragment; -1 before
	onWire []span // what the fragments carried, merged
	held   []span // what the capture holds of it, merged
	data   []byte // the payload held, by offset
}

// fragments holds the datagrams being put together, oldest first.
type fragments struct {
	pending map[fragKey]*datagram
	order   []*datagram
	bytes   int
	// Whole counts datagrams put back together; Dropped those given up,
	// incomplete after Linux's 30 s or pushed out by the memory cap.
	Whole, Dropped int
}

// add takes a frame holding an IP fragment of a TCP segment, decoded as far
// as it goes into s. Once its datagram is whole it returns the datagram as
// a frame of its own (raw IP, in a buffer of its own, numbered and timed
// as f), to be decoded in f's place; until then false.
func (fr *fragments) add(f *pcap.Frame, s *wire.Segment) (pcap.Frame, bool) {
	p, ok := pieceOf(f, s)
	if !ok {
		return pcap.Frame{}, false
	}
	fr.expire(f.Time)
	d := fr.pending[p.key]
	if d == nil {
		if fr.pending == nil {
			fr.pending = map[fragKey]*datagram{}
		}
		d = &datagram{key: p.key, since: f.Time, total: -1}
		fr.pending[p.key] = d
		fr.order = append(fr.order, d)
	}
	end := p.off + p.length
	if end > fragMaxPayload || (d.total >= 0 && end > d.total) || (!p.more && d.total >= 0 && end != d.total) {
		fr.drop(d) // overlapping ends: a forged or broken datagram
		return pcap.Frame{}, false
	}
	if !p.more {
		d.total = end
	}
	if p.header != nil {
		d.header = append(d.header[:0], p.header...)
		d.skip = p.skip
	}
	d.onWire = addSpan(d.onWire, span{p.off, end})
	if n := len(p.captured); n > 0 {
		if grow := p.off + n - len(d.data); grow > 0 {
			d.data = append(d.data, make([]byte, grow)...)
			fr.bytes += grow
		}
		copy(d.data[p.off:], p.captured)
		d.held = addSpan(d.held, span{p.off, p.off + n})
	}
	for fr.bytes > fragMaxBytes && len(fr.order) > 0 {
		fr.drop(fr.order[0])
	}
	if fr.pending[p.key] != d || d.header == nil || d.total < 0 ||
		len(d.onWire) != 1 || d.onWire[0] != (span{0, d.total}) || d.skip > d.total {
		return pcap.Frame{}, false
	}
	whole := d.assemble(f)
	fr.remove(d)
	fr.Whole++
	return whole, true
}

// piece is what one fragment says.
type piece struct {
	key      fragKey
	off      int    // offset of its payload in the datagram's fragmentable part
	length   int    // its payload length on the wire
	more     bool   // more fragments follow
	captured []byte // its payload as captured
	header   []byte // the fixed IP header, from the first fragment only
	skip     int
}

func pieceOf(f *pcap.Frame, s *wire.Segment) (piece, bool) {
	var p piece
	start := 0
	switch {
	case s.IPv4 != nil:
		ip := s.IPv4
		hl, total := ip.HeaderLen(), int(ip.TotalLength())
		if hl < 20 || total <= hl {
			return p, false // no length to go by (TSO leaves it 0)
		}
		p.key = fragKey{src: ip.Src(), dst: ip.Dst(), id: uint32(ip.ID())}
		p.off, p.more, p.length = ip.FragmentOffset(), ip.MoreFragments(), total-hl
		start = s.IPOffset + hl
		if p.off == 0 {
			p.header = ip[:20]
		}
	case s.IPv6 != nil:
		ip, c := s.IPv6, &s.IPv6Chain
		fragEnd := -1
		for _, h := range c.Headers[:min(c.Count, len(c.Headers))] {
			if h.Proto == wire.ProtoFragment {
				fragEnd = h.Offset + h.Len
			}
		}
		payload := int(ip.PayloadLength())
		if fragEnd < 0 || payload+wire.IPv6HeaderLen < fragEnd {
			return p, false
		}
		p.key = fragKey{src: ip.Src(), dst: ip.Dst(), id: c.FragID, v6: true}
		p.off, p.more, p.length = c.FragOffset, c.MoreFrags, payload+wire.IPv6HeaderLen-fragEnd
		start = s.IPOffset + fragEnd
		if p.off == 0 {
			p.header = ip[:wire.IPv6HeaderLen]
			p.skip = c.UpperOff - fragEnd // extension headers after the fragment header
		}
	default:
		return p, false
	}
	if start < len(f.Data) {
		p.captured = f.Data[start:min(len(f.Data), start+p.length)]
	}
	return p, true
}

// assemble builds the whole datagram as a raw IP frame: the first
// fragment's fixed header (options and extension headers left out, which
// the analysis does not read) and the payload, numbered and timed as f,
// the frame that completed it. The captured payload stops at the first
// byte the capture lacks; the frame's wire length says what was sent.
func (d *datagram) assemble(f *pcap.Frame) pcap.Frame {
	held := 0
	if len(d.held) > 0 && d.held[0].lo == 0 {
		held = min(d.held[0].hi, d.total)
	}
	tcp := d.data[min(d.skip, held):held]
	hl := len(d.header)
	size := d.total - d.skip
	// A new buffer each time: the segment decoded from it may be queued.
	b := make([]byte, hl+len(tcp))
	copy(b, d.header)
	copy(b[hl:], tcp)
	link := pcap.LinkIPv6
	if !d.key.v6 {
		link = pcap.LinkIPv4
		b[0] = 0x45
		binary.BigEndian.PutUint16(b[2:], uint16(hl+size))
		binary.BigEndian.PutUint16(b[6:], binary.BigEndian.Uint16(b[6:])&wire.IPv4DontFragment)
		b[9] = wire.ProtoTCP
		b[10], b[11] = 0, 0
		binary.BigEndian.PutUint16(b[10:], ^wire.Fold(wire.Sum(0, b[:hl])))
	} else {
		binary.BigEndian.PutUint16(b[4:], uint16(size))
		b[6] = wire.ProtoTCP
	}
	return pcap.Frame{Number: f.Number, File: f.File, Offset: f.Offset, Time: f.Time, Link: link,
		Interface: f.Interface, Length: hl + size, Data: b}
}

// addSpan merges s into the sorted, disjoint spans.
func addSpan(spans []span, s span) []span {
	out := spans[:0:0]
	for _, x := range spans {
		switch {
		case x.hi < s.lo || s.hi < x.lo:
			out = append(out, x)
		default:
			s = span{min(s.lo, x.lo), max(s.hi, x.hi)}
		}
	}
	i := 0
	for i < len(out) && out[i].lo < s.lo {
		i++
	}
	out = append(out, span{})
	copy(out[i+1:], out[i:])
	out[i] = s
	return out
}

// expire gives up the datagrams Linux would have by now.
func (fr *fragments) expire(now pcap.Time) {
	for len(fr.order) > 0 && (now.Sub(fr.order[0].since) > fragTimeout || len(fr.order) >= fragMaxPending) {
		fr.drop(fr.order[0])
	}
}

func (fr *fragments) drop(d *datagram) {
	fr.remove(d)
	fr.Dropped++
}

func (fr *fragments) remove(d *datagram) {
	delete(fr.pending, d.key)
	fr.bytes -= len(d.data)
	for i, x := range fr.order {
		if x == d {
			fr.order = append(fr.order[:i], fr.order[i+1:]...)
			break
		}
	}
}
