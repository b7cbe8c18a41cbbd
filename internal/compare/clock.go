package compare

import (
	"slices"
	"time"

	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/wire"
)

// clockEstimate is what the first segments of both points say about the
// clocks and the points.
type clockEstimate struct {
	offset     time.Duration // B's clock minus A's
	samples    int           // segments matched
	clientSide Side          // the point nearer the clients
	sideKnown  bool
}

// estimateClock matches the first segments of both points as the matcher
// pairs connections (by what a path keeps, whatever the time), and takes
// the apparent delays: with A nearer the client, a client's segment is
// seen at B later by the delay plus the offset, a server's by the offset
// minus the delay. Their difference is a round trip between the points,
// which says which point is nearer the client; assuming the least delay
// is the same both ways, the offset is the middle of the two extremes.
// Only segments that cannot be taken for another count: a SYN, a payload
// of which both hold headLen bytes, or a nonzero IP ID; and only where
// one candidate is best.
func estimateClock(as, bs []*seg) clockEstimate {
	index := make(map[uint64][]*seg, len(bs))
	for _, b := range bs {
		k := looseKey(b)
		index[k] = append(index[k], b)
	}
	var c2s, s2c []int64
	var ttlA, ttlB int // segments whose TTL says A, or B, is nearer the client
	for _, a := range as {
		if !a.flags.Has(wire.SYN) && a.ipid == 0 && a.pcapd < headLen {
			continue
		}
		var best *seg
		bestScore, tie := -1, false
		for _, b := range index[looseKey(a)] {
			if !looseAlike(a, b) {
				continue
			}
			score, ok := looseScore(a, b)
			switch {
			case !ok || score < bestScore:
			case score == bestScore:
				tie = true
			default:
				best, bestScore, tie = b, score, false
			}
		}
		if best == nil || tie {
			continue
		}
		d := a.dir
		if a.flow.role != conn.RoleSYN && best.flow.role == conn.RoleSYN {
			d = best.dir
		}
		raw := int64(best.at - a.at) // both still on their own clocks
		hops := int(a.ttl) - int(best.ttl)
		if d == conn.ServerToClient {
			hops = -hops
		}
		switch {
		case hops > 0:
			ttlA++
		case hops < 0:
			ttlB++
		}
		if d == conn.ClientToServer {
			c2s = append(c2s, raw)
		} else {
			s2c = append(s2c, raw)
		}
	}
	e := clockEstimate{samples: len(c2s) + len(s2c)}
	slices.Sort(c2s)
	slices.Sort(s2c)
	switch {
	case len(c2s) > 0 && len(s2c) > 0:
		rt := median(c2s) - median(s2c)
		switch {
		case rt > int64(sideEpsilon):
			e.clientSide, e.sideKnown = A, true
			e.offset = time.Duration((low(c2s) + high(s2c)) / 2)
		case rt < -int64(sideEpsilon):
			e.clientSide, e.sideKnown = B, true
			e.offset = time.Duration((high(c2s) + low(s2c)) / 2)
		default:
			e.offset = time.Duration((median(c2s) + median(s2c)) / 2)
		}
	case len(c2s) > 0:
		e.offset = time.Duration(median(c2s))
	case len(s2c) > 0:
		e.offset = time.Duration(median(s2c))
	}
	if !e.sideKnown && ttlA != ttlB {
		e.clientSide, e.sideKnown = A, true
		if ttlB > ttlA {
			e.clientSide = B
		}
	}
	return e
}

func median(v []int64) int64 { return v[len(v)/2] }

// low and high are the extremes of a sorted series: the least delay each
// way. Only segments that cannot be taken for another are counted, so a
// wrong match does not make one.
func low(v []int64) int64  { return v[0] }
func high(v []int64) int64 { return v[len(v)-1] }
