// Package pqfile writes Apache Parquet files, column by column, for
// tables whose columns are declared in Go once (Column, Schema): each
// column's values are taken from the rows by a typed function, without
// reflection, boxing or an allocation per value. It writes what tcplens
// export needs: flat required and optional columns of INT32, INT64,
// DOUBLE, BOOLEAN, STRING and TIMESTAMP(NANOS), lists of strings, of
// INT64s and of pairs of INT64s; PLAIN, RLE_DICTIONARY and
// DELTA_BINARY_PACKED values; version 2 data pages compressed with zstd;
// row groups written as they fill; each column chunk's statistics and
// the page index, so that query engines skip row groups and pages.
//
// The files are laid out as github.com/parquet-go/parquet-go writes
// them for the same Go types (the schema elements alike, field for
// field), which reads them back in the tests.
package pqfile

import (
	"encoding/binary"
	"io"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Schema is a table's columns, in order, for rows of type T; name is the
// schema's root (parquet-go names it after the Go type).
type Schema[T any] struct {
	name string
	cols []Column[T]
}

// NewSchema returns the schema of the columns.
func NewSchema[T any](name string, cols ...Column[T]) *Schema[T] {
	return &Schema[T]{name: name, cols: cols}
}

// Options are a writer's.
type Options struct {
	// GroupRows is the rows of a row group, which is held in memory
	// (encoded and compressed) until it is full.
	GroupRows int
	// PageBytes is about how large a page's values are before they are
	// encoded and compressed.
	PageBytes int
}

// Defaults.
const (
	DefaultGroupRows = 64 << 10
	DefaultPageBytes = 64 << 10
)

// batchRows is how many rows the leaves take at a time, between which
// each checks whether its page is full: pages end at rows' boundaries,
// and grow by at most this many rows over PageBytes.
const batchRows = 128

// indexLimit is how long a string may be as a page's bound in the page
// index; longer ones are cut (the maximum raised so it stays above).
const indexLimit = 64

// skipAfterPoor is how many pages of a column go uncompressed after one
// that zstd did not make smaller.
const skipAfterPoor = 15

// createdBy is the footer's created_by: APPLICATION version VERSION
// (build HASH), as parquet-java's VersionParser reads it, which parquet-go
// wrote for CreatedBy("tcplens", "", ""). Where it does not parse,
// parquet-java ignores the statistics of the string columns
// (PARQUET-251), and Spark, Hive, Trino and Athena with it
// (tests/TestParquetReaders).
const createdBy = "tcplens version  (build )"

var magic = []byte("PAR1")

// Writer writes a Parquet file of rows of type T.
type Writer[T any] struct {
	file
	writes []func(*leaf, []T)
}

// NewWriter returns a writer of a file of schema s to w.
func NewWriter[T any](w io.Writer, s *Schema[T], opts Options) *Writer[T] {
	if opts.GroupRows <= 0 {
		opts.GroupRows = DefaultGroupRows
	}
	if opts.PageBytes <= 0 {
		opts.PageBytes = DefaultPageBytes
	}
	pw := &Writer[T]{file: file{out: w, opts: opts, zstd: encoders.Get().(*zstd.Encoder)}}
	pw.elems = []element{{name: s.name, phys: -1, repetition: -1, children: len(s.cols)}}
	for _, c := range s.cols {
		pw.elems = append(pw.elems, c.elems...)
		for _, d := range c.leaves {
			pw.leaves = append(pw.leaves, &leaf{path: d.path, phys: d.phys, enc: d.enc, maxDef: d.maxDef, maxRep: d.maxRep})
			pw.writes = append(pw.writes, d.write)
		}
	}
	pw.write(magic)
	return pw
}

// Write adds rows to the file; the rows' strings are kept until their
// row group is written.
func (w *Writer[T]) Write(rows []T) error {
	for len(rows) > 0 && w.err == nil {
		n := min(len(rows), batchRows, w.opts.GroupRows-w.groupRows)
		for i, write := range w.writes {
			l := w.leaves[i]
			write(l, rows[:n])
			if l.size() >= w.opts.PageBytes {
				w.flushPage(l)
			}
		}
		w.groupRows += n
		rows = rows[n:]
		if w.groupRows == w.opts.GroupRows {
			w.flushGroup()
		}
	}
	return w.err
}

// Close writes the last row group, the page index and the footer. It
// does not close the underlying writer.
func (w *Writer[T]) Close() error {
	if w.zstd == nil {
		return w.err
	}
	if w.groupRows > 0 {
		w.flushGroup()
	}
	w.writeFooter()
	encoders.Put(w.zstd)
	w.zstd = nil
	return w.err
}

// encoders are zstd encoders for the writers, which take one each: an
// encoder's tables take a few hundred KiB, and a dataset opens files by
// the hundred.
var encoders = sync.Pool{New: func() any {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false))
	if err != nil {
		panic(err) // only for invalid options
	}
	return e
}}

