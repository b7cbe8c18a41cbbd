package graph

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// The ladder's geometry, in pixels: a time column, the client's states,
// its lifeline, the arrows, the server's lifeline and states, the
// findings.
const (
	ladderWidth   = 1100
	ladderTop     = 58 // below the endpoints' boxes
	xTime         = 8
	xClient       = 262
	xServer       = 702
	xFindings     = 846
	arrowDrop     = 10 // how far an arrow falls between lifelines: the segment is in flight
	rowHeight     = 34
	tagHeight     = 13
	gapRowHeight  = 24
	labelRunes    = 74
	tagRunes      = 80
	findingRunes  = 38
	stateLabelPad = 4
	monoCharWidth = 6.1 // of the 10-pixel monospace the state labels use
)

// Ladder draws the ladder diagram of c: the client's and the server's
// lifelines, one slanted arrow per segment with its flags, relative
// numbers and analysis, each lifeline labelled with the endpoint's state
// where it changes, and the findings fs at their frames. A cut ladder
// says where and how many segments it leaves out.
func Ladder(out io.Writer, c *Conn, fs []diagnose.Finding, o Options) error {
	byFrame := map[int][]*diagnose.Finding{}
	for i := range fs {
		for _, f := range fs[i].Frames {
			byFrame[f] = append(byFrame[f], &fs[i])
		}
	}

	// Rows first, to know the height.
	type row struct {
		step *Step
		gap  int // segments left out before step
		y    float64
		h    float64
		tags string
	}
	rows := make([]row, 0, len(c.Steps))
	y := float64(ladderTop)
	prevN := 0
	for i := range c.Steps {
		s := &c.Steps[i]
		if s.N > prevN+1 {
			rows = append(rows, row{gap: s.N - prevN - 1, y: y, h: gapRowHeight})
			y += gapRowHeight
		}
		prevN = s.N
		r := row{step: s, y: y, h: rowHeight}
		if !s.Result.Analysis.Empty() {
			r.tags = string(render.AppendAnalysis(nil, &s.Result))
		}
		if s.Err != nil {
			r.tags = strings.TrimPrefix(r.tags+"; malformed: "+s.Err.Error(), "; ")
		}
		if r.tags != "" {
			r.h += tagHeight
		}
		rows = append(rows, r)
		y += r.h
	}
	if c.Segments > prevN {
		rows = append(rows, row{gap: c.Segments - prevN, y: y, h: gapRowHeight})
		y += gapRowHeight
	}
	end := y + 8 // of the lifelines
	height := int(end) + 28
	if c.Cut() {
		height += 16
	}

	w := &svgWriter{}
	label := fmt.Sprintf("ladder diagram of connection %d: client %s, server %s", c.ID, c.Client, c.Server)
	w.open(o, "graph ladder", ladderWidth, height, label)
	w.title(label)
	w.raw("\n")

	// The endpoints, and the lifelines coloured by state.
	var before [2]tcp.State
	if len(c.Steps) > 0 {
		before = c.Steps[0].Before
	}
	roles := ""
	if c.RoleGuessed {
		roles = " (roles guessed)"
	}
	for i, x := range []float64{xClient, xServer} {
		name, addr := "client"+roles, c.Client.String()
		if i == 1 {
			name, addr = "server", c.Server.String()
		}
		w.raw(`<rect class="end" x="`, num(x-150), `" y="6" width="300" height="36" rx="4"/>`, "\n")
		w.textAt(x, 21, "end-name", "middle", name)
		w.textAt(x, 36, "end-addr", "middle", addr)
	}
	// Lifelines: one stretch per state, from the change that entered it.
	type stretch struct {
		from  float64
		state tcp.State
	}
	var lines [2][]stretch
	for i := range lines {
		lines[i] = []stretch{{from: 42, state: before[i]}}
	}
	for _, r := range rows {
		if r.step == nil {
			continue
		}
		for _, ch := range r.step.Changes {
			side := 1
			if ch.Client {
				side = 0
			}
			lines[side] = append(lines[side], stretch{from: changeY(r.step, side, r.y), state: ch.State})
		}
	}
	for side, x := range []float64{xClient, xServer} {
		w.raw(`<g class="lifeline">`)
		for i, s := range lines[side] {
			to := end
			if i+1 < len(lines[side]) {
				to = lines[side][i+1].from
			}
			w.raw(`<path class="life `, stateClass(s.state), `" d="M`, num(x), " ", num(s.from), "V", num(to), `"/>`)
		}
		w.raw("</g>\n")
		// The state at the end of what the ladder shows.
		last := lines[side][len(lines[side])-1].state
		stateLabel(w, side, end+14, last, "at the end: "+last.String(), "")
	}

	for _, r := range rows {
		if r.step == nil {
			ladderGap(w, r.y, r.gap)
			continue
		}
		ladderRow(w, c, r.step, r.y, r.h, r.tags, byFrame[r.step.Frame])
	}
	if c.Cut() {
		w.textAt(xTime, end+36, "note", "", fmt.Sprintf("Shows %d of the %d segments: the first, the last, and those that change a state or carry analysis; tcplens explain -c %d lists all.",
			len(c.Steps), c.Segments, c.ID))
	}
	return w.close(out)
}

