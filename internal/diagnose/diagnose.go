package diagnose

import (
	"slices"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
)

// Conn is one connection to diagnose: its summary and, when a Collector
// followed it, its facts (never nil: a Conn made from a summary alone has
// empty facts, and the rules that need them find nothing).
type Conn struct {
	analyze.Summary
	Facts *Facts
}

// Report is a capture diagnosed: its connections in the order they first
// appeared and every finding, worst first.
type Report struct {
	Conns    []Conn
	Findings []Finding
	Stats    analyze.Stats
	Capture  CaptureFacts
}

// ConnFindings returns the findings of connection id, in report order.
func (r *Report) ConnFindings(id int) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Conn == id {
			out = append(out, f)
		}
	}
	return out
}

// Finish diagnoses everything the Collector saw, once the analyzer is
// closed (every connection has ended). stats are the analyzer's counts.
func (col *Collector) Finish(stats analyze.Stats) *Report {
	conns := col.ended
	col.ended = nil
	slices.SortFunc(conns, func(a, b Conn) int { return a.ID - b.ID })
	rep := &Report{Conns: conns, Stats: stats, Capture: col.Stats}
	rep.Findings = diagnose(conns, &env{hosts: &col.hosts, capture: col.Stats, stats: stats})
	return rep
}

// OnConn is the analyzer's onConn hook: it ends c and keeps it for Finish.
func (col *Collector) OnConn(c *conn.Conn, why conn.EndReason) {
	col.ended = append(col.ended, col.End(c, why))
}

// Run diagnoses connections known only by their summaries, as `conns`
// builds them: the rules that need a Collector's facts find nothing. It is
// the entry point for callers that keep summaries; a caller that can hook
// the analyzer gets more from a Collector (analyze.New(opts,
// col.Segment, col.OnConn), then col.Finish).
func Run(sums []analyze.Summary, stats analyze.Stats) []Finding {
	conns := make([]Conn, len(sums))
	for i := range sums {
		conns[i] = Conn{Summary: sums[i], Facts: &Facts{}}
	}
	h := newHostTable()
	return diagnose(conns, &env{hosts: &h, stats: stats})
}

// env is what rules know beyond one connection.
type env struct {
	hosts   *hostTable
	capture CaptureFacts
	stats   analyze.Stats
	byID    map[int]*Conn
}

// connRule is a rule about one connection; it returns nil when the
// connection does not show its pattern.
type connRule func(x *env, c *Conn) *Finding

// captureRule is a rule about the capture as a whole.
type captureRule func(x *env, conns []Conn) []Finding

func diagnose(conns []Conn, x *env) []Finding {
	x.byID = make(map[int]*Conn, len(conns))
	for i := range conns {
		x.byID[conns[i].ID] = &conns[i]
	}
	var out []Finding
	for i := range conns {
		c := &conns[i]
		for _, r := range connRules {
			if f := r(x, c); f != nil {
				f.Conn = c.ID
				out = append(out, *f)
			}
		}
	}
	for _, r := range captureRules {
		out = append(out, r(x, conns)...)
	}
	Sort(out)
	return out
}
