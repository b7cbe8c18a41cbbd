package graph

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/render"
)

// The plots' geometry, in pixels. The plot area is a nested <svg> whose
// viewBox maps plotSpan units each way onto it: zooming changes that
// viewBox alone, and the axes outside it are redrawn from its data-*
// range (report.js).
const (
	plotWidth  = 1100
	plotLeft   = 84
	plotTop    = 52
	plotW      = 996
	plotH      = 300
	plotSpan   = 10000
	noteHeight = 14
	noteRunes  = 170 // a note's line, in the 11-pixel font: the picture's width
)

// plot draws one graph over time.
type plot struct {
	w              *svgWriter // the body: everything but the opening tag, known only at the end
	legendW        svgWriter  // the legend, outside the plot area
	class, title   string
	x0, x1, y0, y1 float64 // the data at the plot's edges: seconds, and the y unit
	yUnit          string
	yPerValue      float64 // y units per recorded value
	legendX        float64
	notes          []string
	downsampled    []string
	width          int64 // the widest column of a downsampled series
}

func (p *plot) px(t int64) string {
	return num((float64(t)/1e9 - p.x0) / (p.x1 - p.x0) * plotSpan)
}

func (p *plot) py(v int64) string {
	return num(plotSpan - (float64(v)*p.yPerValue-p.y0)/(p.y1-p.y0)*plotSpan)
}

// start writes the title, the frame, the axes and opens the plot area.
func (p *plot) start(class, title, yTitle string, duration int64) {
	span := float64(duration) / 1e9
	if span <= 0 {
		span = 1e-3
	}
	p.x0, p.x1 = -span*0.02, span*1.02
	if p.y1 <= p.y0 {
		p.y1 = p.y0 + 1
	}
	pad := (p.y1 - p.y0) * 0.04
	p.y0, p.y1 = p.y0-pad, p.y1+pad
	p.class, p.title = class, title
	p.w.title(title)
	p.w.textAt(plotLeft, 16, "gtitle", "", title)
	p.w.textAt(8, plotTop-6, "axis-title", "", yTitle)
	p.w.textAt(plotLeft+plotW, plotTop+plotH+32, "axis-title", "end", "time since the connection's first segment")
	p.w.raw(`<rect class="frame" x="`, itoa(plotLeft), `" y="`, itoa(plotTop), `" width="`, itoa(plotW), `" height="`, itoa(plotH), `"/>`, "\n")
	p.axes()
	p.legendX = plotLeft
	p.w.raw(`<svg class="plot" x="`, itoa(plotLeft), `" y="`, itoa(plotTop), `" width="`, itoa(plotW), `" height="`, itoa(plotH),
		`" viewBox="0 0 `, itoa(plotSpan), " ", itoa(plotSpan), `" preserveAspectRatio="none" data-x0="`, num6(p.x0), `" data-x1="`, num6(p.x1),
		`" data-y0="`, num6(p.y0), `" data-y1="`, num6(p.y1), `" data-yu="`, p.yUnit, `">`, "\n")
	// Something to hold the pointer where nothing is drawn, for zoom and pan.
	p.w.raw(`<rect class="hold" width="`, itoa(plotSpan), `" height="`, itoa(plotSpan), `"/>`, "\n")
}

func num6(x float64) string { return strconv.FormatFloat(x, 'g', 10, 64) }

// axes writes the grid and the tick labels, as report.js redraws them.
func (p *plot) axes() {
	w := p.w
	xs, xstep := ticks(p.x0, p.x1, 8)
	w.raw(`<g class="axis xaxis">`)
	for _, v := range xs {
		x := plotLeft + (v-p.x0)/(p.x1-p.x0)*plotW
		w.raw(`<path class="grid" d="M`, num(x), " ", itoa(plotTop), "V", itoa(plotTop+plotH), `"/>`)
		w.textAt(x, plotTop+plotH+14, "", "middle", formatTick(v, xstep, unitSeconds))
	}
	w.raw("</g>\n")
	ys, ystep := ticks(p.y0, p.y1, 6)
	w.raw(`<g class="axis yaxis">`)
	for _, v := range ys {
		y := plotTop + plotH - (v-p.y0)/(p.y1-p.y0)*plotH
		w.raw(`<path class="grid" d="M`, itoa(plotLeft), " ", num(y), "H", itoa(plotLeft+plotW), `"/>`)
		w.textAt(plotLeft-6, y+4, "", "end", formatTick(v, ystep, p.yUnit))
	}
	w.raw("</g>\n")
}

