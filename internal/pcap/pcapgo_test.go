package pcap_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcplens/tcplens/internal/pcap"
)

// This file checks the reader against gopacket's pcapgo, an independent
// pure-Go implementation, frame by frame: captured bytes, wire length,
// link type, interface and timestamp. pcapgo differs from us on purpose
// or by its own limits in the ways below; each is asserted precisely where
// it applies (pcapgoDiff) instead of being skipped:
//
//   - It stops at the first corrupt record (its error is final); we report a
//     *FormatError and resynchronise. Only the frames before the first
//     problem either reader reports are compared, and the tests on real
//     files check that we report our first problem at the same frame.
//   - With NgReaderOptions{} (WantMixedLinkType false) it hands out only the
//     frames whose interface has the link type of the file's first
//     interface, silently dropping the others; we hand out every frame with
//     its own link type. Our frames are filtered the same way before the
//     comparison, and a second pass with WantMixedLinkType compares all.
//   - A Simple Packet Block has no timestamp: pcapgo gives the zero
//     time.Time, we repeat the previous frame's time (0 before any) so that
//     the capture stays in order.
//   - It ignores the FCS length (pcap link-type word bits 26-31, pcapng
//     if_fcslen); we strip the FCS from Data and Length.
//   - For a Simple Packet Block it reads min(original length, snaplen)
//     bytes whatever the block's length, on into the block's trailer when
//     the block is shorter; we keep the bytes the block holds (as the
//     crafted "simple packet blocks, no snaplen" case asserts). Its data
//     is cut to the block's before the comparison (spbHolds).
//   - It scales a binary if_tsresol (2^-k) with the integer factor
//     1e9/2^k or 2^k/1e9, so its nanoseconds are off by less than
//     min(2^k, 1e9); ours are exact (checked against refTime).
//   - It reads if_tsresol 0 as "absent" (10^-6; the spec says 10^0), takes
//     the first byte of an if_tsresol option of any length and the first 8
//     bytes of a longer if_tsoffset (we, like Wireshark, ignore options of
//     the wrong length), and wraps 10^k for k > 19 (we report it and assume
//     microseconds). Where its scaling differs from ours for these reasons
//     only our timestamp is checked, against refTime.
//   - Its timestamp arithmetic wraps: the classic µs fraction is multiplied
//     by 1000 in uint32, and pcapng seconds plus if_tsoffset in uint64.
//     We are exact and saturate at the ends of pcap.Time's range.

// pgFrame is one frame as pcapgo read it.
type pgFrame struct {
	data []byte
	ci   gopacket.CaptureInfo
	link layers.LinkType
	ifc  pcapgo.NgInterface // pcapng: the frame's interface as pcapgo saw it
}

// pgResult is what pcapgo read from one input.
type pgResult struct {
	ng     bool
	frames []pgFrame
	err    error           // what ended reading; nil at a clean io.EOF
	link   layers.LinkType // the reader's one link type
}

// readPcapgo reads data with pcapgo. A panic inside pcapgo is a bug of the
// reference, not of the code under test; it ends pcapgo's read with an
// error (so nothing after it is compared) instead of failing the fuzz
// target. The code under test is never run under recover.
func readPcapgo(data []byte, opts pcapgo.NgReaderOptions) (res pgResult) {
	defer func() {
		if p := recover(); p != nil {
			res.err = fmt.Errorf("pcapgo panicked: %v", p)
		}
	}()
	limit := maxCalls(len(data))
	res.ng = len(data) >= 4 && binary.LittleEndian.Uint32(data) == blockSHB
	if res.ng {
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), opts)
		if err != nil {
			res.err = err
			return res
		}
		res.link = r.LinkType()
		for range limit {
			d, ci, err := r.ReadPacketData()
			if err == io.EOF {
				return res
			}
			if err != nil {
				res.err = err
				return res
			}
			f := pgFrame{data: d, ci: ci, link: r.LinkType()}
			if opts.WantMixedLinkType {
				f.link = ci.AncillaryData[0].(layers.LinkType)
			}
			f.ifc, _ = r.Interface(ci.InterfaceIndex)
			res.frames = append(res.frames, f)
		}
		res.err = errors.New("pcapgo never reached the end")
		return res
	}
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		res.err = err
		return res
	}
	res.link = r.LinkType()
	for range limit {
		d, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return res
		}
		if err != nil {
			res.err = err
			return res
		}
		res.frames = append(res.frames, pgFrame{data: d, ci: ci, link: r.LinkType()})
	}
	res.err = errors.New("pcapgo never reached the end")
	return res
}

