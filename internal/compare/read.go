package compare

import (
	"errors"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// Source hands out one capture point's frames in time order (several
// files of one point merged, as the other commands merge them).
type Source interface {
	// Next returns the next frame, false at the end. The frame's data
	// is valid until the next call. Problems on the way are the
	// source's to report.
	Next() (pcap.Frame, bool)
}

// batchSize is how many segments a reader hands over at once: one
// channel operation per batch, not per segment.
const batchSize = 1024

// reader decodes one point's frames on a goroutine of its own, numbers
// their connections and hands the segments over in batches.
type reader struct {
	side  Side
	src   Source
	table *flowTable
	out   chan []seg
	free  chan []seg
	batch []seg
	now   pcap.Time
	frags analyze.Reassembler

	// Counts, read once out is closed.
	stats PointStats
}

func newReader(side Side, src Source) *reader {
	r := &reader{side: side, src: src, out: make(chan []seg, 32), free: make(chan []seg, 34)}
	r.table = newFlowTable(func(f *flow) {
		s := r.next()
		*s = seg{kind: kindEnd, flow: f, at: r.now}
	})
	return r
}

// next returns the next free place in the batch, handing the batch over
// when it is full.
func (r *reader) next() *seg {
	if len(r.batch) == cap(r.batch) && r.batch != nil {
		r.out <- r.batch
		r.batch = nil
	}
	if r.batch == nil {
		select {
		case b := <-r.free:
			r.batch = b[:0]
		default:
			r.batch = make([]seg, 0, batchSize)
		}
	}
	r.batch = r.batch[:len(r.batch)+1]
	return &r.batch[len(r.batch)-1]
}

func (r *reader) run() {
	defer close(r.out)
	var d wire.Segment
	st := &r.stats
	for {
		f, ok := r.src.Next()
		if !ok {
			break
		}
		st.Frames++
		if st.First == 0 || f.Time < st.First {
			st.First = f.Time
		}
		st.Last = max(st.Last, f.Time)
		r.now = max(r.now, f.Time)
		err := wire.Decode(&f, &d)
		if d.Fragment || err != nil && errors.Is(err, wire.ErrFragment) {
			// Compared once whole, as the analysis counts it.
			err = r.frags.Add(&f, &d)
		}
		switch {
		case err == nil:
		case errors.Is(err, wire.ErrFragment):
			st.Fragments++
			continue
		case errors.Is(err, wire.ErrNotTCP):
			continue
		default:
			st.Malformed++
			if d.TCP == nil {
				continue
			}
		}
		st.Segments++
		fl, end := r.table.lookup(&d, f.Time)
		dir := fl.dirOf(end)
		fl.ord[dir]++
		fl.packets[dir]++
		if fl.firstFrame == 0 {
			fl.firstFrame = f.Number
		}
		fl.lastFrame = f.Number
		s := r.next()
		*s = seg{at: f.Time, frame: f.Number, flow: fl, dir: dir, ord: fl.ord[dir], step: -1}
		s.fill(&d)
		s.rel = uint32(d.Seq - fl.base[end])
		if d.Flags.Has(wire.ACK) {
			s.relAck = uint32(d.Ack - fl.base[1-end])
		}
	}
	r.table.close()
	st.Conns = r.table.nextID
	if len(r.batch) > 0 {
		r.out <- r.batch
	}
}

// PointStats counts what one capture point's files held.
type PointStats struct {
	Frames    int // frames read
	Segments  int // TCP segments among them
	Fragments int // IP fragments of TCP segments, compared once their datagram is whole
	Malformed int // frames whose TCP header could not be read whole
	Conns     int // connections, as tcplens conns counts them
	// First and Last are the first and last frames' times, on the
	// point's own clock.
	First, Last pcap.Time
}
