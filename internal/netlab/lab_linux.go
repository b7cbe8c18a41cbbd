package netlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// netns is a network namespace the lab created.
type netns struct {
	name string
	fd   int // /run/netns/<name>, for setns
}

// do runs f on a new OS thread inside the namespace and waits for it. The
// thread is never unlocked, so the runtime retires it when f returns
// instead of handing a thread in a foreign namespace to other goroutines.
// Sockets f creates live in the namespace; their later use from other
// threads is fine.
func (n *netns) do(f func() error) error {
	return onThread(func() error {
		if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("netlab: setns %s: %w", n.name, err)
		}
		return f()
	})
}

// sysctl writes /proc/sys/<key with dots as slashes> inside the
// namespace: net.* sysctls are per namespace and resolved against the
// writing thread's namespace. A key starting with "?" is skipped when the
// kernel lacks it.
func (n *netns) sysctl(key, val string) error {
	optional := strings.HasPrefix(key, "?")
	key = strings.TrimPrefix(key, "?")
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	return n.do(func() error {
		err := os.WriteFile(path, []byte(val), 0)
		if optional && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("netlab: sysctl %s=%s in %s: %w", key, val, n.name, err)
		}
		return nil
	})
}

// lab is the three namespaces and three veth pairs of one run.
type lab struct {
	id                     string // "tlk" + 6 hex digits
	client, path, server   *netns
	clientIf, serverIf     string // endpoint-side veths
	pathC, pathS           string // path-side veths
	mirror, monitor        string // the router's mirror port (the relay writes to it) and its peer (tcpdump reads it)
	clientAddr, serverAddr netip.Addr
	ephemeral              int // the client's ephemeral ports: the first of the run's block
}

