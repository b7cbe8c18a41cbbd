package compare

import "testing"

// TestRingChunks pushes and pops through many chunks: indices stay valid
// while held, the ring keeps one spare chunk, not what it once held.
func TestRingChunks(t *testing.T) {
	var r ring
	for i := range int64(10 * chunkSize) {
		j := r.push(&seg{frame: int(i)})
		if j != i {
			t.Fatalf("push %d gave index %d", i, j)
		}
		if i >= 3*chunkSize/2 {
			if r.at(r.head).frame != int(r.head) {
				t.Fatalf("index %d holds frame %d", r.head, r.at(r.head).frame)
			}
			r.pop()
		}
	}
	if n := len(r.chunks) + len(r.free); n > 4 {
		t.Errorf("%d chunks held for a window of 1.5 chunks", n)
	}
}

// TestQueueBounded: a queue nothing looks into (a direction the other
// point never sees) still lets go of what the ring let go of, so it
// holds what the window does, not the connection's whole life.
func TestQueueBounded(t *testing.T) {
	var r ring
	var q queue
	for i := range int64(100 * chunkSize) {
		q.push(r.push(&seg{}), &r)
		if r.tail-r.head > 2*chunkSize {
			r.at(r.head).state = judged
			r.pop()
		}
		// Live entries: the window's; the slice: at most twice that,
		// as dropFront compacts.
		if live, n := len(q.items()), len(q.q); live > 2*chunkSize+1 || n > 4*chunkSize+2 {
			t.Fatalf("after %d segments the queue holds %d entries, %d live, for a window of %d", i+1, n, live, 2*chunkSize)
		}
	}
}
