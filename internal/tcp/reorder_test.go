package tcp_test

import (
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/tcp"
)

// lostFlight is a flight whose second segment (bytes 1001 to 2000) the
// capture missed, and the client's SACKs of the two after it.
const lostFlight = handshake + `
t=0.040  s>c . seq=1 ack=1 len=1000 ts=510,101
t=0.041  s>c . seq=2001 ack=1 len=1000 ts=511,101
t=0.041  c>s . seq=1 ack=1001 win=502 sack=2001-3001 ts=102,510
t=0.042  s>c . seq=3001 ack=1 len=1000 ts=511,101
t=0.042  c>s . seq=1 ack=1001 win=502 sack=2001-4001 ts=102,510
t=0.043  c>s . seq=1 ack=1001 win=502 sack=2001-4001 ts=103,510
`

// results analyses a script and keeps every frame's result and the
// summaries of its connections.
func results(t *testing.T, script string) ([]tcp.Result, []analyze.Summary) {
	t.Helper()
	var out []tcp.Result
	sums := analyseScript(script, func(s *analyze.Segment) {
		r := *s.Result
		r.Changes = nil
		out = append(out, r)
	})
	return out, sums
}

// TestLateOriginal: a segment that fills a hole (or repeats data) is a
// retransmission to tshark's rules; its sender's own clock (the TSval, or
// the IP ID of a sender that numbers its packets one by one) says whether
// it was sent before the segments above it that the capture saw first,
// which makes it an original the path delivered late. Frames are 1-based;
// the handshake is frames 1-3.
func TestLateOriginal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		frame  int       // the segment judged
		want   event.Set // of these kinds, exactly those present
		order  tcp.Order // its evidence
		check  event.Set // the kinds compared
	}{{
		// Frame 5 overtook frame 6 on the path (TSval 510 < 511): the
		// original, late. tshark calls it a fast retransmission (two
		// dup ACKs asked for it, within 20 ms).
		name: "TSvalOlder",
		script: lostFlight + `
t=0.043  s>c . seq=1001 ack=1 len=1000 ts=510,101
`,
		frame: 10,
		want:  1 << event.OutOfOrder,
		order: tcp.Order{Frame: 5, By: tcp.ClockTSVal, Own: 510, Theirs: 511},
		check: 1<<event.OutOfOrder | 1<<event.Retransmission | 1<<event.FastRetransmission,
	}, {
		// The resend answers the dup ACKs: its TSval is newer than the
		// segments above it, so it is what tshark says.
		name: "TSvalNewer",
		script: lostFlight + `
t=0.053  s>c . seq=1001 ack=1 len=1000 ts=521,103
`,
		frame: 10,
		want:  1<<event.Retransmission | 1<<event.FastRetransmission,
		check: 1<<event.OutOfOrder | 1<<event.Retransmission | 1<<event.FastRetransmission,
	}, {
		// A fast retransmission followed by new data that overtook it:
		// the new data's TSval is newer, but the segments above that
		// were sent before the resend (frame 5) are older, so the
		// resend is one.
		name: "ResendOvertakenByNewData",
		script: lostFlight + `
t=0.053  s>c . seq=4001 ack=1 len=1000 ts=522,103
t=0.053  s>c . seq=1001 ack=1 len=1000 ts=521,103
`,
		frame: 11,
		want:  1<<event.Retransmission | 1<<event.FastRetransmission,
		check: 1<<event.OutOfOrder | 1<<event.Retransmission | 1<<event.FastRetransmission,
	}, {
		// One clock tick holds both, and the IP ID (one by one) says the
		// resend came after the segments above it: tshark's analysis.
		name: "TSvalEqual",
		script: lostFlight + `
t=0.043  s>c . seq=1001 ack=1 len=1000 ts=511,101
`,
		frame: 10,
		want:  1<<event.Retransmission | 1<<event.FastRetransmission,
		check: 1<<event.OutOfOrder | 1<<event.Retransmission | 1<<event.FastRetransmission,
	}, {
		// One tick of the TSval holds them all; the IP IDs, one by one,
		// say frame 14 (506) left before frame 9 (507).
		name: "TSvalEqualIPIDOlder",
		script: handshake + `
t=0.040  s>c . seq=1 ack=1 len=1000 ts=510,101
t=0.040  s>c . seq=1001 ack=1 len=1000 ts=510,101
t=0.040  s>c . seq=2001 ack=1 len=1000 ts=510,101
t=0.040  s>c . seq=3001 ack=1 len=1000 ts=510,101
t=0.040  s>c . seq=4001 ack=1 len=1000 ts=510,101
t=0.041  s>c . seq=6001 ack=1 len=1000 ts=510,101 ipid=507
t=0.041  c>s . seq=1 ack=5001 win=502 sack=6001-7001 ts=102,510
t=0.042  s>c . seq=7001 ack=1 len=1000 ts=510,101
t=0.042  c>s . seq=1 ack=5001 win=502 sack=6001-8001 ts=102,510
t=0.043  c>s . seq=1 ack=5001 win=502 sack=6001-8001 ts=103,510
t=0.043  s>c . seq=5001 ack=1 len=1000 ts=510,101 ipid=506
`,
		frame: 14,
		want:  1 << event.OutOfOrder,
		order: tcp.Order{Frame: 9, By: tcp.ClockIPID, Own: 506, Theirs: 507},
		check: 1<<event.OutOfOrder | 1<<event.Retransmission | 1<<event.FastRetransmission,
	}, {
		// Without timestamps, a sender that numbers its packets one by
		// one: the late segment's IP ID (504) is behind frame 10's.
		name: "IPIDOlder",
		script: `
t=0      c>s S  seq=0 win=64240 mss=1460 ws=7 sackok
t=0.030  s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ipid=500
t=0.030  c>s .  seq=1 ack=1 win=502
t=0.040  s>c . seq=1 ack=1 len=1000
t=0.040  s>c . seq=1001 ack=1 len=1000
t=0.040  s>c . seq=2001 ack=1 len=1000
t=0.040  s>c . seq=3001 ack=1 len=1000
t=0.041  s>c . seq=5001 ack=1 len=1000 ipid=505
t=0.041  c>s . seq=1 ack=4001 win=502 sack=5001-6001
t=0.042  s>c . seq=6001 ack=1 len=1000
t=0.042  c>s . seq=1 ack=4001 win=502 sack=5001-7001
t=0.043  c>s . seq=1 ack=4001 win=502 sack=5001-7001
t=0.043  s>c . seq=4001 ack=1 len=1000 ipid=504
`,
		frame: 13,
		want:  1 << event.OutOfOrder,
		order: tcp.Order{Frame: 8, By: tcp.ClockIPID, Own: 504, Theirs: 505},
		check: 1<<event.OutOfOrder | 1<<event.Retransmission | 1<<event.FastRetransmission,
	}, {
		// No timestamps, IP IDs that do not count one by one: the fill
		// came 1 ms after the first segment above it, less than half
		// the 30 ms handshake, sooner than any resend the segments above
		// it could have prompted.
		name: "RoundTrip",
		script: noClocks + `
t=0.041  s>c . seq=2001 ack=1 len=1000 ipid=9000
t=0.042  s>c . seq=1001 ack=1 len=1000 ipid=7
`,
		frame: 6,
		want:  1 << event.OutOfOrder,
		order: tcp.Order{Frame: 5, By: tcp.ClockRoundTrip, After: time.Millisecond, Floor: 15 * time.Millisecond},
		check: 1<<event.OutOfOrder | 1<<event.Retransmission,
	}, {
		// The same 40 ms later: a resend could have, and the analysis
		// is tshark's.
		name: "RoundTripLater",
		script: noClocks + `
t=0.041  s>c . seq=2001 ack=1 len=1000 ipid=9000
t=0.082  s>c . seq=1001 ack=1 len=1000 ipid=7
`,
		frame: 6,
		want:  1 << event.Retransmission,
		check: 1<<event.OutOfOrder | 1<<event.Retransmission,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rs, _ := results(t, tc.script)
			r := rs[tc.frame-1]
			if got := r.Analysis & tc.check; got != tc.want {
				t.Errorf("frame %d: %s, want %s", tc.frame, got.AppendNames(nil, ","), tc.want.AppendNames(nil, ","))
			}
			if r.SentBefore != tc.order {
				t.Errorf("frame %d: sent before %+v, want %+v", tc.frame, r.SentBefore, tc.order)
			}
			if tc.order.Frame != 0 && r.RetransFrame != 0 {
				t.Errorf("frame %d: names frame %d as its original", tc.frame, r.RetransFrame)
			}
		})
	}
}

