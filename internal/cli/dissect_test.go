package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

const dissectCaps = "../../testdata/captures/"

// dissectRun runs tcplens with args and returns its exit code, stdout and stderr.
func dissectRun(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

var dissectFrameHeader = regexp.MustCompile(`(?m)^Frame (\d+): `)

// dissectFramesShown lists the frame numbers of the text output, in order.
func dissectFramesShown(out string) string {
	var n []string
	for _, m := range dissectFrameHeader.FindAllStringSubmatch(out, -1) {
		n = append(n, m[1])
	}
	return strings.Join(n, " ")
}

func TestDissectFrames(t *testing.T) {
	get := dissectCaps + "zeek-http-get.pcap"
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		frames string // frame numbers shown, in order
		stderr string // a substring of stderr; "" means empty
	}{
		{"one frame", []string{"dissect", get, "-f", "1"}, 0, "1", ""},
		{"a list with a range", []string{"dissect", get, "-f", "3,7,10-12"}, 0, "3 7 10 11 12", ""},
		{"repeated and out of order", []string{"dissect", get, "-f", "9", "-f", "2", "--frame", "9,1"}, 0, "1 2 9", ""},
		{"overlapping ranges", []string{"dissect", get, "-f", "2-4,3-5"}, 0, "2 3 4 5", ""},
		{"beyond the capture", []string{"dissect", get, "-f", "99"}, 1, "", "frame 99 is beyond the end of the capture, which has 14 frames"},
		{"partly beyond", []string{"dissect", get, "-f", "14-16,20"}, 1, "14", "frames 15-16,20 are beyond the end of the capture, which has 14 frames"},
		{"no -f", []string{"dissect", get}, 2, "", "which frame? give -f N"},
		{"frame 0", []string{"dissect", get, "-f", "0"}, 2, "", `frame "0": frames are numbered from 1`},
		{"not a number", []string{"dissect", get, "-f", "x"}, 2, "", `frame "x" is not a number or a range N-M`},
		{"backwards range", []string{"dissect", get, "-f", "5-3"}, 2, "", `frame range "5-3" runs backwards`},
		{"empty item", []string{"dissect", get, "-f", "1,,2"}, 2, "", "empty frame number"},
		{"missing file", []string{"dissect", dissectCaps + "no-such.pcap", "-f", "1"}, 1, "", "no-such.pcap"},
		{"not TCP: stops where tcplens stops", []string{"dissect", dissectCaps + "zeek-ipv6-http-atomic-frag.pcap", "-f", "1"}, 0, "1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := dissectRun(t, nil, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tc.code, errs)
			}
			if got := dissectFramesShown(out); got != tc.frames {
				t.Errorf("frames shown %q, want %q", got, tc.frames)
			}
			if tc.stderr == "" && errs != "" {
				t.Errorf("stderr %q, want none", errs)
			}
			if !strings.Contains(errs, tc.stderr) {
				t.Errorf("stderr %q, want it to contain %q", errs, tc.stderr)
			}
		})
	}
}

func TestDissectText(t *testing.T) {
	code, out, _ := dissectRun(t, nil, "dissect", dissectCaps+"zeek-http-get.pcap", "-f", "1")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"Frame 1: 78 bytes on the wire, 78 captured",
		"time         2013-03-07 21:42:06.869344 UTC, epoch 1362692526.869344",
		"file         ../../testdata/captures/zeek-http-get.pcap, record at byte 24 (0x18)",
		"Transmission Control Protocol, bytes 34-77",
		"flags                  0x002       SYN: a connection request",
		"checksum               0x3bc0      correct",
		"window scale         0x030304    shift 4: this end's windows count in units of 16 bytes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	_, out, _ = dissectRun(t, nil, "dissect", dissectCaps+"zeek-ipv6-http-atomic-frag.pcap", "-f", "1")
	if !strings.Contains(out, "Stopped at byte 54 (ipv6): next header 58 (ICMPv6) is not TCP: tcplens dissects TCP only") {
		t.Errorf("a non-TCP frame does not say where it stops:\n%s", out)
	}
}

