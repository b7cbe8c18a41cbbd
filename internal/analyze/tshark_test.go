package analyze_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/event"
)

const testdata = "../../testdata"

// tsharkNames are the tcp.analysis flags compared, in the column order of
// testdata/tshark-analysis/*.tsv.
var tsharkNames = map[string]event.Kind{
	"tcp.analysis.retransmission":          event.Retransmission,
	"tcp.analysis.fast_retransmission":     event.FastRetransmission,
	"tcp.analysis.spurious_retransmission": event.SpuriousRetransmission,
	"tcp.analysis.out_of_order":            event.OutOfOrder,
	"tcp.analysis.lost_segment":            event.LostSegment,
	"tcp.analysis.ack_lost_segment":        event.AckLostSegment,
	"tcp.analysis.duplicate_ack_num":       event.DuplicateAck,
	"tcp.analysis.zero_window":             event.ZeroWindow,
	"tcp.analysis.zero_window_probe":       event.ZeroWindowProbe,
	"tcp.analysis.zero_window_probe_ack":   event.ZeroWindowProbeAck,
	"tcp.analysis.window_update":           event.WindowUpdate,
	"tcp.analysis.window_full":             event.WindowFull,
	"tcp.analysis.keep_alive":              event.KeepAlive,
	"tcp.analysis.keep_alive_ack":          event.KeepAliveAck,
	"tcp.analysis.reused_ports":            event.ReusedPorts,
}

// tsharkSet is the set of tshark-named kinds, the ones compared.
var tsharkSet = func() event.Set {
	var s event.Set
	for _, k := range tsharkNames {
		s.Add(k)
	}
	return s
}()

// tsharkRow is tshark's analysis of one frame.
type tsharkRow struct {
	flags    event.Set
	dupNum   int
	dupFrame int
	ackRTT   string
	acks     int
	bif      int64
	relSeq   string
	relAck   string
}

// tsharkGolden is the file holding tshark's analysis of a capture: that of
// a capture in testdata/kernel is in tshark-analysis/kernel, in
// testdata/kernel/bench in tshark-analysis/bench.
func tsharkGolden(file string) string {
	dir := filepath.Join(testdata, "tshark-analysis")
	switch filepath.Base(filepath.Dir(file)) {
	case "kernel":
		dir = filepath.Join(dir, "kernel")
	case "bench":
		dir = filepath.Join(dir, "bench")
	}
	return filepath.Join(dir, strings.TrimSuffix(filepath.Base(file), ".gz")+".tsv")
}

