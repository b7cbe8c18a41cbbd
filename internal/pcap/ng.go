package pcap

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
)

// pcapng block types (draft-ietf-opsawg-pcapng).
const (
	ngBlockSHB       = 0x0A0D0D0A
	ngBlockIDB       = 0x00000001
	ngBlockPB        = 0x00000002 // obsolete Packet Block
	ngBlockSPB       = 0x00000003
	ngBlockNRB       = 0x00000004
	ngBlockISB       = 0x00000005
	ngBlockEPB       = 0x00000006
	ngBlockJournal   = 0x00000009
	ngBlockDSB       = 0x0000000A
	ngBlockCustom    = 0x00000BAD
	ngBlockCustomNC  = 0x40000BAD
	ngByteOrderMagic = 0x1A2B3C4D
)

// IDB option codes.
const (
	optEnd      = 0
	optIfName   = 2
	optTSResol  = 9
	optFCSLen   = 13
	optTSOffset = 14
)

type ngState struct {
	section  int   // 0-based index of the current section
	first    int   // index in Reader.interfaces of the section's first interface
	started  bool  // a section header has been read
	lastTime Time  // timestamp of the previous frame, for Simple Packet Blocks
	pending  error // a warning about the frame just handed out
}

// ngStart reads the first Section Header Block. Its errors name frame 0:
// they come before the first frame, like a classic file header's.
func (r *Reader) ngStart() error {
	typ, body, off, err := r.ngBlock()
	if err == nil {
		if typ != ngBlockSHB {
			return &FormatError{Format: "pcapng", Offset: off, Msg: "file does not start with a section header block"}
		}
		err = r.ngSection(body, off)
	}
	if fe, ok := err.(*FormatError); ok {
		fe.Frame = 0
	}
	return err
}

// ngSection starts a new section. The byte order was already taken from
// its byte-order magic by ngBlock.
func (r *Reader) ngSection(body []byte, off int64) error {
	s := &r.pcapng
	if s.started {
		s.section++
	}
	s.started = true
	s.first = len(r.interfaces)
	if len(body) < 16 {
		return &FormatError{Format: "pcapng", Offset: off, Frame: r.frames + 1, Msg: fmt.Sprintf("section header body is %d bytes, want at least 16", len(body))}
	}
	if major := r.u16(body[4:]); major != 1 {
		return &FormatError{Format: "pcapng", Offset: off + 12, Frame: r.frames + 1, Msg: fmt.Sprintf("unknown pcapng major version %d, reading the section as version 1", major)}
	}
	return nil
}

// ngBlock reads the block at r.pos and advances past it. body is what lies
// between the 8-byte header and the 4-byte trailer. It returns io.EOF at a
// clean end of file. Other errors are *FormatError; if the block was
// unusable the reader has already moved to the next block it could find,
// or stopped.
func (r *Reader) ngBlock() (typ uint32, body []byte, off int64, err error) {
	r.keep = r.pos
	off = r.offset(r.pos)
	frameNo := r.frames + 1
	if err := r.fill(8); err != nil {
		if r.avail() == 0 {
			if r.srcErr != nil {
				r.done = true
				return 0, nil, off, r.sourceError(off, frameNo)
			}
			return 0, nil, off, io.EOF
		}
		r.done = true
		return 0, nil, off, &FormatError{Format: "pcapng", Offset: off, Frame: frameNo,
			Msg: fmt.Sprintf("block header cut short: %d of 8 bytes", r.avail()), Err: err}
	}
	b := r.buf[r.pos:]
	typ = binary.LittleEndian.Uint32(b) // SHB's type reads the same both ways
	if typ == ngBlockSHB {
		if err := r.fill(12); err != nil {
			r.done = true
			return 0, nil, off, &FormatError{Format: "pcapng", Offset: off, Frame: frameNo, Msg: "section header cut short", Err: err}
		}
		b = r.buf[r.pos:]
		switch {
		case binary.LittleEndian.Uint32(b[8:]) == ngByteOrderMagic:
			r.bigEndian = false
		case binary.BigEndian.Uint32(b[8:]) == ngByteOrderMagic:
			r.bigEndian = true
		default:
			return 0, nil, off, r.ngResync(off, frameNo, fmt.Sprintf("section header has a bad byte-order magic 0x%08x", binary.BigEndian.Uint32(b[8:])))
		}
	} else {
		typ = r.u32(b)
	}
	length := r.u32(b[4:])
	switch {
	case length < 12:
		return 0, nil, off, r.ngResync(off, frameNo, fmt.Sprintf("block length %d < minimum 12", length))
	case length%4 != 0:
		return 0, nil, off, r.ngResync(off, frameNo, fmt.Sprintf("block length %d is not a multiple of 4", length))
	case length > maxRecord:
		return 0, nil, off, r.ngResync(off, frameNo, fmt.Sprintf("block length %d exceeds the maximum %d", length, maxRecord))
	}
	if err := r.fill(int(length)); err != nil {
		why := fmt.Sprintf("block of %d bytes cut short: %d bytes remain", length, r.avail())
		if r.srcErr == nil {
			// Either the file is truncated or the length lies; in the
			// second case a valid block follows inside the bytes left.
			return 0, nil, off, r.ngResyncOr(off, frameNo, why, err)
		}
		r.done = true
		return 0, nil, off, &FormatError{Format: "pcapng", Offset: off, Frame: frameNo, Msg: why, Err: err}
	}
	b = r.buf[r.pos : r.pos+int(length)]
	if trailer := r.u32(b[length-4:]); trailer != length {
		return 0, nil, off, r.ngResync(off, frameNo, fmt.Sprintf("block length %d at the start but %d at the end", length, trailer))
	}
	r.pos += int(length)
	return typ, b[8 : length-4], off, nil
}

