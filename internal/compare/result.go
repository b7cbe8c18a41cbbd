package compare

import (
	"net/netip"
	"time"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
)

// Kind names what compare says about a connection or the path. The
// strings are API: --json prints them.
type Kind uint8

const (
	KindDelay        Kind = iota + 1 // the one-way delay between the points, and its spread
	KindNAT                          // addresses or ports rewritten
	KindSeqOffset                    // sequence numbers shifted by a constant
	KindMSS                          // the MSS option rewritten (clamped)
	KindOptionStrip                  // an option removed or overwritten with NOPs
	KindOptionAdded                  // an option the sender did not send
	KindOptionChange                 // an option's value rewritten (window scale, timestamps, SACK blocks)
	KindECN                          // ECN bits cleared (bleached) or changed
	KindCE                           // Congestion Experienced set in the path
	KindDSCP                         // DSCP rewritten
	KindIPID                         // IP identification rewritten
	KindWindow                       // the window field rewritten
	KindPayload                      // payload bytes rewritten
	KindTTL                          // TTL or hop limit changed by other than a constant hop count
	KindLost                         // seen upstream only: lost between the points
	KindNotCaptured                  // seen upstream only, yet acknowledged by its receiver: the downstream capture missed it
	KindInjected                     // seen downstream only: made in the path
	KindDuplicated                   // one segment upstream, more copies downstream
	KindReordered                    // arrived downstream in another order than it passed upstream
	KindUnmatched                    // seen at one point only, which one is upstream being unknown
	KindOnlyAt                       // a connection seen at one point only
	kindCount
)

var kindNames = [...]string{
	KindDelay:        "delay",
	KindNAT:          "nat",
	KindSeqOffset:    "seq-offset",
	KindMSS:          "mss-rewritten",
	KindOptionStrip:  "option-stripped",
	KindOptionAdded:  "option-added",
	KindOptionChange: "option-rewritten",
	KindECN:          "ecn-rewritten",
	KindCE:           "ce-marked",
	KindDSCP:         "dscp-rewritten",
	KindIPID:         "ipid-rewritten",
	KindWindow:       "window-rewritten",
	KindPayload:      "payload-rewritten",
	KindTTL:          "ttl-changed",
	KindLost:         "lost",
	KindNotCaptured:  "not-captured",
	KindInjected:     "injected",
	KindDuplicated:   "duplicated",
	KindReordered:    "reordered",
	KindUnmatched:    "unmatched",
	KindOnlyAt:       "only-at",
}

// String returns the kind's stable id.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds lists every kind, in order.
func Kinds() []Kind {
	out := make([]Kind, 0, kindCount-1)
	for k := KindDelay; k < kindCount; k++ {
		out = append(out, k)
	}
	return out
}

// Item is one thing compare says about a connection: what the path did to
// it in one direction (or to the connection as a whole), the frames at
// each point that show it, and, where the pair corrects what either
// capture alone would conclude, what that was.
type Item struct {
	Kind Kind
	// Dir is the direction in the connection's roles; HasDir is false
	// for what concerns the whole connection.
	Dir    conn.Dir
	HasDir bool
	// Frames are the evidence at A and at B (Frames[A], Frames[B]),
	// each in capture order; More counts those left out of long lists.
	Frames [2][]int
	More   int
	Time   pcap.Time // of the first evidence, on A's clock
	Count  int       // segments concerned
	Title  string    // one line
	Text   string    // what the frames show, with the numbers behind it
	// Alone says what each capture alone shows (Alone[A], Alone[B])
	// where the pair corrects it; empty where it does not.
	Alone [2]string
	// Option names the option of option and MSS items ("mss", "wscale",
	// "sackOK", "TS", …); From and To are the value upstream and
	// downstream, as text.
	Option   string
	From, To string
}

// View is one capture point's view of a connection.
type View struct {
	Conn           int // as tcplens conns numbers it in that point's capture
	Client, Server netip.AddrPort
	RoleGuessed    bool // no handshake decided the roles at this point
	FirstFrame     int
	LastFrame      int
	Packets        [2]int // by direction (the connection's)
}

// Delay is the one-way delay between the points in one direction.
type Delay struct {
	N                  int           // segments timed
	Min, Mean, Max, SD time.Duration // SD: standard deviation, the spread
	// MinFrames and MaxFrames are the segments (at A, at B) that took
	// the least and the most time.
	MinFrames, MaxFrames [2]int
}

// Conn is one connection as the two points saw it.
type Conn struct {
	// Views are the connection at A and at B; nil where not seen.
	Views [2]*View
	// ClientSide is the point nearer the client, when known: segments of
	// the client pass it first.
	ClientSide      Side
	ClientSideKnown bool
	SideReason      string   // how ClientSide was decided, in words
	Delay           [2]Delay // by direction
	Hops            [2]int   // TTL decrement between the points, by direction (upstream - downstream)
	HopsKnown       [2]bool
	Matched         [2]int // segments seen at both points, by direction
	Items           []Item
	// Trace is the exchange as both points saw it, for the two-lane
	// ladder; nil unless asked for (Options.Trace).
	Trace *Trace
}

// Summary is what the comparison found across the captures.
type Summary struct {
	Points [2]PointStats
	// ClockOffset is B's clock minus A's: a B timestamp minus it is on
	// A's clock. ClockGiven says it was given (Options), not estimated;
	// ClockSamples counts the segments the estimate rests on.
	ClockOffset  time.Duration
	ClockGiven   bool
	ClockSamples int
	// Delay is the one-way delay from A to B (Delay[0]) and from B to A
	// (Delay[1]) over every connection, with its median and 99th
	// percentile.
	Delay   [2]PathDelay
	Conns   int    // connections reported (pairs and connections seen at one point)
	Paired  int    // seen at both points
	OnlyAt  [2]int // seen at one point only
	Clients [2]int // connections whose client is on A's side, on B's side
	// Counts of items by kind, over all connections.
	Counts [kindCount]int
	// Outside counts segments of each point left unjudged because the
	// other capture was not running when their copy would have passed.
	Outside [2]int
	Window  time.Duration
}

// PathDelay is the one-way delay in one physical direction.
type PathDelay struct {
	Delay
	Median, P99 time.Duration
	HopsMin     int
	HopsMax     int
	HopsN       int // segments whose TTL both points saw
}
