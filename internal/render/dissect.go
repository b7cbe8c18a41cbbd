// Package render formats tcplens's models for people and programs: text
// for a terminal and JSON with a stable, documented schema. It formats
// only; it never re-derives what the models say.
package render

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tcplens/tcplens/internal/dissect"
	"github.com/tcplens/tcplens/internal/pcap"
)

// DissectOptions selects how Dissection formats.
type DissectOptions struct {
	JSON bool // one JSON object on one line (see the schema below) instead of text
}

// Dissection writes d: as aligned text for a terminal, or with opt.JSON as
// one JSON object followed by a newline.
//
// The JSON schema (stable; fields are only ever added):
//
//	{
//	  "frame": {
//	    "number": 1,                      // 1-based across merged files, as Wireshark counts
//	    "time": "2013-03-07T21:42:06.869344Z", // RFC 3339, UTC, with the capture's precision
//	    "epoch": "1362692526.869344",     // seconds since the epoch, exact, as a string
//	    "wire_length": 78, "captured_length": 78, "truncated": false,
//	    "snaplen": 65535,                 // 0 if unknown
//	    "link_type": 1, "link_type_name": "Ethernet",
//	    "file": "x.pcap", "file_offset": 24, // byte offset of the record or block
//	    "interface": "eth0"               // omitted if the file names none
//	  },
//	  "layers": [{
//	    "name": "tcp",                    // ethernet sll sll2 loopback ipv4 ipv6 ipv6.hop_by_hop
//	                                      // ipv6.routing ipv6.fragment ipv6.dest_opts tcp payload trailer
//	    "title": "Transmission Control Protocol",
//	    "offset": 34, "length": 44,       // bytes of the frame, as captured
//	    "summary": "port 59856 → 80, SYN, …",
//	    "fields": [{
//	      "name": "data_offset",          // stable id, unique among siblings
//	      "label": "data offset",
//	      "offset": 46, "length": 1,      // bytes spanned in the frame; 0 for a derived fact
//	      "bits": {"first": 0, "count": 4}, // only for sub-byte fields; first counts from the
//	                                      // most significant bit of the byte at offset
//	      "raw": "0xb",                   // hex: every byte, or a sub-byte field's value
//	      "value": "11",
//	      "meaning": "a 44-byte header, so 24 bytes of options", // omitted if none
//	      "fields": [ … ]                 // sub-fields: flag bits, option kind/length/value
//	    }]
//	  }],
//	  "checksums": [{"layer": "tcp", "offset": 50, "status": "correct", // or incorrect, unverified
//	                 "value": "0x3bc0", "computed": "0x3bc0", // computed omitted if unverified
//	                 "offload": false, "reason": "…"}],
//	  "stop": {"layer": "ipv4", "offset": 23, "reason": "…", "malformed": false}, // or null
//	  "warnings": [{"layer": "tcp", "offset": 50, "message": "…"}],
//	  "connection": {                     // present when the frame was analysed in its connection
//	    "id": 1, "dir": "c2s",
//	    "sender":   {"role": "client", "addr": "…", "before": "SYN_SENT", "after": "ESTABLISHED", "changes": [{end, from, to, reason}]},
//	    "receiver": {"role": "server", …},
//	    "seq": 1, "ack": 1,               // relative; ack null without the ACK flag
//	    "sack": [[7241, 8689]],           // the SACK blocks, relative as ack is; omitted if none
//	    "seq_base": 3456574116, "ack_base": 3220058239, "seq_base_is_isn": true, "ack_base_is_isn": true,
//	    "receives": "The server … is SYN_RECV; ack … = ISS+1 acknowledges its SYN, so it becomes ESTABLISHED …",
//	    "sends": "…", "analysis": ["duplicate_ack"]
//	  }
//	}
//
// Option fields are named by kind and offset in the options area
// ("mss@0", "timestamps@4"); fields cut short by the capture are left out.
func Dissection(w io.Writer, d *dissect.Dissection, opt DissectOptions) error {
	if opt.JSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(dissectToJSON(d))
	}
	bw := bufio.NewWriter(w)
	writeDissectText(bw, d)
	return bw.Flush()
}

// JSON output structs: the schema above, independent of the model's Go types.

type dissectionJSON struct {
	Frame     dissectFrameJSON      `json:"frame"`
	Layers    []dissectLayerJSON    `json:"layers"`
	Checksums []dissectChecksumJSON `json:"checksums"`
	Stop      *dissectStopJSON      `json:"stop"`
	Warnings  []dissectWarningJSON  `json:"warnings"`
	// Connection is present when the frame was analysed in its connection.
	Connection *dissectConnJSON `json:"connection,omitempty"`
}

