package sockwatch

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/sockdiag"
)

// Rules are the thresholds of the flags.
type Rules struct {
	// SynRecvHeap flags a SYN_RECV heap host-wide at this many request
	// sockets; a listener is also flagged when its own SYN_RECV sockets
	// reach SynRecvFill of its backlog (the SYN queue is bounded by it).
	SynRecvHeap int
	SynRecvFill float64
	// CloseWaitAge flags CLOSE_WAIT sockets older than this.
	CloseWaitAge time.Duration
	// TimeWaitFill flags TIME_WAIT toward one destination reaching this
	// fraction of the ephemeral ports (each destination address and port
	// has its own pool of local ports).
	TimeWaitFill float64
	// OrphanFinWait2 flags this many orphaned FIN_WAIT2 sockets.
	OrphanFinWait2 int
	// AcceptQueueFill flags a listener whose accept queue reaches this
	// fraction of its backlog.
	AcceptQueueFill float64
}

// DefaultRules are the thresholds tcplens uses unless told otherwise.
var DefaultRules = Rules{
	SynRecvHeap:     256,
	SynRecvFill:     0.5,
	CloseWaitAge:    60 * time.Second,
	TimeWaitFill:    0.5,
	OrphanFinWait2:  100,
	AcceptQueueFill: 0.8,
}

// Severity orders flags: the worst first.
type Severity uint8

// Severities.
const (
	Info Severity = iota + 1
	Warning
	Critical
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Critical:
		return "critical"
	}
	return "unknown"
}

// Flag kinds are stable identifiers: JSON output and Prometheus labels use
// them.
const (
	FlagSynFlood         = "syn_recv_heap"
	FlagCloseWait        = "close_wait_leak"
	FlagTimeWait         = "time_wait_pressure"
	FlagOrphanFinWait2   = "orphan_fin_wait2"
	FlagAcceptQueue      = "accept_queue_full"
	FlagListenOverflow   = "listen_overflow"
	FlagSynCookies       = "syn_cookies"
	FlagAbortOnClose     = "abort_on_close"
	FlagHandshakeRetrans = "handshake_retrans"
)

// Flag is one thing a person would raise.
type Flag struct {
	Kind     string
	Severity Severity
	Title    string // one line: what, how many, who
	Text     string // why it matters and what to do, after the seeds
	Sockets  []sockdiag.Socket
	Owners   []sockdiag.Owner // processes concerned, when known
}

// Listener is a listening socket with its queues.
type Listener struct {
	Socket  sockdiag.Socket
	Queue   int // connections waiting for accept()
	Backlog int // the accept queue's limit; 0 when unknown (/proc fallback)
	SynRecv int // handshakes in progress toward it (request sockets)
}

// Fill is the accept queue's fill, 0 when the backlog is unknown.
func (l *Listener) Fill() float64 {
	if l.Backlog == 0 {
		return 0
	}
	return float64(l.Queue) / float64(l.Backlog)
}

// Delta is one kernel counter over an interval.
type Delta struct {
	Name  string // "TcpExt.ListenOverflows"
	Delta int64  // growth over the interval
	Total int64  // value now
}

// Watched are the counters a report always shows: each says something
// about handshakes or connections failing.
var Watched = []string{
	"TcpExt.ListenOverflows",   // completed handshakes dropped: accept queue full
	"TcpExt.ListenDrops",       // SYNs or ACKs a listener dropped, overflows included
	"TcpExt.TCPReqQFullDrop",   // SYNs dropped: SYN queue full, no SYN cookies
	"TcpExt.SyncookiesSent",    // SYN queue overflowed: answered with cookies
	"TcpExt.TCPSynRetrans",     // SYN and SYN-ACK retransmissions
	"Tcp.AttemptFails",         // SYN_SENT/SYN_RECV connections that failed
	"Tcp.EstabResets",          // ESTABLISHED/CLOSE_WAIT connections reset
	"Tcp.OutRsts",              // RSTs sent
	"TcpExt.TCPAbortOnClose",   // close() with unread data: RST instead of FIN
	"TcpExt.TCPAbortOnData",    // data after close: RST
	"TcpExt.TCPAbortOnTimeout", // gave up retransmitting
	"TcpExt.TCPAbortOnMemory",  // orphans over tcp_max_orphans or memory pressure
	"TcpExt.TCPTimeouts",       // RTO expirations
	"TcpExt.TCPLossProbes",     // tail loss probes sent
	"Tcp.RetransSegs",          // segments retransmitted
}

