package tcpdump

import (
	"strconv"

	"github.com/tcplens/tcplens/internal/wire"
)

// TCP header flags as tcpdump tests them (the low byte of the flags).
const (
	thFIN = 0x01
	thSYN = 0x02
	thRST = 0x04
	thACK = 0x10
	thURG = 0x20
)

// seqKey identifies a connection in tcpdump's table, both directions in
// one entry: the endpoint with the lower port (then lower address) first.
type seqKey struct {
	src, dst [16]byte
	ports    uint32
	v6       bool
}

// seqBase holds the numbers tcpdump subtracts: seq for the direction from
// src, ack for the other.
type seqBase struct{ seq, ack uint32 }

// lookup finds a connection's entry, promoting it from the old generation.
// Consecutive segments mostly belong to one connection, so the last entry
// is kept aside and a hit there skips hashing the 40-byte key.
func (p *Printer) lookup(k seqKey) (seqBase, bool) {
	if p.lastOK && k == p.lastKey {
		return p.lastVal, true
	}
	v, ok := p.seqCur[k]
	if !ok {
		if v, ok = p.seqOld[k]; ok {
			delete(p.seqOld, k)
			p.store(k, v)
		}
	}
	if ok {
		p.lastKey, p.lastVal, p.lastOK = k, v, true
	}
	return v, ok
}

func (p *Printer) store(k seqKey, v seqBase) {
	if len(p.seqCur) >= maxSeqEntries {
		p.seqOld = p.seqCur
		p.seqCur = make(map[seqKey]seqBase)
	}
	p.seqCur[k] = v
	p.lastKey, p.lastVal, p.lastOK = k, v, true
}

// tcp follows tcpdump's tcp_print for the segment at tp of the given
// length (header and payload, from the IP header); ipOff locates the IP
// header. direct says TCP follows the fixed IPv6 header at once: only then
// does tcpdump print addresses with the ports.
func (p *Printer) tcp(b []byte, k *pkt, tp int, length uint32, ipOff int, v6, direct bool) []byte {
	k.proto = "tcp"
	if !k.ttest(tp+2, 2) {
		b = appendAddrs(b, k, ipOff, v6)
		b = append(b, ':')
		return k.trunc(b)
	}
	sport, dport := k.u16(tp), k.u16(tp+2)
	if direct {
		b = p.appendEndpoints(b, k, ipOff, v6, sport, dport)
	} else {
		b = appendUint(b, uint64(sport))
		b = append(b, " > "...)
		b = appendUint(b, uint64(dport))
		b = append(b, ": "...)
	}
	if !k.ttest(tp, wire.TCPMinHeaderLen) {
		return k.trunc(b)
	}
	hlen := uint32(k.u8(tp+12)>>4) * 4
	if hlen < wire.TCPMinHeaderLen {
		b = append(b, " tcp "...)
		b = appendUint(b, uint64(length-hlen))
		b = append(b, " [bad hdr length "...)
		b = appendUint(b, uint64(hlen))
		return append(b, " - too short, < 20]"...)
	}
	seq, ack := k.u32(tp+4), k.u32(tp+8)
	win, urp := k.u16(tp+14), k.u16(tp+18)
	flags := k.u8(tp + 13)
	b = append(b, "Flags ["...)
	b = wire.Flags(flags).AppendTcpdump(b)
	b = append(b, ']')

	var thseq, thack uint32
	rev := false
	if !p.opt.Absolute && flags&thACK != 0 {
		var key seqKey
		a, z := ipOff+12, ipOff+16 // source and destination address
		n := 4
		if v6 {
			a, z, n = ipOff+8, ipOff+24, 16
			key.v6 = true
		}
		src, dst := k.data[a:a+n], k.data[z:z+n]
		if sport > dport {
			rev = true
		} else if sport == dport && string(src) > string(dst) {
			rev = true
		}
		if rev {
			copy(key.src[:], dst)
			copy(key.dst[:], src)
			key.ports = uint32(dport)<<16 | uint32(sport)
		} else {
			copy(key.src[:], src)
			copy(key.dst[:], dst)
			key.ports = uint32(sport)<<16 | uint32(dport)
		}
		th, found := p.lookup(key)
		if !found || flags&thSYN != 0 {
			if rev {
				th.ack, th.seq = seq, ack-1
			} else {
				th.seq, th.ack = seq, ack-1
			}
			p.store(key, th)
		} else if rev {
			seq -= th.ack
			ack -= th.seq
		} else {
			seq -= th.seq
			ack -= th.ack
		}
		thseq, thack = th.seq, th.ack
	}
	if hlen > length {
		b = append(b, " [bad hdr length "...)
		b = appendUint(b, uint64(hlen))
		b = append(b, " - too long, > "...)
		b = appendUint(b, uint64(length))
		return append(b, ']')
	}
	length -= hlen
	if length > 0 || flags&(thSYN|thFIN|thRST) != 0 {
		b = append(b, ", seq "...)
		b = appendUint(b, uint64(seq))
		if length > 0 {
			b = append(b, ':')
			b = appendUint(b, uint64(seq+length))
		}
	}
	if flags&thACK != 0 {
		b = append(b, ", ack "...)
		b = appendUint(b, uint64(ack))
	}
	b = append(b, ", win "...)
	b = appendUint(b, uint64(win))
	if flags&thURG != 0 {
		b = append(b, ", urg "...)
		b = appendUint(b, uint64(urp))
	}
	if hlen > wire.TCPMinHeaderLen {
		var done bool
		b, done = p.options(b, k, tp, hlen, length, flags, rev, thseq, thack, ipOff, v6)
		if done {
			return b
		}
	}
	b = append(b, ", length "...)
	return appendUint(b, uint64(length))
}

