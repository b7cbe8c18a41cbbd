package netlab

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseTrace(t *testing.T) {
	// The same two events as the fields option prints them (Linux 6.2 and
	// later) and as the event's own format does, with the trace's header.
	fields := `# tracer: nop
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
         python3-23352   [001] .....   571.447377: inet_sock_set_state: skaddr=0xffff8881477d6f00 (-131386145149184) oldstate=0x7 (7) newstate=0x2 (2) sport=0x0 (0) dport=0x1f40 (8000) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x100007f (16777343) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>
          <idle>-0       [000] ..s2.   571.457420: inet_sock_set_state: skaddr=0xffff8881477d6f00 (-131386145149184) oldstate=0x2 (2) newstate=0x1 (1) sport=0xa040 (41024) dport=0x1f40 (8000) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x100007f (16777343) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>
`
	own := `          python3-23352   [001] .....   571.447377: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=0 dport=8000 saddr=10.77.0.1 daddr=10.77.0.2 saddrv6=::ffff:10.77.0.1 daddrv6=::ffff:10.77.0.2 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT
          <idle>-0       [000] ..s2.   571.457420: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=41024 dport=8000 saddr=10.77.0.1 daddr=10.77.0.2 saddrv6=::ffff:10.77.0.1 daddrv6=::ffff:10.77.0.2 oldstate=TCP_SYN_SENT newstate=TCP_ESTABLISHED
`
	offset := 1000 * time.Second
	at := func(s, us int64) time.Time { return time.Unix(s, us*1000).Add(offset) }
	want := []traceEvent{
		{Time: at(571, 447377), Sk: 0xffff8881477d6f00, Sport: 0, Dport: 8000, Old: 7, New: 2},
		{Time: at(571, 457420), Sk: 0xffff8881477d6f00, Sport: 41024, Dport: 8000, Old: 2, New: 1},
	}
	got, err := parseTrace(fields, offset)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("parseTrace(fields) = %+v, %v; want %+v", got, err, want)
	}
	for i := range want {
		want[i].Sk = 0
	}
	got, err = parseTrace(own, offset)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("parseTrace(own format) = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{
		"x-1 [000] .... 571.4: inet_sock_set_state: sport=1 dport=2 oldstate=0x7 newstate=0x2",
		"x-1 [000] .... 571.457420: inet_sock_set_state: sport=1 dport=2 oldstate=0x7",
		"x-1 [000] .... 571.457420: inet_sock_set_state: sport=1 dport=2 oldstate=TCP_NONSENSE newstate=0x2",
	} {
		if _, err := parseTrace(bad, 0); err == nil {
			t.Errorf("parseTrace(%q) took it", bad)
		}
	}
}

// TestByKey gives each traced event to its socket: the run's client
// ports are 41024 to 41039; another run's connect() to the service port
// gets through the filter while its port is 0, and must not count.
func TestByKey(t *testing.T) {
	c, s := netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("10.77.0.2")
	at := func(ms int) time.Time { return time.Unix(0, int64(ms)*int64(time.Millisecond)) }
	ev := func(ms int, sk uint64, sport, dport uint16, old, nw uint8) traceEvent {
		return traceEvent{Time: at(ms), Sk: sk, Sport: sport, Dport: dport, Old: old, New: nw}
	}
	events := []traceEvent{
		ev(1, 0xa, 0, 8000, 7, 2),       // ours: connect() without bind
		ev(2, 0xb, 0, 8000, 7, 2),       // another run's, which then leaves the block: filtered
		ev(11, 0xc, 8000, 41025, 10, 3), // the server's child
		ev(11, 0xc, 8000, 41025, 3, 1),
		ev(12, 0xa, 41025, 8000, 2, 1),
	}
	clientKey := sockKey{netip.MustParseAddrPort("10.77.0.1:41025"), netip.MustParseAddrPort("10.77.0.2:8000")}
	serverKey := sockKey{netip.MustParseAddrPort("10.77.0.2:8000"), netip.MustParseAddrPort("10.77.0.1:41025")}
	check := func(name string, got map[sockKey][]traceEvent, wantClient int) {
		t.Helper()
		if len(got) != 2 || len(got[clientKey]) != wantClient || len(got[serverKey]) != 2 {
			t.Errorf("%s: byKey = %v", name, got)
			return
		}
		if e := got[clientKey][0]; e.New != 2 || e.Sport != 41025 || !e.Time.Equal(at(1)) {
			t.Errorf("%s: the client's first event %+v; want its SYN_SENT at 1 ms, with the port it later got", name, e)
		}
	}
	check("with addresses", byKey(events, c, s, 41024, 16, 8000), 2)
	// Without socket addresses an event with port 0 goes to the next life
	// that leaves SYN_SENT: the latest before it, ours here.
	var bare []traceEvent
	for _, e := range events {
		if e.Sk != 0xb {
			e.Sk = 0
			bare = append(bare, e)
		}
	}
	bare = append([]traceEvent{ev(0, 0, 0, 8000, 7, 2)}, bare...) // another's, earlier
	check("without addresses", byKey(bare, c, s, 41024, 16, 8000), 2)
}

