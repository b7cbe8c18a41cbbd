package bpf

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/pcap"
)

var update = flag.Bool("update", false, "regenerate testdata/tcpdump-ddd.json with the local tcpdump")

// expressions is the differential table: every one is compiled by tcplens
// and by tcpdump for each link type, and both programs must agree on every
// frame of every test capture.
var expressions = []string{
	"tcp", "udp", "icmp", "icmp6", "ip", "ip6", "arp", "sctp",
	"host 127.0.0.1", "host 192.168.1.32", "src host 192.168.1.32", "dst host 194.32.78.251",
	"host 2001:470:4867:99::21", "src host 2001:db8:1::2", "ip6 net 2001:470::/32", "net fe80::/10",
	"net 192.168.0.0/16", "src net 10", "dst net 192.168.2.0 mask 255.255.255.0", "net 172.16.0.0/12", "ip net 0.0.0.0/0",
	"port 80", "tcp port 443", "udp port 53", "src port 80", "dst port 80", "tcp dst port 21", "sctp port 80",
	"portrange 1-1023", "tcp portrange 8000-9000", "src or dst port 80", "src and dst net 192.168.0.0/16",
	"host 192.168.1.32 and port 80", "tcp and not port 22", "port 80 or 443", "host 127.0.0.1 and (port 80 or port 8080)",
	"not ip6", "tcp or udp and port 53", "!tcp && ip", "host 192.168.1.32 and not 192.168.1.10", "host 127.0.0.1 or 192.168.1.32",
	"ip proto 6", "ip6 proto 6", "proto \\udp", "greater 1000", "less 100", "arp host 192.168.1.1",
	"vlan", "vlan and tcp", "vlan 0 and port 80", "vlan and vlan and tcp port 80", "vlan or tcp", "not vlan and tcp",
}

type fixture struct {
	Expr  string `json:"expr"`
	Link  int    `json:"link"`
	DDD   string `json:"ddd,omitempty"`   // tcpdump -ddd output
	Error string `json:"error,omitempty"` // tcpdump's complaint, if it refused
}

var links = []pcap.LinkType{pcap.LinkEthernet, pcap.LinkSLL, pcap.LinkRaw}

func fixturePath() string { return filepath.Join("testdata", "tcpdump-ddd.json") }

// regenerate asks the local tcpdump for every expression and link type,
// compiling against an empty capture file of that link type (-r), so no
// interface and no root are needed.
func regenerate(t *testing.T) []fixture {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("-update needs tcpdump")
	}
	dir := t.TempDir()
	var out []fixture
	for _, link := range links {
		dummy := filepath.Join(dir, "dummy.pcap")
		hdr := make([]byte, 24)
		binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
		binary.LittleEndian.PutUint16(hdr[4:], 2)
		binary.LittleEndian.PutUint16(hdr[6:], 4)
		binary.LittleEndian.PutUint32(hdr[16:], 262144)
		binary.LittleEndian.PutUint32(hdr[20:], uint32(link))
		os.WriteFile(dummy, hdr, 0o644)
		for _, e := range expressions {
			cmd := exec.Command("tcpdump", "-ddd", "-r", dummy, e)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			b, err := cmd.Output()
			f := fixture{Expr: e, Link: int(link)}
			if err != nil {
				msg := strings.TrimSpace(stderr.String())
				if i := strings.LastIndex(msg, "\n"); i >= 0 {
					msg = msg[i+1:]
				}
				f.Error = msg
			} else {
				f.DDD = string(b)
			}
			out = append(out, f)
		}
	}
	b, _ := json.MarshalIndent(out, "", " ")
	if err := os.WriteFile(fixturePath(), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func loadFixtures(t *testing.T) []fixture {
	if *update {
		return regenerate(t)
	}
	b, err := os.ReadFile(fixturePath())
	if err != nil {
		t.Fatal(err)
	}
	var fx []fixture
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	return fx
}

// frames reads every frame of every test capture, by link type.
func frames(t *testing.T) map[pcap.LinkType][][]byte {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "captures", "*"))
	if len(paths) == 0 {
		t.Fatal("no test captures")
	}
	out := map[pcap.LinkType][][]byte{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcap.NewReader(f)
		if err != nil {
			f.Close()
			continue
		}
		for {
			fr, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var fe *pcap.FormatError
				if errors.As(err, &fe) {
					continue // the corpus has corrupt files on purpose
				}
				break
			}
			l := fr.Link
			if isRaw(l) {
				l = pcap.LinkRaw
			}
			out[l] = append(out[l], append([]byte(nil), fr.Data...))
		}
		f.Close()
	}
	return out
}

