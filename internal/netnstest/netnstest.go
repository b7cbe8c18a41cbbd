//go:build linux

// Package netnstest gives tests a network namespace of their own, so they
// can open real sockets, drop packets with iptables and read the kernel's
// per-namespace counters without touching the host's. Tests that need one
// call New, which skips the test with the reason when the process is not
// root or ip(8) or iptables(8) is missing; CI runs them as root.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// NS is a network namespace created for one test, with its loopback up.
type NS struct {
	Name string // for ip netns exec
	Path string // for setns(2): /var/run/netns/NAME
}

var seq atomic.Int32

// Require skips t unless the process is root and the named commands exist.
// With NETLAB_REQUIRE=1 in the environment (CI, which runs as root and
// installs the commands) it fails t instead: there a skip would hide that
// the live tests did not run.
func Require(t testing.TB, cmds ...string) {
	t.Helper()
	skip := t.Skip
	if os.Getenv("NETLAB_REQUIRE") == "1" {
		skip = func(args ...any) { t.Fatal(append(args, "(NETLAB_REQUIRE=1)")...) }
	}
	if runtime.GOOS != "linux" {
		skip("needs Linux network namespaces")
		return
	}
	if os.Geteuid() != 0 {
		skip("needs root (network namespaces, iptables, AF_PACKET): run as root, as CI does")
		return
	}
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			skip(fmt.Sprintf("needs %s: %v", c, err))
			return
		}
	}
}

// New creates a namespace, brings its loopback up and deletes it when the
// test ends. It skips the test when it cannot (see Require).
func New(t testing.TB) *NS {
	t.Helper()
	Require(t, "ip")
	name := fmt.Sprintf("tcplens-test-%d-%d", os.Getpid(), seq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		if os.Getenv("NETLAB_REQUIRE") == "1" {
			t.Fatalf("cannot create a network namespace: %v: %s (NETLAB_REQUIRE=1)", err, out)
		}
		t.Skipf("cannot create a network namespace: %v: %s", err, out)
	}
	ns := &NS{Name: name, Path: "/var/run/netns/" + name}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", name).Run()
	})
	ns.Exec(t, "ip", "link", "set", "lo", "up")
	return ns
}

// Exec runs a command inside the namespace and fails the test if it fails.
func (ns *NS) Exec(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns exec %s %s %s: %v\n%s", ns.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// IPTables adds an iptables rule in the namespace (args as after "-A" or
// "-I", e.g. "INPUT", "-p", "tcp", ...) and returns a function that
// deletes it. It skips the test if iptables is missing.
func (ns *NS) IPTables(t testing.TB, args ...string) (remove func()) {
	t.Helper()
	Require(t, "iptables")
	ns.Exec(t, "iptables", append([]string{"-I"}, args...)...)
	removed := false
	return func() {
		if !removed {
			removed = true
			ns.Exec(t, "iptables", append([]string{"-D"}, args...)...)
		}
	}
}

// Run calls f on an OS thread inside the namespace: sockets f opens live
// there. Go's net package may be used inside f.
func (ns *NS) Run(t testing.TB, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer unix.Close(orig)
	fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("setns %s: %v", ns.Path, err)
	}
	defer func() {
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: the runtime retires it with the goroutine.
			t.Errorf("leaving namespace: %v", err)
			return
		}
		runtime.UnlockOSThread()
	}()
	f()
}
