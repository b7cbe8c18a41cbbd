package netlab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// tracer records the sock:inet_sock_set_state tracepoint for one run's
// sockets: every state change of a full socket, with its time, however
// busy the machine (the kernel writes the event in the code path that
// changes the state; nothing polls). It runs in a tracefs instance of its
// own, so that runs beside it (other tests, other users) neither see its
// events nor disturb its settings. The tracepoint names no network
// namespace, and every run has the same addresses: the run's sockets are
// told apart by the run's own block of client ports (reservePorts), which
// the instance's filter selects.
//
// The tracepoint does not report mini-sockets: a request socket
// (SYN_RECV, from the SYN until the handshake's ACK creates the full
// socket) and a TIME_WAIT socket (which replaces the full socket, whose
// event then says CLOSE). The socket-table poller sees those; see
// mergeStates.
type tracer struct {
	dir     string
	offset  time.Duration // CLOCK_REALTIME − CLOCK_MONOTONIC, the instance's clock
	started time.Time
	skaddr  bool // the events carry the socket's address (the fields option)
}

// mountTracefs mounts tracefs where it is not mounted yet.
func mountTracefs() error {
	if _, err := os.Stat(filepath.Join(tracefs, "instances")); err == nil {
		return nil
	}
	if err := unix.Mount("nodev", tracefs, "tracefs", 0, ""); err != nil {
		return fmt.Errorf("netlab: mount -t tracefs nodev %s: %w", tracefs, err)
	}
	return nil
}

// realtimeOffset returns CLOCK_REALTIME − CLOCK_MONOTONIC: the real time
// read between two monotonic readings, less their midpoint, of the
// tightest of a few tries (a busy machine can preempt the thread between
// two system calls for a millisecond or more).
func realtimeOffset() time.Duration {
	best, bracket := time.Duration(0), time.Duration(-1)
	for range 8 {
		var m1, real, m2 unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &m1)
		unix.ClockGettime(unix.CLOCK_REALTIME, &real)
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &m2)
		if b := time.Duration(m2.Nano() - m1.Nano()); bracket < 0 || b < bracket {
			best, bracket = time.Duration(real.Nano()-(m1.Nano()+m2.Nano())/2), b
		}
		if bracket < 2*time.Microsecond {
			break
		}
	}
	return best
}

// clockStepped is how far the real-time clock may move against the
// monotonic one during a run of d before the tracepoint's times
// (monotonic, placed on the real-time axis of the captures) are refused:
// NTP slews it by at most 0.5 ms a second; a step is a jump.
func clockStepped(d time.Duration) time.Duration { return time.Millisecond + d/2000 }

// startTracer makes the instance name, selects the events of connections
// between the client ports [base, base+n) and the service port, and
// starts recording.
func startTracer(name string, base, n, service uint16) (*tracer, error) {
	if err := mountTracefs(); err != nil {
		return nil, err
	}
	tr := &tracer{dir: filepath.Join(tracefs, "instances", name)}
	if err := os.Mkdir(tr.dir, 0o755); err != nil {
		return nil, fmt.Errorf("netlab: tracefs instance: %w", err)
	}
	write := func(file, val string) error {
		if err := os.WriteFile(filepath.Join(tr.dir, file), []byte(val), 0); err != nil {
			return fmt.Errorf("netlab: tracefs %s = %q: %w", file, val, err)
		}
		return nil
	}
	fail := func(err error) (*tracer, error) {
		tr.remove()
		return nil, err
	}
	// A connect() that leaves the port to the kernel changes the state to
	// SYN_SENT before it picks the port: that event has sport 0.
	ports := fmt.Sprintf("%%s >= %d && %%s < %d", base, base+n)
	filter := fmt.Sprintf("(dport == %d && (sport == 0 || (%s))) || (sport == %d && %s)",
		service, fmt.Sprintf(ports, "sport", "sport"), service, fmt.Sprintf(ports, "dport", "dport"))
	if err := write("trace_clock", "mono"); err != nil {
		return fail(err)
	}
	if err := write("buffer_size_kb", "512"); err != nil {
		return fail(err)
	}
	// The fields option (Linux 6.2) prints every field raw, the socket's
	// address among them; without it the events have no address.
	tr.skaddr = write("options/fields", "1") == nil
	ev := "events/sock/inet_sock_set_state/"
	if err := write(ev+"filter", filter); err != nil {
		return fail(err)
	}
	tr.offset, tr.started = realtimeOffset(), time.Now()
	if err := write(ev+"enable", "1"); err != nil {
		return fail(err)
	}
	return tr, nil
}

// stop stops recording, reads the events and removes the instance. It
// fails when the kernel lost an event (a full buffer) or the real-time
// clock was stepped during the run.
func (tr *tracer) stop() ([]traceEvent, error) {
	defer tr.remove()
	if err := os.WriteFile(filepath.Join(tr.dir, "events/sock/inet_sock_set_state/enable"), []byte("0"), 0); err != nil {
		return nil, fmt.Errorf("netlab: tracefs: %w", err)
	}
	if d, most := realtimeOffset()-tr.offset, clockStepped(time.Since(tr.started)); d > most || d < -most {
		return nil, fmt.Errorf("netlab: the real-time clock moved %v against the monotonic one during the run: the tracepoint's times cannot be placed", d)
	}
	stats, _ := filepath.Glob(filepath.Join(tr.dir, "per_cpu", "cpu*", "stats"))
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("netlab: tracefs: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && (k == "overrun" || k == "dropped events") && strings.TrimSpace(v) != "0" {
				return nil, fmt.Errorf("netlab: tracefs %s: %s", p, strings.TrimSpace(line))
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(tr.dir, "trace"))
	if err != nil {
		return nil, fmt.Errorf("netlab: tracefs: %w", err)
	}
	return parseTrace(string(b), tr.offset)
}

// remove deletes the instance and its buffers.
func (tr *tracer) remove() {
	os.WriteFile(filepath.Join(tr.dir, "events/sock/inet_sock_set_state/enable"), []byte("0"), 0)
	os.Remove(tr.dir)
}
