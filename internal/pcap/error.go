package pcap

import (
	"errors"
	"fmt"
)

// ErrNotCapture reports input that is neither pcap, pcapng nor gzip.
var ErrNotCapture = errors.New("not a pcap, pcapng or gzip file")

// A FormatError reports malformed capture-file structure.
type FormatError struct {
	Format string // "pcap" or "pcapng"
	Offset int64  // byte offset in the (uncompressed) file where the bad structure starts
	Frame  int    // 1-based number of the frame being read; 0 before the first frame
	Msg    string // what is wrong, lower case, no trailing period
	Err    error  // underlying cause such as io.ErrUnexpectedEOF, may be nil
}

func (e *FormatError) Error() string {
	s := e.Format + ": "
	if e.Frame > 0 {
		s += fmt.Sprintf("frame %d ", e.Frame)
	}
	s += fmt.Sprintf("at offset %d (0x%x): %s", e.Offset, e.Offset, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }
