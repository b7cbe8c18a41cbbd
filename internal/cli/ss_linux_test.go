//go:build linux

package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcplens/tcplens/internal/netnstest"
)

// syncBuffer is a bytes.Buffer safe for a command writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// background runs Main in a goroutine until it returns on its own or is
// interrupted with SIGINT, as a user's Ctrl-C would (the command catches
// it; the test process does not die).
type background struct {
	out, errOut syncBuffer
	done        chan int
}

func startMain(t *testing.T, args ...string) *background {
	t.Helper()
	b := &background{done: make(chan int, 1)}
	go func() { b.done <- Main(args, strings.NewReader(""), &b.out, &b.errOut) }()
	return b
}

// waitOutput waits until re matches stdout (or stderr, with errs).
func (b *background) wait(t *testing.T, re string, errs bool) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s := b.out.String()
		if errs {
			s = b.errOut.String()
		}
		if m := rx.FindStringSubmatch(s); m != nil {
			return m
		}
		select {
		case code := <-b.done:
			b.done <- code
			t.Fatalf("command ended (exit %d) before %q\nstdout:\n%s\nstderr:\n%s", code, re, b.out.String(), b.errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no %q within 10s\nstdout:\n%s\nstderr:\n%s", re, b.out.String(), b.errOut.String())
	return nil
}

// interrupt sends SIGINT to the test process and waits for Main to return.
func (b *background) interrupt(t *testing.T) int {
	t.Helper()
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	select {
	case code := <-b.done:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("command did not stop on SIGINT")
	}
	return -1
}

// stateSequence extracts, from --watch output, the states the socket
// local→peer went through: "(new)", states, "(gone)".
func stateSequence(out, local, peer string) []string {
	var seq []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != local || f[2] != peer || f[4] != "->" {
			continue
		}
		if len(seq) == 0 {
			seq = append(seq, f[3])
		}
		seq = append(seq, f[5])
	}
	return seq
}

// handshakeTrim drops a SYN_RECV the poll happened to catch before
// ESTABLISHED: a handshake on loopback lasts microseconds.
func handshakeTrim(seq []string) []string {
	var out []string
	for _, s := range seq {
		if s != "SYN_RECV" && s != "SYN_SENT" {
			out = append(out, s)
		}
	}
	return out
}

