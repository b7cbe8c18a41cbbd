package report

import (
	"fmt"
	"strings"

	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/render"
)

// column is one column of the connection table. The page's script draws
// the rows from the table's data, so that ten thousand connections sort
// and filter at once: Format names how it writes a cell.
type column struct {
	Key, Name string
	// Sub is a second line of the header, set apart so that a long header
	// does not widen a column of short numbers: "c>s/s>c".
	Sub, Tip string
}

// columns are the table's, in the order of each row's values; a row then
// holds its worst severity (-1 for none), its rank (most interesting
// first) and whether the page draws it.
var columns = []column{
	{"id", "ID", "", "the connection's id, as conns, diagnose and explain number them"},
	{"client", "client", "", "the SYN's sender; ? when the handshake was not captured and the role is guessed"},
	{"server", "server", "", ""},
	{"start", "start", "", "seconds after the capture's first frame"},
	{"dur", "duration", "", "from the first to the last segment"},
	{"pkts", "packets", "c>s/s>c", "packets client to server / server to client"},
	{"bytes", "payload", "c>s/s>c", "payload bytes client to server / server to client"},
	{"hs", "handshake", "", "from the SYN to the ACK that completed the handshake"},
	{"retr", "retrans", "c/s", "retransmissions each way: by the client / by the server"},
	{"close", "close", "", "how it closed, and who closed first"},
	{"states", "states", "c/s", "each endpoint's state at the end: the client's / the server's"},
	{"zeek", "zeek", "", "Zeek's conn_state and history"},
	{"findings", "findings", "", "findings above info, worst first"},
}

// table is the rows, as the page's script reads them (JSON).
type table struct {
	Rows [][]any `json:"rows"`
}

func tableData(rep *diagnose.Report, pictured map[int]bool) table {
	rank := make([]int, len(rep.Conns))
	for r, i := range render.ConnRank(rep) {
		rank[i] = r
	}
	t := table{Rows: make([][]any, len(rep.Conns))}
	first := rep.Stats.First
	for i := range rep.Conns {
		c := &rep.Conns[i]
		client := c.Client.Addr.String()
		if c.RoleGuessed {
			client += "?"
		}
		var hs any
		if c.HandshakeRTT > 0 {
			hs = c.HandshakeRTT.Seconds()
		}
		worst, ids := -1, []string(nil)
		for _, f := range c.Findings {
			if f.Severity == diagnose.Info {
				continue
			}
			if worst < 0 {
				worst = int(f.Severity) // the findings are sorted worst first
			}
			ids = append(ids, f.ID)
		}
		t.Rows[i] = []any{
			c.ID, client, c.Server.Addr.String(), c.Start.Sub(first).Seconds(), c.Duration().Seconds(),
			[2]int{c.Client.Packets, c.Server.Packets}, [2]uint64{c.Client.PayloadBytes, c.Server.PayloadBytes}, hs,
			[2]int{c.Client.Retrans.Total, c.Server.Retrans.Total}, closeWords(&c.Summary),
			c.Client.State.String() + "/" + c.Server.State.String(), c.ZeekState + " " + c.ZeekHistory, strings.Join(ids, " "),
			worst, rank[i], pictured[c.ID],
		}
	}
	return t
}

// tableNote says which connections the table leaves out, and where to
// find them: "" when it holds them all.
func tableNote(rep *diagnose.Report, files []File) string {
	if len(rep.Conns) >= rep.Shown {
		return ""
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	of := fmt.Sprintf("the capture's %s connections", render.Thousands(rep.Shown))
	if rep.Shown < rep.ConnCount {
		of = fmt.Sprintf("the %s connections selected", render.Thousands(rep.Shown))
	}
	return fmt.Sprintf("The table holds the %s most interesting of %s (those with the worst findings first); "+
		"the other %s are counted above but not listed: tcplens conns %s lists every connection.",
		render.Thousands(len(rep.Conns)), of, render.Thousands(rep.Shown-len(rep.Conns)), strings.Join(names, " "))
}
