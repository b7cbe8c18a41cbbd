package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// ExplainText tells one connection's story for a person: a heading with
// what the connection was, every segment as a ladder step (time since the
// connection's first segment, direction, flags, relative seq/ack, length,
// window) with each endpoint's state before → after and the reason for
// every change, then the connection's findings.
func ExplainText(w io.Writer, c *diagnose.Conn, ld *analyze.Ladder, fs []diagnose.Finding, st Style) error {
	var b strings.Builder
	writeConnHeading(&b, c, st)
	if ld != nil {
		for i := range ld.Steps {
			writeStep(&b, &ld.Steps[i], c, st)
		}
	}
	writeUnshown(&b, c, ld, st)
	fmt.Fprintf(&b, "  at the end: client %s, server %s%s\n", st.bold(c.Client.State.String()), st.bold(c.Server.State.String()), endWords(c))
	if len(fs) == 0 {
		b.WriteString("\n  no findings\n")
	}
	for i := range fs {
		b.WriteByte('\n')
		writeFinding(&b, &fs[i], st, "  ")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeConnHeading(b *strings.Builder, c *diagnose.Conn, st Style) {
	guess := ""
	if c.RoleGuessed {
		guess = " (roles guessed: the handshake was not captured)"
	}
	fmt.Fprintf(b, "%s  client %s → server %s%s\n", st.bold(fmt.Sprintf("connection %d", c.ID)), c.Client.Addr, c.Server.Addr, guess)
	closed := "not closed in the capture"
	if c.Close != "none" {
		closed = fmt.Sprintf("closed with %s, first by the %s", strings.ToUpper(c.Close), c.FirstClosed)
	}
	fmt.Fprintf(b, "  frames %d to %d, %s; client→server %s with %s of data, server→client %s with %s; %s\n",
		c.FirstFrame, c.LastFrame, string(AppendDuration(nil, c.Duration())), plural(c.Client.Packets, "packet"),
		ByteCount(c.Client.PayloadBytes), plural(c.Server.Packets, "packet"), ByteCount(c.Server.PayloadBytes), closed)
	var facts []string
	if c.HandshakeRTT > 0 {
		facts = append(facts, "handshake "+string(AppendDuration(nil, c.HandshakeRTT)))
	}
	if o := NegotiatedWords(&c.Summary); o != "" {
		facts = append(facts, o)
	}
	if c.Vantage != analyze.VantageUnknown {
		facts = append(facts, "captured next to the "+c.Vantage.String())
		if c.Vantage == analyze.VantageMiddle {
			facts[len(facts)-1] = "captured on the path"
		}
	}
	if len(facts) > 0 {
		fmt.Fprintf(b, "  %s\n", strings.Join(facts, "; "))
	}
	b.WriteByte('\n')
}

// NegotiatedWords says what the handshake settled: "MSS 1460/1460, window
// scale 7/7, SACK, timestamps"; "" when no SYN was seen.
func NegotiatedWords(s *analyze.Summary) string {
	if !s.Client.Offered.Seen && !s.Server.Offered.Seen {
		return ""
	}
	n := &s.Negotiated
	if !s.Client.Offered.Seen || !s.Server.Offered.Seen {
		return "no handshake completed the negotiation"
	}
	opts := []string{}
	if n.MSSClient != 0 && n.MSSServer != 0 {
		opts = append(opts, fmt.Sprintf("MSS %d/%d", n.MSSClient, n.MSSServer))
	}
	if n.WindowScale {
		opts = append(opts, fmt.Sprintf("window scale %d/%d", n.ShiftClient, n.ShiftServer))
	} else {
		opts = append(opts, "no window scaling")
	}
	for _, o := range []struct {
		on   bool
		name string
	}{{n.SACK, "SACK"}, {n.Timestamps, "timestamps"}, {n.ECN, "ECN"}, {n.AccECN, "AccECN"}, {n.TFO, "Fast Open"}} {
		if o.on {
			opts = append(opts, o.name)
		}
	}
	return strings.Join(opts, ", ")
}

// ByteCount is "1 byte", "200 bytes", "19.5 KiB".
func ByteCount(n uint64) string {
	if n >= 1024 {
		return bytesHuman(n)
	}
	return plural(int(n), "byte")
}

func endWords(c *diagnose.Conn) string {
	switch c.EndReason {
	case conn.EndCapture:
		return " (at the end of the capture)"
	case conn.EndIdle:
		return " (the connection went idle)"
	case conn.EndReplaced:
		return " (a new connection took its 4-tuple)"
	case conn.EndEvicted:
		return " (evicted to bound memory)"
	}
	return ""
}

// writeUnshown writes the changes after the ladder's last step that no
// step made: those the connection's end made (a correction only the end
// allows), and those a later frame of another connection made (a new
// connection's SYN taking over its TIME_WAIT).
func writeUnshown(b *strings.Builder, c *diagnose.Conn, ld *analyze.Ladder, st Style) {
	if ld == nil || len(ld.Steps) == 0 {
		return
	}
	lastFrame := ld.Steps[len(ld.Steps)-1].Frame
	type key struct {
		client   bool
		frame    int
		from, to tcp.State
		t        pcap.Time
	}
	shown := make(map[key]bool)
	for i := range ld.Steps {
		for _, ch := range ld.Steps[i].Changes {
			shown[key{ch.Client, ch.Frame, ch.From, ch.State, ch.Time}] = true
		}
	}
	for _, e := range []struct {
		who    string
		client bool
		h      []tcp.Transition
	}{{"client", true, c.Client.History}, {"server", false, c.Server.History}} {
		for _, t := range e.h {
			if shown[key{e.client, t.Frame, t.From, t.State, t.Time}] || (t.Frame != 0 && t.Frame <= lastFrame) {
				continue
			}
			at := "at the end"
			if t.Frame != 0 {
				at = fmt.Sprintf("at frame %d", t.Frame)
			}
			corr := ""
			if t.Correction {
				corr = " (corrected)"
			}
			fmt.Fprintf(b, "%s\n", wrapText(fmt.Sprintf("%s: %s %s → %s%s: %s", at, e.who, t.From, st.bold(t.State.String()), corr, t.Reason), "          ", textWidth))
		}
	}
}

func writeStep(b *strings.Builder, s *analyze.Step, c *diagnose.Conn, st Style) {
	flags := s.Flags.String()
	arrow := "client ──" + st.flags(flags) + "──▶ server"
	if s.Dir == conn.ServerToClient {
		arrow = "client ◀──" + st.flags(flags) + "── server"
	}
	at := s.Time.Sub(c.Start)
	fmt.Fprintf(b, "  %s  %s  %s  %s\n", st.bold(fmt.Sprintf("#%-4d", s.Frame)), st.dim("+"+string(appendSeconds(nil, at))+" s"), arrow, stepNumbers(s))
	if len(s.Changes) == 0 {
		fmt.Fprintf(b, "          client %s, server %s\n", s.After[0], s.After[1])
	}
	for _, ch := range s.Changes {
		who := "server"
		if ch.Client {
			who = "client"
		}
		corr := ""
		if ch.Correction {
			corr = " (corrected)"
		}
		if ch.From == ch.State && !ch.Correction {
			// A segment sent in its name that it did not send: it stays.
			fmt.Fprintf(b, "%s\n", wrapText(fmt.Sprintf("%s stays %s: %s", who, st.bold(ch.State.String()), ch.Reason), "          ", textWidth))
			continue
		}
		fmt.Fprintf(b, "%s\n", wrapText(fmt.Sprintf("%s %s → %s%s: %s", who, ch.From, st.bold(ch.State.String()), corr, ch.Reason), "          ", textWidth))
	}
	if !s.Result.Analysis.Empty() {
		fmt.Fprintf(b, "          %s\n", st.yellow(string(AppendAnalysis(nil, &s.Result))))
	}
	if s.Err != nil {
		fmt.Fprintf(b, "          %s\n", st.yellow("malformed: "+s.Err.Error()))
	}
}

// stepNumbers is the segment's relative numbers: "seq 1:101, ack 1, win 63, len 100".
func stepNumbers(s *analyze.Step) string {
	var parts []string
	switch {
	case s.Len > 0:
		parts = append(parts, fmt.Sprintf("seq %d:%d", s.Seq, s.Seq+uint32(s.Len)))
	case s.Flags.Any(wire.SYN | wire.FIN | wire.RST):
		parts = append(parts, fmt.Sprintf("seq %d", s.Seq))
	}
	if s.Flags.Has(wire.ACK) {
		parts = append(parts, fmt.Sprintf("ack %d", s.Ack))
	}
	win := fmt.Sprintf("win %d", s.Window)
	if s.Result.WindowScaled >= 0 && s.Result.WindowScaled != int64(s.Window) {
		win += fmt.Sprintf(" (%d)", s.Result.WindowScaled)
	}
	parts = append(parts, win, fmt.Sprintf("len %d", s.Len))
	if o := OptionWords(&s.Options, StepSACK(s)); o != "" {
		parts = append(parts, o)
	}
	return strings.Join(parts, ", ")
}

// StepSACK is the SACK blocks a step shows beside its relative ack:
// relative too, as tcpdump and tcplens read print them. A segment without
// ACK has no ack to count from, so its blocks (meaningless by RFC 2018,
// but sent) stay raw.
func StepSACK(s *analyze.Step) []seq.Range {
	if len(s.SACK) == 0 {
		return s.Options.SACKBlocks()
	}
	return s.SACK
}

// OptionWords names the handshake options a SYN carries, and the SACK
// blocks sack, numbered as the caller numbers its ack (o's own blocks are
// raw): "mss 1460, wscale 7, sackOK, sack 5793:7241".
func OptionWords(o *wire.Options, sack []seq.Range) string {
	var parts []string
	if o.Has(wire.HasMSS) {
		parts = append(parts, fmt.Sprintf("mss %d", o.MSS))
	}
	if o.Has(wire.HasWindowScale) {
		parts = append(parts, fmt.Sprintf("wscale %d", o.WindowScale))
	}
	if o.Has(wire.HasSACKPermitted) {
		parts = append(parts, "sackOK")
	}
	if o.Has(wire.HasFastOpen) {
		if o.FastOpenCookie == 0 {
			parts = append(parts, "TFO cookie request")
		} else {
			parts = append(parts, fmt.Sprintf("TFO cookie (%d bytes)", o.FastOpenCookie))
		}
	}
	if len(sack) > 0 {
		blocks := make([]string, len(sack))
		for i, r := range sack {
			blocks[i] = fmt.Sprintf("%d:%d", uint32(r.Start), uint32(r.End))
		}
		parts = append(parts, "sack "+strings.Join(blocks, " "))
	}
	return strings.Join(parts, ", ")
}

// ExplainJSON is one line of `explain --json`: a connection's story. The
// field names are API.
type ExplainJSON struct {
	Conn     ConnJSON      `json:"conn"`
	Steps    []StepJSON    `json:"steps"`
	Findings []FindingJSON `json:"findings"`
}

// StepJSON is one ladder step.
type StepJSON struct {
	Frame    int          `json:"frame"`
	Time     json.Number  `json:"time"`
	Since    float64      `json:"since_start"` // seconds since the connection's first segment
	Dir      string       `json:"dir"`
	Flags    string       `json:"flags"`
	Seq      uint32       `json:"seq"`
	Ack      uint32       `json:"ack"`
	SeqRaw   uint32       `json:"seq_raw"`
	AckRaw   uint32       `json:"ack_raw"`
	Len      int          `json:"len"`
	Win      uint16       `json:"win"`
	Client   StateMove    `json:"client"`
	Server   StateMove    `json:"server"`
	Changes  []ChangeJSON `json:"changes"`
	Analysis []string     `json:"analysis"`
	Text     string       `json:"analysis_text,omitempty"`
}

// StateMove is an endpoint's state before and after a step.
type StateMove struct {
	Before string `json:"before"`
	After  string `json:"after"`
}

// ChangeJSON is one transition with its reason.
type ChangeJSON struct {
	End        string `json:"end"` // client or server
	From       string `json:"from"`
	To         string `json:"to"`
	Reason     string `json:"reason"`
	Correction bool   `json:"correction,omitempty"`
}

// ExplainLineJSON writes a connection's story as one JSON line.
func ExplainLineJSON(w io.Writer, c *diagnose.Conn, ld *analyze.Ladder, fs []diagnose.Finding) error {
	j := ExplainJSON{Conn: ConnToJSON(&c.Summary), Steps: []StepJSON{}, Findings: []FindingJSON{}}
	if ld != nil {
		for i := range ld.Steps {
			j.Steps = append(j.Steps, stepToJSON(&ld.Steps[i], c))
		}
	}
	for i := range fs {
		j.Findings = append(j.Findings, FindingToJSON(&fs[i]))
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(j)
}

func stepToJSON(s *analyze.Step, c *diagnose.Conn) StepJSON {
	j := StepJSON{
		Frame: s.Frame, Time: json.Number(string(appendEpoch(nil, s.Time))), Since: s.Time.Sub(c.Start).Seconds(),
		Dir: s.Dir.String(), Flags: s.Flags.String(), Seq: s.Seq, Ack: s.Ack, SeqRaw: s.SeqRaw, AckRaw: s.AckRaw,
		Len: s.Len, Win: s.Window,
		Client:  StateMove{s.Before[0].String(), s.After[0].String()},
		Server:  StateMove{s.Before[1].String(), s.After[1].String()},
		Changes: []ChangeJSON{}, Analysis: []string{},
	}
	for _, ch := range s.Changes {
		end := "server"
		if ch.Client {
			end = "client"
		}
		j.Changes = append(j.Changes, ChangeJSON{End: end, From: ch.From.String(), To: ch.State.String(), Reason: ch.Reason.String(), Correction: ch.Correction})
	}
	for _, k := range s.Result.Analysis.Kinds() {
		j.Analysis = append(j.Analysis, k.String())
	}
	if !s.Result.Analysis.Empty() {
		j.Text = string(AppendAnalysis(nil, &s.Result))
	}
	return j
}
