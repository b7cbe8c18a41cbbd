package cli

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/diagnose"
)

// kernelHeadline is the finding diagnose --json must name on each recorded
// Linux scenario (testdata/kernel); "" marks a healthy connection, which
// must get nothing above info.
var kernelHeadline = map[string]string{
	"client-close":            "",
	"client-close-ipv6":       "",
	"server-close":            "",
	"half-close":              "",
	"keepalive":               "",
	"simultaneous-close":      "",
	"simultaneous-open":       "",
	"fast-open":               "",
	"midstream":               "",
	"refused":                 "refused",
	"accept-then-close":       "accept-then-close",
	"rst-unread-data":         "rst-unread-data",
	"abortive-close":          "abortive-close",
	"rst-after-handshake":     "rst-after-handshake",
	"lost-handshake-ack":      "synack-retrans-lost-ack",
	"syn-timeout":             "syn-timeout",
	"synack-client-gave-up":   "synack-retrans-client-forgot",
	"rto-retransmission":      "rto-retransmission",
	"tail-loss-probe":         "tail-loss-probe",
	"fast-retransmit":         "fast-retransmission",
	"zero-window":             "zero-window",
	"close-wait-leak":         "close-wait-leak",
	"urgent-data":             "urgent-data",
	"pmtu-blackhole":          "pmtu-blackhole",
	"rst-idle-timeout":        "rst-idle-timeout",
	"nagle-delayed-ack":       "nagle-delayed-ack",
	"no-window-scaling":       "no-window-scaling",
	"extra/rst-no-socket":     "rst-no-socket",
	"extra/time-wait-reuse":   "time-wait-pressure",
	"extra/ecn-ce":            "ecn",
	"extra/syn-cookies":       "syn-cookies",
	"extra/rst-after-restart": "rst-no-socket",
	// Reordered after the client's capture point: nothing to see here.
	"extra/reordered":                 "",
	"extra/reordered-loss":            "packet-loss",
	"extra/reordered-fast-retransmit": "spurious-retransmission",
}

func TestDiagnoseJSONOnKernelScenarios(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata, "kernel", "*.pcap"))
	extra, _ := filepath.Glob(filepath.Join(testdata, "kernel", "extra", "*.pcap"))
	for _, f := range append(files, extra...) {
		name, _ := filepath.Rel(filepath.Join(testdata, "kernel"), strings.TrimSuffix(f, ".pcap"))
		t.Run(name, func(t *testing.T) {
			headline, ok := kernelHeadline[name]
			if !ok {
				t.Fatalf("no expected finding for scenario %s", name)
			}
			out, errOut, code := run(t, nil, "diagnose", "--json", f)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			var ids []string
			for _, line := range lines(out) {
				var fj struct {
					ID       string `json:"id"`
					Severity string `json:"severity"`
					Conn     *int   `json:"conn"`
					Frames   []int  `json:"frames"`
				}
				if err := json.Unmarshal([]byte(line), &fj); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				if len(fj.Frames) == 0 {
					t.Errorf("%s has no evidence frames", fj.ID)
				}
				if headline == "" && fj.Severity != "info" {
					t.Errorf("healthy connection, but %s %s", fj.Severity, fj.ID)
				}
				ids = append(ids, fj.ID)
			}
			if headline != "" && !slices.Contains(ids, headline) {
				t.Errorf("findings %v do not name %s", ids, headline)
			}
		})
	}
}

func TestDiagnoseText(t *testing.T) {
	out, errOut, code := run(t, nil, "diagnose", "--min-severity", "warning", filepath.Join(testdata, "kernel", "refused.pcap"))
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.HasPrefix(out, "ERROR   refused  conn 1  frames 1, 2\n") || strings.Contains(out, "\x1b[") {
		t.Errorf("diagnose text:\n%s", out)
	}
	if _, errOut, code := run(t, nil, "diagnose", "--min-severity", "loud", filepath.Join(testdata, "kernel", "refused.pcap")); code != exitUsage || !strings.Contains(errOut, "--min-severity") {
		t.Errorf("bad --min-severity: exit %d, %q", code, errOut)
	}
}

func TestExplain(t *testing.T) {
	path := filepath.Join(testdata, "kernel", "lost-handshake-ack.pcap")
	out, errOut, code := run(t, nil, "explain", path, "-c", "1")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"connection 1  client 10.77.0.1:40001 → server 10.77.0.2:8000", "#4 ", "SYN_RECV (corrected)", "synack-retrans-lost-ack"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	out, _, code = run(t, nil, "explain", "--json", path)
	if code != 0 || len(lines(out)) != 1 || !json.Valid([]byte(out)) {
		t.Errorf("explain --json: exit %d, %d lines", code, len(lines(out)))
	}
	_, errOut, code = run(t, nil, "explain", path, "-c", "7")
	if code != exitNoFrame || !strings.Contains(errOut, "no connection 7") {
		t.Errorf("explain -c 7: exit %d, %q", code, errOut)
	}
}

func TestOverviewAndDemo(t *testing.T) {
	for _, args := range [][]string{nil, {"demo"}} {
		out, errOut, code := run(t, nil, args...)
		if code != 0 {
			t.Fatalf("tcplens %v: exit %d, %s", args, code, errOut)
		}
		for _, want := range []string{"capture  built-in demo capture", "7 connections", "refused", "findings: 1 error"} {
			if !strings.Contains(out, want) {
				t.Errorf("tcplens %v lacks %q:\n%s", args, want, out)
			}
		}
	}
	out, _, code := run(t, nil, filepath.Join(testdata, "kernel", "refused.pcap"))
	if code != 0 || !strings.Contains(out, "refused.pcap") || !strings.Contains(out, "ERROR") {
		t.Errorf("tcplens FILE: exit %d:\n%s", code, out)
	}
	if _, errOut, code := run(t, nil, "raed"); code != exitUsage || !strings.Contains(errOut, `unknown command "raed"`) {
		t.Errorf("a mistyped command: exit %d, %q", code, errOut)
	}
}

func TestDissectKnowsTheReceiver(t *testing.T) {
	out, _, code := run(t, nil, "dissect", filepath.Join(testdata, "kernel", "lost-handshake-ack.pcap"), "-f", "3")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"before       client ESTABLISHED, server SYN_RECV", "= ISS+1 acknowledges its SYN", "relative 1, counting from the client's ISN"} {
		if !strings.Contains(out, want) {
			t.Errorf("dissect lacks %q:\n%s", want, out)
		}
	}
}

// TestDiagnoseHelpNamesEveryClaim keeps diagnose --help's list of evidence
// kinds complete.
func TestDiagnoseHelpNamesEveryClaim(t *testing.T) {
	out, _, code := run(t, nil, "diagnose", "--help")
	if code != 0 {
		t.Fatalf("diagnose --help: exit %d", code)
	}
	words := strings.Join(strings.Fields(out), " ")
	for _, k := range diagnose.ClaimKinds() {
		if !strings.Contains(words, " "+k.String()+" ") && !strings.Contains(words, " "+k.String()+",") && !strings.Contains(words, " "+k.String()+".") {
			t.Errorf("diagnose --help does not name the claim kind %q", k)
		}
	}
}
