package dissect

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// Dissection is one frame explained field by field.
type Dissection struct {
	Frame     FrameInfo
	Layers    []Layer    // in frame order: link, IP, IPv6 extension headers, TCP, payload, trailer
	Checksums []Checksum // the IPv4 header and TCP checksums met, in frame order
	Stop      *Stop      // where and why the dissection ended early; nil when it reached the TCP payload
	Warnings  []Warning  // problems worth a reader's attention, in frame order
	// Connection is what the frame's connection says of it, when the
	// caller analysed the capture up to it (see AddConnection); nil when
	// the frame is dissected alone.
	Connection *Connection
}

// FrameInfo is what the capture file says about the frame.
type FrameInfo struct {
	Number     int           // 1-based, across all merged files, as Wireshark counts
	Time       pcap.Time     // capture timestamp, nanoseconds since the epoch (UTC)
	TimeDigits int           // fractional digits of the capture's timestamp precision: 6 or 9
	WireLen    int           // bytes on the wire
	CapLen     int           // bytes captured
	SnapLen    int           // the interface's snapshot length; 0 if unknown
	Link       pcap.LinkType // link-layer header type
	File       string        // the file the frame came from, as the caller names it
	FileOffset int64         // byte offset of the frame's record or block in the (uncompressed) file
	Interface  string        // capture interface name, when the file gives one
}

// Truncated reports whether fewer bytes were captured than were on the wire.
func (f *FrameInfo) Truncated() bool { return f.CapLen < f.WireLen }

// Layer is one header (or the payload) and its fields.
type Layer struct {
	ID      string  // stable identifier: "ethernet", "sll", "sll2", "loopback", "ipv4", "ipv6", "ipv6.hop_by_hop", "ipv6.routing", "ipv6.fragment", "ipv6.dest_opts", "tcp", "payload", "trailer"
	Title   string  // heading in words: "Internet Protocol version 4"
	Offset  int     // offset of the layer's first byte in the frame
	Length  int     // bytes of the frame the layer covers, as captured
	Summary string  // one line: "141.142.228.5 → 192.150.187.43, protocol TCP"
	Fields  []Field // in frame order; a field not captured is left out
}

// Field is one header field, or a group of them (flags, an option).
//
// A field covers Length whole bytes from Offset; a sub-byte field (Bits > 0)
// covers Bits bits of those bytes starting Bit bits after the most
// significant bit of the byte at Offset, in the network bit order of RFC
// header diagrams.
type Field struct {
	ID      string  // stable identifier, unique among its siblings: "src_port", "flags", "syn", "mss"
	Label   string  // short name in words: "source port"
	Offset  int     // offset of the field's first byte in the frame
	Length  int     // bytes spanned
	Bit     int     // first bit, for a sub-byte field
	Bits    int     // width in bits; 0 means all Length bytes
	Raw     []byte  // the Length bytes as captured (a copy)
	Value   string  // the decoded value: "80", "SYN, ACK", "10.0.0.1"
	Meaning string  // what the value means, in words; may be empty
	Dump    bool    // Raw is data to show as a hex and ASCII dump (the payload preview)
	Fields  []Field // sub-fields: flag bits, an option's kind, length and value
}

// RawValue is the field's raw bits as a number, for fields of at most 8
// bytes; wider fields give 0.
func (f *Field) RawValue() uint64 {
	if len(f.Raw) > 8 {
		return 0
	}
	var v uint64
	for _, c := range f.Raw {
		v = v<<8 | uint64(c)
	}
	if f.Bits == 0 {
		return v
	}
	shift := len(f.Raw)*8 - f.Bit - f.Bits
	if shift < 0 || f.Bits >= 64 {
		return 0
	}
	return v >> shift & (1<<f.Bits - 1)
}

// RawHex is the field's raw bits in hexadecimal with a 0x prefix: every
// byte of a byte field, or ceil(Bits/4) digits of a sub-byte field's value.
func (f *Field) RawHex() string {
	if f.Bits == 0 {
		return "0x" + hex.EncodeToString(f.Raw)
	}
	s := strconv.FormatUint(f.RawValue(), 16)
	for n := (f.Bits + 3) / 4; len(s) < n; {
		s = "0" + s
	}
	return "0x" + s
}

