package analyze_test

import (
	"path/filepath"
	"testing"
)

// TestTFOAccepted: Fast Open is negotiated when the SYN-ACK acknowledges
// the data on the SYN, which only a server that accepted the cookie does;
// a SYN-ACK that acknowledges the SYN alone refused it, however the
// connection went on.
func TestTFOAccepted(t *testing.T) {
	for _, tc := range []struct {
		file string
		want map[int]bool // by connection id
	}{
		// The SYN carries a cookie and 517 bytes; the SYN-ACK acknowledges
		// the SYN only, and the data goes again after the handshake.
		{filepath.Join(testdata, "captures", "suri-tcp-fastopen-10-syn-data-ignore.pcap"), map[int]bool{1: false}},
		// A cookie request first, then a SYN with the cookie and 86 bytes,
		// acknowledged by the SYN-ACK.
		{filepath.Join(testdata, "captures", "zeek-tcp-tcp-fast-open.pcap"), map[int]bool{1: false, 2: true}},
		// Linux both ends: the same, with 100 bytes on the second SYN.
		{filepath.Join(testdata, "kernel", "fast-open.pcap"), map[int]bool{1: false, 2: true}},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			for _, s := range summarizeCapture(t, tc.file) {
				want, ok := tc.want[s.ID]
				if !ok {
					continue
				}
				if s.Negotiated.TFO != want {
					t.Errorf("connection %d: TFO %v, want %v (SYN data %d bytes)", s.ID, s.Negotiated.TFO, want, s.Client.Offered.Data)
				}
				delete(tc.want, s.ID)
			}
			if len(tc.want) > 0 {
				t.Errorf("connections not found: %v", tc.want)
			}
		})
	}
}
