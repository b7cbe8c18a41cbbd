package diagnose

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/tcplens/tcplens/internal/wire"
)

// A Claim is one fact about the segments that a finding's words rest on,
// stated so that a checker can test it against the frames alone: a kind,
// the frames behind it, the endpoints it is about and the kind's numbers.
// The words around the claims interpret them (a FIN acknowledged means
// FIN_WAIT2); the claims themselves say only what the frames show, and a
// finding must never make one its frames contradict (the audit in
// claim_test.go checks every claim of every finding on every capture in
// testdata with an implementation of its own).
//
// Frames are 1-based frame numbers, ascending unless the kind gives them
// an order. A claim about one connection holds within its frames, Span
// (its first and last frame, as the connection table numbers them); a
// claim about the whole capture has a zero Span.
type Claim struct {
	Kind   ClaimKind
	Frames []int
	From   netip.AddrPort // whose packets the claim is about
	To     netip.AddrPort // their peer
	Span   [2]int
	N, M   int64         // the kind's numbers (see ClaimKind)
	D      time.Duration // the kind's duration
	Flags  wire.Flags    // ClaimSent: the flags each frame has, of those in Mask
	Mask   wire.Flags
}

// ClaimKind says what a claim states. Where a kind names From's packets,
// they are those from From to To within the claim's Span.
type ClaimKind uint8

