package testcap

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"time"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// Path is what a path between two capture points does to the frames of
// one capture, for tests of compare: A is the point nearer the client
// (Client names the client's address as A sees it), B the point nearer
// the server. Apply takes frames captured at A, as they would be with
// nothing between the points, and returns the two captures: A's (the
// server's segments as they arrive, after the path) and B's (the client's
// segments after the path, the server's before it). Every change is made
// to the copy downstream of the path: for the client's segments B's, for
// the server's A's.
type Path struct {
	Client netip.Addr // the client's address at A

	Delay       time.Duration // one way, each way
	DelayC2S    time.Duration // added to the client's segments' delay
	ClockOffset time.Duration // added to B's timestamps
	TTLDrop     uint8         // hops between the points

	// NAT maps endpoints as A sees them to endpoints as B sees them.
	NAT map[netip.AddrPort]netip.AddrPort
	// SeqC2S and SeqS2C are added to each direction's sequence numbers
	// at B (and to the acknowledgments and SACK blocks that refer to
	// them); BrokenSACK leaves the SACK blocks alone.
	SeqC2S, SeqS2C uint32
	BrokenSACK     bool

	// ClampMSS rewrites the MSS option of SYNs to this value, in the
	// client's SYN at B and the server's SYN-ACK at A; 0 leaves it.
	ClampMSS uint16
	// Strip overwrites these option kinds with NOPs in both directions
	// (TCPOPTSTRIP), in the downstream copy.
	Strip []uint8
	// BleachECN clears the IP ECN bits of the client's segments at B.
	BleachECN bool

	// Drop lists frame numbers (of the input) the path loses; Dup those
	// it delivers twice, 50 µs apart; Swap pairs of frame numbers it
	// delivers in the other order.
	Drop, Dup []int
	Swap      [][2]int
	// Inject are frames made in the path, appearing only downstream: a
	// frame from the client appears at B, one from the server at A. Their
	// time is the time at A.
	Inject []pcap.Frame
}

// Apply returns the captures at A and B, each numbered from 1 in time
// order, and for each input frame its number at A and at B (0 where it is
// not there).
func (p *Path) Apply(in []pcap.Frame) (a, b []pcap.Frame, atA, atB map[int]int) {
	type out struct {
		f          pcap.Frame
		orig       int
		downstream bool // the copy after the path
	}
	var oa, ob []out
	delay := func(c2s bool) time.Duration {
		if c2s {
			return p.Delay + p.DelayC2S
		}
		return p.Delay
	}
	add := func(f pcap.Frame, orig int, fromClient, injected bool) {
		bf := f
		bf.Data = slices.Clone(f.Data)
		p.rename(&bf, fromClient)
		d := delay(fromClient)
		if fromClient {
			// A sees the original; B the copy after the path.
			bf.Time += pcap.Time(d + p.ClockOffset)
			p.change(&bf, true)
			if !injected {
				oa = append(oa, out{f, orig, false})
			}
			if !slices.Contains(p.Drop, orig) {
				ob = append(ob, out{bf, orig, true})
				if slices.Contains(p.Dup, orig) {
					dup := bf
					dup.Data = slices.Clone(bf.Data)
					dup.Time += pcap.Time(50 * time.Microsecond)
					ob = append(ob, out{dup, orig, true})
				}
			}
			return
		}
		// B sees the server's original (renamed for B's side); A the copy.
		bf.Time += pcap.Time(-d + p.ClockOffset)
		af := f
		af.Data = slices.Clone(f.Data)
		p.change(&af, false)
		if !injected {
			ob = append(ob, out{bf, orig, false})
		}
		if !slices.Contains(p.Drop, orig) {
			oa = append(oa, out{af, orig, true})
			if slices.Contains(p.Dup, orig) {
				dup := af
				dup.Data = slices.Clone(af.Data)
				dup.Time += pcap.Time(50 * time.Microsecond)
				oa = append(oa, out{dup, orig, true})
			}
		}
	}
	for _, f := range in {
		var s wire.Segment
		fromClient := true
		if wire.Decode(&f, &s) == nil || s.TCP != nil {
			fromClient = s.Src.Addr() == p.Client
		}
		add(f, f.Number, fromClient, false)
	}
	for _, f := range p.Inject {
		var s wire.Segment
		wire.Decode(&f, &s)
		add(f, 0, s.Src.Addr() == p.Client, true)
	}
	// Swapped pairs exchange their times downstream.
	for _, sw := range p.Swap {
		for _, list := range [][]out{oa, ob} {
			i := slices.IndexFunc(list, func(o out) bool { return o.orig == sw[0] && o.downstream })
			j := slices.IndexFunc(list, func(o out) bool { return o.orig == sw[1] && o.downstream })
			if i >= 0 && j >= 0 {
				list[i].f.Time, list[j].f.Time = list[j].f.Time, list[i].f.Time
			}
		}
	}
	number := func(list []out) ([]pcap.Frame, map[int]int) {
		slices.SortStableFunc(list, func(x, y out) int { return int(x.f.Time - y.f.Time) })
		m := map[int]int{}
		fs := make([]pcap.Frame, len(list))
		for i, o := range list {
			fs[i] = o.f
			fs[i].Number = i + 1
			if _, ok := m[o.orig]; !ok && o.orig != 0 {
				m[o.orig] = i + 1
			}
		}
		return fs, m
	}
	a, atA = number(oa)
	b, atB = number(ob)
	return a, b, atA, atB
}