// Report is the assessment of one snapshot.
type Report struct {
	Time     time.Time
	Interval time.Duration // since the previous snapshot; 0 for the first
	Source   string
	Sysctl   sockdiag.Sysctl

	Sockets   []sockdiag.Socket // those the filter kept, sorted by state then address
	Counts    map[sockdiag.State]int
	Listeners []Listener
	Flags     []Flag
	Deltas    []Delta // Watched counters; Delta is 0 without a previous snapshot
	Counters  sockdiag.Counters
	Sockstat  *sockdiag.Sockstat // the namespace's socket counts, for ss -s; nil if unread

	// TimeWait is the largest number of TIME_WAIT sockets toward one
	// destination from one local address, and that destination.
	TimeWait     int
	TimeWaitPeer netip.AddrPort
}

// Assess counts and flags the sockets of cur that keep selects (nil: all).
// prev, if not nil, is the previous snapshot: counters become deltas over
// the interval. tr, if not nil, has been updated with cur: it dates how
// long sockets have been in their state.
func Assess(cur, prev *sockdiag.Snapshot, tr *Tracker, keep func(*sockdiag.Socket) bool, rules Rules) *Report {
	r := &Report{Time: cur.Time, Source: cur.Source, Sysctl: cur.Sysctl, Counts: map[sockdiag.State]int{}, Counters: cur.Counters, Sockstat: cur.Sockstat}
	if prev != nil {
		r.Interval = cur.Time.Sub(prev.Time)
	}
	for i := range cur.Sockets {
		if keep == nil || keep(&cur.Sockets[i]) {
			r.Sockets = append(r.Sockets, cur.Sockets[i])
		}
	}
	sort.SliceStable(r.Sockets, func(i, j int) bool {
		a, b := &r.Sockets[i], &r.Sockets[j]
		if a.State != b.State {
			return stateOrder(a.State) < stateOrder(b.State)
		}
		return KeyOf(a).less(KeyOf(b))
	})
	for i := range r.Sockets {
		r.Counts[r.Sockets[i].State]++
	}
	r.listeners()
	r.deltas(prev)

	r.flagSynRecv(rules)
	r.flagCloseWait(tr, rules)
	r.flagTimeWait(rules)
	r.flagOrphans(rules)
	r.flagAcceptQueues(rules)
	r.flagCounters()
	sort.SliceStable(r.Flags, func(i, j int) bool { return r.Flags[i].Severity > r.Flags[j].Severity })
	return r
}

// stateOrder lists listeners first, then the states a connection passes
// through in order, as a person reads them.
func stateOrder(s sockdiag.State) int {
	order := [...]sockdiag.State{sockdiag.Listen, sockdiag.SynSent, sockdiag.SynRecv, sockdiag.Established,
		sockdiag.FinWait1, sockdiag.FinWait2, sockdiag.Closing, sockdiag.TimeWait, sockdiag.CloseWait, sockdiag.LastAck, sockdiag.Close}
	for i, o := range order {
		if o == s {
			return i
		}
	}
	return len(order)
}

// StateOrder returns the states in the order reports list them.
func StateOrder() []sockdiag.State {
	out := append([]sockdiag.State(nil), sockdiag.States...)
	sort.Slice(out, func(i, j int) bool { return stateOrder(out[i]) < stateOrder(out[j]) })
	return out
}

func (r *Report) listeners() {
	byPort := map[uint16][]int{}
	for i := range r.Sockets {
		s := &r.Sockets[i]
		if s.State != sockdiag.Listen {
			continue
		}
		r.Listeners = append(r.Listeners, Listener{Socket: *s, Queue: int(s.RecvQ), Backlog: int(s.SendQ)})
		byPort[s.Local.Port()] = append(byPort[s.Local.Port()], len(r.Listeners)-1)
	}
	// A request socket belongs to the listener on its local port whose
	// address covers it (the wildcard, or the same address).
	for i := range r.Sockets {
		s := &r.Sockets[i]
		if !s.Request {
			continue
		}
		for _, li := range byPort[s.Local.Port()] {
			la := r.Listeners[li].Socket.Local.Addr()
			if la.IsUnspecified() || la == s.Local.Addr() || la.Unmap() == s.Local.Addr().Unmap() {
				r.Listeners[li].SynRecv++
				break
			}
		}
	}
}