func TestDissectJSON(t *testing.T) {
	code, out, errs := dissectRun(t, nil, "dissect", dissectCaps+"zeek-http-get.pcap", "-f", "1-3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want one JSON object per frame (3)", len(lines))
	}
	for i, l := range lines {
		var v struct {
			Frame struct {
				Number int    `json:"number"`
				File   string `json:"file"`
			} `json:"frame"`
			Layers []struct {
				Name string `json:"name"`
			} `json:"layers"`
			Stop *struct{} `json:"stop"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
		if v.Frame.Number != i+1 || !strings.HasSuffix(v.Frame.File, "zeek-http-get.pcap") || len(v.Layers) != 4 || v.Stop != nil {
			t.Errorf("line %d: %+v", i+1, v)
		}
	}
}

// TestDissectMerged numbers frames across files merged in time order: the
// 2004 capture's 24 frames come before the 2013 capture's.
func TestDissectMerged(t *testing.T) {
	code, out, errs := dissectRun(t, nil, "dissect", dissectCaps+"zeek-http-get.pcap", dissectCaps+"zeek-tcp-truncated-header.pcap", "-f", "24,25", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	for i, want := range []struct {
		n    int
		file string
		off  int64
	}{{24, "zeek-tcp-truncated-header.pcap", -1}, {25, "zeek-http-get.pcap", 24}} {
		var v struct {
			Frame struct {
				Number     int    `json:"number"`
				File       string `json:"file"`
				FileOffset int64  `json:"file_offset"`
			} `json:"frame"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &v); err != nil {
			t.Fatal(err)
		}
		if v.Frame.Number != want.n || !strings.HasSuffix(v.Frame.File, want.file) || want.off >= 0 && v.Frame.FileOffset != want.off {
			t.Errorf("frame %d: got %+v, want from %s", want.n, v.Frame, want.file)
		}
	}
	code, _, errs = dissectRun(t, nil, "dissect", dissectCaps+"zeek-http-get.pcap", dissectCaps+"zeek-tcp-truncated-header.pcap", "-f", "39")
	if code != 1 || !strings.Contains(errs, "frame 39 is beyond the end of the capture, which has 38 frames") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

func TestDissectStdin(t *testing.T) {
	b, err := os.ReadFile(dissectCaps + "zeek-http-get.pcap")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := dissectRun(t, b, "dissect", "-", "-f", "2")
	if code != 0 || dissectFramesShown(out) != "2" || !strings.Contains(out, "file         standard input") {
		t.Errorf("exit %d, frames %q, stderr %q", code, dissectFramesShown(out), errs)
	}
}

func TestFrameList(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		want string
		err  string
	}{
		{[]string{"3"}, "3", ""},
		{[]string{"3,7,10-12"}, "3,7,10-12", ""},
		{[]string{"10-12", "11-14", "1"}, "1,10-14", ""},
		{[]string{"4", "5", "6"}, "4-6", ""},
		{[]string{" 2 , 3-3 "}, "2-3", ""},
		{[]string{"0"}, "", "numbered from 1"},
		{[]string{"-3"}, "", "not a number"},
		{[]string{"3-"}, "", "not a number"},
		{[]string{"9-2"}, "", "runs backwards"},
		{[]string{""}, "", "empty frame number"},
	} {
		var l frameList
		var err error
		for _, s := range tc.sets {
			if err = l.Set(s); err != nil {
				break
			}
		}
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Set(%q) error %v, want %q", tc.sets, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("Set(%q) error %v", tc.sets, err)
		case tc.err == "" && l.String() != tc.want:
			t.Errorf("Set(%q) = %s, want %s", tc.sets, l.String(), tc.want)
		}
	}
	var l frameList
	if err := l.Set("2,5-7,10"); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]bool{1: false, 2: true, 3: false, 5: true, 6: true, 7: true, 8: false, 10: true, 11: false} {
		if l.has(n) != want {
			t.Errorf("has(%d) = %v, want %v", n, !want, want)
		}
	}
	for total, want := range map[int]string{10: "", 9: "frame 10 is", 6: "frames 7,10 are", 5: "frames 6-7,10 are", 0: "frames 2,5-7,10 are"} {
		if got := l.above(total); got != want {
			t.Errorf("above(%d) = %q, want %q", total, got, want)
		}
	}
}
