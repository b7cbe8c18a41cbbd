package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/bpf"
	"github.com/tcplens/tcplens/internal/pcap"
)

// frameNumbers returns the numbers of the frames of a capture that a
// filter passes, run by package bpf directly.
func frameNumbers(t *testing.T, path, expr string) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	flt, err := bpf.NewFilter(expr)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for {
		fr, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			continue
		}
		if ok, err := flt.Match(&fr, r.BigEndian()); err != nil {
			t.Fatal(err)
		} else if ok {
			out = append(out, fr.Number)
		}
	}
	return out
}

// TestReadFilter: read FILE EXPR prints the lines of exactly the frames
// the filter passes (as read --json numbers them), as tcpdump -r FILE EXPR.
func TestReadFilter(t *testing.T) {
	file := capturePath("zeek-http-vlan-0.pcap")
	for _, expr := range []string{
		"tcp[13] & 2 != 0", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "vlan and tcp[13] = 18", "greater 100",
		"host 141.142.228.5 and port 80", "not tcp[13] = 16", "len > 100 and (port 80 or port 443)",
	} {
		want := frameNumbers(t, file, expr)
		args := append([]string{"read", "--json", file}, strings.Fields(expr)...)
		out, errOut, code := run(t, nil, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", expr, code, errOut)
		}
		var got []int
		for _, l := range lines(out) {
			var n int
			fmt.Sscanf(l, `{"frame":%d`, &n)
			got = append(got, n)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: frames %v, want %v", expr, got, want)
		}
		// The same expression as one argument, and from -F.
		one, _, _ := run(t, nil, "read", "--json", file, expr)
		exprFile := filepath.Join(t.TempDir(), "f")
		os.WriteFile(exprFile, []byte(expr+"\n"), 0o644)
		fromF, _, _ := run(t, nil, "read", "--json", "-F", exprFile, file)
		if one != out || fromF != out {
			t.Errorf("%q: one argument or -F gives other frames", expr)
		}
	}
}

// TestEveryCommandFilters: the filter reaches every command that reads
// captures, through openCapture: the demo's connection 2 alone.
func TestEveryCommandFilters(t *testing.T) {
	for _, args := range [][]string{
		{"read"}, {"read", "-a"}, {"conns"}, {"diagnose"}, {"explain"}, {"report", "-o", filepath.Join(t.TempDir(), "r.html")},
		{"graph", "-c", "1", "-o", filepath.Join(t.TempDir(), "g.svg")}, {}, {"dissect", "-f", "12"},
	} {
		out, errOut, code := run(t, nil, append(args, "port", "40002")...)
		if code != 0 {
			t.Errorf("%v port 40002: exit %d: %s", args, code, errOut)
			continue
		}
		if strings.Contains(out, "40001") || strings.Contains(out, "40003") {
			t.Errorf("%v port 40002: other connections in the output:\n%s", args, out)
		}
	}
	out, _, _ := run(t, nil, "conns", "port", "40002")
	if n := len(lines(out)); n != 2 || !strings.Contains(out, "10.77.0.1:40002") {
		t.Errorf("conns port 40002:\n%s", out)
	}
}

func TestFilterErrors(t *testing.T) {
	file := capturePath("zeek-http-get.pcap")
	for _, tc := range []struct {
		args     []string
		code     int
		stderr   []string
		noAdvice bool
	}{
		{[]string{"read", file, "tcp", "port"}, 2, []string{"filter: at its end", "Run 'tcplens --help'"}, false},
		{[]string{"read", file, "tcp[13]", "&", "2", "!=", "0", "and", ")"}, 2, []string{`at character 22 (")"`, "unexpected"}, false},
		{[]string{"read", file, "host", "www.example.com"}, 2, []string{"resolves no names"}, false},
		{[]string{"read", file, "!="}, 2, []string{"filter"}, false},
		{[]string{"read", "no-such.pcap"}, 1, []string{"no-such.pcap: no such file"}, true},
		{[]string{"read", file, "trace2.pcap"}, 1, []string{"trace2.pcap: no such file"}, true},
		{[]string{"conns", file, "vlan"}, 0, nil, true},
		{[]string{"read", capturePath("lwerdna-simple_http_sll2.pcap"), "vlan"}, 2, []string{"no VLAN support for Linux cooked v2"}, false},
	} {
		_, errOut, code := run(t, nil, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d: %s", tc.args, code, tc.code, errOut)
		}
		for _, s := range tc.stderr {
			if !strings.Contains(errOut, s) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, s, errOut)
			}
		}
		if tc.noAdvice && strings.Contains(errOut, "--help") {
			t.Errorf("%v: a runtime error with usage advice:\n%s", tc.args, errOut)
		}
	}
	// A filter of a million parentheses fails at once, quoting little of it.
	start := time.Now()
	_, errOut, code := run(t, nil, "read", file, strings.Repeat("(", 1_000_000))
	if code != 2 || len(errOut) > 400 || time.Since(start) > 2*time.Second {
		t.Errorf("a million parentheses: exit %d in %v, stderr of %d bytes", code, time.Since(start), len(errOut))
	}
}

