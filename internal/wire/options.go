package wire

import (
	"encoding/binary"

	"github.com/tcplens/tcplens/internal/seq"
)

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	OptEOL           = 0
	OptNOP           = 1
	OptMSS           = 2
	OptWindowScale   = 3
	OptSACKPermitted = 4
	OptSACK          = 5
	OptEcho          = 6 // RFC 1072, obsolete
	OptEchoReply     = 7 // RFC 1072, obsolete
	OptTimestamps    = 8
	OptCC            = 11 // RFC 1644 T/TCP, obsolete
	OptCCNew         = 12
	OptCCEcho        = 13
	OptMD5           = 19 // RFC 2385
	OptSCPS          = 20
	OptUTO           = 28 // RFC 5482 user timeout
	OptAO            = 29 // RFC 5925 TCP-AO
	OptMPTCP         = 30 // RFC 8684
	OptFastOpen      = 34 // RFC 7413
	OptAccECN0       = 172
	OptAccECN1       = 174
	OptExperiment1   = 253 // RFC 6994 experiments, identified by a 16-bit ExID
	OptExperiment2   = 254
)

// ExIDs of RFC 6994 experimental options seen in the wild.
const (
	ExIDFastOpen = 0xf989 // TFO before kind 34 was assigned
)

// Option is one TCP option.
type Option struct {
	Kind   uint8
	Len    int    // the length byte (kind and length included); 1 for EOL and NOP
	Data   []byte // value bytes, captured part
	Offset int    // offset of the kind byte from the start of the options area
}

// OptionIter walks an options area. The zero value walks nothing.
type OptionIter struct {
	b   []byte
	off int
	err *Error
	// base is the frame offset of the options area, for errors.
	base int
}

// Options returns an iterator over the TCP options of b. base is the offset
// of the options area within the frame, used in errors.
func (b TCP) OptionIter(base int) OptionIter {
	return OptionIter{b: b.Options(), base: base}
}

// IterOptions iterates over a raw options area starting at frame offset base.
func IterOptions(opts []byte, base int) OptionIter {
	return OptionIter{b: opts, base: base}
}

// Next returns the next option. It stops after EOL, at the end of the
// area, or at a malformed option (see Err).
func (it *OptionIter) Next() (Option, bool) {
	if it.off >= len(it.b) {
		return Option{}, false
	}
	o := Option{Kind: it.b[it.off], Offset: it.off}
	switch o.Kind {
	case OptEOL:
		o.Len = 1
		it.off = len(it.b) // nothing after EOL is an option
		return o, true
	case OptNOP:
		o.Len = 1
		it.off++
		return o, true
	}
	if it.off+1 >= len(it.b) {
		it.err = errorf("tcp option", it.base+it.off, "kind %d has no length byte", int(o.Kind))
		it.off = len(it.b)
		return Option{}, false
	}
	o.Len = int(it.b[it.off+1])
	if o.Len < 2 {
		it.err = errorf("tcp option", it.base+it.off+1, "kind %d has length %d < 2", int(o.Kind), o.Len)
		it.off = len(it.b)
		return Option{}, false
	}
	if it.off+o.Len > len(it.b) {
		it.err = errorf("tcp option", it.base+it.off+1, "kind %d of length %d overruns the options by %d bytes", int(o.Kind), o.Len, it.off+o.Len-len(it.b))
		it.off = len(it.b)
		return Option{}, false
	}
	o.Data = it.b[it.off+2 : it.off+o.Len]
	it.off += o.Len
	return o, true
}

// Err reports the malformed option that stopped the walk, or nil.
func (it *OptionIter) Err() error {
	if it.err == nil {
		return nil
	}
	return it.err
}

// MaxSACKBlocks is the most SACK blocks a 40-byte options area can hold.
const MaxSACKBlocks = 4

// OptionSet records which options a segment carried, one bit per kind
// tcplens follows.
type OptionSet uint16

// Bits of OptionSet.
const (
	HasMSS OptionSet = 1 << iota
	HasWindowScale
	HasSACKPermitted
	HasSACK
	HasTimestamps
	HasFastOpen
	HasMPTCP
	HasMD5
	HasAO
	HasUTO
	HasAccECN
	HasUnknown   // a kind tcplens does not decode
	HasMalformed // an option had a length its kind does not allow, or the area did not parse to its end
)

