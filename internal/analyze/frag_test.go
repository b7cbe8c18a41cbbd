package analyze

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// split4 cuts an Ethernet+IPv4 frame into IPv4 fragments whose payloads
// start at the given offsets (multiples of 8), in the order given.
func split4(f pcap.Frame, offsets ...int) []pcap.Frame {
	ip := f.Data[14:]
	hl := int(ip[0]&0x0f) * 4
	payload := ip[hl:]
	bounds := append([]int(nil), offsets...)
	var out []pcap.Frame
	for _, off := range bounds {
		end := len(payload)
		for _, o := range offsets {
			if o > off && o < end {
				end = o
			}
		}
		b := make([]byte, 14+hl+end-off)
		copy(b, f.Data[:14+hl])
		copy(b[14+hl:], payload[off:end])
		h := b[14:]
		binary.BigEndian.PutUint16(h[2:], uint16(hl+end-off))
		fo := uint16(off / 8)
		if end < len(payload) {
			fo |= wire.IPv4MoreFragments
		}
		binary.BigEndian.PutUint16(h[6:], fo)
		h[10], h[11] = 0, 0
		binary.BigEndian.PutUint16(h[10:], ^wire.Fold(wire.Sum(0, h[:hl])))
		out = append(out, pcap.Frame{Time: f.Time, Link: f.Link, Length: len(b), Data: b})
	}
	return out
}

// toIPv6 rewrites an Ethernet+IPv4 TCP frame as Ethernet+IPv6 between fd00::1
// and fd00::2, the TCP checksum made anew.
func toIPv6(f pcap.Frame) pcap.Frame {
	ip := f.Data[14:]
	hl := int(ip[0]&0x0f) * 4
	seg := append([]byte(nil), ip[hl:]...)
	src, dst := netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
	if ip[15] == 2 { // the server's 10.0.0.2 sends
		src, dst = dst, src
	}
	seg[16], seg[17] = 0, 0
	binary.BigEndian.PutUint16(seg[16:], ^wire.Fold(wire.Sum(wire.PseudoHeaderSum(src, dst, wire.ProtoTCP, len(seg)), seg)))
	b := make([]byte, 14+40+len(seg))
	copy(b, f.Data[:12])
	binary.BigEndian.PutUint16(b[12:], wire.EtherTypeIPv6)
	h := b[14:]
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(seg)))
	h[6], h[7] = wire.ProtoTCP, 64
	s16, d16 := src.As16(), dst.As16()
	copy(h[8:], s16[:])
	copy(h[24:], d16[:])
	copy(h[40:], seg)
	return pcap.Frame{Time: f.Time, Link: f.Link, Length: len(b), Data: b}
}

// split6 cuts an Ethernet+IPv6 frame into fragments (a Fragment header
// after the fixed header) at the given payload offsets, in that order.
func split6(f pcap.Frame, id uint32, offsets ...int) []pcap.Frame {
	payload := f.Data[14+40:]
	var out []pcap.Frame
	for _, off := range offsets {
		end := len(payload)
		for _, o := range offsets {
			if o > off && o < end {
				end = o
			}
		}
		b := make([]byte, 14+40+8+end-off)
		copy(b, f.Data[:14+40])
		h := b[14:]
		binary.BigEndian.PutUint16(h[4:], uint16(8+end-off))
		h[6] = wire.ProtoFragment
		fh := h[40:]
		fh[0] = wire.ProtoTCP
		fo := uint16(off) // offsets are multiples of 8: the field is off/8<<3
		if end < len(payload) {
			fo |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], fo)
		binary.BigEndian.PutUint32(fh[4:], id)
		copy(fh[8:], payload[off:end])
		out = append(out, pcap.Frame{Time: f.Time, Link: f.Link, Length: len(b), Data: b})
	}
	return out
}

const fragScript = `
	t=0     c>s S  seq=0 win=64240
	t=0.01  s>c S. seq=0 ack=1 win=64240
	t=0.02  c>s .  seq=1 ack=1
	t=0.03  c>s P. seq=1 ack=1 len=200
	t=0.04  c>s P. seq=201 ack=1 len=100
	t=0.05  s>c .  seq=1 ack=301`

type fragSeen struct {
	frame    int
	seq      uint32
	len      int
	analysis event.Set
}

func runFrames(frames []pcap.Frame) ([]fragSeen, *Analyzer) {
	var seen []fragSeen
	a := New(Options{}, func(s *Segment) {
		seen = append(seen, fragSeen{s.Frame.Number, s.Result.RelSeq, s.Seg.PayloadLen, s.Result.Analysis})
	}, nil)
	for i := range frames {
		frames[i].Number = i + 1
		a.Add(&frames[i])
	}
	a.Close()
	return seen, a
}

