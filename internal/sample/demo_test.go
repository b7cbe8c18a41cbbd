package sample_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/sample"
	"github.com/tcplens/tcplens/internal/testcap"
	"github.com/tcplens/tcplens/internal/wire"
)

var update = flag.Bool("update", false, "rebuild demo.pcap from the kernel recordings")

// demoParts are the recordings the demo capture is made of, in the order
// they were recorded; the client of the i-th dials from port 40001+i, so
// that the merged capture holds distinct connections.
var demoParts = []string{
	"client-close",
	"refused",
	"accept-then-close",
	"rst-unread-data",
	"lost-handshake-ack",
	"rto-retransmission",
	"close-wait-leak",
}

// TestDemoCapture checks that the embedded demo capture is exactly what
// buildDemo makes from testdata/kernel; go test -update rebuilds it.
func TestDemoCapture(t *testing.T) {
	got := buildDemo(t)
	if *update {
		if err := os.WriteFile("demo.pcap", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, sample.Capture) {
		t.Fatalf("demo.pcap (%d bytes) differs from what the kernel recordings make (%d bytes): run go test ./internal/sample -update", len(sample.Capture), len(got))
	}
}

// buildDemo merges the recordings in time order, moving each one's client
// to its own port (the TCP checksum updated incrementally, RFC 1624, since
// the snapshot length cut the payload it covers), into a classic pcap.
func buildDemo(t *testing.T) []byte {
	t.Helper()
	var all []pcap.Frame
	for i, name := range demoParts {
		frames, err := testcap.ReadFile(filepath.Join("../../testdata/kernel", name+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			movePort(t, &f, 40001, uint16(40001+i))
			all = append(all, f)
		}
	}
	slices.SortStableFunc(all, func(a, b pcap.Frame) int {
		switch {
		case a.Time < b.Time:
			return -1
		case a.Time > b.Time:
			return 1
		}
		return 0
	})
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 128)
	binary.LittleEndian.PutUint32(hdr[20:], uint32(pcap.LinkEthernet))
	b.Write(hdr)
	for _, f := range all {
		sec, nsec := f.Time.Unix()
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(sec))
		binary.LittleEndian.PutUint32(rec[4:], uint32(nsec/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(f.Data)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(f.Length))
		b.Write(rec)
		b.Write(f.Data)
	}
	return b.Bytes()
}

// movePort replaces port from with to in the frame's TCP header, where it
// is the source or the destination.
func movePort(t *testing.T, f *pcap.Frame, from, to uint16) {
	var s wire.Segment
	if err := wire.Decode(f, &s); err != nil {
		t.Fatalf("frame %d: %v", f.Number, err)
	}
	h := f.Data[s.TCPOffset:]
	for _, off := range []int{0, 2} {
		if binary.BigEndian.Uint16(h[off:]) != from {
			continue
		}
		binary.BigEndian.PutUint16(h[off:], to)
		// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
		sum := uint32(^binary.BigEndian.Uint16(h[16:])) + uint32(^from) + uint32(to)
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(h[16:], ^uint16(sum))
	}
}
