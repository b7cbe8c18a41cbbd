//go:build linux

package sockdiag

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Take reads the TCP sockets of the host (or of opt.NetNS), the kernel's
// TCP counters and the sysctls that bound them. Sockets come from a
// sock_diag netlink dump of IPv4 and IPv6 with tcp_info; if the kernel
// refuses netlink (a seccomp filter, an old kernel without inet_diag), they
// come from /proc/net/tcp and /proc/net/tcp6, and Snapshot.NetlinkErr
// says why. Counters and sysctls that cannot be read stay empty: they are
// garnish, not the point.
func Take(opt Options) (*Snapshot, error) {
	snap := &Snapshot{}
	err := InNetNS(opt.NetNS, func() error {
		var err error
		if !opt.SocketsOnly {
			// Before the dump, whose netlink socket counts among the
			// sockets in use until the kernel frees it, after a grace
			// period: ss -s counts before it dumps too.
			snap.Sockstat = readSockstat()
		}
		if !opt.Proc {
			snap.Sockets, err = dumpNetlink(opt.Raw)
			if err == nil {
				snap.Source = "netlink"
			} else {
				snap.NetlinkErr = err
			}
		}
		if snap.Source == "" {
			snap.Sockets, err = readProcNet()
			if err != nil {
				if snap.NetlinkErr != nil {
					return fmt.Errorf("%v; and /proc: %w", snap.NetlinkErr, err)
				}
				return err
			}
			snap.Source = "proc"
		}
		if !opt.SocketsOnly {
			snap.Counters = readCounters()
			snap.Sysctl = readSysctl()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if opt.Owners {
		r := opt.Resolver
		if r == nil {
			r = &Resolver{}
		}
		r.Resolve(snap.Sockets)
	}
	snap.Time = time.Now()
	return snap, nil
}

// InNetNS runs f on an OS thread that has entered the network namespace at
// path ("" runs f as it is). Sockets f creates stay in that namespace after
// it returns; /proc/thread-self/net and /proc/sys/net read from within f
// show that namespace. Entering a namespace needs CAP_SYS_ADMIN.
func InNetNS(path string, f func() error) error {
	if path == "" {
		return f()
	}
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("sockdiag: current network namespace: %w", err)
	}
	defer unix.Close(orig)
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("sockdiag: network namespace: %w", err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("sockdiag: entering network namespace %s: %w", path, err)
	}
	ferr := f()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		// The thread is stuck in the other namespace: leave it locked, and
		// the runtime retires it when this goroutine ends.
		return errors.Join(ferr, fmt.Errorf("sockdiag: leaving network namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// dumpNetlink dumps the TCP sockets of both address families.
func dumpNetlink(raw func(uint8, []byte)) ([]Socket, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sockdiag: netlink socket: %w", err)
	}
	defer unix.Close(fd)
	// A dump datagram holds at most about 32 KiB of messages (the kernel
	// sizes it from the reader's buffer, capped); 64 KiB never truncates.
	buf := make([]byte, 64<<10)
	var out []Socket
	for i, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		req := DumpRequest(fam, AllStates, Ext, uint32(i+1))
		if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return nil, fmt.Errorf("sockdiag: netlink request: %w", err)
		}
		for done := false; !done; {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("sockdiag: netlink receive: %w", err)
			}
			if raw != nil {
				raw(fam, bytes.Clone(buf[:n]))
			}
			out, done, err = ParseDump(buf[:n], out)
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// readProcNet reads /proc/net/tcp and tcp6 of the calling thread's
// namespace (/proc/self/net would show the main thread's).
func readProcNet() ([]Socket, error) {
	var out []Socket
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open("/proc/thread-self/net/" + name)
		if err != nil {
			if name == "tcp6" && errors.Is(err, os.ErrNotExist) {
				continue // IPv6 disabled
			}
			return nil, fmt.Errorf("sockdiag: %w", err)
		}
		out, err = ParseProcNet(f, out)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readCounters() Counters {
	c := Counters{}
	for _, name := range []string{"snmp", "netstat"} {
		b, err := os.ReadFile("/proc/thread-self/net/" + name)
		if err != nil {
			continue
		}
		if ParseSNMP(bytes.NewReader(b), c) != nil {
			continue
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c
}

func readSockstat() *Sockstat {
	s := &Sockstat{}
	for _, name := range []string{"sockstat", "sockstat6"} {
		b, err := os.ReadFile("/proc/thread-self/net/" + name)
		if err != nil {
			if name == "sockstat" {
				return nil
			}
			continue // IPv6 disabled
		}
		if ParseSockstat(bytes.NewReader(b), s) != nil {
			return nil
		}
	}
	return s
}

func readSysctl() Sysctl {
	var s Sysctl
	if f := sysctlInts("net/ipv4/ip_local_port_range"); len(f) == 2 {
		s.PortLow, s.PortHigh = f[0], f[1]
	}
	one := func(name string) int {
		if f := sysctlInts(name); len(f) == 1 {
			return f[0]
		}
		return 0
	}
	s.FinTimeout = one("net/ipv4/tcp_fin_timeout")
	s.MaxSynBacklog = one("net/ipv4/tcp_max_syn_backlog")
	s.Somaxconn = one("net/core/somaxconn")
	s.Syncookies = one("net/ipv4/tcp_syncookies")
	s.MaxOrphans = one("net/ipv4/tcp_max_orphans")
	return s
}

func sysctlInts(name string) []int {
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil
		}
		out = append(out, n)
	}
	return out
}
