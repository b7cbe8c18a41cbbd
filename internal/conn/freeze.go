package conn

import (
	"time"

	"github.com/tcplens/tcplens/internal/freezer"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
)

// A connection waits in the table long after its last segment: 70 s once
// closed (see IdleClosed), for a SYN on its 4-tuple to be a reused port;
// two hours and more while open. Its analysis state, some 2.5 KB, is
// then frozen: packed by a freezer.Freezer into a fifth of that, and
// thawed when a segment comes for it or it leaves the table. A capture of
// a gigabyte holds some 30,000 connections at a time, nearly all of them
// closed and waiting; a SYN flood 32,768 attempts. Packing is lossless, so
// the analysis is the same whether a connection was frozen or not
// (TestFrozenSame); what it costs is a few microseconds each time.
//
// A connection is frozen once it has been idle for Table.FreezeIdle of
// capture time (when the table expires connections), or when more than
// Table.MaxThawed of the table's are thawed: the least recently seen
// first, so that the connections a capture keeps busy stay thawed.
const (
	DefaultFreezeIdle = time.Second
	DefaultMaxThawed  = 64 // per table: 4,096 over the 64 shards of a parallel analysis
	// maxThawedAttempts is how many of the latest attempts (see
	// Table.MaxAttempts) stay thawed: an answer comes within a round
	// trip, so that only a flood or a scan makes more in a table before
	// it (512 over the 64 shards).
	maxThawedAttempts = 8
)

// cold is what a connection needs of the table's freezing.
type cold struct {
	packed     freezer.Frozen
	states     [2]tcp.State // its ends' states when frozen, which expiry reads
	prev, next *Conn        // the table's list of thawed connections, most recent first
}

// states returns the ends' states, frozen or not.
func (c *Conn) states() (a, b tcp.State) {
	if c.State == nil {
		return c.cold.states[0], c.cold.states[1]
	}
	return c.Ends[0].State, c.Ends[1].State
}

// thawed is a table's list of thawed connections, least recently seen
// last.
type thawed struct {
	head, tail *Conn
	n          int
	freezer    *freezer.Freezer[State]
	// FreezeIdle and MaxThawed set when connections are frozen (see
	// above); negative for never.
	FreezeIdle time.Duration
	MaxThawed  int
	// Freezing and Thawed, when set, are told of each connection frozen
	// (before) and thawed (after), for a caller that keeps state of its
	// own beside a connection's to freeze it too.
	Freezing, Thawing func(c *Conn)
	// ReuseEnded says the table's done callback keeps nothing of a
	// connection's State (it copies what it needs): the table then takes
	// back the state of each connection that left, for the next one, and
	// a flood, or the end of a capture that thaws tens of thousands of
	// connections, does not allocate a state for each.
	ReuseEnded bool
	// Frozen and Thawed count the times a connection was frozen and
	// thawed again.
	Frozen, Thawed int
	// spare are the states of connections frozen since, for those thawed
	// or made: a flood freezes one as it makes the next.
	spare []*State
}

// maxSpare bounds the spare states a table keeps.
const maxSpare = 16

// newState returns a state to fill whole: a spare one, or a new one.
func (l *thawed) newState() *State {
	if n := len(l.spare); n > 0 {
		st := l.spare[n-1]
		l.spare[n-1] = nil
		l.spare = l.spare[:n-1]
		return st
	}
	return new(State)
}

func (l *thawed) push(c *Conn) {
	c.cold.next = l.head
	if l.head != nil {
		l.head.cold.prev = c
	}
	l.head = c
	if l.tail == nil {
		l.tail = c
	}
	l.n++
}

func (l *thawed) unlink(c *Conn) {
	if c.cold.prev != nil {
		c.cold.prev.cold.next = c.cold.next
	}
	if c.cold.next != nil {
		c.cold.next.cold.prev = c.cold.prev
	}
	if l.head == c {
		l.head = c.cold.next
	}
	if l.tail == c {
		l.tail = c.cold.prev
	}
	c.cold.prev, c.cold.next = nil, nil
	l.n--
}

// touch moves thawed connection c to the front.
func (l *thawed) touch(c *Conn) {
	if l.head != c {
		l.unlink(c)
		l.push(c)
	}
}

// freeze packs c's state, thawed, and drops it.
func (l *thawed) freeze(c *Conn) {
	if l.Freezing != nil {
		l.Freezing(c)
	}
	l.unlink(c)
	if l.freezer == nil {
		l.freezer = freezer.New[State]()
	}
	c.cold.states = [2]tcp.State{c.Ends[0].State, c.Ends[1].State}
	l.freezer.Freeze(c.State, int64(c.Start), &c.cold.packed)
	l.takeBack(c)
	l.Frozen++
}

// takeBack keeps c's state, which nothing points into, for another
// connection, and drops it from c. The transitions and lists it points
// to are not reused: a summary may hold them.
func (l *thawed) takeBack(c *Conn) {
	if len(l.spare) < maxSpare {
		*c.State = State{}
		l.spare = append(l.spare, c.State)
	}
	c.State = nil
}

// thaw unpacks c's state if it is frozen; linked says to put c in the
// list (a connection the table keeps), not just unpack it (one leaving).
func (l *thawed) thaw(c *Conn, linked bool) {
	if c.State != nil {
		return
	}
	st := l.newState()
	l.freezer.Thaw(&c.cold.packed, int64(c.Start), st)
	c.State = st
	c.cold.packed = freezer.Frozen{}
	l.Thawed++
	if linked {
		l.push(c)
	}
	if l.Thawing != nil {
		l.Thawing(c)
	}
}

// freezeIdle freezes the connections idle for FreezeIdle at now.
func (l *thawed) freezeIdle(now pcap.Time) {
	if l.FreezeIdle < 0 {
		return
	}
	for c := l.tail; c != nil && now.Sub(c.End) >= l.FreezeIdle; c = l.tail {
		l.freeze(c)
	}
}

// bound freezes the least recently seen connections past MaxThawed.
func (l *thawed) bound() {
	for l.MaxThawed >= 0 && l.n > l.MaxThawed {
		l.freeze(l.tail)
	}
}
