package netlab

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// The scenarios below make what the diagnosis rules recognise from marks
// a stack leaves on the wire rather than from its states: congestion
// marks and their echo (ECN), the options a SYN cookie cannot carry and
// the SYN-ACK it never resends, and the RST of a host that lost a
// connection before the capture began. They are ExtraScenarios.

// ceEvery is how often the server's egress marks a burst CE.
const ceEvery = 20

// ECNCongestion downloads with ECN negotiated while every 20th of the
// server's data bursts leaves marked CE.
func ECNCongestion() Scenario {
	const body = 128 << 10
	return Scenario{
		Name:    "ecn-ce",
		Sysctls: map[string]string{"net.ipv4.tcp_ecn": "1"},
		Doc: "ECN with congestion marks. net.ipv4.tcp_ecn=1 in both namespaces, so the client's SYN asks for ECN (ECE and CWR) and " +
			"the SYN-ACK agrees (ECE); the server's data then leaves with ECT(0). An iptables mangle rule on the server's egress " +
			"(POSTROUTING, -m statistic --mode nth --every 20, -j TOS --set-tos 0x03/0x03) rewrites the ECN field to CE (11), as a " +
			"router with a filling queue would instead of dropping the packet: the lab's path is a relay, not a router, so the mark is " +
			"made at the sender's last hop before the wire. POSTROUTING sees TCP's GSO bursts before they are cut into segments, so " +
			"every 20th burst is marked: a pair (or a run) of consecutive CE segments, about 40 segments apart. " +
			"The client reads 128 KiB after a 100-byte request. " +
			"On a CE mark the client's kernel sets ECE on every ACK until a segment with CWR arrives; the server, on the first ECE, " +
			"halves its congestion window (enters CWR) and sets CWR on its next new segment. No segment is lost. " +
			"Kernel: the usual states, client first. " +
			"tcplens should report ecn with the first CE-marked segment, the first ECE and the first CWR as evidence.",
		Server: func(s *Side) error {
			err := s.Exec("iptables", "-t", "mangle", "-A", "POSTROUTING", "-p", "tcp", "--sport", strconv.Itoa(int(s.Port)),
				"-m", "length", "--length", "1000:65535",
				"-m", "statistic", "--mode", "nth", "--every", strconv.Itoa(ceEvery), "--packet", "0",
				"-j", "TOS", "--set-tos", "0x03/0x03")
			if err != nil {
				return err
			}
			return serveAndCloseAtEOF(requestLen, body)(s)
		},
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
		Expect: Expect{
			Client: clientClosesFirst, Server: serverClosesAtEOF,
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				syn := first(segs, ClientToServer, isSYN)
				synack := first(segs, ServerToClient, isSYNACK)
				if syn == nil || synack == nil || !syn.Seg.Flags.Has(wire.ECE|wire.CWR) || !synack.Seg.Flags.Has(wire.ECE) {
					return fmt.Errorf("ECN not negotiated: %s", summary(segs))
				}
				ce := first(segs, ServerToClient, func(s Captured) bool { return s.Seg.ECN == 3 && s.Seg.PayloadLen > 0 })
				if ce == nil {
					return errors.New("no CE-marked data from the server")
				}
				ece := first(segs[ce.N:], ClientToServer, func(s Captured) bool { return s.Seg.Flags.Has(wire.ECE) })
				if ece == nil {
					return fmt.Errorf("no ECE from the client after the CE mark in frame %d", ce.N)
				}
				if first(segs[ece.N:], ServerToClient, func(s Captured) bool { return s.Seg.Flags.Has(wire.CWR) }) == nil {
					return fmt.Errorf("no CWR from the server after the ECE in frame %d", ece.N)
				}
				// New data is ECT; Linux sends a retransmission without
				// it (tcp_ecn_send), as a loaded machine's spurious
				// timeouts make it.
				var high seq.Num
				for i, s := range all(segs, ServerToClient, hasData) {
					resent := i > 0 && s.Seg.Seq.Less(high)
					if end := s.Seg.SeqEnd(); i == 0 || end.Greater(high) {
						high = end
					}
					if s.Seg.ECN == 0 && !resent {
						return fmt.Errorf("frame %d: server data without ECT or CE", s.N)
					}
				}
				return nil
			},
		},
	}
}

// cookieWait is how long the client of syn-cookies waits before its
// request: longer than any stack's first SYN-ACK timer (1 s in Linux and
// RFC 6298, 3 s in RFC 2988), so that a server keeping SYN_RECV state
// would have resent its SYN-ACK.
const cookieWait = 3500 * time.Millisecond