// The kinds of claim. "Acknowledges" means a packet of To with the ACK
// bit whose acknowledgment number is at or beyond the end of what the
// frame carried (its payload, SYN and FIN), modulo 2^32.
const (
	// ClaimSent: each of Frames is From's, with the flags Flags of
	// those in Mask.
	ClaimSent ClaimKind = iota + 1
	// ClaimSilent: From sent nothing after Frames[0] (with no frames,
	// nothing at all).
	ClaimSilent
	// ClaimAcked: for each of Frames (From's), a later packet of To
	// acknowledges it.
	ClaimAcked
	// ClaimNotAcked: no packet of To acknowledges any of Frames.
	ClaimNotAcked
	// ClaimAnswered: after each of Frames (From's), To sent a packet
	// before From's next one.
	ClaimAnswered
	// ClaimUnanswered: after none of Frames (From's) did To send a
	// packet before From's next one (or the end).
	ClaimUnanswered
	// ClaimRetransmitted: each of Frames (From's) carries sequence space
	// that an earlier packet of From carried.
	ClaimRetransmitted
	// ClaimNotAckedBefore: To's latest acknowledgment before each of
	// Frames (From's) does not cover it: the data was resent before it
	// was known to have arrived.
	ClaimNotAckedBefore
	// ClaimAckedBefore: To's latest acknowledgment before each of Frames
	// (From's) covers it: the data had arrived before it was resent.
	ClaimAckedBefore
	// ClaimHole: each of Frames (From's) begins beyond the end of all
	// From had sent before it in the capture: bytes between were not
	// captured; and not all of them came later in packets From's clocks
	// put before the segments above them (see ClaimFill): some were lost,
	// not reordered.
	ClaimHole
	// ClaimComplete: every byte of From's that To acknowledged within
	// the span was in a captured packet. (An acknowledgment more than
	// 2^30 bytes, the largest window, beyond what From was seen to send
	// is of another sequence space on the 4-tuple, and begins anew.)
	ClaimComplete
	// ClaimAckedUnseen: To acknowledged N bytes of From's that no
	// captured packet carried; Frames are the first acknowledgments that
	// covered such bytes.
	ClaimAckedUnseen
	// ClaimTTLUnlike: each of Frames (From's) arrived with TTL N, two or
	// more away from the TTL of every other packet from From's address
	// in the capture.
	ClaimTTLUnlike
	// ClaimTTLUnlikeOwn: Frames[0], an RST from From's address, arrived
	// with TTL N, two or more away from the TTL of every packet From sent
	// in the connection before it (RSTs aside), of which there are some.
	ClaimTTLUnlikeOwn
	// ClaimTTLLike: each of Frames arrived with a TTL within one of the
	// TTLs of the other packets from From's address, of which there are
	// some.
	ClaimTTLLike
	// ClaimIPIDCopied: Frames[0] (From's) has the IP ID of Frames[1], To's
	// latest packet before it.
	ClaimIPIDCopied
	// ClaimIPIDSkipped: Frames[0] and Frames[1] are consecutive packets of
	// From (a packet captured twice counting once), and N of the IP IDs
	// between theirs (modulo 2^16) are on no packet of From's the capture
	// holds: a number that came later, on a packet the path delivered
	// late, was not skipped.
	ClaimIPIDSkipped
	// ClaimElapsed: Frames[1] was captured D after Frames[0].
	ClaimElapsed
	// ClaimSilence: no packet of the connection was captured between
	// Frames[0] and Frames[1], which came D apart.
	ClaimSilence
	// ClaimZeroWindow: each of Frames (From's) advertises a zero window.
	ClaimZeroWindow
	// ClaimSameSeq: Frames (From's) all carry one sequence number.
	ClaimSameSeq
	// ClaimEchoes: the TSecr of Frames[0] (From's) is the TSval of
	// Frames[1] (To's).
	ClaimEchoes
	// ClaimDataSegments: From sent N packets with payload within the
	// span (a packet captured twice counts once).
	ClaimDataSegments
	// ClaimOptions: Frames[0] (From's SYN or SYN-ACK) carries every TCP
	// option of the set N and none of the set M (bits of wire's
	// option-presence set).
	ClaimOptions
	// ClaimCE: each of Frames has its IP ECN field at CE.
	ClaimCE
	// ClaimBadChecksum: each of Frames, captured whole, fails its TCP
	// checksum.
	ClaimBadChecksum
	// ClaimTruncated: each of Frames was cut by the snapshot length
	// before the end of its payload.
	ClaimTruncated
	// ClaimFirst: Frames[0] is the connection's first packet, and not a
	// SYN without ACK: the capture began after the handshake's start.
	ClaimFirst
	// ClaimMaxWindow: the largest window From advertised within the
	// span, scaled by the window scale its SYN negotiated, is N bytes.
	ClaimMaxWindow
	// ClaimQuiet: From sent no packet between Frames[0] and Frames[1].
	ClaimQuiet
	// ClaimNoData: From sent no payload between Frames[0] and Frames[1]
	// (Frames[0] 0: from the span's start).
	ClaimNoData
	// ClaimData: each of Frames (From's) carries payload.
	ClaimData
	// ClaimNone: From sent no packet with the flags Flags of those in
	// Mask within the span.
	ClaimNone
	// ClaimFirstFrom: Frames[0] is From's first packet within the span.
	ClaimFirstFrom
	// ClaimCrossed: Frames[0] (From's) and Frames[1] (To's) each carry a
	// FIN, and neither acknowledges the other's.
	ClaimCrossed
	// ClaimWindowOpen: each of Frames (From's) advertises a window above
	// zero.
	ClaimWindowOpen
	// ClaimFill: each of Frames (From's) carries bytes below the highest
	// From had sent before it, which no earlier packet carried: it fills
	// a hole, the first copy the capture saw of data lost before it. And
	// From's clocks do not put it before every earlier packet of From
	// wholly above it, which would make it an original that came late:
	// its TSval is not older than all of theirs (equal ones saying
	// nothing), nor, then, its IP ID behind all of theirs where From's IP
	// IDs before it stepped by one (at least four steps, three in four),
	// nor did it come less than D after the first of them (D at most half
	// the handshake's round trip; 0: not judged).
	ClaimFill
	// ClaimOldTimestamp: each of Frames (From's) carries a TSval more
	// than one tick older than the TSecr of a packet To sent before it.
	// To echoes its TS.Recent, which never goes back, so it held a newer
	// one when the frame reached it, wherever the capture was taken.
	ClaimOldTimestamp
)

// claimNames are the kinds' stable names, as JSON prints them.
var claimNames = [...]string{
	ClaimSent:           "sent",
	ClaimSilent:         "silent",
	ClaimAcked:          "acked",
	ClaimNotAcked:       "not-acked",
	ClaimAnswered:       "answered",
	ClaimUnanswered:     "unanswered",
	ClaimRetransmitted:  "retransmitted",
	ClaimNotAckedBefore: "not-acked-before",
	ClaimAckedBefore:    "acked-before",
	ClaimHole:           "hole",
	ClaimComplete:       "complete",
	ClaimAckedUnseen:    "acked-unseen",
	ClaimTTLUnlike:      "ttl-unlike",
	ClaimTTLUnlikeOwn:   "ttl-unlike-own",
	ClaimTTLLike:        "ttl-like",
	ClaimIPIDCopied:     "ipid-copied",
	ClaimIPIDSkipped:    "ipid-skipped",
	ClaimElapsed:        "elapsed",
	ClaimSilence:        "silence",
	ClaimZeroWindow:     "zero-window",
	ClaimSameSeq:        "same-seq",
	ClaimEchoes:         "echoes",
	ClaimDataSegments:   "data-segments",
	ClaimOptions:        "options",
	ClaimCE:             "ce",
	ClaimBadChecksum:    "bad-checksum",
	ClaimTruncated:      "truncated",
	ClaimFirst:          "first",
	ClaimMaxWindow:      "max-window",
	ClaimQuiet:          "quiet",
	ClaimNoData:         "no-data",
	ClaimData:           "data",
	ClaimNone:           "none",
	ClaimFirstFrom:      "first-from",
	ClaimCrossed:        "crossed",
	ClaimWindowOpen:     "window-open",
	ClaimFill:           "fill",
	ClaimOldTimestamp:   "old-timestamp",
}

