package bpf

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

var update = flag.Bool("update", false, "rerun tcpdump on every capture and rewrite testdata/tcpdump-matches.txt")

// filterExprs is the differential table: each expression is run by
// tcpdump itself and by tcplens on every frame of every test capture, and
// the frames they accept must be the same.
var filterExprs = append(baseExprs, serviceExprs...)

// serviceExprs name services, which tcpdump resolves from /etc/services
// and tcplens from its table of Debian's (services.go): where tcpdump runs
// again, it runs these only if /etc/services agrees with the table.
var serviceExprs = []string{
	"port ftp", "port http", "port https", "port ssh", "port www", "port domain", "tcp port ftp or tcp port ftp-data",
	"src port http and tcp", "udp port http", "portrange ftp-data-ftp", "portrange 20-ftp", "portrange ftp-http",
	"portrange 1-ssh", "tcp portrange ftp-data-ftp", "port nosuchservice",
}

var baseExprs = []string{
	// Protocols.
	"tcp", "udp", "icmp", "icmp6", "ip", "ip6", "arp", "sctp", "igmp", "pim",
	// Hosts and networks, with directions.
	"host 127.0.0.1", "host 192.168.1.32", "src host 192.168.1.32", "dst host 194.32.78.251",
	"host 2001:470:4867:99::21", "src host 2001:db8:1::2", "ip6 net 2001:470::/32", "net fe80::/10",
	"net 192.168.0.0/16", "src net 10", "dst net 192.168.2.0 mask 255.255.255.0", "net 172.16.0.0/12",
	"ip net 0.0.0.0/0", "host 10.77.0.1", "src and dst net 10.0.0.0/8", "host 141.142.228.5",
	"net 10.0.0.0 mask 255.0.255.0", "arp host 192.168.1.1",
	// Ports.
	"port 80", "tcp port 443", "udp port 53", "src port 80", "dst port 80", "tcp dst port 21",
	"sctp port 80", "portrange 1-1023", "tcp portrange 8000-9000", "src portrange 1024-65535",
	"src or dst port 80", "port 8000", "tcp src port 8000 or tcp dst port 8000",
	// Combinations.
	"host 192.168.1.32 and port 80", "tcp and not port 22", "port 80 or 443", "host 127.0.0.1 and (port 80 or port 8080)",
	"not ip6", "tcp or udp and port 53", "!tcp && ip", "host 192.168.1.32 and not 192.168.1.10",
	"host 127.0.0.1 or 192.168.1.32", "port (80 or 443)", "not (port 80 or port 443) and tcp",
	"ip proto 6", "ip6 proto 6", "proto \\udp", "ip proto \\tcp", "ether proto 0x86dd",
	// Lengths: libpcap compares the length on the wire.
	"greater 1000", "less 100", "len > 1000", "len <= 60", "len >= 1514", "len < 100 and tcp",
	"len - 14 > 1000", "len % 2 = 0", "len * 2 > 3000", "len / 10 = 6", "greater 100 and less 200",
	// TCP flags and header fields.
	"tcp[13] = 18", "tcp[13] & 2 != 0", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
	"tcp[tcpflags] & tcp-rst != 0", "tcp[tcpflags] == tcp-ack", "tcp[tcpflags] & (tcp-ece|tcp-cwr) != 0",
	"tcp[13] & 0x10 = 0x10 and tcp[13] & 0x08 != 0", "tcp[12] >> 4 > 5", "(tcp[12] & 0xf0) >> 2 > 20",
	"tcp[0:2] = 80 or tcp[2:2] = 80", "tcp[4:4] > 0x80000000", "tcp[0:2] ^ tcp[2:2] != 0",
	"tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420", "tcp[(tcp[12] >> 4) * 4] = 0x48",
	"not tcp[13] = 16", "tcp[100] = 0 or udp", "tcp[tcpflags] & tcp-push != 0 and len > 100",
	// IP header fields.
	"ip[2:2] > 576", "ip[6:2] & 0x1fff != 0", "ip[0] & 0xf != 5", "ip[8] < 64", "ip[9] = 6 and ip[6:2] & 0x1fff = 0",
	"ip6[6] = 6", "ip6[7] > 60", "udp[0:2] = 53", "icmp[icmptype] = icmp-echo", "icmp6[0] = 135",
	"ether[12:2] = 0x800", "link[0] & 1 = 1",
	// Link-layer addresses, broadcast and multicast.
	"ether broadcast", "ether multicast", "ip multicast", "ip6 multicast", "ip broadcast",
	"ether host 00:00:00:00:00:00", "ether src 00:50:56:c0:00:08",
	// VLANs: after vlan, everything looks four bytes further.
	"vlan", "vlan and tcp", "vlan 0 and port 80", "vlan and vlan and tcp port 80", "vlan or tcp",
	"not vlan and tcp", "vlan and tcp[13] & 2 != 0", "vlan 0 and tcp[tcpflags] & tcp-syn != 0",
	// Linux cooked captures and the other links that record a direction.
	"inbound", "outbound and tcp", "ifindex 1",
	// The TCP of testdata/links, on every link type.
	"host 10.99.99.45", "src host 10.99.99.1 and tcp", "ip6 src host 2001:470:1f11:81f:c999:d94:aa7c:2e3e",
	"tcp port 21", "src port 49185", "dst portrange 55000-56000", "net 10.99.99.0/24 and ip", "ip6 and tcp",
	"ip and tcp[13] & 2 != 0", "ip6[6] = 6 and ip6[40:2] = 21", "tcp[0:2] = 55533", "icmp6 or arp",
	// MPLS: after each label, everything looks 4 bytes further.
	"mpls", "mpls 16", "mpls 1000 and mpls 200", "mpls and ip6", "mpls and tcp port 21", "mpls and mpls and ip6",
	"mpls 1048575 and mpls 300000 and mpls 17 and ip6 host 2001:470:4867:99::21", "vlan 7 and mpls 16 and ip6",
	"mpls and host 10.99.99.45", "mpls and arp", "mpls and vlan", "mpls 1048576", "not mpls and tcp", "ether proto 0x8847",
	// PPPoE: after pppoes, the link is PPP behind the PPPoE header.
	"pppoes", "pppoes 0x1234", "pppoes 0x1234 and tcp", "pppoes and ip6 and port 21", "pppoes and mpls and ip6",
	"pppoed", "pppoes and vlan", "pppoes 65536", "ether proto 0x8864 and pppoes",
	// 802.2 LLC.
	"llc", "not llc and ip6", "llc i", "llc s", "llc u", "llc ui", "llc rr", "llc xid", "llc and ip6", "vlan and llc",
	"ether proto 0xaa", "ether proto 6",
	// protochain: the IPv6 extension headers (and IPv4 AH).
	"protochain 6", "ip6 protochain 6", "ip protochain \\tcp", "ip6 protochain 17", "protochain 44", "ip protochain 51",
	// Link-layer addresses of the test links.
	"ether host 3c:fd:fe:01:02:03", "ether src 00:1b:21:3c:4d:5e", "ether dst 3c:fd:fe:01:02:03 and tcp",
	"ether src 3c:fd:fe:01:02:03 and ether dst 00:1b:21:3c:4d:5e", "ether host 02:00:5e:10:20:30",
	"link[0] = 0xff", "link[2:2] = 0x21", "ppp[2:2] = 0x57", "link proto \\ip6", "vlan 42", "vlan 99 and mpls",
}

