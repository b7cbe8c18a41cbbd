package tcpdump

import (
	"strconv"

	"github.com/tcplens/tcplens/internal/wire"
)

// ip4 follows tcpdump's ip_print for a datagram at off whose wire length
// from the IP header on is length.
func (p *Printer) ip4(b []byte, k *pkt, off, length int) []byte {
	k.proto = "ip"
	if !k.ttest(off, 1) {
		return k.trunc(b)
	}
	if v := k.u8(off) >> 4; v != 4 {
		if v == 6 {
			b = append(b, "IP6, wrong link-layer encapsulation"...)
		} else {
			b = append(b, "IP"...)
			b = appendUint(b, uint64(v))
		}
		return append(b, " (invalid)"...)
	}
	b = append(b, "IP "...)
	if !k.ttest(off, 20) {
		return k.trunc(b)
	}
	if length < 20 {
		b = append(b, "truncated-ip "...)
		return appendUint(b, uint64(uint32(length)))
	}
	hlen := int(k.u8(off)&0x0f) * 4
	if hlen < 20 {
		b = append(b, "bad-hlen "...)
		return appendUint(b, uint64(hlen))
	}
	total := int(k.u16(off + 2))
	if length < total {
		b = append(b, "truncated-ip - "...)
		b = appendUint(b, uint64(total-length))
		b = append(b, " bytes missing! "...)
	}
	if total < hlen {
		// tcpdump as Debian builds it lacks GUESS_TSO, so a TSO or BIG TCP
		// send with total length 0 prints as bad-len 0.
		b = append(b, "bad-len "...)
		return appendUint(b, uint64(total))
	}
	if off+total <= k.snapend {
		k.snapend = off + total
	}
	frag := k.u16(off + 6)
	if frag&0x1fff != 0 {
		// A later fragment: no transport header to print.
		b = appendIP4(b, k.data[off+12:off+16])
		b = append(b, " > "...)
		b = appendIP4(b, k.data[off+16:off+20])
		b = append(b, ": ip-proto-"...)
		return appendUint(b, uint64(k.u8(off+9)))
	}
	if !k.ttest(off, hlen) {
		b = append(b, " [remaining caplen("...)
		b = appendUint(b, uint64(uint32(k.snapend-off)))
		b = append(b, ") < header length("...)
		b = appendUint(b, uint64(hlen))
		b = append(b, ")]"...)
		return k.trunc(b)
	}
	return p.tcp(b, k, off+hlen, uint32(total-hlen), off, false, true)
}

