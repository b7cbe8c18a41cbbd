package pqfile

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// Encoding is how a column's values are encoded in its data pages.
type Encoding uint8

const (
	Plain Encoding = iota // PLAIN
	// Dict is RLE_DICTIONARY: a dictionary page per column chunk, then the
	// values' indices (string columns of few distinct values).
	Dict
	// Delta is DELTA_BINARY_PACKED (INT64 columns whose values change
	// little from row to row).
	Delta
	// DeltaLength is DELTA_LENGTH_BYTE_ARRAY (strings): the lengths
	// delta-encoded, then the strings' bytes end to end, which compress
	// better than lengths and bytes interleaved. parquet-go writes the
	// strings not in a dictionary so.
	DeltaLength
)

// Parquet's physical types, encodings and page types, as the format
// numbers them.
const (
	physBoolean   = 0
	physInt32     = 1
	physInt64     = 2
	physDouble    = 5
	physByteArray = 6

	encPlain        = 0
	encRLE          = 3
	encDeltaBinary  = 5
	encDeltaLength  = 6
	encRLEDictonary = 8

	pageDictionary = 2
	pageDataV2     = 3
)

// logical is an element's logical type, with its converted type.
type logical uint8

const (
	logicalNone logical = iota
	logicalString
	logicalInt32
	logicalInt64
	logicalTimestamp // INT64 TIMESTAMP(NANOS), adjusted to UTC
	logicalList
)

// repetitions
const (
	required = 0
	optional = 1
	repeated = 2
)

// element is a node of the schema, in the footer's depth-first order.
type element struct {
	name       string
	phys       int8 // -1 for a group
	repetition int8
	children   int
	logical    logical
}

// Column is a top-level column of a table of rows of type T: its schema
// elements and its leaf columns, each with the function that takes its
// values from rows.
type Column[T any] struct {
	elems  []element
	leaves []leafDef[T]
}

type leafDef[T any] struct {
	path           []string
	phys           int8
	enc            Encoding
	maxDef, maxRep uint8
	write          func(l *leaf, rows []T)
}

func flat[T any](name string, phys int8, lg logical, rep int8, enc Encoding, write func(*leaf, []T)) Column[T] {
	var def uint8
	if rep == optional {
		def = 1
	}
	return Column[T]{
		elems:  []element{{name: name, phys: phys, repetition: rep, logical: lg}},
		leaves: []leafDef[T]{{path: []string{name}, phys: phys, enc: enc, maxDef: def, write: write}},
	}
}

// Int32 is a required INT32 column, INT(32, signed).
func Int32[T any](name string, get func(*T) int32) Column[T] {
	return flat(name, physInt32, logicalInt32, required, Plain, func(l *leaf, rows []T) {
		for i := range rows {
			l.putInt32(get(&rows[i]))
		}
		l.required(len(rows))
	})
}

// Int64 is a required INT64 column, INT(64, signed), encoded PLAIN or
// Delta.
func Int64[T any](name string, enc Encoding, get func(*T) int64) Column[T] {
	return flat(name, physInt64, logicalInt64, required, enc, int64Write(get))
}

// Timestamp is a required INT64 TIMESTAMP(NANOS) column adjusted to UTC,
// nanoseconds since the epoch, encoded PLAIN or Delta.
func Timestamp[T any](name string, enc Encoding, get func(*T) int64) Column[T] {
	return flat(name, physInt64, logicalTimestamp, required, enc, int64Write(get))
}

func int64Write[T any](get func(*T) int64) func(*leaf, []T) {
	return func(l *leaf, rows []T) {
		for i := range rows {
			l.putInt64(get(&rows[i]))
		}
		l.required(len(rows))
	}
}

// Float64 is a required DOUBLE column.
func Float64[T any](name string, get func(*T) float64) Column[T] {
	return flat(name, physDouble, logicalNone, required, Plain, func(l *leaf, rows []T) {
		for i := range rows {
			l.putFloat64(get(&rows[i]))
		}
		l.required(len(rows))
	})
}

// Bool is a required BOOLEAN column.
func Bool[T any](name string, get func(*T) bool) Column[T] {
	return flat(name, physBoolean, logicalNone, required, Plain, func(l *leaf, rows []T) {
		for i := range rows {
			l.putBool(get(&rows[i]))
		}
		l.required(len(rows))
	})
}

// String is a required BYTE_ARRAY STRING column, encoded PLAIN,
// DeltaLength or Dict.
func String[T any](name string, enc Encoding, get func(*T) string) Column[T] {
	return flat(name, physByteArray, logicalString, required, enc, func(l *leaf, rows []T) {
		for i := range rows {
			l.putString(get(&rows[i]))
		}
		l.required(len(rows))
	})
}