// Available reports why Run cannot work on this machine, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	for _, c := range []string{"ip", "tcpdump", "ethtool"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("%s not found", c)
		}
	}
	return nil
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netlab: %s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// ipBatch runs ip(8) commands, one per line, in namespace ns ("" for the
// current one) with a single process.
func ipBatch(ns string, lines ...string) error {
	args := []string{"-batch", "-"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	cmd := exec.Command("ip", args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("netlab: ip %s <<%q: %v: %s", strings.Join(args, " "), lines, err, bytes.TrimSpace(out))
	}
	return nil
}

// newLab builds the topology for a run whose client ports begin at
// ports. cleanup collects what must be undone, in reverse order, whether
// or not newLab succeeds.
func newLab(sc *Scenario, ports uint16, cleanup func(func())) (*lab, error) {
	var rnd [3]byte
	rand.Read(rnd[:])
	id := "tlk" + hex.EncodeToString(rnd[:])
	l := &lab{
		id:       id,
		clientIf: id + "c0", serverIf: id + "s0",
		pathC: id + "pc", pathS: id + "ps",
		mirror: id + "ma", monitor: id + "mb",
		clientAddr: ClientIPv4, serverAddr: ServerIPv4,
		ephemeral: portBlockSize,
	}
	if sc.EphemeralPorts > 0 {
		l.ephemeral = min(sc.EphemeralPorts, portBlockSize)
	}
	if sc.IPv6 {
		l.clientAddr, l.serverAddr = ClientIPv6, ServerIPv6
	}
	if sc.Router != nil {
		l.clientAddr, l.serverAddr = RoutedClientIPv4, RoutedServerIPv4
	}
	sweepOnce.Do(sweep)
	names := make([]string, 3)
	for i, suffix := range []string{"c", "p", "s"} {
		names[i] = fmt.Sprintf("%s%s-%d", id, suffix, os.Getpid())
	}
	nss, err := createNetns(names, cleanup)
	if err != nil {
		return nil, err
	}
	l.client, l.path, l.server = nss[0], nss[1], nss[2]

	// IPv6 off where it is not used, so that no router solicitation, MLD
	// report or DAD probe crosses the path; on the endpoints in an IPv6
	// run, without DAD (the address is usable at once) or autoconfiguration.
	// Interfaces created afterwards inherit "default".
	v6 := map[string]string{"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
	if err := setSysctls(l.path, v6); err != nil {
		return nil, err
	}
	for _, n := range []*netns{l.client, l.server} {
		m := v6
		if sc.IPv6 {
			m = map[string]string{
				"net.ipv6.conf.default.accept_dad":           "0",
				"net.ipv6.conf.default.accept_ra":            "0",
				"net.ipv6.conf.default.router_solicitations": "0",
				"net.ipv6.conf.default.dad_transmits":        "0",
				"net.ipv6.conf.default.addr_gen_mode":        "1", // no link-local address
				"net.ipv6.conf.all.disable_ipv6":             "0",
			}
		}
		if err := setSysctls(n, m); err != nil {
			return nil, err
		}
		if err := setSysctls(n, sc.Sysctls); err != nil {
			return nil, err
		}
	}
	// A connect() without bind picks from the run's own ports.
	if err := l.client.sysctl("net.ipv4.ip_local_port_range", fmt.Sprintf("%d %d", ports, ports+uint16(l.ephemeral)-1)); err != nil {
		return nil, err
	}

	// Both ends of each veth are created directly in their namespaces, so
	// no name ever appears in the caller's namespace.
	if err := ipBatch("",
		fmt.Sprintf("link add %s netns %s type veth peer name %s netns %s", l.clientIf, l.client.name, l.pathC, l.path.name),
		fmt.Sprintf("link add %s netns %s type veth peer name %s netns %s", l.serverIf, l.server.name, l.pathS, l.path.name),
		fmt.Sprintf("link add %s netns %s type veth peer name %s netns %s", l.mirror, l.path.name, l.monitor, l.path.name),
	); err != nil {
		return nil, err
	}
	prefix := "/24"
	if sc.IPv6 {
		prefix = "/64 nodad"
	}
	// Fixed MAC addresses keep recorded captures reproducible.
	if err := ipBatch(l.client.name,
		"link set lo up",
		"link set "+l.clientIf+" address 02:00:00:77:00:01",
		"addr add "+l.clientAddr.String()+prefix+" dev "+l.clientIf,
		"link set "+l.clientIf+" up",
	); err != nil {
		return nil, err
	}
	if err := ipBatch(l.server.name,
		"link set lo up",
		"link set "+l.serverIf+" address 02:00:00:77:00:02",
		"addr add "+l.serverAddr.String()+prefix+" dev "+l.serverIf,
		"link set "+l.serverIf+" up",
	); err != nil {
		return nil, err
	}
	if err := ipBatch(l.path.name,
		"link set "+l.pathC+" address 02:00:00:77:01:01",
		"link set "+l.pathS+" address 02:00:00:77:01:02",
		"link set "+l.mirror+" address 02:00:00:77:01:03",
		"link set "+l.monitor+" address 02:00:00:77:01:04",
		"link set "+l.pathC+" up",
		"link set "+l.pathS+" up",
		"link set "+l.mirror+" up",
		"link set "+l.monitor+" up",
	); err != nil {
		return nil, err
	}
	// Offloads off: segments as they go on a wire, checksums computed in
	// software (so valid in the capture) and verified by the receiver.
	for _, x := range [][2]string{{l.client.name, l.clientIf}, {l.server.name, l.serverIf}, {l.path.name, l.pathC}, {l.path.name, l.pathS}, {l.path.name, l.mirror}, {l.path.name, l.monitor}} {
		if err := run("ip", "netns", "exec", x[0], "ethtool", "-K", x[1], "rx", "off", "tx", "off", "tso", "off", "gso", "off", "gro", "off"); err != nil {
			return nil, err
		}
	}
	return l, nil
}

var (
	sweepOnce   sync.Once
	ourNetns    = regexp.MustCompile(`^tlk[0-9a-f]{6}[cps]-([0-9]+)$`)
	ourInstance = regexp.MustCompile(`^tlk[0-9a-f]{6}-([0-9]+)$`)
)

// sweep deletes namespaces and tracefs instances this package created in
// a process that is gone: t.Cleanup does not run when a test binary is
// killed or panics on its timeout. The name carries the creator's PID;
// one whose creator lives (or whose PID was reused) is left alone.
func sweep() {
	gone := func(re *regexp.Regexp, name string) bool {
		m := re.FindStringSubmatch(name)
		if m == nil {
			return false
		}
		pid, err := strconv.Atoi(m[1])
		return err == nil && pid != os.Getpid() && unix.Kill(pid, 0) == unix.ESRCH
	}
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		if gone(ourNetns, e.Name()) {
			run("ip", "netns", "del", e.Name())
		}
	}
	ents, _ = os.ReadDir(filepath.Join(tracefs, "instances"))
	for _, e := range ents {
		if gone(ourInstance, e.Name()) {
			(&tracer{dir: filepath.Join(tracefs, "instances", e.Name())}).remove()
		}
	}
}

// childEhashEntries sizes each lab namespace's own TCP hash table. A
// namespace normally shares the host's table (262144 buckets on the
// machine this was written on), and reading /proc/net/tcp walks every
// bucket: several milliseconds a poll. With a table of its own
// (net.ipv4.tcp_child_ehash_entries, Linux 6.1) a poll takes tens of
// microseconds.
const childEhashEntries = "1024"

// createNetns creates the named namespaces as ip netns add does (a bind
// mount of the namespace on /run/netns/<name>, so ip -n and ip netns exec
// find them), but from a scratch namespace whose tcp_child_ehash_entries
// gives each its own small TCP hash table. On kernels without that sysctl
// they share the host's table, and polling is slower.
func createNetns(names []string, cleanup func(func())) ([]*netns, error) {
	if err := os.MkdirAll("/run/netns", 0o755); err != nil {
		return nil, fmt.Errorf("netlab: %w", err)
	}
	var out []*netns
	err := onThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("netlab: unshare: %w", err)
		}
		err := os.WriteFile("/proc/sys/net/ipv4/tcp_child_ehash_entries", []byte(childEhashEntries), 0)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("netlab: tcp_child_ehash_entries: %w", err)
		}
		scratch, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("netlab: %w", err)
		}
		defer unix.Close(scratch)
		for _, name := range names {
			if err := unix.Setns(scratch, unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("netlab: setns: %w", err)
			}
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("netlab: unshare: %w", err)
			}
			path := filepath.Join("/run/netns", name)
			f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0)
			if err != nil {
				return fmt.Errorf("netlab: %w", err)
			}
			f.Close()
			if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
				os.Remove(path)
				return fmt.Errorf("netlab: bind-mount namespace %s: %w", name, err)
			}
			cleanup(func() {
				unix.Unmount(path, unix.MNT_DETACH)
				os.Remove(path)
			})
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("netlab: open namespace %s: %w", name, err)
			}
			cleanup(func() { unix.Close(fd) })
			out = append(out, &netns{name: name, fd: fd})
		}
		return nil
	})
	return out, err
}