// ip6 follows tcpdump's ip6_print, walking the extension headers that can
// precede TCP.
func (p *Printer) ip6(b []byte, k *pkt, off, length int) []byte {
	k.proto = "ip6"
	if !k.ttest(off, wire.IPv6HeaderLen) {
		return k.trunc(b)
	}
	if length < wire.IPv6HeaderLen {
		b = append(b, "truncated-ip6 "...)
		return appendUint(b, uint64(uint32(length)))
	}
	b = append(b, "IP6 "...)
	if v := k.u8(off) >> 4; v != 6 {
		b = append(b, "version error: "...)
		b = appendUint(b, uint64(v))
		return append(b, " != 6"...)
	}
	payloadLen := uint32(k.u16(off + 4))
	var ln int
	if payloadLen != 0 {
		ln = int(payloadLen) + wire.IPv6HeaderLen
		if length < ln {
			b = append(b, "truncated-ip6 - "...)
			b = appendUint(b, uint64(ln-length))
			b = append(b, " bytes missing!"...)
		}
	} else {
		ln = length + wire.IPv6HeaderLen
	}
	// The stack of snapends: the IP layer cuts the capture to the datagram.
	ipSnapend := k.snapend
	if ln <= k.snapend-off {
		k.snapend = off + ln
	}
	ph := uint8(255)
	nh := k.u8(off + 6)
	cp := off
	advance := wire.IPv6HeaderLen
	totalAdvance := 0
	foundExt, foundJumbo, foundHBH := false, false, false
	for cp < k.snapend && advance > 0 {
		if ln < advance {
			return k.trunc(b)
		}
		cp += advance
		ln -= advance
		totalAdvance += advance
		if cp == off+wire.IPv6HeaderLen && nh != wire.ProtoTCP && nh != 17 && nh != 33 && nh != 132 {
			b = appendIP6(b, k.data[off+8:off+24])
			b = append(b, " > "...)
			b = appendIP6(b, k.data[off+24:off+40])
			b = append(b, ": "...)
		}
		switch nh {
		case wire.ProtoHopByHop:
			if foundHBH {
				return append(b, "[The Hop-by-Hop Options header was already found] (invalid)"...)
			}
			if ph != 255 {
				return append(b, "[The Hop-by-Hop Options header don't follow the IPv6 header] (invalid)"...)
			}
			var res hbhResult
			b, advance, res = p.hbh(b, k, cp, &foundJumbo, &payloadLen)
			if res == hbhAbort {
				return b
			}
			if payloadLen == 0 && !foundJumbo {
				return append(b, "[No valid Jumbo Payload Hop-by-Hop option found] (invalid)"...)
			}
			if res != hbhOK {
				return b
			}
			foundExt, foundHBH = true, true
			nh = k.u8(cp)
		case wire.ProtoDestOpts:
			k.proto = "dstopt"
			if !k.ttest(cp, 2) {
				return k.trunc(b)
			}
			n := (int(k.u8(cp+1)) + 1) << 3
			if !k.ttest(cp, n) {
				return k.trunc(b)
			}
			b = append(b, "DSTOPT "...)
			advance = n
			foundExt = true
			nh = k.u8(cp)
		case wire.ProtoFragment:
			k.proto = "frag6"
			if !k.ttest(cp+2, 2) {
				return k.trunc(b)
			}
			fragOff := k.u16(cp+2) &^ 7
			b = append(b, "frag ("...)
			b = appendUint(b, uint64(fragOff))
			b = append(b, '|')
			// size_t arithmetic in tcpdump: a negative result wraps.
			b = appendUint(b, uint64(wire.IPv6HeaderLen)+uint64(k.u16(off+4))-uint64(cp-off)-8)
			b = append(b, ')')
			if fragOff != 0 {
				return b
			}
			b = append(b, ' ')
			advance = 8
			if k.snapend <= cp+advance {
				return b
			}
			foundExt = true
			nh = k.u8(cp)
		case wire.ProtoRouting:
			if !k.ttest(cp, 1) {
				return k.trunc(b)
			}
			k.proto = "rt6"
			var ok bool
			b, advance, ok = rt6(b, k, cp)
			if !ok {
				return b
			}
			foundExt = true
			nh = k.u8(cp)
		default:
			if foundJumbo {
				ln = int(payloadLen) + wire.IPv6HeaderLen
				if ln < totalAdvance {
					return k.trunc(b)
				}
				if length < ln {
					b = append(b, "truncated-ip6 - "...)
					b = appendUint(b, uint64(ln-length))
					b = append(b, " bytes missing!"...)
				}
				if ln <= ipSnapend-off {
					k.snapend = off + ln
				}
				ln -= totalAdvance
			} else if payloadLen == 0 {
				if foundExt {
					return k.trunc(b)
				}
				ln = wire.IPv6HeaderLen
				if ln <= ipSnapend-off {
					k.snapend = off + ln
				}
				ln -= totalAdvance
			}
			if nh != wire.ProtoTCP {
				return b // isTCP let only TCP through
			}
			return p.tcp(b, k, cp, uint32(ln), off, true, cp == off+wire.IPv6HeaderLen || k.u8(off+6) == wire.ProtoTCP)
		}
		ph = nh
		k.proto = "ip6"
	}
	return b
}

// hbhResult says how hbh ended, because tcpdump ends differently when a
// bounds check returns an error and when a read longjmps out.
type hbhResult uint8

const (
	hbhOK    hbhResult = iota
	hbhTrunc           // the header or an option is cut short; reported
	hbhAbort           // the length byte itself was not captured
)

