package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/compare"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/report"
)

type compareOptions struct {
	json        bool
	window      time.Duration
	clockOffset time.Duration
	rows        int
	color       string
	report      string
	pictures    int
}

func newCompareCmd(e *env) *cobra.Command {
	var o compareOptions
	cmd := &cobra.Command{
		Use:   "compare [flags] A B [FILTER] | A... -- B... [FILTER]",
		Short: "Two captures of the same traffic at two points: what the path between them lost, injected, rewrote, duplicated, reordered and delayed",
		Long: `compare reads two captures of the same traffic taken at two points of its
path (A and B; several files of one point go before and after "--") and
says what happened between them, connection by connection and direction by
direction, each with its frames in both captures (A#12, B#14). A and B may
be directories (the captures in them, merged) or "-" (standard input, for
one of them). FILTER, after the files (or from -F FILE), is a tcpdump read
filter applied to both points' frames alike: mind that NAT between the
points changes the addresses and ports it may name.

It matches every segment of A to its copy in B by what a path does not
change (flags, payload, IP ID, timestamps, window, and the sequence numbers
up to a constant offset), and reports what paths do change: NAT (which
addresses and ports became which), sequence offsets, TTL (the hops between
the points), the MSS (clamping), options removed or overwritten with NOPs
(and what that costs), ECN bleached or marked, DSCP, IP ID, window and
payload rewrites. It says which point is nearer each connection's client
(from the TTL, or from the two directions' delays, which need no clock);
estimates the offset between the captures' clocks, assuming the path's
least delay is the same both ways (--clock-offset gives it: 0 for two
captures stamped by one host's clock); and gives each direction's one-way
delay and its spread. A segment seen only at the point it passes first
was lost between the points (and whether it was sent again); one seen
only downstream was injected in the path (a forged RST, a SYN proxy's
SYN-ACK); more copies downstream than upstream were duplicated; another
order downstream, reordered. Where the pair corrects what either capture
alone would conclude, it says so (a forged RST each end blames on the
other; an option a server seemed to decline because it never got it).

A segment waits for its copy at most --window (on A's clock); a segment
is judged only while the other capture was running (two captures whose
first, or last, frames are within a second of each other are taken to
have started, or stopped, together).

--report FILE writes an HTML page besides: the facts, and the most
interesting connections (--pictures; those the path lost or injected
segments of first), each with its items and a two-lane ladder: the
exchange as each point saw it, one lane per point, a line joining each
segment to its copy. The page is one file that loads nothing, sends
nothing and runs no script.

The text output gives the points, the clocks and the path's delay each
way, then the connections with something to say, then the others, up to
--rows. --json prints one JSON object per item, one per line, as each
connection is done, then one summary object. An item:
  {kind, conn: {a, b}, client: {a, b}, server: {a, b}, dir, frames: {a, b},
   more, count, time, title, text, alone: {a, b}, option, from, to,
   delay: {n, min, mean, max, sd, hops}, points: {client, reason}}
kind is delay, nat, seq-offset, mss-rewritten, option-stripped,
option-added, option-rewritten, ecn-rewritten, ce-marked, dscp-rewritten,
ipid-rewritten, window-rewritten, payload-rewritten, ttl-changed, lost,
not-captured (seen upstream only, yet acknowledged: the other capture
missed it), injected, duplicated, reordered, unmatched (seen at one point,
the points' order unknown) or only-at (a connection seen at one point).
conn, client and server are the connection at each point (null where not
seen; conn numbered as tcplens conns numbers it there); dir is c2s or s2c
(null for the whole connection); frames the evidence at each point; more
the frames left out; count the segments concerned; time the first
evidence (seconds since the epoch, A's clock); alone what each capture
alone shows, where the pair corrects it (null otherwise); option, from and
to the option and its value upstream and downstream; delay the one-way
delay in seconds (delay items); points which point ("a" or "b") is nearer
the client and why. The summary:
  {kind: "summary", points: [{side, files, frames, segments, fragments,
   malformed, conns, first, last}], clock_offset, clock_given,
   clock_samples, clients: {a, b}, delay: {a_to_b, b_to_a: {n, min,
   median, mean, p99, max, sd, hops}}, conns, paired, only_at: {a, b},
   counts: {kind: n}, outside: {a, b}, window}`,
		Example: `  tcplens compare client.pcap server.pcap
  tcplens compare client.pcap server.pcap --report path.html
  tcplens compare --clock-offset 0 router-in.pcap router-out.pcap
  tcplens compare a-1.pcap a-2.pcap -- b.pcap
  tcplens compare --json client.pcap server.pcap | jq 'select(.kind == "lost")'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, b, err := comparePoints(e, args, cmd.ArgsLenAtDash())
			if err != nil {
				return err
			}
			clockKnown := cmd.Flags().Changed("clock-offset")
			return runCompare(e, o, clockKnown, a, b)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print one JSON object per item, then a summary object")
	f.DurationVar(&o.window, "window", compare.DefaultWindow, "how long a segment waits for its copy at the other point: more than the path's delay and reordering")
	f.DurationVar(&o.clockOffset, "clock-offset", 0, "B's clock minus A's, when known (0 for captures stamped by one host's clock); estimated when not given")
	f.IntVar(&o.rows, "rows", 100, "connections the text output shows, those with something to say first")
	f.StringVar(&o.color, "color", "auto", "colour the text: auto, always or never")
	f.StringVar(&o.report, "report", "", "also write an HTML page to `FILE`: the facts, and the most interesting connections with their items and a two-lane ladder each (the captures are read twice, so they must be files)")
	f.IntVar(&o.pictures, "pictures", 10, "connections the --report page shows, the most interesting first")
	return cmd
}

// comparePoints splits the arguments into the two points' inputs, each
// its files then the filter: A B [FILTER], or A... -- B... [FILTER].
func comparePoints(e *env, args []string, dash int) ([]string, []string, error) {
	var a, rest []string
	switch {
	case dash >= 0:
		a, rest = args[:dash], args[dash:]
		if paths, expr, err := splitArgs(e, a); err != nil {
			return nil, nil, err
		} else if expr != "" || len(paths) == 0 {
			return nil, nil, usageError{fmt.Errorf("compare: before --, only A's files (the filter goes after B's)")}
		}
	case len(args) >= 2:
		a, rest = args[:1], args[1:]
	default:
		return nil, nil, usageError{fmt.Errorf("compare: want two captures, A and B (several files of a point: A1 A2 -- B1 B2), got %d arguments", len(args))}
	}
	b, expr, err := splitArgs(e, rest)
	if err != nil {
		return nil, nil, err
	}
	if len(b) == 0 {
		if len(rest) > 0 && looksLikePath(rest[0]) {
			return nil, nil, &exitError{code: exitNoInput, msg: fmt.Sprintf("open %s: no such file or directory", rest[0])}
		}
		return nil, nil, usageError{fmt.Errorf("compare: want B's files after A's")}
	}
	if dash < 0 && len(b) > 1 {
		return nil, nil, usageError{fmt.Errorf("compare: want two captures, A and B; several files of a point go on either side of --: A1 A2 -- B1 B2")}
	}
	if slices.Contains(a, "-") && slices.Contains(b, "-") {
		return nil, nil, usageError{fmt.Errorf("compare: standard input can be one point's capture, not both")}
	}
	if expr != "" && e.filterFile == "" {
		a, b = append(a, expr), append(b, expr)
	}
	return a, b, nil
}

// pointSource hands a point's frames to the comparison. Its reader runs
// on a goroutine of its own, so its warnings go through a shared lock.
type pointSource struct{ c *capture }

func (s pointSource) Next() (pcap.Frame, bool) { return s.c.next() }

// lockedWriter serialises the writes of the two points' readers.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func runCompare(e *env, o compareOptions, clockKnown bool, a, b []string) error {
	st, err := styleFor(e, o.color)
	if err != nil {
		return err
	}
	switch {
	case o.window <= 0:
		return usageError{fmt.Errorf("--window %v: want a duration above zero", o.window)}
	case o.rows < 0:
		return usageError{fmt.Errorf("--rows %d: want zero or more", o.rows)}
	case o.pictures < 0:
		return usageError{fmt.Errorf("--pictures %d: want zero or more", o.pictures)}
	}
	if o.report != "" && (slices.Contains(a, "-") || slices.Contains(b, "-")) {
		return usageError{fmt.Errorf("compare: --report reads the captures twice: they must be files, not standard input")}
	}
	var mu sync.Mutex
	pe := *e // -F included: a new env read the captures unfiltered
	pe.stderr = lockedWriter{&mu, e.stderr}
	ca, err := openCapture(&pe, a)
	if err != nil {
		return err
	}
	cb, err := openCapture(&pe, b)
	if err != nil {
		ca.finish()
		return err
	}
	pts := [2]render.ComparePoint{{Files: ca.names()}, {Files: cb.names()}}
	var pick picker
	pick.n = o.pictures
	w := bufio.NewWriterSize(e.stdout, 256<<10)
	var (
		werr         error
		shown, clean []*compare.Conn
		leftOut      int
	)
	onConn := func(c *compare.Conn) {
		if o.report != "" {
			pick.add(c)
		}
		if o.json {
			if err := render.CompareConnJSON(w, c); err != nil && werr == nil {
				werr = err
			}
			return
		}
		switch {
		case len(shown)+len(clean) < o.rows && interesting(c):
			shown = append(shown, c)
		case len(shown)+len(clean) < o.rows:
			clean = append(clean, c)
		case interesting(c) && len(clean) > 0:
			clean = clean[:len(clean)-1]
			shown = append(shown, c)
			leftOut++
		default:
			leftOut++
		}
	}
	sum := compare.Run(pointSource{ca}, pointSource{cb}, compare.Options{
		Window: o.window, ClockOffset: o.clockOffset, ClockKnown: clockKnown,
	}, onConn)
	if werr != nil {
		return werr
	}
	if o.json {
		err = render.CompareSummaryLineJSON(w, pts, sum)
	} else {
		err = render.CompareSummaryText(w, pts, sum, st)
		if err == nil && len(shown)+len(clean) > 0 {
			_, err = io.WriteString(w, "\n")
		}
		for _, c := range append(shown, clean...) {
			if err == nil {
				err = render.CompareConnText(w, c, st)
			}
		}
		if err == nil && leftOut > 0 {
			_, err = fmt.Fprintf(w, "%d more connections not shown (--rows); --json lists every one\n", leftOut)
		}
	}
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	errA, errB := ca.finish(), cb.finish()
	if errA != nil {
		return errA
	}
	if errB != nil {
		return errB
	}
	if o.report != "" {
		return writeCompareReport(&pe, o, clockKnown, a, b, pts, &pick)
	}
	return nil
}

// picker keeps the n most interesting connections of a comparison, by
// their IDs at both points: those the path lost or injected segments of
// first, then the others with something to say, then the first ones.
type picker struct {
	n    int
	kept []picked // the most interesting first; of equal interest, the first come
}

type picked struct {
	ids   [2]int
	score int
}

func (p *picker) add(c *compare.Conn) {
	var k picked
	for side, v := range c.Views {
		if v != nil {
			k.ids[side] = v.Conn
		}
	}
	for _, it := range c.Items {
		switch it.Kind {
		case compare.KindDelay:
		case compare.KindLost, compare.KindInjected:
			k.score += 10
		case compare.KindOnlyAt:
			k.score++
		default:
			k.score += 3
		}
	}
	i := slices.IndexFunc(p.kept, func(x picked) bool { return x.score < k.score })
	if i < 0 {
		i = len(p.kept)
	}
	if i < p.n {
		p.kept = slices.Insert(p.kept, i, k)
		if len(p.kept) > p.n {
			p.kept = p.kept[:p.n]
		}
	}
}

// writeCompareReport reads the captures again, tracing the connections
// picked, and writes the page.
func writeCompareReport(e *env, o compareOptions, clockKnown bool, a, b []string, pts [2]render.ComparePoint, pick *picker) error {
	ca, err := openCapture(e, a)
	if err != nil {
		return err
	}
	cb, err := openCapture(e, b)
	if err != nil {
		ca.finish()
		return err
	}
	want := map[[2]int]int{}
	for i, k := range pick.kept {
		want[k.ids] = i
	}
	shown := make([]*compare.Conn, len(pick.kept))
	sum := compare.Run(pointSource{ca}, pointSource{cb}, compare.Options{
		Window: o.window, ClockOffset: o.clockOffset, ClockKnown: clockKnown,
		Trace: func(ia, ib int) bool { _, ok := want[[2]int{ia, ib}]; return ok },
	}, func(c *compare.Conn) {
		var ids [2]int
		for side, v := range c.Views {
			if v != nil {
				ids[side] = v.Conn
			}
		}
		if i, ok := want[ids]; ok {
			shown[i] = c
		}
	})
	ca.finish()
	cb.finish()
	shown = slices.DeleteFunc(shown, func(c *compare.Conn) bool { return c == nil })
	f, err := os.Create(o.report)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = report.WriteComparison(w, &report.Comparison{
		Points: pts, Summary: sum, Conns: shown, Version: version(),
		Chosen:  fmt.Sprintf("The %d most interesting of %d connections: those the path lost or injected segments of first, then those it rewrote, then the first ones.", len(shown), sum.Conns),
		LeftOut: sum.Conns - len(shown),
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// interesting says a connection has more to show than its delay.
func interesting(c *compare.Conn) bool {
	for _, it := range c.Items {
		if it.Kind != compare.KindDelay {
			return true
		}
	}
	return false
}

// names are the capture's inputs as the user named them.
func (c *capture) names() []string {
	out := make([]string, len(c.inputs))
	for i, in := range c.inputs {
		out[i] = in.name
	}
	return out
}
