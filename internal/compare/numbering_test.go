package compare_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/compare"
	"github.com/tcplens/tcplens/internal/conn"
)

// TestNumbering checks that compare numbers each capture's connections as
// tcplens conns does (IDs, roles, first and last frames), on every capture
// in testdata, by comparing each capture with itself: the same packets at
// the same time, which compare must find identical, nothing but a delay of
// zero.
func TestNumbering(t *testing.T) {
	var files []string
	for _, g := range []string{"captures/*", "kernel/*.pcap", "kernel/extra/*.pcap"} {
		m, _ := filepath.Glob(filepath.Join("../../testdata", g))
		files = append(files, m...)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fs := read(t, path)
			var want []string
			an := analyze.New(analyze.Options{}, nil, func(c *conn.Conn, why conn.EndReason) {
				s := analyze.Summarize(c, why)
				want = append(want, fmt.Sprintf("%d %v %v %v %d-%d", s.ID, s.Client.Addr, s.Server.Addr, s.RoleGuessed, s.FirstFrame, s.LastFrame))
			})
			for i := range fs {
				an.Add(&fs[i])
			}
			an.Close()
			conns, _ := run(t, fs, fs, compare.Options{ClockKnown: true})
			var got []string
			for _, c := range conns {
				for _, v := range c.Views {
					if v != nil {
						got = append(got, fmt.Sprintf("%d %v %v %v %d-%d", v.Conn, v.Client, v.Server, v.RoleGuessed, v.FirstFrame, v.LastFrame))
					}
				}
				for _, it := range c.Items {
					if it.Kind != compare.KindDelay {
						t.Errorf("a capture against itself: %s: %s", it.Kind, it.Title)
					}
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			got = slices.Compact(got)
			if !slices.Equal(got, want) {
				t.Errorf("compare's connections differ from conns':\n got %v\nwant %v", got, want)
			}
		})
	}
}
