package cli

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/export"
	"github.com/tcplens/tcplens/internal/pcap"
)

type exportOptions struct {
	out      string
	format   string
	sensor   string
	segments bool
	shard    string
	analysis
	noFindings    bool
	noTransitions bool
}

// exportSchema is the tables' columns, as export --help and the README
// list them; a test holds it to the Parquet schema.
const exportSchema = `connections (one row per connection, as conns numbers them; orig is the
client):
  ts, uid, id.orig_h, id.orig_p, id.resp_h, id.resp_p, duration,
  orig_bytes, resp_bytes, conn_state, missed_bytes, history, orig_pkts,
  orig_ip_bytes, resp_pkts, resp_ip_bytes, community_id,
  end_ts, first_frame, last_frame, orig_payload_bytes, resp_payload_bytes,
  role_guessed, orig_state, resp_state, close, closed_by, closed_first,
  handshake_rtt, orig_srtt, orig_min_rtt, resp_srtt, resp_min_rtt,
  orig_retrans, orig_retrans_fast, orig_retrans_rto, orig_retrans_tlp,
  orig_retrans_spurious, orig_retrans_syn, orig_retrans_synack,
  orig_retrans_fin, resp_retrans, resp_retrans_fast, resp_retrans_rto,
  resp_retrans_tlp, resp_retrans_spurious, resp_retrans_syn,
  resp_retrans_synack, resp_retrans_fin, orig_dup_acks, resp_dup_acks,
  orig_zero_windows, resp_zero_windows, mss_orig_sends, mss_resp_sends,
  window_scaling, wscale_orig, wscale_resp, wscale_inferred, sack,
  timestamps, ecn, accecn, tfo, vantage, reused_ports, end_reason,
  findings, capture
findings (one row per finding of a connection):
  uid, ts, id, severity, frames, title, explanation, advice, capture
transitions (one row per state change of an endpoint):
  uid, end, frame, ts, from, to, reason, correction, capture
segments (with --segments, one row per TCP segment, read --json's fields):
  frame, ts, uid, dir, src_h, src_p, dst_h, dst_p, flags, seq, ack,
  seq_raw, ack_raw, len, win, win_scaled, mss, wscale, sack_permitted,
  sack, ts_val, ts_ecr, analysis, dup_ack_num, dup_ack_of,
  retransmits_frame, retransmits_after, acks_frame, ack_rtt, rtt,
  bytes_in_flight, client_state, server_state, error, capture`

