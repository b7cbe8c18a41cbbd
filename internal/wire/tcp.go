package wire

import (
	"encoding/binary"
	"strings"

	"github.com/tcplens/tcplens/internal/seq"
)

// TCP is a view of a TCP header (RFC 9293 section 3.1).
type TCP []byte

// TCPMinHeaderLen is the length of a header without options.
const TCPMinHeaderLen = 20

// ParseTCP checks that b starts with the fixed 20 bytes of a TCP header.
// Options and payload may be cut short by the capture.
func ParseTCP(b []byte, off int) (TCP, error) {
	if len(b) < TCPMinHeaderLen {
		return nil, errorf("tcp", off, "%d bytes captured, the header needs %d", len(b), TCPMinHeaderLen)
	}
	return TCP(b), nil
}

// SrcPort is the source port.
func (b TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(b[0:]) }

// DstPort is the destination port.
func (b TCP) DstPort() uint16 { return binary.BigEndian.Uint16(b[2:]) }

// Seq is the sequence number.
func (b TCP) Seq() seq.Num { return seq.Num(binary.BigEndian.Uint32(b[4:])) }

// Ack is the acknowledgment number; meaningful only with the ACK flag.
func (b TCP) Ack() seq.Num { return seq.Num(binary.BigEndian.Uint32(b[8:])) }

// DataOffset is the header length in 32-bit words.
func (b TCP) DataOffset() uint8 { return b[12] >> 4 }

// HeaderLen is the header length in bytes, as the data offset claims it.
func (b TCP) HeaderLen() int { return int(b[12]>>4) * 4 }

// Reserved is the three reserved bits between the data offset and the flags.
func (b TCP) Reserved() uint8 { return (b[12] >> 1) & 7 }

// Flags is the 9 control bits, AE included.
func (b TCP) Flags() Flags { return Flags(b[12]&1)<<8 | Flags(b[13]) }

// Window is the raw 16-bit window field, before any scaling.
func (b TCP) Window() uint16 { return binary.BigEndian.Uint16(b[14:]) }

// Checksum is the checksum field.
func (b TCP) Checksum() uint16 { return binary.BigEndian.Uint16(b[16:]) }

// Urgent is the urgent pointer.
func (b TCP) Urgent() uint16 { return binary.BigEndian.Uint16(b[18:]) }

// Options returns the captured option bytes.
func (b TCP) Options() []byte {
	hl := b.HeaderLen()
	if hl <= TCPMinHeaderLen {
		return nil
	}
	return b[TCPMinHeaderLen:min(hl, len(b))]
}

// Flags is the set of TCP control bits.
type Flags uint16

// The control bits, in header order from the least significant. AE
// (accurate ECN, RFC 9768; formerly NS) is bit 8.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	AE
)

// Has reports whether every bit of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// Any reports whether some bit of g is set in f.
func (f Flags) Any(g Flags) bool { return f&g != 0 }

// String gives the flags the way tcpdump prints them between brackets:
// F S R P . U E W in that order, "none" for no flags. AE is not shown, as
// tcpdump does not show it.
func (f Flags) String() string {
	var buf [8]byte
	b := f.AppendTcpdump(buf[:0])
	return string(b)
}

// AppendTcpdump appends the tcpdump spelling of f.
func (f Flags) AppendTcpdump(b []byte) []byte {
	const letters = "FSRP.UEW"
	n := len(b)
	for i := range 8 {
		if f&(1<<i) != 0 {
			b = append(b, letters[i])
		}
	}
	if len(b) == n {
		b = append(b, "none"...)
	}
	return b
}

var flagNames = [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"}

// Names lists the set flags by name, least significant first, as Wireshark
// does ("SYN, ACK", "PSH, ACK").
func (f Flags) Names() string {
	var parts []string
	for i := range flagNames {
		if f&(1<<i) != 0 {
			parts = append(parts, flagNames[i])
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
