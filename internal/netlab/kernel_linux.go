package netlab

import (
	"errors"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// longGap is a pause between polls worth reporting: a state shorter than
// it may have been missed.
const longGap = 5 * time.Millisecond

// poller records the state changes of every socket on one port in one
// namespace by reading its /proc/net/tcp and tcp6 every PollInterval. It
// is the run's only view of mini-sockets (request and TIME_WAIT sockets)
// and of the listener, which the tracer does not see; see mergeStates.
type poller struct {
	files []*os.File // the namespace's tables, opened from inside it
	port  uint16
	buf   []byte

	cur, seen map[sockKey]pstate
	seenMu    sync.Mutex // guards seen against state
	obs       map[sockKey][]polled
	first     map[sockKey]time.Time
	spans     []pollSpan // every poll
	lastStart time.Time  // start of the previous poll
	polls     int
	maxGap    time.Duration
	gaps      [][2]time.Time // intervals longer than longGap without a poll
	lastEnd   time.Time

	stopping atomic.Bool
	done     chan struct{}
	rt       bool // polling on a real-time thread
}

// startPoller opens the tables from a thread inside ns (the files then
// keep reading that namespace, whichever thread reads them) and starts
// polling.
func startPoller(ns *netns, port uint16) (*poller, error) {
	p := &poller{
		port: port, buf: make([]byte, 64<<10),
		cur: map[sockKey]pstate{}, seen: map[sockKey]pstate{},
		obs: map[sockKey][]polled{}, first: map[sockKey]time.Time{},
		done: make(chan struct{}),
	}
	err := ns.do(func() error {
		for _, name := range []string{"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"} {
			f, err := os.Open(name)
			if errors.Is(err, os.ErrNotExist) && name != "/proc/thread-self/net/tcp" {
				continue // IPv6 compiled out
			}
			if err != nil {
				return err
			}
			p.files = append(p.files, f)
		}
		return nil
	})
	if err != nil {
		p.close()
		return nil, err
	}
	p.poll()
	go p.loop()
	return p, nil
}

func (p *poller) close() {
	for _, f := range p.files {
		f.Close()
	}
}

// loop polls every PollInterval on a real-time thread (see realtime),
// sleeping in the kernel between polls.
func (p *poller) loop() {
	defer close(p.done)
	runtime.LockOSThread() // never unlocked: the real-time thread is retired with the goroutine
	_, p.rt = realtime()
	for {
		stop := p.stopping.Load()
		p.poll()
		if stop {
			return
		}
		sleepThread(PollInterval)
	}
}

// stop polls a last time and stops.
func (p *poller) stop() {
	p.stopping.Store(true)
	<-p.done
	p.close()
}

// poll reads the tables once and records what changed. A seq_file read
// at offset 0 regenerates the table, so the same descriptor serves every
// poll.
func (p *poller) poll() {
	start := time.Now()
	clear(p.cur)
	for _, f := range p.files {
		n := 0
		for {
			if n == len(p.buf) {
				p.buf = append(p.buf, make([]byte, len(p.buf))...)
			}
			m, err := f.ReadAt(p.buf[n:], int64(n))
			n += m
			if err == io.EOF || m == 0 {
				break
			}
			if err != nil {
				break
			}
		}
		parseProcNet(p.buf[:n], func(s procSock) {
			if s.Local.Port() == p.port || s.Remote.Port() == p.port {
				// A request socket shows as SYN_RECV (a full socket is
				// in SYN_RECV for microseconds, or a round trip after a
				// Fast Open SYN); a TIME_WAIT socket has timer 3.
				p.cur[sockKey{s.Local, s.Remote}] = pstate{s.State, s.State == stateSynRecv || s.Timer == 3}
			}
		})
	}
	end := time.Now()
	if p.polls > 0 {
		gap := end.Sub(p.lastEnd)
		if gap > p.maxGap {
			p.maxGap = gap
		}
		if gap > longGap {
			p.gaps = append(p.gaps, [2]time.Time{p.lastEnd, end})
		}
	}
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	for k, st := range p.cur {
		if old, ok := p.seen[k]; ok && old == st {
			continue
		}
		p.record(k, stateName(st.state), st.mini, end)
		p.seen[k] = st
	}
	for k := range p.seen {
		if _, ok := p.cur[k]; !ok {
			p.record(k, Gone, false, end)
			delete(p.seen, k)
		}
	}
	p.polls++
	p.spans = append(p.spans, pollSpan{start, end})
	p.lastStart, p.lastEnd = start, end
}

// state returns the socket's state as the latest poll saw it: a kernel
// state name, or "" when the socket was not there.
func (p *poller) state(k sockKey) string {
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	st, ok := p.seen[k]
	if !ok {
		return ""
	}
	return stateName(st.state)
}

// pstate is a socket as one poll saw it.
type pstate struct {
	state uint8
	mini  bool
}

func (p *poller) record(k sockKey, state string, mini bool, at time.Time) {
	if _, ok := p.first[k]; !ok {
		p.first[k] = at
	}
	nb := p.lastStart
	if p.polls == 0 {
		nb = time.Time{} // present before polling began
	}
	p.obs[k] = append(p.obs[k], polled{state: state, mini: mini, time: at, notBefore: nb})
}
