package analyze_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// The named tests of the deliberate differences with tshark (see
// deliberateDifferences): each takes a real capture where the difference
// occurs, checks what tshark says there (testdata/tshark-analysis), what
// tcplens says instead, and the facts in the packets that make tcplens
// right.

// fact is what the named tests need of one analysed segment.
type fact struct {
	frame         int
	time          pcap.Time
	conn, end     int
	ipid          uint16
	seq, ack      seq.Num
	flags         wire.Flags
	len           int
	window        uint16
	checksum      uint16
	sack          []seq.Range
	analysis      event.Set
	dupNum        int // which duplicate of its ACK it is
	retransFrame  int
	sentBefore    tcp.Order
	tsval         uint32
	hasTS         bool
	sndUna        seq.Num // the sender's SND.UNA after the segment
	peerWindowRaw uint16  // the latest raw window its peer advertised
}

// factsOf analyses a capture and keeps every segment's facts, by frame.
func factsOf(t *testing.T, file string) map[int]*fact {
	t.Helper()
	out := map[int]*fact{}
	last := map[[2]int]uint16{} // latest raw window, by connection and sender
	analyseFile(t, file, func(s *analyze.Segment) {
		if s.Conn == nil {
			return
		}
		g := s.Seg
		f := &fact{
			frame: s.Frame.Number, time: s.Frame.Time, conn: s.Conn.ID, end: s.End,
			ipid: g.IPID, seq: g.Seq, ack: g.Ack, flags: g.Flags, len: g.PayloadLen, window: g.Window,
			sack:     append([]seq.Range(nil), g.Options.SACKBlocks()...),
			analysis: s.Result.Analysis, dupNum: s.Result.DupAckNum, retransFrame: s.Result.RetransFrame,
			sentBefore: s.Result.SentBefore, tsval: g.Options.TSVal, hasTS: g.Options.Has(wire.HasTimestamps),
			sndUna:        s.Conn.Ends[s.End].SndUna,
			peerWindowRaw: last[[2]int{s.Conn.ID, 1 - s.End}],
		}
		if g.TCP != nil {
			f.checksum = g.TCP.Checksum()
		}
		last[[2]int{s.Conn.ID, s.End}] = g.Window
		out[f.frame] = f
	}, nil)
	return out
}

// previous is the latest frame before n that the same end of the same
// connection sent.
func previous(facts map[int]*fact, n int) *fact {
	f := facts[n]
	for i := n - 1; i > 0; i-- {
		if p := facts[i]; p != nil && p.conn == f.conn && p.end == f.end {
			return p
		}
	}
	return nil
}

// previousFrom is the latest frame before n that the other end of the
// same connection sent.
func previousFrom(facts map[int]*fact, n int) *fact {
	f := facts[n]
	for i := n - 1; i > 0; i-- {
		if p := facts[i]; p != nil && p.conn == f.conn && p.end != f.end {
			return p
		}
	}
	return nil
}

// TestDeliberateDuplicateCapture: a capture on Linux's "any" device or a
// mirror port records some packets twice. The second copy is the same
// packet: same IPv4 identification (a retransmission gets a new one from
// Linux and Windows), same sequence and acknowledgment numbers, window,
// TCP checksum, and microseconds apart. tshark takes the copy for a
// retransmission, a fast retransmission or a duplicate ACK; tcplens says
// duplicate_frame and lets it change nothing.
func TestDeliberateDuplicateCapture(t *testing.T) {
	for _, tc := range []struct {
		capture string
		min     int // duplicates tshark flags, at least
	}{
		{"zeek-tcp-ssh-dups.pcap", 250},                         // a SPAN port that copied most segments
		{"zeek-http-vnd.ms-cab-compressed-multi-conn.pcap", 50}, // SYN, SYN-ACK and data frames twice, 1 µs apart
		{"gopacket-linux_sll_oversized_addr.pcapng", 3},         // Linux cooked capture on "any"
		{"tcpdump-pptp.pcap", 5},                                // the SYN-ACK and others captured twice
	} {
		t.Run(tc.capture, func(t *testing.T) {
			file := filepath.Join(testdata, "captures", tc.capture)
			w := readTshark(t, file)
			facts := factsOf(t, file)
			n := 0
			for frame, f := range facts {
				if !f.analysis.Has(event.DuplicateFrame) {
					continue
				}
				p := previous(facts, frame)
				if p == nil {
					t.Fatalf("frame %d: duplicate_frame with no earlier frame from that end", frame)
				}
				same := p.ipid == f.ipid && p.seq == f.seq && p.ack == f.ack && p.flags == f.flags &&
					p.len == f.len && p.window == f.window && p.checksum == f.checksum
				if !same || f.time.Sub(p.time) > 10*time.Millisecond {
					t.Errorf("frame %d is called a copy of frame %d, but differs: %+v vs %+v", frame, p.frame, *f, *p)
				}
				if f.analysis.Has(event.Retransmission) || f.analysis.Has(event.DuplicateAck) {
					t.Errorf("frame %d: a copy must not pass for a retransmission or dup ACK: %s", frame, names(f.analysis))
				}
				if tf := w[frame].flags; tf.Has(event.Retransmission) || tf.Has(event.DuplicateAck) || tf.Has(event.FastRetransmission) {
					n++
				}
			}
			if n < tc.min {
				t.Errorf("%d copies that tshark calls retransmissions or dup ACKs, want at least %d", n, tc.min)
			}
			t.Logf("%d copies tshark flags as retransmissions or duplicate ACKs", n)
		})
	}
}

