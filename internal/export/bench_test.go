package export

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/pqfile"
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

// BenchmarkSegmentsParquet measures the Parquet writer alone (pqfile,
// as the dataset runs it) on the segments table's rows of the echo
// capture (82,582 segments), written four times into one file (330,328
// rows, three row groups: a file of a large capture, whose buffers are
// grown once): taking the columns' values from the rows, dictionaries,
// delta encoding, levels, zstd, on one goroutine. The bytes are the
// file's; rows/cpu-s counts the CPU time the process used (the GC's
// too).
func BenchmarkSegmentsParquet(b *testing.B) {
	benchSegments(b, func(w io.Writer) segmentWriter {
		return pqfile.NewWriter(w, segmentColumns, pqfile.Options{GroupRows: segmentGroupRows, PageBytes: pageBytes})
	})
}

// BenchmarkSegmentsParquetGo measures parquet-go's GenericWriter on the
// same rows, with the options the dataset gave it before pqfile: the
// ratio of the two is what pqfile bought.
func BenchmarkSegmentsParquetGo(b *testing.B) {
	benchSegments(b, func(w io.Writer) segmentWriter {
		return parquetGoWriter{parquet.NewGenericWriter[Segment](w,
			parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
			parquet.MaxRowsPerRowGroup(segmentGroupRows),
			parquet.PageBufferSize(pageBytes),
			parquet.DataPageStatistics(false),
			parquet.CreatedBy("tcplens", "", ""))}
	})
}

type segmentWriter interface {
	Write([]Segment) error
	Close() error
}

type parquetGoWriter struct {
	*parquet.GenericWriter[Segment]
}

func (w parquetGoWriter) Write(rows []Segment) error {
	_, err := w.GenericWriter.Write(rows)
	return err
}

func benchSegments(b *testing.B, open func(io.Writer) segmentWriter) {
	rows := segmentRows(b, filepath.Join(testdata, "captures", "zeek-echo-connections.pcap.gz"))
	b.ReportAllocs()
	var size int64
	cpu := cpuSeconds()
	for b.Loop() {
		cw := &countWriter{}
		w := open(cw)
		for range benchRepeats {
			for i := 0; i < len(rows); i += batchRows {
				if err := w.Write(rows[i:min(i+batchRows, len(rows))]); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	n := benchRepeats * len(rows)
	b.SetBytes(size)
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	if used := cpuSeconds() - cpu; used > 0 {
		b.ReportMetric(float64(n*b.N)/used, "rows/cpu-s")
	}
	b.ReportMetric(float64(size)/float64(n), "B/row")
}

// benchRepeats is how many times the benchmarks write the rows into one
// file.
const benchRepeats = 4

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
