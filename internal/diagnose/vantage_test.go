package diagnose_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tcplens/tcplens/internal/diagnose"
)

// vantageDir holds every netlab scenario recorded at three capture points
// at once (testdata/kernel/vantage/<scenario>/{client,router,server}.pcap).
const vantageDir = kernelDir + "/vantage"

// vantageWant is what one scenario must be diagnosed as at each point:
// the findings wanted, and (strictly) no other finding above info.
type vantageWant struct {
	scenario string
	at       [3][]want // client, router, server
}

var vantagePoints = [3]string{"client", "router", "server"}

func all(w []want) [3][]want          { return [3][]want{w, w, w} }
func points(c, r, s []want) [3][]want { return [3][]want{c, r, s} }

// vantageWants: each scenario at each capture point. What a point can
// see differs, and the findings say what each sees; none may say more.
var vantageWants = []vantageWant{
	{"abortive-close", all([]want{{"abortive-close", []int{7, 8}}})},
	{"accept-then-close", all([]want{{"accept-then-close", []int{1, 2, 3, 4}}})},
	{"client-close-ipv6", all([]want{})},
	{"client-close", all([]want{})},
	{"close-wait-leak", all([]want{{"close-wait-leak", []int{8, 9}}})},
	{"ecn-ce", points([]want{{"ecn", []int{6, 7, 26}}},
		[]want{{"ecn", []int{6, 16, 26}}},
		[]want{{"ecn", []int{6, 16, 17}}})},
	{"fast-open", all([]want{{"tcp-fast-open", []int{1, 2}}, {"tcp-fast-open", []int{11, 12}}})},
	// At the client the SYN-ACK came 98 ms after the SYN while the data's
	// round trips took 10 ms: the recording's (the machine was loaded).
	{"fast-retransmit", points([]want{{"packet-loss", []int{25}}, {"handshake-latency", []int{1, 2}}, {"fast-retransmission", []int{20, 25}}},
		[]want{{"packet-loss", []int{7, 8}}, {"fast-retransmission", []int{17, 24}}},
		[]want{{"packet-loss", []int{10, 12}}, {"fast-retransmission", []int{13, 26}}})},
	{"half-close", points([]want{{"half-close", []int{6, 7, 31}}},
		[]want{{"half-close", []int{6, 7, 28}}},
		[]want{{"half-close", []int{6, 7, 28}}})},
	{"keepalive", all([]want{{"keepalive", []int{8, 9, 10, 11, 12, 13}}})},
	// The handshake ACK lost before the server: the server resends its
	// SYN-ACK, and the client's next ACK echoes the first SYN-ACK's TSval
	// with an IP ID skipped, wherever the capture was taken.
	{"lost-handshake-ack", all([]want{{"synack-retrans-lost-ack", []int{2, 3, 4}}})},
	{"midstream", all([]want{{"midstream-capture", []int{1}}})},
	{"nagle-delayed-ack", points([]want{{"nagle-delayed-ack", nil}, {"cwnd-limited", nil}, {"app-limited", []int{24, 29, 34, 49}}},
		[]want{{"nagle-delayed-ack", nil}, {"cwnd-limited", nil}, {"app-limited", []int{49}}},
		[]want{{"nagle-delayed-ack", nil}, {"cwnd-limited", nil}, {"app-limited", []int{49}}})},
	{"no-window-scaling", all([]want{{"no-window-scaling", nil}, {"rwnd-limited", nil}})},
	// Downstream of the black hole the large segments never appear: a
	// hole never filled, no claim of a black hole.
	{"pmtu-blackhole", points([]want{{"pmtu-blackhole", []int{4, 16, 17, 18}}, {"packet-loss", []int{13, 14, 15, 16, 17, 18}}, {"rto-retransmission", []int{16, 17, 18}}, {"fast-retransmission", []int{12, 13, 14, 15}}, {"abortive-close", []int{18, 19}}},
		[]want{{"packet-loss", []int{8}}, {"abortive-close", []int{8, 9, 10}}},
		[]want{{"packet-loss", []int{8}}, {"abortive-close", []int{8, 9, 10}}})},
	{"refused", all([]want{{"refused", []int{1, 2}}})},
	// Reordering: the router and the server see the held segment late,
	// none may claim a loss; with a loss too, each point claims the one
	// segment the path dropped; reordering that drew a fast
	// retransmission: the D-SACK shows the resend was not needed.
	{"reordered", all([]want{})},
	{"reordered-fast-retransmit", points([]want{{"spurious-retransmission", []int{25, 38}}},
		[]want{{"spurious-retransmission", []int{26, 38}}},
		[]want{{"spurious-retransmission", []int{28, 29}}})},
	{"reordered-loss", points([]want{{"packet-loss", []int{25}}, {"fast-retransmission", []int{20, 25}}},
		[]want{{"packet-loss", []int{7, 8}}, {"fast-retransmission", []int{17, 24}}},
		[]want{{"packet-loss", []int{10, 12}}, {"fast-retransmission", []int{13, 26}}})},
	{"rst-after-handshake", all([]want{{"rst-after-handshake", []int{1, 2, 3, 4}}})},
	{"rst-after-restart", all([]want{{"rst-no-socket", []int{1, 2}}, {"midstream-capture", []int{1}}})},
	{"rst-idle-timeout", all([]want{{"rst-idle-timeout", []int{6, 7, 8}}})},
	{"rst-no-socket", points([]want{{"rst-no-socket", []int{8, 9}}},
		[]want{{"rst-no-socket", []int{8, 9}}, {"app-limited", []int{8}}},
		[]want{{"rst-no-socket", []int{6, 8, 9, 10}}, {"abortive-close", []int{6, 7, 8}}, {"app-limited", []int{9}}})},
	{"rst-unread-data", all([]want{{"rst-unread-data", []int{4, 5, 6}}})},
	// Downstream of the loss (router, server) the resend is the first copy
	// the capture sees: the skipped IP ID beside the pause says the loss
	// was upstream, and the pause the timer; the pause is not the
	// application's.
	{"rto-retransmission", points([]want{{"packet-loss", []int{11}}, {"rto-retransmission", []int{11}}},
		[]want{{"packet-loss", []int{6, 10}}, {"rto-retransmission", []int{6, 10}}},
		[]want{{"packet-loss", []int{8, 10}}, {"rto-retransmission", []int{8, 10}}})},
	{"server-close", all([]want{})},
	{"simultaneous-close", points([]want{{"simultaneous-close", []int{8, 9}}},
		[]want{{"simultaneous-close", []int{8, 9}}},
		[]want{{"simultaneous-close", []int{7, 9}}})},
	{"simultaneous-open", all([]want{{"simultaneous-open", []int{1, 2}}})},
	// The cookie shows only where the handshake ACK's loss does: at the
	// client nothing says the ACK was lost.
	{"syn-cookies", points([]want{{"no-window-scaling", []int{1, 2}}},
		[]want{{"syn-cookies", []int{1, 2, 3}}, {"no-window-scaling", []int{1, 2}}},
		[]want{{"syn-cookies", []int{1, 2, 3}}, {"no-window-scaling", []int{1, 2}}})},
	// The SYNs are dropped before the router: nothing reaches it.
	{"syn-timeout", points([]want{{"syn-timeout", []int{1, 2, 3}}},
		[]want{},
		[]want{})},
	// The first SYN-ACK is dropped before the router: at the client and the
	// router the client's RST answers a SYN-ACK it has no socket for; at
	// the server, its SYN-ACK sent again draws it.
	{"synack-client-gave-up", points([]want{{"rst-no-socket", []int{2, 3}}},
		[]want{{"rst-no-socket", []int{2, 3}}},
		[]want{{"synack-retrans-client-forgot", []int{2, 3, 4}}})},
	// The probe and the resend seen downstream: the IP IDs skipped say
	// the first copies were lost upstream.
	{"tail-loss-probe", points([]want{{"packet-loss", []int{14, 16}}, {"tail-loss-probe", []int{14}}, {"fast-retransmission", []int{16}}},
		[]want{{"packet-loss", []int{7, 12}}, {"tail-loss-probe", []int{7, 12}}},
		[]want{{"packet-loss", []int{10, 12}}, {"tail-loss-probe", []int{10, 12}}})},
	{"time-wait-reuse", all([]want{{"time-wait-pressure", []int{11, 21, 31}}})},
	{"urgent-data", points([]want{{"urgent-data", []int{5}}},
		[]want{{"urgent-data", []int{5}}},
		[]want{{"urgent-data", []int{6}}})},
	{"zero-window", points([]want{{"rwnd-limited", nil}, {"zero-window", nil}, {"tail-loss-probe", []int{11, 106, 250}}, {"spurious-retransmission", nil}, {"app-limited", nil}},
		[]want{{"rwnd-limited", nil}, {"zero-window", nil}, {"tail-loss-probe", []int{11, 106, 202, 222, 250}}, {"spurious-retransmission", nil}, {"app-limited", nil}},
		[]want{{"rwnd-limited", nil}, {"zero-window", nil}, {"tail-loss-probe", []int{11, 106, 194, 202, 222, 250}}, {"spurious-retransmission", []int{12, 107, 198, 206, 225, 251}}})},
}

