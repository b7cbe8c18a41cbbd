package cli

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/communityid"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
)

// selection narrows what a command shows, not what it analyses: the
// analysis still sees every frame the filter passes, so a segment keeps
// its analysis and a connection its states whatever is left out. Every
// command that reads captures takes the same flags, with one meaning:
// read shows segments, so a segment is shown when it lies
// within --since/--until, belongs to a connection --conn,
// --community-id and --state accept, and carries an analysis --analysis
// names; the other commands show connections (and their findings), so a
// connection is shown when --conn, --community-id and --state accept it,
// some of it lies within --since/--until, and one of its segments there
// carries an analysis --analysis names (and, where diagnosed, it has a
// finding --finding names).
type selection struct {
	conns       connList
	communityID []string
	analysisArg string
	stateArg    string
	findingArg  string
	sinceArg    string
	untilArg    string
	dedup       bool

	kinds        event.Set
	anyRetrans   bool // "retransmission" also means every kind of one, as tshark's field does
	states       []tcp.State
	findings     []string
	since, until timeBound
	first        pcap.Time
	haveFirst    bool

	// Per connection, by id: whether its Community ID was checked and
	// matched (a hash per connection, not per segment); whether a segment
	// of it within the time window carried an analysis --analysis names;
	// and whether it was shown (see show).
	cidChecked, cidMatch, marked, shown bitset
}

// selFlags says which of the selection's flags a command takes.
type selFlags uint8

const (
	selConnShort selFlags = 1 << iota // --conn as -c too (read keeps -c for tcpdump's count)
	selAnalysis                       // --analysis
	selState                          // --state
	selFinding                        // --finding: commands that diagnose
	selDedup                          // --dedup: commands that show segments
)

// timeBound is an absolute time, or an offset from the first frame.
type timeBound struct {
	set    bool
	offset bool
	at     pcap.Time
	after  time.Duration
}

// register adds the flags which says to f.
func (s *selection) register(f *pflag.FlagSet, which selFlags) {
	usage := "only connection `ID` (repeat it or give a list such as 3,7), as conns numbers them"
	if which&selConnShort != 0 {
		f.VarP(&s.conns, "conn", "c", usage)
	} else {
		f.Var(&s.conns, "conn", usage)
	}
	f.StringSliceVar(&s.communityID, "community-id", nil, "only the connection with this Community ID (1:…, as Zeek, Suricata and tshark print it)")
	if which&selAnalysis != 0 {
		f.StringVar(&s.analysisArg, "analysis", "", "only segments (or connections with segments) with any of these analysis `NAMES`, comma-separated (retransmission, zero_window, duplicate_ack, …; tshark's -Y tcp.analysis.…)")
	}
	if which&selState != 0 {
		f.StringVar(&s.stateArg, "state", "", "only connections with an endpoint in one of these `STATES` at the end, comma-separated (CLOSE_WAIT, TIME_WAIT, …)")
	}
	if which&selFinding != 0 {
		f.StringVar(&s.findingArg, "finding", "", "only connections with one of these findings, by `ID`, comma-separated (refused, close-wait-leak, …; diagnose --help lists them)")
	}
	if which&selDedup != 0 {
		f.BoolVar(&s.dedup, "dedup", false, "leave out frames captured twice (the same packet on two interfaces or a bond: analysis duplicate_frame)")
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
	for _, name := range splitList(s.analysisArg) {
		k, ok := event.Parse(name)
		if !ok {
			return usagef("--analysis %q: not an analysis name (read --help lists them)", name)
		}
		s.kinds.Add(k)
		if k == event.Retransmission {
			s.anyRetrans = true
		}
	}
	for _, name := range splitList(s.stateArg) {
		st, ok := parseState(strings.ToUpper(name))
		if !ok {
			return usagef("--state %q: not a state (LISTEN, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSING, TIME_WAIT, CLOSE_WAIT, LAST_ACK, CLOSED)", name)
		}
		s.states = append(s.states, st)
	}
	for _, id := range splitList(s.findingArg) {
		if !slices.ContainsFunc(diagnose.Catalogue(), func(r diagnose.Rule) bool { return r.ID == id }) {
			return usagef("--finding %q: no finding has this id (diagnose --help lists them)", id)
		}
		s.findings = append(s.findings, id)
	}
	var err error
	if s.since, err = parseTimeBound("--since", s.sinceArg); err != nil {
		return err
	}
	s.until, err = parseTimeBound("--until", s.untilArg)
	return err
}

// splitList splits a comma-separated flag value, leaving out blanks.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
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
	return s.narrowsConns() || len(s.findings) > 0 || s.dedup
}

