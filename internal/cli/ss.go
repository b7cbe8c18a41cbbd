package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/sockdiag"
	"github.com/tcplens/tcplens/internal/sockwatch"
)

type ssOptions struct {
	json       bool
	watch      time.Duration // 0: one snapshot
	interval   time.Duration // one snapshot: counters are deltas over this
	duration   time.Duration // stop watching or serving after this; 0: until interrupted
	prometheus string
	netns      string
	proc       bool
	listening  bool
	rules      sockwatch.Rules

	habits bool // -t, -a, -n: accepted for ss habits
}

// defaultPrometheusAddr is loopback: the counts name processes and
// addresses, which is nobody else's business unless the user says so.
const defaultPrometheusAddr = "127.0.0.1:9937"

func newSSCmd(e *env) *cobra.Command {
	o := ssOptions{rules: sockwatch.DefaultRules}
	cmd := &cobra.Command{
		Use:   "ss [flags] [FILTER]",
		Short: "Live TCP sockets: states, queues, RTT, leaks and floods, as ss -tan would show them",
		Long: `ss lists the host's TCP sockets (IPv4 and IPv6) from the kernel's sock_diag
netlink interface, with tcp_info for each: state, Recv-Q, Send-Q, addresses,
RTT, congestion window, retransmissions and the process holding the socket
(when /proc lets us see it; run as root to see every process). Request
sockets of half-open handshakes are shown as SYN_RECV. Without netlink it
falls back to /proc/net/tcp and tcp6, which lack tcp_info.

After the table come the counts per state, the listeners with their accept
queues, the flags a person would raise -- a SYN_RECV heap (possible SYN
flood), CLOSE_WAIT sockets older than --close-wait-age (the application never
calls close(), and which process that is), TIME_WAIT toward one destination
against net.ipv4.ip_local_port_range, orphaned FIN_WAIT2, full accept queues,
listen-queue overflows -- and the kernel's TCP counters (/proc/net/snmp,
/proc/net/netstat) as deltas over --interval.

--watch prints each socket's transitions as they happen (new, state change,
gone), polling every INTERVAL (default 100ms): the live version of
watch -n 0.1 'ss -tan | grep :9999'. A state that lasts less than the
interval can be missed. --prometheus serves the counts, flags and counters
for scraping.

FILTER is ss's: "state STATE" (repeatable; groups all, connected,
synchronized, bucket, big), "exclude STATE", then an expression of
sport/dport OP PORT and src/dst ADDR[/BITS][:PORT] with and, or, not and
parentheses.`,
		Example: `  tcplens ss
  tcplens ss state established '( dport = :443 or sport = :443 )'
  tcplens ss --watch sport = :9999
  tcplens ss --watch 10ms --json dst 10.0.0.0/8
  tcplens ss --prometheus            # http://127.0.0.1:9937/metrics`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if !f.Changed("watch") {
				o.watch = 0
			}
			if !f.Changed("prometheus") {
				o.prometheus = ""
			}
			args = optionalValues(f.Changed("watch"), &o.watch, f.Changed("prometheus"), &o.prometheus, args)
			return runSS(e, &o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print JSON: one document, or with --watch one JSON object per line")
	f.DurationVar(&o.watch, "watch", 100*time.Millisecond, "print transitions as they happen, polling every `INTERVAL`")
	f.Lookup("watch").NoOptDefVal = "100ms"
	f.DurationVarP(&o.interval, "interval", "i", time.Second, "measure counter deltas over this interval (0: print totals at once)")
	f.DurationVar(&o.duration, "duration", 0, "with --watch or --prometheus, stop after this long (default: until interrupted)")
	f.StringVar(&o.prometheus, "prometheus", defaultPrometheusAddr, "serve Prometheus metrics on `ADDR` (loopback unless you give another address)")
	f.Lookup("prometheus").NoOptDefVal = defaultPrometheusAddr
	f.StringVar(&o.netns, "netns", "", "read the network namespace `NAME` (from ip netns) or the namespace file at a path")
	f.BoolVar(&o.proc, "proc", false, "read /proc/net/tcp{,6} instead of netlink (no tcp_info)")
	f.BoolVarP(&o.listening, "listening", "l", false, "only listening sockets, as ss -l")
	f.DurationVar(&o.rules.CloseWaitAge, "close-wait-age", o.rules.CloseWaitAge, "flag CLOSE_WAIT sockets older than this")
	f.IntVar(&o.rules.SynRecvHeap, "syn-recv-heap", o.rules.SynRecvHeap, "flag this many SYN_RECV sockets as a heap")
	f.IntVar(&o.rules.OrphanFinWait2, "orphans", o.rules.OrphanFinWait2, "flag this many orphaned FIN_WAIT2 sockets")
	for _, h := range []struct{ name, short string }{{"tcp", "t"}, {"all", "a"}, {"numeric", "n"}} {
		f.BoolVarP(&o.habits, h.name, h.short, false, "accepted for ss habits (-tan): tcplens always shows TCP, all states, numerically")
		f.MarkHidden(h.name)
	}
	return cmd
}

// optionalValues lets "--watch 10ms" and "--prometheus ADDR" work as they
// read: pflag takes an optional flag value only as --watch=10ms, leaving
// "10ms" as the first word of the filter. No filter can start with a
// duration or a host:port, so such a word is the flag's value.
func optionalValues(watchSet bool, watch *time.Duration, promSet bool, prom *string, args []string) []string {
	for len(args) > 0 {
		if d, err := time.ParseDuration(args[0]); err == nil && watchSet && d > 0 {
			*watch, watchSet = d, false
			args = args[1:]
			continue
		}
		if _, port, err := net.SplitHostPort(args[0]); err == nil && promSet {
			if _, err := strconv.ParseUint(port, 10, 16); err == nil {
				*prom, promSet = args[0], false
				args = args[1:]
				continue
			}
		}
		break
	}
	return args
}

// ssRun is one invocation's state.
type ssRun struct {
	e        *env
	o        *ssOptions
	filter   *sockwatch.Filter
	resolver sockdiag.Resolver
}

func runSS(e *env, o *ssOptions, args []string) error {
	switch {
	case o.watch < 0 || o.watch > 0 && o.watch < time.Millisecond:
		return usagef("--watch %v: the polling interval is at least 1ms (a shorter one only burns a core)", o.watch)
	case o.duration < 0:
		return usagef("--duration %v: a duration is not negative", o.duration)
	case o.interval < 0:
		return usagef("--interval %v: an interval is not negative (0 prints totals at once)", o.interval)
	case o.rules.CloseWaitAge < 0:
		return usagef("--close-wait-age %v: an age is not negative", o.rules.CloseWaitAge)
	case o.rules.OrphanFinWait2 < 1:
		return usagef("--orphans %d: a count of sockets is a number from 1", o.rules.OrphanFinWait2)
	case o.rules.SynRecvHeap < 1:
		return usagef("--syn-recv-heap %d: a count of sockets is a number from 1", o.rules.SynRecvHeap)
	}
	filter, err := sockwatch.ParseFilter(args)
	if err != nil {
		return usageError{err}
	}
	if o.listening {
		l, _ := sockwatch.ParseFilter([]string{"state", "listening"})
		filter = sockwatch.Both(l, filter)
	}
	if o.netns != "" && !strings.Contains(o.netns, "/") {
		name := o.netns
		o.netns = "/var/run/netns/" + o.netns
		if _, err := os.Stat(o.netns); err != nil {
			return fmt.Errorf("network namespace %q does not exist (ip netns add %s makes one; ip netns lists them)", name, name)
		}
	}
	r := &ssRun{e: e, o: o, filter: filter}
	if o.watch == 0 && o.prometheus == "" {
		return r.once()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	if o.prometheus != "" {
		srv, err := r.serve()
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	if o.watch > 0 {
		return r.watchLoop(ctx)
	}
	<-ctx.Done()
	return nil
}

// take reads a snapshot, keeps the sockets the filter selects, and names
// their owners.
func (r *ssRun) take() (*sockdiag.Snapshot, error) {
	snap, err := sockdiag.Take(sockdiag.Options{NetNS: r.o.netns, Proc: r.o.proc})
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return nil, &exitError{code: exitNoInput, msg: err.Error()}
		}
		return nil, err
	}
	kept := snap.Sockets[:0]
	for i := range snap.Sockets {
		if r.filter.Match(&snap.Sockets[i]) {
			kept = append(kept, snap.Sockets[i])
		}
	}
	snap.Sockets = kept
	r.resolver.Resolve(snap.Sockets)
	return snap, nil
}

func (r *ssRun) once() error {
	first, err := r.take()
	if err != nil {
		return err
	}
	var tr sockwatch.Tracker
	tr.Update(first, nil, nil)
	cur, prev := first, (*sockdiag.Snapshot)(nil)
	if r.o.interval > 0 {
		time.Sleep(r.o.interval)
		if cur, err = r.take(); err != nil {
			return err
		}
		tr.Update(cur, nil, nil)
		prev = first
	}
	rep := sockwatch.Assess(cur, prev, &tr, nil, r.o.rules)
	if cur.Source == "proc" && cur.NetlinkErr != nil && !r.o.proc {
		fmt.Fprintf(r.e.stderr, "tcplens: warning: netlink refused (%v): read /proc/net/tcp instead, without tcp_info\n", cur.NetlinkErr)
	}
	w := bufio.NewWriter(r.e.stdout)
	if r.o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(jsonReport(rep)); err != nil {
			return err
		}
	} else {
		writeSSText(w, rep)
	}
	return w.Flush()
}

// watchLoop prints transitions, new flags and moving counters until ctx ends.
func (r *ssRun) watchLoop(ctx context.Context) error {
	w := bufio.NewWriter(r.e.stdout)
	var (
		tr      sockwatch.Tracker
		ts      []sockwatch.Transition
		prev    *sockdiag.Snapshot
		flagged = map[string]bool{}
	)
	if !r.o.json {
		if r.o.duration > 0 {
			fmt.Fprintf(r.e.stderr, "tcplens: watching TCP sockets every %v for %v\n", r.o.watch, r.o.duration)
		} else {
			fmt.Fprintf(r.e.stderr, "tcplens: watching TCP sockets every %v; Ctrl-C to stop\n", r.o.watch)
		}
	}
	tick := time.NewTicker(r.o.watch)
	defer tick.Stop()
	for {
		snap, err := r.take()
		if err != nil {
			return err
		}
		ts = tr.Update(snap, nil, ts[:0])
		for i := range ts {
			writeTransition(w, &ts[i], r.o.json)
		}
		rep := sockwatch.Assess(snap, prev, &tr, nil, r.o.rules)
		if prev != nil {
			for _, d := range rep.Deltas {
				if d.Delta != 0 {
					writeCounter(w, snap.Time, d, r.o.json)
				}
			}
		}
		now := map[string]bool{}
		for i := range rep.Flags {
			f := &rep.Flags[i]
			k := flagKey(f)
			now[k] = true
			if !flagged[k] {
				writeFlagEvent(w, snap.Time, f, r.o.json)
			}
		}
		flagged = now
		prev = snap
		if err := w.Flush(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			// The sockets the last snapshot missed: gone, as far as
			// anyone watching will know.
			ts = tr.Flush(ts[:0])
			for i := range ts {
				writeTransition(w, &ts[i], r.o.json)
			}
			return w.Flush()
		case <-tick.C:
		}
	}
}

// flagKey identifies a flag across ticks, so it is printed once when it
// appears, not every time its count moves.
func flagKey(f *sockwatch.Flag) string {
	k := f.Kind
	for _, o := range f.Owners {
		k += "|" + strconv.Itoa(o.PID)
	}
	if f.Kind == sockwatch.FlagAcceptQueue && len(f.Sockets) > 0 {
		k += "|" + f.Sockets[0].Local.String()
	}
	return k
}

// serve starts the Prometheus endpoint. Each scrape takes a fresh
// snapshot; counters are exported as totals, the rest as gauges.
func (r *ssRun) serve() (*http.Server, error) {
	ln, err := net.Listen("tcp", r.o.prometheus)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	var (
		mu   sync.Mutex
		tr   sockwatch.Tracker
		prev *sockdiag.Snapshot
	)
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		snap, err := r.take()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		tr.Update(snap, nil, nil)
		rep := sockwatch.Assess(snap, prev, &tr, nil, r.o.rules)
		prev = snap
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write(sockwatch.AppendPrometheus(nil, rep))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/" {
			http.NotFound(w, req)
			return
		}
		io.WriteString(w, "tcplens ss: metrics at /metrics\n")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(r.e.stderr, "tcplens: serving Prometheus metrics on http://%s/metrics\n", ln.Addr())
	go srv.Serve(ln)
	return srv, nil
}

