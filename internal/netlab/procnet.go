package netlab

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strconv"
)

// procSock is one line of /proc/net/tcp or /proc/net/tcp6.
type procSock struct {
	Local, Remote netip.AddrPort
	State         uint8
	Timer         uint8 // the "tr" column: 3 for a TIME_WAIT socket
}

// parseProcNet calls fn for each socket line of a /proc/net/tcp or tcp6
// table in b, skipping the header and any line it cannot parse. The
// kernel prints each 32-bit word of an address as a host-order integer in
// hex (%08X of the __be32), so the bytes of each word come back with the
// host's byte order, and ports as plain hex numbers.
func parseProcNet(b []byte, fn func(procSock)) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		f := bytes.Fields(line)
		if len(f) < 4 || !bytes.HasSuffix(f[0], []byte(":")) {
			continue // header or garbage
		}
		local, ok1 := parseHexAddrPort(f[1])
		remote, ok2 := parseHexAddrPort(f[2])
		st, err := strconv.ParseUint(string(f[3]), 16, 8)
		if !ok1 || !ok2 || err != nil {
			continue
		}
		var timer uint64
		if len(f) > 5 {
			tr, _, _ := bytes.Cut(f[5], []byte(":"))
			timer, _ = strconv.ParseUint(string(tr), 16, 8)
		}
		fn(procSock{Local: local, Remote: remote, State: uint8(st), Timer: uint8(timer)})
	}
}

// parseHexAddrPort parses "0100007F:1F40" or its 32-hex-digit IPv6 form.
func parseHexAddrPort(s []byte) (netip.AddrPort, bool) {
	i := bytes.IndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(string(s[i+1:]), 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	hex := s[:i]
	var a netip.Addr
	switch len(hex) {
	case 8:
		var b [4]byte
		if !hexWord(hex, b[:]) {
			return netip.AddrPort{}, false
		}
		a = netip.AddrFrom4(b)
	case 32:
		var b [16]byte
		for w := 0; w < 4; w++ {
			if !hexWord(hex[8*w:8*w+8], b[4*w:]) {
				return netip.AddrPort{}, false
			}
		}
		a = netip.AddrFrom16(b).Unmap()
	default:
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, uint16(port)), true
}

// hexWord decodes 8 hex digits, a host-order 32-bit integer, into the 4
// bytes it was printed from.
func hexWord(h []byte, out []byte) bool {
	v, err := strconv.ParseUint(string(h), 16, 32)
	if err != nil {
		return false
	}
	binary.NativeEndian.PutUint32(out, uint32(v))
	return true
}