// Status is the verdict on a checksum.
type Status uint8

// Checksum verdicts. The zero value is Unverified.
const (
	Unverified Status = iota // not all the bytes it covers were captured, or it covers more than this frame
	Correct
	Incorrect
)

func (s Status) String() string {
	switch s {
	case Correct:
		return "correct"
	case Incorrect:
		return "incorrect"
	}
	return "unverified"
}

// Checksum is a checksum field verified against the bytes it covers.
type Checksum struct {
	Layer    string // "ipv4" (header checksum) or "tcp" (with the pseudo-header)
	Offset   int    // offset of the checksum field in the frame
	Status   Status
	Value    uint16 // the field as sent
	Computed uint16 // what the field should hold; meaningful unless Unverified
	Offload  bool   // incorrect in a way checksum offload explains
	Reason   string // why it is unverified, or the likely cause of an incorrect one
}

// Stop says where a dissection ended before the TCP payload, and why.
type Stop struct {
	Layer     string      // the layer that could not go on, as Layer.ID
	Offset    int         // offset in the frame where it stopped
	Reason    string      // why, in words
	Malformed bool        // the stop is a malformed or truncated header, not just another protocol
	Err       *wire.Error // the malformed header, as package wire reports it
}

// Warning is a problem found in a frame that did not stop its dissection.
type Warning struct {
	Layer   string // Layer.ID of the layer it concerns
	Offset  int    // offset in the frame
	Message string
}

// Capture is what the caller knows about where a frame came from, beyond
// the frame itself.
type Capture struct {
	File       string // name of the file, as it should be shown
	SnapLen    int    // the interface's snapshot length, 0 if unknown
	Interface  string // interface name, if known
	TimeDigits int    // 6 or 9 fractional digits of timestamp precision; 0 infers it from the timestamp
}

// Frame dissects frame f. It never fails: what cannot be decoded is
// described by the Dissection's Stop and Warnings. The Dissection keeps
// copies of the bytes it shows, not f.Data.
func Frame(f *pcap.Frame, c Capture) *Dissection {
	d := &Dissection{Frame: FrameInfo{
		Number:     f.Number,
		Time:       f.Time,
		TimeDigits: c.TimeDigits,
		WireLen:    f.Length,
		CapLen:     len(f.Data),
		SnapLen:    c.SnapLen,
		Link:       f.Link,
		File:       c.File,
		FileOffset: f.Offset,
		Interface:  c.Interface,
	}}
	if d.Frame.TimeDigits == 0 {
		// The precision is the file's, which a pcap.Frame does not carry:
		// a timestamp with a sub-microsecond part came from a nanosecond file.
		d.Frame.TimeDigits = 6
		if _, ns := f.Time.Unix(); ns%1000 != 0 {
			d.Frame.TimeDigits = 9
		}
	}
	b := &builder{d: d, frame: f, data: f.Data, cur: -1}
	// wire.Decode is the authority on what is malformed: its errors are
	// the ones the rest of tcplens reports, so the dissection stops with
	// the same words.
	var seg wire.Segment
	if err := wire.Decode(f, &seg); err != nil {
		errors.As(err, &b.derr)
	}
	b.link()
	return d
}

// builder accumulates a Dissection.
type builder struct {
	d     *Dissection
	frame *pcap.Frame
	data  []byte      // the captured bytes
	derr  *wire.Error // what wire.Decode found malformed, if anything
	cur   int         // index of the current layer, -1 before the first

	limit   int       // when nonzero, fields end here: the end of the IP datagram while in TCP
	linkHdr wire.Link // the link layer, for the checksums' offload hints
	ipEnd   int       // end of the IP datagram in the frame, as its header states it; 0 if unknown
}

