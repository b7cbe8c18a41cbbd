package analyze_test

import (
	"runtime"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/testcap"
)

// TestSteadyStateAllocs checks that once a connection is under way the
// analysis allocates nothing per segment: a long transfer with a loss in
// every hundred segments (duplicate ACKs, SACK, a fast retransmission, the
// unacknowledged list out of order and back) costs no allocation per
// frame, whether the segments' results are seen, or not, or the pipeline
// steps them.
func TestSteadyStateAllocs(t *testing.T) {
	frames := testcap.Build(testcap.Bulk(30000, 100))
	const warm = 10000 // the lists and buffers reach their working size
	for _, tc := range []struct {
		name      string
		opts      analyze.Options
		onSegment func(*analyze.Segment)
		runtime   uint64 // what the Go runtime may allocate on its own
	}{
		{"results seen", analyze.Options{}, func(*analyze.Segment) {}, 0},
		{"results unseen", analyze.Options{}, nil, 0},
		// Where two goroutines wait on channels for each other, the runtime
		// now and then allocates a record of a waiting goroutine (a sudog)
		// when its cache of them runs dry: a few per run, not per segment.
		{"pipeline", analyze.Options{Pipeline: true}, nil, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := analyze.New(tc.opts, tc.onSegment, func(*conn.Conn, conn.EndReason) {})
			defer a.Close()
			for i := range warm {
				a.Add(&frames[i])
			}
			a.Drain()
			// testing.AllocsPerRun rounds the mean down, which would hide an
			// allocation every few segments: count them all.
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := warm; i < len(frames)-100; i++ {
				a.Add(&frames[i])
			}
			a.Drain()
			runtime.ReadMemStats(&after)
			if n := after.Mallocs - before.Mallocs; n > tc.runtime {
				t.Errorf("%d allocations over %d segments, want none (the runtime's %d aside)", n, len(frames)-100-warm, tc.runtime)
			}
		})
	}
}
