package export

import (
	"errors"
	"net/netip"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/zeek"
)

// Options configure an export.
type Options struct {
	Capture string // the capture's name, in every row's capture column
	// Analysis is the analysis's: the connection table's cap, the cores
	// it runs on, and the shard of the connections it exports (the
	// other shards' segments still move the clock and feed the
	// diagnosis's view of their hosts, so that every shard's rows are
	// those of the whole run).
	Analysis analyze.Options
	// Findings runs the diagnosis: the findings table, and each
	// connection's finding ids.
	Findings bool
	// NoTransitions leaves the transitions table out: its rows, a dozen
	// a connection with their reasons in words, cost more to make and
	// write than the connections'.
	NoTransitions bool
}

// Stats is what an export did.
type Stats struct {
	Analysis analyze.Stats
	// Evicted counts the connections the table's caps evicted, of them
	// EvictedAttempts the attempts': a sharded export's union may differ
	// from an unsharded one's then.
	Evicted, EvictedAttempts int
}

// Exporter runs the analysis, on every core (analyze.Parallel), and the
// diagnosis over a capture, and writes the dataset's tables. Each worker
// of the analysis makes the rows of its connections as they end, and
// writes the rows of its segments (when asked for) into files of its
// own; the merged analysis hands the connections on in the capture's
// order, where the diagnosis's rules run on them (as diagnose runs
// them) and their rows are written, so that the connections, findings
// and transitions tables are the same whatever the number of cores.
type Exporter struct {
	opts Options
	ds   *Tables // the merger's
	p    *analyze.Parallel[connRows]
	col  *diagnose.Collector // nil without Findings
	segs []*Table[Segment]   // each worker's, nil without the segments table
	cur  *connRows           // the connection the collector is handed, with its rows
	// late are findings whose words wait for the capture's end, with
	// their connection's summary and identity (and, a probe's, its
	// client); probes the rows of connections that may be probes of a
	// scan, whose findings wait for the scanner's verdict at the
	// capture's end (as diagnose's do).
	late   []pendingFinding
	probes probeRows
	err    error
}

// connRows is what a worker makes of a connection as it ends: what the
// diagnosis's rules read of it (with Findings), and its rows but for the
// finding ids.
type connRows struct {
	diag  diagnose.Conn
	start pcap.Time
	flow  Flow
	row   Connection
	trans []Transition
}

type pendingFinding struct {
	f     diagnose.Finding
	start pcap.Time // its connection's first packet
	flow  Flow
	probe netip.Addr // the client, of a probe's finding: it stands if the client did not scan
}

// NewExporter returns an exporter writing into ds, the only one.
func NewExporter(ds *Dataset, opts Options) *Exporter {
	e := &Exporter{opts: opts, ds: ds.Tables()}
	var note func(*analyze.Note)
	if opts.Findings {
		e.col = diagnose.NewCollector()
		e.col.Ended = e.ended
		note = e.col.Note
	}
	e.p = analyze.NewParallel(opts.Analysis, func(i int) analyze.Hooks[connRows] {
		w := &exportWorker{capture: opts.Capture, first: opts.Analysis.Shard.K == 0, transitions: !opts.NoTransitions}
		var h analyze.Hooks[connRows]
		if e.col != nil {
			w.col = e.col.Worker()
			h = analyze.Hooks[connRows]{Segment: w.col.Segment, Freeze: w.col.Freeze, Thaw: w.col.Thaw, Other: w.col.Other}
		}
		if ds.segments {
			w.segs, w.flows = ds.SegmentTable(i), make(map[*conn.Conn]*segmentConn)
			e.segs = append(e.segs, w.segs)
			h.Segment = w.segment
		}
		h.End = w.end
		return h
	}, e.merged, note)
	return e
}

// Stable says the frames handed to Add stay valid until release is told
// the analysis is done with them (analyze.Parallel.Stable).
func (e *Exporter) Stable(release func(frame int)) { e.p.Stable(release) }

// Add analyses one frame.
func (e *Exporter) Add(f *pcap.Frame) { e.p.Add(f) }

