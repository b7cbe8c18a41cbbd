package pcap_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

// gzipped compresses b.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestNewReaderErrors(t *testing.T) {
	good := newClassic(le, magicMicro, 2, 4, 65535, 1)
	good.packet(1, 0, 60, payload(60, 0))
	var shbOnly ng
	shbOnly.shb(le)
	tests := []struct {
		name       string
		in         []byte
		notCapture bool   // errors.Is(err, pcap.ErrNotCapture)
		offset     int64  // of the *FormatError, or -1 for none
		msg        string // part of the message
	}{
		{"empty", nil, true, -1, "empty input"},
		{"three bytes", []byte{0xd4, 0xc3, 0xb2}, true, 0, "too short for any file header"},
		{"bad magic", []byte("GET / HTTP/1.1\r\n\r\n"), true, -1, "magic number 0x47455420"},
		{"pcap header cut short", good.b[:10], false, 0, "file header is 10 bytes, want 24"},
		{"pcap version 1.0", newClassic(le, magicMicro, 1, 0, 0, 1).b, false, 4, "archaic pcap version 1.0"},
		{"pcap version 2.5", newClassic(be, magicNano, 2, 5, 0, 1).b, false, 4, "unsupported pcap version 2.5"},
		{"pcap version 3.0", newClassic(le, magicMicro, 3, 0, 0, 1).b, false, 4, "unsupported pcap version 3.0"},
		{"pcapng section header cut short", shbOnly.b[:10], false, 0, "section header cut short"},
		{"pcapng section header with a bad byte-order magic", func() []byte {
			b := bytes.Clone(shbOnly.b)
			copy(b[8:], "\x01\x02\x03\x04")
			return b
		}(), false, 0, "bad byte-order magic 0x01020304; no valid block follows"},
		{"pcapng major version 2", func() []byte {
			b := bytes.Clone(shbOnly.b)
			b[12] = 2
			return b
		}(), false, 12, "unknown pcapng major version 2"},
		{"pcapng starting with an interface block", func() []byte {
			var w ng
			w.shb(le)
			w.b = w.b[:0]
			w.b = append(w.b, 0x0a, 0x0d, 0x0d, 0x0a) // SHB type, then garbage
			return append(w.b, bytes.Repeat([]byte{0xee}, 40)...)
		}(), false, 0, ""},
		{"gzip header only", []byte{0x1f, 0x8b, 8, 0}, false, 0, "bad gzip header"},
		{"gzip of nothing", gzipped(nil), false, 0, "decompressed data too short"},
		{"gzip of garbage", gzipped([]byte("not a capture at all")), true, -1, "magic number 0x6e6f7420"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := pcap.NewReader(bytes.NewReader(tc.in))
			if err == nil {
				t.Fatalf("NewReader() = %v, nil; want an error", r)
			}
			if got := errors.Is(err, pcap.ErrNotCapture); got != tc.notCapture {
				t.Errorf("NewReader() = %v; errors.Is(ErrNotCapture) = %v, want %v", err, got, tc.notCapture)
			}
			var fe *pcap.FormatError
			switch {
			case errors.As(err, &fe) && tc.offset < 0:
				t.Errorf("NewReader() = %v at offset %d, want no *FormatError", err, fe.Offset)
			case !errors.As(err, &fe) && tc.offset >= 0:
				t.Errorf("NewReader() = %v (%T), want a *FormatError at offset %d", err, err, tc.offset)
			case fe != nil && (fe.Offset != tc.offset || fe.Frame != 0):
				t.Errorf("NewReader() = %v at offset %d frame %d, want offset %d frame 0", err, fe.Offset, fe.Frame, tc.offset)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("NewReader() = %v, want a message containing %q", err, tc.msg)
			}
		})
	}
}

// wantErr is one error a malformed file must produce.
type wantErr struct {
	after  int    // frames handed out before it
	frame  int    // FormatError.Frame
	offset int64  // FormatError.Offset
	msg    string // part of the message
	msg2   string // another part, may be empty
	eof    bool   // wraps io.ErrUnexpectedEOF
}