// TestInputs: several files merge in time order; a directory stands for
// the captures in it; files are opened when their turn comes, so that
// more files than the process may hold open are read; standard input is
// read when it is a pipe.
func TestInputs(t *testing.T) {
	src := capturePath("zeek-http-vnd.ms-cab-compressed-multi-conn.pcap")
	whole, _, code := run(t, nil, "read", "-tt", src)
	if code != 0 {
		t.Fatal("reading the source failed")
	}
	// Split it into one file per frame, named so that name order is not
	// time order.
	dir := t.TempDir()
	f, _ := os.Open(src)
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		fr, err := r.Next()
		if err != nil {
			break
		}
		n++
		out, _ := os.Create(filepath.Join(dir, fmt.Sprintf("part-%05d.pcap", (n*7919)%100000)))
		w, _ := pcap.NewWriter(out, fr.Link, 65535, false, false)
		w.WritePacket(&fr)
		w.Flush()
		out.Close()
	}
	f.Close()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a capture"), 0o644)
	if n < 100 {
		t.Fatalf("only %d frames to split", n)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, nil, "read", "-tt", dir)
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	if code != 0 {
		t.Fatalf("%d files under ulimit -n 64: exit %d: %.500s", n, code, errOut)
	}
	if out != whole {
		t.Errorf("%d one-frame files read as a directory differ from the capture they were cut from", n)
	}
	if !strings.Contains(errOut, "1 file in the directories given are not captures") && !strings.Contains(errOut, "not captures") {
		t.Errorf("the file that is not a capture is not mentioned: %q", errOut)
	}

	// Standard input, when it is a pipe, is read without "-".
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		b, _ := os.ReadFile(capturePath("zeek-http-get.pcap"))
		pw.Write(b)
		pw.Close()
	}()
	piped, errOut, code := run(t, pr, "read", "-tt")
	pr.Close()
	want, _, _ := run(t, nil, "read", "-tt", capturePath("zeek-http-get.pcap"))
	if code != 0 || piped != want || strings.Contains(errOut, "demo") {
		t.Errorf("cat x.pcap | tcplens read: exit %d, stderr %q, same output %v", code, errOut, piped == want)
	}
}

