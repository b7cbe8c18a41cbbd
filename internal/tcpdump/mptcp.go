package tcpdump

import (
	"encoding/binary"
	"strconv"
)

// mptcp follows tcpdump's print-mptcp.c (RFC 8684 options). opt is the
// whole option, kind and length included; flags are the TCP flags. It
// reports false where tcpdump prints [bad opt].
func mptcp(b []byte, opt []byte, flags uint8) ([]byte, bool) {
	n := len(opt)
	if n < 3 {
		return b, false
	}
	subtype := min(int(opt[2]>>4), 8)
	b = append(b, ' ')
	b = appendUint(b, uint64(n))
	b = append(b, ' ')
	b = append(b, mptcpNames[subtype]...)
	switch subtype {
	case 0:
		return mpCapable(b, opt, flags)
	case 1:
		return mpJoin(b, opt, flags)
	case 2:
		return mpDSS(b, opt, flags)
	case 3:
		return mpAddAddr(b, opt)
	case 4:
		if n < 4 {
			return b, false
		}
		b = append(b, " id"...)
		for _, id := range opt[3:] {
			b = append(b, ' ')
			b = appendUint(b, uint64(id))
		}
		return b, true
	case 5:
		if n != 3 && n != 4 {
			return b, false
		}
		if opt[2]&1 != 0 {
			b = append(b, " backup"...)
		} else {
			b = append(b, " non-backup"...)
		}
		if n == 4 {
			b = append(b, " id "...)
			b = appendUint(b, uint64(opt[3]))
		}
		return b, true
	case 6:
		if n != 12 {
			return b, false
		}
		b = append(b, " seq "...)
		return appendUint(b, binary.BigEndian.Uint64(opt[4:])), true
	case 7:
		if n != 12 {
			return b, false
		}
		b = append(b, " key 0x"...)
		return strconv.AppendUint(b, binary.BigEndian.Uint64(opt[4:]), 16), true
	}
	return b, true // "unknown" prints nothing more
}

var mptcpNames = [...]string{"capable", "join", "dss", "add-addr", "rem-addr", "prio", "fail", "fast-close", "unknown"}

const (
	flagSYN = 0x02
	flagACK = 0x10
)

func mpCapable(b []byte, opt []byte, flags uint8) ([]byte, bool) {
	n := len(opt)
	if !((n == 12 || n == 4) && flags&flagSYN != 0) &&
		!((n == 20 || n == 22) && flags&(flagSYN|flagACK) == flagACK) {
		return b, false
	}
	switch v := opt[2] & 0xf; v {
	case 0, 1:
		b = append(b, " v"...)
		b = appendUint(b, uint64(v))
	default:
		b = append(b, " Unknown Version ("...)
		b = appendUint(b, uint64(v))
		return append(b, ')'), true
	}
	if opt[3]&0x80 != 0 {
		b = append(b, " csum"...)
	}
	if n == 12 || n >= 20 {
		b = append(b, " {0x"...)
		b = strconv.AppendUint(b, binary.BigEndian.Uint64(opt[4:]), 16)
		if n >= 20 {
			b = append(b, ",0x"...)
			b = strconv.AppendUint(b, binary.BigEndian.Uint64(opt[12:]), 16)
		}
		b = append(b, '}')
	}
	return b, true
}

func mpJoin(b []byte, opt []byte, flags uint8) ([]byte, bool) {
	n := len(opt)
	if !(n == 12 && flags&flagSYN != 0) &&
		!(n == 16 && flags&(flagSYN|flagACK) == flagSYN|flagACK) &&
		!(n == 24 && flags&flagACK != 0) {
		return b, false
	}
	if n != 24 {
		if opt[2]&1 != 0 {
			b = append(b, " backup"...)
		}
		b = append(b, " id "...)
		b = appendUint(b, uint64(opt[3]))
	}
	switch n {
	case 12:
		b = append(b, " token 0x"...)
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(opt[4:])), 16)
		b = append(b, " nonce 0x"...)
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(opt[8:])), 16)
	case 16:
		b = append(b, " hmac 0x"...)
		b = strconv.AppendUint(b, binary.BigEndian.Uint64(opt[4:]), 16)
		b = append(b, " nonce 0x"...)
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(opt[12:])), 16)
	case 24:
		b = append(b, " hmac 0x"...)
		b = appendHex(b, opt[4:24])
	}
	return b, true
}

