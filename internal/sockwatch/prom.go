package sockwatch

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tcplens/tcplens/internal/sockdiag"
)

// Metrics is the /metrics endpoint of tcplens ss --prometheus: each scrape
// takes a fresh snapshot and renders it with [AppendPrometheus].
//
// One client must not be able to hold up another's scrape. Scrapes share
// the tracker and the previous snapshot, so they take turns, but only
// while taking and rendering: the exposition is complete in memory before
// a byte is written, and no lock is held while a client's socket is read
// or written. The server's timeouts ([Timeouts]) bound how long a client
// that stalls, trickles or idles keeps its own connection.
type Metrics struct {
	Take  func() (*sockdiag.Snapshot, error) // one snapshot of the sockets the scrape reports
	Rules Rules

	mu   sync.Mutex
	tr   Tracker
	prev *sockdiag.Snapshot
}

// Scrape takes a snapshot and returns its exposition. The tracker carries
// socket ages from one scrape to the next, and the previous snapshot the
// counters' deltas the flags are judged on.
func (m *Metrics) Scrape() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	snap, err := m.Take()
	if err != nil {
		return nil, err
	}
	m.tr.Update(snap, nil, nil)
	rep := Assess(snap, m.prev, &m.tr, nil, m.Rules)
	m.prev = snap
	return AppendPrometheus(nil, rep), nil
}

// ServeHTTP serves /metrics, and a pointer to it at /.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.ContentLength != 0 {
		// A scrape has no body. Without this, the server would wait for
		// the rest of a body the client announced before answering.
		w.Header().Set("Connection", "close")
	}
	switch req.URL.Path {
	case "/metrics":
	case "/":
		io.WriteString(w, "tcplens ss: metrics at /metrics\n")
		return
	default:
		http.NotFound(w, req)
		return
	}
	body, err := m.Scrape()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// Timeouts bound what one client's connection may cost.
type Timeouts struct {
	ReadHeader time.Duration // to send the request's headers
	Read       time.Duration // to send the whole request, body included
	Write      time.Duration // from the end of the headers to the end of the response: scrape and transfer
	Idle       time.Duration // to send the next request on a kept-alive connection
}

// DefaultTimeouts fit Prometheus: it gives up on a scrape after 10 s by
// default (scrape_timeout) and scrapes every 15 s on a kept-alive
// connection (scrape_interval), so Idle lets it keep one.
var DefaultTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 30 * time.Second, Idle: 30 * time.Second}

// maxHeaderBytes bounds a request's headers: a scrape sends a few hundred
// bytes, Go's default allows 1 MiB.
const maxHeaderBytes = 16 << 10

// Server returns an HTTP server for m with the timeouts t.
func (m *Metrics) Server(t Timeouts) *http.Server {
	return &http.Server{
		Handler:           m,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// BeyondLoopback reports whether a listener on addr accepts connections
// from other hosts: any address but a loopback one, the unspecified
// address (0.0.0.0, ::, or none, as in ":9937") included.
func BeyondLoopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return true
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	return !ok || !ip.Unmap().IsLoopback()
}

// AppendPrometheus appends r in the Prometheus text exposition format
// (version 0.0.4): socket counts per state, listener queues, the flags
// raised now, and the kernel's counters as totals (Prometheus computes
// rates itself; a delta would be lost between scrapes). Output order is
// fixed, so it can be compared with a golden file.
func AppendPrometheus(b []byte, r *Report) []byte {
	family := func(name, typ, help string) {
		b = append(b, "# HELP "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = append(b, help...)
		b = append(b, "\n# TYPE "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = append(b, typ...)
		b = append(b, '\n')
	}
	sample := func(name string, labels []string, v int64) {
		b = append(b, name...)
		if len(labels) > 0 {
			b = append(b, '{')
			for i := 0; i+1 < len(labels); i += 2 {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, labels[i]...)
				b = append(b, `="`...)
				b = appendLabelValue(b, labels[i+1])
				b = append(b, '"')
			}
			b = append(b, '}')
		}
		b = append(b, ' ')
		b = strconv.AppendInt(b, v, 10)
		b = append(b, '\n')
	}

	family("tcplens_tcp_sockets", "gauge", "TCP sockets by kernel state (request sockets count as SYN_RECV).")
	for _, s := range StateOrder() {
		sample("tcplens_tcp_sockets", []string{"state", s.String()}, int64(r.Counts[s]))
	}

	if len(r.Listeners) > 0 {
		family("tcplens_tcp_listener_accept_queue", "gauge", "Connections waiting for accept() on a listener.")
		for _, l := range r.Listeners {
			sample("tcplens_tcp_listener_accept_queue", []string{"local", l.Socket.Local.String()}, int64(l.Queue))
		}
		family("tcplens_tcp_listener_backlog", "gauge", "The accept queue's limit: the listen backlog, capped by net.core.somaxconn.")
		for _, l := range r.Listeners {
			sample("tcplens_tcp_listener_backlog", []string{"local", l.Socket.Local.String()}, int64(l.Backlog))
		}
		family("tcplens_tcp_listener_syn_recv", "gauge", "Handshakes in progress (request sockets) toward a listener.")
		for _, l := range r.Listeners {
			sample("tcplens_tcp_listener_syn_recv", []string{"local", l.Socket.Local.String()}, int64(l.SynRecv))
		}
	}

	family("tcplens_tcp_time_wait_max_per_destination", "gauge", "The most TIME_WAIT sockets toward one destination from one local address.")
	sample("tcplens_tcp_time_wait_max_per_destination", nil, int64(r.TimeWait))
	if n := r.Sysctl.Ports(); n > 0 {
		family("tcplens_tcp_ephemeral_ports", "gauge", "Size of net.ipv4.ip_local_port_range.")
		sample("tcplens_tcp_ephemeral_ports", nil, int64(n))
	}

	family("tcplens_flags", "gauge", "Problems tcplens raises now, by kind (0 when none).")
	kinds := []string{FlagSynFlood, FlagCloseWait, FlagTimeWait, FlagOrphanFinWait2, FlagAcceptQueue, FlagListenOverflow, FlagSynCookies, FlagAbortOnClose, FlagHandshakeRetrans}
	sort.Strings(kinds)
	for _, k := range kinds {
		var n int64
		for _, f := range r.Flags {
			if f.Kind == k {
				n++
			}
		}
		sample("tcplens_flags", []string{"kind", k}, n)
	}

	if len(r.Counters) > 0 {
		family("tcplens_netstat_total", "counter", "Kernel TCP counters from /proc/net/snmp and /proc/net/netstat, by nstat name.")
		for _, name := range r.Counters.Names() {
			if !promCounter(name) {
				continue
			}
			sample("tcplens_netstat_total", []string{"counter", name}, r.Counters[name])
		}
		family("tcplens_netstat", "gauge", "Kernel TCP values that are levels, not counts (Tcp.CurrEstab).")
		for _, name := range r.Counters.Names() {
			if strings.HasPrefix(name, "Tcp.") && sockdiag.Gauge(name) {
				sample("tcplens_netstat", []string{"counter", name}, r.Counters[name])
			}
		}
	}
	return b
}

// promCounter selects the TCP counters: Tcp and TcpExt, not IP, UDP or
// ICMP, and not the gauges.
func promCounter(name string) bool {
	return (strings.HasPrefix(name, "Tcp.") || strings.HasPrefix(name, "TcpExt.")) && !sockdiag.Gauge(name)
}

// appendLabelValue escapes a label value: backslash, double quote and
// line feed, as the exposition format requires.
func appendLabelValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}