// marks draws each point of s as a vertical mark from its lowest to its
// highest value (a dot when they are equal), with its tooltip; a point
// with data-f takes the reader to its ladder step.
func (p *plot) marks(s *Series, class string, describe func(pt *Point) string) {
	p.account(s, class)
	for i := range s.Points {
		pt := &s.Points[i]
		x := p.px((pt.T0 + pt.T1) / 2)
		p.w.raw(`<path class="`, class, `" d="M`, x, " ", p.py(pt.Lo), "V", p.py(pt.Hi), `" data-f="`, itoa(pt.Frame), `">`)
		p.w.title(describe(pt))
		p.w.raw("</path>\n")
	}
}

// marksAt draws each point of s as a dot at value v.
func (p *plot) marksAt(s *Series, class string, v int64, describe func(pt *Point) string) {
	p.account(s, class)
	y := p.py(v)
	for i := range s.Points {
		pt := &s.Points[i]
		p.w.raw(`<path class="`, class, `" d="M`, p.px((pt.T0+pt.T1)/2), " ", y, `h0" data-f="`, itoa(pt.Frame), `">`)
		p.w.title(describe(pt))
		p.w.raw("</path>\n")
	}
}

// steps draws s as a step line: each value holds until the next.
func (p *plot) steps(s *Series, class string) {
	if len(s.Points) == 0 {
		return
	}
	p.account(s, class)
	var d strings.Builder
	for i := range s.Points {
		pt := &s.Points[i]
		if i == 0 {
			d.WriteString("M" + p.px(pt.T0) + " " + p.py(pt.First))
		} else {
			d.WriteString("H" + p.px(pt.T0) + "V" + p.py(pt.First))
		}
		if pt.N > 1 {
			d.WriteString("H" + p.px(pt.T1) + "V" + p.py(pt.Last))
		}
	}
	p.w.raw(`<path class="`, class, `" d="`, d.String(), `"/>`, "\n")
}

// account remembers what was downsampled, for the note under the plot.
func (p *plot) account(s *Series, class string) {
	if s.Downsampled() {
		p.downsampled = append(p.downsampled, fmt.Sprintf("%s %s → %s", legendNames[class], render.Thousands(s.Total), render.Thousands(len(s.Points))))
		p.width = max(p.width, s.Width)
	}
}

// legendNames name the classes of marks.
var legendNames = map[string]string{
	"data": "data segments", "retrans": "retransmissions", "probe": "window probes and keep-alives",
	"ack": "ACK", "win": "receive window", "sack": "SACK blocks", "dup": "duplicate ACKs", "zero": "zero windows",
	"bif": "bytes in flight", "rwnd": "receive window", "rtt-c": "client's data", "rtt-s": "server's data",
	"owd-c": "client's segments", "owd-s": "server's segments",
}

// legend adds a swatch and a name to the line above the plot.
func (p *plot) legend(class string, n int) {
	if n == 0 {
		return
	}
	text := legendNames[class] + " (" + render.Thousands(n) + ")"
	l := &p.legendW
	l.raw(`<g class="legend">`, `<path class="`, class, ` swatch" d="M`, num(p.legendX), " 30h10", `"/>`)
	l.textAt(p.legendX+16, 34, "", "", text)
	l.raw("</g>\n")
	p.legendX += 16 + float64(len([]rune(text)))*6.2 + 18
}

// end closes the plot area, writes the legend and the notes, and the
// whole picture to out.
func (p *plot) end(out io.Writer, o Options, empty string) error {
	p.w.raw("</svg>\n")
	p.w.raw(p.legendW.b.String())
	if empty != "" {
		p.w.textAt(plotLeft+plotW/2, plotTop+plotH/2, "empty", "middle", empty)
	}
	if len(p.downsampled) > 0 {
		p.notes = append(p.notes, fmt.Sprintf("Downsampled to draw, in columns of %s, each spanning its extremes: %s. Zooming in adds no detail; tcplens read -a lists every segment.",
			formatDuration(p.width), strings.Join(p.downsampled, ", ")))
	}
	y := plotTop + plotH + 50
	for _, n := range p.notes {
		for _, line := range wrap(n, noteRunes) {
			p.w.textAt(8, float64(y), "note", "", line)
			y += noteHeight
		}
	}
	doc := &svgWriter{extraCSS: p.w.extraCSS}
	doc.open(o, "graph "+p.class, plotWidth, y, p.title)
	doc.raw(p.w.b.String())
	return doc.close(out)
}

