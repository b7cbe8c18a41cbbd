package diagnose

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// maxEvidence bounds the frames kept per kind of evidence: a finding names
// the first few, and counts the rest.
const maxEvidence = 8

// Mark is a frame and when it was captured; the zero Mark is "not seen".
type Mark struct {
	Frame int
	Time  pcap.Time
}

// Seen reports whether the mark was set.
func (m Mark) Seen() bool { return m.Frame != 0 }

// Evidence counts occurrences of something and keeps the first frames.
type Evidence struct {
	N      int
	Frames []int // the first maxEvidence frames
}

func (e *Evidence) add(frame int) {
	e.N++
	if len(e.Frames) < maxEvidence {
		e.Frames = append(e.Frames, frame)
	}
}

// remove takes back one occurrence, frame's, which the frames kept name
// if it was among the first.
func (e *Evidence) remove(frame int) {
	if i := slices.Index(e.Frames, frame); i >= 0 {
		e.Frames = slices.Delete(e.Frames, i, i+1)
		e.N--
	} else if e.N > len(e.Frames) {
		e.N--
	}
}

// Stall is a time a sender could not send: from Start to End.
type Stall struct {
	Start, End Mark
}

// Duration is how long the stall lasted.
func (s Stall) Duration() time.Duration { return s.End.Time.Sub(s.Start.Time) }

// Facts is what a Collector learns about one connection beyond its
// summary: bounded per-connection aggregates, never a per-segment history.
type Facts struct {
	Client, Server SideFacts

	Segments  int
	Last      Mark          // the last segment of the connection
	MaxGap    time.Duration // the longest silence between two of its segments
	GapBefore Mark          // the segment before that silence
	GapAfter  Mark          // the segment that ended it
	Truncated int           // segments whose payload the snapshot length cut
}

// Side returns the facts of the client or the server.
func (f *Facts) Side(d conn.Dir) *SideFacts {
	if d == conn.ClientToServer {
		return &f.Client
	}
	return &f.Server
}

// SideFacts is what one end sent, and how the path and the peer treated it.
//
// A side that has sent nothing but SYNs or SYN-ACKs, as every source of a
// SYN flood, needs only the first few fields, a tenth of the whole: the
// rest (its Exchange) is allocated when it sends anything else, and when
// the connection ends, so that rules read every field.
type SideFacts struct {
	Packets int

	// The IP facts of its own packets (its RSTs apart), to tell them from
	// packets forged in the path.
	TTLMin, TTLMax uint8
	TTLCount       int
	LastIPID       uint16 // IPv4 identification of its latest packet (RSTs apart)
	LastIPIDFrame  int    // that packet's frame
	lastIPIDTime   pcap.Time
	IPv4           int // IPv4 packets (RSTs apart)
	IPIDZero       int // of which with identification 0

	// Its SYNs (without ACK): the first, and the latest before the
	// peer's first SYN-ACK, which that SYN-ACK answers.
	FirstSYN, AnsweredSYN Mark
	LastSYNACK            Mark // its latest SYN-ACK
	SYNs                  int
	SYNMarks              []Mark // the first maxEvidence

	// Its first SYN-ACK's timestamps: the TSval, which an ACK of that
	// SYN-ACK echoes, and the TSecr, the TSval of the SYN that made the
	// half-open connection (Linux repeats it in every SYN-ACK of that
	// connection); its first SYN's TSval; and its first packet without
	// SYN: the first that can acknowledge the peer's SYN, with what it
	// echoes and how many IP IDs it skipped since its previous packet.
	SYNACKTSVal uint32
	SYNACKTSEcr uint32
	SYNACKHasTS bool
	SYNTSVal    uint32
	SYNHasTS    bool
	// AnsweredSYNTSVal is AnsweredSYN's TSval.
	AnsweredSYNTSVal uint32
	SYNACKSeq        seq.Num
	SYNACKAgain      []int // the frames of its first SYN-ACK sent again (the first maxEvidence)
	FirstNonSYN      Mark
	FirstNonSYNTS    uint32 // its TSecr
	FirstNonSYNHas   bool   // it carried timestamps
	FirstNonSYNGap   int    // IP IDs between it and its previous packet (-1: not sequential, or not IPv4)
	FirstNonSYNPrv   int    // that previous packet's frame

	// Evidence of analysis kinds on the segments it sent.
	Kinds []KindEvidence

	// host is its address's entry in the Collector's host table, found
	// at its first packet (hostFound): nil when the full table could not
	// take it. A side's address never changes, and a map lookup per
	// segment cost a tenth of diagnose on long transfers.
	host      *ttlRange
	hostFound bool

	*Exchange
}

// Exchange is what a side did beyond its SYN: its close, its data, and
// how the path and the peer treated them. What most connections never
// do (reset, retransmit, stall on a zero window, mark ECN, send urgent
// data) is in its Unusual part, allocated when it first happens.
type Exchange struct {
	// Its first FIN, and the peer's first ACK of it.
	FIN, FINAcked Mark

	// Its timestamps (RSTs apart, which no receiver takes): the first
	// and the latest TSval with their capture times, and the latest
	// TSecr; and the clocks when it last reached CLOSED.
	FirstTSVal, TSVal, TSEcr uint32
	FirstTSTime, TSTime      pcap.Time
	HasTSVal                 bool
	AtClose                  closeClocks

	// Data it sent after the peer's FIN: a half-close.
	AfterPeerFIN      uint64
	AfterPeerFINFirst Mark

	// Data it sent.
	DataSegments int
	FirstData    Mark
	LastData     Mark
	MaxPayload   int

	// Data it received after it last sent any: what its application may
	// not have read (see UnansweredAtRST).
	unanswered uint64

	// Flights: the data it sent against the peer's window.
	MaxInFlight  uint32 // most bytes it had unacknowledged
	PeerWindow   uint32 // the peer's window at that moment, scaled
	MaxPeerWnd   uint32 // the largest window the peer advertised
	WindowBound  Evidence
	CwndBound    Evidence // resumed right after an ACK, window far from full
	AppPauses    Evidence // resumed after idling with nothing in flight
	AppPauseTime time.Duration
	lastAckIn    Mark // the latest ACK from the peer that acknowledged new data
	lastDataSent Mark
	flight       flightMeter

	// Nagle meets delayed ACK: a small segment held until the ACK of the
	// previous one, which the peer delayed.
	Nagle     Evidence
	NagleHeld time.Duration
	nagleAck  Mark          // the delayed ACK just received
	nagleWait time.Duration // how long the peer took to send it
	small     smallSent     // its latest small segment waiting for an ACK

	// Its keep-alive probes the peer answered (the answers' frames) and
	// did not (the probes'): answered means the peer sent anything after
	// the probe before the prober sent again.
	ProbeAnswered, ProbeUnanswered Evidence
	probe                          Mark // its latest probe, not yet answered

	// Path MTU: the largest segment the peer acknowledged at its first
	// sending (BigRetrans counts retransmissions of larger ones).
	MaxDelivered      int
	MaxDeliveredFrame int
	sent              *sentRing

	// What the capture saw of its sequence space: the bytes the peer
	// acknowledged that no captured packet carried (the capture's own
	// loss, or a path it did not see), and where the first such ACK was.
	AckedUnseen      uint64
	AckedUnseenFirst Mark
	cover            coverage
	// holesLost are the holes in its sequence (by the frame that went
	// beyond each) that held a loss before the capture point: a
	// retransmission filled some of one (HolesLost adds those nothing
	// filled). A hole that only originals filled, sent before the frame
	// that opened it by their sender's clock, was reordering.
	holesLost Evidence

	// Its IPv4 identifications, which Linux numbers one by one per
	// connection: how many steps between consecutive packets were one,
	// and the gaps, each a packet (or more) that never reached the
	// capture point.
	IPIDSteps, IPIDOnes int
	IPIDMissing         int
	// IPIDSkips is how many packets came after skipped numbers (and no
	// later packet filled all of them): at least one packet was lost at
	// each. A packet the stack built of several segments (GSO) takes a
	// number for each, so one drop before segmentation skips several.
	IPIDSkips int
	// IPIDDataSkips and IPIDDataMissing are the skips, and their
	// numbers, where what was lost carried data (IPIDGap.DataLoss).
	IPIDDataSkips, IPIDDataMissing int
	IPIDGaps                       []IPIDGap // the first maxEvidence
	gapFrame                       int       // the latest packet that came after skipped IP IDs
	ipidShared                     bool      // its host's other connections' packets fill its gaps

	*Unusual
}