// begin starts a new layer at off.
func (b *builder) begin(id, title string, off int) {
	b.d.Layers = append(b.d.Layers, Layer{ID: id, Title: title, Offset: off})
	b.cur = len(b.d.Layers) - 1
}

// layer returns the current layer.
func (b *builder) layer() *Layer { return &b.d.Layers[b.cur] }

// end sets the current layer's length from its offset to end, bounded by
// the bytes captured.
func (b *builder) end(end int) {
	l := b.layer()
	l.Length = max(0, min(end, len(b.data))-l.Offset)
}

// has reports whether n bytes at off were captured.
func (b *builder) has(off, n int) bool { return off >= 0 && n >= 0 && off+n <= len(b.data) }

// mk makes a whole-byte field. Raw holds what was captured of it.
func (b *builder) mk(id, label string, off, n int, value, meaning string) Field {
	f := Field{ID: id, Label: label, Offset: off, Length: n, Value: value, Meaning: meaning}
	lim := len(b.data)
	if b.limit > 0 {
		lim = min(lim, b.limit)
	}
	if off >= 0 && off < lim && n > 0 {
		f.Raw = bytes.Clone(b.data[off:min(off+n, lim)])
	}
	return f
}

// mkBits makes a sub-byte field: width bits from bit of the n bytes at off.
func (b *builder) mkBits(id, label string, off, n, bit, width int, value, meaning string) Field {
	f := b.mk(id, label, off, n, value, meaning)
	f.Bit, f.Bits = bit, width
	return f
}

// captured reports whether all of f's bytes were captured.
func captured(f *Field) bool { return len(f.Raw) == f.Length }

// put appends f to the current layer if all its bytes were captured. It
// reports whether it did.
func (b *builder) put(f Field) bool {
	if !captured(&f) {
		return false
	}
	l := b.layer()
	l.Fields = append(l.Fields, f)
	return true
}

// sub appends child to parent's sub-fields if it was captured.
func sub(parent *Field, child Field) {
	if captured(&child) {
		parent.Fields = append(parent.Fields, child)
	}
}

// warn records a warning about the current layer.
func (b *builder) warn(off int, format string, args ...any) {
	id := ""
	if b.cur >= 0 {
		id = b.layer().ID
	}
	b.d.Warnings = append(b.d.Warnings, Warning{Layer: id, Offset: off, Message: fmt.Sprintf(format, args...)})
}

// stop ends the dissection at off for a reason that is not malformation.
func (b *builder) stop(layer string, off int, format string, args ...any) {
	b.d.Stop = &Stop{Layer: layer, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// stopErr ends the dissection at a malformed or truncated header.
func (b *builder) stopErr(layer string, err *wire.Error) {
	b.d.Stop = &Stop{Layer: layer, Offset: err.Offset, Reason: err.Error(), Malformed: true, Err: err}
}

// malformed returns the error wire.Decode reported for layer, or a new one
// with msg if Decode said something else (it stops at the first problem).
func (b *builder) malformed(layer string, off int, format string, args ...any) *wire.Error {
	if b.derr != nil && b.derr.Layer == layer && b.derr.Offset == off {
		return b.derr
	}
	return wire.NewError(layer, off, fmt.Sprintf(format, args...))
}

// asWireError converts an error from a wire constructor.
func asWireError(err error, layer string, off int) *wire.Error {
	var we *wire.Error
	if errors.As(err, &we) {
		return we
	}
	return wire.NewError(layer, off, err.Error())
}

// padded returns b if it holds at least n bytes, else a zero-padded copy
// of length n. Views built on a padded copy let the dissection read the
// fields of a header cut short by the capture through the view's
// accessors; put then keeps only the fields whose bytes were captured.
func padded(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	p := make([]byte, n)
	copy(p, b)
	return p
}

// plural returns "1 byte" or "n bytes".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

func itoa(n int) string { return strconv.Itoa(n) }

func utoa[T ~uint8 | ~uint16 | ~uint32 | ~uint64](n T) string {
	return strconv.FormatUint(uint64(n), 10)
}

func hex16(v uint16) string { return fmt.Sprintf("0x%04x", v) }
