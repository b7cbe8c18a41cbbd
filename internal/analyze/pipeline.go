package analyze

import (
	"runtime"
	"sync/atomic"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// The pipeline splits the analysis over two goroutines when nothing needs
// each segment's result as it is made (Options.Pipeline, no onSegment):
// the caller's goroutine counts, decodes and finds each segment's
// connection, and a second one verifies checksums and steps the
// connections, in capture order. The halves cost about the same, so on
// two cores the analysis takes little more than half the time, and its
// result is the same: one goroutine steps every segment in order, and the
// connection table waits for a connection's steps to be done before it
// reads its state or hands it to onConn (conn.Table.Settle).
//
// Frames go over in batches, each frame's bytes copied into the batch and
// decoded there, so the segments stay valid after the reader moves on.

const (
	pipeFrames = 512       // segments per batch
	pipeArena  = 256 << 10 // bytes of frame data per batch, unless a frame needs more
	pipeDepth  = 4         // batches in flight
)

type pipeBatch struct {
	arena  []byte
	frames [pipeFrames]pcap.Frame
	segs   [pipeFrames]wire.Segment
	items  []pipeItem
	first  uint64 // the items before this batch
	skip   int    // items stepped already, by settle
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
	if len(b.arena)+len(frame.Data) > cap(b.arena) && len(b.items) > 0 {
		// A frame larger than the arena makes it grow; the frames before
		// it keep the old one.
		p.send()
		b = p.cur
	}
	n := len(b.items)
	start := len(b.arena)
	b.arena = append(b.arena, frame.Data...)
	f := &b.frames[n]
	*f = *frame
	f.Data = b.arena[start:len(b.arena):len(b.arena)]
	s := &b.segs[n]
	c, end, _ := a.find(f, s)
	if c == nil {
		b.arena = b.arena[:start] // nothing to step: the frame need not be kept
		return
	}
	p.made++
	c.Mark = p.made
	b.items = append(b.items, pipeItem{c, end})
	if len(b.items) == pipeFrames {
		p.send()
	}
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
		it := &b.items[i]
		in := input(&b.frames[i], &b.segs[i])
		it.c.Step(it.end, &in, &a.res)
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
			it := &b.items[i]
			in := input(&b.frames[i], &b.segs[i])
			it.c.Step(it.end, &in, &r)
			p.stepped.Store(b.first + uint64(i) + 1)
		}
		b.reset()
		p.free <- b
	}
}
