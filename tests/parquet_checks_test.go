package tests

// What TestParquetReaders checks of what each reader read: the columns of
// an export's tables as their row types declare them, their values made
// canonical, the schema each reader sees, and the footer's statistics and
// page index.

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/export"
)

// A column of an export's table, as its row type declares it.
type column struct {
	name     string
	kind     columnKind
	optional bool     // a nil pointer: null
	elem     *column  // a list's element
	fields   []column // a struct's
}

type columnKind uint8

const (
	kindTime columnKind = iota // export.Time: TIMESTAMP(NANOS) in UTC
	kindString
	kindInt32
	kindInt64
	kindDouble
	kindBool
	kindList
	kindStruct
)

var timeType = reflect.TypeFor[export.Time]()

// columnsOf is the columns of a row type, named by their JSON names, which
// the JSON lines use and the Parquet columns share.
func columnsOf(t reflect.Type) []column {
	cols := make([]column, t.NumField())
	for i := range cols {
		f := t.Field(i)
		cols[i] = columnOf(f.Type)
		cols[i].name, _, _ = strings.Cut(f.Tag.Get("json"), ",")
	}
	return cols
}

func columnOf(t reflect.Type) column {
	var c column
	if t.Kind() == reflect.Pointer {
		c.optional = true
		t = t.Elem()
	}
	switch {
	case t == timeType:
		c.kind = kindTime
	case t.Kind() == reflect.String:
		c.kind = kindString
	case t.Kind() == reflect.Int32:
		c.kind = kindInt32
	case t.Kind() == reflect.Int64:
		c.kind = kindInt64
	case t.Kind() == reflect.Float64:
		c.kind = kindDouble
	case t.Kind() == reflect.Bool:
		c.kind = kindBool
	case t.Kind() == reflect.Slice:
		c.kind = kindList
		e := columnOf(t.Elem())
		e.name = "element"
		c.elem = &e
	case t.Kind() == reflect.Struct:
		c.kind = kindStruct
		c.fields = columnsOf(t)
	default:
		panic("a column of type " + t.String())
	}
	return c
}

// canonical is a value of the column as text that is equal for equal
// values however it was written: a time or an integer in decimal, a double
// as the shortest decimal that reads back to it (-0 kept), a list and a
// struct as arrays. The JSON lines write a time as an RFC 3339 string,
// the readers as an integer of nanoseconds.
func (c *column) canonical(v any, jsonl bool) (any, error) {
	if v == nil {
		if c.optional {
			return nil, nil
		}
		return nil, fmt.Errorf("null, in a column that has no nulls")
	}
	switch c.kind {
	case kindTime:
		if jsonl {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%v (%T), not a time", v, v)
			}
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, err
			}
			return strconv.FormatInt(tm.UnixNano(), 10), nil
		}
		return integer(v, 64)
	case kindInt32:
		return integer(v, 32)
	case kindInt64:
		return integer(v, 64)
	case kindDouble:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%v (%T), not a number", v, v)
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return nil, err
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case kindString:
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("%v (%T), not a string", v, v)
		}
		return v, nil
	case kindBool:
		if _, ok := v.(bool); !ok {
			return nil, fmt.Errorf("%v (%T), not a boolean", v, v)
		}
		return v, nil
	case kindList:
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%v (%T), not a list", v, v)
		}
		out := make([]any, len(l))
		for i, e := range l {
			var err error
			if out[i], err = c.elem.canonical(e, jsonl); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
		}
		return out, nil
	case kindStruct:
		m, ok := v.(map[string]any)
		if !ok || len(m) != len(c.fields) {
			return nil, fmt.Errorf("%v (%T), not a struct of %d fields", v, v, len(c.fields))
		}
		out := make([]any, len(c.fields))
		for i := range c.fields {
			f := &c.fields[i]
			var err error
			if out[i], err = f.canonical(m[f.name], jsonl); err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
		}
		return out, nil
	}
	panic("unreachable")
}

