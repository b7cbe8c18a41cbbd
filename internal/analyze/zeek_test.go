package analyze_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
)

// zeekRow is what Zeek logs for one connection (testdata/zeek).
type zeekRow struct {
	capture            string
	origH, origP       string
	respH, respP       string
	connState, history string // "-" where the baseline does not log it
	baseline           string
	line               int
}

func readZeekGolden(t *testing.T) []zeekRow {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata, "zeek", "conn-history.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []zeekRow
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 8 {
			t.Fatalf("conn-history.tsv:%d: %d fields, want 8", n, len(f))
		}
		rows = append(rows, zeekRow{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], n})
	}
	return rows
}

func summarizeCapture(t *testing.T, file string) []analyze.Summary {
	t.Helper()
	var sums []analyze.Summary
	analyseFile(t, file, nil, func(c *conn.Conn, why conn.EndReason) {
		sums = append(sums, analyze.Summarize(c, why))
	})
	return sums
}

// TestZeekOracle compares conn_state and history with what Zeek itself
// logs for the same traces (its btest baselines, testdata/zeek): every
// connection must agree.
func TestZeekOracle(t *testing.T) {
	rows := readZeekGolden(t)
	byCapture := map[string][]analyze.Summary{}
	agree := 0
	for _, w := range rows {
		sums, ok := byCapture[w.capture]
		if !ok {
			sums = summarizeCapture(t, filepath.Join(testdata, "captures", w.capture))
			byCapture[w.capture] = sums
		}
		var got *analyze.Summary
		for i := range sums {
			s := &sums[i]
			c, sv := s.Client.Addr, s.Server.Addr
			if c.Addr().String() == w.origH && sv.Addr().String() == w.respH && sv.Port() == parsePort(w.respP, sv.Port()) &&
				c.Port() == parsePort(w.origP, c.Port()) {
				got = s
				break
			}
		}
		where := w.capture + " " + w.origH + ":" + w.origP + " > " + w.respH + ":" + w.respP
		if got == nil {
			t.Errorf("conn-history.tsv:%d: %s: no such connection (is the originator tcplens's client?)", w.line, where)
			continue
		}
		ok = true
		if w.connState != "-" && got.ZeekState != w.connState {
			t.Errorf("%s: conn_state %s, Zeek logs %s (%s)", where, got.ZeekState, w.connState, w.baseline)
			ok = false
		}
		if w.history != "-" && got.ZeekHistory != w.history {
			t.Errorf("%s: history %s, Zeek logs %s (%s)", where, got.ZeekHistory, w.history, w.baseline)
			ok = false
		}
		if ok {
			agree++
		}
	}
	t.Logf("Zeek oracle: %d of %d connections agree", agree, len(rows))
}

// parsePort returns the port p names, or def for "-" (not logged).
func parsePort(p string, def uint16) uint16 {
	if p == "-" {
		return def
	}
	var n uint16
	for _, c := range p {
		n = n*10 + uint16(c-'0')
	}
	return n
}
