package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestLinkCapturesReproduce regenerates every capture of testdata/links
// from the sources and compares it byte for byte with the committed one:
// the captures are what this program makes, and its provenance holds.
func TestLinkCapturesReproduce(t *testing.T) {
	pkts, err := load("../../testdata/captures")
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob("../../testdata/links/*.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if len(committed) != len(Captures) {
		t.Errorf("%d captures in testdata/links, the program makes %d", len(committed), len(Captures))
	}
	for i := range Captures {
		c := &Captures[i]
		want, err := os.ReadFile(filepath.Join("../../testdata/links", c.Name+".pcap"))
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if !bytes.Equal(c.File(pkts), want) {
			t.Errorf("%s: differs from what go run ./scripts/linkcaps makes", c.Name)
		}
	}
}
