package diagnose

import "net/netip"

// maxHosts bounds the host table: some 3 MiB, the TTLs of every host of a
// large site's traffic; a capture of a scan or a flood from millions of
// addresses keeps the first ones, and counts the packets of the others
// (dropped) so that a rule can say it does not know rather than that the
// capture holds nothing.
const maxHosts = 1 << 16

// hostTable is the TTLs each address's own packets arrived with, across
// all its connections: a packet claiming to come from it with another TTL
// took another path, or was made by something else.
type hostTable struct {
	ttl     map[netip.Addr]*ttlRange
	dropped int // packets from addresses the full table could not take
	// recent answers entry for the addresses of the latest packets, which
	// are a few hosts' over and over, without hashing an address each
	// time: a parallel analysis looks up the address of every packet.
	recent [64]hostEntry
}

type hostEntry struct {
	a   netip.Addr
	r   *ttlRange
	set bool
}

type ttlRange struct {
	min, max uint8
	n        int
	// The IP ID of the host's latest packet, and whose it was: a gap in
	// one connection's IP IDs that another connection's packet fills is
	// a counter the host shares, not a loss.
	lastIPID uint16
	lastSide *SideFacts
}

func newHostTable() hostTable { return hostTable{ttl: make(map[netip.Addr]*ttlRange)} }

// entry returns the entry of address a, made if the table has room; nil
// when it is full. The table never shrinks: an address it could not take
// stays out.
func (h *hostTable) entry(a netip.Addr) *ttlRange {
	b := a.As16()
	e := &h.recent[(b[15]^b[13]*7^b[11]*31)%uint8(len(h.recent))]
	if e.set && e.a == a {
		return e.r // an address keeps its entry, or its lack of one
	}
	r := h.ttl[a]
	if r == nil && len(h.ttl) < maxHosts {
		r = &ttlRange{}
		h.ttl[a] = r
	}
	*e = hostEntry{a, r, true}
	return r
}

// add counts a packet with ttl from the address of entry r (nil: an
// address the full table could not take).
func (h *hostTable) add(r *ttlRange, ttl uint8) {
	if r == nil {
		h.dropped++
		return
	}
	if r.n == 0 {
		r.min, r.max = ttl, ttl
	}
	r.min, r.max = min(r.min, ttl), max(r.max, ttl)
	r.n++
}

func (h *hostTable) get(a netip.Addr) (ttlRange, bool) {
	if r := h.ttl[a]; r != nil && r.n > 0 {
		return *r, true
	}
	return ttlRange{}, false
}
