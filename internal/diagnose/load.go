package diagnose

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
)

// Linux's default ephemeral port range, net.ipv4.ip_local_port_range
// 32768-60999: the ports one client address has for one service.
const linuxEphemeralPorts = 60999 - 32768 + 1

// maxSources bounds the distinct sources a flood finding counts, and the
// distinct ports a TIME_WAIT finding counts, per service: past it the
// finding says "at least", which is all a person needs to know.
const maxSources = 4096

// maxSetEntries bounds the addresses and ports all services' sets hold
// together (about 40 bytes each, so some 2.5 MiB): a scan of thousands of
// services must not give each its own thousands. A set that the budget
// stops counts as capped, and its finding says "at least".
const maxSetEntries = 1 << 16

// maxServices bounds the services (server address and port) whose
// connection attempts the capture-wide rules count, and maxPairs the
// client-service pairs of the TIME_WAIT rule: a site's traffic reaches a
// few hundred, and a scan of every port of many hosts should cost a few
// MiB, not one entry per port. When the table is full the quieter half is
// dropped (counted in pruned): a flood or a busy client stays, and a
// finding about a service that was dropped and came back says "at least".
const (
	maxServices = 4096
	maxPairs    = 4096
)

// lowest keeps the evidence frames of the lowest connection ids, up to
// maxEvidence: connections end in any order, and the first ones to have
// started are the ones a person reads first.
type lowest struct {
	n   int
	ids [maxEvidence]int
	fs  [maxEvidence]int
}

func (l *lowest) add(id, frame int) {
	if l.n == maxEvidence {
		if id >= l.ids[l.n-1] {
			return
		}
		l.n--
	}
	i := l.n
	for i > 0 && l.ids[i-1] > id {
		l.ids[i], l.fs[i] = l.ids[i-1], l.fs[i-1]
		i--
	}
	l.ids[i], l.fs[i] = id, frame
	l.n++
}

// frames are the frames kept, in connection order.
func (l *lowest) frames() []int { return append([]int(nil), l.fs[:l.n]...) }

// byID is the start of the first (or last) connection of a set: the one
// with the lowest (highest) id.
type byID struct {
	id int
	t  pcap.Time
}

func (b *byID) first(id int, t pcap.Time) {
	if b.id == 0 || id < b.id {
		*b = byID{id, t}
	}
}

func (b *byID) last(id int, t pcap.Time) {
	if id > b.id {
		*b = byID{id, t}
	}
}

// capped is a set that counts distinct values up to maxSources, drawing on
// a budget it shares with the other sets of its table.
type capped[K comparable] struct {
	m      map[K]struct{}
	capped bool // it stopped counting: its size is a lower bound
}

func (s *capped[K]) add(k K, budget *int) {
	if _, ok := s.m[k]; ok {
		return
	}
	if len(s.m) >= maxSources || *budget >= maxSetEntries {
		s.capped = true
		return
	}
	if s.m == nil {
		s.m = map[K]struct{}{}
	}
	s.m[k] = struct{}{}
	*budget++
}

// atLeast is "at least " when the set stopped counting.
func (s *capped[K]) atLeast() string {
	if s.capped {
		return "at least "
	}
	return ""
}

// service is what the capture shows of the connection attempts to one
// server address and port.
type service struct {
	attempts, completed, refused, halfOpen int
	synackSent, synackRetrans              int
	bare                                   int // half-open SYNs without options, as packet generators send them
	sources                                capped[netip.Addr]
	evidence                               lowest // the half-open attempts' SYNs
	first, last                            byID

	// Connections whose SYN went unanswered before one got through, and
	// of those, how many lost data afterwards too: handshake latency's
	// common cause.
	retried, retriedLossy int
}

// serviceTable is the services clients opened connections to.
type serviceTable struct {
	by      map[netip.AddrPort]*service
	entries int // addresses in all services' sets
	pruned  int // services dropped to stay within maxServices
}

func newServiceTable() serviceTable { return serviceTable{by: map[netip.AddrPort]*service{}} }

func (t *serviceTable) add(c *Conn) {
	if !c.clientOpened() {
		return
	}
	s := t.by[c.Server.Addr]
	if s == nil {
		if len(t.by) >= maxServices {
			t.prune()
		}
		s = &service{}
		t.by[c.Server.Addr] = s
	}
	s.attempts++
	s.first.first(c.ID, c.Start)
	s.last.last(c.ID, c.Start)
	fc := &c.Facts.Client
	if fc.SYNs > 1 && fc.AnsweredSYN.Frame > fc.FirstSYN.Frame && c.Server.Offered.Seen {
		s.retried++
		if c.lostData() {
			s.retriedLossy++
		}
	}
	switch {
	case c.handshakeAckFrame() > 0 || c.HandshakeRTT > 0:
		s.completed++
		return
	case c.Server.SentRST && !c.Server.Offered.Seen:
		s.refused++
		return
	}
	s.halfOpen++
	s.sources.add(c.Client.Addr.Addr(), &t.entries)
	if c.Client.Offered.MSS == 0 && c.Client.Offered.WindowScale < 0 {
		s.bare++
	}
	if c.Server.Offered.Seen {
		s.synackSent++
		if c.Server.Retrans.SYNACK > 0 {
			s.synackRetrans++
		}
	}
	s.evidence.add(c.ID, c.Client.Offered.Frame)
}