// closeClocks are the timestamps when an end reached CLOSED: its own
// latest TSval, and the peer's latest with its capture time and the
// rate of the peer's clock (ticks a second, 0 unknown).
type closeClocks struct {
	Time          pcap.Time
	Own, Peer     uint32
	PeerTime      pcap.Time
	PeerRate      float64
	HasTimestamps bool
}

// clocksAtClose notes the clocks as s reaches CLOSED at now, peer being
// the other end.
func (s *SideFacts) clocksAtClose(peer *SideFacts, now pcap.Time) {
	s.AtClose = closeClocks{Time: now, Own: s.TSVal, Peer: peer.TSVal, PeerTime: peer.TSTime, HasTimestamps: s.HasTSVal && peer.HasTSVal}
	// The rate is measured over 50 ms at least: over less, ticks of a
	// millisecond are too coarse to tell.
	if span := peer.TSTime.Sub(peer.FirstTSTime); span >= 50*time.Millisecond && int32(peer.TSVal-peer.FirstTSVal) > 0 {
		s.AtClose.PeerRate = float64(int32(peer.TSVal-peer.FirstTSVal)) / span.Seconds()
	}
}

// peerSentBeforeClose says the peer's segment that its no-socket RST
// answers left the peer before the close could have arrived there, so
// that it says nothing of the close's fate, however short the round trip
// measured before (a bottleneck's queue, or a busy receiver, can hold
// packets for many round trips). Either it echoes a timestamp older than
// this end's last before the close (TS.Recent follows the segments that
// arrive in order, so the peer had not yet taken in what this end sent
// before closing), or, by the peer's own clock, it was made no later
// than a tick after the peer's clock stood when the close was captured
// (its rate measured on the connection, or the usual millisecond).
func (s *SideFacts) peerSentBeforeClose() bool {
	c := &s.AtClose
	if s.Exchange == nil || s.Unusual == nil || !s.AnswersHasTS || !c.HasTimestamps {
		return false
	}
	if int32(c.Own-s.AnswersTSEcr) > 0 {
		return true
	}
	rate := c.PeerRate
	if rate == 0 {
		rate = 1000
	}
	ticks := int64(c.Time.Sub(c.PeerTime).Seconds()*rate) + 1
	return int64(int32(s.AnswersTSVal-c.Peer)) <= ticks
}

// Unusual is what a side did that most connections never do: resets,
// retransmissions, zero windows, ECN marks, urgent data.
type Unusual struct {
	// Its first RST: when, how long after the connection's previous
	// segment, and the IP facts that tell a forged one.
	RST       Mark
	RSTPrev   Mark // the connection's packet before it
	RSTIdle   time.Duration
	RSTTTL    uint8
	RSTIPID   uint16
	RSTIPv4   bool
	RSTAck    bool    // the ACK bit was set
	RSTSeq    seq.Num // its sequence number
	RSTSndNxt seq.Num // the sender's SND.NXT as the capture saw it before the RST
	// RSTInFlight is what either end had sent and not seen acknowledged
	// when the RST came: an idle connection has nothing.
	RSTInFlight uint32
	// IPIDBeforeRST is LastIPID when the RST was sent; HadIPID says
	// there was one. PeerIPID is the IP ID of the peer's latest packet
	// then: an injector often copies the ID of the packet it answers.
	IPIDBeforeRST      uint16
	IPIDBeforeRSTFrame int
	HadIPID            bool
	PeerIPID           uint16
	PeerIPIDFrame      int
	PeerHadIPID        bool
	// Data it had received and not answered when it sent its RST: what
	// its application may not have read.
	UnansweredAtRST uint64

	// An RST it sent while tcplens knew it had no socket (closed, in
	// TIME_WAIT, or never seen), answering the peer's segment Answers
	// (whose timestamps are AnswersTSVal and AnswersTSEcr when
	// AnswersHasTS).
	NoSocketRST  Mark
	NoSocketWas  tcp.State
	ClosedAt     Mark // when it had closed, if it had
	Answers      Mark
	AnswersTSVal uint32
	AnswersTSEcr uint32
	AnswersHasTS bool

	// RTO retransmissions: the longest wait and the time all of them cost.
	RTOWorst     Mark
	RTOWorstWait time.Duration
	RTOWorstSRTT time.Duration
	RTOWorstRTO  time.Duration
	RTOWaitTotal time.Duration

	// Retransmissions of segments the capture saw before (lost after the
	// capture point) and of segments the capture missed (lost before it);
	// LostSeen are those of RetransSeen the peer had not acknowledged
	// before (not spurious).
	RetransSeen, RetransUnseen Evidence
	LostSeen                   Evidence
	// Undone are its fast retransmissions that a D-SACK of the peer
	// showed were not needed: the original had arrived, late.
	// DSACKMatched counts the peer's D-SACKs that named one.
	Undone       Evidence
	DSACKMatched int
	fastResent   [16]fastResend // its latest fast retransmissions of data
	fastNext     int

	// Retransmissions, on its timer, of segments larger than any the
	// peer acknowledged at their first sending: a path MTU black hole.
	BigRetrans  Evidence
	BigRetransN int // payload of those segments

	// Zero windows it advertised: each stall from its first zero window to
	// the window it opened again.
	ZeroStalls   int
	ZeroTotal    time.Duration
	ZeroLongest  Stall
	zeroOpen     Stall // the stall under way, Start unset when none
	ZeroAtEnd    bool  // still zero when the connection ended
	ZeroWinProbe Evidence

	// ECN.
	ECT, CE  int
	CEFrames []int
	ECE, CWR Evidence

	Urgent Evidence
}

// fastResend is what a fast retransmission counted as a loss, to take
// back if a D-SACK shows it was not needed: LostSeen, or the bytes of the
// hole (opened before frame opener) it filled.
type fastResend struct {
	frame, opener int32
	filled        uint32
	lostSeen      bool
}

// undo takes back what the fast retransmission of frame counted as a
// loss: the peer's D-SACK showed the original had arrived.
func (s *SideFacts) undo(frame int) {
	for i := range s.fastResent {
		x := &s.fastResent[i]
		if int(x.frame) != frame {
			continue
		}
		if x.lostSeen {
			s.LostSeen.remove(frame)
		}
		if x.opener != 0 {
			s.holesLost.remove(int(x.opener))
			s.cover.lateBytes += uint64(x.filled)
		}
		*x = fastResend{}
		return
	}
}

