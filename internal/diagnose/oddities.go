package diagnose

import (
	"fmt"
	"strings"

	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/wire"
)

// kindRule builds a finding from one analysis kind's evidence on either
// side.
func (c *Conn) kindEvidence(k event.Kind) (Evidence, role, bool) {
	for _, r := range []role{client, server} {
		_, f := c.side(r)
		if ev := f.Kind(k); ev.N > 0 {
			return ev, r, true
		}
	}
	return Evidence{}, client, false
}

func rulePAWS(x *env, c *Conn) *Finding {
	ev, r, ok := c.kindEvidence(event.PAWSReject)
	if !ok {
		return nil
	}
	return &Finding{
		ID: "paws-drop", Severity: Warning, Evidence: []Claim{c.claim(ClaimOldTimestamp, r, ev.Frames...)}, weight: float64(ev.N),
		Title: fmt.Sprintf("%s from %s carried an old timestamp: PAWS drops them", count(ev.N, "segment"), c.who(r)),
		Explanation: fmt.Sprintf("%s sent %s (%s) whose TSval is older than one its peer had already echoed, which is its TS.Recent: PAWS "+
			"(RFC 7323) makes the receiver drop them silently, so to the sender they look lost and are retransmitted in vain. "+
			"Causes: several hosts behind one NAT or load balancer sharing a 4-tuple space with unrelated timestamp clocks, a host "+
			"whose timestamp clock jumped, or a new connection on a 4-tuple whose old one the peer still remembers.",
			capitalise(c.who(r)), count(ev.N, "segment"), frameList(ev.Frames, ev.N)),
		Advice: "Look for a NAT or load balancer that mixes clients on one address; do not disable timestamps to hide it (PAWS protects " +
			"fast connections from wrapped sequence numbers).",
	}
}

func ruleBadChecksum(x *env, c *Conn) *Finding {
	ev, r, ok := c.kindEvidence(event.BadChecksum)
	if !ok {
		return nil
	}
	return &Finding{
		ID: "bad-checksum", Severity: Warning, Evidence: []Claim{c.claim(ClaimBadChecksum, r, ev.Frames...)}, weight: float64(ev.N),
		Title: fmt.Sprintf("%s from %s with a wrong TCP checksum", count(ev.N, "segment"), c.who(r)),
		Explanation: fmt.Sprintf("%s (%s) from %s failed the TCP checksum over the pseudo-header, and not in the way checksum "+
			"offload at the capturing host explains: the receiver drops them, so they count as lost. The packet was corrupted after "+
			"it was sent (a faulty link, NIC or memory), or a middlebox rewrote it (NAT, MSS clamping) without fixing the checksum.",
			capitalise(count(ev.N, "segment")), frameList(ev.Frames, ev.N), c.who(r)),
		Advice: "Check interface error counters along the path (ip -s link, ethtool -S) and any device that rewrites packets.",
	}
}

func ruleUrgent(x *env, c *Conn) *Finding {
	for _, r := range []role{client, server} {
		_, f := c.side(r)
		if f.Urgent.N == 0 {
			continue
		}
		return &Finding{
			ID: "urgent-data", Severity: Notice, Evidence: []Claim{c.sent(r, wire.URG, wire.URG, f.Urgent.Frames...)}, weight: float64(f.Urgent.N),
			Title: fmt.Sprintf("%s from %s set URG", count(f.Urgent.N, "segment"), c.who(r)),
			Explanation: fmt.Sprintf("%s (%s) carried the URG flag and an urgent pointer: TCP's out-of-band data, used by telnet "+
				"and rlogin for interrupts and by FTP's ABOR, and almost nothing else. Stacks disagree on where urgent data ends "+
				"(RFC 6093), and middleboxes clear the flag or drop such segments, so an application that relies on it breaks in transit.",
				capitalise(count(f.Urgent.N, "segment")), frameList(f.Urgent.Frames, f.Urgent.N)),
			Advice: "If the application is not telnet, rlogin or FTP, find out why it sends urgent data (RFC 6093 advises new applications against it).",
		}
	}
	return nil
}

