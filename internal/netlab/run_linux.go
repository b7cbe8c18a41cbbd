package netlab

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
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
	l, err := newLab(&sc, cleanup)
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
		ClientAddr: netip.AddrPortFrom(l.clientAddr, uint16(FirstClientPort+sc.Focus)),
		ServerAddr: netip.AddrPortFrom(l.serverAddr, ServicePort),
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

	// The captures, now or when a behaviour asks for them.
	caps := newCaptures(l.points(&sc, delay), t.TempDir(), sc.Name, snap)
	cleanup(func() { caps.stop() })
	if !sc.LateCapture {
		if err := caps.start(); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sh := newShared(ctx, func() error {
		if !sc.LateCapture {
			return nil
		}
		return caps.start()
	})
	cleanup(sh.closeAll)
	server := &Side{Role: Server, Addr: l.serverAddr, Peer: l.clientAddr, Port: ServicePort, netns: l.server.name, sh: sh}
	client := &Side{Role: Client, Addr: l.clientAddr, Peer: l.serverAddr, Port: ServicePort, netns: l.client.name, sh: sh}

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
	time.Sleep(settle)

	stopPollers()
	res.End = time.Now()
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
	res.Drops = rl.dropped
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
	res.Conns, res.Listener = joinConns(pc, ps)
	for _, c := range res.Conns {
		if c.Client == res.ClientAddr && c.Server == res.ServerAddr {
			res.Client, res.Server = c.ClientStates, c.ServerStates
		}
	}

	if capErr != nil {
		t.Error(capErr)
	}
	for _, err := range berrs {
		t.Errorf("netlab: scenario %s: %v", sc.Name, err)
	}
	return res
}

// joinConns pairs the two namespaces' views of each connection on the
// service port and separates the server's listening socket.
func joinConns(pc, ps *poller) ([]Conn, []Observation) {
	type tuple struct{ c, s netip.AddrPort }
	conns := map[tuple]*Conn{}
	first := map[tuple]time.Time{}
	get := func(k tuple, at time.Time) *Conn {
		c, ok := conns[k]
		if !ok {
			c = &Conn{Client: k.c, Server: k.s}
			conns[k] = c
			first[k] = at
		} else if at.Before(first[k]) {
			first[k] = at
		}
		return c
	}
	for k, obs := range pc.obs {
		// The client end is the one in the client's namespace, also in a
		// simultaneous open, where both ends dial.
		get(tuple{k.local, k.remote}, pc.first[k]).ClientStates = obs
	}
	var listener []Observation
	for k, obs := range ps.obs {
		if !k.remote.Addr().IsValid() || k.remote.Addr().IsUnspecified() {
			listener = append(listener, obs...)
			continue
		}
		get(tuple{k.remote, k.local}, ps.first[k]).ServerStates = obs
	}
	out := make([]Conn, 0, len(conns))
	keys := make([]tuple, 0, len(conns))
	for k := range conns {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return first[keys[i]].Before(first[keys[j]]) })
	for _, k := range keys {
		out = append(out, *conns[k])
	}
	sort.SliceStable(listener, func(i, j int) bool { return listener[i].Time.Before(listener[j].Time) })
	return out, listener
}
