// Package lab runs the hands-on exercise of learning TCP end to end on
// loopback, for tcplens lab: a listener that reads to end of file, writes
// back what it read uppercased and closes; a client that connects and
// sends "hello"; a capture of what goes on the wire, analysed as it comes;
// and the kernel's own socket states as sock_diag shows them, polled. It
// records all of it as a timeline; render.LabText prints it.
//
// As root it works in a network namespace of its own (gone when it ends,
// with its firewall rule and TIME_WAIT sockets) and holds each FIN back
// once with an iptables rule, so that the state its sender enters
// (FIN_WAIT1, LAST_ACK) lasts until the kernel sends the FIN again, long
// enough for a poll to see; on loopback it otherwise lasts microseconds.
package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	live "github.com/tcplens/tcplens/internal/capture"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/sockdiag"
	"github.com/tcplens/tcplens/internal/sockwatch"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

// Options are how the exercise runs.
type Options struct {
	ClientFirst, ServerFirst bool          // the close orders to run, in this order
	Port                     int           // the listener's port; 0: a free one
	Interval                 time.Duration // how often the sockets are read
	Wait                     time.Duration // the longest wait for a poll to see a state
	// AsUser runs as without root: no capture, nothing held.
	AsUser bool
	// CaptureFile, when set, names a file to write the capture to, as
	// pcapng.
	CaptureFile string
	// Line is how a captured segment reads in the timeline (tcplens lab
	// gives read -a's line); it appends it to b, or nothing for a frame
	// it does not show. Nil gives tcpdump's line alone.
	Line func(b []byte, f *pcap.Frame, seg *analyze.Segment) []byte
}

// Source says where a line of the timeline comes from.
type Source uint8

// Sources.
const (
	FromApp  Source = iota + 1 // a system call of the client or the server
	FromWire                   // a captured segment
	FromSS                     // a socket transition sock_diag showed
	FromLab                    // the lab holding or releasing a FIN
)

// Event is one line of the timeline.
type Event struct {
	At     time.Time
	Source Source
	Run    int    // the run it belongs to, for app and lab lines and the listener's transitions
	CPort  int    // the client port of the connection a wire or ss line is about; 0: the listener
	Who    string // client, server or listener
	Frame  int    // a wire line's frame number
	Text   string // what an app, wire or lab line says
	// Transition is what an ss line saw.
	Transition *sockwatch.Transition
}

// Run is one close order.
type Run struct {
	ClientFirst bool
	CPort       int // the client's port
	Started     bool
	Done        bool // every step ran (not interrupted)
}

// Title names the close order.
func (r *Run) Title() string {
	if r.ClientFirst {
		return "The client closes first"
	}
	return "The server closes first"
}

// Expected is what a poll should see of a side in this close order, the
// handshake aside; Unknown stands for the socket gone.
func (r *Run) Expected(who string) []sockdiag.State {
	if r.ClientFirst == (who == "client") {
		return []sockdiag.State{sockdiag.Established, sockdiag.FinWait1, sockdiag.FinWait2, sockdiag.TimeWait}
	}
	return []sockdiag.State{sockdiag.Established, sockdiag.CloseWait, sockdiag.LastAck, sockdiag.Unknown}
}

// Result is what the exercise recorded.
type Result struct {
	Root     bool           // it ran as root: in a namespace (unless OwnNS is false), captured, held
	OwnNS    bool           // in a network namespace of its own
	Captured bool           // a capture ran
	Holds    bool           // each FIN was held once
	Server   netip.AddrPort // the listener
	Interval time.Duration
	Runs     []*Run
	Events   []Event
	// Saw lists every state a poll saw each socket in; Unknown: gone.
	Saw map[sockwatch.Key][]sockdiag.State
	// Summaries are the connections the capture showed.
	Summaries []analyze.Summary
	Notes     []string
	// Interrupted says Ctrl-C ended the steps: the last run is
	// incomplete.
	Interrupted bool
}

