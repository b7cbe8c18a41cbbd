package netlab

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/tcplens/tcplens/internal/wire"
)

// Catalogue returns every scenario, in the order the harness runs them.
func Catalogue() []Scenario {
	return []Scenario{
		ClientClose(),
		ClientCloseIPv6(),
		ServerClose(),
		HalfClose(),
		Refused(),
		AcceptThenClose(),
		RstUnreadData(),
		AbortiveClose(),
		RstAfterHandshake(),
		LostHandshakeACK(),
		SynTimeout(),
		SynAckClientGaveUp(),
		RTORetransmission(),
		TailLossProbe(),
		FastRetransmission(),
		ZeroWindow(),
		CloseWaitLeak(),
		SimultaneousClose(),
		SimultaneousOpen(),
		Keepalive(),
		FastOpenScenario(),
		MidStream(),
		UrgentData(),
		PMTUBlackhole(),
		IdleReset(),
		NagleDelayedAck(),
		NoWindowScaling(),
	}
}

// Lookup returns the catalogue's scenario called name.
func Lookup(name string) (Scenario, bool) {
	for _, sc := range Catalogue() {
		if sc.Name == name {
			return sc, true
		}
	}
	return Scenario{}, false
}

// Sizes of the request and reply most scenarios exchange.
const (
	requestLen = 100
	replyLen   = 200
)

// exchange writes send bytes and reads recv bytes: a client's request and
// the reply.
func exchange(c *net.TCPConn, send, recv int) error {
	if _, err := c.Write(Payload(send)); err != nil {
		return err
	}
	_, err := io.ReadFull(c, make([]byte, recv))
	return err
}

// respond reads recv bytes and writes send bytes: a server's answer.
func respond(c *net.TCPConn, recv, send int) error {
	if _, err := io.ReadFull(c, make([]byte, recv)); err != nil {
		return err
	}
	_, err := c.Write(Payload(send))
	return err
}

// drain reads until the peer's FIN.
func drain(c *net.TCPConn) error {
	_, err := io.Copy(io.Discard, c)
	return err
}

// accept listens, accepts one connection and hands it to f.
func accept(s *Side, f func(c *net.TCPConn) error, opts ...Opt) error {
	ln, err := s.Listen(opts...)
	if err != nil {
		return err
	}
	c, err := s.Accept(ln)
	if err != nil {
		return err
	}
	return f(c)
}

// serveAndCloseAtEOF is the server of most data scenarios: it answers the
// request, reads to the client's FIN and closes at once.
func serveAndCloseAtEOF(recv, send int) func(s *Side) error {
	return func(s *Side) error {
		return accept(s, func(c *net.TCPConn) error {
			if err := respond(c, recv, send); err != nil {
				return err
			}
			if err := drain(c); err != nil {
				return err
			}
			return c.Close()
		})
	}
}

// The kernel's closing states when the client closes first and the server
// closes as soon as it reads the FIN: CLOSE_WAIT then lasts microseconds
// and FIN_WAIT2 may be skipped (the server's FIN can carry the ACK of the
// client's), so neither is expected; FIN_WAIT1 and LAST_ACK last a round
// trip.
var (
	clientClosesFirst = []string{"SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "TIME_WAIT"}
	serverClosesAtEOF = []string{"SYN_RECV", "ESTABLISHED", "LAST_ACK", Gone}
)

// ClientClose is a normal close with the client closing first.
func ClientClose() Scenario {
	return Scenario{
		Name: "client-close",
		Doc: "Normal close, client first. The client sends a 100-byte request, reads the 200-byte reply and closes; " +
			"the server reads to the client's FIN, waits 300 ms and closes. " +
			"Kernel: client SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, TIME_WAIT; " +
			"server SYN_RECV, ESTABLISHED, CLOSE_WAIT, LAST_ACK, then gone (CLOSED). " +
			"With 5 ms each way SYN_SENT, SYN_RECV, FIN_WAIT1 and LAST_ACK last about a round trip (10 ms, some ten polls); " +
			"the server's ACK of the FIN goes out before its own FIN, so FIN_WAIT2 and CLOSE_WAIT last 300 ms. " +
			"tcplens should infer the same sequences, closed_by client, close fin, the client ending in TIME_WAIT.",
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				if err := respond(c, requestLen, replyLen); err != nil {
					return err
				}
				if err := drain(c); err != nil {
					return err
				}
				s.Sleep(300 * time.Millisecond)
				return c.Close()
			})
		},
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := exchange(c, requestLen, replyLen); err != nil {
				return err
			}
			return c.Close()
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"},
			Server:    []string{"SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", Gone},
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				cf, sf := first(segs, ClientToServer, fin), first(segs, ServerToClient, fin)
				if cf == nil || sf == nil {
					return errors.New("want a FIN from each side")
				}
				if cf.N > sf.N {
					return fmt.Errorf("server's FIN (frame %d) before the client's (frame %d)", sf.N, cf.N)
				}
				return nil
			},
		},
	}
}

// ClientCloseIPv6 is ClientClose over IPv6.
func ClientCloseIPv6() Scenario {
	sc := ClientClose()
	sc.Name = "client-close-ipv6"
	sc.IPv6 = true
	sc.Doc = "ClientClose over IPv6 (fd00:77::1 to fd00:77::2): the same states, read from /proc/net/tcp6. " + sc.Doc
	return sc
}