// changeY is where a step's change to one side shows: the sender changes
// as the segment leaves, the receiver as it arrives.
func changeY(s *Step, side int, rowY float64) float64 {
	sender := 0
	if s.Dir == conn.ServerToClient {
		sender = 1
	}
	if side == sender {
		return rowY + 16
	}
	return rowY + 16 + arrowDrop
}

// stateClass colours a state by the phase of the connection it belongs to.
func stateClass(s tcp.State) string {
	switch s {
	case tcp.Listen, tcp.SynSent, tcp.SynReceived:
		return "st-open"
	case tcp.Established:
		return "st-est"
	case tcp.FinWait1, tcp.FinWait2, tcp.Closing, tcp.CloseWait, tcp.LastAck:
		return "st-closing"
	case tcp.TimeWait:
		return "st-tw"
	}
	return "st-none"
}

// stateLabel writes a state's name beside a lifeline: left of the
// client's, right of the server's.
func stateLabel(w *svgWriter, side int, y float64, s tcp.State, tip, extra string) {
	name := s.String() + extra
	width := float64(len(name))*monoCharWidth + 2*stateLabelPad
	x := float64(xClient) - 8 - width
	if side == 1 {
		x = xServer + 8
	}
	w.raw(`<g class="state `, stateClass(s), `">`)
	w.title(tip)
	w.raw(`<rect x="`, num(x), `" y="`, num(y-10), `" width="`, num(width), `" height="14" rx="3"/>`)
	w.textAt(x+stateLabelPad, y+1, "", "", name)
	w.raw("</g>\n")
}

func ladderGap(w *svgWriter, y float64, n int) {
	mid := y + gapRowHeight/2
	w.raw(`<g class="gap"><path d="M`, num(xClient+10), " ", num(mid), "H", num(xServer-10), `"/>`)
	w.textAt((xClient+xServer)/2, mid-3, "", "middle", fmt.Sprintf("%s not shown", plural(n, "segment")))
	w.raw("</g>\n")
}

// ladderRow draws one step: its time and frame, the arrow with its
// label and tags, the states it entered, and the findings at its frame.
func ladderRow(w *svgWriter, c *Conn, s *Step, y, h float64, tags string, fs []*diagnose.Finding) {
	from, to := float64(xClient), float64(xServer)
	if s.Dir == conn.ServerToClient {
		from, to = to, from
	}
	y0, y1 := y+16, y+16+arrowDrop
	w.raw(`<g class="row `, flagClass(s.Flags), `" data-f="`, itoa(s.Frame), `" data-y="`, num(y), `">`)
	w.title(stepDetails(c, s, tags))
	w.raw(`<rect class="hit" x="0" y="`, num(y), `" width="`, itoa(ladderWidth), `" height="`, num(h), `"/>`, "\n")
	at := s.Time.Sub(c.Start)
	w.textAt(xTime, y+14, "time", "", "+"+seconds(at))
	w.textAt(xTime, y+27, "frame", "", "#"+itoa(s.Frame))

	// The arrow, its head drawn as a path so that no id is needed.
	dx := 1.0
	if to < from {
		dx = -1
	}
	const headLen, headHalf = 9.0, 4.0
	ux, uy := (to-from)*dx, float64(arrowDrop)
	n := math.Hypot(ux, uy)
	ux, uy = ux/n*dx, uy/n
	bx, by := to-ux*headLen, y1-uy*headLen
	w.raw(`<path class="arrow" d="M`, num(from), " ", num(y0), "L", num(bx), " ", num(by), `"/>`)
	w.raw(`<path class="head" d="M`, num(to), " ", num(y1), "L", num(bx-uy*headHalf), " ", num(by+ux*headHalf),
		"L", num(bx+uy*headHalf), " ", num(by-ux*headHalf), `Z"/>`, "\n")
	w.textAt((xClient+xServer)/2, y+12, "seg", "middle", truncate(stepLabel(s), labelRunes))
	if tags != "" {
		w.textAt((xClient+xServer)/2, y+38, "tags", "middle", truncate(tags, tagRunes))
	}

	for side := range 2 {
		var names []string
		var last tcp.State
		corrected := ""
		for _, ch := range s.Changes {
			if ch.Client == (side == 0) {
				names = append(names, ch.From.String()+" → "+ch.State.String()+": "+ch.Reason.String())
				last = ch.State
				if ch.Correction {
					corrected = " *"
				}
			}
		}
		if names != nil {
			stateLabel(w, side, changeY(s, side, y), last, strings.Join(names, "\n"), corrected)
		}
	}

	if len(fs) > 0 {
		worst := fs[0].Severity
		ids := make([]string, len(fs))
		titles := make([]string, len(fs))
		for i, f := range fs {
			worst = max(worst, f.Severity)
			ids[i] = f.ID
			titles[i] = f.Severity.String() + " " + f.ID + ": " + f.Title
		}
		w.raw(`<g class="finding sev-`, worst.String(), `">`)
		w.title(strings.Join(titles, "\n"))
		w.raw(`<circle cx="`, num(xFindings+6), `" cy="`, num(y+17), `" r="5"/>`)
		w.textAt(xFindings+16, y+21, "", "", truncate(strings.Join(ids, ", "), findingRunes))
		w.raw("</g>\n")
	}
	w.raw("</g>\n")
}

