package sockdiag

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sortedLines(lines []string) string {
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

// describe prints everything decoded of each socket, one block per socket,
// sorted, for golden files.
func describe(sockets []Socket) string {
	var lines []string
	for _, s := range sockets {
		l := fmt.Sprintf("%v local=%v peer=%v req=%v q=%d/%d timer=%v/%d/%v if=%d uid=%d inode=%d cookie=%#x cong=%q shut=%d",
			s.State, s.Local, s.Peer, s.Request, s.RecvQ, s.SendQ, s.Timer, s.Retrans, s.Expires, s.IfIndex, s.UID, s.Inode, s.Cookie, s.Cong, s.Shutdown)
		if s.HasShutdown || s.CgroupID != 0 || s.ULP != "" || s.V6Only != nil || s.Mark != 0 {
			v6only := "-"
			if s.V6Only != nil {
				v6only = fmt.Sprint(*s.V6Only)
			}
			l += fmt.Sprintf(" shut-known=%v cgroup=%d ulp=%q v6only=%s mark=%d", s.HasShutdown, s.CgroupID, s.ULP, v6only, s.Mark)
		}
		if s.Info != nil {
			l += fmt.Sprintf("\n\tinfo %+v", *s.Info)
		}
		if s.Mem != nil {
			l += fmt.Sprintf("\n\tmem %+v", *s.Mem)
		}
		if s.CC != nil {
			l += fmt.Sprintf("\n\tcc %+v", *s.CC)
		}
		lines = append(lines, l)
	}
	return sortedLines(lines)
}

// unhex decodes a fixture written as hex with comments: everything from
// "//" to the end of a line is dropped, then all white space.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(line, "//")
		b.WriteString(strings.Join(strings.Fields(line), ""))
	}
	out, err := hex.DecodeString(b.String())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// oneIPv4 is one SOCK_DIAG_BY_FAMILY message, little-endian host, with a
// short tcp_info (a 3.x kernel's 104 bytes) and the congestion control name.
const oneIPv4 = `
	d0000000 1400 0200 01000000 00000000 // nlmsghdr: len 208, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, seq 1, pid 0
	02 08 01 02                          // family AF_INET, state CLOSE_WAIT, timer retransmit, retrans 2
	1b59 b26e                            // sport 7001, dport 45678 (network order)
	7f000001 00000000 00000000 00000000  // src 127.0.0.1
	c0a80007 00000000 00000000 00000000  // dst 192.168.0.7
	00000000                             // interface
	78563412 01000000                    // cookie 0x0000000112345678
	c8000000                             // expires 200 ms
	05000000 2a000000                    // rqueue 5, wqueue 42
	e8030000 39300000                    // uid 1000, inode 12345
	0a00 0400 63756269 63000000          // attr CONG len 10 "cubic\0", padded
	6c00 0200                            // attr INFO len 108: 104 bytes of tcp_info
	08 00 00 00 00 07 07 01              // state CLOSE_WAIT, ca open, 0 0 0, options ts|sack|wscale, wscale snd 7 rcv 0, app-limited
	40420f00 00000000 b4050000 18020000  // rto 1 s, ato 0, snd_mss 1460, rcv_mss 536
	00000000 00000000 00000000 00000000 00000000  // unacked sacked lost retrans fackets
	10270000 00000000 e8030000 d0070000  // last_data_sent 10 s, last_ack_sent, last_data_recv 1 s, last_ack_recv 2 s
	dc050000 ffff0000 e8030000 f4010000  // pmtu 1500, rcv_ssthresh 65535, rtt 1 ms, rttvar 500 us
	ffffff7f 0a000000 b4050000 03000000  // snd_ssthresh inf, cwnd 10, advmss 1460, reordering 3
	00000000 00000100 03000000           // rcv_rtt 0, rcv_space 65536, total_retrans 3
`