// TestSlices: -c, -w with --conn, --dedup, --analysis, --since/--until
// and conns --state.
func TestSlices(t *testing.T) {
	file := capturePath("zeek-http-vnd.ms-cab-compressed-multi-conn.pcap")
	out, _, _ := run(t, nil, "read", "-tt", "-c", "5", file)
	if len(lines(out)) != 5 {
		t.Errorf("-c 5: %d lines", len(lines(out)))
	}

	// --conn ID -w FILE: one connection for Wireshark; read back, the same
	// lines as read --conn prints, timestamps to the nanosecond.
	conn2, _, _ := run(t, nil, "read", "-tt", "--nano", "--conn", "2", file)
	if len(lines(conn2)) == 0 {
		t.Fatal("--conn 2 printed nothing")
	}
	dir := t.TempDir()
	w := filepath.Join(dir, "conn2.pcap")
	_, errOut, code := run(t, nil, "read", "--conn", "2", "-w", w, file)
	if code != 0 || !strings.Contains(errOut, "wrote") {
		t.Fatalf("-w: exit %d: %s", code, errOut)
	}
	back, _, _ := run(t, nil, "read", "-tt", "--nano", w)
	if back != conn2 {
		t.Errorf("the file -w wrote reads back as\n%s\nnot\n%s", back, conn2)
	}
	// Nanosecond timestamps stay nanosecond.
	nano := capturePath("tcpdump-tcp-handshake-nano.pcap")
	run(t, nil, "read", "-w", filepath.Join(dir, "nano.pcap"), nano)
	a, _, _ := run(t, nil, "read", "-tt", "--nano", nano)
	b, _, _ := run(t, nil, "read", "-tt", "--nano", filepath.Join(dir, "nano.pcap"))
	if a != b || !strings.Contains(a, ".") {
		t.Errorf("nanosecond timestamps changed through -w:\n%s\n%s", a, b)
	}
	// Interfaces of different link types: pcapng.
	mixed := capturePath("gopacket-be-test202.pcapng")
	ng := filepath.Join(dir, "mixed.pcapng")
	run(t, nil, "read", "-w", ng, mixed)
	raw, _ := os.ReadFile(ng)
	if len(raw) < 4 || string(raw[:4]) != "\x0a\x0d\x0d\x0a" {
		t.Errorf("a capture with Ethernet and loopback interfaces was not written as pcapng")
	}
	a, _, _ = run(t, nil, "read", "-tt", mixed)
	b, _, _ = run(t, nil, "read", "-tt", ng)
	if a != b {
		t.Errorf("the pcapng -w wrote reads differently:\n%s\n%s", a, b)
	}

	// --dedup drops the copies read -a calls duplicate_frame.
	dups := capturePath("zeek-tcp-ssh-dups.pcap")
	all, _, _ := run(t, nil, "read", "-a", dups)
	dedup, _, _ := run(t, nil, "read", "-a", "--dedup", dups)
	copies := strings.Count(all, "duplicate_frame")
	if copies == 0 || strings.Count(dedup, "duplicate_frame") != 0 || len(lines(dedup)) != len(lines(all))-copies {
		t.Errorf("--dedup: %d lines of %d, %d copies", len(lines(dedup)), len(lines(all)), copies)
	}

	// --analysis retransmission: every kind of retransmission.
	rt, _, _ := run(t, nil, "read", "-a", "--analysis", "retransmission", testdata+"/kernel/fast-retransmit.pcap")
	if len(lines(rt)) == 0 {
		t.Error("--analysis retransmission: nothing")
	}
	for _, l := range lines(rt) {
		if !strings.Contains(l, "retransmission") {
			t.Errorf("--analysis retransmission printed %s", l)
		}
	}
	if _, errOut, code := run(t, nil, "read", "--analysis", "retransmision", file); code != 2 || !strings.Contains(errOut, "not an analysis name") {
		t.Errorf("a misspelt analysis name: exit %d, %s", code, errOut)
	}

	// --since/--until as offsets from the first frame.
	all, _, _ = run(t, nil, "read", "-tt", file)
	var first float64
	fmt.Sscanf(all, "%f", &first)
	window, _, _ := run(t, nil, "read", "-tt", "--since", "16s", "--until", "17s", file)
	for _, l := range lines(window) {
		var ts float64
		fmt.Sscanf(l, "%f", &ts)
		if ts < first+16 || ts > first+17 {
			t.Errorf("--since 16s --until 17s printed %s", l)
		}
	}
	if len(lines(window)) == 0 || len(lines(window)) >= len(lines(all)) {
		t.Errorf("--since/--until: %d lines of %d", len(lines(window)), len(lines(all)))
	}

	// conns --state: the demo's connection 7 leaves its server in CLOSE_WAIT.
	cw, _, _ := run(t, nil, "conns", "--state", "close_wait")
	if n := len(lines(cw)); n != 2 || !strings.Contains(cw, "CLOSE_WAIT") {
		t.Errorf("conns --state close_wait:\n%s", cw)
	}
	cid, _, _ := run(t, nil, "conns", "--community-id", "1:wrong=")
	if len(lines(cid)) != 1 {
		t.Errorf("conns --community-id of no connection:\n%s", cid)
	}
}

