package pcap_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

// describe prints a frame compactly for failure messages.
func describe(f pcap.Frame) string {
	return fmt.Sprintf("{#%d file %d off %d time %d %v if %d len %d data[%d] %x}",
		f.Number, f.File, f.Offset, f.Time, f.Link, f.Interface, f.Length, len(f.Data), f.Data)
}

// sameFrame compares every field of two frames, Data by content.
func sameFrame(got, want pcap.Frame) bool {
	return got.Number == want.Number && got.File == want.File && got.Offset == want.Offset &&
		got.Time == want.Time && got.Link == want.Link && got.Interface == want.Interface &&
		got.Length == want.Length && bytes.Equal(got.Data, want.Data)
}

// checkFrames fails the test unless got holds exactly want, in order.
func checkFrames(t *testing.T, got []frame, want []pcap.Frame) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("Next() = io.EOF, want %s", describe(want[i]))
		case i >= len(want):
			t.Errorf("Next() = %s, want io.EOF", describe(got[i].Frame))
		case !sameFrame(got[i].Frame, want[i]):
			t.Errorf("Next() = %s, want %s", describe(got[i].Frame), describe(want[i]))
		}
	}
}

// craftedCase is one crafted file and everything it should read as.
type craftedCase struct {
	name  string
	build func() ([]byte, []pcap.Frame)
	check func(t *testing.T, r *pcap.Reader) // further checks after reading, may be nil
}

// runCrafted reads every case to the end and expects no error at all.
func runCrafted(t *testing.T, tests []craftedCase) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, want := tc.build()
			for i := range want {
				want[i].Number = i + 1
			}
			res := readAll(t, data)
			for _, err := range res.errs {
				t.Errorf("Next() = %v, want no error", err)
			}
			checkFrames(t, res.frames, want)
			if tc.check != nil {
				tc.check(t, res.reader)
			}
		})
	}
}

func TestClassic(t *testing.T) { runCrafted(t, classicCases()) }

func TestPcapNG(t *testing.T) { runCrafted(t, ngCases()) }

