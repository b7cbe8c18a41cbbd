package netlab

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tcplens/tcplens/internal/wire"
)

// Defaults for the zero values of a Scenario's fields.
const (
	DefaultDelay   = 5 * time.Millisecond   // one-way path delay each way
	DefaultSnaplen = 128                    // bytes captured per frame
	DefaultSettle  = 150 * time.Millisecond // capture and polling go on this long after the behaviours return and the path falls quiet
	quiesceLimit   = 5 * time.Second        // the longest the path is waited for to fall quiet
	DefaultTimeout = 15 * time.Second       // bound on the behaviours
	PollInterval   = time.Millisecond       // how often each endpoint's socket table is read
)

// The lab's fixed addressing, the same in every run so that recorded
// captures are reproducible.
var (
	ClientIPv4 = netip.MustParseAddr("10.77.0.1")
	ServerIPv4 = netip.MustParseAddr("10.77.0.2")
	ClientIPv6 = netip.MustParseAddr("fd00:77::1")
	ServerIPv6 = netip.MustParseAddr("fd00:77::2")
)

// ServicePort is the server's port. The client's ports are the run's own
// (Side.ClientPort).
const ServicePort = 8000

// Role names an endpoint.
type Role uint8

// The two endpoints. The client is the side that dials (sends the first
// SYN) in every scenario but a simultaneous open, where both do.
const (
	Client Role = iota + 1
	Server
)

// String returns "client" or "server".
func (r Role) String() string {
	switch r {
	case Client:
		return "client"
	case Server:
		return "server"
	}
	return "unknown"
}

// Dir is the direction a frame travels through the path.
type Dir uint8

// The directions, spelled as tcplens's JSON spells them.
const (
	ClientToServer Dir = iota + 1
	ServerToClient
)

// String returns "c2s" or "s2c".
func (d Dir) String() string {
	switch d {
	case ClientToServer:
		return "c2s"
	case ServerToClient:
		return "s2c"
	}
	return "unknown"
}

// A Scenario is one TCP situation made with real sockets: what the two
// endpoints do, what the path between them does, and where the capture is
// taken. Scenario values hold no state and can be run any number of times.
type Scenario struct {
	Name string // file-name safe: the recorded files are <Name>.pcap and <Name>.json
	// Doc says what the kernel does and what tcplens should infer from the
	// capture; it goes into the record.
	Doc string

	// Vantage is the endpoint whose capture is the run's main one
	// (Result.Capture, the one Expect.Capture checks and Save keeps);
	// zero means Client. Every run is captured at every capture point
	// (Result.Captures). A frame the path drops appears in a capture
	// taken at its sender and not in one taken at its receiver, nor at
	// the router, which drops as frames come in.
	Vantage Role
	// LateCapture leaves the captures to the behaviours, which start
	// them with Side.StartCapture (a capture that begins mid-stream).
	LateCapture bool
	// Snaplen is the bytes captured per frame: 0 means DefaultSnaplen,
	// -1 the whole frame (for scenarios whose payload matters).
	Snaplen int

	IPv6 bool // use the lab's IPv6 addresses instead of IPv4

	// Delay is the path's one-way delay, applied in each direction: 0
	// means DefaultDelay, a negative value none.
	Delay time.Duration
	// Drops are the path's losses; a frame any rule matches is dropped.
	Drops []Drop
	// Router, when set, makes the path an IP router whose iptables and
	// tc rules are what it does, instead of the relay (see Router).
	Router *Router
	// Sysctls are set in both endpoints' namespaces before anything runs
	// ("net.ipv4.tcp_syn_retries": "2"). A key starting with "?" is set
	// only if the kernel has it (newer knobs such as
	// tcp_syn_linear_timeouts).
	Sysctls map[string]string

	// Server and Client are the endpoints' behaviours. Each runs on a
	// goroutine locked to an OS thread inside the endpoint's namespace:
	// sockets must be made through the Side, or on that goroutine. The
	// server runs first; the client starts once the server has listened
	// (Side.Listen), said so (Side.Ready) or returned. A nil Server means
	// nothing listens. Each returns nil when things went as the scenario
	// intends, including expected errors such as a refused connect.
	Server, Client func(s *Side) error

	// Settle is how long capture and polling go on after both behaviours
	// return and the path has forwarded every frame it held (on a loaded
	// machine it may lag), so that the last transitions (TIME_WAIT, a
	// LAST_ACK socket going away) are seen; 0 means DefaultSettle.
	Settle time.Duration
	// Timeout bounds the behaviours; 0 means DefaultTimeout.
	Timeout time.Duration
	// Focus is the client's connection (0-based in Dial order) that
	// Result.Client and Result.Server describe.
	Focus int
	// EphemeralPorts is how many ports the client's kernel may pick from
	// for a connect() without bind (net.ipv4.ip_local_port_range in its
	// namespace): the first of the run's block, 0 meaning all 16.
	EphemeralPorts int

	// Expect is what the kernel must show, checked by the harness's own
	// test and usable by any other.
	Expect Expect
}

