// Package compare takes two captures of the same traffic, taken at two
// points of its path (A and B), and says what happened between them: what
// the path lost, injected, rewritten, duplicated, reordered and delayed,
// connection by connection and direction by direction, each with its
// frames in both captures.
//
// # Matching
//
// Every TCP segment of A is matched to its copy in B by what a path does
// not change: the flags, the payload's length and bytes, the IPv4
// identification, the TCP timestamps, the window, and the sequence and
// acknowledgment numbers up to a constant offset per direction (firewalls
// that randomise ISNs shift them). What paths do change is tolerated and
// reported instead: addresses and ports (NAT), the TTL or hop limit, the
// MSS (clamping), options removed or overwritten with NOPs, the ECN bits,
// the DSCP, the IP ID, the window, the payload.
//
// A connection of A is paired with one of B by its first segments: a
// segment of a connection not yet paired is looked up among the other
// point's unpaired segments by flags, length, window and IP ID, and the
// candidates are scored by the addresses, ports, timestamps and sequence
// numbers they share (NAT changes some, never all). The first match pairs
// the two connections and fixes the sequence offset of its direction (and
// of the other one, through the acknowledgment number); from then on each
// point's segments of the pair wait in a queue per direction, and a copy
// normally finds its original at the head of the other point's queue.
//
// # Points and clocks
//
// The two captures are read at once and merged in time order after
// shifting B's clock by the estimated offset between the clocks. The
// offset is estimated from the first segments matched at both points (up
// to [bootSegments] of each), assuming the path's minimum one-way delay
// is the same both ways: with A nearer the client, a client's segment
// reaches B later by the delay plus the offset and a server's segment
// reaches A later by the delay minus it. Which point is nearer the client
// needs no clock: a round trip between the points is the difference
// between the two directions' apparent delays, and it is positive exactly
// when A is on the client's side. A TTL that drops between the points
// says it too. [Options.ClockOffset] states a known offset (zero for
// captures stamped by one host's clock), which makes each direction's
// one-way delay exact.
//
// # Verdicts
//
// A segment waits for its copy at most [Options.Window] (on A's clock),
// longer than any delay or reordering the path is expected to add; what
// is not matched by then was lost between the points when it was seen
// only at the point it passes first (upstream), and injected in the path
// when seen only downstream. A segment is judged only while the other
// capture was running. Memory is what that window holds, plus the open
// connections: never the captures' size.
package compare