// Key is the socket of a run's server or client, as sock_diag shows it.
func (r *Result) Key(who string, run *Run) sockwatch.Key {
	client := netip.AddrPortFrom(r.Server.Addr(), uint16(run.CPort))
	if who == "server" {
		return sockwatch.Key{Local: r.Server, Peer: client}
	}
	return sockwatch.Key{Local: client, Peer: r.Server}
}

// RunEvents are the timeline of run i, in time order.
func (r *Result) RunEvents(i int) []Event {
	run := r.Runs[i]
	var evs []Event
	for _, ev := range r.Events {
		switch {
		case ev.Source == FromApp || ev.Source == FromLab || ev.CPort == 0:
			if ev.Run != i {
				continue
			}
		case ev.CPort != run.CPort:
			continue
		}
		evs = append(evs, ev)
	}
	slices.SortStableFunc(evs, func(a, b Event) int { return a.At.Compare(b.At) })
	return evs
}

// Summary is the capture's summary of a run's connection, nil without one.
func (r *Result) Summary(run *Run) *analyze.Summary {
	var sum *analyze.Summary
	for i := range r.Summaries {
		if int(r.Summaries[i].Client.Addr.Port()) == run.CPort {
			sum = &r.Summaries[i]
		}
	}
	return sum
}

// Missed is what a poll missed of a run that ran through: the states the
// capture shows each side went through that no poll saw, with how long
// each lasted on the wire; without a capture, the states the close order
// leads to that no poll saw (lasted is then 0).
func (r *Result) Missed(run *Run) (missed []Miss) {
	sum := r.Summary(run)
	for _, who := range []string{"server", "client"} {
		saw := r.Saw[r.Key(who, run)]
		if sum == nil {
			for _, st := range run.Expected(who) {
				if !slices.Contains(saw, st) {
					missed = append(missed, Miss{Who: who, Kernel: st})
				}
			}
			continue
		}
		h := sideOf(sum, who).History
		for i, t := range h {
			if t.State == tcp.Listen || t.State == tcp.Closed || i+1 >= len(h) || seenAs(saw, t.State) {
				continue
			}
			missed = append(missed, Miss{Who: who, Inferred: t.State, Lasted: h[i+1].Time.Sub(t.Time)})
		}
	}
	return missed
}

// Miss is a state no poll saw.
type Miss struct {
	Who      string
	Kernel   sockdiag.State // without a capture: the state expected
	Inferred tcp.State      // with one: the state the capture shows
	Lasted   time.Duration  // how long it lasted on the wire
}

// Side is the capture's account of a side of a connection.
func Side(s *analyze.Summary, who string) *analyze.Side { return sideOf(s, who) }

func sideOf(s *analyze.Summary, who string) *analyze.Side {
	if who == "client" {
		return &s.Client
	}
	return &s.Server
}

// seenAs reports whether a poll saw a socket in the state tcplens
// inferred: both name states as the kernel does.
func seenAs(saw []sockdiag.State, st tcp.State) bool {
	return slices.ContainsFunc(saw, func(s sockdiag.State) bool { return s.String() == st.String() })
}

// ErrInterrupted ends the steps on Ctrl-C; what happened so far is still
// in the Result.
var ErrInterrupted = errors.New("lab: interrupted")

// lab is one run of the exercise. The watcher and the capture record into
// it from their goroutines; the steps run on the caller's.
type lab struct {
	o   Options
	ctx context.Context
	ns  *netns // nil: the host's namespace
	res *Result

	mu  sync.Mutex
	run int // index of the run in progress
}

