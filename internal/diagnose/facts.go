package diagnose

import (
	"net/netip"
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
	IPv4           int    // IPv4 packets (RSTs apart)
	IPIDZero       int    // of which with identification 0

	// Its SYNs (without ACK): the first, and the latest before the
	// peer's first SYN-ACK, which that SYN-ACK answers.
	FirstSYN, AnsweredSYN Mark
	LastSYNACK            Mark // its latest SYN-ACK
	SYNs                  int
	SYNTimes              []pcap.Time // the first maxEvidence

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

	// Path MTU: the largest segment the peer acknowledged at its first
	// sending (BigRetrans counts retransmissions of larger ones).
	MaxDelivered int
	sent         *sentRing

	*Unusual
}

// Unusual is what a side did that most connections never do: resets,
// retransmissions, zero windows, ECN marks, urgent data.
type Unusual struct {
	// Its first RST: when, how long after the connection's previous
	// segment, and the IP facts that tell a forged one.
	RST       Mark
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
	IPIDBeforeRST uint16
	HadIPID       bool
	PeerIPID      uint16
	PeerHadIPID   bool
	// Data it had received and not answered when it sent its RST: what
	// its application may not have read.
	UnansweredAtRST uint64

	// An RST it sent while tcplens knew it had no socket (closed, in
	// TIME_WAIT, or never seen), answering the peer's segment Answers.
	NoSocketRST Mark
	NoSocketWas tcp.State
	ClosedAt    Mark // when it had closed, if it had
	Answers     Mark

	// RTO retransmissions: the longest wait and the time all of them cost.
	RTOWorst     Mark
	RTOWorstWait time.Duration
	RTOWorstSRTT time.Duration
	RTOWorstRTO  time.Duration
	RTOWaitTotal time.Duration

	// Retransmissions of segments the capture saw before (lost after the
	// capture point) and of segments the capture missed (lost before it).
	RetransSeen, RetransUnseen Evidence

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
	len        uint32
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
	col.last = max(col.last, now.Time)
	me := f.Side(s.Dir)
	if !seg.Flags.Has(wire.RST) && !col.noted {
		// The host table counts every packet its address's TTL arrived
		// with, a second copy of one included: what a run that does not
		// analyse other connections' segments counts alike (Skipped). A
		// worker of a parallel analysis leaves it to the merging
		// Collector, which hears of every segment in order (Note).
		if !me.hostFound {
			me.host, me.hostFound = col.hosts.entry(seg.Src.Addr()), true
		}
		col.hosts.add(me.host, seg.TTL)
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
		for _, ch := range r.Changes {
			if ch.Sender {
				before = ch.From
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
		if before == tcp.Closed || before == tcp.Unknown {
			me.NoSocketRST, me.NoSocketWas, me.Answers = now, before, f.Last
			for _, t := range from.History {
				if t.State == tcp.Closed && t.Frame < now.Frame && t.Frame != 0 {
					me.ClosedAt = Mark{Frame: t.Frame, Time: t.Time}
				}
			}
		}
	}
	col.ipFacts(f, me, from, to, seg, now)
	if seg.Flags.Has(wire.RST) && me.RST == now {
		me.PeerIPID, me.PeerHadIPID = peer.LastIPID, peer.IPv4 > 0
	}
	if seg.Flags.Has(wire.FIN) && !me.FIN.Seen() {
		me.FIN = now
	}
	if seg.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN|wire.ACK {
		me.LastSYNACK = now
	}
	if seg.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN {
		me.SYNs++
		if len(me.SYNTimes) < maxEvidence {
			me.SYNTimes = append(me.SYNTimes, now.Time)
		}
		if !me.FirstSYN.Seen() {
			me.FirstSYN = now
		}
		if !to.Handshake.Seen || to.Handshake.Frame > now.Frame {
			me.AnsweredSYN = now
		}
	}
	if !r.Analysis.Empty() {
		for _, k := range r.Analysis.Kinds() {
			me.addKind(k, now.Frame)
		}
	}
	if seg.Flags.Has(wire.URG) {
		me.Urgent.add(now.Frame)
	}
	col.ecn(me, seg, now)
	col.retransmissions(me, seg, r, now)
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
func (col *Collector) Skipped(seg *wire.Segment, now pcap.Time) {
	col.last = max(col.last, now)
	if !seg.Flags.Has(wire.RST) {
		col.hosts.add(col.hosts.entry(seg.Src.Addr()), seg.TTL)
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
				me.RSTIdle = now.Time.Sub(f.Last.Time)
			}
			me.RSTTTL, me.RSTIPID, me.RSTIPv4 = seg.TTL, seg.IPID, seg.IPVersion == 4
			me.RSTAck = seg.Flags.Has(wire.ACK)
			me.RSTSeq = seg.Seq
			me.RSTSndNxt = from.SndNxt
			me.RSTInFlight = uint32(from.SndNxt-from.SndUna) + inFlightOf(peerEnd)
			me.IPIDBeforeRST, me.HadIPID = me.LastIPID, me.IPv4 > 0
			me.UnansweredAtRST = me.unanswered
		}
		return
	}
	if me.TTLCount == 0 || seg.TTL < me.TTLMin {
		me.TTLMin = seg.TTL
	}
	me.TTLMax = max(me.TTLMax, seg.TTL)
	me.TTLCount++
	if seg.IPVersion == 4 {
		me.IPv4++
		me.LastIPID = seg.IPID
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

func (col *Collector) retransmissions(me *SideFacts, seg *wire.Segment, r *tcp.Result, now Mark) {
	a := r.Analysis
	if !a.Has(event.Retransmission) && !a.Has(event.SpuriousRetransmission) {
		return
	}
	if seg.PayloadLen > 0 {
		// Data only: lost SYNs and FINs are the handshake's and the
		// teardown's findings.
		if r.RetransFrame != 0 {
			me.RetransSeen.add(now.Frame)
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
	if to.SentFIN && to.FINFrame < now.Frame {
		me.AfterPeerFIN += uint64(seg.PayloadLen)
		if !me.AfterPeerFINFirst.Seen() {
			me.AfterPeerFINFirst = now
		}
	}
	retrans := r.Analysis.Has(event.Retransmission) || r.Analysis.Has(event.SpuriousRetransmission)
	if me.sent == nil {
		me.sent = &sentRing{}
	}
	if !retrans {
		me.sent.push(seg.Seq, seg.SeqEnd(), seg.PayloadLen)
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
		case before == 0 && me.lastAckIn.Seen() && sinceAck > ackClockSlack(minRTT) && pause > 2*minRTT:
			// Everything was acknowledged and the sender stayed silent
			// longer than an ACK takes to clock data out: its
			// application had nothing to send.
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
	// previous small one.
	if !retrans && me.nagleAck.Seen() && seg.PayloadLen < int(mss) {
		if now.Time.Sub(me.nagleAck.Time) <= ackClockSlack(minRTT) {
			me.Nagle.add(now.Frame)
			me.NagleHeld += me.nagleWait
		}
	}
	me.nagleAck = Mark{}
	if !retrans && seg.PayloadLen < int(mss) {
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
		if n := me.sent.ackUpTo(seg.Ack); n > me.MaxDelivered {
			me.MaxDelivered = n
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

func (r *sentRing) push(start, end seq.Num, n int) {
	r.seg[r.next] = sentSeg{start: start, end: end, len: uint32(n), live: true}
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
// them that was delivered at its first sending.
func (r *sentRing) ackUpTo(ack seq.Num) int {
	best := 0
	for i := range r.seg {
		s := &r.seg[i]
		if s.live && s.end.LessEq(ack) {
			if !s.resent {
				best = max(best, int(s.len))
			}
			s.live = false
		}
	}
	return best
}
