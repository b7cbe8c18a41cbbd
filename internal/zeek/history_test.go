package zeek

import (
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// zeekRun feeds a testcap script to Zeek's bookkeeping, the client being
// the originator. A line ending in "cut=N" has the last N bytes of its
// payload cut by the snap length.
func zeekRun(t *testing.T, script string, flip bool) *History {
	t.Helper()
	var cuts []int
	var lines []string
	for _, l := range strings.Split(script, "\n") {
		cut := 0
		if i := strings.Index(l, "cut="); i >= 0 {
			for _, c := range l[i+4:] {
				cut = cut*10 + int(c-'0')
			}
			l = l[:i]
		}
		if strings.TrimSpace(l) == "" {
			continue
		}
		lines = append(lines, l)
		cuts = append(cuts, cut)
	}
	frames := testcap.Build(strings.Join(lines, "\n"))
	var h History
	if flip {
		h.Flip()
	}
	for i := range frames {
		f := &frames[i]
		f.Data = f.Data[:len(f.Data)-cuts[i]]
		var s wire.Segment
		if err := wire.Decode(f, &s); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		h.Step(&s, s.Src == testcap.Client)
	}
	return &h
}

func TestZeekHistory(t *testing.T) {
	const handshake = `
		c>s S  seq=0
		s>c S. seq=0 ack=1
		c>s .  seq=1 ack=1
	`
	for _, tc := range []struct {
		name, script  string
		flip          bool
		history, want string
	}{
		{
			name: "a whole connection: originator upper case, responder lower",
			script: handshake + `
				c>s P. seq=1 ack=1 len=10
				s>c .  seq=1 ack=11
				s>c P. seq=1 ack=11 len=20
				c>s F. seq=11 ack=21
				s>c F. seq=21 ack=12
				c>s .  seq=12 ack=22`,
			history: "ShADadFf", want: "SF",
		},
		{
			name: "retransmissions: the letter at the 1st, 10th, 100th",
			script: handshake + `
				c>s P. seq=1 ack=1 len=10` + strings.Repeat(`
				c>s P. seq=1 ack=1 len=10`, 12),
			history: "ShADTT", want: "S1",
		},
		{
			name: "zero windows, from the responder",
			script: handshake + `
				c>s P. seq=1 ack=1 len=10
				s>c .  seq=1 ack=11 win=0
				s>c .  seq=1 ack=11 win=0`,
			history: "ShADaw", want: "S1",
		},
		{
			name: "a payload cut by the snap length is a gap once acknowledged",
			script: handshake + `
				c>s P. seq=1 ack=1 len=100 cut=40
				s>c .  seq=1 ack=101`,
			history: "ShADaG", want: "S1",
		},
		{
			name: "data acknowledged but never captured is a gap",
			script: handshake + `
				c>s P. seq=1 ack=1 len=100
				c>s P. seq=201 ack=1 len=100
				s>c .  seq=1 ack=301`,
			history: "ShADaG", want: "S1",
		},
		{
			name: "a gap revealed by the closing RST is not flagged",
			script: handshake + `
				c>s P. seq=1 ack=1 len=100 cut=40
				s>c R. seq=1 ack=101`,
			history: "ShADr", want: "RSTR",
		},
		{name: "connection attempt unanswered", script: `c>s S seq=0`, history: "S", want: "S0"},
		{name: "connection rejected", script: "c>s S seq=0\ns>c R. seq=0 ack=1", history: "Sr", want: "REJ"},
		{name: "originator aborted before an answer", script: "c>s S seq=0\nc>s R seq=1", history: "SR", want: "RSTOS0"},
		{name: "originator closed, responder silent", script: "c>s S seq=0\nc>s F seq=1", history: "SF", want: "SH"},
		{
			name:    "missing SYN: the SYN-ACK first, roles flipped",
			script:  "s>c S. seq=0 ack=1\nc>s . seq=1 ack=1\nc>s P. seq=1 ack=1 len=5",
			flip:    true,
			history: "^hAD", want: "S1",
		},
		{
			name:    "a repeated SYN with the same number is no new letter",
			script:  "c>s S seq=0\nc>s S seq=0\ns>c S. seq=0 ack=1",
			history: "Sh", want: "S1",
		},
		{
			name:    "FIN and RST together",
			script:  handshake + "\nc>s FR. seq=1 ack=1",
			history: "ShAI", want: "RSTO", // Zeek's state machine takes it for an RST
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := zeekRun(t, tc.script, tc.flip)
			if got := h.String(); got != tc.history {
				t.Errorf("history %q, want %q", got, tc.history)
			}
			if got := h.State(); got != tc.want {
				t.Errorf("conn_state %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRSTOS0(t *testing.T) {
	for h, want := range map[string]bool{
		"SR": true, "^SR": true, "SdR": true, "STR": true,
		"ShR": true, // only upper-case letters stop the match
		"SHR": false, "SAR": false, "SFR": false, "R": false, "S": false, "": false, "^R": false,
	} {
		if got := rstos0(h); got != want {
			t.Errorf("rstos0(%q) = %v, want %v", h, got, want)
		}
	}
}
