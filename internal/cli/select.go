package cli

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/communityid"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
)

// selection narrows what a command shows, not what it analyses: the
// analysis still sees every frame the filter passes, so a segment keeps
// its analysis and a connection its states whatever is left out.
type selection struct {
	conns       connList
	communityID []string
	analysisArg string
	stateArg    string
	sinceArg    string
	untilArg    string
	dedup       bool

	kinds        event.Set
	anyRetrans   bool // "retransmission" also means every kind of one, as tshark's field does
	states       []tcp.State
	since, until timeBound
	first        pcap.Time
	haveFirst    bool
}

// timeBound is an absolute time, or an offset from the first frame.
type timeBound struct {
	set    bool
	offset bool
	at     pcap.Time
	after  time.Duration
}

// register adds the flags; connFlag says whether --conn may be given as
// -c (not in read, where -c is tcpdump's count).
func (s *selection) register(f *pflag.FlagSet, segments, connShort bool) {
	if connShort {
		f.VarP(&s.conns, "conn", "c", "only connection `ID` (repeat it or give a list such as 3,7), as conns numbers them")
	} else {
		f.Var(&s.conns, "conn", "only connection `ID` (repeat it or give a list such as 3,7), as conns numbers them")
	}
	f.StringSliceVar(&s.communityID, "community-id", nil, "only the connection with this Community ID (1:…, as Zeek, Suricata and tshark print it)")
	if segments {
		f.StringVar(&s.analysisArg, "analysis", "", "only segments with any of these analysis `NAMES`, comma-separated (retransmission, zero_window, duplicate_ack, …; tshark's -Y tcp.analysis.…)")
		f.BoolVar(&s.dedup, "dedup", false, "leave out frames captured twice (the same packet on two interfaces or a bond: analysis duplicate_frame)")
	} else {
		f.StringVar(&s.stateArg, "state", "", "only connections with an endpoint in one of these `STATES` at the end, comma-separated (CLOSE_WAIT, TIME_WAIT, …)")
	}
	f.StringVar(&s.sinceArg, "since", "", "only from this `TIME` on: RFC 3339 (2024-05-01T10:00:00Z), epoch seconds (1714557600.5), or an offset from the first frame (90s, 1m30s)")
	f.StringVar(&s.untilArg, "until", "", "only up to this `TIME` (as --since)")
}

// parse checks the flags' values.
func (s *selection) parse() error {
	for _, id := range s.communityID {
		if !strings.HasPrefix(id, "1:") {
			return usagef("--community-id %q: a Community ID starts with 1:", id)
		}
	}
	if s.analysisArg != "" {
		for _, name := range strings.Split(s.analysisArg, ",") {
			name = strings.TrimSpace(name)
			k, ok := event.Parse(name)
			if !ok {
				return usagef("--analysis %q: not an analysis name (read --help lists them)", name)
			}
			s.kinds.Add(k)
			if k == event.Retransmission {
				s.anyRetrans = true
			}
		}
	}
	if s.stateArg != "" {
		for _, name := range strings.Split(s.stateArg, ",") {
			st, ok := parseState(strings.ToUpper(strings.TrimSpace(name)))
			if !ok {
				return usagef("--state %q: not a state (LISTEN, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSING, TIME_WAIT, CLOSE_WAIT, LAST_ACK, CLOSED)", name)
			}
			s.states = append(s.states, st)
		}
	}
	var err error
	if s.since, err = parseTimeBound("--since", s.sinceArg); err != nil {
		return err
	}
	s.until, err = parseTimeBound("--until", s.untilArg)
	return err
}

// parseState takes a state as ss names it (CLOSE_WAIT) or as RFC 9293
// does (CLOSE-WAIT).
func parseState(name string) (tcp.State, bool) {
	for st := tcp.Unknown; st <= tcp.LastAck; st++ {
		if name == st.String() || name == st.RFC() {
			return st, true
		}
	}
	return 0, false
}