type dissectFrameJSON struct {
	Number         int    `json:"number"`
	Time           string `json:"time"`
	Epoch          string `json:"epoch"`
	WireLength     int    `json:"wire_length"`
	CapturedLength int    `json:"captured_length"`
	Truncated      bool   `json:"truncated"`
	SnapLen        int    `json:"snaplen"`
	LinkType       int    `json:"link_type"`
	LinkTypeName   string `json:"link_type_name"`
	File           string `json:"file"`
	FileOffset     int64  `json:"file_offset"`
	Interface      string `json:"interface,omitempty"`
}

type dissectLayerJSON struct {
	Name    string             `json:"name"`
	Title   string             `json:"title"`
	Offset  int                `json:"offset"`
	Length  int                `json:"length"`
	Summary string             `json:"summary"`
	Fields  []dissectFieldJSON `json:"fields"`
}

type dissectFieldJSON struct {
	Name    string             `json:"name"`
	Label   string             `json:"label"`
	Offset  int                `json:"offset"`
	Length  int                `json:"length"`
	Bits    *dissectBitsJSON   `json:"bits,omitempty"`
	Raw     string             `json:"raw,omitempty"`
	Value   string             `json:"value"`
	Meaning string             `json:"meaning,omitempty"`
	Fields  []dissectFieldJSON `json:"fields,omitempty"`
}

type dissectBitsJSON struct {
	First int `json:"first"`
	Count int `json:"count"`
}

type dissectChecksumJSON struct {
	Layer    string `json:"layer"`
	Offset   int    `json:"offset"`
	Status   string `json:"status"`
	Value    string `json:"value"`
	Computed string `json:"computed,omitempty"`
	Offload  bool   `json:"offload"`
	Reason   string `json:"reason,omitempty"`
}

type dissectStopJSON struct {
	Layer     string `json:"layer"`
	Offset    int    `json:"offset"`
	Reason    string `json:"reason"`
	Malformed bool   `json:"malformed"`
}

type dissectWarningJSON struct {
	Layer   string `json:"layer"`
	Offset  int    `json:"offset"`
	Message string `json:"message"`
}

func dissectToJSON(d *dissect.Dissection) dissectionJSON {
	f := &d.Frame
	out := dissectionJSON{
		Frame: dissectFrameJSON{
			Number:         f.Number,
			Time:           dissectRFC3339(f.Time, f.TimeDigits),
			Epoch:          dissectEpoch(f.Time, f.TimeDigits),
			WireLength:     f.WireLen,
			CapturedLength: f.CapLen,
			Truncated:      f.Truncated(),
			SnapLen:        f.SnapLen,
			LinkType:       int(f.Link),
			LinkTypeName:   f.Link.String(),
			File:           f.File,
			FileOffset:     f.FileOffset,
			Interface:      f.Interface,
		},
		Layers:    []dissectLayerJSON{},
		Checksums: []dissectChecksumJSON{},
		Warnings:  []dissectWarningJSON{},
	}
	for i := range d.Layers {
		l := &d.Layers[i]
		out.Layers = append(out.Layers, dissectLayerJSON{
			Name: l.ID, Title: l.Title, Offset: l.Offset, Length: l.Length, Summary: l.Summary,
			Fields: dissectFieldsToJSON(l.Fields),
		})
	}
	for _, c := range d.Checksums {
		cj := dissectChecksumJSON{Layer: c.Layer, Offset: c.Offset, Status: c.Status.String(),
			Value: fmt.Sprintf("0x%04x", c.Value), Offload: c.Offload, Reason: c.Reason}
		if c.Status != dissect.Unverified {
			cj.Computed = fmt.Sprintf("0x%04x", c.Computed)
		}
		out.Checksums = append(out.Checksums, cj)
	}
	if s := d.Stop; s != nil {
		out.Stop = &dissectStopJSON{Layer: s.Layer, Offset: s.Offset, Reason: s.Reason, Malformed: s.Malformed}
	}
	for _, w := range d.Warnings {
		out.Warnings = append(out.Warnings, dissectWarningJSON{Layer: w.Layer, Offset: w.Offset, Message: w.Message})
	}
	out.Connection = dissectConnToJSON(d.Connection)
	return out
}

