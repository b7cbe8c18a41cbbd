package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/render"
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
	rules      sockwatch.Rules

	// ss's flags, with ss's meanings.
	all, listening, ipv4, ipv6 bool
	view                       render.SSOptions
	tcp                        bool // -t: tcplens shows TCP alone
}

// defaultPrometheusAddr is loopback: the counts name processes and
// addresses, which is nobody else's business unless the user says so.
const defaultPrometheusAddr = "127.0.0.1:9937"

func newSSCmd(e *env) *cobra.Command {
	o := ssOptions{rules: sockwatch.DefaultRules}
	cmd := &cobra.Command{
		Use:   "ss [flags] [FILTER]",
		Short: "Live TCP sockets as ss lists them, with the leaks and floods a person would flag",
		Long: `ss lists the host's TCP sockets (IPv4 and IPv6) from the kernel's sock_diag
netlink interface, as iproute2's ss does, and takes ss's flags with ss's
meanings: -t (TCP: tcplens shows nothing else), -a (every socket), -l (the
listening ones), -n (numbers: tcplens resolves no names; ss -n also prints
rates as plain numbers), -p (the processes: users:(("nginx",pid=42,fd=3))),
-o (timers: timer:(keepalive,1min27sec,0)), -e (uid, inode, socket cookie,
cgroup, fwmark, v6only, shutdown <->; -o too), -m (socket memory:
skmem:(r0,rb131072,...)), -i (tcp_info: cwnd, rtt, rto, mss, bytes, the
congestion control's state, ...), -s (ss's summary of the namespace's
sockets), -4 and -6 (one address family), -H (the socket lines alone). So
tcplens ss -tanp, ss -tmi and ss -s work as they do with ss. By default, as
ss, the table lists the connected sockets but SYN_RECV and TIME_WAIT; a
state in FILTER chooses instead. Request sockets of half-open handshakes are
shown as SYN_RECV. Without netlink it falls back to /proc/net/tcp and tcp6,
which lack tcp_info.

After the table come, for every socket FILTER keeps whatever the table
lists, the counts per state, the listeners with their accept queues, the
flags a person would raise -- a SYN_RECV heap (possible SYN flood),
CLOSE_WAIT sockets older than --close-wait-age (the application never calls
close(), and which process that is), TIME_WAIT toward one destination
against net.ipv4.ip_local_port_range, orphaned FIN_WAIT2, full accept
queues, listen-queue overflows -- and the kernel's TCP counters
(/proc/net/snmp, /proc/net/netstat) as deltas over --interval (default 1s;
0 prints totals at once). -H leaves them out.

--watch prints each socket's transitions as they happen (new, state change,
gone), polling every INTERVAL (default 100ms): the live version of
watch -n 0.1 'ss -tan | grep :9999'. A state that lasts less than the
interval can be missed. --prometheus serves the counts, flags and counters
for scraping, and warns when ADDR reaches beyond loopback. A client that
does not send its headers within 5s, its request within 10s, read the
answer within 30s or send its next request within 30s is dropped; none
can hold up another's scrape.

FILTER is ss's: "state STATE" (repeatable; groups all, connected,
synchronized, bucket, big), "exclude STATE", then an expression of
sport/dport OP PORT and src/dst ADDR[/BITS][:PORT] with and, or, not and
parentheses.

--json prints one document: the sockets the table lists, with their
tcp_info, socket memory and congestion control state, then the counts,
listeners, flags, counters, sysctls and the namespace's socket summary;
with --watch, one JSON object per line and event.`,
		Example: `  tcplens ss -tanp
  tcplens ss -tmi state established
  tcplens ss -s
  tcplens ss -lt '( sport = :443 or sport = :80 )'
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
	f.BoolVarP(&o.tcp, "tcp", "t", false, "TCP sockets (tcplens shows no others)")
	f.BoolVarP(&o.all, "all", "a", false, "list every socket, listening or not")
	f.BoolVarP(&o.listening, "listening", "l", false, "list the listening sockets")
	f.BoolVarP(&o.view.Numeric, "numeric", "n", false, "print rates as numbers (tcplens resolves no names either way)")
	f.BoolVarP(&o.view.Processes, "processes", "p", false, "show the processes holding each socket")
	f.BoolVarP(&o.view.Options, "options", "o", false, "show timers (and, with -i, the options negotiated)")
	f.BoolVarP(&o.view.Extended, "extended", "e", false, "show uid, inode, socket cookie, cgroup, fwmark, v6only and shutdown (implies -o)")
	f.BoolVarP(&o.view.Memory, "memory", "m", false, "show socket memory: skmem:(r,rb,t,tb,f,w,o,bl,d)")
	f.BoolVarP(&o.view.Info, "info", "i", false, "show tcp_info, as ss -i")
	f.BoolVarP(&o.view.Summary, "summary", "s", false, "print ss's summary of the sockets instead of the table")
	f.BoolVarP(&o.ipv4, "ipv4", "4", false, "IPv4 sockets only")
	f.BoolVarP(&o.ipv6, "ipv6", "6", false, "IPv6 sockets only")
	f.BoolVarP(&o.view.NoHeader, "no-header", "H", false, "print the socket lines alone: no header line, nothing after them")
	f.BoolVar(&o.json, "json", false, "print JSON: one document, or with --watch one JSON object per line")
	f.DurationVar(&o.watch, "watch", 100*time.Millisecond, "print transitions as they happen, polling every `INTERVAL`")
	f.Lookup("watch").NoOptDefVal = "100ms"
	f.DurationVar(&o.interval, "interval", time.Second, "measure counter deltas over this interval (0: print totals at once)")
	f.DurationVar(&o.duration, "duration", 0, "with --watch or --prometheus, stop after this long (default: until interrupted)")
	f.StringVar(&o.prometheus, "prometheus", defaultPrometheusAddr, "serve Prometheus metrics on `ADDR` (loopback unless you give another address)")
	f.Lookup("prometheus").NoOptDefVal = defaultPrometheusAddr
	f.StringVar(&o.netns, "netns", "", "read the network namespace `NAME` (from ip netns) or the namespace file at a path")
	f.BoolVar(&o.proc, "proc", false, "read /proc/net/tcp{,6} instead of netlink (no tcp_info)")
	f.DurationVar(&o.rules.CloseWaitAge, "close-wait-age", o.rules.CloseWaitAge, "flag CLOSE_WAIT sockets older than this")
	f.IntVar(&o.rules.SynRecvHeap, "syn-recv-heap", o.rules.SynRecvHeap, "flag this many SYN_RECV sockets as a heap")
	f.IntVar(&o.rules.OrphanFinWait2, "orphans", o.rules.OrphanFinWait2, "flag this many orphaned FIN_WAIT2 sockets")
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
		if len(args) > 0 {
			if _, derr := time.ParseDuration(args[0]); derr == nil {
				return usagef("%v (-i shows tcp_info, as in ss; the counters' interval is --interval %s)", err, args[0])
			}
		}
		return usageError{err}
	}
	src := &sockwatch.Source{Filter: filter, Proc: o.proc}
	if o.ipv4 != o.ipv6 {
		src.Family = 4
		if o.ipv6 {
			src.Family = 6
		}
	}
	if o.netns != "" {
		src.NetNS = o.netns
		if !strings.Contains(o.netns, "/") {
			src.NetNS = "/var/run/netns/" + o.netns
			if _, err := os.Stat(src.NetNS); err != nil {
				return fmt.Errorf("network namespace %q does not exist (ip netns add %s makes one; ip netns lists them)", o.netns, o.netns)
			}
		}
	}
	o.view.States = filter.TableStates(o.all, o.listening)
	var cgroups sockdiag.Cgroups
	o.view.Cgroup = cgroups.Path

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.watch == 0 && o.prometheus == "" {
		return ssOnce(ctx, e, o, src)
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	if o.prometheus != "" {
		srv, err := serveMetrics(e, o, src)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	if o.watch == 0 {
		<-ctx.Done()
		return nil
	}
	if !o.json {
		if o.duration > 0 {
			fmt.Fprintf(e.stderr, "tcplens: watching TCP sockets every %v for %v\n", o.watch, o.duration)
		} else {
			fmt.Fprintf(e.stderr, "tcplens: watching TCP sockets every %v; Ctrl-C to stop\n", o.watch)
		}
	}
	w := bufio.NewWriter(e.stdout)
	write := render.SSEventText
	if o.json {
		write = render.SSEventJSON
	}
	err = sockwatch.Watch(ctx, src, o.watch, o.rules, func(ev sockwatch.Event) error {
		if err := write(w, &ev); err != nil {
			return err
		}
		return w.Flush() // a watcher reads each line as it comes
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return ssError(err)
}

// ssOnce prints one assessment.
func ssOnce(ctx context.Context, e *env, o *ssOptions, src *sockwatch.Source) error {
	interval := o.interval
	if o.view.NoHeader {
		interval = 0 // -H prints no counters: no need to wait for their deltas
	}
	rep, err := sockwatch.Measure(ctx, src, interval, o.rules)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return &exitError{code: exitInterrupted}
		}
		return ssError(err)
	}
	if rep.Source == "proc" && !o.proc {
		fmt.Fprintln(e.stderr, "tcplens: warning: netlink refused: read /proc/net/tcp instead, without tcp_info")
	}
	w := bufio.NewWriter(e.stdout)
	if o.json {
		err = render.SSJSON(w, rep, o.view.States)
	} else {
		err = render.SSText(w, rep, o.view)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// ssError makes sock_diag's "not on this system" a plain failure.
func ssError(err error) error {
	if err != nil && errors.Is(err, errors.ErrUnsupported) {
		return &exitError{code: exitNoInput, msg: err.Error()}
	}
	return err
}

// serveMetrics starts the Prometheus endpoint. Each scrape takes a fresh
// snapshot; counters are exported as totals, the rest as gauges.
func serveMetrics(e *env, o *ssOptions, src *sockwatch.Source) (*http.Server, error) {
	ln, err := net.Listen("tcp", o.prometheus)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	m := &sockwatch.Metrics{Take: src.Take, Rules: o.rules}
	srv := m.Server(sockwatch.DefaultTimeouts)
	fmt.Fprintf(e.stderr, "tcplens: serving Prometheus metrics on http://%s/metrics\n", ln.Addr())
	if sockwatch.BeyondLoopback(ln.Addr()) {
		fmt.Fprintf(e.stderr, "tcplens: warning: --prometheus %s listens beyond loopback: anyone who can reach port %d of this host reads its sockets' addresses and the processes that own them (127.0.0.1:PORT serves this host only)\n",
			o.prometheus, ln.Addr().(*net.TCPAddr).Port)
	}
	go srv.Serve(ln)
	return srv, nil
}
