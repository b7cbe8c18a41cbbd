package diagnose

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
)

// Linux's default ephemeral port range, net.ipv4.ip_local_port_range
// 32768-60999: the ports one client address has for one service.
const linuxEphemeralPorts = 60999 - 32768 + 1

// maxSources bounds the distinct sources a flood finding counts.
const maxSources = 4096

func ruleSYNFlood(x *env, conns []Conn) []Finding {
	type service struct {
		attempts, completed, refused, halfOpen int
		synackSent, synackRetrans              int
		bare                                   int // SYNs without options, as packet generators send them
		sources                                map[netip.Addr]bool
		evidence                               []int
		first, last                            pcap.Time
	}
	by := map[netip.AddrPort]*service{}
	var order []netip.AddrPort
	for i := range conns {
		c := &conns[i]
		if !c.clientOpened() {
			continue
		}
		s := by[c.Server.Addr]
		if s == nil {
			s = &service{sources: map[netip.Addr]bool{}, first: c.Start}
			by[c.Server.Addr] = s
			order = append(order, c.Server.Addr)
		}
		s.attempts++
		s.last = c.Start
		switch {
		case c.handshakeAckFrame() > 0 || c.HandshakeRTT > 0:
			s.completed++
			continue
		case c.Server.SentRST && !c.Server.Offered.Seen:
			s.refused++
			continue
		}
		s.halfOpen++
		if len(s.sources) < maxSources {
			s.sources[c.Client.Addr.Addr()] = true
		}
		if c.Client.Offered.MSS == 0 && c.Client.Offered.WindowScale < 0 {
			s.bare++
		}
		if c.Server.Offered.Seen {
			s.synackSent++
			if c.Server.Retrans.SYNACK > 0 {
				s.synackRetrans++
			}
		}
		if len(s.evidence) < maxEvidence {
			s.evidence = append(s.evidence, c.Client.Offered.Frame)
		}
	}
	var out []Finding
	for _, addr := range order {
		s := by[addr]
		if s.halfOpen < 20 || s.completed*5 >= s.attempts {
			continue
		}
		var b strings.Builder
		span := s.last.Sub(s.first)
		fmt.Fprintf(&b, "%d connection attempts reached %s in %s and %d completed the handshake (%d were refused); %d stayed half-open (%s). ",
			s.attempts, addr, dur(span), s.completed, s.refused, s.halfOpen, frameList(s.evidence, s.halfOpen))
		srcs := len(s.sources)
		switch {
		case srcs == 1:
			b.WriteString("They all came from one address: a flood or scan from one host (or a load generator), not a spoofed, many-source flood. ")
		case srcs >= maxSources:
			fmt.Fprintf(&b, "They came from at least %d addresses: the mark of spoofed sources. ", srcs)
		default:
			fmt.Fprintf(&b, "They came from %d addresses. ", srcs)
		}
		if s.bare*2 >= s.halfOpen {
			fmt.Fprintf(&b, "%d of the half-open SYNs carried no options at all, which real stacks never send: a packet generator (hping3's defaults: window 512, no options). ", s.bare)
		}
		switch {
		case s.synackSent == 0:
			b.WriteString("The server answered none of them: it dropped them (a full SYN backlog, or rate limiting) or a firewall did before it. ")
		case s.synackRetrans == 0 && s.synackSent >= 10:
			fmt.Fprintf(&b, "The server answered %d of them and retransmitted none of those SYN-ACKs: SYN cookies, which keep no state and so never retransmit, were probably on. ", s.synackSent)
		default:
			fmt.Fprintf(&b, "The server answered %d of them, and retransmitted %d of those SYN-ACKs: each half-open attempt holds a SYN_RECV entry for a minute or so (5 retries). ", s.synackSent, s.synackRetrans)
		}
		b.WriteString("A flood of half-open connections fills the listener's SYN queue, after which real clients' SYNs are dropped (their connect() takes seconds).")
		out = append(out, Finding{
			ID: "syn-flood", Severity: Error, Frames: frames(s.evidence...),
			Title:       fmt.Sprintf("SYN flood: %d of %d connection attempts to %s never completed", s.halfOpen, s.attempts, addr),
			Explanation: b.String(),
			Advice: "Keep SYN cookies on (net.ipv4.tcp_syncookies=1, the default), size the SYN backlog (net.ipv4.tcp_max_syn_backlog) and " +
				"the listen backlog, and rate-limit SYNs per source upstream; check ss -tan state syn-recv on the server.",
		})
	}
	return out
}