func dissectFieldsToJSON(fs []dissect.Field) []dissectFieldJSON {
	if len(fs) == 0 {
		return []dissectFieldJSON{}
	}
	out := make([]dissectFieldJSON, 0, len(fs))
	for i := range fs {
		f := &fs[i]
		j := dissectFieldJSON{Name: f.ID, Label: f.Label, Offset: f.Offset, Length: f.Length,
			Value: f.Value, Meaning: f.Meaning}
		if f.Bits > 0 {
			j.Bits = &dissectBitsJSON{First: f.Bit, Count: f.Bits}
		}
		if len(f.Raw) > 0 {
			j.Raw = f.RawHex()
		}
		if len(f.Fields) > 0 {
			j.Fields = dissectFieldsToJSON(f.Fields)
		}
		out = append(out, j)
	}
	return out
}

// dissectFraction returns the fractional seconds of t with digits digits.
func dissectFraction(t pcap.Time, digits int) (sec int64, frac string) {
	sec, ns := t.Unix()
	if digits <= 0 || digits > 9 {
		digits = 9
	}
	v := ns
	for range 9 - digits {
		v /= 10
	}
	s := strconv.FormatInt(v, 10)
	return sec, strings.Repeat("0", digits-len(s)) + s
}

func dissectRFC3339(t pcap.Time, digits int) string {
	sec, frac := dissectFraction(t, digits)
	return time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05") + "." + frac + "Z"
}

func dissectEpoch(t pcap.Time, digits int) string {
	sec, frac := dissectFraction(t, digits)
	return strconv.FormatInt(sec, 10) + "." + frac
}

// Text.

// dissectRawMax is the widest raw value the text shows; wider fields
// (addresses, keys, digests, whole options) show only their value.
const dissectRawMax = 10

func writeDissectText(w *bufio.Writer, d *dissect.Dissection) {
	f := &d.Frame
	sec, frac := dissectFraction(f.Time, f.TimeDigits)
	fmt.Fprintf(w, "Frame %d: %d bytes on the wire, %d captured\n", f.Number, f.WireLen, f.CapLen)
	rows := [][2]string{
		{"time", fmt.Sprintf("%s.%s UTC, epoch %d.%s", time.Unix(sec, 0).UTC().Format("2006-01-02 15:04:05"), frac, sec, frac)},
		{"on the wire", dissectPlural(f.WireLen, "byte")},
		{"captured", dissectCaptured(f)},
		{"link type", fmt.Sprintf("%s (LINKTYPE %d)", f.Link, uint16(f.Link))},
	}
	if f.File != "" {
		rows = append(rows, [2]string{"file", fmt.Sprintf("%s, record at byte %d (0x%x)", f.File, f.FileOffset, f.FileOffset)})
	}
	if f.Interface != "" {
		rows = append(rows, [2]string{"interface", f.Interface})
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-12s %s\n", r[0], r[1])
	}

	offW := 3
	for i := range d.Layers {
		l := &d.Layers[i]
		offW = max(offW, len(strconv.Itoa(l.Offset+l.Length)))
	}
	for i := range d.Layers {
		writeDissectLayer(w, &d.Layers[i], offW)
	}
	if s := d.Stop; s != nil {
		if s.Malformed {
			// The reason is a *wire.Error's text, which names the layer and byte.
			fmt.Fprintf(w, "\nStopped, malformed: %s\n", s.Reason)
		} else {
			fmt.Fprintf(w, "\nStopped at byte %d (%s): %s\n", s.Offset, s.Layer, s.Reason)
		}
	}
	if len(d.Warnings) > 0 {
		fmt.Fprintf(w, "\nWarnings:\n")
		for _, wn := range d.Warnings {
			fmt.Fprintf(w, "  byte %d (%s): %s\n", wn.Offset, wn.Layer, wn.Message)
		}
	}
	writeDissectConn(w, d.Connection)
}

func dissectCaptured(f *dissect.FrameInfo) string {
	s := dissectPlural(f.CapLen, "byte")
	switch {
	case !f.Truncated():
		s += ", all of it"
	case f.SnapLen > 0 && f.CapLen >= f.SnapLen:
		s += fmt.Sprintf(", %d fewer than on the wire: truncated by the snaplen", f.WireLen-f.CapLen)
	default:
		s += fmt.Sprintf(", %d fewer than on the wire: truncated", f.WireLen-f.CapLen)
	}
	if f.SnapLen > 0 {
		s += fmt.Sprintf(" (snaplen %d)", f.SnapLen)
	}
	return s
}

// dissectCols are the widths of a layer's columns.
type dissectCols struct {
	off, bits, label, raw int
}

