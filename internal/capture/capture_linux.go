//go:build linux

package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	xbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/tcplens/tcplens/internal/bpf"
	"github.com/tcplens/tcplens/internal/pcap"
)

// Handle is an open capture. Next is for one goroutine; Stop may be called
// from any.
type Handle struct {
	tp       *afpacket.TPacket
	name     string
	link     pcap.LinkType
	cooked   bool      // "any": data starts at the network header
	attached time.Time // when the filter took effect
	frames   int
	stopped  atomic.Bool
	buf      []byte // cooked frames: the built header and the data
	hatype   map[int]uint16
}

// ARPHRD_* device types that matter here (include/uapi/linux/if_arp.h).
const (
	arphrdEther    = 1
	arphrdLoopback = 772
	arphrdRawIP    = 519
	arphrdNone     = 65534
)

// Open starts capturing. It needs CAP_NET_RAW (root, usually).
func Open(opt Options) (*Handle, error) {
	if opt.Interface == "" {
		return nil, errors.New("capture: no interface given")
	}
	snap := opt.SnapLen
	if snap <= 0 {
		snap = 262144
	}
	h := &Handle{name: opt.Interface, hatype: map[int]uint16{}}
	bind := opt.Interface
	socktype := afpacket.SocketRaw
	bopt := bpf.Options{Kernel: true, SnapLen: uint32(snap)}
	if opt.Interface == "any" {
		bind, socktype, h.cooked, h.link = "", afpacket.SocketDgram, true, pcap.LinkSLL
		bopt.Cooked = true
	} else {
		ifc, err := net.InterfaceByName(opt.Interface)
		if err != nil {
			return nil, fmt.Errorf("capture: interface %s: %w", opt.Interface, err)
		}
		switch t := deviceType(ifc.Name); t {
		case arphrdEther, arphrdLoopback:
			h.link = pcap.LinkEthernet
		case arphrdNone, arphrdRawIP:
			h.link = pcap.LinkRaw
		default:
			return nil, fmt.Errorf("capture: %s has link type ARPHRD %d, which tcplens does not decode (Ethernet, loopback or raw IP)", ifc.Name, t)
		}
		bopt.Link = h.link
	}
	prog, err := program(opt.Filter, bopt)
	if err != nil {
		return nil, err
	}
	if prog, err = skipLoopbackEchoes(prog, opt.Interface); err != nil {
		return nil, err
	}
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(bind),
		afpacket.OptSocketType(socktype),
		afpacket.TPacketVersion3,
		afpacket.OptFrameSize(1<<16),
		afpacket.OptBlockSize(1<<20),
		afpacket.OptNumBlocks(8),
		afpacket.OptBlockTimeout(20*time.Millisecond),
		afpacket.OptPollTimeout(pollInterval),
		afpacket.OptAddVLANHeader(true),
	)
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("capture: %s: %w (AF_PACKET needs CAP_NET_RAW: run as root)", opt.Interface, err)
		}
		return nil, fmt.Errorf("capture: %s: %w", opt.Interface, err)
	}
	h.tp = tp
	if err := tp.SetBPF(prog); err != nil {
		tp.Close()
		return nil, fmt.Errorf("capture: attaching the filter: %w", err)
	}
	h.attached = time.Now()
	if !opt.NoPromisc && !h.cooked {
		tp.SetPromiscuous(true) // as tcpdump; a failure only narrows what is seen
	}
	return h, nil
}

// program compiles the filter, or takes tcpdump's own compiled program.
func program(filter string, opt bpf.Options) ([]xbpf.RawInstruction, error) {
	if bpf.IsDump(filter) {
		return bpf.ParseDump(filter)
	}
	insts, err := bpf.Compile(filter, opt)
	if err != nil {
		return nil, err
	}
	return xbpf.Assemble(insts)
}

