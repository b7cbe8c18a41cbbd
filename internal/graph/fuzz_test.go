package graph_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/graph"
	"github.com/tcplens/tcplens/internal/pcap"
)

// FuzzPictures feeds bytes through the reader, the analysis, the
// recorder (under limits small enough that every cut and merge happens)
// and every picture of the first two connections (more add no code path,
// only time: this target ran 350 inputs a second with four): nothing
// panics, every picture is well-formed XML, and every series stays within
// its limit, each point's extent in order.
func FuzzPictures(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/kernel/*.pcap")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		// Small seeds: the fuzzer minimizes what it finds byte by byte.
		f.Add(b[:min(len(b), 4<<10)])
	}
	limits := graph.Limits{Steps: 12, Points: 8}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := pcap.NewReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		col := diagnose.NewCollector()
		rec := graph.NewRecorder(nil, nil, limits)
		var conns []*graph.Conn
		an := analyze.New(analyze.Options{MaxConns: 16}, func(s *analyze.Segment) {
			col.Segment(s)
			rec.Segment(s)
		}, func(c *conn.Conn, why conn.EndReason) {
			if g := rec.End(c); g != nil && len(conns) < 2 {
				conns = append(conns, g)
			}
			col.OnConn(c, why)
		})
		for n := 0; n < 4096; n++ {
			fr, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				continue
			}
			an.Add(&fr)
		}
		an.Close()
		rep := col.Finish(an.Stats)
		for _, c := range conns {
			if len(c.Steps) > limits.Steps {
				t.Fatalf("connection %d: %d ladder steps, limit %d", c.ID, len(c.Steps), limits.Steps)
			}
			for d := range c.Flows {
				fl := &c.Flows[d]
				for _, s := range []*graph.Series{&fl.Data, &fl.Retrans, &fl.Probes, &fl.Ack, &fl.Window, &fl.SACK,
					&fl.DupAck, &fl.ZeroWin, &fl.InFlight, &fl.Rwnd, &fl.RTT} {
					if len(s.Points) > limits.Points {
						t.Fatalf("connection %d: a series of %d points, limit %d", c.ID, len(s.Points), limits.Points)
					}
					for _, p := range s.Points {
						if p.T0 > p.T1 || p.Lo > p.Hi {
							t.Fatalf("connection %d: point %+v out of order", c.ID, p)
						}
					}
				}
			}
			for kind, svg := range draw(t, c, rep) {
				checkXML(t, kind, svg)
			}
		}
	})
}