// IPIDGap is a packet whose IP ID skips numbers after its sender's
// previous packet.
type IPIDGap struct {
	Prev, At Mark
	Missing  int
	// Fill says it carried bytes below the highest its sender had sent:
	// it filled a hole. Data says it carried payload. DataLoss says what
	// never came carried data: the packet after it fills a hole, opens
	// one, or comes with data after a pause a retransmission timer
	// takes; one that carries on the sequence where the capture left it
	// says the packets lost before it carried none (ACKs, window
	// updates).
	Fill, Data, DataLoss bool
	from, to             uint16 // the IP IDs on either side
}

// Trusted reports whether a side's IP IDs count up one by one (Linux's
// per-connection counter), so that a gap means packets the capture point
// never saw: a sender whose TTLs say an initial TTL of 64 (Linux's; 128
// is Windows's, whose one counter for every packet of the host, UDP too,
// leaves gaps that are no loss), no other connection's packet of the host
// taking a number in its gaps, at least four steps of one, and three in
// four steps one (a short connection that lost a packet before the
// capture point has one gap in a handful of steps; random IDs step by
// one almost never).
func (s *SideFacts) IPIDTrusted() bool {
	return s.Exchange != nil && !s.ipidShared && s.TTLMax <= 64 && s.IPIDOnes >= 4 && s.IPIDOnes*4 >= s.IPIDSteps*3
}

// exchange allocates the side's Exchange if it has none.
func (s *SideFacts) exchange() {
	if s.Exchange == nil {
		s.Exchange = &Exchange{}
	}
}

// unusual allocates the side's Unusual facts (and its Exchange) if it
// has none.
func (s *SideFacts) unusual() {
	s.exchange()
	if s.Unusual == nil {
		s.Unusual = &Unusual{}
	}
}

// The Exchange and Unusual facts of a side that never needed them: the
// rules read every field of an ended connection, and read these instead
// of a kilobyte allocated for each SYN of a flood. Nothing writes them:
// rules only read facts (TestEmptyFactsUnwritten).
var (
	noUnusual  Unusual
	noExchange = Exchange{Unusual: &noUnusual}
)

// readable gives the rules every field of the side to read, without
// allocating what it never needed (see noExchange).
func (s *SideFacts) readable() {
	switch {
	case s.Exchange == nil:
		s.Exchange = &noExchange
	case s.Unusual == nil:
		s.Unusual = &noUnusual
	}
}

// KindEvidence is the evidence of one analysis kind.
type KindEvidence struct {
	Kind event.Kind
	Evidence
}

// Kind returns the evidence of kind k (zero if never seen).
func (s *SideFacts) Kind(k event.Kind) Evidence {
	for _, e := range s.Kinds {
		if e.Kind == k {
			return e.Evidence
		}
	}
	return Evidence{}
}

// removeKind takes frame out of the evidence of kind k: a later segment
// showed it was something else.
func (s *SideFacts) removeKind(k event.Kind, frame int) {
	for i := range s.Kinds {
		if s.Kinds[i].Kind == k {
			s.Kinds[i].remove(frame)
			return
		}
	}
}

func (s *SideFacts) addKind(k event.Kind, frame int) {
	for i := range s.Kinds {
		if s.Kinds[i].Kind == k {
			s.Kinds[i].add(frame)
			return
		}
	}
	s.Kinds = append(s.Kinds, KindEvidence{Kind: k})
	s.Kinds[len(s.Kinds)-1].add(frame)
}

// smallSent is a small data segment waiting for its ACK.
type smallSent struct {
	end  seq.Num
	at   Mark
	live bool
}

// sentRing remembers the last data segments a side sent, to learn which
// sizes the path delivers.
type sentRing struct {
	seg  [16]sentSeg
	next int
}

// sentSeg is one sent segment, in 16 bytes: the ring is in every
// data-sending side of every open connection.
type sentSeg struct {
	start, end seq.Num
	frame      int32
	len        uint16
	resent     bool
	live       bool
}

// CaptureFacts counts what concerns the capture as a whole.
type CaptureFacts struct {
	Truncated      int // segments whose payload the snapshot length cut
	TruncatedFirst int // the first such frame
	Offloaded      int // segments with a bad checksum that checksum offload explains
	OffloadFirst   int
	OffloadHost    netip.Addr // the sender of the first: the capturing host
}

// add adds the counts of another part of the capture (a worker's).
func (c *CaptureFacts) add(o *CaptureFacts) {
	c.Truncated += o.Truncated
	if o.TruncatedFirst != 0 && (c.TruncatedFirst == 0 || o.TruncatedFirst < c.TruncatedFirst) {
		c.TruncatedFirst = o.TruncatedFirst
	}
	c.Offloaded += o.Offloaded
	if o.OffloadFirst != 0 && (c.OffloadFirst == 0 || o.OffloadFirst < c.OffloadFirst) {
		c.OffloadFirst, c.OffloadHost = o.OffloadFirst, o.OffloadHost
	}
}

