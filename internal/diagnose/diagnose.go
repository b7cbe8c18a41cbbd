package diagnose

import (
	"cmp"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/freezer"
	"github.com/tcplens/tcplens/internal/wire"
)

// Conn is one connection: its summary and, while the rules run on it, its
// facts (never nil then: a Conn made from a summary alone has empty facts,
// and the rules that need them find nothing). A Report's connections have
// no facts any more, and their findings instead.
type Conn struct {
	analyze.Summary
	Facts    *Facts
	Findings []Finding // its own findings, worst first (in a Report)
}

// Report is a capture diagnosed. It holds the findings in full, but not
// every connection: a capture of millions of connections is diagnosed in
// the memory of the few it keeps whole (see [Collector]).
type Report struct {
	// Conns are the connections kept whole, by id: the most interesting
	// (Collector.Rows of them, ranked by [MoreInteresting]), those
	// Collector.Want names, and the worst example of each finding id.
	Conns []Conn
	// ConnCount is how many connections the capture held; Vantages
	// counts them by where their timing says the capture was taken.
	ConnCount int
	// Shown is how many of them Collector.Show accepted: ConnCount
	// without Show.
	Shown    int
	Vantages [4]int
	// Findings are what diagnose prints, worst first: the capture's, each
	// connection's own, and for an id that more than AggregateAbove
	// connections share, one finding that stands for all of them.
	Findings []Finding
	// Groups gathers the connections' own findings by id, worst id
	// first, each with its worst instances.
	Groups []Group
	// Counts tallies findings by severity as a person counts them: every
	// connection's own, aggregated or not, and the capture's.
	Counts  Count
	Stats   analyze.Stats
	Capture CaptureFacts
}

// Conn returns connection id if the report kept it whole.
func (r *Report) Conn(id int) *Conn {
	i, ok := slices.BinarySearchFunc(r.Conns, id, func(c Conn, id int) int { return c.ID - id })
	if !ok {
		return nil
	}
	return &r.Conns[i]
}

// ConnFindings returns the findings of connection id, worst first: all of
// them when the report kept it whole, else those its groups kept as
// examples.
func (r *Report) ConnFindings(id int) []Finding {
	if c := r.Conn(id); c != nil {
		return c.Findings
	}
	var out []Finding
	for i := range r.Groups {
		for _, f := range r.Groups[i].Worst {
			if f.Conn == id {
				out = append(out, f)
			}
		}
	}
	Sort(out)
	return out
}

// Narrow leaves findings out of a report narrowed to some connections
// (Collector.Show): those about the capture as a whole, which concern no
// one connection, unless capture says to keep them; and with ids given,
// those of other ids. Counts and Groups follow.
func (r *Report) Narrow(capture bool, ids []string) {
	keep := func(id string) bool { return len(ids) == 0 || slices.Contains(ids, id) }
	r.Findings = slices.DeleteFunc(r.Findings, func(f Finding) bool {
		whole := f.Conn == 0 && f.Conns == 0
		drop := !keep(f.ID) || whole && !capture
		if drop && whole && f.Severity <= Error {
			r.Counts[f.Severity]--
		}
		return drop
	})
	r.Groups = slices.DeleteFunc(r.Groups, func(g Group) bool {
		if keep(g.ID) {
			return false
		}
		for s, n := range g.Severities {
			r.Counts[s] -= n
		}
		return true
	})
}

// Group returns the group of finding id, nil when no connection has one.
func (r *Report) Group(id string) *Group {
	for i := range r.Groups {
		if r.Groups[i].ID == id {
			return &r.Groups[i]
		}
	}
	return nil
}

// DefaultRows is how many connections a report page's table shows: the
// most interesting thousand read in a browser at once, and cost a few
// megabytes however large the capture.
const DefaultRows = 1000

