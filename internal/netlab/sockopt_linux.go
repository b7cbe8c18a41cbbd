package netlab

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// control returns the net.Dialer / net.ListenConfig hook that applies o to
// a new socket before it binds.
func control(o sockOpts, listener bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			set := func(level, opt, v int) {
				if serr == nil {
					serr = unix.SetsockoptInt(int(fd), level, opt, v)
				}
			}
			if o.rcvBuf > 0 {
				set(unix.SOL_SOCKET, unix.SO_RCVBUF, o.rcvBuf)
			}
			if o.sndBuf > 0 {
				set(unix.SOL_SOCKET, unix.SO_SNDBUF, o.sndBuf)
			}
			if o.fastOpen && listener {
				set(unix.IPPROTO_TCP, unix.TCP_FASTOPEN, 16)
			}
			if o.fastOpen && !listener {
				set(unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// WriteFastOpen is the first write on a connection dialled with FastOpen.
// With TCP_FASTOPEN_CONNECT that write sends the SYN: with a cookie the
// data rides in it and the write returns at once; without one the
// non-blocking write fails with EINPROGRESS and must be repeated once the
// handshake is done, which net.Conn.Write does not do.
func WriteFastOpen(c *net.TCPConn, b []byte) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	for len(b) > 0 {
		var n int
		var werr error
		err := rc.Write(func(fd uintptr) bool {
			n, werr = unix.Write(int(fd), b)
			return !errors.Is(werr, unix.EINPROGRESS) && !errors.Is(werr, unix.EAGAIN)
		})
		if err != nil {
			return err
		}
		if werr != nil {
			return werr
		}
		b = b[n:]
	}
	return nil
}

// Unread returns the bytes c has received that the application has not
// read yet (SIOCINQ).
func Unread(c *net.TCPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }); err != nil {
		return 0, err
	}
	return n, ierr
}
