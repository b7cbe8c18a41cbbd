package conn_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// pkt is one segment of a test: who sends it to whom, when (seconds from
// the start), its flags and raw numbers.
type pkt struct {
	t        float64
	src, dst string
	flags    wire.Flags
	seq, ack uint32
	len      int
}

const (
	S  = wire.SYN
	SA = wire.SYN | wire.ACK
	A  = wire.ACK
	FA = wire.FIN | wire.ACK
	PA = wire.PSH | wire.ACK
	R  = wire.RST
)

func (p pkt) segment(ipid uint16) *wire.Segment {
	return &wire.Segment{
		IPVersion:  4,
		IPID:       ipid,
		Src:        netip.MustParseAddrPort(p.src),
		Dst:        netip.MustParseAddrPort(p.dst),
		Seq:        seq.Num(p.seq),
		Ack:        seq.Num(p.ack),
		Flags:      p.flags,
		Window:     1000,
		PayloadLen: p.len,
		Payload:    make([]byte, p.len),
		TCP:        make(wire.TCP, wire.TCPMinHeaderLen),
		HeaderLen:  wire.TCPMinHeaderLen,
	}
}

// ended is a connection as it left the table.
type ended struct {
	id  int
	why conn.EndReason
}

// harness runs segments through a table as the analyzer does: look the
// connection up (numbering it if it is new, and expiring idle ones every
// second), then step it.
type harness struct {
	t        *testing.T
	table    *conn.Table
	ended    []ended
	conns    []*conn.Conn // the connection of each segment
	ends     []int
	res      []tcp.Result
	frame    int
	ids      int
	lastScan pcap.Time

	changes []tcp.Change // what step's segments changed
}

func newHarness(t *testing.T, max int) *harness {
	h := &harness{t: t}
	h.table = conn.NewTable(max, func(c *conn.Conn, why conn.EndReason) {
		h.ended = append(h.ended, ended{c.ID, why})
	})
	return h
}

func at(sec float64) pcap.Time { return pcap.Time(1767225600e9 + int64(sec*1e9)) }

func (h *harness) run(pkts ...pkt) {
	for _, p := range pkts {
		h.frame++
		s := p.segment(uint16(h.frame))
		now := at(p.t)
		h.table.Frame = h.frame
		c, end := h.table.Lookup(s, now)
		if c.Segments == 1 {
			h.ids++
			c.ID = h.ids
		}
		if now.Sub(h.lastScan) >= conn.ExpireEvery {
			h.table.Expire(now)
			h.lastScan = now
		}
		var r tcp.Result
		c.Step(end, &tcp.Input{Seg: s, Frame: h.frame, Time: now}, &r)
		r.Changes = nil
		h.conns = append(h.conns, c)
		h.ends = append(h.ends, end)
		h.res = append(h.res, r)
	}
}

