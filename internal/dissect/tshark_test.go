package dissect_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/dissect"
	"github.com/tcplens/tcplens/internal/pcap"
)

// tsharkStatus maps tshark's checksum status numbers to verdicts.
var tsharkStatus = map[string]dissect.Status{
	"0": dissect.Incorrect,
	"1": dissect.Correct,
	"2": dissect.Unverified,
}

// knownDifferences lists the frames where tcplens deliberately differs
// from tshark, keyed by "capture:frame:layer", with the reason.
var knownDifferences = map[string]string{}

// TestChecksumsMatchTshark compares the IPv4 and TCP checksum verdicts of
// every frame of the captures in testdata/tshark-checksum (written by
// scripts/make-dissect-golden.sh) with tshark's.
func TestChecksumsMatchTshark(t *testing.T) {
	files, err := filepath.Glob("../../testdata/tshark-checksum/*.tsv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no tshark checksum files: %v", err)
	}
	for _, tsv := range files {
		name := strings.TrimSuffix(filepath.Base(tsv), ".tsv")
		t.Run(name, func(t *testing.T) {
			want := readTsharkChecksums(t, tsv)
			got := captureVerdicts(t, name)
			compared := 0
			for n, w := range want {
				g, ok := got[n]
				if !ok {
					t.Errorf("frame %d: tshark has it, tcplens read no such frame", n)
					continue
				}
				for i, layer := range []string{"ipv4", "tcp"} {
					ws := w[i]
					if ws == "" {
						continue // tshark saw no such header
					}
					wv, ok := tsharkStatus[ws]
					if !ok {
						t.Errorf("frame %d: tshark %s status %q unknown", n, layer, ws)
						continue
					}
					gv, have := g[layer]
					key := name + ":" + strconv.Itoa(n) + ":" + layer
					if why, known := knownDifferences[key]; known {
						if have && gv == wv {
							t.Errorf("frame %d %s: listed as a known difference (%s) but now agrees: remove it", n, layer, why)
						}
						continue
					}
					if !have {
						t.Errorf("frame %d: tshark says %s checksum %v, tcplens has no verdict", n, layer, wv)
						continue
					}
					if gv != wv {
						t.Errorf("frame %d: %s checksum %v, tshark says %v", n, layer, gv, wv)
					}
					compared++
				}
			}
			if compared == 0 {
				t.Errorf("no verdict compared")
			}
			t.Logf("%d frames, %d verdicts agree with tshark", len(want), compared)
		})
	}
}

// readTsharkChecksums reads frame → [ip status, tcp status].
func readTsharkChecksums(t *testing.T, path string) map[int][2]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[int][2]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "frame.number") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("%s: bad line %q", path, line)
		}
		n, err := strconv.Atoi(cols[0])
		if err != nil {
			t.Fatalf("%s: bad frame number in %q", path, line)
		}
		m[n] = [2]string{cols[1], cols[2]}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// captureVerdicts dissects every frame of testdata/captures/name (or
// name.gz) and returns frame → layer → verdict.
func captureVerdicts(t *testing.T, name string) map[int]map[string]dissect.Status {
	path := "../../testdata/captures/" + name
	if _, err := os.Stat(path); err != nil {
		path += ".gz"
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]map[string]dissect.Status{}
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue
		}
		d := dissect.Frame(&fr, dissect.Capture{})
		v := map[string]dissect.Status{}
		for _, c := range d.Checksums {
			if _, dup := v[c.Layer]; !dup {
				v[c.Layer] = c.Status
			}
		}
		m[fr.Number] = v
	}
	return m
}

// TestAllCaptures dissects the frames of every capture in testdata (the
// first 5000 of each; all of them without -short): none may panic, and
// every dissection keeps its invariants.
func TestAllCaptures(t *testing.T) {
	files, err := filepath.Glob("../../testdata/captures/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := pcap.NewReader(f)
			if err != nil {
				t.Skipf("not a capture tcplens reads: %v", err)
			}
			for {
				fr, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					continue
				}
				if testing.Short() && fr.Number > 5000 {
					break
				}
				d := dissect.Frame(&fr, dissect.Capture{})
				if d.Frame.Number != fr.Number {
					t.Fatalf("frame %d dissected as %d", fr.Number, d.Frame.Number)
				}
				checkInvariants(t, d, fr.Data)
				if t.Failed() {
					t.Fatalf("frame %d", fr.Number)
				}
			}
		})
	}
}
