package diagnose

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/wire"
)

// A scan or a sweep is many connection attempts from one address, each a
// probe: a SYN or two, no data either way, the answer (SYN-ACK, RST or
// nothing) the whole point. A port scan probes many ports of a host, a
// sweep one port of many hosts. Each probe, diagnosed alone, looks like a
// failure (refused, unanswered SYNs, a SYN-ACK the client never
// acknowledged), which it is not: the scan has a finding of its own, what
// the scanned hosts answered port by port, and its probes' own findings
// are left out.

// Scans are judged when the capture ends, so a probe's own findings wait
// with its scanner until then: dropped if the scanner turns out to scan,
// counted as usual if not.
const (
	// scanTargets is how many distinct ports of one host (or hosts on
	// one port) make a scan: nmap's quickest scan (-F) probes 100.
	scanTargets = 20
	// maxScanners bounds the client addresses followed; maxScanEntries
	// the targets they probed, together (some 40 bytes each).
	maxScanners    = 4096
	maxScanEntries = 1 << 18
	// scanMaxSYNs is the most SYNs a probe sends: a scanner sends one
	// per probe (and probes again from another port), a connect() that
	// gets no answer resends its SYN five or six times.
	scanMaxSYNs = 2
)

// What a probe's target answered, best first.
const (
	probeOpen   = iota // SYN-ACK
	probeClosed        // RST
	probeSilent        // nothing
	probeKinds
)

var probeWords = [probeKinds]string{"open, answering SYN-ACK", "closed, answering RST", "silent, answering nothing (filtered, or nothing there)"}

// scanner is what the capture shows of one client address's connection
// attempts, while it may be scanning.
type scanner struct {
	addr          netip.Addr
	conns, probes int
	// targets are the services it probed, each with the best answer
	// it got; perHost and perPort count them by host and by port.
	targets     map[netip.AddrPort]uint8
	perHost     map[netip.Addr]int
	perPort     map[uint16]int
	capped      bool // the budget stopped the targets: their counts are lower bounds
	first, last Mark
	// examples are the first probe of each answer, with its claims.
	examples [probeKinds]scanExample
	// pending are its probes' own findings, until the capture's end
	// says whether it scanned.
	pending map[string]*Group
}

type scanExample struct {
	id     int
	target netip.AddrPort
	claims []Claim
}

// scanTable is the client addresses that made probes.
type scanTable struct {
	by      map[netip.Addr]*scanner
	entries int
	scans   map[netip.Addr]bool // at Finish: the addresses that scanned
}

func newScanTable() scanTable { return scanTable{by: map[netip.Addr]*scanner{}} }

// probeOf says whether c was a probe, and what its target answered.
func (c *Conn) probeOf() (uint8, bool) {
	cl, sv := &c.Client, &c.Server
	if !c.clientOpened() || cl.PayloadBytes > 0 || sv.PayloadBytes > 0 || cl.Packets > 4 || sv.Packets > 8 || cl.SentFIN || sv.SentFIN {
		return 0, false
	}
	if f := c.Facts; f != nil && f.Client.SYNs > scanMaxSYNs {
		return 0, false
	}
	switch {
	case sv.Offered.Seen:
		return probeOpen, true
	case sv.SentRST:
		return probeClosed, true
	case sv.Packets == 0:
		return probeSilent, true
	}
	return 0, false
}

// add counts c; it reports whether c was a probe whose findings are to
// wait (see pend).
func (t *scanTable) add(c *Conn) *scanner {
	if !c.clientOpened() {
		return nil
	}
	a := c.Client.Addr.Addr()
	s := t.by[a]
	answer, probe := c.probeOf()
	if s == nil {
		if !probe || len(t.by) >= maxScanners {
			return nil
		}
		s = &scanner{addr: a, targets: map[netip.AddrPort]uint8{}, perHost: map[netip.Addr]int{}, perPort: map[uint16]int{}}
		t.by[a] = s
	}
	s.conns++
	if !probe {
		return nil
	}
	s.probes++
	if m := (Mark{Frame: c.FirstFrame, Time: c.Start}); !s.first.Seen() || m.Frame < s.first.Frame {
		s.first = m
	}
	if m := (Mark{Frame: c.LastFrame, Time: c.End}); m.Frame > s.last.Frame {
		s.last = m
	}
	tg := c.Server.Addr
	if old, ok := s.targets[tg]; ok {
		s.targets[tg] = min(old, answer)
	} else if t.entries < maxScanEntries {
		s.targets[tg] = answer
		s.perHost[tg.Addr()]++
		s.perPort[tg.Port()]++
		t.entries++
	} else {
		s.capped = true
	}
	if e := &s.examples[answer]; e.id == 0 || c.ID < e.id {
		*e = scanExample{id: c.ID, target: tg, claims: c.probeClaims(answer)}
	}
	return s
}

