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

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/bpf"
	live "github.com/tcplens/tcplens/internal/capture"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
	"github.com/tcplens/tcplens/internal/tcpdump"
)

type captureOptions struct {
	iface     string
	write     string
	count     int
	snapLen   int
	noPromisc bool
	timeFlags int
	absolute  bool
	nano      bool
	numeric   int
	annotate  bool
	maxConns  int
	color     string
}

func newCaptureCmd(e *env) *cobra.Command {
	var o captureOptions
	cmd := &cobra.Command{
		Use:   "capture -i IFACE [flags] [FILTER...]",
		Short: "Capture live from an interface and analyse every TCP segment as it arrives",
		Long: `capture reads frames live from an interface (AF_PACKET, as root) and analyses
them as they arrive, exactly as read, conns and diagnose analyse a file: one
line per TCP segment, byte for byte as tcplens read (and tcpdump -nn) prints
it, and with -a (--annotate, as read -a) each endpoint's state after the
segment and what the segment means. When the capture stops (Ctrl-C, or -c
frames) it prints the connection table, as tcplens conns prints it, and the
findings, as tcplens diagnose prints them; and on standard error the
kernel's packet and drop counters, as tcpdump does.

FILTER is a tcpdump capture filter, compiled to BPF by tcplens and run in
the kernel, in libpcap's language (see tcplens read --help); -F FILE reads it
from a file. For what tcplens does not compile (mpls, pppoe, protochain),
give tcpdump's compiled program instead:
tcplens capture -i eth0 "$(tcpdump -ddd 'EXPR')".

-w also writes every captured frame (TCP or not) to a pcapng file, flushed
as it goes, so tcplens read can follow it; read -a, conns and diagnose of
that file print what capture printed. With -w - the file goes to standard
output, and the connection table and findings to standard error. -i any captures on every interface
as Linux cooked frames.`,
		Example: `  tcplens capture -i eth0 tcp port 443
  tcplens capture -i lo -a -w hello.pcapng port 9999
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
	f.CountVarP(&o.timeFlags, "time", "t", "timestamp format as tcpdump: -t none, -tt epoch seconds, -ttt delta, -tttt date and time, -ttttt since first")
	f.BoolVarP(&o.absolute, "absolute", "S", false, "print absolute sequence numbers, as tcpdump -S")
	f.BoolVar(&o.nano, "nano", false, "print nanosecond timestamps")
	f.CountVarP(&o.numeric, "numeric", "n", "accepted for tcpdump habits (-nn); tcplens never resolves names")
	f.BoolVarP(&o.annotate, "annotate", "a", false, "add each endpoint's state and the analysis to every line, as read -a")
	addMaxConns(f, &o.maxConns)
	f.StringVar(&o.color, "color", "auto", "colour the findings: auto (in a terminal), always or never")
	cmd.MarkFlagRequired("interface")
	return cmd
}

// stream is what happens to each captured frame: it is written to the
// file, analysed and diagnosed, and printed as read prints it.
type stream struct {
	printer  *tcpdump.Printer
	out      *bufio.Writer // nil: no lines (-w -)
	ng       *pcap.NGWriter
	ngID     int
	annotate bool
	style    render.Style
	an       *analyze.Analyzer
	col      *diagnose.Collector
	seg      *analyze.Segment // the segment an.Add just analysed, nil if none
	line     []byte
	err      error
}

// newStream analyses with the diagnosis's collector beside it. The
// collector diagnoses each connection as it ends and keeps of it only its
// share in the capture-wide counts, unless it is among the maxConnRows
// most interesting: a capture left running for days stays within the
// memory of the connections open at once.
func newStream(p *tcpdump.Printer, annotate bool, maxConns int, style render.Style) *stream {
	s := &stream{printer: p, annotate: annotate, style: style, col: diagnose.NewCollector()}
	s.col.Rows = maxConnRows
	s.an = analyze.New(analyze.Options{MaxConns: maxConns}, func(seg *analyze.Segment) {
		s.seg = seg
		s.col.Segment(seg)
	}, s.col.OnConn)
	return s
}

func (s *stream) frame(f *pcap.Frame) {
	if s.ng != nil {
		if err := s.ng.WritePacket(s.ngID, f); err != nil && s.err == nil {
			s.err = err
		}
	}
	s.seg = nil
	s.an.Add(f)
	if s.out != nil {
		var ok bool
		if s.line, ok = appendSegmentLine(s.line[:0], s.printer, f, s.seg, s.annotate); ok {
			if _, err := s.out.Write(s.line); err != nil && s.err == nil {
				s.err = err
			}
		}
	}
}

// appendSegmentLine appends the line read prints for f: tcpdump's, and
// with annotate the annotation of seg (the analysis of f; nil when f held
// no analysable TCP). ok is false when tcpdump prints no line for f.
func appendSegmentLine(b []byte, p *tcpdump.Printer, f *pcap.Frame, seg *analyze.Segment, annotate bool) (_ []byte, ok bool) {
	b, ok = p.Append(b, f)
	if ok && annotate && seg != nil {
		b = render.AppendAnnotation(b[:len(b)-1], seg)
		b = append(b, '\n')
	}
	return b, ok
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

// finish ends the analysis and writes to w what tcplens conns and
// diagnose print of the same frames: the connection table, then the
// findings.
func (s *stream) finish(w io.Writer) error {
	s.an.Close()
	rep := s.col.Finish(s.an.Stats)
	if rep.ConnCount == 0 {
		return nil
	}
	if w == s.out {
		fmt.Fprintln(w) // a blank line after the segment lines
	}
	if err := connTableTail(w, rep); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return render.FindingsText(w, rep.Findings, s.style)
}

// maxConnRows bounds the table printed when a capture stops: a capture
// that ran for days has more connections than anyone reads at once.
const maxConnRows = diagnose.DefaultRows

// connTableTail writes the table of the connections the diagnosis kept
// (the most interesting maxConnRows), in the order conns prints them, and
// says how many it leaves out.
func connTableTail(w io.Writer, rep *diagnose.Report) error {
	sums := make([]analyze.Summary, len(rep.Conns))
	for i := range rep.Conns {
		sums[i] = rep.Conns[i].Summary
	}
	if err := render.ConnTable(w, sums); err != nil {
		return err
	}
	if left := rep.ConnCount - len(rep.Conns); left > 0 {
		_, err := fmt.Fprintf(w, "(%d connections are not listed, only the %d most interesting: tcplens conns on a -w file lists every one)\n", left, len(rep.Conns))
		return err
	}
	return nil
}

func runCapture(e *env, o captureOptions, args []string) error {
	if o.count < 0 {
		return usagef("-c %d: the count of frames is a number from 1 (0, the default, captures until stopped)", o.count)
	}
	if o.snapLen < 1 || o.snapLen > 262144 {
		return usagef("-s %d: the snapshot length is from 1 to 262144 bytes", o.snapLen)
	}
	if err := checkMaxConns(o.maxConns); err != nil {
		return err
	}
	filter := strings.Join(args, " ")
	if e.filterFile != "" {
		b, err := os.ReadFile(e.filterFile)
		if err != nil {
			return fmt.Errorf("-F: %w", err)
		}
		filter = string(b)
	}
	if filter != "" && !bpf.IsDump(filter) {
		// Compiled here, before any privilege is needed, so that a bad
		// filter is a usage error whoever runs it.
		if _, err := bpf.Compile(filter, bpf.Options{Kernel: true, Link: pcap.LinkEthernet}); err != nil {
			return usageError{err}
		}
	}
	style, err := styleFor(e, o.color)
	if err != nil {
		return err
	}
	h, err := live.Open(live.Options{Interface: o.iface, Filter: filter, SnapLen: o.snapLen, NoPromisc: o.noPromisc})
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return &exitError{code: exitNoInput, msg: err.Error()}
		}
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	defer h.Close()

	s := newStream(tcpdump.NewPrinter(tcpdump.Options{
		Time: timeFormat(o.timeFlags), Nano: o.nano, Absolute: o.absolute, Location: time.Local, IfName: ifNamer(),
	}), o.annotate, o.maxConns, style)
	if o.write != "-" {
		s.out = bufio.NewWriterSize(e.stdout, 64<<10)
	}
	if o.write != "" {
		var w io.Writer = e.stdout
		if o.write != "-" {
			f, err := os.Create(o.write)
			if err != nil {
				return err
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
	var summary io.Writer = e.stderr // -w -: standard output is the file
	if s.out != nil {
		summary = s.out
	}
	err = s.finish(summary)
	if ferr := s.flush(); err == nil {
		err = ferr
	}
	if s.ng != nil {
		if cerr := s.ng.Close(); err == nil {
			err = cerr
		}
	}
	reportTable(e, s.an.Counts())
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