// malformedCase is a file with problems, the data of every frame it must
// still yield and the errors it must report, in order.
type malformedCase struct {
	name string
	in   []byte
	data [][]byte // Data of every frame handed out
	errs []wantErr
}

// malformedCases builds the malformed files. Offsets are worked out while
// the files are built.
func malformedCases() []malformedCase {
	d := func(seed byte) []byte { return payload(60, seed) }
	var cases []malformedCase
	add := func(name string, in []byte, data [][]byte, errs ...wantErr) {
		cases = append(cases, malformedCase{name, in, data, errs})
	}
	const sec = 1700000000

	// ---- classic pcap ----
	{
		c := newClassic(le, magicMicro, 2, 4, 64, 1)
		c.packet(sec, 0, 100, payload(100, 1))
		c.packet(sec, 0, 100, payload(100, 2)) // reported once only
		c.packet(sec, 0, 60, d(3))
		add("caplen above the snaplen", c.b, [][]byte{payload(100, 1), payload(100, 2), d(3)},
			wantErr{after: 1, frame: 1, offset: 24, msg: "captured length 100 exceeds the file's snaplen 64; all 100 bytes kept (reported once)"})
	}
	{
		c := newClassic(le, magicMicro, 2, 4, 65535, 1)
		o1 := c.packet(sec, 0, 50, d(1)) // caplen 60 > len 50
		c.packet(sec, 0, 60, d(2))
		add("caplen above the wire length", c.b, [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 1, offset: o1, msg: "captured length 60 exceeds the wire length 50"})
	}
	{
		// Above the snaplen and the wire length at once: both are said.
		c := newClassic(le, magicMicro, 2, 4, 40, 1)
		o1 := c.packet(sec, 0, 50, d(1))
		add("caplen above the snaplen and the wire length", c.b, [][]byte{d(1)},
			wantErr{after: 1, frame: 1, offset: o1, msg: "captured length 60 exceeds the wire length 50"})
	}
	{
		c := newClassic(be, magicMicro, 2, 4, 65535, 1)
		c.packet(sec, 1, 60, d(1))
		c.packet(sec, 2, 60, d(2))
		o3 := c.record(sec, 3, 0xffffffff, 60, d(3)) // 4 GB caplen
		o4 := c.packet(sec, 4, 60, d(4))
		c.packet(sec, 5, 60, d(5))
		add("giant caplen in the middle", c.b, [][]byte{d(1), d(2), d(4), d(5)},
			wantErr{after: 2, frame: 3, offset: o3, msg: fmt.Sprintf("captured length 4294967295 exceeds the snaplen 65535 and libpcap's limit 262144; resuming at offset %d", o4)})
	}
	{
		c := newClassic(le, magicMicro, 2, 4, 65535, 1)
		o1 := c.record(sec, 3, 0x80000000, 60, d(1))
		o2 := c.packet(sec, 4, 60, d(2))
		c.packet(sec, 5, 60, d(3))
		add("giant caplen in the first record", c.b, [][]byte{d(2), d(3)},
			wantErr{after: 0, frame: 1, offset: o1, msg: fmt.Sprintf("resuming at offset %d", o2)})
	}
	{
		c := newClassic(le, magicMicro, 2, 4, 65535, 1)
		c.packet(sec, 1, 60, d(1))
		o2 := c.record(sec, 3, 0xffffffff, 60, d(2))
		add("giant caplen with nothing after it", c.b, [][]byte{d(1)},
			wantErr{after: 1, frame: 2, offset: o2, msg: "no plausible record follows, reading stops"})
	}
	{
		c := newClassic(le, magicNano, 2, 4, 65535, 1)
		c.packet(sec, 1, 60, d(1))
		o2 := c.packet(sec, 2, 60, d(2))
		add("truncated final record", c.b[:len(c.b)-7], [][]byte{d(1)},
			wantErr{after: 1, frame: 2, offset: o2, msg: "record says 60 captured bytes, only 53 remain", eof: true})
		add("truncated final record header", c.b[:o2+9], [][]byte{d(1)},
			wantErr{after: 1, frame: 2, offset: o2, msg: "record header cut short: 9 of 16 bytes", eof: true})
	}
	{
		c := newClassic(le, magicKuznetzov, 2, 4, 65535, 1)
		c.packet(sec, 1, 60, d(1))
		o2 := c.packet(sec, 2, 60, d(2))
		add("truncated Kuznetzov record header", c.b[:o2+20], [][]byte{d(1)},
			wantErr{after: 1, frame: 2, offset: o2, msg: "record header cut short: 20 of 24 bytes", eof: true})
	}

	// ---- pcapng ----
	// ngFile writes a section with one interface and the blocks of
	// middle between two good packets.
	ngFile := func(order byteOrder, middle func(w *ng)) (b []byte) {
		w := ng{}
		w.shb(order)
		w.idb(1, 0)
		w.epb(0, 1, 60, d(1))
		middle(&w)
		w.epb(0, 2, 60, d(2))
		return w.b
	}
	// lie writes an EPB whose length field (at both ends, or one) lies.
	lie := func(w *ng, lead, trail uint32) int64 {
		off := int64(len(w.b))
		w.epb(0, 9, 60, d(9))
		w.order.PutUint32(w.b[off+4:], lead)
		w.order.PutUint32(w.b[len(w.b)-4:], trail)
		return off
	}
	for _, order := range []byteOrder{le, be} {
		var off int64
		name := func(s string) string {
			if order == be {
				return s + ", big-endian"
			}
			return s
		}
		add(name("block length too large"), ngFile(order, func(w *ng) { off = lie(w, 152, 152) }), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "block length 152 at the start but"},
		)
		cases[len(cases)-1].errs[0].msg2 = fmt.Sprintf("resuming at offset %d", off+92)
		add(name("block length too small"), ngFile(order, func(w *ng) { off = lie(w, 16, 92) }), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: fmt.Sprintf("resuming at offset %d", off+92)})
		add(name("block length not a multiple of 4"), ngFile(order, func(w *ng) { off = lie(w, 93, 92) }), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: fmt.Sprintf("block length 93 is not a multiple of 4; resuming at offset %d", off+92)})
		add(name("trailer mismatch"), ngFile(order, func(w *ng) { off = lie(w, 92, 96) }), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "block length 92 at the start but 96 at the end"})
		add(name("block length 0"), ngFile(order, func(w *ng) { off = lie(w, 0, 0) }), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "block length 0 < minimum 12"})
		add(name("block length 8"), ngFile(order, func(w *ng) {
			off = int64(len(w.b))
			w.b = w.order.AppendUint32(w.b, 0x12345678)
			w.b = w.order.AppendUint32(w.b, 8)
		}), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "block length 8 < minimum 12"})
		add(name("block length beyond the end, a good block after it"), ngFile(order, func(w *ng) { off = lie(w, 4000, 92) }), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: fmt.Sprintf("block of 4000 bytes cut short: 184 bytes remain; resuming at offset %d", off+92)})
		add(name("enhanced packet block caplen beyond its block"), ngFile(order, func(w *ng) {
			off = w.block(blockEPB, w.epbBody(0, 9, 61, 1514, d(9)))
		}), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "enhanced packet block says 61 captured bytes but holds only 60"})
		add(name("enhanced packet block caplen 4 GB"), ngFile(order, func(w *ng) {
			off = w.block(blockEPB, w.epbBody(0, 9, 0xffffffff, 1514, d(9)))
		}), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "says 4294967295 captured bytes but holds only 60"})
		add(name("enhanced packet block caplen above the wire length"), ngFile(order, func(w *ng) {
			off = w.block(blockEPB, w.epbBody(0, 9, 60, 50, d(9)))
		}), [][]byte{d(1), d(9), d(2)},
			wantErr{after: 2, frame: 2, offset: off, msg: "enhanced packet block says 60 captured bytes, more than the wire length 50"})
		add(name("enhanced packet block with a short body"), ngFile(order, func(w *ng) {
			off = w.block(blockEPB, payload(16, 0))
		}), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "enhanced packet block body is 16 bytes, want at least 20"})
		add(name("undefined interface"), ngFile(order, func(w *ng) { off = w.epb(1, 9, 60, d(9)) }), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "enhanced packet block names interface 1, but section 0 describes 1"})
		add(name("interface of an earlier section"), ngFile(order, func(w *ng) {
			w.shb(order)
			off = w.pb(0, 0, 9, 60, d(9))
			w.idb(1, 0)
		}), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "packet block names interface 0, but section 1 describes 0"})
		add(name("simple packet block before any interface"), func() []byte {
			var w ng
			w.shb(order)
			off = w.spb(60, d(9))
			w.idb(1, 0)
			w.epb(0, 1, 60, d(1))
			w.epb(0, 2, 60, d(2))
			return w.b
		}(), [][]byte{d(1), d(2)},
			wantErr{after: 0, frame: 1, offset: off, msg: "simple packet block names interface 0, but section 0 describes 0"})
		add(name("interface option overruns its block"), ngFile(order, func(w *ng) {
			body := w.order.AppendUint32(nil, 113)
			body = w.order.AppendUint32(body, 0)
			body = w.order.AppendUint16(body, optIfName)
			body = w.order.AppendUint16(body, 200)
			off = w.block(blockIDB, body)
		}), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "interface option 2 of 200 bytes overruns its block"})
		add(name("if_tsresol too fine"), ngFile(order, func(w *ng) { off = w.idb(1, 0, w.opt(optTSResol, u8(20))) }), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "if_tsresol 0x14 is finer than the format allows"})
		add(name("interface block with a short body"), ngFile(order, func(w *ng) { off = w.block(blockIDB, payload(4, 0)) }), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "interface description body is 4 bytes, want at least 8"})
		add(name("section header with a short body"), ngFile(order, func(w *ng) {
			off = w.block(blockSHB, w.order.AppendUint32(nil, 0x1A2B3C4D))
			w.idb(1, 0)
		}), [][]byte{d(1), d(2)},
			wantErr{after: 1, frame: 2, offset: off, msg: "section header body is 4 bytes, want at least 16"})
		{
			var w ng
			w.shb(order)
			w.idb(1, 0)
			w.epb(0, 1, 60, d(1))
			o2 := w.epb(0, 2, 60, d(2))
			add(name("truncated final block"), w.b[:len(w.b)-5], [][]byte{d(1)},
				wantErr{after: 1, frame: 2, offset: o2, msg: "block of 92 bytes cut short: 87 bytes remain; no valid block follows", eof: true})
			add(name("truncated final block header"), w.b[:o2+6], [][]byte{d(1)},
				wantErr{after: 1, frame: 2, offset: o2, msg: "block header cut short: 6 of 8 bytes", eof: true})
		}
		{
			// Garbage between blocks: one error, then the next block.
			var w ng
			w.shb(order)
			w.idb(1, 0)
			w.epb(0, 1, 60, d(1))
			o2 := int64(len(w.b))
			w.b = append(w.b, bytes.Repeat([]byte{0xff}, 64)...)
			o3 := w.epb(0, 2, 60, d(2))
			add(name("garbage between blocks"), w.b, [][]byte{d(1), d(2)},
				wantErr{after: 1, frame: 2, offset: o2, msg: fmt.Sprintf("resuming at offset %d", o3)})
		}
		{
			// The next block starts a section in the other byte order.
			var w ng
			w.shb(order)
			w.idb(1, 0)
			w.epb(0, 1, 60, d(1))
			o2 := int64(len(w.b))
			w.b = append(w.b, bytes.Repeat([]byte{0}, 12)...)
			other := le
			if order == le {
				other = be
			}
			o3 := w.shb(other)
			w.idb(1, 0)
			w.epb(0, 2, 60, d(2))
			add(name("resynchronising onto a section of the other byte order"), w.b, [][]byte{d(1), d(2)},
				wantErr{after: 1, frame: 2, offset: o2, msg: fmt.Sprintf("block length 0 < minimum 12; resuming at offset %d", o3)})
		}
	}

	// ---- gzip ----
	{
		c := newClassic(le, magicMicro, 2, 4, 65535, 1)
		for i := range 200 {
			c.packet(sec, uint32(i), 60, d(byte(i)))
		}
		z := gzipped(c.b)
		cut := z[:len(z)-4] // the trailer's length field is missing
		var frames [][]byte
		for i := range 200 {
			frames = append(frames, d(byte(i)))
		}
		add("gzip stream without its trailer", cut, frames,
			wantErr{after: 200, frame: 201, offset: int64(len(c.b)), msg: "gzip: frame 201 at offset 15224 (0x3b78): compressed stream cut short: unexpected EOF", eof: true})
		bad := bytes.Clone(z)
		bad[len(bad)-8] ^= 1 // CRC-32
		add("gzip stream with a bad checksum", bad, frames,
			wantErr{after: 200, frame: 201, offset: int64(len(c.b)), msg: "gzip: frame 201 at offset 15224 (0x3b78): compressed stream is corrupt: gzip: invalid checksum"})
	}
	return cases
}

