package wire_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

func TestOptionIter(t *testing.T) {
	tcp, err := wire.ParseTCP(synTCP, 34)
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.Option{
		{Kind: wire.OptMSS, Len: 4, Data: mustHex("05b4"), Offset: 0},
		{Kind: wire.OptSACKPermitted, Len: 2, Data: []byte{}, Offset: 4},
		{Kind: wire.OptTimestamps, Len: 10, Data: mustHex("0000303900000000"), Offset: 6},
		{Kind: wire.OptNOP, Len: 1, Offset: 16},
		{Kind: wire.OptWindowScale, Len: 3, Data: mustHex("07"), Offset: 17},
	}
	it := tcp.OptionIter(54)
	for i := 0; ; i++ {
		got, ok := it.Next()
		if !ok {
			if i != len(want) {
				t.Errorf("Next stopped after %d options, want %d", i, len(want))
			}
			break
		}
		if i >= len(want) {
			t.Fatalf("Next returned option %d: %+v, want only %d", i, got, len(want))
		}
		w := want[i]
		if got.Kind != w.Kind || got.Len != w.Len || string(got.Data) != string(w.Data) || got.Offset != w.Offset {
			t.Errorf("option %d = %+v, want %+v", i, got, w)
		}
	}
	if err := it.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}

	var zero wire.OptionIter
	if _, ok := zero.Next(); ok {
		t.Error("zero OptionIter returned an option")
	}
	if zero.Err() != nil {
		t.Errorf("zero OptionIter Err() = %v", zero.Err())
	}
}

func TestOptionIterEOL(t *testing.T) {
	area := mustHex("" +
		"01" + // NOP
		"00" + // EOL
		"0204ffff") // garbage after EOL: not an option
	it := wire.IterOptions(area, 54)
	var kinds []uint8
	for {
		o, ok := it.Next()
		if !ok {
			break
		}
		kinds = append(kinds, o.Kind)
		if o.Kind == wire.OptEOL && (o.Len != 1 || o.Offset != 1) {
			t.Errorf("EOL = %+v, want Len 1 at offset 1", o)
		}
	}
	if string(kinds) != "\x01\x00" || it.Err() != nil {
		t.Errorf("kinds %x, err %v; want NOP EOL and no error", kinds, it.Err())
	}
}

func TestOptionIterMalformed(t *testing.T) {
	tests := []struct {
		name  string
		area  string
		kinds string // the kinds returned before the error
		at    int    // error offset from the start of the area
	}{
		{"length 0", "01" + "0500", "\x01", 2},
		{"length 1", "0801", "", 1},
		{"no length byte", "020405b4" + "03", "\x02", 4},
		{"overrun", "080a" + "00000000", "", 1},
		{"overrun after NOPs", "0101" + "0506" + "00000000" + "0512", "\x01\x01\x05", 9},
	}
	for _, tc := range tests {
		it := wire.IterOptions(mustHex(tc.area), 100)
		var kinds []byte
		for {
			o, ok := it.Next()
			if !ok {
				break
			}
			kinds = append(kinds, o.Kind)
		}
		if string(kinds) != tc.kinds {
			t.Errorf("%s: kinds %x, want %x", tc.name, kinds, tc.kinds)
		}
		wantError(t, tc.name, it.Err(), "tcp option", 100+tc.at)
		if _, ok := it.Next(); ok {
			t.Errorf("%s: Next after an error returned an option", tc.name)
		}
	}
}

