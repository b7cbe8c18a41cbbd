package analyze_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/wire"
)

// connsOf runs the analysis of a capture without per-segment output and
// prints every connection as it ends, in full, then the counts.
func connsOf(t *testing.T, file string, opts analyze.Options) string {
	t.Helper()
	var out bytes.Buffer
	a := analyseWith(t, file, opts, nil, func(c *conn.Conn, why conn.EndReason) {
		fmt.Fprintf(&out, "%+v\n", analyze.Summarize(c, why))
		for _, e := range c.Ends {
			fmt.Fprintf(&out, "  %+v\n", e)
		}
	})
	tb := a.Table()
	fmt.Fprintf(&out, "%+v evicted %d expired %d replaced %d\n", a.Stats, tb.Evicted, tb.Expired, tb.Replaced)
	return out.String()
}

// TestPipelineSame checks that the pipeline changes nothing: every
// connection ends in the same order with the same state, on every capture,
// also when a tiny table evicts connections whose segments are still on
// their way to the stepper.
func TestPipelineSame(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("the pipeline needs two cores")
	}
	files, err := filepath.Glob(filepath.Join(testdata, "captures", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	for _, file := range files {
		for _, max := range []int{0, 2} {
			t.Run(fmt.Sprintf("%s/max=%d", filepath.Base(file), max), func(t *testing.T) {
				want := connsOf(t, file, analyze.Options{MaxConns: max})
				got := connsOf(t, file, analyze.Options{MaxConns: max, Pipeline: true})
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("pipeline differs (-sequential +pipeline):\n%s", diff)
				}
			})
		}
	}
}

// TestPipelineKeepsEverySlice checks that the pipeline's copy of a
// segment's headers repoints every view wire.Segment has into the frame:
// one it did not know of would point into the reader's buffer after the
// reader moved on.
func TestPipelineKeepsEverySlice(t *testing.T) {
	var got []string
	st := reflect.TypeFor[wire.Segment]()
	for i := range st.NumField() {
		if f := st.Field(i); f.Type.Kind() == reflect.Slice {
			got = append(got, f.Name)
		}
	}
	want := []string{"IPv4", "IPv6", "TCP", "Payload"} // the ones keepHeaders repoints
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wire.Segment's slices changed (-keepHeaders knows +Segment has):\n%s", diff)
	}
}