// TestMergeStates checks how a socket's states are made from the
// tracepoint's events and the poller's sights.
func TestMergeStates(t *testing.T) {
	base := time.Unix(1000, 0)
	at := func(ms float64) time.Time { return base.Add(time.Duration(ms * float64(time.Millisecond))) }
	ev := func(ms float64, old, nw uint8) traceEvent { return traceEvent{Time: at(ms), Old: old, New: nw} }
	poll := func(ms float64, state string, mini bool) polled {
		return polled{state: state, mini: mini, time: at(ms), notBefore: at(ms - 1)}
	}
	// Polls every millisecond from 0 to 400, each taking 0.1 ms.
	var polls []pollSpan
	for ms := 0.0; ms <= 400; ms++ {
		polls = append(polls, pollSpan{at(ms), at(ms + 0.1)})
	}
	const (
		est, synSent, synRecv, finWait1, finWait2, closeWait, lastAck, closing = 1, 2, 3, 4, 5, 8, 9, 11
	)
	type obs struct {
		state     string
		nb, at    float64 // ms; nb -1 for the start of the run
		fromTrace bool
	}
	for _, tc := range []struct {
		name   string
		traced []traceEvent
		seen   []polled
		polls  []pollSpan
		want   []obs
		note   string
	}{
		{
			name:   "client closes first: FIN_WAIT2 becomes a TIME_WAIT socket",
			traced: []traceEvent{ev(0.5, 7, synSent), ev(10.5, synSent, est), ev(50.5, est, finWait1), ev(60.5, finWait1, finWait2), ev(60.5, finWait2, 7)},
			seen: []polled{poll(1, "SYN_SENT", false), poll(11, "ESTABLISHED", false), poll(51, "FIN_WAIT1", false), poll(61, "FIN_WAIT2", true),
				poll(300, "TIME_WAIT", true)},
			polls: polls,
			want: []obs{{"SYN_SENT", 0.499, 0.5, true}, {"ESTABLISHED", 10.499, 10.5, true}, {"FIN_WAIT1", 50.499, 50.5, true},
				{"FIN_WAIT2", 60.499, 60.5, true}, {"TIME_WAIT", 299, 300, false}},
		},
		{
			name:   "server: its request socket seen, then the full socket, which closes",
			traced: []traceEvent{ev(10.5, stateListen, synRecv), ev(10.5, synRecv, est), ev(20.5, est, closeWait), ev(320.5, closeWait, lastAck), ev(330.5, lastAck, 7)},
			seen:   []polled{poll(1, "SYN_RECV", true), poll(11, "ESTABLISHED", false), poll(21, "CLOSE_WAIT", false), poll(321, "LAST_ACK", false), poll(331, Gone, false)},
			polls:  polls,
			want: []obs{{"SYN_RECV", 0, 1, false}, {"ESTABLISHED", 10.499, 10.5, true}, {"CLOSE_WAIT", 20.499, 20.5, true},
				{"LAST_ACK", 320.499, 320.5, true}, {Gone, 330.499, 330.5, true}},
		},
		{
			name:   "server: its request socket seen by a slow poll that ended after the full socket was made and established",
			traced: []traceEvent{ev(15.3, stateListen, synRecv), ev(15.4, synRecv, est)},
			seen:   []polled{{state: "SYN_RECV", mini: true, time: at(18.7), notBefore: at(4)}, poll(30, "ESTABLISHED", false)},
			polls:  []pollSpan{{at(0), at(0.1)}, {at(4), at(18.7)}, {at(29.9), at(30)}},
			want:   []obs{{"SYN_RECV", 4, 15.3 - 1e-6, false}, {"ESTABLISHED", 15.399, 15.4, true}},
		},
		{
			name:   "server: its request socket missed: SYN_RECV began after the last poll that did not see it",
			traced: []traceEvent{ev(10.5, stateListen, synRecv), ev(10.5, synRecv, est)},
			polls:  []pollSpan{{at(0), at(0.1)}, {at(8), at(8.1)}, {at(12), at(12.1)}},
			want:   []obs{{"SYN_RECV", 8, 10.5, true}, {"ESTABLISHED", 10.499, 10.5, true}},
		},
		{
			name:  "a request socket that never became a full one goes away",
			seen:  []polled{poll(1, "SYN_RECV", true), poll(1001, Gone, false)},
			polls: polls,
			want:  []obs{{"SYN_RECV", 0, 1, false}, {Gone, 1000, 1001, false}},
		},
		{
			name:   "a full socket's going away is the tracepoint's, not the poller's",
			traced: []traceEvent{ev(0.5, 7, synSent), ev(10.5, synSent, 7)},
			seen:   []polled{poll(1, "SYN_SENT", false), poll(12, Gone, false)},
			polls:  polls,
			want:   []obs{{"SYN_SENT", 0.499, 0.5, true}, {Gone, 10.499, 10.5, true}},
		},
		{
			name: "a TIME_WAIT socket in FIN_WAIT2 that the peer's FIN moves on",
			traced: []traceEvent{ev(0.5, 7, synSent), ev(10.5, synSent, est), ev(50.5, est, finWait1), ev(60.5, finWait1, finWait2),
				ev(60.5, finWait2, 7)},
			seen:  []polled{poll(61, "FIN_WAIT2", true), poll(200, "TIME_WAIT", true)},
			polls: polls,
			want: []obs{{"SYN_SENT", 0.499, 0.5, true}, {"ESTABLISHED", 10.499, 10.5, true}, {"FIN_WAIT1", 50.499, 50.5, true},
				{"FIN_WAIT2", 60.499, 60.5, true}, {"TIME_WAIT", 199, 200, false}},
		},
		{
			name:   "a simultaneous close: CLOSING, then TIME_WAIT, first seen a stalled poll later",
			traced: []traceEvent{ev(50.5, est, finWait1), ev(70.5, finWait1, closing), ev(90.5, closing, 7)},
			seen:   []polled{poll(150, "TIME_WAIT", true)},
			polls:  []pollSpan{{at(0), at(0.1)}, {at(149.9), at(150)}},
			want:   []obs{{"FIN_WAIT1", 50.499, 50.5, true}, {"CLOSING", 70.499, 70.5, true}, {"TIME_WAIT", 90.499, 150, false}},
		},
		{
			name: "a TIME_WAIT socket taken over by the next connection before any poll",
			traced: []traceEvent{ev(60.5, finWait1, finWait2), ev(70.5, finWait2, 7),
				ev(71.5, 7, synSent)},
			polls: []pollSpan{{at(0), at(0.1)}, {at(71), at(72)}},
			want:  []obs{{"FIN_WAIT2", 60.499, 60.5, true}, {"SYN_SENT", 71.499, 71.5, true}},
			note:  "left FIN_WAIT2 at",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, notes := mergeStates(tc.traced, tc.seen, tc.polls)
			var want []Observation
			for _, o := range tc.want {
				w := Observation{State: o.state, Time: at(o.at), NotBefore: at(o.nb), Source: SourcePoll}
				if o.fromTrace {
					w.Source = SourceTrace
				}
				if o.nb < 0 {
					w.NotBefore = time.Time{}
				}
				want = append(want, w)
			}
			if !slices.EqualFunc(got, want, func(a, b Observation) bool {
				return a.State == b.State && a.Time.Equal(b.Time) && a.NotBefore.Sub(b.NotBefore).Abs() < time.Microsecond && a.Source == b.Source
			}) {
				t.Errorf("mergeStates:\n got %s\nwant %s", obsString(got, base), obsString(want, base))
			}
			if all := strings.Join(notes, "; "); (tc.note == "") != (all == "") || !strings.Contains(all, tc.note) {
				t.Errorf("notes %q; want one saying %q", all, tc.note)
			}
		})
	}
}

func obsString(obs []Observation, base time.Time) string {
	var b strings.Builder
	for _, o := range obs {
		nb := "start"
		if !o.NotBefore.IsZero() {
			nb = o.NotBefore.Sub(base).String()
		}
		b.WriteString(" " + o.State + "(" + nb + ", " + o.Time.Sub(base).String() + "] " + o.Source + ";")
	}
	return b.String()
}