// Collector diagnoses a capture as it streams: call Segment for every
// analysed segment and OnConn for every connection as it ends (the
// analyzer's two hooks), then Finish.
//
// What it holds is bounded by the connections open at once, not by the
// capture: facts for each open connection (a few hundred bytes, more once
// it carries data); of an ended connection, once the rules have run on
// it, nothing but its share in capped capture-wide aggregates, unless it
// is among the Rows most interesting, named by Want, or one of the worst
// instances of its findings.
type Collector struct {
	// Rows is how many of the most interesting connections the report
	// keeps whole (summary and findings) for a connection table; 0 keeps
	// none beyond those Want names and the findings' worst examples.
	Rows int
	// Want, when set, names connections kept whole whatever their rank:
	// those a command was asked to show.
	Want func(id int) bool
	// Show, when set, narrows the report to the connections it accepts (a
	// command's --conn, --state, --since …), asked once for each as it
	// ends, its findings made: only theirs are grouped, counted and
	// reported, only they fill the rows. Every connection is still
	// diagnosed and feeds the capture-wide rules: what is shown is
	// narrowed, not what is analysed.
	Show func(c *Conn) bool
	// Ended, when set, is handed every connection as the rules are done
	// with it: its summary and all its findings (a finding whose words
	// wait for the capture's end is Pending; Complete writes them). It
	// is valid only during the call. probe says that it was a probe of
	// a client address that may be scanning: its findings stand only if
	// the address turns out not to scan, which Scanned says after
	// Finish (a scan's finding stands for its probes').
	Ended func(c *Conn, probe bool)

	Stats CaptureFacts

	open  map[*conn.Conn]*Facts
	hosts hostTable
	last  Mark // the latest segment seen: the capture's end so far

	// The connection whose segment came last, and its facts (see facts).
	recent      *conn.Conn
	recentFacts *Facts
	// workers are the Collectors of the workers of a parallel analysis
	// (see Worker); a worker's notes says so: Note tells the capture-wide
	// facts its segments feed, in the capture's order.
	workers []*Collector
	noted   bool
	// freezer freezes the facts of the connections whose state the
	// table froze (a worker's; see Freeze), into their Beside.
	freezer *freezer.Freezer[Facts]
	// cur and x are the connection the rules run on and what they know
	// beyond it, reused: the rules are called through function values,
	// so what they are handed escapes, and a flood of a million SYNs
	// would allocate a Conn and an env for each.
	cur Conn
	x   env

	conns    int
	shown    int
	vantages [4]int
	groups   map[string]*Group
	rows     rowStore
	services serviceTable
	pairs    pairTable
	unseen   unseenTotals
	scans    scanTable
	replaced replacedTable
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{
		open:     make(map[*conn.Conn]*Facts),
		hosts:    newHostTable(),
		groups:   make(map[string]*Group),
		services: newServiceTable(),
		pairs:    newPairTable(),
		scans:    newScanTable(),
		replaced: make(replacedTable),
	}
}

// OnConn is the analyzer's onConn hook: it ends c, runs the rules about
// one connection on it, feeds the capture-wide aggregates and forgets it,
// unless the report is to keep it whole.
func (col *Collector) OnConn(c *conn.Conn, why conn.EndReason) {
	col.end(c, why, &col.cur)
	col.ended(&col.cur)
	release(col.cur.Facts)
	col.cur = Conn{}
}

// Worker returns the Collector of one worker of a parallel analysis
// (analyze.Parallel), whose Segment and End run on that worker's
// goroutine: it learns the facts of the worker's connections. col, on the
// merging goroutine, runs the rules on them as they end (Merged), and
// learns what every segment feeds across connections (the TTLs of each
// host, the capture's latest time) from Note.
func (col *Collector) Worker() *Collector {
	w := NewCollector()
	w.noted = true
	w.freezer = freezer.New[Facts](reflect.TypeFor[*Exchange](), reflect.TypeFor[*Unusual](), reflect.TypeFor[*sentRing]())
	col.workers = append(col.workers, w)
	col.noted = true
	return w
}

// Freeze freezes the facts of c, whose state the table of a worker
// (Worker) freezes: a closed connection waits 70 s in the table, and its
// facts are the larger part of what it holds.
func (col *Collector) Freeze(c *conn.Conn) {
	f := col.open[c]
	if f == nil {
		return
	}
	delete(col.open, c)
	if c == col.recent {
		col.recent, col.recentFacts = nil, nil
	}
	col.freezer.Freeze(f, int64(c.Start), &c.Beside)
	release(f)
}