// file is the part of a writer that does not depend on the row type.
type file struct {
	out    io.Writer
	off    int64
	err    error
	opts   Options
	elems  []element
	leaves []*leaf
	zstd   *zstd.Encoder

	groupRows int // rows in the row group being filled
	rows      int64
	groups    []group
	// scratch
	levels, values, packed []byte
	hdr                    thrift
}

type group struct {
	rows, rawBytes, packedBytes, offset int64
	chunks                              []chunk
}

// chunk is what the footer and the page index say of a column chunk.
type chunk struct {
	dictOffset, dataOffset               int64 // dictOffset 0 without a dictionary
	numValues, rawBytes, packedBytes     int64
	nulls                                int64
	min, max                             []byte
	dataPages                            int32
	columnIndex, offsetIndex             []byte
	columnIndexOffset, offsetIndexOffset int64
}

func (f *file) write(b []byte) {
	if f.err != nil {
		return
	}
	n, err := f.out.Write(b)
	f.off += int64(n)
	f.err = err
}

// compress is b compressed, in a buffer reused by the next call.
func (f *file) compress(b []byte) []byte {
	f.packed = f.zstd.EncodeAll(b, f.packed[:0])
	return f.packed
}

// flushPage ends the leaf's page: its levels and values encoded, the
// values compressed, after a version 2 data page header. The header
// holds no statistics: the chunk's and the page index hold the page's
// minimum and maximum, which is where engines look for them, and the
// headers' copies cost parquet-go's segments table a fifth of its
// writing.
func (f *file) flushPage(l *leaf) {
	if l.levels == 0 {
		return
	}
	lv := f.levels[:0]
	if l.maxRep > 0 {
		lv = appendHybrid(lv, l.reps, bits.Len8(l.maxRep))
	}
	repBytes := len(lv)
	if l.maxDef > 0 {
		lv = appendHybrid(lv, l.defs, bits.Len8(l.maxDef))
	}
	f.levels = lv
	vals, enc := l.plain, int32(encPlain)
	switch l.enc {
	case Dict:
		width := max(1, bits.Len32(uint32(max(len(l.dict.values)-1, 0))))
		vals = appendHybrid(append(f.values[:0], byte(width)), l.idx, width)
		f.values, enc = vals, encRLEDictonary
		l.dict.pageStats(l.idx, &l.page)
	case Delta:
		vals = appendDelta(f.values[:0], l.ints)
		f.values, enc = vals, encDeltaBinary
	case DeltaLength:
		vals = append(appendDelta(f.values[:0], l.ints), l.plain...)
		f.values, enc = vals, encDeltaLength
	}
	// Values that zstd cannot make smaller (a column of timings of all
	// sorts; a page of a few bytes) go as they are, which a version 2
	// page may; and after such a page the column's next pages are not
	// tried. A page made only a little smaller is kept compressed: the
	// dictionaries' indices of hosts and uids come out at 0.74 to 0.89 of
	// their size, and skipping after those made the segments table 6 %
	// larger.
	packed, compressed := vals, false
	if l.skipPages > 0 {
		l.skipPages--
	} else if z := f.compress(vals); len(z) < len(vals) {
		packed, compressed = z, true
	} else {
		l.skipPages = skipAfterPoor
	}
	l.page.nulls = int64(l.nulls)

	t := &f.hdr
	t.b = t.b[:0]
	t.i32(1, pageDataV2)
	t.i32(2, int32(len(lv)+len(vals)))
	t.i32(3, int32(len(lv)+len(packed)))
	t.begin(8)
	t.i32(1, int32(l.levels))
	t.i32(2, int32(l.nulls))
	t.i32(3, int32(l.rows))
	t.i32(4, enc)
	t.i32(5, int32(len(lv)-repBytes))
	t.i32(6, int32(repBytes))
	if !compressed {
		t.bool(7, false)
	}
	t.end()
	t.end()

	p := pageInfo{offset: int64(len(l.chunk)), firstRow: l.chunkRows, nulls: l.page.nulls}
	p.min, p.max = l.page.bounds(l.phys, indexLimit)
	l.chunk = append(append(append(l.chunk, t.b...), lv...), packed...)
	p.size = int32(int64(len(l.chunk)) - p.offset)
	l.pages = append(l.pages, p)
	l.rawBytes += int64(len(t.b) + len(lv) + len(vals))
	l.numValues += int64(l.levels)
	l.chunkRows += int64(l.rows)
	l.stats.merge(&l.page)

	l.reps, l.defs, l.plain, l.ints, l.idx = l.reps[:0], l.defs[:0], l.plain[:0], l.ints[:0], l.idx[:0]
	l.bools, l.levels, l.nulls, l.rows = 0, 0, 0, 0
	l.page = stats{}
}

