package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/dissect"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
)

var update = flag.Bool("update", false, "update golden files")

// dissectGoldens are frames of real captures, one per situation; each has
// testdata/dissect-NAME.txt.golden and testdata/dissect-NAME.json.golden.
var dissectGoldens = []struct {
	name    string
	capture string // in testdata/captures
	frame   int
}{
	{"syn", "zeek-http-get.pcap", 1},                                      // MSS, window scale, SACK-permitted, timestamps, EOL padding
	{"synack", "zeek-http-get.pcap", 2},                                   // ack of the SYN
	{"data", "zeek-http-get.pcap", 4},                                     // PSH, ACK with an HTTP request
	{"sack", "zeek-tcp-retransmit-fast009.pcap", 29},                      // a SACK block; all-zero checksums
	{"sack-pcapng", "gopacket-test301.pcapng.gz", 12},                     // SACK in a pcapng file
	{"mptcp-capable", "tcpdump-mptcp-v1.pcap", 1},                         // MP_CAPABLE on a SYN, Linux cooked v1
	{"mptcp-dss", "tcpdump-mptcp-v1.pcap", 5},                             // DSS, sent by the capturing host
	{"tfo-exp-request", "zeek-tcp-tcp-fast-open.pcap", 1},                 // RFC 6994 experimental TFO cookie request
	{"tfo-exp-cookie", "zeek-tcp-tcp-fast-open.pcap", 2},                  // experimental TFO cookie on the SYN-ACK
	{"tfo-syn-data", "suri-tcp-fastopen-10-syn-data-ignore.pcap", 1},      // kind 34 cookie and data on the SYN
	{"qinq", "zeek-http-qinq-0.pcap", 1},                                  // two VLAN tags
	{"sll2", "lwerdna-simple_http_sll2.pcap", 4},                          // Linux cooked v2, loopback partial checksum
	{"loopback-ipv6", "gopacket-test_loopback.pcap", 1},                   // BSD loopback (macOS), IPv6
	{"ipv6-dest-opts", "zeek-ipv6-http-atomic-frag.pcap", 4},              // destination options header
	{"ipv6-atomic-fragment", "zeek-ipv6-http-atomic-frag.pcap", 13},       // fragment header, offset 0, M 0
	{"ipv6-hop-by-hop", "zeek-ipv6-http-atomic-frag.pcap", 23},            // hop-by-hop header
	{"icmpv6", "zeek-ipv6-http-atomic-frag.pcap", 1},                      // not TCP: stops at IPv6
	{"tcp-header-truncated", "zeek-tcp-truncated-header.pcap", 1},         // options cut by the snaplen, malformed timestamps
	{"tcp-header-too-long", "zeek-ipv4-fragmented-syn.pcap", 1},           // header length beyond the first fragment
	{"tcp-data-offset-0", "gopacket-linux_sll_oversized_addr.pcapng", 95}, // data offset 0, sent by us
	{"rst-data-truncated", "tcpdump-tcp_rst_data-trunc.pcap", 1},          // RST with text, payload cut short
	{"ipv4-first-fragment", "zeek-ipv4-fragmented-4.pcap", 2},             // MF set: checksum unverifiable
	{"ipv4-fragment", "zeek-ipv4-fragmented-4.pcap", 3},                   // offset 24: stops at IPv4
	{"ethernet-truncated", "zeek-trunc-trunc-hdr.pcap", 1},                // 8 bytes captured
	{"tso", "tcpdump-bigtcp-ipv4.pcap", 1},                                // IPv4 total length 0
}

// frameOf reads frame n of a capture and dissects it as the CLI would,
// naming the file without its directory so goldens hold no paths.
func frameOf(t *testing.T, capture string, n int) *dissect.Dissection {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "captures", capture))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s has no frame %d", capture, n)
		}
		if err != nil {
			continue
		}
		if fr.Number != n {
			continue
		}
		c := dissect.Capture{File: capture}
		if ifs := r.Interfaces(); fr.Interface < len(ifs) {
			c.SnapLen = ifs[fr.Interface].SnapLen
			c.Interface = ifs[fr.Interface].Name
		}
		return dissect.Frame(&fr, c)
	}
}

