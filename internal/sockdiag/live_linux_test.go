//go:build linux

package sockdiag

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcplens/tcplens/internal/netnstest"
)

var record = flag.Bool("record", false, "record testdata/*.dump fixtures from a live namespace (root)")

// scene opens one socket of each state that lasts, in ns, and returns
// what a test needs to tear it down. Ports are fixed: the namespace is
// the test's own.
type scene struct {
	closers []io.Closer
}

func (s *scene) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i].Close()
	}
}

func buildScene(t *testing.T, ns *netnstest.NS) *scene {
	t.Helper()
	sc := &scene{}
	keep := func(c io.Closer) { sc.closers = append(sc.closers, c) }
	// A SYN to 7003 is never answered: the client stays SYN_SENT. The ACK
	// that would complete a handshake with 7004 is dropped: the listener
	// keeps a request socket in SYN_RECV.
	t.Cleanup(ns.IPTables(t, "INPUT", "-p", "tcp", "--dport", "7003", "-j", "DROP"))
	t.Cleanup(ns.IPTables(t, "INPUT", "-p", "tcp", "--dport", "7004", "--tcp-flags", "SYN,ACK", "ACK", "-j", "DROP"))
	ns.Run(t, func() {
		l4, err := net.Listen("tcp4", "127.0.0.1:7001")
		if err != nil {
			t.Fatal(err)
		}
		keep(l4)
		l6, err := net.Listen("tcp6", "[::1]:7002")
		if err != nil {
			t.Fatal(err)
		}
		keep(l6)
		lsr, err := net.Listen("tcp4", "127.0.0.1:7004")
		if err != nil {
			t.Fatal(err)
		}
		keep(lsr)

		// ESTABLISHED both ways, with data, and a small client receive
		// buffer so the two window scales differ (snd 7, rcv 0).
		small := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
		}}
		c1, err := small.Dial("tcp4", "127.0.0.1:7001")
		if err != nil {
			t.Fatal(err)
		}
		keep(c1)
		s1, err := l4.Accept()
		if err != nil {
			t.Fatal(err)
		}
		keep(s1)
		c1.Write([]byte(strings.Repeat("x", 100)))
		buf := make([]byte, 100)
		io.ReadFull(s1, buf)
		s1.Write([]byte("hello, unread")) // stays in c1's receive queue: Recv-Q 13

		// CLOSE_WAIT on the server, FIN_WAIT2 on the client.
		c2, err := net.Dial("tcp4", "127.0.0.1:7001")
		if err != nil {
			t.Fatal(err)
		}
		s2, err := l4.Accept()
		if err != nil {
			t.Fatal(err)
		}
		keep(s2)
		c2.Close()

		// TIME_WAIT on the server side of [::1]:7002.
		c3, err := net.Dial("tcp6", "[::1]:7002")
		if err != nil {
			t.Fatal(err)
		}
		s3, err := l6.Accept()
		if err != nil {
			t.Fatal(err)
		}
		s3.Close()
		io.Copy(io.Discard, c3)
		c3.Close()

		// SYN_SENT and SYN_RECV: connect without waiting. (A goroutine
		// would dial from another thread, outside the namespace.)
		for _, port := range []int{7003, 7004} {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			keep(fdCloser(fd))
			err = unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
			if err != unix.EINPROGRESS {
				t.Fatalf("connect to %d: %v, want EINPROGRESS", port, err)
			}
		}
	})
	t.Cleanup(sc.close)
	return sc
}

type fdCloser int

func (fd fdCloser) Close() error { return unix.Close(int(fd)) }

