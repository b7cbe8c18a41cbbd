package sockdiag

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// State is a TCP socket state as Linux numbers it (include/net/tcp_states.h).
// The zero value is Unknown: the kernel never uses 0.
type State uint8

// The kernel's TCP states.
const (
	Unknown     State = 0
	Established State = 1
	SynSent     State = 2
	SynRecv     State = 3
	FinWait1    State = 4
	FinWait2    State = 5
	TimeWait    State = 6
	Close       State = 7
	CloseWait   State = 8
	LastAck     State = 9
	Listen      State = 10
	Closing     State = 11
	// NewSynRecv is a request socket: the mini-socket a listener keeps for
	// a handshake in progress. The decoders report it as SynRecv with
	// Socket.Request set, as ss and /proc/net/tcp do.
	NewSynRecv State = 12

	numStates = 13
)

var stateNames = [numStates]string{
	Unknown:     "UNKNOWN",
	Established: "ESTABLISHED",
	SynSent:     "SYN_SENT",
	SynRecv:     "SYN_RECV",
	FinWait1:    "FIN_WAIT1",
	FinWait2:    "FIN_WAIT2",
	TimeWait:    "TIME_WAIT",
	Close:       "CLOSE",
	CloseWait:   "CLOSE_WAIT",
	LastAck:     "LAST_ACK",
	Listen:      "LISTEN",
	Closing:     "CLOSING",
	NewSynRecv:  "SYN_RECV",
}

// String returns the kernel's name of the state (tcp_state_name in
// net/ipv4/tcp.c spells them this way, as netstat does).
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("STATE_%d", uint8(s))
}

// States lists the states a socket can be reported in, in the kernel's order.
var States = []State{Established, SynSent, SynRecv, FinWait1, FinWait2, TimeWait, Close, CloseWait, LastAck, Listen, Closing}

// AllStates is the idiag_states mask that asks for every state.
const AllStates = 1<<numStates - 1 // bit 12 covers request sockets

// Timer is the pending socket timer reported in idiag_timer, as ss -o
// prints it.
type Timer uint8

// Timers.
const (
	TimerNone      Timer = 0
	TimerRetrans   Timer = 1 // retransmission (or SYN-ACK for a request socket)
	TimerKeepalive Timer = 2 // keepalive, or FIN_WAIT2's tcp_fin_timeout
	TimerTimeWait  Timer = 3
	TimerProbe     Timer = 4 // zero-window probe
)

func (t Timer) String() string {
	switch t {
	case TimerNone:
		return "off"
	case TimerRetrans:
		return "on"
	case TimerKeepalive:
		return "keepalive"
	case TimerTimeWait:
		return "timewait"
	case TimerProbe:
		return "persist"
	}
	return fmt.Sprintf("timer%d", uint8(t))
}

// Socket is one TCP socket as the kernel reports it.
type Socket struct {
	State   State
	Request bool           // a request socket (NEW_SYN_RECV): no file descriptor, no tcp_info yet
	Local   netip.AddrPort // IPv4-mapped IPv6 addresses are kept as the kernel reports them
	Peer    netip.AddrPort // 0.0.0.0:0 or [::]:0 for listeners and unconnected sockets
	IfIndex uint32         // device the socket is bound to, 0 if none
	Cookie  uint64         // the kernel's socket cookie, unique while the socket lives; 0 from /proc
	Timer   Timer
	Retrans uint8         // idiag_retrans: expirations of the pending timer (retransmits or probes)
	Expires time.Duration // until the pending timer fires
	// RecvQ and SendQ are ss's Recv-Q and Send-Q: for a connection, bytes
	// not yet read by the application and bytes not yet acknowledged by the
	// peer; for a listener, the accept queue's length and its limit (the
	// listen backlog).
	RecvQ uint32
	SendQ uint32
	UID   uint32
	Inode uint32 // 0 when no file refers to it: TIME_WAIT, request and orphaned sockets

	Info     *TCPInfo // nil when the kernel sent none (TIME_WAIT, request sockets, /proc fallback)
	Cong     string   // congestion control algorithm, "" if not reported
	Shutdown uint8    // bit 0: the application shut down reading, bit 1: writing
	// HasShutdown says the kernel reported Shutdown: a full socket's
	// (ss -e prints it as <->, <-, ->, -).
	HasShutdown bool
	// V6Only is IPV6_V6ONLY of an IPv6 socket, nil for others.
	V6Only   *bool
	Mem      *MemInfo // the socket's memory (ss -m); nil when not reported
	CC       *CCInfo  // the congestion control's own state (BBR, DCTCP, Vegas); nil when it has none
	CgroupID uint64   // the cgroup v2 id of the socket (ss -e prints its path); 0 when not reported
	ULP      string   // the upper layer protocol on the socket ("tls", "mptcp"), "" for none
	Mark     uint32   // SO_MARK, reported to a privileged reader only

	Owners []Owner // processes holding the socket, filled by ResolveOwners
}