// ServerClose is a normal close with the server closing first.
func ServerClose() Scenario {
	return Scenario{
		Name: "server-close",
		Doc: "Normal close, server first. The server answers the request and closes 20 ms later " +
			"(the request arrives with the handshake's ACK, so without the pause its ESTABLISHED would last microseconds); " +
			"the client reads the reply and the FIN, waits 300 ms and closes. " +
			"Kernel: client SYN_SENT, ESTABLISHED, CLOSE_WAIT, LAST_ACK, CLOSED; " +
			"server SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, TIME_WAIT. " +
			"tcplens should infer closed_by server, close fin, the server ending in TIME_WAIT.",
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				if err := respond(c, requestLen, replyLen); err != nil {
					return err
				}
				s.Sleep(20 * time.Millisecond)
				return c.Close()
			})
		},
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := exchange(c, requestLen, replyLen); err != nil {
				return err
			}
			if err := drain(c); err != nil {
				return err
			}
			s.Sleep(300 * time.Millisecond)
			return c.Close()
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", Gone},
			Server:    []string{"SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"},
			ClientEnd: Gone, ServerEnd: "TIME_WAIT", CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				cf, sf := first(segs, ClientToServer, fin), first(segs, ServerToClient, fin)
				if cf == nil || sf == nil || sf.N > cf.N {
					return errors.New("want the server's FIN, then the client's")
				}
				return nil
			},
		},
	}
}

// HalfClose is a client that shuts down its sending side and goes on
// reading.
func HalfClose() Scenario {
	const body = 20000
	return Scenario{
		Name: "half-close",
		Doc: "Half-close. The client sends its request, 20 ms later shuts down writing (FIN), then reads the answer to its end; " +
			"the server reads to the FIN, then sends 20000 bytes from CLOSE_WAIT, waits 100 ms and closes. " +
			"Kernel: client SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2 (receiving data), TIME_WAIT; " +
			"server SYN_RECV, ESTABLISHED, CLOSE_WAIT (sending data), LAST_ACK, CLOSED. " +
			"tcplens should accept data from the server after the client's FIN and report a half-close, not an anomaly.",
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				if err := drain(c); err != nil {
					return err
				}
				if _, err := c.Write(Payload(body)); err != nil {
					return err
				}
				s.Sleep(100 * time.Millisecond)
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
			s.Sleep(20 * time.Millisecond)
			if err := c.CloseWrite(); err != nil {
				return err
			}
			n, err := io.Copy(io.Discard, c)
			if err != nil {
				return err
			}
			if n != body {
				return fmt.Errorf("read %d bytes, want %d", n, body)
			}
			return c.Close()
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"},
			Server:    []string{"SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", Gone},
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				cf := first(segs, ClientToServer, fin)
				if cf == nil {
					return errors.New("no FIN from the client")
				}
				for _, s := range segs[cf.N:] {
					if s.Dir == ServerToClient && s.Seg.PayloadLen > 0 {
						return nil
					}
				}
				return errors.New("no server data after the client's FIN")
			},
		},
	}
}

// Refused is a connect to a port nothing listens on.
func Refused() Scenario {
	return Scenario{
		Name: "refused",
		Doc: "Connection refused. Nothing listens on the server's port: the client's SYN is answered by RST,ACK " +
			"and connect fails with ECONNREFUSED. Kernel: client SYN_SENT (one round trip) then gone; the server has no socket. " +
			"tcplens should report the finding refused, the client ending CLOSED and the server never leaving LISTEN/UNKNOWN.",
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err == nil {
				c.Close()
				return errors.New("connect succeeded; want ECONNREFUSED")
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("connect: %v; want ECONNREFUSED", err)
			}
			return nil
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", Gone},
			ClientEnd: Gone, ServerEnd: "", CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				if len(segs) != 2 || !isSYN(segs[0]) || segs[1].Seg.Flags != wire.RST|wire.ACK {
					return fmt.Errorf("want SYN then RST,ACK; got %s", summary(segs))
				}
				return nil
			},
		},
	}
}

// AcceptThenClose is a server that accepts and hangs up at once.
func AcceptThenClose() Scenario {
	return Scenario{
		Name: "accept-then-close",
		Doc: "Accept then close: the server accepts and closes at once, before any data, as an ACL or a connection limit does. " +
			"The client reads EOF, waits 100 ms and closes. " +
			"Kernel: server SYN_RECV, ESTABLISHED (only while the connection waits for accept: microseconds, usually missed), " +
			"FIN_WAIT1, FIN_WAIT2, TIME_WAIT; client SYN_SENT, ESTABLISHED, CLOSE_WAIT, LAST_ACK, CLOSED. " +
			"tcplens should report accept-then-close (the server's FIN with no data), not a crash (which would be an RST).",
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error { return c.Close() })
		},
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			n, err := c.Read(make([]byte, 10))
			if n != 0 || err != io.EOF {
				return fmt.Errorf("read %d bytes, %v; want EOF", n, err)
			}
			s.Sleep(100 * time.Millisecond)
			return c.Close()
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", Gone},
			Server:    []string{"SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"},
			ClientEnd: Gone, ServerEnd: "TIME_WAIT", CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				for _, s := range segs {
					if s.Seg.PayloadLen > 0 {
						return fmt.Errorf("frame %d carries data", s.N)
					}
				}
				if first(segs, ServerToClient, fin) == nil {
					return errors.New("no FIN from the server")
				}
				return nil
			},
		},
	}
}

