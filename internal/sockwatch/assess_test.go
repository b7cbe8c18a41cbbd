package sockwatch

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/sockdiag"
)

var update = flag.Bool("update", false, "rewrite golden files")

var sysctl = sockdiag.Sysctl{PortLow: 32768, PortHigh: 32867, FinTimeout: 60, Syncookies: 1, Somaxconn: 4096} // 100 ports, to keep tests small

func flagsOf(r *Report) []string {
	var out []string
	for _, f := range r.Flags {
		out = append(out, fmt.Sprintf("%s %s: %s", f.Severity, f.Kind, f.Title))
	}
	return out
}

func withInfo(s sockdiag.Socket, idle time.Duration) sockdiag.Socket {
	s.Info = &sockdiag.TCPInfo{LastAckRecv: idle, LastDataRecv: idle, LastDataSent: idle}
	return s
}

func owned(s sockdiag.Socket, pid int, comm string) sockdiag.Socket {
	s.Inode = uint32(pid * 10)
	s.Owners = []sockdiag.Owner{{PID: pid, Comm: comm, FD: 3}}
	return s
}

func listener(local string, queue, backlog uint32) sockdiag.Socket {
	s := sock("LISTEN " + local + " 0.0.0.0:0")
	s.RecvQ, s.SendQ = queue, backlog
	return s
}

func requests(n int, local string, sources int) []sockdiag.Socket {
	var out []sockdiag.Socket
	for i := range n {
		s := sock(fmt.Sprintf("SYN_RECV %s 10.0.%d.%d:%d", local, i%sources/250, i%sources%250+1, 40000+i))
		s.Request = true
		out = append(out, s)
	}
	return out
}

func timeWaits(n int, local, peer string, firstPort int) []sockdiag.Socket {
	var out []sockdiag.Socket
	for i := range n {
		out = append(out, sock(fmt.Sprintf("TIME_WAIT %s:%d %s", local, firstPort+i, peer)))
	}
	return out
}