func (r *Report) deltas(prev *sockdiag.Snapshot) {
	if r.Counters == nil {
		return
	}
	for _, name := range Watched {
		v, ok := r.Counters[name]
		if !ok {
			continue
		}
		d := Delta{Name: name, Total: v}
		if prev != nil && prev.Counters != nil {
			if p, ok := prev.Counters[name]; ok {
				d.Delta = v - p
			}
		}
		r.Deltas = append(r.Deltas, d)
	}
}

// Delta returns the growth of the named counter over the interval.
func (r *Report) Delta(name string) int64 {
	for _, d := range r.Deltas {
		if d.Name == name {
			return d.Delta
		}
	}
	return 0
}

func (r *Report) flagSynRecv(rules Rules) {
	var req []sockdiag.Socket
	sources := map[netip.Addr]bool{}
	for _, s := range r.Sockets {
		if s.Request {
			req = append(req, s)
			sources[s.Peer.Addr()] = true
		}
	}
	heap := rules.SynRecvHeap > 0 && len(req) >= rules.SynRecvHeap
	var full []string
	for _, l := range r.Listeners {
		if l.Backlog > 0 && rules.SynRecvFill > 0 && l.SynRecv > 0 && float64(l.SynRecv) >= rules.SynRecvFill*float64(l.Backlog) {
			full = append(full, fmt.Sprintf("%v has %d for a backlog of %d", l.Socket.Local, l.SynRecv, l.Backlog))
		}
	}
	if !heap && len(full) == 0 {
		return
	}
	title := fmt.Sprintf("%d sockets in SYN_RECV from %d source addresses: possible SYN flood", len(req), len(sources))
	if len(full) > 0 {
		title += " (" + strings.Join(full, "; ") + ")"
	}
	text := "A heap of SYN_RECV means handshakes that do not complete: the server sent SYN-ACK and " +
		"the final ACK never came. Many source addresses point to a SYN flood (spoofed SYNs); one or " +
		"a few point to the network dropping packets between them and here. "
	if r.Sysctl.Syncookies == 0 {
		text += "SYN cookies are off (net.ipv4.tcp_syncookies=0): turn them on, "
	} else {
		text += "Keep SYN cookies on (net.ipv4.tcp_syncookies), "
	}
	text += "size net.ipv4.tcp_max_syn_backlog and the listen backlog, lower net.ipv4.tcp_synack_retries " +
		"to free entries sooner, and rate-limit SYNs at the firewall."
	r.Flags = append(r.Flags, Flag{Kind: FlagSynFlood, Severity: Critical, Title: title, Text: text, Sockets: req})
}

func (r *Report) flagCloseWait(tr *Tracker, rules Rules) {
	if rules.CloseWaitAge <= 0 {
		return
	}
	type group struct {
		owner   string
		socks   []sockdiag.Socket
		owners  []sockdiag.Owner
		oldest  time.Duration
		atLeast bool
	}
	groups := map[string]*group{}
	var order []string
	for _, s := range r.Sockets {
		if s.State != sockdiag.CloseWait {
			continue
		}
		age, exact := closeWaitAge(&s, tr)
		if age < rules.CloseWaitAge {
			continue
		}
		name := ownerName(s.Owners)
		g := groups[name]
		if g == nil {
			g = &group{owner: name}
			groups[name] = g
			order = append(order, name)
		}
		g.socks = append(g.socks, s)
		g.owners = mergeOwners(g.owners, s.Owners)
		if age > g.oldest {
			g.oldest, g.atLeast = age, !exact
		}
	}
	sort.Strings(order)
	for _, name := range order {
		g := groups[name]
		n := len(g.socks)
		plural := "s"
		if n == 1 {
			plural = ""
		}
		oldest := "for " + round(g.oldest)
		if g.atLeast {
			oldest = "for at least " + round(g.oldest)
		}
		title := fmt.Sprintf("%d socket%s in CLOSE_WAIT %s, held by %s", n, plural, oldest, name)
		text := "The peer closed its side (its FIN was acknowledged) but the application never called close() " +
			"on the socket: a leak in " + name + ". Each one holds a file descriptor and its buffers until " +
			"the process exits. Find the code path that returns without closing the connection (an error " +
			"path, a missing defer conn.Close(), a pool that never evicts dead connections)."
		r.Flags = append(r.Flags, Flag{Kind: FlagCloseWait, Severity: Warning, Title: title, Text: text, Sockets: g.socks, Owners: g.owners})
	}
}

