package pcap_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

// TestNextAllocs asserts that Next allocates nothing per frame on real
// captures held in memory. AllocsPerRun runs its function once to warm up
// and once measured; each run reads half of the frames, so the count is
// exact (not an average rounded down) over the second half, which crosses
// many buffer compactions on the larger files.
func TestNextAllocs(t *testing.T) {
	tests := []string{
		"zeek-echo-connections.pcap.gz",     // pcap, 6.8 MB, 82582 small frames
		"suri-decode-sll2-02.pcap.gz",       // pcap, 2.6 MB, frames up to 65 KB
		"tcpdump-tcp-handshake-nano.pcap",   // pcap, nanoseconds
		"gopacket-test301.pcapng.gz",        // pcapng, 0.9 MB
		"zeek-ldap-gap-data-missing.pcapng", // pcapng, 126 interfaces
		"zeek-pcapng-multi-interface.pcapng",
	}
	for _, name := range tests {
		t.Run(name, func(t *testing.T) {
			data := loadCapture(t, name)
			total := len(readAll(t, data).frames)
			r, err := pcap.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			half := total / 2
			read := 0
			allocs := testing.AllocsPerRun(1, func() {
				for range half {
					if _, err := r.Next(); err != nil {
						t.Fatalf("Next() = %v, want a frame", err)
					}
					read++
				}
			})
			if allocs != 0 {
				t.Errorf("Next() allocated %v times over frames %d to %d, want 0", allocs, half+1, 2*half)
			}
			if read != 2*half {
				t.Errorf("read %d frames, want %d", read, 2*half)
			}
		})
	}
}

// benchmarkReader reads a capture held in memory to the end per iteration.
func benchmarkReader(b *testing.B, name string) {
	data := loadCapture(b, name)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	frames := 0
	for b.Loop() {
		r, err := pcap.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			frames++
		}
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkReaderPcap reads 82582 mostly small frames (6.8 MB).
func BenchmarkReaderPcap(b *testing.B) { benchmarkReader(b, "zeek-echo-connections.pcap.gz") }

// BenchmarkReaderPcapng reads 276 Ethernet frames (0.9 MB).
func BenchmarkReaderPcapng(b *testing.B) { benchmarkReader(b, "gopacket-test301.pcapng.gz") }
