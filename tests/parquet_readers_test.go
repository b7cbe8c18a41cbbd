package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/cli"
	"github.com/tcplens/tcplens/internal/export"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
)

// The captures whose exports the other readers read: each a sensor of one
// dataset. Between them every optional column is null and not null
// somewhere, and every list empty and not (TestParquetReaders checks it).
var readerCaptures = []struct {
	sensor string
	files  []string
}{
	{"demo", nil}, // the built-in demo
	{"ipv6", []string{"zeek-ftp-ipv6.pcap"}},
	{"sack", []string{"suri-bug-4376-syn_retransmit_with_ts.pcap"}},                           // SACK blocks, retransmissions
	{"tfo", []string{"zeek-tcp-tcp-fast-open.pcap"}},                                          // TCP Fast Open
	{"wscale", []string{"zeek-http-206_example_b.pcap.gz"}},                                   // window scaling, SACK
	{"scan", []string{"zeek-nmap-vsn.pcap"}},                                                  // a scan's probes and its finding
	{"echo", []string{"zeek-echo-connections.pcap.gz"}},                                       // 500 connections, 82,582 segments
	{"trunc", []string{"zeek-tcp-truncated-header.pcap"}},                                     // a truncated TCP header: a segment's error
	{"sll", []string{"gopacket-linux_sll_oversized_addr.pcapng"}},                             // Linux cooked capture, pcapng, errors
	{"trunc-only", []string{"zeek-trunc-trunc-hdr.pcap"}},                                     // segments but no connection
	{"sll2-rfb", []string{"lwerdna-simple_http_sll2.pcap", "zeek-rfb-vnc-mac-to-linux.pcap"}}, // two files, SLL2
}

// TestParquetReaders reads what tcplens export writes with two Parquet
// readers that share no code with parquet-go, which writes the files, nor
// with DuckDB, which tests/duckdb queries them with: Apache arrow-rs's
// reader (parquet-wasm, compiled to WebAssembly; the Rust implementation
// DataFusion and others build on) into Arrow's JavaScript implementation,
// and hyparquet, a reader in plain JavaScript (tests/parquet-readers,
// installed from npm with npm ci). For several captures exported both as
// Parquet and as JSON lines it requires, table by table and partition by
// partition, that each reader reads the JSON lines' rows exactly (every
// column; timestamps to the nanosecond, doubles to the bit), that each
// sees the schema export --help and the README give (the columns in their
// order, times as INT64 TIMESTAMP(NANOS) adjusted to UTC, strings as
// STRING, lists as LIST in the standard three levels, nulls only where a
// value may be missing), and that the footer's row-group statistics and
// the page index, which query engines prune by, hold the true minimum and
// maximum of every row group's and page's ts and frame columns and never
// lie about any other column.
func TestParquetReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: installs the readers from npm and reads a dozen exports")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip(t, "no node (Debian's nodejs): the Parquet readers of tests/parquet-readers run on Node")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		skip(t, "no npm (Debian's npm): it installs the Parquet readers of tests/parquet-readers")
	}
	dependOn(t, "../internal", "../cmd", "../go.mod", "../testdata/captures", "parquet-readers")

	began := time.Now()
	install := exec.Command(npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline")
	install.Dir = "parquet-readers"
	if out, err := install.CombinedOutput(); err != nil {
		if !required && npmUnreachable(string(out)) {
			t.Skipf("npm could not fetch the Parquet readers:\n%s", out)
		}
		t.Fatalf("npm ci in tests/parquet-readers: %v\n%s", err, out)
	}
	version, _ := exec.Command(node, "--version").Output()
	t.Logf("npm ci: %s; node %s", time.Since(began).Round(time.Millisecond), bytes.TrimSpace(version))

	tables := readerTables(t)

	t.Run("captures", func(t *testing.T) {
		pq, jl := filepath.Join(t.TempDir(), "parquet"), filepath.Join(t.TempDir(), "jsonl")
		for _, c := range readerCaptures {
			var files []string
			for _, f := range c.files {
				files = append(files, filepath.Join("../testdata/captures", f))
			}
			exportBoth(t, pq, jl, append([]string{"--sensor", c.sensor, "--segments"}, files...)...)
		}
		read := readParquet(t, node, pq, nil)
		want := jsonlRows(t, jl, tables, nil)
		checkCoverage(t, tables, want)
		compareReaders(t, tables, read(), want, nil)
	})

	// Files of several row groups, each of several pages: a SYN flood of
	// 132,000 SYNs analysed on one core makes 132,000 segments in one
	// file (row groups of 131,072) and as many connections (row groups of
	// 65,536). The readers read only the columns pruned by, as an engine
	// does for a query on them.
	t.Run("row groups", func(t *testing.T) {
		tmp := t.TempDir()
		capture := filepath.Join(tmp, "flood.pcap")
		began := time.Now()
		writeFlood(t, capture, 132_000)
		pq, jl := filepath.Join(tmp, "parquet"), filepath.Join(tmp, "jsonl")
		exportBoth(t, pq, jl, "--sensor", "flood", "--segments", "--no-findings", "--threads", "1", capture)
		t.Logf("flood written and exported twice in %s", time.Since(began).Round(time.Millisecond))
		read := readParquet(t, node, pq, pruned)
		began = time.Now()
		want := jsonlRows(t, jl, tables, pruned)
		t.Logf("JSON lines read in %s", time.Since(began).Round(time.Millisecond))
		n := compareReaders(t, tables, read(), want, pruned)
		for _, table := range []string{export.TableConnections, export.TableTransitions, export.TableSegments} {
			if n.groups[table] < 2 || n.pages[table] <= n.groups[table] {
				t.Errorf("the flood's %s: %d row groups, %d pages of ts: not several of each", table, n.groups[table], n.pages[table])
			}
		}
	})
}

