package analyze_test

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
)

// analyseFile runs the pipeline over a capture file, as the CLI does:
// onSegment for every segment, onConn for every connection as it ends
// (either may be nil). Frames the reader cannot read are passed over.
func analyseFile(t *testing.T, file string, onSegment func(*analyze.Segment), onConn func(*conn.Conn, conn.EndReason)) *analyze.Analyzer {
	t.Helper()
	return analyseWith(t, file, analyze.Options{}, onSegment, onConn)
}

// analyseWith is analyseFile with options.
func analyseWith(t *testing.T, file string, opts analyze.Options, onSegment func(*analyze.Segment), onConn func(*conn.Conn, conn.EndReason)) *analyze.Analyzer {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	a := analyze.New(opts, onSegment, onConn)
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue
		}
		a.Add(&fr)
	}
	a.Close()
	return a
}
