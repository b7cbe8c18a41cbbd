package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/export"
	"github.com/tcplens/tcplens/internal/export/exporttest"
)

func exportTo(t *testing.T, dir string, args ...string) {
	t.Helper()
	out, errOut, code := run(t, nil, append([]string{"export", "-o", dir}, args...)...)
	errOut = strings.TrimPrefix(errOut, "tcplens: no file given: reading the built-in demo capture (7 Linux connections from tcplens's netlab)\n")
	if code != 0 || errOut != "" || out != "" {
		t.Fatalf("export %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
	}
}

// TestExportShardUnion: N runs with --shard K/N write disjoint parts of
// one dataset whose union is, row for row, what one run writes; on
// captures with resets, reuse of ports, retransmissions, IPv6, half-open
// and mid-stream connections, and for N = 1, 2, 3 and 7.
func TestExportShardUnion(t *testing.T) {
	captures := []string{
		"", // the built-in demo
		capturePath("zeek-ssh-ssh.pcap.gz"),
		capturePath("zeek-nmap-vsn.pcap"),
		capturePath("zeek-tcp-rst-inject-rae.pcap"),
		capturePath("suri-ftp-ftp-ippair-leak-5204.pcap"),
		capturePath("zeek-ftp-ipv6.pcap"),
		capturePath("suri-bug-7657-01.pcap"),
	}
	for _, capture := range captures {
		name := filepath.Base(capture)
		if capture == "" {
			name = "demo"
		}
		t.Run(name, func(t *testing.T) {
			var files []string
			if capture != "" {
				files = []string{capture}
			}
			whole := t.TempDir()
			exportTo(t, whole, append([]string{"--segments"}, files...)...)
			want := exporttest.Read(t, whole)
			if len(want.Connections) == 0 || len(want.Segments) == 0 {
				t.Fatal("the whole run wrote no connections or segments")
			}
			for _, n := range []int{1, 2, 3, 7} {
				dir := t.TempDir()
				for k := range n {
					exportTo(t, dir, append([]string{"--segments", "--shard", fmt.Sprintf("%d/%d", k, n)}, files...)...)
				}
				if d := exporttest.Diff(exporttest.Read(t, dir), want); d != "" {
					t.Errorf("N=%d: the shards' union differs from the whole run's:\n%s", n, d)
				}
			}
		})
	}
}

// TestExportJSONLMatchesParquet: the two formats hold the same rows.
func TestExportJSONLMatchesParquet(t *testing.T) {
	pq, js := t.TempDir(), t.TempDir()
	capture := capturePath("zeek-ssh-ssh.pcap.gz")
	exportTo(t, pq, "--segments", capture)
	exportTo(t, js, "--segments", "--format", "jsonl", capture)
	if d := exporttest.Diff(exporttest.Read(t, js), exporttest.Read(t, pq)); d != "" {
		t.Errorf("jsonl (got) and parquet (want) differ:\n%s", d)
	}
}

// TestExportConnectionsMatchConns: the connections table says what conns
// --json says of every connection.
func TestExportConnectionsMatchConns(t *testing.T) {
	capture := capturePath("zeek-ssh-ssh.pcap.gz")
	dir := t.TempDir()
	exportTo(t, dir, capture)
	out, _, code := run(t, nil, "conns", "--json", capture)
	if code != 0 {
		t.Fatalf("conns: exit %d", code)
	}
	type connJSON struct {
		Client, Server string
		Start          float64
		ConnState      string `json:"conn_state"`
		History        string
		Close          string
		ClientState    string `json:"client_state"`
		ServerState    string `json:"server_state"`
		BytesC2S       int64  `json:"bytes_c2s"`
	}
	want := map[string]connJSON{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var c connJSON
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		want[c.Client+" "+c.Server] = c
	}
	rows, err := parquetRows[export.Connection](dir, export.TableConnections)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, conns has %d connections", len(rows), len(want))
	}
	for _, r := range rows {
		k := fmt.Sprintf("%s %s", hostPort(r.OrigH, r.OrigP), hostPort(r.RespH, r.RespP))
		c, ok := want[k]
		if !ok {
			t.Errorf("%s: no such connection in conns", k)
			continue
		}
		if r.ConnState != c.ConnState || r.History != c.History || r.Close != c.Close || r.OrigState != c.ClientState ||
			r.RespState != c.ServerState || r.OrigPayloadBytes != c.BytesC2S {
			t.Errorf("%s: row %+v, conns %+v", k, r, c)
		}
	}
}

