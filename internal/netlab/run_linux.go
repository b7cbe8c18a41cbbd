package netlab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Run builds the lab, runs sc in it and returns what the capture and the
// kernel showed. It skips t when the machine cannot run the lab (see
// Available) and fails it when the lab breaks or a behaviour returns an
// error. Everything it creates (namespaces, processes, sockets) is gone
// when it returns or when t fails. The capture is in t.TempDir().
func Run(t testing.TB, sc Scenario) *Result {
	t.Helper()
	require(t, Available())
	if sc.Name == "" {
		sc.Name = "scenario"
	}
	if sc.Vantage == 0 {
		sc.Vantage = Client
	}
	delay := sc.Delay
	switch {
	case delay == 0:
		delay = DefaultDelay
	case delay < 0 || sc.Router != nil:
		delay = 0
	}
	snap := sc.Snaplen
	if snap == 0 {
		snap = DefaultSnaplen
	}
	settle := sc.Settle
	if settle == 0 {
		settle = DefaultSettle
	}
	timeout := sc.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}

	// Teardown runs in reverse order of setup, once, either at the end of
	// Run or from t.Cleanup if Run stops early.
	var undo []func()
	var teardownOnce sync.Once
	teardown := func() {
		teardownOnce.Do(func() {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		})
	}
	t.Cleanup(teardown)
	cleanup := func(f func()) { undo = append(undo, f) }

	t0 := time.Now()
	ports, releasePorts, err := reservePorts()
	if err != nil {
		t.Fatal(err)
	}
	cleanup(releasePorts)
	l, err := newLab(&sc, ports, cleanup)
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	rl, err := l.startPath(&sc, delay)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(rl.stop)
	if err := l.probe(); err != nil {
		t.Fatal(err)
	}
	t2 := time.Now()

	res := &Result{
		Scenario: sc, Vantage: sc.Vantage, Delay: delay, Kernel: kernelRelease(),
		ClientAddr:  netip.AddrPortFrom(l.clientAddr, ports+uint16(sc.Focus)),
		ClientPorts: [2]uint16{ports, ports + uint16(l.ephemeral) - 1},
		ServerAddr:  netip.AddrPortFrom(l.serverAddr, ServicePort),
	}

	pc, err := startPoller(l.client, ServicePort)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := startPoller(l.server, ServicePort)
	if err != nil {
		pc.stop()
		t.Fatal(err)
	}
	var stopPolls sync.Once
	stopPollers := func() { stopPolls.Do(func() { pc.stop(); ps.stop() }) }
	cleanup(stopPollers)
	tr, err := startTracer(l.id+"-"+strconv.Itoa(os.Getpid()), ports, portBlockSize, ServicePort)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(tr.remove)

	// The captures, now or when a behaviour asks for them.
	caps := newCaptures(l.points(&sc, delay), t.TempDir(), sc.Name, snap)
	if sc.Router == nil {
		caps.passed = rl.seenAt // a routed run's relay sees nothing
	}
	cleanup(func() { caps.stop() })
	if !sc.LateCapture {
		if err := caps.start(); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sh := newShared(ctx, ports, func() error {
		if !sc.LateCapture {
			return nil
		}
		return caps.start()
	}, rl.await)
	cleanup(sh.closeAll)
	server := &Side{Role: Server, Addr: l.serverAddr, Peer: l.clientAddr, Port: ServicePort, ClientPort: ports, netns: l.server.name, sh: sh}
	client := &Side{Role: Client, Addr: l.clientAddr, Peer: l.serverAddr, Port: ServicePort, ClientPort: ports, netns: l.client.name, sh: sh}

	res.Start = time.Now()
	res.Notes = append(res.Notes, fmt.Sprintf("setup: lab %v, path probe %v, pollers and capture %v", t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), res.Start.Sub(t2).Round(time.Millisecond)))
	rl.arm()
	serr, cerr := make(chan error, 1), make(chan error, 1)
	if sc.Server != nil {
		go func() {
			err := l.server.do(func() error { return sc.Server(server) })
			sh.markReady()
			serr <- err
		}()
	} else {
		sh.markReady()
		serr <- nil
	}
	go func() {
		select {
		case <-sh.ready:
		case <-ctx.Done():
			cerr <- fmt.Errorf("netlab: the server never got ready: %w", ctx.Err())
			return
		}
		if sc.Client == nil {
			cerr <- nil
			return
		}
		cerr <- l.client.do(func() error { return sc.Client(client) })
	}()
	// Behaviours get their deadline plus a grace period to notice it.
	grace := time.After(timeout + 2*time.Second)
	var berrs []error
	for _, ch := range []struct {
		who string
		c   chan error
	}{{"server", serr}, {"client", cerr}} {
		select {
		case err := <-ch.c:
			if err != nil {
				berrs = append(berrs, fmt.Errorf("%s: %w", ch.who, err))
			}
		case <-grace:
			berrs = append(berrs, fmt.Errorf("%s: still running after the %v timeout", ch.who, timeout))
		}
	}
	// The end the scenario promises comes a path's delay, and on a
	// loaded machine a scheduler's delay more, after the behaviours
	// return: the run goes on until the focus connection is there (or
	// the limit), then until the path has been quiet for settle.
	limit := time.Now().Add(quiesceLimit)
	if sc.Expect.CheckEnd {
		ck := sockKey{res.ClientAddr, res.ServerAddr}
		sk := sockKey{res.ServerAddr, res.ClientAddr}
		end := func(p *poller, k sockKey, want string) bool {
			got := p.state(k)
			return got == want || (got == "" && want == Gone)
		}
		for time.Now().Before(limit) && !(end(pc, ck, sc.Expect.ClientEnd) && end(ps, sk, sc.Expect.ServerEnd)) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	rl.quiesce(settle, time.Until(limit)+settle)

	stopPollers()
	events, traceErr := tr.stop()
	res.End = time.Now()
	res.Notes = append(res.Notes, caps.catchUp(5*time.Second)...)
	capErr := caps.stop()
	res.Captures = caps.files
	for _, c := range res.Captures {
		res.CaptureDropped += c.Dropped
		if c.Point == sc.Vantage.String() {
			res.Capture = c.Path
		}
	}
	if sc.Router != nil {
		res.Notes = append(res.Notes, l.counters(sc.Router)...)
	}
	sh.closeAll()
	rl.stop()
	teardown()

	// Assemble the result.
	rl.mu.Lock()
	res.Drops, res.Held = rl.dropped, rl.held
	res.RelayLost = rl.lost
	res.RelayLate = max(rl.late[0], rl.late[1])
	res.Notes = append(res.Notes, fmt.Sprintf("path: %d frames c2s, %d s2c, %d dropped by rule, %d lost by the relay, forwarded up to %v late", rl.frames[ClientToServer], rl.frames[ServerToClient], len(rl.dropped), rl.lost, res.RelayLate.Round(10*time.Microsecond)))
	rl.mu.Unlock()
	if !rl.rt || !pc.rt || !ps.rt {
		res.Notes = append(res.Notes, "real-time scheduling refused: relay and pollers ran as ordinary threads, so their timing is at the mercy of the machine's load")
	}
	res.Polls = [2]int{pc.polls, ps.polls}
	res.MaxPollGap = max(pc.maxGap, ps.maxGap)
	res.Notes = append(res.Notes, fmt.Sprintf("kernel: %d polls of the client, %d of the server, longest gap between polls %v", pc.polls, ps.polls, res.MaxPollGap.Round(10*time.Microsecond)))
	for _, x := range []struct {
		who string
		p   *poller
	}{{"client", pc}, {"server", ps}} {
		for _, g := range x.p.gaps {
			res.Notes = append(res.Notes, fmt.Sprintf("kernel: no poll of the %s for %v after %v", x.who, g[1].Sub(g[0]).Round(10*time.Microsecond), g[0].Sub(res.Start).Round(10*time.Microsecond)))
		}
	}
	sh.mu.Lock()
	res.Notes = append(res.Notes, sh.notes...)
	sh.mu.Unlock()
	var kernelNotes []string
	res.Conns, res.Listener, kernelNotes = joinConns(pc, ps, byKey(events, l.clientAddr, l.serverAddr, ports, portBlockSize, ServicePort), l.clientAddr)
	res.Notes = append(res.Notes, kernelNotes...)
	for _, c := range res.Conns {
		if c.Client == res.ClientAddr && c.Server == res.ServerAddr {
			res.Client, res.Server = c.ClientStates, c.ServerStates
		}
	}

	if capErr != nil {
		t.Error(capErr)
	}
	if traceErr != nil {
		t.Error(traceErr)
	}
	for _, err := range berrs {
		t.Errorf("netlab: scenario %s: %v", sc.Name, err)
	}
	return res
}

