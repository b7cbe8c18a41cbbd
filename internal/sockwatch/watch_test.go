package sockwatch

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/sockdiag"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// sock builds a socket from "STATE local peer", e.g.
// "ESTABLISHED 127.0.0.1:9999 127.0.0.1:40000".
func sock(desc string) sockdiag.Socket {
	f := strings.Fields(desc)
	var s sockdiag.Socket
	for _, st := range sockdiag.States {
		if st.String() == f[0] {
			s.State = st
		}
	}
	s.Local = netip.MustParseAddrPort(f[1])
	s.Peer = netip.MustParseAddrPort(f[2])
	return s
}

func snapAt(sec float64, socks ...sockdiag.Socket) *sockdiag.Snapshot {
	return &sockdiag.Snapshot{Time: t0.Add(time.Duration(sec * float64(time.Second))), Sockets: socks}
}

func fmtTransitions(ts []Transition) []string {
	var out []string
	for _, t := range ts {
		from, to := t.From.String(), t.To.String()
		if t.Kind == New || t.Kind == Seen {
			from = t.Kind.String()
		}
		if t.Kind == Gone {
			to = "gone"
		}
		out = append(out, fmt.Sprintf("%.1f %v %v %s -> %s", t.Time.Sub(t0).Seconds(), t.Key.Local, t.Key.Peer, from, to))
	}
	return out
}

const (
	srv = "127.0.0.1:9999"
	cli = "127.0.0.1:40000"
	any = "0.0.0.0:0"
)

