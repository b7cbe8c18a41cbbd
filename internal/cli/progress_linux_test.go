package cli

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: its master side, and the terminal a
// program writes to.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open the terminal: %v", err)
	}
	return m, s
}

// TestProgressOnATerminal: with stderr a real pseudo-terminal (found by
// its ioctl, nothing injected but the clock), the progress line reaches
// it; with stderr a pipe, or /dev/null, nothing is drawn.
func TestProgressOnATerminal(t *testing.T) {
	master, tty := openPTY(t)
	defer master.Close()
	got := make(chan string)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got <- b.String()
	}()
	file := capturePath("zeek-echo-connections.pcap.gz")
	var out bytes.Buffer
	code := mainWith(&env{stdin: strings.NewReader(""), stdout: &out, stderr: tty, now: fakeClock(100 * time.Millisecond)}, []string{"conns", file})
	tty.Close() // the master reads EIO once the terminal is closed
	drawn := <-got
	if code != 0 || !strings.Contains(drawn, "packets/s") || !strings.HasSuffix(drawn, "\r\x1b[K") {
		t.Errorf("on a pseudo-terminal: exit %d, it shows %q", code, drawn)
	}

	for _, name := range []string{"pipe", "/dev/null"} {
		var w *os.File
		var r *os.File
		if name == "pipe" {
			var err error
			if r, w, err = os.Pipe(); err != nil {
				t.Fatal(err)
			}
		} else {
			var err error
			if w, err = os.OpenFile(name, os.O_WRONLY, 0); err != nil {
				t.Fatal(err)
			}
		}
		code := mainWith(&env{stdin: strings.NewReader(""), stdout: &out, stderr: w, now: fakeClock(100 * time.Millisecond)}, []string{"conns", file})
		w.Close()
		if r != nil {
			b := make([]byte, 4096)
			n, _ := r.Read(b)
			r.Close()
			if n > 0 {
				t.Errorf("stderr a pipe: %q", b[:n])
			}
		}
		if code != 0 {
			t.Errorf("stderr %s: exit %d", name, code)
		}
	}
}
