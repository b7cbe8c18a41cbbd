package analyze_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// printEnded prints a connection as it ends, in full: its summary and
// both endpoints' state, which includes everything the analysis kept.
func printEnded(out *bytes.Buffer, s *analyze.Summary, c *conn.Conn) {
	fmt.Fprintf(out, "%+v\n", *s)
	for _, e := range c.Ends {
		fmt.Fprintf(out, "  %+v\n", e)
	}
}

// sequentialOf runs the Analyzer over frames, printing every connection
// as it ends, then the counts.
func sequentialOf(frames []pcap.Frame, opts analyze.Options) string {
	var out bytes.Buffer
	a := analyze.New(opts, nil, func(c *conn.Conn, why conn.EndReason) {
		s := analyze.Summarize(c, why)
		printEnded(&out, &s, c)
	})
	for i := range frames {
		a.Add(&frames[i])
	}
	a.Close()
	fmt.Fprintf(&out, "%+v %+v\n", a.Stats, a.Counts())
	return out.String()
}

// parallelOf is sequentialOf with a Parallel: its workers summarise and
// print the connections, the merger numbers them.
func parallelOf(frames []pcap.Frame, opts analyze.Options, stable bool) string {
	type ended struct {
		sum  analyze.Summary
		text bytes.Buffer
	}
	var out bytes.Buffer
	p := analyze.NewParallel(opts, func(int) analyze.Hooks[*ended] {
		return analyze.Hooks[*ended]{End: func(c *conn.Conn, why conn.EndReason) *ended {
			e := &ended{sum: analyze.Summarize(c, why)}
			for _, end := range c.Ends {
				fmt.Fprintf(&e.text, "  %+v\n", end)
			}
			return e
		}}
	}, func(e *analyze.Ended[*ended]) {
		s := e.Value.sum
		s.ID, s.Previous = e.ID, e.Previous
		fmt.Fprintf(&out, "%+v\n%s", s, e.Value.text.Bytes())
	}, nil)
	if stable {
		p.Stable(nil)
	}
	buf := make([]byte, 0, 1<<16)
	for i := range frames {
		f := frames[i]
		if !stable {
			// A reader's buffer: the bytes change after the next frame.
			buf = append(buf[:0], f.Data...)
			f.Data = buf
		}
		p.Add(&f)
		if !stable {
			clear(buf)
		}
	}
	p.Close()
	fmt.Fprintf(&out, "%+v %+v\n", p.Stats, p.Counts())
	return out.String()
}

// loadCapture reads every frame of a capture file into memory.
func loadCapture(t testing.TB, file string) []pcap.Frame {
	t.Helper()
	r, err := pcap.NewReaderBytes(readAll(t, file))
	if err != nil {
		t.Fatal(err)
	}
	var frames []pcap.Frame
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err == nil {
			frames = append(frames, f)
		}
	}
}

// TestParallelSame checks that the parallel analysis finds what the
// sequential one does, whatever the number of workers: every connection
// numbered alike, ending in the same order for the same reason with the
// same state, and the same counts; with frames that stay valid and frames
// that do not; and with a table so small that connections are evicted.
func TestParallelSame(t *testing.T) {
	var files []string
	for _, pattern := range []string{"captures/*", "kernel/*.pcap"} {
		f, err := filepath.Glob(filepath.Join(testdata, pattern))
		if err != nil || len(f) == 0 {
			t.Fatalf("no captures %s: %v", pattern, err)
		}
		files = append(files, f...)
	}
	for _, file := range files {
		frames := loadCapture(t, file)
		for _, max := range []int{0, 2} {
			want := sequentialOf(frames, analyze.Options{MaxConns: max})
			for _, threads := range []int{1, 2, 3, 7} {
				for _, stable := range []bool{true, false} {
					t.Run(fmt.Sprintf("%s/max=%d/threads=%d/stable=%v", filepath.Base(file), max, threads, stable), func(t *testing.T) {
						got := parallelOf(frames, analyze.Options{MaxConns: max, Threads: threads}, stable)
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("parallel differs (-sequential +parallel):\n%s", diff)
						}
					})
				}
			}
		}
	}
}

// FuzzParallel holds the analysis on every core to the one on a single
// goroutine on arbitrary captures: the same connections, numbered alike,
// ending in the same order for the same reason with the same state, the
// same counts, whatever the number of workers, with a table small enough
// to evict. The dealer places each frame without decoding it (wire.Locate),
// so a frame it placed apart from its connection shows here.
func FuzzParallel(f *testing.F) {
	addPipelineSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := pcap.NewReaderBytes(in)
		if err != nil {
			return
		}
		var frames []pcap.Frame
		for calls := 0; calls <= 2*len(in)+100; calls++ {
			fr, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err == nil {
				frames = append(frames, fr)
			}
		}
		for _, max := range []int{0, 2} {
			want := sequentialOf(frames, analyze.Options{MaxConns: max})
			if got := parallelOf(frames, analyze.Options{MaxConns: max, Threads: 3}, false); got != want {
				t.Fatalf("max %d: parallel differs (-sequential +parallel):\n%s", max, cmp.Diff(want, got))
			}
		}
	})
}