// TestDeliberateFastRetransmission: with SACK, a sender recovers every hole
// the SACK blocks reveal (RFC 6675), not only the one the cumulative ACK
// names, and Linux's RACK (RFC 8985) starts on a single SACK; it does so as
// soon as the evidence reaches it. tshark calls a
// retransmission fast only when two duplicate ACKs asked for exactly this
// segment's sequence number, the last within a fixed 20 ms; the later
// holes of a SACK recovery, asked for by other ACKs or by a partial ACK
// that is new rather than duplicate, are plain retransmissions to it.
// tcplens calls them fast retransmissions: the SACK evidence arrived
// within about a round trip before them, far sooner than the timer.
func TestDeliberateFastRetransmission(t *testing.T) {
	for _, tc := range []struct {
		capture string
		frames  []int // fast for tcplens, plain retransmissions for tshark
	}{
		{"captures/zeek-tcp-retransmit-fast009.pcap", []int{34, 36}},
		{"captures/suri-bug-4376-syn_retransmit_with_ts.pcap", []int{129, 130, 131, 132}},
		// Linux RACK: one SACK above three lost segments is enough.
		{"kernel/pmtu-blackhole.pcap", []int{13, 14, 15}},
	} {
		t.Run(filepath.Base(tc.capture), func(t *testing.T) {
			file := filepath.Join(testdata, tc.capture)
			w := readTshark(t, file)
			facts := factsOf(t, file)
			for _, n := range tc.frames {
				f := facts[n]
				if f == nil {
					t.Fatalf("frame %d not analysed", n)
				}
				if tf := w[n].flags; !tf.Has(event.Retransmission) || tf.Has(event.FastRetransmission) {
					t.Errorf("frame %d: tshark says %s, want a plain retransmission", n, names(tf))
				}
				if !f.analysis.Has(event.FastRetransmission) {
					t.Errorf("frame %d: tcplens says %s, want fast_retransmission", n, names(f.analysis))
				}
				ev := previousFrom(facts, n)
				if ev == nil {
					t.Fatalf("frame %d: no ACK from the receiver before it", n)
				}
				// The evidence: a SACK block above this segment says the
				// receiver holds later data; and tshark's rule cannot match:
				// the receiver's latest ACK asks for another segment, or is
				// a new (partial) ACK rather than a duplicate, or only the
				// first duplicate (RACK needs one SACK, not three dup ACKs).
				if ev.ack == f.seq && ev.analysis.Has(event.DuplicateAck) && ev.dupNum >= 2 && f.time.Sub(ev.time) < 20*time.Millisecond {
					t.Errorf("frame %d: dup ACK #%d of frame %d asks for this very segment: not the case this test is about", n, ev.dupNum, ev.frame)
				}
				above := false
				for _, b := range ev.sack {
					above = above || b.Start.Greater(f.seq)
				}
				if !above {
					t.Errorf("frame %d: the ACK of frame %d has no SACK block above it: %v", n, ev.frame, ev.sack)
				}
				if d := f.time.Sub(ev.time); d > 20*time.Millisecond {
					t.Errorf("frame %d: %v after the evidence; the test wants a prompt one", n, d)
				}
			}
		})
	}
}