func newExportCmd(e *env) *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "export [flags] -o DIR [FILE...] [FILTER]",
		Short: "Write connections, findings, transitions and segments as Parquet or JSON lines for query engines, or Zeek's conn.log",
		Long: `export writes what the analysis finds as a dataset that query engines
(DuckDB, ClickHouse, Spark, Trino, Athena) read as it is: one directory per
table, partitioned as Hive does, so that a query on a time range reads
only the files of that range:

  DIR/TABLE/sensor=SENSOR/date=YYYY-MM-DD/hour=H/part-…parquet

The date and hour (0 to 23) are UTC, of the connection's first packet (of the
segment's time for segments). --format parquet (the default) writes
Apache Parquet (zstd, dictionary-encoded columns of few values, times as
INT64 TIMESTAMP(NANOS) UTC); jsonl writes one JSON object per row, times as
RFC 3339 strings. Durations are seconds. Files are named after the
capture's file names, the filter, the sensor and the shard, so that runs
over other files or shards write beside each other into one dataset, and
a run repeated replaces its own files; each file appears only once
complete. A filter after the files (or -F) exports only the frames it
passes, as it does for every command.

The tables and their columns:
` + exportSchema + `

The connections table's first columns are Zeek conn.log's and mean what
Zeek means (orig_bytes from sequence numbers, missed_bytes the bytes of
content gaps, history Zeek's letters); community_id is Corelight's
Community ID v1, which Zeek, Suricata and Arkime compute alike. uid has the
shape of Zeek's but is a hash of the Community ID and the first packet's
time: the same in every run and every shard, so that datasets made apart
join and deduplicate on it. findings lists the connection's finding ids
(diagnose's), each explained in the findings table. capture is the
capture's file names; sensor, date and hour come from the directories.

--format zeek writes Zeek's conn.log instead, exactly as Zeek writes it
(its #fields and #types header, which zeek-cut reads), and zeek-json as
Zeek's JSON writer does, to DIR/conn.log (-o - for standard output). Its
connections are Zeek's, not tcplens's: Zeek's attempt, inactivity and
close timers end them, and a SYN after a close or a reset starts a new
row, so that its rows equal what zeek -C logs for the same capture
(tested against Zeek's own test baselines). Where they differ: uid (Zeek's
is random), service (Zeek's protocol analyzers name it; tcplens leaves it
unset), and the #open and #close lines, which carry the capture's first
and last packet's times rather than the time of the run.

--shard K/N analyses only the connections whose flow hash (the same for
both directions and on every machine) falls in shard K of N (0 <= K < N):
N runs over the same files, on as many machines, write disjoint parts of
one dataset whose union is what one run writes. Segments of the other
shards' connections are still read (they keep the capture's clock and the
TTLs the diagnosis compares RSTs with), so that every shard's rows are
those of the whole run; only under the connection table's caps
(--max-conns, and the 32,768 attempts) can a shard evict other
connections than the whole run, and export says so when it evicts.
scripts/dask-export.py runs the shards of many captures on a Dask cluster.

The analysis runs on --threads cores (the connections spread over 64
shards by the same hash, as conns and diagnose run it); the connections,
findings and transitions tables are the same for any number, and so is the
segments table's union: each core writes its segments into files of its
own (part-…-wCORE-N). --no-findings leaves the diagnosis out (no findings
table, and empty finding lists): its analysis is conns's, about as fast.
--no-transitions leaves the transitions table out, whose rows (a dozen a
connection, each reason in words) cost more than the connections'.`,
		Example: `  tcplens export trace.pcap -o /data/tcplens
  tcplens export --sensor edge1 --segments monday-*.pcap -o /data/tcplens
  tcplens export --shard 0/4 big.pcap -o /shared/tcplens     # one of four machines
  tcplens export --format zeek trace.pcap -o - | zeek-cut id.orig_h conn_state history
  duckdb -c "SELECT conn_state, count(*) FROM '/data/tcplens/connections/**/*.parquet' GROUP BY 1"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(e, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "the dataset's directory (for zeek formats: where conn.log goes, - for standard output)")
	f.StringVar(&o.format, "format", "parquet", "parquet, jsonl, zeek or zeek-json")
	f.StringVar(&o.sensor, "sensor", "unknown", "the sensor's name: the sensor= partition (letters, digits, '.', '_', '-')")
	f.BoolVar(&o.segments, "segments", false, "also write the segments table: one row per TCP segment")
	f.StringVar(&o.shard, "shard", "", "K/N: analyse only the connections of shard K of N (0 <= K < N)")
	o.analysis.register(f)
	f.BoolVar(&o.noFindings, "no-findings", false, "leave the diagnosis out (no findings table, empty findings lists): as fast as conns")
	f.BoolVar(&o.noTransitions, "no-transitions", false, "leave the transitions table out (a dozen rows a connection, their reasons in words)")
	return cmd
}

func runExport(e *env, o exportOptions, args []string) error {
	if o.out == "" {
		return &exitError{code: exitUsage, msg: "export needs -o DIR"}
	}
	shard, err := parseShard(o.shard)
	if err != nil {
		return err
	}
	if err := export.ValidName(o.sensor); err != nil {
		return &exitError{code: exitUsage, msg: "--sensor: " + err.Error()}
	}
	var format export.Format
	switch o.format {
	case "parquet":
		format = export.Parquet
	case "jsonl":
		format = export.JSONL
	case "zeek", "zeek-json":
		if o.segments {
			return &exitError{code: exitUsage, msg: "--segments applies to the parquet and jsonl formats"}
		}
		return runZeekExport(e, o, shard, args)
	default:
		return &exitError{code: exitUsage, msg: fmt.Sprintf("--format %q: parquet, jsonl, zeek or zeek-json", o.format)}
	}
	if err := o.analysis.check(); err != nil {
		return err
	}
	paths, expr, err := splitArgs(e, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 && stdinIsData(e.stdin) {
		paths = []string{"-"}
	}
	ds, err := export.NewDataset(o.out, format, o.sensor, fileStem(paths, expr, o.sensor, shard), o.segments)
	if err != nil {
		return err
	}
	aopts := o.options()
	aopts.Shard = shard
	st, err := exportCapture(e, ds, args, export.Options{Capture: captureName(paths), Analysis: aopts, Findings: !o.noFindings, NoTransitions: o.noTransitions})
	if err := errors.Join(err, ds.Close()); err != nil {
		return err
	}
	evicted, attempts := st.Evicted-st.EvictedAttempts, st.EvictedAttempts
	if evicted > 0 {
		fmt.Fprintf(e.stderr, "tcplens: warning: %d connections were evicted to keep memory bounded (--max-conns); their later segments were analysed as new, mid-stream connections\n", evicted)
	}
	if attempts > 0 {
		fmt.Fprintf(e.stderr, "tcplens: warning: %d connection attempts (SYNs nothing answered) were evicted, the oldest first, to hold at most %d at once as a SYN queue does\n", attempts, conn.DefaultMaxAttempts)
	}
	if evicted+attempts > 0 && shard.N > 1 {
		fmt.Fprintln(e.stderr, "tcplens: warning: connections were evicted in a sharded run: its rows may differ from an unsharded run's")
	}
	return nil
}

// exportCapture reads the capture (files and filter in args) and exports
// it into ds.
func exportCapture(e *env, ds *export.Dataset, args []string, opts export.Options) (export.Stats, error) {
	c, err := openCapture(e, args)
	if err != nil {
		return export.Stats{}, err
	}
	x := export.NewExporter(ds, opts)
	feed(c, x, nil)
	st, err := x.Close()
	return st, errors.Join(err, c.finish())
}

func runZeekExport(e *env, o exportOptions, shard analyze.Shard, args []string) error {
	c, err := openCapture(e, args)
	if err != nil {
		return err
	}
	out := e.stdout
	if o.out != "-" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return err
		}
		name := "conn.log"
		if shard.N > 1 {
			name = fmt.Sprintf("conn.%dof%d.log", shard.K, shard.N)
		}
		f, err := os.Create(filepath.Join(o.out, name))
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	var x *export.ZeekExporter
	for {
		f, ok := c.next()
		if !ok {
			break
		}
		if x == nil {
			w, err := export.NewZeekWriter(out, o.format == "zeek-json", f.Time)
			if err != nil {
				return err
			}
			x = export.NewZeekExporter(w, shard)
		}
		x.Add(&f)
	}
	if x == nil {
		w, err := export.NewZeekWriter(out, o.format == "zeek-json", pcap.Time(0))
		if err != nil {
			return err
		}
		x = export.NewZeekExporter(w, shard)
	}
	if err := x.Close(); err != nil {
		return err
	}
	return c.finish()
}

// parseShard reads --shard K/N.
func parseShard(s string) (analyze.Shard, error) {
	if s == "" {
		return analyze.Shard{N: 1}, nil
	}
	k, n, ok := strings.Cut(s, "/")
	ki, err1 := strconv.Atoi(k)
	ni, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || ni < 1 || ki < 0 || ki >= ni {
		return analyze.Shard{}, &exitError{code: exitUsage, msg: fmt.Sprintf("--shard %q: K/N with 0 <= K < N", s)}
	}
	return analyze.Shard{K: ki, N: ni}, nil
}

// captureName is the capture column: the files' base names.
func captureName(paths []string) string {
	if len(paths) == 0 {
		return "demo"
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
		if p == "-" {
			names[i] = "stdin"
		}
	}
	return strings.Join(names, ",")
}

// fileStem names an export's files: a hash of the capture's file names,
// the filter and the sensor, and the shard, so that runs over other
// files, frames or shards write beside each other and a repeated run
// replaces its own files.
func fileStem(paths []string, filter, sensor string, shard analyze.Shard) string {
	h := sha1.Sum([]byte(captureName(paths) + "\x00" + filter + "\x00" + sensor))
	return fmt.Sprintf("part-%s-%dof%d", hex.EncodeToString(h[:6]), shard.K, max(shard.N, 1))
}