func ruleKeepalive(x *env, c *Conn) *Finding {
	ev, r, ok := c.kindEvidence(event.KeepAlive)
	if !ok {
		return nil
	}
	_, f := c.side(r)
	interval := ""
	if gap := c.Facts.MaxGap; gap > 0 {
		interval = fmt.Sprintf(" The longest silence on the connection was %s.", dur(gap))
	}
	// Answered means the peer sent anything after a probe before the
	// prober sent again: alive.
	cs := claims{c.claim(ClaimSent, r, ev.Frames...)}
	sev := Info
	var answered string
	yes, no := f.ProbeAnswered, f.ProbeUnanswered
	switch {
	case no.N == 0:
		answered = fmt.Sprintf("each answered by the peer (%s): the peer is alive", frameList(yes.Frames, yes.N))
		cs.add(c.claim(ClaimAnswered, r, ev.Frames...), c.claim(ClaimSent, r.other(), yes.Frames...))
	case yes.N == 0:
		sev = Notice
		answered = "and none was answered: the peer or the path is gone, and the sender will give up after its probe count"
		cs.add(c.claim(ClaimUnanswered, r, ev.Frames...))
	default:
		answered = fmt.Sprintf("%s answered by the peer (%s) and %s not (%s)", count(yes.N, "probe"), frameList(yes.Frames, yes.N),
			count(no.N, "probe"), frameList(no.Frames, no.N))
		cs.add(c.claim(ClaimSent, r.other(), yes.Frames...), c.claim(ClaimUnanswered, r, no.Frames...))
	}
	return &Finding{
		ID: "keepalive", Severity: sev, Evidence: cs, weight: float64(ev.N),
		Title: fmt.Sprintf("%s sent %s", c.who(r), count(ev.N, "keep-alive probe")),
		Explanation: fmt.Sprintf("%s sent %s (%s), zero- or one-byte segments one below the next sequence number that force the peer "+
			"to answer, %s.%s Linux probes after net.ipv4.tcp_keepalive_time of silence (7200 s by default, TCP_KEEPIDLE per socket), "+
			"then every tcp_keepalive_intvl (75 s) up to tcp_keepalive_probes (9): probes this close together mean the application "+
			"set short keepalive timers.",
			capitalise(c.who(r)), count(ev.N, "keep-alive probe"), frameList(ev.Frames, ev.N), answered, interval),
		Advice: "Nothing to fix: keepalives keep idle connections alive through NATs and load balancers and detect dead peers.",
	}
}

func ruleMidstream(x *env, c *Conn) *Finding {
	if !c.Client.MidStream && !c.Server.MidStream {
		return nil
	}
	scale := "The window scale is unknown."
	if c.Client.ShiftInferred || c.Server.ShiftInferred {
		scale = fmt.Sprintf("tcplens inferred the window scales from the bytes in flight (client %d, server %d): lower bounds, not the negotiated values.",
			c.Negotiated.ShiftClient, c.Negotiated.ShiftServer)
	}
	return &Finding{
		ID: "midstream-capture", Severity: Info, Evidence: []Claim{c.claim(ClaimFirst, client, c.FirstFrame)},
		Title: "the capture began after the handshake",
		Explanation: fmt.Sprintf("The connection's first captured segment (frame %d) is not a SYN: it was open before the capture started. "+
			"The ISNs, MSS, SACK and timestamp negotiation are unknown, relative sequence numbers count from the first byte seen, "+
			"and client and server were told apart by %s. %s", c.FirstFrame, roleWords(c), scale),
		Advice: "Start the capture before the connection opens to see its handshake.",
	}
}

func roleWords(c *Conn) string {
	if c.RoleGuessed {
		return "their ports or by who spoke first"
	}
	return "the handshake"
}

