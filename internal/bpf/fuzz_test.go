package bpf

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/pcap"
)

// realExpressions are filters people write: the examples of tcpdump(1)
// and pcap-filter(7), and expressions of libpcap's own test suite
// (testprogs/TESTrun), as the fuzzers' seeds beside filterExprs.
var realExpressions = []string{
	"host sundown", "host helios and ( hot or ace )", "ip host ace and not helios", "net ucb-ether",
	"gateway snup and (port ftp or ftp-data)", "ip and not net localnet",
	"tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 and not src and dst net localnet",
	"tcp port 80 and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0)",
	"gateway snup and ip[2:2] > 576", "ether[0] & 1 = 0 and ip[16] >= 224",
	"icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply", "tcp[13] & 8!=0",
	"ip[0] & 0xf != 5", "ip[6:2] & 0x1fff = 0", "ether[0] & 1 != 0", "ip6 and tcp",
	"vlan 100 && vlan 200", "mpls 100000 && mpls 1024", "pppoes 0x27 && ip", "geneve && ip",
	"link[5] == 0x12", "ether[7:2] == 0x1234", "wlan[10:4] == 0x12345678", "icmp[icmptype] != 0xff",
	"icmp[icmpcode] != 0xff", "decnet src host 50.764", "iso proto \\clnp", "ip multicast",
	"ip protochain \\udp", "ip6 protochain 17", "isis proto 0x1a or 0x18 or 0x12 or 0x0f or 0x11",
	"greater 100", "len >= 100", "length <= 200", "ip broadcast", "ip proto \\tcp", "ip6 proto 6",
	"proto \\tcp", "ether host aa:00:04:00:14:0e", "ether src aa-00-04-00-14-0e", "ether dst aa00.0400.140e",
	"ether host aa0004.00140e", "host fd00:a1b2:c3d4::1020:3040:5060:7080", "net 10.20.30.0/24",
	"src net 10.20 mask 255.255.0.0", "ip6 net fd00::/8", "port 1-1023", "portrange 1-1023",
	"tcp dst portrange 20-21", "sctp src port 9", "inbound", "outbound", "ifindex 5",
	"not (tcp or udp)", "tcp and !(port 22)", "host 10.0.0.1 && (port 80 || port 443)",
	"len - 14 > 1500", "-1 = 0xffffffff", "ip[8] * 2 = 128", "tcp[0:4] % 7 = 3", "udp[8:2] ^ 0xffff = 0",
}

// FuzzCompile compiles arbitrary expressions for link types of every
// kind and runs what compiles on an arbitrary frame. Properties: no panic; no hang (each compile stays
// well under a second: the limits bound the work); an error is a
// *SyntaxError whose quote stays short and whose position lies inside the
// expression; a program compiled for the kernel fits its limit; a
// program tcplens runs accepts or refuses as golang.org/x/net/bpf's VM
// does where that VM applies (no len, whose meaning differs offline).
func FuzzCompile(f *testing.F) {
	for _, e := range append(realExpressions, filterExprs...) {
		f.Add(e, "00000000000000000000000008004500003c00004000400600000a0000010a000002d4310050000000000000000050022000e4d10000")
	}
	f.Add("!=", "")
	f.Add("tcp[13] & 2 != 0", "")
	f.Add(strings.Repeat("(", 200)+"tcp", "")
	f.Add("len < 100 and tcp and ip6 protochain 6", "")
	f.Add("mpls 5 and mpls and pppoes 3 and llc ui and port http", "")
	f.Fuzz(func(t *testing.T, expr, frameHex string) {
		frame, _ := hex.DecodeString(frameHex)
		start := time.Now()
		// One link type of each of libpcap's kinds: Ethernet, Linux cooked,
		// loopback, LLC/SNAP, radio headers and 802.11 (a prologue), pflog
		// (a variable payload), PPP, and one it refuses most things on.
		for _, link := range []pcap.LinkType{pcap.LinkEthernet, pcap.LinkSLL2, pcap.LinkNull, pcap.LinkFDDI,
			pcap.LinkRadiotap, pcap.LinkPrism, pcap.LinkPFLOG, pcap.LinkPPP, pcap.LinkNFLOG} {
			insts, err := Compile(expr, Options{Link: link})
			if err != nil {
				se, ok := err.(*SyntaxError)
				if !ok {
					t.Fatalf("Compile(%q): %T %v, not a *SyntaxError", expr, err, err)
				}
				if se.Pos < 0 || se.Pos > len(expr) {
					t.Fatalf("Compile(%q): position %d outside the expression", expr, se.Pos)
				}
				if len(err.Error()) > 300 {
					t.Fatalf("Compile(%q): an error of %d bytes", expr, len(err.Error()))
				}
				continue
			}
			raw, err := xbpf.Assemble(insts)
			if err != nil {
				t.Fatalf("Compile(%q) made a program that does not assemble: %v", expr, err)
			}
			p, err := loadRaw(raw)
			if err != nil {
				t.Fatalf("Compile(%q) made a program tcplens does not run: %v", expr, err)
			}
			got := p.Match(frame, len(frame))
			if !strings.Contains(expr, "len") && !strings.Contains(expr, "greater") && !strings.Contains(expr, "less") {
				vm, err := xbpf.NewVM(insts)
				if err == nil {
					n, err := vm.Run(frame)
					if err == nil && (n != 0) != got {
						t.Fatalf("%q on %x: tcplens %v, x/net/bpf %d", expr, frame, got, n)
					}
				}
			}
			if _, err := Compile(expr, Options{Link: link, Kernel: true}); err != nil && !strings.Contains(err.Error(), "4096") {
				if _, ok := err.(*SyntaxError); !ok {
					t.Fatalf("Compile(%q) for the kernel: %v", expr, err)
				}
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Compile(%q) took %v", expr, d)
		}
	})
}

// FuzzParseDump reads arbitrary text as tcpdump -ddd output. Properties:
// no panic; what it accepts passes the kernel's structural checks and runs
// on a frame without panicking.
func FuzzParseDump(f *testing.F) {
	f.Add("4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n", []byte{0, 1, 2})
	f.Add("{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n{ 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },\n", []byte{})
	for _, e := range []string{"tcp[13] & 2 != 0", "len > 100", "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420", "vlan and tcp"} {
		insts, _ := Compile(e, Options{Link: pcap.LinkEthernet})
		raw, _ := xbpf.Assemble(insts)
		var b strings.Builder
		fmt.Fprintf(&b, "%d\n", len(raw))
		for _, r := range raw {
			fmt.Fprintf(&b, "%d %d %d %d\n", r.Op, r.Jt, r.Jf, r.K)
		}
		f.Add(b.String(), make([]byte, 80))
	}
	f.Fuzz(func(t *testing.T, text string, frame []byte) {
		raw, err := ParseDump(text)
		if err != nil {
			return
		}
		if err := check(raw, MaxKernel, false); err != nil {
			t.Fatalf("ParseDump(%q) accepted a program the kernel refuses: %v", text, err)
		}
		p, err := LoadProgram(raw)
		if err != nil {
			return // an opcode tcplens does not run offline
		}
		p.Match(frame, len(frame)+10)
	})
}