// knownBlock reports whether typ is a block type a resynchronising reader
// may trust as a landing point.
func knownBlock(typ uint32) bool {
	switch typ {
	case ngBlockSHB, ngBlockIDB, ngBlockPB, ngBlockSPB, ngBlockNRB, ngBlockISB, ngBlockEPB,
		ngBlockJournal, ngBlockDSB, ngBlockCustom, ngBlockCustomNC:
		return true
	}
	return false
}

// ngResync moves the reader to the next 4-byte-aligned position after off
// where a block of a known type starts whose leading and trailing lengths
// agree, and returns the error to report. pcapng repeats every block's
// length at its end, which makes a false landing point very unlikely.
func (r *Reader) ngResync(off int64, frameNo int, why string) error {
	return r.ngResyncOr(off, frameNo, why, nil)
}

// ngResyncOr is ngResync whose error, when no valid block follows, wraps
// stopErr.
func (r *Reader) ngResyncOr(off int64, frameNo int, why string, stopErr error) error {
	r.pos = int(off-r.base) + 4
	r.keep = r.pos
	_ = r.fill(resyncWindow) // a short read just means the file ends
	start := r.pos
	for p := start; p+12 <= r.end && p-start < resyncWindow; p += 4 {
		b := r.buf[p:r.end]
		typ := binary.LittleEndian.Uint32(b)
		bigEndian := r.bigEndian
		if typ == ngBlockSHB {
			switch {
			case binary.LittleEndian.Uint32(b[8:]) == ngByteOrderMagic:
				bigEndian = false
			case binary.BigEndian.Uint32(b[8:]) == ngByteOrderMagic:
				bigEndian = true
			default:
				continue
			}
		}
		order := binary.ByteOrder(binary.LittleEndian)
		if bigEndian {
			order = binary.BigEndian
		}
		typ = order.Uint32(b)
		length := order.Uint32(b[4:])
		if !knownBlock(typ) || length < 12 || length%4 != 0 || int(length) > len(b) {
			continue
		}
		if order.Uint32(b[length-4:]) != length {
			continue
		}
		r.pos = p
		to := r.offset(p)
		return &FormatError{Format: "pcapng", Offset: off, Frame: frameNo,
			Msg: fmt.Sprintf("%s; resuming at offset %d (0x%x), the next block", why, to, to)}
	}
	r.done = true
	return &FormatError{Format: "pcapng", Offset: off, Frame: frameNo, Msg: why + "; no valid block follows, reading stops", Err: stopErr}
}

// ngNext reads blocks until one holds a packet.
func (r *Reader) ngNext() (Frame, error) {
	if err := r.pcapng.pending; err != nil {
		r.pcapng.pending = nil
		return Frame{}, err
	}
	for {
		typ, body, off, err := r.ngBlock()
		if err != nil {
			if err == io.EOF {
				return r.stop(nil)
			}
			return Frame{}, err
		}
		switch typ {
		case ngBlockSHB:
			if err := r.ngSection(body, off); err != nil {
				return Frame{}, err
			}
		case ngBlockIDB:
			if err := r.ngInterface(body, off); err != nil {
				return Frame{}, err
			}
		case ngBlockEPB, ngBlockPB, ngBlockSPB:
			f, err := r.ngPacket(typ, body, off)
			if err != nil {
				return Frame{}, err
			}
			return f, nil
		}
	}
}

