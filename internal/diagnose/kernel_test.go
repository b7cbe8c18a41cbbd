package diagnose_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/diagnose"
)

const kernelDir = "../../testdata/kernel"

type kernelWant struct {
	scenario string
	clean    bool
	want     []want
}

// want is a finding a capture must produce: its id and, when given, its
// evidence frames exactly.
type want struct {
	id     string
	frames []int
}

// kernelWants is what each recorded Linux scenario must be diagnosed as
// (testdata/kernel/README.md says what the kernel did in each). A scenario
// listed with clean set is a healthy connection: nothing above info.
var kernelWants = []kernelWant{
	{"client-close", true, nil},
	{"client-close-ipv6", true, nil},
	{"server-close", true, nil},
	{"half-close", true, []want{{"half-close", []int{6, 7, 33}}}},
	{"keepalive", true, []want{{"keepalive", []int{8, 9, 10, 11, 12, 13}}}},
	{"simultaneous-close", true, []want{{"simultaneous-close", []int{8, 9}}}},
	{"simultaneous-open", true, []want{{"simultaneous-open", []int{1, 2}}}},
	{"fast-open", true, []want{{"tcp-fast-open", []int{11, 12}}}},
	{"midstream", true, []want{{"midstream-capture", []int{1}}}},
	{"refused", false, []want{{"refused", []int{1, 2}}}},
	{"accept-then-close", false, []want{{"accept-then-close", []int{1, 2, 3, 4}}}},
	{"rst-unread-data", false, []want{{"rst-unread-data", []int{4, 5, 6}}}},
	{"abortive-close", false, []want{{"abortive-close", []int{7, 8}}}},
	{"rst-after-handshake", false, []want{{"rst-after-handshake", []int{1, 2, 3, 4}}}},
	{"lost-handshake-ack", false, []want{{"synack-retrans-lost-ack", []int{2, 3, 4}}}},
	{"syn-timeout", false, []want{{"syn-timeout", []int{1, 2, 3}}}},
	{"synack-client-gave-up", false, []want{{"synack-retrans-client-forgot", []int{2, 3, 4}}}},
	{"rto-retransmission", false, []want{{"rto-retransmission", []int{11}}, {"packet-loss", []int{11}}}},
	// The probe's SACK (frame 15) let RACK resend the fifth segment at
	// once (frame 16); in runs where Linux ignores that SACK the fifth
	// waits for the timer instead (see the scenario's doc).
	{"tail-loss-probe", false, []want{{"tail-loss-probe", []int{14}}, {"fast-retransmission", []int{16}}, {"packet-loss", []int{14, 16}}}},
	{"fast-retransmit", false, []want{{"fast-retransmission", []int{22, 27}}, {"packet-loss", nil}}},
	// The server's tail loss probe into the full window draws a D-SACK.
	{"zero-window", false, []want{{"zero-window", nil}, {"rwnd-limited", nil}, {"spurious-retransmission", []int{12}}}},
	{"close-wait-leak", false, []want{{"close-wait-leak", []int{8, 9}}}},
	{"urgent-data", false, []want{{"urgent-data", []int{5}}}},
	{"pmtu-blackhole", false, []want{{"pmtu-blackhole", []int{4, 16, 17, 18}}}},
	{"rst-idle-timeout", false, []want{{"rst-idle-timeout", []int{6, 7, 8}}}},
	{"nagle-delayed-ack", false, []want{{"nagle-delayed-ack", nil}}},
	{"no-window-scaling", false, []want{{"no-window-scaling", nil}, {"rwnd-limited", nil}}},
	// In testdata/kernel/extra: see netlab.ExtraScenarios.
	{"extra/rst-no-socket", false, []want{{"rst-no-socket", []int{6, 8, 9, 10}}, {"abortive-close", []int{6, 7, 8}}}},
	{"extra/time-wait-reuse", false, []want{{"time-wait-pressure", []int{11, 21}}}},
	// The first CE-marked segment, the client's first ECE, the server's CWR.
	{"extra/ecn-ce", false, []want{{"ecn", []int{6, 7, 26}}}},
	// The SYN, the cookie SYN-ACK (an MSS alone), the request 3.5 s later.
	{"extra/syn-cookies", false, []want{{"syn-cookies", []int{1, 2, 3}}}},
	// The client's data, and the restarted server's bare RST: its first packet.
	{"extra/rst-after-restart", false, []want{{"rst-no-socket", []int{1, 2}}}},
	// Reordering after the client's capture point: nothing shows here.
	{"extra/reordered", true, nil},
	// The client's segment lost after the capture point, and resent.
	{"extra/reordered-loss", false, []want{{"packet-loss", []int{25}}, {"fast-retransmission", []int{20, 25}}}},
	// The resend the reordering drew, and the server's D-SACK of it.
	{"extra/reordered-fast-retransmit", false, []want{{"spurious-retransmission", []int{25, 38}}}},
}

func TestKernelScenarios(t *testing.T) {
	for _, tc := range kernelWants {
		t.Run(tc.scenario, func(t *testing.T) {
			rep := diagnoseFile(t, filepath.Join(kernelDir, tc.scenario+".pcap"))
			checkWants(t, everyFinding(rep), tc.want)
			if tc.clean {
				for _, f := range rep.Findings {
					if f.Severity > diagnose.Info {
						t.Errorf("clean connection has %s finding %s: %s", f.Severity, f.ID, f.Title)
					}
				}
			}
		})
	}
}

// TestEveryKernelScenarioDiagnosed keeps the table above complete: a new
// recording must say what it should be diagnosed as.
func TestEveryKernelScenarioDiagnosed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(kernelDir, "*.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	extra, err := filepath.Glob(filepath.Join(kernelDir, "extra", "*.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, extra...) {
		name, _ := filepath.Rel(kernelDir, strings.TrimSuffix(f, ".pcap"))
		if !slices.ContainsFunc(kernelWants, func(k kernelWant) bool { return k.scenario == name }) {
			t.Errorf("kernel scenario %s has no expected diagnosis in kernelWants", name)
		}
	}
}

func checkWants(t *testing.T, got []diagnose.Finding, wants []want) {
	t.Helper()
	for _, w := range wants {
		i := slices.IndexFunc(got, func(f diagnose.Finding) bool {
			return f.ID == w.id && (w.frames == nil || slices.Equal(f.Frames, w.frames))
		})
		if i < 0 {
			t.Errorf("no %s finding with evidence %v; got %s", w.id, w.frames, idsFrames(got, w.id))
			continue
		}
		f := got[i]
		if f.Title == "" || f.Explanation == "" || f.Advice == "" {
			t.Errorf("%s: empty title, explanation or advice: %+v", w.id, f)
		}
	}
}

func idsFrames(fs []diagnose.Finding, id string) string {
	var b strings.Builder
	for _, f := range fs {
		if f.ID == id {
			fmt.Fprintf(&b, " %v", f.Frames)
		}
	}
	if b.Len() == 0 {
		return ids(fs)
	}
	return id + b.String()
}

func ids(fs []diagnose.Finding) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s/%s(conn %d)", f.ID, f.Severity, f.Conn)
	}
	return "[" + b.String() + "]"
}
