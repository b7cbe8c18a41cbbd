package graph_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/compare"
	"github.com/tcplens/tcplens/internal/graph"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
)

type frameList struct {
	fs []pcap.Frame
	i  int
}

func (s *frameList) Next() (pcap.Frame, bool) {
	if s.i >= len(s.fs) {
		return pcap.Frame{}, false
	}
	s.i++
	return s.fs[s.i-1], true
}

// TestLanesGolden draws the two-lane ladder and the delay graph of router
// scenarios recorded at the client and the server: a segment dropped and
// resent, a segment rejected with a forged reset, options stripped, a
// queue.
func TestLanesGolden(t *testing.T) {
	for _, name := range []string{"router-drop", "router-reject", "router-optstrip", "router-queue"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("../../testdata/kernel/router", name)
			var fs [2][]pcap.Frame
			for i, f := range []string{"client.pcap", "server.pcap"} {
				var err error
				if fs[i], err = testcap.ReadFile(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}
			var conns []*compare.Conn
			compare.Run(&frameList{fs: fs[0]}, &frameList{fs: fs[1]}, compare.Options{Trace: func(int, int) bool { return true }},
				func(c *compare.Conn) { conns = append(conns, c) })
			if len(conns) != 1 || conns[0].Trace == nil {
				t.Fatalf("%d connections", len(conns))
			}
			c := conns[0]
			if n := len(c.Trace.Steps); n != len(fs[0])+len(fs[1]) {
				t.Errorf("the trace has %d steps for %d + %d segments", n, len(fs[0]), len(fs[1]))
			}
			var b bytes.Buffer
			if err := graph.Lanes(&b, c, graph.Options{Standalone: true}); err != nil {
				t.Fatal(err)
			}
			svg := b.Bytes()
			checkXML(t, name, svg)
			copies := strings.Count(string(svg), `class="copy"`)
			if copies != c.Matched[0]+c.Matched[1] {
				t.Errorf("%d lines between the lanes for %d segments seen at both points", copies, c.Matched[0]+c.Matched[1])
			}
			golden(t, filepath.Join("testdata", name+"-lanes.svg"), svg)
			b.Reset()
			if err := graph.Delays(&b, c, graph.Options{Standalone: true}); err != nil {
				t.Fatal(err)
			}
			checkXML(t, name, b.Bytes())
			if marks := strings.Count(b.String(), `class="owd-`); marks < c.Matched[0]+c.Matched[1] {
				t.Errorf("%d marks of delay for %d segments seen at both points", marks, c.Matched[0]+c.Matched[1])
			}
			golden(t, filepath.Join("testdata", name+"-delays.svg"), b.Bytes())
		})
	}
}
