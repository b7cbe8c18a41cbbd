package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/analyze"
	live "github.com/tcplens/tcplens/internal/capture"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/sockdiag"
	"github.com/tcplens/tcplens/internal/sockwatch"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

// exitInterrupted is the shell's code for a command ended by SIGINT.
const exitInterrupted = 130

type labOptions struct {
	order    string        // client, server or both
	port     int           // 0: a free one
	interval time.Duration // how often the sockets are read
	write    string        // -w: the capture as pcapng
	asUser   bool          // behave as without root: no capture, no holds
	wait     time.Duration // longest wait for ss to see a state
}

func newLabCmd(e *env) *cobra.Command {
	o := labOptions{order: "both", interval: time.Millisecond, wait: 3 * time.Second}
	cmd := &cobra.Command{
		Use:   "lab [flags]",
		Short: "The hello exercise on loopback: the capture, analysed, beside the socket states ss sees",
		Long: `lab runs the hands-on exercise of learning TCP end to end on loopback. It
starts a minimal listener that reads to end of file, writes back what it read
uppercased and closes; captures on lo, filtered to the listener's port;
connects and sends "hello"; and prints, interleaved by time, what each
application did, every segment as tcplens read -a prints it (tcpdump's line,
then both endpoints' states as tcplens infers them from the capture), and
every socket transition the kernel reports, as tcplens ss --watch prints
them. It does so for both close orders: the client first (the server goes
CLOSE_WAIT -> LAST_ACK) and the server first (it goes FIN_WAIT1 -> FIN_WAIT2
-> TIME_WAIT), then compares the states ss saw with those the capture shows.

As root, lab works in a network namespace of its own (its own lo, gone when
lab ends) and holds each FIN back once with an iptables rule, so that the
state its sender enters (FIN_WAIT1, LAST_ACK) lasts until the kernel resends
it, about 200 ms, long enough for ss to see; on loopback they otherwise last
microseconds. Without root there is no capture (AF_PACKET needs CAP_NET_RAW)
and nothing is held: lab says so and shows what ss sees on the host's lo.
Between steps lab waits until ss has seen the state the step leads to.`,
		Example: `  sudo tcplens lab
  sudo tcplens lab --order server -w lab.pcapng && tcplens dissect lab.pcapng -f 6
  tcplens lab          # without root: the socket states only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLab(e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.order, "order", o.order, "which side closes first: client, server, or both (one after the other)")
	f.IntVar(&o.port, "port", 0, "the listener's port (default: a free one)")
	f.DurationVar(&o.interval, "interval", o.interval, "how often the sockets are read, as ss --watch INTERVAL")
	f.StringVarP(&o.write, "write", "w", "", "also write the capture to this pcapng `FILE`")
	f.BoolVar(&o.asUser, "as-user", false, "run as without root: no capture, nothing held")
	f.MarkHidden("as-user")
	return cmd
}

// labSource says where a line of the timeline comes from.
type labSource uint8

const (
	fromApp  labSource = iota + 1 // a system call of the client or the server
	fromWire                      // a captured segment
	fromSS                        // a socket transition sock_diag showed
	fromLab                       // the lab holding or releasing a FIN
)

// labEvent is one line of the timeline.
type labEvent struct {
	at     time.Time
	source labSource
	run    int    // the run it belongs to, for app and lab lines and the listener's transitions
	cport  int    // the client port of the connection a wire or ss line is about; 0: the listener
	who    string // client, server or listener
	frame  int
	text   string
}

// labRun is one close order.
type labRun struct {
	clientFirst bool
	cport       int
	started     bool
	done        bool // every step ran (not interrupted)
}

func (r *labRun) title() string {
	if r.clientFirst {
		return "The client closes first"
	}
	return "The server closes first"
}

// lab is one invocation's state. The watcher and the capture record into
// it from their goroutines; the steps run on the caller's.
type lab struct {
	e      *env
	o      labOptions
	ctx    context.Context
	ns     *labNS // nil: the host's namespace
	holds  bool
	server netip.AddrPort
	runs   []*labRun

	mu     sync.Mutex
	events []labEvent
	run    int                                // index of the run in progress
	saw    map[sockwatch.Key][]sockdiag.State // every state ss saw each socket in; Unknown: gone
	sums   []analyze.Summary
	notes  []string
}

func runLab(e *env, o labOptions) error {
	l := &lab{e: e, o: o, saw: map[sockwatch.Key][]sockdiag.State{}}
	switch o.order {
	case "client":
		l.runs = []*labRun{{clientFirst: true}}
	case "server":
		l.runs = []*labRun{{clientFirst: false}}
	case "both":
		l.runs = []*labRun{{clientFirst: true}, {clientFirst: false}}
	default:
		return &exitError{code: exitUsage, msg: fmt.Sprintf("--order %q: want client, server or both", o.order)}
	}
	if o.interval <= 0 {
		return &exitError{code: exitUsage, msg: "--interval must be positive"}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l.ctx = ctx

	root := os.Geteuid() == 0 && !o.asUser
	if root {
		ns, err := newLabNS()
		if err != nil {
			l.note("no namespace of its own (%v): the lab runs on the host's lo, and holds nothing", err)
		}
		l.ns = ns
		defer ns.Close()
		if _, err := exec.LookPath("iptables"); ns != nil && err == nil {
			l.holds = true
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
		return err
	}

	var ln net.Listener
	err := l.ns.run(func() error {
		var err error
		ln, err = net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.port)))
		return err
	})
	if err != nil {
		return &exitError{code: exitNoInput, msg: fmt.Sprintf("lab: listening: %v", err)}
	}
	defer ln.Close()
	l.server = ln.Addr().(*net.TCPAddr).AddrPort()
	l.app("server", "listen() on %s", l.server)
	port.Store(uint32(l.server.Port()))

	var lc *labCapture
	if root {
		if lc, err = l.startCapture(); err != nil {
			return err
		}
	}
	if lc == nil && o.write != "" {
		return &exitError{code: exitNoInput, msg: "lab: -w needs the capture, which needs root"}
	}

	stepErr := l.waitSS(keyListener(l.server), sockdiag.Listen)
	for i, r := range l.runs {
		if stepErr != nil {
			break
		}
		l.mu.Lock()
		l.run = i
		l.mu.Unlock()
		r.started = true
		if stepErr = l.exchange(ln, r); stepErr != nil {
			break
		}
		r.done = true
		// Let the last segments reach the capture and ss.
		l.sleep(10*time.Millisecond + 3*o.interval)
	}
	if err := stopWatch(); err != nil && stepErr == nil {
		stepErr = err
	}
	if lc != nil {
		if err := lc.stop(); err != nil && stepErr == nil {
			stepErr = err
		}
	}
	if stepErr == errLabInterrupted {
		l.note("interrupted: the last close order shown is incomplete")
	} else if stepErr != nil {
		return stepErr
	}
	w := bufio.NewWriter(e.stdout)
	l.write(w, lc != nil, root)
	if err := w.Flush(); err != nil {
		return err
	}
	if stepErr != nil {
		return &exitError{code: exitInterrupted, msg: stepErr.Error()}
	}
	return nil
}

// note records something the reader should know about how the lab ran.
func (l *lab) note(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notes = append(l.notes, fmt.Sprintf(format, args...))
}

func (l *lab) add(ev labEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ev.source == fromApp || ev.source == fromLab || ev.cport == 0 {
		ev.run = l.run
	}
	l.events = append(l.events, ev)
}

// app records a step of the client or the server, at the time it starts.
func (l *lab) app(who, format string, args ...any) {
	l.add(labEvent{at: time.Now(), source: fromApp, who: who, text: fmt.Sprintf(format, args...)})
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
			t := &ts[i]
			who, cport := "client", int(t.Key.Local.Port())
			switch {
			case t.Key.Local.Port() == port && t.Key.Peer.Port() == 0:
				who, cport = "listener", 0
			case t.Key.Local.Port() == port:
				who, cport = "server", int(t.Key.Peer.Port())
			}
			l.add(labEvent{at: t.Time, source: fromSS, cport: cport, who: who, text: transitionText(t)})
			l.mu.Lock()
			l.saw[t.Key] = append(l.saw[t.Key], t.To) // Unknown when gone
			l.mu.Unlock()
		}
	}
	tick := time.NewTicker(l.o.interval)
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
// reads, and the file it writes with -w.
type labCapture struct {
	h    *live.Handle
	an   *analyze.Analyzer
	seg  *analyze.Segment // set by the analyzer for the frame just added
	file *os.File
	ng   *pcap.NGWriter // nil without -w
	ngID int
	done chan struct{}
}

// startCapture opens the capture on the lab's lo, filtered to the
// listener's port, and analyses it as it comes. A capture that cannot be
// opened is a note, not a failure: the lab goes on with ss alone.
func (l *lab) startCapture() (*labCapture, error) {
	c := &labCapture{done: make(chan struct{})}
	err := l.ns.run(func() error {
		var err error
		c.h, err = live.Open(live.Options{Interface: "lo", Filter: fmt.Sprintf("tcp port %d", l.server.Port())})
		return err
	})
	if err != nil {
		l.note("no capture: %v", err)
		return nil, nil
	}
	if l.o.write != "" {
		if c.file, err = os.Create(l.o.write); err == nil {
			c.ng, err = pcap.NewNGWriter(c.file)
		}
		if err != nil {
			c.h.Close()
			if c.file != nil {
				c.file.Close()
			}
			return nil, &exitError{code: exitUsage, msg: err.Error()}
		}
		c.ngID = c.ng.AddInterface("lo", c.h.Link(), 262144)
	}
	c.an = analyze.New(analyze.Options{}, func(s *analyze.Segment) { c.seg = s }, func(cn *conn.Conn, why conn.EndReason) {
		l.sums = append(l.sums, analyze.Summarize(cn, why))
	})
	go l.capture(c, l.server.Port())
	return c, nil
}

// stop ends the capture and its analysis, and closes the file.
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

// capture analyses every captured frame as tcplens read -a does, and
// records its line.
func (l *lab) capture(c *labCapture, port uint16) {
	defer close(c.done)
	p := tcpdump.NewPrinter(tcpdump.Options{Time: tcpdump.TimeNone})
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
		var ok bool
		if line, ok = appendSegmentLine(line[:0], p, &f, c.seg, true); !ok {
			continue
		}
		cport := 0
		if s := c.seg; s != nil && s.Seg.TCP != nil {
			cport = int(s.Seg.Src.Port())
			if cport == int(port) {
				cport = int(s.Seg.Dst.Port())
			}
		}
		l.add(labEvent{at: time.Unix(0, int64(f.Time)), source: fromWire, cport: cport, frame: f.Number,
			text: string(bytes.TrimSuffix(line, []byte{'\n'}))})
	}
}

// keyListener is the listener's socket as ss shows it; keyOf a run's
// server or client socket.
func keyListener(server netip.AddrPort) sockwatch.Key {
	return sockwatch.Key{Local: server, Peer: netip.AddrPortFrom(netip.IPv4Unspecified(), 0)}
}

func (l *lab) keyOf(who string, r *labRun) sockwatch.Key {
	client := netip.AddrPortFrom(l.server.Addr(), uint16(r.cport))
	if who == "server" {
		return sockwatch.Key{Local: l.server, Peer: client}
	}
	return sockwatch.Key{Local: client, Peer: l.server}
}

// seen reports whether ss has seen the socket in state st (Unknown: gone).
func (l *lab) seen(k sockwatch.Key, st sockdiag.State) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k.Peer.Port() == 0 {
		// A listener's key carries its cookie: match on the address.
		for key, states := range l.saw {
			if key.Local == k.Local && key.Peer.Port() == 0 && slices.Contains(states, st) {
				return true
			}
		}
		return false
	}
	return slices.Contains(l.saw[k], st)
}

// errLabInterrupted ends the steps on Ctrl-C; what happened so far is
// still printed.
var errLabInterrupted = errors.New("lab: interrupted")

// waitSS waits until ss has seen the socket in state st (Unknown: gone),
// or gives up after a while and says so. It fails only when interrupted.
func (l *lab) waitSS(k sockwatch.Key, st sockdiag.State) error {
	deadline := time.Now().Add(l.o.wait)
	for !l.seen(k, st) {
		if l.ctx.Err() != nil {
			return errLabInterrupted
		}
		if time.Now().After(deadline) {
			l.note("ss did not see %s %s within %v", ssAddr(k.Local), stateName(st), l.o.wait)
			return nil
		}
		time.Sleep(l.o.interval / 2)
	}
	return nil
}

// waitBoth waits until ss has seen the run's server socket in state
// server and its client socket in state client.
func (l *lab) waitBoth(r *labRun, server, client sockdiag.State) error {
	if err := l.waitSS(l.keyOf("server", r), server); err != nil {
		return err
	}
	return l.waitSS(l.keyOf("client", r), client)
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
func (l *lab) closeStep(r *labRun, who string, entered sockdiag.State, what string, do func() error) (werr error) {
	port := l.server.Port()
	if who == "client" {
		port = uint16(r.cport)
	}
	rule := []string{"OUTPUT", "-p", "tcp", "--sport", strconv.Itoa(int(port)), "--tcp-flags", "FIN", "FIN", "-j", "DROP"}
	if l.holds {
		if err := l.ns.iptables(append([]string{"-I"}, rule...)...); err != nil {
			return err
		}
		l.add(labEvent{at: time.Now(), source: fromLab, text: fmt.Sprintf("holds the %s's FIN: iptables -I OUTPUT -p tcp --sport %d --tcp-flags FIN FIN -j DROP", who, port)})
	}
	l.app(who, "%s", what)
	err := do()
	if l.holds {
		werr = l.waitSS(l.keyOf(who, r), entered)
		if derr := l.ns.iptables(append([]string{"-D"}, rule...)...); derr != nil && err == nil {
			err = derr
		}
		l.add(labEvent{at: time.Now(), source: fromLab, text: fmt.Sprintf("ss has seen %s: rule deleted; the kernel sends the %s's FIN again when its timer fires", entered, who)})
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
func (l *lab) exchange(ln net.Listener, r *labRun) error {
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	l.app("client", "connect() to %s", l.server)
	var client *net.TCPConn
	err := l.ns.run(func() error {
		c, err := net.Dial("tcp4", l.server.String())
		if err == nil {
			client = c.(*net.TCPConn)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("lab: connect: %w", err)
	}
	defer client.Close()
	r.cport = client.LocalAddr().(*net.TCPAddr).Port
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
	if r.clientFirst {
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
	if err := l.waitBoth(r, sockdiag.TimeWait, sockdiag.Unknown); err != nil {
		return err
	}
	return nil
}

// write prints the header, each run's timeline and what each side went
// through, as ss saw it and as the capture shows it.
func (l *lab) write(w io.Writer, captured, root bool) {
	port := l.server.Port()
	fmt.Fprintln(w, "tcplens lab: the hello exercise, end to end on loopback")
	if !root {
		fmt.Fprintln(w, "  NOT ROOT: no capture (AF_PACKET needs CAP_NET_RAW) and nothing held; only what ss sees is shown.")
		fmt.Fprintln(w, "  Run sudo tcplens lab for the segments beside the states.")
	}
	where := "on the host's lo"
	if l.ns != nil {
		where = "in a network namespace of its own"
	}
	fmt.Fprintf(w, "  server   %s, %s: reads to end of file, writes back what it read uppercased, closes\n", l.server, where)
	if captured {
		fmt.Fprintf(w, "  capture  lo, filter \"tcp port %d\"; each segment as tcplens read -a prints it, frame number first\n", port)
	} else {
		fmt.Fprintln(w, "  capture  none")
	}
	fmt.Fprintf(w, "  ss       the sockets every %v, as tcplens ss --watch %v 'sport = :%d or dport = :%d' prints them\n", l.o.interval, l.o.interval, port, port)
	if l.holds {
		fmt.Fprintln(w, "  holds    each FIN is dropped once before it reaches lo, so its sender's new state lasts until")
		fmt.Fprintln(w, "           the kernel sends it again (~200 ms), long enough for ss to see; otherwise microseconds")
	} else {
		fmt.Fprintln(w, "  holds    none: FIN_WAIT1 lasts until the peer's delayed ACK (up to 40 ms) and LAST_ACK a few")
		fmt.Fprintln(w, "           microseconds, so ss may miss the one and will miss the other")
	}
	for i, r := range l.runs {
		if !r.started {
			break
		}
		fmt.Fprintf(w, "\n== %s ==\n", r.title())
		if r.clientFirst {
			fmt.Fprintln(w, `The client sends "hello\n" and shuts down its side (echo hello | nc); the server reads to`)
			fmt.Fprintln(w, `end of file, answers "HELLO\n" and closes: it goes CLOSE_WAIT -> LAST_ACK, the client TIME_WAIT.`)
		} else {
			fmt.Fprintln(w, `The client sends "hello\n"; the server answers "HELLO\n" and closes at once: it goes`)
			fmt.Fprintln(w, `FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT, the client CLOSE_WAIT -> LAST_ACK.`)
		}
		l.writeTimeline(w, i, r)
		l.writeSides(w, r)
	}
	if len(l.notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range l.notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
}

func (l *lab) runEvents(i int, r *labRun) []labEvent {
	var evs []labEvent
	for _, ev := range l.events {
		switch {
		case ev.source == fromApp || ev.source == fromLab || ev.cport == 0:
			if ev.run != i {
				continue
			}
		case ev.cport != r.cport:
			continue
		}
		evs = append(evs, ev)
	}
	slices.SortStableFunc(evs, func(a, b labEvent) int { return a.at.Compare(b.at) })
	return evs
}

func (l *lab) writeTimeline(w io.Writer, i int, r *labRun) {
	evs := l.runEvents(i, r)
	if len(evs) == 0 {
		return
	}
	t0 := evs[0].at
	fmt.Fprintf(w, "\n%10s  %-12s  %s\n", "ms", "source", "what happened")
	for _, ev := range evs {
		ms := float64(ev.at.Sub(t0).Microseconds()) / 1000
		var src string
		switch ev.source {
		case fromApp:
			src = "app " + ev.who
		case fromWire:
			src = "wire #" + strconv.Itoa(ev.frame)
		case fromSS:
			src = "ss  " + ev.who
		case fromLab:
			src = "lab"
		}
		fmt.Fprintf(w, "%10.3f  %-12s  %s\n", ms, src, ev.text)
	}
}

// writeSides says what each side went through: the states ss saw, the
// states the capture shows, and which of those ss missed and why.
func (l *lab) writeSides(w io.Writer, r *labRun) {
	var sum *analyze.Summary
	for i := range l.sums {
		if int(l.sums[i].Client.Addr.Port()) == r.cport {
			sum = &l.sums[i]
		}
	}
	fmt.Fprintln(w)
	label := "ss saw"
	for _, who := range []string{"server", "client"} {
		var seen []string
		for _, st := range l.saw[l.keyOf(who, r)] {
			seen = append(seen, stateName(st))
		}
		fmt.Fprintf(w, "  %-18s %-6s  %s\n", label, who, strings.Join(seen, " -> "))
		label = ""
	}
	if sum != nil {
		label = "the capture shows"
		for _, who := range []string{"server", "client"} {
			fmt.Fprintf(w, "  %-18s %-6s  %s\n", label, who, strings.Join(historyStates(sideOf(sum, who).History), " -> "))
			label = ""
		}
	}
	if !r.done {
		return // what ss missed is not known: the steps did not all run
	}
	var missed []string
	for _, who := range []string{"server", "client"} {
		saw := l.saw[l.keyOf(who, r)]
		if sum == nil {
			// No capture: what the close order leads to.
			for _, st := range r.expected(who) {
				if !slices.Contains(saw, st) {
					missed = append(missed, fmt.Sprintf("the %s's %s", who, stateName(st)))
				}
			}
			continue
		}
		h := sideOf(sum, who).History
		for i, t := range h {
			if t.State == tcp.Listen || t.State == tcp.Closed || i+1 >= len(h) || seenAs(saw, t.State) {
				continue
			}
			lasted := h[i+1].Time.Sub(t.Time)
			missed = append(missed, fmt.Sprintf("the %s's %s (%s on the wire)", who, t.State, render.AppendDuration(nil, lasted)))
		}
	}
	if len(missed) > 0 {
		fmt.Fprintf(w, "  ss missed %s: shorter than its %v poll\n", strings.Join(missed, ", "), l.o.interval)
	}
}

func sideOf(s *analyze.Summary, who string) *analyze.Side {
	if who == "client" {
		return &s.Client
	}
	return &s.Server
}

// stateName names a state as ss --watch does; Unknown is a socket gone.
func stateName(st sockdiag.State) string {
	if st == sockdiag.Unknown {
		return "(gone)"
	}
	return st.String()
}

// expected is what ss should see of a side in this close order, the
// handshake aside.
func (r *labRun) expected(who string) []sockdiag.State {
	if r.clientFirst == (who == "client") {
		return []sockdiag.State{sockdiag.Established, sockdiag.FinWait1, sockdiag.FinWait2, sockdiag.TimeWait}
	}
	return []sockdiag.State{sockdiag.Established, sockdiag.CloseWait, sockdiag.LastAck, sockdiag.Unknown}
}

// historyStates lists the states an endpoint went through in the capture.
func historyStates(h []tcp.Transition) []string {
	var out []string
	for i, t := range h {
		if i == 0 && t.From != tcp.Unknown {
			out = append(out, t.From.String())
		}
		out = append(out, t.State.String())
	}
	return out
}

// seenAs reports whether ss saw a socket in the state tcplens inferred:
// both name states as the kernel does.
func seenAs(saw []sockdiag.State, st tcp.State) bool {
	return slices.ContainsFunc(saw, func(s sockdiag.State) bool { return s.String() == st.String() })
}
