// Package bpf compiles tcpdump capture filters to classic BPF, so that
// tcplens capture can filter in the kernel without libpcap (and without
// cgo). It covers the common subset of pcap-filter(7):
//
//	host ADDR            IPv4 or IPv6; an IPv4 host also matches ARP and RARP sender/target, as in libpcap
//	net CIDR             also "net ADDR mask MASK" and dotted prefixes ("net 10", "net 192.168")
//	port N, portrange A-B  TCP, UDP and SCTP, over IPv4 (first fragments only) and IPv6 (no extension headers)
//	proto N              IP protocol, with ip or ip6: "ip proto 6", "proto \tcp"
//	src, dst, src or dst, src and dst   direction qualifiers
//	tcp, udp, sctp, icmp, icmp6, ip, ip6, arp, rarp   protocol primitives and qualifiers ("tcp port 80")
//	vlan [ID]            802.1Q, 802.1ad and 0x9100 tags; later primitives look behind the tag, as libpcap's do
//	greater N, less N    packet length
//	and, or, not, &&, ||, !, ( )   with libpcap's precedence: not binds tightest, and/or are equal and left-associative
//
// An identifier after and/or/not without qualifiers takes the previous
// primitive's ("port 80 or 443", "host a and not b"), as in libpcap.
// Host names and service names are not resolved: tcplens never touches DNS.
//
// The programs are not libpcap's instruction for instruction, but they
// test the same fields in the same order and so accept exactly the same
// frames, truncated ones included (a load past the captured bytes rejects
// the frame, in both): the package's tests run both over every frame of
// the test captures. Anything else — tcp[tcpflags], ether host, ... — can
// be given as tcpdump's own compiled program: ParseDump reads the text of
// tcpdump -ddd (or -dd).
//
// Link types are Ethernet, Linux cooked v1 and raw IP, as in capture
// files; Options.Cooked compiles for a Linux SOCK_DGRAM packet socket (the
// "any" device), where the frame starts at the network header and the
// EtherType is the kernel's skb->protocol; Options.Kernel reads VLAN tags
// from the kernel's metadata, where Linux moves them before any filter runs.
package bpf
