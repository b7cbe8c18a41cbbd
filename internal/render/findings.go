package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tcplens/tcplens/internal/diagnose"
)

// FindingJSON is one line of `diagnose --json`: exactly these fields, which
// are API.
type FindingJSON struct {
	ID          string `json:"id"`
	Severity    string `json:"severity"`
	Conn        *int   `json:"conn"` // null for a finding about the whole capture
	Frames      []int  `json:"frames"`
	Title       string `json:"title"`
	Explanation string `json:"explanation"`
	Advice      string `json:"advice"`
}

// FindingToJSON converts a finding.
func FindingToJSON(f *diagnose.Finding) FindingJSON {
	j := FindingJSON{ID: f.ID, Severity: f.Severity.String(), Frames: f.Frames, Title: f.Title,
		Explanation: f.Explanation, Advice: f.Advice}
	if f.Conn != 0 {
		c := f.Conn
		j.Conn = &c
	}
	if j.Frames == nil {
		j.Frames = []int{}
	}
	return j
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
