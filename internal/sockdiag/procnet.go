package sockdiag

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/net/tcp's tm->when column: the kernel prints
// jiffies_delta_to_clock_t(), clock ticks of USER_HZ, which is 100 on every
// architecture Linux supports.
const userHZ = 100

// ParseProcNet parses /proc/net/tcp or /proc/net/tcp6 and appends the
// sockets to out. Addresses are printed there as 32-bit words in host byte
// order; the columns are those of get_tcp4_sock() in net/ipv4/tcp_ipv4.c.
// The file has no tcp_info, no socket cookie and, for listeners, no
// backlog: Info is nil and SendQ is 0.
func ParseProcNet(r io.Reader, out []Socket) ([]Socket, error) {
	return parseProcNet(binary.NativeEndian, r, out)
}

func parseProcNet(order binary.ByteOrder, r io.Reader, out []Socket) ([]Socket, error) {
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if line == 1 || len(f) == 0 {
			continue // the column header
		}
		s, err := parseProcNetLine(order, f)
		if err != nil {
			return out, fmt.Errorf("sockdiag: /proc/net/tcp line %d: %w", line, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseProcNetLine(order binary.ByteOrder, f []string) (Socket, error) {
	var s Socket
	if len(f) < 10 {
		return s, fmt.Errorf("%d columns, want at least 10", len(f))
	}
	var err error
	if s.Local, err = parseProcAddr(order, f[1]); err != nil {
		return s, err
	}
	if s.Peer, err = parseProcAddr(order, f[2]); err != nil {
		return s, err
	}
	if s.Local.Addr().Is4() != s.Peer.Addr().Is4() {
		// tcp or tcp6: one family per file, so per line.
		return s, fmt.Errorf("local address %q and remote address %q are of different families", f[1], f[2])
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return s, fmt.Errorf("state %q: %v", f[3], err)
	}
	s.State = State(st)
	if s.State == NewSynRecv {
		s.State, s.Request = SynRecv, true
	}
	if s.State == SynRecv && f[9] == "0" {
		// get_openreq4() prints request sockets as SYN_RECV with inode 0.
		s.Request = true
	}
	tx, rx, ok := strings.Cut(f[4], ":")
	if !ok {
		return s, fmt.Errorf("queues %q: want tx:rx", f[4])
	}
	sendQ, err1 := strconv.ParseUint(tx, 16, 32)
	recvQ, err2 := strconv.ParseUint(rx, 16, 32)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("queues %q: not hexadecimal", f[4])
	}
	s.SendQ, s.RecvQ = uint32(sendQ), uint32(recvQ)
	tr, when, ok := strings.Cut(f[5], ":")
	if !ok {
		return s, fmt.Errorf("timer %q: want tr:when", f[5])
	}
	timer, err1 := strconv.ParseUint(tr, 16, 8)
	ticks, err2 := strconv.ParseInt(when, 16, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("timer %q: not hexadecimal", f[5])
	}
	s.Timer = Timer(timer)
	if s.Timer != TimerNone && ticks > 0 {
		s.Expires = time.Duration(ticks) * time.Second / userHZ
	}
	retr, err := strconv.ParseUint(f[6], 16, 8)
	if err != nil {
		retr = 0xff // the column is a full int for request sockets; clamp
	}
	s.Retrans = uint8(retr)
	uid, err := strconv.ParseUint(f[7], 10, 32)
	if err != nil {
		return s, fmt.Errorf("uid %q: %v", f[7], err)
	}
	s.UID = uint32(uid)
	inode, err := strconv.ParseUint(f[9], 10, 32)
	if err != nil {
		return s, fmt.Errorf("inode %q: %v", f[9], err)
	}
	s.Inode = uint32(inode)
	return s, nil
}

// parseProcAddr parses "0100007F:270F" (IPv4) or 32 hex digits and a port
// (IPv6): each 32-bit word is the address's bytes read as a host-order
// integer, printed in hex; the port is in host order already.
func parseProcAddr(order binary.ByteOrder, s string) (netip.AddrPort, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("address %q: no port", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: port: %v", s, err)
	}
	var raw [16]byte
	switch len(h) {
	case 8, 32:
	default:
		return netip.AddrPort{}, fmt.Errorf("address %q: %d hex digits, want 8 or 32", s, len(h))
	}
	for i := 0; i < len(h); i += 8 {
		w, err := strconv.ParseUint(h[i:i+8], 16, 32)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("address %q: %v", s, err)
		}
		order.PutUint32(raw[i/2:], uint32(w))
	}
	var a netip.Addr
	if len(h) == 8 {
		a = netip.AddrFrom4([4]byte(raw[:4]))
	} else {
		a = netip.AddrFrom16(raw)
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}
