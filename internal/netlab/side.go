package netlab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Side is what a behaviour gets: its endpoint's addresses and helpers that
// make sockets in the endpoint's namespace, tie every blocking call to the
// scenario's deadline and synchronise the two behaviours. Sockets made
// through a Side stay open until the run ends (after capture and polling
// have stopped), so a behaviour can leak one on purpose by returning
// without closing it.
type Side struct {
	Role Role
	Addr netip.Addr // this endpoint's address
	Peer netip.Addr // the other endpoint's address
	Port uint16     // the service port
	// ClientPort is the client's first port: its first Dial's. Each run
	// has a block of ports of its own (see reservePorts).
	ClientPort uint16

	netns string // the endpoint's namespace, for Exec
	sh    *shared
}

// shared is the state of one run that both sides see.
type shared struct {
	ctx       context.Context
	startCap  func() error // starts the capture (for LateCapture)
	awaitPath func(match func(p *Packet) bool) <-chan struct{}
	readyOnce sync.Once
	ready     chan struct{} // closed when the client may start

	mu       sync.Mutex
	marks    map[string]chan struct{}
	meets    map[string]*meeting
	closers  []io.Closer
	notes    []string
	nextPort uint16
}

func newShared(ctx context.Context, firstPort uint16, startCap func() error, awaitPath func(func(p *Packet) bool) <-chan struct{}) *shared {
	return &shared{
		ctx:       ctx,
		startCap:  startCap,
		awaitPath: awaitPath,
		ready:     make(chan struct{}),
		marks:     make(map[string]chan struct{}),
		meets:     make(map[string]*meeting),
		nextPort:  firstPort,
	}
}

func (sh *shared) markReady() { sh.readyOnce.Do(func() { close(sh.ready) }) }

func (sh *shared) track(c io.Closer) {
	sh.mu.Lock()
	sh.closers = append(sh.closers, c)
	sh.mu.Unlock()
}

func (sh *shared) closeAll() {
	sh.mu.Lock()
	cs := sh.closers
	sh.closers = nil
	sh.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

func (sh *shared) mark(name string) chan struct{} {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ch, ok := sh.marks[name]
	if !ok {
		ch = make(chan struct{})
		sh.marks[name] = ch
	}
	return ch
}

// Context is done when the scenario's time is up.
func (s *Side) Context() context.Context { return s.sh.ctx }

// Logf adds a line to the run's notes.
func (s *Side) Logf(format string, args ...any) {
	s.sh.mu.Lock()
	s.sh.notes = append(s.sh.notes, s.Role.String()+": "+fmt.Sprintf(format, args...))
	s.sh.mu.Unlock()
}

// Ready lets the client start (the server does not listen, as in a
// simultaneous open).
func (s *Side) Ready() { s.sh.markReady() }

// Signal marks the event name as happened, waking every Wait for it.
// Signalling twice is harmless.
func (s *Side) Signal(name string) {
	ch := s.sh.mark(name)
	s.sh.mu.Lock()
	defer s.sh.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// Wait blocks until the event name is signalled or the scenario's time is up.
func (s *Side) Wait(name string) error {
	select {
	case <-s.sh.mark(name):
		return nil
	case <-s.sh.ctx.Done():
		return fmt.Errorf("netlab: waiting for %q: %w", name, s.sh.ctx.Err())
	}
}

// Sleep pauses for d, or less if the scenario's time is up.
func (s *Side) Sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.sh.ctx.Done():
		return s.sh.ctx.Err()
	}
}

// meeting is the rendezvous of Together.
type meeting struct {
	arrived atomic.Int32
	at      atomic.Int64 // Unix nanoseconds at which both act; 0 until both arrived
}

// togetherLead is how long after the second arrival both sides act: time
// for the first to notice.
const togetherLead = 5 * time.Millisecond

// Together runs f on both sides at the same moment: each side calls it with
// the same name, and f runs on each when both have arrived, within tens of
// microseconds of each other on an idle machine (to cross FINs or SYNs in
// a path of a few milliseconds). It must be called on the behaviour's own
// goroutine: it waits on its thread at real-time priority (on Linux; see
// realtime), so that neither side's start depends on the Go scheduler.
func (s *Side) Together(name string, f func() error) error {
	s.sh.mu.Lock()
	m, ok := s.sh.meets[name]
	if !ok {
		m = &meeting{}
		s.sh.meets[name] = m
	}
	s.sh.mu.Unlock()
	if m.arrived.Add(1) == 2 {
		m.at.Store(time.Now().Add(togetherLead).UnixNano())
	}
	// Locking nests: inside a behaviour (already locked) this keeps the
	// thread; elsewhere it keeps the real-time setting off other threads.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	restore, _ := realtime()
	defer restore()
	for {
		if at := m.at.Load(); at != 0 {
			sleepThread(time.Until(time.Unix(0, at)))
			return f()
		}
		if err := s.sh.ctx.Err(); err != nil {
			return fmt.Errorf("netlab: waiting for the other side at %q: %w", name, err)
		}
		sleepThread(200 * time.Microsecond)
	}
}