// ngInterface records an Interface Description Block.
func (r *Reader) ngInterface(body []byte, off int64) error {
	if len(body) < 8 {
		// Keep interface numbering in step with the file even so.
		r.interfaces = append(r.interfaces, Interface{Section: r.pcapng.section, ID: len(r.interfaces) - r.pcapng.first, tsUnitsPerSec: 1e6})
		return &FormatError{Format: "pcapng", Offset: off, Frame: r.frames + 1, Msg: fmt.Sprintf("interface description body is %d bytes, want at least 8", len(body))}
	}
	ifc := Interface{
		Section:       r.pcapng.section,
		ID:            len(r.interfaces) - r.pcapng.first,
		Link:          LinkType(r.u16(body)),
		SnapLen:       int(r.u32(body[4:])),
		tsUnitsPerSec: 1e6,
	}
	bad := r.interfaceOptions(&ifc, body[8:])
	r.interfaces = append(r.interfaces, ifc)
	if bad != nil {
		bad.Offset, bad.Frame = off, r.frames+1
		return bad
	}
	return nil
}

// interfaceOptions reads the options of an Interface Description Block
// into ifc. Its error has no position: the caller knows the block's.
func (r *Reader) interfaceOptions(ifc *Interface, opts []byte) *FormatError {
	var bad *FormatError
	for len(opts) > 0 {
		code, v, rest, err := r.nextOption(opts)
		if err != nil {
			return err
		}
		if code == optEnd {
			break
		}
		opts = rest
		switch code {
		case optIfName:
			ifc.Name = string(v)
		case optTSResol:
			if len(v) == 1 {
				if units, ok := tsUnits(v[0]); ok {
					ifc.tsUnitsPerSec = units
				} else {
					bad = &FormatError{Format: "pcapng", Msg: fmt.Sprintf("if_tsresol 0x%02x is finer than the format allows; assuming microseconds", v[0])}
				}
			}
		case optTSOffset:
			if len(v) == 8 {
				ifc.tsOffset = int64(r.u64(v))
			}
		case optFCSLen:
			if len(v) == 1 {
				ifc.FCSLen = int(v[0])
			}
		}
	}
	return bad
}

// nextOption splits the first option off a block's options: its code, its
// value and the options after it (the value padded to 32 bits). Fewer
// than 4 bytes left end the options, as opt_endofopt does; an option whose
// value overruns the block is an error.
func (r *Reader) nextOption(opts []byte) (code uint16, value, rest []byte, err *FormatError) {
	if len(opts) < 4 {
		return optEnd, nil, nil, nil
	}
	code, n := r.u16(opts), int(r.u16(opts[2:]))
	if code == optEnd {
		return optEnd, nil, nil, nil
	}
	if 4+n > len(opts) {
		return code, nil, nil, &FormatError{Format: "pcapng", Msg: fmt.Sprintf("interface option %d of %d bytes overruns its block", code, n)}
	}
	next := min(4+(n+3)&^3, len(opts))
	return code, opts[4 : 4+n], opts[next:], nil
}

// tsUnits converts if_tsresol into units per second: the high bit selects
// a negative power of two, otherwise a negative power of ten.
func tsUnits(resol byte) (uint64, bool) {
	if resol&0x80 != 0 {
		shift := resol & 0x7f
		if shift > 63 {
			return 0, false
		}
		return 1 << shift, true
	}
	if resol > 19 {
		return 0, false
	}
	u := uint64(1)
	for range resol {
		u *= 10
	}
	return u, true
}

