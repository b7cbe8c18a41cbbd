package pcap_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// emptyRecords is a classic pcap file header followed by n bytes of zeros:
// n/16 records of no bytes, what a gzip bomb of zeros expands to.
func emptyRecords(n int64) io.Reader {
	c := newClassic(le, 0xa1b2c3d4, 2, 4, 262144, 1)
	return io.MultiReader(bytes.NewReader(c.b), io.LimitReader(zeros{}, n))
}

// TestEmptyRecords: a capture of records that captured nothing (a gzip
// bomb expanding to gigabytes of zeros is one) gives one warning, after
// its first frame, and is counted; it is read with no allocation and no
// growth of the buffer, so its cost is bounded by its bytes and memory
// stays flat however many records there are.
func TestEmptyRecords(t *testing.T) {
	const size = 64 << 20 // 4 Mi records
	r, err := pcap.NewReader(emptyRecords(size))
	if err != nil {
		t.Fatal(err)
	}
	var warnings []error
	frames := 0
	allocs := testing.AllocsPerRun(1, func() {
		for {
			_, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				warnings = append(warnings, err)
				continue
			}
			frames++
		}
	})
	var fe *pcap.FormatError
	switch {
	case len(warnings) != 1 || !errors.As(warnings[0], &fe):
		t.Fatalf("warnings %v, want one *pcap.FormatError", warnings)
	case fe.Frame != 1 || fe.Offset != 24 || !strings.Contains(fe.Msg, "captured no bytes"):
		t.Errorf("warning %v, want frame 1 at offset 24 captured no bytes", fe)
	}
	if want := size / 16; frames != want || r.EmptyFrames() != want {
		t.Errorf("%d frames, %d empty, want %d of each", frames, r.EmptyFrames(), want)
	}
	if allocs != 0 {
		t.Errorf("reading %d empty records allocated %v times", frames, allocs)
	}
	if n := r.BufferSize(); n > 256<<10 {
		t.Errorf("the buffer grew to %d bytes", n)
	}
}

// TestEmptyRecordsPcapng: the same for Enhanced Packet Blocks of no bytes,
// among frames that have some.
func TestEmptyRecordsPcapng(t *testing.T) {
	var w ng
	w.shb(le)
	w.idb(1, 0)
	w.epb(0, 1, 60, payload(60, 1))
	w.epb(0, 2, 0, nil)
	w.epb(0, 3, 60, nil)
	w.epb(0, 4, 60, payload(60, 1))
	res := readAll(t, w.b)
	if len(res.frames) != 4 || len(res.errs) != 1 {
		t.Fatalf("%d frames, errors %v; want 4 frames and one warning", len(res.frames), res.errs)
	}
	fe := formatError(t, res.errs[0])
	if fe.Frame != 2 || !strings.Contains(fe.Msg, "captured no bytes (wire length 0)") {
		t.Errorf("warning %v, want one about frame 2", fe)
	}
	if n := res.reader.EmptyFrames(); n != 2 {
		t.Errorf("%d empty frames, want 2", n)
	}
}

// BenchmarkEmptyRecords reads a gzip stream of zeros: what a bomb costs
// per byte it expands to.
func BenchmarkEmptyRecords(b *testing.B) {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	io.Copy(zw, emptyRecords(16<<20))
	zw.Close()
	b.SetBytes(16 << 20)
	b.ReportAllocs()
	for b.Loop() {
		r, err := pcap.NewReader(bytes.NewReader(z.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			}
		}
	}
}
