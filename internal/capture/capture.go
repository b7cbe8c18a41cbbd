// Package capture reads live frames from a Linux interface with an
// AF_PACKET TPACKET_V3 ring (github.com/gopacket/gopacket/afpacket, no
// cgo), filters them in the kernel with a classic BPF program compiled by
// package bpf, and hands them out as pcap.Frame values, so that everything
// downstream (the tcpdump printer, the analysis) treats a live capture as
// it treats a file.
//
// Link types: an Ethernet-like device (Ethernet, veth, loopback: Linux
// gives lo an all-zero Ethernet header, as tcpdump -i lo shows) gives
// LinkEthernet frames; a device without a link-layer header (tun,
// WireGuard) gives LinkRaw; "any" reads every device through a SOCK_DGRAM
// socket and gives LinkSLL frames, whose cooked header tcplens builds from
// what the ring reports. gopacket's afpacket does not expose the kernel's
// sockaddr_ll, so in those cooked headers the packet type is always
// "to us" and the link-layer address is empty: the tcpdump line, which
// prints neither for Linux cooked v1, is unaffected.
//
// The socket starts receiving when it is bound, before the filter can be
// attached; libpcap drains what arrived in between, and so does this
// package: frames stamped before the filter was attached are discarded.
package capture

import (
	"errors"
	"io"
	"time"
)

// Options configure a capture.
type Options struct {
	Interface string // device name, or "any"
	// Filter is a tcpdump filter expression, or the text of tcpdump -ddd
	// (or -dd) for what package bpf does not compile. Empty: every frame.
	Filter  string
	SnapLen int // bytes kept per frame; 0 means 262144
	// NoPromisc leaves the device out of promiscuous mode (tcpdump -p).
	NoPromisc bool
}

// Stats are the kernel's counters for the socket (PACKET_STATISTICS),
// since it was opened, as tcpdump reports them at the end.
type Stats struct {
	Received uint64 // frames that passed the filter
	Dropped  uint64 // of those, dropped because the ring was full
	Freezes  uint64 // times the ring froze (TPACKET_V3 queue freezes)
}

// ErrTimeout is returned by Next when no frame came within the poll
// interval: the caller may flush output, check for a stop, and call again.
var ErrTimeout = errors.New("capture: no frame within the poll interval")

// pollInterval bounds how long Next blocks, and so how late a stop or a
// flush can be.
const pollInterval = 100 * time.Millisecond

// errEOF is io.EOF: Next's answer after Stop.
var errEOF = io.EOF
