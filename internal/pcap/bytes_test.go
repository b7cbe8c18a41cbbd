package pcap_test

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

// sameAsStream reads in with NewReaderBytes and with NewReader over a
// stream of the same bytes, and fails unless both hand out the same frames
// and the same errors in the same order, and in is left unwritten.
func sameAsStream(t *testing.T, in []byte) {
	t.Helper()
	orig := bytes.Clone(in)
	limit := maxCalls(len(decompressed(in, 1<<30)))
	var results [2]*result
	var errs [2]error
	for i, open := range []func() (*pcap.Reader, error){
		func() (*pcap.Reader, error) { return pcap.NewReader(bytes.NewReader(in)) },
		func() (*pcap.Reader, error) { return pcap.NewReaderBytes(in) },
	} {
		r, err := open()
		if err != nil {
			errs[i] = err
			continue
		}
		if results[i], err = drain(r, limit); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(errs[0]) != fmt.Sprint(errs[1]) {
		t.Fatalf("NewReader() error %v, NewReaderBytes() error %v", errs[0], errs[1])
	}
	if errs[0] != nil {
		return
	}
	stream, whole := results[0], results[1]
	if len(stream.frames) != len(whole.frames) {
		t.Errorf("NewReader read %d frames, NewReaderBytes %d", len(stream.frames), len(whole.frames))
	}
	for i := range min(len(stream.frames), len(whole.frames)) {
		if !reflect.DeepEqual(stream.frames[i], whole.frames[i]) {
			t.Fatalf("frame %d differs:\nNewReader:      %+v\nNewReaderBytes: %+v", i+1, stream.frames[i], whole.frames[i])
		}
	}
	if fmt.Sprint(stream.errs) != fmt.Sprint(whole.errs) || fmt.Sprint(stream.errAfter) != fmt.Sprint(whole.errAfter) {
		t.Errorf("errors differ:\nNewReader:      %v after %v\nNewReaderBytes: %v after %v", stream.errs, stream.errAfter, whole.errs, whole.errAfter)
	}
	if !bytes.Equal(in, orig) {
		t.Error("NewReaderBytes wrote into the caller's bytes")
	}
}

// TestReaderBytes: a capture read from memory (as tcplens reads a mapped
// file) is read exactly as the same bytes from a stream: every real
// capture, gzip-compressed too, every malformed file, and a small capture
// cut at every byte.
func TestReaderBytes(t *testing.T) {
	for _, name := range captureNames(t) {
		t.Run(name, func(t *testing.T) { sameAsStream(t, loadCapture(t, name)) })
	}
	t.Run("gzip", func(t *testing.T) { sameAsStream(t, gzipped(loadCapture(t, "zeek-tcp-rst-inject-rae.pcap"))) })
	for _, tc := range malformedCases() {
		t.Run("malformed/"+tc.name, func(t *testing.T) { sameAsStream(t, tc.in) })
	}
	small := loadCapture(t, "zeek-tcp-rst-inject-rae.pcap")
	for n := range len(small) {
		sameAsStream(t, small[:n])
	}
}

// FuzzReaderBytes: for any input, reading from memory and reading from a
// stream agree.
func FuzzReaderBytes(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) { sameAsStream(t, in) })
}
