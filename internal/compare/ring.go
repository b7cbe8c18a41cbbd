package compare

// ring holds one point's segments in arrival order from the moment they
// are read until their window has passed, matched or not: the matcher's
// memory. Segments are named by absolute index, valid while in the ring.
// It is a queue of fixed chunks, so that it holds what the window holds
// and not up to twice that, and never copies a segment to grow.
type ring struct {
	chunks     []*[chunkSize]seg // chunks[0] holds index base
	base       int64             // index of chunks[0][0]
	head, tail int64             // [head, tail) are held
	free       []*[chunkSize]seg
}

const chunkBits = 10
const chunkSize = 1 << chunkBits

func (r *ring) at(i int64) *seg {
	k := i - r.base
	return &r.chunks[k>>chunkBits][k&(chunkSize-1)]
}

func (r *ring) holds(i int64) bool { return i >= r.head && i < r.tail }

// push copies s in and returns its index.
func (r *ring) push(s *seg) int64 {
	if int(r.tail-r.base)>>chunkBits == len(r.chunks) {
		var c *[chunkSize]seg
		if n := len(r.free); n > 0 {
			c, r.free = r.free[n-1], r.free[:n-1]
		} else {
			c = new([chunkSize]seg)
		}
		r.chunks = append(r.chunks, c)
	}
	i := r.tail
	*r.at(i) = *s
	r.tail++
	return i
}

// pop lets go of the oldest segment.
func (r *ring) pop() {
	*r.at(r.head) = seg{} // the flow may be freed
	r.head++
	if r.head-r.base == chunkSize {
		// Keep one spare chunk: a window that shrinks gives the rest
		// back.
		if len(r.free) == 0 {
			r.free = append(r.free, r.chunks[0])
		}
		r.chunks[0] = nil
		r.chunks = r.chunks[1:]
		r.base += chunkSize
	}
}

// queue is a FIFO of ring indices.
type queue struct {
	q    []int64
	head int
}

// push adds ring index i, first letting go of the entries at the front
// that the ring (r) no longer holds, or that are no longer pending: so a
// queue holds at most what the window does, even one nothing looks into.
func (q *queue) push(i int64, r *ring) {
	n := 0
	for _, k := range q.items() {
		if r.holds(k) && r.at(k).state == pending {
			break
		}
		n++
	}
	q.dropFront(n)
	q.q = append(q.q, i)
}

func (q *queue) items() []int64 { return q.q[q.head:] }

// dropFront removes the first n entries.
func (q *queue) dropFront(n int) {
	q.head += n
	if q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	} else if q.head > 64 && q.head > len(q.q)/2 {
		m := copy(q.q, q.q[q.head:])
		q.q, q.head = q.q[:m], 0
	}
}
