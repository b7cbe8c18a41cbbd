package pcap

import "io"

// Merge returns a Source that hands out the frames of several sources in
// timestamp order, as one capture (the way mergecap joins rotated files).
// Frames are renumbered 1, 2, 3 … across the merge, and Frame.File says
// which source each came from. Equal timestamps keep the order of the
// sources. A frame's Data stays valid until the next call to Next, because
// a source is only advanced after its pending frame has been handed out.
func Merge(srcs ...Source) Source {
	if len(srcs) == 1 {
		return &single{src: srcs[0]}
	}
	return &merger{srcs: srcs, heads: make([]mergeHead, len(srcs))}
}

// single renumbers nothing but still stamps File 0, so that callers can
// treat one file and many alike.
type single struct{ src Source }

func (s *single) Next() (Frame, error) { return s.src.Next() }

type mergeHead struct {
	frame  Frame
	loaded bool // frame holds the source's next frame
	done   bool // the source returned io.EOF
	stale  bool // frame was handed out; advance before comparing
}

type merger struct {
	srcs  []Source
	heads []mergeHead
	count int
}

func (m *merger) Next() (Frame, error) {
	for i := range m.heads {
		h := &m.heads[i]
		if h.stale {
			h.stale, h.loaded = false, false
		}
		if h.loaded || h.done {
			continue
		}
		f, err := m.srcs[i].Next()
		if err == io.EOF {
			h.done = true
			continue
		}
		if err != nil {
			// Report the problem now; the source is asked again next time.
			return Frame{}, &SourceError{File: i, Err: err}
		}
		h.frame, h.loaded = f, true
	}
	best := -1
	for i := range m.heads {
		h := &m.heads[i]
		if h.loaded && (best < 0 || h.frame.Time < m.heads[best].frame.Time) {
			best = i
		}
	}
	if best < 0 {
		return Frame{}, io.EOF
	}
	h := &m.heads[best]
	h.stale = true
	m.count++
	f := h.frame
	f.Number = m.count
	f.File = best
	return f, nil
}

// SourceError wraps an error from one of several merged sources.
type SourceError struct {
	File int // index of the source
	Err  error
}

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }
