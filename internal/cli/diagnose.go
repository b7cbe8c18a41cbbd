package cli

import (
	"bufio"
	"errors"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
)

// diagnosis is a capture run through the analysis and the diagnosis, with
// the ladders of the connections a command asked for.
type diagnosis struct {
	rep     *diagnose.Report
	ladders map[int]*analyze.Ladder
}

// diagnoseCapture analyses the frames of c. want selects the connections
// whose every segment is kept for a ladder, and which the report keeps
// whole (nil: none); rows is how many of the most interesting others it
// keeps. A ladder keeps the steps within --since/--until.
func diagnoseCapture(e *env, c *capture, an analysis, rows int, want func(id int) bool, sel *selection) *diagnosis {
	d := &diagnosis{ladders: map[int]*analyze.Ladder{}}
	var t *tap
	if want != nil {
		lr := analyze.NewLadderRecorder(want)
		t = &tap{segment: func(s *analyze.Segment) {
			if sel.inTime(s.Frame.Time) {
				lr.Segment(s)
			}
		}, end: func(cn *conn.Conn) {
			if ld := lr.End(cn); ld != nil && sel.showing(cn.ID) {
				d.ladders[cn.ID] = ld
			}
		}}
	}
	d.rep = diagnoseTapped(e, c, an, keep{rows, want}, t, sel)
	return d
}

// analysis is what the analysis of a capture is given: its flags.
type analysis struct {
	maxConns int // --max-conns
	threads  int // --threads
}

func (a *analysis) register(f *pflag.FlagSet) {
	addMaxConns(f, &a.maxConns)
	f.IntVar(&a.threads, "threads", runtime.GOMAXPROCS(0), "analyse on this many cores (the cores there are by default; more than 64 count as 64); the output is the same for any number")
}

// check refuses flags that are not counts.
func (a *analysis) check() error {
	if err := checkMaxConns(a.maxConns); err != nil {
		return err
	}
	if a.threads < 1 {
		return usagef("--threads %d: the number of cores to analyse on is a number from 1", a.threads)
	}
	return nil
}

func (a analysis) options() analyze.Options {
	return analyze.Options{MaxConns: a.maxConns, Threads: a.threads}
}

// keep is what the diagnosis keeps whole of the connections that end
// (summary and findings, for a table or a story): the rows most
// interesting, and those want names (nil: none). The others are
// diagnosed, counted and forgotten.
type keep struct {
	rows int
	want func(id int) bool
}

// tap is what a command does with each segment, and with each connection
// as it ends, after its diagnosis.
type tap struct {
	segment func(*analyze.Segment)
	end     func(*conn.Conn)
}

// diagnoseTapped analyses and diagnoses the frames of c, keeping k of the
// connections, and handing each segment and each ended connection to t
// too (t may be nil). sel narrows the report to the connections it
// selects; the capture's own findings stay only when it names no
// connection, and with --finding only findings of those ids stay.
//
// Without t, and without --analysis (which reads every segment), it runs
// on every core: the workers learn the facts of their connections, and
// the rules run on each as the merged analysis hands it on.
func diagnoseTapped(e *env, c *capture, an analysis, k keep, t *tap, sel *selection) *diagnose.Report {
	col := diagnose.NewCollector()
	col.Rows, col.Want = k.rows, k.want
	narrow := sel.narrows()
	if narrow {
		col.Show = sel.show
	}
	var rep *diagnose.Report
	if t == nil && sel.kinds.Empty() {
		p := analyze.NewParallel(an.options(), func(int) analyze.Hooks[diagnose.Conn] {
			w := col.Worker()
			return analyze.Hooks[diagnose.Conn]{Segment: w.Segment, End: w.End, Freeze: w.Freeze, Thaw: w.Thaw, Other: w.Other}
		}, func(ended *analyze.Ended[diagnose.Conn]) {
			col.Merged(&ended.Value, ended.ID, ended.Previous)
		}, col.Note)
		analyzeParallel(c, p, sel.frame)
		reportTable(e, p.Counts())
		rep = col.Finish(p.Stats)
	} else {
		a := analyze.New(an.options(), func(s *analyze.Segment) {
			col.Segment(s)
			sel.observe(s)
			if t != nil {
				t.segment(s)
			}
		}, func(cn *conn.Conn, why conn.EndReason) {
			col.OnConn(cn, why)
			if t != nil {
				t.end(cn) // after the diagnosis, which decides whether it shows
			}
		})
		var f pcap.Frame
		for c.nextInto(&f) {
			sel.frame(&f)
			a.Add(&f)
		}
		a.Close()
		reportTable(e, a.Counts())
		rep = col.Finish(a.Stats)
	}
	if narrow {
		rep.Narrow(!sel.narrowsConns(), sel.findings)
	}
	return rep
}