// prune drops the quieter half of the services: those with the fewest
// half-open attempts, then the fewest attempts.
func (t *serviceTable) prune() {
	t.pruned += pruneHalf(t.by, func(a, b *service) int {
		if c := cmp.Compare(b.halfOpen, a.halfOpen); c != 0 {
			return c
		}
		if c := cmp.Compare(b.attempts, a.attempts); c != 0 {
			return c
		}
		return cmp.Compare(a.first.id, b.first.id)
	}, func(s *service) { t.entries -= len(s.sources.m) })
}

// pruneHalf deletes from m the half of its entries that busier orders
// last, calling dropped for each, and returns how many it deleted.
func pruneHalf[K comparable, V any](m map[K]V, busier func(a, b V) int, dropped func(V)) int {
	type entry struct {
		k K
		v V
	}
	all := make([]entry, 0, len(m))
	for k, v := range m {
		all = append(all, entry{k, v})
	}
	slices.SortFunc(all, func(a, b entry) int { return busier(a.v, b.v) })
	for _, e := range all[len(all)/2:] {
		dropped(e.v)
		delete(m, e.k)
	}
	return len(all) - len(all)/2
}

// lostData says whether either end lost data, by the capture's evidence.
func (c *Conn) lostData() bool {
	fc, fs := &c.Facts.Client, &c.Facts.Server
	return fc.RetransSeen.N+fc.RetransUnseen.N+fs.RetransSeen.N+fs.RetransUnseen.N+
		fc.Kind(event.LostSegment).N+fs.Kind(event.LostSegment).N > 0
}

// sorted returns the services in the order their first connections
// appeared.
func (t *serviceTable) sorted() []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(t.by))
	for k := range t.by {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return t.by[a].first.id - t.by[b].first.id })
	return out
}

// lowerBound is the warning a finding adds when the table dropped
// services, any of which may have been this one before it came back.
func (t *serviceTable) lowerBound() string {
	if t.pruned == 0 {
		return ""
	}
	return fmt.Sprintf(" (The capture reached more than %d services and tcplens counted only the busiest, so these counts are lower bounds.)", maxServices)
}

func ruleSYNFlood(x *env) []Finding {
	var out []Finding
	for _, addr := range x.services.sorted() {
		s := x.services.by[addr]
		if s.halfOpen < 20 || s.completed*5 >= s.attempts {
			continue
		}
		var b strings.Builder
		span := s.last.t.Sub(s.first.t)
		ev := s.evidence.frames()
		fmt.Fprintf(&b, "%d connection attempts reached %s in %s and %d completed the handshake (%d were refused); %d stayed half-open (%s). ",
			s.attempts, addr, dur(span), s.completed, s.refused, s.halfOpen, frameList(ev, s.halfOpen))
		srcs := len(s.sources.m)
		switch {
		case srcs == 1 && !s.sources.capped:
			b.WriteString("They all came from one address: a flood or scan from one host (or a load generator), not a spoofed, many-source flood. ")
		case srcs >= maxSources:
			fmt.Fprintf(&b, "They came from at least %d addresses: the mark of spoofed sources. ", srcs)
		default:
			fmt.Fprintf(&b, "They came from %s%d addresses. ", s.sources.atLeast(), srcs)
		}
		if s.bare*2 >= s.halfOpen {
			fmt.Fprintf(&b, "%d of the half-open SYNs carried no options at all, which real stacks never send: a packet generator (hping3's defaults: window 512, no options). ", s.bare)
		}
		switch {
		case s.synackSent == 0:
			b.WriteString("The server answered none of them: it dropped them (a full SYN backlog, or rate limiting) or a firewall did before it. ")
		case s.synackRetrans == 0 && s.synackSent >= 10:
			fmt.Fprintf(&b, "The server answered %d of them and retransmitted none of those SYN-ACKs: SYN cookies, which keep no state and so never retransmit, were probably on. ", s.synackSent)
		default:
			fmt.Fprintf(&b, "The server answered %d of them, and retransmitted %d of those SYN-ACKs: each half-open attempt holds a SYN_RECV entry for a minute or so (5 retries). ", s.synackSent, s.synackRetrans)
		}
		b.WriteString("A flood of half-open connections fills the listener's SYN queue, after which real clients' SYNs are dropped (their connect() takes seconds).")
		b.WriteString(x.services.lowerBound())
		out = append(out, Finding{
			ID: "syn-flood", Severity: Error, Evidence: []Claim{{Kind: ClaimSent, Frames: frames(ev...), To: addr, Flags: synOnly, Mask: synMask}},
			Title:       fmt.Sprintf("SYN flood: %d of %d connection attempts to %s never completed", s.halfOpen, s.attempts, addr),
			Explanation: b.String(),
			Advice: "Keep SYN cookies on (net.ipv4.tcp_syncookies=1, the default), size the SYN backlog (net.ipv4.tcp_max_syn_backlog) and " +
				"the listen backlog, and rate-limit SYNs per source upstream; check ss -tan state syn-recv on the server.",
		})
	}
	return out
}

