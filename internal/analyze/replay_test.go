package analyze_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
)

// TestReplaySame checks that replaying the connections a first analysis
// found gives each the segments, results and end it had in that analysis:
// on every capture, every connection replayed, numbered alike.
func TestReplaySame(t *testing.T) {
	var files []string
	for _, pattern := range []string{"captures/*", "kernel/*.pcap"} {
		f, _ := filepath.Glob(filepath.Join(testdata, pattern))
		files = append(files, f...)
	}
	for _, file := range files {
		frames := loadCapture(t, file)
		record := func(out map[int]*bytes.Buffer) (func(*analyze.Segment), func(*conn.Conn, conn.EndReason)) {
			buf := func(id int) *bytes.Buffer {
				if out[id] == nil {
					out[id] = new(bytes.Buffer)
				}
				return out[id]
			}
			return func(s *analyze.Segment) {
					if s.Conn != nil {
						fmt.Fprintf(buf(s.Conn.ID), "%d %v %+v\n", s.Frame.Number, s.Dir, *s.Result)
					}
				}, func(c *conn.Conn, why conn.EndReason) {
					fmt.Fprintf(buf(c.ID), "end %v %+v\n", why, analyze.Summarize(c, why))
				}
		}
		want := map[int]*bytes.Buffer{}
		var sums []*analyze.Summary
		onSeg, onConn := record(want)
		a := analyze.New(analyze.Options{}, onSeg, func(c *conn.Conn, why conn.EndReason) {
			onConn(c, why)
			s := analyze.Summarize(c, why)
			sums = append(sums, &s)
		})
		for i := range frames {
			a.Add(&frames[i])
		}
		a.Close()
		got := map[int]*bytes.Buffer{}
		onSeg, onConn = record(got)
		r := analyze.NewReplay(sums, a.Stats.Last, onSeg, onConn)
		for i := range frames {
			r.Add(&frames[i])
		}
		for id, w := range want {
			if diff := cmp.Diff(w.String(), got[id].String()); diff != "" {
				t.Errorf("%s: connection %d replayed differs (-analysis +replay):\n%s", filepath.Base(file), id, diff)
			}
		}
	}
}
