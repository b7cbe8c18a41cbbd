package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/pqfile"
)

// captureRows are the rows of every table of an export of captures, with
// the findings and the segments, read back from JSON lines.
type captureRows struct {
	connections []Connection
	findings    []Finding
	transitions []Transition
	segments    []Segment
}

func exportRows(t *testing.T, captures ...string) captureRows {
	t.Helper()
	dir := t.TempDir()
	for i, capture := range captures {
		ds, err := NewDataset(dir, JSONL, "s", "part"+string(rune('a'+i)), true)
		if err != nil {
			t.Fatal(err)
		}
		x := NewExporter(ds, Options{Capture: filepath.Base(capture), Analysis: analyze.Options{Threads: 2}, Findings: true})
		f, err := os.Open(capture)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcap.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			fr, err := r.Next()
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err == nil {
				x.Add(&fr)
			}
		}
		f.Close()
		if _, err := x.Close(); err != nil {
			t.Fatal(err)
		}
		if err := ds.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var rows captureRows
	readJSONL(t, dir, TableConnections, &rows.connections)
	readJSONL(t, dir, TableFindings, &rows.findings)
	readJSONL(t, dir, TableTransitions, &rows.transitions)
	readJSONL(t, dir, TableSegments, &rows.segments)
	return rows
}

func readJSONL[T any](t *testing.T, dir, table string, rows *[]T) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, table, "*", "*", "*", "*.jsonl"))
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r T
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			*rows = append(*rows, r)
		}
		f.Close()
	}
}

// testCaptures are captures whose rows have every column's cases between
// them: SACK blocks, errors, nulls, findings, IPv6, many connections.
var testCaptures = []string{
	"zeek-echo-connections.pcap.gz",
	"zeek-ftp-bigtransfer.pcap",
	"suri-tcp-empty-sack-tcp-opt.pcap",
	"suri-bug-4376-syn_retransmit_with_ts.pcap",
	"tcpdump-tcp_rst_data-trunc.pcap",
	"zeek-nmap-vsn.pcap",
	"zeek-ftp-ipv6.pcap",
	"zeek-tcp-missing-syn.pcap",
	"tcpdump-accecn_handshake.pcap",
	"zeek-tcp-truncated-header.pcap",
	"gopacket-linux_sll_oversized_addr.pcapng",
}

// TestParquetTables writes each table's rows from the test captures with
// pqfile as the dataset does, and with small row groups and pages, and
// reads them back with parquet-go: the same rows. The files' schema is
// parquet-go's for the row type (parquet.SchemaOf), element for element
// in the footer, and so are each column's encodings.
func TestParquetTables(t *testing.T) {
	var paths []string
	for _, c := range testCaptures {
		paths = append(paths, filepath.Join(testdata, "captures", c))
	}
	rows := exportRows(t, paths...)
	// The rows hold what the columns must carry.
	has := map[string]bool{}
	for _, s := range rows.segments {
		has["sack"] = has["sack"] || len(s.SACK) > 0
		has["error"] = has["error"] || s.Error != nil
		has["analysis"] = has["analysis"] || len(s.Analysis) > 1
		has["null rtt"] = has["null rtt"] || s.RTT == nil
		has["rtt"] = has["rtt"] || s.RTT != nil
	}
	for _, c := range rows.connections {
		has["findings"] = has["findings"] || len(c.Findings) > 1
		has["closed_first"] = has["closed_first"] || c.ClosedFirst != nil
		has["ipv6"] = has["ipv6"] || strings.Contains(c.OrigH, ":")
	}
	for _, what := range []string{"sack", "error", "analysis", "null rtt", "rtt", "findings", "closed_first", "ipv6"} {
		if !has[what] {
			t.Errorf("no row of the test captures has %s", what)
		}
	}
	if len(rows.segments) < 50000 || len(rows.findings) == 0 || len(rows.transitions) == 0 {
		t.Errorf("%d segments, %d findings, %d transitions", len(rows.segments), len(rows.findings), len(rows.transitions))
	}
	checkTable(t, connectionColumns, rows.connections, connectionGroupRows)
	checkTable(t, findingColumns, rows.findings, connectionGroupRows)
	checkTable(t, transitionColumns, rows.transitions, connectionGroupRows)
	checkTable(t, segmentColumns, rows.segments, segmentGroupRows)
}

