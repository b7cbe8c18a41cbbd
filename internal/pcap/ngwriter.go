package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// NGWriter writes a pcapng file: one Section Header Block, an Interface
// Description Block for each interface (named, with nanosecond timestamps:
// if_tsresol 9), and an Enhanced Packet Block per frame, all little-endian.
//
// Blocks are gathered in a buffer and reach the underlying writer whole,
// when the buffer fills or on Flush: a reader following the file (tail -f,
// or tcplens read on a growing file) never sees half a block, and sees
// everything written before the last Flush. A write error is sticky.
type NGWriter struct {
	w   io.Writer
	buf []byte
	n   int // interfaces declared
	err error
}

// ngFlushSize is how much the writer gathers before writing by itself.
const ngFlushSize = 64 << 10

// shb_userappl, the application that wrote the section.
const optSHBUserAppl = 4

// NewNGWriter writes the Section Header Block to w and returns a writer
// for the section's interfaces and frames.
func NewNGWriter(w io.Writer) (*NGWriter, error) {
	nw := &NGWriter{w: w, buf: make([]byte, 0, ngFlushSize+64<<10)}
	body := make([]byte, 16, 32)
	binary.LittleEndian.PutUint32(body[0:], ngByteOrderMagic)
	binary.LittleEndian.PutUint16(body[4:], 1) // version 1.0
	binary.LittleEndian.PutUint16(body[6:], 0)
	binary.LittleEndian.PutUint64(body[8:], ^uint64(0)) // section length not given
	body = appendOption(body, optSHBUserAppl, []byte("tcplens"))
	body = appendOption(body, optEnd, nil)
	nw.block(ngBlockSHB, body, nil)
	if err := nw.Flush(); err != nil {
		return nil, err
	}
	return nw, nil
}

// AddInterface declares an interface and returns its id, which
// WritePacket takes. snapLen 0 means no limit was set.
func (w *NGWriter) AddInterface(name string, link LinkType, snapLen int) int {
	body := make([]byte, 8, 32+len(name))
	binary.LittleEndian.PutUint16(body[0:], uint16(link))
	binary.LittleEndian.PutUint32(body[4:], uint32(snapLen))
	if name != "" {
		body = appendOption(body, optIfName, []byte(name))
	}
	body = appendOption(body, optTSResol, []byte{9}) // 10^-9 s
	body = appendOption(body, optEnd, nil)
	w.block(ngBlockIDB, body, nil)
	w.n++
	return w.n - 1
}

// WritePacket writes f as an Enhanced Packet Block of interface iface:
// f.Time, f.Length and f.Data; f's own Link and Interface are the
// caller's to have declared with AddInterface.
func (w *NGWriter) WritePacket(iface int, f *Frame) error {
	if w.err != nil {
		return w.err
	}
	if iface < 0 || iface >= w.n {
		return fmt.Errorf("pcapng: interface %d was not declared (%d are)", iface, w.n)
	}
	ts := uint64(0)
	if f.Time > 0 {
		ts = uint64(f.Time) // nanoseconds, as if_tsresol 9 declares
	}
	orig := max(f.Length, len(f.Data))
	var hdr [20]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(iface))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(ts>>32))
	binary.LittleEndian.PutUint32(hdr[8:], uint32(ts))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(len(f.Data)))
	binary.LittleEndian.PutUint32(hdr[16:], uint32(orig))
	w.block(ngBlockEPB, hdr[:], f.Data)
	if len(w.buf) >= ngFlushSize {
		return w.Flush()
	}
	return w.err
}

// Flush writes the blocks gathered so far.
func (w *NGWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = fmt.Errorf("pcapng: write: %w", err)
	}
	return w.err
}

// Close flushes; it does not close the underlying writer.
func (w *NGWriter) Close() error {
	err := w.Flush()
	if err == nil {
		w.err = errors.New("pcapng: writer closed")
	}
	return err
}

// block appends a block: type, total length, head, data padded to 32
// bits, total length again.
func (w *NGWriter) block(typ uint32, head, data []byte) {
	pad := (4 - len(data)%4) % 4
	total := 12 + len(head) + len(data) + pad
	w.buf = binary.LittleEndian.AppendUint32(w.buf, typ)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(total))
	w.buf = append(w.buf, head...)
	w.buf = append(w.buf, data...)
	w.buf = append(w.buf, make([]byte, pad)...)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(total))
}

// appendOption appends one option TLV, its value padded to 32 bits.
func appendOption(b []byte, code uint16, v []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	return append(b, make([]byte, (4-len(v)%4)%4)...)
}
