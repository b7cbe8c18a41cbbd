package netlab

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/tcplens/tcplens/internal/wire"
)

// The scenarios below make the situations the diagnosis rules of issue 4
// need and the first catalogue did not record: urgent data, an RST from
// an end that no longer has the connection, a path MTU black hole, an
// idle connection reset, Nagle meeting delayed ACKs, a transfer capped by
// the unscaled window, and 4-tuples reused within TIME_WAIT. The
// Catalogue has them, but for the two ExtraScenarios.

// UrgentData sends one byte of urgent data after a request.
func UrgentData() Scenario {
	return Scenario{
		Name: "urgent-data",
		Doc: "Urgent data. The client sends a 100-byte request, then one byte with MSG_OOB: Linux sets URG and the urgent pointer on " +
			"the segment that carries it. The server has SO_OOBINLINE on, reads the 101 bytes in the stream, replies 200 and closes at EOF; " +
			"the client reads the reply and closes. Kernel: the usual states, client first. " +
			"tcplens should report urgent-data with the URG segment as evidence.",
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				if err := OOBInline(c); err != nil {
					return err
				}
				if err := respond(c, requestLen+1, replyLen); err != nil {
					return err
				}
				if err := drain(c); err != nil {
					return err
				}
				return c.Close()
			})
		},
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if _, err := c.Write(Payload(requestLen)); err != nil {
				return err
			}
			if err := SendUrgent(c, []byte("!")); err != nil {
				return err
			}
			if _, err := io.ReadFull(c, make([]byte, replyLen)); err != nil {
				return err
			}
			return c.Close()
		},
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				if first(segs, ClientToServer, func(s Captured) bool { return s.Seg.Flags.Has(wire.URG) }) == nil {
					return errors.New("no segment from the client with URG")
				}
				return nil
			},
		},
	}
}

// RSTNoSocket has the server abort, its RST lost, so that the client's
// next segment meets no socket.
func RSTNoSocket() Scenario {
	return Scenario{
		Name:    "rst-no-socket",
		Vantage: Server,
		Doc: "An RST from an end with no socket. The server answers the request and 20 ms later aborts (SO_LINGER 0): its RST,ACK " +
			"leaves (the capture at the server sees it) and the path drops it, so the client still believes the connection open. " +
			"100 ms after the reply the client sends another 100 bytes; the server's kernel has no socket for the 4-tuple and answers " +
			"with a bare RST (no ACK bit, seq = the segment's ack), and the client's read fails with ECONNRESET. " +
			"Kernel: server SYN_RECV, ESTABLISHED, gone at its abort; client SYN_SENT, ESTABLISHED, gone at the second RST. " +
			"tcplens should report rst-no-socket for the second RST, more than a round trip after the server had closed.",
		Drops:  []Drop{{What: "the server's RST", Dir: ServerToClient, Match: func(p *Packet) bool { return p.Seg.Flags.Has(wire.RST) }, Nth: []int{1}}},
		Server: serveThenAbort(20 * time.Millisecond),
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := exchange(c, requestLen, replyLen); err != nil {
				return err
			}
			s.Sleep(100 * time.Millisecond)
			if _, err := c.Write(Payload(requestLen)); err != nil {
				return err
			}
			return expectReset(c)
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", Gone},
			Server:    []string{"SYN_RECV", "ESTABLISHED", Gone},
			ClientEnd: Gone, ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				// On a loaded machine the bare RST can come after the
				// client resent its data, and answer both.
				rsts := all(segs, ServerToClient, rst)
				if len(rsts) < 2 || !rsts[0].Seg.Flags.Has(wire.ACK) || slices.ContainsFunc(rsts[1:], func(c Captured) bool { return c.Seg.Flags.Has(wire.ACK) }) {
					return fmt.Errorf("want the server's RST,ACK then a bare RST; got %s", summary(segs))
				}
				return nil
			},
		},
	}
}

