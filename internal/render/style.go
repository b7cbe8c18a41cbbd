package render

import (
	"strings"

	"github.com/tcplens/tcplens/internal/diagnose"
)

// Style colours text for a terminal; the zero Style is plain text, for
// pipes, files and golden tests.
type Style struct {
	Color bool
}

// ANSI SGR sequences.
const (
	sgrReset  = "\x1b[0m"
	sgrBold   = "\x1b[1m"
	sgrDim    = "\x1b[2m"
	sgrRed    = "\x1b[31m"
	sgrGreen  = "\x1b[32m"
	sgrYellow = "\x1b[33m"
	sgrBlue   = "\x1b[34m"
	sgrCyan   = "\x1b[36m"
)

func (s Style) wrap(sgr, text string) string {
	if !s.Color || text == "" {
		return text
	}
	return sgr + text + sgrReset
}

func (s Style) bold(t string) string   { return s.wrap(sgrBold, t) }
func (s Style) dim(t string) string    { return s.wrap(sgrDim, t) }
func (s Style) yellow(t string) string { return s.wrap(sgrYellow, t) }
func (s Style) cyan(t string) string   { return s.wrap(sgrCyan, t) }

// severity colours a severity name: errors red, warnings yellow, notices
// cyan, info dim.
func (s Style) severity(v diagnose.Severity, text string) string {
	switch v {
	case diagnose.Error:
		return s.wrap(sgrBold+sgrRed, text)
	case diagnose.Warning:
		return s.wrap(sgrBold+sgrYellow, text)
	case diagnose.Notice:
		return s.wrap(sgrCyan, text)
	}
	return s.wrap(sgrDim, text)
}

// flags colours a segment's flags by what they do to the connection: SYN
// green, FIN blue, RST red.
func (s Style) flags(f string) string {
	switch {
	case strings.Contains(f, "R"):
		return s.wrap(sgrBold+sgrRed, f)
	case strings.Contains(f, "S"):
		return s.wrap(sgrGreen, f)
	case strings.Contains(f, "F"):
		return s.wrap(sgrBlue, f)
	}
	return f
}

// wrapText breaks text into lines of at most width runes after indent,
// at spaces; a word longer than the width stands alone.
func wrapText(text, indent string, width int) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(text) {
		n := len([]rune(word))
		switch {
		case i == 0:
			b.WriteString(indent)
			line = 0
		case line+1+n > width:
			b.WriteString("\n")
			b.WriteString(indent)
			line = 0
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += n
	}
	return b.String()
}
