package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
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