// TestMatchesTcpdump is the differential test: for each expression and
// link type, tcplens's program and tcpdump's accept exactly the same
// frames (run in golang.org/x/net/bpf's VM), over every frame of the test
// captures of that link type.
func TestMatchesTcpdump(t *testing.T) {
	fx := loadFixtures(t)
	all := frames(t)
	exprs, runs := map[string]bool{}, 0
	for _, f := range fx {
		link := pcap.LinkType(f.Link)
		mine, err := Compile(f.Expr, Options{Link: link})
		if f.Error != "" {
			switch {
			case strings.Contains(f.Error, "rejects all packets"):
				if err != nil {
					t.Errorf("%v %q: tcpdump compiles to reject-all, tcplens fails: %v", link, f.Expr, err)
				} else if !rejectsAll(mine) {
					t.Errorf("%v %q: tcpdump rejects all packets, tcplens compiles %v", link, f.Expr, mine)
				}
			case err == nil:
				t.Errorf("%v %q: tcpdump refuses (%s), tcplens compiles", link, f.Expr, f.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v %q: %v", link, f.Expr, err)
			continue
		}
		raw, err := ParseDump(f.DDD)
		if err != nil {
			t.Fatalf("%v %q: tcpdump's program: %v", link, f.Expr, err)
		}
		theirs, ok := xbpf.Disassemble(raw)
		if !ok {
			t.Fatalf("%v %q: tcpdump's program does not disassemble", link, f.Expr)
		}
		vmTheirs, err := xbpf.NewVM(theirs)
		if err != nil {
			t.Fatalf("%v %q: tcpdump's program: %v", link, f.Expr, err)
		}
		vmMine, err := xbpf.NewVM(mine)
		if err != nil {
			t.Fatalf("%v %q: tcplens's program %v: %v", link, f.Expr, mine, err)
		}
		accepted, bad := 0, 0
		for i, fr := range all[link] {
			if testing.Short() && i%8 != 0 {
				continue // -short: every 8th frame
			}
			a, _ := vmTheirs.Run(fr)
			b, _ := vmMine.Run(fr)
			runs++
			if (a != 0) != (b != 0) {
				if bad++; bad <= 3 {
					t.Errorf("%v %q frame %d (%d bytes): tcpdump %v, tcplens %v\ntcpdump:\n%s\ntcplens: %v", link, f.Expr, i, len(fr), a != 0, b != 0, f.DDD, mine)
				}
			}
			if a != 0 {
				accepted++
			}
		}
		exprs[f.Expr] = true
		if testing.Verbose() {
			t.Logf("%-8v %-45q %6d of %6d frames", link, f.Expr, accepted, len(all[link]))
		}
	}
	t.Logf("%d expressions, %d expression×link programs, %d frames (%d Ethernet, %d Linux cooked, %d raw IP): %d comparisons",
		len(exprs), len(fx), len(all[pcap.LinkEthernet])+len(all[pcap.LinkSLL])+len(all[pcap.LinkRaw]),
		len(all[pcap.LinkEthernet]), len(all[pcap.LinkSLL]), len(all[pcap.LinkRaw]), runs)
}

// rejectsAll reports whether a program is a bare "reject".
func rejectsAll(prog []xbpf.Instruction) bool {
	r, ok := prog[0].(xbpf.RetConstant)
	return len(prog) == 1 && ok && r.Val == 0
}

func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"tcp port", "at character 9: expression ends"},
		{"host www.example.com", "names are not resolved"},
		{"port http", "service names are not resolved"},
		{"net 10.1.2.3/8", "non-network bits set"},
		{"tcp host 10.0.0.1", "takes ip, ip6, arp or rarp"},
		{"(tcp", "missing )"},
		{"tcp )", `unexpected ")"`},
		{"80", "needs a type"},
		{"ip6 host 10.0.0.1", ""},
		{"vlan 5000", "not a number up to 4095"},
	} {
		_, err := Compile(tc.expr, Options{Link: pcap.LinkEthernet})
		var se *SyntaxError
		if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%q) = %v, want a SyntaxError with %q", tc.expr, err, tc.want)
		}
	}
	if _, err := Compile("vlan", Options{Link: pcap.LinkSLL}); err == nil {
		t.Error("vlan on Linux cooked accepted (tcpdump refuses it)")
	}
}

func TestCookedAndKernel(t *testing.T) {
	prog, err := Compile("vlan 7 and tcp port 80", Options{Link: pcap.LinkEthernet, Kernel: true})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(strings.TrimSpace(strings.Join(fmtProg(prog), "\n")), "\t", " ")
	// The tag comes from metadata; the IP header stays at 14.
	for _, want := range []string{"ld #vlan_avail", "ld #vlan_tci", "ldh [12]", "ldb [23]"} {
		if !strings.Contains(text, want) {
			t.Errorf("kernel program lacks %q:\n%s", want, text)
		}
	}
	prog, err = Compile("ip and tcp", Options{Cooked: true})
	if err != nil {
		t.Fatal(err)
	}
	text = strings.Join(fmtProg(prog), "\n")
	if !strings.Contains(text, "ld #proto") || !strings.Contains(text, "ldb [9]") {
		t.Errorf("cooked program:\n%s", text)
	}
}

func fmtProg(p []xbpf.Instruction) []string {
	var out []string
	for _, in := range p {
		out = append(out, in.(interface{ String() string }).String())
	}
	return out
}

func TestParseDump(t *testing.T) {
	ddd := "4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n"
	dd := "{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n{ 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },\n"
	for _, s := range []string{ddd, strings.Join(strings.Fields(ddd), " "), dd} {
		if !IsDump(s) {
			t.Errorf("IsDump(%q) = false", s)
		}
		p, err := ParseDump(s)
		if err != nil || len(p) != 4 || p[1].K != 2048 || p[1].Jf != 1 {
			t.Errorf("ParseDump(%q) = %v, %v", s, p, err)
		}
	}
	for _, bad := range []string{"3\n40 0 0 12\n", "2\n21 5 5 1\n6 0 0 0\n", "1\n40 0 0 12\n", "tcp port 80"} {
		if _, err := ParseDump(bad); err == nil {
			t.Errorf("ParseDump(%q) accepted", bad)
		}
	}
	if IsDump("tcp port 80") || IsDump("80") {
		t.Error("IsDump takes an expression for a program")
	}
}
