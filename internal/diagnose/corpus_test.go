package diagnose_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/diagnose"
)

// corpusWants are the findings real captures of the public corpus
// (testdata/README.md says what each shows) must produce: the rules whose
// situation no kernel scenario records, and other forms of those that do.
var corpusWants = []struct {
	capture string
	want    []want
}{
	// A SYN flood from one host (hping3's bare SYNs), one real client
	// among them.
	{"suri-bug-7657-01.pcap", []want{{"syn-flood", []int{1, 2, 3, 4, 5, 6, 7, 8}}}},
	// The injected RST answering the SYN: TTL 46 where the host's own
	// packets have 49, and the SYN's IP ID copied.
	{"zeek-tcp-rst-inject-rae.pcap", []want{{"middlebox-reset", []int{1, 2}}}},
	// The first SYN unanswered, the second answered.
	{"suri-bug-4376-syn_retransmit_with_ts.pcap", []want{{"handshake-latency", []int{1, 2, 3}}, {"cwnd-limited", nil}}},
	// An SMTP interception proxy next to the client: ACKs within
	// microseconds, a SYN-ACK after 208 ms.
	{"suri-smtp-to-comma.pcap", []want{{"handshake-latency", []int{1, 2}}}},
	// Classic ECN negotiated on a Mac-to-Linux VNC session, and Accurate
	// ECN on tcpdump's test capture.
	// The VNC session also shows Nagle meeting delayed ACKs, and the
	// pauses of an interactive application.
	{"zeek-rfb-vnc-mac-to-linux.pcap", []want{{"ecn", []int{15, 16}}, {"nagle-delayed-ack", []int{54, 108}}, {"app-limited", nil}}},
	{"tcpdump-accecn_handshake.pcap", []want{{"ecn", nil}}},
	// An Apple client's data on the SYN, ignored by the server.
	{"suri-tcp-fastopen-10-syn-data-ignore.pcap", []want{{"tcp-fast-open", []int{1, 2}}}},
	// MySQL refusing hosts with a short error packet and FIN.
	{"zeek-mysql-auth.pcap", []want{{"accept-then-close", []int{1, 2, 3, 4, 5}}}},
	// A client that closed while the server still had 31 bytes to send.
	{"gopacket-test301.pcapng.gz", []want{{"rst-unread-data", []int{269, 271, 274}}, {"spurious-retransmission", nil}}},
	// A server's keep-alive timeout (15 s) ending idle HTTP connections.
	{"zeek-http-206_example_b.pcap.gz", []want{{"rst-idle-timeout", []int{1555, 1556}}, {"no-window-scaling", nil}, {"rwnd-limited", nil}, {"zero-window", nil}}},
	// Checksums wrong on the wire, and checksums left to the NIC.
	{"zeek-http-get-to-ssh-server.pcap", []want{{"bad-checksum", []int{1, 3, 4, 8}}}},
	{"lwerdna-simple_http_sll2.pcap", []want{{"checksum-offload", []int{1}}}},
	// A capture that missed most of an FTP data transfer: the client
	// acknowledges 1.5 GB that no captured packet carried.
	{"zeek-ftp-bigtransfer.pcap", []want{{"capture-incomplete", []int{54}}}},
	// Most frames cut by the snapshot length.
	{"zeek-tcp-timestamp.pcap", []want{{"snaplen-truncated", nil}}},
}

func TestCorpusCaptures(t *testing.T) {
	for _, tc := range corpusWants {
		t.Run(tc.capture, func(t *testing.T) {
			rep := diagnoseFile(t, filepath.Join("../../testdata/captures", tc.capture))
			checkWants(t, everyFinding(rep), tc.want)
		})
	}
}

