// Package bpf compiles tcpdump filter expressions (pcap-filter(7)) to
// classic BPF, for the kernel (tcplens capture) and for its own
// interpreter, which every command that reads capture files runs as a read
// filter. It follows libpcap 1.10's grammar.y, scanner.l and gencode.c:
//
//	host, net (CIDR, "mask", dotted prefixes), port, portrange, proto; src, dst, src or dst, src and dst
//	ip, ip6, arp, rarp, tcp, udp, sctp, icmp, icmp6, igmp, igrp, pim, vrrp, carp, ah, esp, ether (link)
//	ether host/src/dst MAC, ether proto, broadcast and multicast (ether, ip, ip6)
//	vlan [ID]: 802.1Q, 802.1ad and 0x9100 tags; every primitive after it looks 4 bytes further, as libpcap's do
//	less N, greater N, len: the packet's length on the wire, not the captured length
//	proto[expr] and proto[expr:size] (1, 2 or 4 bytes): ether, link, ip, ip6, arp, rarp, tcp, udp, sctp, icmp, icmp6, igmp, ...
//	arithmetic + - * / % & | ^ << >> and unary -, comparisons = == != < <= > >=
//	libpcap's named numbers: tcpflags, tcp-syn, tcp-ack, ..., icmptype, icmp-echo, ..., icmp6-echo, ...
//	inbound, outbound (Linux cooked captures), ifindex N (Linux cooked v2)
//	and, or, not, &&, ||, !, ( ): not binds tightest, and/or are equal and left-associative
//
// An address or number after and/or without qualifiers takes the previous
// primitive's ("port 80 or 443", "host a and not b"). Host names and
// service names are not resolved: tcplens never touches DNS; protocol
// names are /etc/protocols'.
//
// Link types are Ethernet, Linux cooked v1 and v2, raw IP (DLT 12, 14,
// 101, 228 and 229), and BSD and OpenBSD loopback, with libpcap's
// offsets; a BSD loopback header is compared in the byte order of the file
// that holds it, as libpcap does. A Filter compiles one program per link
// type it meets, so a pcapng file whose interfaces differ is filtered as
// each interface's own capture would be.
//
// The programs are not libpcap's instruction for instruction, but they
// test the same fields in the same order and so accept the same frames,
// truncated ones included (a load past the captured bytes rejects the
// frame, in both; a division by zero too). The package's tests hold that:
// tcpdump itself runs every expression of a table of more than a hundred
// on every test capture, and the frames it accepts must be the frames
// tcplens accepts. One difference is known: libpcap's optimizer drops a
// load whose value cannot change the verdict ("tcp[100] = 0 or tcp" is
// "tcp" to tcpdump), where tcplens keeps it, so a frame too short for that
// load is refused by tcplens alone.
//
// Not compiled: mpls, pppoe, geneve, llc, protochain, gateway, decnet,
// iso, 802.11, ATM and SS7 primitives; tcpdump's compiled program can be
// given to capture instead (ParseDump reads tcpdump -ddd or -dd text).
//
// Limits: an expression of at most MaxLength bytes, nested at most
// MaxDepth deep, compiling to at most MaxInstructions (MaxKernel for the
// kernel); past them compiling fails at once, and an error quotes only
// the offending part of the expression.
//
// Options.Cooked compiles for a Linux SOCK_DGRAM packet socket (the "any"
// device), where the frame starts at the network header and the EtherType
// is the kernel's skb->protocol; Options.Kernel reads VLAN tags from the
// kernel's metadata, where Linux moves them before any filter runs.
package bpf
