package netlab

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"net/netip"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// TestKernelTruth checks tcplens's inferred states against the kernel's on
// every recorded run in testdata/kernel (issue 3 part 5, DESIGN §8): the
// analysis of the run's capture, for the focus connection, must agree with
// the states the kernel showed for each endpoint, by checkKernelTruth's
// rules. The runs recorded at every capture point (testdata/kernel/vantage)
// are checked at each. TestScenarios makes the same check on fresh runs,
// as root.
func TestKernelTruth(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(recorded, "*.json"))
	if len(paths) == 0 {
		t.Fatal("no recorded runs in " + recorded)
	}
	extra, _ := filepath.Glob(filepath.Join(extraRecorded, "*.json"))
	points, _ := filepath.Glob(filepath.Join(vantageRecorded, "*", "record.json"))
	for _, p := range slices.Concat(paths, extra, points) {
		rec, err := LoadRecord(p)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(recorded, filepath.Dir(p))
		name = filepath.Join(name, rec.Scenario)
		files := map[string]string{}
		for _, c := range rec.Points() {
			files[c.Point] = c.PointPath(p)
		}
		for _, c := range rec.Points() {
			t.Run(strings.TrimPrefix(name, "./")+"@"+c.Point, func(t *testing.T) {
				checkKernelTruth(t, rec, files, c.Point)
			})
		}
	}
}

// truthSlack is the time a state change may lie outside the kernel's
// window beyond the path's delay. The window itself is exact: the change
// happened between the start of the poll before and the end of the poll
// that saw it. What is left is the capture's own latency, a few
// microseconds between a socket's state change and tcpdump's timestamp on
// the endpoint's veth, and the relay's, which holds each frame for the
// path's delay on a real-time thread and so adds well under a millisecond
// of wake-up latency (the recorded handshakes take 2×delay plus 0.1 to
// 0.4 ms). 2 ms covers both with room on a loaded machine, and is a
// fifth of the shortest error the check exists to catch: a state placed a
// round trip (10 ms) or a timer (200 ms, 1 s) away from where the kernel
// was in it.
const truthSlack = 2 * time.Millisecond

// unobservable lists kernel states that no analysis of a capture could
// place, because no frame there carries the evidence, with the reason:
// per scenario, capture point ("" for every point) and endpoint, the
// states, where lastState stands for the endpoint's last. The check
// leaves them out.
var unobservable = []struct {
	scenario, point string
	side            Role
	states          []string
	why             string
}{
	{"syn-timeout", "", Client, []string{lastState},
		"the client gives up 4 s after its third SYN, when the capture has nothing left to show: " +
			"a connect() that times out sends nothing, and a pcap file does not say how long the capture ran on after its last frame"},
	{"syn-cookies", PointClient, Server, []string{"SYN_RECV", "ESTABLISHED"},
		"the client's handshake ACK is lost past the capture point, and a server that answered with a cookie resends nothing: " +
			"nothing at the client shows that the ACK did not arrive, so the server's connection is taken to start with it, not 3.5 s later with the request"},
}

// lastState stands for an endpoint's last kernel state in unobservable.
const lastState = "(last)"

// checkKernelTruth runs tcplens over the capture of rec taken at point
// (files maps the record's capture points to their files) and compares
// the states it infers for each endpoint of the focus connection with the
// kernel's.
//
// The mapping between the two sequences:
//
//   - tcplens prints the kernel's state names, and the names compare as
//     they are, except that tcplens's CLOSED stands for both the kernel's
//     CLOSED (the harness's name for a socket that left the table) and
//     CLOSE (TCP_CLOSE, a socket still listed).
//   - LISTEN in a connection's history means the server's listening
//     socket, which the record keeps apart: the 4-tuple has no socket of
//     its own yet. It is left out, so a kernel sequence that starts with
//     SYN_RECV matches tcplens's LISTEN, SYN_RECV.
//   - The kernel states entered before the capture's first frame are
//     left out, all but the one the endpoint was in when the capture
//     began (a capture that starts mid-stream cannot show the handshake).
//   - An endpoint the kernel never had a socket for (the server of a
//     refused connection) must end in UNKNOWN, LISTEN or CLOSED.
//
// The checks, per endpoint:
//
//   - Order: the kernel's states appear in tcplens's sequence in the same
//     order (a subsequence: tcplens may have more, since a state the
//     poller is the only witness of may be missed, and records differ in
//     which short states they show).
//   - End: tcplens's last state is the kernel's last.
//   - Time: each kernel state is matched to an inferred transition into
//     it whose frame lies in the kernel's window (not_before, time],
//     widened by truthSlack. A frame is timed where the endpoint met it:
//     when the run was captured at the endpoint too, by the same frame's
//     time in that capture, however late the path delivered it; when it
//     was not (a record with one capture, or a frame lost before the
//     endpoint), by its time at the point shifted by the path's delay
//     between the point and the endpoint, within that delay plus the
//     latency the run measured: how late the relay forwarded frames (in
//     records without that figure, the pollers' longest gap beyond their
//     interval, since they are real-time threads like the relay; when
//     that exceeds the path's delay the far side's times are not checked,
//     and the test logs it). A correction (a transition made when later
//     evidence showed an earlier inference wrong) says the endpoint was
//     in that state by the evidence frame, not that it entered it then,
//     so it only has to come after the window opens.
//
// A state the capture cannot show is listed in unobservable with the
// reason, and left out.
func checkKernelTruth(t *testing.T, rec *Record, files map[string]string, point string) {
	t.Helper()
	disagree, notes, err := kernelTruth(rec, files, point)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notes {
		t.Log(n)
	}
	for _, d := range disagree {
		t.Error(d)
	}
}

