package graph

import (
	"fmt"
	"io"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
)

// Kind is one of the pictures of a connection.
type Kind uint8

// The pictures.
const (
	KindLadder Kind = iota + 1 // the ladder diagram
	KindTSG                    // the time-sequence graph
	KindWindow                 // bytes in flight against the receive window
	KindRTT                    // RTT samples over time
)

// Kinds lists the pictures in the order a report shows them.
var Kinds = []Kind{KindLadder, KindTSG, KindWindow, KindRTT}

var kindNames = map[Kind]string{KindLadder: "ladder", KindTSG: "tsg", KindWindow: "window", KindRTT: "rtt"}

// String is the name the graph command takes: ladder, tsg, window, rtt.
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "invalid"
}

// ParseKind returns the picture called name.
func ParseKind(name string) (Kind, error) {
	for k, n := range kindNames {
		if n == name {
			return k, nil
		}
	}
	return 0, fmt.Errorf("graph: no picture %q: want ladder, tsg, window or rtt", name)
}

// Draw writes picture k of c: the graphs of data direction d, the ladder
// with the findings fs at their frames.
func Draw(w io.Writer, k Kind, c *Conn, d conn.Dir, fs []diagnose.Finding, o Options) error {
	switch k {
	case KindLadder:
		return Ladder(w, c, fs, o)
	case KindTSG:
		return TimeSequence(w, c, d, o)
	case KindWindow:
		return Window(w, c, d, o)
	case KindRTT:
		return RTT(w, c, o)
	}
	return fmt.Errorf("graph: no picture %d", k)
}