// Segment records what one analysed segment shows.
func (col *Collector) Segment(s *analyze.Segment) {
	if s.Conn == nil || s.Seg == nil {
		return
	}
	f := col.facts(s.Conn)
	seg, r := s.Seg, s.Result
	now := Mark{Frame: s.Frame.Number, Time: s.Frame.Time}
	if now.Time >= col.last.Time {
		col.last = now
	}
	me := f.Side(s.Dir)
	if !seg.Flags.Has(wire.RST) {
		// The host table counts every packet its address's TTL arrived
		// with, a second copy of one included: what a run that does not
		// analyse other connections' segments counts alike (Skipped). A
		// worker of a parallel analysis leaves that to the merging
		// Collector, which hears of every segment in order (Note), and
		// keeps only the host's latest IP ID (Other).
		if !me.hostFound {
			me.host, me.hostFound = col.hosts.entry(seg.Src.Addr()), true
		}
		if !col.noted {
			col.hosts.add(me.host, seg.TTL)
		}
	}
	if r.Analysis.Has(event.DuplicateFrame) {
		return // a second copy of a packet says nothing new
	}
	if seg.Truncated() {
		f.Truncated++
		col.Stats.Truncated++
		if col.Stats.TruncatedFirst == 0 {
			col.Stats.TruncatedFirst = now.Frame
		}
	}
	col.offload(seg, now)
	if f.Segments > 0 {
		if gap := now.Time.Sub(f.Last.Time); gap > f.MaxGap {
			f.MaxGap, f.GapBefore, f.GapAfter = gap, f.Last, now
		}
	}
	peer := f.Side(1 - s.Dir)
	from := &s.Conn.Ends[s.End]
	to := &s.Conn.Ends[1-s.End]
	// Only a bare SYN or SYN-ACK leaves the sides lean: everything the
	// code below writes of an Exchange needs a segment of another kind,
	// and acked looks at a lean side's Exchange not at all.
	lean := seg.Flags.Has(wire.SYN) && !seg.Flags.Any(wire.RST|wire.FIN|wire.URG) && seg.PayloadLen == 0 && seg.ECN == 0 &&
		!r.Analysis.Has(event.Retransmission) && !r.Analysis.Has(event.SpuriousRetransmission)
	if !lean {
		me.exchange()
		peer.exchange()
	}
	if seg.Flags.Any(wire.RST|wire.URG) || seg.ECN != 0 || (!seg.Flags.Has(wire.SYN) && seg.Flags.Any(wire.ECE|wire.CWR)) ||
		r.Analysis.Has(event.Retransmission) || r.Analysis.Has(event.SpuriousRetransmission) || r.Analysis.Has(event.ZeroWindowProbe) {
		me.unusual()
	}
	me.Packets++
	if seg.Flags.Has(wire.RST) && !me.NoSocketRST.Seen() && peer.Packets > 0 {
		before := from.State
		corrected := false
		for _, ch := range r.Changes {
			if ch.Sender {
				before = ch.From
				// Taken back to CLOSED at its RST: it had no socket
				// before it, unseen (tcp's bare RST answering data).
				corrected = ch.Correction && ch.State == tcp.Closed
				break
			}
		}
		// A bare RST whose sequence number is the ACK of the segment it
		// answers is the form RFC 9293 (3.10.7.1) gives a segment that
		// finds no connection; an end that had one resets with ACK set.
		// As its sender's first packet in the capture, it says the
		// connection was gone before the capture began.
		if me.Packets == 1 && !seg.Flags.Has(wire.ACK) && seg.Seq == to.RcvNxt {
			before = tcp.Unknown
		}
		if before == tcp.Closed || before == tcp.Unknown || corrected {
			me.NoSocketRST, me.NoSocketWas, me.Answers = now, before, f.Last
			if peer.Exchange != nil {
				me.AnswersTSVal, me.AnswersTSEcr, me.AnswersHasTS = peer.TSVal, peer.TSEcr, peer.HasTSVal
			}
			for _, t := range from.History {
				if t.State == tcp.Closed && t.Frame < now.Frame && t.Frame != 0 {
					me.ClosedAt = Mark{Frame: t.Frame, Time: t.Time}
				}
			}
		}
	}
	if me.Exchange != nil && !seg.Flags.Has(wire.RST) {
		me.ipidStep(seg, now)
	}
	// An RST's timestamps are left out: a receiver's TS.Recent never
	// takes them.
	if me.Exchange != nil && seg.Options.Has(wire.HasTimestamps) && !seg.Flags.Has(wire.RST) {
		if !me.HasTSVal {
			me.FirstTSVal, me.FirstTSTime = seg.Options.TSVal, now.Time
		}
		me.TSVal, me.TSEcr, me.TSTime, me.HasTSVal = seg.Options.TSVal, seg.Options.TSEcr, now.Time, true
	}
	for _, ch := range r.Changes {
		closed, other := peer, me
		if ch.Sender {
			closed, other = me, peer
		}
		// Up to its first RST without a socket, whose own move to
		// CLOSED is no close.
		if ch.State == tcp.Closed && closed.Exchange != nil && other.Exchange != nil && (closed.Unusual == nil || !closed.NoSocketRST.Seen()) {
			closed.clocksAtClose(other, now.Time)
		}
	}
	if peer.Exchange != nil && seg.Flags.Has(wire.ACK) && !seg.Flags.Has(wire.RST) {
		peer.cover.acked(peer, seg.Ack, now)
	}
	col.ipFacts(f, me, from, to, seg, now)
	if seg.Flags.Has(wire.RST) && me.RST == now {
		me.PeerIPID, me.PeerIPIDFrame, me.PeerHadIPID = peer.LastIPID, peer.LastIPIDFrame, peer.IPv4 > 0
	}
	if seg.Flags.Has(wire.FIN) && !me.FIN.Seen() {
		me.FIN = now
	}
	if seg.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN|wire.ACK {
		switch {
		case !me.LastSYNACK.Seen():
			me.SYNACKTSVal, me.SYNACKTSEcr, me.SYNACKHasTS, me.SYNACKSeq = seg.Options.TSVal, seg.Options.TSEcr, seg.Options.Has(wire.HasTimestamps), seg.Seq
		case seg.Seq == me.SYNACKSeq && len(me.SYNACKAgain) < maxEvidence:
			me.SYNACKAgain = append(me.SYNACKAgain, now.Frame)
		}
		me.LastSYNACK = now
	}
	if seg.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN {
		me.SYNs++
		if len(me.SYNMarks) < maxEvidence {
			me.SYNMarks = append(me.SYNMarks, now)
		}
		if !me.FirstSYN.Seen() {
			me.FirstSYN = now
			me.SYNTSVal, me.SYNHasTS = seg.Options.TSVal, seg.Options.Has(wire.HasTimestamps)
		}
		if !to.Handshake.Seen || to.Handshake.Frame > now.Frame {
			me.AnsweredSYN, me.AnsweredSYNTSVal = now, seg.Options.TSVal
		}
	}
	if !r.Analysis.Empty() {
		for _, k := range r.Analysis.Kinds() {
			me.addKind(k, now.Frame)
		}
	}
	if me.Exchange != nil && me.probe.Seen() {
		me.ProbeUnanswered.add(me.probe.Frame)
		me.probe = Mark{}
	}
	if peer.Exchange != nil && peer.probe.Seen() {
		peer.ProbeAnswered.add(now.Frame)
		peer.probe = Mark{}
	}
	if r.Analysis.Has(event.KeepAlive) {
		me.probe = now
	}
	if seg.Flags.Has(wire.URG) {
		me.Urgent.add(now.Frame)
	}
	col.ecn(me, seg, now)
	lostSeen := col.retransmissions(me, seg, r, now)
	if me.Exchange != nil && !seg.Flags.Has(wire.RST) {
		opener, filled := me.cover.sent(me, seg, now, r.SentBefore.Frame != 0)
		if r.Analysis.Has(event.FastRetransmission) && seg.PayloadLen > 0 && me.Unusual != nil {
			me.fastResent[me.fastNext] = fastResend{frame: int32(now.Frame), opener: int32(opener), filled: uint32(min(filled, 1<<32-1)),
				lostSeen: lostSeen}
			me.fastNext = (me.fastNext + 1) % len(me.fastResent)
		}
	}
	if r.Undid != 0 && peer.Exchange != nil {
		me.unusual()
		me.DSACKMatched++
		if r.UndidKind == event.FastRetransmission {
			// The peer's resend was not needed: the data had arrived.
			peer.unusual()
			peer.removeKind(r.UndidKind, r.Undid)
			peer.undo(r.Undid)
			peer.Undone.add(r.Undid)
		}
	}
	col.window(me, peer, from, seg, r, now)
	if seg.PayloadLen > 0 {
		col.data(me, peer, from, to, seg, r, now)
	}
	if seg.Flags.Has(wire.ACK) && !seg.Flags.Has(wire.RST) {
		col.acked(peer, me, to, from, seg, now)
	}
	f.Segments++
	f.Last = now
}

// Skipped records what a segment of a connection this run does not
// analyse (export --shard leaves it to another run) says of the capture as
// a whole: its sender's TTL, which the rules about other connections
// compare an RST's with, and the capture's clock. Fed every such segment,
// a Collector diagnoses its connections exactly as one that analyses all.
func (col *Collector) Skipped(fr *pcap.Frame, seg *wire.Segment) {
	// The capture's end is the same in every shard: a rule that measures
	// to it (how long a FIN went unanswered) must not fall back to the
	// connection's own end for want of the frame.
	if fr.Time >= col.last.Time {
		col.last = Mark{Frame: fr.Number, Time: fr.Time}
	}
	if !seg.Flags.Has(wire.RST) {
		col.hosts.add(col.hosts.entry(seg.Src.Addr()), seg.TTL)
		if seg.IPVersion == 4 && seg.IPID != 0 {
			col.Other(seg.Src.Addr(), seg.IPID)
		}
	}
}

// otherSide stands for the side of a connection a Collector does not
// analyse, as the latest sender of a host's IP IDs.
var otherSide SideFacts

