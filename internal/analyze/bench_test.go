package analyze_test

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
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
func BenchmarkAnalyze(b *testing.B) {
	benchAnalyze(b, func() (func(*pcap.Frame), func()) {
		a := analyze.New(analyze.Options{}, nil, func(*conn.Conn, conn.EndReason) {})
		return a.Add, a.Close
	})
}

// BenchmarkAnalyzeParallel is the same on as many workers as there are
// cores, as `tcplens conns` runs it.
func BenchmarkAnalyzeParallel(b *testing.B) {
	benchAnalyze(b, func() (func(*pcap.Frame), func()) {
		p := analyze.NewParallel(analyze.Options{Threads: runtime.GOMAXPROCS(0)}, func(int) analyze.Hooks[struct{}] {
			return analyze.Hooks[struct{}]{}
		}, func(*analyze.Ended[struct{}]) {}, nil)
		p.Stable(nil)
		return p.Add, p.Close
	})
}

func benchAnalyze(b *testing.B, start func() (add func(*pcap.Frame), close func())) {
	data := benchCapture(b)
	var frames int
	for b.Loop() {
		r, err := pcap.NewReaderBytes(data)
		if err != nil {
			b.Fatal(err)
		}
		add, close := start()
		for {
			f, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			add(&f)
			frames++
		}
		close()
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}
