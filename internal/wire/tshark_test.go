package wire_test

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// tsharkDir holds tshark's view of every capture, made by
// scripts/make-tshark-golden.sh.
const tsharkDir = "../../testdata/tshark"

// tsharkFields are the columns of a tshark file, in order.
var tsharkFields = []string{
	"frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.ttl",
	"ipv6.hlim", "ip.id", "ip.dsfield.ecn", "tcp.srcport", "tcp.dstport",
	"tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.len", "tcp.hdr_len",
	"tcp.window_size_value", "tcp.urgent_pointer", "tcp.checksum",
	"tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm",
	"tcp.options.sack_le", "tcp.options.sack_re",
	"tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr",
	"tcp.option_kind",
}

// tsharkRow is one line of a tshark file, indexed like tsharkFields.
type tsharkRow []string

func (r tsharkRow) get(field string) string {
	for i, f := range tsharkFields {
		if f == field {
			return r[i]
		}
	}
	panic("unknown tshark field " + field)
}

// tsharkFile is tshark's output for one capture.
type tsharkFile struct {
	rows map[int]tsharkRow // by frame number
	// stoppedAfter is the last frame tshark read when it gave up on a
	// corrupt or cut-short file, 0 if it read the whole file.
	stoppedAfter int
}

func readTshark(t *testing.T, name string) tsharkFile {
	t.Helper()
	fh, err := os.Open(filepath.Join(tsharkDir, name+".tsv"))
	if err != nil {
		t.Fatalf("%v (run scripts/make-tshark-golden.sh)", err)
	}
	defer fh.Close()
	tf := tsharkFile{rows: make(map[int]tsharkRow)}
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if line == 1 {
			if text != strings.Join(tsharkFields, "\t") {
				t.Fatalf("%s.tsv: header is %q, want the fields of tsharkFields", name, text)
			}
			continue
		}
		if rest, ok := strings.CutPrefix(text, "# tshark stopped after frame "); ok {
			n, _, _ := strings.Cut(rest, ":")
			tf.stoppedAfter, err = strconv.Atoi(n)
			if err != nil {
				t.Fatalf("%s.tsv:%d: %q", name, line, text)
			}
			continue
		}
		row := tsharkRow(strings.Split(text, "\t"))
		if len(row) != len(tsharkFields) {
			t.Fatalf("%s.tsv:%d: %d fields, want %d", name, line, len(row), len(tsharkFields))
		}
		n, err := strconv.Atoi(row[0])
		if err != nil {
			t.Fatalf("%s.tsv:%d: frame number %q", name, line, row[0])
		}
		tf.rows[n] = row
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return tf
}