// SYNCookies has a server that answers every SYN with a SYN cookie, and
// loses the client's handshake ACK.
func SYNCookies() Scenario {
	return Scenario{
		Name:    "syn-cookies",
		Vantage: Server,
		Timeout: 20 * time.Second,
		Sysctls: map[string]string{
			"net.ipv4.tcp_syncookies": "2",
			"net.ipv4.tcp_timestamps": "0",
		},
		Doc: "SYN cookies. net.ipv4.tcp_syncookies=2 in the server's namespace (cookies for every SYN, as a listener whose SYN queue " +
			"overflowed sends them with the default 1) and timestamps off on both ends. The client's SYN offers MSS, SACK-permitted " +
			"and a window scale; the server keeps no state for it and encodes what it must remember in the SYN-ACK's ISN, which holds " +
			"the MSS (one of four values) and nothing else: without a timestamp to carry them (syncookies.c keeps wscale, SACK and " +
			"ECN in the TSval's low 6 bits), the SYN-ACK offers only an MSS. The path drops the client's handshake ACK; the client, " +
			"ESTABLISHED, sends its request 3.5 s later. A server with a SYN_RECV entry would have resent its SYN-ACK after 1 s; " +
			"this one has nothing to resend, and the request's ACK, checked against the cookie, creates the connection at once. " +
			"The capture is at the server. " +
			"Kernel: client SYN_SENT, ESTABLISHED; server never in SYN_RECV, ESTABLISHED when the request arrives; then the usual close. " +
			"tcplens should report syn-cookies: no SYN-ACK resent while the handshake stayed open past any SYN-ACK timer, the " +
			"client's late segment accepted, and the SYN's options missing from the SYN-ACK.",
		Drops:  []Drop{{What: "the client's handshake ACK", Dir: ClientToServer, Match: IsPureACK, Nth: []int{1}}},
		Server: serveAndCloseAtEOF(requestLen, replyLen),
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := s.Sleep(cookieWait); err != nil {
				return err
			}
			if err := exchange(c, requestLen, replyLen); err != nil {
				return err
			}
			return c.Close()
		},
		Expect: Expect{
			Client: clientClosesFirst, Server: []string{"ESTABLISHED", "LAST_ACK", Gone},
			ClientEnd: "TIME_WAIT", ServerEnd: Gone, CheckEnd: true,
			Capture: func(segs []Captured, r *Result) error {
				syn := first(segs, ClientToServer, isSYN)
				if syn == nil || !syn.Seg.Options.Has(wire.HasSACKPermitted|wire.HasWindowScale) {
					return fmt.Errorf("want a SYN offering SACK and window scaling: %s", summary(segs))
				}
				synacks := all(segs, ServerToClient, isSYNACK)
				if len(synacks) != 1 {
					return fmt.Errorf("%d SYN-ACKs; want one, never resent", len(synacks))
				}
				if o := synacks[0].Seg.Options; !o.Has(wire.HasMSS) || o.Has(wire.HasSACKPermitted) || o.Has(wire.HasWindowScale) {
					return fmt.Errorf("the SYN-ACK's options %+v: want an MSS alone", o.Present)
				}
				req := first(segs, ClientToServer, hasData)
				if req == nil || req.N != synacks[0].N+1 || req.Time.Sub(synacks[0].Time) < cookieWait-100*time.Millisecond {
					return fmt.Errorf("want the request right after the SYN-ACK, %v later: %s", cookieWait, summary(segs))
				}
				// Live runs have the kernel's states: a cookie leaves no
				// request socket to see (the full socket the cookie's
				// ACK makes is in SYN_RECV for microseconds, as the
				// tracepoint shows).
				for _, o := range r.Server {
					if o.State == "SYN_RECV" && o.Source == SourcePoll {
						return errors.New("the server's kernel had a SYN_RECV request socket: no cookie")
					}
				}
				return nil
			},
		},
	}
}

// RSTAfterRestart has the server lose the connection silently and listen
// again, so that the client's next segment meets a listener and no
// connection, in a capture begun after the loss.
func RSTAfterRestart() Scenario {
	return Scenario{
		Name:        "rst-after-restart",
		LateCapture: true,
		Doc: "An RST from a restarted server. After the request and the reply the server loses the connection without a word the " +
			"client hears, as a host that reboots or a NAT that forgets the mapping does: it aborts (SO_LINGER 0) and the path drops " +
			"its RST; then it closes its listener and listens on port 8000 again, a restarted service. tcpdump starts only then, on " +
			"the client's side, and the client sends another 100 bytes: the new listener has no connection for the 4-tuple and its " +
			"kernel answers a segment with ACK set with a bare RST (seq = the segment's ack, no ACK bit), and the client's read " +
			"fails with ECONNRESET. The capture holds two frames: the client's data and the server's RST. " +
			"Kernel: server SYN_RECV, ESTABLISHED, gone at the abort, its second listener LISTEN; client SYN_SENT, ESTABLISHED, gone at the RST. " +
			"tcplens should report rst-no-socket: the server's first packet in the capture is an RST answering the client's segment.",
		Drops: []Drop{{What: "the server's RST", Dir: ServerToClient, Match: func(p *Packet) bool { return p.Seg.Flags.Has(wire.RST) }, Nth: []int{1}}},
		Server: func(s *Side) error {
			ln, err := s.Listen()
			if err != nil {
				return err
			}
			c, err := s.Accept(ln)
			if err != nil {
				return err
			}
			acked := watchReplyACK(s)
			if err := respond(c, requestLen, replyLen); err != nil {
				return err
			}
			if err := acked(); err != nil {
				return err
			}
			s.Sleep(20 * time.Millisecond)
			c.SetLinger(0)
			if err := c.Close(); err != nil {
				return err
			}
			if err := ln.Close(); err != nil {
				return err
			}
			if _, err := s.Listen(); err != nil {
				return err
			}
			s.Signal("restarted")
			return nil
		},
		Client: func(s *Side) error {
			c, err := s.Dial()
			if err != nil {
				return err
			}
			if err := exchange(c, requestLen, replyLen); err != nil {
				return err
			}
			if err := s.Wait("restarted"); err != nil {
				return err
			}
			if err := s.StartCapture(); err != nil {
				return err
			}
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
				if len(segs) != 2 || segs[0].Dir != ClientToServer || segs[0].Seg.PayloadLen != requestLen ||
					segs[1].Dir != ServerToClient || segs[1].Seg.Flags != wire.RST || uint32(segs[1].Seg.Seq) != uint32(segs[0].Seg.Ack) {
					return fmt.Errorf("want the client's data and a bare RST with seq = its ack; got %s", summary(segs))
				}
				return nil
			},
		},
	}
}
