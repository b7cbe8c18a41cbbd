package diagnose

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/testcap"
)

// TestSYNFloodHeap runs a SYN flood from distinct sources (four times the
// attempts the table holds) through the analysis on every core and the
// Collector, as diagnose and report run them (the report's thousand rows
// kept), and checks the live heap, after a collection, against what the
// caps allow: a held attempt (its connection, its state and facts frozen,
// the table's and the merger's entries) and the Collector's tables, each
// at its cap. The flood's sources are what it must not be bounded by. Then
// the findings: the flood is one syn-flood finding, with its counts and
// the first attempts as evidence, not a million connections.
func TestSYNFloodHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("a flood of 131,072 SYNs")
	}
	const (
		attemptBytes = 1280     // a held attempt, all told: about 1,000 measured
		hostBytes    = 200      // a host table entry: its map slot and TTL range
		scannerBytes = 2048     // a scan table entry: its maps of one target
		setBytes     = 64       // an address or port in a service's or pair's set
		tableBytes   = 512      // a service or client-service pair
		rowBytes     = 1024     // a connection kept whole for the report's table
		inFlight     = 16 << 20 // batches on their way, the tables' caches and spare states
	)
	bound := uint64(conn.DefaultMaxAttempts*attemptBytes + maxHosts*hostBytes + maxScanners*scannerBytes +
		2*maxSetEntries*setBytes + (maxServices+maxPairs)*tableBytes + (DefaultRows*5/4+64)*rowBytes + inFlight)
	syns := 4 * conn.DefaultMaxAttempts

	col := NewCollector()
	col.Rows = DefaultRows
	p := analyze.NewParallel(analyze.Options{Threads: 2}, func(int) analyze.Hooks[Conn] {
		w := col.Worker()
		return analyze.Hooks[Conn]{Segment: w.Segment, End: w.End, Freeze: w.Freeze, Thaw: w.Thaw, Other: w.Other}
	}, func(e *analyze.Ended[Conn]) {
		col.Merged(&e.Value, e.ID, e.Previous)
	}, col.Note)
	buf := make([]byte, 64)
	var ms runtime.MemStats
	heap := func() uint64 {
		runtime.GC()
		runtime.GC() // a sync.Pool keeps what it held until the second
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	grown := func() uint64 { h := heap(); return h - min(base, h) }
	for i := range syns {
		f := testcap.SYNFlood(i, buf)
		p.Add(&f)
		if (i+1)%conn.DefaultMaxAttempts == 0 {
			if h := grown(); h > bound {
				t.Errorf("after %d SYNs: %.1f MiB of heap, the caps allow %.1f", i+1, mib(h), mib(bound))
			} else {
				t.Logf("after %d SYNs: %.1f MiB of heap (the caps allow %.1f)", i+1, mib(h), mib(bound))
			}
		}
	}
	p.Close()
	if ev := p.Counts().EvictedAttempts; ev != syns-conn.DefaultMaxAttempts {
		t.Errorf("%d attempts evicted, want %d", ev, syns-conn.DefaultMaxAttempts)
	}
	rep := col.Finish(p.Stats)
	// What the report keeps of the flood: its rows and one finding.
	col, p = nil, nil
	if h := grown(); h > uint64((DefaultRows*5/4+64)*rowBytes) {
		t.Errorf("the report of the flood holds %.1f MiB", mib(h))
	}
	if rep.ConnCount != syns || len(rep.Conns) != DefaultRows {
		t.Errorf("%d connections counted and %d kept whole, want %d and %d", rep.ConnCount, len(rep.Conns), syns, DefaultRows)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].ID != "syn-flood" {
		t.Fatalf("findings %v, want one syn-flood", ids(rep.Findings))
	}
	f := rep.Findings[0]
	sources := fmt.Sprintf("They came from %d addresses", syns/64) // 64 ports each
	if syns/64 >= maxSources {
		sources = fmt.Sprintf("They came from at least %d addresses", maxSources)
	}
	for _, w := range []string{
		fmt.Sprintf("SYN flood: %d of %d connection attempts to 192.0.2.1:80 never completed", syns, syns),
		sources,
		"The server answered none of them",
	} {
		if !strings.Contains(f.Title+" "+f.Explanation, w) {
			t.Errorf("syn-flood does not say %q: %s %s", w, f.Title, f.Explanation)
		}
	}
	if len(f.Frames) != maxEvidence || f.Frames[0] != 1 {
		t.Errorf("syn-flood's evidence is frames %v, want the first %d attempts' SYNs", f.Frames, maxEvidence)
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}
