package report

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/graph"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
)

//go:embed page.html
var pageHTML string

//go:embed report.css
var pageCSS string

//go:embed report.js
var pageJS string

var page = template.Must(template.New("page").Parse(pageHTML))

// Report is what the page shows.
type Report struct {
	Files     []File
	Diagnosis *diagnose.Report
	// Pictures are the connections drawn, in the order the page shows
	// them; Chosen says in words how they were chosen.
	Pictures []*graph.Conn
	Chosen   string
	// Selection is the command line's narrowing of the report to some
	// connections (--state CLOSE_WAIT), "" for none.
	Selection string
	Version   string // of tcplens, for the footer
}

// File is one capture file read.
type File struct {
	Name       string // as the user named it
	Format     string // pcap or pcapng
	Compressed bool
	Interfaces []Interface
}

// Interface is one capture interface of a file.
type Interface struct {
	Name    string // the pcapng if_name, when there is one: text from the capture
	Link    pcap.LinkType
	SnapLen int
}

// Limits of the page: beyond them it says how many it left out.
const (
	maxGroupItems = 100 // instances listed per kind of finding
	maxFrames     = 12  // evidence frames listed per finding
)

// Write writes the page: one HTML document that holds its style sheet,
// its script and its pictures, loads nothing and sends nothing. Its
// Content-Security-Policy allows its own script and style sheet alone (by
// their hashes), so a browser runs nothing else whatever the capture
// holds; everything from the capture is escaped besides.
func Write(w io.Writer, r *Report) error {
	css := pageCSS + graph.CSS
	v := view{
		Title:   title(r.Files),
		Files:   r.Files,
		CSS:     template.CSS(css),
		JS:      template.JS(pageJS),
		CSP:     csp(pageJS, css),
		Version: r.Version,
	}
	rep := r.Diagnosis
	v.Facts = captureFacts(r)
	pictured := map[int]bool{}
	for _, c := range r.Pictures {
		pictured[c.ID] = true
	}
	v.Counts, v.Groups = findingGroups(rep, pictured)
	v.Columns = columns
	v.Table = tableData(rep, pictured)
	v.TableNote = tableNote(rep, r.Files)
	v.DetailNote = r.Chosen
	for i, g := range r.Pictures {
		d, err := newDetail(g, rep.Conn(g.ID), rep.ConnFindings(g.ID))
		if err != nil {
			return err
		}
		d.Open = i == 0
		v.Details = append(v.Details, d)
	}
	// Straight to w: a page for tens of thousands of connections is tens
	// of megabytes, not worth holding twice.
	if err := page.Execute(w, &v); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// csp allows the page's own script and style sheet, by hash, and nothing
// else: no other script, no connection, no image, font or frame. A page
// without a script (js "") allows none.
func csp(js, css string) string {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	scripts := "'none'"
	if js != "" {
		scripts = hash(js)
	}
	return "default-src 'none'; script-src " + scripts + "; style-src " + hash(css) + "; base-uri 'none'; form-action 'none'"
}

func title(files []File) string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// view is what the template reads.
type view struct {
	Title, CSP, Version string
	CSS                 template.CSS
	JS                  template.JS
	Files               []File
	Facts               []fact
	Counts              []count
	Groups              []group
	Columns             []column
	Table               table
	TableNote           string
	DetailNote          string
	Details             []detail
}

type fact struct{ Name, Value string }

type count struct {
	Severity string
	N        int
}

// group is the findings of one id and severity.
type group struct {
	Severity, ID, Title, Explanation, Advice string
	N                                        int
	Items                                    []item
	More                                     int
}

type item struct {
	Conn     int
	Pictured bool // the page draws the connection: its id links there
	Title    string
	Frames   []int
}

func captureFacts(r *Report) []fact {
	rep := r.Diagnosis
	s := &rep.Stats
	links := make([]pcap.LinkType, 0, len(s.Links))
	for l := range s.Links {
		links = append(links, l)
	}
	slices.Sort(links)
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = fmt.Sprintf("%s (%s frames)", l, render.Thousands(s.Links[l]))
	}
	fs := []fact{
		{"packets", fmt.Sprintf("%s, of which %s TCP segments in %s connections", render.Thousands(s.Frames), render.Thousands(s.Segments), render.Thousands(rep.ConnCount))},
		{"link types", strings.Join(names, ", ")},
	}
	if r.Selection != "" {
		fs = append(fs, fact{"selected", fmt.Sprintf("%s of the %s connections, by %s: the findings, the table and the pictures are theirs",
			render.Thousands(rep.Shown), render.Thousands(rep.ConnCount), r.Selection)})
	}
	if s.Frames > 0 {
		fs = append(fs, fact{"time", fmt.Sprintf("%s UTC to %s UTC (%s)", s.First.Std().Format("2006-01-02 15:04:05.000000"),
			s.Last.Std().Format("2006-01-02 15:04:05.000000"), duration(s.Last.Sub(s.First)))})
	}
	if s.NotTCP+s.Malformed+s.Fragments > 0 {
		fs = append(fs, fact{"not analysed", fmt.Sprintf("%d frames without TCP, %d malformed TCP headers, %d later IP fragments", s.NotTCP, s.Malformed, s.Fragments)})
	}
	fs = append(fs, fact{"where", render.VantageWords(rep.Vantages)})
	c := rep.Counts
	fs = append(fs, fact{"findings", fmt.Sprintf("%s, %s, %s, %d info", plural(c[diagnose.Error], "error"), plural(c[diagnose.Warning], "warning"),
		plural(c[diagnose.Notice], "notice"), c[diagnose.Info])})
	return fs
}

