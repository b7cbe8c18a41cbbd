package compare_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/compare"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// frames is a compare.Source over frames in memory.
type frames struct {
	fs []pcap.Frame
	i  int
}

func (s *frames) Next() (pcap.Frame, bool) {
	if s.i >= len(s.fs) {
		return pcap.Frame{}, false
	}
	s.i++
	return s.fs[s.i-1], true
}

// run compares two lists of frames.
func run(t *testing.T, a, b []pcap.Frame, o compare.Options) ([]*compare.Conn, *compare.Summary) {
	t.Helper()
	var conns []*compare.Conn
	sum := compare.Run(&frames{fs: a}, &frames{fs: b}, o, func(c *compare.Conn) { conns = append(conns, c) })
	return conns, sum
}

func read(t *testing.T, path string) []pcap.Frame {
	t.Helper()
	fs, err := testcap.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

var (
	labClient = netip.MustParseAddr("10.77.0.1")
	c2s       = conn.ClientToServer
	s2c       = conn.ServerToClient
)

// want is an item a test expects: its kind and direction and its frames,
// given as frame numbers of the input capture (mapped to their numbers at
// A and at B by the path).
type want struct {
	kind compare.Kind
	dir  conn.Dir
	a, b []int // input frame numbers; for injected frames, -n is the nth injected frame's number at that point
}

// item is an item as the test compares it: kind, direction, frames.
func item(it *compare.Item) string {
	d := "-"
	if it.HasDir {
		d = it.Dir.String()
	}
	return fmt.Sprintf("%s %s A%v B%v", it.Kind, d, it.Frames[compare.A], it.Frames[compare.B])
}

// TestPath compares captures of the lab with copies made by a path that
// changes them as routers and middleboxes do, and checks that compare
// names exactly what the path did, with the frames at both points, and
// nothing else but the delay.
func TestPath(t *testing.T) {
	fr := read(t, "../../testdata/kernel/fast-retransmit.pcap")
	rst := rstFrame(t, fr[12], 20*time.Microsecond) // a RST in the server's name after the client's 13th frame
	tests := []struct {
		name       string
		path       testcap.Path
		want       []want
		clockKnown bool
	}{
		{name: "clean", path: testcap.Path{}},
		{name: "router", path: testcap.Path{TTLDrop: 1}},
		{name: "drop", path: testcap.Path{Drop: []int{8}}, want: []want{{compare.KindLost, c2s, []int{8}, nil}}},
		{name: "drop-server", path: testcap.Path{Drop: []int{14}}, want: []want{{compare.KindLost, s2c, nil, []int{14}}}},
		{name: "captured-not-lost", path: testcap.Path{Drop: []int{9}}, want: []want{{compare.KindNotCaptured, c2s, []int{9}, nil}}},
		{name: "snat-dnat", path: testcap.Path{NAT: map[netip.AddrPort]netip.AddrPort{
			netip.MustParseAddrPort("10.77.0.1:40001"): netip.MustParseAddrPort("192.0.2.1:61000"),
			netip.MustParseAddrPort("10.77.0.2:8000"):  netip.MustParseAddrPort("10.99.0.2:80"),
		}}, want: []want{{compare.KindNAT, 0, []int{1}, []int{1}}}},
		{name: "seq-offset", path: testcap.Path{SeqC2S: 1 << 31, SeqS2C: 12345}, want: []want{
			{compare.KindSeqOffset, c2s, []int{1}, []int{1}}, {compare.KindSeqOffset, s2c, []int{2}, []int{2}}}},
		{name: "seq-offset-broken-sack", path: testcap.Path{SeqC2S: 777, BrokenSACK: true}, want: []want{
			{compare.KindSeqOffset, c2s, []int{1}, []int{1}},
			{compare.KindOptionChange, s2c, []int{22, 23, 24, 25, 26}, []int{22, 23, 24, 25, 26}}}},
		{name: "mss", path: testcap.Path{ClampMSS: 1400}, want: []want{
			{compare.KindMSS, c2s, []int{1}, []int{1}}, {compare.KindMSS, s2c, []int{2}, []int{2}}}},
		{name: "strip-wscale", path: testcap.Path{Strip: []uint8{wire.OptWindowScale}}, want: []want{
			{compare.KindOptionStrip, c2s, []int{1}, []int{1}}, {compare.KindOptionStrip, s2c, []int{2}, []int{2}}}},
		{name: "strip-sackok", path: testcap.Path{Strip: []uint8{wire.OptSACKPermitted}}, want: []want{
			{compare.KindOptionStrip, c2s, []int{1}, []int{1}}, {compare.KindOptionStrip, s2c, []int{2}, []int{2}}}},
		{name: "strip-timestamps", path: testcap.Path{Strip: []uint8{wire.OptTimestamps}}, want: []want{
			{compare.KindOptionStrip, c2s, []int{1, 3, 4, 5, 6}, []int{1, 3, 4, 5, 6}},
			{compare.KindOptionStrip, s2c, []int{2, 14, 17, 20, 21}, []int{2, 14, 17, 20, 21}}}},
		{name: "injected-rst", path: testcap.Path{Inject: []pcap.Frame{rst}}, want: []want{
			{compare.KindInjected, s2c, []int{-1}, nil}}},
		{name: "duplicate", path: testcap.Path{Dup: []int{5}}, want: []want{
			{compare.KindDuplicated, c2s, []int{5}, []int{5, -1}}}},
		{name: "reorder", path: testcap.Path{Swap: [][2]int{{10, 11}}}, want: []want{
			{compare.KindReordered, c2s, []int{10, 11}, []int{10, 11}}}},
		{name: "clock-offset", path: testcap.Path{ClockOffset: 250 * time.Millisecond}},
		// A delay longer one way is invisible to the estimate (the
		// offset absorbs half of it) and exact with the clocks' offset
		// given.
		{name: "asymmetric", path: testcap.Path{DelayC2S: 40 * time.Millisecond}, clockKnown: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path
			p.Client = labClient
			p.Delay = 5 * time.Millisecond
			a, b, atA, atB := p.Apply(fr)
			conns, sum := run(t, a, b, compare.Options{ClockKnown: tc.clockKnown})
			if len(conns) != 1 {
				t.Fatalf("%d connections, want 1", len(conns))
			}
			c := conns[0]
			var got, wantS []string
			for i := range c.Items {
				if c.Items[i].Kind != compare.KindDelay {
					got = append(got, item(&c.Items[i]))
				}
			}
			for _, w := range tc.want {
				it := compare.Item{Kind: w.kind, Dir: w.dir, HasDir: w.kind != compare.KindNAT}
				it.Frames[compare.A] = mapFrames(w.a, atA, a)
				it.Frames[compare.B] = mapFrames(w.b, atB, b)
				wantS = append(wantS, item(&it))
			}
			slices.Sort(got)
			slices.Sort(wantS)
			if !slices.Equal(got, wantS) {
				t.Errorf("items:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(wantS, "\n  "))
				for _, it := range c.Items {
					t.Logf("%s: %s\n%s", it.Kind, it.Title, it.Text)
				}
			}
			if !c.ClientSideKnown || c.ClientSide != compare.A {
				t.Errorf("client side %v (known %v, %s), want A", c.ClientSide, c.ClientSideKnown, c.SideReason)
			}
			// The same pair the other way round: the same items, their
			// frames at the other points, the client's side B.
			if tc.clockKnown {
				return // the offset given is B's clock minus A's
			}
			swapped, _ := run(t, b, a, compare.Options{})
			if len(swapped) != 1 {
				t.Fatalf("swapped: %d connections", len(swapped))
			}
			var back []string
			for i := range swapped[0].Items {
				it := swapped[0].Items[i]
				if it.Kind == compare.KindDelay {
					continue
				}
				it.Frames[compare.A], it.Frames[compare.B] = it.Frames[compare.B], it.Frames[compare.A]
				back = append(back, item(&it))
			}
			slices.Sort(back)
			if !slices.Equal(back, got) {
				t.Errorf("B against A:\n  %s\nA against B:\n  %s", strings.Join(back, "\n  "), strings.Join(got, "\n  "))
			}
			if sc := swapped[0]; !sc.ClientSideKnown || sc.ClientSide != compare.B {
				t.Errorf("swapped: client side %v (known %v), want B", sc.ClientSide, sc.ClientSideKnown)
			}
			if d := sum.ClockOffset - p.ClockOffset; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("clock offset %v, want %v", sum.ClockOffset, p.ClockOffset)
			}
			for pd, want := range []time.Duration{p.Delay + p.DelayC2S, p.Delay} {
				d := c.Delay[pd]
				if d.N == 0 || d.Min < want-2*time.Microsecond || d.Max > want+2*time.Microsecond {
					t.Errorf("%v delay %v to %v over %d, want %v", conn.Dir(pd), d.Min, d.Max, d.N, want)
				}
				if !c.HopsKnown[pd] || c.Hops[pd] != int(p.TTLDrop) {
					t.Errorf("%v hops %d (known %v), want %d", conn.Dir(pd), c.Hops[pd], c.HopsKnown[pd], p.TTLDrop)
				}
			}
		})
	}
}

