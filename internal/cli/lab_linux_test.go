//go:build linux

package cli

import (
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/netnstest"
)

// labSection is one close order of lab's output.
type labSection struct {
	title    string
	timeline []labLine
	sides    map[string]string // "ss saw server" -> "ESTABLISHED -> ..."
	missed   string
}

type labLine struct {
	ms     float64
	source string // "app client", "wire #3", "ss  server", "lab"
	text   string
}

var labLineRE = regexp.MustCompile(`^ *(-?\d+\.\d{3})  (app client|app server|wire #\d+|ss  client|ss  server|ss  listener|lab) +(.*)$`)

// parseLab splits lab's output into its header and sections, failing on
// any line it does not expect.
func parseLab(t *testing.T, out string) (header []string, secs []*labSection, notes []string) {
	t.Helper()
	var sec *labSection
	inNotes := false
	side := ""
	for _, line := range lines(out) {
		switch {
		case strings.HasPrefix(line, "== "):
			sec = &labSection{title: strings.Trim(line, "= "), sides: map[string]string{}}
			secs = append(secs, sec)
		case line == "Notes:":
			inNotes = true
		case inNotes:
			notes = append(notes, strings.TrimSpace(line))
		case sec == nil:
			header = append(header, line)
		case line == "" || strings.HasPrefix(line, "        ms  source"):
		case labLineRE.MatchString(line):
			m := labLineRE.FindStringSubmatch(line)
			ms, _ := strconv.ParseFloat(m[1], 64)
			sec.timeline = append(sec.timeline, labLine{ms, m[2], m[3]})
		case strings.HasPrefix(line, "  ss missed "):
			sec.missed = line
		case strings.HasPrefix(line, "  "):
			f := strings.Fields(line)
			switch {
			case strings.HasPrefix(line, "  ss saw"):
				side, f = "ss saw", f[2:]
			case strings.HasPrefix(line, "  the capture shows"):
				side, f = "the capture shows", f[3:]
			}
			if side == "" || len(f) < 2 {
				t.Fatalf("unexpected line %q\n%s", line, out)
			}
			sec.sides[side+" "+f[0]] = strings.Join(f[1:], " ")
		case len(sec.timeline) == 0:
			// The section's description.
		default:
			t.Fatalf("unexpected line %q\n%s", line, out)
		}
	}
	return header, secs, notes
}

// noHandshake drops the SYN_RECV a poll may catch before ESTABLISHED: a
// handshake on loopback lasts microseconds.
func noHandshake(seq string) string {
	seq = strings.TrimPrefix(seq, "SYN_RECV -> ")
	return strings.TrimPrefix(seq, "SYN_SENT -> ")
}

func (s *labSection) find(t *testing.T, source, textRE string) labLine {
	t.Helper()
	re := regexp.MustCompile(textRE)
	for _, l := range s.timeline {
		if strings.HasPrefix(l.source, source) && re.MatchString(l.text) {
			return l
		}
	}
	t.Fatalf("%s: no %s line matching %q", s.title, source, textRE)
	return labLine{}
}

// labOrders is what each close order of the lab should show: the
// applications' steps, and the states ss sees each side go through (the
// handshake aside).
var labOrders = map[string]struct {
	apps           []string
	server, client string
	serverClose    string // the server's transition on close()
}{
	"The client closes first": {
		apps: []string{"client: connect() to ADDR", "server: accept() = a connection from ADDR", `client: write("hello\n")`,
			"client: shutdown(SHUT_WR): the client will send no more", `server: read() = 6 bytes "hello\n"`, "server: read() = 0: end of file, the peer's FIN",
			`server: write("HELLO\n")`, "server: close()", `client: read() = 6 bytes "HELLO\n"`, "client: read() = 0: end of file, the peer's FIN",
			"client: close(): the socket stays in TIME_WAIT without it"},
		server:      "ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> (gone)",
		client:      "ESTABLISHED -> FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT",
		serverClose: "CLOSE_WAIT -> LAST_ACK",
	},
	"The server closes first": {
		apps: []string{"client: connect() to ADDR", "server: accept() = a connection from ADDR", `client: write("hello\n")`,
			`server: read() = 6 bytes "hello\n"`, `server: write("HELLO\n")`, "server: close()",
			`client: read() = 6 bytes "HELLO\n"`, "client: read() = 0: end of file, the peer's FIN", "client: close()"},
		server:      "ESTABLISHED -> FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT",
		client:      "ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> (gone)",
		serverClose: "ESTABLISHED -> FIN_WAIT1",
	},
}

