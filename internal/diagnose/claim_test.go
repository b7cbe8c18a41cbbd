package diagnose_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// auditCaptures are every capture in testdata: the claim audit runs every
// rule over each.
func auditCaptures(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"captures/*", "kernel/*.pcap", "kernel/extra/*.pcap", "kernel/vantage/*/*.pcap", "kernel/router/*/*.pcap", "kernel/bench/*.pcap", "crafted/*.pcap", "links/*"} {
		m, err := filepath.Glob(filepath.Join("../../testdata", pat))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) < 100 {
		t.Fatalf("only %d captures in testdata", len(out))
	}
	return out
}

// TestClaimsAudit checks every claim of every finding on every capture in
// testdata against the frames, with the slow checker below, which shares
// nothing with the analysis but the frame decoder: a finding must never
// state what its frames contradict. Every finding must rest on claims,
// and its evidence frames must be exactly those its claims name.
func TestClaimsAudit(t *testing.T) {
	claims, findings, files := 0, 0, 0
	for _, path := range auditCaptures(t) {
		name, _ := filepath.Rel("../../testdata", path)
		files++
		t.Run(name, func(t *testing.T) {
			c, f := auditFile(t, path)
			claims, findings = claims+c, findings+f
		})
	}
	t.Logf("%d claims of %d findings on %d captures checked", claims, findings, files)
}

// TestClaimsAuditFiles audits the captures TCPLENS_AUDIT names (a list
// separated by commas) as TestClaimsAudit audits testdata's: a way to
// hold the findings to their frames on captures they were not tuned to,
// such as make-bench-capture's (BENCHMARKS.md), whose drop counters say what was
// really lost. Without TCPLENS_AUDIT there is nothing to audit.
func TestClaimsAuditFiles(t *testing.T) {
	list := os.Getenv("TCPLENS_AUDIT")
	if list == "" {
		t.Skip("TCPLENS_AUDIT names no capture")
	}
	for _, path := range strings.Split(list, ",") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			claims, findings := auditFile(t, path)
			t.Logf("%s: %d claims of %d findings checked", path, claims, findings)
		})
	}
}

// auditFile checks every claim of every finding on one capture, and
// counts them.
func auditFile(t *testing.T, path string) (claims, findings int) {
	t.Helper()
	pk := loadPackets(t, path)
	all := auditFindings(t, path)
	for _, f := range all {
		where := fmt.Sprintf("%s (conn %d, frames %v)", f.ID, f.Conn, f.Frames)
		if len(f.Evidence) == 0 {
			t.Errorf("%s: no claims", where)
			continue
		}
		var fs []int
		for _, c := range f.Evidence {
			for _, n := range c.Frames {
				if n > 0 {
					fs = append(fs, n)
				}
			}
		}
		slices.Sort(fs)
		if fs = slices.Compact(fs); !slices.Equal(fs, f.Frames) {
			t.Errorf("%s: evidence frames %v, its claims' %v", where, f.Frames, fs)
		}
		for _, c := range f.Evidence {
			claims++
			if err := pk.check(c); err != nil {
				t.Errorf("%s: claim %q: %v", where, c.Says(), err)
			}
		}
	}
	return claims, len(all)
}

// auditFindings is every finding of a capture: each connection's own, as
// the Collector hands them over (Ended; those a report leaves out
// included, a scan's probes' among them), and the capture's.
func auditFindings(t *testing.T, path string) []diagnose.Finding {
	t.Helper()
	frames, err := testcap.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []diagnose.Finding
	col := diagnose.NewCollector()
	col.Ended = func(c *diagnose.Conn, _ bool) {
		for _, f := range c.Findings {
			f.Evidence, f.Frames = slices.Clone(f.Evidence), slices.Clone(f.Frames)
			out = append(out, f)
		}
	}
	an := analyze.New(analyze.Options{}, col.Segment, col.OnConn)
	for i := range frames {
		an.Add(&frames[i])
	}
	an.Close()
	rep := col.Finish(an.Stats)
	col.Complete(out)
	for _, f := range rep.Findings {
		if f.Conn == 0 {
			out = append(out, f) // the capture's, and those that stand for many
		}
	}
	return out
}

// pkt is one captured TCP packet as the checker sees it.
type pkt struct {
	n           int
	t           time.Time
	src, dst    netip.AddrPort
	flags       wire.Flags
	seq, ack    uint32
	plen        int // payload length, by the IP header
	win         uint16
	ttl         uint8
	ipid        uint16
	ipv4        bool
	ecn         uint8
	opts        wire.OptionSet
	wscale      int8 // the SYN's window scale option, -1 without
	tsval       uint32
	tsecr       uint32
	cut         bool // the snapshot length cut the payload
	badSum      bool // captured whole, with a wrong TCP checksum
	duplicateOf int  // the frame this is a second copy of, 0 if none
	sum         uint16
}

