package diagnose

import (
	"cmp"
	"slices"
)

// Severity ranks findings. The zero value is Info.
type Severity uint8

// The severities, mildest first.
const (
	Info    Severity = iota // worth knowing; nothing is wrong
	Notice                  // unusual or costly, not a failure
	Warning                 // something went wrong that a person should look at
	Error                   // a connection failed, or the capture shows an attack or a leak
)

var severityNames = [...]string{Info: "info", Notice: "notice", Warning: "warning", Error: "error"}

// String is the stable lower-case name: info, notice, warning, error.
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "invalid"
}

// ParseSeverity returns the severity called name.
func ParseSeverity(name string) (Severity, bool) {
	for i, n := range severityNames {
		if n == name {
			return Severity(i), true
		}
	}
	return Info, false
}

// Finding is one diagnosis: a pattern the rule recognised, the frames that
// show it, why it happens (with the numbers) and what to do about it.
type Finding struct {
	ID       string   // the rule's stable id, from the catalogue: "refused", "rto-retransmission"
	Severity Severity //
	Conn     int      // the connection's id; 0 for a finding about the whole capture
	// Evidence are the claims the finding rests on, each with the frames
	// behind it; Frames are all their frames, ascending, 1-based as
	// Wireshark numbers frames.
	Evidence    []Claim
	Frames      []int
	Title       string // one line: what happened
	Explanation string // why, with the numbers; what evidence would settle what the capture cannot
	Advice      string // what to do about it
	// Conns is, for a finding that stands for every connection sharing
	// its id (Conn is then 0), how many they are; 0 otherwise.
	Conns int

	// weight is how bad, by the rule's own measure (a time lost, a loss
	// rate), among findings of one id and severity: the worst become the
	// examples.
	weight float64
	// late completes a finding whose words depend on the capture's end,
	// unknown while connections end (see env.end).
	late func(f *Finding, end Mark)
}

// Sort orders findings worst first, then by connection (capture-wide
// findings first), then by first evidence frame, then by id: a
// deterministic order for output and golden files.
func Sort(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Conn, b.Conn); c != 0 {
			return c
		}
		if c := cmp.Compare(firstFrame(a), firstFrame(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

func firstFrame(f Finding) int {
	if len(f.Frames) == 0 {
		return 0
	}
	return f.Frames[0]
}

// Count tallies findings by severity.
type Count [Error + 1]int

// CountOf tallies fs.
func CountOf(fs []Finding) Count {
	var c Count
	for _, f := range fs {
		if f.Severity <= Error {
			c[f.Severity]++
		}
	}
	return c
}

// Worst is the highest severity in fs, and false when fs is empty.
func Worst(fs []Finding) (Severity, bool) {
	if len(fs) == 0 {
		return Info, false
	}
	w := Info
	for _, f := range fs {
		w = max(w, f.Severity)
	}
	return w, true
}

// evidenceFrames sets f.Frames to its claims' frames.
func (f *Finding) evidenceFrames() {
	var fs []int
	for _, c := range f.Evidence {
		fs = append(fs, c.Frames...)
	}
	f.Frames = frames(fs...)
}

// frames returns the evidence frames sorted, without zeros or repeats.
func frames(fs ...int) []int {
	out := make([]int, 0, len(fs))
	for _, f := range fs {
		if f > 0 {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