// kernelTruth makes checkKernelTruth's comparison and returns where the
// two disagree, and what it left out and why.
func kernelTruth(rec *Record, files map[string]string, point string) (disagree, notes []string, err error) {
	client, err := rec.ClientAddr()
	if err != nil {
		return nil, nil, fmt.Errorf("record %s: client address: %w", rec.Scenario, err)
	}
	server, err := rec.ServerAddr()
	if err != nil {
		return nil, nil, fmt.Errorf("record %s: server address: %w", rec.Scenario, err)
	}
	var at CaptureRecord
	for _, c := range rec.Points() {
		if c.Point == point {
			at = c
		}
	}
	if at.Point == "" {
		return nil, nil, fmt.Errorf("record %s: no capture at the %s", rec.Scenario, point)
	}
	first, ends, err := inferStates(files[point], client.String(), server.String())
	if errors.Is(err, errNoConnection) {
		return nil, []string{fmt.Sprintf("the capture at the %s holds no frame of the connection: the path lost them all before it, and there is nothing to infer", point)}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	// How late the lab's real-time threads ran: the relay's own measure,
	// or in older records the pollers' longest gap beyond their interval.
	late := max(0, time.Duration((rec.MaxPollGapMS-rec.PollInterval)*float64(time.Millisecond)))
	if rec.RelayLateMS != nil {
		late = time.Duration(*rec.RelayLateMS * float64(time.Millisecond))
	}
	for _, side := range []Role{Client, Server} {
		kernel, hist := rec.States.Client, ends[0]
		dist := time.Duration(at.FromClientMS * float64(time.Millisecond))
		if side == Server {
			kernel, hist = rec.States.Server, ends[1]
			dist = time.Duration(at.FromServerMS * float64(time.Millisecond))
		}
		// States the endpoint entered before the capture's first frame,
		// less the path's nominal delay, predate the capture: a stall of
		// the lab's threads delays frames, it does not move those states.
		cmp := comparison{start: first.Add(-dist - truthSlack), timed: true}
		hist = slices.Clone(hist)
		own, ok := files[side.String()]
		if dist > 0 && ok {
			met, err := frameTimes(files[point], own, client.Addr())
			if err != nil {
				return nil, nil, err
			}
			for i := range hist {
				// A correction is timed where it was made: at the
				// capture point, when the evidence arrived there.
				if t, ok := met[hist[i].frame]; ok && !hist[i].correction {
					hist[i].time, hist[i].tol = t, truthSlack
					continue
				}
				hist[i].tol = dist + late + truthSlack
			}
		} else {
			for i := range hist {
				hist[i].tol = dist + late + truthSlack
			}
			if dist > 0 && late > dist && rec.RelayLateMS == nil {
				cmp.timed = false
				notes = append(notes, fmt.Sprintf("%s: times not checked: the lab's real-time threads ran up to %v late in this run, more than the path's delay, so when a frame reached the far side is unknown", side, late))
			}
		}
		for _, u := range unobservable {
			if u.scenario == rec.Scenario && (u.point == "" || u.point == point) && u.side == side {
				cmp.skip = append(cmp.skip, u.states...)
				notes = append(notes, fmt.Sprintf("%s: %s not checked: %s", side, strings.Join(u.states, ", "), u.why))
			}
		}
		for _, e := range cmp.states(kernel, hist) {
			disagree = append(disagree, fmt.Sprintf("%s: %s\n  kernel:  %s\n  tcplens: %s", side, e, kernelTimeline(kernel, first), inferredTimeline(hist, first)))
		}
	}
	return disagree, notes, nil
}

// frameTimes maps each frame of the capture at path to its time in the
// capture own, taken where the frame's receiver or sender is: the same
// frame is the one with the same direction, IP ID, flags, sequence and
// acknowledgment numbers, length and timestamps, counted in order (the
// path keeps the order of each direction). Frames own lacks (lost on the
// way) are not in the map.
func frameTimes(path, own string, client netip.Addr) (map[int]time.Time, error) {
	a, err := ReadCapture(path, client)
	if err != nil {
		return nil, err
	}
	b, err := ReadCapture(own, client)
	if err != nil {
		return nil, err
	}
	type key struct {
		dir        Dir
		ipid       uint16
		flags      wire.Flags
		seq, ack   uint32
		n          int
		tsv, tsecr uint32
		nth        int
	}
	k := func(c Captured) key {
		return key{c.Dir, c.Seg.IPID, c.Seg.Flags, uint32(c.Seg.Seq), uint32(c.Seg.Ack), c.Seg.PayloadLen, c.Seg.Options.TSVal, c.Seg.Options.TSEcr, 0}
	}
	times := map[key]time.Time{}
	for _, c := range b {
		x := k(c)
		for ; !times[x].IsZero(); x.nth++ {
		}
		times[x] = c.Time
	}
	out := map[int]time.Time{}
	seen := map[key]bool{}
	for _, c := range a {
		x := k(c)
		for ; seen[x]; x.nth++ {
		}
		seen[x] = true
		if t, ok := times[x]; ok {
			out[c.N] = t
		}
	}
	return out, nil
}

var errNoConnection = errors.New("no connection")

// inferred is one transition of tcplens's history, in the comparison's terms.
type inferred struct {
	state      string
	frame      int
	time       time.Time     // when the endpoint met the frame, or the frame's time at the capture point
	tol        time.Duration // how far from the kernel's window time may lie
	early      time.Duration // how much earlier still the kernel may have entered the state
	correction bool
}

// inferStates analyses the capture and returns the time of its first
// frame and the history of the connections between client and server
// (ip:port), one after another: the client's, then the server's.
func inferStates(capture, client, server string) (time.Time, [2][]inferred, error) {
	var ends [2][]inferred
	f, err := os.Open(capture)
	if err != nil {
		return time.Time{}, ends, err
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		return time.Time{}, ends, fmt.Errorf("%s: %w", capture, err)
	}
	// The kernel's record follows the 4-tuple, whichever connection holds
	// it: several in turn when the ports are reused.
	type found struct {
		id   int
		ends [2][]inferred
	}
	var conns []found
	// queued maps a FIN's frame to how long before it its sender last
	// sent data: a FIN waits behind the data queued before it, so the
	// close that made it may be that much earlier.
	queued := map[int]time.Duration{}
	lastData := map[netip.AddrPort]pcap.Time{}
	a := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		if s.Seg == nil {
			return
		}
		src, t := s.Seg.Src, s.Frame.Time
		if s.Seg.Flags.Has(wire.FIN) {
			if d, ok := lastData[src]; ok {
				queued[s.Frame.Number] = t.Sub(d)
			}
		}
		if s.Seg.PayloadLen > 0 {
			lastData[src] = t
		}
	}, func(c *conn.Conn, _ conn.EndReason) {
		for i := range c.Ends {
			if c.Ends[i].Addr.String() == client && c.Ends[1-i].Addr.String() == server {
				conns = append(conns, found{c.ID, [2][]inferred{history(&c.Ends[i], queued), history(&c.Ends[1-i], queued)}})
			}
		}
	})
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return time.Time{}, ends, fmt.Errorf("%s: %w", capture, err)
		}
		a.Add(&fr)
	}
	a.Close()
	if len(conns) == 0 {
		return time.Time{}, ends, fmt.Errorf("%s: %w from %s to %s", capture, errNoConnection, client, server)
	}
	slices.SortFunc(conns, func(x, y found) int { return x.id - y.id })
	for _, c := range conns {
		ends[0] = append(ends[0], c.ends[0]...)
		ends[1] = append(ends[1], c.ends[1]...)
	}
	return a.Stats.First.Std(), ends, nil
}

