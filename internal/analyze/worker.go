package analyze

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/flowhash"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// The connections are spread over shards by the symmetric flow hash of
// their endpoints (flowhash, the hash export's --shard uses), each shard a
// table of its own with its share of the caps. How many shards there are
// depends on the cap alone, never on how many cores analyse them, so the
// connections, and every output, are the same whatever the number of
// threads: one worker holds all the shards, or each of N workers holds
// some. A worker writes what happens to connections as a whole (one first
// seen, one ending) to a log, each entry placed in the capture by the
// frame it happened at; the logs of all workers, merged in that order,
// are what one table would have done: connections numbered in the order
// they first appear, and ended in the order one table ends them.

// MaxShards is the most shards the connections are spread over: the most
// workers, and cores, the analysis can use.
const MaxShards = 64

// minShardConns is the least a shard holds under the connection cap: a
// small cap (--max-conns) makes fewer shards, so that a table of a few
// connections is not split into tables of none.
const minShardConns = 1 << 14

// Shards returns how many shards the analysis spreads connections over
// under a cap of maxConns (0 for conn.DefaultMaxConns): MaxShards by
// default.
func Shards(maxConns int) int {
	if maxConns <= 0 {
		maxConns = conn.DefaultMaxConns
	}
	n := MaxShards
	for n > 1 && maxConns/n < minShardConns {
		n /= 2
	}
	return n
}

// shardOf returns the shard, of n, of the connection between a and b.
func shardOf(a, b netip.AddrPort, n int) int {
	if n == 1 {
		return 0
	}
	return flowhash.Shard(hashOf(a, b), n)
}

// hashOf is flowhash.Of, by its IPv4 fast path where it can.
func hashOf(a, b netip.AddrPort) uint64 {
	if x, y := a.Addr(), b.Addr(); x.Is4() && y.Is4() {
		x4, y4 := x.As4(), y.As4()
		return flowhash.Of4(binary.BigEndian.Uint32(x4[:]), a.Port(), binary.BigEndian.Uint32(y4[:]), b.Port())
	}
	return flowhash.Of(a, b)
}

// phase orders what happens at one frame.
type phase uint8

const (
	atLookup phase = iota // while its segment's connection is found: replaced, evicted, created
	atExpire              // the idle connections expired after that
	atClose               // the end of the capture
)

// record is one entry of a worker's log: a connection first seen
// (created), or one that ended and why. The merger knows a connection by
// its first frame: c is nil in a Parallel's log, whose End has made what
// it needs of the connection, so that connections ended in the batches on
// their way to the merger can be freed (in a flood, thousands a batch).
type record struct {
	c        *conn.Conn
	first    int  // the connection's first frame
	replaces bool // created: it took the 4-tuple of the connection a replacement at this frame ended
	frame    int  // the frame it happened at
	phase    phase
	key      int // the order among records of one frame and phase, by ending: last frame (atExpire), first frame (atClose)
	why      conn.EndReason
	created  bool
	val      int // the index of what onEnd made of an ending, among the worker's
}

// before is the order of records in the capture.
func (r *record) before(o *record) bool {
	if r.frame != o.frame {
		return r.frame < o.frame
	}
	if r.phase != o.phase {
		return r.phase < o.phase
	}
	return r.key < o.key
}

// worker analyses the frames of the connections of some shards.
type worker struct {
	tables []*conn.Table // by shard; nil for the shards of other workers
	seg    wire.Segment
	res    tcp.Result
	stats  *Stats // what it counts there: Segments, NotTCP, Malformed, Conns
	log    []record
	at     int // the frame the table's next ending happens at
	phase  phase
	// onEnd, when set, is told of each connection as it ends, as its
	// ending is logged; it returns the index of what it made of it, and
	// the log keeps no connection.
	onEnd func(c *conn.Conn, why conn.EndReason) int
}

// newWorker returns a worker for the shards (of nshards) that own
// accepts, each with its share of a cap of maxConns connections, counting
// into st.
func newWorker(nshards int, own func(shard int) bool, maxConns int, st *Stats) *worker {
	if maxConns <= 0 {
		maxConns = conn.DefaultMaxConns
	}
	w := &worker{tables: make([]*conn.Table, nshards), stats: st}
	w.res.Changes = make([]tcp.Change, 0, 8)
	for i := range w.tables {
		if own(i) {
			t := conn.NewTable(maxConns/nshards, w.ended)
			t.MaxAttempts = max(conn.DefaultMaxAttempts/nshards, 1)
			w.tables[i] = t
		}
	}
	return w
}

