package diagnose_test

import (
	"io"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/sample"
)

// TestShowNarrows: a Collector with Show reports the findings and rows of
// the connections Show accepts, counts them in Shown, and still
// diagnoses every connection; Narrow leaves out the capture's own
// findings and those of other ids, and the counts follow.
func TestShowNarrows(t *testing.T) {
	diagnoseDemo := func(show func(*diagnose.Conn) bool) *diagnose.Report {
		r, err := pcap.NewReaderBytes(sample.Capture)
		if err != nil {
			t.Fatal(err)
		}
		col := diagnose.NewCollector()
		col.Rows, col.Show = 20, show
		an := analyze.New(analyze.Options{}, col.Segment, col.OnConn)
		for {
			f, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			an.Add(&f)
		}
		an.Close()
		return col.Finish(an.Stats)
	}
	all := diagnoseDemo(nil)
	if all.Shown != all.ConnCount || all.ConnCount != 7 {
		t.Fatalf("without Show: %d of %d connections shown", all.Shown, all.ConnCount)
	}
	even := diagnoseDemo(func(c *diagnose.Conn) bool { return c.ID%2 == 0 })
	if even.ConnCount != 7 || even.Shown != 3 || len(even.Conns) != 3 {
		t.Errorf("even ids: %d connections, %d shown, %d rows", even.ConnCount, even.Shown, len(even.Conns))
	}
	capture := 0
	for _, f := range even.Findings {
		if f.Conn%2 != 0 {
			t.Errorf("a finding of connection %d: %s", f.Conn, f.ID)
		}
		if f.Conn == 0 {
			capture++
		}
	}
	if capture == 0 {
		t.Fatal("no capture-wide finding to narrow away")
	}
	// What a connection's findings are does not depend on Show.
	for _, c := range even.Conns {
		if got, want := len(c.Findings), len(all.Conn(c.ID).Findings); got != want {
			t.Errorf("connection %d: %d findings, %d without Show", c.ID, got, want)
		}
	}
	before := even.Counts
	even.Narrow(false, nil)
	if got := diagnose.CountOf(even.Findings); got != even.Counts {
		t.Errorf("after Narrow the counts are %v, the findings %v (before %v)", even.Counts, got, before)
	}
	for _, f := range even.Findings {
		if f.Conn == 0 {
			t.Errorf("Narrow(false) kept the capture's %s", f.ID)
		}
	}
	even.Narrow(false, []string{"refused"})
	if len(even.Findings) != 1 || even.Findings[0].ID != "refused" || len(even.Groups) != 1 || even.Counts[diagnose.Error] != 1 {
		t.Errorf("Narrow to refused: %d findings, %d groups, counts %v", len(even.Findings), len(even.Groups), even.Counts)
	}
}