// TestFlagValidation: numbers and durations out of range are usage
// errors; errors met while running carry no usage advice.
func TestFlagValidation(t *testing.T) {
	for _, args := range [][]string{
		{"read", "-c", "-1"}, {"read", "--max-conns", "0"}, {"conns", "--max-conns", "-1"},
		{"report", "--rows", "-1"}, {"report", "--pictures", "-1"}, {"diagnose", "--max-conns", "-5"},
		{"read", "--since", "yesterday"}, {"read", "--until", "-5s"}, {"conns", "--state", "OPEN"},
	} {
		_, errOut, code := run(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, "Run 'tcplens --help' for usage") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
	if out, _, _ := run(t, nil, "report", "--help"); !strings.Contains(out, "runs no code but its own") {
		t.Errorf("report --help:\n%s", out)
	}
	_, errOut, code := run(t, nil, "report", "-o", "/nonexistent/x.html")
	if code != 1 || strings.Contains(errOut, "--help") || !strings.Contains(errOut, "/nonexistent/x.html") {
		t.Errorf("report -o /nonexistent/x.html: exit %d, stderr %q", code, errOut)
	}
}

// TestOverviewHeader: a capture over several days gives the end's date;
// a long list of files is summarised; the hints name the capture.
func TestOverviewHeader(t *testing.T) {
	a, b := capturePath("zeek-http-get.pcap"), capturePath("zeek-tcp-retransmit-fast009.pcap")
	out, _, code := run(t, nil, a, b)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	head := strings.SplitN(out, "\n", 3)[1]
	if strings.Count(head, "-") < 4 || !strings.Contains(head, " to 20") {
		t.Errorf("a capture over days lacks the end's date: %s", head)
	}
	var many []string
	for i := 0; i < 12; i++ {
		many = append(many, a)
	}
	dir := t.TempDir()
	for i := range many {
		p := filepath.Join(dir, fmt.Sprintf("rot-%02d.pcap", i))
		raw, _ := os.ReadFile(a)
		os.WriteFile(p, raw, 0o644)
		many[i] = p
	}
	out, _, _ = run(t, nil, many...)
	first := strings.SplitN(out, "\n", 2)[0]
	if !strings.Contains(first, "(12 files)") || strings.Contains(first, "rot-05") {
		t.Errorf("12 files in the header: %s", first)
	}
	if strings.Contains(out, "conns FILE ") || strings.Contains(out, "diagnose FILE ") {
		t.Errorf("a hint names FILE instead of the capture:\n%s", out)
	}
}

// TestCompletionVersionReport: cobra's completion with connection ids,
// --version with what the build knows, and report without -o writing a
// file named after the capture.
func TestCompletionVersionReport(t *testing.T) {
	out, _, code := run(t, nil, "completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: exit %d", code)
	}
	out, _, _ = run(t, nil, "__complete", "explain", "--conn", "")
	if !strings.Contains(out, "2\t10.77.0.1:40002 → 10.77.0.2:8000") {
		t.Errorf("connection ids not completed:\n%s", out)
	}
	out, _, _ = run(t, nil, "__complete", "read", "--analysis", "")
	if !strings.Contains(out, "zero_window\t") {
		t.Errorf("analysis names not completed:\n%s", out)
	}
	out, _, _ = run(t, nil, "__complete", "diagnose", "--finding", "")
	if !strings.Contains(out, "close-wait-leak\t") {
		t.Errorf("finding ids not completed:\n%s", out)
	}
	out, _, _ = run(t, nil, "--version")
	if !strings.HasPrefix(out, "tcplens ") || !(strings.Contains(out, "commit") || strings.Contains(out, "without VCS information")) {
		t.Errorf("--version: %q", out)
	}

	dir := t.TempDir()
	wd, _ := os.Getwd()
	abs, _ := filepath.Abs(capturePath("zeek-http-get.pcap"))
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	out, errOut, code := run(t, nil, "report", abs)
	if code != 0 || out != "" || !strings.Contains(errOut, "wrote the report to zeek-http-get.html") {
		t.Errorf("report without -o: exit %d, %d bytes on stdout, stderr %q", code, len(out), errOut)
	}
	if st, err := os.Stat(filepath.Join(dir, "zeek-http-get.html")); err != nil || st.Size() < 1000 {
		t.Errorf("report without -o wrote no zeek-http-get.html: %v", err)
	}
}
