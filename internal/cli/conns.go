package cli

import (
	"bufio"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
)

type connsOptions struct {
	json bool
	analysis
	sel selection
}

func newConnsCmd(e *env) *cobra.Command {
	var o connsOptions
	cmd := &cobra.Command{
		Use:   "conns [flags] [FILE...]",
		Short: "One row per TCP connection: roles, timing, options, retransmissions, how it closed, final states",
		Long: `conns prints one row per TCP connection: client and server (the SYN's
sender is the client; without a handshake the roles are guessed from the
ports or from who spoke first, and marked "?"), duration, packets and payload
bytes each way, the handshake RTT, retransmissions, how and by whom it
closed, the state of both endpoints at the end of the capture, and Zeek's
conn_state and history. The rows are in ID order; a capture of more than
1,000 connections has its rows printed as the connections end (the order of
--json), in the columns of the first 1,000, so that the table streams and
its memory does not grow with the capture.

The analysis runs on --threads cores (the connections spread over 64 shards
by a hash of their endpoints; --analysis runs it on one); the output is the
same for any number.

--conn (-c), --community-id, --state, --analysis, --since and --until show
only the connections they select: with an endpoint in one of the --state
states at the end, with a segment between --since and --until, with a
segment --analysis names (as read --analysis shows it). The analysis still
sees every frame, so connections keep their numbers and states.

--json prints one JSON object per connection, one per line, in the order the
connections end (idle, replaced by a new connection on the same 4-tuple, or
at the end of the capture). Its schema:
  {id, client, server, role_guessed, start, end, duration, first_frame,
   last_frame, packets_c2s, packets_s2c, bytes_c2s, bytes_s2c, handshake_rtt,
   "client_offered": {syn_seen, mss, wscale, sack_permitted, timestamps,
                      ecn, accecn, tfo, syn_data},
   "server_offered": {... the same},
   "negotiated": {mss_client_sends, mss_server_sends, window_scaling,
                  wscale_client, wscale_server, wscale_inferred, sack,
                  timestamps, ecn, accecn, tfo},
   "retransmissions": {"client": {total, fast, rto, tail_loss_probe,
                                  spurious, syn, synack, fin},
                       "server": {...}},
   "dup_acks": {client, server}, "zero_windows": {client, server},
   "duplicate_frames": {client, server},
   closed_by, closed_first, close, client_state, server_state,
   "states": {"client": [{state, frame, time, reason, correction}],
              "server": [...]},
   "rtt": {"client": {samples, srtt, rttvar, min, rto}, "server": {...}},
   conn_state, history, vantage, vantage_reason, reused_ports,
   previous_conn, end_reason}
id numbers connections from 1 in the order they first appear (read --json's
conn); client and server are ip:port, IPv6 as [addr]:port; role_guessed says
no handshake decided the roles. start and end are the first and last
segment's time in seconds since the epoch, duration the seconds between;
bytes count payload. handshake_rtt is from the SYN to the ACK that completed
the handshake (null if not seen). *_offered is what each side's SYN or
SYN-ACK carried: the option values (null when absent), ecn and accecn the
ECN setup flags (RFC 3168, Accurate ECN), tfo a Fast Open option, syn_data
the bytes on the SYN. negotiated is what both agreed: the MSS each side may
send (the peer's offer), window scaling with each side's shift (inferred
from the bytes in flight when the handshake was not seen), SACK,
timestamps, ECN, Accurate ECN, and tfo: the SYN-ACK acknowledged the data
on the SYN (Fast Open accepted; a refused SYN's data is sent again later).
retransmissions counts each side's retransmissions by kind (total counts
every one; spurious also counts the D-SACKs the peer sent about it).
closed_by is who sent a FIN or RST: client, server, both or none;
closed_first who did so first; close how it ended: rst if either side sent
an RST, else fin, else none. client_state and server_state are the states at
the end of the capture, named as ss names them (UNKNOWN, LISTEN, SYN_SENT,
SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSING, TIME_WAIT, CLOSE_WAIT,
LAST_ACK, CLOSED); states lists every transition of each endpoint from its
first state on, with the frame, the time and the reason (correction marks
one that undoes an earlier inference). rtt is each sender's RFC 6298
estimate in seconds (null without samples). conn_state and history are
Zeek's conn.log fields with Zeek's exact meaning (as zeek -C logs them).
vantage is where the capture was taken: client, server, middle or unknown,
and vantage_reason the timing that says so. reused_ports and previous_conn
mark a connection that took over the 4-tuple of an earlier one with a new
ISN; end_reason is why it left the table: end of capture, idle, evicted
(the --max-conns cap) or replaced.`,
		Example: `  tcplens conns trace.pcap
  tcplens conns trace.pcap --state CLOSE_WAIT
  tcplens conns trace.pcap --analysis zero_window --since 5m --until 10m
  tcplens conns --json trace.pcap | jq 'select(.close == "rst")'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConns(e, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print one JSON object per connection")
	o.analysis.register(f)
	o.sel.register(f, selConnShort|selAnalysis|selState)
	return cmd
}

func runConns(e *env, o connsOptions, paths []string) error {
	if err := o.analysis.check(); err != nil {
		return err
	}
	if err := o.sel.parse(); err != nil {
		return err
	}
	e.showProgress(o.json, false)
	c, err := openCapture(e, paths)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(e.stdout, 256<<10)
	rows := render.NewConnStream(w) // in ID order up to render.StreamAfter rows, then as connections end
	var werr error
	show := func(s *analyze.Summary) {
		if !o.sel.connection(s) {
			return
		}
		if o.json {
			if err := render.ConnLineJSON(w, s); err != nil && werr == nil {
				werr = err
			}
			return
		}
		rows.Add(s)
	}
	var counts analyze.TableCounts
	if o.sel.kinds.Empty() {
		p := analyze.NewParallel(o.options(), func(int) analyze.Hooks[*analyze.Summary] {
			return analyze.Hooks[*analyze.Summary]{End: func(cn *conn.Conn, why conn.EndReason) *analyze.Summary {
				s := analyze.Summarize(cn, why)
				return &s
			}}
		}, func(ended *analyze.Ended[*analyze.Summary]) {
			s := ended.Value
			s.ID, s.Previous = ended.ID, ended.Previous
			show(s)
		}, nil)
		analyzeParallel(c, p, o.sel.frame)
		counts = p.Counts()
	} else {
		// Only --analysis reads the segments, which the analysis on
		// every core does not hand back: it runs on one.
		an := analyze.New(o.options(), o.sel.observe, func(cn *conn.Conn, why conn.EndReason) {
			s := analyze.Summarize(cn, why)
			show(&s)
		})
		var f pcap.Frame
		for c.nextInto(&f) {
			o.sel.frame(&f)
			an.Add(&f)
		}
		an.Close()
		counts = an.Counts()
	}
	if werr != nil {
		return werr
	}
	if !o.json {
		if err := rows.Write(w); err != nil {
			return err
		}
	}
	reportTable(e, counts)
	if err := w.Flush(); err != nil {
		return err
	}
	return c.finish()
}