// end is the sequence number after what the packet carried.
func (p *pkt) end() uint32 {
	e := p.seq + uint32(p.plen)
	if p.flags.Has(wire.SYN) {
		e++
	}
	if p.flags.Has(wire.FIN) {
		e++
	}
	return e
}

// geq is a >= b modulo 2^32.
func geq(a, b uint32) bool { return int32(a-b) >= 0 }

type packets struct {
	all     []pkt
	byNum   map[int]*pkt
	unknown []int // frames the checker could not read as TCP: fragments
}

func loadPackets(t *testing.T, path string) *packets {
	t.Helper()
	frames, err := testcap.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := &packets{byNum: map[int]*pkt{}}
	for i := range frames {
		var s wire.Segment
		// As the analysis does: a malformed segment whose fixed header
		// is there counts; a fragment's datagram is put together there
		// and not here, so claims about it cannot be checked.
		if err := wire.Decode(&frames[i], &s); err != nil && (s.TCP == nil || s.Fragment) {
			if s.Fragment || errors.Is(err, wire.ErrFragment) {
				ps.unknown = append(ps.unknown, frames[i].Number)
			}
			continue
		}
		p := pkt{n: frames[i].Number, t: frames[i].Time.Std(), src: s.Src, dst: s.Dst, flags: s.Flags, sum: s.TCP.Checksum(),
			seq: uint32(s.Seq), ack: uint32(s.Ack), plen: s.PayloadLen, win: s.Window, ttl: s.TTL, ipid: s.IPID,
			ipv4: s.IPVersion == 4, ecn: s.ECN, opts: s.Options.Present, wscale: -1,
			tsval: s.Options.TSVal, tsecr: s.Options.TSEcr, cut: s.Truncated()}
		if s.Options.Has(wire.HasWindowScale) {
			p.wscale = int8(s.Options.WindowScale)
		}
		if !p.cut && s.TCP != nil && cap(s.TCP) >= s.HeaderLen+s.PayloadLen {
			_, ok := wire.TCPChecksum(s.Src.Addr(), s.Dst.Addr(), s.TCP[:s.HeaderLen+s.PayloadLen])
			p.badSum = !ok
		}
		ps.all = append(ps.all, p)
	}
	// A packet captured twice: its sender's previous packet again, every
	// field that a sender changes between two packets the same, within
	// 10 ms (20 µs without an IP ID, where two duplicate ACKs of the
	// same millisecond would look alike).
	last := map[[2]netip.AddrPort]*pkt{}
	for i := range ps.all {
		p := &ps.all[i]
		k := [2]netip.AddrPort{p.src, p.dst}
		if q := last[k]; q != nil {
			gap := 10 * time.Millisecond
			if p.ipid == 0 {
				gap = 20 * time.Microsecond
			}
			if q.seq == p.seq && q.ack == p.ack && q.flags == p.flags && q.plen == p.plen && q.ipid == p.ipid &&
				q.tsval == p.tsval && q.win == p.win && q.sum == p.sum && p.t.Sub(q.t) <= gap {
				p.duplicateOf = q.n
			}
		}
		last[k] = p
		ps.byNum[p.n] = p
	}
	return ps
}

// scope is the packets a claim speaks of: both directions between From
// and To within the span (the whole capture without one).
func (ps *packets) scope(c diagnose.Claim) []*pkt {
	var out []*pkt
	for i := range ps.all {
		p := &ps.all[i]
		if c.Span != [2]int{} && (p.n < c.Span[0] || p.n > c.Span[1]) {
			continue
		}
		switch {
		case !c.From.IsValid() && !c.To.IsValid():
			out = append(out, p)
		case !c.From.IsValid():
			// A claim about packets from anyone to To.
			if p.dst == c.To || p.src == c.To {
				out = append(out, p)
			}
		case (p.src == c.From && p.dst == c.To) || (p.src == c.To && p.dst == c.From):
			out = append(out, p)
		}
	}
	return out
}

