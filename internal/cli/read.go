package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

type readOptions struct {
	timeFlags  int  // count of -t, as tcpdump
	absolute   bool // -S
	nano       bool
	numeric    int // -n: accepted for tcpdump habits; tcplens never resolves names
	annotate   bool
	json       bool
	maxConns   int
	sequential bool
	count      int
	write      string
	sel        selection
}

func newReadCmd(e *env) *cobra.Command {
	var o readOptions
	cmd := &cobra.Command{
		Use:   "read [flags] [FILE|DIR...] [FILTER]",
		Short: "Print every TCP segment as tcpdump -nn prints it",
		Long: `read prints one line per TCP segment, byte for byte as 'tcpdump -nn -r FILE tcp'
prints it up to and including "length N" (tcpdump's application-protocol
decoding after that is left out). Several files, or the captures in a
directory, are merged in timestamp order as one capture; "-" reads standard
input (tcpdump -w - | tcplens read -), as does no file when standard input is
a pipe. Otherwise, with no file, read uses a small built-in sample capture.

FILTER, after the files (or from -F FILE), is a tcpdump filter expression,
in libpcap's language: host, net, port, portrange, proto, protochain, src,
dst, ip, ip6, tcp, udp, icmp, icmp6, arp, ether host/proto, broadcast,
multicast, vlan [ID], mpls [LABEL], pppoes [SESSION], pppoed, llc [i|s|u|ui|
rr|xid|...], less, greater, len, proto[expr:size] (ether, link, radio, ip,
ip6, tcp, ...) with arithmetic (+ - * / % & | ^ << >>) and comparisons
(= != < <= > >=), libpcap's named numbers (tcpflags, tcp-syn, tcp-ack,
icmp-echo, ...), inbound, outbound, and, or, not. Service names (port http,
portrange ftp-ssh) are Debian's /etc/services, built in; host names are not
resolved. It filters every link type read takes as libpcap does (Ethernet,
Linux cooked, raw IP, loopback, PPP, PPPoE, Cisco HDLC, Frame Relay, SLIP,
FDDI, Token Ring, 802.11 with radiotap, AVS or Prism, ATM, IP over FC,
pflog, enc, ipnet, NFLOG, netANALYZER, Juniper, ...), and refuses what
libpcap refuses on a link type (vlan on PPP; a protocol on NFLOG). It is a
read filter: the analysis (-a, --json) sees only the frames that pass, and
frames keep their numbers in the capture. Every command that reads captures
takes one.
  tcplens read trace.pcap 'tcp[tcpflags] & (tcp-syn|tcp-fin) != 0'
  tcplens read trace.pcap host 10.0.0.7 and port 443

--conn, --community-id, --analysis, --state, --since, --until and --dedup
narrow what is printed, not what is analysed. --state (connections with an
endpoint in one of these states at their end) reads the capture twice, first
to learn each connection's end; standard input only when it is a file, not a
pipe. -c N stops after N segments; -w FILE
writes the frames instead of printing them (pcap, or pcapng when the link
types of the interfaces differ), so that
  tcplens read big.pcap --conn 17 -w conn17.pcap
hands one connection to Wireshark with its original timestamps.

Unlike tcpdump's "tcp" filter, read also prints VLAN-tagged frames, IPv6
segments behind extension headers, and TCP inside MPLS label stacks, PPPoE
sessions and 802.2 LLC/SNAP, which that filter does not look through; what
tcpdump prints of those layers before the IP part (MPLS labels, the PPPoE
session, a Token Ring route, radiotap fields, an enc SPI) is printed as
tcpdump prints it.

Every link type libpcap reads that carries IP is read: Ethernet (Ethernet
II, IEEE 802.3 with LLC/SNAP, VLAN tags, MPLS, PPPoE), Linux cooked v1 and
v2, BSD and OpenBSD loopback, raw IP (DLT 12, 14, LINKTYPE 101, 228, 229),
PPP, PPP in HDLC framing, PPPoE, Cisco HDLC, Frame Relay, SLIP, FDDI,
Token Ring, IEEE 802.11 alone and with radiotap, Prism or AVS radio
headers, ATM (RFC 1483, SunATM), IP over Fibre Channel, IP over
InfiniBand, Apple IP over FireWire, OpenBSD pflog and enc, Solaris ipnet,
Linux NFLOG, Juniper Ethernet and netANALYZER.

--annotate adds, after each line, the state of both endpoints after the
segment and what the segment means:
  ... length 0 | client ESTABLISHED server ESTABLISHED | duplicate_ack #2 of frame 431
A state the segment changed shows what it was before: "(was SYN_RECV)", and
", corrected" when later evidence showed an earlier segment did not arrive.
A retransmission gives its kind, the frame it repeats and the numbers behind
the kind: "rto_retransmission of frame 7 after 223 ms (RTO 210 ms, SRTT
10.3 ms)"; repeats count and show the backoff: "syn_retransmission #2 of
frame 1 after 3.05 s (2.01 s after the previous)".

--json prints one JSON object per segment, one per line, instead. Its schema:
  {frame, time, conn, dir, src, dst, flags, seq, ack, seq_raw, ack_raw, len,
   win, win_scaled,
   "options": {mss, wscale, sack_permitted, "sack": [[left, right]],
               "ts": {val, ecr}, tfo_cookie_len, mptcp, md5, tcp_ao, uto,
               accecn, unknown, malformed},
   "analysis": [kind],
   "dup_ack": {num, of},
   "retransmits": {frame, after, attempt, since_previous, rto, srtt},
   "sent_before": {frame, by, own, theirs, after, half_rtt},
   acks_frame, ack_rtt, rtt, bytes_in_flight,
   "state_after": {client, server},
   "changes": [{end, from, to, reason, correction}],
   error}
frame is 1-based, as Wireshark numbers frames; time is seconds since the
epoch; conn is the connection's id, as conns numbers it; dir is c2s (client
to server) or s2c; src and dst are ip:port, IPv6 as [addr]:port; flags are
tcpdump's letters; seq and ack are relative to each side's ISN (Wireshark's
numbers), seq_raw and ack_raw as on the wire; len is the payload length;
win is the window field as sent and win_scaled the window after scaling
(null while the scale is unknown); options holds the options present, SACK
blocks as raw sequence numbers. analysis lists what the segment means, by
these names (the tshark-compatible set first):
  ` + kindNames() + `
dup_ack is the duplicate's number and the frame it repeats; retransmits is
the original's frame, the time since it, which sending this is, the time
since the previous one, and the sender's RTO and smoothed RTT then;
sent_before marks an out_of_order segment that tshark's rules take for a
retransmission as an original that came late: its sender's own clock (by
"tsval", or "ipid" for a sender that numbers its IPv4 packets one by one)
says it was sent before frame, a segment above it captured first (own <
theirs), or ("round_trip") it came after seconds after frame, the first
segment above it captured, sooner than half_rtt, half the shortest round
trip the connection showed: no resend the segments above it prompted could
have come so soon;
acks_frame and ack_rtt name the segment this ACK acknowledges and the time
since it (tshark's); rtt appears only when this ACK gives the peer's
estimator a sample (RFC 6298 with Karn's rule, or the timestamp echo).
state_after is each endpoint's state after the segment, named as ss names
them: UNKNOWN (nothing seen of it yet), LISTEN, SYN_SENT, SYN_RECV,
ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSING, TIME_WAIT, CLOSE_WAIT, LAST_ACK,
CLOSED; changes lists the transitions the segment caused, with their reason
(correction marks one that undoes an earlier inference). Durations are in
seconds. Keys that do not apply are left out; error is a malformed
header's description. A segment that could not be tied to a connection
(its TCP header is unreadable) has no conn, dir or state_after.`,
		Example: `  tcplens read trace.pcap
  tcplens read -tt -S trace.pcapng.gz
  tcplens read trace.pcap port 443
  tcplens read -a trace.pcap --analysis retransmission,zero_window
  tcplens read big.pcap --conn 17 -w conn17.pcap
  tcpdump -i eth0 -w - | tcplens read`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRead(e, o, args)
		},
	}
	f := cmd.Flags()
	f.CountVarP(&o.timeFlags, "time", "t", "timestamp format as tcpdump: -t none, -tt epoch seconds, -ttt delta to previous, -tttt date and time, -ttttt delta to first")
	f.BoolVarP(&o.absolute, "absolute", "S", false, "print absolute sequence numbers, as tcpdump -S")
	f.BoolVar(&o.nano, "nano", false, "print nanosecond timestamps, as tcpdump --nano")
	f.CountVarP(&o.numeric, "numeric", "n", "accepted for tcpdump habits (-nn); tcplens never resolves names")
	f.BoolVarP(&o.annotate, "annotate", "a", false, "add each endpoint's state and the analysis to every line")
	f.BoolVar(&o.json, "json", false, "print one JSON object per segment")
	addMaxConns(f, &o.maxConns)
	f.IntVarP(&o.count, "count", "c", 0, "stop after `N` segments (with -w, N frames), as tcpdump -c")
	f.StringVarP(&o.write, "write", "w", "", "write the frames shown to `FILE` instead of printing them: pcap, or pcapng when the interfaces' link types differ, with the original timestamps (\"-\": standard output)")
	o.sel.register(f, selAnalysis|selState|selDedup)
	f.BoolVar(&o.sequential, "sequential", false, "format on one core (the output is the same)")
	_ = f.MarkHidden("sequential")
	return cmd
}

