package pcap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// A classic pcap file can be read from the middle, by a second core,
// while the first reads its start: Boundary guesses where a record starts
// near an offset (classic pcap has no markers, so the guess is a run of
// plausible record headers, each where the one before ends), and
// ResumeClassic reads the records from there. The guess is only a guess:
// the caller must check it, by reading the start until its reader reaches
// the offset and finding a record starting exactly there, before it
// trusts what was read from the middle.

// ErrNotSplittable says a file cannot be read from its middle: it is not
// classic pcap, or it is compressed.
var ErrNotSplittable = errors.New("pcap: only an uncompressed classic pcap file is read from its middle")

// boundaryRun is how many consecutive plausible record headers make a
// boundary; boundaryWindow how far past the offset Boundary looks.
const (
	boundaryRun    = 8
	boundaryWindow = 1 << 20
)

// Boundary returns the first offset from from on where the records of the
// classic pcap file r has read the header of seem to start, in the file
// ra of size bytes; false when none is found within boundaryWindow bytes.
func (r *Reader) Boundary(ra io.ReaderAt, size, from int64) (int64, bool) {
	if r.format != FormatPcap || r.compressed || from <= 0 || from >= size {
		return 0, false
	}
	n := min(size-from, boundaryWindow+int64(boundaryRun)*int64(r.pcap.hdrLen+max(r.pcap.snapLen, maxSaneCaplen)))
	buf := make([]byte, n)
	m, err := ra.ReadAt(buf, from)
	if int64(m) < n && err != nil && err != io.EOF {
		return 0, false
	}
	buf = buf[:m]
	hl := r.pcap.hdrLen
	for p := 0; p < boundaryWindow && p+hl <= len(buf); p++ {
		pos, ok := p, true
		var refSec uint32
		for i := 0; i < boundaryRun && ok; i++ {
			if from+int64(pos) == size {
				break // the file ends after a whole record: as good a sign
			}
			if pos+hl > len(buf) {
				ok = false
				break
			}
			caplen, sec, good := r.plausible(buf[pos:], refSec, i > 0)
			if !good {
				ok = false
				break
			}
			refSec = sec
			pos += hl + int(caplen)
		}
		if ok {
			return from + int64(p), true
		}
	}
	return 0, false
}

// ResumeClassic returns a reader of the records of the classic pcap file
// ra (of size bytes) from offset off on, which must be where a record
// starts (see Boundary); it reads the file's header first. Frames keep
// their offsets in the file; their numbers count from 1 at off.
func ResumeClassic(ra io.ReaderAt, size, off int64) (*Reader, error) {
	var head [24]byte
	if _, err := ra.ReadAt(head[:], 0); err != nil {
		return nil, fmt.Errorf("pcap: the file header: %w", err)
	}
	if head[0] == 0x1f && head[1] == 0x8b {
		return nil, ErrNotSplittable
	}
	src := io.MultiReader(bytes.NewReader(head[:]), io.NewSectionReader(ra, off, size-off))
	rd, err := start(&Reader{src: src, buf: make([]byte, initialBuffer)}, src)
	if err != nil {
		return nil, err
	}
	if rd.format != FormatPcap {
		return nil, ErrNotSplittable
	}
	// The header's 24 bytes stand in front of the record at off.
	rd.base = off - 24
	return rd, nil
}
