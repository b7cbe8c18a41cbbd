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

// captureDir holds the real captures the tests decode.
const captureDir = "../../testdata/captures"

// captures lists the files in captureDir.
func captures(t testing.TB) []string {
	t.Helper()
	ents, err := os.ReadDir(captureDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatalf("no captures in %s", captureDir)
	}
	return names
}

// captureName is the name of a capture without its .gz suffix.
func captureName(file string) string { return strings.TrimSuffix(file, ".gz") }

// eachFrame calls fn with every frame the pcap reader hands out from
// captureDir/file, skipping over the records it reports as malformed (the
// reader resumes after a FormatError). A file the reader refuses outright
// yields no frames.
func eachFrame(t testing.TB, file string, fn func(f *pcap.Frame)) {
	t.Helper()
	fh, err := os.Open(filepath.Join(captureDir, file))
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

// loadFrames returns copies of the frames of captureDir/file.
func loadFrames(t testing.TB, file string) []pcap.Frame {
	t.Helper()
	var frames []pcap.Frame
	eachFrame(t, file, func(f *pcap.Frame) {
		g := *f
		g.Data = append([]byte(nil), f.Data...)
		frames = append(frames, g)
	})
	return frames
}

// captureBytes returns captureDir/file decompressed.
func captureBytes(t testing.TB, file string) []byte {
	t.Helper()
	fh, err := os.Open(filepath.Join(captureDir, file))
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