func integer(v any, bits int) (any, error) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, fmt.Errorf("%v (%T), not a number", v, v)
	}
	i, err := strconv.ParseInt(string(n), 10, bits)
	if err != nil {
		return nil, err
	}
	return strconv.FormatInt(i, 10), nil
}

// readerFile is what read.mjs prints of one file read by one reader.
type readerFile struct {
	Reader, File, Error string
	Schema              []schemaNode
	Columns             []string // of the rows' values
	CreatedBy           string   `json:"created_by"`
	Rows                [][]any
	RowGroups           []struct {
		Rows    int
		Columns map[string]struct {
			Stats *struct {
				MinValue  any `json:"min_value"`
				MaxValue  any `json:"max_value"`
				Min, Max  any // deprecated
				NullCount any `json:"null_count"`
			}
			Pages []struct {
				FirstRow  int  `json:"first_row"`
				NullPage  bool `json:"null_page"`
				Min, Max  any
				NullCount any `json:"null_count"`
			}
		}
	} `json:"row_groups"`
}

// schemaNode is a column as a reader sees it: for parquet-wasm its Arrow
// field (type, nullable), for hyparquet its Parquet schema element
// (repetition, physical, logical and converted type).
type schemaNode struct {
	Name       string
	Type       string
	Nullable   bool
	Repetition string
	Logical    map[string]any
	Converted  string
	Children   []schemaNode
}

func (f *readerFile) checkSchema(cols []column) []string {
	if len(f.Schema) != len(cols) {
		var names []string
		for _, n := range f.Schema {
			names = append(names, n.Name)
		}
		return []string{fmt.Sprintf("columns %v, not the %d of the table", names, len(cols))}
	}
	var errs []string
	for i := range cols {
		if f.Reader == "parquet-wasm" {
			errs = append(errs, arrowSchema(&cols[i], &f.Schema[i])...)
		} else {
			errs = append(errs, parquetSchema(&cols[i], &f.Schema[i], cols[i].optional)...)
		}
	}
	return errs
}

// arrowSchema checks the Arrow field arrow-rs makes of a column: the
// Parquet schema read as Arrow's reader maps it, with no Arrow schema in
// the file to go by.
func arrowSchema(c *column, n *schemaNode) []string {
	var want []string
	switch c.kind {
	case kindTime:
		// arrow-rs names the zone of a TIMESTAMP adjusted to UTC "UTC"
		// (older versions "+00:00"); not adjusted, it has none.
		want = []string{"Timestamp(NANOSECOND, UTC)", "Timestamp(NANOSECOND, +00:00)"}
	case kindString:
		want = []string{"Utf8"}
	case kindInt32:
		want = []string{"Int32"}
	case kindInt64:
		want = []string{"Int64"}
	case kindDouble:
		want = []string{"Float64"}
	case kindBool:
		want = []string{"Bool"}
	case kindList:
		want = []string{"List"}
	case kindStruct:
		want = []string{"Struct"}
	}
	var errs []string
	if n.Name != c.name || !slices.Contains(want, n.Type) || n.Nullable != c.optional {
		errs = append(errs, fmt.Sprintf("%s %s nullable=%v, not %s %s nullable=%v", n.Name, n.Type, n.Nullable, c.name, want[0], c.optional))
	}
	var kids []column
	switch c.kind {
	case kindList:
		kids = []column{*c.elem}
	case kindStruct:
		kids = c.fields
	}
	if len(n.Children) != len(kids) {
		return append(errs, fmt.Sprintf("%s: %d children, not %d", c.name, len(n.Children), len(kids)))
	}
	for i := range kids {
		for _, e := range arrowSchema(&kids[i], &n.Children[i]) {
			errs = append(errs, c.name+"."+e)
		}
	}
	return errs
}