func parseTimeBound(flag, v string) (timeBound, error) {
	if v == "" {
		return timeBound{}, nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(v, "+")); err == nil {
		if d < 0 {
			return timeBound{}, usagef("%s %s: an offset from the first frame is not negative", flag, v)
		}
		return timeBound{set: true, offset: true, after: d}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return timeBound{set: true, at: pcap.Time(t.UnixNano())}, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
		sec, frac, _ := strings.Cut(v, ".")
		s, _ := strconv.ParseInt(sec, 10, 64)
		ns := int64(0)
		if frac != "" {
			frac = (frac + "000000000")[:9]
			ns, _ = strconv.ParseInt(frac, 10, 64)
		}
		return timeBound{set: true, at: pcap.Time(s*1e9 + ns)}, nil
	}
	return timeBound{}, usagef("%s %q: want RFC 3339 (2024-05-01T10:00:00Z), epoch seconds, or an offset such as 90s", flag, v)
}

// active reports whether anything narrows the output.
func (s *selection) active() bool {
	return len(s.conns) > 0 || len(s.communityID) > 0 || !s.kinds.Empty() || len(s.states) > 0 ||
		s.since.set || s.until.set || s.dedup
}

// needsAnalysis reports whether the selection reads the analysis of each
// segment.
func (s *selection) needsAnalysis() bool {
	return len(s.conns) > 0 || len(s.communityID) > 0 || !s.kinds.Empty() || s.dedup
}

// inTime reports whether a frame's time lies within --since and --until.
func (s *selection) inTime(t pcap.Time) bool {
	if !s.haveFirst {
		s.first, s.haveFirst = t, true
	}
	bound := func(b timeBound) pcap.Time {
		if b.offset {
			return s.first + pcap.Time(b.after)
		}
		return b.at
	}
	if s.since.set && t < bound(s.since) {
		return false
	}
	if s.until.set && t > bound(s.until) {
		return false
	}
	return true
}

// segment reports whether a frame (and its segment, nil if it has none)
// is shown.
func (s *selection) segment(f *pcap.Frame, seg *analyze.Segment) bool {
	if !s.inTime(f.Time) {
		return false
	}
	if !s.needsAnalysis() {
		return true
	}
	if seg == nil {
		return !(len(s.conns) > 0 || len(s.communityID) > 0 || !s.kinds.Empty())
	}
	var an event.Set
	if seg.Result != nil {
		an = seg.Result.Analysis
	}
	if s.dedup && an.Has(event.DuplicateFrame) {
		return false
	}
	if (len(s.conns) > 0 || len(s.communityID) > 0) && !s.conn(seg.Conn) {
		return false
	}
	if !s.kinds.Empty() {
		if an&s.kinds == 0 && !(s.anyRetrans && isRetransmission(an)) {
			return false
		}
	}
	return true
}

func isRetransmission(an event.Set) bool {
	for _, k := range []event.Kind{event.Retransmission, event.FastRetransmission, event.SpuriousRetransmission,
		event.RTORetransmission, event.TailLossProbe, event.SYNRetransmission, event.SYNACKRetransmission, event.FINRetransmission} {
		if an.Has(k) {
			return true
		}
	}
	return false
}

// conn reports whether a connection is one --conn or --community-id names.
func (s *selection) conn(cn *conn.Conn) bool {
	return cn != nil && s.named(cn.ID, cn.Ends[0].Addr, cn.Ends[1].Addr)
}

// named reports whether connection id between a and b is one --conn or
// --community-id names.
func (s *selection) named(cid int, a, b netip.AddrPort) bool {
	if len(s.conns) == 0 && len(s.communityID) == 0 {
		return true
	}
	for _, id := range s.conns {
		if id == cid {
			return true
		}
	}
	if len(s.communityID) > 0 {
		id := communityid.Of(0, a, b, communityid.ProtoTCP)
		for _, want := range s.communityID {
			if want == id {
				return true
			}
		}
	}
	return false
}

// summary reports whether a connection, at its end, is shown: by id,
// Community ID, final state and time.
func (s *selection) summary(sum *analyze.Summary) bool {
	if !s.named(sum.ID, sum.Client.Addr, sum.Server.Addr) {
		return false
	}
	if len(s.states) > 0 {
		ok := false
		for _, st := range s.states {
			if sum.Client.State == st || sum.Server.State == st {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if s.since.set || s.until.set {
		// A connection is in the window when any of it is.
		if !s.haveFirst {
			return true
		}
		lo, hi := sum.Start, sum.End
		if s.since.set && hi < s.boundTime(s.since) || s.until.set && lo > s.boundTime(s.until) {
			return false
		}
	}
	return true
}

func (s *selection) boundTime(b timeBound) pcap.Time {
	if b.offset {
		return s.first + pcap.Time(b.after)
	}
	return b.at
}
