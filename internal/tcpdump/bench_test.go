package tcpdump_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

// loadCapture returns a testdata capture, decompressed, in memory.
func loadCapture(b testing.TB, name string) []byte {
	b.Helper()
	f, err := os.Open(filepath.Join(testdata, "captures", name))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if filepath.Ext(name) == ".gz" {
		zr, err := gzip.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkRead is `tcplens read` without the output: the reader and the
// printer over a capture of 82,582 frames (500 concurrent connections), or
// over the capture named by $TCPLENS_BENCH_CAPTURE, held in memory.
func BenchmarkRead(b *testing.B) {
	var data []byte
	if path := os.Getenv("TCPLENS_BENCH_CAPTURE"); path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			b.Fatal(err)
		}
	} else {
		data = loadCapture(b, "zeek-echo-connections.pcap.gz")
	}
	var frames int
	line := make([]byte, 0, 512)
	for b.Loop() {
		r, err := pcap.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		p := tcpdump.NewPrinter(tcpdump.Options{Location: time.Local})
		for {
			f, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			line, _ = p.Append(line[:0], &f)
			frames++
		}
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}

// TestAppendAllocs checks that printing a frame allocates nothing once the
// connection is in the relative-sequence table.
func TestAppendAllocs(t *testing.T) {
	data := loadCapture(t, "zeek-http-get.pcap")
	var frames []pcap.Frame
	r, err := pcap.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		f.Data = append([]byte(nil), f.Data...)
		frames = append(frames, f)
	}
	p := tcpdump.NewPrinter(tcpdump.Options{Time: tcpdump.TimeEpoch})
	line := make([]byte, 0, 1024)
	for i := range frames {
		line, _ = p.Append(line[:0], &frames[i])
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		line, _ = p.Append(line[:0], &frames[i%len(frames)])
		i++
	})
	if allocs != 0 {
		t.Errorf("Append allocates %.1f times per frame, want 0", allocs)
	}
}
