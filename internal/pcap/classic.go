package pcap

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Classic pcap magic numbers, as read in little-endian order from a file
// written little-endian (the byte-swapped forms mean a big-endian file).
const (
	magicMicro     = 0xa1b2c3d4
	magicNano      = 0xa1b23c4d
	magicKuznetzov = 0xa1b2cd34 // patched libpcap: 24-byte record headers
)

// maxSaneCaplen is libpcap's limit for a packet of any common link type.
const maxSaneCaplen = 262144

func isClassicMagic(m uint32) bool {
	switch m {
	case magicMicro, magicNano, magicKuznetzov:
		return true
	}
	switch swap32(m) {
	case magicMicro, magicNano, magicKuznetzov:
		return true
	}
	return false
}

func swap32(v uint32) uint32 {
	return v>>24 | (v>>8)&0xff00 | (v<<8)&0xff0000 | v<<24
}

// lengthOrder says whether record headers carry caplen and len in the
// order of pcap 2.3 and later, the older order, or either (2.3 was written
// both ways).
type lengthOrder uint8

const (
	lengthsNormal lengthOrder = iota
	lengthsSwapped
	lengthsMaybeSwapped
)

type classicState struct {
	nano      bool
	hdrLen    int // 16, or 24 for the Kuznetzov variant
	lengths   lengthOrder
	snapLen   int // as libpcap adjusts it: 0 or absurd becomes 262144
	link      LinkType
	fcsLen    int
	prevOff   int64 // file offset of the previous record, -1 before the first
	lastSec   uint32
	snapWarn  bool // caplen above snaplen was reported
	pending   error
	recovered int // resynchronisations so far
	// plain says records have 16-byte headers with the lengths in the
	// usual order and no FCS to strip: classicPlain can read them.
	plain bool
}

// classicStart parses the 24-byte file header.
func (r *Reader) classicStart() error {
	if err := r.fill(24); err != nil {
		return &FormatError{Format: "pcap", Offset: 0, Msg: fmt.Sprintf("file header is %d bytes, want 24", r.avail()), Err: io.ErrUnexpectedEOF}
	}
	h := r.buf[r.pos : r.pos+24]
	magic := binary.LittleEndian.Uint32(h)
	if !(magic == magicMicro || magic == magicNano || magic == magicKuznetzov) {
		r.bigEndian = true
		magic = swap32(magic)
	}
	s := &r.pcap
	s.nano = magic == magicNano
	s.hdrLen = 16
	if magic == magicKuznetzov {
		s.hdrLen = 24
	}
	major, minor := r.u16(h[4:]), r.u16(h[6:])
	switch {
	case major < 2:
		return &FormatError{Format: "pcap", Offset: 4, Msg: fmt.Sprintf("archaic pcap version %d.%d", major, minor)}
	case major == 2 && minor <= 4:
		switch {
		case minor < 3:
			s.lengths = lengthsSwapped
		case minor == 3:
			s.lengths = lengthsMaybeSwapped
		}
	case major == 543 && minor == 0: // DG/UX tcpdump
		s.lengths = lengthsSwapped
	default:
		return &FormatError{Format: "pcap", Offset: 4, Msg: fmt.Sprintf("unsupported pcap version %d.%d", major, minor)}
	}
	snap := r.u32(h[16:])
	if snap == 0 || snap > 1<<31-1 {
		snap = maxSaneCaplen
	}
	s.snapLen = int(snap)
	linkWord := r.u32(h[20:])
	s.link = LinkType(linkWord & 0xffff)
	// The upper bits of the link-type word: bit 26 says an FCS is present,
	// bits 28-31 give its length in 16-bit units.
	if linkWord&0x04000000 != 0 {
		s.fcsLen = int(linkWord>>28) * 2
	}
	s.prevOff = -1
	s.plain = s.hdrLen == 16 && s.lengths == lengthsNormal && s.fcsLen == 0
	r.interfaces = append(r.interfaces, Interface{Link: s.link, SnapLen: s.snapLen, FCSLen: s.fcsLen, tsUnitsPerSec: 1e6})
	r.pos += 24
	r.keep = r.pos
	return nil
}