// options prints the options as tcpdump does. done reports that tcpdump
// stopped the line inside the options ([bad opt] or a truncation).
func (p *Printer) options(b []byte, k *pkt, tp int, hlen, length uint32, flags uint8, rev bool, thseq, thack uint32, ipOff int, v6 bool) ([]byte, bool) {
	hlen -= wire.TCPMinHeaderLen
	cp := tp + wire.TCPMinHeaderLen
	// Fast path: NOP, NOP, timestamps, what nearly every segment after the
	// handshake carries; the loop below prints exactly this for them.
	if hlen == 12 && k.ttest(cp, 12) && k.u8(cp) == wire.OptNOP && k.u8(cp+1) == wire.OptNOP &&
		k.u8(cp+2) == wire.OptTimestamps && k.u8(cp+3) == 10 {
		b = append(b, ", options [nop,nop,TS val "...)
		b = appendUint(b, uint64(k.u32(cp+4)))
		b = append(b, " ecr "...)
		b = appendUint(b, uint64(k.u32(cp+8)))
		return append(b, ']'), false
	}
	var ch byte
	b = append(b, ", options ["...)
	// bad and trunc are tcpdump's two exits from the loop.
	bad := func() ([]byte, bool) {
		b = append(b, "[bad opt]"...)
		if ch != 0 {
			b = append(b, ']')
		}
		return b, true
	}
	trunc := func() ([]byte, bool) {
		b = k.trunc(b)
		if ch != 0 {
			b = append(b, '>')
		}
		return b, true
	}
	for hlen > 0 {
		if ch != 0 {
			b = append(b, ch)
		}
		if !k.ttest(cp, 1) {
			return k.trunc(b), true // a GET that longjmps: no '>'
		}
		opt := k.u8(cp)
		cp++
		var ln uint32
		if opt == wire.OptEOL || opt == wire.OptNOP {
			ln = 1
		} else {
			if !k.ttest(cp, 1) {
				return k.trunc(b), true
			}
			ln = uint32(k.u8(cp))
			cp++
			if ln < 2 || ln > hlen {
				return bad()
			}
			hlen--
		}
		hlen--
		var datalen uint32
		// lencheck is tcpdump's LENCHECK: past the header is a bad option,
		// past the capture a truncation.
		lencheck := func(l uint32) (ok, isBad bool) {
			if l > hlen {
				return false, true
			}
			return k.ttest(cp, int(l)), false
		}
		b = appendOptionName(b, opt)
		switch opt {
		case wire.OptMSS:
			datalen = 2
			if ok, isBad := lencheck(datalen); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			b = append(b, ' ')
			b = appendUint(b, uint64(k.u16(cp)))
		case wire.OptWindowScale:
			datalen = 1
			if ok, isBad := lencheck(datalen); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			b = append(b, ' ')
			b = appendUint(b, uint64(k.u8(cp)))
		case wire.OptSACK:
			datalen = ln - 2
			if datalen%8 != 0 {
				b = append(b, " invalid sack"...)
				break
			}
			b = append(b, ' ')
			b = appendUint(b, uint64(datalen/8))
			b = append(b, ' ')
			for i := uint32(0); i < datalen; i += 8 {
				if ok, isBad := lencheck(i + 4); isBad {
					return bad()
				} else if !ok {
					return trunc()
				}
				s := k.u32(cp + int(i))
				if ok, isBad := lencheck(i + 8); isBad {
					return bad()
				} else if !ok {
					return trunc()
				}
				e := k.u32(cp + int(i) + 4)
				if rev {
					s -= thseq
					e -= thseq
				} else {
					s -= thack
					e -= thack
				}
				b = append(b, '{')
				b = appendUint(b, uint64(s))
				b = append(b, ':')
				b = appendUint(b, uint64(e))
				b = append(b, '}')
			}
		case wire.OptCC, wire.OptCCNew, wire.OptCCEcho, wire.OptEcho, wire.OptEchoReply:
			datalen = 4
			if ok, isBad := lencheck(datalen); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			b = append(b, ' ')
			b = appendUint(b, uint64(k.u32(cp)))
		case wire.OptTimestamps:
			datalen = 8
			if ok, isBad := lencheck(datalen); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			b = append(b, " val "...)
			b = appendUint(b, uint64(k.u32(cp)))
			b = append(b, " ecr "...)
			b = appendUint(b, uint64(k.u32(cp+4)))
		case wire.OptMD5:
			datalen = 16
			if ok, isBad := lencheck(datalen); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			b = append(b, ' ')
			// tcpdump built with OpenSSL tries to verify the signature
			// and, without -M, says why it cannot.
			payload := tp + int(k.u8(tp+12)>>4)*4
			if payload+int(length) > k.snapend {
				b = append(b, "snaplen too short, "...)
			} else {
				b = append(b, "shared secret not supplied with -M, "...)
			}
			b = append(b, "can't check - "...)
			b = appendHex(b, k.data[cp:cp+16])
		case wire.OptSCPS:
			datalen = 2
			if ok, isBad := lencheck(datalen); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			b = append(b, " cap "...)
			b = appendHex(b, k.data[cp:cp+1])
			b = append(b, " id "...)
			b = appendUint(b, uint64(k.u8(cp+1)))
		case wire.OptAO:
			datalen = ln - 2
			if datalen < 2 {
				b = append(b, " (invalid)"...)
				break
			}
			if ok, isBad := lencheck(1); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			b = append(b, " keyid "...)
			b = appendUint(b, uint64(k.u8(cp)))
			if ok, isBad := lencheck(2); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			b = append(b, " rnextkeyid "...)
			b = appendUint(b, uint64(k.u8(cp+1)))
			if datalen > 2 {
				b = append(b, " mac 0x"...)
				for i := uint32(2); i < datalen; i++ {
					if ok, isBad := lencheck(i + 1); isBad {
						return bad()
					} else if !ok {
						return trunc()
					}
					b = appendHex(b, k.data[cp+int(i):cp+int(i)+1])
				}
			}
		case wire.OptEOL, wire.OptNOP, wire.OptSACKPermitted:
		case wire.OptUTO:
			datalen = 2
			if ok, isBad := lencheck(datalen); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			v := uint32(k.u16(cp))
			b = append(b, " 0x"...)
			b = strconv.AppendUint(b, uint64(v), 16)
			if v&1 != 0 {
				v = (v >> 1) * 60
			} else {
				v >>= 1
			}
			b = append(b, ' ')
			b = appendUint(b, uint64(v))
		case wire.OptMPTCP:
			datalen = ln - 2
			if ok, isBad := lencheck(datalen); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			k.proto = "mptcp"
			var ok bool
			b, ok = mptcp(b, k.data[cp-2:cp-2+int(ln)], flags)
			if !ok {
				return bad()
			}
		case wire.OptFastOpen:
			datalen = ln - 2
			if ok, isBad := lencheck(datalen); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			b = append(b, ' ')
			b = appendFastOpen(b, k.data[cp:cp+int(datalen)], false)
		case wire.OptExperiment2:
			datalen = ln - 2
			if ok, isBad := lencheck(datalen); isBad {
				return bad()
			} else if !ok {
				return trunc()
			}
			if datalen < 2 {
				return bad()
			}
			magic := k.u16(cp)
			b = append(b, '-')
			if magic == wire.ExIDFastOpen {
				b = appendFastOpen(b, k.data[cp+2:cp+int(datalen)], true)
			} else {
				b = appendHex(b, k.data[cp:cp+2])
			}
		default:
			datalen = ln - 2
			if datalen > 0 {
				b = append(b, " 0x"...)
			}
			for i := uint32(0); i < datalen; i++ {
				if ok, isBad := lencheck(i + 1); isBad {
					return bad()
				} else if !ok {
					return trunc()
				}
				b = appendHex(b, k.data[cp+int(i):cp+int(i)+1])
			}
		}
		cp += int(datalen)
		hlen -= datalen
		datalen++
		if opt != wire.OptEOL && opt != wire.OptNOP {
			datalen++
		}
		if datalen != ln {
			b = append(b, "[len "...)
			b = appendUint(b, uint64(ln))
			b = append(b, ']')
		}
		ch = ','
		if opt == wire.OptEOL {
			break
		}
	}
	return append(b, ']'), false
}

