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
	ttl     map[netip.Addr]ttlRange
	dropped int // packets from addresses the full table could not take
}

type ttlRange struct {
	min, max uint8
	n        int
}

func newHostTable() hostTable { return hostTable{ttl: make(map[netip.Addr]ttlRange)} }

func (h *hostTable) add(a netip.Addr, ttl uint8) {
	r, ok := h.ttl[a]
	if !ok {
		if len(h.ttl) >= maxHosts {
			h.dropped++
			return
		}
		r = ttlRange{min: ttl, max: ttl}
	}
	r.min, r.max = min(r.min, ttl), max(r.max, ttl)
	r.n++
	h.ttl[a] = r
}

func (h *hostTable) get(a netip.Addr) (ttlRange, bool) {
	r, ok := h.ttl[a]
	return r, ok
}
