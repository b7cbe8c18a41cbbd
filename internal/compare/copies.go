package compare

import (
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/wire"
)

// optionNames are the options compare follows, as tcpdump names them.
var optionNames = []struct {
	bit  wire.OptionSet
	name string
}{
	{wire.HasMSS, "mss"},
	{wire.HasWindowScale, "wscale"},
	{wire.HasSACKPermitted, "sackOK"},
	{wire.HasSACK, "sack"},
	{wire.HasTimestamps, "TS"},
	{wire.HasFastOpen, "tfo"},
	{wire.HasMPTCP, "mptcp"},
	{wire.HasMD5, "md5"},
	{wire.HasAO, "tcp-ao"},
	{wire.HasUTO, "uto"},
	{wire.HasAccECN, "accecn"},
	{wire.HasUnknown, "unknown"},
}

// compareCopies notes what differs between a segment at A and its copy
// at B. Which is the original is decided when the connection is
// reported, from which point is upstream.
func (m *matcher) compareCopies(p *pair, pd conn.Dir, a, b *seg) {
	d := &p.dir[pd]
	oa, ob := &a.opt, &b.opt
	if oa.present != ob.present {
		nopped := oa.area == ob.area
		for _, o := range optionNames {
			ha, hb := has(oa.present, o.bit), has(ob.present, o.bit)
			switch {
			case ha && !hb:
				d.note(KindOptionStrip, o.name, A, a, b, "", "", nopped)
			case hb && !ha:
				d.note(KindOptionStrip, o.name, B, a, b, "", "", nopped)
			}
		}
	}
	if has(oa.present, wire.HasMSS) && has(ob.present, wire.HasMSS) && oa.mss != ob.mss {
		d.note(KindMSS, "mss", 0, a, b, itoa(int(oa.mss)), itoa(int(ob.mss)), false)
	}
	if has(oa.present, wire.HasWindowScale) && has(ob.present, wire.HasWindowScale) && oa.ws != ob.ws {
		d.note(KindOptionChange, "wscale", 0, a, b, itoa(int(oa.ws)), itoa(int(ob.ws)), false)
	}
	if has(oa.present, wire.HasTimestamps) && has(ob.present, wire.HasTimestamps) && (oa.tsval != ob.tsval || oa.tsecr != ob.tsecr) {
		d.note(KindOptionChange, "TS", 0, a, b, "val "+utoa(oa.tsval)+" ecr "+utoa(oa.tsecr), "val "+utoa(ob.tsval)+" ecr "+utoa(ob.tsecr), false)
	}
	// SACK blocks name the other direction's bytes: a path that shifts
	// those must shift the blocks too, or the sender finds them outside
	// anything it sent.
	if oa.nsack > 0 && ob.nsack > 0 && p.deltaSet[1-pd] && uint32(ob.sack0-oa.sack0) != p.delta[1-pd] {
		d.note(KindOptionChange, "sack", 0, a, b, "left edge "+utoa(uint32(oa.sack0)), "left edge "+utoa(uint32(ob.sack0)), false)
	}
	if a.ecn() != b.ecn() {
		d.note(KindECN, "ip", 0, a, b, ecnName(a.ecn()), ecnName(b.ecn()), false)
	}
	if fa, fb := a.flags&ecnFlags, b.flags&ecnFlags; fa != fb {
		d.note(KindECN, "tcp", 0, a, b, ecnFlagNames(fa), ecnFlagNames(fb), false)
	}
	if a.dscp() != b.dscp() {
		d.note(KindDSCP, "", 0, a, b, itoa(int(a.dscp())), itoa(int(b.dscp())), false)
	}
	if a.ipid != b.ipid && !a.v6 {
		d.note(KindIPID, "", 0, a, b, itoa(int(a.ipid)), itoa(int(b.ipid)), false)
	}
	if a.win != b.win {
		d.note(KindWindow, "", 0, a, b, itoa(int(a.win)), itoa(int(b.win)), false)
	}
	if !samePayload(a, b) {
		d.note(KindPayload, "", 0, a, b, "", "", false)
	}
	if d.hops.n > 1 && d.hops.min != d.hops.max {
		// Noted once per new extreme: the hop count is a range.
		h := int(a.ttl) - int(b.ttl)
		if h == d.hops.min || h == d.hops.max {
			d.note(KindTTL, "", 0, a, b, itoa(int(a.ttl)), itoa(int(b.ttl)), false)
		}
	}
}

