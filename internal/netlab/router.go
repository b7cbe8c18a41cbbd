package netlab

import (
	"net/netip"
	"strings"
)

// Router makes a run's path an IP router instead of the relay: the client
// and the server in subnets of their own, the path's namespace forwarding
// between them with the kernel's own netfilter and queueing, so that what
// the path does is what iptables and tc do. The relay cannot do it: it
// copies frames between two halves of one subnet with AF_PACKET, below
// netfilter, which never sees them.
//
//	client ns                 router ns                  server ns
//	tlkXc0 ──veth── tlkXpc  ⇄ ip_forward ⇄  tlkXps ──veth── tlkXs0
//	10.77.1.1       10.77.1.254          10.77.2.254        10.77.2.2
//
// A run with a Router is captured at the client's veth, at the router's
// two interfaces (RouterIn, the client's side, where a frame arrives
// before netfilter's FORWARD and NAT; RouterOut, the server's side, where
// it leaves after them) and at the server's veth; the path adds no delay
// of its own and Drops are not used. The router decrements the TTL.
type Router struct {
	// Rules are commands run in the router's namespace before the
	// behaviours start (iptables, tc). In their arguments {cif} and {sif}
	// are the router's client-side and server-side interfaces, {client}
	// and {server} the endpoints' addresses, {rc} and {rs} the router's
	// own address on each side.
	Rules [][]string
	// Counters are commands run in the router's namespace after the
	// behaviours, whose output goes into the run's notes: what the rules
	// matched (iptables -v -x -L, tc -s qdisc).
	Counters [][]string
}

// The routed lab's fixed addressing.
var (
	RoutedClientIPv4 = netip.MustParseAddr("10.77.1.1")
	RouterClientIPv4 = netip.MustParseAddr("10.77.1.254") // the router on the client's subnet
	RouterServerIPv4 = netip.MustParseAddr("10.77.2.254") // the router on the server's subnet
	RoutedServerIPv4 = netip.MustParseAddr("10.77.2.2")
)

// The routed lab's capture points besides PointClient and PointServer.
const (
	PointRouterIn  = "router-in"  // the router's client-side interface: frames from the client before the router's rules, to it after
	PointRouterOut = "router-out" // the router's server-side interface
)

// expand replaces the placeholders of a Router command.
func (r *Router) expand(args []string, cif, sif string) []string {
	rep := strings.NewReplacer(
		"{cif}", cif, "{sif}", sif,
		"{client}", RoutedClientIPv4.String(), "{server}", RoutedServerIPv4.String(),
		"{rc}", RouterClientIPv4.String(), "{rs}", RouterServerIPv4.String(),
	)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = rep.Replace(a)
	}
	return out
}