// String is the kind's stable name.
func (k ClaimKind) String() string {
	if int(k) < len(claimNames) && claimNames[k] != "" {
		return claimNames[k]
	}
	return fmt.Sprintf("claim-%d", k)
}

// ClaimKinds lists every kind, for documentation and tests.
func ClaimKinds() []ClaimKind {
	out := make([]ClaimKind, 0, len(claimNames)-1)
	for k := ClaimSent; int(k) < len(claimNames); k++ {
		out = append(out, k)
	}
	return out
}

// Says puts the claim in words: "no packet from 10.0.0.1:40000 after frame
// 870".
func (c Claim) Says() string {
	from, to := c.From.String(), c.To.String()
	fl := frameList(c.Frames, len(c.Frames))
	switch c.Kind {
	case ClaimSent:
		if c.Mask == 0 {
			return fmt.Sprintf("%s: sent by %s to %s", fl, from, to)
		}
		return fmt.Sprintf("%s: sent by %s to %s, with %s", fl, from, to, flagWords(c.Flags, c.Mask))
	case ClaimSilent:
		if len(c.Frames) == 0 {
			return fmt.Sprintf("no packet from %s to %s in the capture", from, to)
		}
		return fmt.Sprintf("no packet from %s to %s after frame %d", from, to, c.Frames[0])
	case ClaimAcked:
		return fmt.Sprintf("%s, from %s: acknowledged later by %s", fl, from, to)
	case ClaimNotAcked:
		return fmt.Sprintf("%s, from %s: never acknowledged by %s", fl, from, to)
	case ClaimAnswered:
		return fmt.Sprintf("%s, from %s: each answered by %s before %s sent again", fl, from, to, from)
	case ClaimUnanswered:
		return fmt.Sprintf("%s, from %s: none answered by %s before %s sent again", fl, from, to, from)
	case ClaimRetransmitted:
		return fmt.Sprintf("%s, from %s: each resends data %s had sent before", fl, from, from)
	case ClaimNotAckedBefore:
		return fmt.Sprintf("%s, from %s: resent before %s had acknowledged it", fl, from, to)
	case ClaimAckedBefore:
		return fmt.Sprintf("%s, from %s: resent after %s had acknowledged it", fl, from, to)
	case ClaimHole:
		return fmt.Sprintf("%s, from %s: each begins beyond all %s had sent before: the bytes between were not captured, and not all came later, sent before it", fl, from, from)
	case ClaimComplete:
		return fmt.Sprintf("every byte of %s's that %s acknowledged was captured", from, to)
	case ClaimAckedUnseen:
		return fmt.Sprintf("%s acknowledged %d bytes of %s's that no captured packet carried (first in %s)", to, c.N, from, fl)
	case ClaimTTLUnlike:
		return fmt.Sprintf("%s, from %s: TTL %d, unlike every other packet from %s", fl, from, c.N, c.From.Addr())
	case ClaimTTLUnlikeOwn:
		return fmt.Sprintf("%s, from %s: TTL %d, unlike every packet %s sent before it in the connection", fl, from, c.N, from)
	case ClaimTTLLike:
		return fmt.Sprintf("%s, from %s: a TTL like that of %s's other packets", fl, from, c.From.Addr())
	case ClaimIPIDCopied:
		return fmt.Sprintf("frame %d has the IP ID of frame %d, which it answers", c.Frames[0], c.Frames[1])
	case ClaimIPIDSkipped:
		if c.N == 0 {
			return fmt.Sprintf("frames %d and %d are consecutive packets of %s, their IP IDs consecutive too", c.Frames[0], c.Frames[1], from)
		}
		return fmt.Sprintf("frames %d and %d are consecutive packets of %s and %d IP IDs between theirs never came", c.Frames[0], c.Frames[1], from, c.N)
	case ClaimElapsed:
		return fmt.Sprintf("frame %d came %s after frame %d", c.Frames[1], dur(c.D), c.Frames[0])
	case ClaimSilence:
		return fmt.Sprintf("nothing of the connection between frames %d and %d, %s apart", c.Frames[0], c.Frames[1], dur(c.D))
	case ClaimZeroWindow:
		return fmt.Sprintf("%s, from %s: a zero window", fl, from)
	case ClaimSameSeq:
		return fmt.Sprintf("%s, from %s: the same sequence number", fl, from)
	case ClaimEchoes:
		return fmt.Sprintf("frame %d echoes the timestamp of frame %d", c.Frames[0], c.Frames[1])
	case ClaimDataSegments:
		return fmt.Sprintf("%s sent %s", from, count(int(c.N), "data segment"))
	case ClaimOptions:
		return fmt.Sprintf("frame %d, from %s: options %s present, %s absent", c.Frames[0], from, optionWords(wire.OptionSet(c.N)), optionWords(wire.OptionSet(c.M)))
	case ClaimCE:
		return fmt.Sprintf("%s: marked CE", fl)
	case ClaimBadChecksum:
		return fmt.Sprintf("%s: a wrong TCP checksum", fl)
	case ClaimTruncated:
		return fmt.Sprintf("%s: cut by the snapshot length", fl)
	case ClaimFirst:
		return fmt.Sprintf("frame %d is the connection's first packet, and not a client's SYN", c.Frames[0])
	case ClaimMaxWindow:
		return fmt.Sprintf("%s advertised windows of at most %s", from, bytesWord(uint64(c.N)))
	case ClaimQuiet:
		return fmt.Sprintf("no packet from %s between frames %d and %d", from, c.Frames[0], c.Frames[1])
	case ClaimNoData:
		if c.Frames[0] == 0 {
			return fmt.Sprintf("no data from %s before frame %d", from, c.Frames[1])
		}
		return fmt.Sprintf("no data from %s between frames %d and %d", from, c.Frames[0], c.Frames[1])
	case ClaimData:
		return fmt.Sprintf("%s, from %s: data", fl, from)
	case ClaimNone:
		return fmt.Sprintf("no packet from %s to %s with %s", from, to, flagWords(c.Flags, c.Mask))
	case ClaimFirstFrom:
		return fmt.Sprintf("frame %d is the first packet from %s", c.Frames[0], from)
	case ClaimCrossed:
		return fmt.Sprintf("the FINs of frames %d and %d crossed: neither acknowledges the other", c.Frames[0], c.Frames[1])
	case ClaimWindowOpen:
		return fmt.Sprintf("%s, from %s: a window above zero", fl, from)
	case ClaimFill:
		return fmt.Sprintf("%s, from %s: each fills a hole with data no earlier packet carried, sent after a packet above it", fl, from)
	case ClaimOldTimestamp:
		return fmt.Sprintf("%s, from %s: each carries a timestamp older than one %s had echoed before", fl, from, to)
	}
	return c.Kind.String()
}