// RstUnreadData is a server that closes with bytes unread.
func RstUnreadData() Scenario {
	return Scenario{
		Name: "rst-unread-data",
		Doc: "RST on close with unread data. The client sends a 100-byte request; the server accepts, waits until " +
			"the request is in its receive buffer, 20 ms more, and closes without reading it. Linux then sends RST,ACK instead of FIN (RFC 2525 section 2.17) and drops the socket. " +
			"The client's next read fails with ECONNRESET. " +
			"Kernel: server SYN_RECV, ESTABLISHED, gone; client SYN_SENT, ESTABLISHED, gone (at the RST). " +
			"tcplens should report rst-unread-data: the RST's sender had ACKed 100 bytes the application never read.",
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				for {
					n, err := Unread(c)
					if err != nil {
						return err
					}
					if n >= requestLen {
						break
					}
					if err := s.Sleep(time.Millisecond); err != nil {
						return err
					}
				}
				s.Sleep(20 * time.Millisecond)
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
			_, err = c.Read(make([]byte, 10))
			if !errors.Is(err, syscall.ECONNRESET) {
				return fmt.Errorf("read: %v; want ECONNRESET", err)
			}
			return c.Close()
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", Gone},
			Server:    []string{"SYN_RECV", "ESTABLISHED", Gone},
			ClientEnd: Gone, ServerEnd: Gone, CheckEnd: true,
			Capture: resetWithoutFIN(ServerToClient, "server"),
		},
	}
}

// AbortiveClose is a client closing with SO_LINGER 0 after an exchange.
func AbortiveClose() Scenario {
	return Scenario{
		Name: "abortive-close",
		Doc: "SO_LINGER 0. After a complete request and reply the client sets SO_LINGER to 0 and closes: " +
			"Linux sends RST,ACK instead of FIN and the socket is gone at once (no TIME_WAIT). " +
			"The server's read fails with ECONNRESET. " +
			"Kernel: client SYN_SENT, ESTABLISHED, gone; server SYN_RECV, ESTABLISHED, gone. " +
			"tcplens should report abortive-close by the client after the exchange, both ending CLOSED.",
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				if err := respond(c, requestLen, replyLen); err != nil {
					return err
				}
				err := drain(c)
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
			if err := exchange(c, requestLen, replyLen); err != nil {
				return err
			}
			s.Sleep(50 * time.Millisecond)
			c.SetLinger(0)
			return c.Close()
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", Gone},
			Server:    []string{"SYN_RECV", "ESTABLISHED", Gone},
			ClientEnd: Gone, ServerEnd: Gone, CheckEnd: true,
			Capture: resetWithoutFIN(ClientToServer, "client"),
		},
	}
}

// RstAfterHandshake is a client that aborts right after connecting.
func RstAfterHandshake() Scenario {
	return Scenario{
		Name: "rst-after-handshake",
		Doc: "RST after the handshake, before any data: the client connects, waits 20 ms and aborts (SO_LINGER 0). " +
			"The server never accepts; the reset connection leaves its accept queue's socket table. " +
			"Kernel: client SYN_SENT, ESTABLISHED, gone; server SYN_RECV, ESTABLISHED, gone. " +
			"tcplens should report rst-after-handshake, sent by the client.",
		Server: func(s *Side) error {
			if _, err := s.Listen(); err != nil {
				return err
			}
			return s.Wait("client-done")
		},
		Client: func(s *Side) error {
			defer s.Signal("client-done")
			c, err := s.Dial()
			if err != nil {
				return err
			}
			s.Sleep(20 * time.Millisecond)
			c.SetLinger(0)
			return c.Close()
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", Gone},
			Server:    []string{"SYN_RECV", "ESTABLISHED", Gone},
			ClientEnd: Gone, ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				if len(segs) != 4 || segs[3].Dir != ClientToServer || !segs[3].Seg.Flags.Has(wire.RST) {
					return fmt.Errorf("want SYN, SYN-ACK, ACK, RST from the client; got %s", summary(segs))
				}
				return nil
			},
		},
	}
}

// LostHandshakeACK loses the client's final handshake ACK once.
func LostHandshakeACK() Scenario {
	return Scenario{
		Name: "lost-handshake-ack",
		Doc: "A lost handshake ACK. The path drops the client's final ACK of the handshake once. " +
			"The client is ESTABLISHED at once and waits for the server to speak; the server stays in SYN_RECV " +
			"until its SYN-ACK timer (1 s) retransmits the SYN-ACK, which the client ACKs again. " +
			"Then the server sends a 50-byte greeting, the client closes, the server closes at EOF. " +
			"Captured at the client: the first ACK is in the capture (it was lost after the capture point), " +
			"then the same SYN-ACK again about 1 s later and a second ACK. " +
			"Kernel: client SYN_SENT, ESTABLISHED (~1 s before the server); server SYN_RECV (~1 s), ESTABLISHED. " +
			"tcplens should report synack-retrans-lost-ack: the SYN-ACK was retransmitted though the client did ACK it.",
		Drops: []Drop{{What: "the client's final handshake ACK", Dir: ClientToServer, Match: IsPureACK, Nth: []int{1}}},
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				if _, err := c.Write(Payload(50)); err != nil {
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
			if _, err := io.ReadFull(c, make([]byte, 50)); err != nil {
				return err
			}
			return c.Close()
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "TIME_WAIT"},
			Server:    []string{"SYN_RECV", "ESTABLISHED", "LAST_ACK", Gone},
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				sa := all(segs, ServerToClient, isSYNACK)
				if len(sa) != 2 || sa[0].Seg.Seq != sa[1].Seg.Seq {
					return fmt.Errorf("want two SYN-ACKs with the same sequence number; got %s", summary(segs))
				}
				if gap := sa[1].Time.Sub(sa[0].Time); gap < 900*time.Millisecond {
					return fmt.Errorf("SYN-ACK retransmitted after %v; want about 1 s", gap)
				}
				if len(r.Drops) != 1 || !r.Drops[0].Flags.Has(wire.ACK) || r.Drops[0].Len != 0 {
					return fmt.Errorf("path dropped %v; want the handshake ACK", r.Drops)
				}
				return nil
			},
		},
	}
}

