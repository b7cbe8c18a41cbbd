package bpf

import (
	"errors"
	"strings"
	"testing"

	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/pcap"
)

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
	if _, err := NewProgram("tcp", Options{Kernel: true, Link: pcap.LinkEthernet}); err == nil {
		t.Error("a kernel program was taken to run offline")
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

func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"tcp port", "at its end"},
		{"host www.example.com", "resolves no names"},
		{"port nosuchservice", "unknown port 'nosuchservice'"},
		{"udp port ssh", "port 'ssh' is tcp"},
		{"portrange ftp-data-ftp", "unknown port in range"},
		{"mpls 1048576", "MPLS label 1048576 greater than maximum"},
		{"mpls and arp", "unsupported protocol over mpls"},
		{"mpls and vlan", "no VLAN match after MPLS"},
		{"pppoes and vlan", "no VLAN support for PPP"},
		{"pppoes 70000", "PPPoE session number 70000"},
		{"llc foo", `unknown LLC type name "foo"`},
		{"src protochain 6", "direction applied to 'protochain'"},
		{"net 10.1.2.3/8", "non-network bits set"},
		{"tcp host 10.0.0.1", "'tcp' modifier applied to host"},
		{"(tcp", "missing )"},
		{"tcp )", `unexpected ")"`},
		{"80", "a comparison"},
		{"10.0.0.1", "needs a qualifier"},
		{"ip6 host 10.0.0.1", "'ip6' modifier"},
		{"vlan 5000", "greater than maximum"},
		{"tcp[13] / 0 = 1", "division by zero"},
		{"tcp[13] % 0 = 1", "modulus by zero"},
		{"tcp[0] << 33 = 1", "shift by more than 31 bits"},
		{"tcp[0:3] = 1", "data size must be 1, 2, or 4"},
		{"len = ", "at its end"},
		{"port 99999", "illegal port number"},
		{"ip proto \\icmp6", "unknown ip proto"},
		{"src 10.0.0.0/8", "Mask syntax for networks only"},
		{"link", "link layer applied in wrong context"},
		{"tcp @ 1", `unexpected character '@'`},
		{"host 1:2:3", "bogus ethernet address"},
		{"geneve", "not supported"},
		{"tcp and 80", "needs a qualifier"},
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

// TestEveryOperator compiles each operator of the grammar, including the
// != that once looped for ever in the lexer, on its own and in context.
func TestEveryOperator(t *testing.T) {
	ok := []string{
		"tcp[13] & 2 != 0", "len != 60", "tcp[13] = 2", "tcp[13] == 2", "len > 1", "len >= 1", "len < 1",
		"len <= 1", "len + 1 = 2", "len - 1 = 2", "len * 2 = 2", "len / 2 = 2", "len % 2 = 1", "len & 1 = 1",
		"len | 1 = 1", "len ^ 1 = 1", "len << 1 = 2", "len >> 1 = 2", "-len = 1", "(len) = 1",
		"tcp[0:2] = 1", "ip[0:4] = 1", "tcp and udp", "tcp && udp", "tcp or udp", "tcp || udp", "not tcp",
		"! tcp", "!tcp", "(tcp)", "tcp[tcpflags]&tcp-syn!=0", "len!=60", "tcp[13]!=0&&tcp",
	}
	for _, e := range ok {
		if _, err := Compile(e, Options{Link: pcap.LinkEthernet}); err != nil {
			t.Errorf("Compile(%q): %v", e, err)
		}
	}
	for _, e := range []string{"!=", "!= 0", "len !=", "= 1", "&", "&&", "||", "|", "<<", ">>", "[", "]", ":", "^", "%", "-"} {
		if _, err := Compile(e, Options{Link: pcap.LinkEthernet}); err == nil {
			t.Errorf("Compile(%q) accepted", e)
		}
	}
}

// TestLimits holds the compiler to its limits: each hostile expression
// fails fast, and its error quotes a little of it, never all of it.
func TestLimits(t *testing.T) {
	long := strings.Repeat("(", 1_000_000) + "tcp" + strings.Repeat(")", 1_000_000)
	deep := strings.Repeat("(", 5000) + "tcp" + strings.Repeat(")", 5000)
	chain := "port 80" + strings.Repeat(" or port 80", 5000)
	nots := strings.Repeat("not ", 1000) + "tcp"
	arith := "len" + strings.Repeat(" + (len", 200) + strings.Repeat(")", 200) + " = 1"
	for _, tc := range []struct{ name, expr, want string }{
		{"a million parentheses", long, "more than the 65536"},
		{"5,000 nested parentheses", deep, "nested more than 100 deep"},
		{"5,000 ports", chain, "more than 65536 instructions"},
		{"1,000 nots", nots, "nested more than 100 deep"},
		{"200 nested sums", arith, "nested more than 100 deep"},
	} {
		_, err := Compile(tc.expr, Options{Link: pcap.LinkEthernet})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
			continue
		}
		if len(err.Error()) > 200 {
			t.Errorf("%s: the error is %d bytes: %.200s", tc.name, len(err.Error()), err)
		}
	}
	// The kernel takes 4096 instructions; a long program takes trampolines.
	mid := "port 80" + strings.Repeat(" or port 80", 300)
	if _, err := Compile(mid, Options{Link: pcap.LinkEthernet, Kernel: true}); err == nil || !strings.Contains(err.Error(), "4096") {
		t.Errorf("300 ports for the kernel: %v", err)
	}
	p, err := NewProgram(mid, Options{Link: pcap.LinkEthernet})
	if err != nil {
		t.Fatal(err)
	}
	_ = p
}

