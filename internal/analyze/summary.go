package analyze

import (
	"net/netip"
	"time"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/zeek"
)

// Vantage is where the capture was taken, relative to the two ends.
type Vantage uint8

const (
	VantageUnknown Vantage = iota
	VantageClient          // next to the client
	VantageServer          // next to the server
	VantageMiddle          // somewhere on the path
)

func (v Vantage) String() string {
	switch v {
	case VantageClient:
		return "client"
	case VantageServer:
		return "server"
	case VantageMiddle:
		return "middle"
	}
	return "unknown"
}

// Side is what a summary says of one end.
type Side struct {
	Addr          netip.AddrPort
	Packets       int
	PayloadBytes  uint64
	Offered       tcp.Handshake
	State         tcp.State // at the end
	History       []tcp.Transition
	Retrans       tcp.Retransmissions
	DupAcks       int
	ZeroWindows   int
	Duplicates    int
	SentFIN       bool
	SentRST       bool
	FINFrame      int
	RSTFrame      int
	MidStream     bool
	WindowShift   int8 // -1 unknown
	ShiftInferred bool
	RTT           tcp.RTT
	Forged        *tcp.Forgery // the first RST forged in its name, nil if none
}

// Negotiated is what the handshake settled.
type Negotiated struct {
	MSSClient, MSSServer uint16 // the MSS each may send (the peer's offer)
	WindowScale          bool
	ShiftClient          int8 // the scale of the windows the client advertises
	ShiftServer          int8
	SACK, Timestamps     bool
	ECN, AccECN          bool
	TFO                  bool // the SYN-ACK acknowledged the data on the SYN (Fast Open accepted)
}

// Summary is one connection, as conns reports it.
type Summary struct {
	ID             int
	Client, Server Side
	RoleGuessed    bool
	Start, End     pcap.Time
	FirstFrame     int
	LastFrame      int
	HandshakeRTT   time.Duration // SYN to the ACK that completed the handshake, 0 if not seen
	Negotiated     Negotiated
	ClosedBy       string // client, server, both, none
	FirstClosed    string // client or server: who closed first; "" if none
	Close          string // fin, rst, none
	ZeekState      string
	ZeekHistory    string
	Zeek           zeek.Sizes // Zeek's volume columns, for the same connection
	Vantage        Vantage
	VantageReason  string
	ReusedPorts    bool
	Previous       int
	EndReason      conn.EndReason
}

// Duration is the time from the first to the last segment.
func (s *Summary) Duration() time.Duration { return s.End.Sub(s.Start) }

// Summarize builds the summary of a connection that has ended.
func Summarize(c *conn.Conn, why conn.EndReason) Summary {
	cl, sv := c.ClientEnd(), c.ServerEnd()
	s := Summary{
		ID:          c.ID,
		Client:      side(cl),
		Server:      side(sv),
		RoleGuessed: c.RoleGuessed(),
		Start:       c.Start,
		End:         c.End,
		FirstFrame:  c.FirstFrame,
		LastFrame:   c.LastFrame,
		ZeekState:   c.ZeekState(),
		ZeekHistory: c.ZeekHistory(),
		Zeek:        c.History.Sizes(),
		ReusedPorts: c.ReusedPorts,
		Previous:    c.Previous,
		EndReason:   why,
	}
	if c.HandshakeAck != 0 && c.SYNTime != 0 {
		s.HandshakeRTT = c.HandshakeAckTime.Sub(c.SYNTime)
	}
	ch, sh := &cl.Handshake, &sv.Handshake
	s.Negotiated = Negotiated{
		MSSClient:   sh.MSS,
		MSSServer:   ch.MSS,
		WindowScale: ch.WindowScale >= 0 && sh.WindowScale >= 0,
		ShiftClient: cl.WindowShift,
		ShiftServer: sv.WindowShift,
		SACK:        cl.SACK,
		Timestamps:  cl.Timestamps,
		ECN:         ch.ECN && sh.ECN,
		AccECN:      ch.AccECN && sh.AccECN,
		TFO:         c.SYNDataAccepted,
	}
	switch {
	case cl.SentFIN || cl.SentRST:
		if sv.SentFIN || sv.SentRST {
			s.ClosedBy = "both"
		} else {
			s.ClosedBy = "client"
		}
	case sv.SentFIN || sv.SentRST:
		s.ClosedBy = "server"
	default:
		s.ClosedBy = "none"
	}
	first := func(e *tcp.Endpoint) int {
		switch {
		case e.FINFrame != 0 && e.RSTFrame != 0:
			return min(e.FINFrame, e.RSTFrame)
		case e.FINFrame != 0:
			return e.FINFrame
		}
		return e.RSTFrame
	}
	if fc, fs := first(cl), first(sv); fc != 0 || fs != 0 {
		if fs == 0 || (fc != 0 && fc < fs) {
			s.FirstClosed = "client"
		} else {
			s.FirstClosed = "server"
		}
	}
	switch {
	case cl.SentRST || sv.SentRST:
		s.Close = "rst"
	case cl.SentFIN || sv.SentFIN:
		s.Close = "fin"
	default:
		s.Close = "none"
	}
	s.Vantage, s.VantageReason = vantage(c)
	return s
}