// SynTimeout drops every SYN until the client gives up.
func SynTimeout() Scenario {
	return Scenario{
		Name: "syn-timeout",
		Doc: "SYN retries. The path drops every SYN (a filtering firewall); the server listens but never sees one. " +
			"With net.ipv4.tcp_syn_retries=2 (and tcp_syn_linear_timeouts=0, so that kernels from 6.8 on back off " +
			"exponentially from the first retry) the client sends its SYN at 0, 1 and 3 s and gives up at 7 s: " +
			"connect fails with ETIMEDOUT. " +
			"Kernel: client SYN_SENT for 7 s, then gone; server nothing but its listener. " +
			"tcplens should report syn-timeout with the backoff (1 s, 2 s) and the client ending CLOSED.",
		Sysctls: map[string]string{"net.ipv4.tcp_syn_retries": "2", "?net.ipv4.tcp_syn_linear_timeouts": "0"},
		Drops:   []Drop{{What: "every SYN", Dir: ClientToServer, Match: IsSYN}},
		Server: func(s *Side) error {
			_, err := s.Listen()
			return err
		},
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err == nil {
				c.Close()
				return errors.New("connect succeeded through a path that drops SYNs")
			}
			if !errors.Is(err, syscall.ETIMEDOUT) {
				return fmt.Errorf("connect: %v; want ETIMEDOUT", err)
			}
			return nil
		},
		Settle: 50 * time.Millisecond,
		Expect: Expect{
			Client:    []string{"SYN_SENT", Gone},
			ClientEnd: Gone, ServerEnd: "", CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				if len(segs) != 3 {
					return fmt.Errorf("want 3 SYNs; got %s", summary(segs))
				}
				for i, s := range segs {
					if !isSYN(s) || s.Seg.Seq != segs[0].Seg.Seq {
						return fmt.Errorf("frame %d is not the SYN again: %s", s.N, summary(segs))
					}
					if i > 0 {
						gap := s.Time.Sub(segs[i-1].Time)
						want := time.Duration(1<<(i-1)) * time.Second
						if gap < want-100*time.Millisecond || gap > want+300*time.Millisecond {
							return fmt.Errorf("SYN %d after %v; want about %v", i+1, gap, want)
						}
					}
				}
				return nil
			},
		},
	}
}

// SynAckClientGaveUp has the client give up before the server's SYN-ACK
// gets through, so the retransmitted SYN-ACK meets no socket.
func SynAckClientGaveUp() Scenario {
	return Scenario{
		Name:    "synack-client-gave-up",
		Vantage: Server,
		Doc: "The SYN-ACK answered by RST because the client forgot the connection. The path drops the server's first SYN-ACK; " +
			"the client's connect times out after 200 ms (the application gives up and closes the socket, as a NAT mapping " +
			"that expires would also forget it). The server retransmits its SYN-ACK after 1 s; the client's kernel has no socket " +
			"for it and answers RST; the server drops its request socket. Captured at the server: SYN, SYN-ACK, SYN-ACK again, RST. " +
			"Kernel: client SYN_SENT (200 ms), gone; server SYN_RECV (~1 s), gone. " +
			"tcplens should report synack-retrans-client-forgot.",
		Drops: []Drop{{What: "the server's first SYN-ACK", Dir: ServerToClient, Match: IsSYNACK, Nth: []int{1}}},
		Server: func(s *Side) error {
			if _, err := s.Listen(); err != nil {
				return err
			}
			// The SYN-ACK timer's resend and the RST that answers it,
			// however late a loaded machine makes them.
			return s.AwaitPath("the client's RST", ClientToServer, func(p *Packet) bool { return p.Seg.Flags.Has(wire.RST) })
		},
		Client: func(s *Side) error {
			c, err := s.Dial(DialTimeout(200 * time.Millisecond))
			if err == nil {
				c.Close()
				return errors.New("connect succeeded; want a timeout")
			}
			return nil
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", Gone},
			Server:    []string{"SYN_RECV", Gone},
			ClientEnd: Gone, ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				sa := all(segs, ServerToClient, isSYNACK)
				if len(sa) != 2 || sa[0].Seg.Seq != sa[1].Seg.Seq {
					return fmt.Errorf("want the SYN-ACK twice; got %s", summary(segs))
				}
				rs := first(segs, ClientToServer, rst)
				if rs == nil || rs.N < sa[1].N {
					return fmt.Errorf("want the client's RST after the second SYN-ACK; got %s", summary(segs))
				}
				return nil
			},
		},
	}
}

// dataTransfer is a client that sends n bytes in one write, reads a short
// reply and closes; the server answers once it has all n bytes.
func dataTransfer(s *Side, n int) error {
	c, err := s.Dial()
	if err != nil {
		return err
	}
	if err := exchange(c, n, replyLen); err != nil {
		return err
	}
	return c.Close()
}

// retransmitted returns, for the client's data segment holding stream
// offset off, its transmissions in the capture.
func retransmitted(segs []Captured, r *Result, off int64) []Captured {
	var isn uint32
	var out []Captured
	for _, s := range segs {
		if s.Dir != ClientToServer {
			continue
		}
		if isSYN(s) {
			isn = uint32(s.Seg.Seq)
			continue
		}
		start := int64(uint32(s.Seg.Seq) - isn - 1)
		if s.Seg.PayloadLen > 0 && start <= off && off < start+int64(s.Seg.PayloadLen) {
			out = append(out, s)
		}
	}
	return out
}

