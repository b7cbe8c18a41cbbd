package cli

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const testdata = "../../testdata"

func capturePath(name string) string { return filepath.Join(testdata, "captures", name) }

// run calls Main as the shell would and returns stdout, stderr and the
// exit code.
func run(t *testing.T, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errOut bytes.Buffer
	code := Main(args, stdin, &out, &errOut)
	return out.String(), errOut.String(), code
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestReadMatchesGolden(t *testing.T) {
	out, errOut, code := run(t, nil, "read", "-tt", capturePath("zeek-http-get.pcap"))
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	golden, err := os.ReadFile(filepath.Join(testdata, "tcpdump", "zeek-http-get.pcap.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := lines(string(golden))
	got := lines(out)
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i := range want {
		// tcpdump's HTTP printer adds text after "length N"; tcplens stops there.
		if !strings.HasPrefix(want[i], got[i]) {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
}

func TestReadStdinAndGzip(t *testing.T) {
	plain, _, _ := run(t, nil, "read", "-tt", capturePath("zeek-ssh-ssh.pcap.gz"))
	if len(lines(plain)) != 1795 {
		t.Fatalf("gzip file: %d lines, want 1795", len(lines(plain)))
	}
	f, err := os.Open(capturePath("zeek-ssh-ssh.pcap.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	fromStdin, errOut, code := run(t, zr, "read", "-tt", "-")
	if code != 0 || errOut != "" {
		t.Fatalf("stdin: exit %d, stderr %q", code, errOut)
	}
	if fromStdin != plain {
		t.Errorf("reading the decompressed file from stdin differs from reading the .gz file")
	}
}

func TestReadMergesFiles(t *testing.T) {
	a, b := capturePath("zeek-http-get.pcap"), capturePath("zeek-tcp-retransmit-fast009.pcap")
	outA, _, _ := run(t, nil, "read", "-tt", a)
	outB, _, _ := run(t, nil, "read", "-tt", b)
	merged, errOut, code := run(t, nil, "read", "-tt", b, a)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	got := lines(merged)
	want := append(lines(outA), lines(outB)...)
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i][:17] < got[j][:17] }) {
		t.Errorf("merged lines are not in timestamp order")
	}
	sort.Strings(got)
	sort.Strings(want)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("merged output differs from the two files read alone: %q vs %q", got[i], want[i])
		}
	}
}

func TestReadProblems(t *testing.T) {
	notCapture := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notCapture, []byte("these are not packets\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A gzip bomb in small: 16 KiB expanding to 16 MiB of zeros after a
	// pcap header, a million records that captured nothing.
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zw.Write([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0})
	zw.Write(make([]byte, 16<<20))
	zw.Close()
	bombPath := filepath.Join(t.TempDir(), "bomb.pcap.gz")
	if err := os.WriteFile(bombPath, bomb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantLines  int
		wantStderr []string // substrings, in order
	}{
		{
			name:      "corrupt record header is skipped with a warning",
			args:      []string{"read", "-tt", capturePath("suri-smtp-to-comma.pcap")},
			wantLines: 199,
			wantStderr: []string{"warning: " + capturePath("suri-smtp-to-comma.pcap") +
				": pcap: frame 19 at offset 3695 (0xe6f): captured length 3925868813 exceeds", "resuming at offset 3698 (0xe72)"},
		},
		{
			name:       "file cut short in a record header",
			args:       []string{"read", "-tt", capturePath("suri-http-mime-truncated.pcap.gz")},
			wantLines:  2696,
			wantStderr: []string{"pcap: frame 2697 at offset 2715459", "record header cut short: 1 of 16 bytes"},
		},
		{
			name:      "a gzip bomb of empty records: one warning at the first, a count at the end",
			args:      []string{"read", bombPath},
			wantLines: 0,
			wantStderr: []string{bombPath + ": pcap: frame 1 at offset 24 (0x18): the record captured no bytes (wire length 0)",
				bombPath + ": 1048576 of its 1048576 records captured no bytes and hold no packet"},
		},
		{
			name:      "empty capture is not an error",
			args:      []string{"read", capturePath("zeek-empty.pcap")},
			wantLines: 0,
		},
		{
			name:       "not a capture: nothing read, exit 1",
			args:       []string{"read", notCapture},
			wantCode:   1,
			wantStderr: []string{"not a pcap, pcapng or gzip file"},
		},
		{
			// As tcpdump and mergecap: a file that cannot be read is an
			// error, not a warning and a partial result.
			name:       "one bad file among good ones is an error",
			args:       []string{"read", notCapture, capturePath("zeek-http-get.pcap")},
			wantCode:   1,
			wantStderr: []string{"not a pcap, pcapng or gzip file"},
		},
		{
			name:       "missing file",
			args:       []string{"read", filepath.Join(testdata, "no-such-file.pcap")},
			wantCode:   1,
			wantStderr: []string{"no-such-file.pcap: no such file"},
		},
		{
			name:       "missing file among good ones",
			args:       []string{"read", capturePath("zeek-http-get.pcap"), filepath.Join(testdata, "no-such-file.pcap")},
			wantCode:   1,
			wantStderr: []string{"no-such-file.pcap: no such file"},
		},
		{
			name:       "no file reads the built-in demo capture",
			args:       []string{"read"},
			wantLines:  62,
			wantStderr: []string{"no file given: reading the built-in demo capture"},
		},
		{
			name:       "unknown flag is a usage error",
			args:       []string{"read", "--no-such-flag"},
			wantCode:   2,
			wantStderr: []string{"unknown flag: --no-such-flag"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, nil, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			if n := len(lines(out)); n != tc.wantLines {
				t.Errorf("%d lines on stdout, want %d", n, tc.wantLines)
			}
			rest := errOut
			for _, s := range tc.wantStderr {
				i := strings.Index(rest, s)
				if i < 0 {
					t.Errorf("stderr lacks %q (in order); stderr:\n%s", s, errOut)
					break
				}
				rest = rest[i+len(s):]
			}
			if len(tc.wantStderr) == 0 && errOut != "" {
				t.Errorf("unexpected stderr %q", errOut)
			}
		})
	}
}

// TestReadParallelMatchesSequential checks that dealing frames to several
// printers by connection changes nothing in the output.
func TestReadParallelMatchesSequential(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdata, "captures", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		par, _, _ := run(t, nil, "read", "-tt", f)
		seq, _, _ := run(t, nil, "read", "-tt", "--sequential", f)
		if par != seq {
			t.Errorf("%s: the parallel output differs from the sequential one", filepath.Base(f))
		}
	}
}
