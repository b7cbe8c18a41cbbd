package analyze

import (
	"cmp"
	"errors"
	"math"
	"net/netip"
	"slices"
	"sync"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/flowhash"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// Parallel runs the analysis on several workers, each holding the
// connections of some of the shards (see Shards), for callers that need
// each connection as it ends rather than each segment as it comes. The
// caller's goroutine deals the frames: it finds each frame's connection
// endpoints without decoding the frame (wire.Locate), hashes them to a
// shard, and hands the frame to the worker holding that shard. A worker
// decodes its frames, finds their connections in its shards' tables and
// steps them; what it does with a connection that ends (End) it does on
// its own goroutine. One more goroutine merges the workers' logs into the
// capture's order and hands the connections on (Ended) numbered and
// ordered as Analyzer numbers and ends them, so that whatever the number
// of workers the results are the same.
//
// Frames travel in batches. Between them the workers share nothing: the
// only points where they wait are a batch's end (the merger waits for
// all of them) and the free batches (the dealer waits for the merger).
type Parallel[T any] struct {
	shards  int
	owner   []int // the worker of each shard
	workers []*pworker[T]
	work    []chan *pbatch[T]
	merge   chan *pbatch[T]
	free    chan *pbatch[T]
	merged  chan struct{}
	cur     *pbatch[T]

	ended func(*Ended[T])
	note  func(*Note)

	stable  bool
	release func(frame int)
	others  bool  // the workers listen to Hooks.Other
	keep    Shard // the connections analysed (Options.Shard); the others' segments are skipped

	Stats    Stats
	counter  frameCounter
	scratch  wire.Segment // Locate's
	lastScan pcap.Time    // the time of the latest expiry
	frames   int          // frames dealt, for the frame number of the end of the capture

	// the merger's: the IDs of the connections open
	ids      openIDs
	out      Ended[T] // what ended is handed, reused
	nextID   int
	replaced int // the ID of the connection a replacement at the current frame ended
	heads    []int
}

// Hooks are what a worker does with its segments and its connections.
type Hooks[T any] struct {
	// Segment, when set, is called for each of the worker's segments,
	// with its checksum verified and its result, on the worker's
	// goroutine. Its Conn's ID is not set: Ended gives the IDs.
	Segment func(*Segment)
	// End is called for each of the worker's connections as it ends, on
	// the worker's goroutine; what it returns is handed to Ended. The
	// connection's ID and Previous are not set, and what End returns
	// holds nothing of the connection itself, nor of its State: the table
	// reuses the state for another connection (conn.Table.ReuseEnded).
	End func(c *conn.Conn, why conn.EndReason) T
	// Freeze and Thaw, when set, are told of each of the worker's
	// connections as the table freezes its state and thaws it (see
	// conn.Table.Freezing), for a Segment that keeps state of its own
	// for each connection.
	Freeze, Thaw func(c *conn.Conn)
	// Other, when set, is told of each IPv4 segment of another worker's
	// connections (or of a connection of another Options.Shard) that
	// carries an IP ID and no RST, its sender and its IP ID, in the
	// capture's order among the worker's own segments: a host numbers
	// the packets of all its connections from one counter (Windows),
	// which a gap in one connection's IP IDs is read against.
	Other func(src netip.Addr, ipid uint16)
}

// Ended is a connection that ended, as Parallel hands it on: in the
// capture's order, one goroutine at a time.
type Ended[T any] struct {
	ID       int // numbered from 1 in the order connections first appear
	Previous int // the ID of the connection whose 4-tuple it took, 0 for none
	Why      conn.EndReason
	Value    T // what End made of it
}

// Note is what Parallel tells of each segment analysed, in the capture's
// order, between the connections that end around it: for a caller that
// keeps something across connections which every segment feeds (the
// TTLs of each host), and which a connection reads as it ends.
type Note struct {
	Frame     int // 0 for a frame that was not a segment
	Time      pcap.Time
	Src       netip.Addr
	TTL       uint8
	Flags     wire.Flags
	Duplicate bool // the same packet captured twice (event.DuplicateFrame)
}

// openIDs are the IDs of the connections open, by first frame. The
// merger hands out IDs in the order of first frames, so that appending
// keeps them sorted and a connection's entry is found by halving: a
// quarter of a map's memory (in a flood, 32,768 attempts held) and no
// hashing. Ended entries are holes (id 0) until they outnumber the open
// ones, and are then closed up, at a constant cost per entry.
type openIDs struct {
	list  []openID
	holes int
}

type openID struct{ first, id, previous int }

func (o *openIDs) add(e openID) { o.list = append(o.list, e) }

// take returns and forgets the entry of the connection first seen at
// frame first.
func (o *openIDs) take(first int) openID {
	i, ok := slices.BinarySearchFunc(o.list, first, func(e openID, first int) int { return cmp.Compare(e.first, first) })
	if !ok || o.list[i].id == 0 {
		return openID{}
	}
	e := o.list[i]
	o.list[i].id = 0
	if o.holes++; o.holes > max(len(o.list)-o.holes, 64) {
		o.list = slices.DeleteFunc(o.list, func(e openID) bool { return e.id == 0 })
		o.holes = 0
	}
	return e
}

// pbatch is frames on their way through the workers and the merger.
type pbatch[T any] struct {
	slots []pslot
	share [][]int32 // each worker's slots, in order
	ticks []ptick   // expiries, in order
	arena []byte    // the frames' bytes, when the caller's do not stay valid
	logs  [][]record
	vals  [][]T // each worker's End values, which its records index
	notes []Note
	// close ends the capture: the workers close their tables instead,
	// for the connections that first appeared before frame closeBefore.
	close       bool
	closeAt     int
	closeTime   pcap.Time
	closeBefore int
	syns        int // SYNs without ACK among the slots (see batchSYNs)
	wg          sync.WaitGroup
}

type pslot struct {
	f     pcap.Frame
	shard int // -1 for a frame with no segment: it is only counted
	// skip marks a segment of a connection of another Options.Shard: it
	// moves the clock, and is noted and told to Hooks.Other, but not
	// analysed.
	skip bool
	// For Hooks.Other: the segment's sender and IP ID, 0 when it tells
	// the other workers nothing (IPv6, no IP ID, an RST).
	src  netip.Addr
	ipid uint16
}

type ptick struct {
	slot int
	now  pcap.Time
}

const (
	closeShare  = 4096 // see Close
	batchFrames = 4096
	// batchSYNs ends a batch early: a SYN without ACK may end a
	// connection (in a flood, each evicts an attempt), whose End value
	// waits in the batch for the merger, a kilobyte and more for a
	// diagnosis; a flood's batches of 4,096 held 16,384 of them.
	batchSYNs  = 1024
	batchArena = 1 << 20
	batchesOut = 4 // batches dealt and not yet merged, at most
)

// NewParallel returns a Parallel of opts.Threads workers (at least one,
// at most the shards there are), each with the hooks hooks(i) makes.
// ended, on the merger's goroutine, receives every connection as it ends
// (the Ended is valid only during the call); note, when set, every
// segment, in the capture's order between them (a segment of another
// opts.Shard too, as Analyzer's OnSkip does).
func NewParallel[T any](opts Options, hooks func(worker int) Hooks[T], ended func(*Ended[T]), note func(*Note)) *Parallel[T] {
	n := Shards(opts.MaxConns)
	nw := min(max(opts.Threads, 1), n)
	p := &Parallel[T]{shards: n, owner: make([]int, n), ended: ended, note: note, keep: opts.Shard,
		merge: make(chan *pbatch[T], batchesOut), free: make(chan *pbatch[T], batchesOut),
		merged: make(chan struct{}), heads: make([]int, nw)}
	p.Stats.Links = map[pcap.LinkType]int{}
	// The shards that may hold connections of opts.Shard (all of them
	// without one: flowhash.Shard splits the hash's range evenly, so
	// shard K of N meets the shards from lo to hi) are spread evenly over
	// the workers; the others only ever see skipped segments.
	lo, hi := 0, n
	if k := opts.Shard; k.N > 1 {
		lo, hi = k.K*n/k.N, min((k.K+1)*n/k.N+1, n)
		if (k.K+1)*n%k.N == 0 {
			hi = (k.K + 1) * n / k.N
		}
	}
	for s := range p.owner {
		p.owner[s] = s % nw
		if s >= lo && s < hi {
			p.owner[s] = (s - lo) * nw / (hi - lo)
		}
	}
	for i := range nw {
		w := &pworker[T]{worker: newWorker(n, func(s int) bool { return p.owner[s] == i }, opts.MaxConns, new(Stats)), id: i, hooks: hooks(i), notes: note != nil}
		for _, t := range w.tables {
			if t != nil {
				t.Freezing, t.Thawing = w.hooks.Freeze, w.hooks.Thaw
				t.ReuseEnded = true // End keeps nothing of a connection (see Hooks)
			}
		}
		if w.hooks.End != nil {
			w.onEnd = func(c *conn.Conn, why conn.EndReason) int {
				w.vals = append(w.vals, w.hooks.End(c, why))
				return len(w.vals) - 1
			}
		}
		p.others = p.others || (w.hooks.Other != nil && (nw > 1 || opts.Shard.N > 1))
		p.workers = append(p.workers, w)
		ch := make(chan *pbatch[T], batchesOut)
		p.work = append(p.work, ch)
		go w.run(ch)
	}
	for range batchesOut {
		p.free <- p.newBatch()
	}
	p.cur = <-p.free
	go p.merger()
	return p
}

func (p *Parallel[T]) newBatch() *pbatch[T] {
	nw := len(p.workers)
	b := &pbatch[T]{slots: make([]pslot, 0, batchFrames), share: make([][]int32, nw),
		logs: make([][]record, nw), vals: make([][]T, nw)}
	if p.note != nil {
		b.notes = make([]Note, 0, batchFrames)
	}
	return b
}

// Stable says the caller's frames stay valid until released (a file
// mapped into memory), so that Add need not copy them; release, when
// set, is told as the analysis is done with the frames up to a number.
// Call it before the first Add.
func (p *Parallel[T]) Stable(release func(frame int)) {
	p.stable, p.release = true, release
}

// Add deals one frame. Unless Stable was called it copies its bytes.
func (p *Parallel[T]) Add(f *pcap.Frame) {
	p.counter.count(f, &p.Stats)
	p.frames = f.Number
	b := p.cur
	slot := pslot{f: *f, shard: -1}
	borrowed := !p.stable // the frame's bytes are the caller's until the next Add
	switch wire.Locate(f, &p.scratch) {
	case wire.AtSegment:
		p.place(&slot)
	case wire.AtFragment:
		// Put together here, so that the whole datagram goes to the
		// worker of its connection (frag.go).
		_ = wire.Decode(f, &p.scratch)
		whole, ok := p.counter.frags.add(f, &p.scratch)
		if !ok {
			p.Stats.Fragments++
			return
		}
		slot.f, borrowed = whole, false // in a buffer of its own
		if wire.Locate(&whole, &p.scratch) == wire.AtSegment {
			p.place(&slot)
		}
	}
	if borrowed {
		if len(b.arena)+len(slot.f.Data) > cap(b.arena) && len(b.slots) > 0 {
			p.send()
			b = p.cur
		}
		if b.arena == nil {
			b.arena = make([]byte, 0, max(batchArena, len(slot.f.Data)))
		}
		start := len(b.arena)
		b.arena = append(b.arena, slot.f.Data...)
		slot.f.Data = b.arena[start:len(b.arena):len(b.arena)]
	}
	i := len(b.slots)
	w := f.Number % len(p.workers)
	if slot.shard >= 0 {
		w = p.owner[slot.shard]
		if f.Time.Sub(p.lastScan) >= conn.ExpireEvery {
			p.lastScan = f.Time
			b.ticks = append(b.ticks, ptick{slot: i, now: f.Time})
		}
	}
	b.slots = append(b.slots, slot)
	b.share[w] = append(b.share[w], int32(i))
	if slot.shard >= 0 && p.scratch.Flags&(wire.SYN|wire.ACK) == wire.SYN {
		b.syns++
	}
	if len(b.slots) == batchFrames || b.syns == batchSYNs {
		p.send()
	}
}

// place notes in slot the shard of the segment just located, whether
// it is of another Options.Shard, and what Hooks.Other tells of it.
func (p *Parallel[T]) place(slot *pslot) {
	a, b := p.scratch.Src, p.scratch.Dst
	if p.keep.N > 1 {
		h := hashOf(a, b)
		slot.shard = flowhash.Shard(h, p.shards)
		slot.skip = flowhash.Shard(h, p.keep.N) != p.keep.K
	} else {
		slot.shard = shardOf(a, b, p.shards)
	}
	if p.others && p.scratch.IPVersion == 4 && p.scratch.IPID != 0 && !p.scratch.Flags.Has(wire.RST) {
		slot.src, slot.ipid = p.scratch.Src.Addr(), p.scratch.IPID
	}
}

// send hands the current batch to the workers and the merger.
func (p *Parallel[T]) send() {
	b := p.cur
	if b.notes != nil {
		b.notes = b.notes[:len(b.slots)] // each worker fills its frames'
	}
	b.wg.Add(len(p.workers))
	for _, ch := range p.work {
		ch <- b
	}
	p.merge <- b
	p.cur = <-p.free
}

// Close ends the capture: the workers end every connection still open,
// and Close returns once Ended has been called for the last of them.
func (p *Parallel[T]) Close() {
	if len(p.cur.slots) > 0 {
		p.send()
	}
	p.counter.flushLinks(&p.Stats)
	// closeShare connections at a time, the earliest first, so that the
	// merger hands on the connections still open a share at a time
	// rather than all of them at once: what End made of them waits for
	// it meanwhile (a flood leaves 32,768 attempts open, all of them
	// among the capture's last frames).
	firsts := p.openFirstFrames()
	slices.Sort(firsts)
	for i := closeShare; ; i += closeShare {
		b := p.cur
		b.close, b.closeAt, b.closeTime = true, p.frames+1, p.Stats.Last
		b.closeBefore = math.MaxInt
		if i < len(firsts) {
			b.closeBefore = firsts[i]
		}
		p.send()
		if i >= len(firsts) {
			break
		}
	}
	for _, ch := range p.work {
		close(ch)
	}
	close(p.merge)
	<-p.merged
	for _, w := range p.workers {
		st := w.stats
		p.Stats.Segments += st.Segments
		p.Stats.NotTCP += st.NotTCP
		p.Stats.Malformed += st.Malformed
		p.Stats.Conns += st.Conns
		p.Stats.Skipped += st.Skipped
	}
}

// openFirstFrames returns the first frames of the connections the
// workers hold, once they have analysed every batch dealt.
func (p *Parallel[T]) openFirstFrames() []int {
	// Every batch but the current one back from the merger: the workers
	// are done with them, and wait for the next.
	back := make([]*pbatch[T], 0, batchesOut-1)
	for range batchesOut - 1 {
		back = append(back, <-p.free)
	}
	var firsts []int
	for _, w := range p.workers {
		for _, t := range w.tables {
			if t != nil {
				firsts = t.FirstFrames(firsts)
			}
		}
	}
	for _, b := range back {
		p.free <- b
	}
	return firsts
}

// Counts are the connection tables' counts, once closed.
func (p *Parallel[T]) Counts() TableCounts {
	var c TableCounts
	for _, w := range p.workers {
		w.counts(&c)
	}
	return c
}

// merger merges each batch's logs, in order, and recycles the batch.
func (p *Parallel[T]) merger() {
	defer close(p.merged)
	for b := range p.merge {
		b.wg.Wait()
		p.mergeBatch(b)
		if n := len(b.slots); p.release != nil && n > 0 {
			p.release(b.slots[n-1].f.Number)
		}
		b.slots, b.ticks, b.arena = b.slots[:0], b.ticks[:0], b.arena[:0]
		for w := range b.share {
			b.share[w] = b.share[w][:0]
			clear(b.logs[w]) // the connections may be long gone before the batch is used again
			b.logs[w] = b.logs[w][:0]
			clear(b.vals[w])
			b.vals[w] = b.vals[w][:0]
		}
		if b.notes != nil {
			clear(b.notes)
			b.notes = b.notes[:0]
		}
		b.close, b.syns = false, 0
		p.free <- b
	}
}

// mergeBatch hands on what the workers logged for batch b in the
// capture's order: the records of each frame, then its note.
func (p *Parallel[T]) mergeBatch(b *pbatch[T]) {
	clear(p.heads)
	if p.note == nil {
		p.mergeUpTo(b, -1)
		return
	}
	next := p.mergeUpTo(b, 0) // the frame of the first record
	for i := range b.notes {
		n := &b.notes[i]
		if n.Frame == 0 {
			continue
		}
		if n.Frame >= next {
			next = p.mergeUpTo(b, n.Frame)
		}
		p.note(n)
	}
	p.mergeUpTo(b, -1)
}

// mergeUpTo hands on the records of b at frames up to frame (all of them
// for -1), the earliest first across the workers' logs, and returns the
// frame of the next record (math.MaxInt for none).
func (p *Parallel[T]) mergeUpTo(b *pbatch[T], frame int) int {
	for {
		best := -1
		for w, log := range b.logs {
			if h := p.heads[w]; h < len(log) && (best < 0 || log[h].before(&b.logs[best][p.heads[best]])) {
				best = w
			}
		}
		if best < 0 {
			return math.MaxInt
		}
		r := &b.logs[best][p.heads[best]]
		if frame >= 0 && r.frame > frame {
			return r.frame
		}
		p.heads[best]++
		if r.created {
			e := openID{first: r.first, id: p.nextID + 1}
			p.nextID++
			if r.replaces {
				e.previous = p.replaced
			}
			p.ids.add(e)
			continue
		}
		e := p.ids.take(r.first)
		if r.why == conn.EndReplaced {
			p.replaced = e.id
		}
		// One Ended for all: handed to a function value, each would
		// escape, and a flood ends a connection per frame (a diagnosis's
		// Ended is a kilobyte).
		p.out = Ended[T]{ID: e.id, Previous: e.previous, Why: r.why}
		if vals := b.vals[best]; r.val < len(vals) {
			p.out.Value = vals[r.val]
		}
		p.ended(&p.out)
		p.out = Ended[T]{} // what it holds is the caller's to forget
	}
}

// pworker is a worker on a goroutine of its own.
type pworker[T any] struct {
	*worker
	id    int
	hooks Hooks[T]
	vals  []T
	out   Segment
	notes bool
}

func (w *pworker[T]) run(in <-chan *pbatch[T]) {
	for b := range in {
		w.log, w.vals = b.logs[w.id], b.vals[w.id]
		if b.close {
			w.close(b.closeAt, b.closeTime, b.closeBefore)
		} else {
			w.batch(b)
		}
		b.logs[w.id], b.vals[w.id] = w.log, w.vals
		w.log, w.vals = nil, nil
		b.wg.Done()
	}
}

// batch analyses the worker's frames of b, expiring idle connections
// where the dealer said.
func (w *pworker[T]) batch(b *pbatch[T]) {
	ticks := b.ticks
	told := 0 // the slots before it are told to Hooks.Other
	for _, i := range b.share[w.id] {
		told = w.tellOthers(b, told, int(i)) + 1
		for len(ticks) > 0 && ticks[0].slot < int(i) {
			w.expire(b.slots[ticks[0].slot].f.Number, ticks[0].now)
			ticks = ticks[1:]
		}
		w.frame(b, int(i))
		if len(ticks) > 0 && ticks[0].slot == int(i) {
			w.expire(b.slots[i].f.Number, ticks[0].now)
			ticks = ticks[1:]
		}
	}
	w.tellOthers(b, told, len(b.slots))
	for _, t := range ticks {
		w.expire(b.slots[t.slot].f.Number, t.now)
	}
}

// tellOthers tells Hooks.Other of the other workers' segments among slots
// from to to of b, and returns to.
func (w *pworker[T]) tellOthers(b *pbatch[T], from, to int) int {
	if w.hooks.Other == nil {
		return to
	}
	for i := from; i < to; i++ {
		if sl := &b.slots[i]; sl.ipid != 0 && (sl.skip || w.tables[sl.shard] == nil) {
			w.hooks.Other(sl.src, sl.ipid)
		}
	}
	return to
}

// frame analyses slot i of b.
func (w *pworker[T]) frame(b *pbatch[T], i int) {
	slot := &b.slots[i]
	f, s := &slot.f, &w.seg
	if slot.skip {
		w.skip(b, i)
		return
	}
	err := wire.Decode(f, s)
	if !w.counted(s, err) || slot.shard < 0 {
		if w.hooks.Segment != nil && err != nil && s.TCP == nil && !errors.Is(err, wire.ErrNotTCP) && !errors.Is(err, wire.ErrFragment) {
			// A TCP header that cannot be read: a segment tied to no
			// connection, as Analyzer hands it on.
			w.res = tcp.Result{BytesInFlight: -1, WindowScaled: -1, Changes: w.res.Changes[:0]}
			w.res.Analysis.Add(event.Malformed)
			w.out = Segment{Frame: f, Seg: s, Err: err, Result: &w.res}
			w.hooks.Segment(&w.out)
		}
		return
	}
	c, end := w.lookup(f, s, slot.shard)
	var in tcp.Input
	if w.hooks.Segment != nil {
		in = input(f, s)
	} else {
		// No one sees the segment's own result, and of it only its
		// bad_checksum flag depends on the checksum: on whole frames
		// that spares a pass over every byte.
		in = tcp.Input{Seg: s, Frame: f.Number, Time: f.Time}
	}
	c.Step(end, &in, &w.res)
	if err != nil {
		w.res.Analysis.Add(event.Malformed)
	}
	if w.hooks.Segment != nil {
		w.out = Segment{Frame: f, Seg: s, Err: err, Conn: c, End: end, Dir: c.DirOf(end), Result: &w.res}
		w.hooks.Segment(&w.out)
	}
	if w.notes {
		b.notes[i] = Note{Frame: f.Number, Time: f.Time, Src: s.Src.Addr(), TTL: s.TTL, Flags: s.Flags,
			Duplicate: w.res.Analysis.Has(event.DuplicateFrame)}
	}
}

// skip counts slot i of b, a segment of another Options.Shard's
// connection, notes it and tells Hooks.Other of it: what a run of every
// shard learns of its sender across connections.
func (w *pworker[T]) skip(b *pbatch[T], i int) {
	slot := &b.slots[i]
	w.stats.Skipped++
	if w.notes {
		s := &w.seg
		if err := wire.Decode(&slot.f, s); s.TCP != nil || err == nil {
			b.notes[i] = Note{Frame: slot.f.Number, Time: slot.f.Time, Src: s.Src.Addr(), TTL: s.TTL, Flags: s.Flags}
		}
	}
	if slot.ipid != 0 && w.hooks.Other != nil {
		w.hooks.Other(slot.src, slot.ipid)
	}
}
