package compare

import (
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// Trace is a connection's segments as both points saw them, in the order
// the comparison took them (time on A's clock), for the two-lane ladder.
type Trace struct {
	Steps []Step
	Left  int // steps left out past Options.TraceLimit
}

// Step is one segment at one point.
type Step struct {
	Side           Side
	Frame          int
	Time           pcap.Time // on A's clock
	Dir            conn.Dir  // the connection's
	Flags          wire.Flags
	RelSeq, RelAck uint32
	Len            int
	// Mate is the frame of the copy at the other point (the original,
	// for a duplicate), 0 for none.
	Mate int
	// Verdict is what the segment was judged when it had no copy
	// (lost, injected, …) or was a second copy (duplicated); 0 when
	// matched.
	Verdict Kind
}

// mate records that a (at A) and b (at B) are copies.
func (t *Trace) mate(a, b *seg) {
	if a.step >= 0 {
		t.Steps[a.step].Mate = b.frame
	}
	if b.step >= 0 {
		t.Steps[b.step].Mate = a.frame
	}
}
