package pcap

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame is one captured packet.
type Frame struct {
	Number    int      // 1-based position in the capture, as Wireshark and tcpdump -# count
	File      int      // index of the file among the inputs of a merged capture, else 0
	Offset    int64    // byte offset of the record or block in its (uncompressed) file
	Time      Time     // capture timestamp
	Link      LinkType // link-layer header type of Data
	Interface int      // index into the reader's Interfaces; 0 for classic pcap
	Length    int      // length of the packet on the wire (original length)
	Data      []byte   // captured bytes, valid until the next call to Next
}

// Truncated reports whether the capture holds fewer bytes than the wire did.
func (f *Frame) Truncated() bool { return len(f.Data) < f.Length }

// Interface describes one capture interface: the single link of a classic
// pcap file, or one Interface Description Block of a pcapng file.
type Interface struct {
	Section int      // 0-based pcapng section the interface belongs to
	ID      int      // interface id within its section
	Link    LinkType // link-layer header type of its frames
	SnapLen int      // snapshot length; 0 means none was given
	Name    string   // if_name, when the file names it
	FCSLen  int      // bytes of frame check sequence at the end of each frame, stripped by the reader

	tsUnitsPerSec uint64 // timestamp units per second (if_tsresol)
	tsOffset      int64  // seconds added to every timestamp (if_tsoffset)
}

// Format is the container format of a capture file.
type Format uint8

const (
	FormatPcap   Format = iota + 1 // classic libpcap format
	FormatPcapNG                   // pcapng
)

func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapNG:
		return "pcapng"
	}
	return "unknown"
}

// Source is anything that hands out frames in order: a Reader, or several
// merged with Merge.
type Source interface {
	// Next returns the next frame. It returns io.EOF at the end; any other
	// error describes a problem the caller should report before calling Next
	// again.
	Next() (Frame, error)
}

const (
	initialBuffer = 256 << 10
	// maxRecord bounds a single record or block: libpcap accepts nothing
	// over 256 KiB for a packet, and a pcapng block adds at most its options.
	maxRecord = 16 << 20
)

// Reader reads frames from one capture file.
type Reader struct {
	src     io.Reader
	buf     []byte
	pos     int   // first unread byte in buf
	keep    int   // first byte in buf that must survive compaction (<= pos)
	end     int   // end of valid data in buf
	base    int64 // file offset of buf[0]
	srcDone bool  // src returned io.EOF
	srcErr  error // a read error other than io.EOF

	format     Format
	compressed bool
	bigEndian  bool
	frames     int   // frames handed out so far
	empty      int   // frames that captured no bytes
	done       bool  // nothing more can be read
	fatal      error // sticky cause of done, reported once

	interfaces []Interface

	pcap   classicState
	pcapng ngState
}

// NewReader reads the file header from r and returns a Reader positioned
// at the first frame. A gzip-compressed file is decompressed on the fly.
func NewReader(r io.Reader) (*Reader, error) {
	return start(&Reader{src: r, buf: make([]byte, initialBuffer)}, r)
}

// NewReaderBytes reads a capture held whole in memory, such as a file
// mapped by the caller: its frames are views into data, valid as long as
// data is, and nothing is copied. data is never written. A gzip-compressed
// capture is decompressed on the fly as with NewReader.
func NewReaderBytes(data []byte) (*Reader, error) {
	return start(&Reader{buf: data, end: len(data), srcDone: true}, bytes.NewReader(data))
}

// start reads the file header; r is the whole input from its first byte,
// for a gzip stream to start over on.
func start(rd *Reader, r io.Reader) (*Reader, error) {
	if err := rd.fill(4); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			if rd.end == 0 {
				return nil, fmt.Errorf("empty input: %w", ErrNotCapture)
			}
			return nil, &FormatError{Format: "capture", Offset: 0, Msg: fmt.Sprintf("file is %d bytes, too short for any file header", rd.end), Err: ErrNotCapture}
		}
		return nil, err
	}
	if rd.buf[0] == 0x1f && rd.buf[1] == 0x8b {
		// gzip: restart on the decompressed stream, keeping what was read.
		if rd.src != nil {
			head := append([]byte(nil), rd.buf[:rd.end]...)
			r = io.MultiReader(bytes.NewReader(head), r)
		}
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, &FormatError{Format: "gzip", Offset: 0, Msg: "bad gzip header", Err: err}
		}
		buf := rd.buf[:cap(rd.buf)]
		if rd.src == nil {
			buf = make([]byte, initialBuffer) // never the caller's bytes
		}
		rd = &Reader{src: zr, buf: buf, compressed: true}
		if err := rd.fill(4); err != nil {
			return nil, &FormatError{Format: "gzip", Offset: 0, Msg: "decompressed data too short for a file header", Err: err}
		}
	}
	magic := binary.LittleEndian.Uint32(rd.buf[rd.pos:])
	switch {
	case magic == ngBlockSHB:
		rd.format = FormatPcapNG
		if err := rd.ngStart(); err != nil {
			return nil, err
		}
	case isClassicMagic(magic):
		rd.format = FormatPcap
		if err := rd.classicStart(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("magic number 0x%08x: %w", binary.BigEndian.Uint32(rd.buf[rd.pos:]), ErrNotCapture)
	}
	return rd, nil
}

