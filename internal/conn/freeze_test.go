package conn_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/freezer"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// analyseFrozen runs frames through one table as the analysis does
// (expiring at every segment), with the table's freezing set so, and
// prints every connection as it ends, in full; and how often it froze.
func analyseFrozen(frames []pcap.Frame, idle time.Duration, thawed int) (string, int) {
	var out bytes.Buffer
	ids := 0
	table := conn.NewTable(0, func(c *conn.Conn, why conn.EndReason) {
		fmt.Fprintf(&out, "%+v\n", analyze.Summarize(c, why))
		for _, e := range c.Ends {
			fmt.Fprintf(&out, "  %+v\n", e)
		}
		fmt.Fprintf(&out, "  %+v\n", c.History)
	})
	table.FreezeIdle, table.MaxThawed = idle, thawed
	var s wire.Segment
	var r tcp.Result
	var last pcap.Time
	for i := range frames {
		f := &frames[i]
		last = max(last, f.Time)
		if err := wire.Decode(f, &s); err != nil && s.TCP == nil {
			continue
		}
		c, end := table.Lookup(&s, f.Time)
		if c.Segments == 1 {
			ids++
			c.ID = ids
		}
		table.Expire(f.Time)
		c.Step(end, &tcp.Input{Seg: &s, Frame: f.Number, Time: f.Time}, &r)
	}
	table.Close(last)
	return out.String(), table.Frozen
}

// TestFrozenSame checks that freezing loses nothing: with every
// connection frozen as soon as another's segment comes (and thawed for
// its own next), every capture's connections end with the same state,
// field for field, as when none is ever frozen.
func TestFrozenSame(t *testing.T) {
	var files []string
	for _, pattern := range []string{"captures/*", "kernel/*.pcap"} {
		f, _ := filepath.Glob(filepath.Join("..", "..", "testdata", pattern))
		files = append(files, f...)
	}
	if len(files) == 0 {
		t.Fatal("no captures")
	}
	frozen := 0
	for _, file := range files {
		frames, err := testcap.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := analyseFrozen(frames, -1, -1)
		got, n := analyseFrozen(frames, time.Nanosecond, 1)
		frozen += n
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: freezing changed the analysis (-never frozen +always frozen):\n%s", filepath.Base(file), diff)
		}
	}
	if frozen == 0 {
		t.Error("nothing was frozen")
	}
	t.Logf("%d freezes", frozen)
}

// BenchmarkFreezeThaw freezes and thaws the 500 connections of the echo
// capture as they are when they end, and reports what a frozen one holds.
func BenchmarkFreezeThaw(b *testing.B) {
	frames, err := testcap.ReadFile(filepath.Join("..", "..", "testdata", "captures", "zeek-echo-connections.pcap.gz"))
	if err != nil {
		b.Fatal(err)
	}
	var ended []*conn.Conn
	table := conn.NewTable(0, func(c *conn.Conn, _ conn.EndReason) { ended = append(ended, c) })
	table.FreezeIdle, table.MaxThawed = -1, -1
	var s wire.Segment
	var r tcp.Result
	for i := range frames {
		f := &frames[i]
		if err := wire.Decode(f, &s); err != nil && s.TCP == nil {
			continue
		}
		c, end := table.Lookup(&s, f.Time)
		c.Step(end, &tcp.Input{Seg: &s, Frame: f.Number, Time: f.Time}, &r)
	}
	table.Close(frames[len(frames)-1].Time)
	z := freezer.New[conn.State]()
	var fr freezer.Frozen
	size := 0
	for _, c := range ended {
		z.Freeze(c.State, int64(c.Start), &fr)
		size += fr.Size()
	}
	b.ResetTimer()
	var st conn.State
	for i := 0; b.Loop(); i++ {
		c := ended[i%len(ended)]
		z.Freeze(c.State, int64(c.Start), &fr)
		z.Thaw(&fr, int64(c.Start), &st)
	}
	b.ReportMetric(float64(size)/float64(len(ended)), "bytes/conn")
}
