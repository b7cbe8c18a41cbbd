package conn

import (
	"math"
	"slices"
	"time"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// Why a connection left the table.
type EndReason uint8

const (
	EndCapture  EndReason = iota // the capture ended
	EndIdle                      // idle past its timeout
	EndEvicted                   // pushed out by the table's memory cap
	EndReplaced                  // a new connection took its 4-tuple (port reuse)
)

func (r EndReason) String() string {
	switch r {
	case EndIdle:
		return "idle"
	case EndEvicted:
		return "evicted"
	case EndReplaced:
		return "replaced"
	}
	return "end of capture"
}

// Timeouts after which an idle connection leaves the table. They are in
// capture time. A connection still open waits as long as Linux's default
// keep-alive takes to give up on a dead peer (2 h idle plus 9 probes 75 s
// apart); one that is closed or was never established goes sooner.
const (
	IdleOpen     = 2*time.Hour + 9*75*time.Second
	IdleClosed   = tcp.LinuxTimeWaitLen + 10*time.Second
	IdleHalfOpen = 3 * time.Minute
)

// DefaultMaxConns is the default cap on the connections held at once.
const DefaultMaxConns = 1 << 20

// DefaultMaxAttempts is the default cap on the attempts held at once:
// connections of one end's SYNs and nothing else. A SYN flood of a million
// sources is a million such attempts; held like connections they would
// take gigabytes, so the oldest go first, as a listener's SYN queue drops
// them (Linux bounds it by net.ipv4.tcp_max_syn_backlog, a few thousand
// by default). The connections that got an answer are kept. An attempt
// held costs a diagnosis about a kilobyte, all told (its connection, its
// state and facts frozen, the table's entries), and the Go heap grows to
// twice what it holds before collecting: 32,768 keep a flood within
// 256 MiB (BENCHMARKS.md), and an attempt evicted sooner ends as it
// would have later, but for its end reason.
const DefaultMaxAttempts = 1 << 15

// Table holds the open connections.
type Table struct {
	conns4  map[key4]*Conn
	conns6  map[key6]*Conn
	recent  *[recentSize]recent4 // a direct-mapped cache in front of conns4
	recent6 *[recentSize / 4]recent6
	head    *Conn // most recently seen
	tail    *Conn // least recently seen
	max     int
	done    func(*Conn, EndReason)

	// Counts of connections that left the table other than at the end.
	// Evicted counts both caps; EvictedAttempts those of MaxAttempts.
	Evicted, Expired, Replaced, EvictedAttempts int

	// MaxAttempts caps the attempts held at once (DefaultMaxAttempts
	// unless set before the first Lookup): past it the oldest leaves the
	// table, evicted.
	MaxAttempts int
	attempts    []*Conn // in the order created; nil for those that stopped being attempts
	attemptsAt  int     // first entry of attempts still to look at
	numAttempts int     // connections in the table that are attempts

	thawed // the connections whose state is not frozen (freeze.go)

	// Frame is the number of the frame being looked up, which the
	// caller sets before Lookup: a new connection that takes a TIME_WAIT
	// 4-tuple ends it at that frame.
	Frame int
}

// NewTable returns a table that holds at most max connections (0 for the
// default) and calls done for each connection as it leaves.
//
// The table gives its connections no ID: the caller numbers them, in
// the order they first appear across all its tables (a connection is new
// when its Segments is 1 after Lookup). Nor does it expire idle
// connections by itself: the caller calls Expire.
func NewTable(max int, done func(*Conn, EndReason)) *Table {
	if max <= 0 {
		max = DefaultMaxConns
	}
	t := &Table{conns4: make(map[key4]*Conn), conns6: make(map[key6]*Conn), recent: new([recentSize]recent4), recent6: new([recentSize / 4]recent6), max: max, done: done, MaxAttempts: DefaultMaxAttempts}
	t.FreezeIdle, t.MaxThawed = DefaultFreezeIdle, DefaultMaxThawed
	return t
}

// synOnly reports whether s is a SYN without ACK: what an attempt is made of.
func synOnly(s *wire.Segment) bool { return s.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN }

// noteSegment keeps c's attempt mark true to the segment its end sent.
func (t *Table) noteSegment(c *Conn, s *wire.Segment, end int) {
	if c.attempt != 0 && (int(c.attempt) != end+1 || !synOnly(s)) {
		t.notAttempt(c)
	}
}

// notAttempt takes c, an attempt, off the list of attempts: its entry is
// cleared at once, so that the list keeps no ended connection from being
// freed.
func (t *Table) notAttempt(c *Conn) {
	t.attempts[c.attemptAt] = nil
	c.attempt = 0
	t.numAttempts--
}

// addAttempt marks c, just created by a SYN, as an attempt, and evicts
// the oldest attempt when there are more than MaxAttempts.
func (t *Table) addAttempt(c *Conn, end int) {
	c.attempt = int8(end + 1)
	c.attemptAt = int32(len(t.attempts))
	t.numAttempts++
	t.attempts = append(t.attempts, c)
	// An attempt waits for an answer that, in a flood, never comes: the
	// state of all but the latest few is frozen, whatever MaxThawed
	// allows (in a flood every connection thawed is an attempt, and
	// thawed each costs five times as much).
	if n := len(t.attempts) - 1 - maxThawedAttempts; n >= t.attemptsAt {
		if old := t.attempts[n]; old != nil && old.State != nil && t.MaxThawed >= 0 {
			t.thawed.freeze(old)
		}
	}
	for t.numAttempts > max(t.MaxAttempts, 1) && t.attemptsAt < len(t.attempts) {
		old := t.attempts[t.attemptsAt]
		t.attemptsAt++
		if old != nil && old != c {
			t.remove(old, EndEvicted)
			t.Evicted++
			t.EvictedAttempts++
		}
	}
	// The entries before attemptsAt are spent, and those of connections
	// that got an answer (or left) are holes; close them up once they
	// outnumber the attempts, which keeps the list at most twice the
	// attempts held, at a constant cost per entry. (A flood, which evicts
	// an attempt for each it makes, spends entries and leaves no holes:
	// counting only the holes, the list grew by a word a SYN.)
	if len(t.attempts)-t.numAttempts > max(t.numAttempts, 64) {
		kept := t.attempts[:0]
		for _, a := range t.attempts[t.attemptsAt:] {
			if a != nil {
				a.attemptAt = int32(len(kept))
				kept = append(kept, a)
			}
		}
		clear(t.attempts[len(kept):])
		t.attempts, t.attemptsAt = kept, 0
	}
}

// The cache of recent IPv4 connections answers most lookups with one
// multiplication and two comparisons, where the map hashes the key and
// probes a group: a capture interleaves a few hundred connections at a
// time, and this many entries (24 KiB) hold them in the CPU's cache.
const recentSize = 1024

type recent4 struct {
	k key4
	c *Conn
}

func (k key4) slot() int {
	return int((k[0]*0x9e3779b97f4a7c15 ^ k[1]*0xc2b2ae3d27d4eb4f) >> 54)
}

// recent6 is the same for IPv6, a quarter the size: IPv6 keys are larger
// and fewer.
type recent6 struct {
	k key6
	c *Conn
}

func (k *key6) slot() int {
	h := k.a[1]*0x9e3779b97f4a7c15 ^ k.b[1]*0xc2b2ae3d27d4eb4f ^ (uint64(k.pa)<<16|uint64(k.pb))*0x165667b19e3779f9
	return int(h >> 56)
}

// Len is the number of connections held.
func (t *Table) Len() int { return len(t.conns4) + len(t.conns6) }

// FirstFrames appends the first frame of each connection held to dst,
// for a caller that closes the table in steps of CloseBefore of even
// size.
func (t *Table) FirstFrames(dst []int) []int {
	for c := t.tail; c != nil; c = c.prev {
		dst = append(dst, c.FirstFrame)
	}
	return dst
}

// Lookup returns the connection of segment s, creating it when needed,
// and the index in its Ends of the segment's sender.
func (t *Table) Lookup(s *wire.Segment, now pcap.Time) (*Conn, int) {
	var (
		k4     key4
		k6     key6
		srcIsB bool
		c      *Conn
	)
	v6 := s.Src.Addr().Is6()
	if v6 {
		k6, srcIsB = key6Of(s)
		if r := &t.recent6[k6.slot()]; r.c != nil && r.k == k6 {
			c = r.c
		} else if c = t.conns6[k6]; c != nil {
			*r = recent6{k6, c}
		}
	} else {
		k4, srcIsB = key4Of(s)
		if r := &t.recent[k4.slot()]; r.c != nil && r.k == k4 {
			c = r.c
		} else if c = t.conns4[k4]; c != nil {
			*r = recent4{k4, c}
		}
	}
	end := 0
	if srcIsB {
		end = 1
	}
	if c != nil {
		if c.State == nil {
			t.thaw(c, true)
		} else {
			t.thawed.touch(c)
		}
		if why := t.replaces(c, s, end, now); why != keep {
			if s.Flags.Has(wire.SYN) {
				c.TakenOver(t.Frame, now)
			}
			t.remove(c, EndReplaced)
			t.Replaced++
			prev := c.ID
			c = t.create(s, end, now)
			c.ReusedPorts = why == newISN
			c.Replaces = true
			c.Previous = prev
		} else {
			t.noteSegment(c, s, end)
		}
	} else {
		c = t.create(s, end, now)
	}
	t.touch(c)
	c.Count(now)
	t.bound()
	return c, end
}

// replacement says whether a segment starts a new connection on a 4-tuple.
type replacement uint8

const (
	keep       replacement = iota
	newISN                 // a SYN with a new ISN: the ports are reused
	idle                   // the old connection was idle past its timeout
	afterReset             // a SYN after an RST ended the connection, its ISN the same (Windows resends it so)
)

// replaces decides whether s starts a new connection on c's 4-tuple: a SYN
// whose sequence number differs from the ISN this direction started with
// (tshark's rule: a retransmitted SYN has the same one), or anything after
// the old connection has been idle past its timeout.
func (t *Table) replaces(c *Conn, s *wire.Segment, end int, now pcap.Time) replacement {
	idleFor := now.Sub(c.End)
	syn := s.Flags&(wire.SYN|wire.ACK) == wire.SYN
	if idleFor <= IdleClosed && !syn {
		return keep // no timeout is shorter: the state need not be read
	}
	if idleFor > idleTimeout(c) {
		return idle
	}
	if !syn {
		return keep
	}
	if base, ok := c.Ends[end].RelativeBase(); ok && s.Seq != base {
		return newISN
	}
	// A reset connection is gone at both ends: a SYN after it, even
	// with the old ISN, opens another, as Zeek counts them.
	if e := &c.Ends[end]; e.State == tcp.Closed && (e.SentRST || c.Ends[1-end].SentRST) {
		return afterReset
	}
	return keep
}

func (t *Table) create(s *wire.Segment, end int, now pcap.Time) *Conn {
	c := open(s, end, now, t.newState())
	if s.Src.Addr().Is6() {
		k, _ := key6Of(s)
		t.conns6[k] = c
	} else {
		k, _ := key4Of(s)
		t.conns4[k] = c
	}
	t.thawed.push(c)
	if t.Len() > t.max {
		t.remove(t.tail, EndEvicted)
		t.Evicted++
	}
	if synOnly(s) {
		t.addAttempt(c, end)
	}
	return c
}

// Open returns the connection that segment s, sent by the end of index
// end in Ends (see KeyOf: 1 when the source is B), opens at time now, as
// the table makes one: for a caller that follows a connection it knows
// without a table (analyze.Replay).
func Open(s *wire.Segment, end int, now pcap.Time) *Conn { return open(s, end, now, new(State)) }

func open(s *wire.Segment, end int, now pcap.Time, st *State) *Conn {
	key, _ := KeyOf(s)
	c := &Conn{Start: now, End: now, State: st}
	c.State.Conn = *tcp.NewConn(tcp.NewEndpoint(key.A), tcp.NewEndpoint(key.B))
	c.decideRoles(s, end)
	if c.Client != end {
		c.History.Flip()
	}
	return c
}

// Count counts a segment of c, at time now.
func (c *Conn) Count(now pcap.Time) {
	c.End = max(c.End, now) // a corrupt timestamp that goes back does not rewind it
	c.Segments++
}

// touch moves c to the front of the recency list.
func (t *Table) touch(c *Conn) {
	if t.head == c {
		return
	}
	t.unlink(c)
	c.next = t.head
	if t.head != nil {
		t.head.prev = c
	}
	t.head = c
	if t.tail == nil {
		t.tail = c
	}
}

func (t *Table) unlink(c *Conn) {
	if c.prev != nil {
		c.prev.next = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	}
	if t.head == c {
		t.head = c.next
	}
	if t.tail == c {
		t.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

func (t *Table) remove(c *Conn, why EndReason) {
	if c.State == nil {
		t.thaw(c, false)
	} else {
		t.thawed.unlink(c)
	}
	c.Ended(c.End)
	t.unlink(c)
	if c.attempt != 0 {
		t.notAttempt(c)
	}
	key := c.Key()
	if a := key.A.Addr(); a.Is6() {
		k, _ := key6Of(&wire.Segment{Src: key.A, Dst: key.B})
		if t.conns6[k] == c {
			delete(t.conns6, k)
		}
		if r := &t.recent6[k.slot()]; r.c == c {
			*r = recent6{}
		}
	} else {
		k, _ := key4Of(&wire.Segment{Src: key.A, Dst: key.B})
		if t.conns4[k] == c {
			delete(t.conns4, k)
		}
		if r := &t.recent[k.slot()]; r.c == c {
			*r = recent4{}
		}
	}
	if t.done != nil {
		t.done(c, why)
	}
	if t.ReuseEnded {
		t.takeBack(c)
	}
}

// idleTimeout is how long c may stay silent before it leaves the table;
// never less than IdleClosed.
func idleTimeout(c *Conn) time.Duration {
	a, b := c.states()
	switch {
	case (a == tcp.Closed || a == tcp.TimeWait || a == tcp.Unknown) && (b == tcp.Closed || b == tcp.TimeWait || b == tcp.Unknown):
		return IdleClosed
	case a.Synchronized() || b.Synchronized():
		return IdleOpen
	}
	return IdleHalfOpen
}

// ExpireEvery is how often, in capture time, the caller is to call
// Expire: a connection leaves at most this long after its timeout.
const ExpireEvery = time.Second

// Expire removes the connections idle past their timeout, the least
// recently seen first. The caller calls it every ExpireEvery of capture
// time, at a segment: its own time is now.
func (t *Table) Expire(now pcap.Time) {
	for c := t.tail; c != nil; {
		prev := c.prev
		if now.Sub(c.End) <= IdleClosed {
			break // everything before it is more recent still
		}
		if now.Sub(c.End) > idleTimeout(c) {
			t.thaw(c, true)
			for i := range c.Ends {
				c.Ends[i].ExpireTimeWait(now)
			}
			t.remove(c, EndIdle)
			t.Expired++
		}
		c = prev
	}
	t.freezeIdle(now)
}

// Close ends the capture: every connection still held leaves the table,
// in the order they first appeared (each has been stepped: FirstFrame is
// its first segment's).
func (t *Table) Close(now pcap.Time) { t.CloseBefore(now, math.MaxInt) }

// CloseBefore is Close for the connections that first appeared before
// frame first: a caller that hands on what it makes of each connection
// as it ends closes in steps, so as not to hold it for all of them.
func (t *Table) CloseBefore(now pcap.Time, first int) {
	var all []*Conn
	for c := t.tail; c != nil; c = c.prev {
		if c.FirstFrame < first {
			all = append(all, c)
		}
	}
	slices.SortFunc(all, func(a, b *Conn) int { return a.FirstFrame - b.FirstFrame })
	for _, c := range all {
		t.thaw(c, true)
		for i := range c.Ends {
			c.Ends[i].ExpireTimeWait(now)
		}
		t.remove(c, EndCapture)
	}
}