// Other records that host src sent IP ID ipid in a connection this
// Collector does not analyse (another shard's, another worker's): a gap
// in the IP IDs of the host's connections here that this packet took a
// number of is its shared counter, not a loss (ipidStep), as a run that
// analyses every connection reads it.
func (col *Collector) Other(src netip.Addr, ipid uint16) {
	if h := col.hosts.entry(src); h != nil {
		h.lastIPID, h.lastSide = ipid, &otherSide
	}
}

// offload counts the segments whose bad checksum checksum offload at the
// capturing host explains (the analysis flags only the others). The whole
// checksum is computed only for segments whose header already looks like
// offload's, so a capture without offload costs nothing here.
func (col *Collector) offload(seg *wire.Segment, now Mark) {
	if seg.TCP == nil || seg.Truncated() || len(seg.TCP) < seg.HeaderLen || seg.OffloadCause(seg.HeaderLen+seg.PayloadLen) == wire.NoOffload {
		return
	}
	if status, _, cause := seg.VerifyChecksum(); status == wire.ChecksumIncorrect && cause != wire.NoOffload {
		col.Stats.Offloaded++
		if col.Stats.OffloadFirst == 0 {
			col.Stats.OffloadFirst, col.Stats.OffloadHost = now.Frame, seg.Src.Addr()
		}
	}
}

// ipFacts records the TTL and IP ID of a side's own packets, and those of
// its first RST apart.
func (col *Collector) ipFacts(f *Facts, me *SideFacts, from, peerEnd *tcp.Endpoint, seg *wire.Segment, now Mark) {
	if seg.Flags.Has(wire.RST) {
		if !me.RST.Seen() {
			me.RST = now
			if f.Segments > 0 {
				me.RSTIdle, me.RSTPrev = now.Time.Sub(f.Last.Time), f.Last
			}
			me.RSTTTL, me.RSTIPID, me.RSTIPv4 = seg.TTL, seg.IPID, seg.IPVersion == 4
			me.RSTAck = seg.Flags.Has(wire.ACK)
			me.RSTSeq = seg.Seq
			me.RSTSndNxt = from.SndNxt
			me.RSTInFlight = uint32(from.SndNxt-from.SndUna) + inFlightOf(peerEnd)
			me.IPIDBeforeRST, me.IPIDBeforeRSTFrame, me.HadIPID = me.LastIPID, me.LastIPIDFrame, me.IPv4 > 0
			me.UnansweredAtRST = me.unanswered
		}
		return
	}
	if !seg.Flags.Has(wire.SYN) && !me.FirstNonSYN.Seen() {
		me.FirstNonSYN = now
		me.FirstNonSYNTS, me.FirstNonSYNHas = seg.Options.TSEcr, seg.Options.Has(wire.HasTimestamps)
		me.FirstNonSYNGap, me.FirstNonSYNPrv = -1, me.LastIPIDFrame
		if seg.IPVersion == 4 && me.IPv4 > 0 && seg.IPID != 0 && me.LastIPID != 0 {
			me.FirstNonSYNGap = int(seg.IPID - me.LastIPID - 1)
		}
	}
	if me.TTLCount == 0 || seg.TTL < me.TTLMin {
		me.TTLMin = seg.TTL
	}
	me.TTLMax = max(me.TTLMax, seg.TTL)
	me.TTLCount++
	if seg.IPVersion == 4 {
		me.IPv4++
		// A packet captured after a later one (its IP ID behind) does
		// not move the mark back.
		if me.LastIPID == 0 || seg.IPID == 0 || seg.IPID-me.LastIPID < 0x8000 {
			me.LastIPID, me.LastIPIDFrame, me.lastIPIDTime = seg.IPID, now.Frame, now.Time
		}
		if me.host != nil && seg.IPID != 0 {
			me.host.lastIPID, me.host.lastSide = seg.IPID, me
		}
		if seg.IPID == 0 {
			me.IPIDZero++
		}
	}
}

func (col *Collector) ecn(me *SideFacts, seg *wire.Segment, now Mark) {
	switch seg.ECN {
	case 1, 2:
		me.ECT++
	case 3:
		me.CE++
		if len(me.CEFrames) < maxEvidence {
			me.CEFrames = append(me.CEFrames, now.Frame)
		}
	}
	if !seg.Flags.Has(wire.SYN) {
		if seg.Flags.Has(wire.ECE) {
			me.ECE.add(now.Frame)
		}
		if seg.Flags.Has(wire.CWR) {
			me.CWR.add(now.Frame)
		}
	}
}

// retransmissions records a retransmission; lostSeen says it counted
// among LostSeen.
func (col *Collector) retransmissions(me *SideFacts, seg *wire.Segment, r *tcp.Result, now Mark) (lostSeen bool) {
	a := r.Analysis
	if !a.Has(event.Retransmission) && !a.Has(event.SpuriousRetransmission) {
		return false
	}
	if seg.PayloadLen > 0 {
		// Data only: lost SYNs and FINs are the handshake's and the
		// teardown's findings. Seen means the capture saw a packet
		// carry those bytes before: what the analysis counts as resent
		// may be the first copy of bytes lost before the capture point.
		if me.Exchange != nil && me.cover.seenBefore(seg.Seq, seg.Seq.Add(uint32(seg.PayloadLen))) {
			me.RetransSeen.add(now.Frame)
			if !a.Has(event.SpuriousRetransmission) {
				me.LostSeen.add(now.Frame)
				lostSeen = true
			}
		} else {
			me.RetransUnseen.add(now.Frame)
		}
	}
	if a.Has(event.RTORetransmission) {
		wait := r.SincePrev
		if wait == 0 {
			wait = r.RetransDelay
		}
		me.RTOWaitTotal += wait
		if wait > me.RTOWorstWait {
			me.RTOWorst, me.RTOWorstWait, me.RTOWorstSRTT, me.RTOWorstRTO = now, wait, r.SRTT, r.RTO
		}
	}
	if me.sent != nil && seg.PayloadLen > 0 {
		me.sent.resend(seg.Seq)
		if seg.PayloadLen > me.MaxDelivered && (a.Has(event.RTORetransmission) || a.Has(event.TailLossProbe)) {
			me.BigRetrans.add(now.Frame)
			me.BigRetransN = max(me.BigRetransN, seg.PayloadLen)
		}
	}
	return lostSeen
}

// window follows the windows a side advertises: each zero-window stall,
// and the largest window, which bounds what the peer may send.
func (col *Collector) window(me, peer *SideFacts, from *tcp.Endpoint, seg *wire.Segment, r *tcp.Result, now Mark) {
	if seg.Flags.Any(wire.SYN | wire.RST) {
		return
	}
	if r.Analysis.Has(event.ZeroWindowProbe) {
		me.ZeroWinProbe.add(now.Frame)
	}
	if r.WindowScaled >= 0 {
		peer.MaxPeerWnd = max(peer.MaxPeerWnd, uint32(r.WindowScaled))
	}
	switch {
	case seg.Window == 0 && !seg.Flags.Has(wire.FIN):
		me.unusual()
		if !me.zeroOpen.Start.Seen() {
			me.zeroOpen.Start = now
		}
		me.ZeroAtEnd = true
	case seg.Window > 0 && me.Unusual != nil && me.zeroOpen.Start.Seen():
		me.zeroOpen.End = now
		me.closeStall()
		me.ZeroAtEnd = false
	}
}