// noClocks is a handshake without timestamps whose server's IP IDs jump
// about, and the server's first segment.
const noClocks = `
t=0      c>s S  seq=0 win=64240 mss=1460 ws=7 sackok
t=0.030  s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok ipid=4000
t=0.030  c>s .  seq=1 ack=1 win=502
t=0.040  s>c . seq=1 ack=1 len=1000 ipid=123
`

// TestDSACKUndoesFastRetransmission: next to the sender, the original
// went by in order and the path delayed it; three dup ACKs drew a fast
// retransmission; the original arrived, and the receiver reported the
// resend's bytes received twice (a D-SACK below its cumulative ACK). The
// resend was not needed: it counts as spurious, not fast.
func TestDSACKUndoesFastRetransmission(t *testing.T) {
	rs, sums := results(t, handshake+`
t=0.040  s>c . seq=1 ack=1 len=1000 ts=510,101
t=0.040  s>c . seq=1001 ack=1 len=1000 ts=510,101
t=0.040  s>c . seq=2001 ack=1 len=1000 ts=510,101
t=0.040  s>c . seq=3001 ack=1 len=1000 ts=510,101
t=0.050  c>s . seq=1 ack=1 win=502 sack=1001-2001 ts=102,510
t=0.050  c>s . seq=1 ack=1 win=502 sack=1001-3001 ts=102,510
t=0.050  c>s . seq=1 ack=1 win=502 sack=1001-4001 ts=102,510
t=0.051  s>c . seq=1 ack=1 len=1000 ts=521,102
t=0.052  c>s . seq=1 ack=4001 win=502 ts=103,510
t=0.061  c>s . seq=1 ack=4001 win=502 sack=1-1001 ts=104,521
`)
	if !rs[10].Analysis.Has(event.FastRetransmission) {
		t.Fatalf("frame 11: %s, want a fast retransmission", rs[10].Analysis.AppendNames(nil, ","))
	}
	if r := rs[12]; !r.Analysis.Has(event.DSACK) || r.Undid != 11 || r.UndidKind != event.FastRetransmission {
		t.Errorf("frame 13: %s, undid %d (%v), want a D-SACK that undoes frame 11's fast retransmission", r.Analysis.AppendNames(nil, ","), r.Undid, r.UndidKind)
	}
	if len(sums) != 1 {
		t.Fatalf("%d connections", len(sums))
	}
	if got := sums[0].Server.Retrans; got.Fast != 0 || got.Spurious != 1 || got.Total != 1 {
		t.Errorf("server's retransmissions %+v, want one, spurious", got)
	}
}
