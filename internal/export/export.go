package export

import (
	"errors"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/zeek"
)

// Options configure an export.
type Options struct {
	Capture  string        // the capture's name, in every row's capture column
	Shard    analyze.Shard // analyse only this shard's connections
	MaxConns int           // the connection table's cap (analyze.Options.MaxConns)
	// Findings runs the diagnosis: the findings table, and each
	// connection's finding ids. Without it, and without the segments
	// table, the analysis runs on two goroutines, as conns's does.
	Findings bool
}

// Stats is what an export did.
type Stats struct {
	Analysis analyze.Stats
	// Evicted counts the connections the table's caps evicted, of them
	// EvictedAttempts the attempts': a sharded export's union may differ
	// from an unsharded one's then.
	Evicted, EvictedAttempts int
}

// Exporter runs the analysis and the diagnosis over a capture and writes
// the dataset's tables: a connection's rows as it ends, its findings'
// once their words are final, each segment's (when asked for) as it is
// analysed.
type Exporter struct {
	opts  Options
	ds    *Tables
	an    *analyze.Analyzer
	col   *diagnose.Collector
	flows map[*conn.Conn]*segmentConn // of the open connections, for the segments table
	// pending are findings whose words wait for the capture's end, with
	// their connection's summary and identity.
	pending []pendingFinding
	err     error
}

type pendingFinding struct {
	f     diagnose.Finding
	start pcap.Time // its connection's first packet
	flow  Flow
}

// NewExporter returns an exporter writing into ds. Several may write
// into one dataset at once, each on its goroutine (shards of a capture).
func NewExporter(ds *Dataset, opts Options) *Exporter {
	e := &Exporter{opts: opts, ds: ds.Tables(), col: diagnose.NewCollector(), flows: make(map[*conn.Conn]*segmentConn)}
	aopts := analyze.Options{MaxConns: opts.MaxConns, Shard: opts.Shard}
	var onSegment func(*analyze.Segment)
	if opts.Findings || e.ds.Segments != nil {
		onSegment = e.segment
	}
	if opts.Findings {
		e.col.Ended = e.ended
		aopts.OnSkip = e.col.Skipped
	}
	e.an = analyze.New(aopts, onSegment, func(c *conn.Conn, why conn.EndReason) {
		delete(e.flows, c)
		if opts.Findings {
			e.col.OnConn(c, why)
			return
		}
		e.ended(&diagnose.Conn{Summary: analyze.Summarize(c, why)})
	})
	return e
}

// Add analyses one frame.
func (e *Exporter) Add(f *pcap.Frame) { e.an.Add(f) }

func (e *Exporter) segment(s *analyze.Segment) {
	if e.opts.Findings {
		e.col.Segment(s)
	}
	if e.ds.Segments == nil {
		return
	}
	if s.Conn == nil && e.opts.Shard.K != 0 {
		// A segment tied to no connection (its header unreadable) is in
		// every shard's input: the first shard writes it.
		return
	}
	var sc *segmentConn
	if c := s.Conn; c != nil {
		if sc = e.flows[c]; sc == nil {
			cl, sv := c.ClientEnd().Addr, c.ServerEnd().Addr
			sc = &segmentConn{uid: FlowOf(cl, sv, c.Start).UID, client: cl.Addr().String(), server: sv.Addr().String()}
			e.flows[c] = sc
		}
	}
	row := SegmentOf(s, sc, e.opts.Capture)
	e.keep(e.ds.Segments.Write(s.Frame.Time, &row))
}

// segmentConn is what every segment row of a connection repeats, made
// once: its uid and its addresses in words.
type segmentConn struct {
	uid, client, server string
}

// ended writes the rows of a connection the diagnosis is done with.
func (e *Exporter) ended(c *diagnose.Conn) {
	s := &c.Summary
	flow := FlowOf(s.Client.Addr, s.Server.Addr, s.Start)
	row := ConnectionOf(s, flow, c.Findings, e.opts.Capture)
	e.keep(e.ds.Connections.Write(s.Start, &row))
	for i := range c.Findings {
		f := &c.Findings[i]
		if f.Pending() {
			e.pending = append(e.pending, pendingFinding{*f, s.Start, flow})
			continue
		}
		fr := FindingOf(f, s.Start, flow, e.opts.Capture)
		e.keep(e.ds.Findings.Write(s.Start, &fr))
	}
	for _, side := range []struct {
		end string
		h   []tcp.Transition
	}{{"client", s.Client.History}, {"server", s.Server.History}} {
		for i := range side.h {
			tr := TransitionOf(&side.h[i], side.end, flow, e.opts.Capture)
			e.keep(e.ds.Transitions.Write(s.Start, &tr))
		}
	}
}

func (e *Exporter) keep(err error) {
	if err != nil && e.err == nil {
		e.err = err
	}
}

// Close ends the capture: the connections still open end, and the
// findings that waited for the capture's end are completed; every row is
// handed to the dataset (which Dataset.Close completes).
func (e *Exporter) Close() (Stats, error) {
	e.an.Close()
	st := e.an.Stats
	if e.opts.Findings {
		e.col.Finish(st)
	}
	for i := range e.pending {
		p := &e.pending[i]
		fs := []diagnose.Finding{p.f}
		e.col.Complete(fs)
		fr := FindingOf(&fs[0], p.start, p.flow, e.opts.Capture)
		e.keep(e.ds.Findings.Write(p.start, &fr))
	}
	e.pending = nil
	t := e.an.Counts()
	return Stats{Analysis: st, Evicted: t.Evicted, EvictedAttempts: t.EvictedAttempts}, errors.Join(e.err, e.ds.Flush())
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
