package pqfile

import "encoding/binary"

// Thrift's compact protocol, as much of it as a Parquet footer, page
// header and page index take: structs, lists, i32, i64, binary and
// booleans. Fields must be written in increasing id order within each
// struct.

// The compact protocol's type codes.
const (
	tTrue   = 1
	tFalse  = 2
	tByte   = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tBinary = 8
	tList   = 9
	tStruct = 12
)

type thrift struct {
	b     []byte
	last  int16   // the id of the last field written in the current struct
	outer []int16 // the enclosing structs' last ids
}

func (t *thrift) uvarint(v uint64) { t.b = binary.AppendUvarint(t.b, v) }
func (t *thrift) varint(v int64)   { t.uvarint(uint64(v<<1) ^ uint64(v>>63)) }

func (t *thrift) field(id int16, typ byte) {
	if d := id - t.last; d > 0 && d <= 15 {
		t.b = append(t.b, byte(d)<<4|typ)
	} else {
		t.b = append(t.b, typ)
		t.varint(int64(id))
	}
	t.last = id
}

func (t *thrift) i32(id int16, v int32) { t.field(id, tI32); t.varint(int64(v)) }
func (t *thrift) i64(id int16, v int64) { t.field(id, tI64); t.varint(v) }
func (t *thrift) byte(id int16, v int8) { t.field(id, tByte); t.b = append(t.b, byte(v)) }
func (t *thrift) bin(id int16, v []byte) {
	t.field(id, tBinary)
	t.uvarint(uint64(len(v)))
	t.b = append(t.b, v...)
}
func (t *thrift) str(id int16, v string) {
	t.field(id, tBinary)
	t.uvarint(uint64(len(v)))
	t.b = append(t.b, v...)
}

func (t *thrift) bool(id int16, v bool) {
	if v {
		t.field(id, tTrue)
	} else {
		t.field(id, tFalse)
	}
}

// begin opens a struct-valued field; end closes it (and the top-level
// struct, which begins without a field).
func (t *thrift) begin(id int16) {
	t.field(id, tStruct)
	t.push()
}

func (t *thrift) push() {
	t.outer = append(t.outer, t.last)
	t.last = 0
}

func (t *thrift) end() {
	t.b = append(t.b, 0)
	if n := len(t.outer); n > 0 {
		t.last = t.outer[n-1]
		t.outer = t.outer[:n-1]
	}
}

// list opens a list-valued field of n elements of type typ: its
// elements follow, structs each between push and end.
func (t *thrift) list(id int16, typ byte, n int) {
	t.field(id, tList)
	if n < 15 {
		t.b = append(t.b, byte(n)<<4|typ)
	} else {
		t.b = append(t.b, 0xf0|typ)
		t.uvarint(uint64(n))
	}
}

// Elements of lists.
func (t *thrift) elemI32(v int32)  { t.varint(int64(v)) }
func (t *thrift) elemI64(v int64)  { t.varint(v) }
func (t *thrift) elemStr(v string) { t.uvarint(uint64(len(v))); t.b = append(t.b, v...) }
func (t *thrift) elemBin(v []byte) { t.uvarint(uint64(len(v))); t.b = append(t.b, v...) }

func (t *thrift) elemBool(v bool) {
	if v {
		t.b = append(t.b, tTrue)
	} else {
		t.b = append(t.b, tFalse)
	}
}