// Expect is what a scenario's run must show: the kernel states each
// endpoint of the focus connection passes through, and checks over the
// capture. Only states the scenario's path delay makes reliably visible to
// the poller are listed; the scenario's Doc names the others.
type Expect struct {
	// Client and Server are kernel state names that must appear in this
	// order in the endpoint's observations (other states may come
	// between them).
	Client, Server []string
	// ClientEnd and ServerEnd are each endpoint's last observed state
	// ("" for no socket at all), checked when CheckEnd is set.
	ClientEnd, ServerEnd string
	CheckEnd             bool
	// Capture checks the decoded capture; nil checks nothing more.
	Capture func(segs []Captured, r *Result) error
}

// Drop is one loss rule of the path. It matches frames travelling in Dir
// for which Match returns true, counted from 1 in the order the path sees
// them; it drops the occurrences listed in Nth (every one when Nth is
// empty), while the time since the scenario started lies in [From,
// Until) (Until 0: no end).
//
// A rule with Hold does not drop what it matches: it holds it back that
// much longer than the path's delay, so that the frames behind it
// overtake it (reordering, as parallel links or a router's per-CPU queues
// make it), and the run records it among Result.Held. The router's
// capture point, half-way along the delay, sees it late too.
type Drop struct {
	What        string // in words, for the record: "the client's final handshake ACK"
	Dir         Dir
	Match       func(p *Packet) bool
	Nth         []int
	From, Until time.Duration
	Hold        time.Duration
}

// Packet is a frame as a Drop rule sees it.
type Packet struct {
	Dir Dir
	At  time.Duration // since the scenario started
	// Seg is the decoded TCP segment, nil for a frame without TCP (ARP,
	// NDP, ICMP): those always pass.
	Seg *wire.Segment
	// Offset is the stream offset of the first payload byte (sequence
	// number minus the ISN the path saw in this direction's SYN, minus 1);
	// valid when OffsetKnown.
	Offset      int64
	OffsetKnown bool
}

// Drop rule predicates.

// IsSYN matches a SYN without ACK.
func IsSYN(p *Packet) bool { return p.Seg.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN }

// IsSYNACK matches a SYN-ACK.
func IsSYNACK(p *Packet) bool { return p.Seg.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN|wire.ACK }

// IsPureACK matches a segment with ACK and no SYN, FIN, RST or payload.
func IsPureACK(p *Packet) bool {
	return p.Seg.Flags&(wire.SYN|wire.FIN|wire.RST|wire.ACK) == wire.ACK && p.Seg.PayloadLen == 0
}

// HasData matches a segment with payload.
func HasData(p *Packet) bool { return p.Seg.PayloadLen > 0 }

// HoldsByte returns a predicate matching a segment whose payload holds the
// byte at stream offset off (0 is the first byte after the SYN).
func HoldsByte(off int64) func(p *Packet) bool {
	return func(p *Packet) bool {
		return p.OffsetKnown && p.Seg.PayloadLen > 0 && p.Offset <= off && off < p.Offset+int64(p.Seg.PayloadLen)
	}
}

// CaptureAt returns the run's capture at the named point.
func (res *Result) CaptureAt(point string) (Capture, bool) {
	for _, c := range res.Captures {
		if c.Point == point {
			return c, true
		}
	}
	return Capture{}, false
}

// Dropped is a frame the path dropped.
type Dropped struct {
	Time   time.Time // when the path received it (CLOCK_REALTIME)
	Dir    Dir
	Rule   string // the rule's What
	Flags  wire.Flags
	Seq    uint32 // raw sequence number
	Ack    uint32 // raw acknowledgment number
	Len    int    // payload length
	Offset int64  // stream offset of the first payload byte, -1 if unknown
	// Held is how much longer than the path's delay a Hold rule kept the
	// frame (Result.Held); 0 for a frame dropped.
	Held time.Duration
}

// String describes the dropped frame on one line.
func (d Dropped) String() string {
	return fmt.Sprintf("%s %s [%s] seq %d ack %d len %d (%s)", d.Time.UTC().Format("15:04:05.000000"), d.Dir, d.Flags, d.Seq, d.Ack, d.Len, d.Rule)
}

// The capture points of a run: every run is captured at all three at once.
const (
	PointClient = "client" // the client's veth, in its namespace
	PointRouter = "router" // the router's mirror port, in the path's namespace, half-way along the path's delay
	PointServer = "server" // the server's veth, in its namespace
)

// CapturePoint is an interface where a run is captured: one tcpdump, one
// file. A topology lists its points; Run captures at all of them at once.
type CapturePoint struct {
	Name  string // file-name safe: PointClient, PointRouter, PointServer or a topology's own
	Netns string // the network namespace the interface lives in
	Iface string
	// FromClient and FromServer are the path's one-way delay between each
	// endpoint and the point: a frame the client sends passes the point
	// FromClient later, and one the point sees reaches the client
	// FromClient later.
	FromClient, FromServer time.Duration
}

// Capture is one of a run's captures.
type Capture struct {
	Point                  string // the CapturePoint's Name
	Path                   string // the pcap file (removed with the test's temp dir)
	Iface                  string // the interface tcpdump listened on
	FromClient, FromServer time.Duration
	// Dropped is the kernel's count of frames this tcpdump missed; it
	// should be 0.
	Dropped int
}