func TestMalformed(t *testing.T) {
	for _, tc := range malformedCases() {
		t.Run(tc.name, func(t *testing.T) {
			res := readAll(t, tc.in)
			for i := range max(len(res.frames), len(tc.data)) {
				switch {
				case i >= len(res.frames):
					t.Errorf("frame %d: Next() = io.EOF, want data %x", i+1, tc.data[i])
				case i >= len(tc.data):
					t.Errorf("Next() = %s, want io.EOF", describe(res.frames[i].Frame))
				case res.frames[i].Number != i+1 || !bytes.Equal(res.frames[i].Data, tc.data[i]):
					t.Errorf("Next() = %s, want frame %d with data %x", describe(res.frames[i].Frame), i+1, tc.data[i])
				}
			}
			for i := range max(len(res.errs), len(tc.errs)) {
				if i >= len(tc.errs) {
					t.Errorf("Next() = %v, want no more errors", res.errs[i])
					continue
				}
				w := tc.errs[i]
				if i >= len(res.errs) {
					t.Errorf("Next() = no error, want %q", w.msg)
					continue
				}
				fe := formatError(t, res.errs[i])
				if res.errAfter[i] != w.after || fe.Frame != w.frame || fe.Offset != w.offset ||
					!strings.Contains(fe.Error(), w.msg) || !strings.Contains(fe.Error(), w.msg2) || errors.Is(fe, io.ErrUnexpectedEOF) != w.eof {
					t.Errorf("Next() = %v after %d frames (frame %d, offset %d, unexpected EOF %v), want %q after %d frames (frame %d, offset %d, unexpected EOF %v)",
						fe, res.errAfter[i], fe.Frame, fe.Offset, errors.Is(fe, io.ErrUnexpectedEOF), w.msg, w.after, w.frame, w.offset, w.eof)
				}
			}
			checkErrorsInside(t, res, int64(uncompressedLen(t, tc.in)))
			// io.EOF is sticky.
			if _, err := res.reader.Next(); err != io.EOF {
				t.Errorf("Next() after io.EOF = %v, want io.EOF", err)
			}
		})
	}
}