// frames returns the claim's frames, each of which must be in scope and,
// when from is set, From's.
func (ps *packets) frames(c diagnose.Claim, in []*pkt, from bool) ([]*pkt, error) {
	var out []*pkt
	for _, n := range c.Frames {
		i := slices.IndexFunc(in, func(p *pkt) bool { return p.n == n })
		if i < 0 {
			return nil, fmt.Errorf("frame %d is not a packet between %s and %s within frames %v", n, c.From, c.To, c.Span)
		}
		if from && c.From.IsValid() && in[i].src != c.From {
			return nil, fmt.Errorf("frame %d is from %s, not %s", n, in[i].src, c.From)
		}
		if from && !c.From.IsValid() && in[i].dst != c.To {
			return nil, fmt.Errorf("frame %d is to %s, not %s", n, in[i].dst, c.To)
		}
		out = append(out, in[i])
	}
	return out, nil
}

// acksOf reports whether q acknowledges everything p carried.
func acksOf(q, p *pkt) bool {
	return q.src == p.dst && q.flags.Has(wire.ACK) && !q.flags.Has(wire.RST) && geq(q.ack, p.end())
}

// lateOriginal says why From's data packet p, captured after the packets
// before, was sent before every one of them of From wholly above it (at or
// beyond its end), by From's own clocks, as ClaimFill defines them; ""
// if its clocks do not say so. It shares nothing with the analysis.
func lateOriginal(before []*pkt, p *pkt, from netip.AddrPort, d time.Duration) string {
	var above []*pkt
	allTS, allID := p.opts&wire.HasTimestamps != 0, p.ipv4 && p.ipid != 0
	ones, steps := 0, 0
	var prevID *pkt
	repeat := false
	for _, q := range before {
		if q.src != from || q.duplicateOf != 0 || q.flags.Has(wire.RST) {
			continue
		}
		if q.ipv4 && q.ipid != 0 {
			if prevID != nil {
				steps++
				if q.ipid-prevID.ipid == 1 {
					ones++
				}
			}
			prevID = q
		}
		if q.flags.Has(wire.SYN) {
			continue
		}
		if !geq(q.seq, p.end()) {
			repeat = repeat || (int32(p.seq-q.end()) < 0 && q.end() != q.seq)
			continue
		}
		above = append(above, q)
		allTS = allTS && q.opts&wire.HasTimestamps != 0
		allID = allID && q.ipv4 && q.ipid != 0
	}
	if len(above) == 0 {
		return ""
	}
	if allTS {
		oldest := above[0]
		for _, q := range above {
			if int32(q.tsval-oldest.tsval) < 0 {
				oldest = q
			}
		}
		switch d := int32(p.tsval - oldest.tsval); {
		case d < 0:
			return fmt.Sprintf("TSval %d, older than frame %d's %d", p.tsval, oldest.n, oldest.tsval)
		case d > 0:
			return ""
		}
	}
	if allID && ones >= 4 && ones*4 >= steps*3 {
		oldest := above[0]
		for _, q := range above {
			if int16(q.ipid-oldest.ipid) < 0 {
				oldest = q
			}
		}
		if int16(p.ipid-oldest.ipid) < 0 {
			return fmt.Sprintf("IP ID %d, behind frame %d's %d", p.ipid, oldest.n, oldest.ipid)
		}
		return ""
	}
	if first := above[0]; d > 0 && !repeat && p.t.Sub(first.t) < d {
		return fmt.Sprintf("captured %v after frame %d, less than %v", p.t.Sub(first.t), first.n, d)
	}
	return ""
}

// loopBound checks that a claim's round trip D is at most half the
// handshake's, from the client's last SYN to its first packet that
// acknowledges the server's SYN-ACK.
func loopBound(in []*pkt, d time.Duration) error {
	if d == 0 {
		return nil
	}
	var syn, synack *pkt
	for _, q := range in {
		switch {
		case q.flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN && synack == nil:
			syn = q
		case q.flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN|wire.ACK && syn != nil && q.src == syn.dst && synack == nil:
			synack = q
		case synack != nil && q.src == syn.src && !q.flags.Has(wire.SYN) && q.flags.Has(wire.ACK) && geq(q.ack, synack.seq+1):
			if rtt := q.t.Sub(syn.t); 2*d > rtt+time.Microsecond {
				return fmt.Errorf("round trip %v is more than half the handshake's %v", d, rtt)
			}
			return nil
		}
	}
	return fmt.Errorf("no handshake to bound the round trip %v", d)
}

// covers reports whether the intervals cover [0, n).
func covers(iv [][2]uint32, n uint32) bool {
	slices.SortFunc(iv, func(a, b [2]uint32) int { return int(int32(a[0] - b[0])) })
	var at uint32
	for _, x := range iv {
		if int32(x[0]-at) > 0 {
			return false
		}
		if int32(x[1]-at) > 0 {
			at = x[1]
		}
	}
	return int32(at-n) >= 0
}

