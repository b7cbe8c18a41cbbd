package sockdiag

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readFixture reads a file of testdata: the dumps and /proc files recorded
// on Linux (TestDumpMatchesSS -record, and the snmp and netstat files of
// the Debian 12 machine with kernel 6.18 the project is built on).
func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// messages splits a dump into its netlink messages, as far as their
// lengths hold.
func messages(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= nlmsgHdrLen {
		n := int(binary.LittleEndian.Uint32(b))
		if n < nlmsgHdrLen || n > len(b) {
			break
		}
		out = append(out, b[:n])
		b = b[min(align4(n), len(b)):]
	}
	return out
}

// FuzzParseDump: a sock_diag reply in either byte order never panics; an
// error is a *MsgError whose offset lies inside the datagram, or the
// kernel's *KernelError; NLMSG_DONE comes without an error; the sockets
// are appended to what the caller passed; every socket has both its
// addresses in one family; and a datagram cut after any whole message
// decodes to a prefix of the sockets.
func FuzzParseDump(f *testing.F) {
	for _, name := range []string{"inet.dump", "inet6.dump"} {
		b := readFixture(f, name)
		f.Add(false, b)
		for _, m := range messages(b) {
			f.Add(false, m)
		}
	}
	f.Add(false, unhex(f, oneIPv4))
	f.Add(true, unhex(f, oneIPv4))
	f.Fuzz(func(t *testing.T, bigEndian bool, b []byte) {
		var order binary.ByteOrder = binary.LittleEndian
		if bigEndian {
			order = binary.BigEndian
		}
		prior := []Socket{{State: Listen}}
		socks, done, err := parseDump(order, b, prior)
		if len(socks) < 1 || socks[0].State != Listen {
			t.Fatalf("the caller's sockets were not kept: %v", socks)
		}
		socks = socks[1:]
		var me *MsgError
		var ke *KernelError
		switch {
		case err == nil:
		case errors.As(err, &me):
			if me.Offset < 0 || me.Offset >= len(b) {
				t.Fatalf("%v: offset %d outside the %d bytes", err, me.Offset, len(b))
			}
		case errors.As(err, &ke):
		default:
			t.Fatalf("error %v (%T), want a *MsgError or *KernelError", err, err)
		}
		if done && err != nil {
			t.Fatalf("done with an error: %v", err)
		}
		for i := range socks {
			s := &socks[i]
			if s.Local.Addr().Is4() != s.Peer.Addr().Is4() || !s.Local.Addr().IsValid() {
				t.Fatalf("socket %d: local %v, peer %v", i, s.Local, s.Peer)
			}
		}
		// Cut after the first message: a prefix of the sockets.
		if len(b) < 4 {
			return
		}
		if n := align4(int(order.Uint32(b))); n >= nlmsgHdrLen && n < len(b) {
			first, _, _ := parseDump(order, b[:n], nil)
			if len(first) > len(socks) && err == nil {
				t.Fatalf("the first message alone gives %d sockets, the whole datagram %d", len(first), len(socks))
			}
			for i := range min(len(first), len(socks)) {
				if describe(first[i:i+1]) != describe(socks[i:i+1]) {
					t.Fatalf("socket %d differs when the datagram is cut after its first message", i)
				}
			}
		}
	})
}

var procLine = regexp.MustCompile(`^sockdiag: /proc/net/tcp line ([0-9]+): `)

// FuzzParseProcNet: /proc/net/tcp and tcp6 never panic the parser; an error
// names a line of the input; every socket comes from one line of it, with
// both addresses in one family.
func FuzzParseProcNet(f *testing.F) {
	f.Add(false, string(readFixture(f, "proc-net-tcp")))
	f.Add(false, `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1B5A 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1B59 0000000000000000FFFF00000100007F:9C41 01 00000000:00000000 02:000004B0 00000000  1000        0 4243 2 0000000000000000 20 4 30 10 -1
`)
	f.Fuzz(func(t *testing.T, bigEndian bool, data string) {
		var order binary.ByteOrder = binary.LittleEndian
		if bigEndian {
			order = binary.BigEndian
		}
		lines := strings.Count(data, "\n") + 1
		socks, err := parseProcNet(order, strings.NewReader(data), nil)
		if err != nil {
			if m := procLine.FindStringSubmatch(err.Error()); m != nil {
				if n, _ := strconv.Atoi(m[1]); n < 2 || n > lines {
					t.Fatalf("%v: line %d of %d", err, n, lines)
				}
			} else if !strings.Contains(err.Error(), "token too long") {
				t.Fatalf("error %q names no line", err)
			}
		}
		if len(socks) > lines-1 {
			t.Fatalf("%d sockets from %d lines", len(socks), lines)
		}
		for i := range socks {
			s := &socks[i]
			if s.Local.Addr().Is4() != s.Peer.Addr().Is4() {
				t.Fatalf("socket %d: local %v, peer %v", i, s.Local, s.Peer)
			}
		}
	})
}

// FuzzParseSNMP: /proc/net/snmp and /proc/net/netstat never panic the
// parser; what it reads is named "Group.Name" after a group and a name of
// the input, each with a value the input holds.
func FuzzParseSNMP(f *testing.F) {
	f.Add(string(readFixture(f, "snmp")))
	f.Add(string(readFixture(f, "netstat")))
	f.Add("Tcp: RtoAlgorithm MaxConn ActiveOpens CurrEstab\nTcp: 1 -1 12 3\n")
	f.Add("Tcp: A B\nTcp: 1 18446744073709551615\n")
	f.Fuzz(func(t *testing.T, data string) {
		c := Counters{}
		err := ParseSNMP(strings.NewReader(data), c)
		if err != nil && !strings.HasPrefix(err.Error(), "sockdiag: snmp") {
			t.Fatalf("error %q does not say where it comes from", err)
		}
		for name, v := range c {
			group, field, ok := strings.Cut(name, ".")
			if !ok || !strings.Contains(data, group+":") || !strings.Contains(data, field) {
				t.Fatalf("counter %q = %d is not in the input", name, v)
			}
			if !strings.Contains(data, strconv.FormatInt(v, 10)) && !strings.Contains(data, strconv.FormatUint(uint64(v), 10)) {
				t.Fatalf("counter %q = %d: no such value in the input", name, v)
			}
		}
	})
}