// refTime is the exact pcapng timestamp conversion, written for clarity
// rather than speed: floor(ts·10^9/units) + offset·10^9 nanoseconds,
// saturated to pcap.Time's range.
func refTime(ts, units uint64, offset int64) pcap.Time {
	n := new(big.Int).SetUint64(ts)
	n.Mul(n, big.NewInt(1e9))
	n.Quo(n, new(big.Int).SetUint64(units)) // both positive: truncation is floor
	n.Add(n, new(big.Int).Mul(big.NewInt(offset), big.NewInt(1e9)))
	switch {
	case n.Cmp(big.NewInt(math.MaxInt64)) > 0:
		return math.MaxInt64
	case n.Cmp(big.NewInt(math.MinInt64)) < 0:
		return math.MinInt64
	}
	return pcap.Time(n.Int64())
}

// pgUnits is the timestamp units per second pcapgo derives from an
// interface's resolution, including its uint64 wrap for 10^k, k > 19.
func pgUnits(res pcapgo.NgResolution) uint64 {
	if res.Binary() {
		return 1 << res.Exponent()
	}
	u := uint64(1)
	for range res.Exponent() {
		u *= 10
	}
	return u
}

// spbHolds returns how many bytes of packet data the Simple Packet Block
// at the start of b holds, or -1 when b does not start with one.
func spbHolds(b []byte, order binary.ByteOrder) int {
	if len(b) < 16 || order.Uint32(b) != 3 {
		return -1
	}
	return max(int(order.Uint32(b[4:]))-16, 0)
}