// Thaw thaws the facts of c, whose state the table has thawed.
func (col *Collector) Thaw(c *conn.Conn) {
	if c.Beside.Empty() {
		return
	}
	f := spareFacts.Get().(*Facts)
	col.freezer.Thaw(&c.Beside, int64(c.Start), f)
	c.Beside = freezer.Frozen{}
	col.open[c] = f
}

// Merged runs the rules on c, a connection a worker ended (End), numbered
// as the merged analysis numbers it, feeds the capture-wide aggregates and
// forgets it, unless the report is to keep it whole.
func (col *Collector) Merged(c *Conn, id, previous int) {
	c.ID, c.Previous = id, previous
	col.ended(c)
	release(c.Facts)
	c.Facts = nil
}

// Note learns what a segment feeds across connections, in the capture's
// order, as Segment does for a Collector without workers: the parallel
// analysis's note hook.
func (col *Collector) Note(n *analyze.Note) {
	if n.Frame != 0 && n.Time >= col.last.Time {
		col.last = Mark{Frame: n.Frame, Time: n.Time}
	}
	if !n.Flags.Has(wire.RST) {
		col.hosts.add(col.hosts.entry(n.Src), n.TTL)
	}
}

// ended runs the rules on c and counts it; the report keeps a copy of it
// if it is to keep it whole. Its facts are the caller's again after.
func (col *Collector) ended(c *Conn) {
	c.Facts.Client.readable()
	c.Facts.Server.readable()
	col.x = env{hosts: &col.hosts, capture: col.Stats, end: col.last}
	c.Findings = diagnoseConn(&col.x, c)
	col.conns++
	col.vantages[c.Vantage]++
	col.services.add(c)
	col.unseen.add(c)
	col.pairs.add(c, col.replaced.take(c))
	col.replaced.put(c)
	probe := col.scans.add(c)
	if col.Ended != nil {
		col.Ended(c, probe != nil)
	}
	if col.Show != nil && !col.Show(c) {
		return
	}
	col.shown++
	if probe != nil {
		probe.pend(c) // a probe: its findings wait for its scanner's verdict
	} else {
		col.group(c)
	}
	want := col.Want != nil && col.Want(c.ID)
	if !want && !col.worstOfAny(c.ID) && col.Rows == 0 {
		return
	}
	kept := col.rows.row()
	*kept = *c
	kept.Facts = nil
	if !want {
		// Only explain's JSON prints the transitions, and only of
		// the connections it was asked for; each costs its reasons.
		kept.Client.History, kept.Server.History = nil, nil
	}
	col.rows.add(kept, col.Rows, col.pinned)
}

// group adds c's findings to their groups.
func (col *Collector) group(c *Conn) {
	for _, f := range c.Findings {
		g := col.groups[f.ID]
		if g == nil {
			g = &Group{ID: f.ID}
			col.groups[f.ID] = g
		}
		g.add(f, c)
	}
}

// pinned says whether a row must stay whatever its rank.
func (col *Collector) pinned(id int) bool {
	return (col.Want != nil && col.Want(id)) || col.worstOfAny(id)
}

// worstOfAny says whether connection id is the worst instance of some
// finding id: the report draws those first.
func (col *Collector) worstOfAny(id int) bool {
	for _, g := range col.groups {
		if len(g.Worst) > 0 && g.Worst[0].Conn == id {
			return true
		}
	}
	return false
}

