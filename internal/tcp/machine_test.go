package tcp_test

import (
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/testcap"
)

// step is what a test expects after one frame: both states ("" to skip)
// and analysis kinds that must be present (and, with "-kind", absent).
type step struct {
	client, server string
	kinds          string // comma-separated, "-" prefix for must-not
}

// frameResult is what the analysis said of one frame.
type frameResult struct {
	client, server string
	kinds          event.Set
	corrections    int
	conn           int
}

func run(t *testing.T, script string) ([]frameResult, []analyze.Summary) {
	t.Helper()
	var out []frameResult
	sums := analyseScript(script, func(s *analyze.Segment) {
		r := frameResult{kinds: s.Result.Analysis}
		if s.Conn != nil {
			r.client = s.Conn.ClientEnd().State.String()
			r.server = s.Conn.ServerEnd().State.String()
			r.conn = s.Conn.ID
		}
		for _, ch := range s.Result.Changes {
			if ch.Correction {
				r.corrections++
			}
		}
		out = append(out, r)
	})
	return out, sums
}

// analyseScript runs the analysis over a testcap script, handing each
// segment to segment, and returns the summaries of its connections.
func analyseScript(script string, segment func(*analyze.Segment)) []analyze.Summary {
	var sums []analyze.Summary
	a := analyze.New(analyze.Options{}, segment, func(c *conn.Conn, why conn.EndReason) {
		sums = append(sums, analyze.Summarize(c, why))
	})
	frames := testcap.Build(script)
	for i := range frames {
		a.Add(&frames[i])
	}
	a.Close()
	return sums
}

func check(t *testing.T, got []frameResult, want []step) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames analysed, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if w.client != "" && g.client != w.client {
			t.Errorf("frame %d: client %s, want %s", i+1, g.client, w.client)
		}
		if w.server != "" && g.server != w.server {
			t.Errorf("frame %d: server %s, want %s", i+1, g.server, w.server)
		}
		for _, k := range strings.Split(w.kinds, ",") {
			k = strings.TrimSpace(k)
			if k == "" {
				continue
			}
			absent := strings.HasPrefix(k, "-")
			kind, ok := event.Parse(strings.TrimPrefix(k, "-"))
			if !ok {
				t.Fatalf("unknown kind %q", k)
			}
			if g.kinds.Has(kind) == absent {
				t.Errorf("frame %d: analysis %s, want %s", i+1, string(g.kinds.AppendNames(nil, ",")), k)
			}
		}
	}
}

const handshake = `
t=0      c>s S  seq=0 win=64240 mss=1460 ws=7 sackok ts=100,0
t=0.030  s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ts=500,100
t=0.030  c>s .  seq=1 ack=1 win=502 ts=101,500
`

func TestHandshakeCloseClientFirst(t *testing.T) {
	got, sums := run(t, handshake+`
t=0.031  c>s P. seq=1 ack=1 len=100 win=502 ts=102,500
t=0.061  s>c .  seq=1 ack=101 win=509 ts=530,102
t=0.062  c>s F. seq=101 ack=1 win=502 ts=103,530
t=0.092  s>c .  seq=1 ack=102 win=509 ts=560,103
t=0.093  s>c F. seq=1 ack=102 win=509 ts=561,103
t=0.123  c>s .  seq=102 ack=2 win=502 ts=133,561
`)
	check(t, got, []step{
		{"SYN_SENT", "SYN_RECV", ""},
		{"ESTABLISHED", "SYN_RECV", ""},
		{"ESTABLISHED", "ESTABLISHED", ""},
		{"ESTABLISHED", "ESTABLISHED", ""},
		{"ESTABLISHED", "ESTABLISHED", ""},
		{"FIN_WAIT1", "CLOSE_WAIT", ""},
		{"FIN_WAIT2", "CLOSE_WAIT", ""},
		{"TIME_WAIT", "LAST_ACK", ""},
		{"TIME_WAIT", "CLOSED", ""},
	})
	s := sums[0]
	if s.ClosedBy != "both" || s.FirstClosed != "client" || s.Close != "fin" {
		t.Errorf("closed_by %s first %s close %s, want both, client, fin", s.ClosedBy, s.FirstClosed, s.Close)
	}
	if s.ZeekState != "SF" || s.ZeekHistory != "ShADaFf" {
		t.Errorf("Zeek %s %s, want SF ShADaFf", s.ZeekState, s.ZeekHistory)
	}
	if s.HandshakeRTT.Milliseconds() != 30 {
		t.Errorf("handshake RTT %v, want 30ms", s.HandshakeRTT)
	}
	if !s.Negotiated.WindowScale || s.Negotiated.ShiftClient != 7 || !s.Negotiated.SACK || !s.Negotiated.Timestamps {
		t.Errorf("negotiated %+v", s.Negotiated)
	}
	if s.Vantage != analyze.VantageClient {
		t.Errorf("vantage %v, want client", s.Vantage)
	}
}

