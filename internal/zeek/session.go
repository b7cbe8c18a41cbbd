package zeek

import (
	"container/heap"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// Zeek's timers (init-bare.zeek's defaults), which decide when it lets go
// of a connection: a packet on the same ports after that starts a new
// one, and a new row of conn.log.
const (
	synTimeout       = 5 * time.Second // tcp_SYN_timeout: the first expire check
	sessionTimer     = 6 * time.Second // tcp_session_timer: the expire check's period
	connectionLinger = 5 * time.Second // tcp_connection_linger
	attemptDelay     = 5 * time.Second // tcp_attempt_delay
	closeDelay       = 5 * time.Second // tcp_close_delay
	udpInactivity    = time.Minute     // udp_inactivity_timeout: a TCP connection's until its handshake ends
	tcpInactivity    = 5 * time.Minute // tcp_inactivity_timeout
)

// Session is one connection as Zeek delimits it: one row of its conn.log.
type Session struct {
	Orig, Resp netip.AddrPort // the originator and the responder, as Zeek decided them
	Start      pcap.Time      // the first packet's time
	// Last is Zeek's last_time: the latest packet's time, until both ends
	// have closed (the ACK of the last FIN does not count).
	Last    pcap.Time
	History History

	inactivity time.Duration // the inactivity timeout in force
	inactGen   uint32        // cancels the inactivity timers armed before
	timerGen   uint32        // cancels the analyzer's timers (CancelTimers)
	removed    bool
	order      uint64 // creation order, for a deterministic flush at the end
}

// Duration is Zeek's duration: from the first packet to Last.
func (s *Session) Duration() time.Duration { return s.Last.Sub(s.Start) }

// Tracker draws Zeek's connection boundaries over a capture: which
// packets make one connection, and so one row of conn.log. It follows
// Zeek's session manager and TCP analyzer: a connection starts with any
// TCP packet on ports not in use (its sender the originator, unless the
// ports say the receiver is the server), a SYN that Zeek takes for port
// reuse starts a new one, and Zeek's attempt, expire, close, delete and
// inactivity timers, in capture time, end them. Done receives each
// connection as Zeek removes it (when it would log it); what it is handed
// is valid only during the call.
//
// Time is the capture's: call Advance with every frame's time, TCP or
// not (Zeek's timers run on every packet's time), and Segment with each
// decoded TCP segment.
type Tracker struct {
	conns  map[key]*Session
	timers timerHeap
	now    pcap.Time
	done   func(*Session)
	made   uint64
}

type key struct{ a, b netip.AddrPort }

func keyOf(x, y netip.AddrPort) key {
	if c := x.Addr().Compare(y.Addr()); c > 0 || c == 0 && x.Port() > y.Port() {
		x, y = y, x
	}
	return key{x, y}
}

// NewTracker returns a Tracker that hands each connection to done as
// Zeek lets go of it.
func NewTracker(done func(*Session)) *Tracker {
	return &Tracker{conns: make(map[key]*Session), done: done}
}

// Advance moves the capture's clock to now, firing the timers due by
// then. A clock that goes back (a file out of order) does not rewind.
func (t *Tracker) Advance(now pcap.Time) {
	if now > t.now {
		t.now = now
	}
	for len(t.timers) > 0 && t.timers[0].at <= t.now {
		tm := heap.Pop(&t.timers).(timer)
		if !tm.s.removed {
			t.fire(tm)
		}
	}
}

// Segment processes one TCP segment captured at now.
func (t *Tracker) Segment(seg *wire.Segment, now pcap.Time) {
	if len(seg.TCP) < wire.TCPMinHeaderLen || seg.PayloadLen+seg.HeaderLen < wire.TCPMinHeaderLen && !seg.IPLenFixed {
		return // BuildConnTuple: no connection without the fixed header captured
	}
	t.Advance(now)
	k := keyOf(seg.Src, seg.Dst)
	s := t.conns[k]
	if s != nil && s.History.reuse(seg) {
		t.remove(s)
		s = nil
	}
	if s == nil {
		s = t.newSession(k, seg)
	}
	orig := seg.Src == s.Orig
	wasClosed := s.History.BothClosed()
	ev := s.History.Step(seg, orig)
	if ev&Processed == 0 {
		return
	}
	if !wasClosed {
		s.Last = t.now
	}
	if ev&Flipped != 0 {
		s.Orig, s.Resp = s.Resp, s.Orig
	}
	if ev&Attempt != 0 {
		t.arm(s, attemptTimer, after(t.now, attemptDelay))
	}
	if ev&Established != 0 {
		t.setInactivity(s, tcpInactivity)
	}
	if ev&CloseComplete != 0 {
		s.timerGen++ // CancelTimers
		t.arm(s, deleteTimer, after(s.Last, closeDelay))
	}
	if ev&HalfClosed != 0 {
		t.arm(s, expireTimer, after(s.Last, sessionTimer))
	}
}

// Close ends the capture: every connection still held is done, in the
// order they started.
func (t *Tracker) Close() {
	all := make([]*Session, 0, len(t.conns))
	for _, s := range t.conns {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *Session) int {
		if a.order < b.order {
			return -1
		}
		return 1
	})
	for _, s := range all {
		t.remove(s)
	}
	t.timers = t.timers[:0]
}

