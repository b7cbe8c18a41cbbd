package pcap

import (
	"math"
	"time"
)

// Time is a capture timestamp in nanoseconds since the Unix epoch (UTC).
// It covers the years 1678 to 2262; pcapng timestamps outside that range
// saturate at its ends.
type Time int64

// Unix returns the whole seconds and the nanoseconds within the second,
// rounded toward minus infinity so that Nsec is never negative.
func (t Time) Unix() (sec int64, nsec int64) {
	sec, nsec = int64(t)/1e9, int64(t)%1e9
	if nsec < 0 {
		sec--
		nsec += 1e9
	}
	return sec, nsec
}

// Sub returns the duration t-u.
func (t Time) Sub(u Time) time.Duration { return time.Duration(t - u) }

// Std converts t to a time.Time in UTC.
func (t Time) Std() time.Time { return time.Unix(0, int64(t)).UTC() }

// fromParts builds a Time from a classic record's unsigned seconds and its
// fraction in nanoseconds (a corrupt record may make that a second or
// more), saturating.
func fromParts(sec uint64, nsec uint64) Time {
	sec += nsec / 1e9 // no wrap: both come from 32-bit fields
	if sec > math.MaxInt64 {
		return math.MaxInt64
	}
	return fromSec(int64(sec), nsec%1e9)
}

// fromSec builds a Time from signed seconds and nanoseconds in [0, 1e9),
// saturating at the ends of Time's range.
func fromSec(sec int64, nsec uint64) Time {
	const (
		second     = 1_000_000_000
		maxS, maxN = math.MaxInt64 / second, math.MaxInt64 % second          // 9223372036 s 854775807 ns
		minS, minN = math.MinInt64/second - 1, math.MinInt64%second + second // -9223372037 s + 145224192 ns
	)
	switch {
	case sec > maxS || sec == maxS && nsec > maxN:
		return math.MaxInt64
	case sec < minS || sec == minS && nsec < minN:
		return math.MinInt64
	case sec < 0:
		// sec*1e9 alone would overflow at minS.
		return Time((sec+1)*1e9 + int64(nsec) - 1e9)
	}
	return Time(sec*1e9 + int64(nsec))
}
