package render_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/compare"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
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

// comparePaths are the pairs whose text and JSON the golden files hold: a
// kernel recording, and a copy made by a path that does much at once.
var comparePaths = []struct {
	name    string
	capture string
	path    testcap.Path
}{
	{"clean", "fast-retransmit", testcap.Path{Delay: 5 * time.Millisecond, TTLDrop: 1}},
	{"busy", "fast-retransmit", testcap.Path{
		Delay: 5 * time.Millisecond, TTLDrop: 2, ClockOffset: 3 * time.Millisecond,
		NAT:    map[netip.AddrPort]netip.AddrPort{netip.MustParseAddrPort("10.77.0.1:40001"): netip.MustParseAddrPort("192.0.2.1:61000")},
		SeqC2S: 100000, ClampMSS: 1400, Strip: []uint8{wire.OptWindowScale},
		Drop: []int{8, 30}, Dup: []int{5}, Swap: [][2]int{{10, 11}},
	}},
	{"ipv6", "client-close-ipv6", testcap.Path{Delay: 2 * time.Millisecond, Strip: []uint8{wire.OptSACKPermitted}, Drop: []int{6}}},
}

func TestCompareGolden(t *testing.T) {
	for _, tc := range comparePaths {
		t.Run(tc.name, func(t *testing.T) {
			in, err := testcap.ReadFile("../../testdata/kernel/" + tc.capture + ".pcap")
			if err != nil {
				t.Fatal(err)
			}
			p := tc.path
			var s wire.Segment
			wire.Decode(&in[0], &s)
			p.Client = s.Src.Addr()
			a, b, _, _ := p.Apply(in)
			var text, js bytes.Buffer
			var conns []*compare.Conn
			sum := compare.Run(&frameList{fs: a}, &frameList{fs: b}, compare.Options{}, func(c *compare.Conn) {
				conns = append(conns, c)
				if err := render.CompareConnJSON(&js, c); err != nil {
					t.Fatal(err)
				}
			})
			pts := [2]render.ComparePoint{{Files: []string{"a.pcap"}}, {Files: []string{"b.pcap"}}}
			if err := render.CompareSummaryLineJSON(&js, pts, sum); err != nil {
				t.Fatal(err)
			}
			if err := render.CompareSummaryText(&text, pts, sum, render.Style{}); err != nil {
				t.Fatal(err)
			}
			text.WriteString("\n")
			for _, c := range conns {
				if err := render.CompareConnText(&text, c, render.Style{}); err != nil {
					t.Fatal(err)
				}
			}
			for _, line := range bytes.Split(bytes.TrimSpace(js.Bytes()), []byte("\n")) {
				var v map[string]any
				if err := json.Unmarshal(line, &v); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
			}
			golden(t, "compare-"+tc.name+".txt.golden", text.Bytes())
			golden(t, "compare-"+tc.name+".jsonl.golden", js.Bytes())
		})
	}
}
