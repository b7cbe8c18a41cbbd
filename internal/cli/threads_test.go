package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
)

// synFloodFrames is a SYN flood of n frames (testcap.SYNFlood), each in
// a buffer of its own.
func synFloodFrames(n int) []pcap.Frame {
	frames := make([]pcap.Frame, n)
	for i := range frames {
		frames[i] = testcap.SYNFlood(i, make([]byte, 54))
	}
	return frames
}

// TestThreadsSameOutput checks that every command that analyses on
// several cores prints the same, byte for byte, whatever --threads says
// (the report's page included):
// on a capture mapped into memory and one decompressed as it is read, on
// Linux recordings, and on a SYN flood that overflows the shards' caps on
// attempts, so that connections are evicted in every shard.
func TestThreadsSameOutput(t *testing.T) {
	captures := []string{
		capturePath("zeek-echo-connections.pcap.gz"),
		capturePath("zeek-tcp-retransmit-fast009.pcap"),
		filepath.Join(testdata, "kernel", "fast-retransmit.pcap"),
		filepath.Join(testdata, "kernel", "rst-unread-data.pcap"),
		writeCapture(t, "flood.pcapng", "", synFloodFrames(80000)),
		// One Windows client's connections, of different workers, number
		// their packets from one IP ID counter (Hooks.Other).
		capturePath("zeek-smb-smb_v2_only_non_zero_reserved1.pcap"),
	}
	commands := [][]string{
		{"conns", "--json"},
		{"conns"},
		{"diagnose", "--json"},
		{"diagnose"},
		{"--color", "never"}, // the overview
		{"report", "-o", "-"},
	}
	for _, capture := range captures {
		for _, cmd := range commands {
			args := append(append([]string(nil), cmd...), capture)
			want, wantErr, wantCode := run(t, nil, append(args, "--threads", "1")...)
			if wantCode != 0 {
				t.Fatalf("%v --threads 1: exit %d: %s", args, wantCode, wantErr)
			}
			for _, n := range []int{2, 3, 7} {
				t.Run(fmt.Sprintf("%s/%v/threads=%d", filepath.Base(capture), cmd, n), func(t *testing.T) {
					got, gotErr, code := run(t, nil, append(args, "--threads", fmt.Sprint(n))...)
					if code != wantCode || got != want || gotErr != wantErr {
						t.Errorf("--threads %d differs from --threads 1: exit %d (want %d), %d bytes of output (want %d), stderr %q (want %q)",
							n, code, wantCode, len(got), len(want), gotErr, wantErr)
					}
				})
			}
		}
	}
}

// TestParallelSharedIPID: a gap in one connection's IP IDs that the same
// host's packet of another connection took a number of is its shared
// counter, not a loss, however the connections are spread over workers.
// The SMB client of zeek-smb-smb_v2_only_non_zero_reserved1.pcap (Windows)
// numbers the packets of its four connections from one counter: read
// against the other connections' packets, connection 1 has 13 pauses of
// its application; a worker that saw only its own connections' IP IDs
// took 9 of them for losses the capture point missed, and found 4.
func TestParallelSharedIPID(t *testing.T) {
	for _, n := range []string{"1", "2", "3"} {
		out, errOut, code := run(t, nil, "diagnose", "--json", "--threads", n, capturePath("zeek-smb-smb_v2_only_non_zero_reserved1.pcap"))
		if code != 0 {
			t.Fatalf("--threads %s: exit %d: %s", n, code, errOut)
		}
		if !strings.Contains(out, `"id":"app-limited","severity":"info","conn":1,"frames":[41,45,51,77,100,108,120,145],"title":"the client's application paused 13 times`) {
			t.Errorf("--threads %s: connection 1's app-limited is not the 13 pauses a run over every connection finds", n)
		}
	}
}
