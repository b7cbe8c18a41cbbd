// Package conn finds the connection each segment belongs to: the
// canonical 4-tuple, a new connection when a SYN with a new ISN reuses a
// 4-tuple, the client and server roles, idle expiry, and a bounded table
// whose evictions are counted, so that a SYN flood from millions of
// sources runs in bounded memory.
package conn

import (
	"encoding/binary"
	"net/netip"

	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/freezer"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
	"github.com/tcplens/tcplens/internal/zeek"
)

// Dir is the direction of a segment relative to the connection's roles.
type Dir uint8

const (
	ClientToServer Dir = iota
	ServerToClient
)

// String is "c2s" or "s2c".
func (d Dir) String() string {
	if d == ClientToServer {
		return "c2s"
	}
	return "s2c"
}

// Key is a connection's 4-tuple in canonical order: the lower endpoint
// first, so both directions share it.
type Key struct {
	A, B netip.AddrPort
}

// KeyOf returns the canonical key of a segment and whether its source is B.
func KeyOf(s *wire.Segment) (Key, bool) {
	src, dst := s.Src, s.Dst
	if less(dst, src) {
		return Key{A: dst, B: src}, true
	}
	return Key{A: src, B: dst}, false
}

// KeyFor returns the canonical key of the connection between a and b.
func KeyFor(a, b netip.AddrPort) Key {
	if less(b, a) {
		return Key{A: b, B: a}
	}
	return Key{A: a, B: b}
}

func less(x, y netip.AddrPort) bool {
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c < 0
	}
	return x.Port() < y.Port()
}

// The table's maps hold keys of plain integers, with no pointer (a
// netip.Addr carries one for its zone), so that hashing and comparing a
// key is one pass over a few words: 16 bytes for IPv4, 40 for IPv6. They
// order the endpoints as Key does: a segment's two addresses are of one
// family, and within a family netip orders addresses as the numbers of
// their bytes, then ports. Zones never occur in captured packets.

// key4 is an IPv4 4-tuple, each endpoint as address<<16 | port.
type key4 [2]uint64

// key6 is an IPv6 4-tuple, addresses as 128-bit big-endian numbers.
type key6 struct {
	a, b   [2]uint64
	pa, pb uint16
}

func key4Of(s *wire.Segment) (key4, bool) {
	src, dst := s.Src.Addr().As4(), s.Dst.Addr().As4()
	x := uint64(binary.BigEndian.Uint32(src[:]))<<16 | uint64(s.Src.Port())
	y := uint64(binary.BigEndian.Uint32(dst[:]))<<16 | uint64(s.Dst.Port())
	if y < x {
		return key4{y, x}, true
	}
	return key4{x, y}, false
}

func key6Of(s *wire.Segment) (key6, bool) {
	src, dst := s.Src.Addr().As16(), s.Dst.Addr().As16()
	x := [2]uint64{binary.BigEndian.Uint64(src[:8]), binary.BigEndian.Uint64(src[8:])}
	y := [2]uint64{binary.BigEndian.Uint64(dst[:8]), binary.BigEndian.Uint64(dst[8:])}
	px, py := s.Src.Port(), s.Dst.Port()
	if y[0] < x[0] || y[0] == x[0] && (y[1] < x[1] || y[1] == x[1] && py < px) {
		return key6{y, x, py, px}, true
	}
	return key6{x, y, px, py}, false
}

// Role says how the client and server were decided.
type Role uint8

const (
	RoleSYN     Role = iota // the client sent the SYN (or received the SYN-ACK)
	RolePorts               // no handshake: the server has the well-known or lower port
	RoleSpeaker             // no handshake and ports say nothing: the first to speak is the client
)

// Conn is one connection: its identity, roles and analysis state.
type Conn struct {
	End        pcap.Time // the latest segment's time
	Segments   int
	prev, next *Conn // the table's recency list, most recent first
	// ID numbers connections from 1 in the order they first appear; the
	// table's caller gives it (see NewTable).
	ID    int
	Start pcap.Time
	// attempt says the connection is, so far, one end's SYNs and nothing
	// else (see Table.MaxAttempts): 1 + the index in Ends of that end;
	// 0 once anything else came. attemptAt is then its entry in the
	// table's list of attempts.
	attempt   int8
	attemptAt int32

	// State is the analysis state; nil while the table keeps it frozen
	// (see freeze.go), which only the table sees: a connection it hands
	// out, or hands on as it ends, is thawed.
	*State
	cold cold
	// Beside is what a caller keeps of the connection beside its State,
	// frozen with it (see Table.Freezing): here rather than in a map of
	// the caller's, which a flood's churn of attempts grows to several
	// times what it holds.
	Beside freezer.Frozen

	// Client is the index in Ends of the client.
	Client int
	Role   Role

	FirstFrame, LastFrame int

	// Replaces is set when this connection took its 4-tuple from another
	// one: ReusedPorts when a SYN with a new ISN opened it while the other
	// was in use, else the other had been idle past its timeout. Previous
	// is that other's ID (as the table read it when it replaced it).
	Replaces    bool
	ReusedPorts bool
	Previous    int

	// SYNDataAccepted says a SYN-ACK acknowledged data the client's SYN
	// carried: the server took it at once (TCP Fast Open, RFC 7413
	// section 4.2.2). A server that refuses it acknowledges the SYN alone,
	// and the client sends the data again after the handshake.
	SYNDataAccepted bool
}

