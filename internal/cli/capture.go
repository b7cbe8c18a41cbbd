package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	live "github.com/tcplens/tcplens/internal/capture"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

type captureOptions struct {
	iface      string
	write      string
	count      int
	snapLen    int
	noPromisc  bool
	filterFile string
	timeFlags  int
	absolute   bool
	nano       bool
	numeric    int
}

func newCaptureCmd(e *env) *cobra.Command {
	var o captureOptions
	cmd := &cobra.Command{
		Use:   "capture -i IFACE [flags] [FILTER...]",
		Short: "Capture live from an interface and print every TCP segment as tcpdump does",
		Long: `capture reads frames live from an interface (AF_PACKET, as root) and prints one
line per TCP segment, byte for byte as tcplens read (and tcpdump -nn) prints
it. FILTER is a tcpdump capture filter, compiled to BPF by tcplens and run in
the kernel: host, net, port, portrange, src/dst, tcp, udp, icmp, ip, ip6,
vlan, proto, greater/less, with and/or/not. For anything else, give tcpdump's
compiled program instead: tcplens capture -i eth0 "$(tcpdump -ddd 'EXPR')".

-w also writes every captured frame (TCP or not) to a pcapng file, flushed
as it goes, so tcplens read can follow it. -i any captures on every
interface as Linux cooked frames. Ctrl-C stops; the kernel's packet and drop
counters are printed on standard error, as tcpdump does.`,
		Example: `  tcplens capture -i eth0 tcp port 443
  tcplens capture -i lo -w hello.pcapng port 9999
  tcplens capture -i any -c 100 host 10.0.0.7`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCapture(e, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.iface, "interface", "i", "", "capture on this interface (\"any\" for all)")
	f.StringVarP(&o.write, "write", "w", "", "also write the frames to this pcapng `FILE` (\"-\": standard output, and no lines)")
	f.IntVarP(&o.count, "count", "c", 0, "stop after this many frames")
	f.IntVarP(&o.snapLen, "snapshot-length", "s", 262144, "keep at most this many bytes of each frame")
	f.BoolVarP(&o.noPromisc, "no-promiscuous-mode", "p", false, "do not put the interface in promiscuous mode")
	f.StringVarP(&o.filterFile, "filter-file", "F", "", "read the filter expression (or tcpdump -ddd text) from this `FILE`")
	f.CountVarP(&o.timeFlags, "time", "t", "timestamp format as tcpdump: -t none, -tt epoch seconds, -ttt delta, -tttt date and time, -ttttt since first")
	f.BoolVarP(&o.absolute, "absolute", "S", false, "print absolute sequence numbers, as tcpdump -S")
	f.BoolVar(&o.nano, "nano", false, "print nanosecond timestamps")
	f.CountVarP(&o.numeric, "numeric", "n", "accepted for tcpdump habits (-nn); tcplens never resolves names")
	cmd.MarkFlagRequired("interface")
	return cmd
}

// stream is what happens to each captured frame. It is kept as one
// function of the frame so that the analysis (connections, endpoint
// states, findings) can be added beside the printer.
type stream struct {
	printer *tcpdump.Printer
	out     *bufio.Writer // nil: no lines (-w -)
	ng      *pcap.NGWriter
	ngID    int
	line    []byte
	err     error
}

func (s *stream) frame(f *pcap.Frame) {
	if s.ng != nil {
		if err := s.ng.WritePacket(s.ngID, f); err != nil && s.err == nil {
			s.err = err
		}
	}
	if s.out != nil {
		var ok bool
		if s.line, ok = s.printer.Append(s.line[:0], f); ok {
			if _, err := s.out.Write(s.line); err != nil && s.err == nil {
				s.err = err
			}
		}
	}
}

func (s *stream) flush() error {
	if s.out != nil {
		if err := s.out.Flush(); err != nil && s.err == nil {
			s.err = err
		}
	}
	if s.ng != nil {
		if err := s.ng.Flush(); err != nil && s.err == nil {
			s.err = err
		}
	}
	return s.err
}

func runCapture(e *env, o captureOptions, args []string) error {
	filter := strings.Join(args, " ")
	if o.filterFile != "" {
		b, err := os.ReadFile(o.filterFile)
		if err != nil {
			return &exitError{code: exitUsage, msg: err.Error()}
		}
		filter = string(b)
	}
	h, err := live.Open(live.Options{Interface: o.iface, Filter: filter, SnapLen: o.snapLen, NoPromisc: o.noPromisc})
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return &exitError{code: exitNoInput, msg: err.Error()}
		}
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	defer h.Close()

	s := &stream{printer: tcpdump.NewPrinter(tcpdump.Options{
		Time: timeFormat(o.timeFlags), Nano: o.nano, Absolute: o.absolute, Location: time.Local, IfName: ifNamer(),
	})}
	if o.write != "-" {
		s.out = bufio.NewWriterSize(e.stdout, 64<<10)
	}
	if o.write != "" {
		var w io.Writer = e.stdout
		if o.write != "-" {
			f, err := os.Create(o.write)
			if err != nil {
				return &exitError{code: exitUsage, msg: err.Error()}
			}
			defer f.Close()
			w = f
		}
		if s.ng, err = pcap.NewNGWriter(w); err != nil {
			return err
		}
		s.ngID = s.ng.AddInterface(o.iface, h.Link(), o.snapLen)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		h.Stop()
	}()
	fmt.Fprintf(e.stderr, "tcplens: listening on %s, link-type %s, snapshot length %d bytes\n", o.iface, h.Link(), o.snapLen)

	captured := 0
	lastFlush := time.Now()
	for o.count == 0 || captured < o.count {
		f, err := h.Next()
		if err == live.ErrTimeout {
			if err := s.flush(); err != nil {
				return err
			}
			lastFlush = time.Now()
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			s.flush()
			return err
		}
		captured++
		s.frame(&f)
		// A busy link never times out: flush on the clock as well, so a
		// reader of the lines or of the file follows within a tenth of a second.
		if time.Since(lastFlush) > 100*time.Millisecond {
			if err := s.flush(); err != nil {
				return err
			}
			lastFlush = time.Now()
		}
	}
	err = s.flush()
	if s.ng != nil {
		if cerr := s.ng.Close(); err == nil {
			err = cerr
		}
	}
	st, serr := h.Stats()
	fmt.Fprintf(e.stderr, "%d packets captured\n", captured)
	if serr == nil {
		fmt.Fprintf(e.stderr, "%d packets received by filter\n%d packets dropped by kernel\n", st.Received, st.Dropped)
		if st.Freezes > 0 {
			fmt.Fprintf(e.stderr, "%d ring freezes\n", st.Freezes)
		}
	}
	return err
}