// TestPAWSSynthetic is the one rule without a real capture: PAWS drops
// are rare in the wild and no public capture of one was found. The
// script is synthetic: after the handshake the client's timestamps go
// back 600 ticks, as when a NAT puts a second host on the first's 4-tuple,
// and the data carrying the old TSval is dropped and resent in vain.
func TestPAWSSynthetic(t *testing.T) {
	fs := diagnoseScript(`
		t=0      c>s S  seq=0 win=64240 mss=1460 ws=7 sackok ts=1000,0
		t=0.010  s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ts=5000,1000
		t=0.010  c>s .  seq=1 ack=1 win=502 ts=1010,5000
		t=0.011  c>s P. seq=1 ack=1 win=502 len=100 ts=1011,5000
		t=0.021  s>c .  seq=1 ack=101 win=509 ts=5010,1011
		t=0.030  c>s P. seq=101 ack=1 win=502 len=100 ts=411,5010
		t=0.031  s>c .  seq=1 ack=101 win=509 ts=5011,1011
		t=0.250  c>s P. seq=101 ack=1 win=502 len=100 ts=431,5010
	`)
	checkWants(t, fs, []want{{"paws-drop", []int{6, 8}}})
}

// TestEveryRuleTested keeps the catalogue and the tests in step: every
// rule must be named by a test above.
func TestEveryRuleTested(t *testing.T) {
	tested := map[string]bool{"paws-drop": true}
	for _, k := range kernelWants {
		for _, w := range k.want {
			tested[w.id] = true
		}
	}
	for _, c := range corpusWants {
		for _, w := range c.want {
			tested[w.id] = true
		}
	}
	for _, c := range craftedWants {
		for _, w := range c.want {
			tested[w.id] = true
		}
	}
	var missing []string
	for _, r := range diagnose.Catalogue() {
		if !tested[r.ID] {
			missing = append(missing, r.ID)
		}
	}
	if len(missing) > 0 {
		t.Errorf("rules without a test on a capture: %v", missing)
	}
	for id := range tested {
		if !slices.ContainsFunc(diagnose.Catalogue(), func(r diagnose.Rule) bool { return r.ID == id }) {
			t.Errorf("tests name %q, which is not in the catalogue", id)
		}
	}
}

// TestRSTNoSocketCrossed: a peer's segments that were on their way when
// an end closed say nothing of the close's fate, however short the
// handshake's round trip: a bottleneck's queue can hold them for many.
// Data the peer made after the close by its own clock, long after, does.
// (On a benchmark capture of real traffic the old rule said "an RST lost
// on the path" of 83 segments a 600 Mbit/s queue drained after an abort.)
func TestRSTNoSocketCrossed(t *testing.T) {
	const open = `
		t=0      c>s S  seq=0 win=64240 mss=1460 ws=7 sackok ts=1000,0
		t=0.0001 s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ts=5000,1000
		t=0.0001 c>s .  seq=1 ack=1 win=502 ts=1000,5000
		t=0.0002 c>s P. seq=1 ack=1 win=502 len=100 ts=1000,5000
		t=0.0003 s>c .  seq=1 ack=101 win=509 len=1448 ts=5000,1000
		t=0.0003 c>s .  seq=101 ack=1449 win=502 ts=1000,5000
	`
	for _, tc := range []struct {
		name, rest string
		severity   string // "": no rst-no-socket finding
	}{
		// The server's burst, captured five round trips after the
		// client's abort, was made by the tick its clock stood at when
		// the abort was captured: it was queued.
		{"queued burst", `
		t=0.0040 c>s R. seq=101 ack=1449 win=0 ts=1004,5000
		t=0.0045 s>c .  seq=1449 ack=101 win=509 len=1448 ts=5004,1000
		t=0.0045 c>s R  seq=101 win=0
		t=0.0046 s>c .  seq=2897 ack=101 win=509 len=1448 ts=5004,1000
		t=0.0046 c>s R  seq=101 win=0
		`, ""},
		// A server that sends again 200 ms later, its clock 200 ticks on,
		// never took the client's close.
		{"sent long after", `
		t=0.0040 c>s R. seq=101 ack=1449 win=0 ts=1004,5000
		t=0.2040 s>c P. seq=1449 ack=101 win=509 len=100 ts=5204,1000
		t=0.2041 c>s R  seq=101 win=0
		`, "warning"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			for _, f := range diagnoseScript(open + tc.rest) {
				if f.ID == "rst-no-socket" {
					got = f.Severity.String()
				}
			}
			if got != tc.severity {
				t.Errorf("rst-no-socket severity %q, want %q", got, tc.severity)
			}
		})
	}
}