// parquetSchema checks a column's Parquet schema element as hyparquet
// parsed it from the footer, against the Parquet format's
// LogicalTypes.md: a time is INT64 annotated TIMESTAMP(NANOS) with
// isAdjustedToUTC (no converted type: none means nanoseconds); a string
// BYTE_ARRAY annotated STRING and, for readers that know only converted
// types, UTF8; an integer INT32 or INT64, signed if annotated; a list the
// three levels: a group annotated LIST (and converted LIST) holding a
// repeated group named list holding one field named element.
func parquetSchema(c *column, n *schemaNode, optional bool) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, c.name+": "+fmt.Sprintf(format, args...)) }
	if n.Name != c.name {
		fail("named %q", n.Name)
	}
	rep := "REQUIRED"
	if optional {
		rep = "OPTIONAL"
	}
	if n.Repetition != rep {
		fail("%s, not %s", n.Repetition, rep)
	}
	logical := func(want map[string]any, alsoNone bool) {
		if n.Logical == nil && alsoNone {
			return
		}
		if !reflect.DeepEqual(n.Logical, want) {
			fail("logical type %v, not %v", n.Logical, want)
		}
	}
	converted := func(want ...string) {
		if !slices.Contains(want, n.Converted) {
			fail("converted type %q, not %q", n.Converted, want[0])
		}
	}
	physical := func(want string) {
		if n.Type != want {
			fail("physical type %q, not %s", n.Type, want)
		}
		if len(n.Children) > 0 {
			fail("%d children", len(n.Children))
		}
	}
	integer := func(bits string) map[string]any {
		return map[string]any{"type": "INTEGER", "bitWidth": json.Number(bits), "isSigned": true}
	}
	switch c.kind {
	case kindTime:
		physical("INT64")
		logical(map[string]any{"type": "TIMESTAMP", "isAdjustedToUTC": true, "unit": "NANOS"}, false)
		converted("")
	case kindString:
		physical("BYTE_ARRAY")
		logical(map[string]any{"type": "STRING"}, false)
		converted("UTF8")
	case kindInt32:
		physical("INT32")
		logical(integer("32"), true)
		converted("", "INT_32")
	case kindInt64:
		physical("INT64")
		logical(integer("64"), true)
		converted("", "INT_64")
	case kindDouble:
		physical("DOUBLE")
		logical(nil, false)
		converted("")
	case kindBool:
		physical("BOOLEAN")
		logical(nil, false)
		converted("")
	case kindList:
		logical(map[string]any{"type": "LIST"}, false)
		converted("LIST")
		if n.Type != "" || len(n.Children) != 1 {
			fail("type %q, %d children: not a group of one", n.Type, len(n.Children))
			break
		}
		l := &n.Children[0]
		if l.Name != "list" || l.Repetition != "REPEATED" || l.Type != "" || l.Logical != nil || len(l.Children) != 1 {
			fail("its middle level is %s %s %q with %d children, not a repeated group named list of one", l.Repetition, l.Name, l.Type, len(l.Children))
			break
		}
		for _, e := range parquetSchema(c.elem, &l.Children[0], c.elem.optional) {
			errs = append(errs, c.name+".list."+e)
		}
	case kindStruct:
		logical(nil, false)
		converted("")
		if n.Type != "" || len(n.Children) != len(c.fields) {
			fail("type %q, %d children: not a group of %d", n.Type, len(n.Children), len(c.fields))
			break
		}
		for i := range c.fields {
			for _, e := range parquetSchema(&c.fields[i], &n.Children[i], c.fields[i].optional) {
				errs = append(errs, c.name+"."+e)
			}
		}
	}
	return errs
}

// canonical is the file's rows as the JSON lines' are made canonical.
func (f *readerFile) canonical(cols []column) ([]string, []string) {
	var rows, errs []string
	for i, r := range f.Rows {
		if len(r) != len(cols) {
			errs = append(errs, fmt.Sprintf("row %d: %d values, not %d", i, len(r), len(cols)))
			continue
		}
		vals := make([]any, len(cols))
		for k := range cols {
			var err error
			if vals[k], err = cols[k].canonical(r[k], false); err != nil {
				errs = append(errs, fmt.Sprintf("row %d: %s: %v", i, cols[k].name, err))
			}
		}
		b, _ := json.Marshal(vals)
		rows = append(rows, string(b))
	}
	return rows, errs
}

