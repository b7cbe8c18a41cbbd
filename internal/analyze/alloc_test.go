package analyze_test

import (
	"runtime"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
)

// TestSteadyStateAllocs checks that once a connection is under way the
// analysis allocates nothing per segment: a long transfer with a loss in
// every hundred segments (duplicate ACKs, SACK, a fast retransmission, the
// unacknowledged list out of order and back) costs no allocation per
// frame, whether the segments' results are seen, or not, or workers on
// other goroutines step them.
func TestSteadyStateAllocs(t *testing.T) {
	frames := testcap.Build(testcap.Bulk(30000, 100))
	const warm = 10000 // the lists and buffers reach their working size
	type analysis struct {
		add   func(*pcap.Frame)
		drain func()
		close func()
	}
	for _, tc := range []struct {
		name    string
		start   func() analysis
		runtime uint64 // what the Go runtime may allocate on its own
	}{
		{"results seen", func() analysis {
			a := analyze.New(analyze.Options{}, func(*analyze.Segment) {}, func(*conn.Conn, conn.EndReason) {})
			return analysis{a.Add, func() {}, a.Close}
		}, 0},
		{"results unseen", func() analysis {
			a := analyze.New(analyze.Options{}, nil, func(*conn.Conn, conn.EndReason) {})
			return analysis{a.Add, func() {}, a.Close}
		}, 0},
		// Where goroutines wait on channels for each other, the runtime
		// now and then allocates a record of a waiting goroutine (a sudog)
		// when its cache of them runs dry: a few per run, not per segment.
		{"parallel", func() analysis {
			p := analyze.NewParallel(analyze.Options{Threads: 2}, func(int) analyze.Hooks[struct{}] {
				return analyze.Hooks[struct{}]{End: func(*conn.Conn, conn.EndReason) struct{} { return struct{}{} }}
			}, func(*analyze.Ended[struct{}]) {}, nil)
			return analysis{p.Add, p.Drain, p.Close}
		}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.start()
			defer a.close()
			for i := range warm {
				a.add(&frames[i])
			}
			a.drain()
			// testing.AllocsPerRun rounds the mean down, which would hide an
			// allocation every few segments: count them all.
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := warm; i < len(frames)-100; i++ {
				a.add(&frames[i])
			}
			a.drain()
			runtime.ReadMemStats(&after)
			if n := after.Mallocs - before.Mallocs; n > tc.runtime {
				t.Errorf("%d allocations over %d segments, want none (the runtime's %d aside)", n, len(frames)-100-warm, tc.runtime)
			}
		})
	}
}
