package pcap_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

// capturesDir holds the real captures; their provenance is in the corpus
// manifest.
const capturesDir = "../../testdata/captures"

// captureNames lists every capture in capturesDir.
func captureNames(t testing.TB) []string {
	t.Helper()
	ents, err := os.ReadDir(capturesDir)
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
		t.Fatalf("no captures in %s", capturesDir)
	}
	return names
}

var (
	captureMu    sync.Mutex
	captureCache = map[string][]byte{}
)

// loadCapture returns the bytes of a capture, decompressed when its name
// ends in .gz. Results are cached: several tests read the same files.
func loadCapture(t testing.TB, name string) []byte {
	t.Helper()
	captureMu.Lock()
	defer captureMu.Unlock()
	if b, ok := captureCache[name]; ok {
		return b
	}
	b, err := os.ReadFile(filepath.Join(capturesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	captureCache[name] = b
	return b
}

// frame is a copy of a pcap.Frame that outlives the next call to Next.
type frame struct {
	pcap.Frame
	bigEndian bool // byte order of the section the frame came from
}

// result is everything a Reader handed out for one input.
type result struct {
	frames []frame
	errs   []error // every error other than io.EOF, in order
	// errAfter[i] is the number of frames handed out before errs[i].
	errAfter []int
	reader   *pcap.Reader
}

// cleanPrefix is the number of frames read before the first error, or
// len(frames) when there was none.
func (res *result) cleanPrefix() int {
	if len(res.errAfter) == 0 {
		return len(res.frames)
	}
	return res.errAfter[0]
}

// maxCalls bounds the calls to Next for one input: every call either hands
// out a frame or consumes at least one byte, so more calls than this mean
// the reader loops.
func maxCalls(size int) int { return 2*size + 100 }

// readAll reads data to the end, copying every frame. It fails the test if
// NewReader fails or if the reader does not reach io.EOF within
// maxCalls calls of Next.
func readAll(t testing.TB, data []byte) *result {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("NewReader() = %v, want a reader", err)
	}
	res, err := drain(r, maxCalls(len(decompressed(data, 1<<30))))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// drain reads r to io.EOF. It returns an error if that takes more than
// limit calls to Next.
func drain(r *pcap.Reader, limit int) (*result, error) {
	res := &result{reader: r}
	for range limit {
		f, err := r.Next()
		if err == io.EOF {
			return res, nil
		}
		if err != nil {
			res.errs = append(res.errs, err)
			res.errAfter = append(res.errAfter, len(res.frames))
			continue
		}
		f.Data = bytes.Clone(f.Data)
		res.frames = append(res.frames, frame{Frame: f, bigEndian: r.BigEndian()})
	}
	return res, errors.New("Next() never returned io.EOF: the reader loops")
}

// formatError returns err as a *pcap.FormatError, failing the test if it
// is not one.
func formatError(t testing.TB, err error) *pcap.FormatError {
	t.Helper()
	var fe *pcap.FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("Next() = %v (%T), want a *pcap.FormatError", err, err)
	}
	return fe
}

// ---- builders for crafted classic pcap files ----

// Classic pcap magic numbers as a writer stores them in its own byte order.
const (
	magicMicro     = 0xa1b2c3d4
	magicNano      = 0xa1b23c4d
	magicKuznetzov = 0xa1b2cd34
)

// classic builds a classic pcap file.
type classic struct {
	order  byteOrder
	hdrLen int // 16, or 24 for the Kuznetzov variant
	b      []byte
}

// newClassic writes a file header: magic, version, thiszone 0, sigfigs 0,
// snaplen, link-type word.
func newClassic(order byteOrder, magic uint32, major, minor uint16, snapLen, linkWord uint32) *classic {
	c := &classic{order: order, hdrLen: 16}
	if magic == magicKuznetzov {
		c.hdrLen = 24
	}
	c.b = order.AppendUint32(c.b, magic)
	c.b = order.AppendUint16(c.b, major)
	c.b = order.AppendUint16(c.b, minor)
	c.b = order.AppendUint32(c.b, 0) // thiszone
	c.b = order.AppendUint32(c.b, 0) // sigfigs
	c.b = order.AppendUint32(c.b, snapLen)
	c.b = order.AppendUint32(c.b, linkWord)
	return c
}

// record appends a record whose header holds the four fields as given
// (incl_len and orig_len in the order the file's version uses) followed by
// data. It returns the record's offset.
func (c *classic) record(sec, frac, field3, field4 uint32, data []byte) int64 {
	off := int64(len(c.b))
	c.b = c.order.AppendUint32(c.b, sec)
	c.b = c.order.AppendUint32(c.b, frac)
	c.b = c.order.AppendUint32(c.b, field3)
	c.b = c.order.AppendUint32(c.b, field4)
	if c.hdrLen == 24 {
		// ifindex, protocol, pkt_type, padding
		c.b = c.order.AppendUint32(c.b, 2)
		c.b = c.order.AppendUint16(c.b, 0x0800)
		c.b = append(c.b, 0, 0)
	}
	c.b = append(c.b, data...)
	return off
}

// packet appends a record with incl_len = len(data) and the given wire length.
func (c *classic) packet(sec, frac uint32, wire int, data []byte) int64 {
	return c.record(sec, frac, uint32(len(data)), uint32(wire), data)
}

// ---- builders for crafted pcapng files ----

// pcapng block types and option codes used by the tests.
const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 1
	blockPB  = 2
	blockSPB = 3
	blockNRB = 4
	blockISB = 5
	blockEPB = 6

	optEnd      = 0
	optComment  = 1
	optIfName   = 2
	optTSResol  = 9
	optFCSLen   = 13
	optTSOffset = 14
)