// Do runs the exercise until its steps are done or ctx ends, and returns
// what it recorded. An error means it could not run at all; an
// interruption is Result.Interrupted.
func Do(ctx context.Context, o Options) (*Result, error) {
	res := &Result{Interval: o.Interval, Saw: map[sockwatch.Key][]sockdiag.State{}}
	if o.ClientFirst {
		res.Runs = append(res.Runs, &Run{ClientFirst: true})
	}
	if o.ServerFirst {
		res.Runs = append(res.Runs, &Run{})
	}
	if o.Line == nil {
		p := tcpdump.NewPrinter(tcpdump.Options{Time: tcpdump.TimeNone})
		o.Line = func(b []byte, f *pcap.Frame, _ *analyze.Segment) []byte {
			start := len(b)
			if b, ok := p.Append(b, f); ok {
				return b
			}
			return b[:start]
		}
	}
	l := &lab{o: o, ctx: ctx, res: res}

	res.Root = os.Geteuid() == 0 && !o.AsUser
	if res.Root {
		ns, err := newNetns()
		if err != nil {
			l.note("no namespace of its own (%v): the lab runs on the host's lo, and holds nothing", err)
		}
		l.ns, res.OwnNS = ns, ns != nil
		defer ns.Close()
		if _, err := exec.LookPath("iptables"); ns != nil && err == nil {
			res.Holds = true
		} else if ns != nil {
			l.note("no iptables (%v): nothing is held, so ss may miss FIN_WAIT1 and will miss LAST_ACK, which last microseconds on loopback", err)
		}
	}

	// The watcher first, so that it sees the listener appear. It keeps the
	// sockets of the listener's port, once there is one.
	var port atomic.Uint32
	watchReady, watchStop, watchDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go l.watch(func() uint16 { return uint16(port.Load()) }, watchReady, watchStop, watchDone)
	stopWatch := sync.OnceValue(func() error {
		close(watchStop)
		return <-watchDone
	})
	defer stopWatch()
	select {
	case <-watchReady:
	case err := <-watchDone:
		watchDone <- err
		return nil, err
	}

	var ln net.Listener
	err := l.ns.run(func() error {
		var err error
		ln, err = net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lab: listening: %v", err)
	}
	defer ln.Close()
	res.Server = ln.Addr().(*net.TCPAddr).AddrPort()
	l.app("server", "listen() on %s", res.Server)
	port.Store(uint32(res.Server.Port()))

	var lc *labCapture
	if res.Root {
		lc = l.startCapture()
		res.Captured = lc != nil && lc.err == nil
	}
	if lc == nil && o.CaptureFile != "" {
		return nil, errors.New("lab: -w needs the capture, which needs root")
	}
	if lc != nil && lc.err != nil {
		return nil, lc.err
	}

	stepErr := l.waitSS(keyListener(res.Server), sockdiag.Listen)
	for i, r := range res.Runs {
		if stepErr != nil {
			break
		}
		l.mu.Lock()
		l.run = i
		l.mu.Unlock()
		r.Started = true
		if stepErr = l.exchange(ln, r); stepErr != nil {
			break
		}
		r.Done = true
		// Let the last segments reach the capture and ss.
		l.sleep(10*time.Millisecond + 3*o.Interval)
	}
	if err := stopWatch(); err != nil && stepErr == nil {
		stepErr = err
	}
	if lc != nil {
		if err := lc.stop(); err != nil && stepErr == nil {
			stepErr = err
		}
	}
	if stepErr == ErrInterrupted {
		res.Interrupted = true
		l.note("interrupted: the last close order shown is incomplete")
		return res, nil
	}
	return res, stepErr
}

// note records something the reader should know about how the lab ran.
func (l *lab) note(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.Notes = append(l.res.Notes, fmt.Sprintf(format, args...))
}

func (l *lab) add(ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ev.Source == FromApp || ev.Source == FromLab || ev.CPort == 0 {
		ev.Run = l.run
	}
	l.res.Events = append(l.res.Events, ev)
}

// app records a step of the client or the server, at the time it starts.
func (l *lab) app(who, format string, args ...any) {
	l.add(Event{At: time.Now(), Source: FromApp, Who: who, Text: fmt.Sprintf(format, args...)})
}

// watch reads the lab's sockets every interval until stop, recording each
// transition as ss --watch prints it.
func (l *lab) watch(portOf func() uint16, ready chan<- struct{}, stop <-chan struct{}, done chan<- error) {
	var port uint16
	keep := func(s *sockdiag.Socket) bool { return port != 0 && (s.Local.Port() == port || s.Peer.Port() == port) }
	var (
		tr sockwatch.Tracker
		ts []sockwatch.Transition
	)
	record := func(ts []sockwatch.Transition) {
		for i := range ts {
			t := ts[i]
			who, cport := "client", int(t.Key.Local.Port())
			switch {
			case t.Key.Local.Port() == port && t.Key.Peer.Port() == 0:
				who, cport = "listener", 0
			case t.Key.Local.Port() == port:
				who, cport = "server", int(t.Key.Peer.Port())
			}
			l.add(Event{At: t.Time, Source: FromSS, CPort: cport, Who: who, Transition: &t})
			l.mu.Lock()
			l.res.Saw[t.Key] = append(l.res.Saw[t.Key], t.To) // Unknown when gone
			l.mu.Unlock()
		}
	}
	tick := time.NewTicker(l.o.Interval)
	defer tick.Stop()
	for {
		port = portOf() // before the snapshot: a listener in it is then kept
		snap, err := sockdiag.Take(sockdiag.Options{NetNS: l.ns.Path(), SocketsOnly: true})
		if err != nil {
			done <- err
			return
		}
		ts = tr.Update(snap, keep, ts[:0])
		if ready != nil {
			close(ready) // the first snapshot is taken: what comes next is new
			ready = nil
		}
		record(ts)
		select {
		case <-stop:
			record(tr.Flush(ts[:0])) // what the last snapshot missed is gone
			done <- nil
			return
		case <-tick.C:
		}
	}
}

// labCapture is the lab's capture: the ring, the analysis of what it
// reads, and the pcapng it writes.
type labCapture struct {
	h    *live.Handle
	an   *analyze.Analyzer
	seg  *analyze.Segment // set by the analyzer for the frame just added
	file *os.File
	ng   *pcap.NGWriter // nil without Options.CaptureFile
	ngID int
	err  error // the file could not be made: the lab does not run
	done chan struct{}
}

// startCapture opens the capture on the lab's lo, filtered to the
// listener's port, and analyses it as it comes. A capture that cannot be
// opened is a note, not a failure: the lab goes on with ss alone.
func (l *lab) startCapture() *labCapture {
	c := &labCapture{done: make(chan struct{})}
	err := l.ns.run(func() error {
		var err error
		c.h, err = live.Open(live.Options{Interface: "lo", Filter: fmt.Sprintf("tcp port %d", l.res.Server.Port())})
		return err
	})
	if err != nil {
		l.note("no capture: %v", err)
		return nil
	}
	if l.o.CaptureFile != "" {
		if c.file, err = os.Create(l.o.CaptureFile); err == nil {
			c.ng, err = pcap.NewNGWriter(c.file)
		}
		if err != nil {
			c.h.Close()
			if c.file != nil {
				c.file.Close()
			}
			c.err = fmt.Errorf("lab: %w", err)
			return c
		}
		c.ngID = c.ng.AddInterface("lo", c.h.Link(), 262144)
	}
	c.an = analyze.New(analyze.Options{}, func(s *analyze.Segment) { c.seg = s }, func(cn *conn.Conn, why conn.EndReason) {
		l.res.Summaries = append(l.res.Summaries, analyze.Summarize(cn, why))
	})
	go l.capture(c, l.res.Server.Port())
	return c
}

// stop ends the capture and its analysis, and finishes the pcapng.
func (c *labCapture) stop() error {
	c.h.Stop()
	<-c.done
	c.h.Close()
	c.an.Close()
	if c.ng == nil {
		return nil
	}
	err := c.ng.Close()
	if cerr := c.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// capture analyses every captured frame and records its line.
func (l *lab) capture(c *labCapture, port uint16) {
	defer close(c.done)
	var line []byte
	for {
		f, err := c.h.Next()
		if err == live.ErrTimeout {
			continue
		}
		if err != nil {
			if err != io.EOF {
				l.note("capture: %v", err)
			}
			return
		}
		if c.ng != nil {
			if err := c.ng.WritePacket(c.ngID, &f); err != nil {
				l.note("writing the capture: %v", err)
				c.ng = nil
			}
		}
		c.seg = nil
		c.an.Add(&f)
		if line = l.o.Line(line[:0], &f, c.seg); len(line) == 0 {
			continue
		}
		cport := 0
		if s := c.seg; s != nil && s.Seg.TCP != nil {
			cport = int(s.Seg.Src.Port())
			if cport == int(port) {
				cport = int(s.Seg.Dst.Port())
			}
		}
		l.add(Event{At: time.Unix(0, int64(f.Time)), Source: FromWire, CPort: cport, Frame: f.Number,
			Text: string(bytes.TrimSuffix(line, []byte{'\n'}))})
	}
}

// keyListener is the listener's socket as ss shows it.
func keyListener(server netip.AddrPort) sockwatch.Key {
	return sockwatch.Key{Local: server, Peer: netip.AddrPortFrom(netip.IPv4Unspecified(), 0)}
}

// seen reports whether ss has seen the socket in state st (Unknown: gone).
func (l *lab) seen(k sockwatch.Key, st sockdiag.State) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k.Peer.Port() == 0 {
		// A listener's key carries its cookie: match on the address.
		for key, states := range l.res.Saw {
			if key.Local == k.Local && key.Peer.Port() == 0 && slices.Contains(states, st) {
				return true
			}
		}
		return false
	}
	return slices.Contains(l.res.Saw[k], st)
}

// StateName names a state as ss --watch does; Unknown is a socket gone.
func StateName(st sockdiag.State) string {
	if st == sockdiag.Unknown {
		return "(gone)"
	}
	return st.String()
}

// waitSS waits until ss has seen the socket in state st (Unknown: gone),
// or gives up after a while and says so. It fails only when interrupted.
func (l *lab) waitSS(k sockwatch.Key, st sockdiag.State) error {
	deadline := time.Now().Add(l.o.Wait)
	for !l.seen(k, st) {
		if l.ctx.Err() != nil {
			return ErrInterrupted
		}
		if time.Now().After(deadline) {
			l.note("ss did not see %s %s within %v", sockAddr(k.Local), StateName(st), l.o.Wait)
			return nil
		}
		time.Sleep(l.o.Interval / 2)
	}
	return nil
}

// sockAddr formats an endpoint as ss -n does: the port of an unconnected
// peer is "*".
func sockAddr(ap netip.AddrPort) string {
	if ap.Port() == 0 {
		return ap.Addr().String() + ":*"
	}
	return ap.String()
}

// waitBoth waits until ss has seen the run's server socket in state
// server and its client socket in state client.
func (l *lab) waitBoth(r *Run, server, client sockdiag.State) error {
	if err := l.waitSS(l.res.Key("server", r), server); err != nil {
		return err
	}
	return l.waitSS(l.res.Key("client", r), client)
}

func (l *lab) sleep(d time.Duration) {
	select {
	case <-l.ctx.Done():
	case <-time.After(d):
	}
}

// closeStep runs a close or shutdown that sends a FIN. With holds, an
// iptables rule drops that FIN before it reaches lo, so the state its
// sender enters lasts until the kernel sends it again (its probe timer,
// about 200 ms) and ss sees it; the rule goes as soon as ss has.
func (l *lab) closeStep(r *Run, who string, entered sockdiag.State, what string, do func() error) (werr error) {
	port := l.res.Server.Port()
	if who == "client" {
		port = uint16(r.CPort)
	}
	rule := []string{"OUTPUT", "-p", "tcp", "--sport", strconv.Itoa(int(port)), "--tcp-flags", "FIN", "FIN", "-j", "DROP"}
	if l.res.Holds {
		if err := l.ns.iptables(append([]string{"-I"}, rule...)...); err != nil {
			return err
		}
		l.add(Event{At: time.Now(), Source: FromLab, Text: fmt.Sprintf("holds the %s's FIN: iptables -I OUTPUT -p tcp --sport %d --tcp-flags FIN FIN -j DROP", who, port)})
	}
	l.app(who, "%s", what)
	err := do()
	if l.res.Holds {
		werr = l.waitSS(l.res.Key(who, r), entered)
		if derr := l.ns.iptables(append([]string{"-D"}, rule...)...); derr != nil && err == nil {
			err = derr
		}
		l.add(Event{At: time.Now(), Source: FromLab, Text: fmt.Sprintf("ss has seen %s: rule deleted; the kernel sends the %s's FIN again when its timer fires", entered, who)})
	}
	if err != nil {
		return fmt.Errorf("lab: %s: %s: %w", who, what, err)
	}
	return werr
}

// readAll reads to end of file, recording each read.
func (l *lab) readAll(who string, c net.Conn) ([]byte, error) {
	var all []byte
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			l.app(who, "read() = %d bytes %q", n, buf[:n])
			all = append(all, buf[:n]...)
		}
		if err == io.EOF {
			l.app(who, "read() = 0: end of file, the peer's FIN")
			return all, nil
		}
		if err != nil {
			return all, err
		}
	}
}