// exportBoth runs tcplens export with args into pq as Parquet and into jl
// as JSON lines.
func exportBoth(t *testing.T, pq, jl string, args ...string) {
	t.Helper()
	for _, f := range []struct{ format, dir string }{{"parquet", pq}, {"jsonl", jl}} {
		args := append([]string{"export", "--format", f.format, "-o", f.dir}, args...)
		var stdout, stderr bytes.Buffer
		if code := cli.Main(args, strings.NewReader(""), &stdout, &stderr); code != 0 {
			t.Fatalf("tcplens %v: exit %d: %s", args, code, stderr.String())
		}
	}
}

func writeFlood(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcap.NewWriter(f, pcap.LinkEthernet, 65535, true, false)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 54)
	for i := range n {
		fr := testcap.SYNFlood(i, buf)
		if err := w.WritePacket(&fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// readParquet starts read.mjs reading the Parquet files under pq with
// both readers (only the columns only, if not nil), and returns what waits
// for its output: the JSON lines are read meanwhile.
func readParquet(t *testing.T, node, pq string, only []string) func() []byte {
	t.Helper()
	args := []string{"read.mjs", pq}
	if only != nil {
		args = []string{"read.mjs", "--columns", strings.Join(only, ","), pq}
	}
	began := time.Now()
	read := exec.Command(node, args...)
	read.Dir = "parquet-readers"
	var stdout, stderr bytes.Buffer
	read.Stdout, read.Stderr = &stdout, &stderr
	if err := read.Start(); err != nil {
		t.Fatal(err)
	}
	return func() []byte {
		t.Helper()
		if err := read.Wait(); err != nil {
			t.Fatalf("node %v: %v\n%s", args, err, stderr.String())
		}
		t.Logf("both readers read the Parquet files in %s (%d MB of JSON)", time.Since(began).Round(time.Millisecond), stdout.Len()>>20)
		return stdout.Bytes()
	}
}

// compareReaders checks what read.mjs printed (only the columns only, if
// not nil) against want, the JSON lines' rows by partition: each file's
// schema as each reader sees it, its rows, and its statistics and page
// index. It returns what was read.
func compareReaders(t *testing.T, tables map[string][]column, out []byte, want map[string][]string, only []string) readCounts {
	t.Helper()
	got := map[string]map[string][]string{} // reader → partition → rows
	n := readCounts{groups: map[string]int{}, pages: map[string]int{}}
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var f readerFile
		dec.UseNumber()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("read.mjs's output: %v", err)
		}
		n.files++
		table := strings.Split(f.File, "/")[0]
		cols, ok := tables[table]
		if !ok {
			t.Errorf("%s: a file of no table", f.File)
			continue
		}
		if f.Error != "" {
			t.Errorf("%s cannot read %s: %s", f.Reader, f.File, f.Error)
			continue
		}
		for _, e := range f.checkSchema(cols) {
			t.Errorf("%s sees %s's schema wrong: %s", f.Reader, f.File, e)
		}
		read, err := selected(cols, f.Columns, only)
		if err != nil {
			t.Errorf("%s reads %s: %v", f.Reader, f.File, err)
			continue
		}
		rows, errs := f.canonical(read)
		for _, e := range errs {
			t.Errorf("%s reads %s: %s", f.Reader, f.File, e)
		}
		if got[f.Reader] == nil {
			got[f.Reader] = map[string][]string{}
		}
		part := pathDir(f.File)
		got[f.Reader][part] = append(got[f.Reader][part], rows...)
		if f.Reader == "hyparquet" {
			if !createdBy.MatchString(f.CreatedBy) {
				t.Errorf("%s: created_by %q is not APPLICATION version VERSION (build HASH): parquet-java (Spark, Hive, Trino, Athena) then ignores the statistics of its string columns (CorruptStatistics, PARQUET-251)", f.File, f.CreatedBy)
			}
			for _, e := range f.checkStatistics(read, rows) {
				t.Errorf("%s: %s", f.File, e)
			}
			n.groups[table] += len(f.RowGroups)
			for _, g := range f.RowGroups {
				n.pages[table] += len(g.Columns["ts"].Pages)
			}
		}
	}
	if len(got) != 2 {
		t.Fatalf("read.mjs printed the files of %d readers, not 2", len(got))
	}
	for reader, parts := range got {
		for part, rows := range want {
			if d := multisetDiff(parts[part], rows); d != "" {
				t.Errorf("%s reads %s other than the JSON lines say:\n%s", reader, part, d)
			}
		}
		for part := range parts {
			if _, ok := want[part]; !ok {
				t.Errorf("%s: Parquet files in %s, JSON lines none", reader, part)
			}
		}
	}
	n.files /= 2
	t.Logf("%d files in %d partitions; row groups %v, pages of ts %v", n.files, len(want), n.groups, n.pages)
	return n
}