// history is an endpoint's transitions. Those a correction makes at its
// frame after undoing the earlier inference are part of the correction:
// the endpoint had made them by the frame, not at it. Sending a FIN
// (FIN_WAIT1, LAST_ACK) may lag the close that entered the state by the
// time the FIN waited behind queued data (queued, by frame).
func history(e *tcp.Endpoint, queued map[int]time.Duration) []inferred {
	var h []inferred
	correcting, at := false, -1
	for _, tr := range e.History {
		correcting = tr.Correction || (correcting && tr.Frame == at)
		at = tr.Frame
		if tr.State == tcp.Listen {
			continue // the listener's state, not the connection's
		}
		in := inferred{state: tr.State.String(), frame: tr.Frame, time: tr.Time.Std(), correction: correcting}
		if (tr.State == tcp.FinWait1 || tr.State == tcp.LastAck) && e.FINFrame == tr.Frame && !correcting {
			in.early = queued[tr.Frame]
		}
		h = append(h, in)
	}
	return h
}

// comparison is how one endpoint's states are compared.
type comparison struct {
	start time.Time // states entered before it predate the capture
	timed bool      // whether the time check is made
	skip  []string  // kernel states to leave out (lastState: the last)
}

// states applies the order, end and time checks and returns what
// disagrees.
func (cmp comparison) states(kernel []StateRecord, hist []inferred) []string {
	start := cmp.start
	var errs []string
	last := "UNKNOWN"
	if len(hist) > 0 {
		last = hist[len(hist)-1].state
	}
	// The states the endpoint had left before the capture began.
	for len(kernel) > 1 && kernel[1].Time.Before(start) {
		kernel = kernel[1:]
	}
	if slices.Contains(cmp.skip, lastState) {
		if len(kernel) > 0 {
			kernel = kernel[:len(kernel)-1]
		}
		last = ""
	}
	kernel = slices.DeleteFunc(slices.Clone(kernel), func(k StateRecord) bool { return slices.Contains(cmp.skip, k.State) })
	if len(kernel) == 0 {
		if last != "" && last != "UNKNOWN" && last != "CLOSED" {
			errs = append(errs, fmt.Sprintf("the kernel never had a socket for the connection, tcplens ends in %s", last))
		}
		return errs
	}
	names := make([]string, len(kernel))
	for i, k := range kernel {
		names[i] = kernelName(k.State)
	}
	// Order, by name alone, to say which state is missing.
	got := make([]string, len(hist))
	for i, h := range hist {
		got[i] = h.state
	}
	if err := subsequence(got, names); err != nil {
		errs = append(errs, "order: "+err.Error())
	}
	if want := names[len(names)-1]; last != "" && last != want {
		errs = append(errs, fmt.Sprintf("end: tcplens ends in %s, the kernel in %s", last, want))
	}
	if len(errs) > 0 || !cmp.timed {
		return errs
	}
	// Time: match each kernel state to the earliest transition into it,
	// after the previous match, that lies in its window. Taking the
	// earliest that fits never prevents a later state from matching.
	j := 0
	for i, k := range kernel {
		if k.Time.Before(start) {
			// Entered before the capture began: any transition into the
			// state will do.
			for j < len(hist) && hist[j].state != names[i] {
				j++
			}
			j++
			continue
		}
		from := j
		for j < len(hist) && !(hist[j].state == names[i] && inWindow(hist[j], k)) {
			j++
		}
		if j == len(hist) {
			errs = append(errs, fmt.Sprintf("time: the kernel entered %s in (%s, %s]; no inferred transition into it after frame %d lies within its tolerance of that",
				names[i], clock(k.NotBefore), clock(k.Time), frameAt(hist, from-1)))
			return errs
		}
		j++
	}
	return errs
}

