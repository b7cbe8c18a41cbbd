package tcpdump

import (
	"encoding/binary"
	"math"
	"strconv"
)

// Radiotap presence bits tcpdump prints (print-802_11.c); any other stops
// the radiotap part of the line with "[bit N]".
const (
	rtTSFT          = 0
	rtFlags         = 1
	rtRate          = 2
	rtChannel       = 3
	rtFHSS          = 4
	rtDBMSignal     = 5
	rtDBMNoise      = 6
	rtLockQuality   = 7
	rtTXAttenuation = 8
	rtDBTXAtten     = 9
	rtDBMTXPower    = 10
	rtAntenna       = 11
	rtDBSignal      = 12
	rtDBNoise       = 13
	rtRXFlags       = 14
	rtXChannel      = 18
	rtMCS           = 19
	rtAMPDU         = 20
	rtVHT           = 21
	rtNamespace     = 29
	rtVendor        = 30
	rtExt           = 31
)

// Channel flags (ieee80211_radiotap.h).
const (
	chanTurbo   = 0x00010
	chanCCK     = 0x00020
	chanOFDM    = 0x00040
	chan2GHz    = 0x00080
	chan5GHz    = 0x00100
	chanDyn     = 0x00400
	chanGFSK    = 0x00800
	chanHalf    = 0x04000
	chanQuarter = 0x08000
	chanHT20    = 0x10000
	chanHT40U   = 0x20000
	chanHT40D   = 0x40000
)

// rtCursor reads radiotap fields as tcpdump's cpack does: each value
// aligned to its own size from the start of the header, within it.
type rtCursor struct {
	h   []byte
	off int
	bad bool // a read ran past the header
}

func (c *rtCursor) take(size int) []byte {
	off := (c.off + size - 1) &^ (size - 1)
	if c.bad || off+size > len(c.h) {
		c.bad = true
		return make([]byte, size)
	}
	c.off = off + size
	return c.h[off : off+size]
}

func (c *rtCursor) u8() uint8   { return c.take(1)[0] }
func (c *rtCursor) u16() uint16 { return binary.LittleEndian.Uint16(c.take(2)) }
func (c *rtCursor) u32() uint32 { return binary.LittleEndian.Uint32(c.take(4)) }
func (c *rtCursor) u64() uint64 { return binary.LittleEndian.Uint64(c.take(8)) }

// appendRadiotap prints a radiotap header's fields as
// ieee802_11_radio_print does, each followed by a space.
func appendRadiotap(b []byte, data []byte) []byte {
	if len(data) < 8 {
		return append(b, "[|802.11]"...)
	}
	n := int(binary.LittleEndian.Uint16(data[2:]))
	if len(data) < n {
		return append(b, "[|802.11]"...)
	}
	h := data[:n]
	last := 4
	for last+4 <= n && binary.LittleEndian.Uint32(h[last:])&(1<<rtExt) != 0 {
		last += 4
	}
	if last+4 > n {
		return append(b, "[|802.11]"...)
	}
	c := rtCursor{h: h, off: last + 4}
	bit0, vendor, skip := 0, false, 0
	for word := 4; word <= last; word += 4 {
		present := binary.LittleEndian.Uint32(h[word:])
		if vendor {
			if c.off+skip > len(h) {
				break
			}
			c.off += skip
			skip = 0
		} else {
			var stop bool
			if b, stop = appendRadiotapWord(b, &c, present, bit0); stop {
				break
			}
		}
		switch present & (1<<rtNamespace | 1<<rtVendor) {
		case 0:
			bit0 += 32
		case 1 << rtNamespace:
			bit0, vendor, skip = 0, false, 0
		case 1 << rtVendor:
			bit0, vendor = 0, true
			v := c.take(2) // aligns the OUI to 2
			_ = c.take(1)
			_ = c.take(1)
			_ = v
			skip = int(c.u16())
			if c.bad {
				b = append(b, "[|802.11]"...)
			}
		}
	}
	return b
}

// appendRadiotapWord prints the fields of one presence word of the
// radiotap namespace whose first bit is bit0; stop says a field could not
// be read or is unknown, which ends the radiotap fields.
func appendRadiotapWord(b []byte, c *rtCursor, present uint32, bit0 int) ([]byte, bool) {
	all := present
	for p := present; p != 0; p &= p - 1 {
		bitno := trailingZeros(p)
		if bitno >= rtNamespace {
			break
		}
		var ok bool
		if b, ok = appendRadiotapField(b, c, bit0+bitno, all); !ok {
			return b, true
		}
	}
	return b, false
}

