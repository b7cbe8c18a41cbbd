package compare

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// finishJob is a connection the matcher is done with, and which point is
// nearer its client, for the finisher to report.
type finishJob struct {
	p      *pair // seen at both points, or
	f      *flow // seen at one
	side   Side
	known  bool
	reason string
}

// finish hands a connection the matcher is done with to the finisher,
// deciding first, while the matcher's tallies are at hand, which point
// is nearer its client.
func (m *matcher) finish(p *pair, f *flow) {
	j := finishJob{p: p, f: f}
	if p != nil {
		j.side, j.known, j.reason = m.clientSide(p)
		if j.known && !strings.HasPrefix(j.reason, "as ") {
			m.votes[j.side]++
		}
	} else {
		j.side, j.known, j.reason = m.globalSide()
	}
	m.fin <- j
}

// finisher reports connections, on a goroutine of its own: the words and
// whatever onConn does take the matcher's time otherwise. It reads what
// the matcher no longer writes: the pair, its flows, the clocks' offset.
func (m *matcher) finisher(done chan<- struct{}) {
	for j := range m.fin {
		if j.p != nil {
			m.finishPair(j)
		} else {
			m.finishLone(j)
		}
	}
	close(done)
}

// Upstream is the point that the connection's direction pd passes first,
// when known.
func (c *Conn) Upstream(pd conn.Dir) (Side, bool) {
	if !c.ClientSideKnown {
		return 0, false
	}
	if pd == conn.ClientToServer {
		return c.ClientSide, true
	}
	return c.ClientSide.Other(), true
}

// finishPair reports a connection seen at both points.
func (m *matcher) finishPair(j finishJob) {
	p := j.p
	c := &Conn{Trace: p.trace}
	for _, side := range []Side{A, B} {
		c.Views[side] = viewOf(p.flow[side], p, side)
	}
	c.ClientSide, c.ClientSideKnown, c.SideReason = j.side, j.known, j.reason
	w := words{c: c, p: p, m: m}
	for pd := conn.Dir(0); pd < 2; pd++ {
		d := &p.dir[pd]
		c.Matched[pd] = d.matched
		up, upKnown := c.Upstream(pd)
		if d.delay.n > 0 {
			c.Delay[pd] = m.oneWay(&d.delay, up)
		}
		if d.hops.n > 0 && upKnown {
			c.Hops[pd], c.HopsKnown[pd] = d.hops.min, true
			if up == B {
				c.Hops[pd] = -d.hops.max
			}
		}
	}
	w.identity()
	for pd := conn.Dir(0); pd < 2; pd++ {
		for i := range p.dir[pd].rewrites {
			w.rewrite(pd, &p.dir[pd].rewrites[i])
		}
	}
	for i := range p.events {
		w.event(&p.events[i])
	}
	w.resets()
	for pd := conn.Dir(0); pd < 2; pd++ {
		if p.dir[pd].delay.n > 0 {
			w.delay(pd)
		}
	}
	m.emit(c)
}

// emit sorts a connection's items and hands it over.
func (m *matcher) emit(c *Conn) {
	slices.SortStableFunc(c.Items, func(x, y Item) int {
		if gx, gy := kindGroup(x.Kind), kindGroup(y.Kind); gx != gy {
			return gx - gy
		}
		if x.Time != y.Time && kindGroup(x.Kind) == 2 {
			return cmpTime(x.Time, y.Time)
		}
		return int(x.Dir) - int(y.Dir)
	})
	m.sum.Conns++
	if c.Views[A] != nil && c.Views[B] != nil {
		m.sum.Paired++
		if c.ClientSideKnown {
			m.sum.Clients[c.ClientSide]++
		}
	}
	for _, it := range c.Items {
		m.sum.Counts[it.Kind]++
	}
	if m.onConn != nil {
		m.onConn(c)
	}
}

// kindGroup orders a connection's items: who it is, what the path
// rewrote, what happened to segments, the delay.
func kindGroup(k Kind) int {
	switch k {
	case KindNAT, KindSeqOffset:
		return 0
	case KindLost, KindNotCaptured, KindInjected, KindDuplicated, KindReordered, KindUnmatched, KindOnlyAt:
		return 2
	case KindDelay:
		return 3
	}
	return 1
}

func viewOf(f *flow, p *pair, side Side) *View {
	v := &View{Conn: f.id, RoleGuessed: f.role != conn.RoleSYN, FirstFrame: f.firstFrame, LastFrame: f.lastFrame}
	d0 := conn.Dir(0)
	if p != nil {
		d0 = p.local[side][0]
	}
	v.Client, v.Server = f.endpoint(d0), f.endpoint(1-d0)
	v.Packets[0], v.Packets[1] = f.packets[d0], f.packets[1-d0]
	return v
}