// inWindow reports whether an inferred transition agrees in time with the
// kernel's observation of the state.
func inWindow(h inferred, k StateRecord) bool {
	if !k.NotBefore.IsZero() && !h.time.After(k.NotBefore.Add(-h.tol)) {
		return false
	}
	return h.correction || !h.time.After(k.Time.Add(h.tol+h.early))
}

func frameAt(hist []inferred, i int) int {
	if i < 0 || i >= len(hist) {
		return 0
	}
	return hist[i].frame
}

// kernelName maps a kernel state name to tcplens's.
func kernelName(s string) string {
	if s == "CLOSE" {
		return Gone
	}
	return s
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "before polling"
	}
	return t.UTC().Format("15:04:05.000000")
}

// kernelTimeline and inferredTimeline print the two sequences with times
// relative to the capture's first frame, for failure messages.
func kernelTimeline(obs []StateRecord, start time.Time) string {
	var b strings.Builder
	for i, o := range obs {
		if i > 0 {
			b.WriteString(" → ")
		}
		fmt.Fprintf(&b, "%s (%s, %s]", o.State, rel(o.NotBefore, start), rel(o.Time, start))
	}
	if len(obs) == 0 {
		b.WriteString("(no socket)")
	}
	return b.String()
}

func inferredTimeline(hist []inferred, start time.Time) string {
	var b strings.Builder
	for i, h := range hist {
		if i > 0 {
			b.WriteString(" → ")
		}
		corr := ""
		if h.correction {
			corr = " correction"
		}
		fmt.Fprintf(&b, "%s @%d %s%s", h.state, h.frame, rel(h.time, start), corr)
	}
	if len(hist) == 0 {
		b.WriteString("(nothing)")
	}
	return b.String()
}