// joinConns makes each connection on the service port from the two
// namespaces' views of it (each endpoint's states merged from the
// tracepoint and the poller by mergeStates) and separates the server's
// listening socket, which only the poller sees. It returns what the
// merge could not tell.
func joinConns(pc, ps *poller, traced map[sockKey][]traceEvent, client netip.Addr) ([]Conn, []Observation, []string) {
	type tuple struct{ c, s netip.AddrPort }
	conns := map[tuple]*Conn{}
	first := map[tuple]time.Time{}
	var notes []string
	merge := func(p *poller, k sockKey) []Observation {
		obs, n := mergeStates(traced[k], p.obs[k], p.spans)
		for _, s := range n {
			notes = append(notes, fmt.Sprintf("kernel: %s > %s: %s", k.local, k.remote, s))
		}
		return obs
	}
	var listener []Observation
	keys := map[sockKey]*poller{}
	for k := range traced {
		keys[k] = ps
		if k.local.Addr() == client {
			keys[k] = pc
		}
	}
	for k := range pc.obs {
		keys[k] = pc
	}
	for k, obs := range ps.obs {
		if !k.remote.Addr().IsValid() || k.remote.Addr().IsUnspecified() {
			for _, o := range obs {
				listener = append(listener, Observation{State: o.state, Time: o.time, NotBefore: o.notBefore, Source: SourcePoll})
			}
			continue
		}
		keys[k] = ps
	}
	for k, p := range keys {
		obs := merge(p, k)
		if len(obs) == 0 {
			continue
		}
		// The client end is the one in the client's namespace, also in a
		// simultaneous open, where both ends dial.
		t := tuple{k.remote, k.local}
		if p == pc {
			t = tuple{k.local, k.remote}
		}
		c, ok := conns[t]
		if !ok {
			c = &Conn{Client: t.c, Server: t.s}
			conns[t] = c
			first[t] = obs[0].Time
		}
		if obs[0].Time.Before(first[t]) {
			first[t] = obs[0].Time
		}
		if p == pc {
			c.ClientStates = obs
		} else {
			c.ServerStates = obs
		}
	}
	out := make([]Conn, 0, len(conns))
	order := make([]tuple, 0, len(conns))
	for k := range conns {
		order = append(order, k)
	}
	sort.Slice(order, func(i, j int) bool {
		if !first[order[i]].Equal(first[order[j]]) {
			return first[order[i]].Before(first[order[j]])
		}
		return order[i].c.Port() < order[j].c.Port()
	})
	for _, k := range order {
		out = append(out, *conns[k])
	}
	sort.SliceStable(listener, func(i, j int) bool { return listener[i].Time.Before(listener[j].Time) })
	sort.Strings(notes)
	return out, listener, notes
}