func TestKeyOf(t *testing.T) {
	for _, tc := range []struct {
		name     string
		src, dst string
		a, b     string
		srcIsB   bool
	}{
		{"lower address first", "10.0.0.1:40000", "10.0.0.2:80", "10.0.0.1:40000", "10.0.0.2:80", false},
		{"reverse direction", "10.0.0.2:80", "10.0.0.1:40000", "10.0.0.1:40000", "10.0.0.2:80", true},
		{"same address, lower port first", "10.0.0.1:9000", "10.0.0.1:80", "10.0.0.1:80", "10.0.0.1:9000", true},
		{"addresses compare before ports", "10.0.0.9:1", "10.0.0.10:65535", "10.0.0.9:1", "10.0.0.10:65535", false},
		{"IPv6", "[fd00::2]:443", "[fd00::1]:50000", "[fd00::1]:50000", "[fd00::2]:443", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := pkt{src: tc.src, dst: tc.dst}.segment(0)
			k, srcIsB := conn.KeyOf(s)
			want := conn.Key{A: netip.MustParseAddrPort(tc.a), B: netip.MustParseAddrPort(tc.b)}
			if k != want || srcIsB != tc.srcIsB {
				t.Errorf("KeyOf(%s > %s) = %v, %v, want %v, %v", tc.src, tc.dst, k, srcIsB, want, tc.srcIsB)
			}
			// Both directions of a connection share the key.
			back, backIsB := conn.KeyOf(pkt{src: tc.dst, dst: tc.src}.segment(0))
			if back != k || backIsB == srcIsB {
				t.Errorf("KeyOf of the reverse = %v, %v; want %v, %v", back, backIsB, k, !srcIsB)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		first   pkt
		client  string
		role    conn.Role
		guessed bool
	}{
		{"SYN: its sender is the client", pkt{src: "10.0.0.9:5000", dst: "10.0.0.1:6000", flags: S}, "10.0.0.9:5000", conn.RoleSYN, false},
		{"SYN-ACK first: its receiver is the client", pkt{src: "10.0.0.1:6000", dst: "10.0.0.9:5000", flags: SA}, "10.0.0.9:5000", conn.RoleSYN, false},
		{"SYN to a high port from a low one", pkt{src: "10.0.0.1:80", dst: "10.0.0.2:50000", flags: S}, "10.0.0.1:80", conn.RoleSYN, false},
		{"no handshake, data to a well-known port", pkt{src: "10.0.0.1:40000", dst: "10.0.0.2:443", flags: PA, len: 10}, "10.0.0.1:40000", conn.RolePorts, true},
		{"no handshake, data from a well-known port", pkt{src: "10.0.0.2:22", dst: "10.0.0.1:40000", flags: PA, len: 10}, "10.0.0.1:40000", conn.RolePorts, true},
		{"no handshake, ephemeral to registered port", pkt{src: "10.0.0.1:50000", dst: "10.0.0.2:8080", flags: A}, "10.0.0.1:50000", conn.RolePorts, true},
		{"no handshake, registered port to ephemeral", pkt{src: "10.0.0.2:8080", dst: "10.0.0.1:50000", flags: A}, "10.0.0.1:50000", conn.RolePorts, true},
		{"no handshake, ports say nothing: the first speaker", pkt{src: "10.0.0.2:5000", dst: "10.0.0.1:6000", flags: PA, len: 1}, "10.0.0.2:5000", conn.RoleSpeaker, true},
		{"no handshake, both ephemeral: the first speaker", pkt{src: "10.0.0.2:50000", dst: "10.0.0.1:60000", flags: A}, "10.0.0.2:50000", conn.RoleSpeaker, true},
		{"no handshake, both well known: the first speaker", pkt{src: "10.0.0.2:25", dst: "10.0.0.1:80", flags: A}, "10.0.0.2:25", conn.RoleSpeaker, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			h.run(tc.first)
			c := h.conns[0]
			if got := c.ClientEnd().Addr.String(); got != tc.client {
				t.Errorf("client %s, want %s", got, tc.client)
			}
			if c.Role != tc.role || c.RoleGuessed() != tc.guessed {
				t.Errorf("role %d (guessed %v), want %d (guessed %v)", c.Role, c.RoleGuessed(), tc.role, tc.guessed)
			}
			if c.ClientEnd() == c.ServerEnd() {
				t.Error("client and server are the same endpoint")
			}
			wantDir := conn.ClientToServer
			if tc.first.src != tc.client {
				wantDir = conn.ServerToClient
			}
			if got := c.DirOf(h.ends[0]); got != wantDir {
				t.Errorf("the first segment goes %v, want %v", got, wantDir)
			}
		})
	}
}

func TestDirString(t *testing.T) {
	if conn.ClientToServer.String() != "c2s" || conn.ServerToClient.String() != "s2c" {
		t.Errorf("Dir strings %q %q, want c2s s2c", conn.ClientToServer, conn.ServerToClient)
	}
}

const (
	cli = "10.0.0.1:40000"
	srv = "10.0.0.2:80"
)

// handshakeAndClose is a whole connection: ISNs 1000 and 5000, a FIN from
// each side, the last ACK at t=0.5 s.
func handshakeAndClose(clientISN uint32) []pkt {
	c, s := clientISN, uint32(5000)
	return []pkt{
		{0.000, cli, srv, S, c, 0, 0},
		{0.010, srv, cli, SA, s, c + 1, 0},
		{0.011, cli, srv, A, c + 1, s + 1, 0},
		{0.100, cli, srv, FA, c + 1, s + 1, 0},
		{0.110, srv, cli, FA, s + 1, c + 2, 0},
		{0.111, cli, srv, A, c + 2, s + 2, 0},
	}
}

func TestPortReuse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		then     []pkt
		newConn  bool
		reused   bool // a new ISN: reused_ports
		previous bool
	}{
		{
			name:    "new ISN in TIME_WAIT",
			then:    []pkt{{1, cli, srv, S, 90000, 0, 0}},
			newConn: true, reused: true, previous: true,
		},
		{
			name:    "new ISN long after TIME_WAIT ended",
			then:    []pkt{{120, cli, srv, S, 90000, 0, 0}},
			newConn: true, previous: true, // replaced as idle: the old one had ended
		},
		{
			name: "the same SYN again is a retransmission",
			then: []pkt{{1, cli, srv, S, 1000, 0, 0}},
		},
		{
			name: "an ACK in TIME_WAIT belongs to the old connection",
			then: []pkt{{1, cli, srv, A, 1002, 5002, 0}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 0)
			h.run(handshakeAndClose(1000)...)
			old := h.conns[0]
			if st := old.ClientEnd().State; st != tcp.TimeWait {
				t.Fatalf("client in %v after closing first, want TIME_WAIT", st)
			}
			h.run(tc.then...)
			got := h.conns[len(h.conns)-1]
			if (got != old) != tc.newConn {
				t.Fatalf("new connection: %v, want %v", got != old, tc.newConn)
			}
			if !tc.newConn {
				if len(h.ended) != 0 || h.table.Replaced != 0 {
					t.Errorf("ended %v, replaced %d; want none", h.ended, h.table.Replaced)
				}
				return
			}
			if got.ID != old.ID+1 || got.ReusedPorts != tc.reused {
				t.Errorf("new connection %d reused_ports %v, want %d, %v", got.ID, got.ReusedPorts, old.ID+1, tc.reused)
			}
			if (got.Previous == old.ID) != tc.previous {
				t.Errorf("previous_conn %d, old was %d", got.Previous, old.ID)
			}
			if len(h.ended) != 1 || h.ended[0] != (ended{old.ID, conn.EndReplaced}) || h.table.Replaced != 1 {
				t.Errorf("ended %v, replaced %d; want the old connection replaced once", h.ended, h.table.Replaced)
			}
			r := h.res[len(h.res)-1]
			if r.Analysis.Has(event.ReusedPorts) != tc.reused {
				t.Errorf("first segment's analysis %s, reused_ports wanted: %v", r.Analysis.AppendNames(nil, ","), tc.reused)
			}
			if got.RoleGuessed() || got.ClientEnd().Addr.String() != cli {
				t.Errorf("the new connection's client is %v (guessed %v)", got.ClientEnd().Addr, got.RoleGuessed())
			}
			if h.table.Len() != 1 {
				t.Errorf("table holds %d connections, want 1", h.table.Len())
			}
		})
	}
}

