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
//
// The message is formatted only when asked for: header-only captures cut
// the options of a few percent of all segments, and formatting each of
// those errors cost more than decoding the segment.
type Error struct {
	Layer  string // "ethernet", "sll", "ipv4", "ipv6", "tcp", "tcp option", ...
	Offset int    // byte offset within the frame where the problem lies
	format string
	args   [3]int
	nargs  int
}

// Msg says what is wrong, in lower case.
func (e *Error) Msg() string {
	if e.nargs == 0 {
		return e.format
	}
	var args [3]any
	for i := range e.nargs {
		args[i] = e.args[i]
	}
	return fmt.Sprintf(e.format, args[:e.nargs]...)
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s at byte %d: %s", e.Layer, e.Offset, e.Msg())
}

// NewError returns an Error with a message already formatted.
func NewError(layer string, off int, msg string) *Error {
	return &Error{Layer: layer, Offset: off, format: msg}
}

// errorf builds an Error whose message is format with the integer args;
// at most three.
func errorf(layer string, off int, format string, args ...int) *Error {
	e := &Error{Layer: layer, Offset: off, format: format, nargs: len(args)}
	copy(e.args[:], args)
	return e
}
