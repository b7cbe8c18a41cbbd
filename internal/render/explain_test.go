package render_test

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

// TestExplainSACK keeps explain of a fast retransmission whose duplicate
// ACKs carry SACK blocks, and holds each step's blocks to what tcplens
// read prints for the same frame: relative to the peer's ISN, like the
// ack beside them, as tcpdump -nn prints them (TestMatchesTcpdump holds
// read to tcpdump). Raw blocks beside a relative ack once slipped through.
func TestExplainSACK(t *testing.T) {
	frames := kernelFrames(t, "fast-retransmit")
	rep, ladders := diagnosed(frames)
	var b bytes.Buffer
	if err := render.ExplainText(&b, &rep.Conns[0], ladders[1], rep.ConnFindings(1), render.Style{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "explain-fast-retransmit.txt.golden", b.Bytes())

	stepSACK := regexp.MustCompile(`^  #([0-9]+) .*, sack ([0-9: ]+)$`)
	got := map[int]string{}
	for _, line := range strings.Split(b.String(), "\n") {
		if m := stepSACK.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			got[n] = m[2]
		}
	}

	readSACK := regexp.MustCompile(`sack [0-9]+ \{([^ ]*)\}`)
	p := tcpdump.NewPrinter(tcpdump.Options{})
	want := map[int]string{}
	var line []byte
	for i := range frames {
		line, _ = p.Append(line[:0], &frames[i])
		if m := readSACK.FindSubmatch(line); m != nil {
			want[frames[i].Number] = strings.ReplaceAll(string(m[1]), "}{", " ")
		}
	}
	if len(want) == 0 {
		t.Fatal("tcplens read prints no SACK blocks for fast-retransmit.pcap")
	}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("frame %d: explain prints sack %q, read prints %q", n, got[n], w)
		}
	}
	for n, g := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("frame %d: explain prints sack %q, read prints none", n, g)
		}
	}
}
