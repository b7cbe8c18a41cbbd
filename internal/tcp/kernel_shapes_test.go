package tcp_test

import (
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/testcap"
)

// TestKernelShapes covers the inferences that the Linux kernel's own
// states (internal/netlab's recorded runs) showed wrong: mostly a state
// tcplens assumed when a segment went by, which a later segment from the
// same endpoint contradicts. Each case is the shape of one recorded run.
// corrections lists, per 1-based frame, how many corrections that frame
// must make (frames not listed must make none); through lists, per frame,
// every state it moved an endpoint into, in order ("client FIN_WAIT2").
func TestKernelShapes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		script      string
		want        []step
		corrections map[int]int
		through     map[int]string
	}{{
		// simultaneous-open: the server was assumed listening when the
		// client's SYN went by, but it sends a bare SYN of its own.
		name: "SynReceivedSendsSYN",
		script: `
t=0      c>s S  seq=0 win=64240
t=0.020  s>c S  seq=0 win=64240
t=0.020  c>s S. seq=0 ack=1 win=64240
t=0.040  s>c S. seq=0 ack=1 win=64240
`,
		want: []step{
			{"SYN_SENT", "SYN_RECV", ""},
			{"SYN_RECV", "SYN_RECV", ""}, // through SYN_SENT: the SYNs crossed
			{"SYN_RECV", "ESTABLISHED", ""},
			{"ESTABLISHED", "ESTABLISHED", ""},
		},
		corrections: map[int]int{2: 1},
		through:     map[int]string{2: "server SYN_SENT, server SYN_RECV, client SYN_RECV"},
	}, {
		// lost-handshake-ack: the ACK was captured, then lost; the
		// server's SYN-ACK timer says it never had it.
		name: "EstablishedSendsSYNACKAgain",
		script: handshake + `
t=1.030  s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ts=1500,100
t=1.030  c>s .  seq=1 ack=1 win=502 ts=1101,1500
t=1.040  s>c P. seq=1 ack=1 len=50 ts=1510,1101
`,
		want: []step{{}, {}, {"ESTABLISHED", "ESTABLISHED", ""},
			{"ESTABLISHED", "SYN_RECV", "synack_retransmission"},
			{"ESTABLISHED", "ESTABLISHED", ""},
			{"ESTABLISHED", "ESTABLISHED", ""},
		},
		corrections: map[int]int{4: 1},
	}, {
		// A SYN-ACK with a new ISN is another connection's (reused
		// ports), not a resend: the handshake stands.
		name: "EstablishedSeesSYNACKWithNewISN",
		script: handshake + `
t=1.030  s>c S. seq=0 isn=9000000 ack=1 win=65160
`,
		want: []step{{}, {}, {},
			{"ESTABLISHED", "ESTABLISHED", "reused_ports"},
		},
	}, {
		// simultaneous-close: the client's FIN was captured first, but
		// the server's FIN does not acknowledge it, so the server closed
		// from ESTABLISHED and both go through CLOSING to TIME_WAIT.
		name: "CloseWaitSendsFINNotAckingPeerFIN",
		script: handshake + `
t=1.000  c>s F. seq=1 ack=1 ts=200,500
t=1.020  s>c F. seq=1 ack=1 ts=600,101
t=1.020  c>s .  seq=2 ack=2 ts=201,600
t=1.040  s>c .  seq=2 ack=2 ts=620,200
`,
		want: []step{{}, {}, {},
			{"FIN_WAIT1", "CLOSE_WAIT", ""},
			{"CLOSING", "CLOSING", ""},
			{"CLOSING", "TIME_WAIT", ""},
			{"TIME_WAIT", "TIME_WAIT", ""},
		},
		corrections: map[int]int{5: 1},
		through:     map[int]string{5: "server ESTABLISHED, server FIN_WAIT1, server CLOSING, client CLOSING"},
	}, {
		// The ordinary close: the server's FIN acknowledges the client's.
		// Its ACK takes the client to FIN_WAIT2 before its FIN takes it
		// to TIME_WAIT (RFC 9293 3.10.7.4), and a poll of the kernel's
		// socket table can catch the moment between.
		name: "CloseWaitSendsFINAckingPeerFIN",
		script: handshake + `
t=1.000  c>s F. seq=1 ack=1 ts=200,500
t=1.030  s>c F. seq=1 ack=2 ts=600,200
t=1.031  c>s .  seq=2 ack=2 ts=201,600
`,
		want: []step{{}, {}, {},
			{"FIN_WAIT1", "CLOSE_WAIT", ""},
			{"TIME_WAIT", "LAST_ACK", ""},
			{"TIME_WAIT", "CLOSED", ""},
		},
		through: map[int]string{5: "server LAST_ACK, client FIN_WAIT2, client TIME_WAIT"},
	}, {
		// synack-client-gave-up: the client closed its socket while its
		// SYN was unanswered; the resent SYN-ACK finds no socket and
		// draws a bare RST, so it was never ESTABLISHED.
		name: "SynSentAnswersSYNACKWithBareRST",
		script: `
t=0      c>s S  seq=0 win=64240
t=0.001  s>c S. seq=0 ack=1 win=65160
t=1.001  s>c S. seq=0 ack=1 win=65160
t=1.011  c>s R  seq=1 win=0
`,
		want: []step{
			{"SYN_SENT", "SYN_RECV", ""},
			{"ESTABLISHED", "SYN_RECV", ""},
			{"ESTABLISHED", "SYN_RECV", "synack_retransmission"},
			{"CLOSED", "CLOSED", ""},
		},
		corrections: map[int]int{3: 1, 4: 1},
	}, {
		// rst-no-socket: the server's RST was captured, then lost; the
		// client sends again, which a reset socket never does, and the
		// server's host, with no socket left, answers with a bare RST.
		name: "ClosedByRSTSends",
		script: handshake + `
t=0.031  c>s P. seq=1 ack=1 len=100 ts=102,500
t=0.032  s>c .  seq=1 ack=101 ts=502,102
t=0.050  s>c R. seq=1 ack=101 win=0
t=0.150  c>s P. seq=101 ack=1 len=100 ts=200,502
t=0.150  s>c R  seq=1 win=0
`,
		want: []step{{}, {}, {}, {}, {},
			{"CLOSED", "CLOSED", ""},
			{"ESTABLISHED", "CLOSED", ""},
			{"CLOSED", "CLOSED", ""},
		},
		corrections: map[int]int{7: 1},
	}, {
		// rst-no-socket seen from the client: the server's RST never
		// reaches the capture; its bare RST answering the client's data
		// says it had no socket, so it had left before, unseen.
		name: "EstablishedAnswersDataWithBareRST",
		script: handshake + `
t=0.031  c>s P. seq=1 ack=1 len=100 ts=102,500
t=0.032  s>c P. seq=1 ack=101 len=200 ts=502,102
t=0.150  c>s P. seq=101 ack=201 len=100 ts=200,502
t=0.155  s>c R  seq=201 win=0
`,
		want: []step{{}, {}, {}, {}, {}, {},
			{"CLOSED", "CLOSED", ""},
		},
		corrections: map[int]int{7: 1},
		through:     map[int]string{7: "server CLOSED, client CLOSED"},
	}, {
		// syn-cookies: the SYN-ACK is never resent, and the handshake's
		// ACK comes 3.5 s later: the server had kept no SYN_RECV socket,
		// and the cookie makes the connection when the ACK arrives.
		name: "SynReceivedGetsACKAfterCookie",
		script: `
t=0      c>s S  seq=0 win=64240 mss=1460 ws=7 sackok
t=0.010  s>c S. seq=0 ack=1 win=65160 mss=1460
t=3.510  c>s P. seq=1 ack=1 len=100
`,
		want: []step{
			{"SYN_SENT", "SYN_RECV", ""},
			{"ESTABLISHED", "SYN_RECV", ""},
			{"ESTABLISHED", "ESTABLISHED", ""},
		},
		corrections: map[int]int{3: 1},
		through:     map[int]string{3: "server LISTEN, server SYN_RECV, server ESTABLISHED"},
	}, {
		// A SYN-ACK resent within its timer was from a SYN_RECV socket:
		// the late ACK finds it, no cookie.
		name: "SynReceivedGetsACKAfterSYNACKAgain",
		script: `
t=0      c>s S  seq=0 win=64240
t=0.010  s>c S. seq=0 ack=1 win=65160
t=1.010  s>c S. seq=0 ack=1 win=65160
t=3.510  c>s .  seq=1 ack=1
`,
		want: []step{
			{"SYN_SENT", "SYN_RECV", ""},
			{"ESTABLISHED", "SYN_RECV", ""},
			{"ESTABLISHED", "SYN_RECV", "synack_retransmission"},
			{"ESTABLISHED", "ESTABLISHED", ""},
		},
		corrections: map[int]int{3: 1}, // the client's: the first SYN-ACK did not reach it
	}, {
		// A server's bare RST after the handshake (Linux's answer when
		// its accept queue overflows with tcp_abort_on_overflow) is not
		// a client that had gone: no correction.
		name: "ServerSendsBareRSTAfterHandshake",
		script: handshake + `
t=0.031  s>c R  seq=1 win=0
`,
		want: []step{{}, {}, {},
			{"CLOSED", "CLOSED", ""},
		},
	}, {
		// After its ACK of the SYN-ACK, a bare RST is an abort like any
		// other: no correction.
		name: "EstablishedSendsBareRSTAfterAck",
		script: handshake + `
t=1.000  c>s R  seq=1 win=0
`,
		want: []step{{}, {}, {},
			{"CLOSED", "CLOSED", ""},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := run(t, tc.script)
			check(t, got, tc.want)
			for i, g := range got {
				if want := tc.corrections[i+1]; g.corrections != want {
					t.Errorf("frame %d: %d corrections, want %d", i+1, g.corrections, want)
				}
			}
			through := transitions(tc.script)
			for frame, want := range tc.through {
				if got := movedTo(through[frame-1]); got != want {
					t.Errorf("frame %d moved %s, want %s", frame, got, want)
				}
			}
		})
	}
}

// move is one transition a frame made: "client FIN_WAIT2" and its reason.
type move struct {
	to, reason string
}

// transitions lists, per frame, the transitions it made, in order.
func transitions(script string) [][]move {
	var out [][]move
	a := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		var moves []move
		for _, ch := range s.Result.Changes {
			who := "client"
			if (s.Dir == conn.ClientToServer) != ch.Sender {
				who = "server"
			}
			moves = append(moves, move{who + " " + ch.State.String(), ch.Reason.String()})
		}
		out = append(out, moves)
	}, nil)
	frames := testcap.Build(script)
	for i := range frames {
		a.Add(&frames[i])
	}
	a.Close()
	return out
}

// movedTo is the moves of a frame as "server LAST_ACK, client FIN_WAIT2".
func movedTo(moves []move) string {
	s := make([]string, len(moves))
	for i, m := range moves {
		s[i] = m.to
	}
	return strings.Join(s, ", ")
}