func (s *SideFacts) closeStall() {
	st := s.zeroOpen
	s.zeroOpen = Stall{}
	s.ZeroStalls++
	s.ZeroTotal += st.Duration()
	if st.Duration() > s.ZeroLongest.Duration() || !s.ZeroLongest.Start.Seen() {
		s.ZeroLongest = st
	}
}

// data records a data segment against the peer's window, the pauses
// before it and the Nagle pattern.
func (col *Collector) data(me, peer *SideFacts, from, to *tcp.Endpoint, seg *wire.Segment, r *tcp.Result, now Mark) {
	me.DataSegments++
	me.unanswered = 0
	if !r.Analysis.Has(event.Retransmission) {
		peer.unanswered += uint64(seg.PayloadLen)
	}
	if !me.FirstData.Seen() {
		me.FirstData = now
	}
	me.LastData = now
	me.MaxPayload = max(me.MaxPayload, seg.PayloadLen)
	// Data after the peer's FIN that the peer had not acknowledged: a
	// resend of bytes it had (a spurious retransmission crossing the
	// FIN) brings it nothing new.
	if end, from := seg.Seq.Add(uint32(seg.PayloadLen)), seg.Seq; to.SentFIN && to.FINFrame < now.Frame && end.Greater(to.RcvNxt) {
		if from.Less(to.RcvNxt) {
			from = to.RcvNxt
		}
		me.AfterPeerFIN += uint64(end.Sub(from))
		if !me.AfterPeerFINFirst.Seen() {
			me.AfterPeerFINFirst = now
		}
	}
	retrans := r.Analysis.Has(event.Retransmission) || r.Analysis.Has(event.SpuriousRetransmission)
	if me.sent == nil {
		me.sent = &sentRing{}
	}
	if !retrans {
		me.sent.push(seg.Seq, seg.SeqEnd(), seg.PayloadLen, now.Frame)
	}

	rwnd := from.SndWnd
	mss := uint32(max(from.MSS, 536))
	minRTT := rttFloor(from, to)
	// What the sender has unacknowledged, as the capture point can tell:
	// next to the sender, its SND.NXT less SND.UNA; next to the receiver
	// the ACKs leave at once and that difference says nothing, but a
	// flight still arrives within one round trip, so the bytes sent in
	// the last round trip measure it wherever the capture was taken.
	inFlight := uint32(from.SndNxt - from.SndUna)
	if !retrans {
		inFlight = max(inFlight, me.flight.add(now.Time, uint64(seg.PayloadLen), minRTT))
	}
	if rwnd > 0 {
		inFlight = min(inFlight, rwnd)
	}
	if inFlight > me.MaxInFlight {
		me.MaxInFlight, me.PeerWindow = inFlight, rwnd
	}
	if !retrans && me.lastDataSent.Seen() {
		before := inFlight - min(inFlight, uint32(seg.PayloadLen))
		pause := now.Time.Sub(me.lastDataSent.Time)
		sinceAck := now.Time.Sub(me.lastAckIn.Time)
		switch {
		case before == 0 && me.lastAckIn.Seen() && sinceAck > ackClockSlack(minRTT) && pause > 2*minRTT && me.gapFrame != now.Frame:
			// Everything was acknowledged and the sender stayed silent
			// longer than an ACK takes to clock data out: its
			// application had nothing to send. (Unless IP IDs were
			// skipped just before: then it sent packets the capture
			// point never saw, and the silence may be their timer's.)
			me.AppPauses.add(now.Frame)
			me.AppPauseTime += sinceAck
		case before > 0 && me.lastAckIn.Seen() && sinceAck <= ackClockSlack(minRTT) && pause >= minRTT/2 && rwnd > 0 &&
			before+uint32(seg.PayloadLen) < rwnd/2:
			// It waited with data in flight and resumed at an ACK, far
			// from the receiver's window: its congestion window held it.
			me.CwndBound.add(now.Frame)
		}
	}
	// The receiver's window is full when less than two full-sized
	// segments (or a tenth of it, for a window of few segments) would
	// still fit in it: Linux rounds windows to whole segments and does not
	// send a small tail it can defer, so an exact fill (tshark's
	// window_full) is rarer than a full window.
	if !retrans && rwnd > 0 && inFlight+min(2*mss, rwnd/10) > rwnd {
		me.WindowBound.add(now.Frame)
	}

	// Nagle: the segment leaves right after a delayed ACK of the
	// previous small one. Small is below a full segment, the MSS less
	// the options every segment carries (Linux's mss_now: 1448 with
	// timestamps); and a segment that reached the receiver's window was
	// cut by the window, not held back by Nagle.
	full := int(mss)
	if from.Timestamps {
		full -= 12
	}
	small := !retrans && seg.PayloadLen < full && (rwnd == 0 || inFlight+uint32(full) <= rwnd)
	if small && me.nagleAck.Seen() {
		if now.Time.Sub(me.nagleAck.Time) <= ackClockSlack(minRTT) {
			me.Nagle.add(now.Frame)
			me.NagleHeld += me.nagleWait
		}
	}
	me.nagleAck = Mark{}
	if small {
		me.small = smallSent{end: seg.SeqEnd(), at: now, live: true}
	} else {
		me.small.live = false
	}
	me.lastDataSent = now
}

// acked handles an ACK from the peer of side me (sent by `by`): delivered
// segment sizes, the ACK clock, and delayed ACKs of small segments.
func (col *Collector) acked(me, by *SideFacts, meEnd, byEnd *tcp.Endpoint, seg *wire.Segment, now Mark) {
	if me.Exchange == nil {
		return // it sent neither data nor FIN: nothing of its to acknowledge
	}
	if me.sent != nil {
		if n, frame := me.sent.ackUpTo(seg.Ack); n > me.MaxDelivered {
			me.MaxDelivered, me.MaxDeliveredFrame = n, frame
		}
	}
	if meEnd.SentFIN && seg.Ack.Greater(meEnd.FINSeq) && !me.FINAcked.Seen() {
		me.FINAcked = now
	}
	if me.lastDataSent.Seen() && seg.Ack.Greater(meEnd.SndUna-1) {
		me.lastAckIn = now
	}
	if me.small.live && seg.Ack.GreaterEq(me.small.end) {
		wait := now.Time.Sub(me.small.at.Time)
		// A delayed ACK waits 40 ms (Linux) to 200 ms (Windows), never
		// more than 500 ms (RFC 1122 4.2.3.2), and well beyond a round trip.
		if wait >= max(20*time.Millisecond, 2*rttFloor(meEnd, byEnd)) && wait <= 500*time.Millisecond && seg.PayloadLen == 0 {
			me.nagleAck, me.nagleWait = now, wait
		}
		me.small.live = false
	}
}

// facts returns the facts of open connection c, made at its first
// segment.
func (col *Collector) facts(c *conn.Conn) *Facts {
	// Segments come in runs of one connection's: the latest connection's
	// facts spare a map lookup per segment.
	if c == col.recent && col.recentFacts != nil {
		return col.recentFacts
	}
	f := col.open[c]
	if f == nil {
		f = spareFacts.Get().(*Facts)
		col.open[c] = f
	}
	col.recent, col.recentFacts = c, f
	return f
}

// End ends a connection: its summary, its facts, and the per-connection
// part of its diagnosis. The Collector forgets its facts.
func (col *Collector) End(c *conn.Conn, why conn.EndReason) Conn {
	var out Conn
	col.end(c, why, &out)
	return out
}

