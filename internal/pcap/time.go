package pcap

import "time"

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

const maxSec uint64 = (1<<63 - 1) / 1000000000

// fromParts builds a Time from seconds and nanoseconds, saturating.
func fromParts(sec uint64, nsec uint64) Time {
	if sec >= maxSec {
		return Time(1<<63 - 1)
	}
	return Time(int64(sec)*1e9 + int64(nsec))
}
