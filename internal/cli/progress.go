package cli

import (
	"fmt"
	"io"
	"os"
	"time"
)

// A long reading draws a progress line on stderr when stderr is a
// terminal: how much of the input is read, how fast, and how long is
// left. It starts after progressDelay, so that a short reading shows
// nothing, and is redrawn at most every progressEvery; it is cleared
// before anything else is written to stderr and when the reading ends.
// Nothing is drawn when stderr is not a terminal, with --json, nor while
// the command prints its lines to the same terminal.
const (
	progressDelay = time.Second
	progressEvery = 250 * time.Millisecond
	// progressFrames is how many frames go by between two looks at the
	// clock: a look costs tens of nanoseconds, a frame about a hundred.
	progressFrames = 1024
)

// progress is the line of one reading.
type progress struct {
	w     io.Writer
	now   func() time.Time
	start time.Time
	next  time.Time // the earliest time the line is drawn again
	total int64     // bytes of input; 0 when unknown (a pipe)
	label string    // what the reading is for, when the command reads twice
	drawn bool
}

// showProgress lets the next openCapture draw a progress line: when
// stderr is a terminal, the output is not JSON, and it does not print
// lines while reading (streams) onto the terminal stderr is.
func (e *env) showProgress(json, streams bool) {
	e.progress = !json && e.isTerminal(e.stderr) && !(streams && e.isTerminal(e.stdout))
}

// isTerminal reports whether w is a terminal; tests set e.terminal.
func (e *env) isTerminal(w io.Writer) bool {
	if e.terminal != nil {
		return e.terminal(w)
	}
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

func (e *env) clock() time.Time {
	if e.now != nil {
		return e.now()
	}
	return time.Now()
}

func newProgress(e *env, total int64, label string) *progress {
	start := e.clock()
	return &progress{w: e.stderr, now: e.clock, start: start, next: start.Add(progressDelay), total: total, label: label}
}

// tick is called every progressFrames frames with how many frames and
// bytes are read.
func (p *progress) tick(frames int, bytes int64) {
	now := p.now()
	if now.Before(p.next) {
		return
	}
	p.next = now.Add(progressEvery)
	p.drawn = true
	io.WriteString(p.w, "\r"+p.line(now, frames, bytes)+"\x1b[K")
}

// line is what the progress line says:
//
//	tcplens: 412 MB of 989 MB (41%), 3.94 M packets, 2.1 M packets/s, 2 s left
func (p *progress) line(now time.Time, frames int, bytes int64) string {
	elapsed := now.Sub(p.start)
	s := "tcplens: "
	if p.label != "" {
		s += p.label + ": "
	}
	s += megabytes(bytes)
	if p.total > 0 {
		s += fmt.Sprintf(" of %s (%d%%)", megabytes(p.total), min(100, bytes*100/p.total))
	}
	s += ", " + millions(float64(frames)) + " packets"
	if elapsed > 0 {
		s += ", " + millions(float64(frames)/elapsed.Seconds()) + " packets/s"
		if p.total > 0 && bytes > 0 && bytes < p.total {
			left := int(elapsed.Seconds() * float64(p.total-bytes) / float64(bytes))
			if left < 60 {
				s += fmt.Sprintf(", %d s left", left)
			} else {
				s += fmt.Sprintf(", %d min %02d s left", left/60, left%60)
			}
		}
	}
	return s
}

// clear takes the line off the terminal, if it was drawn.
func (p *progress) clear() {
	if p != nil && p.drawn {
		io.WriteString(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

func megabytes(n int64) string {
	if n < 10<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d MB", n/1e6)
}

func millions(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// countingReader counts the bytes read from a file, compressed or not:
// how far into the input the reading is.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}