// classicNext reads one record into f.
func (r *Reader) classicNext(f *Frame) error {
	s := &r.pcap
	if s.pending != nil {
		err := s.pending
		s.pending = nil
		return err
	}
	if s.plain && r.end-r.pos >= 16 && r.classicPlain(f) {
		return nil
	}
	// Keep the previous record in the buffer: if this header is corrupt,
	// the previous record's length may be the lie, and resynchronising
	// looks inside it.
	if s.prevOff >= r.base {
		r.keep = int(s.prevOff - r.base)
	} else {
		r.keep = r.pos
	}
	start := r.pos
	off := r.offset(start)
	frameNo := r.frames + 1
	if err := r.fill(s.hdrLen); err != nil {
		if r.avail() == 0 {
			if r.srcErr != nil {
				return r.stopWith(r.sourceError(off, frameNo))
			}
			return r.stopWith(nil)
		}
		return r.stopWith(&FormatError{Format: "pcap", Offset: off, Frame: frameNo,
			Msg: fmt.Sprintf("record header cut short: %d of %d bytes", r.avail(), s.hdrLen), Err: err})
	}
	start = r.pos // fill may have moved the data
	caplen, length, sec, frac := r.classicHeader(r.buf[start:])
	limit := max(s.snapLen, maxSaneCaplen)
	if caplen > uint32(limit) || caplen > maxRecord {
		msg := fmt.Sprintf("captured length %d exceeds the snaplen %d and libpcap's limit %d", caplen, s.snapLen, maxSaneCaplen)
		return r.classicResync(off, frameNo, msg)
	}
	n := s.hdrLen + int(caplen)
	if err := r.fill(n); err != nil {
		return r.stopWith(&FormatError{Format: "pcap", Offset: off, Frame: frameNo,
			Msg: fmt.Sprintf("record says %d captured bytes, only %d remain", caplen, r.avail()-s.hdrLen), Err: err})
	}
	start = r.pos
	data := r.buf[start+s.hdrLen : start+n]
	wire := int(length)
	if s.fcsLen > 0 {
		wire = max(wire-s.fcsLen, 0)
		if len(data) > wire {
			data = data[:wire]
		}
	}
	var t Time
	if s.nano {
		t = fromParts(uint64(sec), uint64(frac))
	} else {
		t = fromParts(uint64(sec), uint64(frac)*1000)
	}
	// Warnings about the frame follow it. Both can apply to one record,
	// and a caller checking len(Data) <= Length must hear of the second.
	var warn string
	if caplen > length {
		warn = fmt.Sprintf("captured length %d exceeds the wire length %d", caplen, length)
	}
	if int(caplen) > s.snapLen && !s.snapWarn {
		s.snapWarn = true
		if warn != "" {
			warn += "; "
		}
		warn += fmt.Sprintf("captured length %d exceeds the file's snaplen %d; all %d bytes kept (reported once)", caplen, s.snapLen, caplen)
	}
	if warn != "" {
		s.pending = &FormatError{Format: "pcap", Offset: off, Frame: frameNo, Msg: warn}
	}
	if caplen == 0 {
		s.pending = r.emptyRecord(off, frameNo, length)
	}
	r.pos += n
	s.prevOff = off
	s.lastSec = sec
	r.frames++
	*f = Frame{Number: r.frames, Offset: off, Time: t, Link: s.link, Length: wire, Data: data}
	return nil
}

