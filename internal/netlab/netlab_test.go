package netlab

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/wire"
)

var (
	record       = flag.String("record", "", "write each scenario's main capture and kernel record into this `dir` (e.g. ../../testdata/kernel)")
	recordPoints = flag.String("record-points", "", "write each scenario's captures at every capture point and its kernel record into `dir`/<scenario>/ (e.g. ../../testdata/kernel/vantage)")
)

// recorded is where the committed runs live; vantageRecorded those
// recorded at every capture point (Result.SavePoints).
const (
	recorded        = "../../testdata/kernel"
	vantageRecorded = recorded + "/vantage"
)

// TestScenarios runs every scenario of the catalogue, one after another
// (they share the machine's cores), and checks the harness itself: the
// capture decodes, the kernel showed what the scenario documents, nothing
// was lost that no rule dropped. With -record it saves each run. Then,
// in a subtest of each, the states tcplens infers from the fresh capture
// must agree with the fresh kernel states (checkKernelTruth): the check
// TestKernelTruth makes on the recorded runs, here on this kernel.
func TestScenarios(t *testing.T) {
	Require(t)
	for _, sc := range Catalogue() {
		t.Run(sc.Name, func(t *testing.T) {
			start := time.Now()
			r := runSteady(t, sc)
			if t.Failed() {
				return
			}
			t.Logf("%.2fs  client %s", time.Since(start).Seconds(), timeline(r.Client, r.End))
			t.Logf("        server %s", timeline(r.Server, r.End))
			t.Logf("        max poll gap %v, %d drops", r.MaxPollGap.Round(10*time.Microsecond), len(r.Drops))
			for _, n := range r.Notes {
				t.Logf("        %s", n)
			}
			checkResult(t, r)
			if t.Failed() {
				return
			}
			save(t, r)
			checkTruthAtEveryPoint(t, r)
		})
	}
}

// disturbedLate is how late the relay may forward a frame before a run
// no longer shows its scenario: a path half a retransmission timeout
// slower than its delay fires the peers' timers where the scenario has
// none (a FIN resent, a TIME_WAIT reset by the RST that answers it).
const disturbedLate = 100 * time.Millisecond

// runSteady runs sc, and again, three runs at most, while the relay was
// disturbed (the machine's load held its real-time thread past
// disturbedLate): what such a run shows is the load's, not the
// scenario's. The last run stands, disturbed or not.
func runSteady(t *testing.T, sc Scenario) *Result {
	t.Helper()
	for try := 1; ; try++ {
		r := Run(t, sc)
		if t.Failed() || r.RelayLate <= disturbedLate || try == 3 {
			return r
		}
		t.Logf("run %d disturbed: the relay forwarded a frame %v late, more than %v; running the scenario again", try, r.RelayLate.Round(time.Millisecond), disturbedLate)
	}
}

// checkTruthAtEveryPoint checks the inference from each of the run's
// captures against the kernel's states (checkKernelTruth).
func checkTruthAtEveryPoint(t *testing.T, r *Result) {
	t.Helper()
	files := map[string]string{}
	for _, c := range r.Captures {
		files[c.Point] = c.Path
	}
	rec := r.record(r.Captures...)
	for _, c := range r.Captures {
		t.Run("kernel-truth@"+c.Point, func(t *testing.T) { checkKernelTruth(t, rec, files, c.Point) })
	}
}

// save saves a run as the -record and -record-points flags ask.
func save(t *testing.T, r *Result) {
	t.Helper()
	if *record != "" {
		if err := r.Save(*record); err != nil {
			t.Fatal(err)
		}
	}
	if *recordPoints != "" {
		if err := r.SavePoints(*recordPoints); err != nil {
			t.Fatal(err)
		}
	}
}