func TestIdleExpiry(t *testing.T) {
	other := func(t float64) pkt { return pkt{t, "10.9.9.9:50000", "10.9.9.8:22", S, 1, 0, 0} }
	established := []pkt{
		{0.000, cli, srv, S, 1000, 0, 0},
		{0.010, srv, cli, SA, 5000, 1001, 0},
		{0.011, cli, srv, A, 1001, 5001, 0},
	}
	for _, tc := range []struct {
		name    string
		first   []pkt
		timeout time.Duration
	}{
		{"open", established, conn.IdleOpen},
		{"closed", handshakeAndClose(1000), conn.IdleClosed},
		{"half open: a SYN never answered", []pkt{{0, cli, srv, S, 1000, 0, 0}}, conn.IdleHalfOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			last := tc.first[len(tc.first)-1].t
			// Just before its timeout it stays.
			h := newHarness(t, 0)
			h.run(tc.first...)
			h.run(other(last + (tc.timeout - time.Second).Seconds()))
			if len(h.ended) != 0 || h.table.Expired != 0 {
				t.Fatalf("ended %v before its timeout %v", h.ended, tc.timeout)
			}
			// Just after, it leaves as idle.
			h = newHarness(t, 0)
			h.run(tc.first...)
			h.run(other(last + (tc.timeout + 2*time.Second).Seconds()))
			if len(h.ended) != 1 || h.ended[0] != (ended{1, conn.EndIdle}) || h.table.Expired != 1 {
				t.Fatalf("ended %v, expired %d; want connection 1 idle", h.ended, h.table.Expired)
			}
			if h.table.Len() != 1 {
				t.Errorf("table holds %d, want the new one only", h.table.Len())
			}
			// A segment on its 4-tuple after the timeout starts afresh.
			h = newHarness(t, 0)
			h.run(tc.first...)
			h.run(pkt{last + (tc.timeout + 2*time.Second).Seconds(), cli, srv, PA, 7777, 5001, 10})
			if c := h.conns[len(h.conns)-1]; c.ID != 2 || c.Previous != 1 || c.ReusedPorts {
				t.Errorf("after the timeout: connection %d previous %d reused %v, want 2, 1, false", c.ID, c.Previous, c.ReusedPorts)
			}
		})
	}
}