// ssAddr formats an endpoint as ss -n does: the port of an unconnected
// peer is "*".
func ssAddr(ap netip.AddrPort) string {
	if ap.Port() == 0 {
		a := ap.Addr()
		if a.Is6() && !a.Is4In6() {
			return "[" + a.String() + "]:*"
		}
		return a.String() + ":*"
	}
	return ap.String()
}

// users formats owners as ss -p does: users:(("nginx",pid=42,fd=3)).
func users(owners []sockdiag.Owner) string {
	if len(owners) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("users:(")
	for i, o := range owners {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%q,pid=%d,fd=%d)", o.Comm, o.PID, o.FD)
	}
	b.WriteByte(')')
	return b.String()
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64)
}

func writeSSText(w io.Writer, rep *sockwatch.Report) {
	head := []string{"State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "RTT(ms)", "Cwnd", "Retrans", "Process"}
	rows := [][]string{head}
	for i := range rep.Sockets {
		s := &rep.Sockets[i]
		rtt, cwnd, retr := "-", "-", "-"
		if s.Info != nil && s.State != sockdiag.Listen {
			rtt = ms(s.Info.RTT)
			cwnd = strconv.Itoa(int(s.Info.SndCwnd))
			retr = strconv.Itoa(int(s.Info.TotalRetrans))
		}
		rows = append(rows, []string{s.State.String(), strconv.Itoa(int(s.RecvQ)), strconv.Itoa(int(s.SendQ)),
			ssAddr(s.Local), ssAddr(s.Peer), rtt, cwnd, retr, users(s.Owners)})
	}
	writeTable(w, rows, map[int]bool{1: true, 2: true, 5: true, 6: true, 7: true})

	var counts []string
	for _, st := range sockwatch.StateOrder() {
		if n := rep.Counts[st]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", st, n))
		}
	}
	fmt.Fprintf(w, "\nTotal: %d sockets", len(rep.Sockets))
	if len(counts) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(counts, ", "))
	}
	fmt.Fprintln(w)
	if rep.Source == "proc" {
		fmt.Fprintln(w, "(read from /proc/net/tcp: no tcp_info, no listen backlogs)")
	}
	if n := rep.Counts[sockdiag.TimeWait]; n > 0 {
		fmt.Fprintf(w, "TIME_WAIT: %d", n)
		if ports := rep.Sysctl.Ports(); ports > 0 {
			if rep.TimeWait > 0 {
				fmt.Fprintf(w, "; toward %v, %d of the %d ephemeral ports (%d-%d)", rep.TimeWaitPeer, rep.TimeWait, ports, rep.Sysctl.PortLow, rep.Sysctl.PortHigh)
			} else {
				fmt.Fprintf(w, "; none holds an ephemeral port (%d-%d): this host closed those connections as a server", rep.Sysctl.PortLow, rep.Sysctl.PortHigh)
			}
		}
		fmt.Fprintln(w)
	}

	if len(rep.Listeners) > 0 {
		fmt.Fprintln(w, "\nListeners:")
		rows := [][]string{{"  Local Address:Port", "Accept queue", "SYN_RECV", "Process"}}
		for _, l := range rep.Listeners {
			q := strconv.Itoa(l.Queue)
			if l.Backlog > 0 {
				q = fmt.Sprintf("%d/%d (%.0f%%)", l.Queue, l.Backlog, 100*l.Fill())
			}
			rows = append(rows, []string{"  " + ssAddr(l.Socket.Local), q, strconv.Itoa(l.SynRecv), users(l.Socket.Owners)})
		}
		writeTable(w, rows, map[int]bool{2: true})
	}

	fmt.Fprintln(w)
	if len(rep.Flags) == 0 {
		fmt.Fprintln(w, "Flags: none")
	} else {
		fmt.Fprintln(w, "Flags:")
		for _, f := range rep.Flags {
			fmt.Fprintf(w, "  %-8s %s: %s\n", strings.ToUpper(f.Severity.String()), f.Kind, f.Title)
			for _, line := range wrap(f.Text, 88) {
				fmt.Fprintf(w, "           %s\n", line)
			}
		}
	}

	if len(rep.Deltas) > 0 {
		if rep.Interval > 0 {
			fmt.Fprintf(w, "\nKernel counters over %v (totals in parentheses):\n", rep.Interval.Round(time.Millisecond))
		} else {
			fmt.Fprintln(w, "\nKernel counters (totals since boot, or since the namespace was made):")
		}
		rows := [][]string{}
		for _, d := range rep.Deltas {
			if rep.Interval > 0 {
				rows = append(rows, []string{"  " + d.Name, fmt.Sprintf("%+d", d.Delta), "(" + strconv.FormatInt(d.Total, 10) + ")"})
			} else {
				rows = append(rows, []string{"  " + d.Name, strconv.FormatInt(d.Total, 10)})
			}
		}
		writeTable(w, rows, map[int]bool{1: true, 2: true})
	}
}