// checkResult checks one run: the harness's own invariants, then the
// scenario's expectations.
func checkResult(t *testing.T, r *Result) {
	t.Helper()
	sc := r.Scenario
	if len(r.Captures) != 3 || r.Capture == "" {
		t.Fatalf("captures %+v, main %q: want one at each of the three points, the main one among them", r.Captures, r.Capture)
	}
	if r.CaptureDropped != 0 || r.RelayLost != 0 {
		t.Errorf("frames lost outside the rules: tcpdump %d, relay %d", r.CaptureDropped, r.RelayLost)
	}
	var segs []Captured
	at := map[string][]Captured{}
	for _, c := range r.Captures {
		st, err := os.Stat(c.Path)
		if err != nil {
			t.Fatalf("no capture at the %s: %v", c.Point, err)
		}
		cs, err := ReadCapture(c.Path, r.ClientAddr.Addr())
		if err != nil {
			t.Fatalf("capture at the %s (%d bytes) does not decode: %v", c.Point, st.Size(), err)
		}
		checkFrames(t, c.Point, cs, r.Start, r.End)
		at[c.Point] = cs
		if c.Path == r.Capture {
			segs = cs
		}
	}
	if !sc.LateCapture {
		checkPaths(t, at, r.Drops, r.Held)
	}
	// Holds named in a scenario happened.
	if slices.ContainsFunc(sc.Drops, func(d Drop) bool { return d.Hold > 0 }) && len(r.Held) == 0 {
		t.Errorf("the path held nothing back; rules %d", len(sc.Drops))
	}
	// The kernel's observations are ordered and consecutive states differ.
	for _, obs := range [][]Observation{r.Client, r.Server, r.Listener} {
		for i := 1; i < len(obs); i++ {
			if obs[i].Time.Before(obs[i-1].Time) || obs[i].State == obs[i-1].State {
				t.Errorf("observations out of order or repeated: %v", stateNames(obs))
			}
		}
	}
	if sc.Server != nil && !sc.Expect.CheckEnd {
		t.Errorf("scenario %s checks no end states", sc.Name)
	}
	if err := CheckExpect(sc.Expect, r.States(Client), r.States(Server)); err != nil {
		t.Errorf("kernel: %v", err)
	}
	if sc.Expect.Capture != nil {
		if err := sc.Expect.Capture(segs, r); err != nil {
			t.Errorf("capture: %v", err)
		}
	}
	// Drops named in a scenario happened; none happened without a rule.
	dropRules := slices.ContainsFunc(sc.Drops, func(d Drop) bool { return d.Hold == 0 })
	if dropRules && len(r.Drops) == 0 {
		t.Errorf("the path dropped nothing; rules %d", len(sc.Drops))
	}
	if !dropRules && len(r.Drops) > 0 {
		t.Errorf("the path dropped %v without a rule", r.Drops)
	}
}

// checkPaths checks that each direction's frames reach the router, then
// the far end, in order, less what the path dropped.
func checkPaths(t *testing.T, at map[string][]Captured, dropped, held []Dropped) {
	t.Helper()
	// A frame the path held back came later than its order says: take
	// the held frames out of the comparison of order, and check that
	// each passed all three points.
	isHeld := func(c Captured) bool {
		return slices.ContainsFunc(held, func(h Dropped) bool {
			return h.Dir == c.Dir && h.Seq == uint32(c.Seg.Seq) && h.Ack == uint32(c.Seg.Ack) && h.Len == c.Seg.PayloadLen && h.Flags == c.Seg.Flags
		})
	}
	if len(held) > 0 {
		kept := map[string][]Captured{}
		for point, segs := range at {
			n := 0
			for _, c := range segs {
				if isHeld(c) {
					n++
				} else {
					kept[point] = append(kept[point], c)
				}
			}
			if n < len(held) {
				t.Errorf("%d of the %d frames the path held back passed the %s", n, len(held), point)
			}
		}
		at = kept
	}
	for _, d := range []Dir{ClientToServer, ServerToClient} {
		path := []string{PointClient, PointRouter, PointServer}
		if d == ServerToClient {
			path = []string{PointServer, PointRouter, PointClient}
		}
		drops := 0
		for _, x := range dropped {
			if x.Dir == d {
				drops++
			}
		}
		if err := samePath(at[path[0]], at[path[1]], d, drops); err != nil {
			t.Errorf("%s from the %s to the router: %v", d, path[0], err)
		}
		if err := samePath(at[path[1]], at[path[2]], d, 0); err != nil {
			t.Errorf("%s from the router to the %s: %v", d, path[2], err)
		}
	}
}

