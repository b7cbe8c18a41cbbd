package compare_test

import (
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/compare"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/netlab"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

var record = flag.String("record", "", "save each router scenario's captures and record into `dir`/<scenario>/ (../../testdata/kernel/router)")

// routerRecordings is where the router scenarios' runs are kept.
const routerRecordings = "../../testdata/kernel/router"

// TestRouterScenarios runs each router scenario of netlab (as root) and
// checks that compare, given the capture at the client as A and the one
// at the server as B, names exactly what the router did, with the right
// frames, and nothing else but the delay. With -record it saves the runs.
func TestRouterScenarios(t *testing.T) {
	netlab.Require(t)
	for _, sc := range netlab.RouterCatalogue() {
		t.Run(sc.Name, func(t *testing.T) {
			r := netlab.Run(t, sc)
			if t.Failed() {
				return
			}
			for _, n := range r.Notes {
				t.Logf("%s", n)
			}
			if r.CaptureDropped != 0 {
				t.Fatalf("tcpdump missed %d frames", r.CaptureDropped)
			}
			if sc.Name != "router-snat" && sc.Name != "router-dnat" {
				// NAT hides the connection's two ends from each other's
				// namespace: the kernel's states are joined without it.
				e := sc.Expect
				if r.MaxPollGap > 10*time.Millisecond {
					// A loaded machine starved the poller: only the end
					// states, which last, are sure to have been seen.
					t.Logf("polls up to %v apart: checking the end states only", r.MaxPollGap)
					e.Client, e.Server = nil, nil
				}
				checkKernel(t, e, r.States(netlab.Client), r.States(netlab.Server))
			}
			client, _ := r.CaptureAt(netlab.PointClient)
			server, _ := r.CaptureAt(netlab.PointServer)
			checkRouter(t, sc.Name, client.Path, server.Path, r.Notes)
			if *record != "" && !t.Failed() {
				if err := r.SavePoints(*record); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// checkKernel checks the states a router scenario expects, and each end
// state it names.
func checkKernel(t *testing.T, e netlab.Expect, client, server []string) {
	t.Helper()
	if err := netlab.CheckExpect(e, client, server); err != nil {
		t.Errorf("kernel: %v", err)
	}
	for _, x := range []struct {
		who  string
		got  []string
		want string
	}{{"client", client, e.ClientEnd}, {"server", server, e.ServerEnd}} {
		// A socket never seen (it came and went between two polls) is
		// gone at the end too.
		if x.want != "" && !(len(x.got) == 0 && x.want == netlab.Gone) && (len(x.got) == 0 || x.got[len(x.got)-1] != x.want) {
			t.Errorf("kernel: the %s's states %v do not end in %s", x.who, x.got, x.want)
		}
	}
}

// TestRouterRecorded makes the same checks on the recorded runs, without
// root.
func TestRouterRecorded(t *testing.T) {
	for _, sc := range netlab.RouterCatalogue() {
		t.Run(sc.Name, func(t *testing.T) {
			path := filepath.Join(routerRecordings, sc.Name, "record.json")
			rec, err := netlab.LoadRecord(path)
			if err != nil {
				t.Fatalf("%v (record it as root: go test ./internal/compare -run TestRouterScenarios -args -record %s)", err, routerRecordings)
			}
			if rec.Doc != sc.Doc {
				t.Errorf("the recording's doc is not the scenario's: record it again")
			}
			files := map[string]string{}
			for _, c := range rec.Points() {
				files[c.Point] = c.PointPath(path)
			}
			checkRouter(t, sc.Name, files[netlab.PointClient], files[netlab.PointServer], rec.Notes)
		})
	}
}

// TestRouterPoints compares the router's own two interfaces, on one
// clock: what a capture on each side of a firewall shows.
func TestRouterPoints(t *testing.T) {
	path := filepath.Join(routerRecordings, "router-reject", "record.json")
	rec, err := netlab.LoadRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, c := range rec.Points() {
		files[c.Point] = c.PointPath(path)
	}
	conns, _ := run(t, readPcap(t, files[netlab.PointRouterIn]), readPcap(t, files[netlab.PointRouterOut]), compare.Options{ClockKnown: true})
	got := kinds(conns)
	if want := []string{"injected s2c", "lost c2s"}; !slices.Equal(got, want) {
		t.Errorf("router-in against router-out: %v, want %v", got, want)
	}
}

func readPcap(t *testing.T, path string) []pcap.Frame {
	t.Helper()
	if path == "" {
		t.Fatal("no capture")
	}
	return read(t, path)
}

// kinds lists the items other than delay, as "kind dir", sorted.
func kinds(conns []*compare.Conn) []string {
	var out []string
	for _, c := range conns {
		for _, it := range c.Items {
			if it.Kind != compare.KindDelay {
				d := "-"
				if it.HasDir {
					d = it.Dir.String()
				}
				out = append(out, it.Kind.String()+" "+d)
			}
		}
	}
	slices.Sort(out)
	return out
}

// checkRouter compares the client's capture (A) with the server's (B)
// and checks the items against what the scenario's router does.
func checkRouter(t *testing.T, name, clientPcap, serverPcap string, notes []string) {
	t.Helper()
	a, b := readPcap(t, clientPcap), readPcap(t, serverPcap)
	conns, sum := run(t, a, b, compare.Options{})
	if len(conns) != 1 || conns[0].Views[compare.A] == nil || conns[0].Views[compare.B] == nil {
		t.Fatalf("%d connections, want 1 seen at both points", len(conns))
	}
	c := conns[0]
	defer func() {
		if t.Failed() {
			for _, it := range c.Items {
				t.Logf("%s %s A%v B%v: %s\n  %s", it.Kind, it.Dir, it.Frames[compare.A], it.Frames[compare.B], it.Title, it.Text)
			}
		}
	}()
	if !c.ClientSideKnown || c.ClientSide != compare.A {
		t.Errorf("client side %v (known %v, %s), want A", c.ClientSide, c.ClientSideKnown, c.SideReason)
	}
	for d := range 2 {
		if !c.HopsKnown[d] || c.Hops[d] != 1 {
			t.Errorf("%s: %d hops (known %v), want the router's 1", conn.Dir(d), c.Hops[d], c.HopsKnown[d])
		}
		if c.Delay[d].N == 0 || c.Delay[d].Min < 0 {
			t.Errorf("%s: delay %+v", conn.Dir(d), c.Delay[d])
		}
	}
	if sum.Outside[compare.A]+sum.Outside[compare.B] != 0 {
		t.Errorf("segments outside the other capture: %v", sum.Outside)
	}
	// What the captures show, by the simplest rule (a segment's copy has
	// the same sequence and acknowledgment numbers, flags and length: the
	// router changes none of them): the client's segments missing at the
	// server, the server's missing at the client.
	onlyA, onlyB := missing(t, a, b)
	var want []string
	add := func(k compare.Kind, d conn.Dir, fa, fb []int) {
		want = append(want, fmt.Sprintf("%s %s A%v B%v", k, d, fa, fb))
	}
	for d := range 2 {
		dir := conn.Dir(d)
		// Lost: seen where its direction starts; injected: where it ends.
		upOnly, downOnly := onlyA[d], onlyB[d]
		if dir == conn.ServerToClient {
			upOnly, downOnly = onlyB[d], onlyA[d]
		}
		if len(upOnly) > 0 {
			if dir == conn.ClientToServer {
				add(compare.KindLost, dir, upOnly, nil)
			} else {
				add(compare.KindLost, dir, nil, upOnly)
			}
		}
		for _, f := range downOnly {
			if dir == conn.ServerToClient {
				add(compare.KindInjected, dir, []int{f}, nil)
			} else {
				add(compare.KindInjected, dir, nil, []int{f})
			}
		}
	}
	var got []string
	rewrites := map[compare.Kind][]*compare.Item{}
	for i := range c.Items {
		it := &c.Items[i]
		switch it.Kind {
		case compare.KindDelay:
		case compare.KindLost, compare.KindInjected:
			got = append(got, fmt.Sprintf("%s %s A%v B%v", it.Kind, it.Dir, it.Frames[compare.A], it.Frames[compare.B]))
		default:
			rewrites[it.Kind] = append(rewrites[it.Kind], it)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("lost and injected:\n  %s\nthe captures show:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	var wantKinds []compare.Kind
	switch name {
	case "router-clean", "router-queue":
		if len(want) > 0 {
			t.Errorf("the path lost or made segments: %v", want)
		}
	case "router-drop":
		if len(onlyA[0]) != 1 || len(onlyB[1])+len(onlyA[1])+len(onlyB[0]) != 0 {
			t.Errorf("the router dropped one client segment; the captures show %v at the client only, %v at the server only", onlyA, onlyB)
		}
		if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "DROP") && strings.Contains(n, " 1 ") }) {
			t.Errorf("iptables did not count one DROP: %q", notes)
		}
		for _, it := range c.Items {
			if it.Kind == compare.KindLost && !strings.Contains(it.Text, "resent it in") {
				t.Errorf("the lost segment's resend is not named: %s", it.Text)
			}
		}
	case "router-reject":
		if len(onlyA[0]) != 1 || len(onlyA[1]) != 1 || len(onlyB[0])+len(onlyB[1]) != 0 {
			t.Errorf("the router dropped the request and forged a RST; the captures show %v at the client only, %v at the server only", onlyA, onlyB)
		}
		for _, it := range c.Items {
			if it.Kind == compare.KindInjected && (!strings.Contains(it.Title, "RST") || it.Alone[compare.A] == "" || !strings.Contains(it.Text, "TTL")) {
				t.Errorf("the injected reset is not named as such, with its TTL and what A alone shows: %s / %s / %q", it.Title, it.Text, it.Alone)
			}
		}
	case "router-snat":
		wantKinds = []compare.Kind{compare.KindNAT}
		if cb := c.Views[compare.B].Client; cb.Addr() != netlab.RouterServerIPv4 || cb.Port() < 61000 || cb.Port() > 61099 {
			t.Errorf("the client at B is %v, want the router's 10.77.2.254 and a port in 61000-61099", cb)
		}
	case "router-dnat":
		wantKinds = []compare.Kind{compare.KindNAT}
		if sa := c.Views[compare.A].Server; sa.Addr() != netlab.RouterClientIPv4 {
			t.Errorf("the server at A is %v, want the router's 10.77.1.254", sa)
		}
	case "router-mss":
		wantKinds = []compare.Kind{compare.KindMSS}
		for _, it := range rewrites[compare.KindMSS] {
			if it.From != "1460" || it.To != "1200" || it.Count != 1 {
				t.Errorf("%s: MSS %s → %s on %d segments, want 1460 → 1200 on the SYN or SYN-ACK", it.Dir, it.From, it.To, it.Count)
			}
			checkSYN(t, it, a, b)
		}
	case "router-optstrip":
		wantKinds = []compare.Kind{compare.KindOptionStrip}
		opts := map[string]int{}
		for _, it := range rewrites[compare.KindOptionStrip] {
			opts[it.Dir.String()+" "+it.Option]++
			if !strings.Contains(it.Title, "NOPs") {
				t.Errorf("%s %s: %s, want overwritten with NOPs", it.Dir, it.Option, it.Title)
			}
			checkSYN(t, it, a, b)
		}
		if want := map[string]int{"c2s wscale": 1, "c2s sackOK": 1, "c2s TS": 1}; !mapsEqual(opts, want) {
			t.Errorf("options stripped %v, want %v", opts, want)
		}
	case "router-ecn":
		wantKinds = []compare.Kind{compare.KindECN}
		for _, it := range rewrites[compare.KindECN] {
			if it.From != "ECT(0)" || it.To != "not-ECT" || !strings.Contains(it.Title, "bleached") {
				t.Errorf("%s: %s (%s → %s), want ECT(0) bleached to not-ECT", it.Dir, it.Title, it.From, it.To)
			}
		}
		if len(rewrites[compare.KindECN]) != 2 {
			t.Errorf("%d ECN items, want one each way", len(rewrites[compare.KindECN]))
		}
	}
	// A Linux router between veths reorders now and then (each veth
	// hands its packets to the CPU that sent them): a reordering the
	// captures show, two segments that reached B in the other order
	// than they passed A, is the path's, whatever the scenario.
	for _, it := range rewrites[compare.KindReordered] {
		fa, fb := it.Frames[compare.A], it.Frames[compare.B]
		if len(fa) != 2 || len(fb) != 2 || (fa[0] < fa[1]) == (fb[0] < fb[1]) || !sameSegment(t, a, fa[0], b, fb[0]) || !sameSegment(t, a, fa[1], b, fb[1]) {
			t.Errorf("reordered %s A%v B%v: the captures do not show those segments swapped", it.Dir, fa, fb)
		}
	}
	delete(rewrites, compare.KindReordered)
	var gotKinds []compare.Kind
	for k := range rewrites {
		gotKinds = append(gotKinds, k)
	}
	slices.Sort(gotKinds)
	if !slices.Equal(gotKinds, wantKinds) {
		t.Errorf("rewrites %v, want %v", gotKinds, wantKinds)
	}
	if name == "router-queue" {
		up, down := c.Delay[conn.ClientToServer], c.Delay[conn.ServerToClient]
		if up.Max-up.Min < 10*time.Millisecond || up.Max-up.Min < 4*(down.Max-down.Min) {
			t.Errorf("queueing: c2s delay %v to %v, s2c %v to %v; want c2s to grow well above its least, and above s2c's spread", up.Min, up.Max, down.Min, down.Max)
		}
		if !slices.ContainsFunc(c.Items, func(it compare.Item) bool { return strings.Contains(it.Text, "queueing") }) {
			t.Errorf("queueing not named")
		}
		if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "dropped 0,") }) {
			t.Errorf("the queue dropped segments: %q", notes)
		}
	}
}

// sameSegment says frame na of a and frame nb of b are one segment's
// copies: the router changes no sequence or acknowledgment number, and
// no length.
func sameSegment(t *testing.T, a []pcap.Frame, na int, b []pcap.Frame, nb int) bool {
	t.Helper()
	i := slices.IndexFunc(a, func(f pcap.Frame) bool { return f.Number == na })
	j := slices.IndexFunc(b, func(f pcap.Frame) bool { return f.Number == nb })
	var x, y wire.Segment
	if i < 0 || j < 0 || wire.Decode(&a[i], &x) != nil || wire.Decode(&b[j], &y) != nil {
		return false
	}
	return x.Seq == y.Seq && x.Ack == y.Ack && x.PayloadLen == y.PayloadLen
}

// checkSYN checks that an item's frames are the SYN or SYN-ACK at both
// points.
func checkSYN(t *testing.T, it *compare.Item, a, b []pcap.Frame) {
	t.Helper()
	for side, fs := range [][]pcap.Frame{a, b} {
		if len(it.Frames[side]) != 1 {
			t.Errorf("%s %s: frames %v at %s, want the SYN", it.Kind, it.Option, it.Frames[side], compare.Side(side))
			continue
		}
		var s wire.Segment
		f := fs[it.Frames[side][0]-1]
		wire.Decode(&f, &s)
		if !s.Flags.Has(wire.SYN) {
			t.Errorf("%s %s: %s#%d is [%s], want a SYN", it.Kind, it.Option, compare.Side(side), f.Number, s.Flags)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// missing returns, by direction, the frames of each capture with no frame
// in the other of the same sequence and acknowledgment numbers, flags and
// length; the direction is told by the client's port at each point, which
// its first frame, the client's SYN, gives.
func missing(t *testing.T, a, b []pcap.Frame) (onlyA, onlyB [2][]int) {
	t.Helper()
	type key struct {
		fromClient bool
		seq, ack   uint32
		flags      wire.Flags
		plen       int
	}
	keys := func(fs []pcap.Frame) ([]key, map[key]int) {
		var ks []key
		m := map[key]int{}
		var clientPort uint16
		for i := range fs {
			var s wire.Segment
			if err := wire.Decode(&fs[i], &s); err != nil && s.TCP == nil {
				t.Fatalf("frame %d: %v", fs[i].Number, err)
			}
			if i == 0 {
				clientPort = s.Src.Port()
			}
			k := key{s.Src.Port() == clientPort, uint32(s.Seq), uint32(s.Ack), s.Flags &^ (wire.ECE | wire.CWR), s.PayloadLen}
			ks = append(ks, k)
			m[k]++
		}
		return ks, m
	}
	ka, ma := keys(a)
	kb, mb := keys(b)
	for i, k := range ka {
		if mb[k] > 0 {
			mb[k]--
			continue
		}
		d := 1
		if k.fromClient {
			d = 0
		}
		onlyA[d] = append(onlyA[d], a[i].Number)
	}
	_, mb = keys(b)
	for i, k := range kb {
		if ma[k] > 0 {
			ma[k]--
			continue
		}
		d := 1
		if k.fromClient {
			d = 0
		}
		onlyB[d] = append(onlyB[d], b[i].Number)
	}
	return onlyA, onlyB
}

// TestRouterBesideRouter compares, in every router scenario, the capture
// at each end with the capture on the router's interface facing it: a
// veth apart, with nothing between them but a wire (the router's rules act
// past its own interface), they must show nothing but the delay, whatever
// the router did, and each pair must know which point is nearer the
// client from the delays alone (no TTL drops on a wire).
func TestRouterBesideRouter(t *testing.T) {
	for _, sc := range netlab.RouterCatalogue() {
		t.Run(sc.Name, func(t *testing.T) {
			path := filepath.Join(routerRecordings, sc.Name, "record.json")
			rec, err := netlab.LoadRecord(path)
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			for _, c := range rec.Points() {
				files[c.Point] = c.PointPath(path)
			}
			for _, pair := range [][2]string{{netlab.PointClient, netlab.PointRouterIn}, {netlab.PointRouterOut, netlab.PointServer}} {
				conns, _ := run(t, readPcap(t, files[pair[0]]), readPcap(t, files[pair[1]]), compare.Options{})
				if got := kinds(conns); len(got) != 0 {
					t.Errorf("%s against %s: %v, want nothing but the delay", pair[0], pair[1], got)
				}
				for _, c := range conns {
					if c.Views[compare.A] == nil || c.Views[compare.B] == nil {
						t.Errorf("%s against %s: a connection seen at one point only", pair[0], pair[1])
					}
					if !c.ClientSideKnown || c.ClientSide != compare.A || c.HopsKnown[0] && c.Hops[0] != 0 {
						t.Errorf("%s against %s: client side %v (known %v: %s), %d hops; want A, from the delays, and no hop",
							pair[0], pair[1], c.ClientSide, c.ClientSideKnown, c.SideReason, c.Hops[0])
					}
				}
			}
		})
	}
}

// TestRelayScenarios runs netlab scenarios whose relay drops frames on
// their way (as root), captured at the client (A) and at the server (B) at
// once, and checks that compare finds lost exactly the frames the relay
// says it dropped, from the side each was sent, and nothing else but the
// delay: a data segment, the handshake's last ACK, the full-sized
// segments of a path MTU black hole. Where the relay dropped every SYN of
// the only connection, B's capture holds nothing at all, and compare must
// say the connection was seen at A only and that whether it passed B
// cannot be told.
func TestRelayScenarios(t *testing.T) {
	netlab.Require(t)
	for _, name := range []string{"fast-retransmit", "lost-handshake-ack", "syn-timeout", "pmtu-blackhole"} {
		t.Run(name, func(t *testing.T) {
			sc, ok := netlab.Lookup(name)
			if !ok {
				t.Fatalf("no scenario %s", name)
			}
			r := netlab.Run(t, sc)
			if t.Failed() {
				return
			}
			client, _ := r.CaptureAt(netlab.PointClient)
			server, _ := r.CaptureAt(netlab.PointServer)
			a, b := readPcap(t, client.Path), readPcap(t, server.Path)
			conns, _ := run(t, a, b, compare.Options{})
			// The frames the relay dropped, at the point their sender is
			// next to: the client's at A, the server's at B.
			var want []string
			for _, d := range r.Drops {
				fs, side := a, compare.A
				if d.Dir == netlab.ServerToClient {
					fs, side = b, compare.B
				}
				n := frameOf(t, fs, d)
				if n == 0 {
					t.Fatalf("the dropped %v is not in the %s capture", d, side)
				}
				want = append(want, fmt.Sprintf("%s#%d", side, n))
			}
			var got []string
			for _, c := range conns {
				for _, it := range c.Items {
					switch it.Kind {
					case compare.KindOnlyAt:
						if name == "syn-timeout" && strings.Contains(it.Text, "cannot be told") {
							got, want = nil, nil
							continue
						}
						t.Errorf("%s: %s", it.Kind, it.Text)
					case compare.KindDelay:
					case compare.KindLost:
						for side, fs := range it.Frames {
							for _, f := range fs {
								got = append(got, fmt.Sprintf("%s#%d", compare.Side(side), f))
							}
						}
					default:
						t.Errorf("%s %s: %s", it.Kind, it.Dir, it.Title)
					}
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("lost %v, the relay dropped %v", got, want)
			}
		})
	}
}

// frameOf finds the frame the relay dropped in a capture: of those with
// its flags, sequence and acknowledgment numbers and length (a resent SYN
// has all of them the same), the one captured nearest the time the relay
// took it.
func frameOf(t *testing.T, fs []pcap.Frame, d netlab.Dropped) int {
	t.Helper()
	best, bestGap := 0, time.Duration(1<<62)
	for i := range fs {
		var s wire.Segment
		if err := wire.Decode(&fs[i], &s); err != nil && s.TCP == nil {
			continue
		}
		if uint32(s.Seq) != d.Seq || uint32(s.Ack) != d.Ack || s.Flags != d.Flags || s.PayloadLen != d.Len {
			continue
		}
		gap := fs[i].Time.Std().Sub(d.Time)
		if gap < 0 {
			gap = -gap
		}
		if gap < bestGap {
			best, bestGap = fs[i].Number, gap
		}
	}
	return best
}