// flushGroup writes the row group's column chunks, each its dictionary
// page first, and keeps what the footer and the page index say of them.
func (f *file) flushGroup() {
	g := group{rows: int64(f.groupRows), offset: f.off, chunks: make([]chunk, len(f.leaves))}
	for i, l := range f.leaves {
		f.flushPage(l)
		c, start := &g.chunks[i], f.off
		if l.enc == Dict {
			c.dictOffset = start
			packed := f.compress(l.dict.plain)
			t := &f.hdr
			t.b = t.b[:0]
			t.i32(1, pageDictionary)
			t.i32(2, int32(len(l.dict.plain)))
			t.i32(3, int32(len(packed)))
			t.begin(7)
			t.i32(1, int32(len(l.dict.values)))
			t.i32(2, encPlain)
			t.end()
			t.end()
			c.rawBytes += int64(len(t.b) + len(l.dict.plain))
			f.write(t.b)
			f.write(packed)
		}
		c.dataOffset = f.off
		f.write(l.chunk)
		c.rawBytes += l.rawBytes
		c.packedBytes = f.off - start
		c.numValues, c.nulls, c.dataPages = l.numValues, l.stats.nulls, int32(len(l.pages))
		c.min, c.max = l.stats.bounds(l.phys, 0)
		c.columnIndex, c.offsetIndex = pageIndex(l, c.dataOffset)
		g.rawBytes += c.rawBytes
		g.packedBytes += c.packedBytes

		l.chunk, l.pages = l.chunk[:0], l.pages[:0]
		l.stats, l.numValues, l.rawBytes, l.chunkRows = stats{}, 0, 0, 0
		l.dict.reset()
	}
	f.rows += g.rows
	f.groups = append(f.groups, g)
	f.groupRows = 0
}

// pageIndex is the column chunk's ColumnIndex and OffsetIndex, its data
// pages starting at offset data.
func pageIndex(l *leaf, data int64) (columnIndex, offsetIndex []byte) {
	var t thrift
	t.list(1, tTrue, len(l.pages))
	for _, p := range l.pages {
		t.elemBool(p.min == nil)
	}
	for id, max := range []bool{false, true} {
		t.list(int16(id+2), tBinary, len(l.pages))
		for _, p := range l.pages {
			if max {
				t.elemBin(p.max)
			} else {
				t.elemBin(p.min)
			}
		}
	}
	t.i32(4, 0) // UNORDERED
	t.list(5, tI64, len(l.pages))
	for _, p := range l.pages {
		t.elemI64(p.nulls)
	}
	t.end()
	columnIndex = t.b

	t = thrift{}
	t.list(1, tStruct, len(l.pages))
	for _, p := range l.pages {
		t.push()
		t.i64(1, data+p.offset)
		t.i32(2, p.size)
		t.i64(3, p.firstRow)
		t.end()
	}
	t.end()
	return columnIndex, t.b
}

// writeFooter writes the page index (the column indexes, then the offset
// indexes), the FileMetaData and the footer's length and magic.
func (f *file) writeFooter() {
	for _, g := range f.groups {
		for i := range g.chunks {
			c := &g.chunks[i]
			c.columnIndexOffset = f.off
			f.write(c.columnIndex)
		}
	}
	for _, g := range f.groups {
		for i := range g.chunks {
			c := &g.chunks[i]
			c.offsetIndexOffset = f.off
			f.write(c.offsetIndex)
		}
	}
	var t thrift
	t.i32(1, 2)
	t.list(2, tStruct, len(f.elems))
	for _, e := range f.elems {
		t.push()
		e.put(&t)
		t.end()
	}
	t.i64(3, f.rows)
	t.list(4, tStruct, len(f.groups))
	for gi, g := range f.groups {
		t.push()
		t.list(1, tStruct, len(g.chunks))
		for i := range g.chunks {
			t.push()
			g.chunks[i].put(&t, f.leaves[i])
			t.end()
		}
		t.i64(2, g.rawBytes)
		t.i64(3, g.rows)
		t.i64(5, g.offset)
		t.i64(6, g.packedBytes)
		t.field(7, tI16)
		t.varint(int64(gi))
		t.end()
	}
	t.str(6, createdBy)
	t.list(7, tStruct, len(f.leaves))
	for range f.leaves {
		t.push()
		t.begin(1) // TYPE_ORDER
		t.end()
		t.end()
	}
	t.end()
	f.write(t.b)
	f.write(binary.LittleEndian.AppendUint32(nil, uint32(len(t.b))))
	f.write(magic)
}