// samePath reports how the frames going in direction d in the capture
// downstream differ from those upstream: they must be the same frames
// (IP ID, flags, sequence and acknowledgment numbers, length), in the same
// order, less exactly lost of them. Frames a host sends from two CPUs at
// nearly the same moment may pass two taps in either order (each CPU
// queues what it sends to the veth's peer on its own backlog, and a busy
// machine serves the backlogs late), so a frame may be found up to
// reorderWindow frames ahead of where the order puts it.
func samePath(upstream, downstream []Captured, d Dir, lost int) error {
	const reorderWindow = 4
	type key struct {
		ipid     uint16
		flags    wire.Flags
		seq, ack uint32
		n        int
	}
	k := func(c Captured) key {
		return key{c.Seg.IPID, c.Seg.Flags, uint32(c.Seg.Seq), uint32(c.Seg.Ack), c.Seg.PayloadLen}
	}
	var up, down []key
	for _, c := range upstream {
		if c.Dir == d {
			up = append(up, k(c))
		}
	}
	for _, c := range downstream {
		if c.Dir == d {
			down = append(down, k(c))
		}
	}
	used := make([]bool, len(up))
	i, matched := 0, 0
	for _, x := range down {
		j := -1
		for m := i; m < len(up) && m <= i+reorderWindow; m++ {
			if !used[m] && up[m] == x {
				j = m
				break
			}
		}
		if j < 0 {
			// Not within the window: frames passed over upstream are
			// missing downstream, or x is not upstream at all.
			for j = i; j < len(up) && (used[j] || up[j] != x); j++ {
			}
			if j == len(up) {
				return fmt.Errorf("frame %+v downstream is not upstream, or not in the same order", x)
			}
		}
		used[j] = true
		matched++
		for i < len(up) && used[i] {
			i++
		}
		if j > i+reorderWindow {
			i = j - reorderWindow // what lies further back never comes
		}
	}
	var missing []key
	for m := range up {
		if !used[m] {
			missing = append(missing, up[m])
		}
	}
	if len(missing) != lost {
		return fmt.Errorf("%d frames upstream, %d downstream; the path dropped %d; missing downstream: %+v", len(up), len(down), lost, missing)
	}
	return nil
}

// checkFrames checks a capture's frames: the lab's only, all inside the
// run, with valid checksums (offloads are off) and wire-sized (no TSO/GRO
// super-frames).
func checkFrames(t *testing.T, point string, segs []Captured, start, end time.Time) {
	t.Helper()
	for _, s := range segs {
		if !labAddr(s.Seg.Src.Addr()) || !labAddr(s.Seg.Dst.Addr()) {
			t.Errorf("%s frame %d: %v > %v is not the lab's", point, s.N, s.Seg.Src, s.Seg.Dst)
		}
		if s.Time.Before(start) || s.Time.After(end) {
			t.Errorf("%s frame %d at %v outside the run [%v, %v]", point, s.N, s.Time, start, end)
		}
		if s.Seg.PayloadLen > 1460 {
			t.Errorf("%s frame %d carries %d bytes: offload is on", point, s.N, s.Seg.PayloadLen)
		}
		// Header and payload are adjacent in the frame's bytes.
		seglen := s.Seg.HeaderLen + s.Seg.PayloadLen
		if !s.Seg.Truncated() && cap(s.Seg.TCP) >= seglen {
			if _, ok := wire.TCPChecksum(s.Seg.Src.Addr(), s.Seg.Dst.Addr(), s.Seg.TCP[:seglen]); !ok {
				t.Errorf("%s frame %d: bad TCP checksum", point, s.N)
			}
		}
	}
}

func labAddr(a netip.Addr) bool {
	return a == ClientIPv4 || a == ServerIPv4 || a == ClientIPv6 || a == ServerIPv6
}

// timeline prints observations with how long each state lasted.
func timeline(obs []Observation, end time.Time) string {
	if len(obs) == 0 {
		return "(no socket)"
	}
	var b strings.Builder
	for i, o := range obs {
		next := end
		if i+1 < len(obs) {
			next = obs[i+1].Time
		}
		if i > 0 {
			b.WriteString(" → ")
		}
		if o.State == Gone {
			b.WriteString(Gone)
			continue
		}
		fmt.Fprintf(&b, "%s(%s)", o.State, fmtDur(next.Sub(o.Time)))
	}
	return b.String()
}

