package bpf

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/pcap"
)

// benchFrames reads the echo capture's frames (82,582 Ethernet frames of
// 500 connections) into memory.
func benchFrames(b *testing.B) ([]pcap.Frame, int64) {
	return readFrames(b, filepath.Join("..", "..", "testdata", "captures", "zeek-echo-connections.pcap.gz"))
}

// readFrames reads the frames of a capture (gzipped when its name ends in
// .gz) into memory, and the bytes they captured.
func readFrames(b *testing.B, path string) ([]pcap.Frame, int64) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var in io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		in = zr
	}
	raw, err := io.ReadAll(in)
	if err != nil {
		b.Fatal(err)
	}
	r, err := pcap.NewReaderBytes(raw)
	if err != nil {
		b.Fatal(err)
	}
	var frames []pcap.Frame
	var bytes int64
	for {
		fr, err := r.Next()
		if err != nil {
			break
		}
		frames = append(frames, fr)
		bytes += int64(len(fr.Data))
	}
	return frames, bytes
}

var benchExprs = []struct{ name, expr string }{
	{"tcp", "tcp"},
	{"port", "tcp port 80 or tcp port 443"},
	{"host-and-port", "host 10.0.0.1 and (port 80 or port 8080)"},
	{"syn-fin", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0"},
	{"http-get", "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420"},
}

// BenchmarkFilter runs tcplens's interpreter over every frame of the echo
// capture: the cost per frame of a read filter, beside reading it.
func BenchmarkFilter(b *testing.B) {
	frames, bytes := benchFrames(b)
	for _, e := range benchExprs {
		b.Run(e.name, func(b *testing.B) {
			p, err := NewProgram(e.expr, Options{Link: pcap.LinkEthernet})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(bytes)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for i := range frames {
					if p.Match(frames[i].Data, frames[i].Length) {
						n++
					}
				}
			}
			b.ReportMetric(float64(len(frames)*b.N)/b.Elapsed().Seconds(), "frames/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(len(frames)*b.N), "ns/frame")
		})
	}
}

// BenchmarkFilterXNet is the same with golang.org/x/net/bpf's VM, which
// tcplens does not use: the measure of why.
func BenchmarkFilterXNet(b *testing.B) {
	frames, bytes := benchFrames(b)
	for _, e := range benchExprs {
		b.Run(e.name, func(b *testing.B) {
			insts, err := Compile(e.expr, Options{Link: pcap.LinkEthernet})
			if err != nil {
				b.Fatal(err)
			}
			vm, err := xbpf.NewVM(insts)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				for i := range frames {
					vm.Run(frames[i].Data)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(len(frames)*b.N), "ns/frame")
		})
	}
}

// BenchmarkFilterLinks runs "tcp port 21" over the frames of link
// captures whose programs differ most from Ethernet's: a prologue that
// computes the radio and 802.11 header lengths, pflog's variable header,
// LLC/SNAP, and a filter that looks behind MPLS labels.
func BenchmarkFilterLinks(b *testing.B) {
	for _, c := range []struct{ name, file, expr string }{
		{"ethernet-mpls", "link-ethernet-mpls.pcap", "mpls and mpls and tcp port 21"},
		{"fddi", "link-fddi.pcap", "tcp port 21"},
		{"pflog", "link-pflog.pcap", "tcp port 21"},
		{"ieee802-11-radiotap", "link-ieee802-11-radiotap.pcap", "tcp port 21"},
		{"ieee802-11-prism", "link-ieee802-11-prism.pcap", "tcp port 21"},
	} {
		b.Run(c.name, func(b *testing.B) {
			frames, bytes := readFrames(b, filepath.Join("..", "..", "testdata", "links", c.file))
			p, err := NewProgram(c.expr, Options{Link: frames[0].Link})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				for i := range frames {
					p.Match(frames[i].Data, frames[i].Length)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(len(frames)*b.N), "ns/frame")
		})
	}
}
