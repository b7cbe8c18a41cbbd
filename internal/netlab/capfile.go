package netlab

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// Captured is one TCP segment of a capture, decoded.
type Captured struct {
	N    int       // 1-based frame number
	Time time.Time // capture timestamp
	Dir  Dir       // ClientToServer when it comes from the client address
	Seg  wire.Segment
}

// ReadCapture decodes every TCP segment of the capture at path; client is
// the client's address, which gives each segment its direction. Each
// segment owns its bytes.
func ReadCapture(path string, client netip.Addr) ([]Captured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("netlab: %s: %w", path, err)
	}
	var out []Captured
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("netlab: %s: %w", path, err)
		}
		fr.Data = append([]byte(nil), fr.Data...)
		c := Captured{N: fr.Number, Time: fr.Time.Std(), Dir: ServerToClient}
		if err := wire.Decode(&fr, &c.Seg); err != nil {
			return out, fmt.Errorf("netlab: %s frame %d: %w", path, fr.Number, err)
		}
		if c.Seg.Src.Addr() == client {
			c.Dir = ClientToServer
		}
		out = append(out, c)
	}
}

// countTCP counts the TCP frames in a capture file that may still be
// being written: a record cut short at its end is not counted.
func countTCP(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		return 0, err // not even the file header yet
	}
	var n int64
	for {
		fr, err := r.Next()
		if err != nil {
			return n, nil
		}
		var seg wire.Segment
		if wire.Decode(&fr, &seg) == nil {
			n++
		}
	}
}
