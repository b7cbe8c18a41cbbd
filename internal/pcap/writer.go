package pcap

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Writer writes a classic pcap file: one link type, microsecond or
// nanosecond timestamps, in either byte order. tcplens writes the byte
// order and resolution of the capture it read, so that a BSD loopback
// header (in its writer's byte order) and every timestamp survive.
type Writer struct {
	w     io.Writer
	order binary.AppendByteOrder
	nano  bool
	buf   []byte
	err   error
}

// NewWriter writes the file header to w. snapLen 0 means 262144.
func NewWriter(w io.Writer, link LinkType, snapLen int, nano, bigEndian bool) (*Writer, error) {
	pw := &Writer{w: w, order: binary.LittleEndian, nano: nano, buf: make([]byte, 0, ngFlushSize+64<<10)}
	if bigEndian {
		pw.order = binary.BigEndian
	}
	if snapLen <= 0 {
		snapLen = maxSaneCaplen
	}
	magic := uint32(magicMicro)
	if nano {
		magic = magicNano
	}
	pw.buf = pw.order.AppendUint32(pw.buf, magic)
	pw.buf = pw.order.AppendUint16(pw.buf, 2)
	pw.buf = pw.order.AppendUint16(pw.buf, 4)
	pw.buf = pw.order.AppendUint32(pw.buf, 0) // thiszone
	pw.buf = pw.order.AppendUint32(pw.buf, 0) // sigfigs
	pw.buf = pw.order.AppendUint32(pw.buf, uint32(snapLen))
	pw.buf = pw.order.AppendUint32(pw.buf, uint32(link))
	if err := pw.Flush(); err != nil {
		return nil, err
	}
	return pw, nil
}

// WritePacket writes f's timestamp, lengths and captured bytes.
func (w *Writer) WritePacket(f *Frame) error {
	if w.err != nil {
		return w.err
	}
	sec, nsec := f.Time.Unix()
	frac := nsec
	if !w.nano {
		frac /= 1000
	}
	w.buf = w.order.AppendUint32(w.buf, uint32(sec))
	w.buf = w.order.AppendUint32(w.buf, uint32(frac))
	w.buf = w.order.AppendUint32(w.buf, uint32(len(f.Data)))
	w.buf = w.order.AppendUint32(w.buf, uint32(max(f.Length, len(f.Data))))
	w.buf = append(w.buf, f.Data...)
	if len(w.buf) >= ngFlushSize {
		return w.Flush()
	}
	return nil
}

// Flush writes what is buffered.
func (w *Writer) Flush() error {
	if w.err != nil || len(w.buf) == 0 {
		return w.err
	}
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = fmt.Errorf("pcap: write: %w", err)
	}
	return w.err
}

// Nanosecond reports whether the file's timestamps are finer than a
// microsecond: a classic file with the nanosecond magic, or a pcapng file
// with an interface whose if_tsresol is finer.
func (r *Reader) Nanosecond() bool {
	if r.format == FormatPcap {
		return r.pcap.nano
	}
	for _, ifc := range r.interfaces {
		if ifc.tsUnitsPerSec > 1_000_000 {
			return true
		}
	}
	return false
}