// writeTable writes rows in columns two spaces apart; right names the
// right-aligned columns. Trailing blanks are trimmed.
func writeTable(w io.Writer, rows [][]string, right map[int]bool) {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-len(c))
			if right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func clock(t time.Time) string { return t.Local().Format("15:04:05.000000") }

func writeTransition(w io.Writer, t *sockwatch.Transition, asJSON bool) {
	if asJSON {
		j := jsonTransition{Time: t.Time, Event: t.Kind.String(), Local: t.Key.Local.String(), Peer: t.Key.Peer.String()}
		if t.From != sockdiag.Unknown {
			j.From = t.From.String()
		}
		if t.To != sockdiag.Unknown {
			j.To = t.To.String()
		}
		s := jsonSock(&t.Socket)
		j.Socket = &s
		writeJSONLine(w, j)
		return
	}
	line := clock(t.Time) + "  " + transitionText(t)
	if t.Kind != sockwatch.Gone {
		if u := users(t.Socket.Owners); u != "" {
			line += "  " + u
		}
	}
	fmt.Fprintln(w, line)
}

// transitionText is what a --watch line says after its clock: the local
// and peer addresses, and the state left and entered.
func transitionText(t *sockwatch.Transition) string {
	from, to := t.From.String(), t.To.String()
	switch t.Kind {
	case sockwatch.Seen:
		from = "(present)"
	case sockwatch.New:
		from = "(new)"
	case sockwatch.Gone:
		to = "(gone)"
	}
	return fmt.Sprintf("%-22s %-22s %s -> %s", ssAddr(t.Key.Local), ssAddr(t.Key.Peer), from, to)
}