// TestLinkRefusals holds the refusals libpcap makes on some link types
// (the differential test holds that tcpdump makes them too): each names
// the link type and points at the primitive at fault.
func TestLinkRefusals(t *testing.T) {
	for _, tc := range []struct {
		link      pcap.LinkType
		expr      string
		pos, want string
	}{
		{pcap.LinkNFLOG, "len > 10 and tcp", `"tcp"`, "link-layer type filtering not implemented for Linux NFLOG"},
		{pcap.LinkIPoIB, "port 80", `"80"`, "not implemented for IP over InfiniBand"},
		{pcap.LinkPPP, "tcp and vlan", `"vlan"`, "no VLAN support for PPP"},
		{pcap.LinkSLL, "mpls", `"mpls"`, "no MPLS support for Linux cooked v1"},
		{pcap.LinkPPPHDLC, "mpls 5", `"mpls"`, "no MPLS support for PPP in HDLC framing"},
		{pcap.LinkPPP, "llc", `"llc"`, "'llc' not supported for PPP"},
		{pcap.LinkPPP, "inbound", `"inbound"`, "not supported on PPP when reading savefiles"},
		{pcap.LinkRadiotap, "ip6 protochain 6", `"6"`, "not supported with variable length headers"},
		{pcap.LinkPFLOG, "protochain 6", `"6"`, "not supported with variable length headers"},
		{pcap.LinkCHDLC, "ether host 1:2:3:4:5:6", `"1:2:3:4:5:6"`, "Cisco HDLC frames have no Ethernet addresses"},
		{pcap.LinkSunATM, "ether broadcast", `"ether"`, "not a broadcast link (SunATM)"},
		{pcap.LinkFrameRelay, "multicast", `"multicast"`, "Frame Relay frames have no link-layer multicast"},
		{pcap.LinkEthernet, "pppoes and ether host 1:2:3:4:5:6", `"1:2:3:4:5:6"`, "PPP frames have no Ethernet addresses"},
	} {
		_, err := Compile(tc.expr, Options{Link: tc.link})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.pos+" in") {
			t.Errorf("%v %q: %v, want %q at %s", tc.link, tc.expr, err, tc.want, tc.pos)
		}
	}
}

// TestLoopsEnd holds the interpreter to its bound on backward jumps: a
// program that loops for ever (as libpcap's protochain can on AH headers
// that point back at themselves) refuses the frame.
func TestLoopsEnd(t *testing.T) {
	forever, err := LoadProgram([]xbpf.RawInstruction{{Op: 0x05, K: 0xffffffff}, {Op: 0x06, K: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if forever.Match(make([]byte, 100), 100) {
		t.Error("a loop without end accepted the frame")
	}
	if _, err := ParseDump("2\n5 0 0 4294967295\n6 0 0 1\n"); err == nil {
		t.Error("a backward jump taken for the kernel")
	}
	if _, err := LoadProgram([]xbpf.RawInstruction{{Op: 0x05, K: 0xfffffffe}, {Op: 0x06, K: 1}}); err == nil {
		t.Error("a jump before the start accepted")
	}
	// IPv4 with an AH header whose length sends protochain back to it.
	frame := make([]byte, 64)
	frame[0], frame[9] = 0x45, 51
	frame[20], frame[21] = 51, 3 // next header AH, length (3+2)*4 = 20: itself
	p, err := NewProgram("ip protochain 6", Options{Link: pcap.LinkRaw})
	if err != nil {
		t.Fatal(err)
	}
	if p.Match(frame, len(frame)) {
		t.Error("protochain's endless AH chain accepted the frame")
	}
	frame[20] = 6
	if !p.Match(frame, len(frame)) {
		t.Error("protochain missed TCP behind AH")
	}
	if _, err := Compile("protochain 6", Options{Link: pcap.LinkEthernet, Kernel: true}); err == nil {
		t.Error("protochain compiled for the kernel")
	}
}
