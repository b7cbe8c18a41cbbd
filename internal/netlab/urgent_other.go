//go:build !linux

package netlab

import (
	"errors"
	"net"
)

// SendUrgent needs Linux.
func SendUrgent(c *net.TCPConn, b []byte) error { return errors.ErrUnsupported }

// OOBInline needs Linux.
func OOBInline(c *net.TCPConn) error { return errors.ErrUnsupported }
