package export

import (
	"strconv"
	"time"

	"github.com/tcplens/tcplens/internal/pcap"
)

// Time is a capture time in nanoseconds since the epoch: INT64
// TIMESTAMP(NANOS) in Parquet, an RFC 3339 string in UTC in JSON lines
// (which DuckDB, Spark and others read as a timestamp).
type Time int64

// MarshalJSON writes the time as an RFC 3339 string with nanoseconds.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 32)
	b = append(b, '"')
	b = pcap.Time(t).Std().AppendFormat(b, "2006-01-02T15:04:05.999999999Z07:00")
	return append(b, '"'), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Time) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*t = Time(v.UnixNano())
	return nil
}