// put writes the chunk's ColumnChunk.
func (c *chunk) put(t *thrift, l *leaf) {
	t.i64(2, 0) // file_offset, deprecated: parquet-go writes 0 too
	t.begin(3)
	t.i32(1, int32(l.phys))
	// The encodings, in the order of their numbers as parquet-go lists
	// them: PLAIN (the dictionary page's too), RLE for levels, the data
	// pages'.
	var encs []int32
	if l.enc == Plain || l.enc == Dict {
		encs = append(encs, encPlain)
	}
	if l.maxDef > 0 || l.maxRep > 0 {
		encs = append(encs, encRLE)
	}
	dataEnc := [...]int32{Plain: encPlain, Dict: encRLEDictonary, Delta: encDeltaBinary, DeltaLength: encDeltaLength}[l.enc]
	if dataEnc != encPlain {
		encs = append(encs, dataEnc)
	}
	t.list(2, tI32, len(encs))
	for _, e := range encs {
		t.elemI32(e)
	}
	t.list(3, tBinary, len(l.path))
	for _, p := range l.path {
		t.elemStr(p)
	}
	t.i32(4, 6) // ZSTD
	t.i64(5, c.numValues)
	t.i64(6, c.rawBytes)
	t.i64(7, c.packedBytes)
	t.i64(9, c.dataOffset)
	if c.dictOffset > 0 {
		t.i64(11, c.dictOffset)
	}
	t.begin(12)
	t.i64(3, c.nulls)
	if c.min != nil {
		t.bin(5, c.max)
		t.bin(6, c.min)
	}
	t.end()
	n := 1
	if c.dictOffset > 0 {
		n = 2
	}
	t.list(13, tStruct, n)
	if c.dictOffset > 0 {
		t.push()
		t.i32(1, pageDictionary)
		t.i32(2, encPlain)
		t.i32(3, 1)
		t.end()
	}
	t.push()
	t.i32(1, pageDataV2)
	t.i32(2, dataEnc)
	t.i32(3, c.dataPages)
	t.end()
	t.end() // ColumnMetaData
	t.i64(4, c.offsetIndexOffset)
	t.i32(5, int32(len(c.offsetIndex)))
	t.i64(6, c.columnIndexOffset)
	t.i32(7, int32(len(c.columnIndex)))
}

// put writes the element's SchemaElement, as parquet-go writes it.
func (e *element) put(t *thrift) {
	if e.phys >= 0 {
		t.i32(1, int32(e.phys))
		switch e.phys {
		case physBoolean:
			t.i32(2, 1)
		case physInt32:
			t.i32(2, 32)
		case physInt64, physDouble:
			t.i32(2, 64)
		}
	}
	if e.repetition >= 0 {
		t.i32(3, int32(e.repetition))
	}
	t.str(4, e.name)
	if e.phys < 0 {
		t.i32(5, int32(e.children))
	}
	switch e.logical {
	case logicalString:
		t.i32(6, 0) // UTF8
		t.begin(10)
		t.begin(1)
		t.end()
		t.end()
	case logicalInt32, logicalInt64:
		converted, width := int32(17), int8(32) // INT_32
		if e.logical == logicalInt64 {
			converted, width = 18, 64 // INT_64
		}
		t.i32(6, converted)
		t.begin(10)
		t.begin(10)
		t.byte(1, width)
		t.bool(2, true)
		t.end()
		t.end()
	case logicalTimestamp:
		t.begin(10)
		t.begin(8)
		t.bool(1, true)
		t.begin(2)
		t.begin(3) // NANOS
		t.end()
		t.end()
		t.end()
		t.end()
	case logicalList:
		t.i32(6, 3) // LIST
		t.begin(10)
		t.begin(3)
		t.end()
		t.end()
	}
}
