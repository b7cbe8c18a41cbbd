package netlab

import (
	"path/filepath"
	"testing"
	"time"
)

// extraRecorded is where the runs of ExtraScenarios live.
const extraRecorded = recorded + "/extra"

// TestExtraScenarios runs ExtraScenarios as TestScenarios runs the
// catalogue (as root), kernel-truth check included; with -record DIR it
// saves each run in DIR.
func TestExtraScenarios(t *testing.T) {
	Require(t)
	for _, sc := range ExtraScenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			start := time.Now()
			r := runSteady(t, sc)
			if t.Failed() {
				return
			}
			t.Logf("%.2fs  client %s", time.Since(start).Seconds(), timeline(r.Client, r.End))
			t.Logf("        server %s", timeline(r.Server, r.End))
			checkResult(t, r)
			if t.Failed() {
				return
			}
			save(t, r)
			checkTruthAtEveryPoint(t, r)
		})
	}
}

// TestRecordedExtra checks the committed runs of ExtraScenarios without
// root: each satisfies its scenario's kernel expectations and capture
// checks, and every scenario has one.
func TestRecordedExtra(t *testing.T) {
	for _, sc := range ExtraScenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			p := filepath.Join(extraRecorded, sc.Name+".json")
			rec, err := LoadRecord(p)
			if err != nil {
				t.Fatalf("%v: record it with go test ./internal/netlab -run 'TestExtraScenarios$' -args -record %s", err, extraRecorded)
			}
			if rec.Doc != sc.Doc {
				t.Errorf("the record's doc differs from the scenario's: record again")
			}
			if err := CheckExpect(sc.Expect, StateNames(rec.States.Client), StateNames(rec.States.Server)); err != nil {
				t.Errorf("kernel: %v", err)
			}
			client, err := rec.ClientAddr()
			if err != nil {
				t.Fatal(err)
			}
			segs, err := ReadCapture(rec.CapturePath(p), client.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if err := sc.Expect.Capture(segs, &Result{Scenario: sc}); err != nil {
				t.Errorf("capture: %v", err)
			}
		})
	}
}

// TestRecordedVantage checks the runs recorded at every capture point
// (testdata/kernel/vantage, Result.SavePoints) without root: every
// scenario has one; each satisfies its scenario's kernel expectations and
// its main capture the scenario's capture checks; every capture holds the
// lab's frames only, within the run; and each direction's frames pass the
// three points in order, less the path's drops.
func TestRecordedVantage(t *testing.T) {
	for _, sc := range append(Catalogue(), ExtraScenarios()...) {
		t.Run(sc.Name, func(t *testing.T) {
			p := filepath.Join(vantageRecorded, sc.Name, "record.json")
			rec, err := LoadRecord(p)
			if err != nil {
				t.Fatalf("%v: record it with go test ./internal/netlab -run 'TestScenarios$|TestExtraScenarios$' -args -record-points %s", err, vantageRecorded)
			}
			if rec.Doc != sc.Doc {
				t.Errorf("the record's doc differs from the scenario's: record again")
			}
			if err := CheckExpect(sc.Expect, StateNames(rec.States.Client), StateNames(rec.States.Server)); err != nil {
				t.Errorf("kernel: %v", err)
			}
			client, err := rec.ClientAddr()
			if err != nil {
				t.Fatal(err)
			}
			server, err := rec.ServerAddr()
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Captures) != 3 {
				t.Fatalf("captures %+v: want the three points", rec.Captures)
			}
			at := map[string][]Captured{}
			for _, c := range rec.Captures {
				segs, err := ReadCapture(c.PointPath(p), client.Addr())
				if err != nil {
					t.Fatal(err)
				}
				checkFrames(t, c.Point, segs, rec.Start, rec.End)
				at[c.Point] = segs
			}
			r := &Result{Scenario: sc, ClientAddr: client, ServerAddr: server}
			for _, d := range rec.Drops {
				r.Drops = append(r.Drops, droppedFromRecord(d))
			}
			for _, d := range rec.Held {
				r.Held = append(r.Held, droppedFromRecord(d))
			}
			if sc.Expect.Capture != nil {
				if err := sc.Expect.Capture(at[rec.Vantage], r); err != nil {
					t.Errorf("capture: %v", err)
				}
			}
			if !sc.LateCapture {
				checkPaths(t, at, r.Drops, r.Held)
			}
		})
	}
}
