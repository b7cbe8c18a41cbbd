package diagnose_test

import (
	"slices"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
)

// diagnoseFile runs the whole pipeline on a capture under testdata.
func diagnoseFile(t *testing.T, path string) *diagnose.Report {
	t.Helper()
	frames, err := testcap.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return diagnoseFrames(frames)
}

// diagnoseScript runs the whole pipeline on the frames of a testcap
// script and returns every finding.
func diagnoseScript(script string) []diagnose.Finding {
	return everyFinding(diagnoseFrames(testcap.Build(script)))
}

func diagnoseFrames(frames []pcap.Frame) *diagnose.Report {
	col := diagnose.NewCollector()
	an := analyze.New(analyze.Options{}, col.Segment, col.OnConn)
	for i := range frames {
		an.Add(&frames[i])
	}
	an.Close()
	return col.Finish(an.Stats)
}

// everyFinding is what diagnose prints and, for the ids it aggregates,
// the connections' own findings it keeps: the rules' results, whether or
// not many connections share them.
func everyFinding(rep *diagnose.Report) []diagnose.Finding {
	out := slices.Clone(rep.Findings)
	for _, g := range rep.Groups {
		out = append(out, g.Worst...)
	}
	return out
}
