package tcp_test

import (
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/testcap"
)

// TestReasons checks that a transition's reason says what the capture
// shows about it, in the situations of the kernel-truth scenarios where
// a generic reason would be vague: Fast Open, a server that closes before
// saying anything, a refused connection, TIME_WAIT's length, a SYN sent
// again, an RST that aborts and one after the close.
func TestReasons(t *testing.T) {
	const tfoHandshake = `
t=0      c>s S  seq=0 win=64240 mss=1460 tfo=0102030405060708 len=100
t=0.010  s>c S. seq=0 ack=101 win=65160 mss=1460
t=0.010  c>s .  seq=101 ack=1 win=502
`
	for _, tc := range []struct {
		name   string
		script string
		frame  int
		move   string // the transition: "client ESTABLISHED"
		says   []string
	}{
		{"TFOCookieRequest", `
t=0      c>s S  seq=0 win=64240 tfo=
`, 1, "client SYN_SENT", []string{"asking for a Fast Open cookie"}},
		{"TFOCookieGiven", `
t=0      c>s S  seq=0 win=64240 tfo=
t=0.010  s>c S. seq=0 ack=1 win=65160 tfo=0102030405060708
`, 2, "client ESTABLISHED", []string{"Fast Open cookie (8 bytes) for later connections"}},
		{"TFODataOnSYN", tfoHandshake, 1, "client SYN_SENT", []string{"Fast Open cookie and 100 bytes of data"}},
		{"TFODataArrives", tfoHandshake, 1, "server SYN_RECV", []string{"carrying 100 bytes and a Fast Open cookie", "before the handshake completes"}},
		{"TFODataAccepted", tfoHandshake, 2, "client ESTABLISHED", []string{"and the 100 bytes on it", "accepted the Fast Open cookie"}},
		{"TFOServerHadItSinceSYN", tfoHandshake, 3, "server ESTABLISHED", []string{"since the SYN"}},
		{"TFODataRefused", `
t=0      c>s S  seq=0 win=64240 tfo=0102030405060708 len=100
t=0.010  s>c S. seq=0 ack=1 win=65160
`, 2, "client ESTABLISHED", []string{"not the 100 bytes on it", "sends them again"}},
		{"AcceptThenClose", handshake + `
t=0.031  s>c F. seq=1 ack=1 ts=501,101
`, 4, "server FIN_WAIT1", []string{"without having sent any data", "accepted the connection and closed it"}},
		{"ClientClosesUnused", handshake + `
t=0.031  c>s F. seq=1 ack=1 ts=102,500
`, 4, "client FIN_WAIT1", []string{"without having sent any data", "unused"}},
		{"ClosesAfterData", handshake + `
t=0.031  c>s P. seq=1 ack=1 len=100 ts=102,500
t=0.032  c>s F. seq=101 ack=1 ts=103,500
`, 5, "client FIN_WAIT1", []string{"its application closed the socket"}},
		{"Refused", `
t=0      c>s S  seq=0 win=64240
t=0.001  s>c R. seq=0 ack=1 win=0
`, 2, "client CLOSED", []string{"ECONNREFUSED"}},
		{"TimeWaitFromFinWait2", handshake + `
t=1.000  c>s F. seq=1 ack=1 ts=200,500
t=1.030  s>c .  seq=1 ack=2 ts=530,200
t=1.300  s>c F. seq=1 ack=2 ts=800,200
`, 6, "client TIME_WAIT", []string{"Linux holds it 60 s", "2×MSL"}},
		{"TimeWaitFromFinWait1", handshake + `
t=1.000  c>s F. seq=1 ack=1 ts=200,500
t=1.030  s>c F. seq=1 ack=2 ts=530,200
`, 5, "client TIME_WAIT", []string{"with the ACK of its own", "Linux holds it 60 s", "2×MSL"}},
		{"TimeWaitFromClosing", handshake + `
t=1.000  c>s F. seq=1 ack=1 ts=200,500
t=1.001  s>c F. seq=1 ack=1 ts=600,101
t=1.030  s>c .  seq=2 ack=2 ts=601,200
`, 6, "client TIME_WAIT", []string{"simultaneous close", "Linux holds it 60 s", "2×MSL"}},
		{"SYNAgainNamesThePreviousOne", `
t=0      c>s S  seq=0 win=64240
t=1      c>s S  seq=0 win=64240
t=3      c>s S  seq=0 win=64240
`, 3, "server LISTEN", []string{"the SYN of frame 2 did not arrive"}},
		{"AbortiveClose", handshake + `
t=0.031  c>s P. seq=1 ack=1 len=100 ts=102,500
t=0.061  s>c .  seq=1 ack=101 ts=530,102
t=0.090  s>c R. seq=1 ack=101 win=0
`, 6, "server CLOSED", []string{"abortive close", "unread data", "SO_LINGER 0"}},
		{"RSTFromNoSocket", handshake + `
t=0.050  s>c R. seq=1 ack=1 win=0
t=0.150  c>s P. seq=1 ack=1 len=100 ts=200,500
t=0.150  s>c R  seq=1 win=0
`, 6, "client CLOSED", []string{"from a peer that had closed the connection at frame 4", "no socket owns"}},
		{"RSTAfterClose", handshake + `
t=1.000  c>s F. seq=1 ack=1 ts=200,500
t=1.030  s>c .  seq=1 ack=2 ts=530,200
t=1.100  c>s R  seq=2 win=0
`, 6, "client CLOSED", []string{"in FIN_WAIT2, after its application had closed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			moves := transitions(tc.script)
			if tc.frame > len(moves) {
				t.Fatalf("%d frames, want frame %d", len(moves), tc.frame)
			}
			var reason string
			found := false
			for _, m := range moves[tc.frame-1] {
				if m.to == tc.move {
					reason, found = m.reason, true
				}
			}
			if !found {
				t.Fatalf("frame %d moved %s, want %s", tc.frame, movedTo(moves[tc.frame-1]), tc.move)
			}
			for _, want := range tc.says {
				if !strings.Contains(reason, want) {
					t.Errorf("frame %d, %s: reason %q does not say %q", tc.frame, tc.move, reason, want)
				}
			}
		})
	}
}