func TestTimeWaitEndsAtExpiry(t *testing.T) {
	var states []tcp.State
	table := conn.NewTable(0, func(c *conn.Conn, why conn.EndReason) {
		states = append(states, c.ClientEnd().State)
	})
	for i, p := range handshakeAndClose(1000) {
		c, end := table.Lookup(p.segment(uint16(i)), at(p.t))
		var r tcp.Result
		c.Step(end, &tcp.Input{Seg: p.segment(uint16(i)), Frame: i + 1, Time: at(p.t)}, &r)
	}
	table.Close(at(3600))
	if len(states) != 1 || states[0] != tcp.Closed {
		t.Errorf("client at the end %v, want CLOSED: TIME_WAIT lasts 60 s", states)
	}
}

func TestMemoryCap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		max     int
		conns   int
		touch   []int // connections seen again, in order, before the last one
		evicted []int
	}{
		{name: "under the cap", max: 4, conns: 4},
		{name: "oldest leave first", max: 3, conns: 6, evicted: []int{1, 2, 3}},
		{name: "a connection seen again is recent", max: 3, conns: 4, touch: []int{1}, evicted: []int{2}},
		{name: "cap of one", max: 1, conns: 3, evicted: []int{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.max)
			src := func(i int) string { return fmt.Sprintf("10.1.%d.%d:40000", i/250, i%250+1) }
			for i := 1; i <= tc.conns; i++ {
				if i == tc.conns {
					for _, j := range tc.touch {
						h.run(pkt{float64(i) - 0.5, src(j), srv, S, uint32(j), 0, 0})
					}
				}
				h.run(pkt{float64(i), src(i), srv, S, uint32(i), 0, 0})
			}
			var got []int
			for _, e := range h.ended {
				if e.why != conn.EndEvicted {
					t.Errorf("connection %d ended %v, want evicted", e.id, e.why)
				}
				got = append(got, e.id)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.evicted) && !(len(got) == 0 && len(tc.evicted) == 0) {
				t.Errorf("evicted %v, want %v", got, tc.evicted)
			}
			if h.table.Evicted != len(tc.evicted) {
				t.Errorf("Evicted = %d, want %d", h.table.Evicted, len(tc.evicted))
			}
			if want := min(tc.conns, tc.max); h.table.Len() != want {
				t.Errorf("Len = %d, want %d", h.table.Len(), want)
			}
		})
	}
}