// readCounts is what compareReaders read: files, and row groups and pages
// of ts by table.
type readCounts struct {
	files         int
	groups, pages map[string]int
}

// selected is the columns a reader read: the table's, or those of only the
// table has, in order.
func selected(cols []column, read, only []string) ([]column, error) {
	var want []column
	for _, c := range cols {
		if only == nil || slices.Contains(only, c.name) {
			want = append(want, c)
		}
	}
	var names []string
	for _, c := range want {
		names = append(names, c.name)
	}
	if !slices.Equal(read, names) {
		return nil, fmt.Errorf("it read the columns %v, not %v", read, names)
	}
	return want, nil
}

// npmUnreachable says npm could not reach the registry.
func npmUnreachable(out string) bool {
	for _, s := range []string{"ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "network"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

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

// readerTables is every table's columns, from its row type, having checked
// that export --help lists the same names in the same order.
func readerTables(t *testing.T) map[string][]column {
	t.Helper()
	tables := map[string][]column{
		export.TableConnections: columnsOf(reflect.TypeFor[export.Connection]()),
		export.TableFindings:    columnsOf(reflect.TypeFor[export.Finding]()),
		export.TableTransitions: columnsOf(reflect.TypeFor[export.Transition]()),
		export.TableSegments:    columnsOf(reflect.TypeFor[export.Segment]()),
	}
	var help, stderr bytes.Buffer
	if code := cli.Main([]string{"export", "--help"}, strings.NewReader(""), &help, &stderr); code != 0 {
		t.Fatalf("tcplens export --help: exit %d: %s", code, stderr.String())
	}
	for name, cols := range tables {
		var want []string
		for _, c := range cols {
			want = append(want, c.name)
		}
		if got := helpColumns(help.String(), name); !slices.Equal(got, want) {
			t.Errorf("export --help lists %s's columns as\n  %v\nits rows have\n  %v", name, got, want)
		}
	}
	return tables
}

// helpColumns is the column names export --help lists for a table: the
// indented lines after its heading "TABLE (…):", which may run over two
// lines.
func helpColumns(help, table string) []string {
	var names []string
	heading, in := false, false
	for l := range strings.Lines(help) {
		switch {
		case strings.HasPrefix(l, table+" ("):
			heading = true
			fallthrough
		case heading:
			heading = !strings.HasSuffix(strings.TrimSpace(l), "):")
			in = !heading
		case in && strings.HasPrefix(l, "  "):
			for n := range strings.SplitSeq(l, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, n)
				}
			}
		case in:
			return names
		}
	}
	return names
}