// end is End into *out, which OnConn reuses for every connection.
func (col *Collector) end(c *conn.Conn, why conn.EndReason, out *Conn) {
	f := col.open[c]
	delete(col.open, c)
	if c == col.recent {
		col.recent, col.recentFacts = nil, nil
	}
	if f == nil {
		f = &Facts{}
	}
	for _, s := range []*SideFacts{&f.Client, &f.Server} {
		if s.Exchange != nil {
			s.sent = nil
			if s.probe.Seen() {
				s.ProbeUnanswered.add(s.probe.Frame)
				s.probe = Mark{}
			}
			if s.Unusual != nil && s.zeroOpen.Start.Seen() {
				s.zeroOpen.End = f.Last
				s.closeStall()
				s.ZeroAtEnd = true
			}
		}
		s.readable() // the rules read every field
	}
	*out = Conn{Summary: analyze.Summarize(c, why), Facts: f}
}

// spareFacts are ended connections' facts, zeroed, for new ones: a flood,
// where one connection ends as the next begins, allocates none. The
// merging goroutine of a parallel analysis puts them, the workers get
// them.
var spareFacts = sync.Pool{New: func() any { return new(Facts) }}

// release takes back the facts of a connection the rules are done with.
func release(f *Facts) {
	*f = Facts{}
	spareFacts.Put(f)
}

// flightMeter estimates the bytes a sender put on the path within the
// last round trip, with two buckets a round trip wide: constant memory,
// however large the window.
type flightMeter struct {
	start     pcap.Time
	cur, prev uint64
}

// add counts n bytes sent at t and returns the bytes sent in the round
// trip (rtt) before t, the older bucket weighed by how much of it the
// round trip still covers.
func (m *flightMeter) add(t pcap.Time, n uint64, rtt time.Duration) uint32 {
	if rtt <= 0 {
		return 0
	}
	switch el := t.Sub(m.start); {
	case el >= 2*rtt || m.start == 0:
		m.start, m.cur, m.prev = t, 0, 0
	case el >= rtt:
		m.start, m.prev, m.cur = m.start+pcap.Time(rtt), m.cur, 0
	}
	m.cur += n
	left := 1 - float64(t.Sub(m.start))/float64(rtt)
	return uint32(float64(m.cur) + float64(m.prev)*max(left, 0))
}

// inFlightOf is what an end has sent and not seen acknowledged; a FIN
// takes one.
func inFlightOf(e *tcp.Endpoint) uint32 { return uint32(e.SndNxt - e.SndUna) }

// rttFloor is the connection's round trip as the capture point can
// measure it without a handshake: the two quickest half-loops (capture
// point to one end and back, and to the other) add up to the path's RTT
// wherever the capture was taken; 1 ms when nothing was measured.
func rttFloor(a, b *tcp.Endpoint) time.Duration {
	d := a.RTT.Min + b.RTT.Min
	if a.RTT.Min == 0 || b.RTT.Min == 0 {
		d = max(a.RTT.Min, b.RTT.Min)
	}
	if d == 0 {
		return time.Millisecond
	}
	return d
}

// ackClockSlack is how soon after an ACK a segment must leave to have
// been sent because of it: at once at a capture point next to the sender,
// a round trip later next to the receiver.
func ackClockSlack(minRTT time.Duration) time.Duration {
	return max(2*time.Millisecond, minRTT+minRTT/4)
}

func (r *sentRing) push(start, end seq.Num, n, frame int) {
	r.seg[r.next] = sentSeg{start: start, end: end, frame: int32(frame), len: uint16(min(n, 65535)), live: true}
	r.next = (r.next + 1) % len(r.seg)
}

func (r *sentRing) resend(start seq.Num) {
	for i := range r.seg {
		if r.seg[i].live && r.seg[i].start == start {
			r.seg[i].resent = true
		}
	}
}

// ackUpTo retires the segments ack covers and returns the largest of
// them that was delivered at its first sending, and its frame.
func (r *sentRing) ackUpTo(ack seq.Num) (int, int) {
	best, frame := 0, 0
	for i := range r.seg {
		s := &r.seg[i]
		if s.live && s.end.LessEq(ack) {
			if !s.resent && int(s.len) > best {
				best, frame = int(s.len), int(s.frame)
			}
			s.live = false
		}
	}
	return best, frame
}

// ipidStep records the step from the side's previous packet's IP ID to
// this one's; it runs before ipFacts records this one.
func (s *SideFacts) ipidStep(seg *wire.Segment, now Mark) {
	if seg.IPVersion != 4 || seg.IPID == 0 || s.LastIPIDFrame == 0 || s.LastIPID == 0 {
		return
	}
	d := seg.IPID - s.LastIPID
	switch {
	case d == 1:
		s.IPIDOnes++
		s.IPIDSteps++
	case d > 1 && d <= 16 && s.host != nil && s.host.lastSide != nil && s.host.lastSide != s && s.host.lastIPID-s.LastIPID < d:
		// The host's packet of another connection took a number
		// between: one counter for all its packets (Windows), whose
		// gaps say nothing of loss.
		s.IPIDSteps++
		s.ipidShared = true
	case d > 1 && d <= 16:
		s.IPIDSteps++
		s.IPIDMissing += int(d - 1)
		s.IPIDSkips++
		s.gapFrame = now.Frame
		fill := s.cover.set && seg.Seq.Less(s.cover.hi)
		hole := s.cover.set && seg.Seq.Greater(s.cover.hi)
		dataLoss := fill || (seg.PayloadLen > 0 && (hole || now.Time.Sub(s.lastIPIDTime) >= rtoMin))
		if dataLoss {
			s.IPIDDataSkips++
			s.IPIDDataMissing += int(d - 1)
		}
		if len(s.IPIDGaps) < maxEvidence {
			s.IPIDGaps = append(s.IPIDGaps, IPIDGap{
				Prev: Mark{Frame: s.LastIPIDFrame, Time: s.lastIPIDTime}, At: now, Missing: int(d - 1),
				Fill: fill, Data: seg.PayloadLen > 0, DataLoss: dataLoss,
				from: s.LastIPID, to: seg.IPID,
			})
		}
	case int16(d) < 0:
		// An earlier packet captured late (the path or the capture
		// reordered them): one of a gap's missing numbers, not lost.
		if d < 0xffff-16 {
			s.IPIDSteps++ // far behind: a step as random IDs make
		}
		for i := len(s.IPIDGaps) - 1; i >= 0; i-- {
			g := &s.IPIDGaps[i]
			if seg.IPID-g.from < g.to-g.from {
				s.IPIDMissing--
				if g.DataLoss {
					s.IPIDDataMissing--
				}
				if g.Missing--; g.Missing == 0 {
					if g.DataLoss {
						s.IPIDDataSkips--
					}
					s.IPIDGaps = slices.Delete(s.IPIDGaps, i, i+1)
					s.IPIDSkips--
				}
				break
			}
		}
	default:
		s.IPIDSteps++
	}
}

// unfilled is how many holes no packet filled, and their bytes.
func (c *coverage) unfilled() (int, uint64) {
	var b uint64
	for _, h := range c.holes[:c.n] {
		b += uint64(h.end - h.start)
	}
	return c.n, b
}

// Complete reports whether the capture saw every byte of the side that
// its peer acknowledged (as far as the coverage could follow).
func (s *SideFacts) Complete() bool {
	return s.Exchange == nil || (s.AckedUnseen == 0 && !s.cover.overflow)
}

