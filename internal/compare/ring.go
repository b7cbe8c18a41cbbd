package compare

// ring holds one point's segments in arrival order from the moment they
// are read until their window has passed, matched or not: the matcher's
// memory. Segments are named by absolute index, valid while in the ring.
type ring struct {
	buf        []seg
	head, tail int64 // [head, tail) are held
}

func (r *ring) at(i int64) *seg { return &r.buf[i&int64(len(r.buf)-1)] }

func (r *ring) holds(i int64) bool { return i >= r.head && i < r.tail }

func (r *ring) len() int { return int(r.tail - r.head) }

// push copies s in and returns its index.
func (r *ring) push(s *seg) int64 {
	if r.len() == len(r.buf) {
		r.grow()
	}
	i := r.tail
	*r.at(i) = *s
	r.tail++
	return i
}

func (r *ring) grow() {
	n := max(2*len(r.buf), 1024)
	nb := make([]seg, n)
	for i := r.head; i < r.tail; i++ {
		nb[i&int64(n-1)] = *r.at(i)
	}
	r.buf = nb
}

// pop lets go of the oldest segment.
func (r *ring) pop() {
	*r.at(r.head) = seg{} // the flow may be freed
	r.head++
}

// queue is a FIFO of ring indices.
type queue struct {
	q    []int64
	head int
}

func (q *queue) push(i int64) { q.q = append(q.q, i) }

func (q *queue) len() int { return len(q.q) - q.head }

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

// remove removes the entry at position k (0 is the front).
func (q *queue) remove(k int) {
	if k == 0 {
		q.dropFront(1)
		return
	}
	i := q.head + k
	copy(q.q[i:], q.q[i+1:])
	q.q = q.q[:len(q.q)-1]
}