func TestMemoryCapFlood(t *testing.T) {
	// A SYN flood from a quarter million sources in a table of 1000: the table
	// never holds more than its cap, and every eviction is counted.
	const sources, max = 1 << 18, 1000
	n := 0
	table := conn.NewTable(max, func(*conn.Conn, conn.EndReason) { n++ })
	for i := range sources {
		s := &wire.Segment{
			IPVersion: 4,
			Src:       netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 1024+uint16(i%60000)),
			Dst:       netip.MustParseAddrPort(srv),
			Seq:       seq.Num(i),
			Flags:     S,
		}
		table.Lookup(s, at(float64(i)*1e-6))
		if table.Len() > max {
			t.Fatalf("after %d SYNs the table holds %d > %d", i+1, table.Len(), max)
		}
	}
	if table.Evicted+table.Expired != sources-max || n != sources-max {
		t.Errorf("evicted %d + expired %d, ended %d; want %d", table.Evicted, table.Expired, n, sources-max)
	}
}

func TestCloseOrder(t *testing.T) {
	h := newHarness(t, 0)
	h.run(
		pkt{0, "10.0.0.5:40000", srv, S, 1, 0, 0},
		pkt{1, "10.0.0.6:40000", srv, S, 1, 0, 0},
		pkt{2, "10.0.0.5:40000", srv, S, 1, 0, 0}, // connection 1 again: most recent
	)
	h.table.Close(at(3))
	want := []ended{{1, conn.EndCapture}, {2, conn.EndCapture}}
	if fmt.Sprint(h.ended) != fmt.Sprint(want) {
		t.Errorf("Close ended %v, want %v (in the order connections first appeared)", h.ended, want)
	}
	if h.table.Len() != 0 {
		t.Errorf("Len after Close = %d", h.table.Len())
	}
}

func TestEndReasonString(t *testing.T) {
	for why, want := range map[conn.EndReason]string{
		conn.EndCapture:  "end of capture",
		conn.EndIdle:     "idle",
		conn.EndEvicted:  "evicted",
		conn.EndReplaced: "replaced",
	} {
		if got := why.String(); got != want {
			t.Errorf("EndReason(%d) = %q, want %q", why, got, want)
		}
	}
}

func TestConnBookkeeping(t *testing.T) {
	h := newHarness(t, 0)
	h.run(handshakeAndClose(1000)...)
	c := h.conns[0]
	if c.FirstFrame != 1 || c.LastFrame != 6 || c.Segments != 6 {
		t.Errorf("frames %d-%d, %d segments; want 1-6, 6", c.FirstFrame, c.LastFrame, c.Segments)
	}
	if c.Start != at(0) || c.End != at(0.111) {
		t.Errorf("start %v end %v", c.Start, c.End)
	}
	if got := c.ZeekHistory(); got != "ShAFf" { // the server sent no pure ACK: no "a"
		t.Errorf("Zeek history %q, want ShAFf", got)
	}
	if got := c.ZeekState(); got != "SF" {
		t.Errorf("Zeek conn_state %q, want SF", got)
	}
}

