package export

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/zeek"
)

const testdata = "../../testdata"

// zeekBaselines names the capture of each conn.log that Zeek's own test
// suite keeps (testdata/zeek/conn, each file named after its baseline and
// the commit it was read at).
var zeekBaselines = map[string]string{
	"core.tcp.missing-syn":                                          "zeek-tcp-missing-syn.pcap",
	"core.tcp.rxmit-history.conn-1":                                 "zeek-tcp-retransmit-fast009.pcap",
	"core.tcp.rxmit-history.conn-2":                                 "zeek-wikipedia.pcap",
	"scripts.base.protocols.ftp.ftp-ipv6":                           "zeek-ftp-ipv6.pcap",
	"scripts.base.protocols.ssh.basic":                              "zeek-ssh-ssh.pcap.gz",
	"scripts.base.protocols.ldap.gap":                               "zeek-ldap-gap-data-missing.pcapng",
	"scripts.base.protocols.http.http-connect-with-header":          "zeek-http-connect-with-header.pcap",
	"scripts.policy.frameworks.analyzer.detect-protocols-violation": "zeek-http-get-to-ssh-server.pcap",
}

// zeekLog runs Zeek's connection tracking over a capture and writes its
// conn.log.
func zeekLog(t *testing.T, capture string, json bool) []byte {
	t.Helper()
	f, err := os.Open(capture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var w *ZeekWriter
	tr := zeek.NewTracker(func(s *zeek.Session) {
		row := ZeekConnOf(s)
		if err := w.Write(&row); err != nil {
			t.Fatal(err)
		}
	})
	a := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		if s.Seg.TCP != nil {
			tr.Segment(s.Seg, s.Frame.Time)
		}
	}, nil)
	var first, last pcap.Time
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue
		}
		if w == nil {
			first = fr.Time
			if w, err = NewZeekWriter(&out, json, first); err != nil {
				t.Fatal(err)
			}
		}
		last = max(last, fr.Time)
		tr.Advance(fr.Time)
		a.Add(&fr)
	}
	a.Close()
	tr.Close()
	if err := w.Close(last); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// zeekTable is a conn.log read back: its column names and rows.
type zeekTable struct {
	fields []string
	rows   [][]string
}

func (z *zeekTable) col(name string) int {
	for i, f := range z.fields {
		if f == name {
			return i
		}
	}
	return -1
}

// readZeekLog reads conn.log as Zeek writes it, or as zeek-cut -m prints
// chosen columns of it (a first line of names).
func readZeekLog(t *testing.T, b []byte) *zeekTable {
	t.Helper()
	var z zeekTable
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#fields\t"):
			z.fields = strings.Split(line, "\t")[1:]
		case strings.HasPrefix(line, "#"), line == "":
		case z.fields == nil:
			z.fields = strings.Split(line, "\t")
		default:
			row := strings.Split(line, "\t")
			if len(row) != len(z.fields) {
				t.Fatalf("%q: %d columns, the header names %d", line, len(row), len(z.fields))
			}
			z.rows = append(z.rows, row)
		}
	}
	return &z
}

// Where tcplens's conn.log cannot equal Zeek's, and why:
//   - uid: Zeek draws it at random; tcplens derives it from the Community
//     ID and the first packet's time, so that runs and shards agree.
//   - service: Zeek's protocol analyzers name it (http, ssh, ...) once they
//     parse the payload; tcplens reads TCP, not what it carries, and
//     leaves it unset.
//   - local_orig, local_resp: Zeek before version 6 left them unset unless
//     Site::local_nets was configured; since 6 it takes the private
//     address space for local, as tcplens does. A baseline from before
//     (one with "-" there) is not compared on them.
//   - tunnel_parents: Zeek before version 3 wrote an empty set,
//     "(empty)", where it now leaves the column unset, "-".
//   - ip_proto was called protocol_id while Zeek 7.1 was developed.
//   - ts is masked (XXXXXXXXXX.XXXXXX) in baselines written since btest
//     0.63 canonifies them.
//   - Rows that are not TCP (the UDP flows of two traces) are Zeek's
//     alone: tcplens reads TCP.
//
// Every other column must be equal.
var zeekIncomparable = map[string]bool{"uid": true, "service": true}

func TestZeekBaselines(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdata, "zeek", "conn", "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no baselines: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		baseline := name[:strings.IndexByte(name, '@')]
		capture, ok := zeekBaselines[baseline]
		if !ok {
			t.Errorf("%s: no capture named for baseline %s", name, baseline)
			continue
		}
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := readZeekLog(t, b)
			got := readZeekLog(t, zeekLog(t, filepath.Join(testdata, "captures", capture), false))
			compareZeek(t, want, got)
		})
	}
}

func compareZeek(t *testing.T, want, got *zeekTable) {
	t.Helper()
	// A baseline row is matched by the columns that identify it: its
	// endpoints and, where the baseline keeps it, its start.
	var keyCols []string
	for _, c := range []string{"id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "ts"} {
		if i := want.col(c); i >= 0 && !(c == "ts" && len(want.rows) > 0 && strings.HasPrefix(want.rows[0][i], "X")) {
			keyCols = append(keyCols, c)
		}
	}
	key := func(z *zeekTable, row []string) string {
		var k []string
		for _, c := range keyCols {
			k = append(k, row[z.col(c)])
		}
		return strings.Join(k, " ")
	}
	if want.col("id.resp_p") < 0 {
		t.Fatal("baseline has no id.resp_p")
	}
	byKey := map[string][]string{}
	for _, row := range got.rows {
		byKey[key(got, row)] = row
	}
	tcp := 0
	for _, w := range want.rows {
		if i := want.col("proto"); i >= 0 && w[i] != "tcp" {
			continue
		}
		tcp++
		k := key(want, w)
		g, ok := byKey[k]
		if !ok {
			t.Errorf("no row for %s", k)
			continue
		}
		delete(byKey, k)
		for i, c := range want.fields {
			gc := c
			if c == "protocol_id" {
				gc = "ip_proto"
			}
			wv, gv := w[i], g[got.col(gc)]
			switch {
			case zeekIncomparable[c],
				c == "ts" && strings.HasPrefix(wv, "X"),
				(c == "local_orig" || c == "local_resp") && wv == "-",
				c == "tunnel_parents" && wv == "(empty)" && gv == "-":
				continue
			}
			if wv != gv {
				t.Errorf("%s: %s = %s, Zeek logs %s", k, c, gv, wv)
			}
		}
	}
	for k := range byKey {
		t.Errorf("row for %s that Zeek does not log", k)
	}
	t.Logf("%d TCP rows compared", tcp)
}
