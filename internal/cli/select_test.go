package cli

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/communityid"
	"github.com/tcplens/tcplens/internal/sample"
)

// clientPorts lists the demo's client ports (40001 to 40007, one per
// connection) an output mentions.
func clientPorts(out string) []string {
	ports := regexp.MustCompile(`4000[1-7]`).FindAllString(out, -1)
	slices.Sort(ports)
	return slices.Compact(ports)
}

// TestSelectionEveryCommand: --conn, --community-id, --state,
// --finding, --analysis and --since/--until narrow every command's output
// to the connections they select, here the demo's connection 7 (its
// server stays in CLOSE_WAIT; it is the last to start) or 6 (the one RTO
// retransmission), while the analysis still sees every frame.
func TestSelectionEveryCommand(t *testing.T) {
	cid := communityid.Of(0, netip.MustParseAddrPort("10.77.0.1:40007"), netip.MustParseAddrPort("10.77.0.2:8000"), communityid.ProtoTCP)
	dir := t.TempDir()
	selections := []struct {
		args []string
		want string // the one client port shown
	}{
		{[]string{"--conn", "7"}, "40007"},
		{[]string{"--community-id", cid}, "40007"},
		{[]string{"--state", "CLOSE_WAIT"}, "40007"},
		{[]string{"--since", "2026-11-21T20:25:24.4Z"}, "40007"},
		{[]string{"--since", "19s", "--until", "1h"}, "40007"},
		{[]string{"--analysis", "rto_retransmission"}, "40006"},
	}
	commands := [][]string{
		{"conns"}, {"diagnose"}, {"explain"}, {}, {"report", "-o", filepath.Join(dir, "r.html")},
		{"read", "-a"},
	}
	for _, sel := range selections {
		for _, cmd := range commands {
			args := append(slices.Clone(cmd), sel.args...)
			out, errOut, code := run(t, nil, args...)
			if code != 0 {
				t.Errorf("%v: exit %d: %s", args, code, errOut)
				continue
			}
			if len(cmd) > 0 && cmd[0] == "report" {
				raw, _ := os.ReadFile(cmd[2])
				out = string(raw)
			}
			if got := clientPorts(out); !slices.Equal(got, []string{sel.want}) {
				t.Errorf("%v: connections of client ports %v shown, want %s only", args, got, sel.want)
			}
		}
	}
	// --finding, on the commands that diagnose.
	for _, cmd := range [][]string{{"diagnose"}, {"explain"}, {}} {
		args := append(cmd, "--finding", "close-wait-leak")
		out, errOut, code := run(t, nil, args...)
		if got := clientPorts(out); code != 0 || !slices.Equal(got, []string{"40007"}) {
			t.Errorf("%v: exit %d, client ports %v: %s", args, code, got, errOut)
		}
	}
	// The analysis sees every frame: connection 7 keeps its number and
	// its findings, and the overview counts every connection.
	out, _, _ := run(t, nil, "--state", "CLOSE_WAIT")
	if !strings.Contains(out, "in 7 connections") || !strings.Contains(out, "connections selected (1 of 7)") ||
		!strings.Contains(out, "close-wait-leak  conn 7") {
		t.Errorf("the overview narrowed to connection 7:\n%s", out)
	}
	// The capture's own findings concern no connection: gone when
	// connections are selected.
	if strings.Contains(out, "snaplen-truncated") {
		t.Errorf("a capture-wide finding in the overview of one connection:\n%s", out)
	}
	// graph draws the one connection -c or --community-id names, and
	// --since/--until narrow its picture.
	whole, _, _ := run(t, nil, "graph", "-c", "7", "--kind", "ladder")
	byCID, _, code := run(t, nil, "graph", "--community-id", cid, "--kind", "ladder")
	if code != 0 || byCID != whole {
		t.Errorf("graph --community-id (exit %d) draws other than graph -c 7", code)
	}
	part, _, code := run(t, nil, "graph", "-c", "7", "--since", "2026-11-21T20:25:24.45Z")
	if code != 0 || strings.Count(part, "<path") >= strings.Count(whole, "<path") {
		t.Errorf("graph --since drew as much as the whole connection (exit %d)", code)
	}
	if _, errOut, code := run(t, nil, "graph", "-c", "7", "--until", "1s"); code == 0 || !strings.Contains(errOut, "no segment between") {
		t.Errorf("graph of a connection outside the window: exit %d, %s", code, errOut)
	}
	// Nothing selected is said, and is no error; an id beyond the
	// capture's is.
	_, errOut, code := run(t, nil, "diagnose", "--state", "SYN_SENT")
	if code != 0 || !strings.Contains(errOut, "none of the capture's 7 connections is selected") {
		t.Errorf("diagnose selecting nothing: exit %d, %s", code, errOut)
	}
	if _, errOut, code := run(t, nil, "explain", "-c", "9"); code != exitNoFrame || !strings.Contains(errOut, "no connection 9") {
		t.Errorf("explain -c 9: exit %d, %s", code, errOut)
	}
	if _, errOut, code := run(t, nil, "diagnose", "--finding", "no-such-thing"); code != 2 || !strings.Contains(errOut, "no finding has this id") {
		t.Errorf("diagnose --finding no-such-thing: exit %d, %s", code, errOut)
	}
}

