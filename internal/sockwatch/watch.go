// Package sockwatch turns successive socket snapshots into what a person
// watching ss(8) would notice: each socket's transitions (new, state
// change, gone), how long a socket has sat in its state, the counts per
// state and per listener, and the flags the seeds teach to raise (a heap of
// SYN_RECV, CLOSE_WAIT that never ends, TIME_WAIT against the ephemeral
// port range, orphaned FIN_WAIT2, full accept queues, and the kernel
// counters that move when handshakes or connections fail).
//
// It is pure: snapshots come from package sockdiag (or a test), and time is
// the snapshots' own, so a test with a fixed clock gets fixed answers.
package sockwatch

import (
	"net/netip"
	"sort"
	"time"

	"github.com/tcplens/tcplens/internal/sockdiag"
)

// Key identifies a socket across snapshots: the two endpoints, as a person
// reading ss does, plus the kernel's cookie when there is no peer
// (listeners and unconnected sockets may share a local address with
// SO_REUSEPORT).
type Key struct {
	Local, Peer netip.AddrPort
	Cookie      uint64 // only for sockets without a peer
}

// KeyOf returns the key of s.
func KeyOf(s *sockdiag.Socket) Key {
	k := Key{Local: s.Local, Peer: s.Peer}
	if s.Peer.Port() == 0 {
		k.Cookie = s.Cookie
	}
	return k
}

func (k Key) less(o Key) bool {
	if c := k.Local.Compare(o.Local); c != 0 {
		return c < 0
	}
	if c := k.Peer.Compare(o.Peer); c != 0 {
		return c < 0
	}
	return k.Cookie < o.Cookie
}

// Kind says what happened to a socket between two snapshots.
type Kind uint8

// Transition kinds.
const (
	Seen   Kind = iota + 1 // present at the first snapshot: its past is unknown
	New                    // appeared
	Change                 // changed state
	Gone                   // disappeared
)

func (k Kind) String() string {
	switch k {
	case Seen:
		return "seen"
	case New:
		return "new"
	case Change:
		return "change"
	case Gone:
		return "gone"
	}
	return "unknown"
}

// Transition is one socket's change between two snapshots. It happened at
// some moment after the previous snapshot and no later than Time.
type Transition struct {
	Time   time.Time
	Kind   Kind
	Key    Key
	From   sockdiag.State // Unknown for Seen and New
	To     sockdiag.State // Unknown for Gone
	Socket sockdiag.Socket
}

// Tracker remembers the sockets of the previous snapshot and when each
// entered its current state. The zero value is ready to use.
//
// A socket missing from one snapshot is not reported gone until it is
// missing from the next one too: a dump is not atomic, and a socket the
// kernel replaces while the dump goes by (a full socket becoming a
// TIME_WAIT mini-socket when an orphan's FIN is acknowledged: FIN_WAIT1 to
// FIN_WAIT2) can be in neither of the batches the dump is read in. Back in
// the next snapshot, it is the same socket with a new state; gone, it is
// reported then, at the time of the snapshot that first missed it.
type Tracker struct {
	seen    map[Key]*entry
	missing map[Key]*entry // missing from the latest snapshot only; since is when it was first missed
	first   time.Time      // time of the first snapshot
	last    time.Time      // time of the latest snapshot
}

type entry struct {
	sock     sockdiag.Socket
	since    time.Time // when the current state was first seen
	observed bool      // since is when the state began (within an interval), not the first snapshot
	missedAt time.Time // for an entry of missing: the snapshot that first missed it
}

