package cli

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

// readBoth runs tcplens read -tt (and -a) with args, once with a large
// classic pcap file read by two cores and once by one, and fails unless
// both print the same, warnings and exit code included.
func readBoth(t *testing.T, args ...string) {
	t.Helper()
	min := splitMinSize
	defer func() { splitMinSize = min }()
	for _, flags := range [][]string{{"read", "-tt"}, {"read", "-a"}, {"conns"}} {
		a := append(append([]string(nil), flags...), args...)
		splitMinSize = 1 << 62
		want, wantErr, wantCode := run(t, nil, a...)
		splitMinSize = 0
		got, gotErr, gotCode := run(t, nil, a...)
		if got != want || gotErr != wantErr || gotCode != wantCode {
			t.Errorf("%v: read by two differs from read by one (exit %d, %d):\n%s\n%s\n-- want --\n%s\n%s", a, gotCode, wantCode, got, gotErr, want, wantErr)
		}
	}
}

// TestSplitReadsAsOne: a capture read through a filter by two cores (the
// second half from a record boundary it guesses) prints exactly what one
// reading prints: when the guess is right, when it is wrong, and when the
// second half meets a corrupt record.
func TestSplitReadsAsOne(t *testing.T) {
	// The echo capture, uncompressed: 82,582 frames.
	echo := filepath.Join(t.TempDir(), "echo.pcap")
	if _, errOut, code := run(t, nil, "read", "-w", echo, capturePath("zeek-echo-connections.pcap.gz")); code != 0 {
		t.Fatalf("writing the echo capture: %s", errOut)
	}
	for _, filter := range []string{"tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "tcp", "port 7 and len > 100", "udp"} {
		readBoth(t, echo, filter)
	}
	readBoth(t, capturePath("zeek-http-vnd.ms-cab-compressed-multi-conn.pcap"), "tcp")
	// The second half was read by the second goroutine, and its frames
	// handed out.
	if n := drained(t, echo, "tcp[tcpflags] & tcp-syn != 0"); n == 0 {
		t.Error("the echo capture was not read by two")
	}

	// A wrong guess: inside a record.
	guess := splitGuess
	defer func() { splitGuess = guess }()
	splitGuess = func(r *pcap.Reader, f *os.File, size int64) (int64, bool) {
		at, ok := r.Boundary(f, size, size/2)
		return at + 3, ok
	}
	readBoth(t, echo, "tcp[tcpflags] & tcp-syn != 0")
	if n := drained(t, echo, "tcp[tcpflags] & tcp-syn != 0"); n != 0 {
		t.Errorf("%d frames handed out from a second half that started inside a record", n)
	}
	splitGuess = guess

	// A corrupt record in the second half: its caplen says 16 MB.
	raw, err := os.ReadFile(echo)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcap.NewReaderBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		offs = append(offs, f.Offset)
	}
	bad := bytes.Clone(raw)
	at := offs[len(offs)*3/4]
	binary.LittleEndian.PutUint32(bad[at+8:], 16<<20)
	corrupt := filepath.Join(t.TempDir(), "corrupt.pcap")
	if err := os.WriteFile(corrupt, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(raw[:4]) != 0xa1b2c3d4 {
		t.Fatalf("the echo capture is not little-endian pcap")
	}
	readBoth(t, corrupt, "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0")
	_, errOut, _ := run(t, nil, "read", corrupt, "tcp")
	if !bytes.Contains([]byte(errOut), []byte("warning")) {
		t.Errorf("the corrupt record went unnoticed: %q", errOut)
	}
}

// drained reads a capture through a filter as a command does, and counts
// the frames the second half handed out.
func drained(t *testing.T, args ...string) int {
	t.Helper()
	min := splitMinSize
	defer func() { splitMinSize = min }()
	splitMinSize = 0
	c, err := openCapture(&env{stdin: bytes.NewReader(nil), stdout: io.Discard, stderr: io.Discard}, args)
	if err != nil {
		t.Fatal(err)
	}
	defer c.finish()
	n := 0
	for {
		s := c.split
		if _, ok := c.next(); !ok {
			break
		}
		if s != nil && s.draining {
			n++
		}
	}
	return n
}