// TestHalfCloseNewDataOnly: a half-close is data the FIN's sender had not
// yet received. The server's resend of bytes the client had acknowledged
// before its FIN (spurious, D-SACKed) is no data received after it.
func TestHalfCloseNewDataOnly(t *testing.T) {
	const open = `
		t=0      c>s S  seq=0 win=64240 mss=1460 ws=7 sackok ts=1000,0
		t=0.010  s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ts=5000,1000
		t=0.020  c>s .  seq=1 ack=1 win=502 ts=1010,5000
		t=0.021  c>s P. seq=1 ack=1 win=502 len=100 ts=1011,5000
		t=0.031  s>c P. seq=1 ack=101 win=509 len=500 ts=5010,1011
		t=0.041  c>s .  seq=101 ack=501 win=502 ts=1021,5010
		t=0.042  c>s F. seq=101 ack=501 win=502 ts=1022,5010
	`
	for _, tc := range []struct {
		name, rest string
		want       bool
	}{
		{"spurious resend", `
		t=0.050  s>c P. seq=1 ack=102 win=509 len=500 ts=5030,1022
		t=0.050  c>s .  seq=102 ack=501 win=502 ts=1030,5030 sack=1-501
		t=0.060  s>c F. seq=501 ack=102 win=509 ts=5040,1022
		t=0.070  c>s .  seq=102 ack=502 win=502 ts=1050,5040
		`, false},
		{"new data", `
		t=0.050  s>c P. seq=501 ack=102 win=509 len=300 ts=5030,1022
		t=0.060  c>s .  seq=102 ack=801 win=502 ts=1040,5030
		t=0.061  s>c F. seq=801 ack=102 win=509 ts=5041,1040
		t=0.071  c>s .  seq=102 ack=802 win=502 ts=1051,5041
		`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.ContainsFunc(diagnoseScript(open+tc.rest), func(f diagnose.Finding) bool { return f.ID == "half-close" })
			if got != tc.want {
				t.Errorf("half-close reported: %v, want %v", got, tc.want)
			}
		})
	}
}

// TestHandshakeLatencyWhichLost: a SYN-ACK that echoes the client's first
// SYN, though the client had sent it again, says the server received the
// first and its SYN-ACK was lost; one that echoes the SYN sent again says
// the first SYN never made a half-open connection.
func TestHandshakeLatencyWhichLost(t *testing.T) {
	for _, tc := range []struct {
		echo  int
		title string
	}{
		{1000, "the server answered the first SYN, but that SYN-ACK was lost"},
		{2000, "1 SYN went unanswered first"},
	} {
		fs := diagnoseScript(fmt.Sprintf(`
			t=0      c>s S  seq=0 win=64240 mss=1460 ws=7 sackok ts=1000,0
			t=1.000  c>s S  seq=0 win=64240 mss=1460 ws=7 sackok ts=2000,0
			t=1.010  s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ts=5000,%d
			t=1.010  c>s .  seq=1 ack=1 win=502 ts=2010,5000
			t=1.011  c>s P. seq=1 ack=1 win=502 len=100 ts=2011,5000
			t=1.021  s>c .  seq=1 ack=101 win=509 ts=5011,2011
		`, tc.echo))
		i := slices.IndexFunc(fs, func(f diagnose.Finding) bool {
			return f.ID == "handshake-latency" && strings.Contains(f.Title, tc.title)
		})
		if i < 0 {
			t.Errorf("SYN-ACK echoing %d: no handshake-latency saying %q", tc.echo, tc.title)
		}
	}
}