// narrowsConns reports whether the selection leaves connections out by
// what the analysis says of them (all but --finding and --dedup).
func (s *selection) narrowsConns() bool {
	return s.named() || !s.kinds.Empty() || len(s.states) > 0 || s.since.set || s.until.set
}

// named reports whether --conn or --community-id names connections.
func (s *selection) named() bool { return len(s.conns) > 0 || len(s.communityID) > 0 }

// needsAnalysis reports whether selecting segments reads their analysis.
func (s *selection) needsAnalysis() bool {
	return s.named() || !s.kinds.Empty() || len(s.states) > 0 || s.dedup
}

// frame notes a frame's time: offsets in --since and --until count from
// the first. Every command's loop over the frames calls it.
func (s *selection) frame(f *pcap.Frame) {
	if !s.haveFirst {
		s.first, s.haveFirst = f.Time, true
	}
}

func (s *selection) bound(b timeBound) pcap.Time {
	if b.offset {
		return s.first + pcap.Time(b.after)
	}
	return b.at
}

// inTime reports whether a time lies within --since and --until.
func (s *selection) inTime(t pcap.Time) bool {
	return !(s.since.set && t < s.bound(s.since) || s.until.set && t > s.bound(s.until))
}

// hasKind reports whether an analysis carries a kind --analysis names.
func (s *selection) hasKind(an event.Set) bool {
	return an&s.kinds != 0 || s.anyRetrans && isRetransmission(an)
}

// segment reports whether a frame (and its segment, nil if it has none)
// is shown. With --state, ends must hold the connections whose states
// at the end --state accepts (read learns them in a first reading).
func (s *selection) segment(f *pcap.Frame, seg *analyze.Segment, ends *bitset) bool {
	s.frame(f)
	if !s.inTime(f.Time) {
		return false
	}
	if !s.needsAnalysis() {
		return true
	}
	if seg == nil || seg.Conn == nil {
		// Not TCP, or a header too broken to place: no connection,
		// state or analysis of its own to select it by.
		return !s.named() && s.kinds.Empty() && len(s.states) == 0
	}
	var an event.Set
	if seg.Result != nil {
		an = seg.Result.Analysis
	}
	if s.dedup && an.Has(event.DuplicateFrame) {
		return false
	}
	if !s.conn(seg.Conn) {
		return false
	}
	if len(s.states) > 0 && !ends.has(seg.Conn.ID) {
		return false
	}
	return s.kinds.Empty() || s.hasKind(an)
}