// RTORetransmission loses the last segment of a burst, which only a
// retransmission timeout can repair.
func RTORetransmission() Scenario {
	const n = 5000
	return Scenario{
		Name: "rto-retransmission",
		Doc: "An RTO retransmission. The client sends 5000 bytes in one write (four segments of at most 1448 bytes); the path " +
			"drops the last segment once. Nothing follows it, so no duplicate ACK or SACK can trigger a fast retransmit, " +
			"and tail loss probes are off (net.ipv4.tcp_early_retrans=0), so the sender waits for its retransmission timeout " +
			"(Linux's minimum RTO of 200 ms plus the smoothed RTT) and resends the segment. " +
			"Kernel: both ESTABLISHED throughout the loss; then the usual close, client first. " +
			"tcplens should report rto-retransmission on the client's segment, delay about 210 ms, no dup-ACK evidence.",
		Sysctls: map[string]string{"net.ipv4.tcp_early_retrans": "0"},
		Drops:   []Drop{{What: "the client's segment holding byte 4999 (the last of the burst)", Dir: ClientToServer, Match: HoldsByte(n - 1), Nth: []int{1}}},
		Server:  serveAndCloseAtEOF(n, replyLen),
		Client:  func(s *Side) error { return dataTransfer(s, n) },
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				// A loaded machine can hold the ACK of the resent segment
				// past the doubled timer, and it goes out a third time.
				tx := retransmitted(segs, r, n-1)
				if len(tx) < 2 {
					return fmt.Errorf("the last segment went out %d times; want 2", len(tx))
				}
				if gap := tx[1].Time.Sub(tx[0].Time); gap < 190*time.Millisecond {
					return fmt.Errorf("retransmitted after %v; want at least the 200 ms minimum RTO", gap)
				}
				return nil
			},
		},
	}
}

// TailLossProbe loses the last two segments of a burst; Linux's tail loss
// probe resends the last one after about two round trips, and the other
// waits for the retransmission timer.
func TailLossProbe() Scenario {
	const n = 8000
	return Scenario{
		Name: "tail-loss-probe",
		Doc: "A tail loss probe. The client sends 8000 bytes in one write (six segments of at most 1448 bytes); the path drops " +
			"the last two once. When the ACK of the first four arrives two segments are outstanding, so Linux arms its " +
			"probe timeout at about two smoothed RTTs (~20 ms here, RFC 8985) instead of the 200 ms RTO: the probe resends " +
			"the last segment and the receiver SACKs it at once. What the fifth segment does next turns on microseconds: that SACK " +
			"acknowledges a retransmission, and Linux's RACK (tcp_rack_advance) ignores it when its round trip is shorter than the " +
			"smallest RTT the client has measured, since it may acknowledge the original; an out-of-order segment is ACKed at once " +
			"and in-order ones after the receiver's processing, so the probe's round trip lies within a fraction of a millisecond of " +
			"that minimum, on either side. Above it, RACK marks the fifth lost and resends it a round trip after the probe; below " +
			"it, one SACKed segment is short of three duplicate ACKs too, so the fifth waits for the retransmission timer, re-armed " +
			"by the probe, and goes about 200 ms later (testdata/kernel/README.md says which the recorded run shows). " +
			"Kernel: both ESTABLISHED throughout; then the usual close, client first. " +
			"tcplens should report tail-loss-probe (the last segment resent after ~2 RTT without dup ACKs), then a " +
			"fast retransmission or an rto-retransmission of the fifth segment, as the kernel chose.",
		Drops: []Drop{
			{What: "the client's segment holding byte 6000 (the fifth)", Dir: ClientToServer, Match: HoldsByte(6000), Nth: []int{1}},
			{What: "the client's segment holding byte 7999 (the last)", Dir: ClientToServer, Match: HoldsByte(n - 1), Nth: []int{1}},
		},
		Server: serveAndCloseAtEOF(n, replyLen),
		Client: func(s *Side) error { return dataTransfer(s, n) },
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				last := retransmitted(segs, r, n-1)
				fifth := retransmitted(segs, r, 6000)
				if len(last) != 2 || len(fifth) != 2 {
					return fmt.Errorf("last segment sent %d times, fifth %d; want 2 each", len(last), len(fifth))
				}
				if gap := last[1].Time.Sub(last[0].Time); gap > 150*time.Millisecond {
					return fmt.Errorf("last segment resent after %v; want a probe well before the 200 ms RTO", gap)
				}
				if last[1].N > fifth[1].N {
					return errors.New("the fifth segment was resent before the probe")
				}
				// RACK as soon as the probe's SACK comes back (a round
				// trip, longer on a loaded machine), or the timer.
				var sack *Captured
				for i := last[1].N; i < fifth[1].N-1; i++ {
					if segs[i].Dir == ServerToClient && segs[i].Seg.Options.NumSACK > 0 {
						sack = &segs[i]
						break
					}
				}
				gap := fifth[1].Time.Sub(last[1].Time)
				if gap < 190*time.Millisecond && (sack == nil || fifth[1].Time.Sub(sack.Time) > 20*time.Millisecond) {
					return fmt.Errorf("the fifth segment resent %v after the probe, not at the probe's SACK; want RACK at that SACK or the 200 ms retransmission timer", gap)
				}
				return nil
			},
		},
	}
}

