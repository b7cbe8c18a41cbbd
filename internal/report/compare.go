package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/tcplens/tcplens/internal/compare"
	"github.com/tcplens/tcplens/internal/graph"
	"github.com/tcplens/tcplens/internal/render"
)

//go:embed compare.html
var compareHTML string

var comparePage = template.Must(template.New("compare").Parse(compareHTML))

// compareCSS is the compare page's own style, beside the report's.
const compareCSS = `
.side { color: #455a64; margin: 4px 0; }
.items { padding-left: 18px; }
.items li { margin: 8px 0; }
.items p { margin: 2px 0; font-size: 13px; }
.items .alone { color: #4e342e; }
.badge.kind { background: #546e7a; }
.k-lost .badge.kind, .k-injected .badge.kind { background: #c62828; }
.k-delay .badge.kind { background: #9e9e9e; }
.k-duplicated .badge.kind, .k-reordered .badge.kind, .k-not-captured .badge.kind { background: #8e24aa; }
`

// Comparison is what the compare page shows.
type Comparison struct {
	Points  [2]render.ComparePoint
	Summary *compare.Summary
	// Conns are the connections the page shows, in that order; those
	// with a Trace get a two-lane ladder. Chosen says in words how they
	// were chosen, LeftOut how many were not.
	Conns   []*compare.Conn
	Chosen  string
	LeftOut int
	Version string
}

type compareView struct {
	Title, CSP, Version string
	CSS                 template.CSS
	A, B                []string
	Facts               []render.CompareFact
	Conns               []compareConn
	Chosen, LeftOut     string
}

type compareConn struct {
	Anchor, Heading, Summary, Side string
	Open                           bool
	Items                          []compareItem
	Lanes, Delays                  template.HTML
}

type compareItem struct {
	Kind, Dir, Title, Text string
	Alone                  []string
}

// WriteComparison writes the compare page: one HTML document that holds
// its style sheet and its pictures, runs no script, loads nothing and
// sends nothing; everything from the captures is escaped.
func WriteComparison(w io.Writer, r *Comparison) error {
	css := pageCSS + graph.CSS + graph.LanesCSS + compareCSS
	v := compareView{
		Title:   strings.Join(r.Points[compare.A].Files, ", ") + " and " + strings.Join(r.Points[compare.B].Files, ", "),
		A:       r.Points[compare.A].Files,
		B:       r.Points[compare.B].Files,
		CSS:     template.CSS(css),
		CSP:     csp("", css),
		Version: r.Version,
		Facts:   render.CompareFacts(r.Points, r.Summary),
		Chosen:  r.Chosen,
	}
	if r.LeftOut > 0 {
		v.LeftOut = fmt.Sprintf("%s more not shown: tcplens compare --json lists every one.", plural(r.LeftOut, "connection"))
	}
	for i, c := range r.Conns {
		cv := compareConn{Anchor: fmt.Sprintf("c-%d", i+1), Open: i == 0}
		var parts []string
		for side, view := range c.Views {
			if view == nil {
				parts = append(parts, fmt.Sprintf("%s: not seen", compare.Side(side)))
				continue
			}
			parts = append(parts, fmt.Sprintf("%s conn %d %s → %s", compare.Side(side), view.Conn, view.Client, view.Server))
		}
		cv.Heading = strings.Join(parts, " · ")
		n := 0
		for _, it := range c.Items {
			if it.Kind != compare.KindDelay {
				n++
			}
		}
		cv.Summary = "nothing but delay"
		if n > 0 {
			cv.Summary = plural(n, "item") + " besides the delay"
		}
		if c.Views[compare.A] != nil && c.Views[compare.B] != nil {
			if c.ClientSideKnown {
				cv.Side = fmt.Sprintf("%s is nearer the client, %s nearer the server: %s.", c.ClientSide, c.ClientSide.Other(), c.SideReason)
			} else {
				cv.Side = "Which point is nearer the client is unknown."
			}
		}
		for _, it := range c.Items {
			iv := compareItem{Kind: it.Kind.String(), Title: it.Title, Text: it.Text}
			if it.HasDir {
				iv.Dir = it.Dir.String()
			}
			for _, a := range it.Alone {
				if a != "" {
					iv.Alone = append(iv.Alone, a)
				}
			}
			cv.Items = append(cv.Items, iv)
		}
		if c.Trace != nil {
			var b bytes.Buffer
			if err := graph.Lanes(&b, c, graph.Options{}); err != nil {
				return err
			}
			cv.Lanes = template.HTML(b.String()) // escaped by the graph package
			b.Reset()
			if err := graph.Delays(&b, c, graph.Options{}); err != nil {
				return err
			}
			cv.Delays = template.HTML(b.String())
		}
		v.Conns = append(v.Conns, cv)
	}
	if err := comparePage.Execute(w, &v); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