// hbh follows tcpdump's hbhopt_process without -v: it prints "HBH " and
// only what is wrong with the options.
func (p *Printer) hbh(b []byte, k *pkt, cp int, foundJumbo *bool, payloadLen *uint32) ([]byte, int, hbhResult) {
	k.proto = "hbhopt"
	if !k.ttest(cp+1, 1) {
		return k.trunc(b), 0, hbhAbort
	}
	n := (int(k.u8(cp+1)) + 1) << 3
	if !k.ttest(cp, n) {
		return k.trunc(b), 0, hbhTrunc
	}
	b = append(b, "HBH "...)
	bp, ln := cp+2, n-2
	jumboSeen := false
	for i, optlen := 0, 0; i < ln; i += optlen {
		typ := k.u8(bp + i)
		if typ == 0 {
			optlen = 1
		} else {
			if i+1 >= ln {
				return k.trunc(b), 0, hbhTrunc
			}
			optlen = int(k.u8(bp+i+1)) + 2
		}
		if i+optlen > ln {
			return k.trunc(b), 0, hbhTrunc
		}
		switch typ {
		case 0: // Pad1
		case 1: // PadN
			if ln-i < 2 {
				b = append(b, "(padn: trunc)"...)
				return k.trunc(b), 0, hbhTrunc
			}
		case 5: // Router Alert
			if ln-i < 4 {
				b = append(b, "(rtalert: trunc)"...)
				return k.trunc(b), 0, hbhTrunc
			}
			if v := k.u8(bp + i + 1); v != 2 {
				b = append(b, "(rtalert: invalid len "...)
				b = appendUint(b, uint64(v))
				b = append(b, ')')
				return k.trunc(b), 0, hbhTrunc
			}
		case 0xc2: // Jumbo Payload
			if ln-i < 6 {
				b = append(b, "(jumbo: trunc)"...)
				return k.trunc(b), 0, hbhTrunc
			}
			if v := k.u8(bp + i + 1); v != 4 {
				b = append(b, "(jumbo: invalid len "...)
				b = appendUint(b, uint64(v))
				b = append(b, ')')
				return k.trunc(b), 0, hbhTrunc
			}
			jumbo := k.u32(bp + i + 2)
			if !jumboSeen {
				jumboSeen = true
				if *payloadLen == 0 && jumbo >= 65536 {
					*foundJumbo = true
					*payloadLen = jumbo
				}
			}
		case 0xc9: // Home Address
			if ln-i < 18 {
				b = append(b, "(homeaddr: trunc)"...)
				return k.trunc(b), 0, hbhTrunc
			}
			if v := k.u8(bp + i + 1); v < 16 {
				b = append(b, "(homeaddr: invalid len "...)
				b = appendUint(b, uint64(v))
				b = append(b, ')')
				return k.trunc(b), 0, hbhTrunc
			}
		default:
			if ln-i < 2 {
				b = append(b, "(type "...)
				b = appendUint(b, uint64(typ))
				b = append(b, ": trunc)"...)
				return k.trunc(b), 0, hbhTrunc
			}
		}
	}
	return b, n, hbhOK
}

// rt6 follows tcpdump's rt6_print.
func rt6(b []byte, k *pkt, cp int) ([]byte, int, bool) {
	b = append(b, "RT6"...)
	if !k.ttest(cp+1, 1) {
		return k.trunc(b), 0, false
	}
	ln := int(k.u8(cp + 1))
	b = append(b, " (len="...)
	b = appendUint(b, uint64(ln))
	if !k.ttest(cp+2, 1) {
		return k.trunc(b), 0, false
	}
	typ := k.u8(cp + 2)
	b = append(b, ", type="...)
	b = appendUint(b, uint64(typ))
	if typ == 0 {
		b = append(b, " [Deprecated]"...)
	}
	if !k.ttest(cp+3, 1) {
		return k.trunc(b), 0, false
	}
	b = append(b, ", segleft="...)
	b = appendUint(b, uint64(k.u8(cp+3)))
	var addrs int
	switch typ {
	case 0, 2:
		if !k.ttest(cp+4, 4) {
			return k.trunc(b), 0, false
		}
		if rsv := k.u32(cp + 4); rsv != 0 {
			b = append(b, ", rsv=0x"...)
			b = strconv.AppendUint(b, uint64(rsv), 16)
		}
		addrs = cp + 8
	case 4:
		if !k.ttest(cp+4, 1) {
			return k.trunc(b), 0, false
		}
		b = append(b, ", last-entry="...)
		b = appendUint(b, uint64(k.u8(cp+4)))
		if !k.ttest(cp+5, 1) {
			return k.trunc(b), 0, false
		}
		if fl := k.u8(cp + 5); fl != 0 {
			b = append(b, ", flags=0x"...)
			b = strconv.AppendUint(b, uint64(fl), 16)
		}
		if !k.ttest(cp+6, 2) {
			return k.trunc(b), 0, false
		}
		b = append(b, ", tag="...)
		b = strconv.AppendUint(b, uint64(k.u16(cp+6)), 16)
		addrs = cp + 8
	default:
		b = append(b, " (unknown type)"...)
		return append(b, " (invalid)"...), 0, false
	}
	if ln%2 == 1 {
		b = append(b, " (invalid length "...)
		b = appendUint(b, uint64(ln))
		b = append(b, ')')
		return append(b, " (invalid)"...), 0, false
	}
	for i := range ln / 2 {
		if !k.ttest(addrs+16*i, 16) {
			return k.trunc(b), 0, false
		}
		b = append(b, ", ["...)
		b = appendUint(b, uint64(i))
		b = append(b, ']')
		b = appendIP6(b, k.data[addrs+16*i:addrs+16*i+16])
	}
	b = append(b, ") "...)
	return b, (ln + 1) << 3, true
}