func hostPort(h string, p int32) string {
	if strings.Contains(h, ":") {
		return fmt.Sprintf("[%s]:%d", h, p)
	}
	return fmt.Sprintf("%s:%d", h, p)
}

func parquetRows[T any](dir, table string) ([]T, error) {
	var all []T
	err := filepath.WalkDir(filepath.Join(dir, table), func(path string, d os.DirEntry, err error) error {
		if os.IsNotExist(err) && path == filepath.Join(dir, table) {
			return filepath.SkipDir // no such table: no rows
		}
		if err != nil || d.IsDir() {
			return err
		}
		rows, err := parquet.ReadFile[T](path)
		all = append(all, rows...)
		return err
	})
	return all, err
}

// TestExportZeekFormats: conn.log on standard output, TSV as zeek-cut
// reads it and JSON, the same rows in both.
func TestExportZeekFormats(t *testing.T) {
	capture := capturePath("zeek-ssh-ssh.pcap.gz")
	tsv, errOut, code := run(t, nil, "export", "--format", "zeek", "-o", "-", capture)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	js, _, _ := run(t, nil, "export", "--format", "zeek-json", "-o", "-", capture)
	if !strings.HasPrefix(tsv, "#separator \\x09\n#set_separator\t,\n") || !strings.Contains(tsv, "\n#fields\tts\tuid\tid.orig_h") ||
		!strings.HasSuffix(tsv, "\n#close\t2015-01-12-05-45-28\n") {
		t.Errorf("not Zeek's header and footer:\n%s", tsv)
	}
	var fields []string
	var rows [][]string
	for _, l := range lines(tsv) {
		if f, ok := strings.CutPrefix(l, "#fields\t"); ok {
			fields = strings.Split(f, "\t")
		} else if !strings.HasPrefix(l, "#") {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	objs := lines(js)
	if len(rows) != 23 || len(objs) != len(rows) {
		t.Fatalf("%d TSV rows and %d JSON ones, want 23 (the TCP connections of Zeek's baseline)", len(rows), len(objs))
	}
	for i, o := range objs {
		var m map[string]any
		if err := json.Unmarshal([]byte(o), &m); err != nil {
			t.Fatal(err)
		}
		for j, f := range fields {
			v, ok := m[f]
			switch tv := rows[i][j]; {
			case tv == "-":
				if ok {
					t.Errorf("row %d: %s unset in TSV, %v in JSON", i, f, v)
				}
			case !ok:
				t.Errorf("row %d: %s = %s in TSV, absent in JSON", i, f, tv)
			case fmt.Sprint(v) != tv && !(tv == "T" && v == true) && !(tv == "F" && v == false) && !sameNumber(v, tv):
				t.Errorf("row %d: %s = %s in TSV, %v in JSON", i, f, tv, v)
			}
		}
	}
	// Written to a directory, it is DIR/conn.log.
	dir := t.TempDir()
	if _, errOut, code := run(t, nil, "export", "--format", "zeek", "-o", dir, capture); code != 0 {
		t.Fatal(errOut)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "conn.log")); err != nil || !bytes.Equal(b, []byte(tsv)) {
		t.Errorf("DIR/conn.log differs from standard output's (%v)", err)
	}
}

func sameNumber(v any, s string) bool {
	f, ok := v.(float64)
	if !ok {
		return false
	}
	var g float64
	_, err := fmt.Sscan(s, &g)
	return err == nil && fmt.Sprintf("%.6f", f) == fmt.Sprintf("%.6f", g)
}

// TestExportSchemaDocumented: export --help lists every column of every
// table, in order, and nothing else.
func TestExportSchemaDocumented(t *testing.T) {
	for _, tc := range []struct {
		table  string
		schema *parquet.Schema
	}{
		{"connections", parquet.SchemaOf(new(export.Connection))},
		{"findings", parquet.SchemaOf(new(export.Finding))},
		{"transitions", parquet.SchemaOf(new(export.Transition))},
		{"segments", parquet.SchemaOf(new(export.Segment))},
	} {
		var cols []string
		for _, f := range tc.schema.Fields() {
			cols = append(cols, f.Name())
		}
		// The table's paragraph in exportSchema: after "TABLE (" up to the
		// next table's name at the start of a line.
		i := strings.Index(exportSchema, tc.table+" (")
		if i < 0 {
			t.Errorf("%s: not in export --help", tc.table)
			continue
		}
		body := exportSchema[i:]
		body = body[strings.Index(body, "):\n")+3:]
		var doc []string
		for _, l := range strings.Split(body, "\n") {
			if !strings.HasPrefix(l, "  ") {
				break
			}
			for _, c := range strings.Split(l, ",") {
				if c = strings.TrimSpace(c); c != "" {
					doc = append(doc, c)
				}
			}
		}
		if !slices.Equal(doc, cols) {
			t.Errorf("%s: --help lists\n%v\nthe schema has\n%v", tc.table, doc, cols)
		}
	}
}

// TestExportNoFindings: without the diagnosis the connections are the
// same, their finding lists empty, and there is no findings table.
func TestExportNoFindings(t *testing.T) {
	capture := capturePath("zeek-nmap-vsn.pcap")
	full, bare := t.TempDir(), t.TempDir()
	exportTo(t, full, capture)
	exportTo(t, bare, "--no-findings", capture)
	a, b := exporttest.Read(t, full), exporttest.Read(t, bare)
	if len(b.Findings) != 0 {
		t.Errorf("%d findings written with --no-findings", len(b.Findings))
	}
	re := regexp.MustCompile(`"findings":\[[^]]*\]`)
	var want []string
	for _, r := range a.Connections {
		want = append(want, re.ReplaceAllString(r, `"findings":[]`))
	}
	slices.Sort(want)
	if !slices.Equal(b.Connections, want) || !slices.Equal(b.Transitions, a.Transitions) {
		t.Errorf("the connections differ without the diagnosis:\n%s", exporttest.Diff(exporttest.Dataset{Connections: b.Connections, Transitions: b.Transitions},
			exporttest.Dataset{Connections: want, Transitions: a.Transitions}))
	}
}

// TestExportNoTransitions: without the transitions table the other
// tables are the same.
func TestExportNoTransitions(t *testing.T) {
	capture := capturePath("zeek-echo-connections.pcap.gz")
	full, bare := t.TempDir(), t.TempDir()
	exportTo(t, full, capture)
	exportTo(t, bare, "--no-transitions", capture)
	a, b := exporttest.Read(t, full), exporttest.Read(t, bare)
	if len(a.Transitions) == 0 || len(b.Transitions) != 0 {
		t.Errorf("%d transitions, %d with --no-transitions", len(a.Transitions), len(b.Transitions))
	}
	a.Transitions = nil
	if d := exporttest.Diff(b, a); d != "" {
		t.Errorf("the other tables differ without the transitions:\n%s", d)
	}
}

// TestExportFilterFile: export reads the capture through the filter -F
// gives, as through one given after the files, on every core.
func TestExportFilterFile(t *testing.T) {
	flt := filepath.Join(t.TempDir(), "filter")
	os.WriteFile(flt, []byte("port 40006 or port 40007\n"), 0o644)
	a, b := t.TempDir(), t.TempDir()
	exportTo(t, a, "--threads", "2", "-F", flt)
	exportTo(t, b, "--threads", "2", "port", "40006", "or", "port", "40007")
	got, want := exporttest.Read(t, a), exporttest.Read(t, b)
	if d := exporttest.Diff(got, want); d != "" || len(want.Connections) != 2 {
		t.Errorf("export -F differs from export FILTER (%d connections):\n%s", len(want.Connections), d)
	}
}

// TestExportThreadsSameRows: the connections, findings and transitions
// tables are the same files whatever the number of cores, and the
// segments table holds the same rows.
func TestExportThreadsSameRows(t *testing.T) {
	capture := capturePath("zeek-smb-smb_v2_only_non_zero_reserved1.pcap")
	one, four := t.TempDir(), t.TempDir()
	exportTo(t, one, "--segments", "--format", "jsonl", "--threads", "1", capture)
	exportTo(t, four, "--segments", "--format", "jsonl", "--threads", "4", capture)
	if d := exporttest.Diff(exporttest.Read(t, four), exporttest.Read(t, one)); d != "" {
		t.Fatalf("--threads 4 (got) and 1 (want) differ:\n%s", d)
	}
	for _, table := range []string{export.TableConnections, export.TableFindings, export.TableTransitions} {
		a, b := tableBytes(t, one, table), tableBytes(t, four, table)
		if a != b || a == "" {
			t.Errorf("%s: the files differ between --threads 1 and 4 (%d and %d bytes)", table, len(a), len(b))
		}
	}
}

// tableBytes is the content of every file of a table, in path order.
func tableBytes(t *testing.T, dir, table string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(filepath.Join(dir, table), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(data)
		}
		return nil
	})
	return b.String()
}

