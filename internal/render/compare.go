package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/compare"
	"github.com/tcplens/tcplens/internal/pcap"
)

// ComparePoint names one capture point for the output: its files.
type ComparePoint struct {
	Files []string
}

func (p ComparePoint) name() string { return strings.Join(p.Files, ", ") }

// CompareFact is one line of what the comparison found across the
// captures: its name and its value.
type CompareFact struct{ Name, Value string }

// CompareFacts says what the comparison found across the captures: the
// points, the clocks, the path's delay each way, the counts. The text
// output and the HTML report both show them.
func CompareFacts(pts [2]ComparePoint, s *compare.Summary) []CompareFact {
	var fs []CompareFact
	add := func(name, format string, args ...any) {
		fs = append(fs, CompareFact{name, fmt.Sprintf(format, args...)})
	}
	for _, side := range []compare.Side{compare.A, compare.B} {
		ps := s.Points[side]
		v := fmt.Sprintf("%s: %s in %s", pts[side].name(), count(ps.Segments, "TCP segment"), count(ps.Conns, "connection"))
		if ps.Segments > 0 {
			v += fmt.Sprintf(", %s to %s UTC", clock(ps.First), clock(ps.Last))
		}
		add(side.String(), "%s", v)
	}
	a, b := s.Clients[compare.A], s.Clients[compare.B]
	switch {
	case a > 0 && b == 0:
		add("points", "A is nearer the clients, B nearer the servers (%s)", count(a, "connection"))
	case b > 0 && a == 0:
		add("points", "B is nearer the clients, A nearer the servers (%s)", count(b, "connection"))
	case a > 0:
		add("points", "A is nearer the client of %s, B of %s", count(a, "connection"), count(b, "connection"))
	default:
		add("points", "which point is nearer the clients is unknown")
	}
	ahead, off := "ahead of", s.ClockOffset
	if off < 0 {
		ahead, off = "behind", -off
	}
	switch {
	case s.ClockGiven:
		add("clock", "B's clock is %s %s A's, as given", dur(off), ahead)
	case s.ClockSamples == 0:
		add("clock", "no segment of the first ones matched: the clocks are taken as equal")
	default:
		add("clock", "B's clock is %s %s A's, estimated from %s seen at both, taking the path's least delay as the same both ways",
			dur(off), ahead, count(s.ClockSamples, "segment"))
	}
	for i, name := range []string{"A → B", "B → A"} {
		d := &s.Delay[i]
		if d.N == 0 {
			add("path "+name, "no segment seen at both")
			continue
		}
		v := fmt.Sprintf("one-way delay %s median, %s to %s, 99th percentile %s, spread %s; %s",
			dur(d.Median), dur(d.Min), dur(d.Max), dur(d.P99), dur(d.SD), count(d.N, "segment"))
		if d.HopsN > 0 {
			if d.HopsMin == d.HopsMax {
				v += "; " + count(d.HopsMin, "hop")
			} else {
				v += fmt.Sprintf("; %d to %d hops", d.HopsMin, d.HopsMax)
			}
		}
		add("path "+name, "%s", v)
	}
	found := count(s.Paired, "connection") + " at both points"
	for _, side := range []compare.Side{compare.A, compare.B} {
		if n := s.OnlyAt[side]; n > 0 {
			found += fmt.Sprintf(", %d at %s only", n, side)
		}
	}
	var kinds []string
	for _, k := range compare.Kinds() {
		if n := s.Counts[k]; n > 0 && k != compare.KindDelay {
			kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
		}
	}
	if len(kinds) == 0 {
		found += "; nothing but delay"
	} else {
		found += "; " + strings.Join(kinds, ", ")
	}
	add("found", "%s", found)
	for _, side := range []compare.Side{compare.A, compare.B} {
		if n := s.Outside[side]; n > 0 {
			add("not judged", "%s of %s's: the other capture was not running when their copy would have passed it", count(n, "segment"), side)
		}
	}
	return fs
}

