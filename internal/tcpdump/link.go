package tcpdump

import (
	"encoding/binary"
	"strconv"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// appendLink appends what tcpdump prints of a frame's link layer before
// its IP part, without -e: most link layers print nothing; these print
// their header's gist, in the order they are crossed.
func (p *Printer) appendLink(b []byte, k *pkt, link *wire.Link) []byte {
	switch link.Type {
	case pcap.LinkSLL2:
		name := "?"
		if p.opt.IfName != nil {
			if n := p.opt.IfName(link.IfIndex); n != "" {
				name = n
			}
		}
		b = appendPadded(b, name, 5)
		b = append(b, ' ')
		b = appendPadded(b, packetType(link.PacketType), 3)
		b = append(b, ' ')
		b = appendSLLVLANs(b, k.data, link)
	case pcap.LinkSLL:
		b = appendSLLVLANs(b, k.data, link)
	case pcap.LinkTokenRing:
		b = appendRoute(b, k.data)
	case pcap.LinkENC:
		b = appendENC(b, k.data)
	case pcap.LinkRadiotap:
		b = appendRadiotap(b, k.data)
	}
	mpls := false
	for i := range min(link.NumEncaps, wire.MaxEncaps) {
		e := &link.Encaps[i]
		off := int(e.Offset)
		switch e.Kind {
		case wire.EncapPPPoE:
			// print-pppoe.c: the code's name (none for session data),
			// the session, a space before PPP.
			b = append(b, "PPPoE "...)
			if sid := k.u16(off + 2); sid != 0 {
				b = append(b, " [ses 0x"...)
				b = strconv.AppendUint(b, uint64(sid), 16)
				b = append(b, ']')
			}
			b = append(b, ' ')
		case wire.EncapPPP:
			if link.Type == pcap.LinkPPPHDLC && i == 0 {
				// ppp_hdlc_if_print names the protocol always.
				b = appendPPPName(b, k.u16(off+2))
			}
		case wire.EncapMPLS:
			if !mpls {
				b = appendMPLS(b, k.data[off:link.HeaderLen])
				mpls = true
			}
		}
	}
	return b
}

// appendMPLS prints a label stack as print-mpls.c does without -v.
func appendMPLS(b []byte, stack []byte) []byte {
	b = append(b, "MPLS"...)
	for ; len(stack) >= 4; stack = stack[4:] {
		e := binary.BigEndian.Uint32(stack)
		b = append(b, " (label "...)
		b = appendUint(b, uint64(e>>12))
		b = append(b, ", tc "...)
		b = appendUint(b, uint64(e>>9&7))
		if e&0x100 != 0 {
			b = append(b, ", [S]"...)
		}
		b = append(b, ", ttl "...)
		b = appendUint(b, uint64(e&0xff))
		b = append(b, ')')
	}
	return append(b, ' ')
}

// appendPPPName prints the protocol of PPP in HDLC framing as
// ppp_hdlc_if_print does, before the protocol's own line.
func appendPPPName(b []byte, proto uint16) []byte {
	switch proto {
	case wire.PPPIPv4:
		b = append(b, "IP"...)
	case wire.PPPIPv6:
		b = append(b, "IP6"...)
	case wire.PPPMPLS, wire.PPPMPLSMulti:
		b = append(b, "MPLS"...)
	default:
		b = append(b, "unknown PPP protocol (0x"...)
		b = appendZeroPaddedHex(b, uint64(proto), 4)
		b = append(b, ')')
	}
	return append(b, ": "...)
}

// largestFrame names the largest frame field of a Token Ring route
// (print-token.c).
var largestFrame = [8]string{"516", "1500", "2052", "4472", "8144", "11407", "17800", "??"}

// appendRoute prints a Token Ring frame's source route, when it has one,
// as token_print does without -v: the routing control and each segment in
// hex, then the largest frame.
func appendRoute(b []byte, data []byte) []byte {
	if len(data) < 16 || data[8]&0x80 == 0 {
		return b
	}
	rcf := binary.BigEndian.Uint16(data[14:])
	b = append(b, "rt = "...)
	b = strconv.AppendUint(b, uint64(rcf), 16)
	segs := (int(rcf>>8&0x1f) - 2) / 2
	for s := range max(segs, 0) {
		off := 16 + 2*s
		if off+2 > len(data) {
			break
		}
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(data[off:])), 16)
	}
	b = append(b, " ("...)
	b = append(b, largestFrame[rcf>>4&7]...)
	return append(b, ") "...)
}

// OpenBSD enc flags (netinet/ip_ipsp.h) that print-enc.c names.
const (
	encConf = 0x0400
	encAuth = 0x0800
)

// appendENC prints an enc header as enc_if_print does: the protections
// named ("authentic", then "confidential", the last closing the list),
// or "unprotected", and the SPI.
func appendENC(b []byte, data []byte) []byte {
	if len(data) < 12 {
		return b
	}
	flags := binary.LittleEndian.Uint32(data[8:])
	if flags&0xffff0000 != 0 {
		flags = binary.BigEndian.Uint32(data[8:]) // the writer's order was the other
	}
	if flags == 0 {
		b = append(b, "(unprotected): "...)
	} else {
		b = append(b, '(')
	}
	for _, t := range []struct {
		bit  uint32
		name string
	}{{encAuth, "authentic"}, {encConf, "confidential"}} {
		if flags&t.bit == 0 {
			continue
		}
		b = append(b, t.name...)
		if flags == t.bit {
			b = append(b, "): "...)
		} else {
			b = append(b, ',')
		}
		flags &^= t.bit
	}
	b = append(b, "SPI 0x"...)
	b = appendZeroPaddedHex(b, uint64(binary.BigEndian.Uint32(data[4:])), 8)
	return append(b, ": "...)
}

// appendZeroPaddedHex appends v in lower-case hex, zero-padded to width.
func appendZeroPaddedHex(b []byte, v uint64, width int) []byte {
	const digits = "0123456789abcdef"
	var tmp [16]byte
	i := len(tmp)
	for v > 0 || i > len(tmp)-width {
		i--
		tmp[i] = digits[v&0xf]
		v >>= 4
	}
	return append(b, tmp[i:]...)
}