func writeCounter(w io.Writer, at time.Time, d sockwatch.Delta, asJSON bool) {
	if asJSON {
		writeJSONLine(w, jsonEvent{Time: at, Event: "counter", Name: d.Name, Delta: d.Delta, Total: d.Total})
		return
	}
	fmt.Fprintf(w, "%s  counter %s %+d (total %d)\n", clock(at), d.Name, d.Delta, d.Total)
}

func writeFlagEvent(w io.Writer, at time.Time, f *sockwatch.Flag, asJSON bool) {
	if asJSON {
		jf := jsonFlagOf(f)
		writeJSONLine(w, jsonEvent{Time: at, Event: "flag", Flag: &jf})
		return
	}
	fmt.Fprintf(w, "%s  FLAG %s %s: %s\n", clock(at), strings.ToUpper(f.Severity.String()), f.Kind, f.Title)
}

func writeJSONLine(w io.Writer, v any) {
	b, _ := json.Marshal(v)
	w.Write(append(b, '\n'))
}

// The JSON output is an API: these structs are its schema, kept apart from
// the internal types so that those can change.

type jsonReportT struct {
	Time       time.Time      `json:"time"`
	Source     string         `json:"source"`
	IntervalMS int64          `json:"interval_ms"`
	Sockets    []jsonSocket   `json:"sockets"`
	Counts     map[string]int `json:"counts"`
	Listeners  []jsonListener `json:"listeners"`
	Flags      []jsonFlag     `json:"flags"`
	Counters   []jsonCounter  `json:"counters"`
	Sysctl     map[string]int `json:"sysctl"`
}