func TestDeconstruct(t *testing.T) {
	b := unhex(t, oneIPv4)
	got, done, err := parseDump(binary.LittleEndian, b, nil)
	if err != nil || done || len(got) != 1 {
		t.Fatalf("parseDump = %d sockets, done %v, err %v", len(got), done, err)
	}
	s := got[0]
	want := Socket{
		State: CloseWait, Local: netip.MustParseAddrPort("127.0.0.1:7001"), Peer: netip.MustParseAddrPort("192.168.0.7:45678"),
		Cookie: 0x112345678, Timer: TimerRetrans, Retrans: 2, Expires: 200 * time.Millisecond,
		RecvQ: 5, SendQ: 42, UID: 1000, Inode: 12345, Cong: "cubic",
	}
	info := s.Info
	s.Info = nil
	if fmt.Sprint(s) != fmt.Sprint(want) {
		t.Errorf("socket\n got %+v\nwant %+v", s, want)
	}
	if info == nil {
		t.Fatal("no tcp_info")
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Len", info.Len, 104},
		{"State", info.State, CloseWait},
		{"Options", info.Options.String(), "ts sack wscale"},
		{"SndWScale", info.SndWScale, uint8(7)},
		{"RcvWScale", info.RcvWScale, uint8(0)},
		{"AppLimited", info.DeliveryRateAppLimited, true},
		{"RTO", info.RTO, time.Second},
		{"SndMSS", info.SndMSS, uint32(1460)},
		{"LastDataSent", info.LastDataSent, 10 * time.Second},
		{"LastAckRecv", info.LastAckRecv, 2 * time.Second},
		{"RTT", info.RTT, time.Millisecond},
		{"RTTVar", info.RTTVar, 500 * time.Microsecond},
		{"SndCwnd", info.SndCwnd, uint32(10)},
		{"RcvSpace", info.RcvSpace, uint32(65536)},
		{"TotalRetrans", info.TotalRetrans, uint32(3)},
		{"BytesAcked (not sent)", info.BytesAcked, uint64(0)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	s.Info = info
	if d, ok := s.Idle(); !ok || d != time.Second {
		t.Errorf("Idle = %v %v, want 1s", d, ok)
	}
}

func TestBigEndianBitfields(t *testing.T) {
	b := make([]byte, 8)
	b[6] = 0x70 // big-endian ABI: snd_wscale in the high nibble
	b[7] = 0x80 // app-limited is the most significant bit
	var be, le TCPInfo
	decodeTCPInfo(binary.BigEndian, b, &be)
	decodeTCPInfo(binary.LittleEndian, b, &le)
	if be.SndWScale != 7 || be.RcvWScale != 0 || !be.DeliveryRateAppLimited {
		t.Errorf("big-endian: snd %d rcv %d app-limited %v, want 7 0 true", be.SndWScale, be.RcvWScale, be.DeliveryRateAppLimited)
	}
	if le.SndWScale != 0 || le.RcvWScale != 7 || le.DeliveryRateAppLimited {
		t.Errorf("little-endian: snd %d rcv %d app-limited %v, want 0 7 false", le.SndWScale, le.RcvWScale, le.DeliveryRateAppLimited)
	}
}

func TestDoneAndError(t *testing.T) {
	done := unhex(t, `14000000 0300 0200 01000000 00000000 00000000 // NLMSG_DONE, len 20`)
	socks, ok, err := parseDump(binary.LittleEndian, done, nil)
	if err != nil || !ok || len(socks) != 0 {
		t.Errorf("DONE: %d sockets, done %v, err %v", len(socks), ok, err)
	}
	refused := unhex(t, `24000000 0200 0000 01000000 00000000 ffffffff // NLMSG_ERROR, error -EPERM
		00000000000000000000000000000000 // the request's header`)
	_, _, err = parseDump(binary.LittleEndian, refused, nil)
	var ke *KernelError
	if !errors.As(err, &ke) || !errors.Is(err, syscall.EPERM) {
		t.Errorf("NLMSG_ERROR: err %v, want a KernelError for EPERM", err)
	}
}

func TestTruncated(t *testing.T) {
	full := unhex(t, oneIPv4)
	for n := 1; n < len(full); n++ {
		_, _, err := parseDump(binary.LittleEndian, full[:n], nil)
		var me *MsgError
		if !errors.As(err, &me) {
			t.Fatalf("%d of %d bytes: err %v, want a MsgError", n, len(full), err)
		}
		if me.Offset < 0 || me.Offset >= n {
			t.Fatalf("%d bytes: offset %d outside the input", n, me.Offset)
		}
	}
}

func TestImpossibleLength(t *testing.T) {
	b := unhex(t, oneIPv4)
	binary.LittleEndian.PutUint16(b[16+72:], 200) // CONG attribute claims 200 bytes
	if _, _, err := parseDump(binary.LittleEndian, b, nil); err == nil || !strings.Contains(err.Error(), "attribute 4 length 200") {
		t.Errorf("err %v, want the attribute's length named", err)
	}
	b = unhex(t, oneIPv4)
	binary.LittleEndian.PutUint32(b, 8) // message shorter than its header
	if _, _, err := parseDump(binary.LittleEndian, b, nil); err == nil || !strings.Contains(err.Error(), "length 8") {
		t.Errorf("err %v, want the message length named", err)
	}
}

func TestDumpRequest(t *testing.T) {
	got := dumpRequest(binary.LittleEndian, afInet6, AllStates, Ext, 7)
	want := unhex(t, `
		48000000 1400 0103 07000000 00000000 // len 72, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST|NLM_F_DUMP, seq 7
		0a 06 ce 00                          // AF_INET6, IPPROTO_TCP, ext INFO|VEGASINFO|CONG|SKMEMINFO|SHUTDOWN, pad
		ff1f0000                             // states: all 13 bits, request sockets included
	`)
	want = append(want, make([]byte, 48)...) // inet_diag_sockid: match any
	if string(got) != string(want) {
		t.Errorf("request\n got %x\nwant %x", got, want)
	}
}

// TestFixtures decodes dumps recorded from a live namespace
// (TestDumpMatchesSS -record) and compares them with their golden text.
func TestFixtures(t *testing.T) {
	var all strings.Builder
	for _, name := range []string{"inet", "inet6"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".dump"))
		if err != nil {
			t.Fatal(err)
		}
		socks, done, err := parseDump(binary.LittleEndian, b, nil)
		if err != nil || !done {
			t.Fatalf("%s: done %v, err %v", name, done, err)
		}
		all.WriteString(describe(socks))
	}
	golden(t, filepath.Join("testdata", "dump.golden"), all.String())
}

