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
	"time"

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
		checkShardUnion(t, fs)
	})
}

// checkShardUnion exports fs whole on one core and in two shards on
// two and three, with findings, and fails the test unless the shards'
// union is the whole export, row for row, in every table. It returns the
// whole export's directory.
func checkShardUnion(t *testing.T, fs []pcap.Frame) string {
	t.Helper()
	export1 := func(dir string, shard analyze.Shard, threads int) {
		ds, err := export.NewDataset(dir, export.JSONL, "s", fmt.Sprintf("part-%dof%d", shard.K, shard.N), true)
		if err != nil {
			t.Fatal(err)
		}
		x := export.NewExporter(ds, export.Options{Capture: "c", Analysis: analyze.Options{Shard: shard, Threads: threads}, Findings: true})
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
	export1(whole, analyze.Shard{N: 1}, 1)
	export1(split, analyze.Shard{K: 0, N: 2}, 2)
	export1(split, analyze.Shard{K: 1, N: 2}, 3)
	if d := exporttest.Diff(exporttest.Read(t, split), exporttest.Read(t, whole)); d != "" {
		t.Fatalf("two shards' union differs from the whole export:\n%s", d)
	}
	return whole
}

// TestShardUnionCaptureEnd: how long a FIN has gone unanswered is measured
// to the capture's end, which a later segment of another shard's
// connection sets. zeek-ipv6-http-atomic-frag.pcap without the client's
// FIN and last ACK of port 27393 (frames 31 and 32) leaves that client in
// CLOSE_WAIT, and a segment of the other shard ends the capture: the
// shard of port 27393 took the capture's end without its frame and
// measured to the connection's own end instead, so close-wait-leak was
// missing from it (FuzzExport found it), and the whole export measured
// it to the connection's end too.
func TestShardUnionCaptureEnd(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "captures", "zeek-ipv6-http-atomic-frag.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	all := frames(b)
	var fs []pcap.Frame
	for _, f := range all {
		if f.Number != 31 && f.Number != 32 {
			fs = append(fs, f)
		}
	}
	// The capture's last segment, a second later, is a copy of port
	// 36951's last ACK (frame 12): of the other shard.
	last := all[11]
	last.Number, last.Time = all[len(all)-1].Number+1, all[len(all)-1].Time+pcap.Time(time.Second)
	fs = append(fs, last)
	dir := checkShardUnion(t, fs)
	found := false
	filepath.WalkDir(dir, func(path string, _ os.DirEntry, _ error) error {
		// Measured to the capture's end (the copy, 1.42 s after the FIN),
		// not to the connection's (15.1 ms).
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(`27393 stays in CLOSE_WAIT: 1.42 s after the peer's FIN`)) {
			found = true
		}
		return nil
	})
	if !found {
		t.Fatal("the whole export has no close-wait-leak for port 27393 measured to the capture's end")
	}
}