func TestSimultaneousClose(t *testing.T) {
	got, _ := run(t, handshake+`
t=1.000  c>s F. seq=1 ack=1 ts=200,500
t=1.001  s>c F. seq=1 ack=1 ts=600,101
t=1.030  s>c .  seq=2 ack=2 ts=601,200
t=1.031  c>s .  seq=2 ack=2 ts=201,600
`)
	check(t, got, []step{{}, {}, {},
		{"FIN_WAIT1", "CLOSE_WAIT", ""},
		// Each FIN reaches the other end before the ACK of its own: the
		// server's ack=1 shows it sent its FIN before the client's arrived.
		{"CLOSING", "CLOSING", ""},
		{"TIME_WAIT", "CLOSING", ""},
		{"TIME_WAIT", "TIME_WAIT", ""},
	})
}

func TestRefused(t *testing.T) {
	got, sums := run(t, `
t=0      c>s S  seq=0 win=64240 mss=1460
t=0.001  s>c R. seq=0 ack=1 win=0
`)
	check(t, got, []step{
		{"SYN_SENT", "SYN_RECV", ""},
		{"CLOSED", "CLOSED", ""},
	})
	if got[1].corrections == 0 {
		t.Errorf("the server's assumed SYN_RECV is not corrected")
	}
	if s := sums[0]; s.ZeekState != "REJ" || s.Close != "rst" || s.FirstClosed != "server" {
		t.Errorf("Zeek %s, close %s by %s; want REJ, rst by server", s.ZeekState, s.Close, s.FirstClosed)
	}
}

func TestLostSYN(t *testing.T) {
	got, _ := run(t, `
t=0      c>s S  seq=0 win=64240
t=1.000  c>s S  seq=0 win=64240
t=1.030  s>c S. seq=0 ack=1 win=65160
t=1.030  c>s .  seq=1 ack=1
`)
	check(t, got, []step{
		{"SYN_SENT", "SYN_RECV", ""},
		{"SYN_SENT", "SYN_RECV", "retransmission,syn_retransmission"},
		{"ESTABLISHED", "SYN_RECV", ""},
		{"ESTABLISHED", "ESTABLISHED", ""},
	})
	if got[1].corrections != 1 {
		t.Errorf("frame 2: %d corrections, want 1 (the first SYN did not arrive)", got[1].corrections)
	}
}

func TestLostFIN(t *testing.T) {
	got, _ := run(t, handshake+`
t=1.000  c>s F. seq=1 ack=1 ts=200,500
t=1.300  c>s F. seq=1 ack=1 ts=230,500
t=1.330  s>c .  seq=1 ack=2 ts=700,230
`)
	check(t, got, []step{{}, {}, {},
		{"FIN_WAIT1", "CLOSE_WAIT", ""},
		{"FIN_WAIT1", "CLOSE_WAIT", "retransmission,fin_retransmission"},
		{"FIN_WAIT2", "CLOSE_WAIT", ""},
	})
	if got[4].corrections != 1 {
		t.Errorf("frame 5: %d corrections, want 1 (the first FIN was never acknowledged)", got[4].corrections)
	}
}

func TestRSTChallenge(t *testing.T) {
	got, _ := run(t, handshake+`
t=1.000  s>c R  seq=5000 win=0
t=1.001  c>s .  seq=1 ack=1 win=502 ts=200,500
t=2.000  s>c R  seq=1 win=0
`)
	check(t, got, []step{{}, {}, {},
		{"ESTABLISHED", "CLOSED", ""}, // in the window but not RCV.NXT: the client stays
		{"ESTABLISHED", "CLOSED", "challenge_ack"},
		{"CLOSED", "CLOSED", ""}, // exactly RCV.NXT: reset
	})
}

func TestMidStream(t *testing.T) {
	got, sums := run(t, `
t=0      c>s P. seq=1 ack=1 len=100 win=502
t=0.030  s>c .  seq=1 ack=101 win=509
`)
	check(t, got, []step{
		{"ESTABLISHED", "ESTABLISHED", ""},
		{"ESTABLISHED", "ESTABLISHED", ""},
	})
	if s := sums[0]; !s.Client.MidStream || s.ZeekState != "OTH" || !s.RoleGuessed {
		t.Errorf("mid-stream %v, Zeek %s, guessed %v", s.Client.MidStream, s.ZeekState, s.RoleGuessed)
	}
}

