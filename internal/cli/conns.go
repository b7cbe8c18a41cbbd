package cli

import (
	"bufio"
	"slices"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/render"
)

type connsOptions struct {
	json     bool
	maxConns int
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
conn_state and history.

--json prints one JSON object per connection, in the order the connections
end (idle, replaced by a new connection on the same 4-tuple, or at the end of
the capture), with the options each side offered and what was negotiated,
retransmissions by kind per side, each endpoint's state history with the
frame and reason of every transition, the RTT estimates, and the vantage
point (client, server, middle, unknown) the handshake timing implies.`,
		Example: `  tcplens conns trace.pcap
  tcplens conns --json trace.pcap | jq 'select(.close == "rst")'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConns(e, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print one JSON object per connection")
	f.IntVar(&o.maxConns, "max-conns", 0, "most connections held at once (default 1048576); the oldest idle are evicted and counted")
	return cmd
}

func runConns(e *env, o connsOptions, paths []string) error {
	c, err := openCapture(e, paths)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(e.stdout, 256<<10)
	var sums []analyze.Summary
	var werr error
	an := analyze.New(analyze.Options{MaxConns: o.maxConns}, nil, func(cn *conn.Conn, why conn.EndReason) {
		s := analyze.Summarize(cn, why)
		if o.json {
			if err := render.ConnLineJSON(w, &s); err != nil && werr == nil {
				werr = err
			}
			return
		}
		sums = append(sums, s)
	})
	for {
		f, ok := c.next()
		if !ok {
			break
		}
		an.Add(&f)
	}
	an.Close()
	if werr != nil {
		return werr
	}
	if !o.json {
		slices.SortFunc(sums, func(a, b analyze.Summary) int { return a.ID - b.ID })
		if err := render.ConnTable(w, sums); err != nil {
			return err
		}
	}
	reportTable(e, an)
	if err := w.Flush(); err != nil {
		return err
	}
	return c.finish()
}