// uncompressedLen is the length of b after gzip decompression, as far as
// it decompresses.
func uncompressedLen(t testing.TB, b []byte) int {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return len(b)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return 0
	}
	n, _ := io.Copy(io.Discard, zr)
	return int(n)
}

// checkErrorsInside checks that every error is a *FormatError whose offset
// lies inside the input and which names the frame being read (or, for a
// warning about a frame already handed out, that frame).
func checkErrorsInside(t testing.TB, res *result, size int64) {
	t.Helper()
	for i, err := range res.errs {
		fe := formatError(t, err)
		if fe.Offset < 0 || fe.Offset > size {
			t.Errorf("Next() = %v: offset %d outside the input of %d bytes", fe, fe.Offset, size)
		}
		if n := res.errAfter[i]; fe.Frame < 1 || fe.Frame < n || fe.Frame > n+1 {
			t.Errorf("Next() = %v after %d frames: names frame %d", fe, n, fe.Frame)
		}
	}
}

// readAllocs reads in to the end and returns the bytes allocated.
func readAllocs(t *testing.T, in []byte) (allocated uint64, res *result) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := pcap.NewReader(bytes.NewReader(in))
	if err == nil {
		res, err = drain(r, maxCalls(len(in)))
		if err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, res
}

// allocLimit bounds what reading an input of size bytes (after
// decompression) may allocate: the initial 256 KiB buffer, a buffer that
// doubles only when full of data actually read (under 4·size in all), a
// few KiB per error reported, and for gzip the decompressor and a copy of
// the first read.
func allocLimit(size int, errs int, compressed bool) uint64 {
	limit := 256<<10 + 4*size + 2<<10*errs + 32<<10
	if compressed {
		limit += 256<<10 + 64<<10
	}
	return uint64(limit)
}