// oneWay converts the raw differences (B's time minus A's) of one
// direction into its one-way delay, from the upstream point.
func (m *matcher) oneWay(w *welford, up Side) Delay {
	th := int64(m.theta)
	d := Delay{N: w.n, SD: time.Duration(math.Sqrt(w.m2 / float64(w.n)))}
	if up == A {
		d.Min, d.Max = time.Duration(w.min-th), time.Duration(w.max-th)
		d.Mean = time.Duration(w.mean - float64(th))
		d.MinFrames, d.MaxFrames = w.minFrames, w.maxFrms
	} else {
		d.Min, d.Max = time.Duration(th-w.max), time.Duration(th-w.min)
		d.Mean = time.Duration(float64(th) - w.mean)
		d.MinFrames, d.MaxFrames = w.maxFrms, w.minFrames
	}
	return d
}

// finishLone reports a connection seen at one point only.
func (m *matcher) finishLone(j finishJob) {
	f := j.f
	side := f.m.side
	c := &Conn{}
	c.Views[side] = viewOf(f, nil, side)
	if f.m.lone == nil {
		// Every segment fell outside the other capture.
		m.sum.OnlyAt[side]++
		m.emit(c)
		return
	}
	m.sum.OnlyAt[side]++
	l := f.m.lone
	cs, known := j.side, j.known
	c.ClientSide, c.ClientSideKnown, c.SideReason = cs, known, j.reason
	w := words{c: c, m: m}
	single := l.n[0] == 0 || l.n[1] == 0
	d := conn.Dir(0)
	if l.n[0] == 0 {
		d = 1
	}
	if single && !known {
		// Nothing else orders the points: the point that saw the
		// segments is the one they passed first, if the other is on
		// their path at all.
		c.ClientSide, c.ClientSideKnown = side, true
		if d == conn.ServerToClient {
			c.ClientSide = side.Other()
		}
		c.SideReason = "by elimination: only " + side.String() + " saw these segments"
		known, cs = true, c.ClientSide
	}
	up := known && (d == conn.ClientToServer) == (cs == side)
	switch {
	case !single || l.outside == l.n[0]+l.n[1]:
		w.onlyAt(side, l)
	case up:
		w.loneLost(side, d, l)
	default:
		w.loneInjected(side, d, l)
	}
	m.emit(c)
}

// finishSummary fills the summary's figures from the path accumulators.
func (m *matcher) finishSummary() {
	for i := range m.paths {
		pa := &m.paths[i]
		if pa.w.n == 0 {
			continue
		}
		pd := &m.sum.Delay[i]
		pd.N = pa.w.n
		pd.Min, pd.Max = time.Duration(pa.w.min), time.Duration(pa.w.max)
		pd.Mean = time.Duration(pa.w.mean)
		pd.SD = time.Duration(math.Sqrt(pa.w.m2 / float64(pa.w.n)))
		pd.MinFrames, pd.MaxFrames = pa.w.minFrames, pa.w.maxFrms
		pd.Median, pd.P99 = pa.h.quantile(0.5, pa.w.min, pa.w.max), pa.h.quantile(0.99, pa.w.min, pa.w.max)
		pd.HopsMin, pd.HopsMax, pd.HopsN = pa.hops.min, pa.hops.max, pa.hops.n
	}
}

// words turns a connection's events and rewrites into items.
type words struct {
	c *Conn
	p *pair // nil for a connection seen at one point
	m *matcher
}

func (w *words) add(it Item) { w.c.Items = append(w.c.Items, it) }

// who names the sender of direction d: "the client 10.77.0.1:40001" as
// the point saw it.
func (w *words) who(d conn.Dir, side Side) string {
	v := w.c.Views[side]
	if d == conn.ClientToServer {
		return "the client " + v.Client.String()
	}
	return "the server " + v.Server.String()
}

func role(d conn.Dir) string {
	if d == conn.ClientToServer {
		return "client"
	}
	return "server"
}

func ref(side Side, frame int) string { return side.String() + "#" + strconv.Itoa(frame) }

