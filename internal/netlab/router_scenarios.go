package netlab

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// RouterCatalogue returns the scenarios whose path is a router (Router),
// one thing a router does to TCP each: what tcplens compare must find
// between a capture on each side of it.
func RouterCatalogue() []Scenario {
	return []Scenario{
		RouterClean(),
		RouterDrop(),
		RouterReject(),
		RouterSNAT(),
		RouterDNAT(),
		RouterMSS(),
		RouterOptStrip(),
		RouterECN(),
		RouterQueue(),
	}
}

// LookupRouter returns the router scenario called name.
func LookupRouter(name string) (Scenario, bool) {
	for _, sc := range RouterCatalogue() {
		if sc.Name == name {
			return sc, true
		}
	}
	return Scenario{}, false
}

// Sizes of the routed scenarios' exchange: a request of several segments
// and a reply.
const (
	routedRequest = 20000
	routedReply   = 2000
	// markAt is where a scenario's request carries its marker, the
	// string a rule matches: in its fifth or so segment.
	markAt = 6000
)

// marked returns n bytes of Payload with mark written at markAt.
func marked(n int, mark string) []byte {
	b := Payload(n)
	copy(b[markAt:], mark)
	return b
}

// routedClient dials (to the server, or to dial when valid), sends the
// request, reads the reply and closes.
func routedClient(request []byte, dial netip.AddrPort) func(s *Side) error {
	return func(s *Side) error {
		var c *net.TCPConn
		var err error
		if dial.IsValid() {
			c, err = s.Connect(netip.AddrPortFrom(s.Addr, s.ClientPort), dial)
		} else {
			c, err = s.Dial()
		}
		if err != nil {
			return err
		}
		if _, err := c.Write(request); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, make([]byte, routedReply)); err != nil {
			return err
		}
		return c.Close()
	}
}

// routedServer reads the request, replies, reads to the client's FIN and
// closes.
func routedServer(request int) func(s *Side) error {
	return serveAndCloseAtEOF(request, routedReply)
}

// routed makes a scenario with the usual exchange over a router with
// the given rules; counters say what the rules matched.
func routed(name, doc string, rules, counters [][]string) Scenario {
	return Scenario{
		Name: name, Doc: doc,
		Router: &Router{Rules: rules, Counters: counters},
		Client: routedClient(Payload(routedRequest), netip.AddrPort{}),
		Server: routedServer(routedRequest),
		Expect: closeFirstByClient(),
	}
}

// closeFirstByClient is what the kernel shows of the usual exchange: the
// path adds no delay, so the exchange takes about a millisecond and only
// the client's TIME_WAIT (60 s) lasts long enough for the poller to be
// sure to see it; the server's socket may come and go between two polls.
// The router scenarios' test checks the end states given.
func closeFirstByClient() Expect {
	return Expect{ClientEnd: "TIME_WAIT"}
}

var forwardCounters = [][]string{{"iptables", "-v", "-x", "-n", "-L", "FORWARD"}}

// RouterClean is a router that only forwards.
func RouterClean() Scenario {
	return routed("router-clean",
		"The client sends 20000 bytes through a router that only forwards, reads a 2000-byte reply and closes; the server closes at the client's FIN. "+
			"Between a capture at the client and one at the server, compare must report nothing but the delay (and the router's hop, the TTL's decrement by one).",
		nil, nil)
}

// RouterDrop is a router that drops one segment.
func RouterDrop() Scenario {
	sc := routed("router-drop",
		"The client's 20000-byte request carries the string DROPME at byte 6000; the router drops the first segment that holds it "+
			"(iptables FORWARD -m string --string DROPME -m limit --limit 1/hour --limit-burst 1 -j DROP), and the client resends it after a SACK or its timer. "+
			"compare must report that segment lost between the points, seen at the client and never at the server, and its resend; nothing else but the delay.",
		[][]string{{"iptables", "-A", "FORWARD", "-p", "tcp", "-d", "{server}", "--dport", "8000",
			"-m", "string", "--string", "DROPME", "--algo", "bm",
			"-m", "limit", "--limit", "1/hour", "--limit-burst", "1", "-j", "DROP"}},
		forwardCounters)
	sc.Client = routedClient(marked(routedRequest, "DROPME"), netip.AddrPort{})
	return sc
}

