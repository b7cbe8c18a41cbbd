package cli

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var labClient = netip.MustParseAddr("10.77.0.1")

// TestCompareArgs checks how compare takes its two points' files.
func TestCompareArgs(t *testing.T) {
	router := filepath.Join(testdata, "kernel", "router", "router-drop")
	a, b := filepath.Join(router, "client.pcap"), filepath.Join(router, "server.pcap")
	in := filepath.Join(router, "router-in.pcap")
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout, or stderr when code != 0
	}{
		{"two files", []string{a, b}, 0, "1 lost"},
		{"several files of a point", []string{a, "--", b, in}, 0, "B  " + b + ", " + in},
		{"one file", []string{a}, exitUsage, "want two captures"},
		{"three files", []string{a, b, in}, exitUsage, "want two captures"},
		{"empty side", []string{a, "--"}, exitUsage, "want B's files"},
		{"filter", []string{a, b, "tcp", "port", "8000"}, 0, "1 lost"},
		{"filter after several", []string{a, "--", b, "port", "9"}, 0, "0 TCP segments"},
		{"filter before --", []string{a, "port", "8000", "--", b}, exitUsage, "before --"},
		{"stdin twice", []string{"-", "-"}, exitUsage, "not both"},
		{"missing", []string{a, "/nonexistent.pcap"}, exitNoInput, "no such file"},
		{"window", []string{"--window", "0s", a, b}, exitUsage, "--window"},
		{"rows", []string{"--rows", "-1", a, b}, exitUsage, "--rows"},
		{"report from stdin", []string{"--report", filepath.Join(t.TempDir(), "x.html"), a, "-"}, exitUsage, "must be files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, nil, append([]string{"compare"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			got := out
			if code != 0 {
				got = errOut
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, got)
			}
		})
	}
}

// TestCompareJSON checks --json: one object per item, a summary last.
func TestCompareJSON(t *testing.T) {
	router := filepath.Join(testdata, "kernel", "router", "router-reject")
	out, errOut, code := run(t, nil, "compare", "--json", filepath.Join(router, "client.pcap"), filepath.Join(router, "server.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var kinds []string
	ls := lines(out)
	for i, line := range ls {
		var j map[string]any
		if err := json.Unmarshal([]byte(line), &j); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		kinds = append(kinds, j["kind"].(string))
		if i < len(ls)-1 {
			for _, k := range []string{"conn", "client", "server", "dir", "frames", "more", "count", "time", "title", "text", "alone", "points"} {
				if _, ok := j[k]; !ok {
					t.Errorf("item %s lacks %q", j["kind"], k)
				}
			}
		}
	}
	if want := "lost injected delay delay summary"; strings.Join(kinds, " ") != want {
		t.Errorf("kinds %v, want %s", kinds, want)
	}
}

// TestCompareFilterFile: -F filters both points as a filter after B's
// files does (the points' readers once took an env without it).
func TestCompareFilterFile(t *testing.T) {
	router := filepath.Join(testdata, "kernel", "router", "router-drop")
	a, b := filepath.Join(router, "client.pcap"), filepath.Join(router, "server.pcap")
	flt := filepath.Join(t.TempDir(), "filter")
	os.WriteFile(flt, []byte("port 9\n"), 0o644)
	withF, errOut, code := run(t, nil, "compare", "-F", flt, a, b)
	after, _, _ := run(t, nil, "compare", a, b, "port", "9")
	if code != 0 || withF != after || !strings.Contains(withF, "0 TCP segments") {
		t.Errorf("compare -F (exit %d, %s):\n%s\ncompare A B FILTER:\n%s", code, errOut, withF, after)
	}
}