// Finish diagnoses what concerns the capture as a whole, once the
// analyzer is closed (every connection has ended). stats are the
// analyzer's counts.
func (col *Collector) Finish(stats analyze.Stats) *Report {
	for _, w := range col.workers {
		col.Stats.add(&w.Stats)
	}
	rep := &Report{ConnCount: col.conns, Shown: col.shown, Vantages: col.vantages, Stats: stats, Capture: col.Stats}
	end := col.last
	col.scans.settle(col.groups)
	for i := range col.rows.rows {
		if c := col.rows.rows[i]; col.scans.scanProbe(c) {
			c.Findings = nil // port-scan or host-sweep says it
		}
	}
	for _, g := range col.groups {
		finishAll(g.Worst, end)
		g.sortWorst()
	}
	for _, c := range col.rows.rows {
		finishAll(c.Findings, end)
		Sort(c.Findings)
	}
	rows := col.rows.final(col.Rows, col.pinned)
	slices.SortFunc(rows, func(a, b Conn) int { return a.ID - b.ID })
	rep.Conns = rows

	x := &env{hosts: &col.hosts, capture: col.Stats, stats: stats, end: end,
		services: &col.services, pairs: &col.pairs, unseen: &col.unseen, scans: &col.scans, conns: col.conns}
	var out []Finding
	for _, r := range captureRules {
		for _, f := range r(x) {
			f.evidenceFrames()
			out = append(out, f)
		}
	}
	rep.Counts = CountOf(out)
	for _, g := range col.groups {
		for s, n := range g.Severities {
			rep.Counts[s] += n
		}
		if g.Conns > AggregateAbove {
			out = append(out, g.aggregate(x))
		} else {
			out = append(out, g.Worst...)
		}
		rep.Groups = append(rep.Groups, *g)
	}
	Sort(out)
	rep.Findings = out
	// Worst first as the findings are (Sort), each group by its worst.
	slices.SortFunc(rep.Groups, func(a, b Group) int {
		wa, wb := &a.Worst[0], &b.Worst[0]
		if c := cmp.Compare(wb.Severity, wa.Severity); c != 0 {
			return c
		}
		if c := cmp.Compare(wa.Conn, wb.Conn); c != 0 {
			return c
		}
		if c := cmp.Compare(firstFrame(*wa), firstFrame(*wb)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return rep
}

// Run diagnoses connections known only by their summaries, as `conns`
// builds them: the rules that need a Collector's facts find nothing. It is
// the entry point for callers that keep summaries; a caller that can hook
// the analyzer gets more from a Collector (analyze.New(opts,
// col.Segment, col.OnConn), then col.Finish).
func Run(sums []analyze.Summary, stats analyze.Stats) []Finding {
	col := NewCollector()
	for i := range sums {
		col.ended(&Conn{Summary: sums[i], Facts: &Facts{}})
	}
	return col.Finish(stats).Findings
}

// env is what rules know beyond one connection.
type env struct {
	hosts   *hostTable
	capture CaptureFacts
	stats   analyze.Stats // at Finish only
	// end is the capture's end: its latest segment at Finish, the latest
	// so far while connections end. Findings whose words depend on it
	// are completed at Finish (Finding.late).
	end Mark

	// The capture-wide aggregates, at Finish.
	services *serviceTable
	pairs    *pairTable
	unseen   *unseenTotals
	scans    *scanTable
	conns    int
}

// connRule is a rule about one connection; it returns nil when the
// connection does not show its pattern.
type connRule func(x *env, c *Conn) *Finding

// captureRule is a rule about the capture as a whole, run at Finish on
// the aggregates the connections fed as they ended.
type captureRule func(x *env) []Finding

func diagnoseConn(x *env, c *Conn) []Finding {
	var out []Finding
	for _, r := range connRules {
		if f := r(x, c); f != nil {
			f.Conn = c.ID
			f.evidenceFrames()
			out = append(out, *f)
		}
	}
	Sort(out)
	return out
}

// Scanned reports whether the client address a scanned (or swept),
// once Finish has judged the scans: the findings of its probes, each of
// which Ended was told of as a probe, are left out.
func (col *Collector) Scanned(a netip.Addr) bool { return col.scans.scans[a] }

// Complete writes the words of findings that waited for the capture's
// end, once every segment has been handed over: measured to the last
// segment the Collector saw (its frame and time; in a shard, of whichever
// shard), as Finish measures them. (A bare time would not do: a finding
// given an end without its frame measures to its connection's own end.)
func (col *Collector) Complete(fs []Finding) { finishAll(fs, col.last) }

// Pending reports whether the finding's words wait for the capture's end.
func (f *Finding) Pending() bool { return f.late != nil }

// finishAll completes the findings that waited for the capture's end.
func finishAll(fs []Finding, end Mark) {
	for i := range fs {
		if fs[i].late != nil {
			fs[i].late(&fs[i], end)
			fs[i].late = nil
			fs[i].evidenceFrames()
		}
	}
}
