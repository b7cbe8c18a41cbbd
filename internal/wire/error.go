package wire

import (
	"errors"
	"fmt"
)

// ErrNotTCP reports a frame that carries no TCP segment: another link or
// network protocol, another transport, or an IP fragment after the first.
var ErrNotTCP = errors.New("not a TCP segment")

// ErrFragment reports a non-first IP fragment of a TCP segment: its TCP
// header travels in the first fragment.
var ErrFragment = fmt.Errorf("non-first IP fragment: %w", ErrNotTCP)

// Error reports a malformed header.
type Error struct {
	Layer  string // "ethernet", "sll", "ipv4", "ipv6", "tcp", "tcp option", ...
	Offset int    // byte offset within the frame where the problem lies
	Msg    string // what is wrong, lower case
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s at byte %d: %s", e.Layer, e.Offset, e.Msg)
}

func errorf(layer string, off int, format string, args ...any) *Error {
	return &Error{Layer: layer, Offset: off, Msg: fmt.Sprintf(format, args...)}
}
