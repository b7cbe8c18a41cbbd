package pcap

// TSUnits is the interface's timestamp units per second (if_tsresol), for
// the external tests' reference conversion.
func (i Interface) TSUnits() uint64 { return i.tsUnitsPerSec }

// TSOffset is the interface's if_tsoffset in seconds.
func (i Interface) TSOffset() int64 { return i.tsOffset }

// BufferSize is the capacity of the reader's buffer, its one allocation
// that grows with the input.
func (r *Reader) BufferSize() int { return cap(r.buf) }

// InterfaceOptions reads the options of an Interface Description Block,
// in the given byte order, into an interface with the defaults.
func InterfaceOptions(bigEndian bool, opts []byte) (Interface, error) {
	r := &Reader{bigEndian: bigEndian}
	ifc := Interface{tsUnitsPerSec: 1e6}
	if err := r.interfaceOptions(&ifc, opts); err != nil {
		return ifc, err
	}
	return ifc, nil
}
