package cli

import (
	"bufio"
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/lab"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

// exitInterrupted is the shell's code for a command ended by SIGINT.
const exitInterrupted = 130

type labOptions struct {
	order  string // client, server or both
	write  string // -w: the capture as pcapng
	asUser bool   // behave as without root: no capture, no holds
	lab.Options
}

func newLabCmd(e *env) *cobra.Command {
	o := labOptions{order: "both", Options: lab.Options{Interval: time.Millisecond, Wait: 3 * time.Second}}
	cmd := &cobra.Command{
		Use:   "lab [flags]",
		Short: "The hello exercise on loopback: the capture, analysed, beside the socket states ss sees",
		Long: `lab runs the hands-on exercise of learning TCP end to end on loopback. It
starts a minimal listener that reads to end of file, writes back what it read
uppercased and closes; captures on lo, filtered to the listener's port;
connects and sends "hello"; and prints, interleaved by time, what each
application did, every segment as tcplens read -a prints it (tcpdump's line,
then both endpoints' states as tcplens infers them from the capture), and
every socket transition the kernel reports, as tcplens ss --watch prints
them. It does so for both close orders: the client first (the server goes
CLOSE_WAIT -> LAST_ACK) and the server first (it goes FIN_WAIT1 -> FIN_WAIT2
-> TIME_WAIT), then compares the states ss saw with those the capture shows.

As root, lab works in a network namespace of its own (its own lo, gone when
lab ends) and holds each FIN back once with an iptables rule, so that the
state its sender enters (FIN_WAIT1, LAST_ACK) lasts until the kernel resends
it, about 200 ms, long enough for ss to see; on loopback they otherwise last
microseconds. Without root there is no capture (AF_PACKET needs CAP_NET_RAW)
and nothing is held: lab says so and shows what ss sees on the host's lo.
Between steps lab waits until ss has seen the state the step leads to.`,
		Example: `  sudo tcplens lab
  sudo tcplens lab --order server -w lab.pcapng && tcplens dissect lab.pcapng -f 6
  tcplens lab          # without root: the socket states only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLab(e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.order, "order", o.order, "which side closes first: client, server, or both (one after the other)")
	f.IntVar(&o.Port, "port", 0, "the listener's port (default: a free one)")
	f.DurationVar(&o.Interval, "interval", o.Interval, "how often the sockets are read, as ss --watch INTERVAL")
	f.StringVarP(&o.write, "write", "w", "", "also write the capture to this pcapng `FILE`")
	f.BoolVar(&o.asUser, "as-user", false, "run as without root: no capture, nothing held")
	f.MarkHidden("as-user")
	return cmd
}

func runLab(e *env, o labOptions) error {
	switch o.order {
	case "client":
		o.ClientFirst = true
	case "server":
		o.ServerFirst = true
	case "both":
		o.ClientFirst, o.ServerFirst = true, true
	default:
		return usagef("--order %q: want client, server or both", o.order)
	}
	if o.Interval <= 0 {
		return usagef("--interval %v: the polling interval is positive", o.Interval)
	}
	if o.Port < 0 || o.Port > 65535 {
		return usagef("--port %d: a port is a number from 0 to 65535", o.Port)
	}
	o.AsUser, o.CaptureFile = o.asUser, o.write
	p := tcpdump.NewPrinter(tcpdump.Options{Time: tcpdump.TimeNone})
	o.Line = func(b []byte, f *pcap.Frame, seg *analyze.Segment) []byte {
		start := len(b)
		b, ok := appendSegmentLine(b, p, f, seg, true)
		if !ok {
			return b[:start]
		}
		return b
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := lab.Do(ctx, o.Options)
	if err != nil {
		return &exitError{code: exitNoInput, msg: err.Error()}
	}
	w := bufio.NewWriter(e.stdout)
	if err := render.LabText(w, res); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if res.Interrupted {
		return &exitError{code: exitInterrupted, msg: lab.ErrInterrupted.Error()}
	}
	return nil
}