func TestParseOptions(t *testing.T) {
	const base = 54 // the options area of an untagged Ethernet/IPv4 frame
	r := func(start, end uint32) seq.Range { return seq.Range{Start: seq.Num(start), End: seq.Num(end)} }
	tests := []struct {
		name  string
		area  string
		want  wire.Options
		errAt int // error offset within the area, -1 for none
	}{
		{"empty", "", wire.Options{}, -1},
		{"NOP padding", "01010101", wire.Options{}, -1},
		{"MSS", "020405b4", wire.Options{Present: wire.HasMSS, MSS: 1460}, -1},
		{"MSS bad length", "0203" + "05", wire.Options{Present: wire.HasMalformed}, -1},
		{"window scale", "01" + "030307", wire.Options{Present: wire.HasWindowScale, WindowScale: 7}, -1},
		{"window scale 14", "03030e", wire.Options{Present: wire.HasWindowScale, WindowScale: 14}, -1},
		{"window scale bad length", "0304" + "0700", wire.Options{Present: wire.HasMalformed}, -1},
		{"SACK permitted", "0402", wire.Options{Present: wire.HasSACKPermitted}, -1},
		{"SACK permitted bad length", "0403" + "00", wire.Options{Present: wire.HasMalformed}, -1},
		{"SACK 0 blocks", "0101" + "0502", wire.Options{Present: wire.HasSACK}, -1},
		{"SACK 1 block", "0101" + "050a" + "00000064" + "000000c8",
			wire.Options{Present: wire.HasSACK, NumSACK: 1, SACK: [4]seq.Range{r(100, 200)}}, -1},
		{"SACK 2 blocks", "0101" + "0512" + "00000064" + "000000c8" + "fffffff0" + "00000010",
			wire.Options{Present: wire.HasSACK, NumSACK: 2, SACK: [4]seq.Range{r(100, 200), r(0xfffffff0, 0x10)}}, -1},
		{"SACK 3 blocks with timestamps", "0101" + "080a" + "00000001" + "00000002" + "0101" + "051a" +
			"00000001" + "00000002" + "00000003" + "00000004" + "00000005" + "00000006",
			wire.Options{Present: wire.HasSACK | wire.HasTimestamps, TSVal: 1, TSEcr: 2,
				NumSACK: 3, SACK: [4]seq.Range{r(1, 2), r(3, 4), r(5, 6)}}, -1},
		{"SACK 4 blocks", "0101" + "0522" +
			"00000001" + "00000002" + "00000003" + "00000004" + "00000005" + "00000006" + "00000007" + "00000008",
			wire.Options{Present: wire.HasSACK, NumSACK: 4, SACK: [4]seq.Range{r(1, 2), r(3, 4), r(5, 6), r(7, 8)}}, -1},
		{"SACK bad length", "0506" + "00000001", wire.Options{Present: wire.HasMalformed}, -1},
		{"timestamps", "0101" + "080a" + "0009c8f9" + "3ade68b1",
			wire.Options{Present: wire.HasTimestamps, TSVal: 0x9c8f9, TSEcr: 0x3ade68b1}, -1},
		{"timestamps bad length", "0806" + "00000001", wire.Options{Present: wire.HasMalformed}, -1},
		{"TFO cookie", "220a" + "0102030405060708", wire.Options{Present: wire.HasFastOpen, FastOpenCookie: 8}, -1},
		{"TFO cookie request", "2202" + "0101", wire.Options{Present: wire.HasFastOpen}, -1},
		{"experimental TFO", "fe08" + "f989" + "01020304", wire.Options{Present: wire.HasFastOpen, FastOpenCookie: 4}, -1},
		{"experimental TFO request on 253", "fd04" + "f989", wire.Options{Present: wire.HasFastOpen}, -1},
		{"experimental other ExID", "fe06" + "0348" + "0000", wire.Options{Present: wire.HasUnknown}, -1},
		{"experimental without ExID", "fe02", wire.Options{Present: wire.HasUnknown}, -1},
		{"MPTCP MP_CAPABLE", "1e0c" + "0181" + "0123456789abcdef", wire.Options{Present: wire.HasMPTCP}, -1},
		{"MD5", "1312" + "00112233445566778899aabbccddeeff" + "0101", wire.Options{Present: wire.HasMD5}, -1},
		{"AO", "1d08" + "0102" + "aabbccdd", wire.Options{Present: wire.HasAO}, -1},
		{"UTO", "1c04" + "8258", wire.Options{Present: wire.HasUTO, UTO: 0x8258}, -1},
		{"UTO bad length", "1c03" + "82", wire.Options{Present: wire.HasMalformed}, -1},
		{"AccECN order 0", "ac0b" + "000001" + "000002" + "000003", wire.Options{Present: wire.HasAccECN}, -1},
		{"AccECN order 1", "ae08" + "000001" + "000002", wire.Options{Present: wire.HasAccECN}, -1},
		{"AccECN empty", "ac02", wire.Options{Present: wire.HasAccECN}, -1},
		{"unknown kind", "6304" + "0000", wire.Options{Present: wire.HasUnknown}, -1},
		{"obsolete echo", "0606" + "00000000", wire.Options{Present: wire.HasUnknown}, -1},
		{"obsolete echo reply", "0706" + "00000000", wire.Options{Present: wire.HasUnknown}, -1},
		{"obsolete CC", "0b06" + "00000000", wire.Options{Present: wire.HasUnknown}, -1},
		{"obsolete CC.NEW", "0c06" + "00000000", wire.Options{Present: wire.HasUnknown}, -1},
		{"obsolete CC.ECHO", "0d06" + "00000000", wire.Options{Present: wire.HasUnknown}, -1},
		{"SCPS capabilities", "1404" + "0000", wire.Options{Present: wire.HasUnknown}, -1},
		{"Linux SYN", "020405b4" + "0402" + "080a" + "00003039" + "00000000" + "01" + "030307",
			wire.Options{Present: wire.HasMSS | wire.HasSACKPermitted | wire.HasTimestamps | wire.HasWindowScale,
				MSS: 1460, WindowScale: 7, TSVal: 12345}, -1},
		{"EOL then garbage", "020405b4" + "00" + "ffffff", wire.Options{Present: wire.HasMSS, MSS: 1460}, -1},
		{"EOL first", "00" + "020405b4", wire.Options{}, -1},
		{"length byte 0", "020405b4" + "0800", wire.Options{Present: wire.HasMSS | wire.HasMalformed, MSS: 1460}, 5},
		{"length byte 1", "0101" + "0301" + "07", wire.Options{Present: wire.HasMalformed}, 3},
		{"no length byte", "030307" + "02", wire.Options{Present: wire.HasWindowScale | wire.HasMalformed, WindowScale: 7}, 3},
		{"overrun", "0402" + "080a" + "0000", wire.Options{Present: wire.HasSACKPermitted | wire.HasMalformed}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got wire.Options
			got.MSS = 9999 // ParseOptions must clear what was there
			err := wire.ParseOptions(mustHex(tc.area), base, &got)
			if got != tc.want {
				t.Errorf("ParseOptions(%s)\n got %+v\nwant %+v", tc.area, got, tc.want)
			}
			if tc.errAt < 0 {
				if err != nil {
					t.Errorf("ParseOptions(%s) error %v", tc.area, err)
				}
				return
			}
			wantError(t, "ParseOptions("+tc.area+")", err, "tcp option", base+tc.errAt)
		})
	}
}