func runRead(e *env, o readOptions, paths []string) error {
	if err := checkMaxConns(o.maxConns); err != nil {
		return err
	}
	if o.count < 0 {
		return usagef("-c %d: the count is a number from 1 (0, the default, reads to the end)", o.count)
	}
	if err := o.sel.parse(); err != nil {
		return err
	}
	if o.write != "" && (o.json || o.annotate) {
		return usagef("-w writes frames, not lines: it takes neither --json nor --annotate")
	}
	e.showProgress(o.json, o.write == "" || o.write == "-")
	var ends *bitset
	if len(o.sel.states) > 0 {
		// A connection's state at its end is known only at its end, after
		// its segments: a first reading learns which connections --state
		// selects, the second prints theirs.
		var err error
		if ends, err = connsEnding(e, &o, paths); err != nil {
			return err
		}
		e = e.again()
	}
	c, err := openCapture(e, paths)
	if err != nil {
		return err
	}
	if o.write != "" {
		return readWrite(e, o, c, ends)
	}
	opt := tcpdump.Options{
		Time:     timeFormat(o.timeFlags),
		Nano:     o.nano,
		Absolute: o.absolute,
		Location: time.Local,
		IfName:   ifNamer(),
	}
	w := bufio.NewWriterSize(e.stdout, 256<<10)
	if !o.annotate && !o.json && !o.sequential && o.count == 0 && !o.sel.active() && runtime.GOMAXPROCS(0) > 1 &&
		opt.Time != tcpdump.TimeDeltaPrev && opt.Time != tcpdump.TimeDeltaFirst {
		if err := readParallel(c, opt, w); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return c.finish()
	}
	p := tcpdump.NewPrinter(opt)
	var line []byte
	var an *analyze.Analyzer
	var seg *analyze.Segment
	if o.annotate || o.json || o.sel.needsAnalysis() {
		an = analyze.New(analyze.Options{MaxConns: o.maxConns}, func(s *analyze.Segment) { seg = s }, nil)
	}
	shown := 0
	for o.count == 0 || shown < o.count {
		f, ok := c.next()
		if !ok {
			break
		}
		line = line[:0]
		if an != nil {
			seg = nil
			an.Add(&f)
		}
		if !o.sel.segment(&f, seg, ends) {
			continue
		}
		switch {
		case o.json:
			if seg != nil {
				line = render.AppendSegmentJSON(line, seg)
			}
		default:
			var printed bool
			line, printed = p.Append(line, &f)
			if printed && o.annotate && seg != nil {
				line = render.AppendAnnotation(line[:len(line)-1], seg)
				line = append(line, '\n')
			}
		}
		if len(line) > 0 {
			shown++
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
	}
	if an != nil {
		an.Close()
		reportTable(e, an.Counts())
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return c.finish()
}

// readWrite is read -w: the frames that pass the filter and the
// selection, written as they were captured.
func readWrite(e *env, o readOptions, c *capture, ends *bitset) error {
	fw, err := newFrameWriter(e, o.write, c)
	if err != nil {
		return err
	}
	var an *analyze.Analyzer
	var seg *analyze.Segment
	if o.sel.needsAnalysis() {
		an = analyze.New(analyze.Options{MaxConns: o.maxConns}, func(s *analyze.Segment) { seg = s }, nil)
	}
	for o.count == 0 || fw.frames < o.count {
		f, ok := c.next()
		if !ok {
			break
		}
		if an != nil {
			seg = nil
			an.Add(&f)
		}
		if !o.sel.segment(&f, seg, ends) {
			continue
		}
		if err := fw.write(&f); err != nil {
			fw.close()
			return err
		}
	}
	if an != nil {
		an.Close()
	}
	if err := fw.close(); err != nil {
		return err
	}
	if o.write != "-" {
		fmt.Fprintf(e.stderr, "tcplens: wrote %s to %s\n", plural(fw.frames, "frame"), o.write)
	}
	return c.finish()
}

// connsEnding reads the capture a first time, and returns the ids of the
// connections with an endpoint at their end in a state --state names.
// Standard input can be read twice only when it is a file.
func connsEnding(e *env, o *readOptions, paths []string) (*bitset, error) {
	if err := rewindable(e, paths); err != nil {
		return nil, err
	}
	first := *e
	first.pass = "first reading"
	c, err := openCapture(&first, paths)
	if err != nil {
		return nil, err
	}
	ends := &bitset{}
	p := analyze.NewParallel(analyze.Options{MaxConns: o.maxConns, Threads: runtime.GOMAXPROCS(0)}, func(int) analyze.Hooks[bool] {
		return analyze.Hooks[bool]{End: func(cn *conn.Conn, _ conn.EndReason) bool {
			return o.sel.endState(cn.Ends[0].State, cn.Ends[1].State)
		}}
	}, func(e *analyze.Ended[bool]) {
		if e.Value {
			ends.set(e.ID)
		}
	}, nil)
	analyzeParallel(c, p, nil)
	if err := c.finish(); err != nil {
		return nil, err
	}
	if in, ok := e.stdin.(io.Seeker); ok && readsStdin(e, paths) {
		if _, err := in.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("standard input: %w", err)
		}
	}
	return ends, nil
}

// readsStdin reports whether the capture paths name is standard input.
func readsStdin(e *env, paths []string) bool {
	return slices.Contains(paths, "-") || len(paths) == 0 && stdinIsData(e.stdin)
}

// rewindable refuses to read standard input twice unless it is a file,
// which can be read again from its start.
func rewindable(e *env, paths []string) error {
	if !readsStdin(e, paths) {
		return nil
	}
	if f, ok := e.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return nil
		}
	}
	return usagef("--state reads the capture twice, first to learn each connection's state at its end, and standard input is not a file but a pipe or a terminal, which can be read only once: save it to a file (tcpdump -w FILE) and name the file, or use conns --state to list the connections")
}