// TestReasonFINAgain checks the reason of a move made again on a FIN sent
// again: the words of the first move, after what brought it again.
func TestReasonFINAgain(t *testing.T) {
	moves := transitions(handshake + `
t=1.000  c>s F. seq=1 ack=1 ts=200,500
t=1.300  c>s F. seq=1 ack=1 ts=230,500
`)
	const want = "received the retransmitted FIN: received FIN seq=1000001: the peer finished sending; it waits in CLOSE_WAIT until its application closes"
	for _, m := range moves[4] {
		if m.to == "server CLOSE_WAIT" {
			if m.reason != want {
				t.Errorf("frame 5, server CLOSE_WAIT: reason %q, want %q", m.reason, want)
			}
			return
		}
	}
	t.Fatalf("frame 5 moved %s, want server CLOSE_WAIT", movedTo(moves[4]))
}

// TestReasonCost checks what a reason costs: every transition of every
// connection has one and few are read, so one that names no number is
// said without allocating.
func TestReasonCost(t *testing.T) {
	var reasons []tcp.Reason
	a := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		for _, ch := range s.Result.Changes {
			reasons = append(reasons, ch.Reason)
		}
	}, nil)
	frames := testcap.Build(`
t=0      c>s S  seq=0 win=64240
`)
	for i := range frames {
		a.Add(&frames[i])
	}
	a.Close()
	// The client's SYN_SENT names its ISN; the server's LISTEN, next,
	// names nothing.
	if len(reasons) < 2 || !strings.Contains(reasons[1].String(), "assumed listening") {
		t.Fatalf("reasons %q, want the server assumed listening second", reasons)
	}
	if n := testing.AllocsPerRun(100, func() { _ = reasons[1].String() }); n != 0 {
		t.Errorf("%q costs %v allocations, want 0", reasons[1], n)
	}
}
