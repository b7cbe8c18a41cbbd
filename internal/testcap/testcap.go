// Package testcap builds captures for tests from a compact script, one
// segment per line, so that a state-machine test reads like the exchange
// it drives:
//
//	t=0      c>s S    seq=0 win=64240 mss=1460 ws=7 sackok ts=100,0
//	t=0.030  s>c S.   seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ts=500,100
//	t=0.030  c>s .    seq=1 ack=1 win=502 ts=101,500
//	t=0.031  c>s P.   seq=1 ack=1 len=100
//
// c is the client 10.0.0.1:40000, s the server 10.0.0.2:80, unless the
// line says otherwise (caddr=, cport=, saddr=, sport=: the addresses and
// ports of that line's client and server, for captures of many
// connections). Flags are
// tcpdump's letters. seq is relative to the sender's ISN (the client's is
// 1000000, the server's 2000000, or isn= on the line sets it), ack and
// SACK blocks (sack=1-100,200-300) to the peer's. t is seconds from the
// start. The frames are Ethernet, IPv4, with correct checksums unless
// badsum is given; ipid= and ttl= set those fields.
package testcap

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// Endpoints of every script.
var (
	Client = netip.MustParseAddrPort("10.0.0.1:40000")
	Server = netip.MustParseAddrPort("10.0.0.2:80")
)

// Start is the capture time of t=0: 2026-01-01T00:00:00Z.
const Start = pcap.Time(1767225600 * 1e9)

// Build turns a script into frames numbered from 1. It panics on a script
// it cannot read: scripts are test code.
func Build(script string) []pcap.Frame {
	isn := map[byte]uint32{'c': 1000000, 's': 2000000}
	ipid := map[byte]uint16{'c': 100, 's': 500}
	var frames []pcap.Frame
	for lineNo, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		f, err := buildLine(line, isn, ipid)
		if err != nil {
			panic(fmt.Sprintf("testcap: line %d %q: %v", lineNo+1, line, err))
		}
		f.Number = len(frames) + 1
		frames = append(frames, f)
	}
	return frames
}