func TestDissectionGolden(t *testing.T) {
	for _, g := range dissectGoldens {
		t.Run(g.name, func(t *testing.T) {
			d := frameOf(t, g.capture, g.frame)
			for _, format := range []string{"txt", "json"} {
				var buf bytes.Buffer
				if err := render.Dissection(&buf, d, render.DissectOptions{JSON: format == "json"}); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", "dissect-"+g.name+"."+format+".golden")
				if *update {
					if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("Dissection(%s frame %d, %s) differs from %s:\n%s", g.capture, g.frame, format, golden, firstDiff(buf.String(), string(want)))
				}
			}
		})
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return "(no line differs)"
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// The documented JSON schema, as a reader would declare it. Decoding with
// DisallowUnknownFields checks that the output has nothing undocumented.
type schemaDissection struct {
	Frame struct {
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
		Interface      string `json:"interface"`
	} `json:"frame"`
	Layers []struct {
		Name    string        `json:"name"`
		Title   string        `json:"title"`
		Offset  int           `json:"offset"`
		Length  int           `json:"length"`
		Summary string        `json:"summary"`
		Fields  []schemaField `json:"fields"`
	} `json:"layers"`
	Checksums []struct {
		Layer    string `json:"layer"`
		Offset   int    `json:"offset"`
		Status   string `json:"status"`
		Value    string `json:"value"`
		Computed string `json:"computed"`
		Offload  bool   `json:"offload"`
		Reason   string `json:"reason"`
	} `json:"checksums"`
	Stop *struct {
		Layer     string `json:"layer"`
		Offset    int    `json:"offset"`
		Reason    string `json:"reason"`
		Malformed bool   `json:"malformed"`
	} `json:"stop"`
	Warnings []struct {
		Layer   string `json:"layer"`
		Offset  int    `json:"offset"`
		Message string `json:"message"`
	} `json:"warnings"`
}

type schemaField struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
	Bits   *struct {
		First int `json:"first"`
		Count int `json:"count"`
	} `json:"bits"`
	Raw     string        `json:"raw"`
	Value   string        `json:"value"`
	Meaning string        `json:"meaning"`
	Fields  []schemaField `json:"fields"`
}

func TestDissectionJSONSchema(t *testing.T) {
	for _, g := range dissectGoldens {
		d := frameOf(t, g.capture, g.frame)
		var buf bytes.Buffer
		if err := render.Dissection(&buf, d, render.DissectOptions{JSON: true}); err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 || !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
			t.Errorf("%s: JSON is %d lines, want one line", g.name, n)
		}
		dec := json.NewDecoder(&buf)
		dec.DisallowUnknownFields()
		var s schemaDissection
		if err := dec.Decode(&s); err != nil {
			t.Errorf("%s: JSON does not match the documented schema: %v", g.name, err)
			continue
		}
		if s.Frame.Number != g.frame || s.Layers == nil || s.Checksums == nil || s.Warnings == nil {
			t.Errorf("%s: frame %d, layers %v, checksums %v, warnings %v: want the frame number and non-null arrays",
				g.name, s.Frame.Number, s.Layers != nil, s.Checksums != nil, s.Warnings != nil)
		}
		for _, l := range s.Layers {
			checkSchemaFields(t, g.name+"/"+l.Name, l.Fields)
		}
	}
}

func checkSchemaFields(t *testing.T, where string, fs []schemaField) {
	for _, f := range fs {
		if f.Name == "" || f.Label == "" {
			t.Errorf("%s: a field without name or label", where)
		}
		if f.Raw != "" && !strings.HasPrefix(f.Raw, "0x") {
			t.Errorf("%s/%s: raw %q is not hexadecimal", where, f.Name, f.Raw)
		}
		if f.Bits != nil && (f.Bits.Count <= 0 || f.Bits.First+f.Bits.Count > 8*f.Length) {
			t.Errorf("%s/%s: bits %+v outside %d bytes", where, f.Name, *f.Bits, f.Length)
		}
		checkSchemaFields(t, where+"/"+f.Name, f.Fields)
	}
}

// TestDissectionTextAligned checks that within a layer the value column
// starts at the same place on every line of top-level fields.
func TestDissectionTextAligned(t *testing.T) {
	d := frameOf(t, "zeek-http-get.pcap", 1)
	var buf bytes.Buffer
	if err := render.Dissection(&buf, d, render.DissectOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(buf.String(), "\n\n")[1:] {
		lines := strings.Split(strings.TrimSpace(block), "\n")[1:]
		col := -1
		for _, l := range lines {
			// The offset column is right-aligned: every field line has its
			// offset end at the same column.
			i := strings.IndexFunc(l, func(r rune) bool { return r != ' ' })
			j := i + strings.IndexByte(l[i:], ' ')
			if col < 0 {
				col = j
			} else if j != col {
				t.Errorf("offset column ends at %d, want %d: %q", j, col, l)
			}
		}
	}
}

func TestDissectionTimePrecision(t *testing.T) {
	for _, tc := range []struct {
		digits int
		time   pcap.Time
		want   string
	}{
		{6, 1362692526869344000, `"time":"2013-03-07T21:42:06.869344Z","epoch":"1362692526.869344"`},
		{9, 1362692526869344123, `"time":"2013-03-07T21:42:06.869344123Z","epoch":"1362692526.869344123"`},
		{6, 5, `"time":"1970-01-01T00:00:00.000000Z","epoch":"0.000000"`},
	} {
		f := pcap.Frame{Number: 1, Link: pcap.LinkRaw, Time: tc.time}
		d := dissect.Frame(&f, dissect.Capture{TimeDigits: tc.digits})
		var buf bytes.Buffer
		if err := render.Dissection(&buf, d, render.DissectOptions{JSON: true}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), tc.want) {
			t.Errorf("time %d with %d digits: %s, want %s", tc.time, tc.digits, buf.String()[:120], tc.want)
		}
	}
}