type jsonSocket struct {
	State     string        `json:"state"`
	Local     string        `json:"local"`
	Peer      string        `json:"peer"`
	RecvQ     uint32        `json:"recv_q"`
	SendQ     uint32        `json:"send_q"`
	Request   bool          `json:"request,omitempty"`
	Timer     string        `json:"timer,omitempty"`
	ExpiresMS int64         `json:"expires_ms,omitempty"`
	UID       uint32        `json:"uid"`
	Inode     uint32        `json:"inode"`
	Cookie    uint64        `json:"cookie,omitempty"`
	Cong      string        `json:"cong,omitempty"`
	TCPInfo   *jsonTCPInfo  `json:"tcp_info,omitempty"`
	Processes []jsonProcess `json:"processes,omitempty"`
}

type jsonTCPInfo struct {
	RTTus          int64  `json:"rtt_us"`
	RTTVarus       int64  `json:"rttvar_us"`
	MinRTTus       int64  `json:"min_rtt_us"`
	RTOms          int64  `json:"rto_ms"`
	Cwnd           uint32 `json:"cwnd"`
	Ssthresh       uint32 `json:"ssthresh"`
	SndMSS         uint32 `json:"snd_mss"`
	RcvMSS         uint32 `json:"rcv_mss"`
	SndWScale      uint8  `json:"snd_wscale"`
	RcvWScale      uint8  `json:"rcv_wscale"`
	Options        string `json:"options"`
	CAState        string `json:"ca_state"`
	Unacked        uint32 `json:"unacked"`
	Retrans        uint32 `json:"retrans"`
	TotalRetrans   uint32 `json:"total_retrans"`
	Lost           uint32 `json:"lost"`
	BytesAcked     uint64 `json:"bytes_acked"`
	BytesReceived  uint64 `json:"bytes_received"`
	BytesRetrans   uint64 `json:"bytes_retrans"`
	SndWnd         uint32 `json:"snd_wnd"`
	RcvWnd         uint32 `json:"rcv_wnd"`
	LastDataSentMS int64  `json:"last_data_sent_ms"`
	LastDataRecvMS int64  `json:"last_data_recv_ms"`
	LastAckRecvMS  int64  `json:"last_ack_recv_ms"`
}