func trailingZeros(v uint32) int {
	n := 0
	for v&1 == 0 {
		v >>= 1
		n++
	}
	return n
}

// appendRadiotapField prints one field. Sizes are tcpdump's: it reads the
// dB TX attenuation as one byte where radiotap defines two.
func appendRadiotapField(b []byte, c *rtCursor, bit int, present uint32) ([]byte, bool) {
	start := len(b)
	switch bit {
	case rtTSFT:
		b = strconv.AppendUint(b, c.u64(), 10)
		b = append(b, "us tsft "...)
	case rtFlags:
		f := c.u8()
		for _, t := range []struct {
			bit  uint8
			name string
		}{{0x01, "cfp "}, {0x02, "short preamble "}, {0x04, "wep "}, {0x08, "fragmented "}, {0x40, "bad-fcs "}} {
			if f&t.bit != 0 {
				b = append(b, t.name...)
			}
		}
	case rtRate:
		r := c.u8()
		if r >= 0x80 && r <= 0x8f {
			b = append(b, "MCS "...)
			b = appendUint(b, uint64(r&0x7f))
			b = append(b, ' ')
		} else {
			b = strconv.AppendFloat(b, 0.5*float64(r), 'f', 1, 64)
			b = append(b, " Mb/s "...)
		}
	case rtChannel:
		freq, flags := c.u16(), c.u16()
		if present&(1<<rtXChannel) == 0 {
			b = appendChannel(b, freq, uint32(flags), present)
		}
	case rtFHSS:
		set, pat := c.u8(), c.u8()
		b = append(b, "fhset "...)
		b = appendUint(b, uint64(set))
		b = append(b, " fhpat "...)
		b = appendUint(b, uint64(pat))
		b = append(b, ' ')
	case rtDBMSignal:
		b = strconv.AppendInt(b, int64(int8(c.u8())), 10)
		b = append(b, "dBm signal "...)
	case rtDBMNoise:
		b = strconv.AppendInt(b, int64(int8(c.u8())), 10)
		b = append(b, "dBm noise "...)
	case rtLockQuality:
		b = appendUint(b, uint64(c.u16()))
		b = append(b, " sq "...)
	case rtTXAttenuation:
		b = strconv.AppendInt(b, -int64(c.u16()), 10)
		b = append(b, " tx power "...)
	case rtDBTXAtten:
		b = strconv.AppendInt(b, -int64(c.u8()), 10)
		b = append(b, "dB tx attenuation "...)
	case rtDBMTXPower:
		b = strconv.AppendInt(b, int64(int8(c.u8())), 10)
		b = append(b, "dBm tx power "...)
	case rtAntenna:
		b = append(b, "antenna "...)
		b = appendUint(b, uint64(c.u8()))
		b = append(b, ' ')
	case rtDBSignal:
		b = appendUint(b, uint64(c.u8()))
		b = append(b, "dB signal "...)
	case rtDBNoise:
		b = appendUint(b, uint64(c.u8()))
		b = append(b, "dB noise "...)
	case rtRXFlags:
		c.u16()
	case rtXChannel:
		flags := c.u32()
		freq := c.u16()
		c.u8()
		c.u8()
		b = appendChannel(b, freq, flags, present)
	case rtMCS:
		b = appendMCS(b, c.u8(), c.u8(), c.u8())
	case rtAMPDU:
		c.u32()
		c.u16()
		c.u8()
		c.u8()
	case rtVHT:
		b = appendVHT(b, c)
	default:
		b = append(b, "[bit "...)
		b = appendUint(b, uint64(bit))
		return append(b, "] "...), false
	}
	if c.bad {
		return append(b[:start], "[|802.11]"...), false
	}
	return b, true
}

// appendChannel prints a frequency and the mode its flags say
// (print_chaninfo): 11n whenever there is an MCS field.
func appendChannel(b []byte, freq uint16, flags, present uint32) []byte {
	b = appendUint(b, uint64(freq))
	b = append(b, " MHz"...)
	is := func(m uint32) bool { return flags&m == m }
	if present&(1<<rtMCS) != 0 {
		b = append(b, " 11n"...)
	} else {
		if is(chan2GHz | chanGFSK) {
			b = append(b, " FHSS"...)
		}
		if is(chan5GHz | chanOFDM) {
			b = appendRate(b, " 11a", flags)
		}
		switch {
		case is(chan2GHz|chanOFDM) || is(chan2GHz|chanDyn):
			b = appendRate(b, " 11g", flags)
		case is(chan2GHz | chanCCK):
			b = append(b, " 11b"...)
		}
		if flags&chanTurbo != 0 {
			b = append(b, " Turbo"...)
		}
	}
	switch {
	case flags&chanHT20 != 0:
		b = append(b, " ht/20"...)
	case flags&chanHT40D != 0:
		b = append(b, " ht/40-"...)
	case flags&chanHT40U != 0:
		b = append(b, " ht/40+"...)
	}
	return append(b, ' ')
}

