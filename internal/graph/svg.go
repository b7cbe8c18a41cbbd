package graph

import (
	_ "embed"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CSS is the style sheet the pictures' classes need. A standalone SVG
// carries it; a page that inlines the pictures includes it once.
//
//go:embed graph.css
var CSS string

// Options say how a picture is written.
type Options struct {
	// Standalone makes a document of its own (XML declaration, namespace,
	// style sheet); otherwise the <svg> element is for inlining in HTML.
	Standalone bool
}

// LanesCSS is the style sheet of the two-lane ladder (Lanes), besides
// CSS: a page that inlines one includes both.
//
//go:embed lanes.css
var LanesCSS string

// svgWriter builds a picture. Every string that can come from a capture
// goes through text or attr, which escape it for XML and HTML alike.
type svgWriter struct {
	b        strings.Builder
	extraCSS string // a standalone picture's style beyond CSS
}

func (w *svgWriter) raw(s ...string) {
	for _, x := range s {
		w.b.WriteString(x)
	}
}

// text writes s as character data.
func (w *svgWriter) text(s string) { w.b.WriteString(escape(s)) }

// open starts the document or the inline element.
func (w *svgWriter) open(o Options, class string, width, height int, label string) {
	if o.Standalone {
		w.raw(`<?xml version="1.0" encoding="UTF-8"?>`, "\n")
	}
	w.raw(`<svg xmlns="http://www.w3.org/2000/svg" class="`, class, `" width="`, itoa(width), `" height="`, itoa(height),
		`" viewBox="0 0 `, itoa(width), " ", itoa(height), `" role="img" aria-label="`, escape(label), `">`, "\n")
	if o.Standalone {
		w.raw("<style>\n", CSS, w.extraCSS, "</style>\n", `<rect class="bg" width="100%" height="100%"/>`, "\n")
	}
}

func (w *svgWriter) close(out io.Writer) error {
	w.raw("</svg>\n")
	_, err := io.WriteString(out, w.b.String())
	return err
}

// title writes a tooltip.
func (w *svgWriter) title(s string) {
	w.raw("<title>")
	w.text(s)
	w.raw("</title>")
}

// textAt writes a <text> element.
func (w *svgWriter) textAt(x, y float64, class, anchor, s string) {
	w.raw(`<text x="`, num(x), `" y="`, num(y), `"`)
	if class != "" {
		w.raw(` class="`, class, `"`)
	}
	if anchor != "" && anchor != "start" {
		w.raw(` text-anchor="`, anchor, `"`)
	}
	w.raw(">")
	w.text(s)
	w.raw("</text>\n")
}

// escape makes s safe as XML character data or a quoted attribute value,
// which also makes it safe inside HTML: the five markup characters become
// references, and what XML 1.0 cannot carry at all (invalid UTF-8, most
// control characters) becomes U+FFFD, so that a standalone SVG always
// parses.
func escape(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' || c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == utf8.RuneError, r < 0x20 && r != '\t' && r != '\n', r >= 0xfffe && r <= 0xffff, r >= 0xd800 && r <= 0xdfff:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// truncate shortens s to n runes, ending in an ellipsis when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func itoa(n int) string { return strconv.Itoa(n) }

// num formats a coordinate with at most two decimals and no trailing
// zeros: deterministic, and short.
func num(x float64) string {
	s := strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
	if s == "-0" {
		return "0"
	}
	return s
}

// ticks returns about n round values covering [lo, hi]: steps of 1, 2 or
// 5 times a power of ten, and the step.
func ticks(lo, hi float64, n int) ([]float64, float64) {
	if !(hi > lo) {
		return []float64{lo}, 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{2, 5, 10} {
		if step >= raw {
			break
		}
		step = mag * m
	}
	// Counted in steps, not summed: adding a small step to a large value
	// can leave it unchanged.
	var out []float64
	first, last := math.Ceil(lo/step), math.Floor(hi/step+1e-9)
	for k := first; k <= last && len(out) < 4*n; k++ {
		out = append(out, k*step)
	}
	return out, step
}

// Units of the axes: how a value of each is written.
const (
	unitSeconds = "s"
	unitBytes   = "B"
	unitMillis  = "ms"
)

// formatTick writes v in unit with the precision the step between ticks
// needs. report.js has the same rules, for the axes it redraws on zoom.
func formatTick(v, step float64, unit string) string {
	if math.Abs(v) < step*1e-6 {
		v = 0 // not -0, nor 1e-17
	}
	switch unit {
	case unitBytes:
		if v == 0 {
			return "0"
		}
		div, suffix := 1.0, ""
		switch a := math.Max(math.Abs(v), step); {
		case a >= 1e9:
			div, suffix = 1e9, "G"
		case a >= 1e6:
			div, suffix = 1e6, "M"
		case a >= 1e3:
			div, suffix = 1e3, "k"
		}
		return strconv.FormatFloat(v/div, 'f', decimals(step/div), 64) + suffix
	case unitSeconds:
		return strconv.FormatFloat(v, 'f', decimals(step), 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', decimals(step), 64) + " " + unit
}

// decimals is how many decimals tell ticks step apart.
func decimals(step float64) int {
	if step >= 1 {
		return 0
	}
	return min(9, int(math.Ceil(-math.Log10(step)-1e-9)))
}
