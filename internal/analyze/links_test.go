package analyze_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/wire"
)

// readFrames reads every frame of a capture, copied.
func readFrames(t *testing.T, path string) []pcap.Frame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []pcap.Frame
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		fr.Data = bytes.Clone(fr.Data)
		out = append(out, fr)
	}
}

// analysisOf is everything the analysis says of frames, link layer
// aside: each segment's addresses, numbers, states and analysis, each
// connection's summary, and the counts.
func analysisOf(t *testing.T, frames []pcap.Frame) string {
	t.Helper()
	var out bytes.Buffer
	var line []byte
	a := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		line = render.AppendAnnotation(line[:0], s)
		fmt.Fprintf(&out, "%d %v > %v seq %d ack %d %v len %d | %s\n", s.Frame.Number, s.Seg.Src, s.Seg.Dst, s.Seg.Seq, s.Seg.Ack, s.Seg.Flags, s.Seg.PayloadLen, line)
	}, func(c *conn.Conn, why conn.EndReason) {
		sum := analyze.Summarize(c, why)
		if err := render.ConnLineJSON(&out, &sum); err != nil {
			t.Fatal(err)
		}
	})
	for i := range frames {
		a.Add(&frames[i])
	}
	a.Close()
	st := a.Stats
	fmt.Fprintf(&out, "frames %d segments %d not TCP %d malformed %d conns %d\n", st.Frames, st.Segments, st.NotTCP, st.Malformed, st.Conns)
	return out.String()
}

// TestLinkTypesAnalysis: the analysis sees every TCP segment of every
// link-type capture, and says of them exactly what it says of the same IP
// packets as raw IP (testdata/links/link-raw.pcap; for the link types that
// carry one IP version, its packets of that version, renumbered): the
// link layer changes nothing above it.
func TestLinkTypesAnalysis(t *testing.T) {
	dir := filepath.Join(testdata, "links")
	raw := readFrames(t, filepath.Join(dir, "link-raw.pcap"))
	files, err := filepath.Glob(filepath.Join(dir, "*.pcap"))
	if err != nil || len(files) < 2 {
		t.Fatalf("no link captures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			frames := readFrames(t, file)
			versions := map[uint8]bool{}
			var s wire.Segment
			for i := range frames {
				if err := wire.Decode(&frames[i], &s); err != nil {
					t.Fatalf("frame %d: %v", frames[i].Number, err)
				}
				versions[s.IPVersion] = true
			}
			var want []pcap.Frame
			for _, fr := range raw {
				if err := wire.Decode(&fr, &s); err != nil {
					t.Fatal(err)
				}
				if versions[s.IPVersion] {
					fr.Number = len(want) + 1
					want = append(want, fr)
				}
			}
			if len(frames) != len(want) {
				t.Fatalf("%d frames, the raw capture has %d of its IP versions", len(frames), len(want))
			}
			if diff := cmp.Diff(analysisOf(t, want), analysisOf(t, frames)); diff != "" {
				t.Errorf("the analysis differs from raw IP's (-raw +%s):\n%s", filepath.Base(file), diff)
			}
		})
	}
}
