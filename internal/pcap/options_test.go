package pcap_test

import (
	"encoding/binary"
	"errors"
	"math/big"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

// idbOptions returns the option bytes of every Interface Description
// Block of a pcapng file, with the byte order of its section: the real
// option areas the reader meets.
func idbOptions(b []byte) (opts [][]byte, bigEndian []bool) {
	var order binary.ByteOrder = binary.LittleEndian
	for off := 0; off+12 <= len(b); {
		if binary.LittleEndian.Uint32(b[off:]) == blockSHB {
			order = binary.LittleEndian
			if binary.BigEndian.Uint32(b[off+8:]) == 0x1A2B3C4D {
				order = binary.BigEndian
			}
		}
		typ, n := order.Uint32(b[off:]), int(order.Uint32(b[off+4:]))
		if n < 12 || n%4 != 0 || off+n > len(b) {
			break
		}
		if typ == blockIDB && n >= 20 {
			opts = append(opts, b[off+16:off+n-4])
			bigEndian = append(bigEndian, order == binary.BigEndian)
		}
		off += n
	}
	return opts, bigEndian
}

// refInterface is the reference reading of IDB options, written from the
// pcapng draft section 4.2 for clarity rather than speed: each option is
// code, length and value padded to 32 bits; opt_endofopt, or fewer than
// four bytes, ends them; the last of a repeated option counts.
type refInterface struct {
	name    string
	units   *big.Int // nil: the microsecond default
	offset  int64
	fcsLen  int
	bad     bool // an option overruns the area, or if_tsresol is out of range
	overrun bool
}

func refOptions(order binary.ByteOrder, b []byte) refInterface {
	var ref refInterface
	for i := 0; i+4 <= len(b); {
		code, n := order.Uint16(b[i:]), int(order.Uint16(b[i+2:]))
		if code == optEnd {
			break
		}
		if i+4+n > len(b) {
			ref.bad, ref.overrun = true, true
			break
		}
		v := b[i+4 : i+4+n]
		switch {
		case code == optIfName:
			ref.name = string(v)
		case code == optTSResol && n == 1:
			exp := int64(v[0] & 0x7f)
			base := big.NewInt(10)
			if v[0]&0x80 != 0 {
				base = big.NewInt(2)
			}
			u := new(big.Int).Exp(base, big.NewInt(exp), nil)
			if u.BitLen() > 64 {
				ref.bad = true // finer than a 64-bit count of units per second
			} else {
				ref.units = u
			}
		case code == optTSOffset && n == 8:
			ref.offset = int64(order.Uint64(v))
		case code == optFCSLen && n == 1:
			ref.fcsLen = int(v[0])
		}
		i += 4 + n
		for i%4 != 0 {
			i++
		}
	}
	return ref
}

// FuzzInterfaceOptions fuzzes the pcapng option parser on its own, against
// the reference reading: the same name, timestamp units, offset and FCS
// length, and an error exactly when an option overruns the area or
// if_tsresol cannot be represented.
func FuzzInterfaceOptions(f *testing.F) {
	for _, name := range captureNames(f) {
		opts, bigEndian := idbOptions(loadCapture(f, name))
		for i := range opts {
			f.Add(bigEndian[i], opts[i])
		}
	}
	for _, tc := range ngCases() {
		b, _ := tc.build()
		opts, bigEndian := idbOptions(b)
		for i := range opts {
			f.Add(bigEndian[i], opts[i])
		}
	}
	f.Fuzz(func(t *testing.T, bigEndian bool, opts []byte) {
		var order binary.ByteOrder = binary.LittleEndian
		if bigEndian {
			order = binary.BigEndian
		}
		ifc, err := pcap.InterfaceOptions(bigEndian, opts)
		ref := refOptions(order, opts)
		if err != nil {
			var fe *pcap.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *pcap.FormatError", err, err)
			}
		}
		if (err != nil) != ref.bad {
			t.Fatalf("error %v; the reference says bad=%v", err, ref.bad)
		}
		if ref.overrun {
			return // what came before the overrun is kept, as far as it went
		}
		want := uint64(1e6)
		if ref.units != nil {
			want = ref.units.Uint64()
		}
		switch {
		case ifc.Name != ref.name:
			t.Fatalf("name %q, want %q", ifc.Name, ref.name)
		case ifc.TSUnits() != want:
			t.Fatalf("%d units per second, want %d", ifc.TSUnits(), want)
		case ifc.TSOffset() != ref.offset:
			t.Fatalf("offset %d, want %d", ifc.TSOffset(), ref.offset)
		case ifc.FCSLen != ref.fcsLen:
			t.Fatalf("FCS length %d, want %d", ifc.FCSLen, ref.fcsLen)
		}
	})
}
