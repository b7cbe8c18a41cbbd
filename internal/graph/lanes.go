package graph

import (
	"fmt"
	"io"
	"strings"

	"github.com/tcplens/tcplens/internal/compare"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// The two-lane ladder's geometry, in pixels: A's segments on the left of
// its lane, B's on the right of its own, the path between the lanes.
const (
	lanesWidth  = 1180
	laneA       = 420
	laneB       = 780
	lanesTop    = 62
	lanesRow    = 18
	lanesLabel  = 64 // runes of a segment's label
	lanesTagLen = 34 // runes of a tag on a line
)

// Lanes draws a connection as both capture points saw it: one lane per
// point, each segment a mark on the lane of the point that captured it,
// in the order the comparison took them (time on A's clock, B's shifted
// by the clocks' offset), and a line from each segment to its copy at the
// other point, slanted by the time between them. A segment lost between
// the points ends in a cross half-way; one injected in the path starts
// there; a duplicate's extra copies and reordered copies are coloured,
// and a copy the path rewrote carries what changed. c must carry a Trace.
func Lanes(out io.Writer, c *compare.Conn, o Options) error {
	t := c.Trace
	if t == nil {
		t = &compare.Trace{}
	}
	rowOf := map[[2]int]int{} // (side, frame) → row
	for i, s := range t.Steps {
		rowOf[[2]int{int(s.Side), s.Frame}] = i
	}
	tags, classes := laneTags(c)
	y := func(i int) float64 { return float64(lanesTop + i*lanesRow + lanesRow/2) }
	end := float64(lanesTop + len(t.Steps)*lanesRow + 8)
	height := int(end) + 12
	if t.Left > 0 {
		height += 16
	}
	w := &svgWriter{extraCSS: LanesCSS}
	label := "two-lane ladder: the connection as capture points A and B saw it"
	w.open(o, "graph lanes", lanesWidth, height, label)
	w.title(label)
	w.raw("\n")

	// The points, with where each is and the connection as it saw it.
	for side, x := range []float64{laneA, laneB} {
		v := c.Views[side]
		name := compare.Side(side).String()
		if c.ClientSideKnown {
			if compare.Side(side) == c.ClientSide {
				name += ": the client's side"
			} else {
				name += ": the server's side"
			}
		}
		addr := "not seen here"
		if v != nil {
			addr = fmt.Sprintf("conn %d  %s → %s", v.Conn, v.Client, v.Server)
		}
		w.raw(`<rect class="end" x="`, num(x-170), `" y="6" width="340" height="40" rx="4"/>`, "\n")
		w.textAt(x, 22, "end-name", "middle", name)
		w.textAt(x, 38, "end-addr", "middle", truncate(addr, 54))
		w.raw(`<path class="lane" d="M`, num(x), " 46V", num(end), `"/>`, "\n")
	}
	var t0 pcap.Time
	if len(t.Steps) > 0 {
		t0 = t.Steps[0].Time
	}
	mid := float64(laneA+laneB) / 2
	for i := range t.Steps {
		s := &t.Steps[i]
		x, other := float64(laneA), float64(laneB)
		if s.Side == compare.B {
			x, other = laneB, laneA
		}
		key := [2]int{int(s.Side), s.Frame}
		cls := "seg " + flagClass(s.Flags) + " " + classes[key]
		w.raw(`<g class="`, strings.TrimSpace(cls), `">`)
		w.title(laneTip(c, s, t0))
		yi := y(i)
		// The line to its copy is drawn once, from the step that came
		// first; a step with no copy draws its stub.
		switch {
		case s.Mate != 0 && s.Verdict == compare.KindDuplicated:
			if j, ok := rowOf[[2]int{1 - int(s.Side), s.Mate}]; ok {
				laneLine(w, other, y(j), x, yi, "copy dup")
			}
		case s.Mate != 0:
			if j, ok := rowOf[[2]int{1 - int(s.Side), s.Mate}]; ok && j > i {
				laneLine(w, x, yi, other, y(j), "copy")
				if tag := tags[key]; tag != "" {
					w.textAt((x+other)/2, (yi+y(j))/2-3, "tag", "middle", truncate(tag, lanesTagLen))
				}
			}
		case s.Verdict == compare.KindLost || s.Verdict == compare.KindNotCaptured:
			stop := x + (other-x)*0.45
			laneLine(w, x, yi, stop, yi+4, "copy lost")
			w.raw(`<path class="cross" d="M`, num(stop-4), " ", num(yi), "l8 8m0 -8l-8 8", `"/>`)
			w.textAt(stop+(other-x)*0.04, yi+7, "tag", anchorToward(x, other), verdictWord(s.Verdict))
		case s.Verdict == compare.KindInjected:
			laneLine(w, mid, yi-4, x, yi, "copy injected")
			w.raw(`<circle class="origin" cx="`, num(mid), `" cy="`, num(yi-4), `" r="3"/>`)
			w.textAt(mid+(other-x)*0.025, yi-1, "tag", anchorToward(x, other), "injected in the path")
		case s.Verdict != 0:
			w.textAt(x+(other-x)*0.1, yi+4, "tag", anchorToward(x, other), verdictWord(s.Verdict))
		}
		w.raw(`<circle class="mark" cx="`, num(x), `" cy="`, num(yi), `" r="3"/>`)
		lbl := laneLabel(s, t0)
		if s.Side == compare.A {
			w.textAt(laneA-10, yi+3.5, "seg-label", "end", lbl)
		} else {
			w.textAt(laneB+10, yi+3.5, "seg-label", "", lbl)
		}
		w.raw("</g>\n")
	}
	if t.Left > 0 {
		w.textAt(8, end+20, "note", "", fmt.Sprintf("The first %d segments of both points; %d more are left out.", len(t.Steps), t.Left))
	}
	return w.close(out)
}

// laneLine draws a line from one lane to the other with an arrow head at
// its end.
func laneLine(w *svgWriter, x1, y1, x2, y2 float64, class string) {
	w.raw(`<path class="`, class, `" d="M`, num(x1), " ", num(y1), "L", num(x2), " ", num(y2), `"/>`)
	dir := 1.0
	if x2 < x1 {
		dir = -1
	}
	w.raw(`<path class="`, class, ` head" d="M`, num(x2), " ", num(y2), "l", num(-7*dir), " -3.5v7z", `"/>`)
}

func anchorToward(from, to float64) string {
	if to < from {
		return "end"
	}
	return ""
}

func verdictWord(k compare.Kind) string {
	switch k {
	case compare.KindLost:
		return "lost"
	case compare.KindNotCaptured:
		return "not captured there"
	case compare.KindInjected:
		return "injected"
	case compare.KindDuplicated:
		return "duplicate"
	case compare.KindUnmatched:
		return "seen here only"
	}
	return k.String()
}

// laneLabel is a step's label: frame, time and the segment in tcpdump's
// terms, relative numbers.
func laneLabel(s *compare.Step, t0 pcap.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s#%d %s [%s]", s.Side, s.Frame, seconds(s.Time.Sub(t0)), s.Flags)
	if s.Len > 0 || s.Flags&(wire.SYN|wire.FIN) != 0 || !s.Flags.Has(wire.ACK) {
		if s.Len > 0 {
			fmt.Fprintf(&b, " seq %d:%d", s.RelSeq, s.RelSeq+uint32(s.Len))
		} else {
			fmt.Fprintf(&b, " seq %d", s.RelSeq)
		}
	}
	if s.Flags.Has(wire.ACK) {
		fmt.Fprintf(&b, " ack %d", s.RelAck)
	}
	if s.Len > 0 {
		fmt.Fprintf(&b, " len %d", s.Len)
	}
	return truncate(b.String(), lanesLabel)
}

// laneTip is everything about a step, for its tooltip.
func laneTip(c *compare.Conn, s *compare.Step, t0 pcap.Time) string {
	var b strings.Builder
	who := "client"
	if s.Dir == conn.ServerToClient {
		who = "server"
	}
	fmt.Fprintf(&b, "%s#%d at %s (A's clock), from the %s: [%s] seq %d ack %d len %d", s.Side, s.Frame, seconds(s.Time.Sub(t0)), who, s.Flags, s.RelSeq, s.RelAck, s.Len)
	other := s.Side.Other()
	switch {
	case s.Verdict == compare.KindDuplicated:
		fmt.Fprintf(&b, "\na second copy of %s#%d: the path duplicated it", other, s.Mate)
	case s.Mate != 0:
		fmt.Fprintf(&b, "\nits copy: %s#%d", other, s.Mate)
	case s.Verdict != 0:
		fmt.Fprintf(&b, "\n%s", verdictWord(s.Verdict))
	}
	for i := range c.Items {
		it := &c.Items[i]
		if it.Kind == compare.KindDelay {
			continue
		}
		for _, f := range it.Frames[s.Side] {
			if f == s.Frame {
				fmt.Fprintf(&b, "\n%s: %s", it.Kind, it.Title)
				break
			}
		}
	}
	return b.String()
}

// laneTags says, for each segment an item names, what to write on its
// line and how to colour it.
func laneTags(c *compare.Conn) (tags, classes map[[2]int]string) {
	tags, classes = map[[2]int]string{}, map[[2]int]string{}
	for i := range c.Items {
		it := &c.Items[i]
		var tag, class string
		switch it.Kind {
		case compare.KindDelay, compare.KindLost, compare.KindInjected, compare.KindNotCaptured, compare.KindUnmatched, compare.KindOnlyAt:
			continue
		case compare.KindReordered:
			tag, class = "reordered", "reord"
		case compare.KindDuplicated:
			tag, class = "duplicated", "dup"
		case compare.KindMSS:
			tag = "mss " + it.From + " → " + it.To
		case compare.KindOptionStrip:
			tag = "−" + it.Option
		case compare.KindOptionAdded:
			tag = "+" + it.Option
		case compare.KindNAT:
			tag = "NAT"
		case compare.KindSeqOffset:
			tag = "seq " + it.To
		case compare.KindECN, compare.KindCE:
			tag = strings.ToLower(it.Option) + " " + it.From + " → " + it.To
		default:
			tag = it.Kind.String()
		}
		if class == "" {
			class = "rw"
		}
		for side, fs := range it.Frames {
			for _, f := range fs {
				k := [2]int{side, f}
				if tags[k] != "" && !strings.Contains(tags[k], tag) {
					tags[k] += " " + tag
				} else if tags[k] == "" {
					tags[k] = tag
				}
				classes[k] = class
			}
		}
	}
	return tags, classes
}

// Delays draws the one-way delay of each segment seen at both points
// over time, each direction in its colour: the time from the point it
// passed first to the other (B's times on A's clock), so that queueing
// between the points shows as a rise. c must carry a Trace.
func Delays(out io.Writer, c *compare.Conn, o Options) error {
	p := &plot{w: &svgWriter{extraCSS: LanesCSS}, yUnit: unitMillis, yPerValue: 1e-6}
	var series [2]Series
	for d := range series {
		series[d] = newSeries(DefaultLimits.Points)
	}
	var t0, dur int64
	if c.Trace != nil && len(c.Trace.Steps) > 0 {
		steps := c.Trace.Steps
		t0 = int64(steps[0].Time)
		dur = int64(steps[len(steps)-1].Time) - t0
		at := map[[2]int]int64{} // (side, frame) → time
		for _, s := range steps {
			at[[2]int{int(s.Side), s.Frame}] = int64(s.Time)
		}
		for _, s := range steps {
			up, ok := c.Upstream(s.Dir)
			if !ok || s.Side != up || s.Mate == 0 || s.Verdict != 0 {
				continue
			}
			down, ok := at[[2]int{int(up.Other()), s.Mate}]
			if !ok {
				continue
			}
			v := down - int64(s.Time)
			series[s.Dir].add(int64(s.Time)-t0, v, v, v, s.Frame, "")
			p.y1 = max(p.y1, float64(v)*1e-6)
			p.y0 = min(p.y0, float64(v)*1e-6)
		}
	}
	p.start("delays", "One-way delay between the points", "delay", dur)
	for d, class := range []string{"owd-c", "owd-s"} {
		side := compare.A
		if up, ok := c.Upstream(conn.Dir(d)); ok {
			side = up
		}
		p.marks(&series[d], class, func(pt *Point) string {
			if pt.N == 1 {
				return fmt.Sprintf("%s#%d at +%.6f s: %s to the other point", side, pt.Frame, float64(pt.T0)/1e9, formatDuration(pt.Lo))
			}
			return fmt.Sprintf("%s#%d to %s#%d (%d segments): %s to %s", side, pt.Frame, side, pt.LastFrame, pt.N, formatDuration(pt.Lo), formatDuration(pt.Hi))
		})
	}
	p.legend("owd-c", series[0].Total)
	p.legend("owd-s", series[1].Total)
	empty := ""
	if series[0].Total+series[1].Total == 0 {
		empty = "no segment seen at both points, or which point is upstream is unknown"
	}
	return p.end(out, o, empty)
}
