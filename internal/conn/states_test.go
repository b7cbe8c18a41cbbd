package conn_test

import (
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// last is an endpoint's latest transition.
func last(t *testing.T, e *tcp.Endpoint) tcp.Transition {
	t.Helper()
	if len(e.History) == 0 {
		t.Fatalf("%v made no transition", e.Addr)
	}
	return e.History[len(e.History)-1]
}

// A new connection's SYN on a 4-tuple in TIME_WAIT (tcp_tw_reuse, RFC
// 6191) ends the TIME_WAIT at that SYN: the old connection's end is CLOSED
// there and it leaves the table replaced (issue 10, item 3).
func TestTimeWaitTakenOver(t *testing.T) {
	h := newHarness(t, 0)
	h.run(handshakeAndClose(1000)...)
	old := h.conns[0]
	h.run(pkt{1, cli, srv, S, 90000, 0, 0})
	tr := last(t, old.ClientEnd())
	if tr.State != tcp.Closed || tr.From != tcp.TimeWait || tr.Frame != 7 || tr.Time != at(1) {
		t.Errorf("old client's last transition %v → %v at frame %d, want TIME_WAIT → CLOSED at the new SYN (frame 7)", tr.From, tr.State, tr.Frame)
	}
	if !strings.Contains(tr.Reason.String(), "took over the 4-tuple") {
		t.Errorf("reason %q", tr.Reason)
	}
	if len(h.ended) != 1 || h.ended[0] != (ended{old.ID, conn.EndReplaced}) {
		t.Errorf("ended %v, want the old connection replaced", h.ended)
	}
	if st := h.conns[6].ClientEnd().State; st != tcp.SynSent {
		t.Errorf("new client in %v, want SYN_SENT", st)
	}
}

// SYNs nobody answered say nothing of the destination: it ends UNKNOWN,
// not SYN_RECV (issue 10, item 3), by a correction that says why.
func TestUnansweredSYNsSayNothing(t *testing.T) {
	h := newHarness(t, 0)
	h.run(pkt{0, cli, srv, S, 1000, 0, 0}, pkt{1, cli, srv, S, 1000, 0, 0}, pkt{3, cli, srv, S, 1000, 0, 0})
	c := h.conns[0]
	h.table.Close(at(10))
	sv := c.ServerEnd()
	if sv.State != tcp.Unknown {
		t.Fatalf("server in %v, want UNKNOWN", sv.State)
	}
	tr := last(t, sv)
	if !tr.Correction || tr.From != tcp.SynReceived || !strings.Contains(tr.Reason.String(), "says nothing of its state") {
		t.Errorf("server's last transition %v → %v (correction %v): %s", tr.From, tr.State, tr.Correction, tr.Reason)
	}
	if st := c.ClientEnd().State; st != tcp.SynSent {
		t.Errorf("client in %v, want SYN_SENT", st)
	}

	// A server that answered keeps what it showed.
	h = newHarness(t, 0)
	h.run(pkt{0, cli, srv, S, 1000, 0, 0}, pkt{0.01, srv, cli, R | A, 0, 1001, 0})
	h.table.Close(at(10))
	if st := h.conns[0].ServerEnd().State; st != tcp.Closed {
		t.Errorf("refusing server in %v, want CLOSED", st)
	}
}

// A SYN after the connection was reset opens a new connection even with
// the old ISN (Windows resends it so), as Zeek counts them: the first is
// REJ, the second, answered with SYN-ACK, is not (issue 10, item 3).
func TestSYNAfterResetIsNewConnection(t *testing.T) {
	h := newHarness(t, 0)
	h.run(
		pkt{0, cli, srv, S, 1000, 0, 0},
		pkt{0.01, srv, cli, R | A, 0, 1001, 0},
		pkt{0.5, cli, srv, S, 1000, 0, 0},
		pkt{0.51, srv, cli, SA, 5000, 1001, 0},
		pkt{0.52, cli, srv, A, 1001, 5001, 0},
	)
	first, second := h.conns[0], h.conns[2]
	if first == second {
		t.Fatal("the SYN after the RST joined the reset connection")
	}
	if second.ReusedPorts {
		t.Error("the same ISN is no port reuse")
	}
	if len(h.ended) != 1 || h.ended[0] != (ended{first.ID, conn.EndReplaced}) {
		t.Errorf("ended %v, want the reset connection replaced", h.ended)
	}
	if z := first.ZeekState(); z != "REJ" {
		t.Errorf("first connection %s, want REJ", z)
	}
	if z := second.ZeekState(); z == "REJ" || second.ServerEnd().State != tcp.Established {
		t.Errorf("second connection %s, server %v; want it established, not REJ", z, second.ServerEnd().State)
	}

	// Without an RST the same SYN is a retransmission.
	h = newHarness(t, 0)
	h.run(pkt{0, cli, srv, S, 1000, 0, 0}, pkt{1, cli, srv, S, 1000, 0, 0})
	if h.conns[0] != h.conns[1] {
		t.Error("a SYN sent again split the connection")
	}
}

// An RST forged in an end's name (a TTL unlike its own packets', or the
// IP ID of the packet it answers) does not move that end: it still holds
// the connection, and the peer it reset is CLOSED, half-open (issue 10,
// item 3).
func TestForgedRSTLeavesItsSupposedSender(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ttl   uint8  // the RST's TTL; the server's packets arrive with 50
		ipid  uint16 // the RST's IP ID; 0: the next of its own
		fake  bool
		owned string // the words of the server's note
	}{
		{name: "TTL unlike its own", ttl: 60, fake: true, owned: "arrived with TTL 60, and its one packet before it in this connection with TTL 50"},
		{name: "IP ID copied", ttl: 50, ipid: 4, fake: true, owned: "its IP ID 4 is that of the peer's packet of frame 4"},
		{name: "its own", ttl: 51},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			hs := []pkt{
				{0, cli, srv, S, 1000, 0, 0},
				{0.01, srv, cli, SA, 5000, 1001, 0},
				{0.02, cli, srv, A, 1001, 5001, 0},
				{0.03, cli, srv, PA, 1001, 5001, 100},
			}
			ipids := []uint16{1, 900, 3, 4}
			for i, p := range hs {
				h.step(p, func(s *wire.Segment) {
					s.TTL, s.IPID = 64, ipids[i]
					if p.src == srv {
						s.TTL = 50
					}
				})
			}
			h.step(pkt{0.04, srv, cli, R | A, 5001, 1101, 0}, func(s *wire.Segment) {
				s.TTL, s.IPID = tc.ttl, 901
				if tc.ipid != 0 {
					s.IPID = tc.ipid
				}
			})
			c := h.conns[0]
			sv, cl := c.ServerEnd(), c.ClientEnd()
			if got := sv.Forged != nil; got != tc.fake {
				t.Fatalf("forged %v, want %v", got, tc.fake)
			}
			if !tc.fake {
				if sv.State != tcp.Closed || cl.State != tcp.Closed {
					t.Errorf("server %v, client %v after its own RST; want both CLOSED", sv.State, cl.State)
				}
				return
			}
			if sv.State != tcp.Established || sv.Forged.Held != tcp.Established || sv.Forged.Frame != 5 {
				t.Errorf("server %v (held %v, frame %d), want ESTABLISHED at frame 5", sv.State, sv.Forged.Held, sv.Forged.Frame)
			}
			if !sv.SentRST {
				t.Error("the RST came from the server's address: SentRST")
			}
			tr := last(t, cl)
			if cl.State != tcp.Closed || !strings.Contains(tr.Reason.String(), "forged in the path") || !strings.Contains(tr.Reason.String(), "still holds the connection in ESTABLISHED: half-open") {
				t.Errorf("client %v: %s", cl.State, tr.Reason)
			}
			var note *tcp.Change
			for i := range h.changes {
				if ch := &h.changes[i]; ch.Sender && ch.Frame == 5 {
					note = ch
				}
			}
			if note == nil || note.From != tcp.Established || note.State != tcp.Established || note.Correction {
				t.Fatalf("no note that the server stays ESTABLISHED: %+v", note)
			}
			if w := note.Reason.String(); !strings.HasPrefix(w, "did not send this RST") || !strings.Contains(w, tc.owned) || !strings.Contains(w, "still holds the connection, in ESTABLISHED") {
				t.Errorf("note %q", w)
			}
			for _, tr := range sv.History {
				if tr.Frame == 5 {
					t.Errorf("the server's history has a transition at the forged RST: %v → %v", tr.From, tr.State)
				}
			}
		})
	}
}

// step runs one segment, changed by mod before it is looked up, and keeps
// the changes it made.
func (h *harness) step(p pkt, mod func(*wire.Segment)) {
	h.frame++
	s := p.segment(uint16(h.frame))
	mod(s)
	now := at(p.t)
	h.table.Frame = h.frame
	c, end := h.table.Lookup(s, now)
	var r tcp.Result
	c.Step(end, &tcp.Input{Seg: s, Frame: h.frame, Time: now}, &r)
	h.changes = append(h.changes, r.Changes...)
	r.Changes = nil
	h.conns = append(h.conns, c)
	h.ends = append(h.ends, end)
	h.res = append(h.res, r)
}