// TestSYNACKResentAcrossAck: the server's timer resends the SYN-ACK of a
// first SYN whose SYN-ACK was lost, 0.2 ms after the client's ACK of the
// SYN-ACK that answered its resent SYN, which cannot have reached the
// server yet (10 ms away): no ACK was lost.
func TestSYNACKResentAcrossAck(t *testing.T) {
	fs := diagnoseScript(`
		t=0       c>s S  seq=0 win=64240 mss=1460 ws=7 sackok ts=1000,0
		t=1.000   c>s S  seq=0 win=64240 mss=1460 ws=7 sackok ts=2000,0
		t=1.010   s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ts=5000,1000
		t=1.0100  c>s .  seq=1 ack=1 win=502 ts=2010,5000
		t=1.0102  s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ts=5000,1000
		t=1.0102  c>s .  seq=1 ack=1 win=502 ts=2010,5000
	`)
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.ID+": "+f.Title)
	}
	if slices.ContainsFunc(ids, func(s string) bool { return strings.HasPrefix(s, "synack-retrans-lost-ack") }) ||
		!slices.ContainsFunc(ids, func(s string) bool { return strings.Contains(s, "the server answered the first SYN") }) {
		t.Errorf("findings %q; want handshake-latency's lost first SYN-ACK and no synack-retrans-lost-ack", ids)
	}
}

// TestPacketLossDataOnly: IP IDs a receiver skipped between two of its
// pure ACKs that carry on its sequence where the capture left it say that
// what never came carried no data: no data was lost. (On the benchmark
// capture of real traffic, upload sessions whose server lost a few ACKs
// were said to have lost 5 of the server's 6 data segments.)
func TestPacketLossDataOnly(t *testing.T) {
	fs := diagnoseScript(`
		t=0      c>s S  seq=0 win=64240 mss=1460 ws=7 sackok ts=1000,0
		t=0.010  s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ts=5000,1000
		t=0.020  c>s .  seq=1 ack=1 win=502 ts=1010,5000
		t=0.021  c>s .  seq=1 ack=1 win=502 len=1000 ts=1011,5000
		t=0.031  s>c .  seq=1 ack=1001 win=509 ts=5001,1011
		t=0.023  c>s .  seq=1001 ack=1 win=502 len=1000 ts=1013,5000
		t=0.033  s>c .  seq=1 ack=2001 win=509 ts=5003,1013
		t=0.025  c>s .  seq=2001 ack=1 win=502 len=1000 ts=1015,5000
		t=0.035  s>c .  seq=1 ack=3001 win=509 ts=5005,1015
		t=0.027  c>s .  seq=3001 ack=1 win=502 len=1000 ts=1017,5000
		t=0.037  s>c .  seq=1 ack=4001 win=509 ts=5007,1017
		t=0.029  c>s .  seq=4001 ack=1 win=502 len=1000 ts=1019,5000
		t=0.039  s>c .  seq=1 ack=5001 win=509 ts=5009,1019
		t=0.031  c>s .  seq=5001 ack=1 win=502 len=1000 ts=1021,5000
		t=0.041  s>c .  seq=1 ack=6001 win=509 ts=5011,1021
		t=0.033  c>s .  seq=6001 ack=1 win=502 len=1000 ts=1023,5000
		t=0.043  s>c .  seq=1 ack=7001 win=509 ts=5013,1023 ipid=520
		t=0.035  c>s .  seq=7001 ack=1 win=502 len=1000 ts=1025,5000
		t=0.045  s>c .  seq=1 ack=8001 win=509 ts=5015,1025
		t=0.037  c>s .  seq=8001 ack=1 win=502 len=1000 ts=1027,5000
		t=0.047  s>c .  seq=1 ack=9001 win=509 ts=5017,1027
		t=0.039  c>s .  seq=9001 ack=1 win=502 len=1000 ts=1029,5000
		t=0.049  s>c .  seq=1 ack=10001 win=509 ts=5019,1029
		t=0.041  c>s .  seq=10001 ack=1 win=502 len=1000 ts=1031,5000
		t=0.051  s>c .  seq=1 ack=11001 win=509 ts=5021,1031
		t=0.043  c>s .  seq=11001 ack=1 win=502 len=1000 ts=1033,5000
		t=0.053  s>c .  seq=1 ack=12001 win=509 ts=5023,1033
	`)
	if slices.ContainsFunc(fs, func(f diagnose.Finding) bool { return f.ID == "packet-loss" }) {
		t.Errorf("packet-loss for ACKs that never came")
	}
}