// flagWords names the flags of mask that f has and has not: "RST, no SYN".
func flagWords(f, mask wire.Flags) string {
	var out string
	for i := 0; i < 8; i++ {
		b := wire.Flags(1) << i
		if mask&b == 0 {
			continue
		}
		if out != "" {
			out += ", "
		}
		if f&b == 0 {
			out += "no "
		}
		out += flagName(b)
	}
	return out
}

func flagName(b wire.Flags) string {
	switch b {
	case wire.FIN:
		return "FIN"
	case wire.SYN:
		return "SYN"
	case wire.RST:
		return "RST"
	case wire.PSH:
		return "PSH"
	case wire.ACK:
		return "ACK"
	case wire.URG:
		return "URG"
	case wire.ECE:
		return "ECE"
	case wire.CWR:
		return "CWR"
	}
	return "?"
}

// optionWords names the options of a set: "MSS, window scale".
func optionWords(s wire.OptionSet) string {
	names := []struct {
		bit  wire.OptionSet
		name string
	}{{wire.HasMSS, "MSS"}, {wire.HasWindowScale, "window scale"}, {wire.HasSACKPermitted, "SACK-permitted"},
		{wire.HasSACK, "SACK"}, {wire.HasTimestamps, "timestamps"}, {wire.HasFastOpen, "Fast Open"}}
	var out string
	for _, n := range names {
		if s&n.bit != 0 {
			if out != "" {
				out += ", "
			}
			out += n.name
		}
	}
	if out == "" {
		return "none"
	}
	return out
}

// span is c's frames, the scope of its claims.
func (c *Conn) span() [2]int { return [2]int{c.FirstFrame, c.LastFrame} }