// Exec runs a command in the endpoint's namespace (through ip netns exec,
// so that it does not depend on which thread forks it), for what the
// kernel offers no socket option for: a netfilter rule on the endpoint's
// own traffic. The namespace and everything set in it go with the run.
func (s *Side) Exec(name string, args ...string) error {
	out, err := exec.CommandContext(s.sh.ctx, "ip", append([]string{"netns", "exec", s.netns, name}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netlab: %s %v in the %s's namespace: %v: %s", name, args, s.Role, err, bytes.TrimSpace(out))
	}
	return nil
}

// AwaitPath blocks until the path sees a frame in direction dir that
// match matches (whether it drops it or not), or the scenario's time is
// up: for a behaviour whose end depends on the kernel's timers, which a
// loaded machine delays (a SYN-ACK resent, the RST that answers it).
func (s *Side) AwaitPath(what string, dir Dir, match func(p *Packet) bool) error {
	select {
	case <-s.sh.awaitPath(func(p *Packet) bool { return p.Dir == dir && p.Seg != nil && match(p) }):
		return nil
	case <-s.sh.ctx.Done():
		return fmt.Errorf("netlab: waiting for %s on the path: %w", what, s.sh.ctx.Err())
	}
}

// WatchPath is AwaitPath in two steps: it starts watching now and returns
// the wait, so that a frame that passes before the wait begins counts.
func (s *Side) WatchPath(what string, dir Dir, match func(p *Packet) bool) func() error {
	seen := s.sh.awaitPath(func(p *Packet) bool { return p.Dir == dir && p.Seg != nil && match(p) })
	return func() error {
		select {
		case <-seen:
			return nil
		case <-s.sh.ctx.Done():
			return fmt.Errorf("netlab: waiting for %s on the path: %w", what, s.sh.ctx.Err())
		}
	}
}

// StartCapture starts tcpdump, for a scenario with LateCapture; it returns
// once tcpdump listens. Otherwise it does nothing.
func (s *Side) StartCapture() error { return s.sh.startCap() }

// Opt is a socket option applied before a socket binds, connects or
// listens.
type Opt func(*sockOpts)

type sockOpts struct {
	rcvBuf, sndBuf int
	fastOpen       bool
	timeout        time.Duration
}

// RcvBuf sets SO_RCVBUF before the handshake, so it also bounds the window
// the socket offers (Linux doubles the value for its bookkeeping).
func RcvBuf(n int) Opt { return func(o *sockOpts) { o.rcvBuf = n } }

// SndBuf sets SO_SNDBUF.
func SndBuf(n int) Opt { return func(o *sockOpts) { o.sndBuf = n } }

// FastOpen turns on TCP Fast Open: TCP_FASTOPEN (queue of 16) on a
// listener, TCP_FASTOPEN_CONNECT on a dialling socket. With the latter,
// connect returns at once and the first write sends the SYN, carrying the
// data if the client holds a cookie; use WriteFastOpen for that write.
// The namespaces need net.ipv4.tcp_fastopen=3.
func FastOpen() Opt { return func(o *sockOpts) { o.fastOpen = true } }

// DialTimeout makes Dial give up (and close the socket) after d.
func DialTimeout(d time.Duration) Opt { return func(o *sockOpts) { o.timeout = d } }

func collect(opts []Opt) sockOpts {
	var o sockOpts
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Listen listens on the endpoint's address and the service port and lets
// the client start.
func (s *Side) Listen(opts ...Opt) (*net.TCPListener, error) {
	o := collect(opts)
	lc := net.ListenConfig{KeepAlive: -1, Control: control(o, true)}
	ln, err := lc.Listen(s.sh.ctx, "tcp", netip.AddrPortFrom(s.Addr, s.Port).String())
	if err != nil {
		return nil, fmt.Errorf("netlab: listen: %w", err)
	}
	s.sh.track(ln)
	s.sh.markReady()
	return ln.(*net.TCPListener), nil
}

// Accept accepts a connection on ln, giving up when the scenario's time is
// up. Reads and writes on the connection fail then too.
func (s *Side) Accept(ln *net.TCPListener) (*net.TCPConn, error) {
	if dl, ok := s.sh.ctx.Deadline(); ok {
		ln.SetDeadline(dl)
	}
	c, err := ln.AcceptTCP()
	if err != nil {
		return nil, fmt.Errorf("netlab: accept: %w", err)
	}
	s.sh.track(c)
	if dl, ok := s.sh.ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	return c, nil
}

// Dial connects from the endpoint's address and the next client port
// (ClientPort, then one more for each Dial) to the peer's service port. Keepalive is off unless the behaviour turns it on.
func (s *Side) Dial(opts ...Opt) (*net.TCPConn, error) {
	s.sh.mu.Lock()
	port := s.sh.nextPort
	s.sh.nextPort++
	s.sh.mu.Unlock()
	return s.Connect(netip.AddrPortFrom(s.Addr, port), netip.AddrPortFrom(s.Peer, s.Port), opts...)
}

// Connect connects from local to remote.
func (s *Side) Connect(local, remote netip.AddrPort, opts ...Opt) (*net.TCPConn, error) {
	o := collect(opts)
	d := net.Dialer{
		LocalAddr: net.TCPAddrFromAddrPort(local),
		KeepAlive: -1,
		Timeout:   o.timeout,
		Control:   control(o, false),
	}
	c, err := d.DialContext(s.sh.ctx, "tcp", remote.String())
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	s.sh.track(tc)
	if dl, ok := s.sh.ctx.Deadline(); ok {
		tc.SetDeadline(dl)
	}
	return tc, nil
}

// Payload returns n bytes of printable filler, the same for the same n.
func Payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}
