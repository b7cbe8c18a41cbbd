package pcap

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

// readAll returns every frame of r, their data copied.
func readAll(t *testing.T, r *Reader) []Frame {
	t.Helper()
	var out []Frame
	for {
		f, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("frame %d: %v", len(out)+1, err)
		}
		f.Data = bytes.Clone(f.Data)
		out = append(out, f)
	}
}

// TestSplitClassic: Boundary finds where the next record starts from any
// offset of a real capture, and ResumeClassic from there reads exactly
// the frames a reading from the start reads there, with their offsets.
func TestSplitClassic(t *testing.T) {
	gz, err := os.ReadFile("../../testdata/captures/zeek-echo-connections.pcap.gz")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	file, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := NewReaderBytes(file)
	if err != nil {
		t.Fatal(err)
	}
	all := readAll(t, whole)
	ra, size := bytes.NewReader(file), int64(len(file))
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		from := 25 + rng.Int64N(size-25)
		at, ok := whole.Boundary(ra, size, from)
		// The first record at or after from.
		i := 0
		for i < len(all) && all[i].Offset < from {
			i++
		}
		if i == len(all) {
			if ok {
				t.Errorf("Boundary(%d) = %d past the last record", from, at)
			}
			continue
		}
		if !ok || at != all[i].Offset {
			t.Errorf("Boundary(%d) = %d, %v; the next record is at %d", from, at, ok, all[i].Offset)
			continue
		}
		if n >= 10 {
			continue // reading the rest costs more than finding the boundary
		}
		r, err := ResumeClassic(ra, size, at)
		if err != nil {
			t.Fatal(err)
		}
		rest := readAll(t, r)
		if len(rest) != len(all)-i {
			t.Fatalf("from %d: %d frames, want %d", at, len(rest), len(all)-i)
		}
		for j, f := range rest {
			w := all[i+j]
			if f.Number != j+1 || f.Offset != w.Offset || f.Time != w.Time || f.Length != w.Length || !bytes.Equal(f.Data, w.Data) {
				t.Fatalf("from %d, frame %d: %+v, want %+v", at, j+1, f, w)
			}
		}
	}
	// Neither a compressed file nor pcapng is read from its middle.
	if _, err := ResumeClassic(bytes.NewReader(gz), int64(len(gz)), 100); err != ErrNotSplittable {
		t.Errorf("ResumeClassic of a gzip file: %v", err)
	}
}