// wrap breaks s at spaces into lines of at most n runes.
func wrap(s string, n int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len([]rune(line))+1+len([]rune(word)) > n {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

func formatDuration(ns int64) string {
	switch {
	case ns >= 1e9:
		return strconv.FormatFloat(float64(ns)/1e9, 'g', 3, 64) + " s"
	case ns >= 1e6:
		return strconv.FormatFloat(float64(ns)/1e6, 'g', 3, 64) + " ms"
	case ns >= 1e3:
		return strconv.FormatFloat(float64(ns)/1e3, 'g', 3, 64) + " µs"
	}
	return strconv.FormatInt(ns, 10) + " ns"
}

func dirWords(d conn.Dir) string {
	if d == conn.ServerToClient {
		return "server → client"
	}
	return "client → server"
}

// at writes where a point is in time.
func at(pt *Point) string {
	if pt.N == 1 {
		return fmt.Sprintf("frame %d at +%.6f s", pt.Frame, float64(pt.T0)/1e9)
	}
	return fmt.Sprintf("frames %d to %d (%s segments) at +%.6f to +%.6f s", pt.Frame, pt.LastFrame, render.Thousands(pt.N), float64(pt.T0)/1e9, float64(pt.T1)/1e9)
}

// withNote adds the analysis of a single segment.
func withNote(s string, pt *Point) string {
	if pt.Note != "" {
		return s + "\n" + pt.Note
	}
	return s
}

// TimeSequence draws the time-sequence graph of the data d sent, in
// tcptrace's style: each data segment a vertical mark from its first to
// its last byte, the receiver's ACK and the right edge of its window as
// step lines, its SACK blocks, and the retransmissions, window probes,
// duplicate ACKs and zero windows marked.
func TimeSequence(out io.Writer, c *Conn, d conn.Dir, o Options) error {
	f := &c.Flows[d]
	p := &plot{w: &svgWriter{}, yUnit: unitBytes, yPerValue: 1}
	// The range: the data and the ACKs; the window too, unless it
	// reaches so far above them that the data would be a flat line.
	lo, hi, any := int64(math.MaxInt64), int64(math.MinInt64), false
	for _, s := range []*Series{&f.Data, &f.Retrans, &f.Probes, &f.Ack, &f.SACK} {
		for _, pt := range s.Points {
			lo, hi, any = min(lo, pt.Lo), max(hi, pt.Hi), true
		}
	}
	winHi := int64(math.MinInt64)
	for _, pt := range f.Window.Points {
		winHi = max(winHi, pt.Hi)
	}
	if !any {
		lo, hi = 0, 1
	}
	if winHi > hi {
		if winHi-lo <= 4*(hi-lo) || hi-lo < 2 {
			hi = winHi
		} else {
			p.notes = append(p.notes, fmt.Sprintf("The receive window's right edge rises above the top of the graph, to %s.", render.Thousands(int(winHi))))
			hi += (hi - lo) / 4
		}
	}
	p.y0, p.y1 = float64(lo), float64(hi)
	title := fmt.Sprintf("Time-sequence graph of connection %d, %s data", c.ID, dirWords(d))
	p.start("tsg", title, "relative sequence number", c.Duration)

	// Drawn in this order, the ACK line shows over dense data, the marks
	// of what went wrong over everything, and retransmissions on top.
	p.steps(&f.Window, "win")
	seqText := func(pt *Point) string {
		if pt.N == 1 {
			return withNote(fmt.Sprintf("%s: seq %d:%d (%d bytes)", at(pt), pt.Lo, pt.Hi, pt.Hi-pt.Lo), pt)
		}
		return fmt.Sprintf("%s: seq %d to %d", at(pt), pt.Lo, pt.Hi)
	}
	ackText := func(pt *Point) string {
		return withNote(fmt.Sprintf("%s: ack %d", at(pt), pt.Lo), pt)
	}
	p.marks(&f.Data, "data", seqText)
	p.marks(&f.SACK, "sack", func(pt *Point) string {
		return withNote(fmt.Sprintf("%s: SACK %d:%d", at(pt), pt.Lo, pt.Hi), pt)
	})
	p.steps(&f.Ack, "ack")
	p.marks(&f.Probes, "probe", seqText)
	p.marks(&f.DupAck, "dup", ackText)
	p.marks(&f.ZeroWin, "zero", ackText)
	p.marks(&f.Retrans, "retrans", seqText)
	for _, l := range []struct {
		class string
		s     *Series
	}{{"data", &f.Data}, {"retrans", &f.Retrans}, {"probe", &f.Probes}, {"ack", &f.Ack}, {"win", &f.Window},
		{"sack", &f.SACK}, {"dup", &f.DupAck}, {"zero", &f.ZeroWin}} {
		p.legend(l.class, l.s.Total)
	}
	empty := ""
	if f.Data.Total+f.Retrans.Total+f.Probes.Total+f.Ack.Total == 0 {
		empty = "nothing was sent this way"
	}
	return p.end(out, o, empty)
}

// Window draws the bytes d's sender had in flight against the window its
// receiver advertised: where they meet, the receiver limits the transfer.
func Window(out io.Writer, c *Conn, d conn.Dir, o Options) error {
	f := &c.Flows[d]
	p := &plot{w: &svgWriter{}, yUnit: unitBytes, yPerValue: 1}
	for _, s := range []*Series{&f.InFlight, &f.Rwnd} {
		for _, pt := range s.Points {
			p.y1 = max(p.y1, float64(pt.Hi))
		}
	}
	title := fmt.Sprintf("Bytes in flight against the receive window, connection %d, %s data", c.ID, dirWords(d))
	p.start("window", title, "bytes", c.Duration)
	p.steps(&f.Rwnd, "rwnd")
	p.marks(&f.InFlight, "bif", func(pt *Point) string {
		if pt.N == 1 {
			return fmt.Sprintf("%s: %d bytes in flight", at(pt), pt.Lo)
		}
		return fmt.Sprintf("%s: %d to %d bytes in flight", at(pt), pt.Lo, pt.Hi)
	})
	p.marksAt(&f.ZeroWin, "zero", 0, func(pt *Point) string { return withNote(at(pt)+": zero window", pt) })
	p.legend("bif", f.InFlight.Total)
	p.legend("rwnd", f.Rwnd.Total)
	p.legend("zero", f.ZeroWin.Total)
	empty := ""
	if f.InFlight.Total+f.Rwnd.Total == 0 {
		empty = "no data in flight and no window advertised this way"
	}
	return p.end(out, o, empty)
}

// RTT draws the round-trip time samples of both directions' data over
// time: each the time from a segment to the ACK that covered it (Karn's
// rule, or the timestamp echo), as the sender's estimator took it.
func RTT(out io.Writer, c *Conn, o Options) error {
	p := &plot{w: &svgWriter{}, yUnit: unitMillis, yPerValue: 1e-6}
	for d := range c.Flows {
		for _, pt := range c.Flows[d].RTT.Points {
			p.y1 = max(p.y1, float64(pt.Hi)*1e-6)
		}
	}
	p.start("rtt", fmt.Sprintf("RTT samples of connection %d", c.ID), "RTT", c.Duration)
	for d, class := range []string{"rtt-c", "rtt-s"} {
		p.marks(&c.Flows[d].RTT, class, func(pt *Point) string {
			if pt.N == 1 {
				return fmt.Sprintf("%s: RTT %s", at(pt), formatDuration(pt.Lo))
			}
			return fmt.Sprintf("%s: RTT %s to %s", at(pt), formatDuration(pt.Lo), formatDuration(pt.Hi))
		})
	}
	p.legend("rtt-c", c.Flows[0].RTT.Total)
	p.legend("rtt-s", c.Flows[1].RTT.Total)
	empty := ""
	if c.Flows[0].RTT.Total+c.Flows[1].RTT.Total == 0 {
		empty = "no RTT sample: no ACK covered a segment sent once, and no timestamp was echoed"
	}
	return p.end(out, o, empty)
}
