package bpf

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/pcap"
)

// benchFrames reads the echo capture's frames (82,582 Ethernet frames of
// 500 connections) into memory.
func benchFrames(b *testing.B) ([]pcap.Frame, int64) {
	f, err := os.Open(filepath.Join("..", "..", "testdata", "captures", "zeek-echo-connections.pcap.gz"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
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
