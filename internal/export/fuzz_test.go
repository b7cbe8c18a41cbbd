package export_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/export"
	"github.com/tcplens/tcplens/internal/export/exporttest"
	"github.com/tcplens/tcplens/internal/pcap"
)

// frames reads what the capture reader makes of in, or nil.
func frames(in []byte) []pcap.Frame {
	r, err := pcap.NewReader(bytes.NewReader(in))
	if err != nil {
		return nil
	}
	var out []pcap.Frame
	for n := 0; n < 2*len(in)+100; n++ {
		f, err := r.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			continue
		}
		f.Data = append([]byte(nil), f.Data...)
		out = append(out, f)
	}
	return out
}

// FuzzExport runs arbitrary bytes through both exports. Properties: no
// panic; every conn.log row has Zeek's 22 columns, every JSON row is one
// JSON object; the dataset reads back; and two shards' union is the
// whole export's, row for row, in every table.
func FuzzExport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "captures", "*"))
	for _, file := range files {
		if strings.HasSuffix(file, ".gz") {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 8<<10)])
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fs := frames(in)
		if len(fs) == 0 {
			return
		}
		for _, js := range []bool{false, true} {
			var out bytes.Buffer
			w, err := export.NewZeekWriter(&out, js, fs[0].Time)
			if err != nil {
				t.Fatal(err)
			}
			z := export.NewZeekExporter(w, analyze.Shard{N: 1})
			for i := range fs {
				z.Add(&fs[i])
			}
			if err := z.Close(); err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
				if l == "" && out.Len() == 0 {
					continue // no connection at all
				}
				switch {
				case js && !json.Valid([]byte(l)):
					t.Fatalf("not a JSON row: %q", l)
				case !js && !strings.HasPrefix(l, "#") && strings.Count(l, "\t") != 21:
					t.Fatalf("not a conn.log row of 22 columns: %q", l)
				}
			}
		}
		export1 := func(dir string, shard analyze.Shard) {
			ds, err := export.NewDataset(dir, export.JSONL, "s", fmt.Sprintf("part-%dof%d", shard.K, shard.N), true)
			if err != nil {
				t.Fatal(err)
			}
			x := export.NewExporter(ds, export.Options{Capture: "c", Shard: shard, Findings: true})
			for i := range fs {
				x.Add(&fs[i])
			}
			if _, err := x.Close(); err != nil {
				t.Fatal(err)
			}
			if err := ds.Close(); err != nil {
				t.Fatal(err)
			}
		}
		whole, split := t.TempDir(), t.TempDir()
		export1(whole, analyze.Shard{N: 1})
		export1(split, analyze.Shard{K: 0, N: 2})
		export1(split, analyze.Shard{K: 1, N: 2})
		if d := exporttest.Diff(exporttest.Read(t, split), exporttest.Read(t, whole)); d != "" {
			t.Fatalf("two shards' union differs from the whole export:\n%s", d)
		}
	})
}