// The constructors' loops look alike, one per type: each calls its put
// method directly, which the compiler inlines, where one generic loop
// would call it through a func value, once per value.

// OptInt32 is an optional INT32 column, INT(32, signed): nil is null.
func OptInt32[T any](name string, get func(*T) *int32) Column[T] {
	return flat(name, physInt32, logicalInt32, optional, Plain, func(l *leaf, rows []T) {
		for i := range rows {
			if p := get(&rows[i]); l.present(p != nil) {
				l.putInt32(*p)
			}
		}
		l.rows += len(rows)
	})
}

// OptInt64 is an optional INT64 column, INT(64, signed): nil is null.
func OptInt64[T any](name string, get func(*T) *int64) Column[T] {
	return flat(name, physInt64, logicalInt64, optional, Plain, func(l *leaf, rows []T) {
		for i := range rows {
			if p := get(&rows[i]); l.present(p != nil) {
				l.putInt64(*p)
			}
		}
		l.rows += len(rows)
	})
}

// OptFloat64 is an optional DOUBLE column: nil is null.
func OptFloat64[T any](name string, get func(*T) *float64) Column[T] {
	return flat(name, physDouble, logicalNone, optional, Plain, func(l *leaf, rows []T) {
		for i := range rows {
			if p := get(&rows[i]); l.present(p != nil) {
				l.putFloat64(*p)
			}
		}
		l.rows += len(rows)
	})
}

// OptString is an optional BYTE_ARRAY STRING column, PLAIN, DeltaLength
// or Dict: nil is null.
func OptString[T any](name string, enc Encoding, get func(*T) *string) Column[T] {
	return flat(name, physByteArray, logicalString, optional, enc, func(l *leaf, rows []T) {
		for i := range rows {
			if p := get(&rows[i]); l.present(p != nil) {
				l.putString(*p)
			}
		}
		l.rows += len(rows)
	})
}

// list is a required LIST column in the three-level layout:
//
//	required group NAME (LIST) { repeated group list { required ELEMENT } }
//
// with leaves under element.
func list[T any](name string, elem []element, leaves []leafDef[T]) Column[T] {
	c := Column[T]{elems: append([]element{
		{name: name, phys: -1, repetition: required, children: 1, logical: logicalList},
		{name: "list", phys: -1, repetition: repeated, children: 1},
	}, elem...)}
	for _, l := range leaves {
		l.path = append([]string{name, "list"}, l.path...)
		l.maxDef, l.maxRep = 1, 1
		c.leaves = append(c.leaves, l)
	}
	return c
}

// listWrite writes the levels of each row's list of n elements, and
// each element's value through put.
func listWrite[T, E any](get func(*T) []E, put func(l *leaf, e *E)) func(*leaf, []T) {
	return func(l *leaf, rows []T) {
		for i := range rows {
			es := get(&rows[i])
			if len(es) == 0 {
				l.reps = append(l.reps, 0)
				l.defs = append(l.defs, 0)
				l.nulls++
				l.levels++
				continue
			}
			l.reps = append(l.reps, 0) // the row's first element
			for k := range es {
				if k > 0 {
					l.reps = append(l.reps, 1)
				}
				l.defs = append(l.defs, 1)
				put(l, &es[k])
			}
			l.levels += len(es)
		}
		l.rows += len(rows)
	}
}

// StringList is a required list of required strings (PLAIN, DeltaLength
// or Dict).
func StringList[T any](name string, enc Encoding, get func(*T) []string) Column[T] {
	return list(name,
		[]element{{name: "element", phys: physByteArray, repetition: required, logical: logicalString}},
		[]leafDef[T]{{path: []string{"element"}, phys: physByteArray, enc: enc, write: listWrite(get, func(l *leaf, s *string) { l.putString(*s) })}})
}

// Int64List is a required list of required INT64s.
func Int64List[T any](name string, get func(*T) []int64) Column[T] {
	return list(name,
		[]element{{name: "element", phys: physInt64, repetition: required, logical: logicalInt64}},
		[]leafDef[T]{{path: []string{"element"}, phys: physInt64, write: listWrite(get, func(l *leaf, v *int64) { l.putInt64(*v) })}})
}

