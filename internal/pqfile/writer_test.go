package pqfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
)

// row has a column of every kind the writer writes; its parquet tags
// declare the same schema to parquet-go, which reads the files back.
type row struct {
	I32  int32    `parquet:"i32"`
	I64  int64    `parquet:"i64"`
	D64  int64    `parquet:"d64,delta"`
	TS   int64    `parquet:"ts,timestamp(nanosecond),delta"`
	TSP  int64    `parquet:"tsp,timestamp(nanosecond)"`
	F    float64  `parquet:"f"`
	B    bool     `parquet:"b"`
	S    string   `parquet:"s"`
	D    string   `parquet:"d,dict"`
	OI32 *int32   `parquet:"oi32,optional"`
	OI64 *int64   `parquet:"oi64,optional"`
	OF   *float64 `parquet:"of,optional"`
	OS   *string  `parquet:"os,optional"`
	OD   *string  `parquet:"od,optional,dict"`
	SL   []string `parquet:"sl,list"`
	IL   []int64  `parquet:"il,list"`
	PL   []pair   `parquet:"pl,list"`
	DL   []string `parquet:"dl,list"` // written with Dict: parquet-go has no tag for it
	SP   string   `parquet:"sp"`      // written PLAIN, where parquet-go writes DELTA_LENGTH_BYTE_ARRAY
}

type pair struct {
	A int64 `parquet:"a"`
	B int64 `parquet:"b"`
}

var rowSchema = NewSchema("row",
	Int32("i32", func(r *row) int32 { return r.I32 }),
	Int64("i64", Plain, func(r *row) int64 { return r.I64 }),
	Int64("d64", Delta, func(r *row) int64 { return r.D64 }),
	Timestamp("ts", Delta, func(r *row) int64 { return r.TS }),
	Timestamp("tsp", Plain, func(r *row) int64 { return r.TSP }),
	Float64("f", func(r *row) float64 { return r.F }),
	Bool("b", func(r *row) bool { return r.B }),
	String("s", DeltaLength, func(r *row) string { return r.S }),
	String("d", Dict, func(r *row) string { return r.D }),
	OptInt32("oi32", func(r *row) *int32 { return r.OI32 }),
	OptInt64("oi64", func(r *row) *int64 { return r.OI64 }),
	OptFloat64("of", func(r *row) *float64 { return r.OF }),
	OptString("os", DeltaLength, func(r *row) *string { return r.OS }),
	OptString("od", Dict, func(r *row) *string { return r.OD }),
	StringList("sl", DeltaLength, func(r *row) []string { return r.SL }),
	Int64List("il", func(r *row) []int64 { return r.IL }),
	PairList("pl", "a", "b", func(r *row) []pair { return r.PL }, func(p *pair) (int64, int64) { return p.A, p.B }),
	StringList("dl", Dict, func(r *row) []string { return r.DL }),
	String("sp", Plain, func(r *row) string { return r.SP }),
)

