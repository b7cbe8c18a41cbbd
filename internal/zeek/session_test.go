package zeek

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// track runs a testcap script through a Tracker and describes each
// connection Zeek would log, in the order Zeek lets go of them: its
// originator's port, start, last time (seconds from the script's t=0),
// conn_state and history.
func track(t *testing.T, script string) []string {
	t.Helper()
	var rows []string
	tr := NewTracker(func(s *Session) {
		rows = append(rows, fmt.Sprintf("%d %g-%g %s %s", s.Orig.Port(),
			float64(s.Start-testcap.Start)/1e9, float64(s.Last-testcap.Start)/1e9, s.History.State(), s.History.String()))
	})
	for _, f := range testcap.Build(script) {
		var s wire.Segment
		if err := wire.Decode(&f, &s); err != nil {
			t.Fatalf("frame %d: %v", f.Number, err)
		}
		tr.Segment(&s, f.Time)
	}
	tr.Close()
	return rows
}

// Zeek's connection boundaries: each case is a rule of its session
// manager and TCP analyzer (TCPSessionAdapter's IsReuse and timers).
func TestTrackerBoundaries(t *testing.T) {
	const closed = `
		t=0     c>s S  seq=0
		t=0.01  s>c S. seq=0 ack=1
		t=0.02  c>s .  seq=1 ack=1
		t=0.03  c>s F. seq=1 ack=1
		t=0.04  s>c F. seq=1 ack=2
		t=0.05  c>s .  seq=2 ack=2
	`
	for _, tc := range []struct {
		name, script string
		want         []string
	}{
		{
			name:   "a whole connection: the last ACK after both FINs is not in its duration",
			script: closed,
			want:   []string{"40000 0-0.04 SF ShAFf"},
		},
		{
			name:   "a SYN after both closed starts a new connection, even with the same ISN",
			script: closed + "t=1 c>s S seq=0",
			want:   []string{"40000 0-0.04 SF ShAFf", "40000 1-1 S0 S"},
		},
		{
			name:   "a retransmitted SYN (the same ISN) is the same attempt",
			script: "t=0 c>s S seq=0\nt=1 c>s S seq=0\nt=3 c>s S seq=0",
			want:   []string{"40000 0-3 S0 S"},
		},
		{
			name:   "a SYN with a new ISN while open starts a new connection",
			script: "t=0 c>s S seq=0\nt=0.01 s>c S. seq=0 ack=1\nt=0.02 c>s . seq=1 ack=1\nt=1 c>s S seq=0 isn=5000000",
			want:   []string{"40000 0-0.02 S1 ShA", "40000 1-1 S0 S"},
		},
		{
			name:   "a SYN after a reset starts a new row",
			script: "t=0 c>s S seq=0\nt=0.01 s>c R. seq=0 ack=1\nt=1 c>s S seq=0",
			want:   []string{"40000 0-0.01 REJ Sr", "40000 1-1 S0 S"},
		},
		{
			name: "an attempt unanswered for tcp_attempt_delay (5 s) is let go",
			// The SYN 6 s later has the same ISN, a retransmission Zeek
			// no longer connects with the first.
			script: "t=0 c>s S seq=0\nt=6 c>s S seq=0",
			want:   []string{"40000 0-0 S0 S", "40000 6-6 S0 S"},
		},
		{
			name:   "a closed connection is deleted tcp_close_delay (5 s) after its last time",
			script: closed + "t=5.1 c>s . seq=2 ack=2",
			want:   []string{"40000 0-0.04 SF ShAFf", "40000 5.1-5.1 OTH A"},
		},
		{
			name:   "a packet before the delete is still the closed connection's",
			script: closed + "t=5.0 c>s . seq=2 ack=2",
			want:   []string{"40000 0-0.04 SF ShAFf"},
		},
		{
			name:   "an established connection idle for tcp_inactivity_timeout (5 min) is let go",
			script: "t=0 c>s S seq=0\nt=0.01 s>c S. seq=0 ack=1\nt=0.02 c>s . seq=1 ack=1\nt=301 c>s P. seq=1 ack=1 len=10",
			want:   []string{"40000 0-0.02 S1 ShA", "40000 301-301 OTH D"},
		},
		{
			name:   "idle less than that, it stays one connection",
			script: "t=0 c>s S seq=0\nt=0.01 s>c S. seq=0 ack=1\nt=0.02 c>s . seq=1 ack=1\nt=299 c>s P. seq=1 ack=1 len=10",
			want:   []string{"40000 0-299 S1 ShAD"},
		},
		{
			name: "mid-stream data from a server's port: the receiver originates",
			// Zeek takes 80 for a likely server port and flips the roles.
			script: "t=0 s>c P. seq=1 ack=1 len=10\nt=0.01 c>s . seq=1 ack=11",
			want:   []string{"40000 0-0.01 OTH ^dA"},
		},
		{
			name:   "a SYN-ACK first, from a server's port: flipped, the SYN missed",
			script: "t=0 s>c S. seq=0 ack=1\nt=0.01 c>s . seq=1 ack=1",
			want:   []string{"40000 0-0.01 S1 ^hA"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := track(t, tc.script)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("connections:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestTrackerEndOfTime: a timestamp at the end of pcap.Time's range (the
// reader saturates those outside it) arms timers that cannot come due
// later; Advance must not fire them for ever.
func TestTrackerEndOfTime(t *testing.T) {
	var n int
	tr := NewTracker(func(*Session) { n++ })
	frames := testcap.Build("t=0 c>s S seq=0\nt=0.01 s>c S. seq=0 ack=1\nt=0.02 c>s . seq=1 ack=1")
	for i, f := range frames {
		var s wire.Segment
		if err := wire.Decode(&f, &s); err != nil {
			t.Fatal(err)
		}
		tr.Segment(&s, pcap.Time(math.MaxInt64-int64(len(frames)-1-i)))
	}
	tr.Advance(pcap.Time(math.MaxInt64))
	tr.Close()
	if n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}
