package duckdb

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/tcplens/tcplens/internal/cli"
)

const captures = "../../testdata/captures"

// The dataset: the demo and two corpus captures, each from a sensor of
// its own.
var sources = []struct {
	sensor string
	files  []string
}{
	{"lab", nil}, // the built-in demo
	{"ssh", []string{filepath.Join(captures, "zeek-ssh-ssh.pcap.gz")}},
	{"scan", []string{filepath.Join(captures, "zeek-nmap-vsn.pcap")}},
}

func tcplens(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := cli.Main(args, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("tcplens %v: exit %d: %s", args, code, errOut.String())
	}
	return out.String()
}

// conn is what conns --json says of a connection.
type conn struct {
	ID              int
	Client, Server  string
	Start           float64
	ConnState       string `json:"conn_state"`
	Retransmissions struct {
		Client, Server struct{ Total int }
	}
	sensor string
}

func conns(t *testing.T) []conn {
	t.Helper()
	var all []conn
	for _, s := range sources {
		for _, l := range strings.Split(strings.TrimSpace(tcplens(t, append([]string{"conns", "--json"}, s.files...)...)), "\n") {
			var c conn
			if err := json.Unmarshal([]byte(l), &c); err != nil {
				t.Fatal(err)
			}
			c.sensor = s.sensor
			all = append(all, c)
		}
	}
	return all
}

