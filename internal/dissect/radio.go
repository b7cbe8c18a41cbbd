package dissect

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/tcplens/tcplens/internal/wire"
)

// rtSpec is a radiotap field as radiotap.org defines it: its alignment,
// size, name and how to read its value.
type rtSpec struct {
	align, size int
	id, label   string
	value       func(v []byte) (value, meaning string)
}

func le16(v []byte) uint16 { return binary.LittleEndian.Uint16(v) }

// rtSpecs are the radiotap fields of the default namespace tcplens shows.
var rtSpecs = map[int]rtSpec{
	0: {8, 8, "tsft", "TSFT", func(v []byte) (string, string) {
		return strconv.FormatUint(binary.LittleEndian.Uint64(v), 10) + " µs", "the MAC's timer when the frame's first bit arrived"
	}},
	1: {1, 1, "flags", "flags", func(v []byte) (string, string) {
		var s []string
		for _, f := range []struct {
			bit  byte
			name string
		}{{0x01, "sent or received during CFP"}, {0x02, "short preamble"}, {0x04, "WEP"}, {0x08, "fragmented"}, {0x10, "the frame ends with its FCS"}, {0x20, "the 802.11 header is padded to 32 bits"}, {0x40, "bad FCS"}, {0x80, "short guard interval"}} {
			if v[0]&f.bit != 0 {
				s = append(s, f.name)
			}
		}
		if len(s) == 0 {
			s = append(s, "none set")
		}
		return fmt.Sprintf("0x%02x", v[0]), strings.Join(s, "; ")
	}},
	2: {1, 1, "rate", "rate", func(v []byte) (string, string) {
		m := "in 500 kb/s units"
		if v[0] >= 0x80 && v[0] <= 0x8f {
			m += fmt.Sprintf("; FreeBSD puts 0x80 + an 802.11n MCS index here, and tcpdump reads it so: MCS %d", v[0]&0x7f)
		}
		return strconv.FormatFloat(float64(v[0])/2, 'f', -1, 64) + " Mb/s", m
	}},
	3: {2, 4, "channel", "channel", func(v []byte) (string, string) {
		return fmt.Sprintf("%d MHz", le16(v)), fmt.Sprintf("flags 0x%04x: %s", le16(v[2:]), channelFlags(uint32(le16(v[2:]))))
	}},
	4: {2, 2, "fhss", "FHSS", func(v []byte) (string, string) {
		return fmt.Sprintf("hop set %d, pattern %d", v[0], v[1]), "frequency hopping"
	}},
	5: {1, 1, "dbm_antsignal", "antenna signal", func(v []byte) (string, string) {
		return fmt.Sprintf("%d dBm", int8(v[0])), "RF signal power at the antenna"
	}},
	6: {1, 1, "dbm_antnoise", "antenna noise", func(v []byte) (string, string) {
		return fmt.Sprintf("%d dBm", int8(v[0])), "RF noise power at the antenna"
	}},
	7:  {2, 2, "lock_quality", "lock quality", func(v []byte) (string, string) { return utoa(le16(v)), "Barker code lock quality" }},
	8:  {2, 2, "tx_attenuation", "TX attenuation", func(v []byte) (string, string) { return utoa(le16(v)), "distance below maximum power" }},
	9:  {2, 2, "db_tx_attenuation", "dB TX attenuation", func(v []byte) (string, string) { return utoa(le16(v)) + " dB", "below maximum power" }},
	10: {1, 1, "dbm_tx_power", "TX power", func(v []byte) (string, string) { return fmt.Sprintf("%d dBm", int8(v[0])), "at the antenna port" }},
	11: {1, 1, "antenna", "antenna", func(v []byte) (string, string) { return utoa(v[0]), "which antenna received or sent it" }},
	12: {1, 1, "db_antsignal", "dB antenna signal", func(v []byte) (string, string) { return utoa(v[0]) + " dB", "above an arbitrary reference" }},
	13: {1, 1, "db_antnoise", "dB antenna noise", func(v []byte) (string, string) { return utoa(v[0]) + " dB", "above an arbitrary reference" }},
	14: {2, 2, "rx_flags", "RX flags", func(v []byte) (string, string) { return hex16(le16(v)), "receive flags" }},
	15: {2, 2, "tx_flags", "TX flags", func(v []byte) (string, string) { return hex16(le16(v)), "transmit flags" }},
	16: {1, 1, "rts_retries", "RTS retries", func(v []byte) (string, string) { return utoa(v[0]), "" }},
	17: {1, 1, "data_retries", "data retries", func(v []byte) (string, string) { return utoa(v[0]), "" }},
	18: {4, 8, "xchannel", "extended channel", func(v []byte) (string, string) {
		return fmt.Sprintf("%d MHz, channel %d", le16(v[4:]), v[6]), fmt.Sprintf("flags 0x%08x: %s; maximum power %d (0.5 dBm units)", binary.LittleEndian.Uint32(v), channelFlags(binary.LittleEndian.Uint32(v)), v[7])
	}},
	19: {1, 3, "mcs", "MCS", func(v []byte) (string, string) {
		return fmt.Sprintf("known 0x%02x, flags 0x%02x, index %d", v[0], v[1], v[2]), "802.11n rate: the index, bandwidth and guard interval the known bits vouch for"
	}},
	20: {4, 8, "ampdu", "A-MPDU status", func(v []byte) (string, string) {
		return fmt.Sprintf("reference %d", binary.LittleEndian.Uint32(v)), fmt.Sprintf("flags 0x%04x", le16(v[4:]))
	}},
	21: {2, 12, "vht", "VHT", func(v []byte) (string, string) {
		return fmt.Sprintf("known 0x%04x, bandwidth %d", le16(v), v[3]), "802.11ac rate information"
	}},
	22: {8, 12, "timestamp", "timestamp", func(v []byte) (string, string) {
		return strconv.FormatUint(binary.LittleEndian.Uint64(v), 10), "in the unit its flags give"
	}},
}