// classicCases are well-formed classic pcap files of every variant.
func classicCases() []craftedCase {
	d60, d42, d64 := payload(60, 0x10), payload(42, 0x80), payload(64, 0x40)
	const sec = 1700000000
	// ordinary writes two records in order and magic with lengths in the
	// order of pcap 2.4.
	ordinary := func(order byteOrder, magic uint32, frac1, frac2 uint32, unit pcap.Time) func() ([]byte, []pcap.Frame) {
		return func() ([]byte, []pcap.Frame) {
			c := newClassic(order, magic, 2, 4, 65535, 1)
			o1 := c.packet(sec, frac1, 60, d60)
			o2 := c.packet(sec+1, frac2, 100, d42)
			return c.b, []pcap.Frame{
				{Offset: o1, Time: sec*1e9 + pcap.Time(frac1)*unit, Link: pcap.LinkEthernet, Length: 60, Data: d60},
				{Offset: o2, Time: (sec+1)*1e9 + pcap.Time(frac2)*unit, Link: pcap.LinkEthernet, Length: 100, Data: d42},
			}
		}
	}
	// swapped writes records of a version whose headers put orig_len
	// before incl_len.
	swapped := func(order byteOrder, major, minor uint16) func() ([]byte, []pcap.Frame) {
		return func() ([]byte, []pcap.Frame) {
			c := newClassic(order, magicMicro, major, minor, 65535, 1)
			o1 := c.record(sec, 5, 100, 42, d42) // orig_len 100, incl_len 42
			o2 := c.record(sec, 6, 60, 60, d60)
			return c.b, []pcap.Frame{
				{Offset: o1, Time: sec*1e9 + 5000, Link: pcap.LinkEthernet, Length: 100, Data: d42},
				{Offset: o2, Time: sec*1e9 + 6000, Link: pcap.LinkEthernet, Length: 60, Data: d60},
			}
		}
	}
	kuznetzov := func(order byteOrder) func() ([]byte, []pcap.Frame) {
		return func() ([]byte, []pcap.Frame) {
			c := newClassic(order, magicKuznetzov, 2, 4, 65535, 1)
			o1 := c.packet(sec, 1, 60, d60)
			o2 := c.packet(sec, 2, 42, d42)
			return c.b, []pcap.Frame{
				{Offset: o1, Time: sec*1e9 + 1000, Link: pcap.LinkEthernet, Length: 60, Data: d60},
				{Offset: o2, Time: sec*1e9 + 2000, Link: pcap.LinkEthernet, Length: 42, Data: d42},
			}
		}
	}
	checkOrder := func(bigEndian bool) func(t *testing.T, r *pcap.Reader) {
		return func(t *testing.T, r *pcap.Reader) {
			if r.Format() != pcap.FormatPcap || r.BigEndian() != bigEndian {
				t.Errorf("Format(), BigEndian() = %v, %v; want pcap, %v", r.Format(), r.BigEndian(), bigEndian)
			}
		}
	}
	return []craftedCase{
		{"little-endian µs", ordinary(le, magicMicro, 123456, 999999, 1000), checkOrder(false)},
		{"big-endian µs", ordinary(be, magicMicro, 123456, 999999, 1000), checkOrder(true)},
		{"little-endian ns", ordinary(le, magicNano, 123456789, 999999999, 1), checkOrder(false)},
		{"big-endian ns", ordinary(be, magicNano, 123456789, 999999999, 1), checkOrder(true)},
		{"version 2.2 swapped lengths", swapped(le, 2, 2), nil},
		{"version 2.0 big-endian swapped lengths", swapped(be, 2, 0), nil},
		{"version 543.0 swapped lengths", swapped(le, 543, 0), nil},
		// 2.3 was written both ways: swap only where caplen > len.
		{"version 2.3 maybe swapped", func() ([]byte, []pcap.Frame) {
			c := newClassic(le, magicMicro, 2, 3, 65535, 1)
			o1 := c.record(sec, 0, 100, 42, d42) // swapped
			o2 := c.record(sec, 0, 42, 100, d42) // not swapped
			return c.b, []pcap.Frame{
				{Offset: o1, Time: sec * 1e9, Link: pcap.LinkEthernet, Length: 100, Data: d42},
				{Offset: o2, Time: sec * 1e9, Link: pcap.LinkEthernet, Length: 100, Data: d42},
			}
		}, nil},
		{"Kuznetzov little-endian", kuznetzov(le), nil},
		{"Kuznetzov big-endian", kuznetzov(be), nil},
		{"FCS length in the link-type word", func() ([]byte, []pcap.Frame) {
			// bit 26: FCS present; bits 28-31: its length in 16-bit words.
			c := newClassic(le, magicMicro, 2, 4, 65535, 1|1<<26|2<<28)
			o1 := c.packet(sec, 0, 64, d64)      // whole frame with its FCS
			o2 := c.packet(sec, 0, 64, d64[:62]) // cut inside the FCS
			o3 := c.packet(sec, 0, 64, d64[:30]) // cut before the FCS
			o4 := c.packet(sec, 0, 2, d64[:2])   // shorter than an FCS
			return c.b, []pcap.Frame{
				{Offset: o1, Time: sec * 1e9, Link: pcap.LinkEthernet, Length: 60, Data: d64[:60]},
				{Offset: o2, Time: sec * 1e9, Link: pcap.LinkEthernet, Length: 60, Data: d64[:60]},
				{Offset: o3, Time: sec * 1e9, Link: pcap.LinkEthernet, Length: 60, Data: d64[:30]},
				{Offset: o4, Time: sec * 1e9, Link: pcap.LinkEthernet, Length: 0, Data: nil},
			}
		}, func(t *testing.T, r *pcap.Reader) {
			if got := r.Interfaces(); len(got) != 1 || got[0].FCSLen != 4 || got[0].Link != pcap.LinkEthernet {
				t.Errorf("Interfaces() = %+v, want one Ethernet interface with FCSLen 4", got)
			}
		}},
		{"FCS length bits without the FCS bit", func() ([]byte, []pcap.Frame) {
			c := newClassic(be, magicMicro, 2, 4, 65535, 113|2<<28|0x00ff0000)
			o1 := c.packet(sec, 0, 64, d64)
			return c.b, []pcap.Frame{{Offset: o1, Time: sec * 1e9, Link: pcap.LinkSLL, Length: 64, Data: d64}}
		}, func(t *testing.T, r *pcap.Reader) {
			if got := r.Interfaces()[0].FCSLen; got != 0 {
				t.Errorf("FCSLen = %d, want 0", got)
			}
		}},
		{"snaplen 0 and a frame cut by the snaplen", func() ([]byte, []pcap.Frame) {
			c := newClassic(le, magicMicro, 2, 4, 0, 101)
			o1 := c.packet(sec, 0, 1500, d42)
			return c.b, []pcap.Frame{{Offset: o1, Time: sec * 1e9, Link: pcap.LinkRaw, Length: 1500, Data: d42}}
		}, func(t *testing.T, r *pcap.Reader) {
			if got := r.Interfaces()[0].SnapLen; got != 262144 {
				t.Errorf("SnapLen = %d, want libpcap's 262144 for 0", got)
			}
		}},
		{"no records", func() ([]byte, []pcap.Frame) {
			return newClassic(le, magicNano, 2, 4, 65535, 1).b, nil
		}, nil},
	}
}