// flagClass colours an arrow by what it does to the connection.
func flagClass(f wire.Flags) string {
	switch {
	case f.Has(wire.RST):
		return "f-rst"
	case f.Has(wire.SYN):
		return "f-syn"
	case f.Has(wire.FIN):
		return "f-fin"
	}
	return "f-ack"
}

// stepLabel is the arrow's text: flags, relative numbers, window, length
// and the options worth seeing.
func stepLabel(s *Step) string {
	var b strings.Builder
	b.WriteString(s.Flags.String())
	switch {
	case s.Len > 0:
		fmt.Fprintf(&b, " seq %d:%d", s.Seq, s.Seq+uint32(s.Len))
	case s.Flags.Any(wire.SYN | wire.FIN | wire.RST):
		fmt.Fprintf(&b, " seq %d", s.Seq)
	}
	if s.Flags.Has(wire.ACK) {
		fmt.Fprintf(&b, " ack %d", s.Ack)
	}
	fmt.Fprintf(&b, " win %d", s.Window)
	if s.Result.WindowScaled >= 0 && s.Result.WindowScaled != int64(s.Window) {
		fmt.Fprintf(&b, " (%d)", s.Result.WindowScaled)
	}
	fmt.Fprintf(&b, " len %d", s.Len)
	if words := render.OptionWords(&s.Options, render.StepSACK(&s.Step)); words != "" {
		b.WriteString(" <" + words + ">")
	}
	return b.String()
}

// stepDetails is everything about a step, for its tooltip.
func stepDetails(c *Conn, s *Step, tags string) string {
	var b strings.Builder
	dir := "client → server"
	if s.Dir == conn.ServerToClient {
		dir = "server → client"
	}
	fmt.Fprintf(&b, "frame %d, %s after the first segment (%s UTC)\n%s: %s", s.Frame, seconds(s.Time.Sub(c.Start)),
		s.Time.Std().Format("2006-01-02 15:04:05.000000"), dir, stepLabel(s))
	fmt.Fprintf(&b, "\nraw seq %d, ack %d", s.SeqRaw, s.AckRaw)
	// The label's SACK blocks are relative; the raw ones go beside the raw ack.
	if len(s.SACK) > 0 {
		b.WriteString(", sack")
		for _, r := range s.Options.SACKBlocks() {
			fmt.Fprintf(&b, " %d:%d", uint32(r.Start), uint32(r.End))
		}
	}
	if s.Result.BytesInFlight >= 0 {
		fmt.Fprintf(&b, "; %d bytes in flight", s.Result.BytesInFlight)
	}
	if s.Result.RTTSample > 0 {
		fmt.Fprintf(&b, "; RTT sample %s", render.AppendDuration(nil, s.Result.RTTSample))
	}
	fmt.Fprintf(&b, "\nafter it: client %s, server %s", s.After[0], s.After[1])
	for _, ch := range s.Changes {
		who := "server"
		if ch.Client {
			who = "client"
		}
		corr := ""
		if ch.Correction {
			corr = " (a correction)"
		}
		fmt.Fprintf(&b, "\n%s %s → %s%s: %s", who, ch.From, ch.State, corr, ch.Reason)
	}
	if tags != "" {
		b.WriteString("\n" + tags)
	}
	return b.String()
}

// seconds writes d as seconds with microseconds.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) + " s"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
