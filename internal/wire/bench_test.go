package wire_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// wellFormed returns the frames of the given captures that Decode accepts.
func wellFormed(t testing.TB, files ...string) []pcap.Frame {
	t.Helper()
	var out []pcap.Frame
	var s wire.Segment
	for _, file := range files {
		for _, f := range loadFrames(t, file) {
			if wire.Decode(&f, &s) == nil {
				out = append(out, f)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no well-formed frames")
	}
	return out
}

func TestDecodeAllocs(t *testing.T) {
	// IPv4 with options, IPv6, VLAN and QinQ, SLL2, BSD loopback, SACK blocks.
	frames := wellFormed(t,
		"zeek-tcp-timestamp.pcap", "zeek-ftp-ipv6.pcap", "zeek-http-qinq-0.pcap",
		"zeek-http-vlan-0.pcap", "lwerdna-simple_http_sll2.pcap", "gopacket-test_loopback.pcap",
		"suri-bug-4376-syn_retransmit_with_ts.pcap", "zeek-ipv6-http-atomic-frag.pcap", "tcpdump-mptcp-v1.pcap")
	var s wire.Segment
	allocs := testing.AllocsPerRun(10, func() {
		for i := range frames {
			if err := wire.Decode(&frames[i], &s); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("Decode of %d frames: %v allocations, want 0", len(frames), allocs)
	}

	var areas [][]byte
	for i := range frames {
		if err := wire.Decode(&frames[i], &s); err != nil {
			t.Fatal(err)
		}
		if o := s.TCP.Options(); len(o) > 0 {
			areas = append(areas, o)
		}
	}
	var o wire.Options
	allocs = testing.AllocsPerRun(10, func() {
		for _, a := range areas {
			if err := wire.ParseOptions(a, 54, &o); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("ParseOptions of %d areas: %v allocations, want 0", len(areas), allocs)
	}
}

// TestDecodeEmptyAllocs: a frame that captured nothing is malformed, but
// allocates nothing either: a file of millions of them (a gzip bomb of
// zeros) must cost no more than reading them.
func TestDecodeEmptyAllocs(t *testing.T) {
	var s wire.Segment
	for _, link := range fuzzLinks {
		f := pcap.Frame{Link: link}
		var err error
		allocs := testing.AllocsPerRun(10, func() { err = wire.Decode(&f, &s) })
		var we *wire.Error
		if !errors.As(err, &we) || we.Layer != "frame" || we.Offset != 0 {
			t.Errorf("%v: Decode of no bytes = %v, want a frame error at byte 0", link, err)
		}
		if allocs != 0 {
			t.Errorf("%v: Decode of no bytes: %v allocations, want 0", link, allocs)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	frames := loadFrames(b, "zeek-echo-connections.pcap.gz")
	bytes := 0
	for _, f := range frames {
		bytes += len(f.Data)
	}
	var s wire.Segment
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	for b.Loop() {
		for i := range frames {
			wire.Decode(&frames[i], &s)
		}
	}
	b.ReportMetric(float64(len(frames)*b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkDecodePath is the whole decode path of a capture held in
// memory: the reader hands out frames and Decode fills a Segment for each.
// $TCPLENS_BENCH_CAPTURE names another capture (a header-only one, made
// with ../shared/bench/make-bench-capture hdr96, is the reference case).
func BenchmarkDecodePath(b *testing.B) {
	var data []byte
	if path := os.Getenv("TCPLENS_BENCH_CAPTURE"); path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			b.Fatal(err)
		}
	} else {
		data = captureBytes(b, "zeek-echo-connections.pcap.gz")
	}
	var s wire.Segment
	frames := 0
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := pcap.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			f, err := r.Next()
			if err != nil {
				break
			}
			wire.Decode(&f, &s)
			frames++
		}
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}