// waitFor takes snapshots until cond holds, or fails after a few seconds.
func waitFor(t *testing.T, opt Options, cond func(*Snapshot) bool) *Snapshot {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		snap, err := Take(opt)
		if err != nil {
			t.Fatal(err)
		}
		if cond(snap) {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met; last snapshot:\n%s", describe(snap.Sockets))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countStates(sockets []Socket) map[State]int {
	m := map[State]int{}
	for _, s := range sockets {
		m[s.State]++
	}
	return m
}

func sceneReady(s *Snapshot) bool {
	m := countStates(s.Sockets)
	return m[Listen] == 3 && m[Established] >= 2 && m[CloseWait] == 1 && m[FinWait2] == 1 &&
		m[TimeWait] == 1 && m[SynSent] >= 1 && m[SynRecv] >= 1
}

// TestDumpMatchesSS builds one socket of each state in a namespace and
// checks the netlink decoder, field by field, against what iproute2's ss
// prints for the same sockets, and the /proc/net/tcp fallback against the
// netlink dump. With -record it also writes the raw dumps as fixtures.
func TestDumpMatchesSS(t *testing.T) {
	ns := netnstest.New(t)
	netnstest.Require(t, "iptables", "ss")
	buildScene(t, ns)

	raw := map[uint8][]byte{}
	opt := Options{NetNS: ns.Path, Raw: func(fam uint8, b []byte) { raw[fam] = append(raw[fam], b...) }}
	snap := waitFor(t, Options{NetNS: ns.Path}, sceneReady)
	clear(raw)
	snap, err := Take(opt)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Source != "netlink" {
		t.Fatalf("source %s (%v), want netlink", snap.Source, snap.NetlinkErr)
	}
	ssOut := ns.Exec(t, "ss", "-tanOi")
	checkAgainstSS(t, snap.Sockets, ssOut)

	// The fallback sees the same sockets in the same states and queues.
	proc, err := Take(Options{NetNS: ns.Path, Proc: true})
	if err != nil {
		t.Fatal(err)
	}
	if proc.Source != "proc" {
		t.Fatalf("forced fallback: source %s", proc.Source)
	}
	if got, want := describeShort(proc.Sockets), describeShort(snap.Sockets); got != want {
		t.Errorf("/proc/net/tcp and netlink differ:\n/proc:\n%s\nnetlink:\n%s", got, want)
	}

	if snap.Counters["Tcp.ActiveOpens"] < 4 || snap.Counters["TcpExt.ListenOverflows"] != 0 {
		t.Errorf("counters in the new namespace: ActiveOpens %d, ListenOverflows %d",
			snap.Counters["Tcp.ActiveOpens"], snap.Counters["TcpExt.ListenOverflows"])
	}
	if snap.Sysctl.Ports() == 0 || snap.Sysctl.Somaxconn == 0 {
		t.Errorf("sysctls not read: %+v", snap.Sysctl)
	}

	if *record {
		for fam, name := range map[uint8]string{afInet: "inet", afInet6: "inet6"} {
			p := filepath.Join("testdata", name+".dump")
			if err := os.WriteFile(p, raw[fam], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var tcp []byte
		ns.Run(t, func() {
			tcp, _ = os.ReadFile("/proc/thread-self/net/tcp")
		})
		os.WriteFile(filepath.Join("testdata", "proc-net-tcp"), tcp, 0o644)
		var golden strings.Builder
		for _, fam := range []uint8{afInet, afInet6} {
			socks, _, err := ParseDump(raw[fam], nil)
			if err != nil {
				t.Fatal(err)
			}
			golden.WriteString(describe(socks))
		}
		os.WriteFile(filepath.Join("testdata", "dump.golden"), []byte(golden.String()), 0o644)
	}
}

// checkAgainstSS compares each socket with its line of ss -tanOi.
func checkAgainstSS(t *testing.T, sockets []Socket, out string) {
	t.Helper()
	ssState := map[string]State{
		"ESTAB": Established, "SYN-SENT": SynSent, "SYN-RECV": SynRecv, "FIN-WAIT-1": FinWait1,
		"FIN-WAIT-2": FinWait2, "TIME-WAIT": TimeWait, "UNCONN": Close, "CLOSE-WAIT": CloseWait,
		"LAST-ACK": LastAck, "LISTEN": Listen, "CLOSING": Closing,
	}
	type key struct{ local, peer string }
	lines := map[key][]string{}
	for _, l := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		lines[key{f[3], f[4]}] = f
	}
	for _, s := range sockets {
		k := key{ssAddr(s.Local), ssAddr(s.Peer)}
		f, ok := lines[k]
		if !ok {
			t.Errorf("%v: not in ss output:\n%s", k, out)
			continue
		}
		if st := ssState[f[0]]; st != s.State {
			t.Errorf("%v: state %v, ss says %s", k, s.State, f[0])
		}
		if f[1] != strconv.Itoa(int(s.RecvQ)) || f[2] != strconv.Itoa(int(s.SendQ)) {
			t.Errorf("%v: Recv-Q %d Send-Q %d, ss says %s %s", k, s.RecvQ, s.SendQ, f[1], f[2])
		}
		if s.Info == nil {
			continue
		}
		fields := map[string]string{}
		for _, kv := range f[5:] {
			if n, v, ok := strings.Cut(kv, ":"); ok {
				fields[n] = v
			}
		}
		check := func(name, want string) {
			if got, ok := fields[name]; ok && got != want {
				t.Errorf("%v: %s %s, ss says %s", k, name, want, got)
			}
		}
		if s.Info.Options&OptWScale != 0 {
			check("wscale", fmt.Sprintf("%d,%d", s.Info.SndWScale, s.Info.RcvWScale))
		}
		check("cwnd", strconv.Itoa(int(s.Info.SndCwnd)))
		if s.State != Listen {
			check("mss", strconv.Itoa(int(s.Info.SndMSS)))
			check("rcvmss", strconv.Itoa(int(s.Info.RcvMSS)))
			check("advmss", strconv.Itoa(int(s.Info.AdvMSS)))
			check("segs_out", strconv.Itoa(int(s.Info.SegsOut)))
			check("segs_in", strconv.Itoa(int(s.Info.SegsIn)))
			check("rcv_space", strconv.Itoa(int(s.Info.RcvSpace)))
			check("snd_wnd", strconv.Itoa(int(s.Info.SndWnd)))
			check("rcv_wnd", strconv.Itoa(int(s.Info.RcvWnd)))
			check("rtt", fmt.Sprintf("%g/%g", float64(s.Info.RTT.Microseconds())/1000, float64(s.Info.RTTVar.Microseconds())/1000))
		}
		if s.Cong != "" && !strings.Contains(strings.Join(f, " "), " "+s.Cong+" ") && !strings.Contains(strings.Join(f, " "), " "+s.Cong) {
			t.Errorf("%v: congestion control %s not in ss line %q", k, s.Cong, strings.Join(f, " "))
		}
	}
	if len(sockets) != len(lines) {
		t.Errorf("%d sockets, ss shows %d:\n%s\n%s", len(sockets), len(lines), describe(sockets), out)
	}
}

// ssAddr formats an address as ss -n does: IPv6 in brackets, the
// unspecified peer port as *.
func ssAddr(ap netip.AddrPort) string {
	a := ap.Addr()
	host := a.String()
	if a.Is6() {
		host = "[" + host + "]"
	}
	if a.Is4() && a.IsUnspecified() {
		host = "0.0.0.0"
	}
	if ap.Port() == 0 {
		return host + ":*"
	}
	return host + ":" + strconv.Itoa(int(ap.Port()))
}

// describeShort is what netlink and /proc/net/tcp both know of a socket,
// one line each, sorted.
func describeShort(sockets []Socket) string {
	var lines []string
	for _, s := range sockets {
		q := fmt.Sprintf("%d/%d", s.RecvQ, s.SendQ)
		if s.State == Listen {
			q = fmt.Sprint(s.RecvQ) // /proc has no backlog
		}
		lines = append(lines, fmt.Sprintf("%-11v %s %v %v req=%v", s.State, q, s.Local, s.Peer, s.Request))
	}
	return sortedLines(lines)
}
