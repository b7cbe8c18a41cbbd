// Package sockdiag reads the live TCP sockets of a Linux host: the kernel's
// own view that ss(8) prints, with struct tcp_info for each socket, the TCP
// counters of /proc/net/snmp and /proc/net/netstat, and the process that
// holds each socket.
//
// The package is split so that everything except the system calls can be
// tested anywhere:
//
//   - msg.go decodes sock_diag netlink messages (struct inet_diag_msg and
//     its attributes, struct tcp_info) from bytes, on any OS;
//   - procnet.go parses /proc/net/tcp and /proc/net/tcp6, the fallback
//     when netlink is refused (no tcp_info there: RTT, cwnd and
//     retransmits stay unknown);
//   - snmp.go parses /proc/net/snmp and /proc/net/netstat;
//   - owner.go maps socket inodes to processes through /proc/PID/fd;
//   - dial_linux.go makes the netlink dump and reads the /proc files, and
//     is the only file that makes system calls; other.go returns
//     [errors.ErrUnsupported] elsewhere.
//
// The dump speaks raw NETLINK_SOCK_DIAG through golang.org/x/sys/unix rather
// than github.com/vishvananda/netlink: that library's decoders are
// Linux-only and unexported (no byte fixtures), its tcp_info decoder reads
// the snd/rcv window-scale nibbles and the app-limited bit in big-endian
// bit order (swapped on x86), and it stops at tcpi_snd_wnd, before the
// fields newer kernels send (tcpi_rcv_wnd, tcpi_total_rto, ...).
//
// Counts and states are the kernel's: a socket is in exactly one of the
// states of include/net/tcp_states.h, and a request socket (NEW_SYN_RECV,
// the mini-socket a listener keeps for each half-open handshake) is shown
// as SYN_RECV, as ss and /proc/net/tcp show it.
package sockdiag
