package analyze

// Drain waits until every frame added so far is analysed and merged, for
// tests that measure what that costs.
func (p *Parallel[T]) Drain() {
	if len(p.cur.slots) > 0 {
		p.send()
	}
	var held [batchesOut - 1]*pbatch[T]
	for i := range held {
		held[i] = <-p.free
	}
	for _, b := range held {
		p.free <- b
	}
}