// TestMalformedAllocs checks that no malformed file, above all none with
// a lying length field, makes the reader allocate beyond what its size
// justifies.
func TestMalformedAllocs(t *testing.T) {
	cases := malformedCases()
	// Length fields of 16 MiB (the reader's maximum) in tiny files.
	{
		c := newClassic(le, magicMicro, 2, 4, 0x7fffffff, 1)
		c.record(1, 0, 16<<20-1, 16<<20-1, payload(60, 0))
		cases = append(cases, malformedCase{name: "pcap caplen 16 MiB under a 2 GiB snaplen", in: c.b})
		var w ng
		w.shb(le)
		w.b = w.order.AppendUint32(w.b, blockEPB)
		w.b = w.order.AppendUint32(w.b, 16<<20)
		cases = append(cases, malformedCase{name: "pcapng block length 16 MiB", in: w.b})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, res := readAllocs(t, tc.in)
			errs := 0
			if res != nil {
				errs = len(res.errs)
			}
			size := uncompressedLen(t, tc.in)
			if limit := allocLimit(size, errs, size != len(tc.in)); got > limit {
				t.Errorf("reading %d bytes allocated %d bytes, want at most %d", size, got, limit)
			}
		})
	}
}

// TestResyncRealFiles checks resynchronisation on the real corrupt and
// truncated captures: where the bad record is, where reading resumes, and
// that the frames after it are the real ones (their timestamps run on).
func TestResyncRealFiles(t *testing.T) {
	tests := []struct {
		name       string
		frames     int // in all
		errFrame   int
		errOffset  int64
		resumeAt   int64 // -1: reading stops
		msg        string
		unexpected bool
	}{
		// Frame 6's caplen is 2 bytes too large: the header after it
		// (offset 5035) reads caplen 4325376; the real one is at 5033.
		{"suri-bug-1450-04-tls_DER-incomplete-header.pcap", 14, 7, 5035, 5033, "captured length 4325376 exceeds", false},
		// Frame 18's caplen is 3 bytes too small.
		{"suri-smtp-to-comma.pcap", 199, 19, 3695, 3698, "captured length 3925868813 exceeds", false},
		{"suri-http-mime-truncated.pcap.gz", 2696, 2697, 2715459, -1, "record header cut short: 1 of 16 bytes", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := loadCapture(t, tc.name)
			if got, res := readAllocs(t, data); got > allocLimit(len(data), len(res.errs), false) {
				t.Errorf("reading %d bytes allocated %d bytes, want at most %d", len(data), got, allocLimit(len(data), len(res.errs), false))
			}
			res := readAll(t, data)
			if len(res.frames) != tc.frames || len(res.errs) != 1 {
				t.Fatalf("read %d frames and errors %v, want %d frames and one error", len(res.frames), res.errs, tc.frames)
			}
			fe := formatError(t, res.errs[0])
			if fe.Frame != tc.errFrame || fe.Offset != tc.errOffset || !strings.Contains(fe.Msg, tc.msg) || errors.Is(fe, io.ErrUnexpectedEOF) != tc.unexpected {
				t.Errorf("Next() = %v, want frame %d at offset %d: %q", fe, tc.errFrame, tc.errOffset, tc.msg)
			}
			if res.errAfter[0] != tc.errFrame-1 {
				t.Errorf("error after %d frames, want after %d", res.errAfter[0], tc.errFrame-1)
			}
			if tc.resumeAt < 0 {
				if len(res.frames) != tc.errFrame-1 {
					t.Errorf("frames after the error: %d, want none", len(res.frames)-(tc.errFrame-1))
				}
				return
			}
			if want := fmt.Sprintf("resuming at offset %d", tc.resumeAt); !strings.Contains(fe.Msg, want) {
				t.Errorf("Next() = %v, want %q", fe, want)
			}
			next := res.frames[tc.errFrame-1]
			if next.Number != tc.errFrame || next.Offset != tc.resumeAt {
				t.Errorf("Next() = %s, want frame %d at offset %d", describe(next.Frame), tc.errFrame, tc.resumeAt)
			}
			// The records after the resynchronisation are real: their
			// times are within a second of the frame before.
			prev := res.frames[tc.errFrame-2]
			if d := next.Time.Sub(prev.Time); d < 0 || d.Seconds() > 1 {
				t.Errorf("frame %d time %v, %v after frame %d: not a real record", next.Number, next.Time.Std(), d, prev.Number)
			}
		})
	}
}

