package analyze

import "runtime"

// Drain waits until the pipeline's stepper has stepped every segment
// handed to it, for tests that measure what stepping costs.
func (a *Analyzer) Drain() {
	if p := a.pipe; p != nil {
		p.send()
		for p.stepped.Load() < p.made {
			runtime.Gosched()
		}
	}
}
