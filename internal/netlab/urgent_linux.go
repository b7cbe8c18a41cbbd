package netlab

import (
	"net"

	"golang.org/x/sys/unix"
)

// SendUrgent sends b as TCP urgent data (MSG_OOB): Linux sets URG and the
// urgent pointer on the segment that carries it.
func SendUrgent(c *net.TCPConn, b []byte) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, unix.MSG_OOB, nil)
		return serr != unix.EAGAIN
	}); err != nil {
		return err
	}
	return serr
}

// OOBInline makes urgent data arrive in the normal stream (SO_OOBINLINE),
// so that a reader that never asks for it does not leave it unread.
func OOBInline(c *net.TCPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_OOBINLINE, 1) }); err != nil {
		return err
	}
	return serr
}