// FastRetransmission loses one segment in the middle of a burst: the
// segments after it draw duplicate ACKs with SACK blocks.
func FastRetransmission() Scenario {
	const n = 30000
	return Scenario{
		Name: "fast-retransmit",
		Doc: "A fast retransmission with SACK. The client sends 30000 bytes in one write (21 segments); the path drops the " +
			"segment holding byte 6000 (the fifth) once. Each later segment draws a duplicate ACK carrying a SACK block; " +
			"after the third (or earlier, by RACK's reordering window) the client resends the segment, one round trip " +
			"after the loss rather than an RTO later. " +
			"Kernel: both ESTABLISHED throughout; then the usual close, client first. " +
			"tcplens should report the duplicate ACKs (#1, #2, #3 of the same ACK), SACK blocks above the hole and " +
			"fast-retransmission of that segment.",
		Drops:  []Drop{{What: "the client's segment holding byte 6000", Dir: ClientToServer, Match: HoldsByte(6000), Nth: []int{1}}},
		Server: serveAndCloseAtEOF(n, replyLen),
		Client: func(s *Side) error { return dataTransfer(s, n) },
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				tx := retransmitted(segs, r, 6000)
				if len(tx) != 2 {
					return fmt.Errorf("the segment went out %d times; want 2", len(tx))
				}
				if gap := tx[1].Time.Sub(tx[0].Time); gap > 150*time.Millisecond {
					return fmt.Errorf("retransmitted after %v; want well before an RTO", gap)
				}
				dup := 0
				for _, s := range segs[tx[0].N:tx[1].N] {
					if s.Dir == ServerToClient && s.Seg.Options.NumSACK > 0 {
						dup++
					}
				}
				if dup < 2 {
					return fmt.Errorf("%d ACKs with SACK before the retransmission; want several", dup)
				}
				return nil
			},
		},
	}
}

// ZeroWindow has a receiver that stops reading.
func ZeroWindow() Scenario {
	const body = 256 << 10
	return Scenario{
		Name: "zero-window",
		Doc: "A zero window. The client opens with SO_RCVBUF 4096 (a window of a few KB), sends a request and stops reading " +
			"for 2 s while the server sends 256 KiB. The client's buffer fills and it advertises a zero window; " +
			"the server's persist timer sends zero-window probes (a zero-length segment with seq one below SND.UNA) " +
			"with exponential backoff from about 200 ms; when the client reads again it sends a window update and the " +
			"transfer finishes. 256 KiB rather than 1 MB keeps the capture small: anything beyond the buffer shows the same. " +
			"Kernel: both ESTABLISHED throughout the stall; then the usual close, client first. " +
			"tcplens should report zero_window, zero_window_probe (not keep_alive), window_update and the zero-window " +
			"finding with the stall's duration (~2 s).",
		Server: serveAndCloseAtEOF(requestLen, body),
		Client: func(s *Side) error {
			c, err := s.Dial(RcvBuf(4096))
			if err != nil {
				return err
			}
			if _, err := c.Write(Payload(requestLen)); err != nil {
				return err
			}
			s.Sleep(2 * time.Second)
			if _, err := io.ReadFull(c, make([]byte, body)); err != nil {
				return err
			}
			return c.Close()
		},
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				zero, probes, update := 0, 0, false
				var una uint32
				for _, s := range segs {
					switch {
					case s.Dir == ClientToServer && s.Seg.Flags.Has(wire.ACK) && !s.Seg.Flags.Any(wire.SYN|wire.FIN|wire.RST):
						if s.Seg.Window == 0 {
							zero++
						} else if zero > 0 {
							update = true
						}
						una = uint32(s.Seg.Ack)
					case s.Dir == ServerToClient && zero > 0 && !update && s.Seg.PayloadLen == 0 && uint32(s.Seg.Seq) == una-1:
						probes++
					}
				}
				if zero == 0 || probes < 2 || !update {
					return fmt.Errorf("%d zero-window ACKs, %d probes, window update %v; want some of each", zero, probes, update)
				}
				return nil
			},
		},
	}
}

// CloseWaitLeak is a server that never closes.
func CloseWaitLeak() Scenario {
	return Scenario{
		Name:   "close-wait-leak",
		Settle: 300 * time.Millisecond,
		Doc: "A leaked CLOSE_WAIT. After the exchange the client closes; the server reads the FIN (EOF) but never calls close. " +
			"The capture ends 300 ms later with the server in CLOSE_WAIT and the client in FIN_WAIT2 " +
			"(Linux would time FIN_WAIT2 out after tcp_fin_timeout, 60 s; CLOSE_WAIT lasts until the application closes). " +
			"Kernel: client SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2; server SYN_RECV, ESTABLISHED, CLOSE_WAIT. " +
			"tcplens should report close-wait-leak, the server's state at end of capture CLOSE_WAIT.",
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				if err := respond(c, requestLen, replyLen); err != nil {
					return err
				}
				return drain(c) // and never close
			})
		},
		Client: func(s *Side) error { return dataTransfer(s, requestLen) },
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2"},
			Server:    []string{"SYN_RECV", "ESTABLISHED", "CLOSE_WAIT"},
			ClientEnd: "FIN_WAIT2", ServerEnd: "CLOSE_WAIT", CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				if first(segs, ServerToClient, fin) != nil {
					return errors.New("the server sent a FIN")
				}
				if first(segs, ClientToServer, fin) == nil {
					return errors.New("no FIN from the client")
				}
				return nil
			},
		},
	}
}