// PMTUBlackhole drops every large segment from the client, as a link with
// a small MTU does when the ICMP that should say so is filtered.
func PMTUBlackhole() Scenario {
	const big = 5000
	return Scenario{
		Name:    "pmtu-blackhole",
		Sysctls: map[string]string{"net.ipv4.tcp_mtu_probing": "0"},
		Doc: "A path MTU black hole. The path drops every client segment with more than 1000 bytes of payload and sends no ICMP, " +
			"as a link with a small MTU behind a filter does (tcp_mtu_probing=0, Linux's default, so the client never shrinks its segments). " +
			"The 100-byte request and the 100-byte reply pass; then the client writes 5000 bytes: the three 1448-byte segments are lost " +
			"again and again on the retransmission timer (200 ms, doubling) while the last, 656 bytes, gets through and is SACKed. " +
			"After 3 s the client aborts (SO_LINGER 0). Kernel: both ESTABLISHED until the client's RST. " +
			"tcplens should report pmtu-blackhole: large segments retransmitted, never acknowledged, small ones delivered.",
		Drops: []Drop{{What: "every client segment over 1000 bytes of payload", Dir: ClientToServer, Match: func(p *Packet) bool { return p.Seg.PayloadLen > 1000 }}},
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				if err := respond(c, requestLen, requestLen); err != nil {
					return err
				}
				_, err := io.ReadFull(c, make([]byte, big))
				if !errors.Is(err, syscall.ECONNRESET) {
					return fmt.Errorf("read: %v; want ECONNRESET", err)
				}
				return c.Close()
			})
		},
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := exchange(c, requestLen, requestLen); err != nil {
				return err
			}
			if _, err := c.Write(Payload(big)); err != nil {
				return err
			}
			s.Sleep(3 * time.Second)
			c.SetLinger(0)
			return c.Close()
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", Gone},
			Server:    []string{"SYN_RECV", "ESTABLISHED", Gone},
			ClientEnd: Gone, ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				sent := map[uint32]int{}
				for _, s := range all(segs, ClientToServer, func(s Captured) bool { return s.Seg.PayloadLen > 1000 }) {
					sent[uint32(s.Seg.Seq)]++
				}
				for _, n := range sent {
					if n >= 3 {
						return nil
					}
				}
				return fmt.Errorf("no large segment sent 3 times or more: %v", sent)
			},
		},
	}
}

// IdleReset has the server abort a connection after 2 s of silence.
func IdleReset() Scenario {
	return Scenario{
		Name: "rst-idle-timeout",
		Doc: "An idle timeout. After the request and the reply the connection stays silent; 2 s later the server aborts it with an RST " +
			"(SO_LINGER 0), as a server's idle timeout or a load balancer evicting an idle connection does. The client, blocked in read, " +
			"gets ECONNRESET. Kernel: both ESTABLISHED through the silence, then gone. " +
			"tcplens should report rst-idle-timeout: an RST after a silence of 200 round trips, from the server's own stack (its TTL).",
		Server: serveThenAbort(2 * time.Second),
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := exchange(c, requestLen, replyLen); err != nil {
				return err
			}
			return expectReset(c)
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", Gone},
			Server:    []string{"SYN_RECV", "ESTABLISHED", Gone},
			ClientEnd: Gone, ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				x := first(segs, ServerToClient, rst)
				if x == nil || x.N < 2 {
					return errors.New("no RST from the server")
				}
				if gap := x.Time.Sub(segs[x.N-2].Time); gap < 1900*time.Millisecond {
					return fmt.Errorf("the RST came %v after the previous segment; want about 2 s", gap)
				}
				return nil
			},
		},
	}
}

// NagleDelayedAck sends each request in two small writes with Nagle on.
func NagleDelayedAck() Scenario {
	const rounds, half = 20, requestLen / 2
	return Scenario{
		Name: "nagle-delayed-ack",
		Doc: "Nagle meets delayed ACK. The client turns Nagle back on (Go sets TCP_NODELAY) and makes 20 requests, each in two writes " +
			"of 50 bytes, reading a 100-byte reply after each: Nagle holds the second half while the first is unacknowledged, and the " +
			"server, waiting for the whole request before it replies, delays its ACK (once out of Linux's quick-ACK start, up to 40 ms). " +
			"Then the client closes. Kernel: the usual states, client first. " +
			"tcplens should report nagle-delayed-ack: second halves that leave only when the delayed ACK of the first arrives.",
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				for range rounds {
					if err := respond(c, requestLen, requestLen); err != nil {
						return err
					}
				}
				if err := drain(c); err != nil {
					return err
				}
				return c.Close()
			})
		},
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := c.SetNoDelay(false); err != nil {
				return err
			}
			for range rounds {
				for range 2 {
					if _, err := c.Write(Payload(half)); err != nil {
						return err
					}
				}
				if _, err := io.ReadFull(c, make([]byte, requestLen)); err != nil {
					return err
				}
			}
			return c.Close()
		},
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				// A second half sent 20 ms or more after the first: held.
				held := 0
				var prev *Captured
				for i := range segs {
					s := &segs[i]
					if s.Dir != ClientToServer || s.Seg.PayloadLen != half {
						continue
					}
					if prev != nil && uint32(prev.Seg.Seq)+half == uint32(s.Seg.Seq) && s.Time.Sub(prev.Time) >= 20*time.Millisecond {
						held++
					}
					prev = s
				}
				if held < 2 {
					return fmt.Errorf("%d second halves held 20 ms or more; want some", held)
				}
				return nil
			},
		},
	}
}