// TestLab runs the lab as root, in the namespace it makes, and checks its
// output: both close orders, in order; the applications' steps; every
// state of both close sequences seen by ss (each FIN is held so that its
// sender's state lasts); the kernel's state changing before the FIN that
// announces it reaches the wire; the capture's lines equal to tcplens read
// -a of the file lab wrote; and the states the capture shows.
func TestLab(t *testing.T) {
	netnstest.Require(t, "iptables")
	file := filepath.Join(t.TempDir(), "lab.pcapng")
	out, errOut, code := run(t, nil, "lab", "-w", file)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	t.Logf("tcplens lab:\n%s", out)
	header, secs, notes := parseLab(t, out)
	if len(notes) > 0 {
		t.Errorf("notes: %q", notes)
	}
	for _, want := range []string{"in a network namespace of its own", `capture  lo, filter "tcp port `, "holds    each FIN is dropped once"} {
		if !strings.Contains(strings.Join(header, "\n"), want) {
			t.Errorf("header lacks %q:\n%s", want, strings.Join(header, "\n"))
		}
	}
	if len(secs) != 2 || secs[0].title != "The client closes first" || secs[1].title != "The server closes first" {
		t.Fatalf("sections %v", secs)
	}

	fromFile, errOut, code := run(t, nil, "read", "-a", "-t", file)
	if code != 0 {
		t.Fatalf("read: exit %d: %s", code, errOut)
	}
	read := lines(fromFile)
	frames := 0
	for _, s := range secs {
		last := -1e9
		var apps []string
		for _, l := range s.timeline {
			if l.ms < last {
				t.Errorf("%s: %v ms after %v ms: not in time order", s.title, l.ms, last)
			}
			last = l.ms
			switch {
			case strings.HasPrefix(l.source, "wire #"):
				frames++
				n, _ := strconv.Atoi(strings.TrimPrefix(l.source, "wire #"))
				if n != frames || n > len(read) || read[n-1] != l.text {
					t.Errorf("%s: frame %d (the %dth) is not what read -a prints of the file:\n got %s", s.title, n, frames, l.text)
				}
			case strings.HasPrefix(l.source, "app "):
				apps = append(apps, strings.TrimPrefix(l.source, "app ")+": "+l.text)
			}
		}
		for i := range apps {
			apps[i] = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+`).ReplaceAllString(apps[i], "ADDR")
		}
		want := labOrders[s.title]
		wantApps := want.apps
		if s == secs[0] {
			wantApps = append([]string{"server: listen() on ADDR"}, wantApps...)
		}
		if !slices.Equal(apps, wantApps) {
			t.Errorf("%s: the applications did\n%s\nwant\n%s", s.title, strings.Join(apps, "\n"), strings.Join(wantApps, "\n"))
		}
		if got := noHandshake(s.sides["ss saw server"]); got != want.server {
			t.Errorf("%s: ss saw the server go %s, want %s", s.title, got, want.server)
		}
		if got := noHandshake(s.sides["ss saw client"]); got != want.client {
			t.Errorf("%s: ss saw the client go %s, want %s", s.title, got, want.client)
		}
		// The server's kernel is in its new state from close(), before its
		// FIN is on the wire.
		from, to, _ := strings.Cut(want.serverClose, " -> ")
		closed := s.find(t, "ss  server", want.serverClose+"$")
		fin := s.find(t, "wire", `server `+to+` \(was `+from+`\)`)
		if closed.ms >= fin.ms {
			t.Errorf("%s: ss saw %s at %v ms, not before the server's FIN reached the wire at %v ms", s.title, want.serverClose, closed.ms, fin.ms)
		}
		for who, seq := range map[string]string{"server": want.server, "client": want.client} {
			// The capture shows the same close sequence.
			seq = strings.TrimSuffix(seq, " -> (gone)")
			if got := s.sides["the capture shows "+who]; !strings.Contains(got, seq) {
				t.Errorf("%s: the capture shows the %s go %s, want %s", s.title, who, got, seq)
			}
		}
		holds := 0
		for _, l := range s.timeline {
			if l.source == "lab" && strings.HasPrefix(l.text, "holds the ") {
				holds++
			}
		}
		if holds != 2 {
			t.Errorf("%s: %d FINs held, want 2", s.title, holds)
		}
		if s.missed != "" && !regexp.MustCompile(`^  ss missed (the (client|server)'s SYN_(SENT|RECV) \([^)]*\)(, )?)+: shorter than its 1ms poll$`).MatchString(s.missed) {
			t.Errorf("%s: %s", s.title, s.missed)
		}
	}
	if frames != len(read) || frames < 20 {
		t.Errorf("%d frames in the timelines, %d in the file", frames, len(read))
	}
}

// TestLabAsUser runs the lab as a user without root would: on the host's
// loopback, no capture, nothing held. sock_diag needs no privilege, so
// the states that last (CLOSE_WAIT, FIN_WAIT2, TIME_WAIT) are seen.
func TestLabAsUser(t *testing.T) {
	out, errOut, code := run(t, nil, "lab", "--as-user")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	t.Logf("tcplens lab --as-user:\n%s", out)
	header, secs, notes := parseLab(t, out)
	if len(notes) > 0 {
		t.Errorf("notes: %q", notes)
	}
	if h := strings.Join(header, "\n"); !strings.Contains(h, "NOT ROOT: no capture") || !strings.Contains(h, "on the host's lo") || !strings.Contains(h, "capture  none") {
		t.Errorf("header:\n%s", h)
	}
	if len(secs) != 2 {
		t.Fatalf("%d sections", len(secs))
	}
	for i, s := range secs {
		for _, l := range s.timeline {
			if strings.HasPrefix(l.source, "wire") || l.source == "lab" {
				t.Errorf("%s: %s %s", s.title, l.source, l.text)
			}
		}
		server, client := noHandshake(s.sides["ss saw server"]), noHandshake(s.sides["ss saw client"])
		// FIN_WAIT1 lasts until the peer's delayed ACK, so it is usually
		// seen; LAST_ACK lasts microseconds, and is usually not.
		opt := func(seq, st string) string { return strings.Replace(seq, " -> "+st, "", 1) }
		if i == 0 {
			server, client = opt(server, "LAST_ACK"), opt(client, "FIN_WAIT1")
			if server != "ESTABLISHED -> CLOSE_WAIT -> (gone)" || client != "ESTABLISHED -> FIN_WAIT2 -> TIME_WAIT" {
				t.Errorf("%s: server %s, client %s", s.title, server, client)
			}
		} else {
			server, client = opt(server, "FIN_WAIT1"), opt(client, "LAST_ACK")
			if server != "ESTABLISHED -> FIN_WAIT2 -> TIME_WAIT" || client != "ESTABLISHED -> CLOSE_WAIT -> (gone)" {
				t.Errorf("%s: server %s, client %s", s.title, server, client)
			}
		}
		if _, ok := s.sides["the capture shows server"]; ok {
			t.Errorf("%s: a capture without root", s.title)
		}
	}
}

func TestLabBadOrder(t *testing.T) {
	_, errOut, code := run(t, nil, "lab", "--order", "sideways")
	if code != exitUsage || !strings.Contains(errOut, "want client, server or both") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
