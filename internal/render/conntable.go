package render

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tcplens/tcplens/internal/analyze"
)

// ConnRows collects the rows of the conns table as connections end and
// prints them at the end, sorted by connection ID, in aligned columns:
// the columns are aligned as text/tabwriter aligns them (two spaces after
// the widest cell of each column), without tabwriter's copy of every
// cell. A table made by NewConnStream does so only up to StreamAfter
// rows: past that it prints the rows it holds, in the order they came,
// and every row after as it comes, in the same columns, so that its
// memory stays that of StreamAfter rows however many connections there
// are (a flood of 4 million sources took 1.2 GB when the table waited).
type ConnRows struct {
	rows    []connRow
	guessed bool

	out    io.Writer // where a streaming table goes; nil for one printed by Write
	widths []int     // the columns' widths, once measured
	line   []byte    // a streamed row's cells
	buf    []byte    // a line as printed
	err    error
}

// StreamAfter is how many rows a streaming table holds before it prints
// them and streams the rest.
const StreamAfter = 1000

// NewConnStream returns a table that prints to w as it goes once it has
// more than StreamAfter rows; Write ends it.
func NewConnStream(w io.Writer) *ConnRows { return &ConnRows{out: w} }

type connRow struct {
	id    int
	cells string // tab-separated, ending in the row's last cell
}

const connHeader = "ID\tCLIENT\tSERVER\tDURATION\tPKTS C>S/S>C\tBYTES C>S/S>C\tHANDSHAKE\tRETRANS C/S\tCLOSE\tCLIENT STATE\tSERVER STATE\tZEEK\tHISTORY"

// Add adds the row of one connection.
func (t *ConnRows) Add(s *analyze.Summary) {
	client := s.Client.Addr.String()
	if s.RoleGuessed {
		client += "?"
		t.guessed = true
	}
	hs := "-"
	if s.HandshakeRTT > 0 {
		hs = string(AppendDuration(nil, s.HandshakeRTT))
	}
	closeBy := s.Close
	if s.Close != "none" {
		closeBy = s.Close + " by " + s.FirstClosed
	}
	b := make([]byte, 0, 160)
	if t.widths != nil {
		b = t.line[:0] // printed at once: the buffer serves again
	}
	b = strconv.AppendInt(b, int64(s.ID), 10)
	b = append(b, '\t')
	b = append(b, client...)
	b = append(b, '\t')
	b = s.Server.Addr.AppendTo(b)
	b = append(b, '\t')
	b = AppendDuration(b, s.Duration())
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(s.Client.Packets), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(s.Server.Packets), 10)
	b = append(b, '\t')
	b = append(b, bytesHuman(s.Client.PayloadBytes)...)
	b = append(b, '/')
	b = append(b, bytesHuman(s.Server.PayloadBytes)...)
	b = append(b, '\t')
	b = append(b, hs...)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(s.Client.Retrans.Total), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(s.Server.Retrans.Total), 10)
	for _, c := range [...]string{closeBy, s.Client.State.String(), s.Server.State.String(), s.ZeekState, s.ZeekHistory} {
		b = append(b, '\t')
		b = append(b, c...)
	}
	if t.widths != nil {
		t.line = b
		t.put(t.out, string(b))
		return
	}
	t.rows = append(t.rows, connRow{s.ID, string(b)})
	if t.out != nil && len(t.rows) > StreamAfter {
		t.measure()
		t.put(t.out, connHeader)
		for i := range t.rows {
			t.put(t.out, t.rows[i].cells)
		}
		t.rows = nil
	}
}

// Write prints the table, the rows sorted by ID; a table that streams
// has printed them already.
func (t *ConnRows) Write(w io.Writer) error {
	if t.widths == nil {
		slices.SortStableFunc(t.rows, func(a, b connRow) int { return a.id - b.id })
		return t.write(w)
	}
	return t.end(w)
}

// write prints the table, the rows in the order added.
func (t *ConnRows) write(w io.Writer) error {
	t.measure()
	t.put(w, connHeader)
	for i := range t.rows {
		t.put(w, t.rows[i].cells)
	}
	return t.end(w)
}

// end prints what follows the rows.
func (t *ConnRows) end(w io.Writer) error {
	if t.err != nil {
		return t.err
	}
	if t.guessed {
		_, err := io.WriteString(w, "? the handshake was not captured: client and server are guessed from the ports or from who spoke first\n")
		return err
	}
	return nil
}

// measure sets the columns' widths from the header and the rows held.
// Every line has a cell in every column but the last, so each column is
// one block: its width is that of its widest cell, plus two.
func (t *ConnRows) measure() {
	widths := []int{}
	measure := func(line string) {
		for col := 0; ; col++ {
			i := strings.IndexByte(line, '\t')
			if i < 0 {
				return
			}
			if col == len(widths) {
				widths = append(widths, 0)
			}
			widths[col] = max(widths[col], utf8.RuneCountInString(line[:i])+2)
			line = line[i+1:]
		}
	}
	measure(connHeader)
	for i := range t.rows {
		measure(t.rows[i].cells)
	}
	t.widths = widths
}

// put prints one line in the columns; a cell wider than its column (a
// row that came after the widths were set) is followed by two spaces.
func (t *ConnRows) put(w io.Writer, line string) {
	b := t.buf[:0]
	for col := 0; ; col++ {
		i := strings.IndexByte(line, '\t')
		if i < 0 {
			break
		}
		b = append(b, line[:i]...)
		pad := 2
		if col < len(t.widths) {
			pad = max(t.widths[col]-utf8.RuneCountInString(line[:i]), 2)
		}
		for ; pad > 0; pad-- {
			b = append(b, ' ')
		}
		line = line[i+1:]
	}
	b = append(b, line...)
	b = append(b, '\n')
	t.buf = b
	if _, err := w.Write(b); err != nil && t.err == nil {
		t.err = err
	}
}