// exportWorker is what a worker of the analysis does for the export.
type exportWorker struct {
	capture     string
	transitions bool                // make the transitions table's rows
	first       bool                // the first shard's, which writes the segments tied to no connection
	col         *diagnose.Collector // the worker's, with Findings
	segs        *Table[Segment]
	flows       map[*conn.Conn]*segmentConn // of the open connections, for the segments table
	values      values                      // the segment rows' optional values
}

func (w *exportWorker) segment(s *analyze.Segment) {
	if w.col != nil {
		w.col.Segment(s)
	}
	if s.Conn == nil && !w.first {
		// A segment tied to no connection (its header unreadable) is in
		// every shard's input: the first shard writes it.
		return
	}
	var sc *segmentConn
	if c := s.Conn; c != nil {
		if sc = w.flows[c]; sc == nil {
			cl, sv := c.ClientEnd().Addr, c.ServerEnd().Addr
			sc = &segmentConn{uid: FlowOf(cl, sv, c.Start).UID, client: cl.Addr().String(), server: sv.Addr().String()}
			w.flows[c] = sc
		}
	}
	row := SegmentOf(s, sc, w.capture, &w.values)
	w.segs.Write(s.Frame.Time, &row) // an error shows at Flush
}

// segmentConn is what every segment row of a connection repeats, made
// once: its uid and its addresses in words.
type segmentConn struct {
	uid, client, server string
}

// end makes the rows of a connection as it ends, on its worker.
func (w *exportWorker) end(c *conn.Conn, why conn.EndReason) connRows {
	var r connRows
	s := &r.diag.Summary
	if w.col != nil {
		r.diag = w.col.End(c, why)
	} else {
		*s = analyze.Summarize(c, why)
	}
	if w.flows != nil {
		delete(w.flows, c)
	}
	r.start = s.Start
	r.flow = FlowOf(s.Client.Addr, s.Server.Addr, s.Start)
	r.row = ConnectionOf(s, r.flow, nil, w.capture)
	if w.transitions {
		r.trans = make([]Transition, 0, len(s.Client.History)+len(s.Server.History))
		for _, side := range []struct {
			end string
			h   []tcp.Transition
		}{{"client", s.Client.History}, {"server", s.Server.History}} {
			for i := range side.h {
				r.trans = append(r.trans, TransitionOf(&side.h[i], side.end, r.flow, w.capture, &w.values))
			}
		}
	}
	if w.col == nil {
		r.diag = diagnose.Conn{} // the rows are all the merger needs
	}
	return r
}

// merged writes the rows of a connection the merged analysis hands on,
// in the capture's order, after the diagnosis's rules ran on it.
func (e *Exporter) merged(en *analyze.Ended[connRows]) {
	r := &en.Value
	if e.col == nil {
		e.write(r)
		return
	}
	e.cur = r
	e.col.Merged(&r.diag, en.ID, en.Previous) // calls ended
	e.cur = nil
}

// ended writes the rows of a connection the diagnosis is done with;
// those of a probe of a client that may be scanning wait for the
// capture's end.
func (e *Exporter) ended(c *diagnose.Conn, probe bool) {
	r := e.cur
	if len(c.Findings) > 0 {
		r.row.Findings = make([]string, len(c.Findings))
		for i := range c.Findings {
			r.row.Findings[i] = c.Findings[i].ID
		}
	}
	if !probe {
		e.write(r)
		e.writeFindings(c.Findings, r.start, r.flow, netip.Addr{})
		return
	}
	e.writeTransitions(r)
	p := probeRecord{Client: c.Client.Addr.Addr(), Start: r.start, Row: r.row}
	for i := range c.Findings {
		if f := &c.Findings[i]; f.Pending() {
			e.late = append(e.late, pendingFinding{*f, r.start, r.flow, p.Client})
		} else {
			p.Findings = append(p.Findings, FindingOf(f, r.start, r.flow, e.opts.Capture))
		}
	}
	e.keep(e.probes.add(&p))
}