// TestReadState: read --state prints the segments of the connections
// whose end state it names, reading the capture twice; standard input is
// read twice when it is a file and refused when it is a pipe.
func TestReadState(t *testing.T) {
	out, errOut, code := run(t, nil, "read", "--state", "CLOSE_WAIT")
	if code != 0 || !slices.Equal(clientPorts(out), []string{"40007"}) || len(lines(out)) != 9 {
		t.Fatalf("read --state CLOSE_WAIT: exit %d, %d lines of ports %v: %s", code, len(lines(out)), clientPorts(out), errOut)
	}
	if strings.Count(errOut, "no file given") != 1 {
		t.Errorf("the first reading's notes said twice:\n%s", errOut)
	}
	// With -w, the connection's frames; with --conn, both must hold.
	w := filepath.Join(t.TempDir(), "cw.pcap")
	if _, errOut, code := run(t, nil, "read", "--state", "close_wait", "-w", w); code != 0 || !strings.Contains(errOut, "wrote 9 frames") {
		t.Errorf("read --state -w: exit %d, %s", code, errOut)
	}
	if out, _, _ := run(t, nil, "read", "--state", "CLOSE_WAIT", "--conn", "6"); out != "" {
		t.Errorf("read --state CLOSE_WAIT --conn 6 printed:\n%s", out)
	}

	file := filepath.Join(t.TempDir(), "demo.pcap")
	if err := os.WriteFile(file, sample.Capture, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fromFile, errOut, code := run(t, f, "read", "--state", "CLOSE_WAIT", "-")
	if code != 0 || fromFile != out {
		t.Errorf("read --state - < file: exit %d, %s\n%s", code, errOut, fromFile)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		pw.Write(sample.Capture)
		pw.Close()
	}()
	_, errOut, code = run(t, pr, "read", "--state", "CLOSE_WAIT")
	pr.Close()
	if code != 2 || !strings.Contains(errOut, "can be read only once") {
		t.Errorf("read --state from a pipe: exit %d, %s", code, errOut)
	}
}

// TestReportFilterFile: report reads a capture twice, the second time to
// draw; both readings take the filter -F gives, as both take one given
// after the files (the second once read the capture unfiltered, and drew
// connections numbered otherwise).
func TestReportFilterFile(t *testing.T) {
	dir := t.TempDir()
	flt := filepath.Join(dir, "filter")
	os.WriteFile(flt, []byte("port 40006 or port 40007\n"), 0o644)
	a, b := filepath.Join(dir, "a.html"), filepath.Join(dir, "b.html")
	if _, errOut, code := run(t, nil, "report", "-F", flt, "-o", a); code != 0 {
		t.Fatalf("report -F: %s", errOut)
	}
	if _, errOut, code := run(t, nil, "report", "-o", b, "port", "40006", "or", "port", "40007"); code != 0 {
		t.Fatalf("report FILTER: %s", errOut)
	}
	ra, _ := os.ReadFile(a)
	rb, _ := os.ReadFile(b)
	if string(ra) != string(rb) || !strings.Contains(string(ra), "40007") {
		t.Errorf("report -F and report FILTER differ (%d and %d bytes)", len(ra), len(rb))
	}
}