// ng builds a pcapng file; every section may use its own byte order.
type ng struct {
	order byteOrder
	b     []byte
}

// pad4 pads b with zeros to a multiple of 4 bytes.
func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// block appends a block (type, total length, body padded to 4 bytes, total
// length) and returns its offset.
func (w *ng) block(typ uint32, body []byte) int64 {
	off := int64(len(w.b))
	body = pad4(bytes.Clone(body))
	n := uint32(12 + len(body))
	w.b = w.order.AppendUint32(w.b, typ)
	w.b = w.order.AppendUint32(w.b, n)
	w.b = append(w.b, body...)
	w.b = w.order.AppendUint32(w.b, n)
	return off
}

// opt encodes one option with its padding.
func (w *ng) opt(code uint16, v []byte) []byte {
	b := w.order.AppendUint16(nil, code)
	b = w.order.AppendUint16(b, uint16(len(v)))
	return pad4(append(b, v...))
}

// endOpts is the opt_endofopt option.
func (w *ng) endOpts() []byte { return w.opt(optEnd, nil) }

// shb starts a new section in the given byte order.
func (w *ng) shb(order byteOrder, opts ...[]byte) int64 {
	w.order = order
	body := order.AppendUint32(nil, 0x1A2B3C4D)
	body = order.AppendUint16(body, 1) // major
	body = order.AppendUint16(body, 0) // minor
	body = order.AppendUint64(body, ^uint64(0))
	for _, o := range opts {
		body = append(body, o...)
	}
	return w.block(blockSHB, body)
}

// idb appends an Interface Description Block.
func (w *ng) idb(link uint16, snapLen uint32, opts ...[]byte) int64 {
	body := w.order.AppendUint16(nil, link)
	body = w.order.AppendUint16(body, 0)
	body = w.order.AppendUint32(body, snapLen)
	for _, o := range opts {
		body = append(body, o...)
	}
	if len(opts) > 0 {
		body = append(body, w.endOpts()...)
	}
	return w.block(blockIDB, body)
}

// epbBody is the body of an Enhanced Packet Block with an explicit
// captured length (which may lie about data).
func (w *ng) epbBody(ifid uint32, ts uint64, caplen, wire uint32, data []byte, opts ...[]byte) []byte {
	body := w.order.AppendUint32(nil, ifid)
	body = w.order.AppendUint32(body, uint32(ts>>32))
	body = w.order.AppendUint32(body, uint32(ts))
	body = w.order.AppendUint32(body, caplen)
	body = w.order.AppendUint32(body, wire)
	body = pad4(append(body, data...))
	for _, o := range opts {
		body = append(body, o...)
	}
	if len(opts) > 0 {
		body = append(body, w.endOpts()...)
	}
	return body
}

// epb appends an Enhanced Packet Block.
func (w *ng) epb(ifid uint32, ts uint64, wire int, data []byte, opts ...[]byte) int64 {
	return w.block(blockEPB, w.epbBody(ifid, ts, uint32(len(data)), uint32(wire), data, opts...))
}

// spb appends a Simple Packet Block holding data.
func (w *ng) spb(wire int, data []byte) int64 {
	return w.block(blockSPB, append(w.order.AppendUint32(nil, uint32(wire)), data...))
}

// pb appends an obsolete Packet Block.
func (w *ng) pb(ifid, drops uint16, ts uint64, wire int, data []byte) int64 {
	body := w.order.AppendUint16(nil, ifid)
	body = w.order.AppendUint16(body, drops)
	body = w.order.AppendUint32(body, uint32(ts>>32))
	body = w.order.AppendUint32(body, uint32(ts))
	body = w.order.AppendUint32(body, uint32(len(data)))
	body = w.order.AppendUint32(body, uint32(wire))
	body = append(body, data...)
	return w.block(blockPB, body)
}

// u8, u64 encode option values.
func u8(v byte) []byte { return []byte{v} }

func (w *ng) u64(v uint64) []byte { return w.order.AppendUint64(nil, v) }

// payload returns n recognisable bytes.
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// byteOrder reads and appends in one byte order.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

var (
	le byteOrder = binary.LittleEndian
	be byteOrder = binary.BigEndian
)
