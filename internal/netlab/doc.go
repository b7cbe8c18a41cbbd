// Package netlab builds TCP situations with the real Linux stack, captures
// them, and records the kernel's own view of each endpoint's state over
// time: the truth that tcplens's inferred states are checked against
// (DESIGN §8, issue 3 part 5) and that the diagnosis tests reuse.
//
// # Topology
//
// Every [Run] creates three network namespaces, named "tlk" plus a random
// suffix so that concurrent users of ip netns never collide (and the
// creating PID, so that a later run deletes those of a killed test
// binary, whose cleanups never ran):
//
//	client ns            path ns                      server ns
//	tlkXc0 ──veth── tlkXpc  ⇄ relay ⇄  tlkXps ──veth── tlkXs0
//	10.77.0.1                 │                        10.77.0.2
//	fd00:77::1       tlkXma ──veth── tlkXmb            fd00:77::2
//	                 (mirror)        (monitor)
//
// The path namespace has no addresses. A relay in the test process reads
// every frame (ARP and NDP included) from each path-side veth with an
// AF_PACKET socket and writes it to the other after the scenario's one-way
// delay, unless a [Drop] rule matches it as it comes in (one with Hold
// keeps it back longer instead, so that the frames behind it overtake it:
// reordering, recorded like a drop); half-way along
// the delay it writes a copy to the mirror veth, as a router's port
// mirror would. netem is not needed: the relay
// gives a real path delay (a few ms keeps short states such as LAST_ACK
// and FIN_WAIT1 observable) and deterministic losses ("the client's final
// handshake ACK", "the server's 3rd data segment", "every SYN"). Every
// drop is recorded, so a test knows exactly which frames the network lost.
// TSO, GSO, GRO and checksum offload are off on all veths, so the capture
// shows wire-sized segments with valid checksums.
//
// A scenario with a [Router] replaces the relay by an IP router between
// two subnets, whose iptables and tc rules are what the path does (what
// netfilter does cannot be done below it, where the relay copies frames);
// [RouterCatalogue] lists those scenarios, for tcplens compare.
//
// # Capture and kernel truth
//
// Every run is captured at three points at once ([CapturePoint]), one
// tcpdump and one file each: the client's veth, the router's monitor
// veth (every frame the path forwards, half a delay from each end, after
// its drops) and the server's veth. The scenario's [Scenario.Vantage]
// names the main one ([Result.Capture]); [Result.Captures] holds all.
// tcpdump stamps frames with CLOCK_REALTIME.
//
// The kernel's states of the run's sockets come from two witnesses. The
// sock:inet_sock_set_state tracepoint, recorded in a tracefs instance of
// the run's own, gives every state change of a full socket at the moment
// the kernel makes it, however busy the machine: nothing polls, so no
// state is too short to see. It names no network namespace, and every run
// has the same addresses, so each run takes a block of 16 client ports
// of its own (reserved by binding them in the test process's namespace,
// which all test processes of the machine share; [Side.ClientPort]), and
// the instance's filter selects the connections between those ports and
// the service port. The tracepoint does not report mini-sockets: a
// request socket (SYN_RECV from the SYN until the handshake's ACK makes
// the full socket) and a TIME_WAIT socket (which replaces the full socket,
// whose event then says CLOSE). One poller per endpoint reads that
// namespace's /proc/net/tcp and tcp6 about every millisecond on a
// real-time thread for them, and for the listening socket, which the
// record keeps apart. mergeStates joins the two: each state of an
// [Observation] says which witness saw it, and when the poller is the
// witness the change happened between two polls, an interval a loaded
// machine widens but a state that lasts (a TIME_WAIT socket lasts 60 s)
// is not missed. State names are the kernel's (SYN_SENT, SYN_RECV,
// ESTABLISHED, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE_WAIT, LAST_ACK,
// LISTEN, CLOSING), or CLOSED when the socket is gone.
//
// # Using it
//
// Scenarios are values ([Catalogue] lists them; each is documented with
// what the kernel does and what tcplens should infer). [Run] needs root,
// ip(8), tcpdump(8) and ethtool(8); without them it skips the test with the
// reason, unless NETLAB_REQUIRE=1 is set (CI), which turns a skip into a
// failure. Recorded runs live in testdata/kernel as a capture plus a JSON
// [Record], so tests without root can check inference against them
// ([LoadRecord]).
package netlab