func appendRate(b []byte, mode string, flags uint32) []byte {
	b = append(b, mode...)
	switch {
	case flags&chanHalf != 0:
		b = append(b, "/10Mhz"...)
	case flags&chanQuarter != 0:
		b = append(b, "/5Mhz"...)
	}
	return b
}

// appendMCS prints the MCS field: the rate when the index, bandwidth and
// guard interval are known, and each known property.
func appendMCS(b []byte, known, flags, index uint8) []byte {
	const (
		bwKnown    = 0x01
		indexKnown = 0x02
		giKnown    = 0x04
		fmtKnown   = 0x08
		fecKnown   = 0x10
		stbcKnown  = 0x20
	)
	if known&indexKnown != 0 {
		rate := 0.0
		if index <= 76 && known&(bwKnown|giKnown) != 0 {
			bw40 := 0
			if flags&3 == 1 {
				bw40 = 1
			}
			gi := 0
			if flags&0x04 != 0 {
				gi = 1
			}
			rate = float64(float32(htRate(int(index), bw40, gi)))
		}
		if rate != 0 {
			b = strconv.AppendFloat(b, rate, 'f', 1, 64)
			b = append(b, " Mb/s "...)
		}
		b = append(b, "MCS "...)
		b = appendUint(b, uint64(index))
		b = append(b, ' ')
	}
	if known&bwKnown != 0 {
		b = append(b, [4]string{"20 MHz", "40 MHz", "20 MHz (L)", "20 MHz (U)"}[flags&3]...)
		b = append(b, ' ')
	}
	if known&giKnown != 0 {
		if flags&0x04 != 0 {
			b = append(b, "short GI "...)
		} else {
			b = append(b, "long GI "...)
		}
	}
	if known&fmtKnown != 0 {
		if flags&0x08 != 0 {
			b = append(b, "greenfield "...)
		} else {
			b = append(b, "mixed "...)
		}
	}
	if known&fecKnown != 0 {
		if flags&0x10 != 0 {
			b = append(b, "LDPC FEC "...)
		} else {
			b = append(b, "BCC FEC "...)
		}
	}
	if known&stbcKnown != 0 {
		b = append(b, "RX-STBC"...)
		b = appendUint(b, uint64(flags&0x60>>5))
		b = append(b, ' ')
	}
	return b
}

// htRate is an 802.11n MCS's rate in Mb/s, at 20 or 40 MHz and with a long
// or short guard interval (IEEE 802.11-2020 19.5), as tcpdump's
// ieee80211_float_htrates table holds it: the data bits per symbol over
// the symbol time.
func htRate(mcs, bw40, shortGI int) float64 {
	// Data subcarriers per stream and bits per subcarrier times coding
	// rate, for MCS 0-7 of one stream; MCS 8-31 add streams.
	bitsPerSC := [8]float64{0.5, 1, 1.5, 2, 3, 4, 4.5, 5}
	subcarriers := 52.0
	if bw40 == 1 {
		subcarriers = 108
	}
	symbol := 4.0
	if shortGI == 1 {
		symbol = 3.6
	}
	var bits float64
	switch {
	case mcs < 32:
		bits = bitsPerSC[mcs%8] * float64(mcs/8+1) * subcarriers
	case mcs == 32:
		if bw40 == 0 {
			return 0
		}
		bits = 0.5 * 48 // MCS 32: duplicate 6 Mb/s in 40 MHz
	default:
		bits = unequalMCS(mcs) * subcarriers
	}
	return math.Floor(bits/symbol*10+0.5) / 10
}