// createdBy is the grammar parquet-java's VersionParser reads a file's
// created_by with. Where it does not match, parquet-java takes the file
// for one an old parquet-mr might have written with wrong statistics of
// byte arrays, and ignores its string columns' (PARQUET-251): Spark and
// Hive, and Trino and Athena, which call the same check, would not prune
// by them.
var createdBy = regexp.MustCompile(`^(.*?)\s+version\s*(?:([^(]*?)\s*(?:\(\s*build\s*([^)]*?)\s*\))?)?$`)

// pruned are the columns query engines prune a time or frame range by:
// their row groups' statistics and page index must be there and exact.
var pruned = []string{"ts", "end_ts", "frame", "first_frame", "last_frame"}

// checkStatistics checks the footer's statistics of every row group of
// the file and its page index, against the rows (canonical, in the
// file's order). Of the columns in pruned both must be there, with the
// true minimum and maximum and null count; of the others they may be
// missing or loose (the page index's strings are cut short, as the
// format allows) but must bound the values.
func (f *readerFile) checkStatistics(cols []column, rows []string) []string {
	var errs []string
	total := 0
	for _, g := range f.RowGroups {
		total += g.Rows
	}
	if total != len(rows) {
		return []string{fmt.Sprintf("the row groups hold %d rows, %d were read", total, len(rows))}
	}
	vals := make([][]any, len(rows))
	for i, r := range rows {
		json.Unmarshal([]byte(r), &vals[i])
	}
	start := 0
	for gi, g := range f.RowGroups {
		for ci := range cols {
			c := &cols[ci]
			if c.kind == kindList || c.kind == kindStruct {
				continue
			}
			must := slices.Contains(pruned, c.name)
			at := fmt.Sprintf("row group %d, %s", gi, c.name)
			col, ok := g.Columns[c.name]
			if !ok {
				errs = append(errs, at+": no column chunk")
				continue
			}
			column := func(from, to int) []any {
				out := make([]any, 0, to-from)
				for _, r := range vals[from:to] {
					out = append(out, r[ci])
				}
				return out
			}
			if col.Stats == nil || col.Stats.MinValue == nil {
				if must {
					errs = append(errs, at+": no statistics (min_value, max_value)")
				}
			} else {
				s, v := col.Stats, column(start, start+g.Rows)
				errs = append(errs, checkBounds(c, at+": statistics", v, s.MinValue, s.MaxValue, must)...)
				errs = append(errs, checkNulls(at+": statistics", v, s.NullCount, must)...)
				if s.Min != nil || s.Max != nil { // the deprecated fields: if written, right
					errs = append(errs, checkBounds(c, at+": deprecated statistics", v, s.Min, s.Max, must)...)
				}
			}
			if len(col.Pages) == 0 {
				if must {
					errs = append(errs, at+": no page index")
				}
				continue
			}
			for pi, p := range col.Pages {
				end := start + g.Rows
				if pi+1 < len(col.Pages) {
					end = start + col.Pages[pi+1].FirstRow
				}
				from := start + p.FirstRow
				if from > end || end > start+g.Rows {
					errs = append(errs, fmt.Sprintf("%s: page %d's rows %d to %d are not in the row group", at, pi, p.FirstRow, end-start))
					break
				}
				if p.NullPage {
					if v := column(from, end); slices.ContainsFunc(v, func(x any) bool { return x != nil }) {
						errs = append(errs, fmt.Sprintf("%s: page %d is marked all null and is not", at, pi))
					}
					continue
				}
				at := fmt.Sprintf("%s: page index, page %d", at, pi)
				errs = append(errs, checkBounds(c, at, column(from, end), p.Min, p.Max, must)...)
				errs = append(errs, checkNulls(at, column(from, end), p.NullCount, must)...)
			}
		}
		start += g.Rows
	}
	return errs
}

