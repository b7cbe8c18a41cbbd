package tcp

import (
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestEveryReasonHasWords checks that every kind of reason says
// something of its own: a kind added without words would print its
// number.
func TestEveryReasonHasWords(t *testing.T) {
	seen := map[string]reasonKind{}
	for k := reasonNone + 1; k <= reasonFINLost; k++ {
		s := Reason{kind: k, state: Established}.String()
		if s == "" || strings.HasPrefix(s, "reason ") || strings.Contains(s, "%!") {
			t.Errorf("kind %d says %q", k, s)
		}
		if k2, ok := seen[s]; ok {
			t.Errorf("kinds %d and %d both say %q", k2, k, s)
		}
		seen[s] = k
	}
}

// TestTransitionSize holds a transition to the 40 bytes its doc claims:
// every connection keeps all of its own, and the reason within is what
// could grow.
func TestTransitionSize(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("sizes are for 64-bit platforms")
	}
	if n := unsafe.Sizeof(Transition{}); n != 40 {
		t.Errorf("a Transition is %d bytes, want 40", n)
	}
}
