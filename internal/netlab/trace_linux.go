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
	dir    string
	offset time.Duration // CLOCK_REALTIME − CLOCK_MONOTONIC, the instance's clock
	skaddr bool          // the events carry the socket's address (the fields option)
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

// realtimeOffset returns CLOCK_REALTIME − CLOCK_MONOTONIC, read as close
// together as two system calls allow.
func realtimeOffset() time.Duration {
	var mono, real unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono)
	unix.ClockGettime(unix.CLOCK_REALTIME, &real)
	return time.Duration(real.Nano() - mono.Nano())
}

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
	tr.offset = realtimeOffset()
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
	if d := realtimeOffset() - tr.offset; d > 100*time.Microsecond || d < -100*time.Microsecond {
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