// TestFlags is the flag rules, one situation per case, at fixed times.
func TestFlags(t *testing.T) {
	rules := DefaultRules
	rules.SynRecvHeap = 50
	rules.CloseWaitAge = 30 * time.Second
	rules.OrphanFinWait2 = 3
	orphan := sock("FIN_WAIT2 127.0.0.1:9999 127.0.0.1:40000")
	tests := []struct {
		name    string
		sockets []sockdiag.Socket
		want    []string
	}{
		{"healthy", []sockdiag.Socket{listener("0.0.0.0:80", 0, 128), owned(sock("ESTABLISHED 10.0.0.1:80 10.0.0.2:5000"), 42, "nginx")}, nil},
		{
			"syn flood from many sources",
			append([]sockdiag.Socket{listener("0.0.0.0:80", 0, 4096)}, requests(60, "10.0.0.1:80", 60)...),
			[]string{"critical syn_recv_heap: 60 sockets in SYN_RECV from 60 source addresses: possible SYN flood"},
		},
		{
			"syn queue half full at a small backlog",
			append([]sockdiag.Socket{listener("127.0.0.1:7004", 0, 16)}, requests(8, "127.0.0.1:7004", 1)...),
			[]string{"critical syn_recv_heap: 8 sockets in SYN_RECV from 1 source addresses: possible SYN flood (127.0.0.1:7004 has 8 for a backlog of 16)"},
		},
		{"a few half-open handshakes", append([]sockdiag.Socket{listener("0.0.0.0:80", 0, 128)}, requests(5, "10.0.0.1:80", 5)...), nil},
		{
			"close wait older than the threshold, by process",
			[]sockdiag.Socket{
				owned(withInfo(sock("CLOSE_WAIT 10.0.0.1:80 10.0.0.2:5000"), 45*time.Second), 42, "leaky"),
				owned(withInfo(sock("CLOSE_WAIT 10.0.0.1:80 10.0.0.2:5001"), 90*time.Second), 42, "leaky"),
				owned(withInfo(sock("CLOSE_WAIT 10.0.0.1:80 10.0.0.2:5002"), 2*time.Second), 42, "leaky"),
				withInfo(sock("CLOSE_WAIT 10.0.0.1:81 10.0.0.2:5003"), time.Hour),
			},
			[]string{
				"warning close_wait_leak: 1 socket in CLOSE_WAIT for at least 1h0m0s, held by an unknown process",
				"warning close_wait_leak: 2 sockets in CLOSE_WAIT for at least 1m30s, held by leaky (pid 42)",
			},
		},
		{
			"time wait toward one destination",
			timeWaits(60, "10.0.0.1", "10.0.0.9:5432", 32768),
			[]string{"warning time_wait_pressure: 60 sockets in TIME_WAIT toward 10.0.0.9:5432: 60% of the 100 ephemeral ports (32768-32867); 60 in TIME_WAIT in all"},
		},
		{
			"time wait spread over destinations, or on the server side, is fine",
			append(timeWaits(40, "10.0.0.1", "10.0.0.9:5432", 32768), append(timeWaits(40, "10.0.0.1", "10.0.0.8:5432", 32768), timeWaits(50, "10.0.0.1", "10.0.0.7:80", 1000)...)...),
			nil,
		},
		{
			"time wait exhausting the range",
			timeWaits(100, "10.0.0.1", "10.0.0.9:5432", 32768),
			[]string{"critical time_wait_pressure: 100 sockets in TIME_WAIT toward 10.0.0.9:5432: 100% of the 100 ephemeral ports (32768-32867); 100 in TIME_WAIT in all"},
		},
		{
			"orphaned fin wait 2",
			[]sockdiag.Socket{orphan, sock("FIN_WAIT2 127.0.0.1:9999 127.0.0.1:40001"), sock("FIN_WAIT2 127.0.0.1:9999 127.0.0.1:40002"),
				owned(sock("FIN_WAIT2 127.0.0.1:9999 127.0.0.1:40003"), 5, "half-closer")},
			[]string{"warning orphan_fin_wait2: 3 orphaned sockets in FIN_WAIT2"},
		},
		{
			"accept queue nearly full, then full",
			[]sockdiag.Socket{owned(listener("0.0.0.0:80", 110, 128), 42, "slow"), listener("0.0.0.0:81", 129, 128), listener("0.0.0.0:82", 50, 128)},
			[]string{
				"critical accept_queue_full: accept queue of 0.0.0.0:81 full: 129 of 128, held by an unknown process",
				"warning accept_queue_full: accept queue of 0.0.0.0:80 nearly full: 110 of 128, held by slow (pid 42)",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := &sockdiag.Snapshot{Time: t0, Sockets: tc.sockets, Sysctl: sysctl}
			r := Assess(snap, nil, nil, nil, rules)
			if g, w := strings.Join(flagsOf(r), "\n"), strings.Join(tc.want, "\n"); g != w {
				t.Errorf("flags:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

// TestCloseWaitTracked dates CLOSE_WAIT by the tracker when the kernel's
// idle time is shorter (an application still writing is not idle, but
// never closing is still a leak once the threshold passes).
func TestCloseWaitTracked(t *testing.T) {
	rules := DefaultRules
	rules.CloseWaitAge = 10 * time.Second
	cw := owned(withInfo(sock("CLOSE_WAIT 127.0.0.1:9999 127.0.0.1:40000"), time.Second), 7, "srv")
	est := owned(withInfo(sock("ESTABLISHED 127.0.0.1:9999 127.0.0.1:40000"), time.Second), 7, "srv")
	var tr Tracker
	s0 := snapAt(0, est)
	s1 := snapAt(1, cw)
	s2 := snapAt(12, cw)
	tr.Update(s0, nil, nil)
	tr.Update(s1, nil, nil)
	if r := Assess(s1, s0, &tr, nil, rules); len(r.Flags) != 0 {
		t.Errorf("flagged after 0 s: %v", flagsOf(r))
	}
	tr.Update(s2, nil, nil)
	want := "warning close_wait_leak: 1 socket in CLOSE_WAIT for 11s, held by srv (pid 7)"
	if r := Assess(s2, s1, &tr, nil, rules); strings.Join(flagsOf(r), "\n") != want {
		t.Errorf("flags %v, want %s", flagsOf(r), want)
	}
}

func TestCounterDeltas(t *testing.T) {
	prev := &sockdiag.Snapshot{Time: t0, Counters: sockdiag.Counters{"TcpExt.ListenOverflows": 10, "TcpExt.ListenDrops": 10, "Tcp.AttemptFails": 5, "TcpExt.TCPSynRetrans": 0}}
	cur := &sockdiag.Snapshot{Time: t0.Add(time.Second), Counters: sockdiag.Counters{"TcpExt.ListenOverflows": 13, "TcpExt.ListenDrops": 13, "Tcp.AttemptFails": 5, "TcpExt.TCPSynRetrans": 2, "TcpExt.TCPAbortOnClose": 1}}
	r := Assess(cur, prev, nil, nil, DefaultRules)
	want := []string{
		"critical listen_overflow: 3 listen-queue overflows over 1s (ListenOverflows), 3 drops (ListenDrops)",
		"info handshake_retrans: 2 SYN or SYN-ACK retransmissions over 1s (TCPSynRetrans), 0 failed attempts (AttemptFails)",
	}
	if g, w := strings.Join(flagsOf(r), "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("flags:\n%s\nwant:\n%s", g, w)
	}
	var deltas []string
	for _, d := range r.Deltas {
		deltas = append(deltas, fmt.Sprintf("%s %+d %d", d.Name, d.Delta, d.Total))
	}
	// TCPAbortOnClose is new since the previous snapshot: no delta.
	wantD := "TcpExt.ListenOverflows +3 13|TcpExt.ListenDrops +3 13|TcpExt.TCPSynRetrans +2 2|Tcp.AttemptFails +0 5|TcpExt.TCPAbortOnClose +0 1"
	if g := strings.Join(deltas, "|"); g != wantD {
		t.Errorf("deltas %s, want %s", g, wantD)
	}
	if r := Assess(cur, nil, nil, nil, DefaultRules); len(r.Flags) != 0 {
		t.Errorf("counters flagged without an interval: %v", flagsOf(r))
	}
}

func TestListeners(t *testing.T) {
	socks := []sockdiag.Socket{listener("0.0.0.0:80", 3, 128), listener("127.0.0.1:81", 0, 16), listener("[::]:82", 0, 16)}
	socks = append(socks, requests(2, "10.0.0.1:80", 2)...)
	socks = append(socks, requests(1, "127.0.0.1:81", 1)...)
	socks = append(socks, requests(1, "[::ffff:10.0.0.1]:82", 1)...)
	r := Assess(&sockdiag.Snapshot{Time: t0, Sockets: socks}, nil, nil, nil, DefaultRules)
	var got []string
	for _, l := range r.Listeners {
		got = append(got, fmt.Sprintf("%v %d/%d %d", l.Socket.Local, l.Queue, l.Backlog, l.SynRecv))
	}
	want := "0.0.0.0:80 3/128 2|127.0.0.1:81 0/16 1|[::]:82 0/16 1"
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("listeners %s, want %s", g, want)
	}
	if r.Counts[sockdiag.SynRecv] != 4 || r.Counts[sockdiag.Listen] != 3 {
		t.Errorf("counts %v", r.Counts)
	}
}

// filterSockets are what the filter tests match: one of each family and
// several states and ports.
var filterSockets = []sockdiag.Socket{
	sock("LISTEN 0.0.0.0:22 0.0.0.0:0"),
	sock("ESTABLISHED 10.0.0.1:22 192.168.1.5:50000"),
	sock("TIME_WAIT 10.0.0.1:40000 10.0.0.9:443"),
	sock("SYN_SENT [::1]:40001 [::1]:443"),
	sock("CLOSE_WAIT [::ffff:10.0.0.1]:8080 [::ffff:10.0.0.2]:5000"),
}

// filterCases are filters with the filterSockets each matches.
var filterCases = []struct {
	filter string
	want   string // indexes of matching sockets
}{
	{"", "01234"},
	{"state established", "1"},
	{"state ESTABLISHED state time_wait", "12"},
	{"state connected", "1234"},
	{"state synchronized", "124"},
	{"state bucket", "2"},
	{"state big", "0134"},
	{"exclude listening", "1234"},
	{"state all exclude time-wait", "0134"},
	{"sport = :22", "01"},
	{"dport eq 443", "23"},
	{"dport > 1000 and dport < 6000", "4"},
	{"( sport = :22 or dport = :443 )", "0123"},
	{"!(sport = :22)", "234"},
	{"not sport = :22 and not dport = 443", "4"},
	{"dst 192.168.0.0/16", "1"},
	{"src 10.0.0.1", "124"},
	{"src 10.0.0.1:22", "1"},
	{"dst [::1]:443", "3"},
	{"src :8080", "4"},
	{"state established dst 192.168.1.5", "1"},
	{"sport == 22 || dport == 443", "0123"},
}

func TestFilter(t *testing.T) {
	socks := filterSockets
	for _, tc := range filterCases {
		f, err := ParseFilter(strings.Fields(tc.filter))
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.filter, err)
			continue
		}
		got := ""
		for i := range socks {
			if f.Match(&socks[i]) {
				got += fmt.Sprint(i)
			}
		}
		if got != tc.want {
			t.Errorf("filter %q matches %s, want %s", tc.filter, got, tc.want)
		}
	}
	for _, bad := range []string{"state nosuch", "src", "( dst )", "sport = :x", "( sport = :22", "src 10.0.0.0/99", "frobnicate"} {
		if _, err := ParseFilter(strings.Fields(bad)); err == nil {
			t.Errorf("ParseFilter(%q) accepted", bad)
		}
	}
}

// TestPrometheus checks the exposition against a golden file.
func TestPrometheus(t *testing.T) {
	socks := []sockdiag.Socket{owned(listener("127.0.0.1:9999", 1, 128), 42, "srv"), sock(`ESTABLISHED 127.0.0.1:9999 127.0.0.1:40000`)}
	socks = append(socks, requests(2, "127.0.0.1:9999", 1)...)
	socks = append(socks, owned(withInfo(sock("CLOSE_WAIT 127.0.0.1:9999 127.0.0.1:40001"), time.Hour), 42, "srv"))
	counters := sockdiag.Counters{"Tcp.ActiveOpens": 12, "Tcp.CurrEstab": 1, "Tcp.RtoMin": 200, "TcpExt.ListenOverflows": 3, "Ip.Forwarding": 1, "Udp.InDatagrams": 4}
	r := Assess(&sockdiag.Snapshot{Time: t0, Sockets: socks, Counters: counters, Sysctl: sysctl}, nil, nil, nil, DefaultRules)
	r.Listeners[0].Socket.Local = netip.MustParseAddrPort("127.0.0.1:9999")
	got := string(AppendPrometheus(nil, r))
	path := filepath.Join("testdata", "prometheus.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("exposition differs from %s:\n%s", path, got)
	}
	if b := appendLabelValue(nil, "a\"b\\c\nd"); string(b) != `a\"b\\c\nd` {
		t.Errorf("label escaping: %s", b)
	}
}
