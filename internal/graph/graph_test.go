package graph_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/graph"
	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// recordCapture analyses a capture of testdata, recording every
// connection for the pictures, and diagnoses it.
func recordCapture(t *testing.T, path string, limits graph.Limits) ([]*graph.Conn, *diagnose.Report) {
	t.Helper()
	frames, err := testcap.ReadFile(filepath.Join("../../testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	col := diagnose.NewCollector()
	rec := graph.NewRecorder(nil, nil, limits)
	var conns []*graph.Conn
	an := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		col.Segment(s)
		rec.Segment(s)
	}, func(c *conn.Conn, why conn.EndReason) {
		if g := rec.End(c); g != nil {
			conns = append(conns, g)
		}
		col.OnConn(c, why)
	})
	for i := range frames {
		an.Add(&frames[i])
	}
	an.Close()
	return conns, col.Finish(an.Stats)
}

// draw makes every picture of c.
func draw(t *testing.T, c *graph.Conn, rep *diagnose.Report) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, k := range graph.Kinds {
		var b bytes.Buffer
		if err := graph.Draw(&b, k, c, c.MainDir(), rep.ConnFindings(c.ID), graph.Options{Standalone: true}); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[k.String()] = b.Bytes()
	}
	return out
}

// goldenCaptures are small real captures, each showing what a picture
// must draw: a clean close, a fast retransmission with SACK, a zero
// window with its probes, a refused connection.
var goldenCaptures = []string{
	"kernel/client-close.pcap",
	"kernel/fast-retransmit.pcap",
	"kernel/zero-window.pcap",
	"kernel/refused.pcap",
}

func TestGolden(t *testing.T) {
	for _, path := range goldenCaptures {
		t.Run(path, func(t *testing.T) {
			conns, rep := recordCapture(t, path, graph.DefaultLimits)
			if len(conns) == 0 {
				t.Fatal("no connection recorded")
			}
			base := strings.TrimSuffix(filepath.Base(path), ".pcap")
			for kind, svg := range draw(t, conns[0], rep) {
				checkXML(t, kind, svg)
				golden(t, filepath.Join("testdata", base+"-"+kind+".svg"), svg)
			}
		})
	}
}

// checkXML fails unless svg is a well-formed XML document.
func checkXML(t *testing.T, name string, svg []byte) {
	t.Helper()
	// RawToken with a stack of open elements checks what Token does (each
	// end matches its start) without translating name spaces, which cost
	// FuzzPictures half its time.
	d := xml.NewDecoder(bytes.NewReader(svg))
	var open []xml.Name
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			if len(open) > 0 {
				t.Fatalf("%s is not well-formed XML: <%s> never closed", name, open[len(open)-1].Local)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", name, err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			open = append(open, e.Name)
		case xml.EndElement:
			if len(open) == 0 || open[len(open)-1] != e.Name {
				t.Fatalf("%s is not well-formed XML: </%s> closes nothing open", name, e.Name.Local)
			}
			open = open[:len(open)-1]
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/graph -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test ./internal/graph -update rewrites it):\n%s", path, diff)
	}
}