// NoWindowScaling downloads with window scaling off on both ends.
func NoWindowScaling() Scenario {
	const body = 384 << 10
	return Scenario{
		Name:    "no-window-scaling",
		Delay:   150 * time.Millisecond,
		Settle:  800 * time.Millisecond, // the last ACK takes a one-way trip, and the server's LAST_ACK a round trip
		Sysctls: map[string]string{"net.ipv4.tcp_window_scaling": "0"},
		Doc: "No window scaling. net.ipv4.tcp_window_scaling=0 in both namespaces, 150 ms each way (RTT 300 ms, a long path; the lab's " +
			"relay forwards a few hundred frames a second, so a shorter path would cap the transfer before the window does): the client " +
			"sends a 100-byte request and reads 384 KiB. Without the option no window exceeds 65,535 bytes, so the server can have at " +
			"most 64 KiB in flight per 300 ms round trip, about 1.7 Mbit/s however fast the path. Kernel: the usual states, client first. " +
			"tcplens should report no-window-scaling as a limit (the in-flight data reaching the 64 KiB window) and rwnd-limited.",
		Server: serveAndCloseAtEOF(requestLen, body),
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := exchange(c, requestLen, body); err != nil {
				return err
			}
			return c.Close()
		},
		Timeout: 30 * time.Second,
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				for _, s := range segs {
					if isSYN(s) || isSYNACK(s) {
						if s.Seg.Options.Has(wire.HasWindowScale) {
							return fmt.Errorf("frame %d carries a window-scale option", s.N)
						}
					}
				}
				return nil
			},
		},
	}
}

// TimeWaitReuse makes short connections from a client with two ports.
func TimeWaitReuse() Scenario {
	const conns = 4
	return Scenario{
		Name:           "time-wait-reuse",
		EphemeralPorts: 2,
		Sysctls: map[string]string{
			"net.ipv4.tcp_tw_reuse":        "1",
			"?net.ipv4.tcp_tw_reuse_delay": "10",
		},
		Doc: "TIME_WAIT pressure. The client has two ephemeral ports (an ip_local_port_range of two) and tcp_tw_reuse=1, and makes " +
			"4 short connections one after another (request, reply, the client closes first), letting connect() pick the port: each " +
			"connection leaves the client's 4-tuple in TIME_WAIT for 60 s, so the third and fourth reuse a 4-tuple still in TIME_WAIT " +
			"(Linux allows it for outgoing connections with timestamps once the TIME_WAIT socket is older than tcp_tw_reuse_delay; " +
			"where that knob is missing, 1 s, and the client retries EADDRNOTAVAIL until then). Without tw_reuse the third connect() " +
			"would fail with EADDRNOTAVAIL: ephemeral-port exhaustion. The focus is the first connection. " +
			"tcplens should report time-wait-pressure: 4-tuples reused within TIME_WAIT.",
		Server: func(s *Side) error {
			ln, err := s.Listen()
			if err != nil {
				return err
			}
			for range conns {
				c, err := s.Accept(ln)
				if err != nil {
					return err
				}
				if err := respond(c, requestLen, replyLen); err != nil {
					return err
				}
				if err := drain(c); err != nil {
					return err
				}
				c.Close()
			}
			return nil
		},
		Client: func(s *Side) error {
			remote := netip.AddrPortFrom(s.Peer, s.Port)
			for i := range conns {
				c, err := dialRetry(s, remote, 2*time.Second)
				if err != nil {
					return fmt.Errorf("connection %d: %w", i+1, err)
				}
				if err := exchange(c, requestLen, replyLen); err != nil {
					return err
				}
				if err := c.Close(); err != nil {
					return err
				}
				s.Sleep(50 * time.Millisecond)
			}
			return nil
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "TIME_WAIT"},
			Server:    []string{"SYN_RECV", "ESTABLISHED"},
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				ports := map[uint16]int{}
				for _, s := range all(segs, ClientToServer, isSYN) {
					ports[s.Seg.Src.Port()]++
				}
				for _, n := range ports {
					if n >= 2 {
						return nil
					}
				}
				return fmt.Errorf("no client port used twice: %v", ports)
			},
		},
	}
}