// A part is the frames of one capture that tcpdump reads as one file:
// the whole capture, or, for a pcapng file whose interfaces have
// different link types (which tcpdump refuses), one link type's frames.
type part struct {
	name      string // capture path, plus "#link" for a part of one
	link      pcap.LinkType
	bigEndian bool
	numbers   []int // the frames' numbers in the capture
	frames    []pcap.Frame
	nano      bool
	snap      int
}

// captureParts reads every test capture.
func captureParts(t testing.TB) []*part {
	var paths []string
	for _, g := range []string{"captures/*", "kernel/*.pcap", "kernel/extra/*.pcap", "links/*.pcap"} {
		m, _ := filepath.Glob(filepath.Join("..", "..", "testdata", g))
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		t.Fatal("no test captures")
	}
	var out []*part
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcap.NewReader(f)
		if err != nil {
			f.Close()
			continue
		}
		byLink := map[pcap.LinkType]*part{}
		var order []pcap.LinkType
		for {
			fr, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var fe *pcap.FormatError
				if errors.As(err, &fe) {
					continue // corrupt files are read past their damage
				}
				break
			}
			p := byLink[fr.Link]
			if p == nil {
				p = &part{link: fr.Link, bigEndian: r.BigEndian()}
				byLink[fr.Link] = p
				order = append(order, fr.Link)
			}
			fr.Data = slices.Clone(fr.Data)
			p.frames = append(p.frames, fr)
			p.numbers = append(p.numbers, fr.Number)
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, filepath.Join("..", "..")+string(filepath.Separator)))
		for _, l := range order {
			p := byLink[l]
			p.name, p.nano = rel, r.Nanosecond()
			// libpcap cuts a record to the file's snapshot length; the
			// part's must hold every frame whole.
			for _, ifc := range r.Interfaces() {
				p.snap = max(p.snap, ifc.SnapLen)
			}
			for _, fr := range p.frames {
				p.snap = max(p.snap, len(fr.Data))
			}
			if len(order) > 1 {
				p.name = fmt.Sprintf("%s#%d", rel, l)
			}
			out = append(out, p)
		}
		f.Close()
	}
	return out
}