func TestOptionsMethods(t *testing.T) {
	o := wire.Options{Present: wire.HasMSS | wire.HasSACK, NumSACK: 2,
		SACK: [4]seq.Range{{Start: 1, End: 2}, {Start: 3, End: 4}, {Start: 5, End: 6}}}
	if !o.Has(wire.HasMSS) || !o.Has(wire.HasMSS|wire.HasSACK) || o.Has(wire.HasMSS|wire.HasTimestamps) {
		t.Errorf("Has on %b is wrong", o.Present)
	}
	if b := o.SACKBlocks(); len(b) != 2 || b[1] != (seq.Range{Start: 3, End: 4}) {
		t.Errorf("SACKBlocks() = %v, want the first 2", b)
	}
}

// slowOption is one option as parseOptionsSlow finds it.
type slowOption struct {
	kind   byte
	length int // 1 for EOL and NOP
	data   []byte
	offset int
}

// parseOptionsSlow is ParseOptions written for reading, not speed: the
// reference FuzzOptions holds the real one to. It splits the area into
// options first, then gives each its meaning. errAt is the area offset of
// the malformed option's problem, -1 if there is none.
func parseOptionsSlow(area []byte) (opts []slowOption, o wire.Options, errAt int) {
	errAt = -1
	i := 0
	for i < len(area) {
		kind := area[i]
		if kind == wire.OptEOL {
			opts = append(opts, slowOption{kind: kind, length: 1, offset: i})
			break // RFC 9293: the end of the option list
		}
		if kind == wire.OptNOP {
			opts = append(opts, slowOption{kind: kind, length: 1, offset: i})
			i++
			continue
		}
		if i+1 >= len(area) {
			errAt = i // no room for the length byte
			break
		}
		length := int(area[i+1])
		if length < 2 {
			errAt = i + 1 // a length must count the kind and length bytes
			break
		}
		if i+length > len(area) {
			errAt = i + 1 // runs past the end of the area
			break
		}
		opts = append(opts, slowOption{kind: kind, length: length, data: area[i+2 : i+length], offset: i})
		i += length
	}

	for _, opt := range opts {
		switch opt.kind {
		case wire.OptEOL, wire.OptNOP:
		case wire.OptMSS:
			if opt.length == 4 {
				o.Present |= wire.HasMSS
				o.MSS = uint16(opt.data[0])<<8 | uint16(opt.data[1])
			} else {
				o.Present |= wire.HasMalformed
			}
		case wire.OptWindowScale:
			if opt.length == 3 {
				o.Present |= wire.HasWindowScale
				o.WindowScale = opt.data[0]
			} else {
				o.Present |= wire.HasMalformed
			}
		case wire.OptSACKPermitted:
			if opt.length == 2 {
				o.Present |= wire.HasSACKPermitted
			} else {
				o.Present |= wire.HasMalformed
			}
		case wire.OptSACK:
			if (opt.length-2)%8 != 0 {
				o.Present |= wire.HasMalformed
				continue
			}
			o.Present |= wire.HasSACK
			for b := 0; b < (opt.length-2)/8; b++ {
				if o.NumSACK == wire.MaxSACKBlocks {
					break
				}
				o.SACK[o.NumSACK].Start = seq.Num(binary.BigEndian.Uint32(opt.data[8*b:]))
				o.SACK[o.NumSACK].End = seq.Num(binary.BigEndian.Uint32(opt.data[8*b+4:]))
				o.NumSACK++
			}
		case wire.OptTimestamps:
			if opt.length == 10 {
				o.Present |= wire.HasTimestamps
				o.TSVal = binary.BigEndian.Uint32(opt.data[0:4])
				o.TSEcr = binary.BigEndian.Uint32(opt.data[4:8])
			} else {
				o.Present |= wire.HasMalformed
			}
		case wire.OptFastOpen:
			o.Present |= wire.HasFastOpen
			o.FastOpenCookie = opt.length - 2
		case wire.OptExperiment1, wire.OptExperiment2:
			if opt.length >= 4 && opt.data[0] == 0xf9 && opt.data[1] == 0x89 {
				o.Present |= wire.HasFastOpen
				o.FastOpenCookie = opt.length - 4
			} else {
				o.Present |= wire.HasUnknown
			}
		case wire.OptMPTCP:
			o.Present |= wire.HasMPTCP
		case wire.OptMD5:
			o.Present |= wire.HasMD5
		case wire.OptAO:
			o.Present |= wire.HasAO
		case wire.OptUTO:
			if opt.length == 4 {
				o.Present |= wire.HasUTO
				o.UTO = binary.BigEndian.Uint16(opt.data)
			} else {
				o.Present |= wire.HasMalformed
			}
		case wire.OptAccECN0, wire.OptAccECN1:
			o.Present |= wire.HasAccECN
		default:
			o.Present |= wire.HasUnknown
		}
	}
	if errAt >= 0 {
		o.Present |= wire.HasMalformed
	}
	return opts, o, errAt
}