var optionNames = map[uint8]string{
	wire.OptEOL:           "eol",
	wire.OptNOP:           "nop",
	wire.OptMSS:           "mss",
	wire.OptWindowScale:   "wscale",
	wire.OptSACKPermitted: "sackOK",
	wire.OptSACK:          "sack",
	wire.OptEcho:          "echo",
	wire.OptEchoReply:     "echoreply",
	wire.OptTimestamps:    "TS",
	wire.OptCC:            "cc",
	wire.OptCCNew:         "ccnew",
	wire.OptCCEcho:        "",
	wire.OptMD5:           "md5",
	wire.OptSCPS:          "scps",
	wire.OptUTO:           "uto",
	wire.OptAO:            "tcp-ao",
	wire.OptMPTCP:         "mptcp",
	wire.OptFastOpen:      "tfo",
	wire.OptExperiment2:   "exp",
}

func appendOptionName(b []byte, opt uint8) []byte {
	switch opt { // the common ones without a map lookup
	case wire.OptNOP:
		return append(b, "nop"...)
	case wire.OptTimestamps:
		return append(b, "TS"...)
	}
	if s, ok := optionNames[opt]; ok {
		return append(b, s...)
	}
	b = append(b, "unknown-"...)
	return appendUint(b, uint64(opt))
}