// Update compares snap with the previous snapshot and appends the
// transitions to out, sorted by socket. Sockets present in the first
// snapshot are reported as Seen. keep, if not nil, selects the sockets to
// track (a filter); others are ignored.
func (t *Tracker) Update(snap *sockdiag.Snapshot, keep func(*sockdiag.Socket) bool, out []Transition) []Transition {
	first := t.seen == nil
	if first {
		t.seen = make(map[Key]*entry)
		t.missing = make(map[Key]*entry)
		t.first = snap.Time
	}
	t.last = snap.Time
	start := len(out)
	cur := make(map[Key]bool, len(snap.Sockets))
	for i := range snap.Sockets {
		s := &snap.Sockets[i]
		if keep != nil && !keep(s) {
			continue
		}
		k := KeyOf(s)
		if cur[k] {
			continue // a duplicate in one dump: the first one wins
		}
		cur[k] = true
		e, ok := t.seen[k]
		if m := t.missing[k]; m != nil {
			// Missing from the previous snapshot, back in this one.
			delete(t.missing, k)
			if reincarnated(&m.sock, s) {
				out = append(out, Transition{Time: m.missedAt, Kind: Gone, Key: k, From: m.sock.State, Socket: m.sock})
			} else {
				t.seen[k], e, ok = m, m, true
			}
		}
		if ok && reincarnated(&e.sock, s) {
			// The 4-tuple was reused by a new connection (after TIME_WAIT,
			// say): the old socket went and a new one came.
			out = append(out, Transition{Time: snap.Time, Kind: Gone, Key: k, From: e.sock.State, Socket: e.sock})
			ok = false
		}
		switch {
		case !ok:
			kind, observed := New, true
			if first {
				kind, observed = Seen, false
			}
			t.seen[k] = &entry{sock: *s, since: snap.Time, observed: observed}
			out = append(out, Transition{Time: snap.Time, Kind: kind, Key: k, To: s.State, Socket: *s})
		case e.sock.State != s.State:
			out = append(out, Transition{Time: snap.Time, Kind: Change, Key: k, From: e.sock.State, To: s.State, Socket: *s})
			e.sock, e.since, e.observed = *s, snap.Time, true
		default:
			e.sock = *s
		}
	}
	for k, m := range t.missing {
		out = append(out, Transition{Time: m.missedAt, Kind: Gone, Key: k, From: m.sock.State, Socket: m.sock})
		delete(t.missing, k)
	}
	for k, e := range t.seen {
		if !cur[k] {
			e.missedAt = snap.Time
			t.missing[k] = e
			delete(t.seen, k)
		}
	}
	return sortAdded(out, start)
}

// Flush reports as gone the sockets missing from the latest snapshot, which
// Update holds back until the next one: for a caller taking no more
// snapshots.
func (t *Tracker) Flush(out []Transition) []Transition {
	start := len(out)
	for k, m := range t.missing {
		out = append(out, Transition{Time: m.missedAt, Kind: Gone, Key: k, From: m.sock.State, Socket: m.sock})
		delete(t.missing, k)
	}
	return sortAdded(out, start)
}

// sortAdded sorts the transitions from start on by socket, an old
// incarnation's Gone before its successor's New.
func sortAdded(out []Transition, start int) []Transition {
	added := out[start:]
	sort.SliceStable(added, func(i, j int) bool {
		if added[i].Key != added[j].Key {
			return added[i].Key.less(added[j].Key)
		}
		return added[i].Kind == Gone && added[j].Kind != Gone // an old incarnation goes first
	})
	return out
}

// reincarnated reports whether cur is a different socket from prev under
// the same key: the cookies differ, except that a request socket's child
// (SYN_RECV to ESTABLISHED) always has a cookie of its own.
func reincarnated(prev, cur *sockdiag.Socket) bool {
	if prev.Cookie == 0 || cur.Cookie == 0 || prev.Cookie == cur.Cookie {
		return false
	}
	return !(prev.Request && !cur.Request)
}

// Age returns how long the socket with key k has been in its current state
// as of the latest snapshot, and whether that start was observed (false:
// it was already in that state at the first snapshot, so the age is a lower
// bound).
func (t *Tracker) Age(k Key) (time.Duration, bool) {
	e, ok := t.seen[k]
	if !ok {
		return 0, false
	}
	return t.last.Sub(e.since), e.observed
}