// Listening reports whether s is a listener.
func (s *Socket) Listening() bool { return s.State == Listen }

// Idle is the time since the socket last sent data, received data or
// received an ACK, from tcp_info; ok is false when there is no tcp_info.
// For a socket in CLOSE_WAIT it is a lower bound of the time since the
// peer's FIN arrived: the FIN carried an ACK, and the kernel times ACKs.
func (s *Socket) Idle() (d time.Duration, ok bool) {
	if s.Info == nil {
		return 0, false
	}
	d = s.Info.LastAckRecv
	if s.Info.LastDataRecv < d {
		d = s.Info.LastDataRecv
	}
	if s.Info.LastDataSent < d {
		d = s.Info.LastDataSent
	}
	return d, true
}

// Owner is a process holding a socket through a file descriptor.
type Owner struct {
	PID  int
	Comm string // the command name from /proc/PID/comm
	FD   int
}

// TCPInfo is struct tcp_info (include/uapi/linux/tcp.h), with times as
// durations. Fields past Len bytes were not sent by the running kernel and
// are zero.
type TCPInfo struct {
	Len int // bytes of tcp_info the kernel sent: 104 on 3.x, 232 on 5.x, 248 or more on 6.7+

	State       State
	CAState     CAState
	Retransmits uint8 // consecutive RTOs of the current loss episode
	Probes      uint8 // unanswered zero-window or keepalive probes
	Backoff     uint8 // RTO backoff exponent
	Options     TCPOptions
	SndWScale   uint8 // the peer's window scale, applied to windows it advertises
	RcvWScale   uint8 // our window scale, applied to windows we advertise

	DeliveryRateAppLimited bool
	FastOpenClientFail     uint8

	RTO    time.Duration
	ATO    time.Duration // delayed-ACK timeout
	SndMSS uint32
	RcvMSS uint32

	Unacked uint32 // segments in flight
	Sacked  uint32
	Lost    uint32
	Retrans uint32 // retransmitted segments still in flight
	Fackets uint32

	LastDataSent time.Duration // since the last data segment was sent
	LastAckSent  time.Duration // never filled in by Linux
	LastDataRecv time.Duration
	LastAckRecv  time.Duration

	PMTU        uint32
	RcvSsthresh uint32
	RTT         time.Duration // smoothed RTT (SRTT), microsecond resolution
	RTTVar      time.Duration
	SndSsthresh uint32 // in segments; 0x7fffffff means "infinite" (still in slow start)
	SndCwnd     uint32 // in segments
	AdvMSS      uint32
	Reordering  uint32

	RcvRTT   time.Duration // receiver-side RTT estimate
	RcvSpace uint32

	TotalRetrans uint32 // segments retransmitted over the connection's life

	PacingRate    uint64 // bytes per second
	MaxPacingRate uint64
	BytesAcked    uint64
	BytesReceived uint64
	SegsOut       uint32
	SegsIn        uint32

	NotsentBytes uint32
	MinRTT       time.Duration
	DataSegsIn   uint32
	DataSegsOut  uint32

	DeliveryRate uint64 // bytes per second

	BusyTime      time.Duration // time busy sending data
	RwndLimited   time.Duration // time limited by the receive window
	SndbufLimited time.Duration // time limited by the send buffer

	Delivered   uint32
	DeliveredCE uint32

	BytesSent    uint64
	BytesRetrans uint64
	DSACKDups    uint32
	ReordSeen    uint32
	RcvOOOPack   uint32

	SndWnd uint32 // peer's advertised window, scaled, in bytes
	RcvWnd uint32 // our advertised window, scaled, in bytes (5.19+)
	Rehash uint32 // PLB or timeout-triggered rehash attempts

	TotalRTO           uint16 // RTO timeouts, including SYN/SYN-ACK ones (6.7+)
	TotalRTORecoveries uint16
	TotalRTOTime       time.Duration
}