// write writes a connection's row and its transitions' rows.
func (e *Exporter) write(r *connRows) {
	e.keep(e.ds.Connections.Write(r.start, &r.row))
	e.writeTransitions(r)
}

func (e *Exporter) writeTransitions(r *connRows) {
	for i := range r.trans {
		e.keep(e.ds.Transitions.Write(r.start, &r.trans[i]))
	}
}

// writeFindings writes the rows of a connection's findings, but for
// those whose words wait for the capture's end.
func (e *Exporter) writeFindings(fs []diagnose.Finding, start pcap.Time, flow Flow, probe netip.Addr) {
	for i := range fs {
		f := &fs[i]
		if f.Pending() {
			e.late = append(e.late, pendingFinding{*f, start, flow, probe})
			continue
		}
		fr := FindingOf(f, start, flow, e.opts.Capture)
		e.keep(e.ds.Findings.Write(start, &fr))
	}
}

func (e *Exporter) keep(err error) {
	if err != nil && e.err == nil {
		e.err = err
	}
}

// Close ends the capture: the connections still open end, the probes'
// findings stay or go as the scan verdicts say, and the findings that
// waited for the capture's end are completed; every row is handed to
// the dataset (which Dataset.Close completes).
func (e *Exporter) Close() (Stats, error) {
	e.p.Close()
	st := e.p.Stats
	if e.col != nil {
		e.col.Finish(st)
	}
	e.keep(e.probes.each(func(p *probeRecord) {
		if e.col.Scanned(p.Client) {
			// The scan's own finding says it; its probes' are left out,
			// as diagnose leaves them out.
			p.Row.Findings, p.Findings = noFindings, nil
		}
		e.keep(e.ds.Connections.Write(p.Start, &p.Row))
		for i := range p.Findings {
			e.keep(e.ds.Findings.Write(p.Start, &p.Findings[i]))
		}
	}))
	for i := range e.late {
		p := &e.late[i]
		if p.probe.IsValid() && e.col.Scanned(p.probe) {
			continue
		}
		fs := []diagnose.Finding{p.f}
		e.col.Complete(fs)
		fr := FindingOf(&fs[0], p.start, p.flow, e.opts.Capture)
		e.keep(e.ds.Findings.Write(p.start, &fr))
	}
	e.late = nil
	errs := []error{e.err, e.ds.Flush()}
	for _, t := range e.segs {
		errs = append(errs, t.Flush())
	}
	t := e.p.Counts()
	return Stats{Analysis: st, Evicted: t.Evicted, EvictedAttempts: t.EvictedAttempts}, errors.Join(errs...)
}

// ZeekExporter writes conn.log: Zeek's connections, delimited as Zeek
// delimits them, over the same frames.
type ZeekExporter struct {
	w     *ZeekWriter
	tr    *zeek.Tracker
	an    *analyze.Analyzer
	shard analyze.Shard
	last  pcap.Time
	err   error
}

// NewZeekExporter returns an exporter writing conn.log with w.
func NewZeekExporter(w *ZeekWriter, shard analyze.Shard) *ZeekExporter {
	z := &ZeekExporter{w: w, shard: shard}
	z.tr = zeek.NewTracker(func(s *zeek.Session) {
		row := ZeekConnOf(s)
		if err := z.w.Write(&row); err != nil && z.err == nil {
			z.err = err
		}
	})
	// The analyzer decodes, puts IP fragments back together and hands
	// over every TCP segment; Zeek's bookkeeping is the Tracker's.
	z.an = analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		if s.Seg.TCP != nil && z.shard.Has(s.Seg.Src, s.Seg.Dst) {
			z.tr.Segment(s.Seg, s.Frame.Time)
		}
	}, nil)
	return z
}

// Add processes one frame: every frame moves Zeek's clock.
func (z *ZeekExporter) Add(f *pcap.Frame) {
	z.last = max(z.last, f.Time)
	z.tr.Advance(f.Time)
	z.an.Add(f)
}

// Close ends the capture and the log.
func (z *ZeekExporter) Close() error {
	z.an.Close()
	z.tr.Close()
	return errors.Join(z.err, z.w.Close(z.last))
}
