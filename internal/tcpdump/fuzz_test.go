package tcpdump_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

// FuzzPrinter prints arbitrary frames under every link type tcplens
// decodes: no panic, and a frame printed is one line. Seeded from the
// first frames of every capture in testdata.
func FuzzPrinter(f *testing.F) {
	links := pcap.LinkTypes()
	for _, file := range captures(f) {
		fh, err := os.Open(file)
		if err != nil {
			f.Fatal(err)
		}
		r, err := pcap.NewReader(fh)
		if err != nil {
			fh.Close()
			continue
		}
		for range 4 {
			fr, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				continue
			}
			if i := slices.Index(links, fr.Link); i >= 0 && len(fr.Data) <= 4096 {
				f.Add(uint8(i), bytes.Clone(fr.Data), uint32(fr.Length))
			}
		}
		fh.Close()
	}
	p := tcpdump.NewPrinter(tcpdump.Options{Time: tcpdump.TimeEpoch})
	f.Fuzz(func(t *testing.T, link uint8, data []byte, length uint32) {
		fr := pcap.Frame{Number: 1, Link: links[int(link)%len(links)], Data: data, Length: int(length % (1 << 20))}
		line, ok := p.Append(nil, &fr)
		if !ok {
			return
		}
		if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
			t.Fatalf("not one line: %q", line)
		}
	})
}