func (w *worker) ended(c *conn.Conn, why conn.EndReason) {
	key := 0
	switch w.phase {
	case atExpire:
		key = c.LastFrame
	case atClose:
		key = c.FirstFrame
	}
	r := record{c: c, first: c.FirstFrame, frame: w.at, phase: w.phase, key: key, why: why}
	if w.onEnd != nil {
		r.val = w.onEnd(c, why)
		r.c = nil
	}
	w.log = append(w.log, r)
}

// counted counts a frame Decode (and fragment reassembly) has decoded
// into s with err, and says whether it holds a segment to analyse: a TCP
// header, even if something after it is malformed.
func (w *worker) counted(s *wire.Segment, err error) bool {
	switch {
	case err == nil:
	case errors.Is(err, wire.ErrNotTCP):
		w.stats.NotTCP++
		return false
	default:
		w.stats.Malformed++
		if s.TCP == nil {
			return false
		}
	}
	return true
}

// lookup finds the connection of segment s of frame f in shard sh,
// logging its creation.
func (w *worker) lookup(f *pcap.Frame, s *wire.Segment, sh int) (*conn.Conn, int) {
	w.at, w.phase = f.Number, atLookup
	w.stats.Segments++
	t := w.tables[sh]
	t.Frame = f.Number
	c, end := t.Lookup(s, f.Time)
	if c.Segments == 1 {
		w.stats.Conns++
		r := record{c: c, first: f.Number, frame: f.Number, phase: atLookup, created: true, replaces: c.Replaces}
		if w.onEnd != nil {
			r.c = nil
		}
		w.log = append(w.log, r)
	}
	return c, end
}

// expire expires the idle connections of the worker's tables after frame
// n (of time now), logging them in the order one table would end them:
// the least recently seen first.
func (w *worker) expire(n int, now pcap.Time) {
	w.at, w.phase = n, atExpire
	from := len(w.log)
	for _, t := range w.tables {
		if t != nil {
			t.Expire(now)
		}
	}
	sortRecords(w.log[from:])
}

// close ends the capture (after frame n, at time now: its last frame's)
// for the connections that first appeared before frame before, logging
// them in the order they first appeared.
func (w *worker) close(n int, now pcap.Time, before int) {
	w.at, w.phase = n, atClose
	from := len(w.log)
	for _, t := range w.tables {
		if t != nil {
			t.CloseBefore(now, before)
		}
	}
	sortRecords(w.log[from:])
}

// sortRecords sorts the endings of one phase of one frame by their key.
// Each table's are in order already; a worker with several tables merges
// them here (a stable sort keeps one table's in its order).
func sortRecords(rs []record) {
	if len(rs) > 1 {
		slices.SortStableFunc(rs, func(a, b record) int { return a.key - b.key })
	}
}

// counts sums the tables' counts.
func (w *worker) counts(into *TableCounts) {
	for _, t := range w.tables {
		if t == nil {
			continue
		}
		into.Len += t.Len()
		into.Evicted += t.Evicted
		into.Expired += t.Expired
		into.Replaced += t.Replaced
		into.EvictedAttempts += t.EvictedAttempts
		into.MaxAttempts += t.MaxAttempts
		into.Frozen += t.Frozen
		into.Thawed += t.Thawed
	}
}

// TableCounts are the connection tables' counts, summed over shards.
type TableCounts struct {
	Len int // connections held
	// Evicted counts connections pushed out by either cap (--max-conns,
	// and the attempts' cap, which EvictedAttempts counts alone);
	// Expired those gone idle; Replaced those whose 4-tuple a new
	// connection took.
	Evicted, Expired, Replaced, EvictedAttempts int
	MaxAttempts                                 int // attempts held at most, over all shards
	// Frozen and Thawed count the times a connection's state was frozen
	// and thawed (see conn.DefaultFreezeIdle).
	Frozen, Thawed int
}