// Format reports whether the file is pcap or pcapng.
func (r *Reader) Format() Format { return r.format }

// Compressed reports whether the file was gzip-compressed.
func (r *Reader) Compressed() bool { return r.compressed }

// BigEndian reports the byte order of the file (of its latest section).
func (r *Reader) BigEndian() bool { return r.bigEndian }

// Interfaces lists the capture interfaces seen so far. Frame.Interface
// indexes it.
func (r *Reader) Interfaces() []Interface { return r.interfaces }

// Frames is the number of frames handed out so far.
func (r *Reader) Frames() int { return r.frames }

// EmptyFrames is the number of frames handed out so far that captured no
// bytes. Such records hold no packet; a file of nothing else (a gzip
// stream of zeros is one) is corrupt or made to waste its reader's time.
func (r *Reader) EmptyFrames() int { return r.empty }

// Next returns the next frame, io.EOF at the end of the file, or a
// *FormatError. After a FormatError the caller may call Next again: the
// reader resumes at the next record it can find, or returns io.EOF.
//
// The first record that captured no bytes is followed by a warning; the
// others are only counted ([Reader.EmptyFrames]), so that a file of
// millions of them costs no more than reading them.
func (r *Reader) Next() (Frame, error) {
	var f Frame
	err := r.Read(&f)
	return f, err
}

// Read is Next into *f, which it leaves as it was on an error: a caller
// that reads millions of frames spares copying each through the returns.
func (r *Reader) Read(f *Frame) error {
	if r.done {
		return io.EOF
	}
	if r.format == FormatPcapNG {
		fr, err := r.ngNext()
		if err == nil {
			*f = fr
		}
		return err
	}
	return r.classicNext(f)
}

// emptyRecord counts a record that captured no bytes and, for the first,
// returns the warning to follow it.
func (r *Reader) emptyRecord(off int64, frameNo int, wire uint32) error {
	if r.empty++; r.empty > 1 {
		return nil
	}
	return &FormatError{Format: r.format.String(), Offset: off, Frame: frameNo,
		Msg: fmt.Sprintf("the record captured no bytes (wire length %d): no packet; more such records are counted, not reported", wire)}
}

// stop ends reading: err (if any) is returned now, io.EOF afterwards.
func (r *Reader) stop(err error) (Frame, error) {
	return Frame{}, r.stopWith(err)
}

// stopWith is stop for readers that fill a Frame in place.
func (r *Reader) stopWith(err error) error {
	r.done = true
	if err == nil {
		return io.EOF
	}
	return err
}

// offset is the file offset of buf[i].
func (r *Reader) offset(i int) int64 { return r.base + int64(i) }

// avail is the number of unread bytes in the buffer.
func (r *Reader) avail() int { return r.end - r.pos }

// fill makes at least n unread bytes available at buf[pos:]. It returns
// io.ErrUnexpectedEOF if the input ends first (the bytes that were there
// stay available). The buffer only doubles when it is full of data actually
// read, so a lying length field costs at most twice the bytes present.
func (r *Reader) fill(n int) error {
	if r.end-r.pos >= n {
		return nil
	}
	// Compaction moves bytes within buf: never within a caller's bytes
	// (src is nil there), which are all there is anyway.
	if r.pos+n > len(r.buf) && r.keep > 0 && r.src != nil {
		copy(r.buf, r.buf[r.keep:r.end])
		r.base += int64(r.keep)
		r.pos -= r.keep
		r.end -= r.keep
		r.keep = 0
	}
	for empty := 0; r.end-r.pos < n; {
		if r.srcErr != nil {
			return r.srcErr
		}
		if r.srcDone {
			return io.ErrUnexpectedEOF
		}
		if r.end == len(r.buf) {
			nb := make([]byte, 2*len(r.buf))
			copy(nb, r.buf[:r.end])
			r.buf = nb
		}
		m, err := r.src.Read(r.buf[r.end:])
		r.end += m
		switch {
		case err == io.EOF:
			r.srcDone = true
		case err != nil:
			r.srcErr = err
		case m == 0:
			if empty++; empty > 100 {
				r.srcErr = io.ErrNoProgress
			}
		}
	}
	return nil
}

// sourceError is the error for a source that failed where the capture
// itself could have ended, before the record or block at off: a read
// error, or a gzip stream that is corrupt or cut short (a missing gzip
// trailer leaves every record intact but the file is still damaged).
func (r *Reader) sourceError(off int64, frameNo int) error {
	format, msg := r.format.String(), "read error"
	if r.compressed {
		format, msg = "gzip", "compressed stream is corrupt"
		if errors.Is(r.srcErr, io.ErrUnexpectedEOF) {
			msg = "compressed stream cut short"
		}
	}
	return &FormatError{Format: format, Offset: off, Frame: frameNo, Msg: msg, Err: r.srcErr}
}

// atEOF reports whether every byte of the input has been consumed.
func (r *Reader) atEOF() bool {
	if r.end > r.pos {
		return false
	}
	if r.srcDone || r.srcErr != nil {
		return true
	}
	// Probe the source for one more byte.
	if err := r.fill(1); err != nil {
		return true
	}
	return false
}

// u16, u32 and u64 read the file's byte order.
func (r *Reader) u16(b []byte) uint16 {
	if r.bigEndian {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}
