package compare

import (
	"net/netip"
	"slices"
	"time"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// flow is one connection as one capture point saw it.
//
// Its ID is the one tcplens conns gives it in that capture, so that every
// other command can be pointed at it: the flow table below makes a new
// connection exactly when conn.Table does (a new 4-tuple, a SYN with a new
// ISN, idle past the timeout of its state, the same caps), without the
// endpoints' analysis that conn.Table carries (2 KiB a connection) and
// compare does not need. It judges the idle timeout from what the
// segments show (an RST, both FINs, an acknowledgment), where the table
// reads the endpoints' states; the two differ only for a connection idle
// for more than 70 s in a state the segments do not make plain.
type flow struct {
	id     int
	key    conn.Key
	client int // index of the client's end: 0 for key.A, 1 for key.B
	role   conn.Role

	start, end            pcap.Time
	firstFrame, lastFrame int
	packets               [2]int    // by conn.Dir
	ord                   [2]uint32 // segments so far, by conn.Dir

	base    [2]seq.Num // by end: tshark's base for relative numbers
	baseSet [2]bool
	fin     [2]bool // by end
	rst     bool
	synced  bool // a segment showed an end synchronized
	attempt int8 // 1 + the end while the flow is that end's SYNs alone

	prev, next *flow // recency, most recent first

	m flowMatch // the matcher's, never touched by the reader
}

// dirOf converts an end index to a direction.
func (f *flow) dirOf(end int) conn.Dir {
	if end == f.client {
		return conn.ClientToServer
	}
	return conn.ServerToClient
}

// endpoint returns the address of the end that sends in direction d.
func (f *flow) endpoint(d conn.Dir) (a netip.AddrPort) {
	end := f.client
	if d == conn.ServerToClient {
		end = 1 - f.client
	}
	if end == 0 {
		return f.key.A
	}
	return f.key.B
}

// flowTable numbers a capture's connections as conn.Table does.
type flowTable struct {
	flows      map[conn.Key]*flow
	head, tail *flow
	nextID     int
	lastScan   pcap.Time
	last       *flow // the latest segment's flow: consecutive segments of one flow skip the map

	attempts    []*flow
	attemptsAt  int
	numAttempts int

	// ended receives each flow that leaves the table.
	ended func(f *flow)
}

func newFlowTable(ended func(*flow)) *flowTable {
	return &flowTable{flows: make(map[conn.Key]*flow), ended: ended}
}

// lookup returns the flow of d, creating it when needed, and the index of
// d's sender among its ends.
func (t *flowTable) lookup(d *wire.Segment, now pcap.Time) (*flow, int) {
	key, srcIsB := conn.KeyOf(d)
	end := 0
	if srcIsB {
		end = 1
	}
	f := t.last
	if f == nil || f.key != key {
		f = t.flows[key]
	}
	if f != nil {
		if t.replaces(f, d, end, now) {
			t.remove(f)
			f = t.create(d, key, end, now)
		} else if f.attempt != 0 && (int(f.attempt) != end+1 || !synOnly(d)) {
			f.attempt = 0
			t.numAttempts--
		}
	} else {
		f = t.create(d, key, end, now)
	}
	t.last = f
	t.touch(f)
	f.end = max(f.end, now)
	f.note(d, end)
	if now.Sub(t.lastScan) >= time.Second {
		t.expire(now)
	}
	return f, end
}

func synOnly(d *wire.Segment) bool { return d.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN }

// replaces mirrors conn.Table's rule: a SYN with a sequence number other
// than the base its end started with, or anything after the flow was idle
// past its timeout, starts a new connection.
func (t *flowTable) replaces(f *flow, d *wire.Segment, end int, now pcap.Time) bool {
	idleFor := now.Sub(f.end)
	syn := d.Flags&(wire.SYN|wire.ACK) == wire.SYN
	if idleFor <= conn.IdleClosed && !syn {
		return false
	}
	if idleFor > f.idleTimeout() {
		return true
	}
	return syn && f.baseSet[end] && d.Seq != f.base[end]
}

// idleTimeout is conn.Table's timeout for the state the segments show.
func (f *flow) idleTimeout() time.Duration {
	switch {
	case f.rst || f.fin[0] && f.fin[1]:
		return conn.IdleClosed
	case f.synced:
		return conn.IdleOpen
	}
	return conn.IdleHalfOpen
}

// note keeps what the flow's numbering needs of a segment sent by end:
// tshark's relative-numbering bases (as tcp.Conn sets them) and what
// decides the idle timeout.
func (f *flow) note(d *wire.Segment, end int) {
	fl := d.Flags
	if f.baseSet[end] && fl.Has(wire.SYN|wire.ACK) && d.Seq != f.base[end] {
		f.base[end] = d.Seq // a SYN-ACK with a new ISN
	}
	if !f.baseSet[end] {
		f.base[end] = d.Seq - 1
		if fl.Has(wire.SYN) {
			f.base[end] = d.Seq
		}
		f.baseSet[end] = true
	}
	if !f.baseSet[1-end] && fl.Has(wire.ACK) {
		f.base[1-end] = d.Ack - 1
		f.baseSet[1-end] = true
	}
	switch {
	case fl.Has(wire.RST):
		f.rst = true
	case fl.Has(wire.ACK) || d.PayloadLen > 0 || fl.Has(wire.FIN):
		f.synced = true
	}
	if fl.Has(wire.FIN) {
		f.fin[end] = true
	}
}

func (t *flowTable) create(d *wire.Segment, key conn.Key, end int, now pcap.Time) *flow {
	t.nextID++
	f := &flow{id: t.nextID, key: key, start: now, end: now}
	f.client, f.role = conn.Roles(d, end)
	t.flows[key] = f
	if len(t.flows) > conn.DefaultMaxConns {
		t.remove(t.tail)
	}
	if synOnly(d) {
		t.addAttempt(f, end)
	}
	return f
}

// addAttempt mirrors conn.Table's cap on attempts.
func (t *flowTable) addAttempt(f *flow, end int) {
	f.attempt = int8(end + 1)
	t.numAttempts++
	t.attempts = append(t.attempts, f)
	for t.numAttempts > conn.DefaultMaxAttempts && t.attemptsAt < len(t.attempts) {
		old := t.attempts[t.attemptsAt]
		t.attempts[t.attemptsAt] = nil
		t.attemptsAt++
		if old.attempt != 0 && old != f {
			t.remove(old)
		}
	}
	if live := len(t.attempts) - t.attemptsAt; live-t.numAttempts > 1024 {
		kept := t.attempts[:0]
		for _, a := range t.attempts[t.attemptsAt:] {
			if a.attempt != 0 {
				kept = append(kept, a)
			}
		}
		clear(t.attempts[len(kept):])
		t.attempts, t.attemptsAt = kept, 0
	} else if t.attemptsAt > 1024 && t.attemptsAt > len(t.attempts)/2 {
		n := copy(t.attempts, t.attempts[t.attemptsAt:])
		clear(t.attempts[n:])
		t.attempts, t.attemptsAt = t.attempts[:n], 0
	}
}

func (t *flowTable) touch(f *flow) {
	if t.head == f {
		return
	}
	t.unlink(f)
	f.next = t.head
	if t.head != nil {
		t.head.prev = f
	}
	t.head = f
	if t.tail == nil {
		t.tail = f
	}
}

func (t *flowTable) unlink(f *flow) {
	if f.prev != nil {
		f.prev.next = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	}
	if t.head == f {
		t.head = f.next
	}
	if t.tail == f {
		t.tail = f.prev
	}
	f.prev, f.next = nil, nil
}

func (t *flowTable) remove(f *flow) {
	t.unlink(f)
	if f.attempt != 0 {
		f.attempt = 0
		t.numAttempts--
	}
	if t.flows[f.key] == f {
		delete(t.flows, f.key)
	}
	if t.last == f {
		t.last = nil
	}
	t.ended(f)
}

// expire lets go of the flows idle past their timeout, oldest first.
func (t *flowTable) expire(now pcap.Time) {
	t.lastScan = now
	for f := t.tail; f != nil; {
		prev := f.prev
		if now.Sub(f.end) <= conn.IdleClosed {
			break
		}
		if now.Sub(f.end) > f.idleTimeout() {
			t.remove(f)
		}
		f = prev
	}
}

// close lets go of every flow, in the order they first appeared.
func (t *flowTable) close() {
	all := make([]*flow, 0, len(t.flows))
	for f := t.tail; f != nil; f = f.prev {
		all = append(all, f)
	}
	slices.SortFunc(all, func(a, b *flow) int { return a.id - b.id })
	for _, f := range all {
		t.remove(f)
	}
}