// findingGroups counts findings by severity, worst first, and gathers
// them by id: the findings are sorted worst first already. A finding that
// stands for many connections lists the examples the diagnosis kept.
func findingGroups(rep *diagnose.Report, pictured map[int]bool) ([]count, []group) {
	fs := rep.Findings
	c := rep.Counts
	var counts []count
	for sev := diagnose.Error; ; sev-- {
		counts = append(counts, count{sev.String(), c[sev]})
		if sev == diagnose.Info {
			break
		}
	}
	var groups []group
	at := map[string]int{}
	for i := range fs {
		f := &fs[i]
		key := f.Severity.String() + "/" + f.ID
		j, ok := at[key]
		if !ok {
			j = len(groups)
			at[key] = j
			groups = append(groups, group{Severity: f.Severity.String(), ID: f.ID, Title: f.Title, Explanation: f.Explanation, Advice: f.Advice})
		}
		g := &groups[j]
		if f.Conns > 0 {
			dg := rep.Group(f.ID)
			g.Title = dg.Worst[0].Title // the group's heading counts them already
			g.N += f.Conns
			for _, w := range dg.Worst {
				g.Items = append(g.Items, item{Conn: w.Conn, Pictured: pictured[w.Conn], Title: w.Title, Frames: firstFrames(w.Frames)})
			}
			g.More += f.Conns - len(dg.Worst)
			continue
		}
		g.N++
		if len(g.Items) == maxGroupItems {
			g.More++
			continue
		}
		g.Items = append(g.Items, item{Conn: f.Conn, Pictured: pictured[f.Conn], Title: f.Title, Frames: firstFrames(f.Frames)})
	}
	return counts, groups
}

func firstFrames(fs []int) []int {
	if len(fs) > maxFrames {
		return fs[:maxFrames]
	}
	return fs
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// duration writes d as render does everywhere else.
func duration(d time.Duration) string { return string(render.AppendDuration(nil, d)) }

// closeWords says how a connection closed and by whom.
func closeWords(s *analyze.Summary) string {
	if s.Close == "none" {
		return "not closed"
	}
	return s.Close + " by " + s.FirstClosed
}
