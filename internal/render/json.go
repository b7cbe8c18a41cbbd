package render

import (
	"net/netip"
	"unicode/utf8"
)

// appendAddrPort appends ip:port, IPv6 as [addr]:port.
func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	return ap.AppendTo(b)
}

// appendJSONString appends s as a JSON string literal, escaping what JSON
// requires and any invalid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20 || c == 0x7f:
				b = append(b, `\u00`...)
				b = append(b, hexDigit[c>>4], hexDigit[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

const hexDigit = "0123456789abcdef"