// randomRows are n rows from src: nulls, empty and long lists, strings
// from few to many distinct, longer than a page now and then, and
// numbers from every range, extremes included.
func randomRows(src *rand.Rand, n int) []row {
	longStrings := 1 + n/1000 // a few in any number of rows
	words := []string{"", "SYN", "ACK", "FIN,ACK", "ESTABLISHED", "c2s", "s2c", strings.Repeat("x", 300)}
	str := func() string {
		switch src.IntN(100) {
		case 0:
			if src.IntN(longStrings) == 0 {
				return strings.Repeat(string(rune('a'+src.IntN(26))), src.IntN(100<<10)) // longer than a page
			}
			fallthrough
		case 1, 2, 3:
			b := make([]byte, src.IntN(40))
			for i := range b {
				b[i] = byte(src.Uint32())
			}
			return string(b)
		}
		return words[src.IntN(len(words))]
	}
	i64 := func() int64 {
		switch src.IntN(6) {
		case 0:
			return math.MinInt64 + src.Int64N(3)
		case 1:
			return math.MaxInt64 - src.Int64N(3)
		case 2:
			return src.Int64()
		}
		return src.Int64N(2000) - 1000
	}
	f64 := func() float64 {
		switch src.IntN(8) {
		case 0:
			return math.Inf(1 - 2*src.IntN(2))
		case 1:
			return math.Copysign(0, -1)
		}
		return src.NormFloat64() * 1e3
	}
	opt := func() bool { return src.IntN(3) > 0 }
	list := func() int {
		switch src.IntN(10) {
		case 0:
			return src.IntN(300) // long
		case 1, 2, 3, 4:
			return 0
		}
		return 1 + src.IntN(4)
	}
	rows := make([]row, n)
	var d64, ts int64
	for i := range rows {
		d64 += src.Int64N(100) - 10
		ts += src.Int64N(1e6)
		if src.IntN(50) == 0 {
			d64 = i64() // a jump the deltas wrap over
		}
		r := row{I32: int32(i64()), I64: i64(), D64: d64, TS: ts, TSP: i64(), F: f64(), B: src.IntN(2) == 0, S: str(), D: str(), SP: str(),
			SL: []string{}, IL: []int64{}, PL: []pair{}, DL: []string{}}
		if opt() {
			r.OI32 = ptr(int32(i64()))
		}
		if opt() {
			r.OI64 = ptr(i64())
		}
		if opt() {
			r.OF = ptr(f64())
		}
		if opt() {
			r.OS = ptr(str())
		}
		if opt() {
			r.OD = ptr(words[src.IntN(len(words))])
		}
		for range list() {
			r.SL = append(r.SL, str())
		}
		for range list() {
			r.IL = append(r.IL, i64())
		}
		for range list() {
			r.PL = append(r.PL, pair{i64(), i64()})
		}
		for range list() {
			r.DL = append(r.DL, words[src.IntN(len(words))])
		}
		rows[i] = r
	}
	return rows
}

func ptr[T any](v T) *T { return &v }