func (r *Reader) u64(b []byte) uint64 {
	if r.bigEndian {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// ngPacket turns an EPB, PB or SPB into a frame.
func (r *Reader) ngPacket(typ uint32, body []byte, off int64) (Frame, error) {
	s := &r.pcapng
	frameNo := r.frames + 1
	var (
		ifid          uint32
		caplen, wire  uint32
		ts            uint64
		hasTime       bool
		data          []byte
		fixed         int
		blockTypeName string
	)
	switch typ {
	case ngBlockEPB:
		blockTypeName, fixed = "enhanced packet block", 20
		if len(body) < fixed {
			return Frame{}, &FormatError{Format: "pcapng", Offset: off, Frame: frameNo, Msg: fmt.Sprintf("%s body is %d bytes, want at least %d", blockTypeName, len(body), fixed)}
		}
		ifid = r.u32(body)
		ts = uint64(r.u32(body[4:]))<<32 | uint64(r.u32(body[8:]))
		caplen, wire = r.u32(body[12:]), r.u32(body[16:])
		hasTime = true
	case ngBlockPB:
		blockTypeName, fixed = "packet block", 20
		if len(body) < fixed {
			return Frame{}, &FormatError{Format: "pcapng", Offset: off, Frame: frameNo, Msg: fmt.Sprintf("%s body is %d bytes, want at least %d", blockTypeName, len(body), fixed)}
		}
		ifid = uint32(r.u16(body))
		ts = uint64(r.u32(body[4:]))<<32 | uint64(r.u32(body[8:]))
		caplen, wire = r.u32(body[12:]), r.u32(body[16:])
		hasTime = true
	case ngBlockSPB:
		blockTypeName, fixed = "simple packet block", 4
		if len(body) < fixed {
			return Frame{}, &FormatError{Format: "pcapng", Offset: off, Frame: frameNo, Msg: fmt.Sprintf("%s body is %d bytes, want at least %d", blockTypeName, len(body), fixed)}
		}
		wire = r.u32(body)
		caplen = min(wire, uint32(len(body)-fixed))
	}
	if uint64(ifid) >= uint64(len(r.interfaces)-s.first) {
		return Frame{}, &FormatError{Format: "pcapng", Offset: off, Frame: frameNo,
			Msg: fmt.Sprintf("%s names interface %d, but section %d describes %d", blockTypeName, ifid, s.section, len(r.interfaces)-s.first)}
	}
	idx := s.first + int(ifid)
	ifc := &r.interfaces[idx]
	if typ == ngBlockSPB && ifc.SnapLen > 0 && caplen > uint32(ifc.SnapLen) {
		caplen = uint32(ifc.SnapLen)
	}
	if uint64(caplen) > uint64(len(body)-fixed) {
		return Frame{}, &FormatError{Format: "pcapng", Offset: off, Frame: frameNo,
			Msg: fmt.Sprintf("%s says %d captured bytes but holds only %d", blockTypeName, caplen, len(body)-fixed)}
	}
	data = body[fixed : fixed+int(caplen)]
	length := int(wire)
	if ifc.FCSLen > 0 {
		length = max(length-ifc.FCSLen, 0)
		if len(data) > length {
			data = data[:length]
		}
	}
	var t Time
	if hasTime {
		t = ifc.timestamp(ts)
		s.lastTime = t
	} else {
		// A Simple Packet Block has no timestamp; the previous frame's keeps
		// the capture in order.
		t = s.lastTime
	}
	if caplen > wire {
		// Like classic pcap: the frame, then a warning about it.
		s.pending = &FormatError{Format: "pcapng", Offset: off, Frame: frameNo,
			Msg: fmt.Sprintf("%s says %d captured bytes, more than the wire length %d", blockTypeName, caplen, wire)}
	}
	if caplen == 0 {
		s.pending = r.emptyRecord(off, frameNo, wire)
	}
	r.frames++
	return Frame{Number: r.frames, Offset: off, Time: t, Link: ifc.Link, Interface: idx, Length: length, Data: data}, nil
}

// timestamp converts a raw 64-bit pcapng timestamp to Time, exactly: the
// fraction is scaled with 128-bit arithmetic so binary resolutions down to
// 2^-63 s neither overflow nor lose the truncation libpcap applies, and
// if_tsoffset (signed: it may move a timestamp before 1970) is added to the
// unsigned seconds in 128 bits, so that no combination wraps: what lies
// beyond Time's range saturates at its ends.
func (ifc *Interface) timestamp(ts uint64) Time {
	units := ifc.tsUnitsPerSec
	sec := ts / units
	frac := ts % units
	hi, lo := bits.Mul64(frac, 1e9)
	nsec, _ := bits.Div64(hi, lo, units) // hi < units: frac < units and 1e9 < 2^64
	// sec + tsOffset as a 128-bit two's complement number (shi, slo).
	slo, shi := bits.Add64(sec, uint64(ifc.tsOffset), 0)
	if ifc.tsOffset < 0 {
		shi-- // sign extension of the offset: 0 becomes -1, a carry of 1 becomes 0
	}
	switch {
	case shi == 0 && slo <= math.MaxInt64, shi == math.MaxUint64 && slo > math.MaxInt64:
		return fromSec(int64(slo), nsec)
	case shi == math.MaxUint64:
		return math.MinInt64
	}
	return math.MaxInt64
}