// observe notes a segment of a connection-level command: whether it
// marks its connection for --analysis.
func (s *selection) observe(seg *analyze.Segment) {
	if s.kinds.Empty() || seg.Conn == nil || seg.Result == nil {
		return
	}
	if s.hasKind(seg.Result.Analysis) && s.inTime(seg.Frame.Time) {
		s.marked.set(seg.Conn.ID)
	}
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

// conn reports whether a connection is one --conn or --community-id names
// (every one when neither is given).
func (s *selection) conn(cn *conn.Conn) bool {
	return s.namedConn(cn.ID, cn.Ends[0].Addr, cn.Ends[1].Addr)
}

// namedConn is conn of connection id between a and b.
func (s *selection) namedConn(id int, a, b netip.AddrPort) bool {
	if !s.named() {
		return true
	}
	if slices.Contains(s.conns, id) {
		return true
	}
	if len(s.communityID) == 0 {
		return false
	}
	if !s.cidChecked.has(id) {
		s.cidChecked.set(id)
		if slices.Contains(s.communityID, communityid.Of(0, a, b, communityid.ProtoTCP)) {
			s.cidMatch.set(id)
		}
	}
	return s.cidMatch.has(id)
}

// endState reports whether a connection whose ends are in states a and b
// at its end has one in a state --state names (every one without
// --state).
func (s *selection) endState(a, b tcp.State) bool {
	return len(s.states) == 0 || slices.Contains(s.states, a) || slices.Contains(s.states, b)
}

// connection reports whether a connection, at its end (its summary), is
// shown: by id, Community ID, final state, time and the analysis of its
// segments (which observe marks; a command whose analysis runs on every
// core sees no segment, and runs on one when --analysis is given).
func (s *selection) connection(sum *analyze.Summary) bool {
	if !s.namedConn(sum.ID, sum.Client.Addr, sum.Server.Addr) {
		return false
	}
	if !s.endState(sum.Client.State, sum.Server.State) {
		return false
	}
	if !s.kinds.Empty() && !s.marked.has(sum.ID) {
		return false
	}
	// A connection is in the window when any of it is.
	return !(s.since.set && sum.End < s.bound(s.since) || s.until.set && sum.Start > s.bound(s.until))
}

// narrows reports whether the selection leaves connections out.
func (s *selection) narrows() bool { return s.narrowsConns() || len(s.findings) > 0 }

// show is the diagnosis's Collector.Show: a connection selected at its
// end, with a finding --finding names.
func (s *selection) show(c *diagnose.Conn) bool {
	ok := s.connection(&c.Summary) && (len(s.findings) == 0 || slices.ContainsFunc(c.Findings, func(f diagnose.Finding) bool {
		return slices.Contains(s.findings, f.ID)
	}))
	if ok {
		s.shown.set(c.ID)
	}
	return ok
}

// showing reports whether a connection diagnosed is shown.
func (s *selection) showing(id int) bool { return !s.narrows() || s.shown.has(id) }

// bitset is a set of connection ids, which count from 1 as connections
// appear: a bit each, however many connections a capture holds.
type bitset []uint64

func (b *bitset) set(id int) {
	for id/64 >= len(*b) {
		*b = append(*b, 0)
	}
	(*b)[id/64] |= 1 << (id % 64)
}

func (b *bitset) has(id int) bool {
	return b != nil && id/64 < len(*b) && (*b)[id/64]&(1<<(id%64)) != 0
}

// nothingShown ends a command that showed shown connections of rep: a
// connection --conn names that the capture does not hold is an error;
// a selection that leaves nothing is said on stderr (as a filter that
// passes nothing, it is no error).
func (s *selection) nothingShown(e *env, rep *diagnose.Report, shown int) error {
	var missing []int
	for _, id := range s.conns {
		if id > rep.ConnCount {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return &exitError{code: exitNoFrame, msg: fmt.Sprintf("no connection %s in the capture, which has %d (tcplens conns lists them)",
			joinInts(missing), rep.ConnCount)}
	}
	if shown == 0 && s.narrows() && rep.ConnCount > 0 {
		fmt.Fprintf(e.stderr, "tcplens: none of the capture's %s is selected\n", plural(rep.ConnCount, "connection"))
	}
	return nil
}

// words names the selection as the command line gave it ("--state
// CLOSE_WAIT --since 90s"), "" for none: for a page that says what it
// shows.
func (s *selection) words() string {
	var parts []string
	add := func(flag, v string) {
		if v != "" {
			parts = append(parts, flag+" "+v)
		}
	}
	add("--conn", joinInts(s.conns))
	add("--community-id", strings.Join(s.communityID, ","))
	add("--analysis", s.analysisArg)
	add("--state", s.stateArg)
	add("--finding", s.findingArg)
	add("--since", s.sinceArg)
	add("--until", s.untilArg)
	return strings.Join(parts, " ")
}
