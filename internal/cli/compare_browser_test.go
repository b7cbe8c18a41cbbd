package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/browser"
	"github.com/tcplens/tcplens/internal/testcap"
)

// TestCompareInBrowser opens compare's pages in headless Chromium: each
// must render with no console error, exception, policy violation or
// request beyond itself, and no script; every connection shown must have
// its items, a two-lane ladder with a mark per segment of both points
// and a line per copy, and its delay graph. Screenshots go to the artifact directory
// (go test -artifacts keeps them: README's picture is lanes.png of
// router-drop).
func TestCompareInBrowser(t *testing.T) {
	chromium := browser.Require(t)
	b, err := browser.Start(chromium, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	router := filepath.Join(testdata, "kernel", "router")
	hostileA, hostileB := hostilePair(t)
	cases := []struct {
		name string
		a, b string
	}{
		{"router-reject", filepath.Join(router, "router-reject", "client.pcap"), filepath.Join(router, "router-reject", "server.pcap")},
		{"router-drop", filepath.Join(router, "router-drop", "client.pcap"), filepath.Join(router, "router-drop", "server.pcap")},
		{"router-optstrip", filepath.Join(router, "router-optstrip", "client.pcap"), filepath.Join(router, "router-optstrip", "server.pcap")},
		{"router-queue", filepath.Join(router, "router-queue", "client.pcap"), filepath.Join(router, "router-queue", "server.pcap")},
		{"hostile", hostileA, hostileB},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page := filepath.Join(t.TempDir(), "compare.html")
			if _, stderr, code := run(t, nil, "compare", "--report", page, tc.a, tc.b); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			p, err := b.NewPage(1280, 900)
			if err != nil {
				t.Fatal(err)
			}
			url := "file://" + page
			began := time.Now()
			if err := p.Navigate(url); err != nil {
				t.Fatal(err)
			}
			t.Logf("page loaded in %v", time.Since(began))
			var f struct {
				Conns, Lanes, Delays, Items, Marks, Copies, Steps int
				Scripts                                           int
				CSP                                               string
			}
			must(t, p.Eval(`(() => {
				const n = s => document.querySelectorAll(s).length;
				return {Conns: n('details.conn'), Lanes: n('details.conn svg.lanes'), Delays: n('details.conn svg.delays'), Items: n('details.conn .items li'),
					Marks: n('svg.lanes .mark'), Copies: n('svg.lanes path.copy:not(.head)'), Steps: n('svg.lanes .seg'),
					Scripts: n('script'),
					CSP: document.querySelector('meta[http-equiv="Content-Security-Policy"]').content};
			})()`, &f))
			t.Logf("%+v", f)
			if f.Conns == 0 || f.Lanes != f.Conns || f.Delays != f.Conns || f.Items == 0 || f.Marks != f.Steps || f.Copies == 0 {
				t.Errorf("%d connections, %d two-lane ladders, %d delay graphs, %d items, %d marks for %d segments, %d lines: want a ladder and a graph each, a mark per segment, lines",
					f.Conns, f.Lanes, f.Delays, f.Items, f.Marks, f.Steps, f.Copies)
			}
			if f.Scripts != 0 || !strings.Contains(f.CSP, "script-src 'none'") || !strings.Contains(f.CSP, "default-src 'none'") {
				t.Errorf("%d scripts, policy %q: want none, and a policy that allows none", f.Scripts, f.CSP)
			}
			if tc.name == "hostile" {
				var title string
				must(t, p.Eval(`document.title`, &title))
				if !strings.Contains(title, strings.ReplaceAll(hostileName, "/", "_")) {
					t.Errorf("the title %q does not show the file's name as text", title)
				}
			}
			shot(t, p, "overview.png")
			must(t, p.Eval(`document.querySelector('details.conn[open] .ladder-box').scrollIntoView({block: 'start'})`, nil))
			shotOf(t, p, "details.conn[open] .ladder-box", "lanes.png")
			if probs := p.Problems(); len(probs) > 0 {
				t.Errorf("the page complained:\n%s", strings.Join(probs, "\n"))
			}
			for _, r := range p.Requests() {
				if r != url {
					t.Errorf("the page asked for %s; it must ask for nothing", r)
				}
			}
		})
	}
}

// hostilePair is a pair of captures whose file names are markup: a
// kernel scenario and its copy after a path that drops a segment.
func hostilePair(t *testing.T) (string, string) {
	t.Helper()
	frames, err := testcap.ReadFile(filepath.Join(testdata, "kernel", "fast-retransmit.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	p := testcap.Path{Client: labClient, Delay: 2 * time.Millisecond, Drop: []int{8}}
	a, b, _, _ := p.Apply(frames)
	name := strings.ReplaceAll(hostileName, "/", "_")
	return writeCapture(t, name+"-a.pcapng", hostileName, a), writeCapture(t, name+"-b.pcapng", hostileName, b)
}