// pairKey is a client address and a service.
type pairKey struct {
	client netip.Addr
	server netip.AddrPort
}

// pair is what the capture shows of the connections from one client
// address to one service.
type pair struct {
	n, clientClosed, reused int
	ports                   capped[uint16]
	evidence, reuseFrames   lowest
	reuseNote               string // of the first reuse
	reuseID                 int    // the connection it is about
	first, last             byID
}

// pairTable is the client-service pairs, for TIME_WAIT pressure.
type pairTable struct {
	by      map[pairKey]*pair
	entries int // ports in all pairs' sets
	pruned  int // pairs dropped to stay within maxPairs
}

func newPairTable() pairTable { return pairTable{by: map[pairKey]*pair{}} }

// add counts c, whose previous connection on the same 4-tuple (if it
// was replaced by c and entered TIME_WAIT) is prev.
func (t *pairTable) add(c *Conn, prev *replacedConn) {
	if !c.clientOpened() {
		return
	}
	k := pairKey{c.Client.Addr.Addr(), c.Server.Addr}
	g := t.by[k]
	if g == nil {
		if len(t.by) >= maxPairs {
			t.prune()
		}
		g = &pair{}
		t.by[k] = g
	}
	g.n++
	g.first.first(c.ID, c.Start)
	g.last.last(c.ID, c.Start)
	g.ports.add(c.Client.Addr.Port(), &t.entries)
	if c.FirstClosed == "client" && c.Close == "fin" {
		g.clientClosed++
	}
	g.evidence.add(c.ID, c.FirstFrame)
	if !c.ReusedPorts || prev == nil {
		return
	}
	for _, side := range []struct {
		name    string
		entered pcap.Time
		ok      bool
	}{{"client", prev.client, prev.clientOK}, {"server", prev.server, prev.serverOK}} {
		if !side.ok || c.Start.Sub(side.entered) >= tcp.LinuxTimeWaitLen {
			continue
		}
		g.reused++
		g.reuseFrames.add(c.ID, c.FirstFrame)
		if g.reuseID == 0 || c.ID < g.reuseID {
			g.reuseID = c.ID
			g.reuseNote = fmt.Sprintf("connection %d (frame %d) reused the 4-tuple of connection %d %s after its %s entered TIME_WAIT",
				c.ID, c.FirstFrame, prev.id, dur(c.Start.Sub(side.entered)), side.name)
		}
		break
	}
}

// prune drops the quieter half of the pairs: those with the fewest
// reuses, then the fewest client closes, then the fewest connections.
func (t *pairTable) prune() {
	t.pruned += pruneHalf(t.by, func(a, b *pair) int {
		if c := cmp.Compare(b.reused, a.reused); c != 0 {
			return c
		}
		if c := cmp.Compare(b.clientClosed, a.clientClosed); c != 0 {
			return c
		}
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.first.id, b.first.id)
	}, func(p *pair) { t.entries -= len(p.ports.m) })
}

