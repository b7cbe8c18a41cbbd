package export

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/pcap"
)

// segmentRows are the segments table's rows of a capture.
func segmentRows(b *testing.B, capture string) []Segment {
	b.Helper()
	f, err := os.Open(capture)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	var rows []Segment
	var v values
	a := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		rows = append(rows, SegmentOf(s, &segmentConn{uid: "CxyzUID000000001", client: "10.0.0.1", server: "10.0.0.2"}, "capture.pcap", &v))
	}, nil)
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			a.Add(&fr)
		}
	}
	a.Close()
	return rows
}

// BenchmarkSegmentsParquet measures the Parquet writer alone on the
// segments table's rows of the echo capture (82,582 segments): shredding
// into columns, dictionaries, delta encoding, zstd, as the dataset's
// writer runs them, on one goroutine. The bytes are the file's; rows/cpu-s
// counts the CPU time the process used (the GC's too).
func BenchmarkSegmentsParquet(b *testing.B) {
	rows := segmentRows(b, filepath.Join(testdata, "captures", "zeek-echo-connections.pcap.gz"))
	b.ReportAllocs()
	var size int64
	cpu := cpuSeconds()
	for b.Loop() {
		cw := &countWriter{}
		w := parquet.NewGenericWriter[Segment](cw, writerOptions(segmentGroupRows)...)
		for i := 0; i < len(rows); i += batchRows {
			if _, err := w.Write(rows[i:min(i+batchRows, len(rows))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.SetBytes(size)
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
	if used := cpuSeconds() - cpu; used > 0 {
		b.ReportMetric(float64(len(rows)*b.N)/used, "rows/cpu-s")
	}
	b.ReportMetric(float64(size)/float64(len(rows)), "B/row")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