// refs lists frames of one point: "A#3, A#5 and A#9".
func refs(side Side, frames []int, more int) string {
	var b strings.Builder
	for i, f := range frames {
		switch {
		case i == 0:
		case i == len(frames)-1 && more == 0:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(ref(side, f))
	}
	if more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	return b.String()
}

// describe is a segment in tcpdump's terms: "[P.] seq 1:1449 ack 1 (1448 bytes)".
func describe(s evSeg) string {
	f := wire.Flags(s.flags)
	var b strings.Builder
	fmt.Fprintf(&b, "[%s]", f)
	if s.plen > 0 || f&(wire.SYN|wire.FIN) != 0 || f&wire.ACK == 0 {
		n := s.plen
		if f.Has(wire.SYN) {
			n++
		}
		if f.Has(wire.FIN) {
			n++
		}
		if s.plen > 0 {
			fmt.Fprintf(&b, " seq %d:%d", s.relSeq, s.relSeq+s.plen)
		} else {
			fmt.Fprintf(&b, " seq %d", s.relSeq)
		}
	}
	if f.Has(wire.ACK) {
		fmt.Fprintf(&b, " ack %d", s.relAck)
	}
	if s.plen > 0 {
		fmt.Fprintf(&b, " (%d bytes)", s.plen)
	}
	return b.String()
}

// what names a segment by its flags, for a title.
func what(s evSeg) string {
	f := wire.Flags(s.flags)
	switch {
	case f.Has(wire.RST):
		return "RST"
	case f.Has(wire.SYN | wire.ACK):
		return "SYN-ACK"
	case f.Has(wire.SYN):
		return "SYN"
	case f.Has(wire.FIN):
		return "FIN"
	case s.plen > 0:
		return "data segment"
	}
	return "ACK"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// ms prints a duration with three significant digits in the unit that
// reads best, as every tcplens output does ("5.02 ms", "85.0 µs");
// render.AppendDuration and diagnose's dur print the same, and neither
// can be imported here.
func ms(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	for _, u := range []struct {
		size time.Duration
		name string
	}{{time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "µs"}} {
		if d >= u.size {
			v := float64(d) / float64(u.size)
			prec := 0
			if v < 10 {
				prec = 2
			} else if v < 100 {
				prec = 1
			}
			return sign + strconv.FormatFloat(v, 'f', prec, 64) + " " + u.name
		}
	}
	return sign + strconv.FormatInt(int64(d), 10) + " ns"
}

// bitRate prints bits a second with three significant digits.
func bitRate(bps float64) string {
	v, unit := bps/1e6, "Mbit/s"
	if v >= 1000 {
		v, unit = v/1000, "Gbit/s"
	}
	prec := 0
	if v < 10 {
		prec = 2
	} else if v < 100 {
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + " " + unit
}

// identity says how the path renamed the connection: NAT and sequence
// offsets.
func (w *words) identity() {
	va, vb := w.c.Views[A], w.c.Views[B]
	if va.Client != vb.Client || va.Server != vb.Server {
		cs := w.c.ClientSide
		if !w.c.ClientSideKnown {
			cs = A
		}
		ss := cs.Other()
		var parts []string
		cv, sv := w.c.Views[cs], w.c.Views[ss]
		if cv.Client != sv.Client {
			parts = append(parts, fmt.Sprintf("the client %s became %s (source NAT)", cv.Client, sv.Client))
		}
		if cv.Server != sv.Server {
			parts = append(parts, fmt.Sprintf("the server %s was addressed as %s (destination NAT)", sv.Server, cv.Server))
		}
		it := Item{Kind: KindNAT, Count: 1, Time: w.p.first,
			Frames: [2][]int{{va.FirstFrame}, {vb.FirstFrame}},
			Title:  "addresses rewritten in the path: " + strings.Join(parts, "; "),
			Text: fmt.Sprintf("At %s the connection is %s → %s, at %s %s → %s: the same segments, so one connection.",
				cs, cv.Client, cv.Server, ss, sv.Client, sv.Server),
			From: cv.Client.String() + " → " + cv.Server.String(),
			To:   sv.Client.String() + " → " + sv.Server.String(),
		}
		if !w.c.ClientSideKnown {
			it.Text += " Which point is nearer the client is unknown, so which addresses are the original ones is too."
		}
		it.Alone[cs] = fmt.Sprintf("%s alone names the connection %s → %s", cs, cv.Client, cv.Server)
		it.Alone[ss] = fmt.Sprintf("%s alone names it %s → %s", ss, sv.Client, sv.Server)
		w.add(it)
	}
	for pd := conn.Dir(0); pd < 2; pd++ {
		if !w.p.deltaSet[pd] || w.p.delta[pd] == 0 {
			continue
		}
		delta := int64(int32(w.p.delta[pd]))
		from, to := A, B
		if up, ok := w.c.Upstream(pd); ok && up == B {
			from, to, delta = B, A, -delta
		}
		fr := w.p.deltaFrames[pd]
		it := Item{Kind: KindSeqOffset, Dir: pd, HasDir: true, Count: 1, Frames: [2][]int{{fr[A]}, {fr[B]}}, Time: w.p.first,
			Title: fmt.Sprintf("sequence numbers shifted in the path: the %s's by %+d", role(pd), delta),
			Text: fmt.Sprintf("The %s's sequence numbers at %s are those at %s %+d, and the %s's acknowledgments of them are shifted back: "+
				"a firewall that randomises initial sequence numbers. Relative numbers are the same at both points.",
				role(pd), to, from, delta, role(1-pd)),
			From: "0", To: fmt.Sprintf("%+d", delta),
		}
		it.Alone[from] = fmt.Sprintf("%s alone shows the %s's own sequence numbers", from, role(pd))
		it.Alone[to] = fmt.Sprintf("%s alone shows the %s choosing an initial sequence number it never chose", to, role(pd))
		w.add(it)
	}
}

// rewrite turns one kind of difference between copies into an item,
// from the upstream copy to the downstream one.
func (w *words) rewrite(pd conn.Dir, r *rewrite) {
	up, known := w.c.Upstream(pd)
	down := up.Other()
	if !known {
		up, down = A, B
	}
	from, to := r.a, r.b
	if up == B {
		from, to = r.b, r.a
	}
	it := Item{Kind: r.kind, Dir: pd, HasDir: true, Count: r.n, Time: r.time, Frames: r.frames,
		Option: r.option, From: from, To: to}
	if r.n > len(r.frames[A]) {
		it.More = r.n - len(r.frames[A])
	}
	who := w.who(pd, up)
	segs := plural(r.n, "segment", "segments")
	first := fmt.Sprintf("%s → %s", ref(up, r.frames[up][0]), ref(down, r.frames[down][0]))
	unknownNote := ""
	if !known {
		unknownNote = " (which point is upstream is unknown: read A for the original)"
	}
	switch r.kind {
	case KindOptionStrip:
		if r.has != up && known {
			it.Kind = KindOptionAdded
			it.Title = fmt.Sprintf("option added in the path: %s on %s of %s's", r.option, segs, who)
			it.Text = fmt.Sprintf("%s's segments carry no %s option at %s and one at %s (first %s): the path added it.", capital(who), r.option, up, down, first)
			it.From, it.To = "absent", "present"
			break
		}
		how, did := "removed", "removed it"
		if r.nopped {
			how, did = "overwritten with NOPs", "overwrote it with NOPs"
		}
		it.Title = fmt.Sprintf("option stripped in the path: %s %s on %s of %s's", r.option, how, segs, who)
		it.Text = fmt.Sprintf("%s's segments carry the %s option at %s and not at %s (first %s): the path %s%s. %s",
			capital(who), r.option, up, down, first, did, unknownNote, w.stripCost(r.option, pd))
		it.From, it.To = "present", "absent"
		it.Alone[down] = fmt.Sprintf("%s alone: the %s did not offer %s", down, role(pd), r.option)
		it.Alone[up] = fmt.Sprintf("%s alone: the %s offered %s%s", up, role(pd), r.option, w.declined(pd, r.option))
	case KindMSS:
		verb := "clamped"
		if parseInt(to) > parseInt(from) {
			verb = "raised"
		}
		it.Title = fmt.Sprintf("MSS %s in the path: %s's MSS %s → %s", verb, who, from, to)
		it.Text = fmt.Sprintf("%s offered MSS %s (%s); the path rewrote it to %s (%s)%s: the %s sends it at most %s bytes a segment.",
			capital(who), from, ref(up, r.frames[up][0]), to, ref(down, r.frames[down][0]), unknownNote, role(1-pd), to)
		it.Alone[down] = fmt.Sprintf("%s alone: the %s offered MSS %s", down, role(pd), to)
		it.Alone[up] = fmt.Sprintf("%s alone: the %s offered MSS %s", up, role(pd), from)
	case KindOptionChange:
		switch r.option {
		case "sack":
			it.Title = fmt.Sprintf("SACK blocks not translated in the path: %s's, on %s", who, segs)
			it.Text = fmt.Sprintf("The path shifts the %s's sequence numbers but not the SACK blocks that %s sends about them (first %s, %s → %s): "+
				"the %s receives blocks outside anything it sent, and SACK recovery fails.", role(1-pd), who, first, from, to, role(1-pd))
		default:
			it.Title = fmt.Sprintf("option rewritten in the path: %s's %s %s → %s", who, r.option, from, to)
			it.Text = fmt.Sprintf("%s's %s option is %s at %s and %s at %s (first %s, %s)%s.", capital(who), r.option, from, up, to, down, first, segs, unknownNote)
		}
	case KindECN:
		w.ecn(&it, r, up, down, who, first, segs)
	case KindDSCP:
		it.Title = fmt.Sprintf("DSCP rewritten in the path: %s's %s → %s", who, from, to)
		it.Text = fmt.Sprintf("%s's segments leave %s with DSCP %s and reach %s with %s (first %s, %s)%s.", capital(who), up, from, down, to, first, segs, unknownNote)
	case KindIPID:
		it.Title = fmt.Sprintf("IP ID rewritten in the path on %s of %s's", segs, who)
		it.Text = fmt.Sprintf("The IPv4 identification of %s's segments differs between the points (first %s: %s → %s)%s.", who, first, from, to, unknownNote)
	case KindWindow:
		it.Title = fmt.Sprintf("window rewritten in the path on %s of %s's", segs, who)
		it.Text = fmt.Sprintf("The window field of %s's segments differs between the points (first %s: %s → %s)%s: "+
			"a middlebox that limits how much the %s may send.", who, first, from, to, unknownNote, role(1-pd))
	case KindPayload:
		it.Title = fmt.Sprintf("payload rewritten in the path on %s of %s's", segs, who)
		it.Text = fmt.Sprintf("%s's segments carry other bytes at %s than at %s (first %s), with the same sequence numbers and length: "+
			"an application-level gateway or a proxy that rewrites content.", capital(who), down, up, first)
	case KindTTL:
		it.Title = fmt.Sprintf("TTL changes by more than a hop count between the points on %s of %s's", segs, who)
		it.Text = fmt.Sprintf("Between the points %s's segments lose from %d to %d of their TTL (first %s: %s → %s): the path's hops differ between segments (a route change, or a load balancer with paths of different lengths).",
			who, w.p.dir[pd].hops.min, w.p.dir[pd].hops.max, first, from, to)
	}
	w.add(it)
}

// ecn words an ECN difference: bleached, marked CE, or otherwise changed.
func (w *words) ecn(it *Item, r *rewrite, up, down Side, who, first, segs string) {
	from, to := it.From, it.To
	if r.option == "tcp" {
		it.Option = "ECE/CWR"
		it.Title = fmt.Sprintf("ECN flags rewritten in the path: %s's %s → %s", who, from, to)
		it.Text = fmt.Sprintf("%s's TCP ECN flags are %s at %s and %s at %s (first %s, %s).", capital(who), from, up, to, down, first, segs)
		if to == "none" {
			it.Title = fmt.Sprintf("ECN bleached in the path: %s's %s cleared", who, from)
			it.Text += " Cleared on a SYN or SYN-ACK, they remove ECN from the connection: neither end will mark or react to congestion signals."
			it.Alone[down] = fmt.Sprintf("%s alone: the %s did not ask for ECN", down, role(it.Dir))
		}
		return
	}
	it.Option = "ECN"
	switch {
	case to == "CE" && from != "not-ECT":
		it.Kind = KindCE
		it.Title = fmt.Sprintf("congestion marked in the path: CE on %s of %s's", segs, who)
		it.Text = fmt.Sprintf("%s's segments leave %s %s and reach %s marked Congestion Experienced (first %s): "+
			"a queue between the points signalled congestion instead of dropping (AQM with ECN). Not a fault: the receiver echoes it and the sender slows down.",
			capital(who), up, from, down, first)
	case to == "not-ECT":
		it.Title = fmt.Sprintf("ECN bleached in the path: %s's %s cleared on %s", who, from, segs)
		it.Text = fmt.Sprintf("%s's segments leave %s %s and reach %s not-ECT (first %s): the path cleared the ECN bits, so no queue beyond it can mark congestion and the ends fall back to losses.",
			capital(who), up, from, down, first)
		it.Alone[down] = fmt.Sprintf("%s alone: the %s's segments are not ECN-capable", down, role(it.Dir))
		it.Alone[up] = fmt.Sprintf("%s alone: the %s's segments are ECN-capable (%s)", up, role(it.Dir), from)
	default:
		it.Title = fmt.Sprintf("ECN rewritten in the path: %s's %s → %s on %s", who, from, to, segs)
		it.Text = fmt.Sprintf("%s's segments leave %s %s and reach %s %s (first %s).", capital(who), up, from, down, to, first)
	}
}

// stripCost says what losing an option costs the connection.
func (w *words) stripCost(opt string, pd conn.Dir) string {
	switch opt {
	case "wscale":
		cost := "Window scaling needs the option on both SYNs: without it neither end may have more than 64 KiB unacknowledged, at most 64 KiB per round trip"
		if rtt, side, ok := w.handshakeRTT(); ok && rtt > 0 {
			cost += fmt.Sprintf(" (%s at the %s round trip seen at %s)", bitRate(65535*8/rtt.Seconds()), ms(rtt), side)
		}
		return cost + "."
	case "sackOK":
		return "Without SACK on both SYNs the ends run without selective acknowledgments: a sender learns of one hole per round trip."
	case "TS":
		return "Without timestamps on both SYNs the ends lose an RTT sample per acknowledgment, protection against wrapped sequence numbers (PAWS) and the detection of spurious retransmissions."
	case "mss":
		return "Without an MSS option the peer may send only 536 bytes a segment (RFC 9293, 3.7.1)."
	case "sack":
		return "The receiver's SACK blocks do not reach the sender, which recovers as if there were no SACK."
	}
	return ""
}

// declined says how an option stripped from one SYN shows at the point
// upstream of the stripping: the peer seems to decline it.
func (w *words) declined(pd conn.Dir, opt string) string {
	switch opt {
	case "wscale", "sackOK", "TS":
		return fmt.Sprintf(", and the %s seemed to decline it: it never received it", role(1-pd))
	}
	return ""
}

// handshakeRTT is the round trip of the handshake at the point nearer
// the client.
func (w *words) handshakeRTT() (time.Duration, Side, bool) {
	if !w.c.ClientSideKnown {
		return 0, 0, false
	}
	cs := w.c.ClientSide
	h := &w.p.hs
	if h.syn[cs] == 0 || h.synAck[cs] == 0 {
		return 0, 0, false
	}
	return h.synAck[cs].Sub(h.syn[cs]), cs, true
}

// event turns a judged segment, or a run of them, into an item.
func (w *words) event(e *event) {
	pd := e.dir
	it := Item{Kind: e.kind, Dir: pd, HasDir: true, Count: e.count, More: e.more, Time: e.time}
	x := e.side
	y := x.Other()
	who := w.who(pd, x)
	switch e.kind {
	case KindLost, KindNotCaptured:
		for _, s := range e.segs {
			it.Frames[x] = append(it.Frames[x], s.frame)
		}
		w.lost(&it, e, x, y, who)
	case KindInjected:
		s := e.segs[0]
		it.Frames[x] = []int{s.frame}
		w.injected(&it, s, pd, x, y, who)
	case KindDuplicated:
		who = w.who(pd, y)
		it.Frames[y] = []int{e.orig}
		for _, s := range e.segs {
			it.Frames[x] = append(it.Frames[x], s.frame)
		}
		it.Title = fmt.Sprintf("duplicated in the path: %s's %s reached %s %d times", who, ref(y, e.orig), x, e.count)
		it.Text = fmt.Sprintf("%s passed %s once (%s) and reached %s %d times (%s): the path sent it more than once.",
			capital(who)+"'s segment", y, ref(y, e.orig), x, e.count, refs(x, it.Frames[x], 0))
	case KindReordered:
		a, b, oa, ob := e.segs[0], e.segs[1], e.other[0], e.other[1]
		it.Frames = [2][]int{{a.frame, oa.frame}, {b.frame, ob.frame}}
		up, known := w.c.Upstream(pd)
		if !known {
			up = A
		}
		down := up.Other()
		u, d, ou, od := a.frame, b.frame, oa.frame, ob.frame
		if up == B {
			u, d, ou, od = b.frame, a.frame, ob.frame, oa.frame
		}
		first, second := [2]int{u, d}, [2]int{ou, od}
		if ou < u {
			first, second = second, first
		}
		it.Title = fmt.Sprintf("reordered in the path: %s's %s and %s", who, ref(up, first[0]), ref(up, second[0]))
		it.Text = fmt.Sprintf("%s's segments %s and %s passed %s in that order and reached %s in the other (%s after %s).",
			capital(who), ref(up, first[0]), ref(up, second[0]), up, down, ref(down, first[1]), ref(down, second[1]))
		if e.more > 0 {
			it.Text += fmt.Sprintf(" %d more pairs of its segments were reordered.", e.more)
		}
	case KindUnmatched:
		for _, s := range e.segs {
			it.Frames[x] = append(it.Frames[x], s.frame)
		}
		it.Title = fmt.Sprintf("seen at %s only: %s of %s's", x, plural(e.count, "segment", "segments"), who)
		it.Text = fmt.Sprintf("%s (%s) never appeared at %s. Which point the %s's segments pass first is unknown, so whether the path lost them or made them cannot be told.",
			describe(e.segs[0]), refs(x, it.Frames[x], e.more), y, role(pd))
	}
	w.add(it)
}

// lost words segments seen upstream only.
func (w *words) lost(it *Item, e *event, x, y Side, who string) {
	n := e.count
	s0 := e.segs[0]
	list := refs(x, it.Frames[x], e.more)
	if e.kind == KindNotCaptured {
		it.Title = fmt.Sprintf("not captured at %s: %s of %s's, which its peer acknowledged", y, plural(n, "segment", "segments"), who)
		it.Text = fmt.Sprintf("%s %s passed %s and never appeared at %s, but the %s acknowledged the bytes without their being sent again: "+
			"they reached it, and %s's capture missed them, not the path.", describe(s0), list, x, y, role(1-e.dir), y)
		it.Alone[y] = fmt.Sprintf("%s alone: the %s acknowledges bytes %s never saw", y, role(1-e.dir), y)
		return
	}
	if n == 1 {
		it.Title = fmt.Sprintf("lost between the points: %s's %s %s", who, what(s0), ref(x, s0.frame))
	} else {
		it.Title = fmt.Sprintf("lost between the points: %s of %s's, from %s", plural(n, "segment", "segments"), who, ref(x, s0.frame))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s passed %s and never reached %s.", describe(s0), list, x, y)
	resent, resentSeen := 0, 0
	for _, s := range e.segs {
		if s.resent != 0 {
			resent++
			if s.resentMate != 0 {
				resentSeen++
			}
		}
	}
	switch {
	case resent == 0 && s0.plen == 0 && wire.Flags(s0.flags)&(wire.SYN|wire.FIN) == 0:
		// A bare ACK or RST takes no sequence space: nothing resends it.
	case resent == 0:
		fmt.Fprintf(&b, " The %s never sent %s again at %s.", role(e.dir), pronoun(n), x)
	case n == 1:
		fmt.Fprintf(&b, " The %s resent it in %s", role(e.dir), ref(x, s0.resent))
		if s0.resentMate != 0 {
			fmt.Fprintf(&b, ", which reached %s (%s).", y, ref(y, s0.resentMate))
		} else {
			fmt.Fprintf(&b, ", which did not reach %s either.", y)
		}
	default:
		fmt.Fprintf(&b, " The %s resent %d of them (the first in %s); %d of the resends reached %s.", role(e.dir), resent, ref(x, firstResent(e.segs)), resentSeen, y)
	}
	it.Text = b.String()
	if resent > 0 {
		it.Alone[x] = fmt.Sprintf("%s alone: the %s resent %s, lost somewhere past %s", x, role(e.dir), pronoun(n), x)
		if resentSeen > 0 {
			it.Alone[y] = fmt.Sprintf("%s alone: the bytes first arrive in the resend, lost somewhere before %s", y, y)
		}
	}
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func firstResent(s []evSeg) int {
	for _, e := range s {
		if e.resent != 0 {
			return e.resent
		}
	}
	return 0
}

// injected words a segment seen downstream only.
func (w *words) injected(it *Item, s evSeg, pd conn.Dir, x, y Side, who string) {
	kind := what(s)
	it.Title = fmt.Sprintf("injected in the path: a %s claiming to come from %s, seen at %s only (%s)", kind, who, x, ref(x, s.frame))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: the %s's segments pass %s before %s, and this one never passed %s: the path made it.", describe(s), ref(x, s.frame), role(pd), y, x, y)
	d := &w.p.dir[pd]
	if d.senderSet[x] {
		if s.ttl != d.senderTTL[x] {
			fmt.Fprintf(&b, " Its TTL, %d, is not the %d of the %s's own segments at %s.", s.ttl, d.senderTTL[x], role(pd), x)
		}
		if !w.c.Views[x].Client.Addr().Is6() && s.ipid != d.senderIPID[x] && (s.ipid < d.senderIPID[x] || s.ipid > d.senderIPID[x]+64) {
			fmt.Fprintf(&b, " Its IP ID, %d, is far from the %d of the %s's latest segment there.", s.ipid, d.senderIPID[x], role(pd))
		}
	}
	switch kind {
	case "RST":
		b.WriteString(" A firewall that rejects with a reset (iptables REJECT --reject-with tcp-reset), an IPS, or a middlebox ending a connection it tracks.")
		it.Alone[x] = fmt.Sprintf("%s alone: the %s reset the connection (%s)", x, role(pd), ref(x, s.frame))
		it.Alone[y] = fmt.Sprintf("%s alone: the %s sent no RST", y, role(pd))
	case "SYN-ACK":
		b.WriteString(" The path answered the client's SYN itself: a SYN proxy, or a firewall that completes handshakes for the server.")
		it.Alone[x] = fmt.Sprintf("%s alone: the server answered the SYN", x)
	case "ACK", "data segment":
		fmt.Fprintf(&b, " A proxy or middlebox speaking for the %s.", role(pd))
	}
	it.Text = b.String()
}

// resets ties each forged reset to what the path did before it: a reset
// in one end's name within a second after its peer's segment the path
// dropped is that segment rejected; and when the path forged resets to
// both ends, each end blames the other.
func (w *words) resets() {
	var rst [2]*Item
	var lost [2][]*Item
	for i := range w.c.Items {
		it := &w.c.Items[i]
		switch {
		case it.Kind == KindInjected && strings.HasPrefix(it.Title, "injected in the path: a RST"):
			rst[it.Dir] = it
		case it.Kind == KindLost:
			lost[it.Dir] = append(lost[it.Dir], it)
		}
	}
	for d, r := range rst {
		if r == nil {
			continue
		}
		for _, l := range lost[1-d] {
			if l.Time <= r.Time && r.Time-l.Time < pcap.Time(time.Second) {
				r.Text += fmt.Sprintf(" It came %s after the %s's segment the path dropped (%s): the path rejected that segment with a reset.",
					ms(r.Time.Sub(l.Time)), role(conn.Dir(1-d)), strings.Join(l.refs(), ", "))
				break
			}
		}
	}
	if rst[0] == nil || rst[1] == nil {
		return
	}
	for _, it := range rst {
		it.Text += " The path sent a reset to each end, each in the other's name: each end blames the other, and neither sent one."
	}
}

// refs names an item's frames at both points.
func (it *Item) refs() []string {
	var out []string
	for side, fs := range it.Frames {
		for _, f := range fs {
			out = append(out, ref(Side(side), f))
		}
	}
	return out
}

// delay words one direction's delay. Every connection has two, so they
// are put together without fmt.
func (w *words) delay(pd conn.Dir) {
	d := w.c.Delay[pd]
	up, known := w.c.Upstream(pd)
	down := up.Other()
	it := Item{Kind: KindDelay, Dir: pd, HasDir: true, Count: d.N,
		Frames: [2][]int{{d.MaxFrames[A]}, {d.MaxFrames[B]}},
		From:   ms(d.Min), To: ms(d.Max)}
	who := w.who(pd, A)
	segs := plural(d.N, "segment", "segments")
	mean, lo, hi := ms(d.Mean), it.From, it.To
	if !known {
		it.Title = who + "'s segments: the points see them " + mean + " apart (the order of the points is unknown)"
		it.Text = "Over " + segs + " the two points saw " + who + "'s segments " + mean + " apart on average, from " + lo + " to " + hi + "."
		w.add(it)
		return
	}
	sd := ms(d.SD)
	path := up.String() + " → " + down.String()
	it.Title = "one-way delay " + path + " of " + who + "'s segments: " + mean + " (" + lo + " to " + hi + ", spread " + sd + ")"
	var b strings.Builder
	b.Grow(256)
	b.WriteString("Over " + segs + " the path from " + up.String() + " to " + down.String() + " took " + mean + " on average, at least " + lo +
		" (" + ref(up, d.MinFrames[up]) + " → " + ref(down, d.MinFrames[down]) + ") and at most " + hi +
		" (" + ref(up, d.MaxFrames[up]) + " → " + ref(down, d.MaxFrames[down]) + "), a standard deviation of " + sd + ".")
	if d.Max-d.Min > time.Millisecond && d.Max > 2*d.Min {
		b.WriteString(" The delay grew by " + ms(d.Max-d.Min) + " above its least: queueing between the points.")
	}
	if d.Min < 0 {
		b.WriteString(" Some segments arrived before they left by the clocks' offset: the offset is wrong by at least that much (give it with --clock-offset).")
	}
	if c := w.c; c.HopsKnown[pd] && c.Hops[pd] > 0 {
		b.WriteString(" The TTL drops by " + strconv.Itoa(c.Hops[pd]) + " between the points: " + plural(c.Hops[pd], "router", "routers") + ".")
	}
	it.Text = b.String()
	w.add(it)
}

// loneLost words a connection whose segments, all in the direction that
// passes this point first, never reached the other.
func (w *words) loneLost(x Side, d conn.Dir, l *lone) {
	y := x.Other()
	who := w.who(d, x)
	it := Item{Kind: KindLost, Dir: d, HasDir: true, Count: l.n[d], Time: l.first}
	it.Frames[x] = l.frames[d]
	it.More = l.n[d] - len(l.frames[d])
	if l.n[d] == 1 {
		it.Title = fmt.Sprintf("lost between the points: %s's only segment", who)
	} else {
		it.Title = fmt.Sprintf("lost between the points: all %d of %s's segments", l.n[d], who)
	}
	dropped := "the path dropped " + pronoun(l.n[d])
	if strings.HasPrefix(w.c.SideReason, "by elimination") {
		dropped = "if " + y.String() + " is on their path, the path dropped " + pronoun(l.n[d])
	}
	it.Text = fmt.Sprintf("%s %s passed %s and never reached %s, nor did anything of the connection: %s, and the %s never answered. (%s is nearer the %s: %s.)",
		describe(l.segs[d][0]), refs(x, it.Frames[x], it.More), x, y, dropped, role(1-d), x, role(d), w.c.SideReason)
	if wire.Flags(l.segs[d][0].flags)&(wire.SYN|wire.ACK) == wire.SYN {
		it.Alone[x] = fmt.Sprintf("%s alone: the %s never answered the SYN", x, role(1-d))
		it.Alone[y] = fmt.Sprintf("%s alone: no trace of the connection", y)
	}
	w.add(it)
}

// loneInjected words a connection seen only downstream, in one direction.
func (w *words) loneInjected(x Side, d conn.Dir, l *lone) {
	y := x.Other()
	who := w.who(d, x)
	for i, s := range l.segs[d] {
		it := Item{Kind: KindInjected, Dir: d, HasDir: true, Count: 1, Time: l.first}
		it.Frames[x] = []int{l.frames[d][i]}
		it.Title = fmt.Sprintf("injected in the path: a %s claiming to come from %s, seen at %s only (%s)", what(s), who, x, ref(x, s.frame))
		it.Text = fmt.Sprintf("%s %s: the %s's segments pass %s before %s, and nothing of this connection passed %s: the path made it.", describe(s), ref(x, s.frame), role(d), y, x, y)
		w.add(it)
	}
}

// onlyAt words a connection seen at one point only, both ways.
func (w *words) onlyAt(x Side, l *lone) {
	y := x.Other()
	n := l.n[0] + l.n[1]
	it := Item{Kind: KindOnlyAt, Count: n, Time: l.first}
	v := w.c.Views[x]
	it.Frames[x] = []int{v.FirstFrame, v.LastFrame}
	it.Title = fmt.Sprintf("seen at %s only: %s, %s", x, v.Client.String()+" → "+v.Server.String(), plural(n, "segment", "segments"))
	it.Text = fmt.Sprintf("No segment of this connection (%s to %s) appeared at %s: it does not take the path through %s, or %s's capture filtered it out.",
		ref(x, v.FirstFrame), ref(x, v.LastFrame), y, y, y)
	if l.outside == n {
		it.Text = fmt.Sprintf("No segment of this connection (%s to %s) appeared at %s, whose capture holds nothing from that time: whether they passed %s cannot be told.",
			ref(x, v.FirstFrame), ref(x, v.LastFrame), y, y)
	}
	w.add(it)
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func parseInt(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}
