//go:build linux

package lab

import (
	"fmt"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tcplens/tcplens/internal/sockdiag"
)

// netns is a network namespace the lab makes for itself, with its loopback
// up. Nothing names it (no ip netns entry): it lives while its descriptor
// and the sockets in it are open, so it goes when the lab ends, however the
// lab ends, and takes its firewall rules and TIME_WAIT sockets with it.
type netns struct {
	fd   int
	path string // /proc/self/fd/N: a path sockdiag.InNetNS can enter
}

// newNetns makes the namespace. It needs CAP_SYS_ADMIN.
func newNetns() (*netns, error) {
	type result struct {
		ns  *netns
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread enters the new namespace and comes back; if it cannot
		// come back it stays locked, and the runtime retires it with this
		// goroutine.
		runtime.LockOSThread()
		ns, back, err := unshareNet()
		if back {
			runtime.UnlockOSThread()
		}
		ch <- result{ns, err}
	}()
	r := <-ch
	return r.ns, r.err
}

func unshareNet() (ns *netns, back bool, err error) {
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, true, fmt.Errorf("lab: current network namespace: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("lab: a network namespace of its own: %w", err)
	}
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		if err = loopbackUp(); err != nil {
			unix.Close(fd)
		}
	}
	if serr := unix.Setns(orig, unix.CLONE_NEWNET); serr != nil {
		if err == nil {
			unix.Close(fd)
		}
		return nil, false, fmt.Errorf("lab: leaving the new network namespace: %w", serr)
	}
	if err != nil {
		return nil, true, fmt.Errorf("lab: new network namespace: %w", err)
	}
	return &netns{fd: fd, path: fmt.Sprintf("/proc/self/fd/%d", fd)}, true, nil
}

// loopbackUp sets IFF_UP on lo, as ip link set lo up does.
func loopbackUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	return nil
}

// Path is what sockdiag.Options.NetNS takes; "" for the host's namespace.
func (ns *netns) Path() string {
	if ns == nil {
		return ""
	}
	return ns.path
}

// run calls f on a thread inside the namespace (or as it is, for the
// host's): sockets f opens live there, and so do the processes it starts.
func (ns *netns) run(f func() error) error {
	return sockdiag.InNetNS(ns.Path(), f)
}

// iptables runs iptables inside the namespace. A child process inherits
// the namespaces of the thread that starts it, and run keeps that thread
// inside.
func (ns *netns) iptables(args ...string) error {
	return ns.run(func() error {
		out, err := exec.Command("iptables", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	})
}

// Close lets the namespace go once its sockets are closed.
func (ns *netns) Close() {
	if ns != nil {
		unix.Close(ns.fd)
	}
}