func buildLine(line string, isn map[byte]uint32, ipid map[byte]uint16) (pcap.Frame, error) {
	fields := strings.Fields(line)
	var (
		t        float64
		dir      string
		flagsStr string
	)
	rest := fields[:0:0]
	for _, f := range fields {
		switch {
		case strings.HasPrefix(f, "t="):
			v, err := strconv.ParseFloat(f[2:], 64)
			if err != nil {
				return pcap.Frame{}, err
			}
			t = v
		case f == "c>s" || f == "s>c":
			dir = f
		case dir != "" && flagsStr == "":
			flagsStr = f
		default:
			rest = append(rest, f)
		}
	}
	if dir == "" || flagsStr == "" {
		return pcap.Frame{}, fmt.Errorf("need a direction (c>s or s>c) and flags")
	}
	from, to := dir[0], dir[2]
	cl, sv := Client, Server
	for _, kv := range rest {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "caddr", "saddr":
			var a netip.Addr
			if a, err = netip.ParseAddr(v); err == nil && !a.Is4() {
				err = fmt.Errorf("%s: IPv4 only", kv)
			}
			if k == "caddr" {
				cl = netip.AddrPortFrom(a, cl.Port())
			} else {
				sv = netip.AddrPortFrom(a, sv.Port())
			}
		case "cport", "sport":
			var p uint64
			p, err = strconv.ParseUint(v, 10, 16)
			if k == "cport" {
				cl = netip.AddrPortFrom(cl.Addr(), uint16(p))
			} else {
				sv = netip.AddrPortFrom(sv.Addr(), uint16(p))
			}
		}
		if err != nil {
			return pcap.Frame{}, err
		}
	}
	src, dst := cl, sv
	if from == 's' {
		src, dst = sv, cl
	}
	var flags wire.Flags
	for _, c := range flagsStr {
		switch c {
		case 'F':
			flags |= wire.FIN
		case 'S':
			flags |= wire.SYN
		case 'R':
			flags |= wire.RST
		case 'P':
			flags |= wire.PSH
		case '.':
			flags |= wire.ACK
		case 'U':
			flags |= wire.URG
		case 'E':
			flags |= wire.ECE
		case 'W':
			flags |= wire.CWR
		case 'A':
			flags |= wire.AE
		default:
			return pcap.Frame{}, fmt.Errorf("unknown flag %q", c)
		}
	}
	var (
		seqRel, ackRel uint32
		win            = uint16(65535)
		payload        int
		opts           []byte
		badsum         bool
		ttl            = uint8(64)
	)
	for _, kv := range rest {
		k, v, _ := strings.Cut(kv, "=")
		num := func() uint32 {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				panic(fmt.Sprintf("testcap: %s: %v", kv, err))
			}
			return uint32(n)
		}
		switch k {
		case "isn":
			isn[from] = num()
		case "seq":
			seqRel = num()
		case "ack":
			ackRel = num()
		case "win":
			win = uint16(num())
		case "len":
			payload = int(num())
		case "ipid":
			ipid[from] = uint16(num())
		case "ttl":
			ttl = uint8(num())
		case "badsum":
			badsum = true
		case "mss":
			opts = append(opts, wire.OptMSS, 4, 0, 0)
			binary.BigEndian.PutUint16(opts[len(opts)-2:], uint16(num()))
		case "ws":
			opts = append(opts, wire.OptNOP, wire.OptWindowScale, 3, byte(num()))
		case "sackok":
			opts = append(opts, wire.OptNOP, wire.OptNOP, wire.OptSACKPermitted, 2)
		case "ts":
			a, b, _ := strings.Cut(v, ",")
			val, _ := strconv.ParseUint(a, 10, 32)
			ecr, _ := strconv.ParseUint(b, 10, 32)
			opts = append(opts, wire.OptNOP, wire.OptNOP, wire.OptTimestamps, 10, 0, 0, 0, 0, 0, 0, 0, 0)
			binary.BigEndian.PutUint32(opts[len(opts)-8:], uint32(val))
			binary.BigEndian.PutUint32(opts[len(opts)-4:], uint32(ecr))
		case "sack":
			blocks := strings.Split(v, ",")
			opts = append(opts, wire.OptNOP, wire.OptNOP, wire.OptSACK, byte(2+8*len(blocks)))
			for _, bl := range blocks {
				l, r, _ := strings.Cut(bl, "-")
				lv, _ := strconv.ParseUint(l, 10, 32)
				rv, _ := strconv.ParseUint(r, 10, 32)
				opts = binary.BigEndian.AppendUint32(opts, isn[to]+uint32(lv))
				opts = binary.BigEndian.AppendUint32(opts, isn[to]+uint32(rv))
			}
		case "caddr", "saddr", "cport", "sport": // read above
		case "tfo":
			opts = append(opts, wire.OptFastOpen, byte(2+len(v)/2))
			for i := 0; i+1 < len(v); i += 2 {
				b, _ := strconv.ParseUint(v[i:i+2], 16, 8)
				opts = append(opts, byte(b))
			}
		default:
			return pcap.Frame{}, fmt.Errorf("unknown field %q", k)
		}
	}
	for len(opts)%4 != 0 {
		opts = append(opts, wire.OptEOL)
	}
	if len(opts) > 40 {
		return pcap.Frame{}, fmt.Errorf("%d bytes of options, at most 40 fit", len(opts))
	}
	tcpLen := 20 + len(opts) + payload
	frame := make([]byte, 14+20+tcpLen)
	// Ethernet.
	copy(frame[0:6], []byte{0x02, 0, 0, 0, 0, to})
	copy(frame[6:12], []byte{0x02, 0, 0, 0, 0, from})
	binary.BigEndian.PutUint16(frame[12:], wire.EtherTypeIPv4)
	// IPv4.
	ip := frame[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+tcpLen))
	binary.BigEndian.PutUint16(ip[4:], ipid[from])
	ipid[from]++
	binary.BigEndian.PutUint16(ip[6:], wire.IPv4DontFragment)
	ip[8] = ttl
	ip[9] = wire.ProtoTCP
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:16], s4[:])
	copy(ip[16:20], d4[:])
	binary.BigEndian.PutUint16(ip[10:], ^wire.Fold(wire.Sum(0, ip)))
	// TCP.
	tcp := frame[34:]
	binary.BigEndian.PutUint16(tcp[0:], src.Port())
	binary.BigEndian.PutUint16(tcp[2:], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], isn[from]+seqRel)
	if flags.Has(wire.ACK) {
		binary.BigEndian.PutUint32(tcp[8:], isn[to]+ackRel)
	}
	tcp[12] = byte((20+len(opts))/4)<<4 | byte(flags>>8)&1
	tcp[13] = byte(flags)
	binary.BigEndian.PutUint16(tcp[14:], win)
	copy(tcp[20:], opts)
	sum := ^wire.Fold(wire.Sum(wire.PseudoHeaderSum(src.Addr(), dst.Addr(), wire.ProtoTCP, tcpLen), tcp))
	if badsum {
		sum ^= 0x5555
	}
	binary.BigEndian.PutUint16(tcp[16:], sum)
	ns := int64(t*1e9 + 0.5)
	return pcap.Frame{Time: Start + pcap.Time(ns), Link: pcap.LinkEthernet, Length: len(frame), Data: frame}, nil
}