// TestAttemptsFloodBounded: a flood of SYNs from distinct sources, every
// one an attempt that evicts the oldest, costs the table what its cap
// allows however long it goes on: the list of attempts stays within twice
// the cap (a flood spends its entries from the front and leaves no
// holes, and counting only holes the list grew by a word a SYN), and only
// the latest few attempts keep their state thawed.
func TestAttemptsFloodBounded(t *testing.T) {
	const maxAttempts, flood = 100, 50000
	evicted := 0
	table := conn.NewTable(0, func(*conn.Conn, conn.EndReason) { evicted++ })
	table.MaxAttempts = maxAttempts
	buf := make([]byte, 64)
	var s wire.Segment
	var r tcp.Result
	for i := range flood {
		f := testcap.SYNFlood(i, buf)
		if err := wire.Decode(&f, &s); err != nil {
			t.Fatal(err)
		}
		table.Frame = f.Number
		c, end := table.Lookup(&s, f.Time)
		c.Step(end, &tcp.Input{Seg: &s, Frame: f.Number, Time: f.Time}, &r)
		if n := table.AttemptsListed(); n > 2*maxAttempts {
			t.Fatalf("after %d SYNs the list of attempts is %d long, for %d attempts held", i+1, n, table.Len())
		}
		if n := table.ThawedCount(); n > conn.MaxThawedAttempts {
			t.Fatalf("after %d SYNs %d attempts are thawed, want at most %d", i+1, n, conn.MaxThawedAttempts)
		}
	}
	if evicted != flood-maxAttempts || table.EvictedAttempts != evicted {
		t.Errorf("%d evicted (EvictedAttempts %d), want %d", evicted, table.EvictedAttempts, flood-maxAttempts)
	}
}

// TestAttemptsCap: attempts (one end's SYNs, nothing else) have a cap of
// their own, and past it the oldest attempt leaves, never a connection
// that got an answer, however old: a flood of unanswered SYNs costs a
// bounded table and keeps the real connections whole.
func TestAttemptsCap(t *testing.T) {
	const maxAttempts, flood = 10, 1000
	h := newHarness(t, 0)
	h.table.MaxAttempts = maxAttempts
	// Five real connections first: answered, so they are not attempts,
	// and they are the table's oldest.
	for i := range 5 {
		c := fmt.Sprintf("10.9.0.%d:40000", i+1)
		h.run(pkt{0.1, c, srv, S, 100, 0, 0}, pkt{0.2, srv, c, SA, 500, 101, 0}, pkt{0.3, c, srv, A, 101, 501, 0})
	}
	// One attempt that its sender retransmits as the flood goes on: a SYN
	// again is still an attempt, and it is evicted in its turn.
	retried := "10.9.1.1:40000"
	h.run(pkt{1, retried, srv, S, 7, 0, 0})
	first := h.conns[len(h.conns)-1]
	var again *conn.Conn
	src := func(i int) string { return fmt.Sprintf("10.1.%d.%d:40000", i/250, i%250+1) }
	for i := range flood {
		h.run(pkt{2 + float64(i)*1e-3, src(i), srv, S, uint32(i), 0, 0})
		if i == 3 {
			h.run(pkt{2.0035, retried, srv, S, 7, 0, 0})
			again = h.conns[len(h.conns)-1]
		}
		// An attempt that the server answers stops being one.
		if i == 500 {
			h.run(pkt{2.5005, srv, src(i), SA, 900, uint32(i) + 1, 0})
		}
	}
	if again != first {
		t.Errorf("the retransmitted SYN of an attempt still held opened a new connection")
	}
	// Held now: the five connections, the answered attempt and the last
	// ten attempts.
	if got, want := h.table.Len(), 5+1+maxAttempts; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
	// Evicted: the retried attempt and the flood's first 989 but one (the answered one).
	if want := 1 + flood - maxAttempts - 1; h.table.EvictedAttempts != want || h.table.Evicted != want {
		t.Errorf("EvictedAttempts = %d, Evicted = %d, want %d each", h.table.EvictedAttempts, h.table.Evicted, want)
	}
	for _, e := range h.ended {
		if e.why != conn.EndEvicted || e.id <= 5 {
			t.Fatalf("connection %d ended %v: want only attempts evicted", e.id, e.why)
		}
	}
	// The table forgets evicted attempts: the same SYN again is a new one.
	before := h.table.EvictedAttempts
	h.run(pkt{3, src(0), srv, S, 0, 0, 0})
	if h.conns[len(h.conns)-1].ID <= 6+flood {
		t.Errorf("a SYN of an evicted attempt found connection %d, want a new one", h.conns[len(h.conns)-1].ID)
	}
	if h.table.EvictedAttempts != before+1 {
		t.Errorf("a new attempt past the cap evicted %d, want 1", h.table.EvictedAttempts-before)
	}
}
