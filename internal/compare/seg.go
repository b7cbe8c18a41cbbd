package compare

import (
	"hash/maphash"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// Side names a capture point: A or B, in the order the user gave them.
type Side uint8

const (
	A Side = iota
	B
)

// String returns "A" or "B".
func (s Side) String() string {
	if s == B {
		return "B"
	}
	return "A"
}

// Other returns the other point.
func (s Side) Other() Side { return 1 - s }

// coreFlags are the flags a path keeps: ECE, CWR and AE belong to ECN,
// which middleboxes clear.
const coreFlags = wire.FIN | wire.SYN | wire.RST | wire.PSH | wire.ACK | wire.URG

const ecnFlags = wire.ECE | wire.CWR | wire.AE

// headLen is how much of a payload the short hash covers: captures with
// different snapshot lengths still compare that much of it.
const headLen = 16

// hashSeed is shared by both points' readers: hashes are compared within
// one run only.
var hashSeed = maphash.MakeSeed()

// optSig is what compare keeps of a segment's options.
type optSig struct {
	present wire.OptionSet
	area    uint8 // bytes of the options area (header length - 20)
	nops    uint8 // NOP options in it
	ws      uint8
	nsack   uint8
	mss     uint16
	tsval   uint32
	tsecr   uint32
	sack0   seq.Num // start of the first SACK block
}

// Segment kinds in a reader's stream.
const (
	kindSeg uint8 = iota
	kindEnd       // the reader's flow table let the flow go
)

// seg is one TCP segment as compare keeps it while it waits for its copy:
// what the path should not change, what it may change, and where it is.
type seg struct {
	t      pcap.Time // on its own capture's clock
	at     pcap.Time // on A's clock
	frame  int
	flow   *flow
	dir    conn.Dir // in its flow's roles
	kind   uint8
	ord    uint32 // its place among its flow direction's segments, from 1
	flags  wire.Flags
	seq    seq.Num
	ack    seq.Num
	rel    uint32 // seq relative to its sender's base, as tcpdump and conns count
	relAck uint32
	plen   uint32 // payload length, as the IP header gives it
	win    uint16
	ipid   uint16
	ttl    uint8
	tos    uint8 // DSCP and ECN
	v6     bool
	opt    optSig
	phash  uint64 // hash of the captured payload
	phead  uint64 // hash of its first headLen bytes
	pcapd  uint32 // captured payload bytes

	// The matcher's.
	state    uint8
	mate     int   // frame of the copy at the other point, once matched
	resentBy int64 // ring index of the first later segment that resent these bytes, 0 if none
	step     int32 // its step in its pair's trace, -1 if none
	inLoose  bool  // in the loose index
	// resend says the segment carries bytes its sender had sent before
	// (at the same point); cut that the capture did not hold its whole
	// header, so copies may differ in what it lacks.
	resend, cut bool
}

// Matching states.
const (
	pending uint8 = iota
	matched
	judged
)

// seqEnd is the sequence number after the segment.
func (s *seg) seqEnd() seq.Num {
	n := s.plen
	if s.flags.Has(wire.SYN) {
		n++
	}
	if s.flags.Has(wire.FIN) {
		n++
	}
	return s.seq.Add(n)
}

// fill sets what s keeps of the decoded segment d.
func (s *seg) fill(d *wire.Segment) {
	s.flags = d.Flags
	s.seq, s.ack = d.Seq, d.Ack
	s.plen = uint32(d.PayloadLen)
	s.win, s.ipid, s.ttl = d.Window, d.IPID, d.TTL
	s.v6 = d.IPVersion == 6
	if d.IPv4 != nil {
		s.tos = d.IPv4.TOS()
	} else if d.IPv6 != nil {
		s.tos = d.IPv6.TrafficClass()
	}
	o := &d.Options
	s.opt = optSig{present: o.Present, ws: o.WindowScale, mss: o.MSS, tsval: o.TSVal, tsecr: o.TSEcr, nsack: uint8(o.NumSACK)}
	if o.NumSACK > 0 {
		s.opt.sack0 = o.SACK[0].Start
	}
	s.cut = len(d.TCP) < d.HeaderLen
	if d.HeaderLen > wire.TCPMinHeaderLen {
		s.opt.area = uint8(d.HeaderLen - wire.TCPMinHeaderLen)
		area := d.TCP.Options()
		for i := 0; i < len(area); {
			switch area[i] {
			case wire.OptEOL:
				i = len(area)
			case wire.OptNOP:
				s.opt.nops++
				i++
			default:
				if i+1 >= len(area) || area[i+1] < 2 {
					i = len(area)
					break
				}
				i += int(area[i+1])
			}
		}
	}
	p := d.Payload
	if len(p) > d.PayloadLen {
		p = p[:d.PayloadLen] // link padding is not payload
	}
	s.pcapd = uint32(len(p))
	s.phash, s.phead = 0, 0
	if len(p) > 0 {
		s.phash = maphash.Bytes(hashSeed, p)
		s.phead = s.phash
		if len(p) > headLen {
			s.phead = maphash.Bytes(hashSeed, p[:headLen])
		}
	}
}

// samePayload reports whether two segments of equal length carry the
// same bytes as far as both captures hold them; a capture that holds
// fewer than headLen bytes of either says nothing.
func samePayload(x, y *seg) bool {
	switch {
	case x.pcapd == y.pcapd:
		return x.phash == y.phash
	case x.pcapd >= headLen && y.pcapd >= headLen:
		return x.phead == y.phead
	}
	return true
}

// payloadKnown is how many bytes samePayload compares.
func payloadKnown(x, y *seg) uint32 {
	switch {
	case x.pcapd == y.pcapd:
		return x.pcapd
	case x.pcapd >= headLen && y.pcapd >= headLen:
		return headLen
	}
	return 0
}

// ecn is the segment's IP ECN codepoint.
func (s *seg) ecn() uint8 { return s.tos & 3 }

// dscp is its DSCP.
func (s *seg) dscp() uint8 { return s.tos >> 2 }

// has reports whether set holds bit.
func has(set, bit wire.OptionSet) bool { return set&bit != 0 }