func TestFragments(t *testing.T) {
	base := func() []pcap.Frame { return testcap.Build(fragScript) }
	// The 220-byte IP payload of frame 4 (20 TCP + 200) cut in pieces.
	for _, tc := range []struct {
		name    string
		frames  func() []pcap.Frame
		at      int // the frame whose segment is the reassembled one; 0 if none
		len     int
		dropped int
	}{
		{
			name:   "in order",
			frames: func() []pcap.Frame { b := base(); return join(b[:3], split4(b[3], 0, 80, 160), b[4:]) },
			at:     6, len: 200,
		},
		{
			name:   "out of order, the first last",
			frames: func() []pcap.Frame { b := base(); return join(b[:3], split4(b[3], 160, 80, 0), b[4:]) },
			at:     6, len: 200,
		},
		{
			name: "overlapping pieces",
			frames: func() []pcap.Frame {
				b := base()
				p, q := split4(b[3], 0, 80), split4(b[3], 40, 160)
				return join(b[:3], p[:1], q[:1], p[1:], b[4:])
			},
			at: 6, len: 200,
		},
		{
			name:   "a piece never captured: never analysed",
			frames: func() []pcap.Frame { b := base(); return join(b[:3], split4(b[3], 0, 80, 160)[1:], b[4:]) },
		},
		{
			name: "IPv6",
			frames: func() []pcap.Frame {
				b := base()
				for i := range b {
					b[i] = toIPv6(b[i])
				}
				return join(b[:3], split6(b[3], 7, 80, 0, 160), b[4:])
			},
			at: 6, len: 200,
		},
		{
			name: "the first piece cut by the snap length",
			frames: func() []pcap.Frame {
				b := base()
				p := split4(b[3], 0, 80, 160)
				p[0].Data = p[0].Data[:14+20+40] // the TCP header and 20 bytes
				return join(b[:3], p, b[4:])
			},
			at: 6, len: 200,
		},
		{
			name: "the rest arrives after Linux has given up",
			frames: func() []pcap.Frame {
				b := base()
				p := split4(b[3], 0, 80)
				p[1].Time += pcap.Time(31 * time.Second)
				return join(b[:3], p, b[4:])
			},
			dropped: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen, a := runFrames(tc.frames())
			var got *fragSeen
			for i := range seen {
				if seen[i].seq == 1 && seen[i].len > 0 {
					if got != nil {
						t.Fatalf("the fragmented segment was analysed twice: frames %d and %d", got.frame, seen[i].frame)
					}
					got = &seen[i]
				}
				if seen[i].analysis.Has(event.Retransmission) || seen[i].analysis.Has(event.BadChecksum) {
					t.Errorf("frame %d: %s", seen[i].frame, seen[i].analysis.AppendNames(nil, ","))
				}
			}
			switch {
			case tc.at == 0 && got != nil:
				t.Errorf("an incomplete datagram was analysed at frame %d", got.frame)
			case tc.at != 0 && got == nil:
				t.Errorf("the reassembled segment was not analysed: %+v", seen)
			case tc.at != 0 && (got.frame != tc.at || got.len != tc.len):
				t.Errorf("reassembled segment at frame %d with %d bytes, want frame %d, %d bytes", got.frame, got.len, tc.at, tc.len)
			}
			if tc.at != 0 {
				// The next segment follows it: no hole, no lost segment.
				for _, s := range seen {
					if s.seq == 201 && s.analysis.Has(event.LostSegment) {
						t.Errorf("frame %d: lost_segment after the reassembled segment", s.frame)
					}
				}
			}
			if a.counter.frags.Dropped != tc.dropped || len(a.counter.frags.pending) > 1 {
				t.Errorf("dropped %d datagrams, %d pending; want %d dropped", a.counter.frags.Dropped, len(a.counter.frags.pending), tc.dropped)
			}
		})
	}
}

func TestFragmentsBounded(t *testing.T) {
	// A flood of first fragments that never complete: the memory held
	// stays under the cap, and every datagram given up is counted.
	b := testcap.Build(fragScript)
	var fr fragments
	var s wire.Segment
	const n = 3 * fragMaxPending
	for i := range n {
		p := split4(b[3], 0, 80)[0]
		binary.BigEndian.PutUint16(p.Data[14+4:], uint16(i)) // a new IP ID each time
		p.Number = i + 1
		_ = wire.Decode(&p, &s)
		if _, whole := fr.add(&p, &s); whole {
			t.Fatalf("fragment %d completed a datagram", i)
		}
		if len(fr.pending) > fragMaxPending || fr.bytes > fragMaxBytes {
			t.Fatalf("after %d fragments: %d pending, %d bytes", i+1, len(fr.pending), fr.bytes)
		}
	}
	if fr.Dropped+len(fr.pending) != n {
		t.Errorf("dropped %d + pending %d != %d", fr.Dropped, len(fr.pending), n)
	}
}

func join(parts ...[]pcap.Frame) []pcap.Frame {
	var out []pcap.Frame
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