// exchange runs one hello exchange in the run's close order.
func (l *lab) exchange(ln net.Listener, r *Run) error {
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	server := l.res.Server
	l.app("client", "connect() to %s", server)
	var client *net.TCPConn
	err := l.ns.run(func() error {
		c, err := net.Dial("tcp4", server.String())
		if err == nil {
			client = c.(*net.TCPConn)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("lab: connect: %w", err)
	}
	defer client.Close()
	r.CPort = client.LocalAddr().(*net.TCPAddr).Port
	srv, ok := <-accepted
	if !ok {
		return errors.New("lab: accept failed")
	}
	defer srv.Close()
	l.app("server", "accept() = a connection from %s", client.LocalAddr())
	if err := l.waitBoth(r, sockdiag.Established, sockdiag.Established); err != nil {
		return err
	}

	l.app("client", `write("hello\n")`)
	if _, err := client.Write([]byte("hello\n")); err != nil {
		return err
	}
	if r.ClientFirst {
		// echo hello | nc: the client says it is done; the server reads to
		// end of file, answers and closes.
		if err := l.closeStep(r, "client", sockdiag.FinWait1, "shutdown(SHUT_WR): the client will send no more", client.CloseWrite); err != nil {
			return err
		}
		if err := l.waitBoth(r, sockdiag.CloseWait, sockdiag.FinWait2); err != nil {
			return err
		}
		got, err := l.readAll("server", srv)
		if err != nil {
			return err
		}
		l.app("server", "write(%q)", bytes.ToUpper(got))
		if _, err := srv.Write(bytes.ToUpper(got)); err != nil {
			return err
		}
		if err := l.closeStep(r, "server", sockdiag.LastAck, "close()", srv.Close); err != nil {
			return err
		}
		if err := l.waitBoth(r, sockdiag.Unknown, sockdiag.TimeWait); err != nil {
			return err
		}
		if _, err := l.readAll("client", client); err != nil {
			return err
		}
		l.app("client", "close(): the socket stays in TIME_WAIT without it")
		return client.Close()
	}
	// The server answers what it read and closes without waiting for the
	// client's end of file; the client reads the answer to end of file
	// and closes.
	buf := make([]byte, 512)
	n, err := srv.Read(buf)
	if err != nil {
		return err
	}
	l.app("server", "read() = %d bytes %q", n, buf[:n])
	l.app("server", "write(%q)", bytes.ToUpper(buf[:n]))
	if _, err := srv.Write(bytes.ToUpper(buf[:n])); err != nil {
		return err
	}
	if err := l.closeStep(r, "server", sockdiag.FinWait1, "close()", srv.Close); err != nil {
		return err
	}
	if err := l.waitBoth(r, sockdiag.FinWait2, sockdiag.CloseWait); err != nil {
		return err
	}
	if _, err := l.readAll("client", client); err != nil {
		return err
	}
	if err := l.closeStep(r, "client", sockdiag.LastAck, "close()", client.Close); err != nil {
		return err
	}
	return l.waitBoth(r, sockdiag.TimeWait, sockdiag.Unknown)
}

// HistoryStates lists the states an endpoint went through in the capture.
func HistoryStates(h []tcp.Transition) []string {
	var out []string
	for i, t := range h {
		if i == 0 && t.From != tcp.Unknown {
			out = append(out, t.From.String())
		}
		out = append(out, t.State.String())
	}
	return out
}
