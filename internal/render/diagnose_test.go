package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/dissect"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/sample"
	"github.com/tcplens/tcplens/internal/testcap"
)

// diagnosed runs frames through the analysis and the diagnosis, keeping
// every connection whole, and its ladder, as explain does.
func diagnosed(frames []pcap.Frame) (*diagnose.Report, map[int]*analyze.Ladder) {
	col := diagnose.NewCollector()
	col.Want = func(int) bool { return true }
	lr := analyze.NewLadderRecorder(nil)
	ladders := map[int]*analyze.Ladder{}
	an := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		col.Segment(s)
		lr.Segment(s)
	}, func(c *conn.Conn, why conn.EndReason) {
		ladders[c.ID] = lr.End(c)
		col.OnConn(c, why)
	})
	for i := range frames {
		an.Add(&frames[i])
	}
	an.Close()
	return col.Finish(an.Stats), ladders
}

func demoFrames(t *testing.T) []pcap.Frame {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(sample.Capture))
	if err != nil {
		t.Fatal(err)
	}
	var frames []pcap.Frame
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Data = append([]byte(nil), f.Data...)
		frames = append(frames, f)
	}
}

func kernelFrames(t *testing.T, name string) []pcap.Frame {
	t.Helper()
	frames, err := testcap.ReadFile(filepath.Join("../../testdata/kernel", name+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

// TestDiagnoseGolden keeps the text and JSON of diagnose, the overview and
// explain on the demo capture, and diagnose on two kernel scenarios.
func TestDiagnoseGolden(t *testing.T) {
	rep, ladders := diagnosed(demoFrames(t))

	var ov bytes.Buffer
	txt, js := findingsOut(t, rep)
	golden(t, "diagnose-demo.txt.golden", txt)
	golden(t, "diagnose-demo.jsonl.golden", js)

	if err := render.OverviewText(&ov, &render.Overview{Files: []string{sample.Name}, Report: rep}, render.Style{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "overview-demo.txt.golden", ov.Bytes())

	for _, id := range []int{2, 5} {
		var et, ej bytes.Buffer
		c := &rep.Conns[id-1]
		if err := render.ExplainText(&et, c, ladders[id], rep.ConnFindings(id), render.Style{}); err != nil {
			t.Fatal(err)
		}
		if err := render.ExplainLineJSON(&ej, c, ladders[id], rep.ConnFindings(id)); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(ej.Bytes()) {
			t.Errorf("explain --json of connection %d is not JSON", id)
		}
		golden(t, "explain-demo-"+string(rune('0'+id))+".txt.golden", et.Bytes())
		golden(t, "explain-demo-"+string(rune('0'+id))+".jsonl.golden", ej.Bytes())
	}

	for _, name := range []string{"zero-window", "pmtu-blackhole"} {
		r, _ := diagnosed(kernelFrames(t, name))
		var b bytes.Buffer
		if err := render.FindingsText(&b, r.Findings, render.Style{}); err != nil {
			t.Fatal(err)
		}
		golden(t, "diagnose-"+name+".txt.golden", b.Bytes())
	}
}

// TestAggregateGolden keeps diagnose's text and JSON and the overview of
// zeek's echo capture, whose 158 slow handshakes (a listener's full
// accept queue), 23 keep-alives and 500 paused applications each become
// one finding, kept as the overview keeps its connections: the 20 most
// interesting.
func TestAggregateGolden(t *testing.T) {
	frames, err := testcap.ReadFile("../../testdata/captures/zeek-echo-connections.pcap.gz")
	if err != nil {
		t.Fatal(err)
	}
	col := diagnose.NewCollector()
	col.Rows = 20
	an := analyze.New(analyze.Options{}, col.Segment, col.OnConn)
	for i := range frames {
		an.Add(&frames[i])
	}
	an.Close()
	rep := col.Finish(an.Stats)
	var ov bytes.Buffer
	txt, js := findingsOut(t, rep)
	for _, line := range strings.Split(strings.TrimSpace(string(js)), "\n") {
		if !strings.Contains(line, `"conn":null`) {
			t.Errorf("an aggregate finding names a connection: %.200s", line)
		}
	}
	name := "zeek-echo-connections.pcap.gz"
	if err := render.OverviewText(&ov, &render.Overview{Files: []string{name}, Report: rep, Args: name}, render.Style{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "diagnose-echo.txt.golden", txt)
	golden(t, "diagnose-echo.jsonl.golden", js)
	golden(t, "overview-echo.txt.golden", ov.Bytes())
}

// findingsOut is what diagnose prints of rep, as text and as JSON (whose
// lines it checks).
func findingsOut(t *testing.T, rep *diagnose.Report) (txt, js []byte) {
	t.Helper()
	var tb, jb bytes.Buffer
	if err := render.FindingsText(&tb, rep.Findings, render.Style{}); err != nil {
		t.Fatal(err)
	}
	if err := render.FindingsJSON(&jb, rep.Findings); err != nil {
		t.Fatal(err)
	}
	checkFindingLines(t, jb.Bytes())
	return tb.Bytes(), jb.Bytes()
}

// checkFindingLines checks that each line of diagnose --json has exactly
// the fields the issues name (issue 10 added evidence), and that every
// claim has its kind, its frames and its words, and the finding's frames
// are its claims'.
func checkFindingLines(t *testing.T, b []byte) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		for _, k := range []string{"id", "severity", "conn", "frames", "title", "explanation", "advice", "evidence"} {
			if _, ok := m[k]; !ok {
				t.Errorf("no %q in %s", k, line)
			}
		}
		if len(m) != 8 {
			t.Errorf("%d fields, want 8: %s", len(m), line)
		}
		var f render.FindingJSON
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		var fs []int
		for _, c := range f.Evidence {
			if c.Claim == "" || c.Frames == nil || c.Says == "" {
				t.Errorf("claim %+v lacks its kind, frames or words", c)
			}
			for _, n := range c.Frames {
				if n > 0 && !slices.Contains(fs, n) {
					fs = append(fs, n)
				}
			}
		}
		slices.Sort(fs)
		if len(f.Evidence) == 0 || !slices.Equal(fs, f.Frames) {
			t.Errorf("%s: frames %v, its claims' %v", f.ID, f.Frames, fs)
		}
	}
}

// TestColorOnlyInStyle checks that the plain style writes no escape codes
// and the terminal style does.
func TestColorOnlyInStyle(t *testing.T) {
	rep, _ := diagnosed(demoFrames(t))
	var plain, color bytes.Buffer
	render.FindingsText(&plain, rep.Findings, render.Style{})
	render.FindingsText(&color, rep.Findings, render.Style{Color: true})
	if bytes.Contains(plain.Bytes(), []byte("\x1b[")) {
		t.Error("plain text holds escape codes")
	}
	if !bytes.Contains(color.Bytes(), []byte("\x1b[")) {
		t.Error("coloured text holds no escape codes")
	}
}

// TestDissectConnectionGolden keeps dissect's text and JSON for frames
// analysed in their connection: the handshake ACK that completes the
// server's SYN_RECV, the SYN-ACK the server resends, and a duplicate ACK
// whose SACK block gets relative edges beside the relative ack; and, at
// the router, a segment the path reordered, which its IP ID says was sent
// before the one the capture saw first.
func TestDissectConnectionGolden(t *testing.T) {
	for _, tc := range []struct {
		capture string
		n       int
	}{{"lost-handshake-ack", 3}, {"lost-handshake-ack", 4}, {"fast-retransmit", 22}, {"vantage/reordered/router", 13}} {
		frames := kernelFrames(t, tc.capture)
		n := tc.n
		var cx *dissect.Connection
		an := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
			if s.Frame.Number == n {
				cx = dissect.ConnectionOf(s)
			}
		}, nil)
		for i := range frames[:n] {
			an.Add(&frames[i])
		}
		d := dissect.Frame(&frames[n-1], dissect.Capture{File: tc.capture + ".pcap", SnapLen: 128})
		d.AddConnection(cx)
		var txt, js bytes.Buffer
		if err := render.Dissection(&txt, d, render.DissectOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := render.Dissection(&js, d, render.DissectOptions{JSON: true}); err != nil {
			t.Fatal(err)
		}
		name := "dissect-conn-" + strings.ReplaceAll(tc.capture, "/", "-") + "-" + strconv.Itoa(n)
		golden(t, name+".txt.golden", txt.Bytes())
		golden(t, name+".json.golden", js.Bytes())
	}
}