// recordEnds walks a well-formed capture and returns where each record or
// block ends, the file header's end first.
func recordEnds(t *testing.T, b []byte) []int64 {
	t.Helper()
	var ends []int64
	if le.Uint32(b) == blockSHB {
		var order byteOrder = le
		for pos := 0; pos < len(b); {
			if le.Uint32(b[pos:]) == blockSHB && be.Uint32(b[pos+8:]) == 0x1A2B3C4D {
				order = be
			} else if le.Uint32(b[pos:]) == blockSHB {
				order = le
			}
			pos += int(order.Uint32(b[pos+4:]))
			ends = append(ends, int64(pos))
		}
		return ends
	}
	var order byteOrder = le
	if m := be.Uint32(b); m == magicMicro || m == magicNano || m == magicKuznetzov {
		order = be
	}
	hl := 16
	if order.Uint32(b) == magicKuznetzov {
		hl = 24
	}
	for pos := 24; ; {
		ends = append(ends, int64(pos))
		if pos >= len(b) {
			return ends
		}
		pos += hl + int(order.Uint32(b[pos+8:]))
	}
}

// TestCutEverywhere reads small captures cut at every byte length: no
// panic, the frames read are exactly those whose records the cut left
// whole, and a cut inside a record or block gives one *FormatError naming
// the next frame and an offset before the cut, and wrapping
// io.ErrUnexpectedEOF. A gzip-compressed capture cut anywhere but at its
// end is damaged, whatever it decompresses to.
func TestCutEverywhere(t *testing.T) {
	names := []string{
		"zeek-tcp-rst-inject-rae.pcap",       // classic, µs
		"tcpdump-tcp-handshake-nano.pcap",    // classic, ns
		"tcpdump-pptp.pcap",                  // classic, big-endian
		"zeek-pcapng-multi-interface.pcapng", // pcapng, two interfaces
		"gopacket-be-test202.pcapng",         // big-endian pcapng, 3 sections, SPBs, other blocks
	}
	for _, name := range names {
		for _, compress := range []bool{false, true} {
			if compress && name != names[0] && name != names[3] {
				continue
			}
			full := loadCapture(t, name)
			t.Run(fmt.Sprintf("%s gzip %v", name, compress), func(t *testing.T) {
				whole := readAll(t, full)
				if len(whole.errs) > 0 {
					t.Fatalf("uncut: %v", whole.errs)
				}
				ends := recordEnds(t, full)
				// frameEnd[i] is where frame i's record or block ends.
				frameEnd := make([]int64, len(whole.frames))
				for i, f := range whole.frames {
					for _, e := range ends {
						if e > f.Offset {
							frameEnd[i] = e
							break
						}
					}
				}
				in := full
				if compress {
					in = gzipped(full)
				}
				for n := range len(in) + 1 {
					cut := in[:n]
					r, err := pcap.NewReader(bytes.NewReader(cut))
					if err != nil {
						var fe *pcap.FormatError
						if !errors.Is(err, pcap.ErrNotCapture) && !errors.As(err, &fe) {
							t.Fatalf("cut at %d: NewReader() = %v, want a *FormatError", n, err)
						}
						if fe != nil && (fe.Offset < 0 || fe.Offset > int64(n)) {
							t.Fatalf("cut at %d: NewReader() = %v, offset outside the input", n, err)
						}
						if !compress && n >= int(ends[0]) {
							t.Fatalf("cut at %d: NewReader() = %v, want the file header read", n, err)
						}
						continue
					}
					res, err := drain(r, maxCalls(len(full)))
					if err != nil {
						t.Fatalf("cut at %d: %v", n, err)
					}
					if n%97 == 0 {
						// Measuring needs a GC; a sample of the cuts will do.
						got, _ := readAllocs(t, cut)
						if limit := allocLimit(len(full), len(res.errs), compress); got > limit {
							t.Fatalf("cut at %d: reading allocated %d bytes, want at most %d", n, got, limit)
						}
					}
					for i, f := range res.frames {
						if i >= len(whole.frames) || !sameFrame(f.Frame, whole.frames[i].Frame) {
							t.Fatalf("cut at %d: Next() = %s, want %s", n, describe(f.Frame), describe(whole.frames[i].Frame))
						}
					}
					checkErrorsInside(t, res, int64(len(full)))
					if compress {
						if n < len(in) && (len(res.errs) != 1 || !errors.Is(res.errs[0], io.ErrUnexpectedEOF)) {
							t.Fatalf("cut at %d of %d: errors %v, want one wrapping io.ErrUnexpectedEOF", n, len(in), res.errs)
						}
						continue
					}
					want, clean := 0, false
					for i := range whole.frames {
						if frameEnd[i] <= int64(n) {
							want = i + 1
						}
					}
					for _, e := range ends {
						clean = clean || e == int64(n)
					}
					if len(res.frames) != want {
						t.Fatalf("cut at %d: read %d frames, want %d", n, len(res.frames), want)
					}
					switch {
					case clean && len(res.errs) > 0:
						t.Fatalf("cut at %d, a record boundary: Next() = %v, want io.EOF", n, res.errs[0])
					case !clean && len(res.errs) != 1:
						t.Fatalf("cut at %d, inside a record: errors %v, want one", n, res.errs)
					case !clean:
						fe := formatError(t, res.errs[0])
						if !errors.Is(fe, io.ErrUnexpectedEOF) || fe.Frame != want+1 || fe.Offset >= int64(n) {
							t.Fatalf("cut at %d: Next() = %v after %d frames, want io.ErrUnexpectedEOF for frame %d at an offset before the cut", n, fe, want, want+1)
						}
					}
				}
			})
		}
	}
}

// TestCorruptGzip flips each byte of a gzip-compressed capture after the
// fixed header fields that nothing checks (mtime, xfl, os): reading must
// end, and must report the damage as a *FormatError inside the
// decompressed data, whether deflate, the CRC-32 or the length notices.
func TestCorruptGzip(t *testing.T) {
	raw := loadCapture(t, "zeek-tcp-rst-inject-rae.pcap")
	z := gzipped(raw)
	for i := 10; i < len(z); i++ {
		in := bytes.Clone(z)
		in[i] ^= 0x55
		r, err := pcap.NewReader(bytes.NewReader(in))
		if err != nil {
			var fe *pcap.FormatError
			if !errors.Is(err, pcap.ErrNotCapture) && !errors.As(err, &fe) {
				t.Fatalf("byte %d flipped: NewReader() = %v (%T), want a *pcap.FormatError", i, err, err)
			}
			continue
		}
		res, err := drain(r, maxCalls(len(raw)+(1<<16)))
		if err != nil {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
		if len(res.errs) == 0 {
			t.Fatalf("byte %d flipped: read %d frames and no error, want the damage reported", i, len(res.frames))
		}
		checkErrorsInside(t, res, int64(uncompressedLen(t, in)))
	}
}