// skipLoopbackEchoes prepends a test that drops the outgoing copy of
// every loopback packet. A packet sent on lo reaches packet sockets twice,
// leaving (PACKET_OUTGOING) and arriving (PACKET_HOST); libpcap skips the
// first, and so must we to print each segment once. afpacket does not show
// the packet type, but a filter can read it (SKF_AD_PKTTYPE).
func skipLoopbackEchoes(prog []xbpf.RawInstruction, iface string) ([]xbpf.RawInstruction, error) {
	const packetOutgoing = 4
	var pre []xbpf.Instruction
	switch iface {
	case "any":
		lo, err := loopbackIndex()
		if err != nil {
			return prog, nil // no loopback device: nothing is echoed
		}
		pre = []xbpf.Instruction{
			xbpf.LoadExtension{Num: xbpf.ExtType},
			xbpf.JumpIf{Cond: xbpf.JumpEqual, Val: packetOutgoing, SkipTrue: 0, SkipFalse: 3},
			xbpf.LoadExtension{Num: xbpf.ExtInterfaceIndex},
			xbpf.JumpIf{Cond: xbpf.JumpEqual, Val: uint32(lo), SkipTrue: 0, SkipFalse: 1},
			xbpf.RetConstant{Val: 0},
		}
	default:
		if deviceType(iface) != arphrdLoopback {
			return prog, nil
		}
		pre = []xbpf.Instruction{
			xbpf.LoadExtension{Num: xbpf.ExtType},
			xbpf.JumpIf{Cond: xbpf.JumpEqual, Val: packetOutgoing, SkipTrue: 0, SkipFalse: 1},
			xbpf.RetConstant{Val: 0},
		}
	}
	raw, err := xbpf.Assemble(pre)
	if err != nil {
		return nil, err
	}
	return append(raw, prog...), nil
}

func loopbackIndex() (int, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0, err
	}
	for _, ifc := range ifs {
		if deviceType(ifc.Name) == arphrdLoopback {
			return ifc.Index, nil
		}
	}
	return 0, errors.New("no loopback device")
}

// deviceType reads the ARPHRD type of a device from sysfs.
func deviceType(name string) int {
	b, err := os.ReadFile("/sys/class/net/" + name + "/type")
	if err != nil {
		return arphrdEther
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return arphrdEther
	}
	return n
}

// Link is the link type of the frames Next returns.
func (h *Handle) Link() pcap.LinkType { return h.link }

// Name is the interface name the capture was opened on.
func (h *Handle) Name() string { return h.name }

// Stop makes Next return io.EOF within the poll interval.
func (h *Handle) Stop() { h.stopped.Store(true) }

// Next returns the next frame. Its Data is valid until the next call. It
// returns ErrTimeout when nothing came within the poll interval, and
// io.EOF once Stop was called.
func (h *Handle) Next() (pcap.Frame, error) {
	for {
		if h.stopped.Load() {
			return pcap.Frame{}, errEOF
		}
		data, ci, err := h.tp.ZeroCopyReadPacketData()
		if err == afpacket.ErrTimeout {
			return pcap.Frame{}, ErrTimeout
		}
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return pcap.Frame{}, fmt.Errorf("capture: %w", err)
		}
		if !ci.Timestamp.After(h.attached) {
			continue // arrived before the filter was attached
		}
		h.frames++
		f := pcap.Frame{Number: h.frames, Time: pcap.Time(ci.Timestamp.UnixNano()), Link: h.link, Length: ci.Length, Data: data}
		if h.cooked {
			h.buf = h.cookedHeader(h.buf[:0], ci.InterfaceIndex, data)
			h.buf = append(h.buf, data...)
			f.Data = h.buf
			f.Length += 16
		}
		return f, nil
	}
}

// cookedHeader builds the 16-byte Linux cooked v1 header: packet type,
// ARPHRD type, address length and address, protocol. The protocol comes
// from the IP version; type and address are not known (see the package doc).
func (h *Handle) cookedHeader(b []byte, ifindex int, data []byte) []byte {
	ht, ok := h.hatype[ifindex]
	if !ok {
		ht = arphrdEther
		if ifc, err := net.InterfaceByIndex(ifindex); err == nil {
			ht = uint16(deviceType(ifc.Name))
		}
		h.hatype[ifindex] = ht
	}
	var proto uint16
	if len(data) > 0 {
		switch data[0] >> 4 {
		case 4:
			proto = 0x0800
		case 6:
			proto = 0x86dd
		}
	}
	var hdr [16]byte
	binary.BigEndian.PutUint16(hdr[0:], 0) // PACKET_HOST
	binary.BigEndian.PutUint16(hdr[2:], ht)
	binary.BigEndian.PutUint16(hdr[14:], proto)
	return append(b, hdr[:]...)
}

// Stats returns the kernel's counters since Open.
func (h *Handle) Stats() (Stats, error) {
	_, v3, err := h.tp.SocketStats()
	if err != nil {
		return Stats{}, fmt.Errorf("capture: statistics: %w", err)
	}
	return Stats{Received: uint64(v3.Packets()), Dropped: uint64(v3.Drops()), Freezes: uint64(v3.QueueFreezes())}, nil
}

// Close releases the ring and the socket. Call it after Next has returned
// for the last time.
func (h *Handle) Close() { h.tp.Close() }
