package render

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/pcap"
)

// Overview is what `tcplens FILE` shows: the capture's facts, its
// connections most interesting first, and its findings in brief.
type Overview struct {
	Files  []string // as the user named them
	Report *diagnose.Report
	// Args is how the hints name the capture: the file arguments as
	// typed, or "" for the built-in demo capture, which needs none.
	Args string
	// MaxConns and MaxFindings bound the rows shown; 0 means 20.
	MaxConns, MaxFindings int
}

// OverviewText writes the overview for a person.
func OverviewText(w io.Writer, o *Overview, st Style) error {
	var b strings.Builder
	rep := o.Report
	writeCaptureFacts(&b, o, st)
	b.WriteByte('\n')
	if err := writeConnRows(&b, o, st); err != nil {
		return err
	}
	b.WriteByte('\n')
	writeFindingSummary(&b, o, st)
	if len(rep.Conns) > 0 {
		args := ""
		if o.Args != "" {
			args = " " + o.Args
		}
		id := rep.Conns[ConnRank(rep)[0]].ID
		b.WriteString(st.dim(fmt.Sprintf("\n`tcplens diagnose%s` explains every finding with its evidence; `tcplens explain%s -c %d` tells a connection's story.", args, args, id)) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeCaptureFacts(b *strings.Builder, o *Overview, st Style) {
	rep, s := o.Report, &o.Report.Stats
	fmt.Fprintf(b, "%s  %s\n", st.bold("capture"), fileList(o.Files))
	links := make([]pcap.LinkType, 0, len(s.Links))
	for l := range s.Links {
		links = append(links, l)
	}
	slices.Sort(links)
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = l.String()
	}
	span := ""
	if s.Frames > 0 {
		// The end's date only when it differs from the start's.
		end := s.Last.Std().Format("15:04:05.000")
		if s.Last.Std().Format("2006-01-02") != s.First.Std().Format("2006-01-02") {
			end = s.Last.Std().Format("2006-01-02 15:04:05.000")
		}
		span = fmt.Sprintf(", %s from %s to %s UTC", string(AppendDuration(nil, s.Last.Sub(s.First))),
			s.First.Std().Format("2006-01-02 15:04:05.000"), end)
	}
	fmt.Fprintf(b, "         %s; %s, %s in %s%s\n", orNone(strings.Join(names, ", ")), plural(s.Frames, "packet"),
		plural(s.Segments, "TCP segment"), plural(rep.ConnCount, "connection"), span)
	if s.NotTCP+s.Malformed+s.Fragments > 0 {
		fmt.Fprintf(b, "         %d without TCP, %d malformed, %d later IP fragments\n", s.NotTCP, s.Malformed, s.Fragments)
	}
	fmt.Fprintf(b, "         %s\n", VantageWords(rep.Vantages))
}

// fileList names the files, or a long list's first and last and how
// many lie between (a rotated capture of thousands of files).
func fileList(files []string) string {
	if len(files) <= 4 {
		return strings.Join(files, ", ")
	}
	return fmt.Sprintf("%s, %s, … %d files more …, %s (%d files)", files[0], files[1], len(files)-3, files[len(files)-1], len(files))
}

// argsOf is how the hints name the capture: " " and the arguments, or
// nothing for the built-in demo.
func argsOf(o *Overview) string {
	if o.Args == "" {
		return ""
	}
	return " " + o.Args
}

func orNone(s string) string {
	if s == "" {
		return "no frames"
	}
	return s
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// VantageWords says where the capture was taken, by the connections whose
// timing tells: n counts the connections by vantage (Report.Vantages).
func VantageWords(n [4]int) string {
	told := n[analyze.VantageClient] + n[analyze.VantageServer] + n[analyze.VantageMiddle]
	if told == 0 {
		return "where it was taken: unknown (no connection's timing tells)"
	}
	best := analyze.VantageClient
	for _, v := range []analyze.Vantage{analyze.VantageServer, analyze.VantageMiddle} {
		if n[v] > n[best] {
			best = v
		}
	}
	where := "next to the " + best.String() + "s"
	if best == analyze.VantageMiddle {
		where = "on the path, between clients and servers"
	}
	if n[best] == told {
		return fmt.Sprintf("taken %s (by the timing of %s)", where, plural(told, "connection"))
	}
	return fmt.Sprintf("taken %s, by the timing of %d of the %d connections whose timing tells", where, n[best], told)
}

// ConnRank orders the connections the report kept, most interesting
// first (diagnose.MoreInteresting: worst finding, then how many findings
// above info, then first appearance), as indexes into rep.Conns. The
// report kept the most interesting of all, so its first are the
// capture's.
func ConnRank(rep *diagnose.Report) []int {
	out := make([]int, len(rep.Conns))
	for i := range out {
		out[i] = i
	}
	slices.SortStableFunc(out, func(a, b int) int { return diagnose.MoreInteresting(&rep.Conns[a], &rep.Conns[b]) })
	return out
}

func writeConnRows(b *strings.Builder, o *Overview, st Style) error {
	rep := o.Report
	limit := cmp.Or(o.MaxConns, 20)
	total := rep.Shown // of a report narrowed by a selection, the connections it selected
	if total == rep.ConnCount {
		fmt.Fprintf(b, "%s\n", st.bold("connections, most interesting first"))
	} else {
		fmt.Fprintf(b, "%s\n", st.bold(fmt.Sprintf("connections selected (%d of %d), most interesting first", total, rep.ConnCount)))
	}
	switch {
	case rep.ConnCount == 0:
		b.WriteString("  none: the capture holds no TCP connection\n")
		return nil
	case total == 0:
		b.WriteString("  none: no connection is selected\n")
		return nil
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tCLIENT\tSERVER\tDURATION\tPKTS C>S/S>C\tCLOSE\tSTATES C/S\tFINDINGS")
	order := ConnRank(rep)
	for n, i := range order {
		if n == limit {
			break
		}
		c := &rep.Conns[i]
		client := c.Client.Addr.String()
		if c.RoleGuessed {
			client += "?"
		}
		closeBy := c.Close
		if c.Close != "none" {
			closeBy = c.Close + " by " + c.FirstClosed
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%d/%d\t%s\t%s/%s\t%s\n", c.ID, client, c.Server.Addr,
			string(AppendDuration(nil, c.Duration())), c.Client.Packets, c.Server.Packets, closeBy,
			c.Client.State, c.Server.State, connFindingIDs(c, st))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if shown := min(len(order), limit); total > shown {
		fmt.Fprintf(b, "  … and %d more (tcplens conns%s lists them all)\n", total-shown, argsOf(o))
	}
	return nil
}

// connFindingIDs lists a connection's findings above info, worst first.
func connFindingIDs(c *diagnose.Conn, st Style) string {
	var ids []string
	for _, f := range c.Findings {
		if f.Severity > diagnose.Info {
			ids = append(ids, st.severity(f.Severity, f.ID))
		}
	}
	if len(ids) == 0 {
		return "-"
	}
	return strings.Join(ids, " ")
}

func writeFindingSummary(b *strings.Builder, o *Overview, st Style) {
	rep := o.Report
	c := rep.Counts
	fmt.Fprintf(b, "%s %s, %s, %s, %s\n", st.bold("findings:"), st.severity(diagnose.Error, plural(c[diagnose.Error], "error")),
		st.severity(diagnose.Warning, plural(c[diagnose.Warning], "warning")), st.severity(diagnose.Notice, plural(c[diagnose.Notice], "notice")),
		fmt.Sprintf("%d info", c[diagnose.Info]))
	// One line per rule: the worst and most frequent first, as the
	// findings are sorted, with the connections it concerns.
	type group struct {
		first *diagnose.Finding
		conns []int
		n     int
	}
	var groups []*group
	by := map[string]*group{}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		key := f.ID + "/" + f.Severity.String()
		g := by[key]
		if g == nil {
			g = &group{first: f}
			by[key] = g
			groups = append(groups, g)
		}
		g.n++
		if f.Conn != 0 {
			g.conns = append(g.conns, f.Conn)
		}
		if f.Conns > 0 {
			// One finding for many connections: count them, name the
			// ones it keeps as examples, and give the worst's title.
			dg := rep.Group(f.ID)
			g.n = f.Conns
			for _, w := range dg.Worst {
				g.conns = append(g.conns, w.Conn)
			}
			slices.Sort(g.conns)
			g.first = &dg.Worst[0]
		}
	}
	limit := cmp.Or(o.MaxFindings, 20)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for i, g := range groups {
		if i == limit {
			break
		}
		f := g.first
		where := "capture"
		if len(g.conns) > 0 {
			where = "conn " + idList(g.conns, max(g.n, len(g.conns)))
		}
		title := f.Title
		if g.n > 1 {
			title = fmt.Sprintf("×%d, e.g. %s", g.n, f.Title)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", st.severity(f.Severity, strings.ToUpper(f.Severity.String())), f.ID, where, title)
	}
	tw.Flush()
	if len(groups) > limit {
		fmt.Fprintf(b, "  … and %d more kinds (tcplens diagnose%s lists them all)\n", len(groups)-limit, argsOf(o))
	}
}

// idList prints up to five of n ids: "1,4,7,9,12 +3".
func idList(ids []int, n int) string {
	const show = 5
	parts := make([]string, 0, show)
	for i, id := range ids {
		if i == show {
			break
		}
		parts = append(parts, fmt.Sprint(id))
	}
	s := strings.Join(parts, ",")
	if n > show {
		s += fmt.Sprintf(" +%d", n-min(len(ids), show))
	}
	return s
}
