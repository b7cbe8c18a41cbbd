package export

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/parquet-go/parquet-go"

	"github.com/tcplens/tcplens/internal/pqfile"
)

// FuzzParquetTables writes rows of each table made of the input's bytes
// with pqfile, in row groups and pages as small as the input says, and
// reads them back with parquet-go. Properties: no panic, no error, the
// same rows.
func FuzzParquetTables(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Add(bytes.Repeat([]byte{0xff, 0, 0x80, 7, 'a', 'b', 3}, 300))
	f.Add(bytes.Repeat([]byte{2, 200, 1, 0, 0, 0, 64}, 1000))
	f.Fuzz(func(t *testing.T, in []byte) {
		src := &fuzzBytes{b: in}
		opts := pqfile.Options{GroupRows: 1 + int(src.byte())%40, PageBytes: 1 + int(src.byte())*16}
		fuzzTable(t, src, connectionColumns, opts)
		fuzzTable(t, src, findingColumns, opts)
		fuzzTable(t, src, transitionColumns, opts)
		fuzzTable(t, src, segmentColumns, opts)
	})
}

func fuzzTable[T any](t *testing.T, src *fuzzBytes, columns *pqfile.Schema[T], opts pqfile.Options) {
	rows := make([]T, int(src.byte())%64)
	for i := range rows {
		src.fill(reflect.ValueOf(&rows[i]).Elem())
	}
	file := writeTable(t, rows, func(w io.Writer) tableWriter[T] { return pqfile.NewWriter(w, columns, opts) })
	got, err := parquet.Read[T](bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 && len(got) == 0 {
		return
	}
	if d := cmp.Diff(rows, got, cmpopts.EquateNaNs()); d != "" {
		t.Fatalf("the rows read back differ (-written +read):\n%s", d)
	}
}

// fuzzBytes hands out the input's bytes as values, zeros once it is
// used up.
type fuzzBytes struct{ b []byte }

func (f *fuzzBytes) byte() byte {
	if len(f.b) == 0 {
		return 0
	}
	c := f.b[0]
	f.b = f.b[1:]
	return c
}

func (f *fuzzBytes) uint64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = f.byte()
	}
	return binary.LittleEndian.Uint64(b[:])
}

// int is a number small, extreme or any, as the next byte says.
func (f *fuzzBytes) int() int64 {
	switch c := f.byte(); c % 4 {
	case 0:
		return int64(c>>2) - 32
	case 1:
		return math.MinInt64 + int64(c>>2)
	case 2:
		return math.MaxInt64 - int64(c>>2)
	}
	return int64(f.uint64())
}

// fill sets v, a row's field, from the input: lists empty or not,
// pointers nil or not, strings of any bytes.
func (f *fuzzBytes) fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f.fill(v.Field(i))
		}
	case reflect.Pointer:
		if f.byte()%2 == 0 {
			v.SetZero()
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(v.Elem())
	case reflect.Slice:
		n := int(f.byte()) % 6
		if n == 5 {
			n = int(f.byte()) * 3 // a long list
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			f.fill(v.Index(i))
		}
	case reflect.String:
		b := make([]byte, f.byte()%24)
		for i := range b {
			b[i] = f.byte()
		}
		v.SetString(string(b))
	case reflect.Bool:
		v.SetBool(f.byte()%2 == 1)
	case reflect.Int32:
		v.SetInt(int64(int32(f.int())))
	case reflect.Int64:
		v.SetInt(f.int())
	case reflect.Float64:
		v.SetFloat(math.Float64frombits(f.uint64()))
	default:
		panic("fill: a field of kind " + v.Kind().String())
	}
}