// serveThenAbort is a server that answers the request, waits d and
// aborts the connection (SO_LINGER 0: RST instead of FIN).
func serveThenAbort(d time.Duration) func(s *Side) error {
	return func(s *Side) error {
		return accept(s, func(c *net.TCPConn) error {
			acked := watchReplyACK(s)
			if err := respond(c, requestLen, replyLen); err != nil {
				return err
			}
			if err := acked(); err != nil {
				return err
			}
			s.Sleep(d)
			c.SetLinger(0)
			return c.Close()
		})
	}
}

// watchReplyACK starts watching for the client's ACK of the reply on the
// path, and returns the wait: a server that aborts after the reply must
// let it pass first, for one that a loaded machine delays past the abort
// draws an RST from the socketless server, which the path lets through,
// and resets the client before its next write.
func watchReplyACK(s *Side) func() error {
	return s.WatchPath("the client's ACK of the reply", ClientToServer, func(p *Packet) bool {
		return p.Seg.Flags == wire.ACK && p.Seg.PayloadLen == 0
	})
}

// expectReset reads until the peer's RST, which must come, and closes.
func expectReset(c *net.TCPConn) error {
	_, err := c.Read(make([]byte, 10))
	if !errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("read: %v; want ECONNRESET", err)
	}
	return c.Close()
}

// dialRetry connects to remote from a port the kernel picks (so that
// connect() may reuse a TIME_WAIT 4-tuple, which a bind() to a chosen
// port may not), retrying EADDRNOTAVAIL until patience runs out.
func dialRetry(s *Side, remote netip.AddrPort, patience time.Duration) (*net.TCPConn, error) {
	deadline := time.Now().Add(patience)
	for {
		d := net.Dialer{KeepAlive: -1}
		c, err := d.DialContext(s.sh.ctx, "tcp", remote.String())
		if err == nil {
			tc := c.(*net.TCPConn)
			s.sh.track(tc)
			return tc, nil
		}
		if !errors.Is(err, syscall.EADDRNOTAVAIL) || time.Now().After(deadline) {
			return nil, err
		}
		if err := s.Sleep(50 * time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// ExtraScenarios are recorded apart, in testdata/kernel/extra: they are
// made for the diagnosis rules rather than the states (time-wait-reuse
// puts several connections on the focus 4-tuple, whose states the
// kernel-truth check follows across them; in rst-no-socket the capture at
// the server sees an RST the path then drops, which the inference
// corrects when the client sends again; the last three are in
// scenarios_marks.go).
func ExtraScenarios() []Scenario {
	return []Scenario{RSTNoSocket(), TimeWaitReuse(), ECNCongestion(), SYNCookies(), RSTAfterRestart(),
		Reordered(), ReorderedLoss(), ReorderedFastRetransmit()}
}

// Reordering. Each rule holds one segment back on the path so that the
// segments sent after it overtake it; what reaches the router and the
// receiver is out of order, what the sender's capture shows is not.

// reorderedWhere says where a held segment shows out of order.
const reorderedWhere = "The path holds the segment back 1 ms beyond its 5 ms delay, its copy to the router's mirror " +
	"port too, so the router's and the receiver's captures see it after the segments sent behind it " +
	"and the sender's does not. "

// Reordered reorders without loss: no capture point may claim a loss.
func Reordered() Scenario {
	const n = 30000
	return Scenario{
		Name: "reordered",
		Doc: "Reordering, no loss. The client sends 30000 bytes in one write; the first flight is ten segments (the initial " +
			"window), and the path holds the ninth (the one holding byte 12000) back, so the tenth overtakes it. " +
			reorderedWhere + "The server's duplicate ACK with a SACK block for the tenth is one, not three, and RACK's " +
			"reordering window (a quarter of the round trip) outlasts the hold: the client sends nothing again. " +
			"Kernel: both ESTABLISHED throughout; then the usual close, client first. " +
			"tcplens should call the ninth out of order where it comes late (its IP ID is behind the tenth's) and claim " +
			"no loss and no retransmission at any capture point.",
		Drops: []Drop{{What: "the client's segment holding byte 12000, held back", Dir: ClientToServer, Match: HoldsByte(12000),
			Nth: []int{1}, Hold: time.Millisecond}},
		Server: serveAndCloseAtEOF(n, replyLen),
		Client: func(s *Side) error { return dataTransfer(s, n) },
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				if tx := retransmitted(segs, r, 12000); len(tx) != 1 {
					return fmt.Errorf("the held segment went out %d times; want once", len(tx))
				}
				for i, s := range segs {
					if s.Dir == ClientToServer && s.Seg.PayloadLen > 0 && slices.ContainsFunc(segs[:i], func(o Captured) bool {
						return o.Dir == ClientToServer && o.Seg.PayloadLen > 0 && o.Seg.Seq == s.Seg.Seq
					}) {
						return fmt.Errorf("frame %d: the client sent seq %d again", s.N, uint32(s.Seg.Seq))
					}
				}
				return nil
			},
		},
	}
}

// ReorderedLoss loses one of the client's segments and reorders the
// server's answer: the loss claimed each way must be the path's drops.
func ReorderedLoss() Scenario {
	const n = 30000
	return Scenario{
		Name: "reordered-loss",
		Doc: "Loss one way, reordering the other. The client sends 30000 bytes in one write and the path drops the segment " +
			"holding byte 6000 once: the client resends it on the server's duplicate ACKs. The server then answers with " +
			"30000 bytes, and the path holds the ninth segment of its first flight (the one holding byte 12000) back, so " +
			"the tenth overtakes it. " + reorderedWhere +
			"Kernel: both ESTABLISHED throughout; then the usual close, client first. " +
			"tcplens should claim one segment of the client's lost at every capture point (after the client's capture " +
			"point, before the router's and the server's) and none of the server's, whose ninth segment comes late with " +
			"its IP ID behind the tenth's.",
		Drops: []Drop{
			{What: "the client's segment holding byte 6000", Dir: ClientToServer, Match: HoldsByte(6000), Nth: []int{1}},
			{What: "the server's segment holding byte 12000, held back", Dir: ServerToClient, Match: HoldsByte(12000),
				Nth: []int{1}, Hold: time.Millisecond},
		},
		Server: serveAndCloseAtEOF(n, n),
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := exchange(c, n, n); err != nil {
				return err
			}
			return c.Close()
		},
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				if tx := retransmitted(segs, r, 6000); len(tx) != 2 {
					return fmt.Errorf("the client's dropped segment went out %d times; want 2", len(tx))
				}
				return nil
			},
		},
	}
}

