package compare

import (
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
)

// flowMatch is the matcher's part of a flow.
type flowMatch struct {
	pair  *pair
	loose []int64 // ring indices of its segments in the loose index, in arrival order
	held  int     // its segments in the ring
	ended bool    // the reader let it go
	lone  *lone   // what was judged of it while it had no pair
	done  bool    // reported
	side  Side    // the point it was seen at
}

// pair is a connection seen at both points: A's flow and B's.
type pair struct {
	flow [2]*flow // by Side
	// local[side][d] is the direction, in that side's flow roles, of the
	// pair's direction d: the roles of the side whose handshake decided
	// them name the pair's directions.
	local [2][2]conn.Dir
	// delta[d] is B's sequence number minus A's for direction d, known
	// once a segment of d (or one acknowledging it) matched.
	delta       [2]uint32
	deltaSet    [2]bool
	deltaFrames [2][2]int // the copies (at A, at B) that fixed each offset
	// rewrites[d] says what the path rewrites in direction d, as the
	// direction's first copies show: the IP ID and the timestamps tell
	// copies apart only where the path keeps them.
	rewrites [2]struct{ ipid, ts bool }
	// q[side][d] holds that side's segments of direction d waiting for
	// their copy, in arrival order; limbo those a later copy passed
	// (lost, or overtaken).
	q, limbo [2][2]queue
	dir      [2]dirState
	events   []event
	outside  [2]int
	trace    *Trace
	// hs holds when each point saw the first SYN and SYN-ACK matched
	// (on A's clock), for the handshake's round trip.
	hs struct{ syn, synAck [2]pcap.Time }
	// first is when the first copies matched (A's clock).
	first pcap.Time
}

// pdir is the pair's direction of a segment sent in local direction d of
// side's flow.
func (p *pair) pdir(side Side, d conn.Dir) conn.Dir {
	if p.local[side][0] == d {
		return 0
	}
	return 1
}

// dirState is what the matcher keeps of one direction of a pair.
type dirState struct {
	matched int
	delay   welford // of the raw difference B time - A time
	hops    intRange
	// maxEnd[side] is the highest sequence number the sender's data
	// reached at that point, to tell a retransmission.
	maxEnd    [2]seq.Num
	maxEndSet [2]bool
	// ackHigh[side] is the highest acknowledgment of this direction's
	// data seen at that point (in its own numbering).
	ackHigh    [2]seq.Num
	ackHighSet [2]bool
	// The latest match's A and B segment places (ord), and the one with
	// the highest A place, to tell reordering.
	topA, topB uint32
	topFrames  [2]int
	// sender[side] is what the sender's matched segments carried at
	// that point: their TTL and IP ID, to compare an injected one with.
	senderTTL  [2]uint8
	senderIPID [2]uint16
	senderSet  [2]bool
	rewrites   []rewrite
}

// copyID is what makes two captured frames one and the same packet.
type copyID struct {
	set        bool
	seq, ack   seq.Num
	tsval      uint32
	plen       uint32
	phash      uint64
	ipid, win  uint16
	flags      uint16
	frame      int // at this point
	otherFrame int // its copy's, at the other point
	ord        uint32
}

func copyOf(s *seg) copyID {
	return copyID{set: true, seq: s.seq, ack: s.ack, tsval: s.opt.tsval, plen: s.plen, phash: s.phash,
		ipid: s.ipid, win: s.win, flags: uint16(s.flags), frame: s.frame, otherFrame: s.mate, ord: s.ord}
}

func (c *copyID) same(s *seg) bool {
	return c.set && c.seq == s.seq && c.ack == s.ack && c.tsval == s.opt.tsval && c.plen == s.plen &&
		c.phash == s.phash && c.ipid == s.ipid && c.win == s.win && c.flags == uint16(s.flags)
}

// rewrite accumulates one kind of difference between copies.
type rewrite struct {
	kind   Kind
	option string
	// has says which point the option was present at, for options
	// present at one point only.
	has    Side
	n      int
	frames [2][]int
	time   pcap.Time
	a, b   string // the values at A and at B, first seen
	nopped bool   // the option's bytes became NOPs (the options area kept its length)
}

// maxRewriteFrames is how many example frames a rewrite keeps.
const maxRewriteFrames = 5

// event is a segment judged alone, or a pattern between copies, waiting
// to become an Item when its connection is reported.
type event struct {
	kind   Kind
	dir    conn.Dir // the pair's
	side   Side     // where the segments were seen (for lost and injected), downstream (duplicated)
	segs   []evSeg
	count  int
	more   int
	time   pcap.Time
	lastOr uint32 // ord of the last segment, to extend a run
	// For reordered: the copies overtaken.
	other []evSeg
	// For a duplicate: the single copy at the other point.
	orig int
}

// evSeg is what the words need of one segment.
type evSeg struct {
	frame        int
	flags        uint16
	relSeq       uint32
	relAck       uint32
	plen         uint32
	ttl          uint8
	ipid         uint16
	resent       int // frame of the resend at the same point, 0 if none
	resentMate   int // the resend's copy at the other point, 0 if none
	acknowledged bool
}

// maxEventFrames bounds the frames an event lists.
const maxEventFrames = 100

// maxEvents bounds the events a pair keeps: past it, each is counted on
// the last of its kind and direction (one of each is kept).
const maxEvents = 1000

// addEvent keeps an event, or counts it once the pair holds maxEvents.
func (p *pair) addEvent(e event) {
	if len(p.events) < maxEvents {
		p.events = append(p.events, e)
		return
	}
	for k := len(p.events) - 1; k >= 0; k-- {
		if l := &p.events[k]; l.kind == e.kind && l.dir == e.dir {
			l.count += e.count
			l.more += e.count
			return
		}
	}
	p.events = append(p.events, e) // the first of its kind and direction: a few more at most
}

// lone is what was judged of a flow that never paired.
type lone struct {
	n       [2]int // segments by local direction
	outside int    // of them, seen while the other capture was not running
	frames  [2][]int
	first   pcap.Time
	segs    [2][]evSeg // the first of each direction, for the words
}

// welford keeps the count, mean, variance, minimum and maximum of a
// series in constant memory (Welford's method).
type welford struct {
	n                  int
	mean, m2           float64
	min, max           int64
	minFrames, maxFrms [2]int
}

func (w *welford) add(v int64, fa, fb int) {
	w.n++
	d := float64(v) - w.mean
	w.mean += d / float64(w.n)
	w.m2 += d * (float64(v) - w.mean)
	if w.n == 1 || v < w.min {
		w.min, w.minFrames = v, [2]int{fa, fb}
	}
	if w.n == 1 || v > w.max {
		w.max, w.maxFrms = v, [2]int{fa, fb}
	}
}

// intRange is the range of an integer series.
type intRange struct {
	n        int
	min, max int
}

func (r *intRange) add(v int) {
	if r.n == 0 || v < r.min {
		r.min = v
	}
	if r.n == 0 || v > r.max {
		r.max = v
	}
	r.n++
}
