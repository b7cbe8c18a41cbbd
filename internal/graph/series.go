package graph

// Point is one mark of a Series: one segment, or, once the series is
// downsampled, every segment of one time column.
type Point struct {
	T0, T1      int64  // nanoseconds since the connection's first segment: its first and last segment
	Lo, Hi      int64  // the extent of its values
	First, Last int64  // the value of its first and of its last segment, for step lines
	Frame       int    // the frame of its first segment
	LastFrame   int    // the frame of its last segment
	N           int    // how many segments it stands for
	Note        string // the analysis of its one segment, in words; "" once merged
}

// Series is the points of one quantity over time. It keeps every segment
// as a point until it holds maxPoints, then merges them into time columns
// and doubles the columns' width whenever it fills again: memory and the
// picture stay bounded however long the connection, and a column always
// shows the extremes of what it stands for.
type Series struct {
	Points []Point
	Width  int64 // nanoseconds per column; 0 while every point is one segment
	Total  int   // segments added
	max    int
}

func newSeries(maxPoints int) Series { return Series{max: maxPoints} }

// Downsampled reports whether points stand for several segments.
func (s *Series) Downsampled() bool { return s.Width > 0 }

// add records one segment at time t (nanoseconds since the connection's
// start) spanning values lo to hi, whose own value, for a line, is v.
func (s *Series) add(t, lo, hi, v int64, frame int, note string) {
	s.Total++
	n := len(s.Points)
	if s.Width > 0 && n > 0 {
		last := &s.Points[n-1]
		// A capture's timestamps can step back a little (merged
		// interfaces, reordering in the capturing host); a column series
		// stays in time order.
		t = max(t, last.T1)
		if t/s.Width == last.T0/s.Width {
			last.merge(Point{T0: t, T1: t, Lo: lo, Hi: hi, First: v, Last: v, Frame: frame, LastFrame: frame, N: 1})
			return
		}
	}
	s.Points = append(s.Points, Point{T0: t, T1: t, Lo: lo, Hi: hi, First: v, Last: v, Frame: frame, LastFrame: frame, N: 1, Note: note})
	if s.max > 0 && len(s.Points) > s.max {
		s.coarsen()
	}
}

// coarsen widens the columns until at most half of max points remain.
func (s *Series) coarsen() {
	if s.Width == 0 {
		first, last := s.Points[0].T0, s.Points[0].T1
		for _, p := range s.Points {
			first, last = min(first, p.T0), max(last, p.T1)
		}
		s.Width = 1
		for (last-first)/s.Width >= int64(s.max/2) {
			s.Width *= 2
		}
		// Raw points may be out of time order; columns are not.
		for i := 1; i < len(s.Points); i++ {
			s.Points[i].T0 = max(s.Points[i].T0, s.Points[i-1].T1)
			s.Points[i].T1 = max(s.Points[i].T1, s.Points[i].T0)
		}
	} else {
		s.Width *= 2
	}
	for {
		out := s.Points[:1]
		for _, p := range s.Points[1:] {
			if last := &out[len(out)-1]; p.T0/s.Width == last.T0/s.Width {
				last.merge(p)
				continue
			}
			out = append(out, p)
		}
		s.Points = out
		if len(s.Points) <= s.max/2 || s.max < 2 {
			return
		}
		s.Width *= 2
	}
}

// merge folds q, which follows p in time, into p.
func (p *Point) merge(q Point) {
	p.T1 = max(p.T1, q.T1)
	p.Lo, p.Hi = min(p.Lo, q.Lo), max(p.Hi, q.Hi)
	p.Last = q.Last
	p.LastFrame = q.LastFrame
	p.N += q.N
	p.Note = ""
}

// unwrapper turns 32-bit relative sequence numbers into 64-bit ones that
// keep growing past 2^32, by taking each value nearest the previous one:
// a graph's axis must not fold back when a long transfer wraps.
type unwrapper struct {
	last int64
	set  bool
}

func (u *unwrapper) at(v uint32) int64 {
	if !u.set {
		u.last, u.set = int64(v), true
		return u.last
	}
	c := u.last&^0xffffffff | int64(v)
	switch {
	case c-u.last > 1<<31:
		c -= 1 << 32
	case u.last-c > 1<<31:
		c += 1 << 32
	}
	u.last = c
	return c
}