func ruleTimeWaitPressure(x *env, conns []Conn) []Finding {
	type pair struct {
		client netip.Addr
		server netip.AddrPort
	}
	type group struct {
		n, clientClosed, reused int
		ports                   map[uint16]bool
		evidence, reuseFrames   []int
		reuseNote               string
		first, last             pcap.Time
	}
	by := map[pair]*group{}
	var order []pair
	for i := range conns {
		c := &conns[i]
		if !c.clientOpened() {
			continue
		}
		k := pair{c.Client.Addr.Addr(), c.Server.Addr}
		g := by[k]
		if g == nil {
			g = &group{ports: map[uint16]bool{}, first: c.Start}
			by[k] = g
			order = append(order, k)
		}
		g.n++
		g.last = c.Start
		if len(g.ports) < maxSources {
			g.ports[c.Client.Addr.Port()] = true
		}
		if c.FirstClosed == "client" && c.Close == "fin" {
			g.clientClosed++
		}
		if len(g.evidence) < maxEvidence {
			g.evidence = append(g.evidence, c.FirstFrame)
		}
		if !c.ReusedPorts {
			continue
		}
		prev := x.byID[c.Previous]
		if prev == nil {
			continue
		}
		for _, side := range []struct {
			name string
			h    []tcp.Transition
		}{{"client", prev.Client.History}, {"server", prev.Server.History}} {
			entered, ok := timeWaitEntered(side.h)
			if !ok || c.Start.Sub(entered) >= tcp.LinuxTimeWaitLen {
				continue
			}
			g.reused++
			if len(g.reuseFrames) < maxEvidence {
				g.reuseFrames = append(g.reuseFrames, c.FirstFrame)
			}
			if g.reuseNote == "" {
				g.reuseNote = fmt.Sprintf("connection %d (frame %d) reused the 4-tuple of connection %d %s after its %s entered TIME_WAIT",
					c.ID, c.FirstFrame, prev.ID, dur(c.Start.Sub(entered)), side.name)
			}
			break
		}
	}
	var out []Finding
	for _, k := range order {
		g := by[k]
		span := g.last.Sub(g.first)
		// Ports in TIME_WAIT at once: every client-closed connection of
		// the last 60 s. A capture shorter than that shows a lower bound.
		inTW := g.clientClosed
		if span > tcp.LinuxTimeWaitLen {
			inTW = int(float64(g.clientClosed) * float64(tcp.LinuxTimeWaitLen) / float64(span))
		}
		heavy := inTW >= linuxEphemeralPorts/10
		if g.reused == 0 && !heavy {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s opened %d connections to %s in %s, from %s; %d of them were closed by the client first, "+
			"so the client holds each of those 4-tuples in TIME_WAIT for 60 s (Linux's TCP_TIMEWAIT_LEN, not the 2×MSL of older texts). ",
			k.client, g.n, k.server, dur(span), count(len(g.ports), "port"), g.clientClosed)
		if heavy {
			fmt.Fprintf(&b, "That keeps about %d ports in TIME_WAIT at once, of the %d that Linux's default ephemeral range "+
				"(32768-60999) gives one client address towards one service: when they run out, connect() fails with EADDRNOTAVAIL. ",
				inTW, linuxEphemeralPorts)
		}
		fs := g.evidence
		if g.reused > 0 {
			fmt.Fprintf(&b, "%d times a 4-tuple was reused while its previous connection was still in TIME_WAIT: %s. "+
				"A client only does that when short of ports (net.ipv4.tcp_tw_reuse lets it, with timestamps) or when it binds its port itself. ",
				g.reused, g.reuseNote)
			fs = g.reuseFrames
		}
		b.WriteString("TIME_WAIT itself is not a bug: it protects the next connection on the same 4-tuple from stray segments of this one.")
		out = append(out, Finding{
			ID: "time-wait-pressure", Severity: Warning, Frames: frames(fs...),
			Title:       fmt.Sprintf("TIME_WAIT pressure: %d short connections from %s to %s", g.n, k.client, k.server),
			Explanation: b.String(),
			Advice: "Reuse connections (HTTP keep-alive, connection pools) instead of opening one per request; spread clients over " +
				"more source addresses or widen net.ipv4.ip_local_port_range; net.ipv4.tcp_tw_reuse=1 only as a last resort, and never " +
				"tcp_tw_recycle (removed in Linux 4.12).",
		})
	}
	slices.SortFunc(out, func(a, b Finding) int { return firstFrame(a) - firstFrame(b) })
	return out
}

// timeWaitEntered is when an end entered TIME_WAIT, if it did.
func timeWaitEntered(h []tcp.Transition) (pcap.Time, bool) {
	for _, t := range h {
		if t.State == tcp.TimeWait {
			return t.Time, true
		}
	}
	return 0, false
}
