package pcap_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcplens/tcplens/internal/pcap"
)

// maxSeed bounds each seed taken from a real capture, to keep the seed
// corpus fast.
const maxSeed = 64 << 10

// addSeeds adds every real capture (decompressed, cut to maxSeed), every
// crafted and malformed file of the table tests, and a gzip-compressed one.
func addSeeds(f *testing.F) {
	for _, name := range captureNames(f) {
		b := loadCapture(f, name)
		f.Add(b[:min(len(b), maxSeed)])
	}
	for _, tc := range append(classicCases(), ngCases()...) {
		b, _ := tc.build()
		f.Add(b)
	}
	for _, tc := range malformedCases() {
		f.Add(tc.in)
	}
	f.Add(gzipped(loadCapture(f, "zeek-tcp-rst-inject-rae.pcap")))
}

// decompressed returns the bytes the reader sees: b itself, or b
// decompressed (as far as it goes, and at most limit bytes) when it starts
// with the gzip magic.
func decompressed(b []byte, limit int64) []byte {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	out, _ := io.ReadAll(io.LimitReader(zr, limit))
	return out
}

// FuzzReader reads arbitrary bytes to the end. Properties: no panic; no
// endless loop (every call of Next hands out a frame or moves on); every
// error is ErrNotCapture or a *FormatError whose offset lies inside the
// input and which names the frame being read (or, for a warning, the frame
// just handed out); frames are numbered 1, 2, 3 …, start inside the input
// and name a known interface with its link type; a frame holding more
// bytes than its wire length is followed by a warning naming it and saying
// so; io.EOF is
// sticky; the buffer never grows beyond twice the input (or its initial
// 256 KiB).
func FuzzReader(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		// Offsets count in the decompressed stream. The fuzzer does not
		// produce gzip bombs, so reading it all here is fine.
		size := int64(len(decompressed(in, 64<<20)))
		r, err := pcap.NewReader(bytes.NewReader(in))
		if err != nil {
			var fe *pcap.FormatError
			switch {
			case errors.As(err, &fe):
				if fe.Offset < 0 || fe.Offset > size || fe.Frame != 0 {
					t.Fatalf("NewReader() = %v: offset %d, frame %d; want an offset in [0, %d] and frame 0", err, fe.Offset, fe.Frame, size)
				}
			case !errors.Is(err, pcap.ErrNotCapture):
				t.Fatalf("NewReader() = %v (%T), want a *pcap.FormatError or pcap.ErrNotCapture", err, err)
			}
			return
		}
		frames := 0
		overLength := 0 // number of a frame with len(Data) > Length awaiting its warning
		eof := false
		for calls := 0; calls <= maxCalls(int(size)); calls++ {
			fr, err := r.Next()
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				var fe *pcap.FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("Next() = %v (%T), want a *pcap.FormatError", err, err)
				}
				if fe.Offset < 0 || fe.Offset > size {
					t.Fatalf("Next() = %v: offset %d outside the input of %d bytes", err, fe.Offset, size)
				}
				if fe.Frame < 1 || fe.Frame < frames || fe.Frame > frames+1 {
					t.Fatalf("Next() = %v after %d frames: names frame %d", err, frames, fe.Frame)
				}
				if overLength != 0 && fe.Frame == overLength && strings.Contains(fe.Msg, "wire length") {
					overLength = 0
				}
				continue
			}
			if overLength != 0 {
				t.Fatalf("frame %d holds more bytes than its wire length and no warning said so", overLength)
			}
			frames++
			ifcs := r.Interfaces()
			switch {
			case fr.Number != frames:
				t.Fatalf("Next() = %s, want frame number %d", describe(fr), frames)
			case fr.Offset < 0 || fr.Offset >= size:
				t.Fatalf("Next() = %s: offset outside the input of %d bytes", describe(fr), size)
			case fr.Interface < 0 || fr.Interface >= len(ifcs) || ifcs[fr.Interface].Link != fr.Link:
				t.Fatalf("Next() = %s: interface unknown or of another link type (%d interfaces)", describe(fr), len(ifcs))
			case fr.Length < 0 || int64(len(fr.Data)) > size:
				t.Fatalf("Next() = %s: impossible lengths", describe(fr))
			}
			if len(fr.Data) > fr.Length {
				overLength = fr.Number
			}
		}
		if !eof {
			t.Fatalf("Next() did not return io.EOF within %d calls: the reader loops", maxCalls(int(size)))
		}
		if overLength != 0 {
			t.Fatalf("frame %d holds more bytes than its wire length and no warning said so", overLength)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("Next() after io.EOF = %v, want io.EOF", err)
		}
		if n := r.BufferSize(); int64(n) > max(256<<10, 2*size) {
			t.Fatalf("buffer grew to %d bytes for an input of %d", n, size)
		}
	})
}

// FuzzReaderVsPcapgo compares the frames of arbitrary inputs with pcapgo's,
// allowing only the differences listed at the top of pcapgo_test.go.
// Where neither reader reports a problem both must hand out the same
// frames; where either does, the frames before it must agree.
func FuzzReaderVsPcapgo(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		// Both readers use compress/gzip; compare what it yields.
		data := decompressed(in, 16<<20)
		r, err := pcap.NewReader(bytes.NewReader(data))
		if err != nil {
			return // FuzzReader checks the error
		}
		ours, err := drain(r, maxCalls(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		theirs := readPcapgo(data, pcapgo.NgReaderOptions{})
		_, diffs := pcapgoDiff(data, ours, &theirs, false)
		for _, d := range diffs {
			t.Error(d)
		}
		if theirs.err == nil && len(ours.errs) == 0 {
			if want := countFor(ours, &theirs, false); want != len(theirs.frames) {
				t.Errorf("read %d frames (%d of pcapgo's link type), pcapgo %d; neither reported a problem", len(ours.frames), want, len(theirs.frames))
			}
		}
	})
}