// analyzeParallel deals every frame of c to p, calling each (may be
// nil) with each, and closes it.
func analyzeParallel[T any](c *capture, p *analyze.Parallel[T], each func(*pcap.Frame)) {
	feed(c, p, each)
	p.Close()
}

// dealer is what frames are dealt to: an analyze.Parallel, or what runs
// one.
type dealer interface {
	Stable(release func(frame int))
	Add(f *pcap.Frame)
}

// feed deals every frame of c to p, calling each (may be nil) with each.
func feed(c *capture, p dealer, each func(*pcap.Frame)) {
	if c.stable {
		c.hold()
		p.Stable(c.release)
	}
	var f pcap.Frame // one for all: a frame that escaped each time would cost an allocation per frame
	for c.nextInto(&f) {
		if each != nil {
			each(&f)
		}
		p.Add(&f)
	}
}

// styleFor decides whether output to e.stdout is coloured: --color always
// or never, or auto: a terminal, unless NO_COLOR is set or TERM is dumb.
func styleFor(e *env, mode string) (render.Style, error) {
	switch mode {
	case "always":
		return render.Style{Color: true}, nil
	case "never":
		return render.Style{}, nil
	case "auto", "":
	default:
		return render.Style{}, usagef("--color %q: want auto, always or never", mode)
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return render.Style{}, nil
	}
	return render.Style{Color: e.isTerminal(e.stdout)}, nil
}

// reportOptions are the flags and the start of every command that prints
// from a diagnosed capture.
type reportOptions struct {
	color string
	analysis
	sel selection
}

func (o *reportOptions) register(f *pflag.FlagSet) {
	f.StringVar(&o.color, "color", "auto", "colour the text: auto (in a terminal), always or never")
	o.analysis.register(f)
	o.sel.register(f, selConnShort|selAnalysis|selState|selFinding)
}

// run opens the capture and diagnoses it, keeping the rows most
// interesting connections, and the ladders of those want selects.
func (o *reportOptions) run(e *env, paths []string, rows int, want func(id int) bool) (render.Style, *diagnosis, *capture, error) {
	if err := o.analysis.check(); err != nil {
		return render.Style{}, nil, nil, err
	}
	if err := o.sel.parse(); err != nil {
		return render.Style{}, nil, nil, err
	}
	st, err := styleFor(e, o.color)
	if err != nil {
		return st, nil, nil, err
	}
	c, err := openCapture(e, paths)
	if err != nil {
		return st, nil, nil, err
	}
	return st, diagnoseCapture(e, c, o.analysis, rows, want, &o.sel), c, nil
}

// addMaxConns is the --max-conns flag of every command that analyses.
func addMaxConns(f *pflag.FlagSet, n *int) {
	f.IntVar(n, "max-conns", conn.DefaultMaxConns, "most connections held at once, of them at most 32768 attempts (SYNs nothing answered), split evenly over the 64 shards of the analysis (fewer under a cap below 1048576); the oldest idle are evicted and counted")
}

// checkMaxConns refuses a --max-conns that is not a count.
func checkMaxConns(n int) error {
	if n < 1 {
		return usagef("--max-conns %d: the most connections held at once is a number from 1", n)
	}
	return nil
}

type diagnoseOptions struct {
	reportOptions
	json bool
	min  string
}