// channelFlags names the channel flags a radiotap channel field sets.
func channelFlags(f uint32) string {
	var s []string
	for _, c := range []struct {
		bit  uint32
		name string
	}{{0x10, "turbo"}, {0x20, "CCK"}, {0x40, "OFDM"}, {0x80, "2 GHz"}, {0x100, "5 GHz"}, {0x200, "passive"}, {0x400, "dynamic CCK-OFDM"}, {0x800, "GFSK"}, {0x4000, "half rate"}, {0x8000, "quarter rate"}, {0x10000, "HT20"}, {0x20000, "HT40+"}, {0x40000, "HT40-"}} {
		if f&c.bit != 0 {
			s = append(s, c.name)
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// radiotap dissects a radiotap header: version, length, the presence
// words, and each field present, aligned as radiotap.org says.
func (b *builder) radiotap(l *wire.Link, err error) {
	b.baseLayer(l, err, "radiotap", "Radiotap header")
	if !b.has(0, 8) {
		return
	}
	d := b.data
	n := int(le16(d[2:]))
	b.put(b.mk("version", "version", 0, 1, utoa(d[0]), "0, the only version"))
	b.put(b.mk("length", "length", 2, 2, utoa(uint16(n)), "bytes of radiotap header, little-endian: the 802.11 frame follows them"))
	if n > len(d) {
		return
	}
	var words []uint32
	for off := 4; off+4 <= n; off += 4 {
		w := binary.LittleEndian.Uint32(d[off:])
		words = append(words, w)
		var names []string
		for bit := range 32 {
			if w&(1<<bit) == 0 {
				continue
			}
			switch {
			case bit == 29:
				names = append(names, "radiotap namespace next")
			case bit == 30:
				names = append(names, "vendor namespace next")
			case bit == 31:
				names = append(names, "another presence word")
			case len(words) == 1 || !vendorWord(words):
				if s, ok := rtSpecs[bit]; ok && len(words) == 1 {
					names = append(names, s.label)
				} else {
					names = append(names, "bit "+strconv.Itoa(bit))
				}
			}
		}
		b.put(b.mk(fmt.Sprintf("present_%d", len(words)), fmt.Sprintf("present word %d", len(words)), off, 4, fmt.Sprintf("0x%08x", w), strings.Join(names, ", ")))
		if w&(1<<31) == 0 {
			break
		}
	}
	off := 4 + 4*len(words)
	vendor := false
	for wi, w := range words {
		if vendor {
			break // a vendor's fields: their layout is the vendor's
		}
		if wi > 0 {
			break // fields of a second presence word: none tcplens knows
		}
		for bit := range 29 {
			if w&(1<<bit) == 0 {
				continue
			}
			s, ok := rtSpecs[bit]
			if !ok {
				b.warn(off, "radiotap field of bit %d, whose size tcplens does not know: the fields after it are not shown", bit)
				return
			}
			off = (off + s.align - 1) &^ (s.align - 1)
			if off+s.size > n {
				return
			}
			v, m := s.value(d[off : off+s.size])
			b.put(b.mk(s.id, s.label, off, s.size, v, m))
			off += s.size
		}
		vendor = w&(1<<30) != 0
	}
	if vendor {
		off = (off + 1) &^ 1
		if off+6 <= n {
			skip := int(le16(d[off+4:]))
			b.put(b.mk("vendor_namespace", "vendor namespace", off, 6, fmt.Sprintf("OUI %s, sub-namespace %d, %s", macString(d[off:off+3]), d[off+3], plural(skip, "byte")), "the fields after it are the vendor's"))
			if off+6+skip <= n && skip > 0 {
				b.put(b.mk("vendor_data", "vendor data", off+6, skip, "", ""))
			}
		}
	}
	var s []string
	for _, f := range b.layer().Fields {
		switch f.ID {
		case "rate", "channel", "dbm_antsignal":
			s = append(s, f.Value)
		}
	}
	b.layer().Summary = strings.Join(s, ", ")
}

// vendorWord reports whether the last presence word of words follows a
// switch to a vendor namespace.
func vendorWord(words []uint32) bool {
	return len(words) >= 2 && words[len(words)-2]&(1<<30) != 0
}

// prismItems names the items of a Prism header by their DID's low bits.
var prismItems = []string{"host time", "MAC time", "channel", "RSSI", "signal quality", "signal", "noise", "rate", "transmitted", "frame length"}

// prism dissects the 144-byte Prism header of linux-wlan-ng: message
// code, length, device name, and ten items, in the writer's byte order.
func (b *builder) prism(l *wire.Link, err error) {
	b.baseLayer(l, err, "prism", "Prism monitor-mode header")
	if !b.has(0, 24) {
		return
	}
	d := b.data
	var order binary.ByteOrder = binary.LittleEndian
	if binary.LittleEndian.Uint32(d[4:]) != 144 && binary.BigEndian.Uint32(d[4:]) == 144 {
		order = binary.BigEndian
	}
	b.put(b.mk("msgcode", "message code", 0, 4, fmt.Sprintf("0x%08x", order.Uint32(d)), "0x44 or 0x41: a monitor-mode frame"))
	b.put(b.mk("msglen", "message length", 4, 4, utoa(order.Uint32(d[4:])), "bytes of this header"))
	b.put(b.mk("devname", "device", 8, 16, cString(d[8:24]), "the capturing interface"))
	for i := range 10 {
		off := 24 + 12*i
		if !b.has(off, 12) {
			break
		}
		did, status, data := order.Uint32(d[off:]), order.Uint16(d[off+4:]), order.Uint32(d[off+8:])
		name := "unknown item"
		if k := int(did>>12) - 1; k >= 0 && k < len(prismItems) {
			name = prismItems[k]
		}
		m := "supplied"
		if status != 0 {
			m = "not supplied"
		}
		b.put(b.mk(fmt.Sprintf("item_%d", i+1), name, off, 12, utoa(data), fmt.Sprintf("DID 0x%04x, %s", did, m)))
	}
	b.layer().Summary = cString(d[8:24])
}

// avs dissects the AVS capture header, version 1 or 2 (big-endian).
func (b *builder) avs(l *wire.Link, err error) {
	b.baseLayer(l, err, "avs", "AVS WLAN capture header")
	if !b.has(0, 8) {
		return
	}
	d := b.data
	u32 := func(off int) uint32 { return binary.BigEndian.Uint32(d[off:]) }
	b.put(b.mk("version", "version", 0, 4, fmt.Sprintf("0x%08x", u32(0)), fmt.Sprintf("AVS cookie, version %d", u32(0)&0xff)))
	b.put(b.mk("length", "length", 4, 4, utoa(u32(4)), "bytes of this header"))
	if !b.has(0, 64) {
		return
	}
	b.put(b.mk("mactime", "MAC time", 8, 8, strconv.FormatUint(binary.BigEndian.Uint64(d[8:]), 10), "µs, the MAC's timer"))
	b.put(b.mk("hosttime", "host time", 16, 8, strconv.FormatUint(binary.BigEndian.Uint64(d[16:]), 10), "the host's clock"))
	for _, f := range []struct {
		off         int
		id, label   string
		meaning     string
		signed      bool
		unitDivisor int
	}{
		{24, "phytype", "PHY type", "the modulation family", false, 0},
		{28, "channel", "channel", "", false, 0},
		{32, "datarate", "data rate", "in 100 kb/s units", false, 0},
		{36, "antenna", "antenna", "", false, 0},
		{40, "priority", "priority", "", false, 0},
		{44, "ssi_type", "SSI type", "0 none, 1 normalised RSSI, 2 dBm, 3 raw RSSI", false, 0},
		{48, "ssi_signal", "signal", "", true, 0},
		{52, "ssi_noise", "noise", "", true, 0},
		{56, "preamble", "preamble", "1 short, 2 long", false, 0},
		{60, "encoding", "encoding", "", false, 0},
	} {
		v := utoa(u32(f.off))
		if f.signed {
			v = strconv.Itoa(int(int32(u32(f.off))))
		}
		b.put(b.mk(f.id, f.label, f.off, 4, v, f.meaning))
	}
	b.layer().Summary = fmt.Sprintf("channel %d, %s Mb/s", u32(28), strconv.FormatFloat(float64(u32(32))/10, 'f', -1, 64))
}