// readTshark reads tshark's analysis of the capture file.
func readTshark(t *testing.T, file string) map[int]tsharkRow {
	t.Helper()
	f, err := os.Open(tsharkGolden(file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var cols []string
	rows := map[int]tsharkRow{}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if cols == nil {
			cols = fields
			continue
		}
		var r tsharkRow
		r.bif = -1
		var frame int
		for i, v := range fields {
			if v == "" || i >= len(cols) {
				continue
			}
			switch c := cols[i]; c {
			case "frame.number":
				frame, _ = strconv.Atoi(v)
			case "tcp.seq":
				r.relSeq = v
			case "tcp.ack":
				r.relAck = v
			case "tcp.analysis.duplicate_ack_num":
				r.dupNum, _ = strconv.Atoi(v)
				r.flags.Add(event.DuplicateAck)
			case "tcp.analysis.duplicate_ack_frame":
				r.dupFrame, _ = strconv.Atoi(v)
			case "tcp.analysis.ack_rtt":
				r.ackRTT = v
			case "tcp.analysis.acks_frame":
				r.acks, _ = strconv.Atoi(v)
			case "tcp.analysis.bytes_in_flight":
				r.bif, _ = strconv.ParseInt(v, 10, 64)
			default:
				if k, ok := tsharkNames[c]; ok {
					r.flags.Add(k)
				}
			}
		}
		rows[frame] = r
	}
	return rows
}

// ours is tcplens's analysis of one frame, restricted to what tshark says.
type ours struct {
	flags    event.Set
	all      event.Set
	dupNum   int
	dupFrame int
	relSeq   uint32
	relAck   uint32
	bif      int64
	acks     int
	syn, fin bool
}

func analyseCapture(t *testing.T, file string) map[int]ours {
	t.Helper()
	out := map[int]ours{}
	analyseFile(t, file, func(s *analyze.Segment) {
		res := s.Result
		out[s.Frame.Number] = ours{
			flags: res.Analysis & tsharkSet, all: res.Analysis,
			dupNum: res.DupAckNum, dupFrame: res.DupAckFrame,
			relSeq: res.RelSeq, relAck: res.RelAck, bif: res.BytesInFlight, acks: res.AckedFrame,
		}
	}, nil)
	return out
}

// A deliberate difference is a place where tcplens says something other
// than tshark on purpose. Each has a named test (deliberate_test.go) that
// shows, on a real capture where it happens, why tcplens is right; matches
// recognises a frame whose flags differ in that way.
type deliberate struct {
	test    string // the named test
	name    string // what differs and why
	matches func(w tsharkRow, g ours) bool
}

var deliberateDifferences = []deliberate{
	{
		test: "TestDeliberateDuplicateCapture",
		name: "duplicate capture: the same packet captured twice (same IPv4 ID, header and checksum, within 10 ms; a capture on \"any\" or a mirror port) is one packet, not a retransmission or a duplicate ACK as tshark reports it",
		matches: func(w tsharkRow, g ours) bool {
			return g.all.Has(event.DuplicateFrame)
		},
	},
	{
		test: "TestDeliberateFastRetransmission",
		name: "fast retransmission from the evidence: SACK recovery (RFC 6675, or Linux's RACK on a single SACK) resends every hole the SACK blocks reveal, and does so within about a round trip of the evidence; tshark calls it fast only when two dup ACKs asked for exactly this segment within a fixed 20 ms",
		matches: func(w tsharkRow, g ours) bool {
			return g.flags^w.flags == 1<<event.FastRetransmission && g.flags.Has(event.Retransmission)
		},
	},
	{
		test: "TestDeliberateLateOriginal",
		name: "late original: a segment that fills a hole, which tshark calls a (fast) retransmission, whose sender's clock (its TSval, or within one tick its IP ID counted one by one) says it was sent before a segment above it that the capture saw first: an original the path reordered, out of order",
		matches: func(w tsharkRow, g ours) bool {
			return w.flags.Has(event.Retransmission) && g.flags.Has(event.OutOfOrder) && !g.flags.Has(event.Retransmission)
		},
	},
	{
		test: "TestDeliberatePersistProbe",
		name: "Linux persist probe: a segment at SND.UNA-1 with no data sent while the peer's window is zero is a zero-window probe (tcp_xmit_probe_skb), and its answer, still a zero window, a zero-window probe ACK; tshark calls the probe a keep-alive and the answer nothing",
		matches: func(w tsharkRow, g ours) bool {
			if g.flags == w.flags {
				return false
			}
			probe, answer := g.flags, w.flags
			if probe.Has(event.ZeroWindowProbe) {
				probe.Remove(event.ZeroWindowProbe)
				probe.Add(event.KeepAlive)
			}
			// tshark's keep-alive ACK needs an open window, so it has no
			// word for the answer at all.
			probe.Remove(event.ZeroWindowProbeAck)
			answer.Remove(event.KeepAliveAck)
			return probe == answer
		},
	},
}

// TestTsharkAgreement compares the per-frame analysis with tshark 4.0's on
// every capture in testdata, the real Linux traffic of testdata/kernel
// included: the frames either tool flags must agree in 99 % of cases,
// apart from the deliberate differences above.
func TestTsharkAgreement(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata, "captures", "*"))
	kernel, _ := filepath.Glob(filepath.Join(testdata, "kernel", "*.pcap"))
	bench, _ := filepath.Glob(filepath.Join(testdata, "kernel", "bench", "*.pcap"))
	kernel = append(kernel, bench...)
	files = append(files, kernel...)
	var flagged, agree int
	diffs := map[string]int{}
	byRule := map[string]int{}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".gz")
		if _, err := os.Stat(tsharkGolden(file)); err != nil && filepath.Base(filepath.Dir(file)) == "kernel" {
			// netlab records new scenarios before anyone runs tshark on them.
			t.Logf("%s: no tshark golden yet (scripts/make-tshark-analysis-golden.sh makes it): left out", name)
			continue
		}
		want := readTshark(t, file)
		got := analyseCapture(t, file)
		frames := make([]int, 0, len(want))
		for n := range want {
			frames = append(frames, n)
		}
		sort.Ints(frames)
		for _, n := range frames {
			w, g := want[n], got[n]
			if w.flags.Empty() && g.flags.Empty() {
				continue
			}
			if w.flags == g.flags {
				flagged++
				agree++
				continue
			}
			rule := ""
			for _, d := range deliberateDifferences {
				if d.matches(w, g) {
					rule = d.name
					break
				}
			}
			if rule != "" {
				byRule[rule]++
				continue
			}
			flagged++
			key := fmt.Sprintf("tshark %v / tcplens %v", names(w.flags), names(g.flags))
			diffs[key]++
			t.Logf("%s frame %d: %s", name, n, key)
		}
	}
	for _, d := range deliberateDifferences {
		t.Logf("deliberate, %5d frames (%s): %s", byRule[d.name], d.test, d.name)
		if byRule[d.name] == 0 {
			t.Errorf("no frame differs as %s describes: remove the rule, or find where it went", d.test)
		}
	}
	keys := make([]string, 0, len(diffs))
	for k := range diffs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return diffs[keys[i]] > diffs[keys[j]] })
	for _, k := range keys {
		t.Logf("unexplained, %5d frames: %s", diffs[k], k)
	}
	pct := 100 * float64(agree) / float64(flagged)
	t.Logf("agreement on %d of %d frames either tool flags (%.2f%%), deliberate differences aside", agree, flagged, pct)
	if pct < 99 {
		t.Errorf("agreement %.2f%% < 99%%", pct)
	}
}

func names(s event.Set) string {
	if s.Empty() {
		return "-"
	}
	return string(s.AppendNames(nil, ","))
}