// write writes rows with opts, in batches of batch rows.
func write[T any](t testing.TB, s *Schema[T], rows []T, opts Options, batch int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, s, opts)
	for i := 0; i < len(rows); i += batch {
		if err := w.Write(rows[i:min(i+batch, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readBack reads a file with parquet-go, failing the test unless the
// rows are want.
func readBack[T any](t testing.TB, file []byte, want []T) *parquet.File {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquet.Read[T](bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 && len(got) == 0 {
		return f
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("rows read back differ (-written +read):\n%s", d)
	}
	return f
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rows  int
		opts  Options
		batch int
	}{
		{"zero rows", 0, Options{}, 1},
		{"one row", 1, Options{}, 1},
		{"one group one page", 300, Options{}, 1024},
		{"many pages", 3000, Options{PageBytes: 1 << 10}, 100},
		{"many groups", 3000, Options{GroupRows: 700, PageBytes: 4 << 10}, 333},
		{"group of one row", 20, Options{GroupRows: 1}, 7},
		{"default sizes", 20000, Options{}, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := randomRows(rand.New(rand.NewPCG(1, uint64(tc.rows))), tc.rows)
			file := write(t, rowSchema, rows, tc.opts, tc.batch)
			f := readBack(t, file, rows)
			groupRows := tc.opts.GroupRows
			if groupRows == 0 {
				groupRows = DefaultGroupRows
			}
			if want := (tc.rows + groupRows - 1) / groupRows; len(f.RowGroups()) != want {
				t.Errorf("%d row groups, want %d", len(f.RowGroups()), want)
			}
			checkStats(t, f, rows, groupRows)
		})
	}
}

// TestSchemaAsParquetGo: the footer's schema elements are parquet-go's
// for the same Go type, field for field, and so are each column's
// encodings.
func TestSchemaAsParquetGo(t *testing.T) {
	rows := randomRows(rand.New(rand.NewPCG(2, 2)), 100)
	for i := range rows {
		rows[i].DL = nil // parquet-go would write PLAIN: compared below without it
	}
	mine := write(t, rowSchema, rows, Options{}, 100)
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := parquet.OpenFile(bytes.NewReader(mine), int64(len(mine)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	am, bm := a.Metadata(), b.Metadata()
	if d := cmp.Diff(bm.Schema, am.Schema); d != "" {
		t.Errorf("schema elements differ from parquet-go's (-parquet-go +ours):\n%s", d)
	}
	if d := cmp.Diff(bm.ColumnOrders, am.ColumnOrders); d != "" {
		t.Errorf("column orders differ from parquet-go's (-parquet-go +ours):\n%s", d)
	}
	for i, c := range am.RowGroups[0].Columns {
		want := bm.RowGroups[0].Columns[i].MetaData
		if p := c.MetaData.PathInSchema[0]; p == "dl" || p == "sp" {
			continue // encoded otherwise than parquet-go would
		}
		if !slices.Equal(c.MetaData.Encoding, want.Encoding) || !slices.Equal(c.MetaData.PathInSchema, want.PathInSchema) || c.MetaData.Type != want.Type {
			t.Errorf("column %v: %v %v, parquet-go's %v %v %v", c.MetaData.PathInSchema, c.MetaData.Type, c.MetaData.Encoding, want.PathInSchema, want.Type, want.Encoding)
		}
	}
	if am.CreatedBy != "tcplens version  (build )" { // what parquet-go wrote for tcplens, which parquet-java parses
		t.Errorf("created_by %q", am.CreatedBy)
	}
}

// checkStats checks each column chunk's statistics against the rows of
// its row group, and the page index against the chunk.
func checkStats(t *testing.T, f *parquet.File, rows []row, groupRows int) {
	t.Helper()
	leaves := f.Schema().Columns()
	for g, rg := range f.Metadata().RowGroups {
		group := rows[g*groupRows : min((g+1)*groupRows, len(rows))]
		for c, cc := range rg.Columns {
			path := leaves[c]
			vals, nulls := leafValues(group, path)
			st := cc.MetaData.Statistics
			if st.NullCount != nulls {
				t.Errorf("group %d %v: null count %d, want %d", g, path, st.NullCount, nulls)
			}
			lo, hi := bounds(vals, order(path))
			if !sameBound(path, st.MinValue, lo) || !sameBound(path, st.MaxValue, hi) {
				t.Errorf("group %d %v: min %x max %x, want %x %x", g, path, st.MinValue, st.MaxValue, lo, hi)
			}
			ci, err := f.RowGroups()[g].ColumnChunks()[c].ColumnIndex()
			if err != nil {
				t.Fatal(err)
			}
			oi, err := f.RowGroups()[g].ColumnChunks()[c].OffsetIndex()
			if err != nil {
				t.Fatal(err)
			}
			if ci.NumPages() != oi.NumPages() || oi.NumPages() == 0 || oi.FirstRowIndex(0) != 0 {
				t.Fatalf("group %d %v: %d pages in the column index, %d in the offset index, the first from row %d", g, path, ci.NumPages(), oi.NumPages(), oi.FirstRowIndex(0))
			}
			var pageNulls int64
			for p := range ci.NumPages() {
				pageNulls += ci.NullCount(p)
				if p > 0 && oi.FirstRowIndex(p) <= oi.FirstRowIndex(p-1) {
					t.Errorf("group %d %v: page %d starts at row %d, after %d", g, path, p, oi.FirstRowIndex(p), oi.FirstRowIndex(p-1))
				}
			}
			if pageNulls != nulls {
				t.Errorf("group %d %v: the pages' null counts add up to %d, want %d", g, path, pageNulls, nulls)
			}
		}
	}
}

// leafValues are the values of one leaf column in rows, PLAIN as the
// statistics hold them, and how many levels are null (nulls and empty
// lists).
func leafValues(rows []row, path []string) (vals [][]byte, nulls int64) {
	le := binary.LittleEndian
	i32 := func(v int32) []byte { return le.AppendUint32(nil, uint32(v)) }
	i64 := func(v int64) []byte { return le.AppendUint64(nil, uint64(v)) }
	f64 := func(v float64) []byte { return le.AppendUint64(nil, math.Float64bits(v)) }
	for i := range rows {
		r := &rows[i]
		var v [][]byte
		null := false
		switch path[0] {
		case "i32":
			v = [][]byte{i32(r.I32)}
		case "i64":
			v = [][]byte{i64(r.I64)}
		case "d64":
			v = [][]byte{i64(r.D64)}
		case "ts":
			v = [][]byte{i64(r.TS)}
		case "tsp":
			v = [][]byte{i64(r.TSP)}
		case "f":
			v = [][]byte{f64(r.F)}
		case "b":
			v = [][]byte{{0}}
			if r.B {
				v = [][]byte{{1}}
			}
		case "s":
			v = [][]byte{[]byte(r.S)}
		case "sp":
			v = [][]byte{[]byte(r.SP)}
		case "d":
			v = [][]byte{[]byte(r.D)}
		case "oi32":
			if null = r.OI32 == nil; !null {
				v = [][]byte{i32(*r.OI32)}
			}
		case "oi64":
			if null = r.OI64 == nil; !null {
				v = [][]byte{i64(*r.OI64)}
			}
		case "of":
			if null = r.OF == nil; !null {
				v = [][]byte{f64(*r.OF)}
			}
		case "os":
			if null = r.OS == nil; !null {
				v = [][]byte{[]byte(*r.OS)}
			}
		case "od":
			if null = r.OD == nil; !null {
				v = [][]byte{[]byte(*r.OD)}
			}
		case "sl", "dl":
			l := r.SL
			if path[0] == "dl" {
				l = r.DL
			}
			for _, s := range l {
				v = append(v, []byte(s))
			}
			null = len(l) == 0
		case "il":
			for _, x := range r.IL {
				v = append(v, i64(x))
			}
			null = len(r.IL) == 0
		case "pl":
			for _, p := range r.PL {
				if path[len(path)-1] == "a" {
					v = append(v, i64(p.A))
				} else {
					v = append(v, i64(p.B))
				}
			}
			null = len(r.PL) == 0
		}
		if null {
			nulls++
		}
		vals = append(vals, v...)
	}
	return vals, nulls
}

// order is how Parquet orders the values of the leaf column path, as
// PLAIN bytes: signed integers, doubles, or bytes.
func order(path []string) func(a, b []byte) bool {
	le := binary.LittleEndian
	switch path[0] {
	case "i32", "oi32":
		return func(a, b []byte) bool { return int32(le.Uint32(a)) < int32(le.Uint32(b)) }
	case "f", "of":
		return func(a, b []byte) bool { return math.Float64frombits(le.Uint64(a)) < math.Float64frombits(le.Uint64(b)) }
	case "i64", "d64", "ts", "tsp", "oi64", "il", "pl":
		return func(a, b []byte) bool { return int64(le.Uint64(a)) < int64(le.Uint64(b)) }
	}
	return func(a, b []byte) bool { return bytes.Compare(a, b) < 0 }
}

// bounds are the least and greatest of vals.
func bounds(vals [][]byte, less func(a, b []byte) bool) (lo, hi []byte) {
	if len(vals) == 0 {
		return nil, nil
	}
	lo, hi = vals[0], vals[0]
	for _, v := range vals[1:] {
		if less(v, lo) {
			lo = v
		}
		if less(hi, v) {
			hi = v
		}
	}
	return lo, hi
}

// sameBound says two bounds are equal: as values for doubles (-0 and +0
// are the same bound), as bytes otherwise.
func sameBound(path []string, a, b []byte) bool {
	if (path[0] == "f" || path[0] == "of") && len(a) == 8 && len(b) == 8 {
		return math.Float64frombits(binary.LittleEndian.Uint64(a)) == math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return bytes.Equal(a, b)
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after -= len(p); f.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// TestWriteError: an error of the underlying writer, at the file's start,
// in a row group or in the footer, comes back from Write or Close, and
// Close twice is harmless.
func TestWriteError(t *testing.T) {
	rows := randomRows(rand.New(rand.NewPCG(3, 3)), 500)
	full := len(write(t, rowSchema, rows, Options{GroupRows: 100}, len(rows)))
	for _, after := range []int{0, 10, full / 2, full - 5} {
		w := NewWriter(&failingWriter{after: after}, rowSchema, Options{GroupRows: 100})
		err := w.Write(rows)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err == nil || err.Error() != "disk full" {
			t.Errorf("failing after %d bytes of %d: %v", after, full, err)
		}
		if err := w.Close(); err == nil {
			t.Errorf("failing after %d bytes: the second Close forgot the error", after)
		}
	}
}
