package tcp

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
)

// Linux holds TIME_WAIT for TCP_TIMEWAIT_LEN, 60 s; RFC 9293 says 2×MSL,
// which RFC 793 put at 4 minutes and many texts at 2.
const LinuxTimeWaitLen = 60 * time.Second

// SYNACKTimer is the longest a server that keeps a SYN_RECV socket waits
// for the handshake's ACK before it resends its SYN-ACK: 1 s on Linux
// (TCP_TIMEOUT_INIT), 3 s in stacks that keep RFC 2988's initial RTO. A
// SYN-ACK unanswered longer, and never resent, was a SYN cookie.
const SYNACKTimer = 3 * time.Second

// Transition is one change of an endpoint's state. Every connection
// keeps all of its own, so it is small: 40 bytes, its reason's words
// made only when asked for.
type Transition struct {
	State State // the state entered
	From  State // the state left
	// Correction marks a transition that undoes an earlier inference:
	// later evidence showed a segment did not arrive when it was captured.
	Correction bool
	Reason     Reason    // why; its String says it in words
	Frame      int       // the frame that caused it (0 for the end of the capture)
	Time       pcap.Time // when
}

// Handshake is what an endpoint offered in its SYN or SYN-ACK.
type Handshake struct {
	Seen        bool
	Frame       int
	Time        pcap.Time
	MSS         uint16 // 0 if not offered
	WindowScale int8   // shift offered; -1 if no option
	SACK        bool   // SACK-permitted
	Timestamps  bool
	TFO         bool // a Fast Open option (cookie or cookie request)
	TFOCookie   int  // cookie length; 0 for a request
	ECN         bool // ECN setup: ECE+CWR on a SYN, ECE on a SYN-ACK (RFC 3168)
	AccECN      bool // AccECN setup (AE, CWR, ECE on the SYN)
	Data        int  // payload bytes on the SYN (TFO)
	Window      uint16
}

// Retransmissions counts one sender's retransmissions by kind.
type Retransmissions struct {
	Total, Fast, RTO, TailLossProbe, Spurious, SYN, SYNACK, FIN int
}

// Endpoint is one side of a connection: its state machine as the capture
// lets an observer infer it, the RFC 9293 variables the capture reveals,
// and what the analysis tracks about what it sends.
//
// An observer sees each segment once, at the capture point. tcplens moves
// the sender when a segment is sent and the receiver when it is assumed to
// arrive (at capture time); later evidence that it did not arrive (the
// sender sends it again, the receiver's ACKs never cover it) corrects the
// receiver's state, and the correction is a transition of its own.
type Endpoint struct {
	Addr      netip.AddrPort
	State     State
	MidStream bool // the handshake was not captured: ESTABLISHED with unknown ISN and window scale

	Handshake Handshake // what its SYN or SYN-ACK offered

	// RFC 9293 variables, as far as the capture shows them.
	ISS    seq.Num // its initial send sequence number (or the first seen, less one, mid-stream)
	SndUna seq.Num // the oldest of its bytes the peer has not yet acknowledged
	SndNxt seq.Num // the sequence number after the highest it has sent
	SndWnd uint32  // the send window: the peer's latest window, scaled
	RcvNxt seq.Num // the next byte it expects from the peer: its latest ACK
	RcvWnd uint32  // the window it advertised last, scaled
	// WindowShift is the scale it applies to the windows it advertises:
	// its own window-scale option if both SYNs carried one, 0 if they did
	// not, -1 while unknown (mid-stream, before inference).
	WindowShift   int8
	ShiftInferred bool
	MSS           uint16 // the most it may send per segment: the peer's MSS option
	SACK          bool   // SACK negotiated
	Timestamps    bool   // timestamps negotiated
	// TSRecent is RFC 7323's TS.Recent as the endpoint showed it: the
	// TSecr of its latest segment with an ACK, which echoes TS.Recent
	// (section 3.2) and only moves forward. What it showed is what it
	// held, wherever the capture was taken; the peer's TSvals that
	// reached the capture point may not have reached it, or may have
	// come out of order, which RFC 7323 (section 4.3) does not take.
	TSRecent     uint32
	HaveTSRecent bool

	SentSYN, SentFIN, SentRST bool
	FINSeq                    seq.Num // the sequence number its FIN took
	FINFrame                  int
	FINAcked                  bool
	RSTFrame                  int

	// Counts.
	Packets      int
	PayloadBytes uint64
	Retrans      Retransmissions
	DupAcks      int
	ZeroWindows  int
	Duplicates   int // packets captured twice

	RTT     RTT // its round-trip estimate, from its view: data sent, ACK received
	History []Transition

	LastSeen pcap.Time

	// Forged is the first RST from its address that it did not send, made
	// by a device in the path; nil if none.
	Forged *Forgery

	// What its own packets in this connection looked like, to tell an
	// RST it sent from one forged in its name: the TTLs they arrived
	// with (RSTs aside) and its latest IPv4 identification.
	ttlMin, ttlMax uint8
	ttlN           int32
	lastIPID       uint16
	lastIPIDFrame  int
	// How many steps between its consecutive IPv4 packets were one, of
	// how many: a sender that numbers its packets one by one (Linux, per
	// connection) orders them by IP ID as by its clock.
	ipidOnes, ipidSteps int32

	challenge   int  // frame of an RST or SYN it should answer with a challenge ACK
	ackedSYNACK bool // it sent an ACK of the peer's SYN
	synACKFrame int  // the frame of the first SYN-ACK it sent
	lastSig     signature
	lastSigTime pcap.Time

	flow flow // tshark-compatible per-direction analysis state
}

