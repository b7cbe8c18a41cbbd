package diagnose

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// AggregateAbove is how many connections may share a finding id before
// diagnose says it once for all of them: beyond ten, a list of the same
// finding reads as noise and hides the one cause behind it. The
// connections' own findings stay with them (Report.ConnFindings).
const AggregateAbove = 10

// maxInstances bounds the findings a Group keeps of its id: the worst, as
// examples and for the connections a report draws; the rest are counted.
// It exceeds AggregateAbove, so that an id no more connections share
// prints every instance. A variable for tests.
var maxInstances = 20

// aggregateExamples is how many of the worst instances an aggregate
// finding names with their evidence.
const aggregateExamples = 3

// Group is the findings of one id across the capture's connections.
type Group struct {
	ID         string
	Conns      int   // connections with a finding of this id
	Severities Count // their findings by severity
	// Worst are the worst of them, worst first (severity, then how bad
	// within it, then the earlier connection): at most maxInstances.
	Worst  []Finding
	common commonEnds
}

// Severity is the worst severity of the group's findings.
func (g *Group) Severity() Severity {
	for s := Error; s > Info; s-- {
		if g.Severities[s] > 0 {
			return s
		}
	}
	return Info
}

func (g *Group) add(f Finding, c *Conn) {
	g.Conns++
	g.Severities[f.Severity]++
	g.common.add(c)
	g.insertWorst(f)
}

// merge adds the findings of o, a group of the same id.
func (g *Group) merge(o *Group) {
	g.Conns += o.Conns
	for s, n := range o.Severities {
		g.Severities[s] += n
	}
	g.common.merge(&o.common)
	for _, f := range o.Worst {
		g.insertWorst(f)
	}
}

// insertWorst keeps f among the worst if it is.
func (g *Group) insertWorst(f Finding) {
	if len(g.Worst) == maxInstances {
		if compareWorse(&f, &g.Worst[len(g.Worst)-1]) >= 0 {
			return
		}
		g.Worst = g.Worst[:len(g.Worst)-1]
	}
	i, _ := slices.BinarySearchFunc(g.Worst, &f, func(e Finding, f *Finding) int { return compareWorse(&e, f) })
	g.Worst = slices.Insert(g.Worst, i, f)
}

// sortWorst orders the instances again once findings that waited for the
// capture's end are complete.
func (g *Group) sortWorst() {
	slices.SortFunc(g.Worst, func(a, b Finding) int { return compareWorse(&a, &b) })
}

// compareWorse orders findings of one id worst first: by severity, then
// by the rule's own measure of how bad (Finding.weight), then the
// earlier connection and evidence, so that the choice does not depend on
// the order connections end in.
func compareWorse(a, b *Finding) int {
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	if c := cmp.Compare(b.weight, a.weight); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Conn, b.Conn); c != 0 {
		return c
	}
	return cmp.Compare(firstFrame(*a), firstFrame(*b))
}

// commonEnds is what every connection of a group shares: the server, its
// host, the client's host.
type commonEnds struct {
	n                         int
	server                    netip.AddrPort
	serverHost, clientHost    netip.Addr
	oneServer, oneServerHost  bool
	oneClientHost, guessedAny bool
}

func (e *commonEnds) add(c *Conn) {
	if e.n == 0 {
		e.server, e.serverHost, e.clientHost = c.Server.Addr, c.Server.Addr.Addr(), c.Client.Addr.Addr()
		e.oneServer, e.oneServerHost, e.oneClientHost = true, true, true
	}
	e.n++
	e.oneServer = e.oneServer && c.Server.Addr == e.server
	e.oneServerHost = e.oneServerHost && c.Server.Addr.Addr() == e.serverHost
	e.oneClientHost = e.oneClientHost && c.Client.Addr.Addr() == e.clientHost
	e.guessedAny = e.guessedAny || c.RoleGuessed
}

// merge adds what o's connections share.
func (e *commonEnds) merge(o *commonEnds) {
	switch {
	case o.n == 0:
		return
	case e.n == 0:
		*e = *o
		return
	}
	e.n += o.n
	e.oneServer = e.oneServer && o.oneServer && o.server == e.server
	e.oneServerHost = e.oneServerHost && o.oneServerHost && o.serverHost == e.serverHost
	e.oneClientHost = e.oneClientHost && o.oneClientHost && o.clientHost == e.clientHost
	e.guessedAny = e.guessedAny || o.guessedAny
}

// words says what the connections share: "all of them to 10.0.0.1:80,
// from 10.0.0.2".
func (e *commonEnds) words() string {
	var parts []string
	switch {
	case e.oneServer:
		parts = append(parts, "to "+e.server.String())
	case e.oneServerHost:
		parts = append(parts, "to "+e.serverHost.String())
	}
	if e.oneClientHost {
		parts = append(parts, "from "+e.clientHost.String())
	}
	if len(parts) == 0 {
		return ""
	}
	return "all of them " + strings.Join(parts, ", ")
}