func writeDissectLayer(w *bufio.Writer, l *dissect.Layer, offW int) {
	fmt.Fprintf(w, "\n%s", l.Title)
	switch {
	case l.Length > 0:
		fmt.Fprintf(w, ", bytes %d-%d", l.Offset, l.Offset+l.Length-1)
	default:
		fmt.Fprintf(w, ", at byte %d", l.Offset)
	}
	if l.Summary != "" {
		fmt.Fprintf(w, ": %s", l.Summary)
	}
	w.WriteByte('\n')
	c := dissectCols{off: offW}
	dissectMeasure(l.Fields, 0, &c)
	for i := range l.Fields {
		writeDissectField(w, &l.Fields[i], 0, &c)
	}
}

func dissectMeasure(fs []dissect.Field, depth int, c *dissectCols) {
	for i := range fs {
		f := &fs[i]
		c.bits = max(c.bits, len(dissectBits(f)))
		c.label = max(c.label, 2*depth+utf8.RuneCountInString(f.Label))
		c.raw = max(c.raw, len(dissectRaw(f)))
		dissectMeasure(f.Fields, depth+1, c)
	}
}

// dissectRaw is the raw column of a field in text.
func dissectRaw(f *dissect.Field) string {
	if f.Dump || len(f.Raw) == 0 {
		return ""
	}
	s := f.RawHex()
	if len(s) > dissectRawMax {
		return ""
	}
	return s
}

func writeDissectField(w *bufio.Writer, f *dissect.Field, depth int, c *dissectCols) {
	var sb strings.Builder
	off := ""
	if f.Length > 0 || !f.Dump {
		off = strconv.Itoa(f.Offset)
	}
	sb.WriteString("  ")
	dissectPad(&sb, off, c.off, true)
	sb.WriteString("  ")
	if c.bits > 0 {
		dissectPad(&sb, dissectBits(f), c.bits, false)
		sb.WriteString("  ")
	}
	dissectPad(&sb, strings.Repeat("  ", depth)+f.Label, c.label, false)
	sb.WriteString("  ")
	if c.raw > 0 {
		dissectPad(&sb, dissectRaw(f), c.raw, false)
		sb.WriteString("  ")
	}
	v := f.Value
	if f.Meaning != "" {
		if v != "" {
			v += ": "
		}
		v += f.Meaning
	}
	sb.WriteString(v)
	w.WriteString(strings.TrimRight(sb.String(), " "))
	w.WriteByte('\n')
	if f.Dump {
		indent := 2
		if c.bits > 0 {
			indent += c.bits + 2
		}
		writeDissectDump(w, f.Raw, f.Offset, c.off, indent+2*depth+2)
	}
	for i := range f.Fields {
		writeDissectField(w, &f.Fields[i], depth+1, c)
	}
}

// dissectPad writes s in a column of width n, left- or right-aligned.
func dissectPad(sb *strings.Builder, s string, n int, right bool) {
	k := n - utf8.RuneCountInString(s)
	if right {
		sb.WriteString(strings.Repeat(" ", max(0, k)))
	}
	sb.WriteString(s)
	if !right {
		sb.WriteString(strings.Repeat(" ", max(0, k)))
	}
}

// dissectBits draws a sub-byte field's bits Wireshark-style over the bytes
// it spans: "0100 ....", ".... ...0 0001 0010"; "" for whole-byte fields.
func dissectBits(f *dissect.Field) string {
	if f.Bits == 0 || len(f.Raw) != f.Length {
		return ""
	}
	var sb strings.Builder
	for i := range f.Length * 8 {
		if i > 0 && i%4 == 0 {
			sb.WriteByte(' ')
		}
		if i < f.Bit || i >= f.Bit+f.Bits {
			sb.WriteByte('.')
			continue
		}
		if f.Raw[i/8]&(0x80>>(i%8)) != 0 {
			sb.WriteByte('1')
		} else {
			sb.WriteByte('0')
		}
	}
	return sb.String()
}

// writeDissectDump writes b as hex and ASCII, 16 bytes a line, each line led by
// the frame offset of its first byte in the offset column.
func writeDissectDump(w *bufio.Writer, b []byte, off, offW, indent int) {
	for i := 0; i < len(b); i += 16 {
		line := b[i:min(i+16, len(b))]
		var sb strings.Builder
		fmt.Fprintf(&sb, "  %*d", offW, off+i)
		sb.WriteString(strings.Repeat(" ", indent))
		for j := range 16 {
			if j == 8 {
				sb.WriteByte(' ')
			}
			if j < len(line) {
				fmt.Fprintf(&sb, "%02x ", line[j])
			} else {
				sb.WriteString("   ")
			}
		}
		sb.WriteByte(' ')
		for _, c := range line {
			if c >= 0x20 && c < 0x7f {
				sb.WriteByte(c)
			} else {
				sb.WriteByte('.')
			}
		}
		w.WriteString(sb.String())
		w.WriteByte('\n')
	}
}

func dissectPlural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