// Options is the decoded meaning of a segment's options.
type Options struct {
	Present        OptionSet
	MSS            uint16
	WindowScale    uint8 // shift count as sent; RFC 7323 caps its use at 14
	SACK           [MaxSACKBlocks]seq.Range
	NumSACK        int
	TSVal, TSEcr   uint32
	FastOpenCookie int // cookie length in bytes; 0 with HasFastOpen is a cookie request
	UTO            uint16
}

// Has reports whether all options of s were present.
func (o *Options) Has(s OptionSet) bool { return o.Present&s == s }

// SACKBlocks returns the SACK blocks carried.
func (o *Options) SACKBlocks() []seq.Range { return o.SACK[:o.NumSACK] }

// ParseOptions decodes an options area into o. It stops at a malformed
// option and returns the error, keeping what came before it.
func ParseOptions(area []byte, base int, o *Options) error {
	*o = Options{}
	// Fast path: after the handshake nearly every segment of a connection
	// with timestamps carries exactly NOP, NOP, TS (RFC 7323 appendix A).
	if len(area) == 12 && area[0] == OptNOP && area[1] == OptNOP && area[2] == OptTimestamps && area[3] == 10 {
		o.Present = HasTimestamps
		o.TSVal = binary.BigEndian.Uint32(area[4:])
		o.TSEcr = binary.BigEndian.Uint32(area[8:])
		return nil
	}
	it := IterOptions(area, base)
	for {
		opt, ok := it.Next()
		if !ok {
			break
		}
		d := opt.Data
		switch opt.Kind {
		case OptEOL, OptNOP:
		case OptMSS:
			if len(d) == 2 {
				o.Present |= HasMSS
				o.MSS = binary.BigEndian.Uint16(d)
			} else {
				o.Present |= HasMalformed
			}
		case OptWindowScale:
			if len(d) == 1 {
				o.Present |= HasWindowScale
				o.WindowScale = d[0]
			} else {
				o.Present |= HasMalformed
			}
		case OptSACKPermitted:
			if len(d) == 0 {
				o.Present |= HasSACKPermitted
			} else {
				o.Present |= HasMalformed
			}
		case OptSACK:
			if len(d)%8 != 0 {
				o.Present |= HasMalformed
				break
			}
			o.Present |= HasSACK
			for i := 0; i+8 <= len(d) && o.NumSACK < MaxSACKBlocks; i += 8 {
				o.SACK[o.NumSACK] = seq.Range{
					Start: seq.Num(binary.BigEndian.Uint32(d[i:])),
					End:   seq.Num(binary.BigEndian.Uint32(d[i+4:])),
				}
				o.NumSACK++
			}
		case OptTimestamps:
			if len(d) == 8 {
				o.Present |= HasTimestamps
				o.TSVal = binary.BigEndian.Uint32(d)
				o.TSEcr = binary.BigEndian.Uint32(d[4:])
			} else {
				o.Present |= HasMalformed
			}
		case OptFastOpen:
			o.Present |= HasFastOpen
			o.FastOpenCookie = len(d)
		case OptExperiment1, OptExperiment2:
			if len(d) >= 2 && binary.BigEndian.Uint16(d) == ExIDFastOpen {
				o.Present |= HasFastOpen
				o.FastOpenCookie = len(d) - 2
			} else {
				o.Present |= HasUnknown
			}
		case OptMPTCP:
			o.Present |= HasMPTCP
		case OptMD5:
			o.Present |= HasMD5
		case OptAO:
			o.Present |= HasAO
		case OptUTO:
			if len(d) == 2 {
				o.Present |= HasUTO
				o.UTO = binary.BigEndian.Uint16(d)
			} else {
				o.Present |= HasMalformed
			}
		case OptAccECN0, OptAccECN1:
			o.Present |= HasAccECN
		default:
			o.Present |= HasUnknown
		}
	}
	if err := it.Err(); err != nil {
		o.Present |= HasMalformed
		return err
	}
	return nil
}