func ruleTimeWaitPressure(x *env) []Finding {
	var out []Finding
	for k, g := range x.pairs.by {
		span := g.last.t.Sub(g.first.t)
		// Ports in TIME_WAIT at once: every client-closed connection of
		// the last 60 s. A capture shorter than that shows a lower bound.
		inTW := g.clientClosed
		if span > tcp.LinuxTimeWaitLen {
			inTW = int(float64(g.clientClosed) * float64(tcp.LinuxTimeWaitLen) / float64(span))
		}
		heavy := inTW >= linuxEphemeralPorts/10
		if g.reused == 0 && !heavy {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s opened %d connections to %s in %s, from %s%s; %d of them were closed by the client first, "+
			"so the client holds each of those 4-tuples in TIME_WAIT for 60 s (Linux's TCP_TIMEWAIT_LEN, not the 2×MSL of older texts). ",
			k.client, g.n, k.server, dur(span), g.ports.atLeast(), count(len(g.ports.m), "port"), g.clientClosed)
		if heavy {
			fmt.Fprintf(&b, "That keeps about %d ports in TIME_WAIT at once, of the %d that Linux's default ephemeral range "+
				"(32768-60999) gives one client address towards one service: when they run out, connect() fails with EADDRNOTAVAIL. ",
				inTW, linuxEphemeralPorts)
		}
		fs := g.evidence.frames()
		if g.reused > 0 {
			fmt.Fprintf(&b, "%d times a 4-tuple was reused while its previous connection was still in TIME_WAIT: %s. "+
				"A client only does that when short of ports (net.ipv4.tcp_tw_reuse lets it, with timestamps) or when it binds its port itself. ",
				g.reused, g.reuseNote)
			fs = g.reuseFrames.frames()
		}
		b.WriteString("TIME_WAIT itself is not a bug: it protects the next connection on the same 4-tuple from stray segments of this one.")
		if x.pairs.pruned > 0 {
			fmt.Fprintf(&b, " (The capture held more than %d client-service pairs and tcplens counted only the busiest, so these counts are lower bounds.)", maxPairs)
		}
		out = append(out, Finding{
			ID: "time-wait-pressure", Severity: Warning, Evidence: []Claim{{Kind: ClaimSent, Frames: frames(fs...), To: k.server}},
			Title:       fmt.Sprintf("TIME_WAIT pressure: %d short connections from %s to %s", g.n, k.client, k.server),
			Explanation: b.String(),
			Advice: "Reuse connections (HTTP keep-alive, connection pools) instead of opening one per request; spread clients over " +
				"more source addresses or widen net.ipv4.ip_local_port_range; net.ipv4.tcp_tw_reuse=1 only as a last resort, and never " +
				"tcp_tw_recycle (removed in Linux 4.12).",
		})
	}
	slices.SortFunc(out, func(a, b Finding) int { return firstFrame(a) - firstFrame(b) })
	return out
}

// replacedConn is what the TIME_WAIT rule needs of a connection whose
// 4-tuple a new one took: when each end entered TIME_WAIT.
type replacedConn struct {
	id                 int
	client, server     pcap.Time
	clientOK, serverOK bool
}

// replacedTable holds, by id, the replaced connections that entered
// TIME_WAIT, until the connection that replaced them ends. The table
// replaces a connection just before it opens its successor, so each
// entry waits for a connection still open: the entries are at most the
// open connections.
type replacedTable map[int]replacedConn

func (t replacedTable) put(c *Conn) {
	if c.EndReason != conn.EndReplaced {
		return
	}
	r := replacedConn{id: c.ID}
	r.client, r.clientOK = timeWaitEntered(c.Client.History)
	r.server, r.serverOK = timeWaitEntered(c.Server.History)
	if r.clientOK || r.serverOK {
		t[c.ID] = r
	}
}

// take returns and forgets the entry of the connection c replaced.
func (t replacedTable) take(c *Conn) *replacedConn {
	if c.Previous == 0 {
		return nil
	}
	r, ok := t[c.Previous]
	if !ok {
		return nil
	}
	delete(t, c.Previous)
	return &r
}

// timeWaitEntered is when an end entered TIME_WAIT, if it did.
func timeWaitEntered(h []tcp.Transition) (pcap.Time, bool) {
	for _, t := range h {
		if t.State == tcp.TimeWait {
			return t.Time, true
		}
	}
	return 0, false
}

// handshakeCause is what the connections with a slow handshake have in
// common, when they all went to one service: SYNs dropped by its
// listener rather than lost on the path.
func handshakeCause(x *env, g *Group) string {
	if !g.common.oneServer {
		return ""
	}
	s := x.services.by[g.common.server]
	if s == nil || s.retried < 2 {
		return ""
	}
	w := fmt.Sprintf("%d of the %d connections to %s, opened within %s, saw their first SYN go unanswered",
		s.retried, s.attempts, g.common.server, dur(s.last.t.Sub(s.first.t)))
	if s.retriedLossy > 0 {
		return w + fmt.Sprintf(", and %d of those lost data afterwards too: the path loses packets, which may account for the SYNs.", s.retriedLossy)
	}
	return w + ", and once connected none of them lost a packet. Loss on the path would strike at random and go on striking " +
		"the data; SYNs dropped in a burst by one listener whose connections then run cleanly were dropped by the listener itself: " +
		"its accept queue overflowed (the application accepted more slowly than clients connected, or its listen() backlog is small), " +
		"and Linux drops the SYNs it cannot queue."
}

// commonCause is what the connections of a group share that tells their
// cause, for the rules where it does.
func commonCause(x *env, g *Group) string {
	switch g.ID {
	case "handshake-latency":
		return handshakeCause(x, g)
	}
	return ""
}
