package cli

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeClock advances by step every time it is read.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(step)
		return t
	}
}

// runTerminal runs tcplens with stderr (and, when stdoutTTY, stdout)
// taken for a terminal, and a clock that moves 100 ms each time it is
// read.
func runTerminal(t *testing.T, stdoutTTY bool, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, now: fakeClock(100 * time.Millisecond),
		terminal: func(w io.Writer) bool { return w == &errOut || stdoutTTY && w == &out }}
	code = mainWith(e, args)
	return out.String(), errOut.String(), code
}

// TestProgress: a long reading draws a progress line on stderr when
// stderr is a terminal (bytes and share of the input, packets per second,
// time left), redrawn in place and cleared at the end; nothing with
// --json, nothing when stderr is not a terminal, nothing while read
// prints its lines onto the terminal; the output is the same.
func TestProgress(t *testing.T) {
	file := capturePath("zeek-echo-connections.pcap.gz") // 82,582 frames
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	plain, _, _ := run(t, nil, "conns", file)
	out, errOut, code := runTerminal(t, false, "conns", file)
	if code != 0 || out != plain {
		t.Fatalf("conns with a progress line: exit %d, output differs: %v", code, out != plain)
	}
	draws := strings.Split(errOut, "\r")
	if len(draws) < 5 {
		t.Fatalf("%d progress lines drawn for %d frames at 100 ms a look: %q", len(draws)-1, 82582, errOut)
	}
	total := megabytes(st.Size())
	for _, d := range draws[1 : len(draws)-1] {
		if !strings.HasPrefix(d, "tcplens: ") || !strings.Contains(d, " of "+total+" (") || !strings.Contains(d, "%), ") ||
			!strings.Contains(d, " packets, ") || !strings.Contains(d, " packets/s, ") || !strings.Contains(d, " s left") ||
			!strings.HasSuffix(d, "\x1b[K") || strings.Contains(d, "\n") {
			t.Errorf("progress line %q", d)
		}
	}
	if last := draws[len(draws)-1]; last != "\x1b[K" {
		t.Errorf("the progress line is not cleared at the end: %q", last)
	}
	// The first draw waits a second: some ten looks at the clock, one
	// every 1024 frames.
	if !strings.Contains(draws[1], ", 9 k packets") && !strings.Contains(draws[1], ", 10 k packets") {
		t.Errorf("first draw after a second of the fake clock: %q", draws[1])
	}

	for _, tc := range []struct {
		args      []string
		stdoutTTY bool
	}{
		{[]string{"conns", "--json", file}, false},
		{[]string{"read", file}, true}, // the lines are the progress
		{[]string{"read", "--json", file}, false},
	} {
		if _, errOut, code := runTerminal(t, tc.stdoutTTY, tc.args...); code != 0 || errOut != "" {
			t.Errorf("%v (stdout a terminal: %v): exit %d, stderr %q", tc.args, tc.stdoutTTY, code, errOut)
		}
	}
	// read into a file or a pipe shows it; so does every command that
	// prints only at the end.
	for _, args := range [][]string{{"read", file}, {"diagnose", file}} {
		if _, errOut, _ := runTerminal(t, false, args...); !strings.Contains(errOut, "packets/s") {
			t.Errorf("%v: no progress line: %q", args, errOut)
		}
	}
	// Not a terminal: nothing.
	if _, errOut, _ := run(t, nil, "conns", file); errOut != "" {
		t.Errorf("stderr not a terminal: %q", errOut)
	}
}