func side(e *tcp.Endpoint) Side {
	return Side{
		Addr:          e.Addr,
		Packets:       e.Packets,
		PayloadBytes:  e.PayloadBytes,
		Offered:       e.Handshake,
		State:         e.State,
		History:       e.History,
		Retrans:       e.Retrans,
		DupAcks:       e.DupAcks,
		ZeroWindows:   e.ZeroWindows,
		Duplicates:    e.Duplicates,
		SentFIN:       e.SentFIN,
		SentRST:       e.SentRST,
		FINFrame:      e.FINFrame,
		RSTFrame:      e.RSTFrame,
		MidStream:     e.MidStream,
		WindowShift:   e.WindowShift,
		ShiftInferred: e.ShiftInferred,
		RTT:           e.RTT,
		Forged:        e.Forged,
	}
}

// vantage says where the capture was taken. The handshake's timing says
// it best: next to the client, the SYN-ACK follows the SYN after a whole
// round trip and the ACK follows the SYN-ACK at once; next to the server,
// the other way round; in the middle, both take a share. Without a
// handshake, the two directions' quickest data-to-ACK times say the same.
func vantage(c *conn.Conn) (Vantage, string) {
	var toServer, toClient time.Duration // capture→server→capture and capture→client→capture
	how := ""
	cl, sv := c.ClientEnd(), c.ServerEnd()
	switch {
	case c.SYNTime != 0 && c.SYNACKTime != 0 && c.HandshakeAck != 0:
		toServer = c.SYNACKTime.Sub(c.SYNTime)
		toClient = c.HandshakeAckTime.Sub(c.SYNACKTime)
		how = "handshake"
	case cl.RTT.Samples > 0 && sv.RTT.Samples > 0:
		toServer, toClient = cl.RTT.Min, sv.RTT.Min
		how = "data-to-ACK times"
	default:
		return VantageUnknown, "no handshake and too few acknowledged segments to time both directions"
	}
	total := toServer + toClient
	if total <= 0 {
		return VantageUnknown, "the " + how + " took no measurable time"
	}
	switch {
	case toClient*10 <= total:
		return VantageClient, "by the " + how + ": " + fmtDur(toServer) + " to the server and back, " + fmtDur(toClient) + " to the client and back"
	case toServer*10 <= total:
		return VantageServer, "by the " + how + ": " + fmtDur(toServer) + " to the server and back, " + fmtDur(toClient) + " to the client and back"
	}
	return VantageMiddle, "by the " + how + ": " + fmtDur(toServer) + " to the server and back, " + fmtDur(toClient) + " to the client and back"
}

// fmtDur prints a duration with three significant digits.
func fmtDur(d time.Duration) string {
	return d.Round(durationRound(d)).String()
}

func durationRound(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Second:
		return time.Second
	case d >= 10*time.Second:
		return 100 * time.Millisecond
	case d >= time.Second:
		return 10 * time.Millisecond
	case d >= 100*time.Millisecond:
		return time.Millisecond
	case d >= 10*time.Millisecond:
		return 100 * time.Microsecond
	case d >= time.Millisecond:
		return 10 * time.Microsecond
	}
	return time.Microsecond
}
