// Package bpf compiles tcpdump filter expressions (pcap-filter(7)) to
// classic BPF, for the kernel (tcplens capture) and for its own
// interpreter, which every command that reads capture files runs as a read
// filter. It follows libpcap 1.10's grammar.y, scanner.l and gencode.c:
//
//	host, net (CIDR, "mask", dotted prefixes), port, portrange, proto; src, dst, src or dst, src and dst
//	ip, ip6, arp, rarp, tcp, udp, sctp, icmp, icmp6, igmp, igrp, pim, vrrp, carp, ah, esp, ether (link)
//	ether host/src/dst MAC, ether proto, broadcast and multicast (ether, ip, ip6)
//	vlan [ID]: 802.1Q, 802.1ad and 0x9100 tags; every primitive after it looks 4 bytes further, as libpcap's do
//	mpls [LABEL]: an MPLS label; every primitive after it looks behind it, and ip/ip6 test the bottom of the stack
//	pppoes [SESSION]: a PPPoE session; every primitive after it sees PPP behind the PPPoE header; pppoed
//	llc, llc i|s|u, llc rr|rnr|rej|ui|ua|disc|dm|sabme|test|xid|frmr: 802.2 frames and their kinds
//	protochain N: protocol N anywhere in the chain of IPv6 extension headers (a loop, run by tcplens's interpreter alone)
//	less N, greater N, len: the packet's length on the wire, not the captured length
//	proto[expr] and proto[expr:size] (1, 2 or 4 bytes): ether, link, radio, ip, ip6, arp, rarp, tcp, udp, sctp, icmp, icmp6, igmp, ...
//	arithmetic + - * / % & | ^ << >> and unary -, comparisons = == != < <= > >=
//	libpcap's named numbers: tcpflags, tcp-syn, tcp-ack, ..., icmptype, icmp-echo, ..., icmp6-echo, ...
//	inbound, outbound (Linux cooked, SLIP, pflog, ipnet, Juniper), ifindex N (Linux cooked v2)
//	and, or, not, &&, ||, !, ( ): not binds tightest, and/or are equal and left-associative
//
// An address or number after and/or without qualifiers takes the previous
// primitive's ("port 80 or 443", "host a and not b"). Host names are not
// resolved: tcplens never touches DNS. Service names (port http,
// portrange ftp-data-ssh) are those of services.go's table, Debian's
// /etc/services, resolved as libpcap does (a TCP-only service is looked
// for in TCP alone); protocol names are /etc/protocols'.
//
// Every link type tcplens reads is filtered with libpcap's model of it
// (link.go: init_linktype's offsets, gen_linktype's tests), its oddities
// included, so that the frames tcpdump accepts are the frames tcplens
// accepts: the 802.2 LLC/SNAP links (FDDI, Token Ring, ATM, IP over FC,
// 802.11), radiotap, AVS and Prism headers and the 802.11 and pflog
// headers whose length a prologue loads from the frame, PPP's protocol
// field, Cisco HDLC, Frame Relay's NLPID, the AF_ values of loopback, enc,
// pflog and ipnet, Juniper's cookie. Where libpcap refuses a primitive on
// a link type (vlan on PPP, any protocol test on NFLOG or IP over
// InfiniBand), tcplens refuses it too, naming the link type. A BSD
// loopback or enc header is compared in the byte order of the file that
// holds it, as libpcap does. A Filter compiles one program per link type
// it meets, so a pcapng file whose interfaces differ is filtered as each
// interface's own capture would be. libpcap's register allocation is
// followed too, where it lets a comparison overwrite a header offset
// (regs.go).
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
// load is refused by tcplens alone. And protochain's loop turns at most
// the frame's length plus 1024 times in tcplens, where libpcap's runs for
// ever on an AH header whose length points back at itself.
//
// Not compiled: geneve, gateway, decnet, iso, the 802.11 (type, subtype,
// dir, addr1-4), pflog (on, action, reason, rnr), ATM and SS7 primitives;
// tcpdump's compiled program can be given to capture instead (ParseDump
// reads tcpdump -ddd or -dd text).
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
