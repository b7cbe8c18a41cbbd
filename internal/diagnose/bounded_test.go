package diagnose

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// Three kinds of connection, as scripts: refused, half-open (a SYN
// alone), and a short exchange the client closes.
var (
	refusedConn = testcap.Build(`
		t=0      c>s S  seq=0 win=64240 mss=1460 ws=7
		t=0.0001 s>c R. seq=0 ack=1 win=0`)
	halfOpenConn = testcap.Build(`
		t=0      c>s S  seq=0 win=64240 mss=1460 ws=7`)
	closedConn = testcap.Build(`
		t=0      c>s S  seq=0 win=64240 mss=1460 ws=7
		t=0.0001 s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7
		t=0.0002 c>s .  seq=1 ack=1 win=502
		t=0.0003 c>s F. seq=1 ack=1 win=502
		t=0.0004 s>c F. seq=1 ack=2 win=509
		t=0.0005 c>s .  seq=2 ack=2 win=502`)
)

// moved copies a script's frames to another client and server, start
// time and first frame number, with correct checksums.
func moved(frames []pcap.Frame, client, server netip.AddrPort, start pcap.Time, number int) []pcap.Frame {
	out := make([]pcap.Frame, len(frames))
	for i, f := range frames {
		b := append([]byte(nil), f.Data...)
		ip, tcp := b[14:34], b[34:]
		src, dst := client, server
		if netip.AddrFrom4([4]byte(ip[12:16])) != testcap.Client.Addr() {
			src, dst = server, client
		}
		s4, d4 := src.Addr().As4(), dst.Addr().As4()
		copy(ip[12:], s4[:])
		copy(ip[16:], d4[:])
		binary.BigEndian.PutUint16(ip[10:], 0)
		binary.BigEndian.PutUint16(ip[10:], ^wire.Fold(wire.Sum(0, ip)))
		binary.BigEndian.PutUint16(tcp[0:], src.Port())
		binary.BigEndian.PutUint16(tcp[2:], dst.Port())
		sum, _ := wire.TCPChecksum(src.Addr(), dst.Addr(), tcp)
		binary.BigEndian.PutUint16(tcp[16:], sum)
		f.Data, f.Time, f.Number = b, start+(f.Time-testcap.Start), number+i
		out[i] = f
	}
	return out
}

// TestCollectorBounded feeds 70,000 connections through the analysis with
// a table of 200, so that they end as they go, and checks that what the
// Collector holds stays within its caps however many have ended: facts
// for the open connections only, the rows it keeps, the instances per
// finding id, the services, client-service pairs and their address and
// port sets, the hosts' TTLs, the replaced connections awaiting their
// successors. It also checks that the counts past the caps are kept, and
// that the findings say "at least" where a cap cut them.
func TestCollectorBounded(t *testing.T) {
	const n, table, rows = 70000, 200, 50
	col := NewCollector()
	col.Rows = rows
	an := analyze.New(analyze.Options{MaxConns: table}, col.Segment, col.OnConn)
	flood := netip.MustParseAddrPort("192.0.2.1:80")
	frame := 1
	refused := 0
	check := func(when string) {
		t.Helper()
		if len(col.open) > table+1 {
			t.Errorf("%s: facts for %d connections, the table holds %d", when, len(col.open), table)
		}
		if max := rows + rows/4 + 64 + len(col.groups); len(col.rows.rows) > max {
			t.Errorf("%s: %d rows kept, want at most %d", when, len(col.rows.rows), max)
		}
		for id, g := range col.groups {
			if len(g.Worst) > maxInstances {
				t.Errorf("%s: %d instances of %s kept, want at most %d", when, len(g.Worst), id, maxInstances)
			}
		}
		if len(col.services.by) > maxServices || len(col.pairs.by) > maxPairs {
			t.Errorf("%s: %d services and %d pairs, want at most %d and %d", when, len(col.services.by), len(col.pairs.by), maxServices, maxPairs)
		}
		if col.services.entries > maxSetEntries || col.pairs.entries > maxSetEntries {
			t.Errorf("%s: %d sources and %d ports, want at most %d each", when, col.services.entries, col.pairs.entries, maxSetEntries)
		}
		if len(col.hosts.ttl) > maxHosts {
			t.Errorf("%s: %d hosts, want at most %d", when, len(col.hosts.ttl), maxHosts)
		}
		if len(col.replaced) > table {
			t.Errorf("%s: %d replaced connections held, want at most %d", when, len(col.replaced), table)
		}
	}
	for i := range n {
		// Every connection from a client address of its own; the
		// half-open ones to one service (a flood), the others to
		// services of their own, more than the service table holds.
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
		server := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.2"), uint16(1+i%9000))
		script := closedConn
		switch i % 3 {
		case 0:
			script = refusedConn
			refused++
		case 1:
			script, server = halfOpenConn, flood
		}
		for _, f := range moved(script, client, server, testcap.Start+pcap.Time(i)*1e6, frame) {
			an.Add(&f)
		}
		frame += len(script)
		if i%10000 == 9999 {
			check("after " + string(rune('0'+i/10000)) + "0,000 connections")
		}
	}
	an.Close()
	check("at the end")
	if len(col.open) != 0 || len(col.replaced) != 0 {
		t.Errorf("after the capture: facts for %d connections, %d replaced ones held", len(col.open), len(col.replaced))
	}
	if col.services.pruned == 0 || col.pairs.pruned == 0 || col.hosts.dropped == 0 {
		t.Errorf("the caps were not reached: %d services and %d pairs pruned, %d packets of hosts dropped", col.services.pruned, col.pairs.pruned, col.hosts.dropped)
	}

	rep := col.Finish(an.Stats)
	if rep.ConnCount != n {
		t.Errorf("%d connections counted, want %d", rep.ConnCount, n)
	}
	if len(rep.Conns) > rows+len(rep.Groups) {
		t.Errorf("%d connections kept whole, want at most %d", len(rep.Conns), rows+len(rep.Groups))
	}
	g := rep.Group("refused")
	if g == nil || g.Conns != refused || len(g.Worst) != maxInstances {
		t.Fatalf("refused: group %+v, want %d connections and %d instances kept", g, refused, maxInstances)
	}
	var agg, flooded int
	for _, f := range rep.Findings {
		switch f.ID {
		case "refused":
			agg++
			if f.Conn != 0 || f.Conns != refused || !strings.HasPrefix(f.Explanation, "23334 connections of the capture's 70000") {
				t.Errorf("refused: conn %d, %d conns, %q", f.Conn, f.Conns, f.Explanation)
			}
		case "syn-flood":
			flooded++
			for _, w := range []string{"23333 of 23333 connection attempts to 192.0.2.1:80", "at least 4096 addresses"} {
				if !strings.Contains(f.Title+" "+f.Explanation, w) {
					t.Errorf("syn-flood does not say %q: %s %s", w, f.Title, f.Explanation)
				}
			}
		}
	}
	if agg != 1 || flooded != 1 {
		t.Errorf("%d refused findings and %d syn-flood findings, want one each", agg, flooded)
	}
	if rep.Counts[Error] != refused+1 {
		t.Errorf("%d errors counted, want %d (each refused connection and the flood)", rep.Counts[Error], refused+1)
	}
	// The connection a report would draw for refused is kept whole.
	if c := rep.Conn(g.Worst[0].Conn); c == nil || len(c.Findings) == 0 || c.Facts != nil || c.Client.History != nil {
		t.Errorf("the worst refused connection is not kept whole, or keeps its facts or history: %+v", c)
	}
}