func FuzzOptions(f *testing.F) {
	f.Add(synTCP[20:])
	for _, area := range []string{
		"", "00", "01", "0101080a0000000100000002", "0500", "0801", "02", "020405b400ffff",
		"0101051a000000010000000200000003000000040000000500000006",
		"0522" + "0000000100000002000000030000000400000005000000060000000700000008",
		"fe08f98901020304", "fd04f989", "2202", "1c048258", "ac0b000001000002000003",
		"1e0c01810123456789abcdef", "0506", "0403", "03030e", "080a0000",
	} {
		f.Add(mustHex(area))
	}
	f.Fuzz(func(t *testing.T, area []byte) {
		const base = 54
		var got wire.Options
		err := wire.ParseOptions(area, base, &got)
		opts, want, errAt := parseOptionsSlow(area)
		if got != want {
			t.Errorf("ParseOptions(%x)\n got %+v\nwant %+v", area, got, want)
		}
		switch {
		case errAt < 0 && err != nil:
			t.Errorf("ParseOptions(%x) error %v, want none", area, err)
		case errAt >= 0:
			var we *wire.Error
			if !errors.As(err, &we) || we.Layer != "tcp option" || we.Offset != base+errAt {
				t.Errorf("ParseOptions(%x) error %v, want tcp option at %d", area, err, base+errAt)
			}
		}

		it := wire.IterOptions(area, base)
		for i := 0; ; i++ {
			o, ok := it.Next()
			if !ok {
				if i != len(opts) {
					t.Errorf("OptionIter(%x) stopped after %d options, want %d", area, i, len(opts))
				}
				break
			}
			if i >= len(opts) {
				t.Fatalf("OptionIter(%x) option %d %+v, want only %d", area, i, o, len(opts))
			}
			w := opts[i]
			if o.Kind != w.kind || o.Len != w.length || string(o.Data) != string(w.data) || o.Offset != w.offset {
				t.Errorf("OptionIter(%x) option %d = %+v, want %+v", area, i, o, w)
			}
		}
		if (it.Err() != nil) != (errAt >= 0) {
			t.Errorf("OptionIter(%x).Err() = %v, want error: %v", area, it.Err(), errAt >= 0)
		}
	})
}
