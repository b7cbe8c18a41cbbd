package cli

import (
	"bufio"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/tcpdump"
)

type readOptions struct {
	timeFlags int  // count of -t, as tcpdump
	absolute  bool // -S
	nano      bool
	numeric   int // -n: accepted for tcpdump habits; tcplens never resolves names
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
segments behind extension headers.`,
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
	return cmd
}

func runRead(e *env, o readOptions, paths []string) error {
	c, err := openCapture(e, paths)
	if err != nil {
		return err
	}
	p := tcpdump.NewPrinter(tcpdump.Options{
		Time:     timeFormat(o.timeFlags),
		Nano:     o.nano,
		Absolute: o.absolute,
		Location: time.Local,
		IfName:   ifNamer(),
	})
	w := bufio.NewWriterSize(e.stdout, 256<<10)
	var line []byte
	for {
		f, ok := c.next()
		if !ok {
			break
		}
		line, _ = p.Append(line[:0], &f)
		if len(line) > 0 {
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return c.finish()
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
// tcpdump does with if_indextoname(), remembering each answer.
func ifNamer() func(uint32) string {
	names := map[uint32]string{}
	return func(i uint32) string {
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