// maxWindow is the largest window TCP can offer (RFC 7323: 2^30 bytes):
// no acknowledgment runs further ahead of what its peer was seen to send.
const maxWindow = 1 << 30

// maxHoles bounds the unfilled holes a side's coverage remembers: a
// capture that misses more at once still counts the bytes, in the hole
// that absorbs the rest.
const maxHoles = 8

// coverage follows what the capture saw of one side's sequence space, in
// constant memory: the highest byte seen, and the holes below it that no
// packet has filled yet. Bytes the peer acknowledges in a hole, or beyond
// the highest seen, were never captured.
type coverage struct {
	set   bool
	isn   seq.Num // its SYN's, when seen
	lo    seq.Num // the lowest byte seen (mid-stream, the bytes below were never captured)
	hi    seq.Num // the end of the highest bytes seen
	una   seq.Num // the peer's highest acknowledgment so far
	holes [maxHoles]hole
	n     int
	// opened counts the holes, openedBytes their bytes when they opened;
	// lateBytes are those of them no loss emptied: originals filled them
	// that their sender's clock says it sent before a segment above them
	// the capture saw first, or a fast retransmission that a D-SACK
	// showed was not needed.
	opened      int
	openedBytes uint64
	lateBytes   uint64
	// overflow says more holes came at once than it could follow: what
	// it says of seen and missed bytes is then approximate.
	overflow bool
}

// hole is bytes no packet carried yet; opener is the frame that went
// beyond them, and lost says a retransmission filled some of them (all
// of a hole's parts say it once one does).
type hole struct {
	start, end seq.Num
	opener     int32
	lost       bool
}

// sent records what a packet of the side carried; late says its
// sender's clock puts it before a packet above it captured first (an
// original the path delivered late).
//
// It returns the hole it marked lost (its opener) and the bytes it filled
// in holes.
func (c *coverage) sent(s *SideFacts, seg *wire.Segment, now Mark, late bool) (opener int, filled uint64) {
	start, end := seg.Seq, seg.SeqEnd()
	if !c.set || (seg.Flags.Has(wire.SYN) && start != c.isn) {
		// A SYN with a new ISN begins another sequence space.
		*c = coverage{set: true, lo: start, hi: end, una: start}
		if seg.Flags.Has(wire.SYN) {
			c.isn = start
		}
		return 0, 0
	}
	if start.Less(c.lo) && uint32(c.lo-start) <= maxWindow {
		// Bytes from before the first seen (a capture begun
		// mid-stream): those between are a hole.
		if end.Less(c.lo) {
			c.addHole(end, c.lo, 0) // bytes sent before the capture began: no frame opened it
		}
		c.lo = start
	}
	if start.Greater(c.hi) {
		c.addHole(c.hi, start, now.Frame)
	}
	if end.Greater(c.hi) {
		c.hi = end
	}
	c.trailLo()
	// Fill the holes it overlaps.
	for i := 0; i < c.n; {
		h := &c.holes[i]
		if !start.Less(h.end) || !h.start.Less(end) {
			i++
			continue
		}
		n := uint64(min(uint32(h.end-start), uint32(end-start), uint32(h.end-h.start), uint32(end-h.start)))
		filled += n
		if late {
			c.lateBytes += n
		} else if !h.lost && h.opener != 0 {
			c.markLost(s, h.opener)
			opener = int(h.opener)
		}
		switch {
		case !h.start.Less(start) && !end.Less(h.end): // covered whole
			c.holes[i] = c.holes[c.n-1]
			c.n--
			continue
		case h.start.Less(start) && end.Less(h.end): // split
			if c.n == maxHoles {
				c.overflow = true
				h.end = start
				break
			}
			c.holes[c.n] = hole{start: end, end: h.end, opener: h.opener, lost: h.lost}
			c.n++
			h.end = start
		case h.start.Less(start):
			h.end = start
		default:
			h.start = end
		}
		i++
	}
	return opener, filled
}

// trailLo keeps the lowest byte seen within the largest window of the
// highest, so that sequence numbers compare as they must (modulo 2^32):
// no packet resends bytes from further back.
func (c *coverage) trailLo() {
	if uint32(c.hi-c.lo) > maxWindow {
		c.lo = c.hi - maxWindow
	}
}

// addHole remembers that no packet carried [start, end) yet, before the
// frame opener.
func (c *coverage) addHole(start, end seq.Num, opener int) {
	c.opened++
	c.openedBytes += uint64(end - start)
	if c.n == maxHoles {
		c.overflow = true
		c.holes[c.n-1].end = end // the last hole takes the rest
		return
	}
	c.holes[c.n] = hole{start: start, end: end, opener: int32(opener)}
	c.n++
}

// markLost records that the hole opened before frame opener held a loss:
// once, whichever of its parts says so.
func (c *coverage) markLost(s *SideFacts, opener int32) {
	for i := range c.holes[:c.n] {
		if c.holes[i].opener == opener {
			c.holes[i].lost = true
		}
	}
	s.holesLost.add(int(opener))
}

// HolesLost are the holes in the side's sequence that held a loss before
// the capture point, by the frame beyond each: those a retransmission
// filled in part, and those still open.
func (s *SideFacts) HolesLost() Evidence {
	e := s.holesLost
	e.Frames = slices.Clone(e.Frames)
	c := &s.cover
	for i, h := range c.holes[:c.n] {
		if !h.lost && h.opener != 0 && !slices.ContainsFunc(c.holes[:i], func(o hole) bool { return o.opener == h.opener }) {
			e.add(int(h.opener))
		}
	}
	return e
}

// lostBytes is what the holes held that no late original filled.
func (c *coverage) lostBytes() uint64 { return c.openedBytes - min(c.lateBytes, c.openedBytes) }

// seenBefore reports whether a packet already captured carried some of
// the bytes [start, end): they reach into what was seen, from the lowest
// byte to the highest, and lie not wholly in a hole. It is asked before
// the packet carrying them is recorded.
func (c *coverage) seenBefore(start, end seq.Num) bool {
	if !c.set || c.overflow || !start.Less(c.hi) || !c.lo.Less(end) {
		return false
	}
	if start.Less(c.lo) {
		start = c.lo
	}
	for i := 0; i < c.n; i++ {
		if h := c.holes[i]; !start.Less(h.start) && !h.end.Less(end) {
			return false
		}
	}
	return true
}

// acked records an acknowledgment from the peer of the side: the bytes
// it covers for the first time that no packet carried were missed. The
// holes stay until a packet fills them, so that such a packet is not
// taken for one the capture saw before.
func (c *coverage) acked(s *SideFacts, ack seq.Num, now Mark) {
	if !c.set || !ack.Greater(c.una) {
		return
	}
	var missed uint64
	if ack.Greater(c.hi) {
		if ack-c.hi > maxWindow {
			// Beyond any window: another sequence space on the
			// 4-tuple (a second server answering the same SYN), not
			// bytes the capture missed.
			*c = coverage{set: true, lo: ack, hi: ack, una: ack}
			return
		}
		missed += uint64(ack - c.hi)
		c.hi = ack
		c.trailLo()
	}
	for i := 0; i < c.n; i++ {
		h := c.holes[i]
		lo, top := h.start, h.end
		if lo.Less(c.una) {
			lo = c.una
		}
		if ack.Less(top) {
			top = ack
		}
		if lo.Less(top) {
			missed += uint64(top - lo)
		}
	}
	c.una = ack
	if missed > 0 {
		if s.AckedUnseen == 0 {
			s.AckedUnseenFirst = now
		}
		s.AckedUnseen += missed
	}
}