// checkBounds checks a minimum and maximum against the values: they
// bound them, and are them if exact.
func checkBounds(c *column, at string, vals []any, min, max any, exact bool) []string {
	lo, err := c.canonical(min, false)
	if err != nil {
		return []string{fmt.Sprintf("%s: minimum: %v", at, err)}
	}
	hi, err := c.canonical(max, false)
	if err != nil {
		return []string{fmt.Sprintf("%s: maximum: %v", at, err)}
	}
	var vmin, vmax any
	for _, v := range vals {
		if v == nil {
			continue
		}
		if vmin == nil || c.less(v, vmin) {
			vmin = v
		}
		if vmax == nil || c.less(vmax, v) {
			vmax = v
		}
	}
	if vmin == nil {
		return nil
	}
	if exact && (lo != vmin || hi != vmax) || c.less(vmin, lo) || c.less(hi, vmax) {
		return []string{fmt.Sprintf("%s: minimum %v, maximum %v; the values' are %v, %v", at, lo, hi, vmin, vmax)}
	}
	return nil
}

// checkNulls checks a null count, which may be missing unless required.
func checkNulls(at string, vals []any, count any, required bool) []string {
	n := 0
	for _, v := range vals {
		if v == nil {
			n++
		}
	}
	if count == nil {
		if required {
			return []string{at + ": no null count"}
		}
		return nil
	}
	if got, _ := integer(count, 64); got != strconv.Itoa(n) {
		return []string{fmt.Sprintf("%s: %v nulls, not %d", at, count, n)}
	}
	return nil
}

// less orders two canonical values of the column as Parquet's statistics
// do: integers and times signed, doubles by value, strings by their bytes
// unsigned, false before true.
func (c *column) less(a, b any) bool {
	switch c.kind {
	case kindTime, kindInt32, kindInt64:
		x, _ := strconv.ParseInt(a.(string), 10, 64)
		y, _ := strconv.ParseInt(b.(string), 10, 64)
		return x < y
	case kindDouble:
		x, _ := strconv.ParseFloat(a.(string), 64)
		y, _ := strconv.ParseFloat(b.(string), 64)
		return x < y || x == y && math.Signbit(x) && !math.Signbit(y)
	case kindString:
		return a.(string) < b.(string)
	case kindBool:
		return !a.(bool) && b.(bool)
	}
	return false
}

// multisetDiff describes how two multisets of rows differ, or is "".
func multisetDiff(got, want []string) string {
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if slices.Equal(got, want) {
		return ""
	}
	var missing, extra []string
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want) || i < len(got) && got[i] < want[j]:
			extra = append(extra, got[i])
			i++
		case i == len(got) || want[j] < got[i]:
			missing = append(missing, want[j])
			j++
		default:
			i, j = i+1, j+1
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %d rows against %d: %d not read, %d read that are not there\n", len(got), len(want), len(missing), len(extra))
	for _, r := range missing[:min(3, len(missing))] {
		fmt.Fprintf(&b, "  want: %s\n", r)
	}
	for _, r := range extra[:min(3, len(extra))] {
		fmt.Fprintf(&b, "  got:  %s\n", r)
	}
	return b.String()
}