// jsonlRows is the JSON lines export's rows, canonical, by partition
// (TABLE/sensor=…/date=…/hour=…).
func jsonlRows(t *testing.T, dir string, tables map[string][]column, only []string) map[string][]string {
	t.Helper()
	parts := map[string][]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		cols := tables[strings.Split(rel, "/")[0]]
		if cols == nil || !strings.HasSuffix(rel, ".jsonl") {
			return fmt.Errorf("%s: not a file of the dataset", rel)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		// Each line is read into a struct of the columns compared, each
		// left as its JSON text until it is: the flood's JSON lines are
		// 400 MB, and skipping a value costs a tenth of keeping it. (The
		// JSON lines' names are those of the row type, as are the
		// columns'.)
		var read []column
		var fields []reflect.StructField
		for _, c := range cols {
			if only == nil || slices.Contains(only, c.name) {
				read = append(read, c)
				fields = append(fields, reflect.StructField{
					Name: fmt.Sprintf("C%d", len(fields)), Type: reflect.TypeFor[json.RawMessage](),
					Tag: reflect.StructTag(fmt.Sprintf("json:%q", c.name)),
				})
			}
		}
		row := reflect.New(reflect.StructOf(fields))
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			row.Elem().SetZero()
			if err := json.Unmarshal(sc.Bytes(), row.Interface()); err != nil {
				return fmt.Errorf("%s:%d: %w", rel, n, err)
			}
			vals := make([]any, len(read))
			for i, c := range read {
				raw := row.Elem().Field(i).Interface().(json.RawMessage)
				if raw == nil {
					return fmt.Errorf("%s:%d: no column %s", rel, n, c.name)
				}
				dec := json.NewDecoder(bytes.NewReader(raw))
				dec.UseNumber()
				var v any
				if err := dec.Decode(&v); err != nil {
					return fmt.Errorf("%s:%d: %s: %w", rel, n, c.name, err)
				}
				if vals[i], err = c.canonical(v, true); err != nil {
					return fmt.Errorf("%s:%d: %s: %w", rel, n, c.name, err)
				}
			}
			b, _ := json.Marshal(vals)
			part := pathDir(rel)
			parts[part] = append(parts[part], string(b))
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return parts
}

func pathDir(rel string) string { return rel[:strings.LastIndexByte(rel, '/')] }

// neverEmpty are the list columns that are never empty: a finding always
// names the frames that are its evidence.
var neverEmpty = map[string]bool{"findings.frames": true}

// checkCoverage fails the test unless some row of each table has a null
// in every optional column and some a value, and some an empty list in
// every list column and some a non-empty one: a reader that read every
// null, or every list, wrong would otherwise go unseen.
func checkCoverage(t *testing.T, tables map[string][]column, parts map[string][]string) {
	t.Helper()
	for name, cols := range tables {
		seen := make([][2]bool, len(cols)) // [empty or null, a value]
		for part, rows := range parts {
			if !strings.HasPrefix(part, name+"/") {
				continue
			}
			for _, r := range rows {
				var vals []any
				json.Unmarshal([]byte(r), &vals)
				for i, v := range vals {
					l, isList := v.([]any)
					empty := v == nil || isList && len(l) == 0
					seen[i][0] = seen[i][0] || empty
					seen[i][1] = seen[i][1] || !empty
				}
			}
		}
		for i, c := range cols {
			if (c.optional || c.kind == kindList) && seen[i] != [2]bool{true, true} && !neverEmpty[name+"."+c.name] {
				t.Errorf("%s.%s: no capture of the test has both an empty or null and a value (%v): add one that does", name, c.name, seen[i])
			}
		}
	}
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
