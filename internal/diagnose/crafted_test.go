package diagnose_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/tcplens/tcplens/internal/diagnose"
)

// craftedWants are the findings of the crafted captures of
// testdata/crafted (each script says what it shows), and the findings
// each must not have: the classes of issue 10's wrong findings, made
// where no capture with a licence shows them.
var craftedWants = []struct {
	capture string
	want    []want
	forbid  []string
}{
	// The capture's loss, not the network's: no rate, loss or limit from
	// data it did not see.
	{"capture-loss.pcap", []want{{"capture-incomplete", []int{8}}},
		[]string{"packet-loss", "rto-retransmission", "fast-retransmission", "rwnd-limited", "cwnd-limited", "spurious-retransmission"}},
	// A port scan and a sweep: their own findings, not 30 failed
	// connections.
	{"port-scan.pcap", []want{{"port-scan", []int{1, 2, 4, 5, 6}}},
		[]string{"refused", "syn-timeout", "synack-retrans-client-forgot", "synack-retrans-lost-ack", "rst-after-handshake", "rst-no-socket",
			"handshake-latency", "syn-flood", "host-sweep"}},
	{"host-sweep.pcap", []want{{"host-sweep", []int{1, 2, 4, 5, 10}}},
		[]string{"refused", "syn-timeout", "rst-after-handshake", "rst-no-socket", "port-scan"}},
	// One end never seen: no claim about the path or the peer that needs
	// its packets.
	{"one-end-unseen.pcap", []want{{"rto-retransmission", []int{3, 4, 5, 6, 7}}, {"midstream-capture", []int{1}}},
		[]string{"pmtu-blackhole", "packet-loss", "tail-loss-probe", "zero-window", "rwnd-limited"}},
	// Begun mid-stream: bytes resent from before the capture began fill
	// a hole, they are no loss after the capture point.
	{"midstream-resend.pcap", []want{{"fast-retransmission", []int{3, 8}}, {"midstream-capture", []int{1}}},
		[]string{"packet-loss", "spurious-retransmission"}},
	// Reordered originals and one loss: one hole was a loss (frame 15's,
	// filled by a resend with a newer TSval), the other reordering
	// (frame 6's, filled by segments with an older TSval).
	{"reordered-fill.pcap", []want{{"packet-loss", []int{15}}, {"fast-retransmission", []int{9, 20}}},
		[]string{"spurious-retransmission", "rto-retransmission"}},
	// Stopped on the client's FIN: nothing says the server acknowledged
	// it or stayed in CLOSE_WAIT.
	{"fin-capture-stopped.pcap", nil, []string{"close-wait-leak", "half-close"}},
	// An RST forged in the server's name; the client's host answers the
	// server's next data, which it no longer has a socket for.
	{"forged-rst.pcap", []want{{"middlebox-reset", []int{8}}, {"rst-no-socket", []int{7, 8, 9, 10}}},
		[]string{"abortive-close", "rst-unread-data"}},
	// Refused, then the same SYN answered: two connections, the second
	// not slow to open.
	{"syn-after-reset.pcap", []want{{"refused", []int{1, 2}}}, []string{"handshake-latency", "syn-timeout"}},
}

func TestCraftedCaptures(t *testing.T) {
	for _, tc := range craftedWants {
		t.Run(tc.capture, func(t *testing.T) {
			rep := diagnoseFile(t, filepath.Join("../../testdata/crafted", tc.capture))
			got := everyFinding(rep)
			checkWants(t, got, tc.want)
			checkForbidden(t, got, tc.forbid)
		})
	}
}

func checkForbidden(t *testing.T, got []diagnose.Finding, forbid []string) {
	t.Helper()
	for _, f := range got {
		if slices.Contains(forbid, f.ID) {
			t.Errorf("%s (conn %d, frames %v): %s", f.ID, f.Conn, f.Frames, f.Title)
		}
	}
}

// Issue 10's wrong findings on captures of the corpus, each a test: the
// right finding of the connection, and what it must not say.
func TestIssue10Cases(t *testing.T) {
	for _, tc := range []struct {
		capture string
		conn    int
		want    []want
		forbid  []string
	}{
		// SYN-ACKs sent again for the client's resent SYNs (867, 869),
		// all acknowledged (871-873): a slow handshake, not a client
		// that forgot the connection.
		{"zeek-ssh-ssh.pcap.gz", 19, []want{{"handshake-latency", []int{866, 867, 868, 869, 870, 871}}}, []string{"synack-retrans-client-forgot"}},
		// The keep-alive probe of frame 6442 is answered by 6446.
		{"zeek-echo-connections.pcap.gz", 161, []want{{"keepalive", []int{6442, 6446}}}, nil},
		// The client acknowledges 1.5 GB the capture never saw: the
		// capture's loss, not 47 % packet loss nor a window limit.
		{"zeek-ftp-bigtransfer.pcap", 0, []want{{"capture-incomplete", []int{54}}}, []string{"packet-loss", "rwnd-limited", "cwnd-limited"}},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			rep := diagnoseFile(t, filepath.Join("../../testdata/captures", tc.capture))
			var got []diagnose.Finding
			for _, f := range everyFinding(rep) {
				if tc.conn == 0 || f.Conn == tc.conn {
					got = append(got, f)
				}
			}
			if tc.conn != 0 {
				for _, c := range rep.Conns {
					if c.ID == tc.conn {
						got = append(got, c.Findings...)
					}
				}
			}
			checkWants(t, got, tc.want)
			checkForbidden(t, got, tc.forbid)
		})
	}
}