// State is a connection's analysis state: both endpoints' and Zeek's.
type State struct {
	tcp.Conn
	// Zeek's bookkeeping of the connection (conn_state, history, sizes),
	// kept as segments go by. Its originator is the client: the roles, and
	// so Zeek's "^", are tcplens's (the SYN's sender, or without a
	// handshake the guess that Role records), where Zeek would guess
	// from its analyzers' ports.
	History zeek.History
}

// Key is the connection's 4-tuple: its endpoints' addresses, in Key's
// order.
func (c *Conn) Key() Key { return Key{A: c.Ends[0].Addr, B: c.Ends[1].Addr} }

// ClientEnd returns the client endpoint.
func (c *Conn) ClientEnd() *tcp.Endpoint { return &c.Ends[c.Client] }

// ServerEnd returns the server endpoint.
func (c *Conn) ServerEnd() *tcp.Endpoint { return &c.Ends[1-c.Client] }

// DirOf converts an index into Ends into a direction.
func (c *Conn) DirOf(end int) Dir {
	if end == c.Client {
		return ClientToServer
	}
	return ServerToClient
}

// RoleGuessed reports whether the roles come from ports or the first
// speaker rather than a handshake.
func (c *Conn) RoleGuessed() bool { return c.Role != RoleSYN }

// decideRoles picks the client of a new connection from its first
// segment, sent by Ends[sender].
func (c *Conn) decideRoles(s *wire.Segment, sender int) {
	c.Client, c.Role = Roles(s, sender)
}

// Roles decides, from a connection's first segment s, sent by its end
// number sender (0 or 1), which end is the client and how that was
// decided: what the table does for a new connection, for callers that
// number connections as it does without its analysis.
func Roles(s *wire.Segment, sender int) (client int, how Role) {
	switch {
	case s.Flags.Has(wire.SYN) && !s.Flags.Has(wire.ACK):
		return sender, RoleSYN
	case s.Flags.Has(wire.SYN | wire.ACK):
		return 1 - sender, RoleSYN
	}
	switch serverSide(s.Src.Port(), s.Dst.Port()) {
	case 1: // the destination is the server
		return sender, RolePorts
	case -1:
		return 1 - sender, RolePorts
	}
	return sender, RoleSpeaker
}

// serverSide says which port looks like a server's: 1 for dst, -1 for
// src, 0 when the ports do not tell. A port below 1024 is a service; one
// in Linux's ephemeral range (32768-60999) or the IANA one (49152-65535)
// is a client's, when the other is not.
func serverSide(src, dst uint16) int {
	switch {
	case dst < 1024 && src >= 1024:
		return 1
	case src < 1024 && dst >= 1024:
		return -1
	case ephemeral(src) && !ephemeral(dst):
		return 1
	case ephemeral(dst) && !ephemeral(src):
		return -1
	}
	return 0
}

func ephemeral(p uint16) bool { return p >= 32768 }

// Step runs the analysis of one segment sent by Ends[end] and keeps the
// connection's own bookkeeping (frames, Zeek's history).
func (c *Conn) Step(end int, in *tcp.Input, r *tcp.Result) {
	if c.FirstFrame == 0 {
		c.FirstFrame = in.Frame
	}
	c.LastFrame = in.Frame
	c.Conn.Step(end, in, r)
	if s := in.Seg; s.Flags.Has(wire.SYN|wire.ACK) && end != c.Client {
		cl := c.ClientEnd()
		if n := uint32(cl.Handshake.Data); n > 0 && s.Ack.Greater(cl.ISS+1) && s.Ack.LessEq(cl.ISS.Add(1+n)) {
			c.SYNDataAccepted = true
		}
	}
	if c.ReusedPorts && in.Frame == c.FirstFrame {
		r.Analysis.Add(event.ReusedPorts)
	}
	c.History.Step(in.Seg, end == c.Client)
}

// ZeekState is Zeek's conn_state for the connection (S0, S1, SF, REJ …).
func (c *Conn) ZeekState() string { return c.History.State() }

// ZeekHistory is Zeek's history string (ShADadFf …).
func (c *Conn) ZeekHistory() string { return c.History.String() }