// check tests one claim against the packets.
func (ps *packets) check(c diagnose.Claim) error {
	if slices.ContainsFunc(c.Frames, func(n int) bool { return slices.Contains(ps.unknown, n) }) {
		return nil // a fragment's: what the claim says of it cannot be read here
	}
	in := ps.scope(c)
	fromFrames := func() ([]*pkt, error) { return ps.frames(c, in, true) }
	after := func(p *pkt) []*pkt {
		i := slices.Index(in, p)
		return in[i+1:]
	}
	before := func(p *pkt) []*pkt { return in[:slices.Index(in, p)] }
	switch c.Kind {
	case diagnose.ClaimSent:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		for _, p := range fs {
			if p.flags&c.Mask != c.Flags {
				return fmt.Errorf("frame %d has flags %v", p.n, p.flags)
			}
		}
	case diagnose.ClaimSilent:
		start := 0
		if len(c.Frames) > 0 {
			start = c.Frames[0]
		}
		for _, p := range in {
			if p.src == c.From && p.n > start {
				return fmt.Errorf("frame %d is from %s", p.n, c.From)
			}
		}
	case diagnose.ClaimAcked, diagnose.ClaimNotAcked:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		for _, p := range fs {
			acked := slices.ContainsFunc(after(p), func(q *pkt) bool { return acksOf(q, p) })
			if acked != (c.Kind == diagnose.ClaimAcked) {
				return fmt.Errorf("frame %d: acknowledged %v", p.n, acked)
			}
		}
	case diagnose.ClaimAnswered, diagnose.ClaimUnanswered:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		for _, p := range fs {
			answered := false
			for _, q := range after(p) {
				if q.duplicateOf != 0 {
					continue // the same packet captured again, as the analysis reads it
				}
				if q.src == c.From {
					break
				}
				answered = true
				break
			}
			if answered != (c.Kind == diagnose.ClaimAnswered) {
				return fmt.Errorf("frame %d: answered %v", p.n, answered)
			}
		}
	case diagnose.ClaimRetransmitted:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		for _, p := range fs {
			again := slices.ContainsFunc(before(p), func(q *pkt) bool {
				if q.src != c.From || q.duplicateOf != 0 {
					return false
				}
				// Overlapping sequence space, SYNs and FINs included.
				return int32(p.seq-q.end()) < 0 && int32(q.seq-p.end()) < 0
			})
			if !again {
				return fmt.Errorf("frame %d carries nothing sent before", p.n)
			}
		}
	case diagnose.ClaimNotAckedBefore, diagnose.ClaimAckedBefore:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		for _, p := range fs {
			acked := false
			for _, q := range before(p) {
				if q.src == c.To && q.flags.Has(wire.ACK) && !q.flags.Has(wire.RST) {
					acked = acksOf(q, p) // the latest counts
				}
			}
			if acked != (c.Kind == diagnose.ClaimAckedBefore) {
				return fmt.Errorf("frame %d: acknowledged before it was resent %v", p.n, acked)
			}
		}
	case diagnose.ClaimHole:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		if err := loopBound(in, c.D); err != nil {
			return err
		}
		for _, p := range fs {
			var hi *uint32
			for _, q := range before(p) {
				if q.src == c.From && !q.flags.Has(wire.RST) {
					if e := q.end(); hi == nil || geq(e, *hi) {
						hi = &e
					}
				}
			}
			if hi == nil || geq(*hi, p.seq) {
				return fmt.Errorf("frame %d begins at %d, not beyond what came before", p.n, p.seq)
			}
			// The bytes between, as late originals filled them.
			var late [][2]uint32
			var lateFrames []int
			for _, q := range after(p) {
				if q.src != c.From || q.duplicateOf != 0 || q.plen == 0 || !(int32(q.seq-p.seq) < 0 && int32(*hi-q.end()) < 0) {
					continue
				}
				if why := lateOriginal(in[:slices.Index(in, q)], q, c.From, c.D); why != "" {
					late = append(late, [2]uint32{q.seq - *hi, q.end() - *hi})
					lateFrames = append(lateFrames, q.n)
				}
			}
			if covers(late, p.seq-*hi) {
				return fmt.Errorf("frame %d: the bytes before it came later, in originals sent before it (frames %v)", p.n, lateFrames)
			}
		}
	case diagnose.ClaimComplete, diagnose.ClaimAckedUnseen:
		unseen, first := ackedUnseen(in, c.From)
		if c.Kind == diagnose.ClaimComplete {
			if unseen > 0 {
				return fmt.Errorf("%d bytes acknowledged unseen, the first in frame %d", unseen, first)
			}
			return nil
		}
		if unseen != c.N {
			return fmt.Errorf("%d bytes acknowledged unseen, not %d", unseen, c.N)
		}
		if len(c.Frames) == 0 || c.Frames[0] != first {
			return fmt.Errorf("the first acknowledgment of unseen bytes is frame %d", first)
		}
	case diagnose.ClaimTTLUnlike, diagnose.ClaimTTLLike:
		fs, err := ps.frames(c, ps.scopeAll(), false)
		if err != nil {
			return err
		}
		var others []uint8
		for i := range ps.all {
			p := &ps.all[i]
			if p.src.Addr() == c.From.Addr() && !slices.Contains(c.Frames, p.n) {
				others = append(others, p.ttl)
			}
		}
		for _, p := range fs {
			near := slices.ContainsFunc(others, func(ttl uint8) bool { return int(ttl)-int(p.ttl) <= 1 && int(p.ttl)-int(ttl) <= 1 })
			if c.Kind == diagnose.ClaimTTLUnlike && (near || int64(p.ttl) != c.N) {
				return fmt.Errorf("frame %d: TTL %d, others %v", p.n, p.ttl, summariseTTLs(others))
			}
			if c.Kind == diagnose.ClaimTTLLike && !near {
				return fmt.Errorf("frame %d: TTL %d, others %v", p.n, p.ttl, summariseTTLs(others))
			}
		}
	case diagnose.ClaimTTLUnlikeOwn:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		if len(fs) != 1 || !fs[0].flags.Has(wire.RST) || int64(fs[0].ttl) != c.N {
			return fmt.Errorf("frames %v: not one RST with TTL %d", c.Frames, c.N)
		}
		own := 0
		for _, q := range before(fs[0]) {
			if q.src != c.From || q.flags.Has(wire.RST) || q.duplicateOf != 0 {
				continue
			}
			own++
			if d := int(q.ttl) - int(fs[0].ttl); d >= -1 && d <= 1 {
				return fmt.Errorf("frame %d of %s arrived with TTL %d", q.n, c.From, q.ttl)
			}
		}
		if own == 0 {
			return fmt.Errorf("no packet of %s before frame %d", c.From, fs[0].n)
		}
	case diagnose.ClaimIPIDCopied:
		fs, err := ps.frames(c, in, false)
		if err != nil {
			return err
		}
		if len(fs) != 2 || fs[0].ipid != fs[1].ipid || fs[0].src != c.From || fs[1].src != c.To {
			return fmt.Errorf("frames %v: IP IDs differ", c.Frames)
		}
		for _, q := range in {
			if q.src == c.To && q.n > fs[1].n && q.n < fs[0].n {
				return fmt.Errorf("frame %d of %s lies between", q.n, c.To)
			}
		}
	case diagnose.ClaimIPIDSkipped:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		if len(fs) != 2 || !fs[0].ipv4 {
			return fmt.Errorf("frames %v: not two IPv4 packets", c.Frames)
		}
		// The numbers between the two that no later packet of From's
		// carries (a late one carries its own), looking no further than
		// the counter takes to come round again.
		missing, later := int64(fs[1].ipid-fs[0].ipid-1), 0
		for _, q := range in {
			if q.src != c.From || q.duplicateOf != 0 || q.n <= fs[0].n {
				continue
			}
			if q.n < fs[1].n {
				return fmt.Errorf("frame %d of %s lies between", q.n, c.From)
			}
			if later++; later > 1<<14 {
				break
			}
			if q.ipv4 && q.ipid-fs[0].ipid-1 < fs[1].ipid-fs[0].ipid-1 {
				missing--
			}
		}
		if missing != c.N {
			return fmt.Errorf("frames %v: IP IDs %d and %d, of the numbers between %d on no packet", c.Frames, fs[0].ipid, fs[1].ipid, missing)
		}
	case diagnose.ClaimElapsed, diagnose.ClaimSilence:
		fs, err := ps.frames(c, ps.scopeAll(), false)
		if err != nil {
			return err
		}
		if len(fs) != 2 {
			return fmt.Errorf("want two frames")
		}
		if d := fs[1].t.Sub(fs[0].t); d-c.D > time.Microsecond || c.D-d > time.Microsecond {
			return fmt.Errorf("frames %d and %d lie %v apart", fs[0].n, fs[1].n, d)
		}
		if c.Kind == diagnose.ClaimSilence {
			for _, q := range in {
				if q.n > fs[0].n && q.n < fs[1].n && q.duplicateOf == 0 {
					return fmt.Errorf("frame %d lies between", q.n)
				}
			}
		}
	case diagnose.ClaimZeroWindow, diagnose.ClaimWindowOpen:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		for _, p := range fs {
			if (p.win == 0) != (c.Kind == diagnose.ClaimZeroWindow) {
				return fmt.Errorf("frame %d advertises %d", p.n, p.win)
			}
		}
	case diagnose.ClaimFill:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		if err := loopBound(in, c.D); err != nil {
			return err
		}
		for _, p := range fs {
			var hi *uint32
			for _, q := range before(p) {
				if q.src != c.From || q.flags.Has(wire.RST) {
					continue
				}
				if int32(p.seq-q.end()) < 0 && int32(q.seq-p.end()) < 0 && q.end() != q.seq {
					return fmt.Errorf("frame %d carries data frame %d carried", p.n, q.n)
				}
				if e := q.end(); hi == nil || geq(e, *hi) {
					hi = &e
				}
			}
			if hi == nil || !geq(*hi, p.end()) {
				return fmt.Errorf("frame %d does not lie below what %s had sent", p.n, c.From)
			}
			if why := lateOriginal(before(p), p, c.From, c.D); why != "" {
				return fmt.Errorf("frame %d is an original that came late: %s", p.n, why)
			}
		}
	case diagnose.ClaimSameSeq:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		for _, p := range fs {
			if p.seq != fs[0].seq {
				return fmt.Errorf("frames %d and %d differ", fs[0].n, p.n)
			}
		}
	case diagnose.ClaimOldTimestamp:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		for _, p := range fs {
			echoed := slices.ContainsFunc(before(p), func(q *pkt) bool {
				return q.src == c.To && q.flags.Has(wire.ACK) && q.opts&wire.HasTimestamps != 0 && int32(q.tsecr-p.tsval) > 1
			})
			if p.opts&wire.HasTimestamps == 0 || !echoed {
				return fmt.Errorf("frame %d: no packet of %s before it echoed a timestamp more than a tick newer than its TSval %d", p.n, c.To, p.tsval)
			}
		}
	case diagnose.ClaimEchoes:
		fs, err := ps.frames(c, in, false)
		if err != nil {
			return err
		}
		if len(fs) != 2 || fs[0].src != c.From || fs[1].src != c.To || fs[0].opts&wire.HasTimestamps == 0 ||
			fs[1].opts&wire.HasTimestamps == 0 || fs[0].tsecr != fs[1].tsval {
			return fmt.Errorf("frame %v does not echo", c.Frames)
		}
	case diagnose.ClaimDataSegments:
		n := 0
		for _, p := range in {
			if p.src == c.From && p.plen > 0 && p.duplicateOf == 0 {
				n++
			}
		}
		if int64(n) != c.N {
			return fmt.Errorf("%s sent %d data segments", c.From, n)
		}
	case diagnose.ClaimOptions:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		o := fs[0].opts
		if !fs[0].flags.Has(wire.SYN) || o&wire.OptionSet(c.N) != wire.OptionSet(c.N) || o&wire.OptionSet(c.M) != 0 {
			return fmt.Errorf("frame %d carries options %b", fs[0].n, o)
		}
	case diagnose.ClaimCE, diagnose.ClaimBadChecksum, diagnose.ClaimTruncated:
		fs, err := ps.frames(c, ps.scopeAll(), false)
		if err != nil {
			return err
		}
		for _, p := range fs {
			if (c.Kind == diagnose.ClaimCE && p.ecn != 3) || (c.Kind == diagnose.ClaimBadChecksum && !p.badSum) ||
				(c.Kind == diagnose.ClaimTruncated && !p.cut) {
				return fmt.Errorf("frame %d is not", p.n)
			}
		}
	case diagnose.ClaimFirst:
		if len(in) == 0 || in[0].n != c.Frames[0] || in[0].flags&(wire.SYN|wire.ACK) == wire.SYN {
			return fmt.Errorf("the connection's first packet is not frame %d, or is a SYN", c.Frames[0])
		}
	case diagnose.ClaimMaxWindow:
		shift, ok := windowShift(in, c.From)
		if !ok {
			return nil // the scale was not captured: nothing to check
		}
		var most int64
		for _, p := range in {
			if p.src == c.From && !p.flags.Has(wire.SYN) && !p.flags.Has(wire.RST) {
				most = max(most, int64(p.win)<<shift)
			}
		}
		if most != c.N {
			return fmt.Errorf("%s advertised at most %d bytes", c.From, most)
		}
	case diagnose.ClaimQuiet, diagnose.ClaimNoData:
		if len(c.Frames) != 2 {
			return fmt.Errorf("want two frames")
		}
		for _, q := range in {
			if q.src == c.From && q.n > c.Frames[0] && q.n < c.Frames[1] && (c.Kind == diagnose.ClaimQuiet || q.plen > 0) {
				return fmt.Errorf("frame %d is from %s", q.n, c.From)
			}
		}
	case diagnose.ClaimData:
		fs, err := fromFrames()
		if err != nil {
			return err
		}
		for _, p := range fs {
			if p.plen == 0 {
				return fmt.Errorf("frame %d carries no payload", p.n)
			}
		}
	case diagnose.ClaimNone:
		for _, q := range in {
			if q.src == c.From && q.flags&c.Mask == c.Flags {
				return fmt.Errorf("frame %d has flags %v", q.n, q.flags)
			}
		}
	case diagnose.ClaimFirstFrom:
		i := slices.IndexFunc(in, func(p *pkt) bool { return p.src == c.From })
		if i < 0 || in[i].n != c.Frames[0] {
			return fmt.Errorf("frame %d is not %s's first packet", c.Frames[0], c.From)
		}
	case diagnose.ClaimCrossed:
		fs, err := ps.frames(c, in, false)
		if err != nil {
			return err
		}
		if len(fs) != 2 || fs[0].src != c.From || fs[1].src != c.To || !fs[0].flags.Has(wire.FIN) || !fs[1].flags.Has(wire.FIN) ||
			acksOf(fs[0], fs[1]) || acksOf(fs[1], fs[0]) {
			return fmt.Errorf("frames %v did not cross", c.Frames)
		}
	default:
		return fmt.Errorf("no check for kind %v", c.Kind)
	}
	return nil
}