// TestCheckStatistics checks the checks of TestParquetReaders on the
// statistics, on a file of three rows in one row group of two pages, as
// read.mjs prints it.
func TestCheckStatistics(t *testing.T) {
	cols := columnsOf(reflect.TypeFor[export.Transition]())
	const rows = `[["u1","client",3,1000,"A","B","r",false,"c"],["u2","server",1,3000,"A","B","r",false,"c"],["u3","client",2,2000,"B","C","r",false,"c"]]`
	page := func(first int, min, max string) string {
		return fmt.Sprintf(`{"first_row":%d,"null_page":false,"min":%s,"max":%s,"null_count":0}`, first, min, max)
	}
	col := func(stats string, pages ...string) string {
		return fmt.Sprintf(`{"stats":%s,"pages":[%s]}`, stats, strings.Join(pages, ","))
	}
	good := map[string]string{
		"ts":    col(`{"min_value":1000,"max_value":3000,"null_count":0}`, page(0, "1000", "3000"), page(2, "2000", "2000")),
		"frame": col(`{"min_value":1,"max_value":3,"null_count":0}`, page(0, "1", "3"), page(2, "2", "2")),
		"uid":   col(`{"min_value":"u1","max_value":"u3","null_count":0}`, page(0, `"u"`, `"v"`)), // cut short, as the page index may
	}
	for _, c := range []string{"end", "from", "to", "reason", "correction", "capture"} {
		good[c] = `{"stats":null}` // none: allowed but for the pruned columns
	}
	for _, tc := range []struct {
		name    string
		columns map[string]string
		want    string // in the only error, or "" for none
	}{
		{"right", good, ""},
		{"a maximum too low", map[string]string{"ts": col(`{"min_value":1000,"max_value":2000,"null_count":0}`, page(0, "1000", "3000"), page(2, "2000", "2000"))}, "ts: statistics: minimum 1000, maximum 2000"},
		{"a loose bound of a pruned column", map[string]string{"frame": col(`{"min_value":0,"max_value":3,"null_count":0}`, page(0, "1", "3"), page(2, "2", "2"))}, "frame: statistics: minimum 0"},
		{"no statistics", map[string]string{"frame": col(`null`, page(0, "1", "3"), page(2, "2", "2"))}, "frame: no statistics"},
		{"no page index", map[string]string{"ts": col(`{"min_value":1000,"max_value":3000,"null_count":0}`)}, "ts: no page index"},
		{"a page's bound", map[string]string{"ts": col(`{"min_value":1000,"max_value":3000,"null_count":0}`, page(0, "1000", "3000"), page(2, "2001", "2001"))}, "ts: page index, page 1: minimum 2001"},
		{"a string out of bounds", map[string]string{"uid": col(`{"min_value":"u2","max_value":"u3","null_count":0}`)}, "uid: statistics: minimum u2"},
		{"a null count", map[string]string{"uid": col(`{"min_value":"u1","max_value":"u3","null_count":1}`)}, "uid: statistics: 1 nulls, not 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			columns := maps.Clone(good)
			maps.Copy(columns, tc.columns)
			var parts []string
			for k, v := range columns {
				parts = append(parts, strconv.Quote(k)+":"+v)
			}
			var f readerFile
			dec := json.NewDecoder(strings.NewReader(fmt.Sprintf(`{"reader":"hyparquet","rows":%s,"row_groups":[{"rows":3,"columns":{%s}}]}`, rows, strings.Join(parts, ","))))
			dec.UseNumber()
			if err := dec.Decode(&f); err != nil {
				t.Fatal(err)
			}
			f.Columns = nil
			for _, c := range cols {
				f.Columns = append(f.Columns, c.name)
			}
			canon, errs := f.canonical(cols)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			errs = f.checkStatistics(cols, canon)
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("errors %q on right statistics", errs)
			case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0], tc.want)):
				t.Errorf("errors %q, want one with %q", errs, tc.want)
			}
		})
	}
}

// TestCreatedBy checks the grammar of created_by on what parquet-java
// reads and does not.
func TestCreatedBy(t *testing.T) {
	for s, want := range map[string]bool{
		"parquet-mr version 1.8.0 (build 0fda28af84b9746396014ad6a415b90592a98b3b)": true,
		"parquet-cpp-arrow version 15.0.0":                                          true,
		"tcplens version  (build )":                                                 true, // parquet-go's, for CreatedBy("tcplens", "", "")
		"tcplens":                                                                   false,
		"":                                                                          false,
	} {
		if got := createdBy.MatchString(s); got != want {
			t.Errorf("%q: matches %v, want %v", s, got, want)
		}
	}
}