// ngCases are well-formed pcapng files exercising every feature read.
func ngCases() []craftedCase {
	d60, d42, d64, d100 := payload(60, 0x10), payload(42, 0x80), payload(64, 0x40), payload(100, 0x01)
	const us = 1700000000123456 // a timestamp in the default µs resolution
	const t0 = us * 1000
	// simple writes one section in the given order.
	simple := func(order byteOrder) func() ([]byte, []pcap.Frame) {
		return func() ([]byte, []pcap.Frame) {
			var w ng
			w.shb(order)
			w.idb(1, 65535)
			o1 := w.epb(0, us, 60, d60)
			o2 := w.epb(0, us+1, 1514, d42)
			return w.b, []pcap.Frame{
				{Offset: o1, Time: t0, Link: pcap.LinkEthernet, Length: 60, Data: d60},
				{Offset: o2, Time: t0 + 1000, Link: pcap.LinkEthernet, Length: 1514, Data: d42},
			}
		}
	}
	// resol reads one EPB of an interface with the given options.
	resol := func(ts uint64, want pcap.Time, opts func(w *ng) [][]byte) func() ([]byte, []pcap.Frame) {
		return func() ([]byte, []pcap.Frame) {
			var w ng
			w.shb(le)
			w.idb(1, 0, opts(&w)...)
			o := w.epb(0, ts, 42, d42)
			return w.b, []pcap.Frame{{Offset: o, Time: want, Link: pcap.LinkEthernet, Length: 42, Data: d42}}
		}
	}
	tsresol := func(v byte) func(w *ng) [][]byte {
		return func(w *ng) [][]byte { return [][]byte{w.opt(optTSResol, u8(v))} }
	}
	tsoffset := func(v int64, r byte) func(w *ng) [][]byte {
		return func(w *ng) [][]byte {
			return [][]byte{w.opt(optTSOffset, w.u64(uint64(v))), w.opt(optTSResol, u8(r))}
		}
	}
	return []craftedCase{
		{"little-endian", simple(le), func(t *testing.T, r *pcap.Reader) {
			if r.Format() != pcap.FormatPcapNG || r.BigEndian() {
				t.Errorf("Format(), BigEndian() = %v, %v; want pcapng, false", r.Format(), r.BigEndian())
			}
		}},
		{"big-endian", simple(be), func(t *testing.T, r *pcap.Reader) {
			if !r.BigEndian() {
				t.Errorf("BigEndian() = false, want true")
			}
		}},
		{"two sections of different byte order", func() ([]byte, []pcap.Frame) {
			var w ng
			w.shb(le)
			w.idb(1, 65535)
			o1 := w.epb(0, us, 60, d60)
			w.shb(be)
			w.idb(101, 0)
			o2 := w.epb(0, us, 42, d42)
			return w.b, []pcap.Frame{
				{Offset: o1, Time: t0, Link: pcap.LinkEthernet, Interface: 0, Length: 60, Data: d60},
				{Offset: o2, Time: t0, Link: pcap.LinkRaw, Interface: 1, Length: 42, Data: d42},
			}
		}, func(t *testing.T, r *pcap.Reader) {
			want := []pcap.Interface{{Section: 0, ID: 0, Link: pcap.LinkEthernet, SnapLen: 65535}, {Section: 1, ID: 0, Link: pcap.LinkRaw}}
			checkInterfaces(t, r, want)
			if !r.BigEndian() {
				t.Errorf("BigEndian() = false after a big-endian section, want true")
			}
		}},
		{"several interfaces with different link types", func() ([]byte, []pcap.Frame) {
			var w ng
			w.shb(be)
			w.idb(1, 0)
			w.idb(113, 0)
			w.idb(276, 0)
			o1 := w.epb(2, us, 60, d60)
			o2 := w.epb(0, us, 42, d42)
			o3 := w.epb(1, us, 64, d64)
			return w.b, []pcap.Frame{
				{Offset: o1, Time: t0, Link: pcap.LinkSLL2, Interface: 2, Length: 60, Data: d60},
				{Offset: o2, Time: t0, Link: pcap.LinkEthernet, Interface: 0, Length: 42, Data: d42},
				{Offset: o3, Time: t0, Link: pcap.LinkSLL, Interface: 1, Length: 64, Data: d64},
			}
		}, nil},
		{"interface ids restart in every section", func() ([]byte, []pcap.Frame) {
			var w ng
			w.shb(le)
			w.idb(1, 0)
			w.idb(1, 0)
			w.shb(le)
			w.idb(113, 0)
			o := w.epb(0, us, 42, d42)
			return w.b, []pcap.Frame{{Offset: o, Time: t0, Link: pcap.LinkSLL, Interface: 2, Length: 42, Data: d42}}
		}, func(t *testing.T, r *pcap.Reader) {
			checkInterfaces(t, r, []pcap.Interface{
				{Section: 0, ID: 0, Link: pcap.LinkEthernet}, {Section: 0, ID: 1, Link: pcap.LinkEthernet}, {Section: 1, ID: 0, Link: pcap.LinkSLL},
			})
		}},
		{"if_tsresol 10^-9", resol(1234567890123456789, 1234567890123456789, tsresol(9)), nil},
		{"if_tsresol 10^-3", resol(1234567, 1234567000000, tsresol(3)), nil},
		{"if_tsresol 10^0", resol(1234567, 1234567000000000, tsresol(0)), nil},
		{"if_tsresol 10^-19", resol(math.MaxUint64, 1e9+844674407, tsresol(19)), nil},
		// 2^-20 s: 0.5 s is exact; one unit is 953.67 ns, truncated.
		{"if_tsresol 2^-20 half", resol(1000<<20|1<<19, 1000*1e9+5e8, tsresol(0x80|20)), nil},
		{"if_tsresol 2^-20 one unit", resol(1000<<20|1, 1000*1e9+953, tsresol(0x80|20)), nil},
		{"if_tsresol 2^-63", resol(1<<63|1<<62, 15e8, tsresol(0x80|63)), nil},
		// (2^63-1)/2^63 s is 999999999.9999999999 ns: no overflow, truncated.
		{"if_tsresol 2^-63 largest", resol(math.MaxUint64, 1e9+999999999, tsresol(0x80|63)), nil},
		{"if_tsresol 2^0", resol(77, 77e9, tsresol(0x80)), nil},
		{"if_tsoffset", resol(5e6+250, 1005*1e9+250000, tsoffset(1000, 6)), nil},
		// Before 1970: pcap.Time is signed.
		{"negative if_tsoffset", resol(5e6+250, -5e9+250000, tsoffset(-10, 6)), nil},
		{"if_tsoffset saturates high", resol(0, math.MaxInt64, tsoffset(math.MaxInt64, 6)), nil},
		{"if_tsoffset saturates low", resol(0, math.MinInt64, tsoffset(math.MinInt64, 6)), nil},
		{"timestamp saturates high", resol(math.MaxUint64, math.MaxInt64, tsresol(0)), nil},
		// 2^64-1 s minus 2^63 s is still far beyond 2262.
		{"huge timestamp with huge negative offset", resol(math.MaxUint64, math.MaxInt64, tsoffset(math.MinInt64, 0)), nil},
		// 2^63 s - 2^63 s is exactly the epoch.
		{"huge timestamp cancelled by the offset", resol(1<<63, 0, tsoffset(math.MinInt64, 0)), nil},
		{"if_fcslen", func() ([]byte, []pcap.Frame) {
			var w ng
			w.shb(le)
			w.idb(1, 0, w.opt(optFCSLen, u8(4)))
			o1 := w.epb(0, us, 64, d64)
			o2 := w.epb(0, us, 64, d64[:30])
			return w.b, []pcap.Frame{
				{Offset: o1, Time: t0, Link: pcap.LinkEthernet, Length: 60, Data: d64[:60]},
				{Offset: o2, Time: t0, Link: pcap.LinkEthernet, Length: 60, Data: d64[:30]},
			}
		}, func(t *testing.T, r *pcap.Reader) {
			if got := r.Interfaces()[0].FCSLen; got != 4 {
				t.Errorf("FCSLen = %d, want 4", got)
			}
		}},
		// A Simple Packet Block holds min(len, snaplen) bytes plus padding
		// and has no timestamp: it gets the previous frame's.
		{"simple packet blocks, no snaplen", func() ([]byte, []pcap.Frame) {
			var w ng
			w.shb(le)
			w.idb(1, 0)
			o1 := w.spb(100, d100)
			o2 := w.epb(0, us, 60, d60)
			o3 := w.spb(30, d100[:30])  // 2 bytes of padding are not data
			o4 := w.spb(100, d100[:40]) // the block holds less than len
			return w.b, []pcap.Frame{
				{Offset: o1, Time: 0, Link: pcap.LinkEthernet, Length: 100, Data: d100},
				{Offset: o2, Time: t0, Link: pcap.LinkEthernet, Length: 60, Data: d60},
				{Offset: o3, Time: t0, Link: pcap.LinkEthernet, Length: 30, Data: d100[:30]},
				{Offset: o4, Time: t0, Link: pcap.LinkEthernet, Length: 100, Data: d100[:40]},
			}
		}, nil},
		{"simple packet blocks under a snaplen", func() ([]byte, []pcap.Frame) {
			var w ng
			w.shb(be)
			w.idb(113, 50)
			w.idb(1, 0)                  // SPBs belong to the first interface only
			o1 := w.spb(100, d100[:52])  // caplen = snaplen 50 of 52 bytes
			o2 := w.spb(49, d100[:49])   // caplen = len 49
			o3 := w.spb(100, d100[:100]) // a writer that ignored the snaplen
			return w.b, []pcap.Frame{
				{Offset: o1, Link: pcap.LinkSLL, Length: 100, Data: d100[:50]},
				{Offset: o2, Link: pcap.LinkSLL, Length: 49, Data: d100[:49]},
				{Offset: o3, Link: pcap.LinkSLL, Length: 100, Data: d100[:50]},
			}
		}, nil},
		{"obsolete packet block", func() ([]byte, []pcap.Frame) {
			var w ng
			w.shb(be)
			w.idb(1, 0)
			w.idb(113, 0, w.opt(optTSResol, u8(9)))
			o := w.pb(1, 7, 1234567890123456789, 1514, d42)
			return w.b, []pcap.Frame{{Offset: o, Time: 1234567890123456789, Link: pcap.LinkSLL, Interface: 1, Length: 1514, Data: d42}}
		}, nil},
		{"unknown and uninteresting blocks skipped", func() ([]byte, []pcap.Frame) {
			var w ng
			w.shb(le)
			w.block(0x12345678, payload(10, 0))
			w.block(0x0A, payload(16, 0)) // Decryption Secrets Block
			w.idb(1, 0)
			w.block(blockNRB, payload(8, 0))
			w.block(blockISB, payload(12, 0))
			w.block(0xBAD, payload(9, 0))
			w.block(0x40000BAD, nil)
			o := w.epb(0, us, 42, d42)
			w.block(0x80000001, payload(3, 0)) // local-use block type after the last packet
			return w.b, []pcap.Frame{{Offset: o, Time: t0, Link: pcap.LinkEthernet, Length: 42, Data: d42}}
		}, nil},
		{"options with padding", func() ([]byte, []pcap.Frame) {
			w := ng{order: le}
			w.shb(le, w.opt(optComment, []byte("x")), w.opt(3, []byte("abcde")), w.endOpts())
			w.idb(1, 0,
				w.opt(optComment, []byte("c")),
				w.opt(optIfName, []byte("eth0x")),
				w.opt(optTSResol, u8(3)),
				w.opt(8, w.u64(1e9)), // if_speed
				w.opt(optFCSLen, u8(2)))
			o1 := w.epb(0, 1234, 43, payload(43, 0), w.opt(optComment, []byte("seven77")), w.opt(2, w.order.AppendUint32(nil, 1)))
			o2 := w.epb(0, 1235, 10, payload(10, 0)) // no options at all
			return w.b, []pcap.Frame{
				{Offset: o1, Time: 1234e6, Link: pcap.LinkEthernet, Length: 41, Data: payload(41, 0)},
				{Offset: o2, Time: 1235e6, Link: pcap.LinkEthernet, Length: 8, Data: payload(8, 0)},
			}
		}, func(t *testing.T, r *pcap.Reader) {
			if ifc := r.Interfaces()[0]; ifc.Name != "eth0x" || ifc.FCSLen != 2 {
				t.Errorf("Interfaces()[0] = %+v, want Name eth0x, FCSLen 2", ifc)
			}
		}},
		{"section without packets", func() ([]byte, []pcap.Frame) {
			var w ng
			w.shb(be)
			return w.b, nil
		}, nil},
	}
}

// checkInterfaces compares the interfaces' exported fields other than Name.
func checkInterfaces(t *testing.T, r *pcap.Reader, want []pcap.Interface) {
	t.Helper()
	got := r.Interfaces()
	if len(got) != len(want) {
		t.Fatalf("Interfaces() = %+v, want %+v", got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Section != w.Section || g.ID != w.ID || g.Link != w.Link || g.SnapLen != w.SnapLen || g.FCSLen != w.FCSLen {
			t.Errorf("Interfaces()[%d] = %+v, want %+v", i, g, w)
		}
	}
}