func (ps *packets) scopeAll() []*pkt {
	out := make([]*pkt, len(ps.all))
	for i := range ps.all {
		out[i] = &ps.all[i]
	}
	return out
}

// windowShift is the scale from's windows take: its SYN's option, if the
// peer's SYN carried one too.
func windowShift(in []*pkt, from netip.AddrPort) (uint, bool) {
	var mine, theirs *pkt
	for _, p := range in {
		if p.flags.Has(wire.SYN) {
			if p.src == from && mine == nil {
				mine = p
			} else if p.src != from && theirs == nil {
				theirs = p
			}
		}
	}
	if mine == nil || theirs == nil {
		return 0, false
	}
	if mine.wscale < 0 || theirs.wscale < 0 {
		return 0, true
	}
	return uint(mine.wscale), true
}

// ackedUnseen counts the bytes of from's that its peer acknowledged and
// no captured packet carried, and the first frame that acknowledged some:
// the coverage of from's sequence space by its packets, from the first
// seen (a SYN with a new ISN, or an acknowledgment more than 2^30 bytes
// beyond anything seen, begins anew), against the peer's acknowledgments.
// Sequence numbers are unwrapped to 64 bits.
func ackedUnseen(in []*pkt, from netip.AddrPort) (int64, int) {
	type span struct{ lo, hi int64 }
	var (
		seen          []span
		based         bool
		lastRaw       uint32
		lastOff       int64
		isn           uint32
		synSeen       bool
		unseen, acked int64
		top           int64 // the highest byte seen or acknowledged
		first         int
	)
	off := func(raw uint32) int64 { // unwrapped, from the last value seen
		o := lastOff + int64(int32(raw-lastRaw))
		lastRaw, lastOff = raw, o
		return o
	}
	begin := func(raw uint32) {
		based, lastRaw, lastOff, seen, acked, top = true, raw, 0, nil, 0, 0
	}
	missing := func(lo, hi int64) int64 { // bytes of [lo, hi) not in seen
		m := hi - lo
		for _, s := range seen {
			if a, b := max(lo, s.lo), min(hi, s.hi); a < b {
				m -= b - a
			}
		}
		return m
	}
	for _, p := range in {
		if p.flags.Has(wire.RST) {
			continue
		}
		if p.src == from {
			if p.flags.Has(wire.SYN) && (!synSeen || p.seq != isn) {
				isn, synSeen = p.seq, true
				begin(p.seq)
			}
			if !based {
				begin(p.seq)
			}
			lo := off(p.seq)
			hi := lo + int64(p.end()-p.seq)
			if hi > lo {
				seen = append(seen, span{lo, hi})
				top = max(top, hi)
			}
			continue
		}
		if !based || !p.flags.Has(wire.ACK) {
			continue
		}
		a := off(p.ack)
		if a-top > 1<<30 {
			begin(p.ack)
			continue
		}
		if a > acked {
			if m := missing(max(acked, 0), a); m > 0 {
				if first == 0 {
					first = p.n
				}
				unseen += m
			}
			acked = a
			top = max(top, a)
		}
	}
	return unseen, first
}

