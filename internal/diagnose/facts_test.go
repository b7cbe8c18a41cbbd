package diagnose

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/testcap"
)

// TestEmptyFactsUnwritten runs every rule on the corpus and the kernel
// recordings and checks that the empty Exchange and Unusual facts, which
// every ended connection's lean sides share, are still empty: a rule that
// wrote facts would change the findings of the connections after it.
func TestEmptyFactsUnwritten(t *testing.T) {
	var paths []string
	for _, dir := range []string{"../../testdata/captures", "../../testdata/kernel"} {
		for _, glob := range []string{"*.pcap", "*.pcap.gz", "*.pcapng", "*.pcapng.gz"} {
			m, err := filepath.Glob(filepath.Join(dir, glob))
			if err != nil {
				t.Fatal(err)
			}
			paths = append(paths, m...)
		}
	}
	if len(paths) < 50 {
		t.Fatalf("%d captures found, want the corpus and the kernel recordings", len(paths))
	}
	for _, p := range paths {
		frames, err := testcap.ReadFile(p)
		if err != nil {
			continue // the corpus holds malformed files on purpose
		}
		col := NewCollector()
		col.Rows = 5
		an := analyze.New(analyze.Options{MaxConns: 8}, col.Segment, col.OnConn)
		for i := range frames {
			an.Add(&frames[i])
		}
		an.Close()
		col.Finish(an.Stats)
		if !reflect.DeepEqual(noUnusual, Unusual{}) || !reflect.DeepEqual(noExchange, Exchange{Unusual: &noUnusual}) {
			t.Fatalf("%s: the shared empty facts were written: %+v, %+v", p, noExchange, noUnusual)
		}
	}
}