// CompareSummaryText writes the facts of the comparison across the
// captures, one a line: the points' and the path's lines under one
// heading each.
func CompareSummaryText(w io.Writer, pts [2]ComparePoint, s *compare.Summary, st Style) error {
	var b strings.Builder
	for _, f := range CompareFacts(pts, s) {
		switch f.Name {
		case "A":
			fmt.Fprintf(&b, "compare %s  %s\n", st.bold("A"), f.Value)
		case "B":
			fmt.Fprintf(&b, "        %s  %s\n", st.bold("B"), f.Value)
		case "path A → B":
			fmt.Fprintf(&b, "path    %s  %s\n", st.bold("A → B"), f.Value)
		case "path B → A":
			fmt.Fprintf(&b, "        %s  %s\n", st.bold("B → A"), f.Value)
		default:
			fmt.Fprintf(&b, "%-7s %s\n", f.Name, f.Value)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func dur(d time.Duration) string { return string(AppendDuration(nil, d)) }

func clock(t pcap.Time) string { return t.Std().Format("2006-01-02 15:04:05.000") }

// CompareConnText writes one connection as both points saw it and what
// the path did to it.
func CompareConnText(w io.Writer, c *compare.Conn, st Style) error {
	var b strings.Builder
	b.WriteString(st.bold("connection"))
	for _, side := range []compare.Side{compare.A, compare.B} {
		v := c.Views[side]
		if v == nil {
			fmt.Fprintf(&b, "  %s: not seen", side)
			continue
		}
		guess := ""
		if v.RoleGuessed {
			guess = "?"
		}
		fmt.Fprintf(&b, "  %s conn %d %s%s → %s (%s#%d-%d)", side, v.Conn, v.Client, guess, v.Server, side, v.FirstFrame, v.LastFrame)
	}
	b.WriteString("\n")
	if c.Views[compare.A] != nil && c.Views[compare.B] != nil {
		if c.ClientSideKnown {
			fmt.Fprintf(&b, "  %s is nearer the client, %s nearer the server: %s\n", c.ClientSide, c.ClientSide.Other(), c.SideReason)
		} else {
			b.WriteString("  which point is nearer the client is unknown\n")
		}
	}
	for i := range c.Items {
		it := &c.Items[i]
		dir := "   "
		if it.HasDir {
			dir = it.Dir.String()
		}
		fmt.Fprintf(&b, "  %s %s  %s\n", st.cyan(fmt.Sprintf("%-16s", it.Kind)), dir, it.Title)
		b.WriteString(wrapText(it.Text, "        ", textWidth) + "\n")
		for _, side := range []compare.Side{compare.A, compare.B} {
			if it.Alone[side] != "" {
				b.WriteString(wrapText("· "+it.Alone[side], "        ", textWidth) + "\n")
			}
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// CompareItemJSON is one line of `compare --json` for an item: exactly
// these fields, which are API.
type CompareItemJSON struct {
	Kind   string        `json:"kind"`
	Conn   SidesInt      `json:"conn"`   // the connection's ID at each point, null where not seen
	Client SidesString   `json:"client"` // the client's address at each point
	Server SidesString   `json:"server"`
	Dir    *string       `json:"dir"` // c2s or s2c; null for the connection as a whole
	Frames SidesFrames   `json:"frames"`
	More   int           `json:"more"`  // frames left out of the lists
	Count  int           `json:"count"` // segments concerned
	Time   float64       `json:"time"`  // of the first evidence, seconds since the epoch on A's clock
	Title  string        `json:"title"`
	Text   string        `json:"text"`
	Alone  SidesString   `json:"alone"`            // what each capture alone shows, where the pair corrects it
	Option string        `json:"option,omitempty"` // option and ECN items
	From   string        `json:"from,omitempty"`   // the value upstream
	To     string        `json:"to,omitempty"`     // the value downstream
	Delay  *DelayJSON    `json:"delay,omitempty"`  // delay items
	Side   *ConnSideJSON `json:"points,omitempty"` // where the points are, for the connection
}

// SidesInt is a value at A and at B.
type SidesInt struct {
	A *int `json:"a"`
	B *int `json:"b"`
}

// SidesString is a text at A and at B.
type SidesString struct {
	A *string `json:"a"`
	B *string `json:"b"`
}

// SidesFrames are frame numbers at A and at B.
type SidesFrames struct {
	A []int `json:"a"`
	B []int `json:"b"`
}

// DelayJSON is a one-way delay in seconds.
type DelayJSON struct {
	N      int      `json:"n"`
	Min    float64  `json:"min"`
	Mean   float64  `json:"mean"`
	Max    float64  `json:"max"`
	SD     float64  `json:"sd"`
	Median *float64 `json:"median,omitempty"`
	P99    *float64 `json:"p99,omitempty"`
	Hops   *int     `json:"hops"` // TTL decrement, null when unknown
}

// ConnSideJSON says which point is nearer the connection's client.
type ConnSideJSON struct {
	Client *string `json:"client"` // "a" or "b", null when unknown
	Reason string  `json:"reason"`
}

func sideKey(s compare.Side) string { return strings.ToLower(s.String()) }

// CompareConnJSON writes one JSON object per item of the connection.
func CompareConnJSON(w io.Writer, c *compare.Conn) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var base CompareItemJSON
	for _, side := range []compare.Side{compare.A, compare.B} {
		v := c.Views[side]
		if v == nil {
			continue
		}
		id, cl, sv := v.Conn, v.Client.String(), v.Server.String()
		if side == compare.A {
			base.Conn.A, base.Client.A, base.Server.A = &id, &cl, &sv
		} else {
			base.Conn.B, base.Client.B, base.Server.B = &id, &cl, &sv
		}
	}
	cs := &ConnSideJSON{Reason: c.SideReason}
	if c.ClientSideKnown {
		k := sideKey(c.ClientSide)
		cs.Client = &k
	}
	for i := range c.Items {
		it := &c.Items[i]
		j := base
		j.Kind, j.More, j.Count, j.Title, j.Text = it.Kind.String(), it.More, it.Count, it.Title, it.Text
		j.Time = float64(it.Time) / 1e9
		j.Option, j.From, j.To = it.Option, it.From, it.To
		j.Side = cs
		if it.HasDir {
			d := it.Dir.String()
			j.Dir = &d
		}
		j.Frames = SidesFrames{A: nonNil(it.Frames[compare.A]), B: nonNil(it.Frames[compare.B])}
		for _, side := range []compare.Side{compare.A, compare.B} {
			if it.Alone[side] == "" {
				continue
			}
			t := it.Alone[side]
			if side == compare.A {
				j.Alone.A = &t
			} else {
				j.Alone.B = &t
			}
		}
		if it.Kind == compare.KindDelay {
			j.Delay = delayJSON(c.Delay[it.Dir], nil)
			if c.HopsKnown[it.Dir] {
				h := c.Hops[it.Dir]
				j.Delay.Hops = &h
			}
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return nil
}

func nonNil(f []int) []int {
	if f == nil {
		return []int{}
	}
	return f
}

func delayJSON(d compare.Delay, p *compare.PathDelay) *DelayJSON {
	j := &DelayJSON{N: d.N, Min: d.Min.Seconds(), Mean: d.Mean.Seconds(), Max: d.Max.Seconds(), SD: d.SD.Seconds()}
	if p != nil {
		m, q := p.Median.Seconds(), p.P99.Seconds()
		j.Median, j.P99 = &m, &q
		if p.HopsN > 0 && p.HopsMin == p.HopsMax {
			h := p.HopsMin
			j.Hops = &h
		}
	}
	return j
}

// CompareSummaryJSON is the last line of `compare --json`: the
// comparison across the captures.
type CompareSummaryJSON struct {
	Kind         string                `json:"kind"` // "summary"
	Points       [2]PointJSON          `json:"points"`
	ClockOffset  float64               `json:"clock_offset"` // B's clock minus A's, seconds
	ClockGiven   bool                  `json:"clock_given"`
	ClockSamples int                   `json:"clock_samples"`
	Clients      map[string]int        `json:"clients"` // connections whose client is nearer each point
	Delay        map[string]*DelayJSON `json:"delay"`   // "a_to_b", "b_to_a"
	Conns        int                   `json:"conns"`
	Paired       int                   `json:"paired"`
	OnlyAt       map[string]int        `json:"only_at"`
	Counts       map[string]int        `json:"counts"`  // items by kind
	Outside      map[string]int        `json:"outside"` // segments not judged: the other capture was not running
	Window       float64               `json:"window"`
}

// PointJSON describes one capture point.
type PointJSON struct {
	Side      string   `json:"side"` // "a" or "b"
	Files     []string `json:"files"`
	Frames    int      `json:"frames"`
	Segments  int      `json:"segments"`
	Fragments int      `json:"fragments"`
	Malformed int      `json:"malformed"`
	Conns     int      `json:"conns"`
	First     float64  `json:"first"`
	Last      float64  `json:"last"`
}

// CompareSummaryLineJSON writes the summary object.
func CompareSummaryLineJSON(w io.Writer, pts [2]ComparePoint, s *compare.Summary) error {
	j := CompareSummaryJSON{Kind: "summary", ClockOffset: s.ClockOffset.Seconds(), ClockGiven: s.ClockGiven,
		ClockSamples: s.ClockSamples, Conns: s.Conns, Paired: s.Paired, Window: s.Window.Seconds(),
		Clients: map[string]int{}, Delay: map[string]*DelayJSON{}, OnlyAt: map[string]int{},
		Counts: map[string]int{}, Outside: map[string]int{}}
	for _, side := range []compare.Side{compare.A, compare.B} {
		ps := s.Points[side]
		k := sideKey(side)
		j.Points[side] = PointJSON{Side: k, Files: pts[side].Files, Frames: ps.Frames, Segments: ps.Segments,
			Fragments: ps.Fragments, Malformed: ps.Malformed, Conns: ps.Conns,
			First: float64(ps.First) / 1e9, Last: float64(ps.Last) / 1e9}
		j.Clients[k] = s.Clients[side]
		j.OnlyAt[k] = s.OnlyAt[side]
		j.Outside[k] = s.Outside[side]
	}
	for i, name := range []string{"a_to_b", "b_to_a"} {
		if s.Delay[i].N > 0 {
			j.Delay[name] = delayJSON(s.Delay[i].Delay, &s.Delay[i])
		}
	}
	for _, k := range compare.Kinds() {
		j.Counts[k.String()] = s.Counts[k]
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(j)
}
