package sockwatch

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/tcplens/tcplens/internal/sockdiag"
)

// Source reads snapshots of the sockets a filter selects, with the
// processes holding them named: what every ss view starts from.
type Source struct {
	NetNS  string  // a network namespace's path; "" for the caller's
	Proc   bool    // read /proc/net/tcp even when netlink works
	Filter *Filter // nil: every socket
	// Family keeps the IPv4 sockets alone (4) or the IPv6 ones (6), as
	// ss -4 and -6 do; 0 keeps both.
	Family int

	mu       sync.Mutex // a watch and a metrics server may take snapshots at once
	resolver sockdiag.Resolver
}

// Take reads a snapshot and keeps the sockets the source selects.
func (src *Source) Take() (*sockdiag.Snapshot, error) {
	src.mu.Lock()
	defer src.mu.Unlock()
	snap, err := sockdiag.Take(sockdiag.Options{NetNS: src.NetNS, Proc: src.Proc})
	if err != nil {
		return nil, err
	}
	kept := snap.Sockets[:0]
	for i := range snap.Sockets {
		s := &snap.Sockets[i]
		if src.Filter.Match(s) && src.family(s) {
			kept = append(kept, *s)
		}
	}
	snap.Sockets = kept
	src.resolver.Resolve(snap.Sockets)
	return snap, nil
}

func (src *Source) family(s *sockdiag.Socket) bool {
	switch src.Family {
	case 4:
		return s.Local.Addr().Is4()
	case 6:
		return s.Local.Addr().Is6()
	}
	return true
}

// Measure assesses the sockets once: it takes a snapshot, and when
// interval is positive another one that long after, so that the kernel's
// counters are deltas over it (and sockets have an age). It returns the
// context's error if ctx ends first.
func Measure(ctx context.Context, src *Source, interval time.Duration, rules Rules) (*Report, error) {
	first, err := src.Take()
	if err != nil {
		return nil, err
	}
	var tr Tracker
	tr.Update(first, nil, nil)
	cur, prev := first, (*sockdiag.Snapshot)(nil)
	if interval > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(interval):
		}
		if cur, err = src.Take(); err != nil {
			return nil, err
		}
		tr.Update(cur, nil, nil)
		prev = first
	}
	return Assess(cur, prev, &tr, nil, rules), nil
}

// Event is one thing Watch reports: a socket that appeared, changed state
// or went; a watched kernel counter that moved; or a flag raised.
type Event struct {
	Time       time.Time
	Transition *Transition
	Counter    *Delta
	Flag       *Flag
}

// Watch takes a snapshot every interval until ctx ends, and hands emit,
// in order, each socket's transitions, the watched counters that moved
// and the flags newly raised (a flag is reported once, when it appears,
// not each time its count moves). When ctx ends, the sockets the last
// snapshot missed are reported gone, as far as anyone watching knows.
func Watch(ctx context.Context, src *Source, interval time.Duration, rules Rules, emit func(Event) error) error {
	var (
		tr      Tracker
		ts      []Transition
		prev    *sockdiag.Snapshot
		flagged = map[string]bool{}
	)
	transitions := func(ts []Transition) error {
		for i := range ts {
			if err := emit(Event{Time: ts[i].Time, Transition: &ts[i]}); err != nil {
				return err
			}
		}
		return nil
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		snap, err := src.Take()
		if err != nil {
			return err
		}
		ts = tr.Update(snap, nil, ts[:0])
		if err := transitions(ts); err != nil {
			return err
		}
		rep := Assess(snap, prev, &tr, nil, rules)
		if prev != nil {
			for i := range rep.Deltas {
				if d := &rep.Deltas[i]; d.Delta != 0 {
					if err := emit(Event{Time: snap.Time, Counter: d}); err != nil {
						return err
					}
				}
			}
		}
		now := map[string]bool{}
		for i := range rep.Flags {
			f := &rep.Flags[i]
			k := flagKey(f)
			now[k] = true
			if !flagged[k] {
				if err := emit(Event{Time: snap.Time, Flag: f}); err != nil {
					return err
				}
			}
		}
		flagged = now
		prev = snap
		select {
		case <-ctx.Done():
			return transitions(tr.Flush(ts[:0]))
		case <-tick.C:
		}
	}
}

// flagKey identifies a flag across snapshots: its kind, the processes
// concerned, and for a full accept queue the listener.
func flagKey(f *Flag) string {
	k := f.Kind
	for _, o := range f.Owners {
		k += "|" + strconv.Itoa(o.PID)
	}
	if f.Kind == FlagAcceptQueue && len(f.Sockets) > 0 {
		k += "|" + f.Sockets[0].Local.String()
	}
	return k
}

// ssConnected is ss's default: the connected sockets but for the
// minisockets (SYN_RECV requests and TIME_WAIT) and unconnected ones.
var ssConnected = stateGroups["all"] &^ (1<<sockdiag.Listen | 1<<sockdiag.Close | 1<<sockdiag.TimeWait | 1<<sockdiag.SynRecv)

// TableStates is the states whose sockets ss lists: those the filter
// names (state, exclude) if it names any; else every state with all (ss
// -a), listeners and unconnected sockets with listening (ss -l), and by
// default the connected sockets but for SYN_RECV and TIME_WAIT, as ss
// does. Bit i stands for state i.
func (f *Filter) TableStates(all, listening bool) uint32 {
	switch {
	case f != nil && f.stated:
		return f.states
	case all:
		return stateGroups["all"]
	case listening:
		return 1<<sockdiag.Listen | 1<<sockdiag.Close
	}
	return ssConnected
}

// Table returns the sockets of rep in the states given (TableStates).
func (r *Report) Table(states uint32) []sockdiag.Socket {
	var out []sockdiag.Socket
	for _, s := range r.Sockets {
		if states&(1<<s.State) != 0 {
			out = append(out, s)
		}
	}
	return out
}