// TestLimits records a connection under limits far below its size: the
// ladder keeps its first steps, its last, and those worth seeing, and says
// how many it left out; every series merges into time columns that keep
// its extremes, and the graph says it was downsampled.
func TestLimits(t *testing.T) {
	full, _ := recordCapture(t, "kernel/fast-retransmit.pcap", graph.DefaultLimits)
	conns, rep := recordCapture(t, "kernel/fast-retransmit.pcap", graph.Limits{Steps: 10, Points: 6})
	c, all := conns[0], full[0]
	if len(all.Steps) != all.Segments || all.Cut() {
		t.Fatalf("under the default limits the ladder has %d of %d steps", len(all.Steps), all.Segments)
	}
	if len(c.Steps) != 10 || !c.Cut() {
		t.Fatalf("the ladder kept %d of %d steps, want 10", len(c.Steps), c.Segments)
	}
	for i, s := range c.Steps[:3] {
		if s.N != i+1 {
			t.Errorf("step %d is segment %d, want the first three segments first", i, s.N)
		}
	}
	if last := c.Steps[len(c.Steps)-1]; last.N != c.Segments {
		t.Errorf("the last step is segment %d of %d", last.N, c.Segments)
	}
	plain := 0 // steps kept neither as the first nor for what they show: the ring of the latest
	for _, s := range c.Steps[3:] {
		if len(s.Changes) == 0 && s.Result.Analysis.Empty() && !s.Flags.Any(wire.SYN|wire.FIN|wire.RST) {
			plain++
		}
	}
	if plain > 2 {
		t.Errorf("%d steps kept for nothing they show, want at most the 2 of the ring", plain)
	}
	for d := range c.Flows {
		f, g := &c.Flows[d], &all.Flows[d]
		for i, s := range []*graph.Series{&f.Data, &f.Ack, &f.Window, &f.InFlight} {
			whole := []*graph.Series{&g.Data, &g.Ack, &g.Window, &g.InFlight}[i]
			if s.Total != whole.Total || len(s.Points) > 6 {
				t.Errorf("flow %d series %d: %d points for %d segments (want at most 6 for %d)", d, i, len(s.Points), s.Total, whole.Total)
			}
			lo, hi := extent(whole)
			if l, h := extent(s); len(whole.Points) > 0 && (l != lo || h != hi) {
				t.Errorf("flow %d series %d spans %d to %d downsampled, %d to %d whole", d, i, l, h, lo, hi)
			}
		}
	}
	for kind, svg := range draw(t, c, rep) {
		checkXML(t, kind, svg)
		golden(t, filepath.Join("testdata", "fast-retransmit-limited-"+kind+".svg"), svg)
		if kind == "ladder" && !bytes.Contains(svg, []byte("segments not shown")) {
			t.Error("the cut ladder does not say where it left segments out")
		}
		if (kind == "tsg" || kind == "window") && !bytes.Contains(svg, []byte("Downsampled to draw")) {
			t.Errorf("the %s graph does not say it was downsampled", kind)
		}
	}
}

func extent(s *graph.Series) (lo, hi int64) {
	for i, p := range s.Points {
		if i == 0 || p.Lo < lo {
			lo = p.Lo
		}
		if i == 0 || p.Hi > hi {
			hi = p.Hi
		}
	}
	return lo, hi
}

// TestLongConnection records a transfer of 100,000 data segments: the
// record and the pictures stay within the limits whatever the length.
func TestLongConnection(t *testing.T) {
	frames := testcap.Build(testcap.Bulk(100_000, 20_000))
	col := diagnose.NewCollector()
	rec := graph.NewRecorder(nil, nil, graph.DefaultLimits)
	var c *graph.Conn
	an := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		col.Segment(s)
		rec.Segment(s)
	}, func(cn *conn.Conn, why conn.EndReason) {
		c = rec.End(cn)
		col.OnConn(cn, why)
	})
	for i := range frames {
		an.Add(&frames[i])
	}
	an.Close()
	rep := col.Finish(an.Stats)
	if c == nil || c.Segments < 150_000 {
		t.Fatalf("recorded %v", c)
	}
	if len(c.Steps) != graph.DefaultLimits.Steps {
		t.Errorf("the ladder kept %d steps, want %d", len(c.Steps), graph.DefaultLimits.Steps)
	}
	f := &c.Flows[conn.ClientToServer]
	if f.Data.Total < 100_000 || len(f.Data.Points) > graph.DefaultLimits.Points || f.Retrans.Total != 5 || f.DupAck.Total != 15 {
		t.Errorf("data %d segments in %d points, %d retransmissions, %d duplicate ACKs; want 100,000 in at most %d, 5, 15",
			f.Data.Total, len(f.Data.Points), f.Retrans.Total, f.DupAck.Total, graph.DefaultLimits.Points)
	}
	for kind, svg := range draw(t, c, rep) {
		// About a megabyte at most for each: what a browser draws at once.
		if len(svg) > 1<<20 {
			t.Errorf("the %s of a 100,000-segment connection is %d bytes", kind, len(svg))
		}
	}
}