// SimultaneousClose has both ends close at the same moment.
func SimultaneousClose() Scenario {
	return Scenario{
		Name:  "simultaneous-close",
		Delay: 20 * time.Millisecond,
		Doc: "A simultaneous close. After the exchange both ends call close at the same moment; with 20 ms each way the FINs " +
			"cross in the path. Each end receives the other's FIN in FIN_WAIT1, ACKs it and moves to CLOSING " +
			"(RFC 9293 section 3.6, case 2), then gets the ACK of its own FIN and moves to TIME_WAIT: both end in TIME_WAIT. " +
			"CLOSING lasts one one-way delay (20 ms). " +
			"Kernel: both ESTABLISHED, FIN_WAIT1, CLOSING, TIME_WAIT. " +
			"tcplens should report simultaneous-close and both ends in TIME_WAIT; neither FIN acknowledges the other.",
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				if err := respond(c, requestLen, replyLen); err != nil {
					return err
				}
				return s.Together("close", c.Close)
			})
		},
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := exchange(c, requestLen, replyLen); err != nil {
				return err
			}
			return s.Together("close", c.Close)
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "CLOSING", "TIME_WAIT"},
			Server:    []string{"SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "CLOSING", "TIME_WAIT"},
			ClientEnd: "TIME_WAIT", ServerEnd: "TIME_WAIT", CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				cf, sf := first(segs, ClientToServer, fin), first(segs, ServerToClient, fin)
				if cf == nil || sf == nil {
					return errors.New("want a FIN from each side")
				}
				if sf.Seg.Ack == cf.Seg.SeqEnd() || cf.Seg.Ack == sf.Seg.SeqEnd() {
					return errors.New("one FIN acknowledges the other: not simultaneous")
				}
				return nil
			},
		},
	}
}

// SimultaneousOpen has both ends connect to each other at the same moment.
func SimultaneousOpen() Scenario {
	return Scenario{
		Name:  "simultaneous-open",
		Delay: 20 * time.Millisecond,
		Doc: "A simultaneous open. Nobody listens: the client binds its first port and connects to the server's port 8000 while the " +
			"server binds 8000 and connects to the client's first port, at the same moment; with 20 ms each way the SYNs cross. " +
			"Each end receives a SYN in SYN_SENT, answers SYN-ACK and moves to SYN_RECV (RFC 9293 section 3.5, figure 7), " +
			"then receives the other's SYN-ACK and moves to ESTABLISHED. Then a request, a reply and a close, client first. " +
			"Kernel: both SYN_SENT, SYN_RECV (20 ms), ESTABLISHED. " +
			"tcplens should report simultaneous-open; which side is the client is a guess (both sent a SYN).",
		Server: func(s *Side) error {
			s.Ready()
			var c *net.TCPConn
			err := s.Together("connect", func() (err error) {
				c, err = s.Connect(netip.AddrPortFrom(s.Addr, s.Port), netip.AddrPortFrom(s.Peer, s.ClientPort))
				return err
			})
			if err != nil {
				return err
			}
			if err := respond(c, requestLen, replyLen); err != nil {
				return err
			}
			if err := drain(c); err != nil {
				return err
			}
			return c.Close()
		},
		Client: func(s *Side) error {
			var c *net.TCPConn
			err := s.Together("connect", func() (err error) {
				c, err = s.Dial()
				return err
			})
			if err != nil {
				return err
			}
			if err := exchange(c, requestLen, replyLen); err != nil {
				return err
			}
			return c.Close()
		},
		Expect: Expect{
			Client:    []string{"SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "TIME_WAIT"},
			Server:    []string{"SYN_SENT", "SYN_RECV", "ESTABLISHED", "LAST_ACK", Gone},
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				if len(all(segs, ClientToServer, isSYN)) != 1 || len(all(segs, ServerToClient, isSYN)) != 1 {
					return fmt.Errorf("want a bare SYN from each side; got %s", summary(segs))
				}
				return nil
			},
		},
	}
}

// Keepalive idles a connection with short keepalive timers.
func Keepalive() Scenario {
	return Scenario{
		Name: "keepalive",
		Doc: "Keepalives. After the exchange the client turns on keepalive with TCP_KEEPIDLE=1 s, TCP_KEEPINTVL=1 s, " +
			"TCP_KEEPCNT=3 and stays idle for 3.5 s, then closes. Linux sends a probe after each second of idleness: a " +
			"zero-length segment with seq one below SND.NXT, which the server answers with a duplicate ACK; each answer " +
			"restarts the idle timer, so about three probes appear, 1 s apart. " +
			"Kernel: both ESTABLISHED throughout; then the usual close, client first. " +
			"tcplens should report keep_alive and keep_alive_ack (not retransmissions or zero-window probes).",
		Server: serveAndCloseAtEOF(requestLen, replyLen),
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := exchange(c, requestLen, replyLen); err != nil {
				return err
			}
			if err := c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 3}); err != nil {
				return err
			}
			s.Sleep(3500 * time.Millisecond)
			return c.Close()
		},
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				var next uint32
				probes := 0
				for _, s := range segs {
					if s.Dir != ClientToServer {
						continue
					}
					if s.Seg.PayloadLen == 0 && !s.Seg.Flags.Any(wire.SYN|wire.FIN|wire.RST) && next != 0 && uint32(s.Seg.Seq) == next-1 {
						probes++
					}
					if e := uint32(s.Seg.SeqEnd()); int32(e-next) > 0 || next == 0 {
						next = e
					}
				}
				if probes < 2 || probes > 4 {
					return fmt.Errorf("%d keepalive probes; want about 3", probes)
				}
				return nil
			},
		},
	}
}