// Observation is one kernel state of a socket: when the tracepoint or the
// poller saw the socket enter it.
type Observation struct {
	// State is the kernel's name for the state (/proc/net/tcp, ss), or
	// CLOSED when the socket left the table.
	State string
	// The change happened in (NotBefore, Time]: for SourceTrace within
	// the microsecond of Time, for SourcePoll between the start of the
	// poll before the one that saw it and the end of that one. Both are
	// CLOCK_REALTIME, the capture's clock; a zero NotBefore is the start
	// of the run.
	Time, NotBefore time.Time
	Source          string // SourceTrace or SourcePoll
}

// Conn is the kernel's view of one connection on the service port.
type Conn struct {
	Client, Server netip.AddrPort
	// ClientStates and ServerStates are each endpoint's observations in
	// time order; empty when that endpoint never had a socket for it.
	ClientStates, ServerStates []Observation
}

// Result is what one run of a scenario produced.
type Result struct {
	Scenario Scenario
	Capture  string // path of the Vantage's pcap file, one of Captures
	Vantage  Role
	// Captures are the run's captures, one per capture point, in the
	// topology's order (client, router, server).
	Captures []Capture

	// ClientAddr and ServerAddr are the focus connection's endpoints.
	ClientAddr, ServerAddr netip.AddrPort
	// ClientPorts are the first and last port of the client's
	// ip_local_port_range: the first of the run's block of ports.
	ClientPorts [2]uint16
	// Client and Server are the kernel's states of the focus connection.
	Client, Server []Observation
	// Listener is the server's listening socket: LISTEN, then CLOSED.
	Listener []Observation
	// Conns are all connections on the service port, by first observation.
	Conns []Conn
	// Drops are the frames the path dropped, in order.
	Drops []Dropped
	// Held are the frames the path held back (Drop.Hold), in order.
	Held []Dropped

	Start, End time.Time // polling (and capture, unless late) ran between these
	Delay      time.Duration
	Kernel     string // uname -r
	// Polls and MaxPollGap describe the pollers: polls of the client and
	// of the server, and the longest time between two consecutive polls
	// of one endpoint, which bounds the shortest state that cannot be
	// missed.
	Polls      [2]int
	MaxPollGap time.Duration
	// CaptureDropped is the kernel's count of frames the tcpdumps missed,
	// all captures together; RelayLost counts frames the relay's sockets
	// missed. Both should be 0.
	CaptureDropped, RelayLost int
	// RelayLate is the longest a frame waited in the relay beyond its
	// due time (a real-time thread woken late): the path's delay is
	// Delay plus up to this much.
	RelayLate time.Duration
	Notes     []string // what the behaviours and the harness logged
}

// States returns the state names of the focus connection's endpoint r.
func (res *Result) States(r Role) []string {
	obs := res.Client
	if r == Server {
		obs = res.Server
	}
	return stateNames(obs)
}

func stateNames(obs []Observation) []string {
	s := make([]string, len(obs))
	for i, o := range obs {
		s[i] = o.State
	}
	return s
}

// CheckExpect reports how the focus connection's kernel states (client and
// server, as Result.States gives them) differ from e, or nil. It does not run Expect.Capture.
func CheckExpect(e Expect, client, server []string) error {
	if err := subsequence(client, e.Client); err != nil {
		return fmt.Errorf("client states %v: %v", client, err)
	}
	if err := subsequence(server, e.Server); err != nil {
		return fmt.Errorf("server states %v: %v", server, err)
	}
	if e.CheckEnd {
		if got := last(client); got != e.ClientEnd {
			return fmt.Errorf("client states %v end in %q, want %q", client, got, e.ClientEnd)
		}
		if got := last(server); got != e.ServerEnd {
			return fmt.Errorf("server states %v end in %q, want %q", server, got, e.ServerEnd)
		}
	}
	return nil
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// subsequence reports whether want appears in got in order.
func subsequence(got, want []string) error {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i < len(want) {
		return fmt.Errorf("missing %s (want %v in this order)", want[i], want)
	}
	return nil
}

// Kernel state names, as /proc/net/tcp numbers them (include/net/tcp_states.h).
var kernelStates = [...]string{
	1:  "ESTABLISHED",
	2:  "SYN_SENT",
	3:  "SYN_RECV",
	4:  "FIN_WAIT1",
	5:  "FIN_WAIT2",
	6:  "TIME_WAIT",
	7:  "CLOSE",
	8:  "CLOSE_WAIT",
	9:  "LAST_ACK",
	10: "LISTEN",
	11: "CLOSING",
	12: "NEW_SYN_RECV", // never shown: request sockets print as SYN_RECV
	13: "BOUND_INACTIVE",
}

// Gone is the state recorded when a socket leaves the kernel's table.
const Gone = "CLOSED"

func stateName(st uint8) string {
	if int(st) < len(kernelStates) && kernelStates[st] != "" {
		return kernelStates[st]
	}
	return fmt.Sprintf("STATE_%d", st)
}