type jsonProcess struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	FD   int    `json:"fd,omitempty"`
}

type jsonListener struct {
	Local     string        `json:"local"`
	Queue     int           `json:"accept_queue"`
	Backlog   int           `json:"backlog"`
	SynRecv   int           `json:"syn_recv"`
	Processes []jsonProcess `json:"processes,omitempty"`
}

type jsonFlag struct {
	Kind      string        `json:"kind"`
	Severity  string        `json:"severity"`
	Title     string        `json:"title"`
	Text      string        `json:"text"`
	Sockets   []string      `json:"sockets,omitempty"` // "local peer"
	Processes []jsonProcess `json:"processes,omitempty"`
}

type jsonCounter struct {
	Name  string `json:"name"`
	Delta int64  `json:"delta"`
	Total int64  `json:"total"`
}

type jsonTransition struct {
	Time   time.Time   `json:"time"`
	Event  string      `json:"event"` // seen, new, change, gone
	Local  string      `json:"local"`
	Peer   string      `json:"peer"`
	From   string      `json:"from,omitempty"`
	To     string      `json:"to,omitempty"`
	Socket *jsonSocket `json:"socket,omitempty"`
}

type jsonEvent struct {
	Time  time.Time `json:"time"`
	Event string    `json:"event"` // counter, flag
	Name  string    `json:"name,omitempty"`
	Delta int64     `json:"delta,omitempty"`
	Total int64     `json:"total,omitempty"`
	Flag  *jsonFlag `json:"flag,omitempty"`
}

