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
	"github.com/tcplens/tcplens/internal/pcap"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// recordCapture analyses a capture of testdata, recording every
// connection for the pictures, and diagnoses it.
func recordCapture(t *testing.T, path string, limits graph.Limits) ([]*graph.Conn, *diagnose.Report) {
	t.Helper()
	f, err := os.Open(filepath.Join("../../testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
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
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		an.Add(&fr)
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
	d := xml.NewDecoder(bytes.NewReader(svg))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", name, err)
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
