//go:build !linux

package netlab

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// Run skips t: the lab needs Linux network namespaces.
func Run(t testing.TB, sc Scenario) *Result {
	t.Helper()
	Require(t)
	return nil
}

// Available reports why Run cannot work here.
func Available() error { return errors.New("needs Linux network namespaces") }

func control(o sockOpts, listener bool) func(network, address string, c syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error { return errors.ErrUnsupported }
}

// Unread needs Linux.
func Unread(c *net.TCPConn) (int, error) { return 0, errors.ErrUnsupported }

func realtime() (restore func(), ok bool) { return func() {}, false }

func sleepThread(d time.Duration) { time.Sleep(d) }

// WriteFastOpen needs Linux.
func WriteFastOpen(c *net.TCPConn, b []byte) error { return errors.ErrUnsupported }
