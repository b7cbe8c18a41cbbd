package sockdiag

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// MemInfo is a socket's memory, INET_DIAG_SKMEMINFO's array of
// SK_MEMINFO_* values in bytes, as ss -m prints it:
// skmem:(r,rb,t,tb,f,w,o,bl,d).
type MemInfo struct {
	RmemAlloc  uint32 // r: bytes queued for reading
	Rcvbuf     uint32 // rb: the receive buffer's size
	WmemAlloc  uint32 // t: bytes sent and not yet freed
	Sndbuf     uint32 // tb: the send buffer's size
	FwdAlloc   uint32 // f: memory reserved and not yet used
	WmemQueued uint32 // w: bytes queued for sending
	Optmem     uint32 // o: option memory
	Backlog    uint32 // bl: packets waiting for the socket lock
	Drops      uint32 // d: packets dropped before they reached the socket
	// Fields is how many the kernel sent: 7 before Linux 3.8 (no bl, d).
	Fields int
}

func decodeMemInfo(order binary.ByteOrder, v []byte) *MemInfo {
	var a [9]uint32
	n := min(len(v)/4, len(a))
	for i := range n {
		a[i] = order.Uint32(v[4*i:])
	}
	return &MemInfo{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], n}
}

// CCInfo is what a congestion control reports of itself, as ss -i prints
// it: BBR's bandwidth and minimum RTT and gains, DCTCP's ECN state, or
// Vegas's RTT.
type CCInfo struct {
	Kind string // "bbr", "dctcp" or "vegas"

	// BBR (struct tcp_bbr_info).
	BW         uint64        // bottleneck bandwidth estimate, bytes per second
	MinRTT     time.Duration // its minimum RTT
	PacingGain uint32        // in 1/256
	CwndGain   uint32        // in 1/256

	// DCTCP (struct tcp_dctcp_info) and Vegas (struct tcpvegas_info).
	Enabled bool
	CEState uint16
	Alpha   uint32
	ABECN   uint32
	ABTot   uint32
	RTTCnt  uint32        // Vegas: RTT samples
	RTT     time.Duration // Vegas: its RTT estimate; 0x7fffffff µs means none
}

func decodeCCInfo(order binary.ByteOrder, typ uint16, v []byte) *CCInfo {
	u32 := func(off int) uint32 {
		if off+4 > len(v) {
			return 0
		}
		return order.Uint32(v[off:])
	}
	switch typ {
	case attrBBRInfo:
		return &CCInfo{Kind: "bbr", BW: uint64(u32(4))<<32 | uint64(u32(0)), MinRTT: time.Duration(u32(8)) * time.Microsecond,
			PacingGain: u32(12), CwndGain: u32(16)}
	case attrDCTCPInfo:
		c := &CCInfo{Kind: "dctcp", Alpha: u32(4), ABECN: u32(8), ABTot: u32(12)}
		if len(v) >= 4 {
			c.Enabled, c.CEState = order.Uint16(v) != 0, order.Uint16(v[2:])
		}
		return c
	}
	return &CCInfo{Kind: "vegas", Enabled: u32(0) != 0, RTTCnt: u32(4), RTT: time.Duration(u32(8)) * time.Microsecond,
		MinRTT: time.Duration(u32(12)) * time.Microsecond}
}

// ulpName is the name in INET_DIAG_ULP_INFO's nested attributes
// (INET_ULP_INFO_NAME), "" when it has none or they are malformed.
func ulpName(order binary.ByteOrder, v []byte) string {
	for off := 0; off+4 <= len(v); {
		n := int(order.Uint16(v[off:]))
		if n < 4 || n > len(v)-off {
			return ""
		}
		if order.Uint16(v[off+2:])&0x3fff == 1 { // INET_ULP_INFO_NAME
			return cString(v[off+4 : off+n])
		}
		off += align4(n)
	}
	return ""
}

// Sockstat is /proc/net/sockstat and sockstat6 of a namespace: what ss -s
// summarises. Some counts are the namespace's (sockets in use, TCP in
// use, TIME_WAIT), others the host's (TCP allocated, orphans, memory).
type Sockstat struct {
	Sockets                           int // sockets: used
	TCP, TCPOrphan, TCPTimeWait       int // TCP: inuse, orphan, tw
	TCPAlloc, TCPMem                  int // TCP: alloc, mem (pages)
	UDP, RAW, FRAG, FRAGMem           int
	TCP6, UDP6, RAW6, FRAG6, FRAG6Mem int
}

// ParseSockstat adds the counts of /proc/net/sockstat or sockstat6 to s:
// lines such as "TCP: inuse 4 orphan 0 tw 3 alloc 28 mem 1".
func ParseSockstat(r io.Reader, s *Sockstat) error {
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		proto, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			return fmt.Errorf("sockdiag: sockstat line %d: no \"PROTO:\" prefix", line)
		}
		f := strings.Fields(rest)
		if len(f)%2 != 0 {
			return fmt.Errorf("sockdiag: sockstat line %d: %q is not name value pairs", line, rest)
		}
		for i := 0; i < len(f); i += 2 {
			n, err := strconv.Atoi(f[i+1])
			if err != nil {
				return fmt.Errorf("sockdiag: sockstat line %d: %s %s = %q: %v", line, proto, f[i], f[i+1], err)
			}
			if p := s.field(proto, f[i]); p != nil {
				*p = n
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("sockdiag: sockstat: %w", err)
	}
	return nil
}

func (s *Sockstat) field(proto, name string) *int {
	switch proto + " " + name {
	case "sockets used":
		return &s.Sockets
	case "TCP inuse":
		return &s.TCP
	case "TCP orphan":
		return &s.TCPOrphan
	case "TCP tw":
		return &s.TCPTimeWait
	case "TCP alloc":
		return &s.TCPAlloc
	case "TCP mem":
		return &s.TCPMem
	case "UDP inuse":
		return &s.UDP
	case "RAW inuse":
		return &s.RAW
	case "FRAG inuse":
		return &s.FRAG
	case "FRAG memory":
		return &s.FRAGMem
	case "TCP6 inuse":
		return &s.TCP6
	case "UDP6 inuse":
		return &s.UDP6
	case "RAW6 inuse":
		return &s.RAW6
	case "FRAG6 inuse":
		return &s.FRAG6
	case "FRAG6 memory":
		return &s.FRAG6Mem
	}
	return nil
}