// aggregate is the one finding that stands for the group: how many
// connections, what they share and what that says of the cause, the
// worst examples with their evidence, and the worst's explanation.
func (g *Group) aggregate(x *env) Finding {
	worst := &g.Worst[0]
	var b strings.Builder
	if g.Conns == x.conns {
		fmt.Fprintf(&b, "All %d connections of the capture show it (%s)", g.Conns, g.severityWords())
	} else {
		fmt.Fprintf(&b, "%s of the capture's %d show it (%s)", capitalise(count(g.Conns, "connection")), x.conns, g.severityWords())
	}
	if w := g.common.words(); w != "" {
		b.WriteString(", " + w)
	}
	b.WriteString(". ")
	if cause := commonCause(x, g); cause != "" {
		b.WriteString(cause + " ")
	}
	examples := g.Worst[:min(aggregateExamples, len(g.Worst))]
	var ev []Claim
	b.WriteString("The worst: ")
	for i := range examples {
		f := &examples[i]
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "connection %d, %s (%s)", f.Conn, f.Title, frameList(f.Frames, len(f.Frames)))
		ev = append(ev, f.Evidence...)
	}
	b.WriteString(". ")
	if rest := g.Worst[len(examples):]; len(rest) > 0 {
		ids := make([]int, len(rest))
		for i := range rest {
			ids[i] = rest[i].Conn
		}
		slices.Sort(ids)
		fmt.Fprintf(&b, "Other examples: connections %s", intList(ids))
		if more := g.Conns - len(g.Worst); more > 0 {
			fmt.Fprintf(&b, ", and %d more", more)
		}
		b.WriteString(". ")
	}
	fmt.Fprintf(&b, "In connection %d: %s", worst.Conn, worst.Explanation)
	// The worst connection's explanation closes the words: its claims,
	// the first example's, are among them.
	agg := Finding{
		ID: g.ID, Severity: g.Severity(), Conns: g.Conns, Evidence: ev,
		Title:       fmt.Sprintf("%s: %s", count(g.Conns, "connection"), pattern(g.ID)),
		Explanation: b.String(),
		Advice:      worst.Advice,
	}
	agg.evidenceFrames()
	return agg
}

// severityWords counts a group's findings by severity: "25 warnings and
// 28 notices".
func (g *Group) severityWords() string {
	var parts []string
	for s := Error; ; s-- {
		switch n := g.Severities[s]; {
		case n > 0 && s == Info:
			parts = append(parts, strconv.Itoa(n)+" info")
		case n > 0:
			parts = append(parts, count(n, s.String()))
		}
		if s == Info {
			break
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// pattern is the catalogue's words for rule id.
func pattern(id string) string {
	for _, r := range catalogue {
		if r.ID == id {
			return r.Pattern
		}
	}
	return id
}

// intList names ids: "3, 7 and 12".
func intList(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// MoreInteresting orders connections for a table, most interesting
// first: those with findings before those without, then by their worst
// finding, then by how many findings above info they have, then in the
// order they appeared. It reads the connections' Findings.
func MoreInteresting(a, b *Conn) int {
	ia, ib := interestOf(a), interestOf(b)
	if ia.any != ib.any {
		if ia.any {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(ib.worst, ia.worst); c != 0 {
		return c
	}
	if c := cmp.Compare(ib.n, ia.n); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

type interest struct {
	any   bool
	worst Severity
	n     int // findings above info
}

func interestOf(c *Conn) interest {
	var in interest
	for _, f := range c.Findings {
		in.any = true
		in.worst = max(in.worst, f.Severity)
		if f.Severity > Info {
			in.n++
		}
	}
	return in
}

// rowStore keeps the connections a report shows whole: the keep most
// interesting, and those pinned. It grows by a quarter (and some) past
// what it keeps before it sorts and cuts back, so that the sorting costs
// a few comparisons per connection.
type rowStore struct {
	rows []*Conn
	next int // cut back when rows grow past this
	// spare are the rows cut back, for the next ones: a flood ends a
	// connection per SYN, and a row made for each would be a kilobyte
	// of garbage each time.
	spare []*Conn
}

// row returns a row to fill, a spare one if there is one.
func (s *rowStore) row() *Conn {
	if n := len(s.spare); n > 0 {
		c := s.spare[n-1]
		s.spare = s.spare[:n-1]
		return c
	}
	return new(Conn)
}

// add adds c, a row from row, filled.
func (s *rowStore) add(c *Conn, keep int, pinned func(id int) bool) {
	s.rows = append(s.rows, c)
	if len(s.rows) > s.next {
		s.compact(keep, pinned)
		s.next = len(s.rows) + keep/4 + 64
	}
}

func (s *rowStore) compact(keep int, pinned func(id int) bool) {
	slices.SortFunc(s.rows, MoreInteresting)
	kept := s.rows[:0]
	for i, c := range s.rows {
		if i < keep || pinned(c.ID) {
			kept = append(kept, c)
		} else {
			*c = Conn{} // holds nothing alive while spare
			s.spare = append(s.spare, c)
		}
	}
	clear(s.rows[len(kept):])
	s.rows = kept
}

// final cuts back to what the report keeps and hands the rows over.
func (s *rowStore) final(keep int, pinned func(id int) bool) []Conn {
	s.compact(keep, pinned)
	rows := make([]Conn, len(s.rows))
	for i, c := range s.rows {
		rows[i] = *c
	}
	s.rows, s.spare = nil, nil
	return rows
}