// probeClaims are what one probe shows: the client's SYNs and the
// answer, or that none came.
func (c *Conn) probeClaims(answer uint8) []Claim {
	syns := c.synFrames()
	var ev claims
	ev.add(c.sent(client, synOnly, synMask, syns...))
	switch answer {
	case probeOpen:
		ev.add(c.sent(server, wire.SYN|wire.ACK, synMask, c.Server.Offered.Frame))
	case probeClosed:
		ev.add(c.sent(server, wire.RST, wire.SYN|wire.RST, c.Server.RSTFrame))
	case probeSilent:
		ev.add(c.claim(ClaimUnanswered, client, syns...))
	}
	return ev
}

// pend keeps a probe's findings with its scanner.
func (s *scanner) pend(c *Conn) {
	for _, f := range c.Findings {
		if s.pending == nil {
			s.pending = map[string]*Group{}
		}
		g := s.pending[f.ID]
		if g == nil {
			g = &Group{ID: f.ID}
			s.pending[f.ID] = g
		}
		g.add(f, c)
	}
}

// scanned says whether the scanner scanned: enough distinct targets of
// one host or on one port, nearly all its attempts probes, at a
// scanner's pace (one a second or faster), and some target answered or
// so many stayed silent that nothing else sends so.
func (s *scanner) scanned() bool {
	if s.probes*5 < s.conns*4 {
		return false
	}
	ports, hosts := maxCount(s.perHost), maxCount(s.perPort)
	if ports < scanTargets && hosts < scanTargets {
		return false
	}
	if s.last.Time.Sub(s.first.Time) > time.Duration(s.probes)*time.Second {
		return false
	}
	answered := s.examples[probeOpen].id != 0 || s.examples[probeClosed].id != 0
	return answered || len(s.targets) >= 5*scanTargets
}

func maxCount[K comparable](m map[K]int) int {
	n := 0
	for _, v := range m {
		n = max(n, v)
	}
	return n
}

// settle judges every scanner once the capture has ended: those that
// scanned are kept for their findings and their probes' findings
// dropped; the others' probes' findings join groups.
func (t *scanTable) settle(groups map[string]*Group) {
	t.scans = map[netip.Addr]bool{}
	for a, s := range t.by {
		if s.scanned() {
			t.scans[a] = true
			continue
		}
		for id, p := range s.pending {
			g := groups[id]
			if g == nil {
				g = &Group{ID: id}
				groups[id] = g
			}
			g.merge(p)
		}
		s.pending = nil
	}
}

// scanProbe says whether c was a probe of a scan, once settled.
func (t *scanTable) scanProbe(c *Conn) bool {
	if !t.scans[c.Client.Addr.Addr()] {
		return false
	}
	_, probe := c.probeOf()
	return probe
}

func ruleScan(x *env) []Finding {
	t := x.scans
	if t == nil {
		return nil
	}
	var out []Finding
	for a := range t.scans {
		out = append(out, t.by[a].finding())
	}
	slices.SortFunc(out, func(a, b Finding) int { return cmp.Compare(firstFrame(a), firstFrame(b)) })
	return out
}