// vantageForbid are findings a point must not report, whatever else it
// reports: the wrong readings of a downstream capture.
var vantageForbid = map[string][]string{
	"reordered":                 {"packet-loss", "fast-retransmission", "spurious-retransmission"},
	"reordered-fast-retransmit": {"packet-loss", "fast-retransmission"},
	"lost-handshake-ack":        {"synack-retrans-client-forgot"},
	"rto-retransmission":        {"app-limited"},
	"syn-timeout":               {"synack-retrans-client-forgot", "refused"},
	// The server's full-sized segments (1448 bytes with timestamps)
	// wait for the slow reader's window, not for a delayed ACK: Nagle
	// holds back only segments below a full one.
	"zero-window": {"nagle-delayed-ack"},
}

func TestKernelVantage(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(vantageDir, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no recordings in %s: %v", vantageDir, err)
	}
	for _, d := range dirs {
		name := filepath.Base(d)
		i := slices.IndexFunc(vantageWants, func(v vantageWant) bool { return v.scenario == name })
		if i < 0 {
			t.Errorf("vantage recording %s has no expected diagnosis in vantageWants", name)
			continue
		}
		v := vantageWants[i]
		for p, point := range vantagePoints {
			t.Run(name+"@"+point, func(t *testing.T) {
				file := filepath.Join(d, point+".pcap")
				if _, err := os.Stat(file); err != nil {
					t.Fatal(err)
				}
				got := everyFinding(diagnoseFile(t, file))
				checkWants(t, got, v.at[p])
				checkForbidden(t, got, vantageForbid[name])
				for _, f := range got {
					if f.Severity > diagnose.Info && !slices.ContainsFunc(v.at[p], func(w want) bool { return w.id == f.ID }) {
						t.Errorf("unexpected %s %s (frames %v): %s", f.Severity, f.ID, f.Frames, f.Title)
					}
				}
			})
		}
	}
	if len(dirs) != len(vantageWants) {
		t.Errorf("%d recordings, %d scenarios in vantageWants", len(dirs), len(vantageWants))
	}
}