func TestTimeWaitEnds(t *testing.T) {
	_, sums := run(t, handshake+`
t=1.000  c>s F. seq=1 ack=1 ts=200,500
t=1.030  s>c F. seq=1 ack=2 ts=700,200
t=1.031  c>s .  seq=2 ack=2 ts=201,700
t=70     s>c .  seq=2 ack=2 ts=900,201
`)
	s := sums[0]
	if s.Client.State.String() != "CLOSED" {
		t.Errorf("client %s after 69 s of TIME_WAIT, want CLOSED", s.Client.State)
	}
	last := s.Client.History[len(s.Client.History)-1]
	if !strings.Contains(last.Reason.String(), "60 s") {
		t.Errorf("the last transition says %q, want Linux's 60 s", last.Reason)
	}
}

func TestSimultaneousOpen(t *testing.T) {
	got, _ := run(t, `
t=0      c>s S  seq=0 win=64240
t=0.001  s>c S  seq=0 win=64240
t=0.030  c>s S. seq=0 ack=1 win=64240
t=0.031  s>c S. seq=0 ack=1 win=64240
`)
	check(t, got, []step{
		{"SYN_SENT", "", ""},
		{"SYN_RECV", "", ""},
		{"SYN_RECV", "", ""},
		{"ESTABLISHED", "ESTABLISHED", ""},
	})
}

func TestPortReuse(t *testing.T) {
	got, sums := run(t, handshake+`
t=1.000  c>s R. seq=1 ack=1
t=2.000  c>s S  seq=0 isn=7000000 win=64240
t=2.030  s>c S. seq=0 isn=8000000 ack=1 win=65160
`)
	if got[4].conn == got[0].conn {
		t.Errorf("the SYN with a new ISN stays in connection %d", got[0].conn)
	}
	if !got[4].kinds.Has(event.ReusedPorts) {
		t.Errorf("frame 5 lacks reused_ports")
	}
	if len(sums) != 2 || sums[1].Previous != sums[0].ID {
		t.Errorf("%d connections; the second's previous is %d", len(sums), sums[len(sums)-1].Previous)
	}
}

// A 100 ms path, a lost segment, three duplicate ACKs and the resend 40 ms
// after the last of them: a fast retransmission, which tshark's fixed
// 20 ms rule calls a plain retransmission.
func TestFastRetransmissionByRTT(t *testing.T) {
	got, sums := run(t, `
t=0      c>s S  seq=0 win=64240 ws=7 sackok
t=0.100  s>c S. seq=0 ack=1 win=65160 ws=7 sackok
t=0.100  c>s .  seq=1 ack=1 win=502
t=0.101  c>s .  seq=1 ack=1 len=1000 win=502
t=0.101  c>s .  seq=1001 ack=1 len=1000 win=502
t=0.102  c>s .  seq=2001 ack=1 len=1000 win=502
t=0.102  c>s .  seq=3001 ack=1 len=1000 win=502
t=0.102  c>s .  seq=4001 ack=1 len=1000 win=502
t=0.201  s>c .  seq=1 ack=1001 win=509
t=0.202  s>c .  seq=1 ack=1001 win=509 sack=2001-3001
t=0.202  s>c .  seq=1 ack=1001 win=509 sack=2001-4001
t=0.202  s>c .  seq=1 ack=1001 win=509 sack=2001-5001
t=0.242  c>s .  seq=1001 ack=1 len=1000 win=502
`)
	if !got[12].kinds.Has(event.FastRetransmission) || !got[12].kinds.Has(event.Retransmission) {
		t.Errorf("frame 13: %s, want fast_retransmission", string(got[12].kinds.AppendNames(nil, ",")))
	}
	if r := sums[0].Client.Retrans; r.Fast != 1 || r.Total != 1 {
		t.Errorf("client retransmissions %+v", r)
	}
}

// No duplicate ACK, nothing SACKed, and the resend 600 ms later on a 30 ms
// path: the retransmission timer fired.
func TestRTORetransmission(t *testing.T) {
	got, _ := run(t, handshake+`
t=0.100  c>s P. seq=1 ack=1 len=100 ts=110,500
t=0.130  s>c .  seq=1 ack=101 win=509 ts=540,110
t=0.200  c>s P. seq=101 ack=1 len=100 ts=120,540
t=0.800  c>s P. seq=101 ack=1 len=100 ts=180,540
`)
	if !got[6].kinds.Has(event.RTORetransmission) {
		t.Errorf("frame 7: %s, want rto_retransmission", string(got[6].kinds.AppendNames(nil, ",")))
	}
}