// TestDeliberatePersistProbe: when the receiver's window is zero, Linux's
// persist timer sends tcp_xmit_probe_skb: no data, sequence number
// SND.UNA-1, backing off (about 0.2, 0.5, 0.9 s in the capture). tshark's
// only rule for a zero-length segment at SND.UNA-1 is the keep-alive, and
// its keep-alive ACK needs an open window, so it calls the probe a
// keep-alive and the receiver's answer (the same zero window again)
// nothing. tcplens calls them zero_window_probe and zero_window_probe_ack.
// A real keep-alive on an open window stays a keep-alive for both.
func TestDeliberatePersistProbe(t *testing.T) {
	file := filepath.Join(testdata, "kernel", "zero-window.pcap")
	w := readTshark(t, file)
	facts := factsOf(t, file)
	probes, answers := []int{13, 15, 16}, []int{14, 17}
	for _, n := range probes {
		f := facts[n]
		if f == nil {
			t.Fatalf("frame %d not analysed", n)
		}
		if tf := w[n].flags; !tf.Has(event.KeepAlive) {
			t.Errorf("probe frame %d: tshark says %s, want keep_alive", n, names(tf))
		}
		if !f.analysis.Has(event.ZeroWindowProbe) || f.analysis.Has(event.KeepAlive) {
			t.Errorf("probe frame %d: tcplens says %s, want zero_window_probe", n, names(f.analysis))
		}
		// What makes it a persist probe: no data, one below what the peer
		// acknowledged, while the peer's window is zero.
		if f.len != 0 || f.seq != f.sndUna-1 || f.peerWindowRaw != 0 {
			t.Errorf("probe frame %d: len %d, seq %d (SND.UNA %d), peer window %d: not a persist probe",
				n, f.len, f.seq, f.sndUna, f.peerWindowRaw)
		}
	}
	for _, n := range answers {
		f := facts[n]
		if tf := w[n].flags; tf.Has(event.KeepAliveAck) || !tf.Has(event.ZeroWindow) {
			t.Errorf("answer frame %d: tshark says %s, want zero_window only", n, names(tf))
		}
		if !f.analysis.Has(event.ZeroWindowProbeAck) || f.window != 0 {
			t.Errorf("answer frame %d: tcplens says %s with window %d, want zero_window_probe_ack on a zero window", n, names(f.analysis), f.window)
		}
		if p := previousFrom(facts, n); p == nil || !p.analysis.Has(event.ZeroWindowProbe) {
			t.Errorf("answer frame %d does not follow a probe", n)
		}
	}

	// Keep-alives on an open window: the two tools agree.
	ka := filepath.Join(testdata, "kernel", "keepalive.pcap")
	kw, kf := readTshark(t, ka), factsOf(t, ka)
	seen := 0
	for n, f := range kf {
		if !kw[n].flags.Has(event.KeepAlive) {
			continue
		}
		seen++
		if !f.analysis.Has(event.KeepAlive) || f.analysis.Has(event.ZeroWindowProbe) {
			t.Errorf("keepalive.pcap frame %d: tcplens says %s, tshark keep_alive", n, names(f.analysis))
		}
	}
	if seen == 0 {
		t.Error("keepalive.pcap: no keep-alive")
	}
}

// TestDeliberateLateOriginal: a segment that fills a hole after
// duplicate ACKs asked for it is a fast retransmission to tshark. On
// mid49-conn690 (a bulk download between two namespaces, captured next to
// the client; veth delivers through per-CPU backlogs, so the server's two
// CPUs reorder its segments) the sender's own clock says otherwise: its
// TSval is older than that of a segment above it captured before it (or,
// within one tick, its IP ID, which Linux counts one by one per
// connection, is behind). A sender's clock never goes back, so it sent
// the segment first: an original that came late, out of order.
func TestDeliberateLateOriginal(t *testing.T) {
	file := filepath.Join(testdata, "kernel", "bench", "mid49-conn690.pcap")
	w := readTshark(t, file)
	facts := factsOf(t, file)
	n := 0
	for frame, f := range facts {
		if !w[frame].flags.Has(event.Retransmission) || !f.analysis.Has(event.OutOfOrder) {
			continue
		}
		n++
		o := f.sentBefore
		if o.Frame == 0 || o.Frame >= frame {
			t.Fatalf("frame %d: out of order with no earlier frame it was sent before: %+v", frame, o)
		}
		p := facts[o.Frame]
		if p.conn != f.conn || p.end != f.end {
			t.Fatalf("frame %d: sent before frame %d, which the other end sent", frame, o.Frame)
		}
		if end := f.seq.Add(uint32(f.len)); p.seq.Less(end) {
			t.Errorf("frame %d (seq %d..%d): frame %d (seq %d) is not above it", frame, f.seq, end, o.Frame, p.seq)
		}
		switch o.By {
		case tcp.ClockTSVal:
			if !f.hasTS || !p.hasTS || int32(f.tsval-p.tsval) >= 0 {
				t.Errorf("frame %d: TSval %d, not older than frame %d's %d", frame, f.tsval, o.Frame, p.tsval)
			}
		case tcp.ClockIPID:
			if f.tsval != p.tsval || int16(f.ipid-p.ipid) >= 0 {
				t.Errorf("frame %d: TSval %d and IP ID %d against frame %d's %d and %d", frame, f.tsval, f.ipid, o.Frame, p.tsval, p.ipid)
			}
		default:
			t.Errorf("frame %d: ordered by the %s, not the sender's clock", frame, o.By)
		}
		// Nothing carried its bytes before it: it is their first copy.
		for m := 1; m < frame; m++ {
			q := facts[m]
			if q != nil && q.conn == f.conn && q.end == f.end && q.len > 0 &&
				q.seq.Less(f.seq.Add(uint32(f.len))) && f.seq.Less(q.seq.Add(uint32(q.len))) {
				t.Errorf("frame %d: frame %d carried its bytes before", frame, m)
			}
		}
	}
	if n < 5 {
		t.Errorf("%d frames tshark calls a retransmission and tcplens out of order; want several", n)
	}
}
