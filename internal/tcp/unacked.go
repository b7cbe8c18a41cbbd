package tcp

import (
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
)

// The list of unacknowledged segments is tshark's, with tshark's rules,
// but kept so that the common case costs O(1) per segment instead of a
// walk of the whole list (thousands of entries in a bulk transfer): while
// the segments were sent in sequence order (no retransmission since the
// list last drained), an ACK removes a prefix and the span of the list is
// its two ends. The list is a slice with a moving head, compacted when
// half of it is dead, so steady traffic allocates nothing.

// disorder is what lets the list skip its walks while it is unsorted.
// During loss recovery the list is unsorted for a round trip or more, with
// hundreds of segments in it, and every duplicate ACK and every new
// segment would walk all of them for nothing: a duplicate ACK changes
// nothing the previous walk with the same number did not, and the span
// moves only as segments come and go.
type disorder struct {
	// noop is an ACK number that a walk found to change nothing; it stays
	// so until a segment it would change is pushed or the list changes.
	noop   seq.Num
	noopOK bool
	// first and last are span's answer in unsorted mode for the base
	// spanBase, while spanOK.
	first, last, spanBase seq.Num
	spanOK                bool
}

// unchangedBy reports whether an ACK of ack leaves u as it is in the
// unsorted walk of ack: it neither acknowledges nor trims nor drops it.
func unchangedBy(u *unacked, ack seq.Num) bool {
	return ack != u.next && !(ack.Greater(u.seq) && ack.LessEq(u.next)) && u.next.Greater(ack)
}

// live returns the unacknowledged segments, oldest first.
func (f *flow) live() []unacked { return f.segments[f.head:] }

// push appends a segment sent now. Karn's rule needs to know whether its
// range was sent before: only a segment below the highest sent can be.
func (f *flow) push(u unacked) {
	if live := f.live(); len(live) > 0 {
		last := &live[len(live)-1]
		if u.seq.Less(last.seq) || u.next.Less(last.next) {
			f.unsorted = true
		}
		if u.seq.Less(f.nextSeq) {
			for i := range live {
				if old := &live[i]; old.seq.Less(u.next) && u.seq.Less(old.next) {
					old.sent++
					u.sent = max(u.sent, old.sent)
				}
			}
		}
	} else {
		f.unsorted = false
		f.segments, f.head = f.segments[:0], 0
	}
	if f.head > 0 && f.head >= len(f.segments)/2 && len(f.segments) == cap(f.segments) {
		n := copy(f.segments, f.live())
		f.segments, f.head = f.segments[:n], 0
	}
	f.segments = append(f.segments, u)
	d := &f.disorder
	if d.noopOK && !unchangedBy(&u, d.noop) {
		d.noopOK = false
	}
	if d.spanOK {
		d.first = min(d.first, u.seq-d.spanBase)
		d.last = max(d.last, u.next-d.spanBase)
	}
}

// release lets the list's buffer go once the list is empty: a sender that
// has closed sends nothing more, and its connection may stay in the table
// another minute (TIME_WAIT) with a buffer sized for its busiest moment.
func (f *flow) release() {
	if f.count() == 0 {
		f.segments, f.head = nil, 0
	}
}

// count is the number of unacknowledged segments.
func (f *flow) count() int { return len(f.segments) - f.head }

// ack applies an acknowledgment to the list: tshark's loop, which records
// the segment it acknowledges exactly (the oldest such) for the ack RTT,
// trims a segment it acknowledges in part and drops those it covers.
func (f *flow) ack(ack seq.Num, now pcap.Time, r *Result) {
	live := f.live()
	if len(live) == 0 {
		return
	}
	d := &f.disorder
	if !f.unsorted {
		d.noopOK, d.spanOK = false, false
		// Sorted by sequence number: the segments below the ACK come
		// first; those it covers are a prefix, and the one it splits (or
		// the few, if they overlap) follow.
		drop := 0
		for j := range live {
			u := &live[j]
			if !ack.Greater(u.seq) {
				break
			}
			if ack.Less(u.next) {
				u.seq = ack
				continue
			}
			if ack == u.next && r.AckedFrame == 0 {
				r.AckedFrame = u.frame
				r.AckRTT = now.Sub(u.time)
				r.ackedSent = u.sent
				r.ackedTSVal = u.tsval
			}
			drop = j + 1
		}
		f.head += drop
		return
	}
	if d.noopOK && ack == d.noop {
		return
	}
	kept := live[:0]
	var found bool
	for i := range live {
		u := live[i]
		switch {
		case ack == u.next:
			if !found {
				found = true
				r.AckedFrame = u.frame
				r.AckRTT = now.Sub(u.time)
				r.ackedSent = u.sent
				r.ackedTSVal = u.tsval
			}
			continue
		case ack.Greater(u.seq) && ack.LessEq(u.next):
			u.seq = ack
		case u.next.Greater(ack):
		default:
			continue
		}
		kept = append(kept, u)
	}
	if len(kept) == len(live) && !found {
		// Nothing was dropped; nothing was trimmed either if every
		// segment is unchanged, and then an ACK of the same number
		// changes nothing until the list does.
		d.noopOK = true
		for i := range kept {
			if !unchangedBy(&kept[i], ack) {
				d.noopOK = false
				break
			}
		}
		d.noop = ack
	} else {
		d.noopOK = false
	}
	d.spanOK = false
	f.segments = f.segments[:f.head+len(kept)]
	// A retransmission made the list unsorted; once it is acknowledged the
	// rest usually is in order again, and the fast path resumes.
	f.unsorted = false
	for i := 1; i < len(kept); i++ {
		if kept[i].seq.Less(kept[i-1].seq) || kept[i].next.Less(kept[i-1].next) {
			f.unsorted = true
			break
		}
	}
}

// span is the lowest and highest sequence number, relative to the base,
// over the unacknowledged segments.
func (f *flow) span() (first, last seq.Num) {
	live := f.live()
	first = live[0].seq - f.baseSeq
	last = live[0].next - f.baseSeq
	if !f.unsorted {
		return first, live[len(live)-1].next - f.baseSeq
	}
	d := &f.disorder
	if d.spanOK && d.spanBase == f.baseSeq {
		return d.first, d.last
	}
	for _, u := range live[1:] {
		// tshark compares the relative values as plain integers.
		if n := u.next - f.baseSeq; n > last {
			last = n
		}
		if s := u.seq - f.baseSeq; s < first {
			first = s
		}
	}
	d.first, d.last, d.spanBase, d.spanOK = first, last, f.baseSeq, true
	return first, last
}

// transmission is one earlier sending of a range.
type transmission struct {
	frame int
	time  pcap.Time
}

// transmissions finds the earlier sendings of the byte at sq still
// unacknowledged, the segment sent in frame excluded: the first (the
// original) and the latest, and how many there were.
func (f *flow) transmissions(sq seq.Num, frame int) (first, latest transmission, n int) {
	for _, u := range f.live() {
		if u.frame == frame || !sq.InWindow(u.seq, uint32(u.next-u.seq)) {
			continue
		}
		if n == 0 {
			first = transmission{u.frame, u.time}
		}
		latest = transmission{u.frame, u.time}
		n++
	}
	return first, latest, n
}
