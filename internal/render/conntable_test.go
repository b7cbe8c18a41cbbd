package render_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/render"
)

func tableSummary(id int) analyze.Summary {
	s := analyze.Summary{ID: id, Close: "none", ZeekState: "S0", ZeekHistory: "S"}
	s.Client.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(id >> 8), byte(id)}), 40000)
	s.Server.Addr = netip.MustParseAddrPort("10.0.0.1:80")
	return s
}

// TestConnStream checks that the table of conns streams past
// render.StreamAfter rows: it holds none of them after, prints every row
// once, the header first, the held rows in the order they came, the later
// ones in the same columns; and that below it the table is printed at the
// end in ID order, as before.
func TestConnStream(t *testing.T) {
	for _, n := range []int{render.StreamAfter, render.StreamAfter + 500} {
		var out bytes.Buffer
		rows := render.NewConnStream(&out)
		var order []int
		for i := range n {
			id := n - i // they end in the reverse order of their IDs
			if i%7 == 0 {
				id += 100000 // a wider cell than the first rows'
			}
			s := tableSummary(id)
			rows.Add(&s)
			order = append(order, id)
			if n > render.StreamAfter && i == render.StreamAfter && out.Len() == 0 {
				t.Fatalf("%d rows: nothing printed after %d rows", n, i+1)
			}
		}
		if err := rows.Write(&out); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != n+1 || !strings.HasPrefix(lines[0], "ID ") {
			t.Fatalf("%d rows: %d lines, the first %q", n, len(lines), lines[0])
		}
		var got []int
		for _, l := range lines[1:] {
			var id int
			fmt.Sscan(l, &id)
			got = append(got, id)
			if !strings.Contains(l, "  ") || strings.Contains(l, "\t") {
				t.Fatalf("%d rows: line %q is not in columns", n, l)
			}
		}
		if n <= render.StreamAfter {
			for i := 1; i < len(got); i++ {
				if got[i] < got[i-1] {
					t.Fatalf("%d rows: not in ID order: %d after %d", n, got[i], got[i-1])
				}
			}
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(order) {
			t.Errorf("%d rows: printed in another order than they came", n)
		}
		// The columns of a row after the widths were set start where the
		// held rows' do, unless a cell before is wider.
		col := strings.Index(lines[1], "10.0.0.1:80")
		if c := strings.Index(lines[n], "10.0.0.1:80"); c != col {
			t.Errorf("the last row's server column at %d, the first's at %d", c, col)
		}
	}
}