// reportTable warns when the connection table had to evict connections.
func reportTable(e *env, t analyze.TableCounts) {
	if n := t.Evicted - t.EvictedAttempts; n > 0 {
		fmt.Fprintf(e.stderr, "tcplens: warning: %d connections were evicted to keep memory bounded (--max-conns); their later segments were analysed as new, mid-stream connections\n", n)
	}
	if t.EvictedAttempts > 0 {
		fmt.Fprintf(e.stderr, "tcplens: warning: %d connection attempts (SYNs nothing answered) were evicted, the oldest first, to hold at most %d at once as a SYN queue does; a SYN retransmitted after that counts as a new attempt\n", t.EvictedAttempts, t.MaxAttempts)
	}
}

func timeFormat(n int) tcpdump.TimeFormat {
	switch n {
	case 0:
		return tcpdump.TimeLocal
	case 1:
		return tcpdump.TimeNone
	case 2:
		return tcpdump.TimeEpoch
	case 3:
		return tcpdump.TimeDeltaPrev
	case 4:
		return tcpdump.TimeDate
	default:
		return tcpdump.TimeDeltaFirst
	}
}

// ifNamer resolves Linux cooked v2 interface indexes on this machine, as
// tcpdump does with if_indextoname(), remembering each answer. It is safe
// for the parallel printers to share.
func ifNamer() func(uint32) string {
	var mu sync.Mutex
	names := map[uint32]string{}
	return func(i uint32) string {
		mu.Lock()
		defer mu.Unlock()
		if n, ok := names[i]; ok {
			return n
		}
		n := ""
		if ifc, err := net.InterfaceByIndex(int(i)); err == nil {
			n = ifc.Name
		}
		names[i] = n
		return n
	}
}

// kindNames lists the analysis kinds' names for the help, wrapped and
// indented, so that the help never drifts from the names the JSON uses.
func kindNames() string {
	var b strings.Builder
	col := 2
	for k := event.Kind(1); k.String() != "invalid"; k++ {
		name := k.String()
		if col > 2 && col+2+len(name) > 78 {
			b.WriteString(",\n  ")
			col = 2
		} else if col > 2 {
			b.WriteString(", ")
			col += 2
		}
		b.WriteString(name)
		col += len(name)
	}
	return b.String()
}