func exportAll(t *testing.T) (string, *sql.DB) {
	t.Helper()
	dir := t.TempDir()
	for _, s := range sources {
		tcplens(t, append([]string{"export", "--sensor", s.sensor, "--segments", "-o", dir}, s.files...)...)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, table := range []string{"connections", "findings", "segments"} {
		q := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet('%s/%s/**/*.parquet', hive_partitioning = true)", table, dir, table)
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return dir, db
}

func query[T any](t *testing.T, db *sql.DB, q string, scan func(*sql.Rows) (T, error)) []T {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func addr(h string, p int) string {
	if strings.Contains(h, ":") {
		return fmt.Sprintf("[%s]:%d", h, p)
	}
	return fmt.Sprintf("%s:%d", h, p)
}

// TestQueries asks DuckDB what a user would ask of the dataset, and checks
// each answer against what conns --json and diagnose --json say.
func TestQueries(t *testing.T) {
	dir, db := exportAll(t)
	all := conns(t)

	t.Run("connections per conn_state", func(t *testing.T) {
		want := map[string]int{}
		for _, c := range all {
			want[c.ConnState]++
		}
		got := map[string]int{}
		for _, r := range query(t, db, `SELECT conn_state, count(*) FROM connections GROUP BY conn_state`, func(r *sql.Rows) (struct {
			s string
			n int
		}, error) {
			var v struct {
				s string
				n int
			}
			return v, r.Scan(&v.s, &v.n)
		}) {
			got[r.s] = r.n
		}
		if !maps.Equal(got, want) {
			t.Errorf("DuckDB %v, conns %v", got, want)
		}
	})

	t.Run("top retransmitters", func(t *testing.T) {
		key := func(c string, s string, n int) string { return fmt.Sprintf("%s %s %d", c, s, n) }
		var want []string
		for _, c := range all {
			if n := c.Retransmissions.Client.Total + c.Retransmissions.Server.Total; n > 0 {
				want = append(want, key(c.Client, c.Server, n))
			}
		}
		got := query(t, db, `SELECT "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", orig_retrans + resp_retrans AS n
			FROM connections WHERE n > 0 ORDER BY n DESC, ts`, func(r *sql.Rows) (string, error) {
			var oh, rh string
			var op, rp, n int
			err := r.Scan(&oh, &op, &rh, &rp, &n)
			return key(addr(oh, op), addr(rh, rp), n), err
		})
		if len(got) == 0 {
			t.Fatal("no connection retransmitted: the test proves nothing")
		}
		slices.Sort(want)
		g := slices.Clone(got)
		slices.Sort(g)
		if !slices.Equal(g, want) {
			t.Errorf("DuckDB %v\nconns %v", got, want)
		}
	})

	t.Run("connections that carry a finding", func(t *testing.T) {
		// diagnose --json names each finding's connection by conns' id.
		for _, id := range []string{"refused", "rst-unread-data", "close-wait-leak"} {
			var want []string
			for _, s := range sources {
				byID := map[int]conn{}
				for _, c := range all {
					if c.sensor == s.sensor {
						byID[c.ID] = c
					}
				}
				for _, l := range strings.Split(strings.TrimSpace(tcplens(t, append([]string{"diagnose", "--json"}, s.files...)...)), "\n") {
					var f struct {
						ID    string
						Conn  *int
						Conns []int
					}
					if err := json.Unmarshal([]byte(l), &f); err != nil {
						t.Fatal(err)
					}
					if f.ID != id {
						continue
					}
					ids := f.Conns
					if f.Conn != nil {
						ids = append(ids, *f.Conn)
					}
					for _, n := range ids {
						want = append(want, byID[n].Client+" "+byID[n].Server)
					}
				}
			}
			got := query(t, db, fmt.Sprintf(`SELECT DISTINCT c."id.orig_h", c."id.orig_p", c."id.resp_h", c."id.resp_p"
				FROM connections c JOIN findings f USING (uid) WHERE f.id = '%s' AND list_contains(c.findings, '%s')`, id, id),
				func(r *sql.Rows) (string, error) {
					var oh, rh string
					var op, rp int
					err := r.Scan(&oh, &op, &rh, &rp)
					return addr(oh, op) + " " + addr(rh, rp), err
				})
			slices.Sort(want)
			slices.Sort(got)
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("%s: DuckDB %v, diagnose %v", id, got, want)
			}
		}
	})

	t.Run("a time range, partitions pruned", func(t *testing.T) {
		// The ssh capture spans three years; one hour of one day holds a
		// few of its connections.
		const day, hour = "2015-01-07", 0
		from, to := 1420588800.0, 1420588800.0+3600 // 2015-01-07 00:00 to 01:00 UTC
		want := 0
		for _, c := range all {
			if c.sensor == "ssh" && c.Start >= from && c.Start < to {
				want++
			}
		}
		q := fmt.Sprintf(`SELECT count(*) FROM connections WHERE sensor = 'ssh' AND date = DATE '%s' AND hour = %d`, day, hour)
		got := query(t, db, q, func(r *sql.Rows) (n int, err error) { return n, r.Scan(&n) })
		if want == 0 || got[0] != want {
			t.Errorf("%d connections in the hour, conns says %d", got[0], want)
		}
		// The same on the timestamp column agrees.
		got2 := query(t, db, fmt.Sprintf(`SELECT count(*) FROM connections WHERE sensor = 'ssh'
			AND ts >= TIMESTAMP '%s 00:00:00' AND ts < TIMESTAMP '%s 01:00:00'`, day, day), func(r *sql.Rows) (n int, err error) { return n, r.Scan(&n) })
		if got2[0] != want {
			t.Errorf("%d connections by ts, %d by partition", got2[0], want)
		}
		// DuckDB skips the other partitions' files: its profile says how
		// many it read, fewer than the table has.
		files, _ := filepath.Glob(filepath.Join(dir, "connections", "sensor=*", "date=*", "hour=*", "*.parquet"))
		plan := strings.Join(query(t, db, "EXPLAIN ANALYZE "+q, func(r *sql.Rows) (string, error) {
			var k, v string
			err := r.Scan(&k, &v)
			return v, err
		}), "\n")
		m := regexp.MustCompile(`Total Files Read: (\d+)`).FindStringSubmatch(plan)
		if m == nil {
			t.Fatalf("no file count in the plan:\n%s", plan)
		}
		if read, _ := strconv.Atoi(m[1]); read == 0 || read >= len(files) {
			t.Errorf("DuckDB read %d of the table's %d files: the partitions were not pruned", read, len(files))
		} else {
			t.Logf("DuckDB read %d of the table's %d files", read, len(files))
		}
	})

	t.Run("segments of a connection", func(t *testing.T) {
		// Every connection's packets, counted from the segments table,
		// equal the connection's packet counts.
		bad := query(t, db, `SELECT c.uid FROM connections c JOIN (SELECT uid, count(*) AS n FROM segments GROUP BY uid) s USING (uid)
			WHERE s.n <> c.orig_pkts + c.resp_pkts`, func(r *sql.Rows) (u string, err error) { return u, r.Scan(&u) })
		if len(bad) > 0 {
			t.Errorf("connections whose segments do not add up: %v", bad)
		}
	})
}
