package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/graph"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/report"
)

type reportCmdOptions struct {
	output   string
	pictures int
	rows     int
	analysis
	sel selection
}

func newReportCmd(e *env) *cobra.Command {
	var o reportCmdOptions
	cmd := &cobra.Command{
		Use:   "report [flags] FILE... -o report.html",
		Short: "One self-contained HTML page: the overview, every connection in a table, and connections in pictures",
		Long: `report writes one HTML file that holds everything it shows and loads nothing:
the capture's facts, its findings by severity, a sortable and filterable table
of the connections (the --rows most interesting: the page says how many it
leaves out, and tcplens conns lists every one), and, for the most interesting
connections (or those -c names), pictures: the ladder diagram (both endpoints' lifelines, one arrow per
segment with its flags, numbers and analysis, the states as they change, the
findings at their frames), the time-sequence graph in tcptrace's style, bytes
in flight against the receive window, and RTT samples. The graphs zoom and
pan; hovering a mark shows its segment, clicking it finds it in the ladder.

A long connection's ladder keeps its first and last segments and those that
change a state or carry analysis, and its graphs merge segments into time
columns that keep their extremes; each picture says when it does.

--conn (-c), --community-id, --state, --analysis, --finding, --since and
--until narrow the report to the connections they select, as in diagnose:
its findings, its table and its pictures are theirs (-c 3,7 draws 3 and 7).

The capture is read twice when it comes from files: first to diagnose it and
choose the connections to draw, then to record them (only them: memory stays
bounded). Standard input is read once, so the pictures are then of the
connections -c names or of the first ones (with a selection, of the first
selected: every connection open is recorded until --pictures are drawn).

Whatever the capture holds, the page runs no code but its own and makes
no request: everything from the capture is escaped, and the page's
Content-Security-Policy admits its own script and style sheet alone.`,
		Example: `  tcplens report trace.pcap -o report.html
  tcplens report trace.pcap -c 3,7 -o report.html
  tcplens report --pictures 50 monday-*.pcap -o monday.html`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(e, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "write the page to `FILE` (default: the capture's name with .html, in the current directory; - for standard output)")
	o.sel.register(f, selConnShort|selAnalysis|selState|selFinding)
	f.IntVar(&o.pictures, "pictures", 20, "without -c, how many connections to draw, the most interesting first")
	f.IntVar(&o.rows, "rows", diagnose.DefaultRows, "how many connections the table lists, the most interesting first")
	o.analysis.register(f)
	return cmd
}

func runReport(e *env, o reportCmdOptions, paths []string) error {
	if err := o.analysis.check(); err != nil {
		return err
	}
	if o.rows < 0 {
		return usagef("--rows %d: the connections the table lists is a number from 0", o.rows)
	}
	if o.pictures < 0 {
		return usagef("--pictures %d: the connections drawn is a number from 0", o.pictures)
	}
	if err := o.sel.parse(); err != nil {
		return err
	}
	e.showProgress(false, false)
	c, err := openCapture(e, paths)
	if err != nil {
		return err
	}
	output := o.output
	if output == "" {
		// Never HTML into a terminal: a file named after the capture.
		output = reportName(c)
	}
	out, err := openOutput(e, output)
	if err != nil {
		return err
	}
	var (
		rep      *diagnose.Report
		pictures []*graph.Conn
		chosen   string
	)
	named := o.sel.conns
	if slices.Contains(paths, "-") {
		// Standard input goes by once: record while diagnosing.
		want, words := named.want(), fmt.Sprintf("Pictures of connections %s, named by -c.", joinInts(named))
		if len(named) == 0 {
			n := o.pictures
			want = func(id int) bool { return len(pictures) < n && (o.sel.narrows() || id <= n) }
			words = fmt.Sprintf("Pictures of the first %d connections: standard input is read once, so tcplens cannot choose the most interesting; -c ID draws others.", n)
		}
		rec := graph.NewRecorder(want, nil, graph.DefaultLimits)
		rep = diagnoseTapped(e, c, o.analysis, keep{o.rows, want}, &tap{segment: rec.Segment, end: func(cn *conn.Conn) {
			if g := rec.End(cn); g != nil && o.sel.showing(cn.ID) && len(pictures) < max(o.pictures, len(named)) {
				pictures = append(pictures, g)
			}
		}}, &o.sel)
		slices.SortFunc(pictures, func(a, b *graph.Conn) int { return a.ID - b.ID })
		chosen = words
		if len(named) == 0 && len(pictures) == rep.Shown {
			chosen = "Every connection is in pictures."
		}
	} else {
		var want func(int) bool
		if len(named) > 0 {
			want = named.want()
		}
		rep = diagnoseTapped(e, c, o.analysis, keep{max(o.rows, o.pictures), want}, nil, &o.sel)
		var ids []int
		ids, chosen = choosePictures(rep, named, o.pictures)
		if len(ids) > 0 {
			if pictures, err = recordPictures(e, paths, rep, ids); err != nil {
				return err
			}
		}
	}
	// A pcapng file declares its interfaces as it goes.
	files := reportFiles(c)
	if err := c.finish(); err != nil {
		return err
	}
	if err := o.sel.nothingShown(e, rep, rep.Shown); err != nil {
		// The page is still worth writing.
		fmt.Fprintf(e.stderr, "tcplens: warning: %v\n", err)
	}
	w := bufio.NewWriterSize(out, 256<<10)
	err = report.Write(w, &report.Report{Files: files, Diagnosis: rep, Pictures: pictures, Chosen: chosen, Selection: o.sel.words(), Version: version()})
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && o.output == "" {
		fmt.Fprintf(e.stderr, "tcplens: wrote the report to %s\n", output)
	}
	return err
}

// reportName names the report after the capture: trace.pcap.gz gives
// trace.html in the current directory; the demo, standard input and
// several files give tcplens-report.html.
func reportName(c *capture) string {
	if len(c.inputs) != 1 || c.inputs[0].path == "" {
		return "tcplens-report.html"
	}
	base := filepath.Base(c.inputs[0].path)
	for _, ext := range []string{".gz", ".pcapng", ".pcap", ".cap"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base + ".html"
}

// choosePictures picks the connections to draw: those -c names, in its
// order, or n of the most interesting: first the worst connection of each
// kind of finding, worst kinds first, so that twenty refused connections
// do not crowd out the one transfer that stalled; then the most
// interesting of the rest. The diagnosis kept all of those whole. It says
// in words how it chose.
func choosePictures(rep *diagnose.Report, named connList, n int) ([]int, string) {
	if len(named) > 0 {
		var ids []int
		for _, id := range named {
			if !slices.Contains(named.missing(rep), id) {
				ids = append(ids, id)
			}
		}
		return ids, fmt.Sprintf("Pictures of connections %s, named by -c.", joinInts(named))
	}
	var ids []int
	for _, g := range rep.Groups { // worst first
		if len(ids) == n {
			break
		}
		if id := g.Worst[0].Conn; !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, i := range render.ConnRank(rep) {
		if len(ids) == n {
			break
		}
		if id := rep.Conns[i].ID; !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == rep.ConnCount {
		return ids, "Every connection is in pictures, the most interesting first."
	}
	return ids, fmt.Sprintf("Pictures of %d of the %d connections: the worst of each kind of finding, then the most interesting of the rest; tcplens report -c ID draws others.", len(ids), rep.ConnCount)
}

// recordPictures reads the capture again and records connections ids for
// the pictures, in that order. It stops after the last frame of the last
// of them, and keeps the evidence frames of their findings in the ladder.
func recordPictures(e *env, paths []string, rep *diagnose.Report, ids []int) ([]*graph.Conn, error) {
	c, err := openCapture(e.again(), paths)
	if err != nil {
		return nil, err
	}
	defer c.finish()
	wanted := map[int]bool{}
	for _, id := range ids {
		wanted[id] = true
	}
	evidence := map[int]bool{}
	last := 0
	for _, id := range ids {
		if cn := rep.Conn(id); cn != nil {
			last = max(last, cn.LastFrame)
		}
		for _, f := range rep.ConnFindings(id) {
			for _, fr := range f.Frames {
				evidence[fr] = true
			}
		}
	}
	rec := graph.NewRecorder(func(id int) bool { return wanted[id] }, func(frame int) bool { return evidence[frame] }, graph.DefaultLimits)
	byID := map[int]*graph.Conn{}
	var sums []*analyze.Summary
	for _, id := range ids {
		if cn := rep.Conn(id); cn != nil {
			sums = append(sums, &cn.Summary)
		}
	}
	// Only the chosen connections, replayed: their segments and ends are
	// what the first reading's were (analyze.Replay).
	an := analyze.NewReplay(sums, rep.Stats.Last, rec.Segment, func(cn *conn.Conn, _ conn.EndReason) {
		if g := rec.End(cn); g != nil {
			byID[g.ID] = g
		}
	})
	var f pcap.Frame
	for c.nextInto(&f) && f.Number <= last {
		an.Add(&f)
	}
	out := make([]*graph.Conn, 0, len(ids))
	for _, id := range ids {
		if g := byID[id]; g != nil {
			out = append(out, g)
		}
	}
	return out, nil
}

func reportFiles(c *capture) []report.File {
	files := make([]report.File, len(c.inputs))
	for i, in := range c.inputs {
		f := report.File{Name: in.name, Format: in.reader.Format().String(), Compressed: in.reader.Compressed()}
		for _, x := range in.reader.Interfaces() {
			f.Interfaces = append(f.Interfaces, report.Interface{Name: x.Name, Link: x.Link, SnapLen: x.SnapLen})
		}
		files[i] = f
	}
	return files
}

// openOutput opens the file -o names; without -o, or with -, standard
// output.
func openOutput(e *env, path string) (io.WriteCloser, error) {
	if path == "" || path == "-" {
		return nopCloser{e.stdout}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return f, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// want accepts the connections l names.
func (l connList) want() func(id int) bool {
	return func(id int) bool { return slices.Contains(l, id) }
}

type graphOptions struct {
	output   string
	sel      selection
	kind     string
	dir      string
	maxConns int
}

func newGraphCmd(e *env) *cobra.Command {
	var o graphOptions
	cmd := &cobra.Command{
		Use:   "graph [flags] FILE... -c ID [--kind ladder|tsg|window|rtt] -o x.svg",
		Short: "One picture of one connection as a standalone SVG: ladder, time-sequence, window or RTT",
		Long: `graph draws one picture of connection ID (numbered as conns, diagnose and
report number them) as a standalone SVG file:

  ladder   the ladder diagram: both endpoints' lifelines labelled with their
           states as they change, one slanted arrow per segment with its
           time, flags, relative numbers, window and analysis, the findings
           at their frames
  tsg      the time-sequence graph in tcptrace's style: data segments, the
           ACK line, the receive window's right edge, SACK blocks, and the
           retransmissions, duplicate ACKs, zero windows and window probes
  window   bytes in flight against the receive window
  rtt      RTT samples over time, both directions

tsg and window show one direction's data: by default the one that carried
more (--dir client or server to choose). Hovering a mark in a browser shows
its segment.

--community-id names the connection instead of -c; --since and --until draw
only its segments between them.`,
		Example: `  tcplens graph trace.pcap -c 3 --kind tsg -o conn3-tsg.svg
  tcplens graph trace.pcap -c 3 --kind ladder -o conn3-ladder.svg`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGraph(e, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "write the SVG to `FILE` (default: standard output)")
	o.sel.register(f, selConnShort)
	f.StringVar(&o.kind, "kind", "ladder", "the picture: ladder, tsg, window or rtt")
	f.StringVar(&o.dir, "dir", "auto", "whose data tsg and window show: client, server, or auto (the direction that carried more)")
	addMaxConns(f, &o.maxConns)
	return cmd
}

func runGraph(e *env, o graphOptions, paths []string) error {
	kind, err := graph.ParseKind(o.kind)
	if err != nil {
		return usageError{err}
	}
	if err := o.sel.parse(); err != nil {
		return err
	}
	if len(o.sel.conns)+len(o.sel.communityID) != 1 {
		return usagef("name one connection to draw with -c ID or --community-id (tcplens conns lists them)")
	}
	if o.dir != "auto" && o.dir != "client" && o.dir != "server" {
		return usagef("--dir %q: want client, server or auto", o.dir)
	}
	if err := checkMaxConns(o.maxConns); err != nil {
		return err
	}
	out, err := openOutput(e, o.output)
	if err != nil {
		return err
	}
	e.showProgress(false, false)
	c, err := openCapture(e, paths)
	if err != nil {
		return err
	}
	var drawn []*graph.Conn // a Community ID can name several, one after another on the same ports
	named := func(id int) bool { return slices.Contains(o.sel.conns, id) || o.sel.cidMatch.has(id) }
	rec := graph.NewRecorder(nil, nil, graph.DefaultLimits)
	rep := diagnoseTapped(e, c, analysis{maxConns: o.maxConns}, keep{0, named}, &tap{segment: func(s *analyze.Segment) {
		if s.Conn != nil && o.sel.conn(s.Conn) && o.sel.inTime(s.Frame.Time) {
			rec.Segment(s)
		}
	}, end: func(cn *conn.Conn) {
		if r := rec.End(cn); r != nil {
			drawn = append(drawn, r)
		}
	}}, &o.sel)
	if err := c.finish(); err != nil {
		return err
	}
	if len(drawn) == 0 {
		which := "connection " + joinInts(o.sel.conns)
		if len(o.sel.conns) == 0 {
			which = "connection with Community ID " + o.sel.communityID[0]
		}
		if len(o.sel.conns) > 0 && o.sel.conns[0] <= rep.ConnCount || slices.ContainsFunc(o.sel.cidMatch, func(w uint64) bool { return w != 0 }) {
			return &exitError{code: exitNoFrame, msg: fmt.Sprintf("%s has no segment between --since and --until", which)}
		}
		return &exitError{code: exitNoFrame, msg: fmt.Sprintf("no %s in the capture, which has %d (tcplens conns lists them)", which, rep.ConnCount)}
	}
	slices.SortFunc(drawn, func(a, b *graph.Conn) int { return a.ID - b.ID })
	g := drawn[0]
	if len(drawn) > 1 {
		ids := make([]int, len(drawn))
		for i, d := range drawn {
			ids[i] = d.ID
		}
		fmt.Fprintf(e.stderr, "tcplens: the Community ID names %d connections (%s, the same ports reused): drawing %d; -c ID draws another\n", len(drawn), joinInts(ids), g.ID)
	}
	dir := g.MainDir()
	switch o.dir {
	case "client":
		dir = conn.ClientToServer
	case "server":
		dir = conn.ServerToClient
	}
	w := bufio.NewWriter(out)
	err = graph.Draw(w, kind, g, dir, rep.ConnFindings(g.ID), graph.Options{Standalone: true})
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