func checkTable[T any](t *testing.T, columns *pqfile.Schema[T], rows []T, groupRows int) {
	t.Helper()
	name := parquet.SchemaOf(new(T)).Name()
	for _, opts := range []pqfile.Options{
		{GroupRows: groupRows, PageBytes: pageBytes},
		{GroupRows: 1000, PageBytes: 2 << 10}, // groups and pages by the dozen
		{GroupRows: 1},
	} {
		if opts.GroupRows == 1 {
			rows = rows[:min(len(rows), 50)]
		}
		ours := writeTable(t, rows, func(w io.Writer) tableWriter[T] { return pqfile.NewWriter(w, columns, opts) })
		f, err := parquet.OpenFile(bytes.NewReader(ours), int64(len(ours)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := (len(rows) + opts.GroupRows - 1) / opts.GroupRows; len(f.RowGroups()) != want {
			t.Errorf("%s: %d row groups, want %d", name, len(f.RowGroups()), want)
		}
		got, err := parquet.Read[T](bytes.NewReader(ours), int64(len(ours)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := cmp.Diff(rows, got); d != "" {
			t.Fatalf("%s, groups of %d rows, pages of %d bytes: the rows read back differ (-written +read):\n%s", name, opts.GroupRows, opts.PageBytes, d)
		}
	}

	ours := writeTable(t, rows, func(w io.Writer) tableWriter[T] { return pqfile.NewWriter(w, columns, pqfile.Options{}) })
	theirs := writeTable(t, rows, func(w io.Writer) tableWriter[T] { return genericWriter[T]{parquet.NewGenericWriter[T](w)} })
	a, err := parquet.OpenFile(bytes.NewReader(ours), int64(len(ours)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := parquet.OpenFile(bytes.NewReader(theirs), int64(len(theirs)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.Schema().String(), parquet.SchemaOf(new(T)).String(); got != want {
		t.Errorf("%s: the file's schema\n%s\nparquet.SchemaOf's\n%s", name, got, want)
	}
	am, bm := a.Metadata(), b.Metadata()
	if d := cmp.Diff(bm.Schema, am.Schema); d != "" {
		t.Errorf("%s: the footer's schema elements differ from parquet-go's (-parquet-go +pqfile):\n%s", name, d)
	}
	if d := cmp.Diff(bm.ColumnOrders, am.ColumnOrders); d != "" {
		t.Errorf("%s: the column orders differ from parquet-go's (-parquet-go +pqfile):\n%s", name, d)
	}
	for i, c := range am.RowGroups[0].Columns {
		got, want := c.MetaData, bm.RowGroups[0].Columns[i].MetaData
		if d := cmp.Diff([]any{want.PathInSchema, want.Type, want.Encoding}, []any{got.PathInSchema, got.Type, got.Encoding}); d != "" {
			t.Errorf("%s column %d: path, type or encodings differ from parquet-go's (-parquet-go +pqfile):\n%s", name, i, d)
		}
	}
}

type tableWriter[T any] interface {
	Write([]T) error
	Close() error
}

type genericWriter[T any] struct{ *parquet.GenericWriter[T] }

func (w genericWriter[T]) Write(rows []T) error {
	_, err := w.GenericWriter.Write(rows)
	return err
}

func writeTable[T any](t *testing.T, rows []T, open func(io.Writer) tableWriter[T]) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := open(&buf)
	for i := 0; i < len(rows); i += batchRows {
		if err := w.Write(rows[i:min(i+batchRows, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