// Forgery is why an RST from an endpoint's address is taken for one it
// did not send. A stack's packets to one peer take one path and leave
// with one initial TTL, so arrive with one TTL (give or take a route
// change); it numbers its IPv4 packets itself. An RST that arrived with
// another TTL, or that carries the IP ID of the peer's packet it answers
// (an injector copies the header it sees), was made in the path.
type Forgery struct {
	Frame int   // the RST
	TTL   uint8 // its TTL
	// OwnMin and OwnMax are the TTLs of the endpoint's own packets before
	// it, OwnN how many there were (0: the IP ID decided).
	OwnMin, OwnMax uint8
	OwnN           int32
	// IPID is the RST's IP ID when it copies that of the peer's packet of
	// PeerFrame.
	IPID      uint16
	PeerFrame int
	// Held is the state the endpoint was in, and stays in.
	Held State
}

// String says the verdict, so that a connection printed whole prints it
// and not its address.
func (g *Forgery) String() string {
	if g.OwnN > 0 {
		return fmt.Sprintf("frame %d: TTL %d, own %d-%d (%d packets), %s held", g.Frame, g.TTL, g.OwnMin, g.OwnMax, g.OwnN, g.Held)
	}
	return fmt.Sprintf("frame %d: IP ID %d of frame %d, %s held", g.Frame, g.IPID, g.PeerFrame, g.Held)
}

// historyCap is what an endpoint's History holds once past the
// handshake: most endpoints make 5 or 6 transitions in all (SYN_SENT,
// ESTABLISHED, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSED; LISTEN, SYN_RECV,
// ESTABLISHED, CLOSE_WAIT, LAST_ACK, CLOSED), 7 or more only one in
// fifteen, on a capture of 54,465 connections.
const historyCap = 6