// TestCloseOrders replays the seeds' two close orders as successive
// snapshots, as ss would show them every 100 ms.
func TestCloseOrders(t *testing.T) {
	listen := sock("LISTEN " + srv + " " + any)
	tests := []struct {
		name  string
		snaps [][]string // per snapshot: the sockets other than the listener
		want  []string
	}{
		{
			name: "client closes first",
			snaps: [][]string{
				{},
				{"ESTABLISHED " + srv + " " + cli, "ESTABLISHED " + cli + " " + srv},
				{"CLOSE_WAIT " + srv + " " + cli, "FIN_WAIT2 " + cli + " " + srv},
				{"LAST_ACK " + srv + " " + cli, "TIME_WAIT " + cli + " " + srv},
				{"TIME_WAIT " + cli + " " + srv},
			},
			want: []string{
				"0.0 127.0.0.1:9999 0.0.0.0:0 seen -> LISTEN",
				"0.1 127.0.0.1:9999 127.0.0.1:40000 new -> ESTABLISHED",
				"0.1 127.0.0.1:40000 127.0.0.1:9999 new -> ESTABLISHED",
				"0.2 127.0.0.1:9999 127.0.0.1:40000 ESTABLISHED -> CLOSE_WAIT",
				"0.2 127.0.0.1:40000 127.0.0.1:9999 ESTABLISHED -> FIN_WAIT2",
				"0.3 127.0.0.1:9999 127.0.0.1:40000 CLOSE_WAIT -> LAST_ACK",
				"0.3 127.0.0.1:40000 127.0.0.1:9999 FIN_WAIT2 -> TIME_WAIT",
				"0.4 127.0.0.1:9999 127.0.0.1:40000 LAST_ACK -> gone",
			},
		},
		{
			name: "server closes first",
			snaps: [][]string{
				{"ESTABLISHED " + srv + " " + cli},
				{"FIN_WAIT1 " + srv + " " + cli},
				{"FIN_WAIT2 " + srv + " " + cli},
				{"TIME_WAIT " + srv + " " + cli},
			},
			want: []string{
				"0.0 127.0.0.1:9999 0.0.0.0:0 seen -> LISTEN",
				"0.0 127.0.0.1:9999 127.0.0.1:40000 seen -> ESTABLISHED",
				"0.1 127.0.0.1:9999 127.0.0.1:40000 ESTABLISHED -> FIN_WAIT1",
				"0.2 127.0.0.1:9999 127.0.0.1:40000 FIN_WAIT1 -> FIN_WAIT2",
				"0.3 127.0.0.1:9999 127.0.0.1:40000 FIN_WAIT2 -> TIME_WAIT",
			},
		},
		{
			name: "a state shorter than the interval is not seen",
			snaps: [][]string{
				{"CLOSE_WAIT " + srv + " " + cli},
				{},
			},
			want: []string{
				"0.0 127.0.0.1:9999 0.0.0.0:0 seen -> LISTEN",
				"0.0 127.0.0.1:9999 127.0.0.1:40000 seen -> CLOSE_WAIT",
				"0.1 127.0.0.1:9999 127.0.0.1:40000 CLOSE_WAIT -> gone",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr Tracker
			var got []Transition
			for i, descs := range tc.snaps {
				socks := []sockdiag.Socket{listen}
				for _, d := range descs {
					socks = append(socks, sock(d))
				}
				got = tr.Update(snapAt(float64(i)/10, socks...), nil, got)
			}
			got = tr.Flush(got)
			if g, w := strings.Join(fmtTransitions(got), "\n"), strings.Join(tc.want, "\n"); g != w {
				t.Errorf("transitions:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

func TestReusedTuple(t *testing.T) {
	var tr Tracker
	tw := sock("TIME_WAIT " + cli + " " + srv)
	tw.Cookie = 7
	reused := sock("SYN_SENT " + cli + " " + srv)
	reused.Cookie = 9
	got := tr.Update(snapAt(0, tw), nil, nil)
	got = tr.Update(snapAt(1, reused), nil, got)
	want := "0.0 127.0.0.1:40000 127.0.0.1:9999 seen -> TIME_WAIT\n" +
		"1.0 127.0.0.1:40000 127.0.0.1:9999 TIME_WAIT -> gone\n" +
		"1.0 127.0.0.1:40000 127.0.0.1:9999 new -> SYN_SENT"
	if g := strings.Join(fmtTransitions(got), "\n"); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}

	// A request socket becoming a full socket changes cookie, not identity.
	tr = Tracker{}
	req := sock("SYN_RECV " + srv + " " + cli)
	req.Cookie, req.Request = 3, true
	child := sock("ESTABLISHED " + srv + " " + cli)
	child.Cookie = 4
	got = tr.Update(snapAt(0, req), nil, nil)
	got = tr.Update(snapAt(1, child), nil, got)
	want = "0.0 127.0.0.1:9999 127.0.0.1:40000 seen -> SYN_RECV\n" +
		"1.0 127.0.0.1:9999 127.0.0.1:40000 SYN_RECV -> ESTABLISHED"
	if g := strings.Join(fmtTransitions(got), "\n"); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}
}

func TestAge(t *testing.T) {
	var tr Tracker
	est := sock("ESTABLISHED " + srv + " " + cli)
	cw := sock("CLOSE_WAIT " + srv + " " + cli)
	tr.Update(snapAt(0, est), nil, nil)
	tr.Update(snapAt(1, cw), nil, nil)
	tr.Update(snapAt(31, cw), nil, nil)
	if age, observed := tr.Age(KeyOf(&cw)); age != 30*time.Second || !observed {
		t.Errorf("Age = %v %v, want 30s observed", age, observed)
	}
	other := Tracker{}
	other.Update(snapAt(0, cw), nil, nil)
	other.Update(snapAt(5, cw), nil, nil)
	if age, observed := other.Age(KeyOf(&cw)); age != 5*time.Second || observed {
		t.Errorf("Age = %v %v, want 5s, not observed", age, observed)
	}
}

func TestFilterKeepsTracking(t *testing.T) {
	var tr Tracker
	f, err := ParseFilter([]string{"sport", "=", ":9999"})
	if err != nil {
		t.Fatal(err)
	}
	got := tr.Update(snapAt(0, sock("ESTABLISHED "+srv+" "+cli), sock("ESTABLISHED "+cli+" "+srv)), f.Match, nil)
	if len(got) != 1 || got[0].Key.Local.Port() != 9999 {
		t.Errorf("filter kept %v", fmtTransitions(got))
	}
}

// TestMissingFromOneDump: a socket absent from one snapshot and back in the
// next (the kernel replaced it while the dump went by) is the same socket
// with a new state, not one gone and one new; absent from two, it is gone
// since the first; back with another cookie, it is another socket.
func TestMissingFromOneDump(t *testing.T) {
	orphan := sock("FIN_WAIT1 " + srv + " " + cli)
	orphan.Cookie = 5
	fw2 := sock("FIN_WAIT2 " + srv + " " + cli)
	fw2.Cookie = 5
	est := sock("ESTABLISHED " + cli + " " + srv)
	est.Cookie = 6
	other := sock("SYN_SENT " + cli + " " + srv)
	other.Cookie = 8
	var tr Tracker
	got := tr.Update(snapAt(0, orphan, est), nil, nil)
	got = tr.Update(snapAt(0.1), nil, got)             // both missing
	got = tr.Update(snapAt(0.2, fw2, other), nil, got) // one back, one replaced
	got = tr.Update(snapAt(0.3, fw2), nil, got)        // other missing
	got = tr.Update(snapAt(0.4, fw2), nil, got)        // and gone
	want := "0.0 127.0.0.1:9999 127.0.0.1:40000 seen -> FIN_WAIT1\n" +
		"0.0 127.0.0.1:40000 127.0.0.1:9999 seen -> ESTABLISHED\n" +
		"0.2 127.0.0.1:9999 127.0.0.1:40000 FIN_WAIT1 -> FIN_WAIT2\n" +
		"0.1 127.0.0.1:40000 127.0.0.1:9999 ESTABLISHED -> gone\n" +
		"0.2 127.0.0.1:40000 127.0.0.1:9999 new -> SYN_SENT\n" +
		"0.3 127.0.0.1:40000 127.0.0.1:9999 SYN_SENT -> gone"
	if g := strings.Join(fmtTransitions(got), "\n"); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}
	if got := tr.Flush(nil); len(got) != 0 {
		t.Errorf("Flush after a snapshot that missed nothing: %v", fmtTransitions(got))
	}
	got = tr.Update(snapAt(0.5), nil, nil)
	got = tr.Flush(got)
	if g, w := strings.Join(fmtTransitions(got), "\n"), "0.5 127.0.0.1:9999 127.0.0.1:40000 FIN_WAIT2 -> gone"; g != w {
		t.Errorf("Flush: got %q, want %q", g, w)
	}
}
