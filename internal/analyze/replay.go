package analyze

import (
	"errors"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// Replay analyses again a few connections that a first analysis of the
// same capture found, and no other: what a report does to draw the
// connections its diagnosis chose. A connection holds its 4-tuple alone
// from its first frame to its last, so its segments are exactly the
// frames of its 4-tuple between the two, and its analysis depends on them
// alone: Replay finds those frames without decoding the others (by
// wire.Locate), opens the connection at its first as the table does
// (conn.Open), with the ID and the reuse of ports the first analysis
// gave it, steps it through them, and ends it as it ended. Its segments
// and its end are what the first analysis's were, at a fraction of the
// cost.
type Replay struct {
	known     map[conn.Key][]*replayed
	last      pcap.Time // the capture's last time, for the connections that ended with it
	onSegment func(*Segment)
	onConn    func(*conn.Conn, conn.EndReason)

	counter frameCounter // for the fragments
	stats   Stats
	scratch wire.Segment
	seg     wire.Segment
	res     tcp.Result
	out     Segment
	frame   pcap.Frame
}

type replayed struct {
	s *Summary
	c *conn.Conn // while replayed
}

// NewReplay returns a Replay of the connections sums summarise; last is
// the capture's last time (Stats.Last). onSegment and onConn are called
// as Analyzer calls them, for those connections alone.
func NewReplay(sums []*Summary, last pcap.Time, onSegment func(*Segment), onConn func(*conn.Conn, conn.EndReason)) *Replay {
	r := &Replay{known: map[conn.Key][]*replayed{}, last: last, onSegment: onSegment, onConn: onConn}
	r.stats.Links = map[pcap.LinkType]int{}
	r.res.Changes = make([]tcp.Change, 0, 8)
	for _, s := range sums {
		k := conn.KeyFor(s.Client.Addr, s.Server.Addr)
		r.known[k] = append(r.known[k], &replayed{s: s})
	}
	return r
}

// Add analyses frame f if it is a segment of a known connection.
func (r *Replay) Add(f *pcap.Frame) {
	src := f
	switch wire.Locate(f, &r.scratch) {
	case wire.AtSegment:
	case wire.AtFragment:
		r.counter.count(f, &r.stats)
		_ = wire.Decode(f, &r.scratch)
		whole, ok := r.counter.frags.add(f, &r.scratch)
		if !ok || wire.Locate(&whole, &r.scratch) != wire.AtSegment {
			return
		}
		src = &whole
	default:
		return
	}
	k, srcIsB := conn.KeyOf(&r.scratch)
	var kn *replayed
	for _, x := range r.known[k] {
		if x.s.FirstFrame <= f.Number && f.Number <= x.s.LastFrame {
			kn = x
		}
	}
	if kn == nil {
		return
	}
	err := wire.Decode(src, &r.seg)
	if err != nil && (r.seg.TCP == nil || errors.Is(err, wire.ErrNotTCP)) {
		return // as Locate said: it cannot be
	}
	end := 0
	if srcIsB {
		end = 1
	}
	c := kn.c
	if c == nil {
		c = conn.Open(&r.seg, end, f.Time)
		c.ID, c.Previous, c.ReusedPorts, c.Replaces = kn.s.ID, kn.s.Previous, kn.s.ReusedPorts, kn.s.Previous != 0
		kn.c = c
	}
	c.Count(f.Time)
	r.frame = *f
	in := input(&r.frame, &r.seg)
	c.Step(end, &in, &r.res)
	if err != nil {
		r.res.Analysis.Add(event.Malformed)
	}
	if r.onSegment != nil {
		r.out = Segment{Frame: &r.frame, Seg: &r.seg, Err: err, Conn: c, End: end, Dir: c.DirOf(end), Result: &r.res}
		r.onSegment(&r.out)
	}
	if f.Number == kn.s.LastFrame {
		r.end(kn)
	}
}

// end ends a connection after its last frame, as its table ended it:
// TIME_WAIT runs out on expiry (long past it) and at the capture's end
// (if it has by then), not on replacement or eviction.
func (r *Replay) end(kn *replayed) {
	c := kn.c
	kn.c = nil
	switch kn.s.EndReason {
	case conn.EndIdle:
		for i := range c.Ends {
			c.Ends[i].ExpireTimeWait(c.End + pcap.Time(conn.IdleClosed) + 1)
		}
	case conn.EndCapture:
		for i := range c.Ends {
			c.Ends[i].ExpireTimeWait(r.last)
		}
	case conn.EndReplaced:
		// A SYN that took the 4-tuple over closed an end in TIME_WAIT, at
		// a frame of its own connection: the first analysis's history has
		// it, past this connection's last frame.
		for _, side := range []*Side{&kn.s.Client, &kn.s.Server} {
			if h := side.History; len(h) > 0 {
				if tr := h[len(h)-1]; tr.From == tcp.TimeWait && tr.State == tcp.Closed && tr.Frame > kn.s.LastFrame {
					c.TakenOver(tr.Frame, tr.Time)
					break
				}
			}
		}
	}
	c.Ended(c.End) // as the table's remove
	if r.onConn != nil {
		r.onConn(c, kn.s.EndReason)
	}
}
