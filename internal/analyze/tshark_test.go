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

func readTshark(t *testing.T, name string) map[int]tsharkRow {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata, "tshark-analysis", name+".tsv"))
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
// than tshark on purpose. explain returns its name (the reason tcplens is
// right) for a frame whose flags differ, or "".
type deliberate struct {
	name    string
	matches func(w tsharkRow, g ours) bool
}

var deliberateDifferences = []deliberate{
	{
		name: "duplicate capture: the same packet captured twice (same IPv4 ID, header and checksum, within 10 ms; a capture on \"any\" or a mirror port) is one packet, not a retransmission or a duplicate ACK as tshark reports it",
		matches: func(w tsharkRow, g ours) bool {
			return g.all.Has(event.DuplicateFrame)
		},
	},
	{
		name: "fast retransmission from the evidence: duplicate ACKs or SACKs asking for the segment, within the sender's RTO; tshark requires two dup ACKs within a fixed 20 ms, which misses every path slower than that",
		matches: func(w tsharkRow, g ours) bool {
			return g.flags^w.flags == 1<<event.FastRetransmission && g.flags.Has(event.Retransmission)
		},
	},
	{
		name: "Linux persist probe: a segment at SND.UNA-1 with no data sent while the peer's window is zero is a zero-window probe (tcp_xmit_probe_skb), and its answer a zero-window probe ACK; tshark calls them keep-alive and keep-alive ACK",
		matches: func(w tsharkRow, g ours) bool {
			swap := func(s event.Set) event.Set {
				if s.Has(event.ZeroWindowProbe) {
					s.Remove(event.ZeroWindowProbe)
					s.Add(event.KeepAlive)
				}
				if s.Has(event.ZeroWindowProbeAck) {
					s.Remove(event.ZeroWindowProbeAck)
					s.Add(event.KeepAliveAck)
				}
				return s
			}
			return g.flags != w.flags && swap(g.flags) == w.flags
		},
	},
}

// TestTsharkAgreement compares the per-frame analysis with tshark 4.0's on
// every capture in testdata: the frames either tool flags must agree in
// 99 % of cases, apart from the deliberate differences above.
func TestTsharkAgreement(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata, "captures", "*"))
	var flagged, agree int
	diffs := map[string]int{}
	byRule := map[string]int{}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".gz")
		want := readTshark(t, name)
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
		t.Logf("deliberate, %5d frames: %s", byRule[d.name], d.name)
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