// unequalMCS is the bits per subcarrier (all streams, times coding rate)
// of the unequal-modulation MCSs 33 to 76.
func unequalMCS(mcs int) float64 {
	// Modulations in bits per subcarrier: BPSK 1, QPSK 2, 16-QAM 4, 64-QAM 6.
	table := [...][5]float64{
		33: {4, 2, 0, 0, 0.5}, 34: {6, 2, 0, 0, 0.5}, 35: {6, 4, 0, 0, 0.5}, 36: {4, 2, 0, 0, 0.75}, 37: {6, 2, 0, 0, 0.75}, 38: {6, 4, 0, 0, 0.75},
		39: {4, 2, 2, 0, 0.5}, 40: {4, 4, 2, 0, 0.5}, 41: {6, 2, 2, 0, 0.5}, 42: {6, 4, 2, 0, 0.5}, 43: {6, 4, 4, 0, 0.5}, 44: {6, 6, 2, 0, 0.5}, 45: {6, 6, 4, 0, 0.5},
		46: {4, 2, 2, 0, 0.75}, 47: {4, 4, 2, 0, 0.75}, 48: {6, 2, 2, 0, 0.75}, 49: {6, 4, 2, 0, 0.75}, 50: {6, 4, 4, 0, 0.75}, 51: {6, 6, 2, 0, 0.75}, 52: {6, 6, 4, 0, 0.75},
		53: {4, 2, 2, 2, 0.5}, 54: {4, 4, 2, 2, 0.5}, 55: {4, 4, 4, 2, 0.5}, 56: {6, 2, 2, 2, 0.5}, 57: {6, 4, 2, 2, 0.5}, 58: {6, 4, 4, 2, 0.5}, 59: {6, 4, 4, 4, 0.5},
		60: {6, 6, 2, 2, 0.5}, 61: {6, 6, 4, 2, 0.5}, 62: {6, 6, 4, 4, 0.5}, 63: {6, 6, 6, 2, 0.5}, 64: {6, 6, 6, 4, 0.5},
		65: {4, 2, 2, 2, 0.75}, 66: {4, 4, 2, 2, 0.75}, 67: {4, 4, 4, 2, 0.75}, 68: {6, 2, 2, 2, 0.75}, 69: {6, 4, 2, 2, 0.75}, 70: {6, 4, 4, 2, 0.75}, 71: {6, 4, 4, 4, 0.75},
		72: {6, 6, 2, 2, 0.75}, 73: {6, 6, 4, 2, 0.75}, 74: {6, 6, 4, 4, 0.75}, 75: {6, 6, 6, 2, 0.75}, 76: {6, 6, 6, 4, 0.75},
	}
	t := table[mcs]
	return (t[0] + t[1] + t[2] + t[3]) * t[4]
}

// vhtBandwidth names the VHT field's bandwidth values (print-802_11.c,
// whose table says "UUU" for 21 where radiotap means "LUU").
var vhtBandwidth = [32]string{
	"20 MHz", "40 MHz", "20 MHz (L)", "20 MHz (U)", "80 MHz", "80 MHz (L)", "80 MHz (U)", "80 MHz (LL)",
	"80 MHz (LU)", "80 MHz (UL)", "80 MHz (UU)", "160 MHz", "160 MHz (L)", "160 MHz (U)", "160 MHz (LL)", "160 MHz (LU)",
	"160 MHz (UL)", "160 MHz (UU)", "160 MHz (LLL)", "160 MHz (LLU)", "160 MHz (LUL)", "160 MHz (UUU)", "160 MHz (ULL)", "160 MHz (ULU)",
	"160 MHz (UUL)", "160 MHz (UUU)", "unknown (26)", "unknown (27)", "unknown (28)", "unknown (29)", "unknown (30)", "unknown (31)",
}

// appendVHT prints the VHT field: each user's MCS and coding, the
// bandwidth and the guard interval when known.
func appendVHT(b []byte, c *rtCursor) []byte {
	known := c.u16()
	flags := c.u8()
	bw := c.u8()
	var mcsNSS [4]uint8
	for i := range mcsNSS {
		mcsNSS[i] = c.u8()
	}
	coding := c.u8()
	c.u8()  // group id
	c.u16() // partial AID
	for i, v := range mcsNSS {
		if v&0x0f == 0 {
			continue
		}
		b = append(b, "User "...)
		b = appendUint(b, uint64(i))
		b = append(b, " MCS "...)
		b = appendUint(b, uint64(v>>4))
		if coding&(1<<i) != 0 {
			b = append(b, " LDPC FEC "...)
		} else {
			b = append(b, " BCC FEC "...)
		}
	}
	if known&0x0040 != 0 {
		b = append(b, vhtBandwidth[bw&0x1f]...)
		b = append(b, ' ')
	}
	if known&0x0004 != 0 {
		if flags&0x04 != 0 {
			b = append(b, "short GI "...)
		} else {
			b = append(b, "long GI "...)
		}
	}
	return b
}
