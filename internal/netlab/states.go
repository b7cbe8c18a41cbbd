package netlab

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// tracefs is where the kernel's tracing file system is mounted.
const tracefs = "/sys/kernel/tracing"

// Where an Observation comes from.
const (
	// SourceTrace is the sock:inet_sock_set_state tracepoint: a full
	// socket's change of state, at the moment the kernel made it.
	SourceTrace = "tracepoint"
	// SourcePoll is the socket table, read every PollInterval: the only
	// view of the mini-sockets the tracepoint does not report (a request
	// socket in SYN_RECV, a TIME_WAIT socket in TIME_WAIT or FIN_WAIT2)
	// and of their going away. The change happened in (NotBefore, Time].
	SourcePoll = "socket table"
)

// traceEvent is one event of the tracepoint.
type traceEvent struct {
	Time         time.Time // CLOCK_REALTIME, to the microsecond
	Sk           uint64    // the socket's address; 0 when the kernel cannot print it
	Sport, Dport uint16    // the socket's own port and its peer's; Sport is 0 before connect() picks one
	Old, New     uint8     // kernel states (include/net/tcp_states.h)
}

// parseTrace parses a trace file of inet_sock_set_state events, in
// either the event's own format or the fields option's, whose times are
// CLOCK_MONOTONIC seconds; offset converts them to CLOCK_REALTIME.
func parseTrace(text string, offset time.Duration) ([]traceEvent, error) {
	var out []traceEvent
	for n, line := range strings.Split(text, "\n") {
		head, body, ok := strings.Cut(line, ": inet_sock_set_state: ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(what string) error {
			return fmt.Errorf("netlab: trace line %d: %s: %q", n+1, what, line)
		}
		ts := head[strings.LastIndexByte(head, ' ')+1:]
		sec, frac, ok := strings.Cut(ts, ".")
		s, err1 := strconv.ParseInt(sec, 10, 64)
		us, err2 := strconv.ParseInt(frac, 10, 64)
		if !ok || len(frac) != 6 || err1 != nil || err2 != nil {
			return nil, bad("timestamp")
		}
		ev := traceEvent{Time: time.Unix(0, s*1e9+us*1e3).Add(offset)}
		seen := 0
		for _, tok := range strings.Fields(body) {
			k, v, ok := strings.Cut(tok, "=")
			if !ok {
				continue // the decimal repetition of a field's value: "(7)"
			}
			var err error
			switch k {
			case "skaddr":
				ev.Sk, err = strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
			case "sport", "dport":
				var p uint64
				p, err = strconv.ParseUint(v, 0, 16)
				if k == "sport" {
					ev.Sport = uint16(p)
				} else {
					ev.Dport = uint16(p)
				}
			case "oldstate", "newstate":
				var st uint8
				st, err = parseTraceState(v)
				if k == "oldstate" {
					ev.Old = st
				} else {
					ev.New = st
				}
			default:
				continue
			}
			if err != nil {
				return nil, bad(k)
			}
			seen++
		}
		if seen < 4 {
			return nil, bad("fields missing")
		}
		out = append(out, ev)
	}
	return out, nil
}

// parseTraceState reads a state as the event prints it (TCP_SYN_SENT) or
// as the fields option does (0x2).
func parseTraceState(v string) (uint8, error) {
	if name, ok := strings.CutPrefix(v, "TCP_"); ok {
		for i, s := range kernelStates {
			if s == name {
				return uint8(i), nil
			}
		}
		return 0, errors.New("unknown state")
	}
	st, err := strconv.ParseUint(v, 0, 8)
	return uint8(st), err
}

// sockKey is a socket as its own namespace sees it.
type sockKey struct{ local, remote netip.AddrPort }

// polled is one change a poller saw of one socket.
type polled struct {
	state           string // kernel name, or Gone
	mini            bool   // a request or TIME_WAIT mini-socket
	time, notBefore time.Time
}

// pollSpan is when one poll ran.
type pollSpan struct{ start, end time.Time }

// byKey sorts the run's traced events by socket, as its own namespace
// sees it: the client's have a port of the run's block [base, base+n),
// the server's the service port. client and server are the two
// addresses. Events of a socket the run did not make (a connect() to the
// service port from another run, which the filter lets through while its
// port is 0) are left out.
//
// A socket's events from its first to its CLOSE are one life; a connect()
// that lets the kernel pick the port enters SYN_SENT with port 0, and its
// life takes the port of its later events. Without socket addresses
// (kernels before the fields option) an event with port 0 goes to the
// next life of the run's client that leaves SYN_SENT with none before it.
func byKey(events []traceEvent, client, server netip.Addr, base, n, service uint16) map[sockKey][]traceEvent {
	ours := func(p uint16) bool { return p >= base && p-base < n }
	key := func(e traceEvent) (sockKey, bool) {
		switch {
		case e.Sport == service && ours(e.Dport):
			return sockKey{netip.AddrPortFrom(server, e.Sport), netip.AddrPortFrom(client, e.Dport)}, true
		case ours(e.Sport) && e.Dport == service:
			return sockKey{netip.AddrPortFrom(client, e.Sport), netip.AddrPortFrom(server, e.Dport)}, true
		}
		return sockKey{}, false
	}
	out := map[sockKey][]traceEvent{}
	add := func(life []traceEvent) {
		for _, e := range life {
			if k, ok := key(e); ok {
				for i := range life {
					life[i].Sport, life[i].Dport = k.local.Port(), k.remote.Port()
				}
				out[k] = append(out[k], life...)
				return
			}
		}
	}
	if len(events) > 0 && events[0].Sk != 0 {
		lives := map[uint64][]traceEvent{}
		for _, e := range events {
			lives[e.Sk] = append(lives[e.Sk], e)
			if e.New == stateClose {
				add(lives[e.Sk])
				delete(lives, e.Sk)
			}
		}
		for _, life := range lives {
			add(life)
		}
	} else {
		var unported []traceEvent
		open := map[sockKey]bool{} // a life of the key has begun and not ended
		for _, e := range events {
			if e.Sport == 0 {
				unported = append(unported, e)
				continue
			}
			k, ok := key(e)
			if !ok {
				continue
			}
			life := []traceEvent{e}
			if e.Old == stateSynSent && !open[k] && len(unported) > 0 {
				life = []traceEvent{unported[len(unported)-1], e}
				unported = unported[:0]
			}
			add(life)
			open[k] = e.New != stateClose
		}
	}
	for k := range out {
		slices.SortStableFunc(out[k], func(a, b traceEvent) int { return a.Time.Compare(b.Time) })
	}
	return out
}

