package wire_test

import (
	"testing"

	"github.com/tcplens/tcplens/internal/wire"
)

func TestErrorString(t *testing.T) {
	err := error(wire.NewError("tcp", 34, "data offset 3 words < minimum 5"))
	if got, want := err.Error(), "tcp at byte 34: data offset 3 words < minimum 5"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := wire.ErrFragment.Error(), "non-first IP fragment: not a TCP segment"; got != want {
		t.Errorf("ErrFragment = %q, want %q", got, want)
	}
}