// closeWaitAge is the best lower bound of how long s has been in
// CLOSE_WAIT: the longer of what the tracker saw and the kernel's idle
// time; exact reports whether the tracker saw it enter the state.
func closeWaitAge(s *sockdiag.Socket, tr *Tracker) (age time.Duration, exact bool) {
	if tr != nil {
		age, exact = tr.Age(KeyOf(s))
	}
	if idle, ok := s.Idle(); ok && idle > age {
		age, exact = idle, false
	}
	return age, exact
}

func round(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// ownerName names the processes holding a socket: "nginx (pid 42)", or
// "an unknown process" when /proc would not say.
func ownerName(owners []sockdiag.Owner) string {
	if len(owners) == 0 {
		return "an unknown process"
	}
	var parts []string
	seen := map[int]bool{}
	for _, o := range owners {
		if !seen[o.PID] {
			seen[o.PID] = true
			parts = append(parts, fmt.Sprintf("%s (pid %d)", o.Comm, o.PID))
		}
	}
	return strings.Join(parts, ", ")
}

func mergeOwners(a, b []sockdiag.Owner) []sockdiag.Owner {
	for _, o := range b {
		dup := false
		for _, x := range a {
			if x.PID == o.PID {
				dup = true
				break
			}
		}
		if !dup {
			a = append(a, sockdiag.Owner{PID: o.PID, Comm: o.Comm})
		}
	}
	return a
}

func (r *Report) flagTimeWait(rules Rules) {
	type dest struct {
		local netip.Addr
		peer  netip.AddrPort
	}
	count := map[dest]int{}
	var total int
	for _, s := range r.Sockets {
		if s.State != sockdiag.TimeWait {
			continue
		}
		total++
		// Only connections this host opened used an ephemeral port.
		if p := int(s.Local.Port()); r.Sysctl.Ports() > 0 && (p < r.Sysctl.PortLow || p > r.Sysctl.PortHigh) {
			continue
		}
		d := dest{s.Local.Addr(), s.Peer}
		count[d]++
		if count[d] > r.TimeWait || count[d] == r.TimeWait && s.Peer.Compare(r.TimeWaitPeer) < 0 {
			r.TimeWait, r.TimeWaitPeer = count[d], s.Peer
		}
	}
	ports := r.Sysctl.Ports()
	if ports == 0 || rules.TimeWaitFill <= 0 || float64(r.TimeWait) < rules.TimeWaitFill*float64(ports) {
		return
	}
	sev := Warning
	if r.TimeWait >= ports {
		sev = Critical
	}
	title := fmt.Sprintf("%d sockets in TIME_WAIT toward %v: %.0f%% of the %d ephemeral ports (%d-%d); %d in TIME_WAIT in all",
		r.TimeWait, r.TimeWaitPeer, 100*float64(r.TimeWait)/float64(ports), ports, r.Sysctl.PortLow, r.Sysctl.PortHigh, total)
	text := "TIME_WAIT itself is fine: it absorbs stragglers of closed connections for 60 s. It becomes a " +
		"problem only when short connections to one destination come fast enough to use up the local " +
		"ports, and connect() fails with EADDRNOTAVAIL. The fixes, in order: reuse connections (HTTP " +
		"keep-alive, connection pools); spread over several source addresses; widen " +
		"net.ipv4.ip_local_port_range; and only then net.ipv4.tcp_tw_reuse=1. Never shorten TIME_WAIT by other means."
	r.Flags = append(r.Flags, Flag{Kind: FlagTimeWait, Severity: sev, Title: title, Text: text})
}

func (r *Report) flagOrphans(rules Rules) {
	var orphans []sockdiag.Socket
	for _, s := range r.Sockets {
		if s.State == sockdiag.FinWait2 && s.Inode == 0 {
			orphans = append(orphans, s)
		}
	}
	if rules.OrphanFinWait2 <= 0 || len(orphans) < rules.OrphanFinWait2 {
		return
	}
	timeout := "net.ipv4.tcp_fin_timeout"
	if r.Sysctl.FinTimeout > 0 {
		timeout = fmt.Sprintf("%s (%d s)", timeout, r.Sysctl.FinTimeout)
	}
	title := fmt.Sprintf("%d orphaned sockets in FIN_WAIT2", len(orphans))
	text := "The application closed these sockets and the peer acknowledged the FIN, but the peer never " +
		"sent its own: a client that keeps its half open, or a FIN lost to a middlebox. The kernel keeps " +
		"each for " + timeout + " and then drops it. Many of them at once point to a client or a load " +
		"balancer that does not close connections."
	r.Flags = append(r.Flags, Flag{Kind: FlagOrphanFinWait2, Severity: Warning, Title: title, Text: text, Sockets: orphans})
}

func (r *Report) flagAcceptQueues(rules Rules) {
	for _, l := range r.Listeners {
		if l.Backlog == 0 || rules.AcceptQueueFill <= 0 || l.Fill() < rules.AcceptQueueFill {
			continue
		}
		sev := Warning
		state := "nearly full"
		// The kernel lets the queue hold backlog+1 (sk_acceptq_is_full
		// tests ">"); at that point new handshakes overflow.
		if l.Queue > l.Backlog {
			sev, state = Critical, "full"
		}
		title := fmt.Sprintf("accept queue of %v %s: %d of %d, held by %s", l.Socket.Local, state, l.Queue, l.Backlog, ownerName(l.Socket.Owners))
		text := "Connections have completed the handshake and wait for the application to accept() them. " +
			"A full queue makes the kernel drop the client's final ACK (ListenOverflows): the client thinks it " +
			"is connected, the server retransmits its SYN-ACK. The application accepts too slowly (blocked, " +
			"overloaded, too few workers) or its backlog is too small (listen(2), capped by net.core.somaxconn)."
		r.Flags = append(r.Flags, Flag{Kind: FlagAcceptQueue, Severity: sev, Title: title, Text: text, Sockets: []sockdiag.Socket{l.Socket}, Owners: l.Socket.Owners})
	}
}

func (r *Report) flagCounters() {
	if r.Interval == 0 {
		return
	}
	over := "over " + round(r.Interval)
	if d := r.Delta("TcpExt.ListenOverflows"); d > 0 {
		r.Flags = append(r.Flags, Flag{Kind: FlagListenOverflow, Severity: Critical,
			Title: fmt.Sprintf("%d listen-queue overflows %s (ListenOverflows), %d drops (ListenDrops)", d, over, r.Delta("TcpExt.ListenDrops")),
			Text: "Handshakes completed while a listener's accept queue was full, so the kernel dropped the " +
				"final ACK (or reset the connection with net.ipv4.tcp_abort_on_overflow=1). The application " +
				"does not accept() fast enough, or its listen backlog is too small."})
	}
	if d := r.Delta("TcpExt.SyncookiesSent"); d > 0 {
		r.Flags = append(r.Flags, Flag{Kind: FlagSynCookies, Severity: Warning,
			Title: fmt.Sprintf("%d SYN cookies sent %s: a SYN queue overflowed", d, over),
			Text: "A listener received more SYNs than its SYN queue holds, and answered with SYN cookies " +
				"instead of keeping state. Under a SYN flood that is the defence working; otherwise the " +
				"backlog is too small for the rate of new connections."})
	}
	if d := r.Delta("TcpExt.TCPAbortOnClose"); d > 0 {
		r.Flags = append(r.Flags, Flag{Kind: FlagAbortOnClose, Severity: Info,
			Title: fmt.Sprintf("%d connections reset on close %s (TCPAbortOnClose)", d, over),
			Text: "An application called close() with unread data in the receive buffer, so Linux sent RST " +
				"instead of FIN. The peer sees \"connection reset\". Read what the peer sent (or shut down " +
				"writing and drain) before closing."})
	}
	if d := r.Delta("TcpExt.TCPSynRetrans"); d > 0 {
		r.Flags = append(r.Flags, Flag{Kind: FlagHandshakeRetrans, Severity: Info,
			Title: fmt.Sprintf("%d SYN or SYN-ACK retransmissions %s (TCPSynRetrans), %d failed attempts (AttemptFails)", d, over, r.Delta("Tcp.AttemptFails")),
			Text: "Handshakes are losing packets: a peer that does not answer (filtered or down), loss on the " +
				"path, or a full SYN queue at a server. SYN retries back off 1 s, 2 s, 4 s..."})
	}
}