// Kernel state numbers the merge names.
const (
	stateSynSent = 2
	stateSynRecv = 3
	stateClose   = 7
	stateListen  = 10
)

// mergeStates makes one socket key's kernel states from the tracepoint's
// events of its full sockets and the poller's view of it (its changes
// and when each poll ran): every state of a full socket at its exact
// time, and from the poller what the tracepoint cannot show. It returns
// notes on what neither could tell.
//
//   - A request socket (SYN_RECV from the SYN until the handshake's ACK
//     creates the full socket, which the tracepoint then reports as
//     LISTEN → SYN_RECV → ESTABLISHED): its SYN_RECV is the poller's when
//     it saw it; otherwise it began after the start of the last poll that
//     ended before the full socket appeared and did not see it.
//   - A full socket that becomes a TIME_WAIT socket: the tracepoint says
//     CLOSE at that moment. The poller's first sight of the TIME_WAIT
//     socket names its state (TIME_WAIT, or FIN_WAIT2 for an orphan whose
//     FIN was acknowledged), entered between the CLOSE and that sight.
//     When a poll ran wholly between the CLOSE and the next socket of
//     the key without seeing one, the socket was gone: CLOSED. When none
//     did, what followed is unknown, and left out.
//   - A mini-socket's later changes and its going away are the poller's.
func mergeStates(traced []traceEvent, seen []polled, polls []pollSpan) ([]Observation, []string) {
	type entry struct {
		Observation
		pendingClose bool // a traced CLOSE: what it became is still to be decided
	}
	var es []entry
	for _, e := range traced {
		o := Observation{State: stateName(e.New), Time: e.Time, NotBefore: e.Time.Add(-time.Microsecond), Source: SourceTrace}
		if e.Old == stateListen && e.New == stateSynRecv {
			// Created from a request socket the poller may not have seen.
			o.NotBefore = time.Time{}
			for _, p := range polls {
				if p.end.Before(e.Time) {
					o.NotBefore = p.start
				}
			}
		}
		es = append(es, entry{Observation: o, pendingClose: e.New == stateClose})
	}
	wasMini := false
	for _, p := range seen {
		if p.mini || (p.state == Gone && wasMini) {
			o := Observation{State: p.state, Time: p.time, NotBefore: p.notBefore, Source: SourcePoll}
			if p.mini && p.state == "SYN_RECV" {
				// A request socket is there only until the full socket
				// made from it takes its place: a slow poll that saw it
				// and ended after that saw it before.
				for _, e := range traced {
					if e.Old == stateListen && e.New == stateSynRecv && e.Time.After(p.notBefore) && !e.Time.After(p.time) {
						o.Time = e.Time.Add(-time.Nanosecond)
						break
					}
				}
			}
			es = append(es, entry{Observation: o})
		}
		wasMini = p.mini
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].Time.Before(es[j].Time) })

	var notes []string
	var out []Observation
	for i := 0; i < len(es); i++ {
		e := es[i]
		if e.pendingClose {
			// The next traced event of the key is another socket's.
			next := time.Time{}
			for _, f := range es[i+1:] {
				if f.Source == SourceTrace {
					next = f.Time
					break
				}
			}
			after := func(t time.Time) bool { return next.IsZero() || t.Before(next) }
			tw := -1
			for j := i + 1; j < len(es) && after(es[j].Time); j++ {
				if es[j].Source == SourcePoll && (es[j].State == "TIME_WAIT" || es[j].State == "FIN_WAIT2") {
					tw = j
					break
				}
			}
			switch {
			case tw >= 0:
				e.State, e.Time = es[tw].State, es[tw].Time // entered between the CLOSE and the sight
				e.Source = SourcePoll
				es = slices.Delete(es, tw, tw+1)
			case slices.ContainsFunc(polls, func(p pollSpan) bool { return p.start.After(e.Time) && after(p.end) }):
				e.State = Gone
			default:
				prev := "nothing"
				if len(out) > 0 {
					prev = out[len(out)-1].State
				}
				notes = append(notes, fmt.Sprintf("the kernel left %s at %s for a TIME_WAIT socket or none: no poll ran before the 4-tuple's next socket to tell", prev, e.Time.UTC().Format("15:04:05.000000")))
				continue
			}
		}
		if len(out) > 0 && out[len(out)-1].State == e.State {
			continue // a full socket taking over its request socket's state, or its TIME_WAIT socket's
		}
		out = append(out, e.Observation)
	}
	return out, notes
}