// ReorderedFastRetransmit reorders enough that the sender takes it for a
// loss: a fast retransmission that a D-SACK shows was not needed.
func ReorderedFastRetransmit() Scenario {
	const n = 30000
	return Scenario{
		Name: "reordered-fast-retransmit",
		Doc: "Reordering that looks like loss. The client sends 30000 bytes in one write; the path holds the second " +
			"segment of the first flight (the one holding byte 2000) back 2 ms, so the eight behind it overtake it. The " +
			"server's duplicate ACKs carry SACK blocks for three of them and more before the held one arrives, and " +
			"Linux, which has seen no reordering on the connection yet, takes that for a loss (RACK with no reordering " +
			"window, three duplicates): it resends the segment at once, one round trip after the first flight. The " +
			"original had arrived by then; the server reports the resend received twice with a D-SACK. " +
			"The path holds the original back, its copy to the router's mirror port too: the router and the server see " +
			"it after the segments behind it. " +
			"Kernel: both ESTABLISHED throughout; then the usual close, client first. " +
			"tcplens should call the held original out of order where it comes late, and the resend a spurious " +
			"retransmission at every capture point: no loss, no fast retransmission repairing one.",
		Drops: []Drop{{What: "the client's segment holding byte 2000, held back", Dir: ClientToServer, Match: HoldsByte(2000),
			Nth: []int{1}, Hold: 2 * time.Millisecond}},
		Server: serveAndCloseAtEOF(n, replyLen),
		Client: func(s *Side) error { return dataTransfer(s, n) },
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				if tx := retransmitted(segs, r, 2000); len(tx) != 2 {
					return fmt.Errorf("the held segment went out %d times; want 2 (the original and a spurious resend)", len(tx))
				}
				for _, s := range segs {
					o := &s.Seg.Options
					if s.Dir == ServerToClient && o.NumSACK > 0 && o.SACK[0].End.LessEq(s.Seg.Ack) {
						return nil
					}
				}
				return fmt.Errorf("no D-SACK from the server")
			},
		},
	}
}