// appendFastOpen follows print_tcp_fastopen_option.
func appendFastOpen(b []byte, cookie []byte, exp bool) []byte {
	if exp {
		b = append(b, "tfo"...)
	}
	switch n := len(cookie); {
	case n == 0:
		return append(b, " cookiereq"...)
	case n%2 != 0 || n < 4 || n > 16:
		return append(b, " (invalid)"...)
	}
	b = append(b, " cookie "...)
	return appendHex(b, cookie)
}

const hexDigits = "0123456789abcdef"

// appendHex appends each byte as two lower-case hex digits.
func appendHex(b []byte, v []byte) []byte {
	for _, c := range v {
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

// endpointText caches the text "src.sport > dst.dport: " of one direction
// of a connection. Formatting addresses is a sixth of a line's cost, and a
// capture holds far fewer directions than segments.
type endpointText struct {
	key  seqKey
	text []byte
}

// endpointCacheSize is the number of directions remembered, in a
// direct-mapped cache indexed by the ports.
const endpointCacheSize = 4096

// appendEndpoints appends "src.sport > dst.dport: ".
func (p *Printer) appendEndpoints(b []byte, k *pkt, ipOff int, v6 bool, sport, dport uint16) []byte {
	var key seqKey
	if v6 {
		copy(key.src[:], k.data[ipOff+8:ipOff+24])
		copy(key.dst[:], k.data[ipOff+24:ipOff+40])
		key.v6 = true
	} else {
		copy(key.src[:4], k.data[ipOff+12:ipOff+16])
		copy(key.dst[:4], k.data[ipOff+16:ipOff+20])
	}
	key.ports = uint32(sport)<<16 | uint32(dport)
	e := &p.endpoints[(uint32(sport)*31+uint32(dport)+uint32(key.src[3])*7)%endpointCacheSize]
	if e.text != nil && e.key == key {
		return append(b, e.text...)
	}
	start := len(b)
	b = appendAddr(b, k, ipOff, v6, true)
	b = append(b, '.')
	b = appendUint(b, uint64(sport))
	b = append(b, " > "...)
	b = appendAddr(b, k, ipOff, v6, false)
	b = append(b, '.')
	b = appendUint(b, uint64(dport))
	b = append(b, ": "...)
	e.key = key
	e.text = append(e.text[:0], b[start:]...)
	return b
}

// appendAddrs appends "src > dst".
func appendAddrs(b []byte, k *pkt, ipOff int, v6 bool) []byte {
	b = appendAddr(b, k, ipOff, v6, true)
	b = append(b, " > "...)
	return appendAddr(b, k, ipOff, v6, false)
}

func appendAddr(b []byte, k *pkt, ipOff int, v6, src bool) []byte {
	if v6 {
		a := ipOff + 24
		if src {
			a = ipOff + 8
		}
		return appendIP6(b, k.data[a:a+16])
	}
	a := ipOff + 16
	if src {
		a = ipOff + 12
	}
	return appendIP4(b, k.data[a:a+4])
}

// appendIP4 appends a dotted quad.
func appendIP4(b []byte, a []byte) []byte {
	_ = a[3]
	b = append(b, octets[a[0]]...)
	b = append(b, '.')
	b = append(b, octets[a[1]]...)
	b = append(b, '.')
	b = append(b, octets[a[2]]...)
	b = append(b, '.')
	return append(b, octets[a[3]]...)
}

// octets holds the decimal spelling of every byte value.
var octets = func() (t [256]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

// appendIP6 formats an IPv6 address as tcpdump's addrtostr6 does. It
// differs from RFC 5952 (and net/netip) in one case: an address whose
// first 96 bits are zero, the deprecated IPv4-compatible form, prints as
// ::a.b.c.d.
func appendIP6(b []byte, a []byte) []byte {
	var words [8]uint16
	for i := range words {
		words[i] = uint16(a[2*i])<<8 | uint16(a[2*i+1])
	}
	bestBase, bestLen, curBase, curLen := -1, 0, -1, 0
	for i, w := range words {
		if w == 0 {
			if curBase == -1 {
				curBase, curLen = i, 1
			} else {
				curLen++
			}
		} else if curBase != -1 {
			if bestBase == -1 || curLen > bestLen {
				bestBase, bestLen = curBase, curLen
			}
			curBase = -1
		}
	}
	if curBase != -1 && (bestBase == -1 || curLen > bestLen) {
		bestBase, bestLen = curBase, curLen
	}
	if bestBase != -1 && bestLen < 2 {
		bestBase = -1
	}
	for i := 0; i < 8; i++ {
		if bestBase != -1 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				b = append(b, ':')
			}
			continue
		}
		if i != 0 {
			b = append(b, ':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && words[5] == 0xffff)) {
			return appendIP4(b, a[12:16])
		}
		b = strconv.AppendUint(b, uint64(words[i]), 16)
	}
	if bestBase != -1 && bestBase+bestLen == 8 {
		b = append(b, ':')
	}
	return b
}
