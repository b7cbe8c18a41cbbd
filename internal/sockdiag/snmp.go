package sockdiag

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Counters are kernel counters by "Group.Name", as nstat names them:
// "Tcp.AttemptFails", "TcpExt.ListenOverflows". Most only grow (they are
// reset only by a reboot, or per network namespace when it is created);
// Gauge tells the exceptions.
type Counters map[string]int64

// Names returns the counter names in sorted order.
func (c Counters) Names() []string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Gauge reports whether the named value of /proc/net/snmp is a level or a
// constant rather than an ever-growing count: Tcp.CurrEstab is the number of
// sockets now ESTABLISHED or CLOSE_WAIT; the Rto* and MaxConn values are
// configuration (RFC 2012's tcpRtoAlgorithm, tcpRtoMin, tcpRtoMax,
// tcpMaxConn).
func Gauge(name string) bool {
	switch name {
	case "Tcp.CurrEstab", "Tcp.RtoAlgorithm", "Tcp.RtoMin", "Tcp.RtoMax", "Tcp.MaxConn",
		"Ip.Forwarding", "Ip.DefaultTTL":
		return true
	}
	return false
}

// ParseSNMP parses /proc/net/snmp or /proc/net/netstat into c: both are
// pairs of lines, "Group: Name1 Name2 ..." then "Group: value1 value2 ...".
// Values may be negative (Tcp.MaxConn is -1: no limit).
func ParseSNMP(r io.Reader, c Counters) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20) // TcpExt's header line is over 4 KiB
	var head []string
	line := 0
	for sc.Scan() {
		line++
		group, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			return fmt.Errorf("sockdiag: snmp line %d: no \"Group:\" prefix", line)
		}
		f := strings.Fields(rest)
		if head == nil {
			head = append([]string{group}, f...)
			continue
		}
		if head[0] != group || len(head)-1 != len(f) {
			return fmt.Errorf("sockdiag: snmp line %d: %d %s values after %d names of %s", line, len(f), group, len(head)-1, head[0])
		}
		for i, v := range f {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				u, uerr := strconv.ParseUint(v, 10, 64)
				if uerr != nil {
					return fmt.Errorf("sockdiag: snmp line %d: %s.%s = %q: %v", line, group, head[i+1], v, err)
				}
				n = int64(u) // past 2^63: wraps, as the kernel's unsigned long would for a delta
			}
			c[group+"."+head[i+1]] = n
		}
		head = nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("sockdiag: snmp: %w", err)
	}
	if head != nil {
		return fmt.Errorf("sockdiag: snmp: %s names without values at the end", head[0])
	}
	return nil
}
