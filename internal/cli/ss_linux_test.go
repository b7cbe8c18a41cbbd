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
	out, errOut, code := run(t, nil, "ss", "-i", "0", "--close-wait-age", "300ms", "sport", "=", ":"+port)
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
	out, _, _ = run(t, nil, "ss", "-i", "0", "--json", "--close-wait-age", "300ms", "sport", "=", ":"+port)
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
	out, errOut, code := run(t, nil, "ss", "--netns", ns.Name, "-i", "300ms", "--json", "sport = :7004")
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
