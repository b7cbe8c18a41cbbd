package analyze_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
)

// benchCapture is a testdata capture in memory, or the capture named by
// $TCPLENS_BENCH_CAPTURE.
func benchCapture(b *testing.B) []byte {
	b.Helper()
	if path := os.Getenv("TCPLENS_BENCH_CAPTURE"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	f, err := os.Open(filepath.Join(testdata, "captures", "zeek-echo-connections.pcap.gz"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkAnalyze is the full analysis, reading included, without output:
// what `tcplens conns` does, on one goroutine.
func BenchmarkAnalyze(b *testing.B) { benchAnalyze(b, analyze.Options{}) }

// BenchmarkAnalyzePipeline is the same on two goroutines, as `tcplens
// conns` runs it.
func BenchmarkAnalyzePipeline(b *testing.B) { benchAnalyze(b, analyze.Options{Pipeline: true}) }

func benchAnalyze(b *testing.B, opts analyze.Options) {
	data := benchCapture(b)
	var frames int
	for b.Loop() {
		r, err := pcap.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		a := analyze.New(opts, nil, func(*conn.Conn, conn.EndReason) {})
		for {
			f, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			a.Add(&f)
			frames++
		}
		a.Close()
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}