// TestParallelNotes checks that Parallel tells of every segment, in the
// capture's order, between the connections ending around it as the
// sequential analysis has them.
func TestParallelNotes(t *testing.T) {
	frames := loadCapture(t, filepath.Join(testdata, "captures", "zeek-echo-connections.pcap.gz"))
	var want, got bytes.Buffer
	a := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		if s.Conn != nil {
			fmt.Fprintf(&want, "segment %d %v %d\n", s.Frame.Number, s.Seg.Src.Addr(), s.Seg.TTL)
		}
	}, func(c *conn.Conn, why conn.EndReason) { fmt.Fprintf(&want, "conn %d %v\n", c.ID, why) })
	for i := range frames {
		a.Add(&frames[i])
	}
	a.Close()
	p := analyze.NewParallel(analyze.Options{Threads: 3}, func(int) analyze.Hooks[struct{}] { return analyze.Hooks[struct{}]{} },
		func(e *analyze.Ended[struct{}]) { fmt.Fprintf(&got, "conn %d %v\n", e.ID, e.Why) },
		func(n *analyze.Note) { fmt.Fprintf(&got, "segment %d %v %d\n", n.Frame, n.Src, n.TTL) })
	p.Stable(nil)
	for i := range frames {
		p.Add(&frames[i])
	}
	p.Close()
	if diff := cmp.Diff(want.String(), got.String()); diff != "" {
		t.Errorf("notes differ (-sequential +parallel):\n%s", diff)
	}
}

// TestParallelFlood checks the parallel analysis on a flood of SYNs from
// distinct sources spread over every shard, more than the shards' caps on
// attempts hold together: the same connections as the sequential
// analysis, the same evicted, in the same order.
func TestParallelFlood(t *testing.T) {
	frames := make([]pcap.Frame, 100000)
	for i := range frames {
		frames[i] = testcap.SYNFlood(i, make([]byte, 64))
	}
	var want bytes.Buffer
	a := analyze.New(analyze.Options{}, nil, func(c *conn.Conn, why conn.EndReason) {
		fmt.Fprintln(&want, c.ID, c.FirstFrame, why)
	})
	for i := range frames {
		a.Add(&frames[i])
	}
	a.Close()
	fmt.Fprintf(&want, "%+v %+v\n", a.Stats, a.Counts())
	if a.Counts().EvictedAttempts == 0 {
		t.Fatal("no attempt evicted: the flood is too small to test the caps")
	}
	for _, threads := range []int{1, 3} {
		var got bytes.Buffer
		p := analyze.NewParallel(analyze.Options{Threads: threads}, func(int) analyze.Hooks[int] {
			return analyze.Hooks[int]{End: func(c *conn.Conn, _ conn.EndReason) int { return c.FirstFrame }}
		}, func(e *analyze.Ended[int]) { fmt.Fprintln(&got, e.ID, e.Value, e.Why) }, nil)
		p.Stable(nil)
		for i := range frames {
			p.Add(&frames[i])
		}
		p.Close()
		fmt.Fprintf(&got, "%+v %+v\n", p.Stats, p.Counts())
		if diff := cmp.Diff(want.String(), got.String()); diff != "" {
			t.Errorf("threads %d: the flood's connections differ (-sequential +parallel):\n%s", threads, diff)
		}
	}
}

// TestParallelShard checks Options.Shard on the parallel analysis: the
// connections of shard K of N, ended in the same order for the same
// reasons with the same states as the sequential analysis of that shard
// (the other shards' segments move the clock alike), whatever the number
// of workers; and every segment noted in the capture's order, the other
// shards' as OnSkip hands them to the sequential analysis.
func TestParallelShard(t *testing.T) {
	for _, name := range []string{"zeek-echo-connections.pcap.gz", "zeek-nmap-vsn.pcap", "zeek-ssh-ssh.pcap.gz"} {
		frames := loadCapture(t, filepath.Join(testdata, "captures", name))
		for _, n := range []int{2, 3} {
			for k := range n {
				shard := analyze.Shard{K: k, N: n}
				want := sequentialOf(frames, analyze.Options{Shard: shard})
				var wantNotes bytes.Buffer
				a := analyze.New(analyze.Options{Shard: shard, OnSkip: func(f *pcap.Frame, s *wire.Segment) {
					fmt.Fprintf(&wantNotes, "%d %v %d\n", f.Number, s.Src.Addr(), s.TTL)
				}}, func(s *analyze.Segment) {
					if s.Conn != nil {
						fmt.Fprintf(&wantNotes, "%d %v %d\n", s.Frame.Number, s.Seg.Src.Addr(), s.Seg.TTL)
					}
				}, nil)
				for i := range frames {
					a.Add(&frames[i])
				}
				a.Close()
				if a.Stats.Skipped == 0 || a.Stats.Conns == 0 {
					t.Fatalf("%s: shard %d of %d skips nothing or keeps nothing", name, k, n)
				}
				for _, threads := range []int{1, 2, 5} {
					t.Run(fmt.Sprintf("%s/%d-of-%d/threads=%d", name, k, n, threads), func(t *testing.T) {
						if diff := cmp.Diff(want, parallelOf(frames, analyze.Options{Shard: shard, Threads: threads}, true)); diff != "" {
							t.Errorf("parallel differs (-sequential +parallel):\n%s", diff)
						}
						var gotNotes bytes.Buffer
						p := analyze.NewParallel(analyze.Options{Shard: shard, Threads: threads}, func(int) analyze.Hooks[struct{}] { return analyze.Hooks[struct{}]{} },
							func(*analyze.Ended[struct{}]) {}, func(n *analyze.Note) { fmt.Fprintf(&gotNotes, "%d %v %d\n", n.Frame, n.Src, n.TTL) })
						p.Stable(nil)
						for i := range frames {
							p.Add(&frames[i])
						}
						p.Close()
						if diff := cmp.Diff(wantNotes.String(), gotNotes.String()); diff != "" {
							t.Errorf("notes differ (-sequential +parallel):\n%s", diff)
						}
					})
				}
			}
		}
	}
}