// TestExportFindingsMatchDiagnose: the findings table holds what
// diagnose --json reports of each connection, id, severity, frames and
// words alike, and nothing else: a finding diagnose gathers into one for
// more than diagnose.AggregateAbove connections is a row for each of them,
// its examples' frames among theirs; a scan's probes have no findings of
// their own (the scan's stands for them), as in diagnose.
func TestExportFindingsMatchDiagnose(t *testing.T) {
	for _, capture := range []string{
		"", // the demo
		filepath.Join(testdata, "crafted", "port-scan.pcap"),
		filepath.Join(testdata, "crafted", "host-sweep.pcap"),
		filepath.Join(testdata, "crafted", "forged-rst.pcap"),
		filepath.Join(testdata, "crafted", "fin-capture-stopped.pcap"),
		capturePath("zeek-nmap-vsn.pcap"),
		capturePath("zeek-tcp-rst-inject-rae.pcap"),
		capturePath("zeek-smb-smb_v2_only_non_zero_reserved1.pcap"),
		capturePath("zeek-ssh-ssh.pcap.gz"),
		capturePath("zeek-echo-connections.pcap.gz"),
	} {
		name := filepath.Base(capture)
		if capture == "" {
			name = "demo"
		}
		t.Run(name, func(t *testing.T) {
			var files []string
			if capture != "" {
				files = []string{capture}
			}
			dir := t.TempDir()
			exportTo(t, dir, append([]string{"--threads", "2"}, files...)...)
			rows, err := parquetRows[export.Finding](dir, export.TableFindings)
			if err != nil {
				t.Fatal(err)
			}
			out, _, code := run(t, nil, append([]string{"diagnose", "--json"}, files...)...)
			if code != 0 {
				t.Fatalf("diagnose: exit %d", code)
			}
			type finding struct {
				ID, Severity, Title, Explanation string
				Conn                             *int
				Frames                           []int64
			}
			key := func(id, severity, title, explanation string, frames []int64) string {
				return fmt.Sprintf("%s %s %v %s: %s", id, severity, frames, title, explanation)
			}
			exported := map[string][]string{} // by id
			for _, r := range rows {
				exported[r.ID] = append(exported[r.ID], key(r.ID, r.Severity, r.Title, r.Explanation, r.Frames))
			}
			diagnosed := map[string][]string{}
			aggregated := map[string]finding{}
			for _, l := range lines(out) {
				var f finding
				if err := json.Unmarshal([]byte(l), &f); err != nil {
					t.Fatal(err)
				}
				switch {
				case f.Conn != nil:
					diagnosed[f.ID] = append(diagnosed[f.ID], key(f.ID, f.Severity, f.Title, f.Explanation, f.Frames))
				case exported[f.ID] != nil:
					aggregated[f.ID] = f // one for many connections
				}
			}
			for id, want := range diagnosed {
				got := exported[id]
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s: exported\n  %s\ndiagnose --json\n  %s", id, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
				}
			}
			for id, got := range exported {
				if diagnosed[id] != nil {
					continue
				}
				f, ok := aggregated[id]
				if !ok {
					t.Errorf("%s: %d exported, none in diagnose --json:\n  %s", id, len(got), strings.Join(got, "\n  "))
					continue
				}
				if len(got) <= diagnose.AggregateAbove {
					t.Errorf("%s: %d exported, which diagnose would not gather into one", id, len(got))
				}
				var frames []int64
				for _, r := range rows {
					if r.ID == id {
						frames = append(frames, r.Frames...)
					}
				}
				for _, n := range f.Frames {
					if !slices.Contains(frames, n) {
						t.Errorf("%s: diagnose's frame %d is in no exported finding", id, n)
					}
				}
			}
			// Each connection lists the ids of its findings' rows.
			conns, err := parquetRows[export.Connection](dir, export.TableConnections)
			if err != nil {
				t.Fatal(err)
			}
			byUID := map[string][]string{}
			for _, r := range rows {
				byUID[r.UID] = append(byUID[r.UID], r.ID)
			}
			for _, c := range conns {
				got, want := slices.Sorted(slices.Values(c.Findings)), slices.Sorted(slices.Values(byUID[c.UID]))
				if !slices.Equal(got, want) {
					t.Errorf("connection %s lists %v, its findings' rows are %v", c.UID, got, want)
				}
			}
		})
	}
}