func mustAccept(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSSWatchCloseOrders drives a listener and a client through both close
// orders in a namespace and checks the transitions ss --watch prints. The
// transient states (LAST_ACK, FIN_WAIT1) last microseconds on loopback, so
// an iptables rule holds each one (by dropping the ACK that ends it) until
// the watcher has printed it.
func TestSSWatchCloseOrders(t *testing.T) {
	ns := netnstest.New(t)
	netnstest.Require(t, "iptables")
	var l net.Listener
	ns.Run(t, func() {
		var err error
		if l, err = net.Listen("tcp4", "127.0.0.1:9999"); err != nil {
			t.Fatal(err)
		}
	})
	defer l.Close()
	dial := func() (client, server net.Conn, clientAddr string) {
		ns.Run(t, func() {
			var err error
			if client, err = net.Dial("tcp4", "127.0.0.1:9999"); err != nil {
				t.Fatal(err)
			}
		})
		server = mustAccept(t, l)
		return client, server, client.LocalAddr().String()
	}
	toServer := []string{"INPUT", "-p", "tcp", "--dport", "9999", "-j", "DROP"}

	t.Run("client closes first", func(t *testing.T) {
		w := startMain(t, "ss", "--netns", ns.Name, "--watch", "10ms", "sport = :9999 or dport = :9999")
		w.wait(t, `LISTEN`, false)
		client, server, ca := dial()
		w.wait(t, `127\.0\.0\.1:9999 +`+regexp.QuoteMeta(ca)+` +\S+ -> ESTABLISHED`, false)
		client.Close()
		w.wait(t, `-> CLOSE_WAIT`, false)
		// Hold the server in LAST_ACK: drop the client's ACK of its FIN.
		allow := ns.IPTables(t, toServer...)
		server.Close()
		w.wait(t, `CLOSE_WAIT -> LAST_ACK`, false)
		allow() // the retransmitted FIN is ACKed from TIME_WAIT: the server socket goes
		w.wait(t, `127\.0\.0\.1:9999 +`+regexp.QuoteMeta(ca)+` +LAST_ACK -> \(gone\)`, false)
		if code := w.interrupt(t); code != 0 {
			t.Errorf("exit %d, stderr %s", code, w.errOut.String())
		}
		out := w.out.String()
		srv := handshakeTrim(stateSequence(out, "127.0.0.1:9999", ca))
		if got, want := strings.Join(srv, " "), "(new) ESTABLISHED CLOSE_WAIT LAST_ACK (gone)"; got != want {
			t.Errorf("server went %s, want %s\n%s", got, want, out)
		}
		// The client's FIN_WAIT1 shows or not: the server's kernel delays
		// its ACK of the FIN (it enters delayed-ACK "pingpong" mode, hoping
		// to send its own FIN with it), up to the 40 ms delayed-ACK timeout.
		cl := handshakeTrim(stateSequence(out, ca, "127.0.0.1:9999"))
		got := strings.Join(cl, " ")
		got = strings.Replace(got, "ESTABLISHED FIN_WAIT1 FIN_WAIT2", "ESTABLISHED FIN_WAIT2", 1)
		if want := "(new) ESTABLISHED FIN_WAIT2 TIME_WAIT"; got != want {
			t.Errorf("client went %s, want %s\n%s", got, want, out)
		}
	})

	t.Run("server closes first", func(t *testing.T) {
		w := startMain(t, "ss", "--netns", ns.Name, "--watch", "10ms", "sport = :9999 or dport = :9999")
		w.wait(t, `LISTEN`, false)
		client, server, ca := dial()
		w.wait(t, `127\.0\.0\.1:9999 +`+regexp.QuoteMeta(ca)+` +\S+ -> ESTABLISHED`, false)
		// Hold the server in FIN_WAIT1: drop the client's ACK of its FIN.
		allow := ns.IPTables(t, toServer...)
		server.Close()
		w.wait(t, `ESTABLISHED -> FIN_WAIT1`, false)
		allow()
		w.wait(t, `FIN_WAIT1 -> FIN_WAIT2`, false)
		// Hold the client in LAST_ACK: drop the server's ACK of its FIN.
		allow = ns.IPTables(t, "INPUT", "-p", "tcp", "--sport", "9999", "-j", "DROP")
		client.Close()
		w.wait(t, `CLOSE_WAIT -> LAST_ACK`, false)
		w.wait(t, `FIN_WAIT2 -> TIME_WAIT`, false)
		allow()
		w.wait(t, regexp.QuoteMeta(ca)+` +127\.0\.0\.1:9999 +LAST_ACK -> \(gone\)`, false)
		w.interrupt(t)
		out := w.out.String()
		srv := handshakeTrim(stateSequence(out, "127.0.0.1:9999", ca))
		if got, want := strings.Join(srv, " "), "(new) ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT"; got != want {
			t.Errorf("server went %s, want %s\n%s", got, want, out)
		}
		cl := handshakeTrim(stateSequence(out, ca, "127.0.0.1:9999"))
		if got, want := strings.Join(cl, " "), "(new) ESTABLISHED CLOSE_WAIT LAST_ACK (gone)"; got != want {
			t.Errorf("client went %s, want %s\n%s", got, want, out)
		}
	})
}

// TestSSCloseWaitLeak holds a server socket in CLOSE_WAIT past the
// threshold and checks that it is flagged with this process named. It
// needs no root: sock_diag and /proc/self/fd are the test's own.
func TestSSCloseWaitLeak(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server := mustAccept(t, l)
	defer server.Close() // the leak: never closed until the test ends
	client.Close()
	time.Sleep(400 * time.Millisecond)
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	out, errOut, code := run(t, nil, "ss", "-p", "--interval", "0", "--close-wait-age", "300ms", "sport", "=", ":"+port)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	comm, _ := os.ReadFile("/proc/self/comm")
	who := fmt.Sprintf("held by %s (pid %d)", strings.TrimSpace(string(comm)), os.Getpid())
	if !strings.Contains(out, "WARNING  close_wait_leak: 1 socket in CLOSE_WAIT for at least") || !strings.Contains(out, who) {
		t.Errorf("no close_wait_leak flag naming %q:\n%s", who, out)
	}
	if !regexp.MustCompile(`(?m)^CLOSE_WAIT +1 +0 +127\.0\.0\.1:` + port + ` .*users:\(\("`).MatchString(out) {
		t.Errorf("no CLOSE_WAIT row with its process:\n%s", out)
	}
	t.Logf("tcplens ss output:\n%s", out)

	// The same as JSON.
	out, _, _ = run(t, nil, "ss", "--interval", "0", "--json", "--close-wait-age", "300ms", "sport", "=", ":"+port)
	var rep struct {
		Flags []struct {
			Kind      string `json:"kind"`
			Processes []struct {
				PID int `json:"pid"`
			} `json:"processes"`
		} `json:"flags"`
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Flags) != 1 || rep.Flags[0].Kind != "close_wait_leak" || len(rep.Flags[0].Processes) != 1 || rep.Flags[0].Processes[0].PID != os.Getpid() {
		t.Errorf("JSON flags %+v", rep.Flags)
	}
	if rep.Counts["CLOSE_WAIT"] != 1 || rep.Counts["LISTEN"] != 1 {
		t.Errorf("JSON counts %v", rep.Counts)
	}
}

// listenRaw listens with a chosen backlog (Go's net.Listen always asks for
// net.core.somaxconn) and never accepts.
func listenRaw(t *testing.T, port, backlog int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		t.Fatal(err)
	}
	return fd
}

