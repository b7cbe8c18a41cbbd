package compare_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/compare"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
)

// maxFuzzSeed bounds each side of a seed: a prefix holds handshakes, data
// and closes enough, and usually cuts a record short.
const maxFuzzSeed = 8 << 10

// readerSource reads a capture held in memory, skipping what the reader
// reports.
type readerSource struct {
	r      *pcap.Reader
	frames int
}

func (s *readerSource) Next() (pcap.Frame, bool) {
	for bad := 0; bad < 1000; bad++ {
		f, err := s.r.Next()
		if err == nil {
			s.frames++
			return f, true
		}
		if errors.Is(err, io.EOF) {
			return pcap.Frame{}, false
		}
	}
	return pcap.Frame{}, false
}

// FuzzCompare runs two arbitrary captures through compare and its
// renderers. Properties: no panic, no endless loop; each connection of
// each point is reported once, by the ID conns would give it; every
// frame an item names was read at its point; every item's JSON is one
// valid object.
func FuzzCompare(f *testing.F) {
	dirs, _ := filepath.Glob("../../testdata/kernel/router/*")
	for _, d := range dirs {
		a, b := seedFile(f, filepath.Join(d, "client.pcap")), seedFile(f, filepath.Join(d, "server.pcap"))
		f.Add(a, b)
	}
	kernel, _ := filepath.Glob("../../testdata/kernel/*.pcap")
	for _, k := range kernel[:min(len(kernel), 6)] {
		a := seedFile(f, k)
		f.Add(a, a)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var src [2]*readerSource
		for i, in := range [][]byte{a, b} {
			r, err := pcap.NewReaderBytes(in)
			if err != nil {
				return
			}
			src[i] = &readerSource{r: r}
		}
		seen := [2]map[int]bool{{}, {}}
		var js, text bytes.Buffer
		sum := compare.Run(src[0], src[1], compare.Options{Window: 100 * time.Millisecond, Trace: func(int, int) bool { return true }, TraceLimit: 50}, func(c *compare.Conn) {
			for side, v := range c.Views {
				if v == nil {
					continue
				}
				if seen[side][v.Conn] {
					t.Fatalf("%s conn %d reported twice", compare.Side(side), v.Conn)
				}
				seen[side][v.Conn] = true
			}
			for _, it := range c.Items {
				if it.Kind.String() == "unknown" {
					t.Fatalf("item of no kind: %+v", it)
				}
				for side, fs := range it.Frames {
					for _, n := range fs {
						if n < 1 || n > src[side].frames {
							t.Fatalf("%s: frame %s#%d, but %d frames were read", it.Kind, compare.Side(side), n, src[side].frames)
						}
					}
				}
			}
			js.Reset()
			if err := render.CompareConnJSON(&js, c); err != nil {
				t.Fatal(err)
			}
			for _, line := range bytes.Split(bytes.TrimSuffix(js.Bytes(), []byte("\n")), []byte("\n")) {
				if len(line) > 0 && !json.Valid(line) {
					t.Fatalf("item JSON is not one JSON object: %q", line)
				}
			}
			if err := render.CompareConnText(&text, c, render.Style{}); err != nil {
				t.Fatal(err)
			}
		})
		for side := range 2 {
			if len(seen[side]) != sum.Points[side].Conns {
				t.Fatalf("%s: %d connections reported of %d", compare.Side(side), len(seen[side]), sum.Points[side].Conns)
			}
		}
	})
}

func seedFile(f *testing.F, path string) []byte {
	f.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b[:min(len(b), maxFuzzSeed)]
}