// rename applies the NAT and the sequence offsets: what B sees.
func (p *Path) rename(f *pcap.Frame, fromClient bool) {
	if len(p.NAT) == 0 && p.SeqC2S == 0 && p.SeqS2C == 0 {
		return
	}
	var s wire.Segment
	if wire.Decode(f, &s) != nil && s.TCP == nil {
		return
	}
	ip, tcp := f.Data[s.IPOffset:], f.Data[s.TCPOffset:]
	srcAt, dstAt := 12, 16
	if s.IPv6 != nil {
		srcAt, dstAt = 8, 24
	}
	if to, ok := p.NAT[s.Src]; ok {
		copy(ip[srcAt:], to.Addr().AsSlice())
		binary.BigEndian.PutUint16(tcp[0:], to.Port())
	}
	if to, ok := p.NAT[s.Dst]; ok {
		copy(ip[dstAt:], to.Addr().AsSlice())
		binary.BigEndian.PutUint16(tcp[2:], to.Port())
	}
	own, peer := p.SeqS2C, p.SeqC2S
	if fromClient {
		own, peer = p.SeqC2S, p.SeqS2C
	}
	binary.BigEndian.PutUint32(tcp[4:], uint32(s.Seq)+own)
	if s.Flags.Has(wire.ACK) {
		binary.BigEndian.PutUint32(tcp[8:], uint32(s.Ack)+peer)
	}
	if !p.BrokenSACK {
		eachOption(tcp, s.HeaderLen, func(kind uint8, off, n int) {
			if data := tcp[off+2 : off+n]; kind == wire.OptSACK {
				for i := 0; i+4 <= len(data); i += 4 {
					binary.BigEndian.PutUint32(data[i:], binary.BigEndian.Uint32(data[i:])+peer)
				}
			}
		})
	}
	fix(f, &s)
}

// change applies what the path does to a segment's downstream copy.
func (p *Path) change(f *pcap.Frame, fromClient bool) {
	var s wire.Segment
	if wire.Decode(f, &s) != nil && s.TCP == nil {
		return
	}
	ip, tcp := f.Data[s.IPOffset:], f.Data[s.TCPOffset:]
	if s.IPv6 != nil {
		ip[7] -= p.TTLDrop
		if fromClient && p.BleachECN {
			ip[1] &^= 0x30 // the traffic class's ECN bits
		}
	} else {
		ip[8] -= p.TTLDrop
		if fromClient && p.BleachECN {
			ip[1] &^= 3
		}
	}
	eachOption(tcp, s.HeaderLen, func(kind uint8, off, n int) {
		data := tcp[off+2 : off+n]
		if kind == wire.OptMSS && p.ClampMSS != 0 && s.Flags.Has(wire.SYN) && len(data) == 2 {
			binary.BigEndian.PutUint16(data, p.ClampMSS)
		}
		if slices.Contains(p.Strip, kind) {
			for i := off; i < off+n; i++ {
				tcp[i] = wire.OptNOP
			}
		}
	})
	fix(f, &s)
}

// eachOption calls fn with each option's kind, offset in tcp and length.
func eachOption(tcp []byte, hl int, fn func(kind uint8, off, n int)) {
	if hl > len(tcp) {
		hl = len(tcp)
	}
	for i := 20; i < hl; {
		k := tcp[i]
		switch k {
		case wire.OptEOL:
			return
		case wire.OptNOP:
			i++
			continue
		}
		if i+1 >= hl || tcp[i+1] < 2 || i+int(tcp[i+1]) > hl {
			return
		}
		n := int(tcp[i+1])
		fn(k, i, n)
		i += n
	}
}

// fix recomputes the IPv4 header checksum, and the TCP one when the frame
// holds the whole segment.
func fix(f *pcap.Frame, s *wire.Segment) {
	ip := f.Data[s.IPOffset:]
	var src, dst netip.Addr
	var tcpLen int
	if s.IPv6 != nil {
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		tcpLen = s.HeaderLen + s.PayloadLen
	} else {
		hl := int(ip[0]&0x0f) * 4
		binary.BigEndian.PutUint16(ip[10:], 0)
		binary.BigEndian.PutUint16(ip[10:], ^wire.Fold(wire.Sum(0, ip[:hl])))
		tcpLen = int(binary.BigEndian.Uint16(ip[2:])) - hl
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
	}
	if f.Length > len(f.Data) || s.TCPOffset+tcpLen > len(f.Data) {
		return
	}
	tcp := f.Data[s.TCPOffset : s.TCPOffset+tcpLen]
	binary.BigEndian.PutUint16(tcp[16:], 0)
	binary.BigEndian.PutUint16(tcp[16:], ^wire.Fold(wire.Sum(wire.PseudoHeaderSum(src, dst, wire.ProtoTCP, tcpLen), tcp)))
}