// PairList is a required list of required structs of two required
// INT64s, named first and second, which pair takes from an element.
func PairList[T, E any](name, first, second string, get func(*T) []E, pair func(*E) (int64, int64)) Column[T] {
	return list(name,
		[]element{
			{name: "element", phys: -1, repetition: required, children: 2},
			{name: first, phys: physInt64, repetition: required, logical: logicalInt64},
			{name: second, phys: physInt64, repetition: required, logical: logicalInt64},
		},
		[]leafDef[T]{
			{path: []string{"element", first}, phys: physInt64, write: listWrite(get, func(l *leaf, e *E) { a, _ := pair(e); l.putInt64(a) })},
			{path: []string{"element", second}, phys: physInt64, write: listWrite(get, func(l *leaf, e *E) { _, b := pair(e); l.putInt64(b) })},
		})
}

// leaf is a leaf column being written: the page being filled, and the
// pages of the row group's column chunk, compressed.
type leaf struct {
	path           []string
	phys           int8
	enc            Encoding
	maxDef, maxRep uint8

	// The page being filled: its levels, its values as the encoding
	// wants them (PLAIN bytes, integers for Delta, indices for Dict),
	// how many levels (values and nulls), nulls and rows it holds.
	reps, defs          []uint8
	plain               []byte
	bools               int // the booleans packed in plain
	ints                []int64
	idx                 []int32
	levels, nulls, rows int
	page                stats

	dict dict // Dict's, for the chunk
	// skipPages is how many of the next pages go uncompressed, after one
	// that did not compress.
	skipPages int

	// The chunk: its data pages, header and all; where each starts, its
	// rows and statistics (the page index).
	chunk     []byte
	pages     []pageInfo
	stats     stats
	numValues int64
	rawBytes  int64 // the data pages' size uncompressed, headers included
	chunkRows int64
}

type pageInfo struct {
	offset   int64 // in chunk
	size     int32
	firstRow int64
	nulls    int64
	min, max []byte // nil for a page of nulls only
}

// size is about how many bytes the page's values take before encoding.
func (l *leaf) size() int {
	return len(l.plain) + 8*len(l.ints) + 4*len(l.idx) + len(l.defs)/8
}

func (l *leaf) required(n int) {
	l.levels += n
	l.rows += n
}

// present adds an optional value's definition level, and says whether
// it is there.
func (l *leaf) present(ok bool) bool {
	l.levels++
	if ok {
		l.defs = append(l.defs, 1)
		return true
	}
	l.defs = append(l.defs, 0)
	l.nulls++
	return false
}

func (l *leaf) putInt32(v int32) {
	l.plain = binary.LittleEndian.AppendUint32(l.plain, uint32(v))
	l.page.int(int64(v))
}

func (l *leaf) putInt64(v int64) {
	if l.enc == Delta {
		l.ints = append(l.ints, v)
	} else {
		l.plain = binary.LittleEndian.AppendUint64(l.plain, uint64(v))
	}
	l.page.int(v)
}

func (l *leaf) putFloat64(v float64) {
	l.plain = binary.LittleEndian.AppendUint64(l.plain, math.Float64bits(v))
	l.page.float(v)
}

func (l *leaf) putBool(v bool) {
	if l.bools%8 == 0 {
		l.plain = append(l.plain, 0)
	}
	var b int64
	if v {
		l.plain[len(l.plain)-1] |= 1 << (l.bools % 8)
		b = 1
	}
	l.bools++
	l.page.int(b)
}

// putString adds a string: a dictionary's index (its statistics are
// taken from the dictionary when the page ends), or its bytes.
func (l *leaf) putString(s string) {
	switch l.enc {
	case Dict:
		l.idx = append(l.idx, l.dict.index(s))
		return
	case DeltaLength:
		l.ints = append(l.ints, int64(len(s)))
	default:
		l.plain = binary.LittleEndian.AppendUint32(l.plain, uint32(len(s)))
	}
	l.plain = append(l.plain, s...)
	l.page.string(s)
}

// dict is a column chunk's dictionary of strings.
type dict struct {
	ids    map[string]int32
	values []string
	plain  []byte // the values, PLAIN, for the dictionary page
	// recent remembers values looked up by their bytes' address and
	// length, so that most lookups hash no string: most values are a
	// constant (flag words, state names, the capture's name) or a
	// string of their connection's (uid, hosts), the same string data
	// row after row. A slot holds its string, so that the address is not
	// reused for other bytes while it is there.
	recent [recentSlots]recentValue
	// seen marks the values a page holds, for its statistics: seen[i] is
	// epoch when value i was met in the page.
	seen  []uint32
	epoch uint32
}

const recentSlots = 256

type recentValue struct {
	s  string
	id int32
}