// tsharkView renders a decoded segment as tshark prints the same fields.
func tsharkView(s *wire.Segment) tsharkRow {
	r := make(tsharkRow, len(tsharkFields))
	set := func(field, v string) {
		for i, f := range tsharkFields {
			if f == field {
				r[i] = v
				return
			}
		}
		panic("unknown tshark field " + field)
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	set("frame.number", "")
	if s.IPVersion == 4 {
		set("ip.src", s.Src.Addr().String())
		set("ip.dst", s.Dst.Addr().String())
		set("ip.ttl", u(uint64(s.TTL)))
		set("ip.id", fmt.Sprintf("0x%04x", s.IPID))
		set("ip.dsfield.ecn", u(uint64(s.ECN)))
	} else {
		set("ipv6.src", s.Src.Addr().String())
		set("ipv6.dst", s.Dst.Addr().String())
		set("ipv6.hlim", u(uint64(s.TTL)))
	}
	set("tcp.srcport", u(uint64(s.Src.Port())))
	set("tcp.dstport", u(uint64(s.Dst.Port())))
	set("tcp.seq_raw", u(uint64(s.Seq)))
	set("tcp.ack_raw", u(uint64(s.Ack)))
	set("tcp.flags", fmt.Sprintf("0x%04x", uint16(s.TCP.Reserved())<<9|uint16(s.Flags)))
	set("tcp.len", u(uint64(s.PayloadLen)))
	set("tcp.hdr_len", u(uint64(s.HeaderLen)))
	set("tcp.window_size_value", u(uint64(s.Window)))
	set("tcp.urgent_pointer", u(uint64(s.Urgent)))
	set("tcp.checksum", fmt.Sprintf("0x%04x", s.TCP.Checksum()))
	o := &s.Options
	if o.Has(wire.HasMSS) {
		set("tcp.options.mss_val", u(uint64(o.MSS)))
	}
	if o.Has(wire.HasWindowScale) {
		set("tcp.options.wscale.shift", u(uint64(o.WindowScale)))
	}
	if o.Has(wire.HasSACKPermitted) {
		set("tcp.options.sack_perm", "0402") // tshark prints the option's bytes
	}
	var le, re []string
	for _, b := range o.SACKBlocks() {
		le = append(le, u(uint64(b.Start)))
		re = append(re, u(uint64(b.End)))
	}
	set("tcp.options.sack_le", strings.Join(le, ";"))
	set("tcp.options.sack_re", strings.Join(re, ";"))
	if o.Has(wire.HasTimestamps) {
		set("tcp.options.timestamp.tsval", u(uint64(o.TSVal)))
		set("tcp.options.timestamp.tsecr", u(uint64(o.TSEcr)))
	}
	var kinds []string
	it := s.TCP.OptionIter(0)
	for {
		opt, ok := it.Next()
		if !ok {
			break
		}
		kinds = append(kinds, u(uint64(opt.Kind)))
	}
	set("tcp.option_kind", strings.Join(kinds, ";"))
	return r
}

func TestMatchesTshark(t *testing.T) {
	// exact: every field equal; ruled: every field equal once a rule of
	// tshark's own is applied to Decode's value; partial: the fields a
	// malformed header leaves comparable.
	total, exact, ruled, partial := 0, 0, 0, 0
	explained := make(map[string]int)
	for _, file := range captures(t) {
		name := captureName(file)
		t.Run(name, func(t *testing.T) {
			ts := readTshark(t, name)
			seen := make(map[int]bool)
			var s wire.Segment
			eachFrame(t, file, func(f *pcap.Frame) {
				total++
				seen[f.Number] = true
				err := wire.Decode(f, &s)
				row, listed := ts.rows[f.Number]
				var got tsharkRow
				if s.TCP != nil {
					got = tsharkView(&s)
				}
				c := explainTshark(f, &s, err, row, listed, ts.stoppedAfter, got)
				if c.name != "" {
					explained[c.name]++
				}
				switch {
				case c.name != "" && c.skip == nil:
					return
				case !listed && err == nil:
					t.Errorf("frame %d: Decode accepts it, tshark does not list it", f.Number)
					return
				case !listed && errors.Is(err, wire.ErrNotTCP):
					return // neither sees TCP
				case !listed:
					t.Errorf("frame %d: tshark does not list it, Decode = %v", f.Number, err)
					return
				case err != nil && c.name == "":
					t.Errorf("frame %d: tshark lists it, Decode = %v", f.Number, err)
					return
				}
				switch {
				case c.name == "":
					exact++
				case len(c.skip) == 0:
					ruled++
				default:
					partial++
				}
				for i, field := range tsharkFields {
					if i == 0 || slices.Contains(c.skip, field) {
						continue
					}
					if got[i] != row[i] {
						t.Errorf("frame %d: %s = %q, tshark %q (%s)", f.Number, field, got[i], row[i], c.name)
					}
				}
			})
			for n := range ts.rows {
				if !seen[n] {
					t.Errorf("frame %d: tshark lists it, the pcap reader does not return it", n)
				}
			}
		})
	}
	t.Logf("%d frames read; compared with tshark field by field: %d exactly, %d after a tshark rule, %d in part",
		total, exact, ruled, partial)
	for _, why := range slices.Sorted(maps.Keys(explained)) {
		t.Logf("%5d %s", explained[why], why)
	}
}

// A tsharkCase is a known difference between Decode and tshark.
type tsharkCase struct {
	name string
	// skip lists the fields not compared; nil (with a name) means the
	// frame is not compared at all.
	skip []string
}

// Field groups for tsharkCase.skip.
var (
	optionFields = []string{
		"tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm",
		"tcp.options.sack_le", "tcp.options.sack_re",
		"tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr",
		"tcp.option_kind",
	}
	afterSeqFields = append([]string{
		"tcp.ack_raw", "tcp.flags", "tcp.len", "tcp.hdr_len",
		"tcp.window_size_value", "tcp.urgent_pointer", "tcp.checksum",
	}, optionFields...)
	noFields = []string{}
)

// explainTshark names the known reason why Decode and tshark disagree on
// frame f, or returns the zero tsharkCase when they must agree exactly.
// Where tshark's value follows from the frame by a rule of its own, it
// rewrites got to that value instead of skipping the field, so the rest of
// the frame is still compared exactly.
func explainTshark(f *pcap.Frame, s *wire.Segment, err error, row tsharkRow, listed bool, stoppedAfter int, got tsharkRow) tsharkCase {
	var werr *wire.Error
	isErr := errors.As(err, &werr)
	switch {
	case !listed && err == nil && (f.Link == pcap.LinkSLIP || f.Link == pcap.LinkNetAnalyzerTransparent):
		return tsharkCase{name: "tshark does not dissect past a SLIP or a transparent-mode netANALYZER header (it shows data); tcpdump does, and tcplens matches tcpdump"}
	case stoppedAfter > 0 && f.Number > stoppedAfter:
		return tsharkCase{name: "tshark stopped at a corrupt or cut-short record; the pcap reader resynchronised and went on"}
	case !listed && isErr && s.Fragment && werr.Layer == "tcp":
		return tsharkCase{name: "first IP fragment too short for the TCP header: Decode returns *Error, tshark waits for reassembly"}
	case !listed && isErr && werr.Layer != "tcp" && werr.Layer != "tcp option":
		return tsharkCase{name: "malformed below TCP: Decode returns *Error, tshark shows no TCP"}
	case listed && errors.Is(err, wire.ErrFragment):
		return tsharkCase{name: "non-first IP fragment: tshark dissects TCP in the datagram it reassembled, Decode returns ErrFragment"}
	case !listed && err == nil && s.Fragment:
		return tsharkCase{name: "first IP fragment: Decode reads its TCP header (Fragment=true), tshark waits for reassembly"}
	case listed && (strings.Contains(row.get("ip.src"), ";") || strings.Contains(row.get("ipv6.src"), ";")):
		return tsharkCase{name: "two IP headers: tshark dissects the TCP header quoted by an ICMP error or carried in a tunnel"}
	case listed && isErr && werr.Layer == "tcp option":
		return tsharkCase{name: "malformed TCP option: Decode fills the fixed header and returns *Error; tshark lists the frame", skip: optionFields}
	case listed && isErr && werr.Layer == "tcp" && strings.HasPrefix(werr.Msg(), "options cut short"):
		return tsharkCase{name: "TCP options cut short by the snaplen: Decode fills the fixed header and returns *Error; tshark lists the frame without tcp.len",
			skip: append([]string{"tcp.len"}, optionFields...)}
	case listed && isErr && werr.Layer == "tcp" && s.IPLenBeyondFrame && strings.HasPrefix(werr.Msg(), "header length"):
		return tsharkCase{name: "IP length beyond the frame and a TCP header longer than the bytes on the wire: Decode fills the fixed header and returns *Error; tshark lists a \"short segment\" without tcp.len",
			skip: append([]string{"tcp.len"}, optionFields...)}
	case listed && isErr && werr.Layer == "tcp" && strings.HasPrefix(werr.Msg(), "data offset"):
		return tsharkCase{name: "TCP data offset < 5: Decode returns *Error, tshark lists the frame and stops after the sequence number", skip: afterSeqFields}
	}
	if err != nil || !listed {
		return tsharkCase{}
	}
	var c tsharkCase
	// RFC 9293 3.1: options end at End of Option List; what follows is
	// padding. tshark goes on and lists each zero byte as another EOL.
	if area := s.TCP.Options(); len(area) > 0 {
		it := s.TCP.OptionIter(0)
		var last wire.Option
		for {
			o, ok := it.Next()
			if !ok {
				break
			}
			last = o
		}
		if last.Kind == wire.OptEOL && last.Len == 1 {
			pad := area[last.Offset+1:]
			if len(pad) > 0 && !slices.ContainsFunc(pad, func(b byte) bool { return b != 0 }) {
				i := slices.Index(tsharkFields, "tcp.option_kind")
				got[i] += strings.Repeat(";0", len(pad))
				c.name = "tshark lists each zero padding byte after EOL as another EOL"
				c.skip = noFields
			}
		}
	}
	return c
}
