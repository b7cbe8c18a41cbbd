package analyze_test

import (
	"runtime"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/testcap"
)

// TestSYNFloodBounded checks that a flood of SYNs from distinct sources
// keeps the analysis within its connection cap: the table never holds more
// than the cap, every connection beyond it is evicted and counted and
// handed on, and the heap stays the size of the cap, not of the flood.
func TestSYNFloodBounded(t *testing.T) {
	const syns, capacity = 100000, 1000
	ended := 0
	a := analyze.New(analyze.Options{MaxConns: capacity}, nil, func(*conn.Conn, conn.EndReason) { ended++ })
	buf := make([]byte, 64)
	var ms runtime.MemStats
	var peak uint64
	for i := range syns {
		f := testcap.SYNFlood(i, buf)
		a.Add(&f)
		if n := a.Counts().Len; n > capacity {
			t.Fatalf("after %d SYNs the table holds %d > %d", i+1, n, capacity)
		}
		if i%(syns/4) == syns/4-1 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	a.Close()
	t.Logf("heap at most %.1f MiB", float64(peak)/(1<<20))
	if ev := a.Counts().Evicted; ev != syns-capacity || ended != syns {
		t.Errorf("%d evicted, %d ended; want %d, %d", ev, ended, syns-capacity, syns)
	}
	// A half-open connection costs some 3 KB: the cap's worth is 3 MB,
	// the flood's would be 300.
	if peak > 16<<20 {
		t.Errorf("%d MiB of heap for a table of %d connections", peak>>20, capacity)
	}
}