func fmtDur(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// TestRecorded checks the committed runs without root: each record
// belongs to a scenario of the catalogue and satisfies its expectations,
// and its capture decodes and satisfies the scenario's capture checks.
func TestRecorded(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(recorded, "*.json"))
	if len(paths) == 0 {
		t.Skip("no recorded runs in " + recorded)
	}
	names := map[string]bool{}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			rec, err := LoadRecord(p)
			if err != nil {
				t.Fatal(err)
			}
			names[rec.Scenario] = true
			sc, ok := Lookup(rec.Scenario)
			if !ok {
				t.Fatalf("scenario %q is not in the catalogue", rec.Scenario)
			}
			if rec.Doc != sc.Doc {
				t.Errorf("the record's doc differs from the scenario's: record again")
			}
			if err := CheckExpect(sc.Expect, StateNames(rec.States.Client), StateNames(rec.States.Server)); err != nil {
				t.Errorf("kernel: %v", err)
			}
			client, err := rec.ClientAddr()
			if err != nil {
				t.Fatal(err)
			}
			server, err := rec.ServerAddr()
			if err != nil {
				t.Fatal(err)
			}
			segs, err := ReadCapture(rec.CapturePath(p), client.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) == 0 {
				t.Fatal("empty capture")
			}
			for _, s := range segs {
				if s.Time.Before(rec.Start) || s.Time.After(rec.End) {
					t.Errorf("frame %d outside the recorded run", s.N)
				}
			}
			r := &Result{Scenario: sc, ClientAddr: client, ServerAddr: server}
			for _, d := range rec.Drops {
				r.Drops = append(r.Drops, droppedFromRecord(d))
			}
			for _, d := range rec.Held {
				r.Held = append(r.Held, droppedFromRecord(d))
			}
			if sc.Expect.Capture != nil {
				if err := sc.Expect.Capture(segs, r); err != nil {
					t.Errorf("capture: %v", err)
				}
			}
		})
	}
	for _, sc := range Catalogue() {
		if !names[sc.Name] {
			t.Errorf("scenario %s has no recorded run: go test ./internal/netlab -run TestScenarios -args -record %s", sc.Name, recorded)
		}
	}
}

func droppedFromRecord(d DropRecord) Dropped {
	var f wire.Flags
	for _, c := range d.Flags {
		if i := strings.IndexRune("FSRP.UEW", c); i >= 0 {
			f |= 1 << i
		}
	}
	dir := ClientToServer
	if d.Dir == ServerToClient.String() {
		dir = ServerToClient
	}
	return Dropped{Time: d.Time, Dir: dir, Rule: d.Rule, Flags: f, Seq: d.Seq, Ack: d.Ack, Len: d.Len, Offset: d.Offset,
		Held: time.Duration(d.HeldMS * float64(time.Millisecond))}
}

func TestParseProcNet(t *testing.T) {
	// Two lines of /proc/net/tcp and one of tcp6 as a little-endian
	// machine prints them: 10.77.0.2:8000 listening, an established
	// 10.77.0.1:40001 > 10.77.0.2:8000, fd00:77::1:40001 > fd00:77::2:8000.
	v4 := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 02004D0A:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1062 1 0 100 0 0 10 0\n" +
		"   1: 01004D0A:9C41 02004D0A:1F40 01 00000000:00000000 00:00000000 00000000     0        0 1063 1 0 20 4 30 10 -1\n"
	v6 := "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 770000FD000000000000000001000000:9C41 770000FD000000000000000002000000:1F40 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0\n"
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the fixture is what a little-endian machine prints")
	}
	var got []procSock
	parseProcNet([]byte(v4+v6+"garbage\n   7: zz:1 00:00 01\n"), func(s procSock) { got = append(got, s) })
	want := []procSock{
		{netip.MustParseAddrPort("10.77.0.2:8000"), netip.MustParseAddrPort("0.0.0.0:0"), 10, 0},
		{netip.MustParseAddrPort("10.77.0.1:40001"), netip.MustParseAddrPort("10.77.0.2:8000"), 1, 0},
		{netip.MustParseAddrPort("[fd00:77::1]:40001"), netip.MustParseAddrPort("[fd00:77::2]:8000"), 6, 3},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseProcNet = %v, want %v", got, want)
	}
	if stateName(6) != "TIME_WAIT" || stateName(3) != "SYN_RECV" || stateName(99) != "STATE_99" {
		t.Error("stateName")
	}
}