// onThread runs f on a new OS thread and waits for it. The thread is
// never unlocked, so the runtime retires it when f returns: whatever f
// does to the thread (its namespace, its scheduling) dies with it.
func onThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- f()
	}()
	return <-errc
}

func setSysctls(n *netns, m map[string]string) error {
	for k, v := range m {
		if err := n.sysctl(k, v); err != nil {
			return err
		}
	}
	return nil
}

// probe checks the path end to end before the scenario: a connect to a
// closed port of the peer must be refused, which takes ARP (or NDP), the
// relay both ways and the peer's stack. It also leaves both neighbour
// entries resolved, so no scenario's first SYN waits for ARP.
func (l *lab) probe() error {
	one := func(from *netns, src, dst netip.Addr) error {
		return from.do(func() error {
			var last error
			for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
				d := net.Dialer{Timeout: 500 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
				c, err := d.DialContext(context.Background(), "tcp", netip.AddrPortFrom(dst, 9).String())
				if err == nil {
					c.Close()
					return fmt.Errorf("netlab: probe: port 9 of %s is open", dst)
				}
				if errors.Is(err, syscall.ECONNREFUSED) {
					return nil
				}
				last = err
				time.Sleep(20 * time.Millisecond)
			}
			return fmt.Errorf("netlab: probe %s -> %s through the path: %v", src, dst, last)
		})
	}
	if err := one(l.client, l.clientAddr, l.serverAddr); err != nil {
		return err
	}
	return one(l.server, l.serverAddr, l.clientAddr)
}

func kernelRelease() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}