func TestProcNetFixture(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "proc-net-tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	socks, err := parseProcNet(binary.LittleEndian, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "proc-net-tcp.golden"), describe(socks))
}

func TestProcNetLine(t *testing.T) {
	const file = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1B59 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1B5C 0100007F:9C40 03 00000000:00000000 01:00000064 00000002     0        0 0
`
	socks, err := parseProcNet(binary.LittleEndian, strings.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"LISTEN 127.0.0.1:7001 0.0.0.0:0 q=3/0 inode=4242 req=false",
		"SYN_RECV 127.0.0.1:7004 127.0.0.1:40000 q=0/0 inode=0 req=true timer=on/2/1s",
	}
	for i, s := range socks {
		got := fmt.Sprintf("%v %v %v q=%d/%d inode=%d req=%v", s.State, s.Local, s.Peer, s.RecvQ, s.SendQ, s.Inode, s.Request)
		if s.Timer != TimerNone {
			got += fmt.Sprintf(" timer=%v/%d/%v", s.Timer, s.Retrans, s.Expires)
		}
		if got != want[i] {
			t.Errorf("line %d: %s, want %s", i+1, got, want[i])
		}
	}
	six := "0000000000000000FFFF00000100007F:1B59"
	ap, err := parseProcAddr(binary.LittleEndian, six)
	if err != nil || ap.String() != "[::ffff:127.0.0.1]:7001" {
		t.Errorf("parseProcAddr(%s) = %v, %v", six, ap, err)
	}
}

func TestParseSNMP(t *testing.T) {
	const snmp = `Ip: Forwarding DefaultTTL
Ip: 1 64
Tcp: RtoAlgorithm MaxConn ActiveOpens CurrEstab
Tcp: 1 -1 12 3
`
	c := Counters{}
	if err := ParseSNMP(strings.NewReader(snmp), c); err != nil {
		t.Fatal(err)
	}
	if c["Tcp.MaxConn"] != -1 || c["Tcp.ActiveOpens"] != 12 || c["Ip.DefaultTTL"] != 64 || len(c) != 6 {
		t.Errorf("counters %v", c)
	}
	if !Gauge("Tcp.CurrEstab") || Gauge("Tcp.ActiveOpens") {
		t.Error("Gauge misclassifies")
	}
	if err := ParseSNMP(strings.NewReader("Tcp: A B\nTcp: 1\n"), Counters{}); err == nil {
		t.Error("mismatched value count accepted")
	}
}

func TestStateNames(t *testing.T) {
	for s, want := range map[State]string{Established: "ESTABLISHED", FinWait1: "FIN_WAIT1", NewSynRecv: "SYN_RECV", Close: "CLOSE", Unknown: "UNKNOWN", 99: "STATE_99"} {
		if s.String() != want {
			t.Errorf("State(%d) = %s, want %s", uint8(s), s, want)
		}
	}
}

func TestResolver(t *testing.T) {
	root := t.TempDir()
	mk := func(pid, comm string, fds map[string]string) {
		dir := filepath.Join(root, pid, "fd")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, pid, "comm"), []byte(comm+"\n"), 0o644)
		for fd, target := range fds {
			if err := os.Symlink(target, filepath.Join(dir, fd)); err != nil {
				t.Skipf("symlinks: %v", err)
			}
		}
	}
	mk("42", "server", map[string]string{"3": "socket:[100]", "4": "/dev/null", "5": "socket:[200]"})
	mk("43", "worker", map[string]string{"7": "socket:[100]"})
	os.MkdirAll(filepath.Join(root, "self"), 0o755)
	socks := []Socket{{Inode: 100}, {Inode: 200}, {Inode: 300}, {}}
	r := &Resolver{Root: root}
	r.Resolve(socks)
	got := fmt.Sprint(socks[0].Owners, socks[1].Owners, socks[2].Owners, socks[3].Owners)
	want := "[{42 server 3} {43 worker 7}] [{42 server 5}] [] []"
	if got != want {
		t.Errorf("owners %s, want %s", got, want)
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