// FastOpenScenario makes a TCP Fast Open connection with data on the SYN.
func FastOpenScenario() Scenario {
	return Scenario{
		Name:    "fast-open",
		Snaplen: -1,
		Sysctls: map[string]string{"net.ipv4.tcp_fastopen": "3"},
		Focus:   1,
		Doc: "TCP Fast Open (RFC 7413), net.ipv4.tcp_fastopen=3 in both namespaces, the server's listener with TCP_FASTOPEN, " +
			"the client with TCP_FASTOPEN_CONNECT. The first connection (the client's first port) asks for a cookie (an empty TFO " +
			"option on the SYN), gets one on the SYN-ACK and sends its 100-byte request after the handshake. The second " +
			"(the next port, the focus) carries the cookie and the request on the SYN; the server accepts it at once " +
			"(the child socket is in SYN_RECV), its SYN-ACK acknowledges the data and the reply can leave before the " +
			"handshake completes. Each connection then closes, client first, 20 ms after the reply. Full frames are captured. " +
			"Kernel (second connection): client SYN_SENT, ESTABLISHED; server SYN_RECV, ESTABLISHED. " +
			"tcplens should report tcp-fast-open / syn-with-data on the second connection and the cookie request on the first.",
		Server: func(s *Side) error {
			ln, err := s.Listen(FastOpen())
			if err != nil {
				return err
			}
			for range 2 {
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
			for i := range 2 {
				c, err := s.Dial(FastOpen())
				if err != nil {
					return err
				}
				if err := WriteFastOpen(c, Payload(requestLen)); err != nil {
					return fmt.Errorf("connection %d: %w", i+1, err)
				}
				if _, err := io.ReadFull(c, make([]byte, replyLen)); err != nil {
					return err
				}
				s.Sleep(20 * time.Millisecond)
				c.Close()
				s.Sleep(50 * time.Millisecond)
			}
			return nil
		},
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				syns := all(segs, ClientToServer, isSYN)
				if len(syns) != 2 {
					return fmt.Errorf("want 2 SYNs; got %s", summary(segs))
				}
				o1, o2 := syns[0].Seg.Options, syns[1].Seg.Options
				if !o1.Has(wire.HasFastOpen) || o1.FastOpenCookie != 0 || syns[0].Seg.PayloadLen != 0 {
					return errors.New("the first SYN is not a bare cookie request")
				}
				if !o2.Has(wire.HasFastOpen) || o2.FastOpenCookie == 0 || syns[1].Seg.PayloadLen != requestLen {
					return fmt.Errorf("the second SYN carries cookie %d bytes and %d bytes of data; want a cookie and %d", o2.FastOpenCookie, syns[1].Seg.PayloadLen, requestLen)
				}
				return nil
			},
		},
	}
}

// MidStream starts the capture after the handshake and some data.
func MidStream() Scenario {
	const rounds, size = 10, 1000
	return Scenario{
		Name:        "midstream",
		LateCapture: true,
		Doc: "A capture that starts mid-stream. The client connects and makes 10 request/reply rounds of 1000 bytes each way; " +
			"tcpdump starts after the fifth, so the capture holds neither the handshake nor the first 5000 bytes, " +
			"then closes normally, client first. " +
			"Kernel (from the start): client SYN_SENT, ESTABLISHED, FIN_WAIT1, TIME_WAIT; server SYN_RECV, ESTABLISHED, LAST_ACK, gone. " +
			"tcplens should start both ends in MID-STREAM (treated as ESTABLISHED) with unknown ISNs and window scale, " +
			"infer the scale it can, and follow the close from there.",
		Server: func(s *Side) error {
			return accept(s, func(c *net.TCPConn) error {
				for range rounds {
					if err := respond(c, size, size); err != nil {
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
			for i := range rounds {
				if i == rounds/2 {
					if err := s.StartCapture(); err != nil {
						return err
					}
				}
				if err := exchange(c, size, size); err != nil {
					return err
				}
			}
			return c.Close()
		},
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				if len(segs) == 0 || segs[0].Seg.Flags.Has(wire.SYN) {
					return errors.New("the capture starts with the handshake")
				}
				if len(all(segs, ClientToServer, hasData)) < rounds/2 || len(all(segs, ServerToClient, hasData)) < rounds/2 {
					return errors.New("want the last five rounds of data in the capture")
				}
				return nil
			},
		},
	}
}

// Capture predicates and helpers.

func isSYN(s Captured) bool    { return s.Seg.Flags&(wire.SYN|wire.ACK) == wire.SYN }
func isSYNACK(s Captured) bool { return s.Seg.Flags&(wire.SYN|wire.ACK) == wire.SYN|wire.ACK }
func fin(s Captured) bool      { return s.Seg.Flags.Has(wire.FIN) }
func rst(s Captured) bool      { return s.Seg.Flags.Has(wire.RST) }
func hasData(s Captured) bool  { return s.Seg.PayloadLen > 0 }

// resetWithoutFIN checks that who, sending in direction d, ended with an
// RST and never sent a FIN: an abortive close, not an orderly one.
func resetWithoutFIN(d Dir, who string) func([]Captured, *Result) error {
	return func(segs []Captured, _ *Result) error {
		if first(segs, d, fin) != nil {
			return fmt.Errorf("the %s sent a FIN", who)
		}
		if first(segs, d, rst) == nil {
			return fmt.Errorf("no RST from the %s", who)
		}
		return nil
	}
}

func first(segs []Captured, d Dir, pred func(Captured) bool) *Captured {
	for i := range segs {
		if segs[i].Dir == d && pred(segs[i]) {
			return &segs[i]
		}
	}
	return nil
}

func all(segs []Captured, d Dir, pred func(Captured) bool) []Captured {
	var out []Captured
	for _, s := range segs {
		if s.Dir == d && pred(s) {
			out = append(out, s)
		}
	}
	return out
}

// summary lists segments compactly for failure messages.
func summary(segs []Captured) string {
	b := []byte{}
	for i, s := range segs {
		if i == 12 {
			b = fmt.Appendf(b, " … (%d)", len(segs))
			break
		}
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "%d %s [%s] len %d", s.N, s.Dir, s.Seg.Flags, s.Seg.PayloadLen)
	}
	return "[" + string(b) + "]"
}