// finding says what the scanner did and what its targets answered.
func (s *scanner) finding() Finding {
	ports, hosts := maxCount(s.perHost), maxCount(s.perPort)
	var by [probeKinds][]netip.AddrPort
	for tg, a := range s.targets {
		by[a] = append(by[a], tg)
	}
	for i := range by {
		slices.SortFunc(by[i], func(a, b netip.AddrPort) int { return a.Compare(b) })
	}
	atLeast := ""
	if s.capped {
		atLeast = "at least "
	}
	oneHost := len(s.perHost) == 1
	var host netip.Addr
	for h := range s.perHost {
		host = h
	}
	id, what := "port-scan", ""
	switch {
	case ports >= scanTargets && oneHost:
		what = fmt.Sprintf("%s%s of %s", atLeast, nOf(len(s.targets), "port"), host)
	case ports >= scanTargets:
		what = fmt.Sprintf("%s%s on %s (%s of one host at most)", atLeast, nOf(len(s.targets), "port"), nOf(len(s.perHost), "host"), nOf(ports, "port"))
	default:
		id = "host-sweep"
		what = fmt.Sprintf("%s%s", atLeast, nOf(len(s.perHost), "host"))
		if len(s.perPort) == 1 {
			for p := range s.perPort {
				what += fmt.Sprintf(" on port %d", p)
			}
		} else {
			what += fmt.Sprintf(" on %s (%s on one port at most)", nOf(len(s.perPort), "port"), nOf(hosts, "host"))
		}
	}
	verb := "scanned"
	if id == "host-sweep" {
		verb = "swept"
	}
	var b strings.Builder
	span := s.last.Time.Sub(s.first.Time)
	fmt.Fprintf(&b, "From frame %d to frame %d (%s), %s made %s connection attempts to %s and sent no data in any: ",
		s.first.Frame, s.last.Frame, dur(span), s.addr, thousands(s.probes), what)
	if id == "port-scan" {
		b.WriteString("a port scan (a SYN scan such as nmap -sS sends one SYN per port and resets whatever answers; a connect scan completes the handshake and closes at once). ")
	} else {
		b.WriteString("a sweep, looking for the hosts that offer a service. ")
	}
	list, unit := listPorts, "port"
	switch {
	case oneHost:
		b.WriteString("What the host answered, port by port. ")
	case len(s.perPort) == 1:
		list, unit = listHosts, "host"
		b.WriteString("What the hosts answered, host by host. ")
	default:
		list, unit = listBoth, "target"
		b.WriteString("What the targets answered, one by one. ")
	}
	var parts []string
	for a := range by {
		if len(by[a]) == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s, %s%s", probeWords[a], nOf(len(by[a]), unit), targetList(by[a], list)))
	}
	b.WriteString(capitalise(strings.Join(parts, "; ")) + ". ")
	if s.probes < s.conns {
		fmt.Fprintf(&b, "%s of its %s carried data or more than a probe's packets, and are diagnosed as usual. ",
			capitalise(count(s.conns-s.probes, "connection")), count(s.conns, "connection"))
	}
	b.WriteString("Each probe's connection is left out of the findings about single connections (refused, unanswered SYNs, " +
		"SYN-ACKs the scanner never acknowledged): they describe the scan, not a fault.")
	var ev []Claim
	for _, e := range s.examples {
		ev = append(ev, e.claims...)
	}
	title := fmt.Sprintf("%s %s %s: %s open, %s closed, %s silent", s.addr, verb, what,
		thousands(len(by[probeOpen])), thousands(len(by[probeClosed])), thousands(len(by[probeSilent])))
	advice := "If the scan was not expected, find who runs " + s.addr.String() + " and block it; if it was, the open ports are what the targets expose " +
		"to it: check that each should be reachable from there."
	return Finding{ID: id, Severity: Warning, Evidence: ev, Title: title, Explanation: b.String(), Advice: advice, weight: float64(s.probes)}
}

// How targetList names targets.
const (
	listPorts = iota // their ports: they are of one host
	listHosts        // their hosts: they are on one port
	listBoth
)

// targetList names up to ten targets.
func targetList(ts []netip.AddrPort, how int) string {
	const most = 10
	if how == listPorts {
		slices.SortFunc(ts, func(a, b netip.AddrPort) int { return cmp.Compare(a.Port(), b.Port()) })
	}
	var names []string
	for _, t := range ts[:min(len(ts), most)] {
		switch how {
		case listPorts:
			names = append(names, fmt.Sprint(t.Port()))
		case listHosts:
			names = append(names, t.Addr().String())
		default:
			names = append(names, t.String())
		}
	}
	more := ""
	if len(ts) > most {
		more = fmt.Sprintf(", and %d more", len(ts)-most)
	}
	return ": " + strings.Join(names, ", ") + more
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// nOf is a count of things with its thousands marked: "1,000 ports".
func nOf(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return thousands(n) + " " + unit + "s"
}