// classicPlain reads the record at r.pos into f if it is whole in the
// buffer and as most records are: lengths in the usual order, some bytes
// captured, within the wire length and the snaplen, so that none of the
// general path's checks would stop it or warn. It is that path's work on
// such a record, at a third of the cost: the reader spends most of its time
// here. It reports false, having changed nothing, for any other record.
func (r *Reader) classicPlain(f *Frame) bool {
	s := &r.pcap
	start := r.pos
	b := r.buf[start : start+16]
	var sec, frac, caplen, length uint32
	if r.bigEndian {
		sec, frac = binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
		caplen, length = binary.BigEndian.Uint32(b[8:]), binary.BigEndian.Uint32(b[12:])
	} else {
		sec, frac = binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
		caplen, length = binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:])
	}
	end := start + 16 + int(caplen)
	if caplen == 0 || caplen > length || int(caplen) > s.snapLen || end > r.end {
		return false // an empty record is counted (emptyRecord), or there is more to check
	}
	if s.prevOff >= r.base {
		r.keep = int(s.prevOff - r.base)
	} else {
		r.keep = start
	}
	off := r.base + int64(start)
	t := fromParts(uint64(sec), uint64(frac)*1000)
	if s.nano {
		t = fromParts(uint64(sec), uint64(frac))
	}
	r.pos = end
	s.prevOff = off
	s.lastSec = sec
	r.frames++
	*f = Frame{Number: r.frames, Offset: off, Time: t, Link: s.link, Length: int(length), Data: r.buf[start+16 : end : end]}
	return true
}

// classicHeader decodes a record header at b.
func (r *Reader) classicHeader(b []byte) (caplen, length, sec, frac uint32) {
	sec, frac = r.u32(b[0:]), r.u32(b[4:])
	caplen, length = r.u32(b[8:]), r.u32(b[12:])
	switch r.pcap.lengths {
	case lengthsSwapped:
		caplen, length = length, caplen
	case lengthsMaybeSwapped:
		if caplen > length {
			caplen, length = length, caplen
		}
	}
	return caplen, length, sec, frac
}

// plausible reports whether b (at least hdrLen bytes) looks like a record
// header: a fraction below one second, lengths that fit the file, and when
// a reference time is known (haveRef), a timestamp within a day of refSec.
// It returns the record's caplen and seconds.
func (r *Reader) plausible(b []byte, refSec uint32, haveRef bool) (caplen, sec uint32, ok bool) {
	s := &r.pcap
	caplen, length, sec, frac := r.classicHeader(b)
	unit := uint32(1e6)
	if s.nano {
		unit = 1e9
	}
	if frac >= unit || caplen == 0 || caplen > length || caplen > uint32(s.snapLen) || length > maxRecord {
		return 0, 0, false
	}
	if haveRef {
		d := int64(sec) - int64(refSec)
		if d < -86400 || d > 86400 {
			return 0, 0, false
		}
	}
	return caplen, sec, true
}

// resyncWindow is how far past a corrupt record header the reader looks
// for the next plausible one.
const resyncWindow = 1 << 20

// classicResync looks for the next record after a corrupt header at off.
// Classic pcap has no markers, so it scans for a position where a
// plausible header is followed by another plausible header (or by the end
// of the file). The scan starts inside the previous record, because a
// record whose length field was too large swallows the header after it.
func (r *Reader) classicResync(off int64, frameNo int, why string) error {
	s := &r.pcap
	haveLast := s.prevOff >= 0
	from := off + 1
	if haveLast {
		from = s.prevOff + int64(s.hdrLen) + 1
	}
	if from < r.base {
		from = off + 1
	}
	r.pos = int(from - r.base)
	r.keep = r.pos
	_ = r.fill(resyncWindow + 2*maxSaneCaplen) // a short read just means the file ends
	hl := s.hdrLen
	for p := r.pos; p+hl <= r.end && p-r.pos < resyncWindow; p++ {
		caplen, sec, ok := r.plausible(r.buf[p:], s.lastSec, haveLast)
		if !ok {
			continue
		}
		next := p + hl + int(caplen)
		switch {
		case next == r.end && r.srcDone:
		case next+hl <= r.end:
			// The follower's time must be near the candidate's (not the
			// last good record's: there may be none).
			if _, _, ok := r.plausible(r.buf[next:], sec, true); !ok {
				continue
			}
		default:
			continue
		}
		r.pos = p
		s.recovered++
		to := r.offset(p)
		return &FormatError{Format: "pcap", Offset: off, Frame: frameNo,
			Msg: fmt.Sprintf("%s; resuming at offset %d (0x%x), the next plausible record", why, to, to)}
	}
	return r.stopWith(&FormatError{Format: "pcap", Offset: off, Frame: frameNo,
		Msg: why + "; no plausible record follows, reading stops"})
}