// mapFrames converts input frame numbers to a point's: -n is the nth
// frame of the list that is not from the input (injected, or a duplicate).
func mapFrames(in []int, at map[int]int, list []pcap.Frame) []int {
	var extra []int
	seen := map[int]bool{}
	for _, n := range at {
		seen[n] = true
	}
	for _, f := range list {
		if !seen[f.Number] {
			extra = append(extra, f.Number)
		}
	}
	var out []int
	for _, n := range in {
		if n < 0 {
			out = append(out, extra[-n-1])
			continue
		}
		out = append(out, at[n])
	}
	return out
}

// rstFrame is a RST from the server, d after frame f (the client's), to the
// client, with the TTL and IP ID a firewall's own reset has.
func rstFrame(t *testing.T, f pcap.Frame, d time.Duration) pcap.Frame {
	t.Helper()
	var s wire.Segment
	if err := wire.Decode(&f, &s); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("t=0 s>c R. seq=0 ack=0 win=0 ttl=255 ipid=0")
	r := testcap.Build(script)[0]
	var rs wire.Segment
	wire.Decode(&r, &rs)
	// Address it as the server answering the client's segment.
	ip, tcp := r.Data[rs.IPOffset:], r.Data[rs.TCPOffset:]
	src, dst := s.Dst.Addr().As4(), s.Src.Addr().As4()
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(tcp[0:], s.Dst.Port())
	binary.BigEndian.PutUint16(tcp[2:], s.Src.Port())
	binary.BigEndian.PutUint32(tcp[4:], uint32(s.Ack))
	binary.BigEndian.PutUint32(tcp[8:], uint32(s.SeqEnd()))
	r.Time = f.Time + pcap.Time(d)
	return r
}