// note adds one difference to the direction's rewrites.
func (d *dirState) note(k Kind, option string, has Side, a, b *seg, av, bv string, nopped bool) {
	for i := range d.rewrites {
		r := &d.rewrites[i]
		if r.kind == k && r.option == option && r.has == has && (k != KindECN || r.a == av && r.b == bv) {
			r.n++
			if len(r.frames[A]) < maxRewriteFrames {
				r.frames[A] = append(r.frames[A], a.frame)
				r.frames[B] = append(r.frames[B], b.frame)
			}
			return
		}
	}
	d.rewrites = append(d.rewrites, rewrite{kind: k, option: option, has: has, n: 1, time: a.at,
		frames: [2][]int{{a.frame}, {b.frame}}, a: av, b: bv, nopped: nopped})
}

func itoa(v int) string    { return strconv.Itoa(v) }
func utoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func ecnName(c uint8) string {
	return [...]string{"not-ECT", "ECT(1)", "ECT(0)", "CE"}[c&3]
}

func ecnFlagNames(f wire.Flags) string {
	var n []string
	if f.Has(wire.CWR) {
		n = append(n, "CWR")
	}
	if f.Has(wire.ECE) {
		n = append(n, "ECE")
	}
	if f.Has(wire.AE) {
		n = append(n, "AE")
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, "+")
}

// pathAcc accumulates the one-way delay in one physical direction over
// every connection.
type pathAcc struct {
	w    welford
	h    hist
	hops intRange
}

// addPath adds a matched segment's delay to its physical direction: from
// the upstream point to the downstream one.
func (m *matcher) addPath(p *pair, pd conn.Dir, raw int64, hops int, fa, fb int) {
	delay := raw - int64(m.theta)
	up, ok := m.upstream(p, pd)
	if !ok {
		up = A
		if delay < 0 {
			up = B
		}
	}
	phys := 0
	if up == B {
		phys, delay, hops = 1, -delay, -hops
	}
	pa := &m.paths[phys]
	pa.w.add(delay, fa, fb)
	pa.h.add(delay)
	pa.hops.add(hops)
}

// hist is a log-linear histogram of durations in nanoseconds: 32 buckets
// per power of two, so a percentile is within 3 % of the true one.
type hist struct {
	n   uint64
	neg uint64 // values below zero, counted as zero
	c   [64 * subBuckets]uint64
}

const subBits = 5
const subBuckets = 1 << subBits

func bucketOf(v uint64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // v>>e is in [32, 64)
	return (e+1)*subBuckets + int(v>>e) - subBuckets
}

// bucketLow is the least value of bucket i.
func bucketLow(i int) uint64 {
	if i < 2*subBuckets {
		return uint64(i)
	}
	e := i/subBuckets - 1
	return uint64(i%subBuckets+subBuckets) << e
}

func (h *hist) add(v int64) {
	h.n++
	if v < 0 {
		h.neg++
		v = 0
	}
	i := bucketOf(uint64(v))
	if i >= len(h.c) {
		i = len(h.c) - 1
	}
	h.c[i]++
}

// quantile returns the q-quantile (0 < q <= 1) as the middle of its
// bucket, within [lo, hi], the series' extremes.
func (h *hist) quantile(q float64, lo, hi int64) time.Duration {
	if h.n == 0 {
		return 0
	}
	want := uint64(q*float64(h.n) + 0.5)
	want = max(want, 1)
	var seen uint64
	i := len(h.c) - 1
	for k, c := range h.c {
		seen += c
		if seen >= want {
			i = k
			break
		}
	}
	mid := int64(bucketLow(i)+bucketLow(i+1)) / 2
	return time.Duration(min(max(mid, lo), hi))
}
