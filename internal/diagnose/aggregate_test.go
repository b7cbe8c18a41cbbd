package diagnose_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/diagnose"
)

// TestAggregateRepeatedFindings checks the finding that stands for many
// connections on zeek's echo capture, where a listener's full accept queue
// dropped the first SYNs of 158 of 500 connections: one handshake-latency
// finding (not 158) that counts them, names the cause the connections
// share, and gives the worst three with their evidence; each connection
// keeps its own finding.
func TestAggregateRepeatedFindings(t *testing.T) {
	rep := diagnoseFile(t, filepath.Join("../../testdata/captures", "zeek-echo-connections.pcap.gz"))
	var hl []diagnose.Finding
	for _, f := range rep.Findings {
		if f.ID == "handshake-latency" {
			hl = append(hl, f)
		}
	}
	if len(hl) != 1 {
		t.Fatalf("%d handshake-latency findings, want 1 for all the connections", len(hl))
	}
	f := hl[0]
	if f.Conn != 0 || f.Conns != 158 || f.Severity != diagnose.Warning {
		t.Errorf("conn %d, conns %d, %s; want 0, 158, warning", f.Conn, f.Conns, f.Severity)
	}
	for _, w := range []string{
		"158 connections: ",
		"158 connections of the capture's 500 show it (158 warnings), all of them to 127.0.0.1:7000",
		"158 of the 500 connections to 127.0.0.1:7000, opened within 130 ms, saw their first SYN go unanswered, and once connected none of them lost a packet",
		"its accept queue overflowed",
		"The worst: connection 88, connect took 3.11 s: 2 SYNs went unanswered first (frames 306, 23380, 65678 and 65795); connection 90",
		"and 138 more",
	} {
		if !strings.Contains(f.Title+" "+f.Explanation, w) {
			t.Errorf("the finding does not say %q:\n%s\n%s", w, f.Title, f.Explanation)
		}
	}

	g := rep.Group("handshake-latency")
	if g == nil || g.Conns != 158 || g.Severities[diagnose.Warning] != 158 || len(g.Worst) != 20 {
		t.Fatalf("group %+v: want 158 connections, 158 warnings, 20 kept", g)
	}
	// The evidence is the three worst examples'.
	var want []int
	for _, w := range g.Worst[:3] {
		want = append(want, w.Frames...)
	}
	slices.Sort(want)
	if !slices.Equal(f.Frames, want) {
		t.Errorf("frames %v, want the examples' %v", f.Frames, want)
	}
	// Each connection keeps its own finding, for explain -c and the
	// report's connection view.
	own := rep.ConnFindings(g.Worst[0].Conn)
	if !slices.ContainsFunc(own, func(f diagnose.Finding) bool { return f.ID == "handshake-latency" && f.Conn == g.Worst[0].Conn }) {
		t.Errorf("connection %d's own findings lack handshake-latency: %v", g.Worst[0].Conn, ids(own))
	}
	// 500 app-limited and 23 keep-alive, every probe answered.
	if rep.Counts[diagnose.Warning] != 158 || rep.Counts[diagnose.Info] != 523 {
		t.Errorf("counts %v: want every connection's finding counted (158 warnings, 523 info)", rep.Counts)
	}
}

// TestAggregateThreshold checks the line between the two: ten connections
// with one finding id are listed one by one, eleven are aggregated.
func TestAggregateThreshold(t *testing.T) {
	// Ten each of packet-loss, rto-retransmission,
	// spurious-retransmission and simultaneous-close.
	rep := diagnoseFile(t, filepath.Join("../../testdata/captures", "suri-ftp-ftp-ippair-leak-5204.pcap"))
	n := 0
	for _, f := range rep.Findings {
		if f.ID == "simultaneous-close" {
			n++
			if f.Conn == 0 || f.Conns != 0 {
				t.Errorf("simultaneous-close of %d connections aggregated: %+v", diagnose.AggregateAbove, f)
			}
		}
	}
	if n != diagnose.AggregateAbove {
		t.Errorf("%d simultaneous-close findings, want %d", n, diagnose.AggregateAbove)
	}
	// Thirteen MySQL connections closed simultaneously.
	rep = diagnoseFile(t, filepath.Join("../../testdata/captures", "zeek-mysql-auth.pcap"))
	n = 0
	for _, f := range rep.Findings {
		if f.ID == "simultaneous-close" {
			n++
			if f.Conn != 0 || f.Conns != 13 {
				t.Errorf("simultaneous-close of 13 connections: conn %d, conns %d", f.Conn, f.Conns)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d simultaneous-close findings, want 1", n)
	}
}