// CAState is the congestion-avoidance state (tcpi_ca_state).
type CAState uint8

// Congestion-avoidance states of enum tcp_ca_state.
const (
	CAOpen     CAState = 0
	CADisorder CAState = 1 // dup ACKs or SACKs seen
	CACWR      CAState = 2 // cwnd reduced after ECN or local congestion
	CARecovery CAState = 3 // fast recovery
	CALoss     CAState = 4 // RTO recovery
)

func (c CAState) String() string {
	switch c {
	case CAOpen:
		return "open"
	case CADisorder:
		return "disorder"
	case CACWR:
		return "cwr"
	case CARecovery:
		return "recovery"
	case CALoss:
		return "loss"
	}
	return fmt.Sprintf("ca%d", uint8(c))
}

// TCPOptions is the set of TCP options a connection negotiated (tcpi_options).
type TCPOptions uint8

// Option bits (TCPI_OPT_*).
const (
	OptTimestamps TCPOptions = 1 << iota
	OptSACK
	OptWScale
	OptECN
	OptECNSeen
	OptSYNData
	OptUsecTS
	OptTFOChild
)

func (o TCPOptions) String() string {
	names := [...]string{"ts", "sack", "wscale", "ecn", "ecnseen", "syn_data", "usec_ts", "tfo_child"}
	var b strings.Builder
	for i, n := range names {
		if o&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

// Netlink and sock_diag constants (linux/netlink.h, linux/sock_diag.h,
// linux/inet_diag.h). They are spelled out here, not taken from x/sys/unix,
// so that the decoders build on every OS.
const (
	nlmsgHdrLen      = 16
	nlmsgNoop        = 1
	nlmsgError       = 2
	nlmsgDone        = 3
	nlmFRequest      = 0x1
	nlmFDump         = 0x300 // NLM_F_ROOT | NLM_F_MATCH
	sockDiagByFamily = 20
	ipprotoTCP       = 6
	afInet           = 2
	afInet6          = 10

	diagMsgLen = 72 // struct inet_diag_msg
	diagReqLen = 56 // struct inet_diag_req_v2

	attrMemInfo   = 1
	attrInfo      = 2
	attrVegasInfo = 3
	attrCong      = 4
	attrSkMemInfo = 7
	attrShutdown  = 8
	attrDCTCPInfo = 9
	attrV6Only    = 11
	attrMark      = 15
	attrBBRInfo   = 16
	attrULPInfo   = 19
	attrCgroupID  = 21
)

// Ext is the idiag_ext bit set of the attributes a dump asks for, as ss
// -tmie asks: tcp_info, the congestion control's name and its own state
// (asked as VEGASINFO, answered as Vegas's, DCTCP's or BBR's), the socket
// memory and the shutdown state. The cgroup and the mark come unasked.
const Ext = 1<<(attrInfo-1) | 1<<(attrVegasInfo-1) | 1<<(attrCong-1) | 1<<(attrSkMemInfo-1) | 1<<(attrShutdown-1)

// A MsgError reports a malformed netlink message.
type MsgError struct {
	Offset int    // byte offset in the datagram where the bad structure starts
	Msg    string // what is wrong
}

func (e *MsgError) Error() string {
	return fmt.Sprintf("sockdiag: at byte %d: %s", e.Offset, e.Msg)
}

// A KernelError is the errno the kernel answered a request with
// (NLMSG_ERROR).
type KernelError struct {
	Errno syscall.Errno
}

func (e *KernelError) Error() string { return "sockdiag: kernel refused the dump: " + e.Errno.Error() }

func (e *KernelError) Unwrap() error { return e.Errno }

// DumpRequest returns the netlink message that asks for every TCP socket
// of family (2 for IPv4, 10 for IPv6) in the given states, with the ext
// attributes, as ss -tni sends it. Netlink headers are in host byte order.
func DumpRequest(family uint8, states uint32, ext uint8, seq uint32) []byte {
	return dumpRequest(binary.NativeEndian, family, states, ext, seq)
}

func dumpRequest(order binary.ByteOrder, family uint8, states uint32, ext uint8, seq uint32) []byte {
	b := make([]byte, nlmsgHdrLen+diagReqLen)
	order.PutUint32(b[0:], uint32(len(b)))
	order.PutUint16(b[4:], sockDiagByFamily)
	order.PutUint16(b[6:], nlmFRequest|nlmFDump)
	order.PutUint32(b[8:], seq)
	r := b[nlmsgHdrLen:]
	r[0] = family
	r[1] = ipprotoTCP
	r[2] = ext
	order.PutUint32(r[4:], states)
	// The socket id stays zero: match everything. Its cookie must say
	// INET_DIAG_NOCOOKIE only for exact lookups, not for dumps.
	return b
}

// ParseDump decodes one datagram of a sock_diag dump reply, appending the
// sockets to out. done reports the NLMSG_DONE that ends the dump. An
// NLMSG_ERROR from the kernel is returned as a *KernelError; a malformed
// message as a *MsgError, with the sockets decoded before it.
func ParseDump(b []byte, out []Socket) (sockets []Socket, done bool, err error) {
	return parseDump(binary.NativeEndian, b, out)
}

func parseDump(order binary.ByteOrder, b []byte, out []Socket) ([]Socket, bool, error) {
	off := 0
	for off < len(b) {
		if len(b)-off < nlmsgHdrLen {
			return out, false, &MsgError{off, fmt.Sprintf("%d bytes left, too short for a netlink header", len(b)-off)}
		}
		n := int(order.Uint32(b[off:]))
		typ := order.Uint16(b[off+4:])
		if n < nlmsgHdrLen || n > len(b)-off {
			return out, false, &MsgError{off, fmt.Sprintf("netlink message length %d outside [%d, %d]", n, nlmsgHdrLen, len(b)-off)}
		}
		body := b[off+nlmsgHdrLen : off+n]
		switch typ {
		case nlmsgDone:
			return out, true, nil
		case nlmsgError:
			if len(body) < 4 {
				return out, false, &MsgError{off, "NLMSG_ERROR without an error code"}
			}
			if code := int32(order.Uint32(body)); code != 0 {
				return out, false, &KernelError{syscall.Errno(-code)}
			}
		case sockDiagByFamily:
			var s Socket
			if err := decodeDiagMsg(order, body, off+nlmsgHdrLen, &s); err != nil {
				return out, false, err
			}
			out = append(out, s)
		case nlmsgNoop:
		default:
			return out, false, &MsgError{off, fmt.Sprintf("unexpected netlink message type %d", typ)}
		}
		off += align4(n)
	}
	return out, false, nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// decodeDiagMsg decodes struct inet_diag_msg and its attributes; base is
// the offset of b in the datagram, for errors.
func decodeDiagMsg(order binary.ByteOrder, b []byte, base int, s *Socket) error {
	if len(b) < diagMsgLen {
		// Point at the message's length, which is what is short: the
		// body may be empty, and its offset the end of the datagram.
		return &MsgError{base - nlmsgHdrLen, fmt.Sprintf("netlink message length %d leaves %d bytes for inet_diag_msg, which needs %d", nlmsgHdrLen+len(b), len(b), diagMsgLen)}
	}
	family := b[0]
	s.State = State(b[1])
	if s.State == NewSynRecv {
		s.State, s.Request = SynRecv, true
	}
	s.Timer = Timer(b[2])
	s.Retrans = b[3]
	// struct inet_diag_sockid: ports and addresses in network byte order.
	sport := binary.BigEndian.Uint16(b[4:])
	dport := binary.BigEndian.Uint16(b[6:])
	switch family {
	case afInet:
		s.Local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[8:12])), sport)
		s.Peer = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[24:28])), dport)
	case afInet6:
		s.Local = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), sport)
		s.Peer = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[24:40])), dport)
	default:
		return &MsgError{base, fmt.Sprintf("address family %d is neither AF_INET nor AF_INET6", family)}
	}
	s.IfIndex = order.Uint32(b[40:])
	s.Cookie = uint64(order.Uint32(b[44:])) | uint64(order.Uint32(b[48:]))<<32
	s.Expires = time.Duration(order.Uint32(b[52:])) * time.Millisecond
	s.RecvQ = order.Uint32(b[56:])
	s.SendQ = order.Uint32(b[60:])
	s.UID = order.Uint32(b[64:])
	s.Inode = order.Uint32(b[68:])

	for off := diagMsgLen; off < len(b); {
		if len(b)-off < 4 {
			return &MsgError{base + off, "truncated attribute header"}
		}
		n := int(order.Uint16(b[off:]))
		typ := order.Uint16(b[off+2:]) & 0x3fff // strip NLA_F_NESTED, NLA_F_NET_BYTEORDER
		if n < 4 || n > len(b)-off {
			return &MsgError{base + off, fmt.Sprintf("attribute %d length %d outside [4, %d]", typ, n, len(b)-off)}
		}
		v := b[off+4 : off+n]
		switch typ {
		case attrInfo:
			info := new(TCPInfo)
			decodeTCPInfo(order, v, info)
			s.Info = info
		case attrCong:
			s.Cong = cString(v)
		case attrShutdown:
			if len(v) >= 1 {
				s.Shutdown, s.HasShutdown = v[0], true
			}
		case attrV6Only:
			if len(v) >= 1 {
				v6only := v[0] != 0
				s.V6Only = &v6only
			}
		case attrSkMemInfo:
			s.Mem = decodeMemInfo(order, v)
		case attrVegasInfo, attrDCTCPInfo, attrBBRInfo:
			s.CC = decodeCCInfo(order, typ, v)
		case attrMark:
			if len(v) >= 4 {
				s.Mark = order.Uint32(v)
			}
		case attrCgroupID:
			if len(v) >= 8 {
				s.CgroupID = order.Uint64(v)
			}
		case attrULPInfo:
			s.ULP = ulpName(order, v)
		}
		off += align4(n)
	}
	// inet_diag_fill_req() reports a request socket as SYN_RECV, without
	// tcp_info (which a full socket always has when asked for).
	if s.State == SynRecv && s.Info == nil && s.Inode == 0 {
		s.Request = true
	}
	return nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// DecodeTCPInfo decodes struct tcp_info in host byte order. A shorter