func newDiagnoseCmd(e *env) *cobra.Command {
	var o diagnoseOptions
	cmd := &cobra.Command{
		Use:   "diagnose [flags] FILE...",
		Short: "What went wrong, worst first: each finding with its evidence frames, why, and what to do",
		Long: `diagnose prints the findings of the whole capture, worst first: refused and
timed-out connections, SYN-ACK retransmissions and what they mean, servers that
accept then close, resets (after the handshake, with unread data, abortive,
forged by a middlebox, after an idle timeout, from an end that no longer has
the connection), CLOSE_WAIT leaks, SYN floods, TIME_WAIT pressure, port scans
and host sweeps (what each target answered; their probes are not reported one
by one), retransmissions by kind and what they cost, where packets were lost,
zero windows, what limited throughput (the receiver's window, window scaling,
congestion control, the application, Nagle and delayed ACKs, a path MTU black
hole), and oddities (PAWS, checksums, urgent data, keep-alives, mid-stream and
truncated captures, captures that missed packets).

Each finding has an id (stable), a severity (info, notice, warning, error),
the connection it concerns (its id in conns and explain; none for the whole
capture), the frames that prove it, a title, an explanation with the numbers
behind it, and advice.

When more than 10 connections share a finding id, one finding stands for
them all: it counts them, says what they share (a server, a client) and
what that tells of the cause, and names the worst three with their evidence
frames and a few more as examples; its severity is the worst of theirs.
Each connection keeps its own finding: tcplens explain -c ID prints it.

--conn (-c), --community-id, --state, --analysis, --finding, --since and
--until narrow the findings to those of the connections they select (as
conns selects them; --finding: with a finding of these ids, and only those
findings are printed). The capture's own findings, which concern no one
connection (syn-flood, snaplen-truncated), are left out when connections
are selected. The same flags narrow the overview, explain and report.

--json prints one object per finding and line, with exactly the fields id,
severity, conn (null for the whole capture, and for a finding that stands
for many connections), frames, title, explanation, advice and evidence.

evidence lists the claims the explanation rests on, each a fact about the
segments that a test checks against the frames on every capture in
testdata: {"claim": its kind, "frames": the frames behind it, "from" and
"to": the endpoints it is about, "span": the connection's first and last
frame (absent for the whole capture), "args": its numbers, "says": the
claim in words}; frames holds exactly the claims' frames. The kinds: sent
(args flags_set, flags_clear), silent (no packet from "from" after the
frame, or at all), acked, not-acked, answered, unanswered, retransmitted
(the data went out before), fill (the first copy of data lost before the
capture point: its sender's clocks do not put it before the segments above
it, so it is no original the path reordered; half_rtt_ns: the round trip
a fill sooner than it would have been taken for one), not-acked-before,
acked-before, hole (bytes the capture did not see, not all of which came
later in such originals; half_rtt_ns), complete (the
capture saw every byte the peer acknowledged), acked-unseen (bytes),
old-timestamp (a TSval older than one the peer had echoed), ttl-unlike
(ttl), ttl-unlike-own (ttl: unlike the packets its sender sent before it
in the connection), ttl-like, ipid-copied, ipid-skipped (missing), elapsed
and silence (duration_ns), zero-window, window-open, same-seq, echoes (a
timestamp echo), data-segments (count), options (present, absent), ce,
bad-checksum, truncated, first, first-from, max-window (bytes), quiet,
no-data, data, none (flags_set, flags_clear: no such packet), crossed (two
FINs, neither acknowledging the other).

Memory stays bounded however long the capture: each connection is
diagnosed when it ends and then forgotten; the capture-wide rules read
capped counts.`,
		Example: `  tcplens diagnose trace.pcap
  tcplens diagnose --min-severity warning monday-*.pcap
  tcplens diagnose trace.pcap --state CLOSE_WAIT --finding close-wait-leak
  tcplens diagnose --json trace.pcap | jq -r 'select(.severity == "error") | .title'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiagnose(e, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print one JSON object per finding")
	f.StringVar(&o.min, "min-severity", "info", "leave out findings below this severity: info, notice, warning or error")
	o.register(f)
	return cmd
}

func runDiagnose(e *env, o diagnoseOptions, paths []string) error {
	min, ok := diagnose.ParseSeverity(o.min)
	if !ok {
		return usagef("--min-severity %q: want info, notice, warning or error", o.min)
	}
	e.showProgress(o.json, false)
	st, d, c, err := o.run(e, paths, 0, nil)
	if err != nil {
		return err
	}
	fs := slices.DeleteFunc(d.rep.Findings, func(f diagnose.Finding) bool { return f.Severity < min })
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	if o.json {
		err = render.FindingsJSON(w, fs)
	} else {
		err = render.FindingsText(w, fs, st)
	}
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := c.finish(); err != nil {
		return err
	}
	return o.sel.nothingShown(e, d.rep, d.rep.Shown)
}

type explainOptions struct {
	reportOptions
	json bool
}

func newExplainCmd(e *env) *cobra.Command {
	var o explainOptions
	cmd := &cobra.Command{
		Use:   "explain [flags] FILE... [-c ID]",
		Short: "The story of a connection: every segment as a ladder step, each endpoint's state and why, then its findings",
		Long: `explain tells the story of each connection (or of those selected): every
segment as a ladder step, with its time since the connection's first segment,
its direction, flags, relative sequence and acknowledgment numbers, window and
length; the state of both endpoints after it, and for every state change the
state before, the state after and the rule that moved it; then the
connection's findings with their evidence.

Connections are numbered as conns and diagnose number them. Only the
connections asked for keep their segments in memory: on a large capture, name
them with -c. --community-id, --state, --analysis, --finding, --since and
--until select connections as in conns and diagnose; --since and --until
also narrow each story to the steps between them.

--json prints one object per connection and line: {"conn": the conns --json
object, "steps": [{frame, time, since_start, dir, flags, seq, ack, seq_raw,
ack_raw, len, win, client: {before, after}, server: {before, after},
changes: [{end, from, to, reason, correction}], analysis: [...],
analysis_text}], "findings": [the diagnose --json objects]}.`,
		Example: `  tcplens explain trace.pcap -c 3
  tcplens explain trace.pcap -c 3,7 --json | jq '.steps[] | select(.changes != [])'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExplain(e, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print one JSON object per connection")
	o.register(f)
	return cmd
}

func runExplain(e *env, o explainOptions, paths []string) error {
	want := func(int) bool { return true }
	if ids := o.sel.conns; len(ids) > 0 && len(o.sel.communityID) == 0 {
		want = ids.want()
	}
	e.showProgress(o.json, false)
	st, d, c, err := o.run(e, paths, 0, want)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	shown := 0
	for i := range d.rep.Conns {
		cn := &d.rep.Conns[i]
		if !want(cn.ID) || !o.sel.showing(cn.ID) {
			continue
		}
		fs := d.rep.ConnFindings(cn.ID)
		if o.json {
			err = render.ExplainLineJSON(w, cn, d.ladders[cn.ID], fs)
		} else {
			if shown > 0 {
				w.WriteString("\n")
			}
			err = render.ExplainText(w, cn, d.ladders[cn.ID], fs, st)
		}
		if err != nil {
			return err
		}
		shown++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := c.finish(); err != nil {
		return err
	}
	return o.sel.nothingShown(e, d.rep, shown)
}

// connList is the value of -c: connection ids. It implements pflag.Value.
type connList []int

func (l *connList) String() string { return joinInts(*l) }

func (l *connList) Type() string { return "ID[,ID...]" }

// Set adds "3" or "3,7".
func (l *connList) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(item))
		if err != nil || n < 1 {
			return errors.New("connection ids are numbers from 1, as conns prints them")
		}
		if !slices.Contains(*l, n) {
			*l = append(*l, n)
		}
	}
	return nil
}

// missing lists the ids the report does not hold, of a report that was
// asked to keep them (keep.want).
func (l connList) missing(rep *diagnose.Report) []int {
	var out []int
	for _, id := range l {
		if rep.Conn(id) == nil {
			out = append(out, id)
		}
	}
	return out
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}