func (d *dict) index(s string) int32 {
	p := unsafe.StringData(s)
	slot := uintptr(unsafe.Pointer(p))
	r := &d.recent[(slot>>3^slot>>11)%recentSlots]
	if unsafe.StringData(r.s) == p && len(r.s) == len(s) && r.s != "" {
		return r.id
	}
	id, ok := d.ids[s]
	if !ok {
		if d.ids == nil {
			d.ids = make(map[string]int32)
		}
		id = int32(len(d.values))
		d.ids[s] = id
		d.values = append(d.values, s)
		d.plain = binary.LittleEndian.AppendUint32(d.plain, uint32(len(s)))
		d.plain = append(d.plain, s...)
	}
	*r = recentValue{s, id}
	return id
}

// pageStats adds the values of the indices idx to st.
func (d *dict) pageStats(idx []int32, st *stats) {
	if len(d.seen) < len(d.values) {
		d.seen = append(d.seen, make([]uint32, len(d.values)-len(d.seen))...)
	}
	d.epoch++
	if d.epoch == 0 { // wrapped: forget every mark
		clear(d.seen)
		d.epoch = 1
	}
	last := int32(-1)
	for _, i := range idx {
		if i == last || d.seen[i] == d.epoch {
			continue
		}
		d.seen[i], last = d.epoch, i
		st.string(d.values[i])
	}
}

func (d *dict) reset() {
	clear(d.ids)
	clear(d.values) // let the strings go
	d.values, d.plain = d.values[:0], d.plain[:0]
	clear(d.recent[:])
}

// stats are the minimum, maximum and null count of a page or chunk;
// which of the minima and maxima hold depends on the column's type.
type stats struct {
	has        bool // a value (not NaN) was met
	minI, maxI int64
	minF, maxF float64
	minS, maxS string
	nulls      int64
}

func (s *stats) int(v int64) {
	switch {
	case !s.has:
		s.has, s.minI, s.maxI = true, v, v
	case v < s.minI:
		s.minI = v
	case v > s.maxI:
		s.maxI = v
	}
}

func (s *stats) float(v float64) {
	switch {
	case v != v: // NaN orders with nothing
	case !s.has:
		s.has, s.minF, s.maxF = true, v, v
	case v < s.minF:
		s.minF = v
	case v > s.maxF:
		s.maxF = v
	}
}

func (s *stats) string(v string) {
	switch {
	case !s.has:
		s.has, s.minS, s.maxS = true, v, v
	case v < s.minS:
		s.minS = v
	case v > s.maxS:
		s.maxS = v
	}
}

func (s *stats) merge(o *stats) {
	s.nulls += o.nulls
	if !o.has {
		return
	}
	if !s.has {
		*s = stats{has: true, minI: o.minI, maxI: o.maxI, minF: o.minF, maxF: o.maxF, minS: o.minS, maxS: o.maxS, nulls: s.nulls}
		return
	}
	s.minI, s.maxI = min(s.minI, o.minI), max(s.maxI, o.maxI)
	s.minF, s.maxF = min(s.minF, o.minF), max(s.maxF, o.maxF)
	s.minS, s.maxS = min(s.minS, o.minS), max(s.maxS, o.maxS)
}

// bounds are the statistics' minimum and maximum as the footer and the
// page index hold them (PLAIN, without a length for strings), strings
// cut to limit bytes when limit > 0.
func (s *stats) bounds(phys int8, limit int) (lo, hi []byte) {
	if !s.has {
		return nil, nil
	}
	switch phys {
	case physBoolean:
		return []byte{byte(s.minI)}, []byte{byte(s.maxI)}
	case physInt32:
		return binary.LittleEndian.AppendUint32(nil, uint32(s.minI)), binary.LittleEndian.AppendUint32(nil, uint32(s.maxI))
	case physInt64:
		return binary.LittleEndian.AppendUint64(nil, uint64(s.minI)), binary.LittleEndian.AppendUint64(nil, uint64(s.maxI))
	case physDouble:
		return binary.LittleEndian.AppendUint64(nil, math.Float64bits(s.minF)), binary.LittleEndian.AppendUint64(nil, math.Float64bits(s.maxF))
	}
	lo, hi = []byte(s.minS), []byte(s.maxS)
	if limit > 0 && len(lo) > limit {
		lo = lo[:limit]
	}
	if limit > 0 && len(hi) > limit {
		// A bound above every string with this prefix: the prefix with
		// its last byte that can be raised raised.
		for i := limit - 1; i >= 0; i-- {
			if hi[i] < 0xff {
				hi = append(hi[:i:i], hi[i]+1)
				break
			}
		}
	}
	return lo, hi
}