// struct (an older kernel) leaves the later fields zero; a longer one (a
// newer kernel) has its extra fields ignored.
func DecodeTCPInfo(b []byte) *TCPInfo {
	t := new(TCPInfo)
	decodeTCPInfo(binary.NativeEndian, b, t)
	return t
}

func decodeTCPInfo(order binary.ByteOrder, b []byte, t *TCPInfo) {
	t.Len = len(b)
	// Pad to the largest layout known, so that every field reads as zero
	// when the kernel did not send it.
	const known = 248
	if len(b) < known {
		p := make([]byte, known)
		copy(p, b)
		b = p
	}
	u32 := func(off int) uint32 { return order.Uint32(b[off:]) }
	u64 := func(off int) uint64 { return order.Uint64(b[off:]) }
	us := func(off int) time.Duration { return time.Duration(u32(off)) * time.Microsecond }
	ms := func(off int) time.Duration { return time.Duration(u32(off)) * time.Millisecond }

	t.State = State(b[0])
	t.CAState = CAState(b[1])
	t.Retransmits = b[2]
	t.Probes = b[3]
	t.Backoff = b[4]
	t.Options = TCPOptions(b[5])
	// C bit-fields are allocated from the least significant bit on the
	// little-endian ABIs Linux runs on (and from the most significant on
	// big-endian ones): "__u8 tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4".
	if order.Uint16([]byte{0, 1}) == 1 { // big-endian
		t.SndWScale, t.RcvWScale = b[6]>>4, b[6]&0xf
		t.DeliveryRateAppLimited = b[7]&0x80 != 0
		t.FastOpenClientFail = b[7] >> 5 & 3
	} else {
		t.SndWScale, t.RcvWScale = b[6]&0xf, b[6]>>4
		t.DeliveryRateAppLimited = b[7]&1 != 0
		t.FastOpenClientFail = b[7] >> 1 & 3
	}
	t.RTO = us(8)
	t.ATO = us(12)
	t.SndMSS = u32(16)
	t.RcvMSS = u32(20)
	t.Unacked = u32(24)
	t.Sacked = u32(28)
	t.Lost = u32(32)
	t.Retrans = u32(36)
	t.Fackets = u32(40)
	t.LastDataSent = ms(44)
	t.LastAckSent = ms(48)
	t.LastDataRecv = ms(52)
	t.LastAckRecv = ms(56)
	t.PMTU = u32(60)
	t.RcvSsthresh = u32(64)
	t.RTT = us(68)
	t.RTTVar = us(72)
	t.SndSsthresh = u32(76)
	t.SndCwnd = u32(80)
	t.AdvMSS = u32(84)
	t.Reordering = u32(88)
	t.RcvRTT = us(92)
	t.RcvSpace = u32(96)
	t.TotalRetrans = u32(100)
	t.PacingRate = u64(104)
	t.MaxPacingRate = u64(112)
	t.BytesAcked = u64(120)
	t.BytesReceived = u64(128)
	t.SegsOut = u32(136)
	t.SegsIn = u32(140)
	t.NotsentBytes = u32(144)
	t.MinRTT = us(148)
	t.DataSegsIn = u32(152)
	t.DataSegsOut = u32(156)
	t.DeliveryRate = u64(160)
	t.BusyTime = time.Duration(u64(168)) * time.Microsecond
	t.RwndLimited = time.Duration(u64(176)) * time.Microsecond
	t.SndbufLimited = time.Duration(u64(184)) * time.Microsecond
	t.Delivered = u32(192)
	t.DeliveredCE = u32(196)
	t.BytesSent = u64(200)
	t.BytesRetrans = u64(208)
	t.DSACKDups = u32(216)
	t.ReordSeen = u32(220)
	t.RcvOOOPack = u32(224)
	t.SndWnd = u32(228)
	t.RcvWnd = u32(232)
	t.Rehash = u32(236)
	t.TotalRTO = order.Uint16(b[240:])
	t.TotalRTORecoveries = order.Uint16(b[242:])
	t.TotalRTOTime = ms(244)
}
