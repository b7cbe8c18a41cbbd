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
// prints them at the end, sorted by connection ID, in aligned columns. A
// row is kept as its text, some 130 bytes, rather than the connection's
// summary of nearly a kilobyte: the table must wait for the capture's
// last connection, and a capture can hold millions. The columns are
// aligned as text/tabwriter aligns them (two spaces after the widest cell
// of each column), without tabwriter's copy of every cell.
type ConnRows struct {
	rows    []connRow
	guessed bool
}

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
	t.rows = append(t.rows, connRow{s.ID, string(b)})
}

// Write prints the table, the rows sorted by ID.
func (t *ConnRows) Write(w io.Writer) error {
	slices.SortStableFunc(t.rows, func(a, b connRow) int { return a.id - b.id })
	return t.write(w)
}

// write prints the table, the rows in the order added.
func (t *ConnRows) write(w io.Writer) error {
	// Every line has a cell in every column but the last, so each column
	// is one block: its width is that of its widest cell, plus two.
	var widths []int
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
	var b []byte
	var werr error
	put := func(line string) {
		b = b[:0]
		for col := 0; ; col++ {
			i := strings.IndexByte(line, '\t')
			if i < 0 {
				break
			}
			b = append(b, line[:i]...)
			for pad := widths[col] - utf8.RuneCountInString(line[:i]); pad > 0; pad-- {
				b = append(b, ' ')
			}
			line = line[i+1:]
		}
		b = append(b, line...)
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil && werr == nil {
			werr = err
		}
	}
	put(connHeader)
	for i := range t.rows {
		put(t.rows[i].cells)
	}
	if werr != nil {
		return werr
	}
	if t.guessed {
		_, err := io.WriteString(w, "? the handshake was not captured: client and server are guessed from the ports or from who spoke first\n")
		return err
	}
	return nil
}
