package export

import (
	"bufio"
	"encoding/json"
	"io"
	"net/netip"
	"os"

	"github.com/tcplens/tcplens/internal/pcap"
)

// probeRows keeps the rows of the connections that may be probes of a
// scan until the capture's end says whether their client scanned
// (diagnose.Collector.Scanned): in a temporary file, as a scan, or a
// client that keeps failing to connect all day, leaves one for every
// attempt. JSON, which the rows' types already read back exactly (a
// pointer to 0 is not null, an empty list is not null).
type probeRows struct {
	f   *os.File
	buf *bufio.Writer
	enc *json.Encoder
	n   int
}

// probeRecord is one probe's rows: its connection's, and its findings'
// but those whose words wait for the capture's end (Exporter.late).
type probeRecord struct {
	Client   netip.Addr
	Start    pcap.Time
	Row      Connection
	Findings []Finding
}

func (p *probeRows) add(r *probeRecord) error {
	if p.f == nil {
		f, err := os.CreateTemp("", "tcplens-probes-*.jsonl")
		if err != nil {
			return err
		}
		// Gone from the directory at once: the file lives as long as it
		// is open, and no run leaves one behind.
		os.Remove(f.Name())
		p.f, p.buf = f, bufio.NewWriterSize(f, 64<<10)
		p.enc = json.NewEncoder(p.buf)
	}
	p.n++
	return p.enc.Encode(r)
}

// each hands every record to fn in the order they were added, and closes
// the file.
func (p *probeRows) each(fn func(*probeRecord)) error {
	if p.f == nil {
		return nil
	}
	defer p.f.Close()
	if err := p.buf.Flush(); err != nil {
		return err
	}
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	dec := json.NewDecoder(bufio.NewReaderSize(p.f, 64<<10))
	for range p.n {
		var r probeRecord
		if err := dec.Decode(&r); err != nil {
			return err
		}
		fn(&r)
	}
	return nil
}
