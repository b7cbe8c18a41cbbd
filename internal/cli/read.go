package cli

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/analyze"
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
}

func newReadCmd(e *env) *cobra.Command {
	var o readOptions
	cmd := &cobra.Command{
		Use:   "read [flags] [FILE...]",
		Short: "Print every TCP segment as tcpdump -nn prints it",
		Long: `read prints one line per TCP segment, byte for byte as 'tcpdump -nn -r FILE tcp'
prints it up to and including "length N" (tcpdump's application-protocol
decoding after that is left out). Several files are merged in timestamp order
as one capture; "-" reads standard input (tcpdump -w - | tcplens read -).
With no file, read uses a small built-in sample capture.

Unlike tcpdump's "tcp" filter, read also prints VLAN-tagged frames and IPv6
segments behind extension headers.

--annotate adds, after each line, the state of both endpoints after the
segment and what the segment means:
  ... length 0 | client ESTABLISHED server ESTABLISHED | duplicate_ack #2 of frame 431
A state the segment changed shows what it was before: "(was SYN_RECV)".

--json prints one JSON object per segment instead: frame, time, conn, dir
(c2s or s2c), src, dst, flags, seq and ack (relative), seq_raw, ack_raw,
len, win, win_scaled, options, analysis, rtt, state_after, and where they
apply dup_ack, retransmits, acks_frame, ack_rtt, bytes_in_flight, changes.`,
		Example: `  tcplens read trace.pcap
  tcplens read -tt -S trace.pcapng.gz
  tcpdump -i eth0 -w - | tcplens read -`,
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
	f.IntVar(&o.maxConns, "max-conns", 0, "most connections held at once (default 1048576); the oldest idle are evicted and counted")
	f.BoolVar(&o.sequential, "sequential", false, "format on one core (the output is the same)")
	_ = f.MarkHidden("sequential")
	return cmd
}

func runRead(e *env, o readOptions, paths []string) error {
	c, err := openCapture(e, paths)
	if err != nil {
		return err
	}
	opt := tcpdump.Options{
		Time:     timeFormat(o.timeFlags),
		Nano:     o.nano,
		Absolute: o.absolute,
		Location: time.Local,
		IfName:   ifNamer(),
	}
	w := bufio.NewWriterSize(e.stdout, 256<<10)
	if !o.annotate && !o.json && !o.sequential && runtime.GOMAXPROCS(0) > 1 &&
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
	if o.annotate || o.json {
		an = analyze.New(analyze.Options{MaxConns: o.maxConns}, func(s *analyze.Segment) { seg = s }, nil)
	}
	for {
		f, ok := c.next()
		if !ok {
			break
		}
		line = line[:0]
		if an != nil {
			seg = nil
			an.Add(&f)
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
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
	}
	if an != nil {
		an.Close()
		reportTable(e, an)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return c.finish()
}

// reportTable warns when the connection table had to evict connections.
func reportTable(e *env, an *analyze.Analyzer) {
	if t := an.Table(); t.Evicted > 0 {
		fmt.Fprintf(e.stderr, "tcplens: warning: %d connections were evicted to keep memory bounded (--max-conns); their later segments were analysed as new, mid-stream connections\n", t.Evicted)
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