// ends returns the addresses of r and its peer.
func (c *Conn) ends(r role) (netip.AddrPort, netip.AddrPort) {
	s, _ := c.side(r)
	p, _ := c.side(r.other())
	return s.Addr, p.Addr
}

// claim is a claim of kind k about r's packets on c, fs its frames in
// ascending order.
func (c *Conn) claim(k ClaimKind, r role, fs ...int) Claim {
	from, to := c.ends(r)
	return Claim{Kind: k, Frames: frames(fs...), From: from, To: to, Span: c.span()}
}

// pair is a claim whose two frames are in the order the kind gives.
func (c *Conn) pair(k ClaimKind, r role, a, b int) Claim {
	cl := c.claim(k, r)
	cl.Frames = []int{a, b}
	return cl
}

// sent claims that fs are r's packets with the flags set of those in
// mask.
func (c *Conn) sent(r role, set, mask wire.Flags, fs ...int) Claim {
	cl := c.claim(ClaimSent, r, fs...)
	cl.Flags, cl.Mask = set, mask
	return cl
}

// elapsed claims that frame b came d after frame a.
func (c *Conn) elapsed(a, b int, d time.Duration) Claim {
	cl := c.pair(ClaimElapsed, client, a, b)
	cl.D = d
	return cl
}

// elapsedAny claims that frame b came d after frame a, wherever in the
// capture they are.
func elapsedAny(a, b int, d time.Duration) Claim {
	return Claim{Kind: ClaimElapsed, Frames: []int{a, b}, D: d}
}

// withN sets a claim's number.
func (cl Claim) withN(n int64) Claim {
	cl.N = n
	return cl
}

// withD sets a claim's duration.
func (cl Claim) withD(d time.Duration) Claim {
	cl.D = d
	return cl
}

// withFlags sets a claim's flags.
func (cl Claim) withFlags(set, mask wire.Flags) Claim {
	cl.Flags, cl.Mask = set, mask
	return cl
}

// withM sets a claim's second number.
func (cl Claim) withM(m int64) Claim {
	cl.M = m
	return cl
}

// resent claims what frames of r's resending data show: those whose
// first copy the capture saw resend it, those whose first copy never
// reached the capture point fill a hole.
func (c *Conn) resent(r role, fs ...int) []Claim {
	_, f := c.side(r)
	if f.Exchange == nil || f.cover.overflow {
		return nil // more holes at once than the coverage followed: which is which is not known
	}
	var again, fill []int
	for _, n := range fs {
		if slices.Contains(f.RetransUnseen.Frames, n) {
			fill = append(fill, n)
		} else {
			again = append(again, n)
		}
	}
	var out claims
	out.add(c.claim(ClaimRetransmitted, r, again...), c.claim(ClaimFill, r, fill...).withD(c.loopFloor()))
	return out
}

// loopFloor is the round trip the analysis judged fills against (tcp's
// loopFloor as it stood at the end): half the shortest the connection
// showed, 0 without a captured handshake. It only shrinks as a connection
// goes on, so no fill the analysis judged came sooner than this after the
// first segment above it.
func (c *Conn) loopFloor() time.Duration {
	if c.HandshakeRTT == 0 {
		return 0
	}
	rtt := c.HandshakeRTT
	if cl, sv := c.Client.RTT, c.Server.RTT; cl.Samples > 0 && sv.Samples > 0 {
		rtt = min(rtt, cl.Min+sv.Min)
	}
	return rtt / 2
}

// Flag sets the rules' claims name.
const (
	synOnly    = wire.SYN
	synMask    = wire.SYN | wire.ACK | wire.RST
	synACK     = wire.SYN | wire.ACK
	rstMask    = wire.RST | wire.SYN
	finMask    = wire.FIN | wire.SYN | wire.RST
	ackNoFlags = wire.ACK
	ackMask    = wire.ACK | wire.SYN | wire.FIN | wire.RST
)

// claims collects claims, leaving out those without frames where the
// kind needs some (evidence a fact did not keep).
type claims []Claim

func (cs *claims) add(c ...Claim) {
	for _, x := range c {
		if len(x.Frames) == 0 && x.Kind != ClaimSilent && x.Kind != ClaimComplete && x.Kind != ClaimDataSegments && x.Kind != ClaimMaxWindow && x.Kind != ClaimNone {
			continue
		}
		if slices.ContainsFunc(*cs, func(y Claim) bool {
			return y.Kind == x.Kind && y.From == x.From && slices.Equal(y.Frames, x.Frames) && y.N == x.N
		}) {
			continue
		}
		*cs = append(*cs, x)
	}
}