func jsonProcs(owners []sockdiag.Owner) []jsonProcess {
	var out []jsonProcess
	for _, o := range owners {
		out = append(out, jsonProcess{PID: o.PID, Comm: o.Comm, FD: o.FD})
	}
	return out
}

func jsonSock(s *sockdiag.Socket) jsonSocket {
	j := jsonSocket{State: s.State.String(), Local: s.Local.String(), Peer: s.Peer.String(), RecvQ: s.RecvQ, SendQ: s.SendQ,
		Request: s.Request, UID: s.UID, Inode: s.Inode, Cookie: s.Cookie, Cong: s.Cong, Processes: jsonProcs(s.Owners)}
	if s.Timer != sockdiag.TimerNone {
		j.Timer, j.ExpiresMS = s.Timer.String(), s.Expires.Milliseconds()
	}
	if i := s.Info; i != nil {
		j.TCPInfo = &jsonTCPInfo{
			RTTus: i.RTT.Microseconds(), RTTVarus: i.RTTVar.Microseconds(), MinRTTus: i.MinRTT.Microseconds(), RTOms: i.RTO.Milliseconds(),
			Cwnd: i.SndCwnd, Ssthresh: i.SndSsthresh, SndMSS: i.SndMSS, RcvMSS: i.RcvMSS, SndWScale: i.SndWScale, RcvWScale: i.RcvWScale,
			Options: i.Options.String(), CAState: i.CAState.String(), Unacked: i.Unacked, Retrans: i.Retrans, TotalRetrans: i.TotalRetrans,
			Lost: i.Lost, BytesAcked: i.BytesAcked, BytesReceived: i.BytesReceived, BytesRetrans: i.BytesRetrans, SndWnd: i.SndWnd, RcvWnd: i.RcvWnd,
			LastDataSentMS: i.LastDataSent.Milliseconds(), LastDataRecvMS: i.LastDataRecv.Milliseconds(), LastAckRecvMS: i.LastAckRecv.Milliseconds(),
		}
	}
	return j
}

func jsonFlagOf(f *sockwatch.Flag) jsonFlag {
	j := jsonFlag{Kind: f.Kind, Severity: f.Severity.String(), Title: f.Title, Text: f.Text, Processes: jsonProcs(f.Owners)}
	for _, s := range f.Sockets {
		j.Sockets = append(j.Sockets, s.Local.String()+" "+s.Peer.String())
	}
	return j
}

func jsonReport(rep *sockwatch.Report) jsonReportT {
	j := jsonReportT{Time: rep.Time, Source: rep.Source, IntervalMS: rep.Interval.Milliseconds(), Counts: map[string]int{},
		Sockets: []jsonSocket{}, Listeners: []jsonListener{}, Flags: []jsonFlag{}, Counters: []jsonCounter{}}
	for i := range rep.Sockets {
		j.Sockets = append(j.Sockets, jsonSock(&rep.Sockets[i]))
	}
	for _, st := range sockwatch.StateOrder() {
		j.Counts[st.String()] = rep.Counts[st]
	}
	for _, l := range rep.Listeners {
		j.Listeners = append(j.Listeners, jsonListener{Local: l.Socket.Local.String(), Queue: l.Queue, Backlog: l.Backlog, SynRecv: l.SynRecv, Processes: jsonProcs(l.Socket.Owners)})
	}
	for i := range rep.Flags {
		j.Flags = append(j.Flags, jsonFlagOf(&rep.Flags[i]))
	}
	for _, d := range rep.Deltas {
		j.Counters = append(j.Counters, jsonCounter{Name: d.Name, Delta: d.Delta, Total: d.Total})
	}
	s := rep.Sysctl
	j.Sysctl = map[string]int{"ip_local_port_range_low": s.PortLow, "ip_local_port_range_high": s.PortHigh, "tcp_fin_timeout": s.FinTimeout,
		"tcp_max_syn_backlog": s.MaxSynBacklog, "somaxconn": s.Somaxconn, "tcp_syncookies": s.Syncookies, "tcp_max_orphans": s.MaxOrphans}
	return j
}