// newSession is Zeek's NewConn: the first packet's sender originates,
// unless it starts with something other than a SYN from a port Zeek
// takes for a server's (WantConnection).
func (t *Tracker) newSession(k key, seg *wire.Segment) *Session {
	t.made++
	s := &Session{Orig: seg.Src, Resp: seg.Dst, Start: t.now, Last: t.now, order: t.made}
	f := seg.Flags
	if !f.Has(wire.SYN) || f.Has(wire.ACK) {
		sp, dp := seg.Src.Port(), seg.Dst.Port()
		flip := false
		if likelyServerPort(sp) {
			if likelyServerPort(dp) {
				// Both plausible: flip only a packet that is not a SYN-ACK
				// (to keep stealth scans as they are), toward the higher
				// port.
				flip = !f.Has(wire.SYN) && sp < dp
			} else {
				flip = true
			}
		}
		if flip && seg.Dst.Addr() != broadcast {
			s.Orig, s.Resp = s.Resp, s.Orig
			s.History.Flip()
		}
	}
	t.conns[k] = s
	t.arm(s, expireTimer, after(t.now, synTimeout))
	t.setInactivity(s, udpInactivity) // TCPAnalyzer::MakeSessionAdapter
	return s
}

var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// setInactivity is Connection::SetInactivityTimeout.
func (t *Tracker) setInactivity(s *Session, d time.Duration) {
	if d == s.inactivity {
		return
	}
	s.inactGen++
	s.inactivity = d
	t.arm(s, inactivityTimer, after(s.Last, d))
}

func (t *Tracker) remove(s *Session) {
	if s.removed {
		return
	}
	s.removed = true
	delete(t.conns, keyOf(s.Orig, s.Resp))
	t.done(s)
}

// The timers Zeek arms on a connection.
type timerKind uint8

const (
	attemptTimer    timerKind = iota // TCPSessionAdapter::AttemptTimer
	expireTimer                      // TCPSessionAdapter::ExpireTimer
	deleteTimer                      // TCPSessionAdapter::ConnDeleteTimer
	inactivityTimer                  // Connection::InactivityTimer
)

type timer struct {
	at   pcap.Time
	s    *Session
	kind timerKind
	gen  uint32
}

func (t *Tracker) arm(s *Session, kind timerKind, at pcap.Time) {
	if at == never {
		return // it can come due only at Close
	}
	gen := s.timerGen
	if kind == inactivityTimer {
		gen = s.inactGen
	}
	heap.Push(&t.timers, timer{at: at, s: s, kind: kind, gen: gen})
}

// fire runs a timer that came due.
func (t *Tracker) fire(tm timer) {
	s, h := tm.s, &tm.s.History
	switch tm.kind {
	case inactivityTimer:
		if tm.gen != s.inactGen {
			return
		}
		switch due := after(s.Last, s.inactivity); {
		case due == never:
		case due <= t.now:
			t.remove(s)
		default:
			t.arm(s, inactivityTimer, due)
		}
		return
	case deleteTimer:
		if tm.gen == s.timerGen {
			t.remove(s)
		}
		return
	}
	if tm.gen != s.timerGen || h.finished {
		return
	}
	o, r := h.orig(), h.resp()
	switch tm.kind {
	case attemptTimer:
		if (o.state == zSynSent || o.state == zSynAckSent) && r.state == zInactive {
			h.finished = true
			t.remove(s)
		}
	case expireTimer:
		if after(s.Last, connectionLinger) < t.now {
			if o.didClose || r.didClose {
				if o.didClose && r.didClose || o.state == zReset || r.state == zReset || o.state == zInactive || r.state == zInactive {
					h.finished = true
					t.remove(s)
					return
				}
			}
			if r.state == zInactive && o.state == zInactive {
				t.remove(s) // nothing ever happened on it
				return
			}
		}
		t.arm(s, expireTimer, after(t.now, sessionTimer))
	}
}

// never is a timer's time past the end of pcap.Time's range: it does not
// come due before Close. A capture's times can reach that end (the reader
// saturates those beyond it), and a timer there would come due at once,
// and again each time it was armed anew.
const never = pcap.Time(math.MaxInt64)

// after is t+d, or never past the end of time.
func after(t pcap.Time, d time.Duration) pcap.Time {
	if t >= never-pcap.Time(d) {
		return never
	}
	return t + pcap.Time(d)
}

// timerHeap orders timers by when they are due.
type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = timer{}
	*h = old[:len(old)-1]
	return x
}

// reuse is TCPSessionAdapter::IsReuse: whether a SYN on the ports of this
// connection starts a new one. A retransmitted SYN (the same ISN) does
// not; once either end has closed, any SYN does.
func (h *History) reuse(seg *wire.Segment) bool {
	if seg.HeaderLen < wire.TCPMinHeaderLen || !seg.Flags.Has(wire.SYN) {
		return false
	}
	o, r := h.orig(), h.resp()
	first := o // the end whose SYN the new one is compared with
	if seg.Flags.Has(wire.ACK) {
		if o.state != zInactive {
			return false // a SYN-ACK starts a new connection only on a half one
		}
		first = r
	}
	if !h.IsClosed() {
		isn := uint32(seg.Seq)
		if isn == first.startSeq {
			return false
		}
		if !seg.Flags.Has(wire.ACK) && first.state == zSynAckSent && r.state == zInactive && isn == r.startSeq {
			return false // a SYN seen after its SYN-ACK: Step flips the roles
		}
	}
	return true
}

// IsClosed says either end has closed, as Zeek takes it.
func (h *History) IsClosed() bool { return h.ends[0].didClose || h.ends[1].didClose }

// BothClosed says both ends have closed.
func (h *History) BothClosed() bool { return h.ends[0].didClose && h.ends[1].didClose }