// setState records a transition.
func (e *Endpoint) setState(s State, frame int, t pcap.Time, reason Reason, correction bool) *Transition {
	if s == e.State && !correction {
		return nil
	}
	if n := len(e.History); n == cap(e.History) {
		// Two first: a SYN that is never answered (a scan, a flood, a
		// dead server) moves its ends once or twice and no more. Then
		// room for the rest of a whole connection at once, where
		// append's doubling would copy twice more.
		size := 2
		if n >= 2 {
			size = max(historyCap, 2*n)
		}
		h := make([]Transition, n, size)
		copy(h, e.History)
		e.History = h
	}
	e.History = append(e.History, Transition{State: s, From: e.State, Frame: frame, Time: t, Reason: reason, Correction: correction})
	e.State = s
	return &e.History[len(e.History)-1]
}

// ScaledWindow applies the endpoint's window scale to a raw window field it
// sent; ok is false while the scale is unknown.
func (e *Endpoint) ScaledWindow(raw uint16, syn bool) (uint32, bool) {
	if syn {
		return uint32(raw), true // RFC 7323 2.2: a SYN's window is never scaled
	}
	if e.WindowShift < 0 {
		return uint32(raw), false
	}
	return uint32(raw) << uint(e.WindowShift), true
}

// unacked is one segment the sender sent that has not been acknowledged.
type unacked struct {
	seq, next seq.Num
	frame     int
	time      pcap.Time
	tsval     uint32
	ipid      uint16
	clock     Clock // which of tsval and ipid its sender set
	sent      int   // how many times this range was sent (Karn)
}

// flow is the per-direction state of tshark's sequence analysis
// (epan/dissectors/packet-tcp.c, tcp_analyze_sequence_number), kept with
// tshark's semantics so that the tshark-named analysis means what tshark
// means; including its quirk that a value of 0 means "not yet seen".
type flow struct {
	baseSeq     seq.Num
	baseSet     bool
	winScale    int8   // -1 unknown, -2 no scaling, else the shift
	window      uint32 // last raw window sent; MaxUint32 before the first
	isFirstAck  bool
	validBIF    bool
	lastFlags   event.Set
	nextSeq     seq.Num
	nextSeqTime pcap.Time
	nextSeqFrm  int
	maxSeqToAck seq.Num
	lastAck     seq.Num
	lastAckTime pcap.Time
	lastNonDup  int
	dupAckNum   int
	segments    []unacked // in the order sent, oldest first, from head on
	head        int
	unsorted    bool     // some segment was sent below an earlier one since the list last drained
	disorder    disorder // what spares walking the list while it is unsorted
	sack        [3]seq.Range
	numSack     int
	pushBytes   uint32
	pushLast    bool
	tsSent      [maxTSSent]tsSend // recent distinct TSvals sent, for RTT from the echo
	tsNext      int
	tsCount     int
	ahead       unacked  // the first ACK without data captured beyond the data (noteAhead)
	resent      []resend // its latest fast and spurious retransmissions of data, from its first
	resentNext  int
}

// tsSend remembers when a TSval was first sent.
type tsSend struct {
	val  uint32
	time pcap.Time
}

// tshark stores at most this many unacknowledged segments per direction
// (TCP_MAX_UNACKED_SEGMENTS); so does tcplens, which bounds memory on a
// capture whose ACKs were not captured.
const maxUnacked = 10000

// maxTSSent bounds the TSval history per direction.
const maxTSSent = 8

func newEndpoint(addr netip.AddrPort) Endpoint {
	return Endpoint{
		Addr:        addr,
		WindowShift: -1,
		flow:        flow{winScale: -1, window: ^uint32(0), validBIF: true},
		Handshake:   Handshake{WindowScale: -1},
	}
}

// NewEndpoint returns an endpoint at addr that the capture has said
// nothing about yet.
func NewEndpoint(addr netip.AddrPort) Endpoint { return newEndpoint(addr) }

// RelativeBase is the number Wireshark's relative sequence numbers of this
// endpoint count from (its ISN, or the first sequence number seen less
// one), and whether it is known yet.
func (e *Endpoint) RelativeBase() (seq.Num, bool) { return e.flow.baseSeq, e.flow.baseSet }