// order returns the byte order of a frame's section.
func (f *frame) order() binary.ByteOrder {
	if f.bigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// pcapgoDiff compares our frames with pcapgo's, over the frames both
// handed out before either reported a problem, allowing only the
// differences listed at the top of this file. It returns how many frames
// it compared and one line per mismatch.
func pcapgoDiff(data []byte, ours *result, theirs *pgResult, mixed bool) (compared int, diffs []string) {
	// idx are the indexes into ours.frames of the frames pcapgo also hands out.
	var idx []int
	for i := range ours.cleanPrefix() {
		if theirs.ng && !mixed && uint16(ours.frames[i].Link) != uint16(theirs.link) {
			continue // pcapgo drops frames of other link types
		}
		idx = append(idx, i)
	}
	n := min(len(idx), len(theirs.frames))
	ifcs := ours.reader.Interfaces()
	for k := range n {
		i := idx[k]
		o, p := &ours.frames[i], &theirs.frames[k]
		ifc := ifcs[o.Interface]
		report := func(format string, args ...any) {
			diffs = append(diffs, fmt.Sprintf("frame %d at offset %d (pcapgo's %d): ", o.Number, o.Offset, k+1)+fmt.Sprintf(format, args...))
		}

		// Captured bytes and wire length, after stripping the FCS pcapgo keeps.
		wantLen, wantData := p.ci.Length, p.data
		if theirs.ng {
			if held := spbHolds(data[o.Offset:], o.order()); held >= 0 && len(wantData) > held {
				wantData = wantData[:held]
			}
		}
		if ifc.FCSLen > 0 {
			wantLen = max(wantLen-ifc.FCSLen, 0)
			if len(wantData) > wantLen {
				wantData = wantData[:wantLen]
			}
		}
		if o.Length != wantLen {
			report("Length = %d, pcapgo %d (FCS %d)", o.Length, p.ci.Length, ifc.FCSLen)
		}
		if !bytes.Equal(o.Data, wantData) {
			report("Data (%d bytes) differs from pcapgo's (%d bytes, FCS %d)", len(o.Data), len(p.data), ifc.FCSLen)
		}
		if uint16(o.Link) != uint16(p.link) {
			report("Link = %d, pcapgo %d", o.Link, p.link)
		}
		if theirs.ng && ifc.ID != p.ci.InterfaceIndex {
			report("interface id %d, pcapgo %d", ifc.ID, p.ci.InterfaceIndex)
		}

		// Timestamps.
		pgNano := p.ci.Timestamp.UnixNano()
		if !theirs.ng {
			hdr := data[o.Offset:]
			sec, frac := uint64(o.order().Uint32(hdr)), o.order().Uint32(hdr[4:])
			unit, pgFrac := uint64(1), uint64(frac)
			if m := o.order().Uint32(data); m == magicMicro || m == magicKuznetzov {
				unit, pgFrac = 1000, uint64(frac*1000) // pcapgo's uint32 product
			}
			if want := pcap.Time(sec*1e9 + uint64(frac)*unit); o.Time != want {
				report("Time = %d, want %d", o.Time, want)
			}
			if pgWant := int64(sec*1e9 + pgFrac); pgNano != pgWant {
				report("pcapgo time %d, want %d", pgNano, pgWant)
			}
			continue
		}
		blk := data[o.Offset:]
		switch o.order().Uint32(blk) {
		case blockSPB:
			// No timestamp in the block: pcapgo says zero, we repeat the
			// previous frame's time.
			var prev pcap.Time
			if i > 0 {
				prev = ours.frames[i-1].Time
			}
			if o.Time != prev {
				report("simple packet block: Time = %d, want the previous frame's %d", o.Time, prev)
			}
			if !p.ci.Timestamp.IsZero() {
				report("simple packet block: pcapgo time %v, want the zero time", p.ci.Timestamp)
			}
			continue
		case blockEPB, blockPB:
		default:
			report("block type 0x%x is no packet block", o.order().Uint32(blk))
			continue
		}
		ts := uint64(o.order().Uint32(blk[12:]))<<32 | uint64(o.order().Uint32(blk[16:]))
		want := refTime(ts, ifc.TSUnits(), ifc.TSOffset())
		if o.Time != want {
			report("Time = %d, want %d (ts %d, %d units/s, offset %d s)", o.Time, want, ts, ifc.TSUnits(), ifc.TSOffset())
		}
		units := pgUnits(p.ifc.TimestampResolution)
		switch {
		case units != ifc.TSUnits() || int64(p.ifc.TimestampOffset) != ifc.TSOffset():
			// pcapgo read if_tsresol or if_tsoffset differently (see the
			// list at the top); ours was checked against refTime above.
		case want == math.MaxInt64 || want == math.MinInt64 || p.ci.Timestamp.Year() < 1678 || p.ci.Timestamp.Year() > 2261:
			// Out of pcap.Time's range: pcapgo's arithmetic wraps.
		case p.ifc.TimestampResolution.Binary() && units > 1:
			bound := int64(min(units, 1e9))
			if d := pgNano - int64(o.Time); d <= -bound || d >= bound {
				report("Time = %d, pcapgo %d: more than pcapgo's rounding of 2^-%d apart", o.Time, pgNano, p.ifc.TimestampResolution.Exponent())
			}
		default:
			if int64(o.Time) != pgNano {
				report("Time = %d, pcapgo %d", o.Time, pgNano)
			}
		}
	}
	return n, diffs
}

// pcapgoStops lists the real captures that pcapgo cannot read to the end:
// the number of frames it hands out and what its error says. We report the
// same problem as a *FormatError for the next frame, and go on where the
// format lets us (resynchronisation is tested in TestResyncRealFiles).
var pcapgoStops = map[string]struct {
	frames int
	err    string
}{
	// A record header with caplen 4325376 (4 MB) after frame 6.
	"suri-bug-1450-04-tls_DER-incomplete-header.pcap": {6, "capture length exceeds snap length"},
	// A record header with caplen 3925868813 after frame 18.
	"suri-smtp-to-comma.pcap": {18, "capture length exceeds snap length"},
	// The file ends 1 byte into the header of record 2697.
	"suri-http-mime-truncated.pcap.gz": {2696, "unexpected EOF"},
}

// ourWarnings lists the real captures where we report a problem although
// pcapgo reads them silently to the end, all frames intact.
var ourWarnings = map[string]string{
	// Its one record has caplen 8 but the file header says snaplen 1.
	// libpcap and pcapgo accept any caplen up to 262144; so do we, once
	// saying so.
	"zeek-trunc-trunc-hdr.pcap": "captured length 8 exceeds the file's snaplen 1",
}

func TestPcapgo(t *testing.T) {
	for _, name := range captureNames(t) {
		t.Run(name, func(t *testing.T) {
			data := loadCapture(t, name)
			ours := readAll(t, data)
			passes := []pcapgo.NgReaderOptions{{}}
			if ours.reader.Format() == pcap.FormatPcapNG {
				passes = append(passes, pcapgo.NgReaderOptions{WantMixedLinkType: true})
			}
			for _, opts := range passes {
				theirs := readPcapgo(data, opts)
				compared, diffs := pcapgoDiff(data, ours, &theirs, opts.WantMixedLinkType)
				for _, d := range diffs {
					t.Errorf("mixed %v: %s", opts.WantMixedLinkType, d)
				}
				if stop, ok := pcapgoStops[name]; ok {
					if theirs.err == nil || !strings.Contains(theirs.err.Error(), stop.err) || len(theirs.frames) != stop.frames {
						t.Errorf("pcapgo: %d frames then %v, want %d frames then %q", len(theirs.frames), theirs.err, stop.frames, stop.err)
					}
					if len(ours.errs) == 0 || ours.errAfter[0] != stop.frames {
						t.Fatalf("our first error after %v frames, want after %d", ours.errAfter, stop.frames)
					}
					if fe := formatError(t, ours.errs[0]); fe.Frame != stop.frames+1 {
						t.Errorf("Next() = %v, want an error for frame %d", fe, stop.frames+1)
					}
					continue
				}
				if theirs.err != nil {
					t.Fatalf("pcapgo: %v after %d frames, want io.EOF", theirs.err, len(theirs.frames))
				}
				if compared != len(theirs.frames) || compared != countFor(ours, &theirs, opts.WantMixedLinkType) {
					t.Errorf("mixed %v: compared %d frames; pcapgo read %d, we %d", opts.WantMixedLinkType, compared, len(theirs.frames), len(ours.frames))
				}
				if want, ok := ourWarnings[name]; ok {
					if len(ours.errs) != 1 || !strings.Contains(ours.errs[0].Error(), want) {
						t.Errorf("Next() errors = %v, want one warning %q", ours.errs, want)
					}
				} else if len(ours.errs) > 0 {
					t.Errorf("Next() = %v, want no error", ours.errs[0])
				}
			}
		})
	}
}

// countFor is how many of our frames pcapgo should hand out: with
// NgReaderOptions{} only those of the first interface's link type.
func countFor(ours *result, theirs *pgResult, mixed bool) int {
	if !theirs.ng || mixed {
		return len(ours.frames)
	}
	n := 0
	for _, f := range ours.frames {
		if uint16(f.Link) == uint16(theirs.link) {
			n++
		}
	}
	return n
}

// TestPcapgoDifferences pins down each difference from pcapgo listed at
// the top of this file on a crafted file: pcapgoDiff accepts it, it is
// really exercised (frames were compared), and pcapgo really behaves as
// described.
func TestPcapgoDifferences(t *testing.T) {
	const sec = 1700000000
	d64 := payload(64, 0x40)
	tests := []struct {
		name     string
		build    func() []byte
		compared int    // frames pcapgoDiff compares
		pgFrames int    // frames pcapgo hands out
		pgErr    string // what pcapgo's error says, "" for a clean io.EOF
		check    func(t *testing.T, ours *result, theirs *pgResult)
	}{
		{"pcap FCS kept by pcapgo", func() []byte {
			c := newClassic(le, magicMicro, 2, 4, 65535, 1|1<<26|2<<28)
			c.packet(sec, 0, 64, d64)
			return c.b
		}, 1, 1, "", func(t *testing.T, ours *result, theirs *pgResult) {
			if p := theirs.frames[0]; p.ci.Length != 64 || len(p.data) != 64 || ours.frames[0].Length != 60 {
				t.Errorf("pcapgo length %d, %d bytes; ours %d; want 64, 64 and 60", p.ci.Length, len(p.data), ours.frames[0].Length)
			}
		}},
		{"pcapng if_fcslen ignored by pcapgo", func() []byte {
			var w ng
			w.shb(be)
			w.idb(1, 0, w.opt(optFCSLen, u8(4)))
			w.epb(0, 1, 64, d64)
			return w.b
		}, 1, 1, "", func(t *testing.T, ours *result, theirs *pgResult) {
			if p := theirs.frames[0]; len(p.data) != 64 || len(ours.frames[0].Data) != 60 {
				t.Errorf("pcapgo %d bytes, ours %d; want 64 and 60", len(p.data), len(ours.frames[0].Data))
			}
		}},
		{"simple packet block without a time", func() []byte {
			var w ng
			w.shb(le)
			w.idb(1, 0)
			w.epb(0, sec*1e6, 64, d64)
			w.spb(64, d64)
			return w.b
		}, 2, 2, "", func(t *testing.T, ours *result, theirs *pgResult) {
			if !theirs.frames[1].ci.Timestamp.IsZero() || ours.frames[1].Time != sec*1e9 {
				t.Errorf("pcapgo time %v, ours %d; want zero and %d", theirs.frames[1].ci.Timestamp, ours.frames[1].Time, pcap.Time(sec*1e9))
			}
		}},
		{"binary if_tsresol scaled by an integer", func() []byte {
			var w ng
			w.shb(le)
			w.idb(1, 0, w.opt(optTSResol, u8(0x80|20)))
			w.epb(0, 1000<<20|1<<19, 64, d64) // 1000.5 s
			return w.b
		}, 1, 1, "", func(t *testing.T, ours *result, theirs *pgResult) {
			// pcapgo: 2^19 · floor(10^9/2^20) = 2^19 · 953 ns.
			if pg := theirs.frames[0].ci.Timestamp.UnixNano(); pg != 1000e9+(1<<19)*953 || ours.frames[0].Time != 1000e9+5e8 {
				t.Errorf("pcapgo %d, ours %d; want %d and %d", pg, ours.frames[0].Time, int64(1000e9+(1<<19)*953), int64(1000e9+5e8))
			}
		}},
		{"if_tsresol 0 read as absent by pcapgo", func() []byte {
			var w ng
			w.shb(le)
			w.idb(1, 0, w.opt(optTSResol, u8(0)))
			w.epb(0, 5, 64, d64)
			return w.b
		}, 1, 1, "", func(t *testing.T, ours *result, theirs *pgResult) {
			if pg := theirs.frames[0].ci.Timestamp.UnixNano(); pg != 5000 || ours.frames[0].Time != 5e9 {
				t.Errorf("pcapgo %d, ours %d; want 5000 (µs) and 5e9 (s)", pg, ours.frames[0].Time)
			}
		}},
		{"if_tsresol of two bytes", func() []byte {
			var w ng
			w.shb(le)
			w.idb(1, 0, w.opt(optTSResol, []byte{9, 0}))
			w.epb(0, 5, 64, d64)
			return w.b
		}, 1, 1, "", func(t *testing.T, ours *result, theirs *pgResult) {
			if pg := theirs.frames[0].ci.Timestamp.UnixNano(); pg != 5 || ours.frames[0].Time != 5000 {
				t.Errorf("pcapgo %d, ours %d; want 5 (ns) and 5000 (µs, option ignored)", pg, ours.frames[0].Time)
			}
		}},
		{"negative if_tsoffset agrees", func() []byte {
			var w ng
			w.shb(le)
			w.idb(1, 0, w.opt(optTSOffset, w.u64(uint64(1<<64-10))))
			w.epb(0, 5e6+3, 64, d64)
			return w.b
		}, 1, 1, "", func(t *testing.T, ours *result, theirs *pgResult) {
			if ours.frames[0].Time != -5e9+3000 {
				t.Errorf("Time = %d, want %d", ours.frames[0].Time, int64(-5e9+3000))
			}
		}},
		{"mixed link types dropped by pcapgo", func() []byte {
			var w ng
			w.shb(le)
			w.idb(1, 0)
			w.idb(113, 0)
			w.epb(0, 1, 64, d64)
			w.epb(1, 2, 64, d64)
			w.epb(0, 3, 64, d64)
			return w.b
		}, 2, 2, "", func(t *testing.T, ours *result, theirs *pgResult) {
			if len(ours.frames) != 3 {
				t.Errorf("read %d frames, want 3", len(ours.frames))
			}
		}},
		{"pcap µs fraction wraps in pcapgo", func() []byte {
			c := newClassic(le, magicMicro, 2, 4, 65535, 1)
			c.packet(sec, 5000000, 64, d64) // 5 s in the fraction
			return c.b
		}, 1, 1, "", func(t *testing.T, ours *result, theirs *pgResult) {
			if pg := theirs.frames[0].ci.Timestamp.UnixNano(); pg != sec*1e9+(5e9-1<<32) || ours.frames[0].Time != sec*1e9+5e9 {
				t.Errorf("pcapgo %d, ours %d", pg, ours.frames[0].Time)
			}
		}},
		{"corrupt record: pcapgo stops", func() []byte {
			c := newClassic(le, magicMicro, 2, 4, 65535, 1)
			c.packet(sec, 1, 64, d64)
			c.record(sec, 2, 0xffffffff, 64, d64)
			c.packet(sec, 3, 64, d64)
			c.packet(sec, 4, 64, d64)
			return c.b
		}, 1, 1, "capture length exceeds snap length", func(t *testing.T, ours *result, theirs *pgResult) {
			if len(ours.frames) != 3 {
				t.Errorf("read %d frames, want 3 (resynchronised)", len(ours.frames))
			}
		}},
		{"Kuznetzov: pcapgo rejects", func() []byte {
			c := newClassic(le, magicKuznetzov, 2, 4, 65535, 1)
			c.packet(sec, 1, 64, d64)
			return c.b
		}, 0, 0, "Unknown magic", nil},
		{"pcap 2.2: pcapgo rejects", func() []byte {
			c := newClassic(be, magicMicro, 2, 2, 65535, 1)
			c.record(sec, 1, 64, 64, d64)
			return c.b
		}, 0, 0, "Unknown minor version 2", nil},
		{"trailer mismatch: we stop, pcapgo reads on", func() []byte {
			var w ng
			w.shb(le)
			w.idb(1, 0)
			w.epb(0, 1, 64, d64)
			w.epb(0, 2, 64, d64)
			w.b[len(w.b)-1] = 1
			return w.b
		}, 1, 2, "", func(t *testing.T, ours *result, theirs *pgResult) {
			if len(ours.errs) != 1 {
				t.Errorf("errors %v, want one", ours.errs)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.build()
			ours := readAll(t, data)
			theirs := readPcapgo(data, pcapgo.NgReaderOptions{})
			compared, diffs := pcapgoDiff(data, ours, &theirs, false)
			for _, d := range diffs {
				t.Error(d)
			}
			if compared != tc.compared || len(theirs.frames) != tc.pgFrames {
				t.Errorf("compared %d frames, pcapgo read %d; want %d and %d", compared, len(theirs.frames), tc.compared, tc.pgFrames)
			}
			switch {
			case tc.pgErr == "" && theirs.err != nil:
				t.Errorf("pcapgo: %v, want io.EOF", theirs.err)
			case tc.pgErr != "" && (theirs.err == nil || !strings.Contains(theirs.err.Error(), tc.pgErr)):
				t.Errorf("pcapgo: %v, want %q", theirs.err, tc.pgErr)
			}
			if tc.check != nil && !t.Failed() && len(ours.frames) > 0 && len(theirs.frames) > 0 {
				tc.check(t, ours, &theirs)
			}
		})
	}
}
