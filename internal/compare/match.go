package compare

import (
	"hash/maphash"
	"math"
	"slices"
	"time"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// Options tune a comparison.
type Options struct {
	// Window is how long a segment waits for its copy at the other
	// point, on A's clock: longer than the path's delay and reordering.
	// 0 means DefaultWindow.
	Window time.Duration
	// ClockOffset is B's clock minus A's, used when ClockKnown (zero for
	// two captures stamped by one host's clock); otherwise it is
	// estimated.
	ClockOffset time.Duration
	ClockKnown  bool
	// Trace, when set, says which connections to trace for the two-lane
	// ladder, by their IDs at A and at B (0 where a point did not see
	// it). TraceLimit bounds each trace's steps (0: DefaultTraceLimit).
	Trace      func(a, b int) bool
	TraceLimit int
}

// Defaults.
const (
	DefaultWindow     = 2 * time.Second
	DefaultTraceLimit = 2000
	// bootSegments is how many segments of each point the clock
	// estimate reads before the comparison starts.
	bootSegments = 20000
)

// Run compares the frames of two capture points. It calls onConn for
// each connection once both points are done with it (the connection left
// both captures' tables and its last segment's window passed), and returns
// what it found across the captures.
func Run(a, b Source, o Options, onConn func(*Conn)) *Summary {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.TraceLimit <= 0 {
		o.TraceLimit = DefaultTraceLimit
	}
	m := &matcher{o: o, onConn: onConn, window: pcap.Time(o.Window)}
	m.sum.Window = o.Window
	for i := range m.loose {
		m.loose[i] = make(map[uint64][]int64)
	}
	var st [2]*stream
	for i, src := range []Source{a, b} {
		r := newReader(Side(i), src)
		go r.run()
		st[i] = &stream{r: r}
	}
	m.fin = make(chan finishJob, 1024)
	finished := make(chan struct{})
	go m.finisher(finished)
	st[A].boot(bootSegments)
	st[B].boot(bootSegments)
	m.theta = o.ClockOffset
	m.sum.ClockGiven = o.ClockKnown
	est := estimateClock(st[A].booted(), st[B].booted())
	if !o.ClockKnown {
		m.theta = est.offset
	}
	m.sum.ClockOffset, m.sum.ClockSamples = m.theta, est.samples
	m.bootSide, m.bootSideKnown = est.clientSide, est.sideKnown

	for {
		sa, sb := st[A].peek(), st[B].peek()
		if sa == nil && sb == nil {
			break
		}
		x := A
		if sa == nil || sb != nil && sb.at-pcap.Time(m.theta) < sa.at {
			x = B
		}
		s := st[x].peek()
		m.process(x, s)
		st[x].advance()
		if st[x].peek() == nil {
			m.span[x].done = true
		}
	}
	m.now = math.MaxInt64
	m.settle()
	m.expire()
	close(m.fin)
	<-finished
	for i, s := range st {
		m.sum.Points[i] = s.r.stats
	}
	m.finishSummary()
	return &m.sum
}

// stream is one point's segments as the matcher takes them: first those
// read ahead for the clock estimate, then the reader's batches.
type stream struct {
	r     *reader
	pre   [][]seg // batches read ahead
	batch []seg
	pos   int
	done  bool
}

// boot reads ahead until n segments (or the end).
func (s *stream) boot(n int) {
	for got := 0; got < n; {
		b, ok := <-s.r.out
		if !ok {
			break
		}
		s.pre = append(s.pre, b)
		got += len(b)
	}
}

// booted returns the segments read ahead.
func (s *stream) booted() []*seg {
	var out []*seg
	for _, b := range s.pre {
		for i := range b {
			if b[i].kind == kindSeg {
				out = append(out, &b[i])
			}
		}
	}
	return out
}

func (s *stream) peek() *seg {
	for s.pos >= len(s.batch) {
		if s.done {
			return nil
		}
		if s.batch != nil {
			select {
			case s.r.free <- s.batch:
			default:
			}
			s.batch = nil
		}
		s.pos = 0
		if len(s.pre) > 0 {
			s.batch, s.pre = s.pre[0], s.pre[1:]
			continue
		}
		b, ok := <-s.r.out
		if !ok {
			s.done = true
			return nil
		}
		s.batch = b
	}
	return &s.batch[s.pos]
}

func (s *stream) advance() { s.pos++ }

// matcher pairs the two points' segments.
type matcher struct {
	o      Options
	onConn func(*Conn)
	window pcap.Time
	theta  time.Duration // B's clock minus A's
	now    pcap.Time     // on A's clock: the latest segment's
	ring   [2]ring
	loose  [2]map[uint64][]int64
	span   [2]struct {
		first, last pcap.Time // on A's clock
		started     bool
		done        bool
	}
	// bootSide is the estimate's answer to which point is nearer the
	// clients; votes counts the connections that decided it themselves.
	bootSide      Side
	bootSideKnown bool
	votes         [2]int
	paths         [2]pathAcc // by physical direction: A to B, B to A
	unsettled     []unsettled
	fin           chan finishJob // to the finisher
	sum           Summary
}

// process takes the next segment in merged order.
func (m *matcher) process(x Side, in *seg) {
	if x == B {
		in.at -= pcap.Time(m.theta)
	}
	if in.at > m.now {
		m.now = in.at
		m.settle()
		m.expire()
	}
	if in.kind == kindEnd {
		in.flow.m.ended = true
		m.maybeFinish(in.flow)
		return
	}
	sp := &m.span[x]
	if !sp.started {
		sp.first, sp.started = in.at, true
	}
	sp.last = max(sp.last, in.at)
	i := m.ring[x].push(in)
	s := m.ring[x].at(i)
	f := s.flow
	f.m.held++
	f.m.side = x
	if p := f.m.pair; p != nil {
		m.traceStep(p, x, s)
		m.arrive(x, i)
		return
	}
	m.arriveLoose(x, i)
}

// looseKey is what a path keeps of a segment of a connection not yet
// paired: no address, port or sequence number.
func looseKey(s *seg) uint64 {
	var b [16]byte
	b[0], b[1] = byte(s.flags&coreFlags), byte(s.plen)
	b[2], b[3], b[4] = byte(s.plen>>8), byte(s.plen>>16), byte(s.win)
	b[5], b[6], b[7] = byte(s.win>>8), byte(s.ipid), byte(s.ipid>>8)
	if s.v6 {
		b[8] = 1
	}
	return maphash.Bytes(hashSeed, b[:9])
}

// maxLooseScan bounds the candidates a segment of an unpaired connection
// is compared with: a flood of SYNs alike in all but their addresses.
const maxLooseScan = 64

func (m *matcher) arriveLoose(x Side, i int64) {
	s := m.ring[x].at(i)
	y := x.Other()
	k := looseKey(s)
	if j, ok := m.pickLoose(s, y, k); ok {
		m.pairUp(x, i, y, j)
		return
	}
	m.loose[x][k] = append(m.loose[x][k], i)
	s.inLoose = true
	s.flow.m.loose = append(s.flow.m.loose, i)
}

// pickLoose finds s's copy among the other point's segments of unpaired
// connections with the same loose key.
func (m *matcher) pickLoose(s *seg, y Side, k uint64) (int64, bool) {
	chain := m.loose[y][k]
	best, bestScore := int64(-1), math.MinInt
	var bestGap pcap.Time
	for n, ci := 0, len(chain)-1; ci >= 0 && n < maxLooseScan; ci-- {
		j := chain[ci]
		if !m.ring[y].holds(j) {
			continue
		}
		n++
		c := m.ring[y].at(j)
		if c.state != pending || c.flow.m.pair != nil || !looseAlike(s, c) {
			continue
		}
		score, ok := looseScore(s, c)
		if !ok {
			continue
		}
		gap := s.at - c.at
		if gap < 0 {
			gap = -gap
		}
		if score > bestScore || score == bestScore && gap < bestGap {
			best, bestScore, bestGap = j, score, gap
		}
	}
	return best, best >= 0
}

// looseAlike checks what the key hashed.
func looseAlike(s, c *seg) bool {
	return s.flags&coreFlags == c.flags&coreFlags && s.plen == c.plen && s.win == c.win &&
		s.ipid == c.ipid && s.v6 == c.v6 && samePayload(s, c)
}

// looseScore says how much more than the key two segments share: NAT
// rewrites some addresses and ports, never all; a sequence-randomising
// firewall leaves the timestamps. It refuses a pair of segments whose
// handshakes name them as sent in opposite directions.
func looseScore(s, c *seg) (int, bool) {
	fs, fc := s.flow, c.flow
	if fs.role == conn.RoleSYN && fc.role == conn.RoleSYN && s.dir != c.dir {
		return 0, false
	}
	score := 0
	ss, sd := fs.endpoint(s.dir), fs.endpoint(1-s.dir)
	cs, cd := fc.endpoint(c.dir), fc.endpoint(1-c.dir)
	if ss.Addr() == cs.Addr() {
		score += 2
	}
	if ss.Port() == cs.Port() {
		score++
	}
	if sd.Addr() == cd.Addr() {
		score += 2
	}
	if sd.Port() == cd.Port() {
		score++
	}
	if has(s.opt.present, wire.HasTimestamps) && has(c.opt.present, wire.HasTimestamps) {
		if s.opt.tsval == c.opt.tsval {
			score += 4
		} else {
			score -= 4
		}
	}
	if s.seq == c.seq {
		score += 2
	}
	if s.flags.Has(wire.ACK) && s.ack == c.ack {
		score++
	}
	if payloadKnown(s, c) >= headLen {
		score += 4
	}
	if s.ipid != 0 {
		score += 4
	}
	return score, score >= 4
}

// pairUp makes a pair of the flows of s (at x, index i) and its copy c (at
// y, index j), then matches the two and every segment of either flow that
// was waiting unpaired.
func (m *matcher) pairUp(x Side, i int64, y Side, j int64) {
	s, c := m.ring[x].at(i), m.ring[y].at(j)
	sa, sb := s, c
	if x == B {
		sa, sb = c, s
	}
	fa, fb := sa.flow, sb.flow
	p := &pair{flow: [2]*flow{fa, fb}}
	ref, other, rs, os := A, B, sa, sb
	if fa.role != conn.RoleSYN && fb.role == conn.RoleSYN {
		ref, other, rs, os = B, A, sb, sa
	}
	p.local[ref] = [2]conn.Dir{0, 1}
	p.local[other][rs.dir] = os.dir
	p.local[other][1-rs.dir] = 1 - os.dir
	fa.m.pair, fb.m.pair = p, p
	if m.o.Trace != nil && m.o.Trace(fa.id, fb.id) {
		p.trace = &Trace{}
	}
	type waiting struct {
		side Side
		i    int64
		at   pcap.Time
	}
	var all []waiting
	for _, side := range []Side{A, B} {
		f := p.flow[side]
		for _, k := range f.m.loose {
			if !m.ring[side].holds(k) {
				continue
			}
			w := m.ring[side].at(k)
			if !w.inLoose {
				continue
			}
			m.unLoose(side, k, w)
			all = append(all, waiting{side, k, w.at})
		}
		f.m.loose = nil
	}
	all = append(all, waiting{x, i, s.at}) // c was waiting: it is among them
	slices.SortStableFunc(all, func(u, v waiting) int { return cmpTime(u.at, v.at) })
	if p.trace != nil {
		for _, w := range all {
			m.traceStep(p, w.side, m.ring[w.side].at(w.i))
		}
	}
	// The two copies fix the offsets; then every segment of either flow
	// arrives in time order, s and c among them, as if paired all along.
	p.fix(p.pdir(A, sa.dir), sa, sb)
	for _, w := range all {
		m.arrive(w.side, w.i)
	}
}

func cmpTime(a, b pcap.Time) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// unLoose takes segment k (w) of side out of the loose index.
func (m *matcher) unLoose(side Side, k int64, w *seg) {
	key := looseKey(w)
	chain := m.loose[side][key]
	switch n := slices.Index(chain, k); {
	case n == 0:
		chain = chain[1:] // the ring lets go of segments in arrival order: the chain's first
	case n > 0:
		chain = slices.Delete(chain, n, n+1)
	}
	if len(chain) == 0 {
		delete(m.loose[side], key)
	} else {
		m.loose[side][key] = chain
	}
	w.inLoose = false
}

// maxScan bounds how far into a queue a copy is looked for.
const maxScan = 4096

// arrive handles segment i of side x of a paired flow: its copy is looked
// for among the other point's waiting segments of the same direction.
func (m *matcher) arrive(x Side, i int64) {
	s := m.ring[x].at(i)
	p := s.flow.m.pair
	pd := p.pdir(x, s.dir)
	y := x.Other()
	d := &p.dir[pd]
	if s.plen > 0 || s.flags&(wire.SYN|wire.FIN) != 0 {
		end := s.seqEnd()
		if d.maxEndSet[x] && s.seq.Less(d.maxEnd[x]) {
			s.resend = true
			m.markResent(p, x, pd, i, s)
		}
		if !d.maxEndSet[x] || end.Greater(d.maxEnd[x]) {
			d.maxEnd[x], d.maxEndSet[x] = end, true
		}
	}
	if s.flags.Has(wire.ACK) {
		o := &p.dir[1-pd]
		if !o.ackHighSet[x] || s.ack.Greater(o.ackHigh[x]) {
			o.ackHigh[x], o.ackHighSet[x] = s.ack, true
		}
	}
	j, score, ok := m.find(p, y, pd, s, perfect)
	switch {
	case ok && score == perfect:
		m.match(x, i, y, j)
		return
	case ok:
		// Alike but not the same: its own copy may be a moment away (two
		// captures' clocks are not exact). It waits, and takes the best
		// there is when the moment has passed (settle).
		m.unsettled = append(m.unsettled, unsettled{x, i, s.at + settleTime})
	case m.duplicate(p, x, pd, s):
		return
	}
	p.q[x][pd].push(i, &m.ring[x])
}

// settleTime is how long a segment whose best copy is not the same in
// all it should be waits for a better one: longer than two captures'
// timestamps of one moment differ.
const settleTime = pcap.Time(time.Millisecond)

// unsettled is a segment waiting out settleTime.
type unsettled struct {
	side Side
	i    int64
	due  pcap.Time
}

// settle gives each segment whose moment has passed the best copy there
// is, unless a better one took it meanwhile.
func (m *matcher) settle() {
	n := 0
	for _, u := range m.unsettled {
		if u.due > m.now {
			break
		}
		n++
		r := &m.ring[u.side]
		if !r.holds(u.i) {
			continue
		}
		s := r.at(u.i)
		if s.state != pending {
			continue
		}
		p := s.flow.m.pair
		pd := p.pdir(u.side, s.dir)
		if j, _, ok := m.find(p, u.side.Other(), pd, s, 0); ok {
			m.match(u.side, u.i, u.side.Other(), j)
		}
	}
	m.unsettled = m.unsettled[n:]
	if len(m.unsettled) == 0 {
		m.unsettled = nil
	}
}

// markResent notes, on the segments waiting at x whose bytes s (a
// retransmission at x) carries again, that s resent them.
func (m *matcher) markResent(p *pair, x Side, pd conn.Dir, i int64, s *seg) {
	lo, hi := s.seq, s.seqEnd()
	for _, q := range []*queue{&p.limbo[x][pd], &p.q[x][pd]} {
		for _, k := range q.items() {
			if !m.ring[x].holds(k) {
				continue
			}
			e := m.ring[x].at(k)
			if e.state == pending && e.resentBy == 0 && e.seq.Less(hi) && lo.Less(e.seqEnd()) {
				e.resentBy = i
			}
		}
	}
}

// find looks for s's copy among side y's segments of direction pd that
// wait: normally the first of the queue; else among those a copy passed
// (limbo: lost, or overtaken), the best alike of both, and its score.
// When the score is takeFrom or more it takes the copy out, and the
// segments it passed in the queue go to limbo.
func (m *matcher) find(p *pair, y Side, pd conn.Dir, s *seg, takeFrom int) (int64, int, bool) {
	q := &p.q[y][pd]
	r := &m.ring[y]
	n := 0
	for _, k := range q.items() {
		if r.holds(k) && r.at(k).state == pending {
			break
		}
		n++
	}
	q.dropFront(n)
	best, bestPos, bestScore := int64(-1), -1, -1
	for pos, k := range q.items() {
		if pos >= maxScan {
			break
		}
		if !r.holds(k) {
			continue
		}
		c := r.at(k)
		if c.state != pending {
			continue
		}
		score, ok := m.tightScore(p, pd, s, c)
		if !ok || score <= bestScore {
			continue
		}
		best, bestPos, bestScore = k, pos, score
		if score == perfect {
			break
		}
	}
	if bestScore < perfect {
		// A better copy may wait in limbo; on a tie the older one, in
		// limbo, goes first.
		lq := &p.limbo[y][pd]
		live := lq.items()[:0]
		fromLimbo := int64(-1)
		for _, k := range lq.items() {
			if !r.holds(k) || r.at(k).state != pending {
				continue
			}
			live = append(live, k)
			if bestScore == perfect {
				continue
			}
			if score, ok := m.tightScore(p, pd, s, r.at(k)); ok && score >= bestScore && (fromLimbo < 0 || score > bestScore) {
				fromLimbo, bestScore = k, score
			}
		}
		if fromLimbo >= 0 && bestScore >= takeFrom {
			live = slices.DeleteFunc(live, func(k int64) bool { return k == fromLimbo })
		}
		lq.q, lq.head = live, 0
		if fromLimbo >= 0 {
			return fromLimbo, bestScore, true
		}
	}
	if bestPos < 0 {
		return -1, 0, false
	}
	if bestScore >= takeFrom {
		// What the copy passed waits in limbo: lost, or overtaken.
		for _, k := range q.items()[:bestPos] {
			if r.holds(k) && r.at(k).state == pending {
				p.limbo[y][pd].push(k, r)
			}
		}
		q.dropFront(bestPos + 1)
	}
	return best, bestScore, true
}

// perfect is the score of a copy identical in all that tightScore weighs.
const perfect = 5

// tightScore checks that c (at the other point) can be s's copy, and
// scores how alike they are: the IP ID, the timestamps, the window and
// the SACK blocks tell apart segments a sender makes alike (a resent
// segment and the original, the duplicate ACKs of a recovery), the
// payload a rewritten segment from another.
func (m *matcher) tightScore(p *pair, pd conn.Dir, s, c *seg) (int, bool) {
	if s.flags&coreFlags != c.flags&coreFlags || s.plen != c.plen {
		return 0, false
	}
	a, b := s, c
	if s.flow == p.flow[B] {
		a, b = c, s
	}
	if p.deltaSet[pd] && uint32(b.seq-a.seq) != p.delta[pd] {
		return 0, false
	}
	if a.flags.Has(wire.ACK) && p.deltaSet[1-pd] && uint32(b.ack-a.ack) != p.delta[1-pd] {
		return 0, false
	}
	same := samePayload(a, b)
	if !same && !p.deltaSet[pd] {
		return 0, false // a first match needs the bytes to agree
	}
	// Where the path keeps them, the IP ID and the timestamps must be
	// the same: a segment and the one sent after it differ in both (a
	// resend, a duplicate ACK), and taking one for the other's copy
	// would make a rewrite of what was a loss.
	rw := p.rewrites[pd]
	ts := has(a.opt.present, wire.HasTimestamps) && has(b.opt.present, wire.HasTimestamps)
	if p.deltaSet[pd] && (!rw.ipid && a.ipid != b.ipid || !rw.ts && ts && (a.opt.tsval != b.opt.tsval || a.opt.tsecr != b.opt.tsecr)) {
		return 0, false
	}
	score := 0
	if same {
		score++
	}
	if a.ipid == b.ipid || rw.ipid {
		score++
	}
	if !ts || rw.ts || a.opt.tsval == b.opt.tsval && a.opt.tsecr == b.opt.tsecr {
		score++
	}
	if a.win == b.win {
		score++
	}
	if a.opt.nsack == b.opt.nsack && (a.opt.nsack == 0 || !p.deltaSet[1-pd] || uint32(b.opt.sack0-a.opt.sack0) == p.delta[1-pd]) {
		score++
	}
	return score, true
}

// match makes segment i of x and segment j of y copies of each other.
func (m *matcher) match(x Side, i int64, y Side, j int64) {
	s, c := m.ring[x].at(i), m.ring[y].at(j)
	a, b := s, c
	if x == B {
		a, b = c, s
	}
	a.state, b.state = matched, matched
	a.mate, b.mate = b.frame, a.frame
	p := a.flow.m.pair
	pd := p.pdir(A, a.dir)
	p.fix(pd, a, b)
	switch {
	case a.flags&(wire.SYN|wire.ACK) == wire.SYN && p.hs.syn[A] == 0:
		p.hs.syn = [2]pcap.Time{a.at, b.at}
	case a.flags.Has(wire.SYN|wire.ACK) && p.hs.synAck[A] == 0:
		p.hs.synAck = [2]pcap.Time{a.at, b.at}
	}
	if p.first == 0 {
		p.first = a.at
	}
	d := &p.dir[pd]
	d.matched++
	raw := int64(b.at-a.at) + int64(m.theta) // B's clock minus A's
	d.delay.add(raw, a.frame, b.frame)
	d.hops.add(int(a.ttl) - int(b.ttl))
	m.addPath(p, pd, raw, int(a.ttl)-int(b.ttl), a.frame, b.frame)
	m.compareCopies(p, pd, a, b)
	if d.topA != 0 && (a.ord < d.topA) != (b.ord < d.topB) {
		m.reordered(p, pd, a, b)
	}
	if a.ord > d.topA {
		d.topA, d.topB, d.topFrames = a.ord, b.ord, [2]int{a.frame, b.frame}
	}
	for _, e := range []*seg{a, b} {
		side := A
		if e == b {
			side = B
		}
		d.senderTTL[side], d.senderIPID[side], d.senderSet[side] = e.ttl, e.ipid, true
	}
	if p.trace != nil {
		p.trace.mate(a, b)
	}
}

// maxDupScan bounds how far back a point's segments are searched for
// the copy a duplicate repeats.
const maxDupScan = 4096

// fix takes what the first copies of a direction (a at A, b at B) say:
// the sequence offset of pd, and of the other direction through the
// acknowledgment, and whether the path keeps the IP ID and timestamps.
func (p *pair) fix(pd conn.Dir, a, b *seg) {
	if !p.deltaSet[pd] {
		p.delta[pd], p.deltaSet[pd] = uint32(b.seq-a.seq), true
		p.deltaFrames[pd] = [2]int{a.frame, b.frame}
		p.rewrites[pd].ipid = a.ipid != b.ipid
		p.rewrites[pd].ts = has(a.opt.present, wire.HasTimestamps) && has(b.opt.present, wire.HasTimestamps) && a.opt.tsval != b.opt.tsval
	}
	if a.flags.Has(wire.ACK) && b.flags.Has(wire.ACK) && !p.deltaSet[1-pd] {
		p.delta[1-pd], p.deltaSet[1-pd] = uint32(b.ack-a.ack), true
		p.deltaFrames[1-pd] = [2]int{a.frame, b.frame}
	}
}

// duplicate reports whether s, for which no original waits, is another
// copy at a downstream point of the segment matched last: the path
// duplicated it.
func (m *matcher) duplicate(p *pair, x Side, pd conn.Dir, s *seg) bool {
	if s.cut {
		return false // what tells it from its neighbours may be what the capture cut
	}
	if up, ok := m.upstream(p, pd); !ok || up == x {
		return false
	}
	var l *copyID
	{
		// The copy it repeats came shortly before, perhaps after a burst.
		r := &m.ring[x]
		for k, n := r.tail-2, 0; k >= r.head && n < maxDupScan; k, n = k-1, n+1 {
			e := r.at(k)
			if e.flow == s.flow && e.state == matched && e.dir == s.dir {
				if c := copyOf(e); c.same(s) {
					l = &c
					break
				}
			}
		}
	}
	if l == nil {
		return false
	}
	s.state = judged
	s.mate = l.otherFrame
	if n := len(p.events); n > 0 {
		e := &p.events[n-1]
		if e.kind == KindDuplicated && e.dir == pd && e.orig == l.otherFrame {
			e.count++
			e.segs = append(e.segs, evSegOf(s))
			m.traceVerdict(p, s, KindDuplicated)
			return true
		}
	}
	p.addEvent(event{kind: KindDuplicated, dir: pd, side: x, orig: l.otherFrame, count: 2,
		segs: []evSeg{{frame: l.frame}, evSegOf(s)}, time: s.at})
	m.traceVerdict(p, s, KindDuplicated)
	return true
}

// maxReorderEvents bounds the reordering events a direction keeps; the
// later ones are counted on the last.
const maxReorderEvents = 20

// reordered records that a and b, copies, came in another order at one
// point than at the other, against the copies matched with the highest
// place at A so far.
func (m *matcher) reordered(p *pair, pd conn.Dir, a, b *seg) {
	d := &p.dir[pd]
	n, last := 0, -1
	for k, e := range p.events {
		if e.kind == KindReordered && e.dir == pd {
			n, last = n+1, k
		}
	}
	if n >= maxReorderEvents {
		p.events[last].more++
		return
	}
	p.addEvent(event{kind: KindReordered, dir: pd, count: 2, time: a.at,
		segs:  []evSeg{evSegOf(a), evSegOf(b)},
		other: []evSeg{{frame: d.topFrames[A]}, {frame: d.topFrames[B]}}})
}

func evSegOf(s *seg) evSeg {
	return evSeg{frame: s.frame, flags: uint16(s.flags), relSeq: s.rel, relAck: s.relAck, plen: s.plen, ttl: s.ttl, ipid: s.ipid}
}

// expire judges the segments whose window has passed and lets them go.
func (m *matcher) expire() {
	for side := A; side <= B; side++ {
		r := &m.ring[side]
		for r.head < r.tail {
			s := r.at(r.head)
			if s.at+m.window >= m.now && m.now != math.MaxInt64 {
				break
			}
			f := s.flow
			if s.inLoose {
				m.unLoose(side, r.head, s)
			}
			if len(f.m.loose) > 0 && f.m.loose[0] == r.head {
				f.m.loose = f.m.loose[1:]
			}
			if s.state == pending {
				m.judge(side, s)
			}
			f.m.held--
			r.pop()
			m.maybeFinish(f)
		}
	}
}

// upstream is the point that segments of direction pd pass first, when
// known.
func (m *matcher) upstream(p *pair, pd conn.Dir) (Side, bool) {
	cs, ok, _ := m.clientSide(p)
	if !ok {
		return 0, false
	}
	if pd == conn.ClientToServer {
		return cs, true
	}
	return cs.Other(), true
}

// sideEpsilon is the least difference between the two directions'
// apparent delays that says which point is nearer the client: below it,
// the points are as good as one.
const sideEpsilon = 2 * time.Microsecond

// clientSide says which point is nearer the pair's client, and why: a TTL
// that drops between the points, else the two directions' delays (a round
// trip between the points, free of the clocks' offset), else one
// direction's delay against the estimated offset, else what the other
// connections and the clock estimate say.
func (m *matcher) clientSide(p *pair) (Side, bool, string) {
	c2s, s2c := &p.dir[conn.ClientToServer], &p.dir[conn.ServerToClient]
	switch {
	case c2s.hops.n > 0 && c2s.hops.min > 0 || s2c.hops.n > 0 && s2c.hops.max < 0:
		return A, true, "the TTL drops between the points"
	case c2s.hops.n > 0 && c2s.hops.max < 0 || s2c.hops.n > 0 && s2c.hops.min > 0:
		return B, true, "the TTL drops between the points"
	}
	if c2s.delay.n > 0 && s2c.delay.n > 0 {
		rt := time.Duration(c2s.delay.mean - s2c.delay.mean)
		switch {
		case rt > sideEpsilon:
			return A, true, "the client's segments reach A first and the server's B first"
		case rt < -sideEpsilon:
			return B, true, "the client's segments reach B first and the server's A first"
		}
	}
	for _, x := range []struct {
		d    *dirState
		sign float64
	}{{c2s, 1}, {s2c, -1}} {
		if x.d.delay.n == 0 {
			continue
		}
		off := x.sign * (x.d.delay.mean - float64(m.theta))
		switch {
		case off > float64(sideEpsilon):
			return A, true, "its segments' delays against the clocks' offset"
		case off < -float64(sideEpsilon):
			return B, true, "its segments' delays against the clocks' offset"
		}
	}
	return m.globalSide()
}

// globalSide is what the connections decided so far say, else the clock
// estimate.
func (m *matcher) globalSide() (Side, bool, string) {
	switch {
	case m.votes[A] > m.votes[B]:
		return A, true, "as for the other connections"
	case m.votes[B] > m.votes[A]:
		return B, true, "as for the other connections"
	case m.bootSideKnown:
		return m.bootSide, true, "as the first segments matched say"
	}
	return 0, false, ""
}

// spanSlack is how far apart two captures' first (or last) frames may be
// and still be taken to have started (or stopped) together: a quiet
// capture's first and last frames say little of when it ran, and a
// router that drops a connection's last segments leaves the downstream
// capture's last frame before the upstream one's.
const spanSlack = pcap.Time(time.Second)

// inSpan reports whether the other point was capturing when s passed
// its own point, and, for a segment of the downstream point, when its
// copy would have passed the other, the path's longest delay before.
func (m *matcher) inSpan(x Side, s *seg, upstream bool) bool {
	o, me := &m.span[x.Other()], &m.span[x]
	if !o.started {
		return false
	}
	first, last := o.first, o.last
	if o.first-me.first <= spanSlack {
		first = min(first, me.first)
	}
	if o.done && me.last-o.last <= spanSlack {
		last = max(last, me.last)
	}
	lo := s.at
	if !upstream {
		// Its copy would have passed the other point before.
		dmax := pcap.Time(max(m.paths[0].w.max, m.paths[1].w.max, 0))
		lo -= dmax
	}
	return lo >= first && (!o.done || s.at <= last)
}

// judge decides what a segment no copy of came for was.
func (m *matcher) judge(x Side, s *seg) {
	s.state = judged
	f := s.flow
	p := f.m.pair
	if p == nil {
		m.judgeLone(x, s)
		return
	}
	pd := p.pdir(x, s.dir)
	up, known := m.upstream(p, pd)
	if !m.inSpan(x, s, known && up == x) {
		p.outside[x]++
		m.sum.Outside[x]++
		return
	}
	ev := evSegOf(s)
	kind := KindUnmatched
	switch {
	case !known:
	case up == x:
		kind = KindLost
		if s.resentBy != 0 && m.ring[x].holds(s.resentBy) {
			r := m.ring[x].at(s.resentBy)
			ev.resent, ev.resentMate = r.frame, r.mate
		} else if d := &p.dir[pd]; !s.resend && (s.plen > 0 || s.flags&(wire.SYN|wire.FIN) != 0) && d.ackHighSet[x] && d.ackHigh[x].GreaterEq(s.seqEnd()) {
			// Its receiver had these bytes, and nothing sent them but
			// this segment: they passed the other point unseen.
			kind = KindNotCaptured
			ev.acknowledged = true
		}
	default:
		kind = KindInjected
	}
	m.traceVerdict(p, s, kind)
	if n := len(p.events); n > 0 {
		e := &p.events[n-1]
		if e.kind == kind && e.dir == pd && e.side == x && s.ord == e.lastOr+1 && kind != KindInjected {
			e.count++
			e.lastOr = s.ord
			if len(e.segs) < maxEventFrames {
				e.segs = append(e.segs, ev)
			} else {
				e.more++
			}
			return
		}
	}
	p.addEvent(event{kind: kind, dir: pd, side: x, segs: []evSeg{ev}, count: 1, time: s.at, lastOr: s.ord})
}

func (m *matcher) judgeLone(x Side, s *seg) {
	f := s.flow
	l := f.m.lone
	if l == nil {
		l = &lone{first: s.at}
		f.m.lone = l
	}
	l.n[s.dir]++
	if len(l.frames[s.dir]) < maxEventFrames {
		l.frames[s.dir] = append(l.frames[s.dir], s.frame)
		l.segs[s.dir] = append(l.segs[s.dir], evSegOf(s))
	}
	if !m.inSpan(x, s, true) && !m.inSpan(x, s, false) {
		l.outside++
		m.sum.Outside[x]++
	}
}

// maybeFinish reports f's connection once both its points are done with it.
func (m *matcher) maybeFinish(f *flow) {
	if !f.m.ended || f.m.held > 0 || f.m.done {
		return
	}
	p := f.m.pair
	if p == nil {
		f.m.done = true
		m.finish(nil, f)
		return
	}
	for _, g := range p.flow {
		if !g.m.ended || g.m.held > 0 {
			return
		}
	}
	p.flow[A].m.done, p.flow[B].m.done = true, true
	m.finish(p, nil)
}

// traceStep records s in p's trace.
func (m *matcher) traceStep(p *pair, x Side, s *seg) {
	t := p.trace
	if t == nil {
		return
	}
	if len(t.Steps) >= m.o.TraceLimit {
		t.Left++
		return
	}
	s.step = int32(len(t.Steps))
	t.Steps = append(t.Steps, Step{Side: x, Frame: s.frame, Time: s.at, Dir: p.pdir(x, s.dir),
		Flags: s.flags, RelSeq: s.rel, RelAck: s.relAck, Len: int(s.plen)})
}

func (m *matcher) traceVerdict(p *pair, s *seg, k Kind) {
	if p.trace != nil && s.step >= 0 {
		p.trace.Steps[s.step].Verdict = k
		if k == KindDuplicated {
			p.trace.Steps[s.step].Mate = s.mate
		}
	}
}