func TestSubsequence(t *testing.T) {
	got := []string{"SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "TIME_WAIT"}
	if err := subsequence(got, []string{"SYN_SENT", "TIME_WAIT"}); err != nil {
		t.Error(err)
	}
	if err := subsequence(got, []string{"TIME_WAIT", "SYN_SENT"}); err == nil {
		t.Error("out-of-order states accepted")
	}
	if !slices.Equal(StateNames([]StateRecord{{State: "LISTEN"}}), []string{"LISTEN"}) {
		t.Error("StateNames")
	}
}

// fakeTB lets a test watch Run fail: Fatal ends the goroutine as
// testing.T's does, and cleanups run when the test says so.
type fakeTB struct {
	testing.TB // the real test: TempDir, Helper, Logf
	mu         sync.Mutex
	errs       []string
	cleanups   []func()
}

func (f *fakeTB) fail(s string) {
	f.mu.Lock()
	f.errs = append(f.errs, s)
	f.mu.Unlock()
}
func (f *fakeTB) Error(args ...any)                 { f.fail(fmt.Sprint(args...)) }
func (f *fakeTB) Errorf(format string, args ...any) { f.fail(fmt.Sprintf(format, args...)) }
func (f *fakeTB) Fatal(args ...any)                 { f.fail(fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fail(fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any) { f.fail("skip"); runtime.Goexit() }
func (f *fakeTB) Cleanup(fn func())                { f.cleanups = append(f.cleanups, fn) }

// run runs sc under f and then its cleanups, as the testing package would.
func (f *fakeTB) run(sc Scenario) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(f, sc)
	}()
	<-done
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// TestRunFailureCleansUp makes Run fail in its two ways (a behaviour's
// error, and a broken lab that stops it with Fatal) and checks that no
// namespace or tcpdump of this process survives either.
func TestRunFailureCleansUp(t *testing.T) {
	Require(t)
	for _, sc := range []Scenario{
		{Name: "behaviour-error", Client: func(s *Side) error { return errors.New("on purpose") }},
		{Name: "bad-sysctl", Sysctls: map[string]string{"net.ipv4.no_such_knob": "1"}},
	} {
		f := &fakeTB{TB: t}
		f.run(sc)
		if len(f.errs) == 0 {
			t.Errorf("%s: Run did not fail", sc.Name)
		}
		t.Logf("%s: %q", sc.Name, f.errs)
		if left := leftovers(); len(left) > 0 {
			t.Errorf("%s: left behind %v", sc.Name, left)
		}
	}
}

// leftovers lists this process's namespaces and tcpdump children.
func leftovers() []string {
	var out []string
	ents, _ := os.ReadDir("/run/netns")
	suffix := fmt.Sprintf("-%d", os.Getpid())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "tlk") && strings.HasSuffix(e.Name(), suffix) {
			out = append(out, "namespace "+e.Name())
		}
	}
	instances, _ := os.ReadDir(filepath.Join(tracefs, "instances"))
	for _, e := range instances {
		if strings.HasPrefix(e.Name(), "tlk") && strings.HasSuffix(e.Name(), suffix) {
			out = append(out, "tracefs instance "+e.Name())
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "(tcpdump") {
			continue
		}
		var state string
		var ppid int
		fmt.Sscan(s[i+1:], &state, &ppid)
		if ppid == os.Getpid() {
			out = append(out, "tcpdump "+p)
		}
	}
	return out
}

func TestSamePath(t *testing.T) {
	f := func(ids ...uint16) []Captured {
		var out []Captured
		for _, id := range ids {
			out = append(out, Captured{Dir: ClientToServer, Seg: wire.Segment{IPID: id, Flags: wire.ACK}})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		up, down []Captured
		lost     int
		ok       bool
	}{
		{"the same", f(1, 2, 3, 4), f(1, 2, 3, 4), 0, true},
		{"one dropped", f(1, 2, 3, 4), f(1, 3, 4), 1, true},
		{"one dropped, not counted", f(1, 2, 3, 4), f(1, 3, 4), 0, false},
		{"two swapped", f(1, 2, 3, 4), f(1, 3, 2, 4), 0, true},
		{"a frame four ahead", f(1, 2, 3, 4, 5, 6), f(1, 6, 2, 3, 4, 5), 0, true},
		{"a frame far behind", f(1, 2, 3, 4, 5, 6, 7, 8, 9), f(2, 3, 4, 5, 6, 7, 8, 9, 1), 0, false},
		{"a frame not upstream", f(1, 2, 3), f(1, 9, 2, 3), 0, false},
	} {
		if err := samePath(tc.up, tc.down, ClientToServer, tc.lost); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