// RouterReject is a router that rejects a segment with a forged reset.
func RouterReject() Scenario {
	return Scenario{
		Name: "router-reject",
		Doc: "The client sends a 300-byte request carrying the string REJECTME; the router drops it and answers the client with a reset in the server's name " +
			"(iptables FORWARD -m string --string REJECTME -j REJECT --reject-with tcp-reset). The client's connect succeeded and its read fails with ECONNRESET; " +
			"the server never receives the request, never sends a reset, and stays ESTABLISHED. compare must report the request lost between the points and the reset " +
			"injected in the path (seen at the client only, with the router's TTL), and nothing else but the delay.",
		Router: &Router{
			Rules: [][]string{{"iptables", "-A", "FORWARD", "-p", "tcp", "-d", "{server}", "--dport", "8000",
				"-m", "string", "--string", "REJECTME", "--algo", "bm", "-j", "REJECT", "--reject-with", "tcp-reset"}},
			Counters: forwardCounters,
		},
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			// Long enough in ESTABLISHED for the poller to see it.
			if err := s.Sleep(20 * time.Millisecond); err != nil {
				return err
			}
			req := Payload(300)
			copy(req[100:], "REJECTME")
			if _, err := c.Write(req); err != nil {
				return err
			}
			_, err = c.Read(make([]byte, 100))
			if !errors.Is(err, syscall.ECONNRESET) {
				return errors.New("the client's read did not fail with ECONNRESET: " + errString(err))
			}
			return nil
		},
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				// The request never comes; the socket stays open (it is
				// closed after the capture), so no FIN follows.
				c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				n, _ := c.Read(make([]byte, 100))
				if n > 0 {
					return errors.New("the server received the request the router should have rejected")
				}
				return nil
			})
		},
		Expect: Expect{
			Client:    []string{"ESTABLISHED"},
			ClientEnd: Gone, ServerEnd: "ESTABLISHED",
		},
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// RouterSNAT is a router that hides the client behind its own address.
func RouterSNAT() Scenario {
	return routed("router-snat",
		"The router rewrites the client's address and port to its own on the server's subnet "+
			"(iptables -t nat POSTROUTING -o SIF -j MASQUERADE --to-ports 61000-61099): the server sees 10.77.2.254:61000. "+
			"compare must pair the two views as one connection and report the source NAT (10.77.1.1:40001 became 10.77.2.254:61000), and nothing else but the delay.",
		[][]string{{"iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "{sif}", "-p", "tcp", "-j", "MASQUERADE", "--to-ports", "61000-61099"}},
		[][]string{{"iptables", "-t", "nat", "-v", "-x", "-n", "-L", "POSTROUTING"}})
}

// RouterDNAT is a router that forwards a port of its own to the server.
func RouterDNAT() Scenario {
	sc := routed("router-dnat",
		"The client connects to the router's own address, 10.77.1.254:8000, which the router forwards to the server "+
			"(iptables -t nat PREROUTING -d 10.77.1.254 --dport 8000 -j DNAT --to-destination 10.77.2.2:8000). "+
			"compare must pair the two views as one connection and report the destination NAT (the server 10.77.2.2:8000 addressed as 10.77.1.254:8000), and nothing else but the delay.",
		[][]string{{"iptables", "-t", "nat", "-A", "PREROUTING", "-i", "{cif}", "-p", "tcp", "-d", "{rc}", "--dport", "8000",
			"-j", "DNAT", "--to-destination", "{server}:8000"}},
		[][]string{{"iptables", "-t", "nat", "-v", "-x", "-n", "-L", "PREROUTING"}})
	sc.Client = routedClient(Payload(routedRequest), netip.AddrPortFrom(RouterClientIPv4, ServicePort))
	return sc
}

// RouterMSS is a router that clamps the MSS.
func RouterMSS() Scenario {
	return routed("router-mss",
		"The router rewrites the MSS option of every SYN and SYN-ACK it forwards to 1200 "+
			"(iptables -t mangle FORWARD --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1200): each end offered 1460 and the other reads 1200, so data segments carry at most 1188 bytes with timestamps. "+
			"compare must report the MSS rewritten from 1460 to 1200 in both directions, on the SYN and the SYN-ACK, and nothing else but the delay.",
		[][]string{{"iptables", "-t", "mangle", "-A", "FORWARD", "-p", "tcp", "--tcp-flags", "SYN,RST", "SYN", "-j", "TCPMSS", "--set-mss", "1200"}},
		[][]string{{"iptables", "-t", "mangle", "-v", "-x", "-n", "-L", "FORWARD"}})
}

// RouterOptStrip is a router that strips options.
func RouterOptStrip() Scenario {
	return routed("router-optstrip",
		"The router overwrites the window scale, SACK-permitted and timestamp options of every segment it forwards with NOPs "+
			"(iptables -t mangle FORWARD -j TCPOPTSTRIP --strip-options wscale,sack-permitted,timestamp): the client offers all three in its SYN; the server never sees them, "+
			"so it offers none in its SYN-ACK and the connection runs without window scaling, SACK or timestamps: no later segment carries one to strip. "+
			"compare must report the three options stripped (overwritten with NOPs) from the client's SYN, and nothing else but the delay.",
		[][]string{{"iptables", "-t", "mangle", "-A", "FORWARD", "-p", "tcp", "-j", "TCPOPTSTRIP", "--strip-options", "wscale,sack-permitted,timestamp"}},
		[][]string{{"iptables", "-t", "mangle", "-v", "-x", "-n", "-L", "FORWARD"}})
}

// RouterECN is a router that clears the ECN field.
func RouterECN() Scenario {
	sc := routed("router-ecn",
		"Both ends negotiate ECN (net.ipv4.tcp_ecn=1), so their data segments leave ECT(0); the router clears the IP ECN field of every segment it forwards "+
			"(iptables -t mangle FORWARD -j TOS --and-tos 0xfc). compare must report ECN bleached (ECT(0) to not-ECT) on each end's data segments, and nothing else but the delay.",
		[][]string{{"iptables", "-t", "mangle", "-A", "FORWARD", "-p", "tcp", "-j", "TOS", "--and-tos", "0xfc"}},
		[][]string{{"iptables", "-t", "mangle", "-v", "-x", "-n", "-L", "FORWARD"}})
	sc.Sysctls = map[string]string{"net.ipv4.tcp_ecn": "1"}
	return sc
}

// queueRequest is what the queueing scenario's client sends: enough to
// fill the router's queue at its rate for a while.
const queueRequest = 150000

// RouterQueue is a router whose outgoing queue delays the client's data.
func RouterQueue() Scenario {
	sc := routed("router-queue",
		"The router sends toward the server through a token bucket of 8 Mbit/s with room for 400 ms of queue (tc qdisc tbf rate 8mbit burst 4kb latency 400ms): "+
			"the client's 150000 bytes arrive faster than that and wait in the queue, tens of milliseconds by the end, while the server's segments pass at once. "+
			"compare must report the delay from the client's side to the server's growing well above its least (queueing), the other direction's staying at it, "+
			"and nothing else, the queue being long enough to drop nothing (tc -s says).",
		[][]string{{"tc", "qdisc", "add", "dev", "{sif}", "root", "tbf", "rate", "8mbit", "burst", "4kb", "latency", "400ms"}},
		[][]string{{"tc", "-s", "qdisc", "show", "dev", "{sif}"}})
	sc.Client = routedClient(Payload(queueRequest), netip.AddrPort{})
	sc.Server = routedServer(queueRequest)
	return sc
}