func ruleChecksumOffload(x *env) []Finding {
	if x.capture.Offloaded == 0 {
		return nil
	}
	return []Finding{{
		ID: "checksum-offload", Severity: Info, Evidence: []Claim{{Kind: ClaimBadChecksum, Frames: frames(x.capture.OffloadFirst)}},
		Title: fmt.Sprintf("%s with checksums left to the NIC (checksum offload)", count(x.capture.Offloaded, "segment")),
		Explanation: fmt.Sprintf("%s (the first in frame %d, from %s) carry a TCP checksum that is wrong in the way checksum offload "+
			"leaves it: they were captured on the host that sent them, %s, before its network card filled the checksum in. Not an "+
			"error: the packets left the card correct, and tcplens does not count them as bad.",
			capitalise(count(x.capture.Offloaded, "segment")), x.capture.OffloadFirst, x.capture.OffloadHost, x.capture.OffloadHost),
		Advice: "Nothing to fix; to capture final checksums, capture elsewhere or turn offload off (ethtool -K IF tx off) while capturing.",
	}}
}

func ruleSnaplen(x *env) []Finding {
	if x.capture.Truncated == 0 {
		return nil
	}
	return []Finding{{
		ID: "snaplen-truncated", Severity: Info, Evidence: []Claim{{Kind: ClaimTruncated, Frames: frames(x.capture.TruncatedFirst)}},
		Title: fmt.Sprintf("%s cut by the snapshot length", count(x.capture.Truncated, "segment")),
		Explanation: fmt.Sprintf("The capture kept only the first bytes of %s of %s (the first cut in frame %d): their headers are "+
			"whole, so the TCP analysis is complete, but their payload is not, and their checksums cannot be verified.",
			count(x.capture.Truncated, "segment"), count(x.stats.Segments, "segment"), x.capture.TruncatedFirst),
		Advice: "Nothing to fix for TCP analysis; capture with -s 0 (the whole frame) when the payload matters.",
	}}
}

// unseenTotals counts, over the capture's connections, the bytes a
// receiver acknowledged that no captured packet carried, and keeps the
// worst examples.
type unseenTotals struct {
	bytes uint64
	conns int
	worst [3]unseenConn
}

type unseenConn struct {
	claim Claim
	id    int
}

func (u *unseenTotals) add(c *Conn) {
	counted := false
	for _, r := range []role{client, server} {
		_, f := c.side(r)
		if f.Exchange == nil || f.AckedUnseen == 0 {
			continue
		}
		u.bytes += f.AckedUnseen
		if !counted {
			u.conns++
			counted = true
		}
		e := unseenConn{claim: c.claim(ClaimAckedUnseen, r, f.AckedUnseenFirst.Frame).withN(int64(f.AckedUnseen)), id: c.ID}
		for i := range u.worst {
			if w := &u.worst[i]; w.id == 0 || e.claim.N > w.claim.N {
				copy(u.worst[i+1:], u.worst[i:len(u.worst)-1])
				*w = e
				break
			}
		}
	}
}

func ruleCaptureIncomplete(x *env) []Finding {
	u := x.unseen
	if u == nil || u.bytes == 0 {
		return nil
	}
	var ev []Claim
	var ex []string
	for _, w := range u.worst {
		if w.id == 0 {
			break
		}
		ev = append(ev, w.claim)
		ex = append(ex, fmt.Sprintf("connection %d, %s of %s's, first acknowledged in frame %d", w.id, bytesWord(uint64(w.claim.N)), w.claim.From, w.claim.Frames[0]))
	}
	return []Finding{{
		ID: "capture-incomplete", Severity: Warning, Evidence: ev, weight: float64(u.bytes),
		Title: fmt.Sprintf("the capture missed packets: receivers acknowledged %s it never saw, in %s", bytesWord(u.bytes), count(u.conns, "connection")),
		Explanation: fmt.Sprintf("In %s the receiver acknowledged data that no captured packet carried, %s in all (the most: %s). "+
			"Those packets reached the receiver but not the capture: tcpdump or the capturing host dropped them (tcpdump's 'packets dropped "+
			"by kernel'), a mirror port was oversubscribed, or they took a path the capture does not see. tcplens counts none of it as "+
			"network loss, and computes no loss rate, window limit or pause from the data of a side whose capture is incomplete.",
			count(u.conns, "connection"), bytesWord(u.bytes), strings.Join(ex, "; ")),
		Advice: "Capture with a bigger buffer (tcpdump -B), a snapshot length that keeps the headers only (-s 128), on the host itself " +
			"or a mirror port with room for both directions, and check the capture's drop counters.",
	}}
}
