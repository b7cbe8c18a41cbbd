package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/tcplens/tcplens/internal/pcap"
)

// frameWriter is read -w: the frames selected, as classic pcap when the
// capture has one link type (in the byte order and timestamp resolution
// of the files read, so that nothing is lost), as pcapng when its
// interfaces differ (one interface per file and interface read).
type frameWriter struct {
	f      *os.File
	bw     *bufio.Writer
	pcap   *pcap.Writer
	link   pcap.LinkType
	ng     *pcap.NGWriter
	ngIDs  map[[2]int]int // (file, interface) → the pcapng interface
	c      *capture
	frames int
}

func newFrameWriter(e *env, path string, c *capture) (*frameWriter, error) {
	fw := &frameWriter{c: c}
	var w io.Writer = e.stdout
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		fw.f = f
		w = f
	}
	fw.bw = bufio.NewWriterSize(w, 256<<10)
	links := map[pcap.LinkType]bool{}
	nano, bigEndian, snap := false, true, 0
	for _, in := range c.inputs {
		for _, ifc := range in.interfaces() {
			links[ifc.Link] = true
			snap = max(snap, ifc.SnapLen)
		}
		nano = nano || in.nano
		bigEndian = bigEndian && in.bigEndian
	}
	var err error
	if len(links) == 1 {
		for l := range links {
			fw.link = l
		}
		fw.pcap, err = pcap.NewWriter(fw.bw, fw.link, snap, nano, bigEndian)
	} else {
		fw.ngIDs = map[[2]int]int{}
		fw.ng, err = pcap.NewNGWriter(fw.bw)
	}
	if err != nil {
		fw.close()
		return nil, err
	}
	return fw, nil
}

func (fw *frameWriter) write(f *pcap.Frame) error {
	fw.frames++
	if fw.pcap != nil {
		if f.Link != fw.link {
			return fmt.Errorf("-w: frame %d is %v, the file being written %v (an interface declared late in a pcapng file)", f.Number, f.Link, fw.link)
		}
		return fw.pcap.WritePacket(f)
	}
	key := [2]int{f.File, f.Interface}
	id, ok := fw.ngIDs[key]
	if !ok {
		name, snap := "", 0
		if ifs := fw.c.inputs[f.File].interfaces(); f.Interface < len(ifs) {
			name, snap = ifs[f.Interface].Name, ifs[f.Interface].SnapLen
		}
		id = fw.ng.AddInterface(name, f.Link, snap)
		fw.ngIDs[key] = id
	}
	return fw.ng.WritePacket(id, f)
}

func (fw *frameWriter) close() error {
	var err error
	if fw.pcap != nil {
		err = fw.pcap.Flush()
	}
	if fw.ng != nil {
		err = fw.ng.Close()
	}
	if ferr := fw.bw.Flush(); err == nil {
		err = ferr
	}
	if fw.f != nil {
		if cerr := fw.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