func rel(t, start time.Time) string {
	if t.IsZero() {
		return "-∞"
	}
	return fmt.Sprintf("%+.1fms", float64(t.Sub(start).Microseconds())/1000)
}

// TestKernelTruthCatches shows that the comparison fails where it should,
// on recorded runs whose kernel side is altered: a state tcplens does not
// infer, another last state, a state entered a round trip or more away
// from where tcplens puts it. And that a run whose lab threads stalled
// longer than the path's delay has its far side's times left out.
func TestKernelTruthCatches(t *testing.T) {
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	for _, tc := range []struct {
		name, scenario string
		alter          func(rec *Record)
		want           string // in the disagreement; "" for none
		note           string // in the notes
	}{
		{"StateNotInferred", "client-close", func(rec *Record) {
			s := rec.States.Server // SYN_RECV ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED
			closing := s[3]
			closing.State = "CLOSING"
			rec.States.Server = append(s[:3:3], append([]StateRecord{closing}, s[3:]...)...)
		}, "server: order: missing CLOSING", ""},
		{"OtherLastState", "client-close", func(rec *Record) {
			rec.States.Client = rec.States.Client[:len(rec.States.Client)-1]
		}, "client: end: tcplens ends in TIME_WAIT, the kernel in FIN_WAIT2", ""},
		{"NearSideRoundTripLate", "client-close", func(rec *Record) {
			k := &rec.States.Client[2] // FIN_WAIT1, at the capture point
			k.NotBefore, k.Time = k.NotBefore.Add(ms(10)), k.Time.Add(ms(10))
		}, "client: time: the kernel entered FIN_WAIT1", ""},
		{"FarSideLate", "client-close", func(rec *Record) {
			k := &rec.States.Server[3] // LAST_ACK, a path away
			k.NotBefore, k.Time = k.NotBefore.Add(ms(25)), k.Time.Add(ms(25))
		}, "server: time: the kernel entered LAST_ACK", ""},
		{"FarSideEarly", "lost-handshake-ack", func(rec *Record) {
			k := &rec.States.Server[1] // ESTABLISHED when the second ACK arrives
			k.NotBefore, k.Time = k.NotBefore.Add(-time.Second), k.Time.Add(-time.Second)
		}, "server: time: the kernel entered ESTABLISHED", ""},
		{"StalledRun", "midstream", func(rec *Record) {
			rec.MaxPollGapMS = 124
			k := &rec.States.Server[2] // LAST_ACK
			k.NotBefore, k.Time = k.NotBefore.Add(ms(60)), k.Time.Add(ms(60))
		}, "", "server: times not checked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(recorded, tc.scenario+".json")
			rec, err := LoadRecord(p)
			if err != nil {
				t.Fatal(err)
			}
			tc.alter(rec)
			disagree, notes, err := kernelTruth(rec, map[string]string{rec.Vantage: rec.CapturePath(p)}, rec.Vantage)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(disagree, "\n")
			switch {
			case tc.want == "" && len(disagree) > 0:
				t.Errorf("disagreement on an agreeing run:\n%s", all)
			case tc.want != "" && !strings.Contains(all, tc.want):
				t.Errorf("disagreement %q, want one saying %q", all, tc.want)
			}
			if tc.note != "" && !strings.Contains(strings.Join(notes, "\n"), tc.note) {
				t.Errorf("notes %q, want one saying %q", notes, tc.note)
			}
		})
	}
}
