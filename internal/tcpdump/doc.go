// Package tcpdump prints TCP segments byte for byte as tcpdump 4.99 prints
// them with -nn, up to and including "length N": the timestamp, the Linux
// cooked v2 interface prefix, the IPv4 and IPv6 quirks (truncated-ip,
// bad-len, ip-proto-6 for later fragments, frag for IPv6 fragment headers),
// tcpdump's rule for relative sequence numbers and its option text,
// truncation markers ([|tcp]) and bad header lengths. What tcpdump's
// application-protocol printers add after the length is out of scope.
//
// The code follows tcpdump's print-ip.c, print-ip6.c and print-tcp.c
// closely, including the order of its checks, because that order decides
// the text of malformed and truncated packets. A Printer keeps tcpdump's
// per-connection table of initial sequence numbers; it is the only state,
// and it is bounded (see [Printer]).
package tcpdump
