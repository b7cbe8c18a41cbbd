package wire_test

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

// captureDirs hold the captures the tests decode: real ones, and the
// link-type ones made from them (scripts/linkcaps).
var captureDirs = []string{"../../testdata/captures", "../../testdata/links"}

// captures lists the files in captureDirs, as paths.
func captures(t testing.TB) []string {
	t.Helper()
	var paths []string
	for _, dir := range captureDirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		n := len(paths)
		for _, e := range ents {
			if !e.IsDir() {
				paths = append(paths, filepath.Join(dir, e.Name()))
			}
		}
		if len(paths) == n {
			t.Fatalf("no captures in %s", dir)
		}
	}
	return paths
}

// captureName is the name of a capture without its directory and .gz
// suffix.
func captureName(file string) string { return strings.TrimSuffix(filepath.Base(file), ".gz") }

// eachFrame calls fn with every frame the pcap reader hands out from
// file, skipping over the records it reports as malformed (the
// reader resumes after a FormatError). A file the reader refuses outright
// yields no frames.
func eachFrame(t testing.TB, file string, fn func(f *pcap.Frame)) {
	t.Helper()
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := pcap.NewReader(fh)
	if err != nil {
		t.Logf("%s: %v", file, err)
		return
	}
	for errs := 0; errs < 100; {
		f, err := r.Next()
		if err == io.EOF {
			return
		}
		var fe *pcap.FormatError
		if errors.As(err, &fe) {
			errs++
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		fn(&f)
	}
	t.Fatalf("%s: too many format errors", file)
}

// loadFrames returns copies of the frames of the real capture named.
func loadFrames(t testing.TB, name string) []pcap.Frame {
	t.Helper()
	var frames []pcap.Frame
	eachFrame(t, filepath.Join(captureDirs[0], name), func(f *pcap.Frame) {
		g := *f
		g.Data = append([]byte(nil), f.Data...)
		frames = append(frames, g)
	})
	return frames
}

// captureBytes returns the real capture named, decompressed.
func captureBytes(t testing.TB, name string) []byte {
	t.Helper()
	file := filepath.Join(captureDirs[0], name)
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var r io.Reader = fh
	if strings.HasSuffix(file, ".gz") {
		zr, err := gzip.NewReader(fh)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
