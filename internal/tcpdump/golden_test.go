package tcpdump_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

const testdata = "../../testdata"

// The committed tcpdump output was made on a machine where interface index
// 1 is lo and 2 is ifb0; tcpdump names Linux cooked v2 interfaces after
// the machine that reads the file, so the test names them as that one did.
func referenceIfName(i uint32) string {
	switch i {
	case 1:
		return "lo"
	case 2:
		return "ifb0"
	}
	return ""
}

// lengthCut keeps a tcpdump line up to "length N": what tcpdump's
// application-protocol printers add after it is out of tcplens's scope.
var lengthCut = regexp.MustCompile(`^(.*Flags \[[^]]*\].*, length [0-9]+).*$`)

func readGolden(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, "tcpdump", name))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if l == "" {
			continue
		}
		lines = append(lines, lengthCut.ReplaceAllString(l, "$1"))
	}
	return lines
}

// printCapture prints every TCP frame of a testdata capture.
func printCapture(t *testing.T, file string, opt tcpdump.Options) []string {
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
	opt.IfName = referenceIfName
	p := tcpdump.NewPrinter(opt)
	var out bytes.Buffer
	var line []byte
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue // format problems are the reader's tests' business
		}
		line, _ = p.Append(line[:0], &fr)
		out.Write(line)
	}
	var lines []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// captures lists the real captures of testdata and the link-type ones
// made from them (testdata/links, scripts/linkcaps).
func captures(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdata, "captures", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in testdata: %v", err)
	}
	links, err := filepath.Glob(filepath.Join(testdata, "links", "*"))
	if err != nil || len(links) == 0 {
		t.Fatalf("no link-type captures in testdata: %v", err)
	}
	return append(files, links...)
}

func captureName(file string) string { return strings.TrimSuffix(filepath.Base(file), ".gz") }

// deliberate lists the captures where tcplens prints something other than
// tcpdump on purpose, why, and what the test checks instead.
var deliberate = map[string]struct {
	why   string
	check func(t *testing.T, tcpdumpLines, got []string, name string)
}{
	"suri-bug-1450-04-tls_DER-incomplete-header.pcap": {
		why:   "tcpdump stops at the corrupt record header at byte 5035; tcplens resumes at the true record at byte 5033 and prints 8 more segments",
		check: checkResync,
	},
	"suri-smtp-to-comma.pcap": {
		why:   "tcpdump stops at the corrupt record header at byte 3695; tcplens resumes at the true record at byte 3698 and prints 181 more segments",
		check: checkResync,
	},
	"zeek-ipv6-http-atomic-frag.pcap": {
		why: "tcpdump's \"tcp\" filter does not look behind IPv6 extension headers; tcplens prints the 13 segments behind hop-by-hop, routing and destination-options headers, as tcpdump prints them with the filter \"ip6 protochain 6\"",
		check: func(t *testing.T, want, got []string, name string) {
			if diff := cmp.Diff(readGolden(t, name+".protochain.txt"), got); diff != "" {
				t.Errorf("differs from tcpdump with ip6 protochain (-tcpdump +tcplens):\n%s", diff)
			}
			if len(got) != len(want)+13 {
				t.Errorf("%d lines, tcpdump's tcp filter gives %d: want 13 more", len(got), len(want))
			}
		},
	},
	"zeek-ldap-gap-data-missing.pcapng": {
		why: "libpcap refuses a pcapng whose interfaces have different link types, so tcpdump prints nothing; tcplens reads it, and matches tcpdump on its TCP frames rewritten as a classic pcap",
		check: func(t *testing.T, want, got []string, name string) {
			if len(want) != 0 {
				t.Errorf("tcpdump printed %d lines; the exception no longer holds", len(want))
			}
			if diff := cmp.Diff(readGolden(t, name+".extracted.txt"), got); diff != "" {
				t.Errorf("differs from tcpdump on the extracted frames (-tcpdump +tcplens):\n%s", diff)
			}
		},
	},
}

// checkResync checks a capture with a corrupt record header: tcpdump's
// lines must be the start of tcplens's, and all of tcplens's must match
// tcpdump reading the part before the corrupt header and, separately, the
// part from the resume offset (absolute sequence numbers, since the second
// tcpdump run starts its relative numbering afresh).
func checkResync(t *testing.T, want, got []string, name string) {
	if len(got) <= len(want) || !slicesEqual(got[:len(want)], want) {
		t.Errorf("tcpdump's %d lines are not the start of tcplens's %d", len(want), len(got))
	}
	abs := printCapture(t, filepath.Join(testdata, "captures", name), tcpdump.Options{Time: tcpdump.TimeEpoch, Absolute: true})
	if diff := cmp.Diff(readGolden(t, name+".resync.txt"), abs); diff != "" {
		t.Errorf("-S output differs from tcpdump on the two halves (-tcpdump +tcplens):\n%s", diff)
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMatchesTcpdump compares the printer with tcpdump 4.99's output on
// every capture in testdata.
func TestMatchesTcpdump(t *testing.T) {
	for _, file := range captures(t) {
		name := captureName(file)
		t.Run(name, func(t *testing.T) {
			want := readGolden(t, name+".txt")
			got := printCapture(t, file, tcpdump.Options{Time: tcpdump.TimeEpoch})
			if d, ok := deliberate[name]; ok {
				t.Logf("deliberate difference: %s", d.why)
				d.check(t, want, got, name)
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("differs from tcpdump (-tcpdump +tcplens):\n%s", diff)
			}
		})
	}
}

// TestVariants checks the other timestamp formats, time zones, -S and
// --nano against tcpdump, as listed in testdata/tcpdump/VARIANTS.
func TestVariants(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdata, "tcpdump", "VARIANTS"))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(row, "#") {
			continue
		}
		fields := strings.Split(row, "\t")
		name, flags, zone := fields[0], fields[1], fields[2]
		variant := strings.NewReplacer(" ", "", "-", "").Replace(flags) + "." + strings.ReplaceAll(zone, "/", "-")
		t.Run(name+"/"+variant, func(t *testing.T) {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				t.Skipf("time zone %s not on this machine: %v", zone, err)
			}
			opt := tcpdump.Options{Location: loc}
			for _, f := range strings.Fields(flags) {
				switch f {
				case "-nn":
				case "-S":
					opt.Absolute = true
				case "--nano":
					opt.Nano = true
				default:
					if strings.Trim(f, "t") == "-" {
						opt.Time = tcpdump.TimeFormat(len(f) - 1)
					} else {
						t.Fatalf("unknown flag %q in VARIANTS", f)
					}
				}
			}
			file := filepath.Join(testdata, "captures", name)
			if _, err := os.Stat(file); err != nil {
				file += ".gz"
			}
			got := printCapture(t, file, opt)
			if diff := cmp.Diff(readGolden(t, name+"."+variant+".txt"), got); diff != "" {
				t.Errorf("differs from tcpdump %s (-tcpdump +tcplens):\n%s", flags, diff)
			}
		})
	}
}
