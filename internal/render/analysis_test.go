package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

// analysisCaptures are the captures whose analysis output is kept as
// golden files: a clean HTTP exchange, a fast retransmission with SACK,
// TFO with data on the SYN, an injected RST, frames captured twice, and a
// mid-stream capture.
var analysisCaptures = []string{
	"zeek-http-get.pcap",
	"zeek-tcp-retransmit-fast009.pcap",
	"suri-tcp-fastopen-10-syn-data-ignore.pcap",
	"zeek-tcp-rst-inject-rae.pcap",
	"zeek-http-get_nosyn.pcap",
	"gopacket-test301.pcapng.gz",
}

func readFrames(t *testing.T, name string) []pcap.Frame {
	t.Helper()
	f, err := os.Open(filepath.Join("../../testdata/captures", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var frames []pcap.Frame
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue
		}
		fr.Data = append([]byte(nil), fr.Data...)
		frames = append(frames, fr)
	}
	return frames
}

// renderAnalysis produces the three outputs of a capture: read --annotate,
// read --json and conns --json, and the conns table.
func renderAnalysis(t *testing.T, name string) (annotate, segJSON, connJSON, table []byte) {
	t.Helper()
	frames := readFrames(t, name)
	p := tcpdump.NewPrinter(tcpdump.Options{Time: tcpdump.TimeEpoch})
	var seg *analyze.Segment
	var sums []analyze.Summary
	var a, j, cj bytes.Buffer
	an := analyze.New(analyze.Options{}, func(s *analyze.Segment) { seg = s }, func(c *conn.Conn, why conn.EndReason) {
		s := analyze.Summarize(c, why)
		if err := render.ConnLineJSON(&cj, &s); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, s)
	})
	for i := range frames {
		seg = nil
		an.Add(&frames[i])
		line, ok := p.Append(nil, &frames[i])
		if ok {
			if seg != nil {
				line = render.AppendAnnotation(line[:len(line)-1], seg)
				line = append(line, '\n')
			}
			a.Write(line)
		}
		if seg != nil {
			j.Write(render.AppendSegmentJSON(nil, seg))
		}
	}
	an.Close()
	var tb bytes.Buffer
	if err := render.ConnTable(&tb, sums); err != nil {
		t.Fatal(err)
	}
	return a.Bytes(), j.Bytes(), cj.Bytes(), tb.Bytes()
}

func TestAnalysisGolden(t *testing.T) {
	for _, name := range analysisCaptures {
		t.Run(name, func(t *testing.T) {
			annotate, segJSON, connJSON, table := renderAnalysis(t, name)
			base := strings.TrimSuffix(name, ".gz")
			golden(t, "annotate-"+base+".golden", annotate)
			golden(t, "segments-"+base+".jsonl.golden", segJSON)
			golden(t, "conns-"+base+".jsonl.golden", connJSON)
			golden(t, "conns-"+base+".txt.golden", table)
			for i, line := range bytes.Split(bytes.TrimSpace(segJSON), []byte("\n")) {
				if !json.Valid(line) {
					t.Fatalf("segment line %d is not valid JSON: %s", i+1, line)
				}
			}
			for i, line := range bytes.Split(bytes.TrimSpace(connJSON), []byte("\n")) {
				var m map[string]any
				if err := json.Unmarshal(line, &m); err != nil {
					t.Fatalf("conn line %d: %v", i+1, err)
				}
				for _, field := range []string{"id", "client", "server", "start", "end", "duration", "packets_c2s", "packets_s2c",
					"bytes_c2s", "bytes_s2c", "handshake_rtt", "client_offered", "server_offered", "negotiated", "retransmissions",
					"closed_by", "close", "client_state", "server_state", "states", "conn_state", "history", "vantage"} {
					if _, ok := m[field]; !ok {
						t.Errorf("conn line %d lacks %q", i+1, field)
					}
				}
			}
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/render -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-golden +got):\n%s", name, diff)
	}
}
