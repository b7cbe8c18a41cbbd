package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/wire"
)

// FindingJSON is one line of `diagnose --json`: exactly these fields, which
// are API.
type FindingJSON struct {
	ID          string      `json:"id"`
	Severity    string      `json:"severity"`
	Conn        *int        `json:"conn"` // null for a finding about the whole capture
	Frames      []int       `json:"frames"`
	Title       string      `json:"title"`
	Explanation string      `json:"explanation"`
	Advice      string      `json:"advice"`
	Evidence    []ClaimJSON `json:"evidence"`
}

// ClaimJSON is one claim a finding rests on: its kind (diagnose.ClaimKind's
// stable name), the frames behind it, the endpoints it is about, the
// connection's frames it holds within, its numbers by name and the claim
// in words. Which args a kind has is in `tcplens diagnose --help`.
type ClaimJSON struct {
	Claim  string         `json:"claim"`
	Frames []int          `json:"frames"`
	From   string         `json:"from,omitempty"`
	To     string         `json:"to,omitempty"`
	Span   []int          `json:"span,omitempty"` // [first, last] frame of the connection; absent for the whole capture
	Args   map[string]any `json:"args,omitempty"`
	Says   string         `json:"says"`
}

// FindingToJSON converts a finding.
func FindingToJSON(f *diagnose.Finding) FindingJSON {
	j := FindingJSON{ID: f.ID, Severity: f.Severity.String(), Frames: f.Frames, Title: f.Title,
		Explanation: f.Explanation, Advice: f.Advice, Evidence: make([]ClaimJSON, 0, len(f.Evidence))}
	if f.Conn != 0 {
		c := f.Conn
		j.Conn = &c
	}
	if j.Frames == nil {
		j.Frames = []int{}
	}
	for _, c := range f.Evidence {
		j.Evidence = append(j.Evidence, claimToJSON(c))
	}
	return j
}

func claimToJSON(c diagnose.Claim) ClaimJSON {
	j := ClaimJSON{Claim: c.Kind.String(), Frames: c.Frames, Says: c.Says()}
	if j.Frames == nil {
		j.Frames = []int{}
	}
	if c.From.IsValid() {
		j.From = c.From.String()
	}
	if c.To.IsValid() {
		j.To = c.To.String()
	}
	if c.Span != [2]int{} {
		j.Span = c.Span[:]
	}
	switch c.Kind {
	case diagnose.ClaimSent, diagnose.ClaimNone:
		var set, clear []string
		for _, n := range flagNames {
			if c.Mask&n.f != 0 {
				if c.Flags&n.f != 0 {
					set = append(set, n.name)
				} else {
					clear = append(clear, n.name)
				}
			}
		}
		if len(set)+len(clear) > 0 {
			j.Args = map[string]any{"flags_set": orEmpty(set), "flags_clear": orEmpty(clear)}
		}
	case diagnose.ClaimTTLUnlike:
		j.Args = map[string]any{"ttl": c.N}
	case diagnose.ClaimIPIDSkipped:
		j.Args = map[string]any{"missing": c.N}
	case diagnose.ClaimElapsed, diagnose.ClaimSilence:
		j.Args = map[string]any{"duration_ns": int64(c.D)}
	case diagnose.ClaimFill, diagnose.ClaimHole:
		if c.D > 0 {
			j.Args = map[string]any{"half_rtt_ns": int64(c.D)}
		}
	case diagnose.ClaimDataSegments:
		j.Args = map[string]any{"count": c.N}
	case diagnose.ClaimAckedUnseen, diagnose.ClaimMaxWindow:
		j.Args = map[string]any{"bytes": c.N}
	case diagnose.ClaimOptions:
		j.Args = map[string]any{"present": optionNames(uint64(c.N)), "absent": optionNames(uint64(c.M))}
	}
	return j
}

var flagNames = []struct {
	f    wire.Flags
	name string
}{{wire.FIN, "FIN"}, {wire.SYN, "SYN"}, {wire.RST, "RST"}, {wire.PSH, "PSH"}, {wire.ACK, "ACK"}, {wire.URG, "URG"}, {wire.ECE, "ECE"}, {wire.CWR, "CWR"}}

func optionNames(set uint64) []string {
	var out []string
	for _, n := range []struct {
		bit  wire.OptionSet
		name string
	}{{wire.HasMSS, "mss"}, {wire.HasWindowScale, "wscale"}, {wire.HasSACKPermitted, "sack_ok"}, {wire.HasSACK, "sack"},
		{wire.HasTimestamps, "timestamps"}, {wire.HasFastOpen, "tfo"}} {
		if wire.OptionSet(set)&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return orEmpty(out)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// FindingsJSON writes one JSON object per finding, one per line.
func FindingsJSON(w io.Writer, fs []diagnose.Finding) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range fs {
		if err := enc.Encode(FindingToJSON(&fs[i])); err != nil {
			return err
		}
	}
	return nil
}

// textWidth is where explanations wrap: wide enough for a sentence and its
// numbers, narrow enough for a terminal beside an editor.
const textWidth = 100

// FindingsText writes findings for a person: a heading line each (severity,
// id, connection, evidence frames), the title, the explanation and the
// advice, wrapped.
func FindingsText(w io.Writer, fs []diagnose.Finding, st Style) error {
	var b strings.Builder
	for i := range fs {
		if i > 0 {
			b.WriteByte('\n')
		}
		writeFinding(&b, &fs[i], st, "")
	}
	if len(fs) == 0 {
		b.WriteString("no findings\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFinding(b *strings.Builder, f *diagnose.Finding, st Style, indent string) {
	where := "capture"
	switch {
	case f.Conn != 0:
		where = fmt.Sprintf("conn %d", f.Conn)
	case f.Conns > 0:
		where = fmt.Sprintf("%d conns", f.Conns)
	}
	fmt.Fprintf(b, "%s%s %s  %s  %s\n", indent, st.severity(f.Severity, fmt.Sprintf("%-7s", strings.ToUpper(f.Severity.String()))),
		st.bold(f.ID), where, st.dim(framesText(f.Frames)))
	b.WriteString(wrapText(f.Title, indent+"  ", textWidth) + "\n")
	b.WriteString(wrapText(f.Explanation, indent+"  ", textWidth) + "\n")
	b.WriteString(wrapText("→ "+f.Advice, indent+"  ", textWidth) + "\n")
}

// framesText is "frames 1, 2, 5" or "frame 3".
func framesText(fs []int) string {
	switch len(fs) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("frame %d", fs[0])
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprint(f)
	}
	return "frames " + strings.Join(parts, ", ")
}