func mpDSS(b []byte, opt []byte, flags uint8) ([]byte, bool) {
	if len(opt) < 4 || flags&flagSYN != 0 {
		return b, false
	}
	f := opt[3]
	if f&0x10 != 0 {
		b = append(b, " fin"...)
	}
	rest := opt[4:]
	if f&0x01 != 0 { // data ACK present
		b = append(b, " ack "...)
		if f&0x02 != 0 { // 8 bytes
			if len(rest) < 8 {
				return b, false
			}
			b = appendUint(b, binary.BigEndian.Uint64(rest))
			rest = rest[8:]
		} else {
			if len(rest) < 4 {
				return b, false
			}
			b = appendUint(b, uint64(binary.BigEndian.Uint32(rest)))
			rest = rest[4:]
		}
	}
	if f&0x04 != 0 { // mapping present
		b = append(b, " seq "...)
		if f&0x08 != 0 {
			if len(rest) < 8 {
				return b, false
			}
			b = appendUint(b, binary.BigEndian.Uint64(rest))
			rest = rest[8:]
		} else {
			if len(rest) < 4 {
				return b, false
			}
			b = appendUint(b, uint64(binary.BigEndian.Uint32(rest)))
			rest = rest[4:]
		}
		if len(rest) < 4 {
			return b, false
		}
		b = append(b, " subseq "...)
		b = appendUint(b, uint64(binary.BigEndian.Uint32(rest)))
		rest = rest[4:]
		if len(rest) < 2 {
			return b, false
		}
		b = append(b, " len "...)
		b = appendUint(b, uint64(binary.BigEndian.Uint16(rest)))
		rest = rest[2:]
		if len(rest) >= 2 {
			b = append(b, " csum 0x"...)
			b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(rest)), 16)
			rest = rest[2:]
		}
	}
	return b, len(rest) == 0
}

func mpAddAddr(b []byte, opt []byte) ([]byte, bool) {
	n := len(opt)
	switch n {
	case 8, 10, 16, 18, 20, 22, 28, 30:
	default:
		return b, false
	}
	b = append(b, ' ')
	switch opt[2] & 0xf {
	case 0x6:
		b = append(b, "v0-ip6"...)
	case 0x4:
		b = append(b, "v0-ip4"...)
	case 0x1:
		b = append(b, "v1-echo"...)
	case 0x0:
		b = append(b, "v1"...)
	default:
		b = append(b, "[bad version/echo]"...)
	}
	b = append(b, " id "...)
	b = appendUint(b, uint64(opt[3]))
	switch n {
	case 8, 10, 16, 18:
		b = append(b, ' ')
		b = appendIP4(b, opt[4:8])
		if n == 10 || n == 18 {
			b = append(b, ':')
			b = appendUint(b, uint64(binary.BigEndian.Uint16(opt[8:])))
		}
		if n == 16 {
			b = append(b, " hmac 0x"...)
			b = strconv.AppendUint(b, binary.BigEndian.Uint64(opt[8:]), 16)
		}
		if n == 18 {
			b = append(b, " hmac 0x"...)
			b = strconv.AppendUint(b, binary.BigEndian.Uint64(opt[10:]), 16)
		}
	default:
		b = append(b, ' ')
		b = appendIP6(b, opt[4:20])
		if n == 22 || n == 30 {
			b = append(b, ':')
			b = appendUint(b, uint64(binary.BigEndian.Uint16(opt[20:])))
		}
		if n == 28 {
			b = append(b, " hmac 0x"...)
			b = strconv.AppendUint(b, binary.BigEndian.Uint64(opt[20:]), 16)
		}
		if n == 30 {
			b = append(b, " hmac 0x"...)
			b = strconv.AppendUint(b, binary.BigEndian.Uint64(opt[22:]), 16)
		}
	}
	return b, true
}