func summariseTTLs(ts []uint8) string {
	if len(ts) == 0 {
		return "none"
	}
	lo, hi := ts[0], ts[0]
	for _, t := range ts {
		lo, hi = min(lo, t), max(hi, t)
	}
	return fmt.Sprintf("%d to %d (%d packets)", lo, hi, len(ts))
}

// TestClaimsAuditCatches shows the audit fails where it should: claims
// the frames of a real capture contradict.
func TestClaimsAuditCatches(t *testing.T) {
	pk := loadPackets(t, "../../testdata/kernel/client-close.pcap")
	cl := netip.MustParseAddrPort("10.77.0.1:40001")
	sv := netip.MustParseAddrPort("10.77.0.2:8000")
	span := [2]int{1, 11}
	for _, tc := range []struct {
		c    diagnose.Claim
		want string
	}{
		{diagnose.Claim{Kind: diagnose.ClaimSilent, From: cl, To: sv, Span: span, Frames: []int{6}}, "is from"},
		{diagnose.Claim{Kind: diagnose.ClaimSent, From: sv, To: cl, Span: span, Frames: []int{2}, Flags: wire.RST, Mask: wire.RST}, "flags"},
		{diagnose.Claim{Kind: diagnose.ClaimNotAcked, From: cl, To: sv, Span: span, Frames: []int{4}}, "acknowledged true"},
		{diagnose.Claim{Kind: diagnose.ClaimUnanswered, From: cl, To: sv, Span: span, Frames: []int{4}}, "answered true"},
		{diagnose.Claim{Kind: diagnose.ClaimRetransmitted, From: cl, To: sv, Span: span, Frames: []int{4}}, "nothing sent before"},
		{diagnose.Claim{Kind: diagnose.ClaimElapsed, From: cl, To: sv, Span: span, Frames: []int{1, 2}, D: time.Second}, "apart"},
		{diagnose.Claim{Kind: diagnose.ClaimZeroWindow, From: sv, To: cl, Span: span, Frames: []int{5}}, "advertises"},
		{diagnose.Claim{Kind: diagnose.ClaimDataSegments, From: cl, To: sv, Span: span, N: 3}, "sent 1 data segments"},
		// The client's data of frame 4 carries a TSval newer than any
		// the server had echoed.
		{diagnose.Claim{Kind: diagnose.ClaimOldTimestamp, From: cl, To: sv, Span: span, Frames: []int{4}}, "echoed a timestamp"},
	} {
		err := pk.check(tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check(%s) = %v; want an error saying %q", tc.c.Says(), err, tc.want)
		}
	}
	// What the analysis said before it read the sender's clocks: frame 11
	// filled frame 6's hole as a fast retransmission, and the hole was a
	// loss. Frame 11's TSval (510) is older than frame 6's (511): it is
	// an original that came late, and so is frame 12, the rest of the
	// hole.
	pk = loadPackets(t, "../../testdata/crafted/reordered-fill.pcap")
	cl, sv = testcap.Client, testcap.Server
	span = [2]int{1, 21}
	for _, tc := range []struct {
		c    diagnose.Claim
		want string
	}{
		{diagnose.Claim{Kind: diagnose.ClaimFill, From: sv, To: cl, Span: span, Frames: []int{11}}, "came late: TSval 510, older than frame 6's 511"},
		{diagnose.Claim{Kind: diagnose.ClaimHole, From: sv, To: cl, Span: span, Frames: []int{6}}, "originals sent before it (frames [11 12])"},
		// The round trip may not be more than half the handshake's.
		{diagnose.Claim{Kind: diagnose.ClaimFill, From: sv, To: cl, Span: span, Frames: []int{20}, D: 20 * time.Millisecond}, "more than half"},
	} {
		err := pk.check(tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check(%s) = %v; want an error saying %q", tc.c.Says(), err, tc.want)
		}
	}
	// The claims the analysis makes now hold.
	for _, c := range []diagnose.Claim{
		{Kind: diagnose.ClaimFill, From: sv, To: cl, Span: span, Frames: []int{20}, D: 15 * time.Millisecond},
		{Kind: diagnose.ClaimHole, From: sv, To: cl, Span: span, Frames: []int{15}, D: 15 * time.Millisecond},
	} {
		if err := pk.check(c); err != nil {
			t.Errorf("check(%s) = %v", c.Says(), err)
		}
	}
}
