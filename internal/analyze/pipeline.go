package analyze

import (
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// The pipeline splits the analysis over two goroutines when nothing needs
// each segment's result as it is made (Options.Pipeline, no onSegment):
// the caller's goroutine counts, decodes and finds each segment's
// connection, and a second one steps the connections, in capture order. The halves cost about the same, so on
// two cores the analysis takes little more than half the time, and its
// result is the same: one goroutine steps every segment in order, and the
// connection table waits for a connection's steps to be done before it
// reads its state or hands it to onConn (conn.Table.Settle).
//
// Segments go over in batches, with a copy of their headers, so that
// they stay valid after the reader moves on.

const (
	pipeFrames = 512       // segments per batch
	pipeArena  = 128 << 10 // bytes of headers per batch
	pipeDepth  = 4         // batches in flight
)

type pipeBatch struct {
	arena  []byte
	frames [pipeFrames]stamp // what Step needs of each segment's frame
	segs   [pipeFrames]wire.Segment
	items  []pipeItem
	first  uint64 // the items before this batch
	skip   int    // items stepped already, by settle
}

type stamp struct {
	number int
	time   pcap.Time
}

type pipeItem struct {
	c   *conn.Conn
	end int
}

type pipeline struct {
	cur     *pipeBatch
	free    chan *pipeBatch
	work    chan *pipeBatch
	exited  chan struct{}
	made    uint64        // items made, the current batch's included: conn.Conn.Mark counts these
	sent    uint64        // items before the current batch
	stepped atomic.Uint64 // items stepped
}

func newPipeline() *pipeline {
	p := &pipeline{
		free:   make(chan *pipeBatch, pipeDepth),
		work:   make(chan *pipeBatch, pipeDepth),
		exited: make(chan struct{}),
	}
	for range pipeDepth {
		p.free <- &pipeBatch{arena: make([]byte, 0, pipeArena), items: make([]pipeItem, 0, pipeFrames)}
	}
	p.cur = <-p.free
	go p.step()
	return p
}

// addPiped analyses one frame on the caller's side of the pipeline.
func (a *Analyzer) addPiped(frame *pcap.Frame) {
	p := a.pipe
	b := p.cur
	if len(b.arena)+min(len(frame.Data), pipeHeaders) > cap(b.arena) && len(b.items) > 0 {
		p.send()
		b = p.cur
	}
	n := len(b.items)
	s := &b.segs[n]
	c, end, _ := a.find(frame, s)
	if c == nil {
		return // nothing to step
	}
	b.frames[n] = stamp{frame.Number, frame.Time}
	b.keepHeaders(frame.Data, s)
	p.made++
	c.Mark = p.made
	b.items = append(b.items, pipeItem{c, end})
	if len(b.items) == pipeFrames {
		p.send()
	}
}

// The stepper reads a segment's headers, never its payload: the state
// machines and the analysis go by the numbers in the headers, and of the
// payload by its length alone (Zeek's history asks how much of it the
// capture holds). So of a frame the batch keeps only the headers, which
// spares copying whole frames of a full capture (most of its bytes) a
// second time, and the segment's Payload points at zeros of its captured
// length. pipeHeaders is the room a frame's headers are given in the
// arena; headers longer than that (IPv6 extension headers) get a buffer
// of their own.
const pipeHeaders = 256

var zeros [1 << 18]byte // longer than a payload of the largest frame pcap accepts

// keepHeaders copies the headers of data, which Decode read into s, into
// the arena and points s at the copy. A segment decoded from another
// buffer (an IP datagram put back together from fragments, in a buffer of
// its own) is left as it is.
func (b *pipeBatch) keepHeaders(data []byte, s *wire.Segment) {
	tcpAt, ok := offsetIn(data, s.TCP)
	if !ok {
		return
	}
	hdr := data[:tcpAt+len(s.TCP)]
	var kept []byte
	if len(b.arena)+len(hdr) <= cap(b.arena) {
		start := len(b.arena)
		b.arena = append(b.arena, hdr...)
		kept = b.arena[start:len(b.arena):len(b.arena)]
	} else {
		kept = append([]byte(nil), hdr...)
	}
	s.TCP = kept[tcpAt:]
	if off, ok := offsetIn(data, s.IPv4); ok {
		s.IPv4 = kept[off:]
	}
	if off, ok := offsetIn(data, s.IPv6); ok {
		s.IPv6 = kept[off:]
	}
	if _, ok := offsetIn(data, s.Payload); ok || (s.Payload != nil && len(s.Payload) == 0) {
		if len(s.Payload) <= len(zeros) {
			s.Payload = zeros[:len(s.Payload):len(s.Payload)]
		} else {
			s.Payload = make([]byte, len(s.Payload))
		}
	}
}

// offsetIn reports where x starts in data, if it does.
func offsetIn(data, x []byte) (int, bool) {
	if len(x) == 0 || len(data) == 0 {
		return 0, false
	}
	d := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(x)))
	if p < d || p >= d+uintptr(len(data)) {
		return 0, false
	}
	return int(p - d), true
}

// send hands the current batch to the stepper and takes a free one.
func (p *pipeline) send() {
	b := p.cur
	b.first = p.sent
	p.sent += uint64(len(b.items))
	if b.skip == len(b.items) {
		b.reset()
		return
	}
	p.work <- b
	p.cur = <-p.free
}

func (b *pipeBatch) reset() {
	clear(b.items) // the connections may end before the batch is reused
	b.items = b.items[:0]
	b.arena = b.arena[:0]
	b.skip = 0
}

// settle waits until every segment of c so far is stepped. Those in the
// batch being filled it steps itself, once the stepper has caught up, so
// that the batch need not go before the frame being added is in it.
func (a *Analyzer) settle(c *conn.Conn) {
	p := a.pipe
	if p == nil || p.stepped.Load() >= c.Mark {
		return
	}
	for p.stepped.Load() < min(c.Mark, p.sent) {
		// The stepper is at work on the few batches before it.
		runtime.Gosched()
	}
	if c.Mark <= p.sent {
		return
	}
	b := p.cur
	for i := b.skip; i < len(b.items); i++ {
		b.step(i, &a.res)
	}
	b.skip = len(b.items)
	p.stepped.Store(p.sent + uint64(b.skip))
}

// close steps what is left and stops the stepper.
func (p *pipeline) close() {
	p.send()
	close(p.work)
	<-p.exited
}

// step is the stepper.
func (p *pipeline) step() {
	defer close(p.exited)
	var r tcp.Result
	r.Changes = make([]tcp.Change, 0, 8)
	for b := range p.work {
		for i := b.skip; i < len(b.items); i++ {
			b.step(i, &r)
			p.stepped.Store(b.first + uint64(i) + 1)
		}
		b.reset()
		p.free <- b
	}
}

// step steps item i. Its checksum is not verified: no one sees the
// segment's own result, and nothing in a connection's state depends on
// it (it decides only the segment's bad_checksum flag). On whole frames
// that is a pass over every byte saved.
func (b *pipeBatch) step(i int, r *tcp.Result) {
	f := &b.frames[i]
	in := tcp.Input{Seg: &b.segs[i], Frame: f.number, Time: f.time}
	b.items[i].c.Step(b.items[i].end, &in, r)
}