// Linux probes a zero window at SND.UNA-1 with no data; tshark calls it a
// keep-alive.
func TestPersistProbe(t *testing.T) {
	got, _ := run(t, handshake+`
t=0.100  c>s P. seq=1 ack=1 len=1000 ts=110,500
t=0.130  s>c .  seq=1 ack=1001 win=0 ts=540,110
t=0.530  c>s .  seq=1000 ack=1 ts=150,540
t=0.560  s>c .  seq=1 ack=1001 win=0 ts=580,150
t=1.360  c>s .  seq=1000 ack=1 ts=230,580
`)
	check(t, got, []step{{}, {}, {}, {},
		{"", "", "zero_window"},
		{"", "", "zero_window_probe,-keep_alive"},
		{"", "", "zero_window_probe_ack,-keep_alive_ack"},
		{"", "", "zero_window_probe"},
	})
}

func TestDuplicateFrame(t *testing.T) {
	frames := testcap.Build(handshake + `
t=0.100  c>s P. seq=1 ack=1 len=100 ts=110,500
`)
	dup := frames[3]
	dup.Number = 5
	dup.Time += 3000 // 3 µs later: captured on the way in and out
	frames = append(frames, dup)
	var kinds []event.Set
	a := analyze.New(analyze.Options{}, func(s *analyze.Segment) { kinds = append(kinds, s.Result.Analysis) }, nil)
	for i := range frames {
		a.Add(&frames[i])
	}
	if !kinds[4].Has(event.DuplicateFrame) || kinds[4].Has(event.Retransmission) {
		t.Errorf("frame 5: %s, want duplicate_frame and no retransmission", string(kinds[4].AppendNames(nil, ",")))
	}
}

func TestPAWS(t *testing.T) {
	got, _ := run(t, handshake+`
t=0.100  c>s P. seq=1 ack=1 len=100 ts=300,500
t=0.130  s>c .  seq=1 ack=101 ts=540,300
t=0.200  c>s P. seq=101 ack=1 len=100 ts=250,540
`)
	check(t, got, []step{{}, {}, {}, {}, {}, {"", "", "paws_reject"}})
}

// TestPAWSReordered: segments that come out of order, a later one (TSval
// 320) before an earlier one (310), are no PAWS case. The receiver takes
// TS.Recent only from segments in order (RFC 7323 4.3), and its ACKs
// show which: they still echo 300 when the earlier segment arrives. (On
// a capture of real traffic the old rule called 45 reordered segments
// PAWS drops though the receiver acknowledged each.)
func TestPAWSReordered(t *testing.T) {
	got, _ := run(t, handshake+`
t=0.100  c>s P. seq=1 ack=1 len=100 ts=300,500
t=0.130  s>c .  seq=1 ack=101 ts=540,300
t=0.140  c>s P. seq=201 ack=1 len=100 ts=320,540
t=0.141  s>c .  seq=1 ack=101 ts=541,300 sack=301-401
t=0.142  c>s P. seq=101 ack=1 len=100 ts=310,540
t=0.143  s>c .  seq=1 ack=301 ts=542,310
`)
	no := step{kinds: "-paws_reject"}
	check(t, got, []step{{}, {}, {}, no, {}, no, {}, no, {}})
}

func TestBadChecksum(t *testing.T) {
	got, sums := run(t, handshake+`
t=0.100  c>s P. seq=1 ack=1 len=100 ts=300,500 badsum
`)
	check(t, got, []step{{}, {}, {}, {"", "", "bad_checksum"}})
	// Zeek's history is Zeek's as it reads files, with checksums ignored
	// (zeek -C, see internal/conn/zeek.go): no C.
	if strings.Contains(sums[0].ZeekHistory, "C") {
		t.Errorf("Zeek history %s has C", sums[0].ZeekHistory)
	}
}

// Mid-stream, the server advertises a raw window of 100 while the client
// keeps 40,000 bytes in flight: the scale must be at least 9 (51,200).
func TestWindowScaleInferred(t *testing.T) {
	got, sums := run(t, `
t=0      s>c .  seq=1 ack=1 win=100
t=0.001  c>s .  seq=1 ack=1 len=10000 win=502
t=0.002  c>s .  seq=10001 ack=1 len=10000 win=502
t=0.003  c>s .  seq=20001 ack=1 len=10000 win=502
t=0.004  c>s .  seq=30001 ack=1 len=10000 win=502
`)
	if !got[4].kinds.Has(event.WindowScaleInferred) && !got[3].kinds.Has(event.WindowScaleInferred) {
		t.Errorf("no window_scale_inferred")
	}
	if s := sums[0]; s.Server.WindowShift != 9 || !s.Server.ShiftInferred {
		t.Errorf("server shift %d inferred %v, want 9 inferred", s.Server.WindowShift, s.Server.ShiftInferred)
	}
}