// connectRaw starts n non-blocking connects to 127.0.0.1:port; they stay
// open until the test ends.
func connectRaw(t *testing.T, port, n int) {
	t.Helper()
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil && err != unix.EINPROGRESS {
			t.Fatal(err)
		}
	}
}

// TestSSSynRecvHeap makes half-open handshakes pile up at a listener whose
// handshake ACKs are dropped, and checks the SYN_RECV heap flag.
func TestSSSynRecvHeap(t *testing.T) {
	ns := netnstest.New(t)
	netnstest.Require(t, "iptables")
	ns.IPTables(t, "INPUT", "-p", "tcp", "--dport", "7004", "--tcp-flags", "SYN,ACK", "ACK", "-j", "DROP")
	ns.Run(t, func() {
		listenRaw(t, 7004, 16)
		connectRaw(t, 7004, 24)
	})
	out, errOut, code := run(t, nil, "ss", "--netns", ns.Name, "--interval", "300ms", "--json", "sport = :7004")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Flags []struct {
			Kind, Severity, Title string
		} `json:"flags"`
		Counts    map[string]int `json:"counts"`
		Listeners []struct {
			SynRecv int `json:"syn_recv"`
			Backlog int `json:"backlog"`
		} `json:"listeners"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Counts["SYN_RECV"] < 8 || len(rep.Listeners) != 1 || rep.Listeners[0].Backlog != 16 || rep.Listeners[0].SynRecv != rep.Counts["SYN_RECV"] {
		t.Fatalf("counts %v, listeners %+v", rep.Counts, rep.Listeners)
	}
	found := false
	for _, f := range rep.Flags {
		if f.Kind == "syn_recv_heap" && f.Severity == "critical" && strings.Contains(f.Title, "127.0.0.1:7004 has") {
			found = true
			t.Logf("flag: %s", f.Title)
		}
	}
	if !found {
		t.Errorf("no syn_recv_heap flag: %+v", rep.Flags)
	}
}

// TestSSListenOverflow fills a listener's accept queue in a namespace (its
// counters are the namespace's own) and checks that --watch reports the
// ListenOverflows delta, the overflow flag and the full queue.
func TestSSListenOverflow(t *testing.T) {
	ns := netnstest.New(t)
	w := startMain(t, "ss", "--netns", ns.Name, "--watch", "20ms", "sport = :7005")
	ns.Run(t, func() { listenRaw(t, 7005, 1) })
	w.wait(t, `\(present\) -> LISTEN|\(new\) -> LISTEN`, false)
	ns.Run(t, func() { connectRaw(t, 7005, 6) })
	w.wait(t, `counter TcpExt\.ListenOverflows \+\d+`, false)
	w.wait(t, `FLAG CRITICAL listen_overflow: \d+ listen-queue overflows`, false)
	w.wait(t, `FLAG CRITICAL accept_queue_full: accept queue of 127\.0\.0\.1:7005 full: 2 of 1`, false)
	if code := w.interrupt(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	t.Logf("watch output:\n%s", w.out.String())
}

// TestSSPrometheusBeyondLoopback: listening on every interface is allowed,
// with a warning that says who can read what.
func TestSSPrometheusBeyondLoopback(t *testing.T) {
	w := startMain(t, "ss", "--prometheus", "0.0.0.0:0")
	w.wait(t, `warning: --prometheus 0\.0\.0\.0:0 listens beyond loopback: anyone who can reach port \d+ of this host reads its sockets`, true)
	if code := w.interrupt(t); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestSSPrometheus scrapes the endpoint once.
func TestSSPrometheus(t *testing.T) {
	w := startMain(t, "ss", "--prometheus", "127.0.0.1:0")
	m := w.wait(t, `metrics on (http://\S+/metrics)`, true)
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if code := w.interrupt(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	if strings.Contains(w.errOut.String(), "warning") {
		t.Errorf("a warning for a loopback address:\n%s", w.errOut.String())
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	for _, want := range []string{
		"# TYPE tcplens_tcp_sockets gauge\n",
		`tcplens_tcp_sockets{state="LISTEN"} `,
		"# TYPE tcplens_netstat_total counter\n",
		`tcplens_netstat_total{counter="TcpExt.ListenOverflows"} `,
		`tcplens_flags{kind="close_wait_leak"} `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
}

// ssScene opens, in ns, a listener on IPv4 and one on IPv6, a connection
// with data waiting unread, one in CLOSE_WAIT and FIN_WAIT2, and one in
// TIME_WAIT; they stay until the test ends.
func ssScene(t *testing.T, ns *netnstest.NS) {
	t.Helper()
	keep := func(c io.Closer) { t.Cleanup(func() { c.Close() }) }
	ns.Run(t, func() {
		l4, err := net.Listen("tcp4", "127.0.0.1:7101")
		if err != nil {
			t.Fatal(err)
		}
		keep(l4)
		l6, err := net.Listen("tcp6", "[::1]:7102")
		if err != nil {
			t.Fatal(err)
		}
		keep(l6)
		c1, err := net.Dial("tcp4", "127.0.0.1:7101")
		if err != nil {
			t.Fatal(err)
		}
		keep(c1)
		s1 := mustAccept(t, l4)
		keep(s1)
		c1.Write(bytes.Repeat([]byte("x"), 5000)) // unread: Recv-Q 5000
		c2, err := net.Dial("tcp4", "127.0.0.1:7101")
		if err != nil {
			t.Fatal(err)
		}
		s2 := mustAccept(t, l4)
		keep(s2)
		c2.Close() // s2 CLOSE_WAIT, c2 FIN_WAIT2
		c3, err := net.Dial("tcp6", "[::1]:7102")
		if err != nil {
			t.Fatal(err)
		}
		s3 := mustAccept(t, l6)
		s3.Close()
		io.Copy(io.Discard, c3)
		c3.Close() // s3 TIME_WAIT
	})
	time.Sleep(100 * time.Millisecond) // the FINs and their ACKs
}

// ssLines reads ss's socket lines (-H): per socket, its first line's
// fields and its second line's (-m, -i), by local and peer address.
func ssLines(t *testing.T, out string) map[string][2][]string {
	t.Helper()
	m := map[string][2][]string{}
	key := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "\t") {
			e := m[key]
			e[1] = strings.Fields(l)
			m[key] = e
			continue
		}
		f := strings.Fields(l)
		if len(f) < 5 || strings.HasPrefix(l, "Failed") { // ss's complaint about cgroups, on stderr
			continue
		}
		key = f[3] + " " + f[4]
		m[key] = [2][]string{f, nil}
	}
	return m
}

// TestSSMatchesSS runs tcplens ss with ss's flags beside iproute2's ss
// with the same flags, in a namespace holding a socket of each lasting
// state, and compares them field by field: the states (ss spells them
// ESTAB, TIME-WAIT, ...), queues, addresses, processes, timers, uid,
// inode, socket cookie, cgroup, v6only and shutdown; socket memory; and
// every tcp_info field but those that move between two readings (the
// times since the last send, receive and ACK, a timer's expiry). -s
// prints ss's summary, and -4, -6, -l, -a and the default choose the
// sockets ss chooses.
func TestSSMatchesSS(t *testing.T) {
	ns := netnstest.New(t)
	netnstest.Require(t, "ss")
	ssScene(t, ns)
	states := map[string]string{"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV", "FIN-WAIT-1": "FIN_WAIT1",
		"FIN-WAIT-2": "FIN_WAIT2", "TIME-WAIT": "TIME_WAIT", "UNCONN": "CLOSE", "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK",
		"LISTEN": "LISTEN", "CLOSING": "CLOSING"}
	// ip netns exec mounts a /sys of the namespace's own, where ss finds
	// no cgroup2 file system to name cgroups in (cgroup:unreachable:1):
	// cgroup paths are compared apart.
	moving := regexp.MustCompile(`^(lastsnd|lastrcv|lastack|busy):|^timer:|^cgroup:`)
	for _, flags := range []string{"-tanpeo", "-tanmi", "-tnmieo", "-tlnp", "-tan4", "-tan6", "-tn"} {
		ours, errOut, code := run(t, nil, "ss", "--netns", ns.Name, flags, "-H")
		if code != 0 {
			t.Fatalf("tcplens ss %s: exit %d: %s", flags, code, errOut)
		}
		theirs := ns.Exec(t, "ss", flags, "-H")
		o, s := ssLines(t, ours), ssLines(t, theirs)
		if len(o) != len(s) || len(o) == 0 {
			t.Errorf("ss %s: %d sockets, ss lists %d:\n%s\n-- ss --\n%s", flags, len(o), len(s), ours, theirs)
		}
		for k, sl := range s {
			ol, ok := o[k]
			if !ok {
				t.Errorf("ss %s: %s missing:\n%s", flags, k, ours)
				continue
			}
			if st, ok := states[sl[0][0]]; ok {
				sl[0][0] = st
			}
			for _, line := range []int{0, 1} {
				a, b := ol[line], sl[line]
				a = slices.DeleteFunc(slices.Clone(a), func(f string) bool { return moving.MatchString(f) })
				b = slices.DeleteFunc(slices.Clone(b), func(f string) bool { return moving.MatchString(f) })
				if strings.Join(a, " ") != strings.Join(b, " ") {
					t.Errorf("ss %s, %s, line %d:\n tcplens %s\n      ss %s", flags, k, line+1, strings.Join(a, " "), strings.Join(b, " "))
				}
			}
			// A timer's name and retransmissions, not its expiry.
			timer := func(f []string) string {
				for _, x := range f {
					if strings.HasPrefix(x, "timer:(") {
						p := strings.Split(strings.Trim(x, "timer:()"), ",")
						return p[0] + "," + p[len(p)-1]
					}
				}
				return ""
			}
			if a, b := timer(ol[0]), timer(sl[0]); a != b {
				t.Errorf("ss %s, %s: timer %q, ss %q", flags, k, a, b)
			}
			cgroup := func(f []string) string {
				for _, x := range f {
					if strings.HasPrefix(x, "cgroup:") {
						return x
					}
				}
				return ""
			}
			if a, b := cgroup(ol[0]), cgroup(sl[0]); (a == "") != (b == "") || a != "" && !strings.HasPrefix(a, "cgroup:/") {
				t.Errorf("ss %s, %s: %q, ss %q", flags, k, a, b)
			}
		}
	}

	// ss -s: the namespace's summary. The TCP line's total, closed and
	// orphaned count the host's sockets, which others open and close
	// meanwhile: only its estab and timewait are the namespace's own.
	// A netlink socket, closed, counts among the sockets in use until the
	// kernel frees it after a grace period: those of the readings above
	// may still count for a while.
	var ours, theirs string
	for try := 0; try < 20; try++ {
		ours, _, _ = run(t, nil, "ss", "--netns", ns.Name, "-s", "-H")
		theirs = ns.Exec(t, "ss", "-s")
		if strings.SplitN(ours, "\n", 2)[0] == strings.SplitN(theirs, "\n", 2)[0] {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	tcpLine := regexp.MustCompile(`(?m)^TCP: +\d+ \(estab (\d+), closed \d+, orphaned \d+, timewait (\d+)\)$`)
	om, sm := tcpLine.FindStringSubmatch(ours), tcpLine.FindStringSubmatch(theirs)
	if om == nil || sm == nil || om[1] != sm[1] || om[2] != sm[2] {
		t.Errorf("ss -s TCP line:\n%s\n-- ss --\n%s", ours, theirs)
	}
	// Total counts the namespace's sockets in use, the readers' own
	// netlink sockets among them until the kernel frees them: under load
	// (RCU's grace periods grow) the two readings may still differ by
	// those after 2 s of tries, and by no more.
	totalLine := regexp.MustCompile(`^Total: (\d+)\n`)
	total := func(s string) int {
		m := totalLine.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("ss -s: no Total line in %q", s)
			return 0
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if a, b := total(ours), total(theirs); max(a-b, b-a) > 2 {
		t.Errorf("ss -s: Total %d, ss %d", a, b)
	}
	rest := func(s string) string { return tcpLine.ReplaceAllString(totalLine.ReplaceAllString(s, ""), "") }
	if a, b := rest(ours), rest(theirs); a != b {
		t.Errorf("ss -s:\n%q\n-- ss --\n%q", a, b)
	}
}

// TestSSWatchDuration: --watch with --duration stops by itself and says
// how long it watches, not to press Ctrl-C.
func TestSSWatchDuration(t *testing.T) {
	start := time.Now()
	_, errOut, code := run(t, nil, "ss", "--watch", "10ms", "--duration", "80ms", "sport = :1")
	if code != 0 || !strings.Contains(errOut, "every 10ms for 80ms") || strings.Contains(errOut, "Ctrl-C") || time.Since(start) > 5*time.Second {
		t.Errorf("exit %d after %v, stderr %q", code, time.Since(start), errOut)
	}
}
