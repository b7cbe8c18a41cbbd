package diagnose_test

import (
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/testcap"
)

// diagnoseFile runs the whole pipeline on a capture under testdata.
func diagnoseFile(t *testing.T, path string) *diagnose.Report {
	t.Helper()
	frames, err := testcap.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	col := diagnose.NewCollector()
	an := analyze.New(analyze.Options{}, col.Segment, col.OnConn)
	for i := range frames {
		an.Add(&frames[i])
	}
	an.Close()
	return col.Finish(an.Stats)
}