// ours is the numbers of the frames of p that tcplens accepts, or the
// compile error.
func (p *part) ours(expr string) (string, error) {
	prog, err := NewProgram(expr, Options{Link: p.link, BigEndian: p.bigEndian})
	if err != nil {
		return "", err
	}
	var acc []int
	for i := range p.frames {
		if prog.Match(p.frames[i].Data, p.frames[i].Length) {
			acc = append(acc, p.numbers[i])
		}
	}
	return ranges(acc), nil
}

// ranges writes frame numbers as "1-5,7,9-12", "-" for none.
func ranges(ns []int) string {
	if len(ns) == 0 {
		return "-"
	}
	var b strings.Builder
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ns[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(ns[j]))
		}
		i = j + 1
	}
	return b.String()
}

// tcpdumpMatches runs tcpdump itself on p (written out as a classic pcap
// file in p's byte order) with expr, and returns the numbers of the frames
// it wrote with -w, or its complaint. Only the frames tcpdump reads count:
// it stops at a corrupt record, tcplens does not.
func (p *part) tcpdumpMatches(t testing.TB, dir, expr string) (string, bool) {
	in := filepath.Join(dir, "in.pcap")
	if _, err := os.Stat(in); err != nil {
		f, err := os.Create(in)
		if err != nil {
			t.Fatal(err)
		}
		w, err := pcap.NewWriter(f, p.link, p.snap, p.nano, p.bigEndian)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.frames {
			w.WritePacket(&p.frames[i])
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	exprFile := filepath.Join(dir, "expr")
	os.WriteFile(exprFile, []byte(expr), 0o644)
	out := filepath.Join(dir, "out.pcap")
	cmd := exec.Command("tcpdump", "-Z", "root", "-r", in, "-w", out, "-F", exprFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return "error: " + strings.TrimPrefix(msg, "tcpdump: "), false
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	// The output is a subsequence of the input: match records in order by
	// their bytes and lengths (identical frames are accepted alike).
	var acc []int
	i := 0
	for {
		fr, err := r.Next()
		if err != nil {
			break
		}
		for i < len(p.frames) && !(p.frames[i].Length == fr.Length && bytes.Equal(p.frames[i].Data, fr.Data)) {
			i++
		}
		if i == len(p.frames) {
			t.Errorf("%s %q: tcpdump wrote a frame that is not in the input", p.name, expr)
			return "error: unmatched output", false
		}
		acc = append(acc, p.numbers[i])
		i++
	}
	return ranges(acc), true
}

// digest shortens a long list of frames to its count and a hash, to keep
// the golden file small; where tcpdump runs, the full lists are compared.
func digest(ranges string) string {
	if len(ranges) <= 300 {
		return ranges
	}
	n := 0
	for _, r := range strings.Split(ranges, ",") {
		lo, hi, ok := strings.Cut(r, "-")
		a, _ := strconv.Atoi(lo)
		b := a
		if ok {
			b, _ = strconv.Atoi(hi)
		}
		n += b - a + 1
	}
	sum := sha256.Sum256([]byte(ranges))
	return fmt.Sprintf("%d frames, sha256 %x", n, sum[:8])
}

func goldenPath() string { return filepath.Join("testdata", "tcpdump-matches.txt") }

// readGolden maps "capture\texpr" to tcpdump's answer.
func readGolden(t testing.TB) map[string]string {
	f, err := os.Open(goldenPath())
	if err != nil {
		t.Fatalf("%v (scripts/make-filter-golden.sh makes it)", err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	capture := ""
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "## "); ok {
			capture = c
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		expr, frames, ok := strings.Cut(line, "\t")
		if !ok || capture == "" {
			t.Fatalf("golden line %q", line)
		}
		m[capture+"\t"+expr] = frames
	}
	return m
}

// liveParts are the captures on which tcpdump runs again in every test
// where it is installed (all of them with -update): one of each link
// type, byte order and oddity.
var liveParts = []string{
	"testdata/captures/zeek-http-vlan-0.pcap", "testdata/captures/zeek-http-qinq-0.pcap",
	"testdata/captures/tcpdump-tcp-handshake-nano.pcap", "testdata/captures/lwerdna-simple_http_sll2.pcap",
	"testdata/captures/suri-tcp-empty-sack-tcp-opt.pcap", "testdata/captures/gopacket-be-test202.pcapng#0",
	"testdata/captures/gopacket-be-test202.pcapng#1", "testdata/captures/zeek-tcp-truncated-header.pcap",
	"testdata/captures/zeek-ipv6-http-atomic-frag.pcap", "testdata/captures/zeek-ipv4-fragmented-4.pcap",
	"testdata/links/link-ieee802-11-radiotap.pcap", "testdata/links/link-ieee802-11-prism.pcap",
	"testdata/links/link-pflog.pcap", "testdata/links/link-ethernet-mpls.pcap", "testdata/links/link-sll-encap.pcap",
	"testdata/links/link-token-ring.pcap", "testdata/links/link-ppp.pcap", "testdata/links/link-nflog.pcap",
}

// TestFilterMatchesTcpdump is the differential test: for every
// expression and every test capture, tcplens accepts exactly the frames
// tcpdump accepts, and refuses exactly the expressions tcpdump refuses.
// tcpdump's answers are kept in testdata/tcpdump-matches.txt (made by
// scripts/make-filter-golden.sh), so that the test runs without tcpdump;
// where tcpdump is installed it runs again on liveParts, and the file
// must still say what it says.
func TestFilterMatchesTcpdump(t *testing.T) {
	parts := captureParts(t)
	_, err := exec.LookPath("tcpdump")
	haveTcpdump := err == nil
	if *update && !haveTcpdump {
		t.Fatal("-update needs tcpdump")
	}
	var golden map[string]string
	if !*update {
		golden = readGolden(t)
	}
	type result struct{ key, want string }
	results := make(chan result, 64)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	live := 0
	exprs := filterExprs
	if !*update && !systemServicesAgree(t) {
		exprs = baseExprs
	}
	for _, p := range parts {
		if !*update && (!haveTcpdump || testing.Short() || !slices.Contains(liveParts, p.name)) {
			continue
		}
		live++
		wg.Add(1)
		go func(p *part) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			dir := t.TempDir()
			for _, e := range exprs {
				got, _ := p.tcpdumpMatches(t, dir, e)
				results <- result{p.name + "\t" + e, got}
			}
		}(p)
	}
	go func() { wg.Wait(); close(results) }()
	fresh := map[string]string{}
	for r := range results {
		fresh[r.key] = digest(r.want)
	}
	if *update {
		golden = fresh
		writeGolden(t, golden)
	} else {
		for k, v := range fresh {
			if golden[k] != v {
				t.Errorf("%s: tcpdump now says %s, testdata says %s: rerun scripts/make-filter-golden.sh", k, v, golden[k])
			}
		}
	}
	compared, frames, accepted := 0, 0, 0
	for _, p := range parts {
		frames += len(p.frames)
		for _, e := range filterExprs {
			key := p.name + "\t" + e
			want, ok := golden[key]
			if !ok {
				t.Errorf("%s %q: no answer of tcpdump's in testdata: rerun scripts/make-filter-golden.sh", p.name, e)
				continue
			}
			got, err := p.ours(e)
			compared++
			got = digest(got)
			if want == "error: expression rejects all packets" && err == nil {
				// libpcap's optimizer finds that nothing can pass and
				// refuses; tcplens, for which another interface of the
				// same capture may be another link type, passes nothing.
				want = "-"
			}
			if strings.HasPrefix(want, "error: ") {
				if err == nil {
					t.Errorf("%s %q: tcpdump refuses it (%s), tcplens accepts frames %s", p.name, e, want, got)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %q: tcpdump accepts frames %s, tcplens refuses the expression: %v", p.name, e, want, err)
				continue
			}
			if got != want {
				t.Errorf("%s %q:\n tcpdump accepts %s\n tcplens accepts %s", p.name, e, want, got)
			}
			if got != "-" {
				accepted++
			}
		}
	}
	t.Logf("%d expressions on %d captures' parts (%d frames): %d comparisons, %d accepting some frame; tcpdump ran on %d parts",
		len(filterExprs), len(parts), frames, compared, accepted, live)
}

// systemServicesAgree reports whether this machine's /etc/services, from
// which tcpdump resolves service names, gives the names serviceExprs use
// the ports and protocols services.go gives them.
func systemServicesAgree(t testing.TB) bool {
	b, err := os.ReadFile("/etc/services")
	if err != nil {
		t.Logf("no /etc/services (%v): tcpdump does not run again on the expressions that name services", err)
		return false
	}
	type ports struct{ tcp, udp int32 }
	sys := map[string]ports{}
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, proto, _ := strings.Cut(f[1], "/")
		port, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		for _, name := range append(f[:1:1], f[2:]...) {
			e, ok := sys[name]
			if !ok {
				e = ports{-1, -1}
			}
			switch {
			case proto == "tcp" && e.tcp < 0:
				e.tcp = int32(port)
			case proto == "udp" && e.udp < 0:
				e.udp = int32(port)
			}
			sys[name] = e
		}
	}
	for _, name := range []string{"ftp", "ftp-data", "http", "https", "ssh", "www", "domain", "nosuchservice"} {
		want, ok := services[name]
		got, sysOK := sys[name]
		if ok != sysOK || ok && (want.tcp != got.tcp || want.udp != got.udp) {
			t.Logf("/etc/services gives %q %v, services.go %v: tcpdump does not run again on the expressions that name services", name, got, want)
			return false
		}
	}
	return true
}

func writeGolden(t testing.TB, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# The frames tcpdump 4.99 (libpcap 1.10) accepts: after \"## capture\", expression<TAB>frame numbers, or its error.\n")
	b.WriteString("# Made by scripts/make-filter-golden.sh; read by internal/bpf's TestFilterMatchesTcpdump.\n")
	capture := ""
	for _, k := range keys {
		c, expr, _ := strings.Cut(k, "\t")
		if c != capture {
			fmt.Fprintf(&b, "## %s\n", c)
			capture = c
		}
		fmt.Fprintf(&b, "%s\t%s\n", expr, m[k])
	}
	if err := os.WriteFile(goldenPath(), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
