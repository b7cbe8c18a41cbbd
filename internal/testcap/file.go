package testcap

import (
	"errors"
	"io"
	"os"

	"github.com/tcplens/tcplens/internal/pcap"
)

// ReadFile returns every frame of a capture file (pcap, pcapng, gzip or
// not), each with its own copy of the data, skipping frames the reader
// reports as malformed: tests that analyse whole captures share it.
func ReadFile(path string) ([]pcap.Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		return nil, err
	}
	var frames []pcap.Frame
	for bad := 0; ; {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return frames, nil
		}
		if err != nil {
			// The reader resynchronises after a bad record; a file that
			// is nothing but bad records ends here.
			if bad++; bad > 1000 {
				return frames, err
			}
			continue
		}
		fr.Data = append([]byte(nil), fr.Data...)
		frames = append(frames, fr)
	}
}
