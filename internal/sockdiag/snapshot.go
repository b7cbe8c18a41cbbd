package sockdiag

import "time"

// Snapshot is everything Take reads at one moment.
type Snapshot struct {
	Time    time.Time // when the dump finished
	Sockets []Socket
	// Source says where the sockets came from: "netlink", or "proc" when
	// netlink was refused (then NetlinkErr says why, and there is no
	// tcp_info, no cookie and no listen backlog).
	Source     string
	NetlinkErr error

	Counters Counters // /proc/net/snmp and /proc/net/netstat; nil if unreadable
	Sysctl   Sysctl
	Sockstat *Sockstat // /proc/net/sockstat and sockstat6; nil if unreadable
}

// Sysctl holds the settings that give counts their meaning. Zero means
// unreadable.
type Sysctl struct {
	PortLow, PortHigh int // net.ipv4.ip_local_port_range: the ephemeral ports
	FinTimeout        int // net.ipv4.tcp_fin_timeout, seconds an orphaned FIN_WAIT2 is kept
	MaxSynBacklog     int // net.ipv4.tcp_max_syn_backlog
	Somaxconn         int // net.core.somaxconn, the cap on any listen backlog
	Syncookies        int // net.ipv4.tcp_syncookies: 0 off, 1 when the SYN queue overflows, 2 always
	MaxOrphans        int // net.ipv4.tcp_max_orphans
}

// Ports is the number of ephemeral ports, 0 if unknown.
func (s Sysctl) Ports() int {
	if s.PortHigh < s.PortLow || s.PortLow == 0 {
		return 0
	}
	return s.PortHigh - s.PortLow + 1
}

// Options select what Take reads.
type Options struct {
	// NetNS is a network namespace to read instead of the caller's: a path
	// such as /var/run/netns/NAME or /proc/PID/ns/net.
	NetNS string
	// Proc forces the /proc/net/tcp fallback even when netlink works.
	Proc bool
	// SocketsOnly skips the counters and sysctls: for a caller polling
	// every millisecond that wants only the states.
	SocketsOnly bool
	// Owners resolves the processes holding each socket, through Resolver
	// (a nil Resolver scans /proc afresh).
	Owners   bool
	Resolver *Resolver
	// Raw, if set, receives each netlink datagram of the dump as read,
	// before decoding: used to record test fixtures.
	Raw func(family uint8, datagram []byte)
}
