package analyze_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

// maxPipelineSeed bounds each seed taken from a real capture: a prefix
// holds handshakes, data and closes enough, and keeps the seed corpus (run
// by every go test) quick. A prefix usually cuts the last record short,
// which the reader must survive too.
const maxPipelineSeed = 8 << 10

// addPipelineSeeds seeds a pipeline fuzz target with the start of every
// capture in testdata.
func addPipelineSeeds(f *testing.F) {
	for _, pattern := range []string{"captures/*", "kernel/*.pcap", "links/*.pcap"} {
		files, _ := filepath.Glob(filepath.Join(testdata, pattern))
		for _, file := range files {
			b := readAll(f, file)
			f.Add(b[:min(len(b), maxPipelineSeed)])
		}
	}
}

// FuzzPipeline runs arbitrary bytes through everything read, read -a,
// read --json and conns do: the capture reader, the analyzer, the
// summaries and every renderer. Properties: no panic, no endless loop;
// every segment's JSON and every connection's JSON is one valid JSON
// object; an annotation is one line; every connection ends exactly once,
// numbered 1, 2, 3 … in the order of first appearance.
func FuzzPipeline(f *testing.F) {
	addPipelineSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := pcap.NewReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		printer := tcpdump.NewPrinter(tcpdump.Options{Time: tcpdump.TimeEpoch})
		var sums []analyze.Summary
		ended := map[int]bool{}
		var line []byte
		a := analyze.New(analyze.Options{MaxConns: 64}, func(s *analyze.Segment) {
			line = render.AppendSegmentJSON(line[:0], s)
			if !bytes.HasSuffix(line, []byte("\n")) || !json.Valid(line) {
				t.Fatalf("frame %d: segment JSON is not one JSON object: %q", s.Frame.Number, line)
			}
			line = render.AppendAnnotation(line[:0], s)
			if bytes.ContainsAny(line, "\n\r") {
				t.Fatalf("frame %d: annotation spans lines: %q", s.Frame.Number, line)
			}
		}, func(c *conn.Conn, why conn.EndReason) {
			if ended[c.ID] {
				t.Fatalf("connection %d ended twice", c.ID)
			}
			ended[c.ID] = true
			s := analyze.Summarize(c, why)
			var b bytes.Buffer
			if err := render.ConnLineJSON(&b, &s); err != nil {
				t.Fatalf("connection %d: %v", c.ID, err)
			}
			if !json.Valid(b.Bytes()) || bytes.Count(b.Bytes(), []byte("\n")) != 1 {
				t.Fatalf("connection %d: JSON is not one JSON line: %q", c.ID, b.Bytes())
			}
			sums = append(sums, s)
		})
		// A reader that resynchronises after an error moves on each time:
		// twice as many calls as bytes (as FuzzReader allows) mean it loops.
		// A gzip stream may hold far more than its own size.
		limit := 2*len(in) + 100
		if len(in) > 1 && in[0] == 0x1f && in[1] == 0x8b {
			limit = 1 << 22
		}
		for calls := 0; ; calls++ {
			if calls > limit {
				t.Fatalf("the reader did not reach the end within %d calls", calls)
			}
			fr, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				continue
			}
			printer.Append(nil, &fr)
			a.Add(&fr)
		}
		a.Close()
		for id := 1; id <= len(ended); id++ {
			if !ended[id] {
				t.Fatalf("connections %v: %d never ended", len(ended), id)
			}
		}
		if err := render.ConnTable(io.Discard, sums); err != nil {
			t.Fatal(err)
		}
	})
}

// readAll reads a testdata capture, decompressed.
func readAll(tb testing.TB, file string) []byte {
	tb.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	if strings.HasSuffix(file, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			tb.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			tb.Fatal(err)
		}
	}
	return b
}
