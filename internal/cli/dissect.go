package cli

import (
	"bufio"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/dissect"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/render"
)

// exitNoFrame ends dissect when a requested frame is not in the capture.
const exitNoFrame = 1

type dissectOptions struct {
	frames frameList
	json   bool
}

func newDissectCmd(e *env) *cobra.Command {
	var o dissectOptions
	cmd := &cobra.Command{
		Use:   "dissect [flags] FILE... -f N",
		Short: "Show one segment field by field: every header bit, option and checksum, with its meaning",
		Long: `dissect shows frames field by field, as Wireshark's packet details do, and
says what each field means for this segment: the frame's capture facts, every
field of the link header (Ethernet with its VLAN tags, Linux cooked v1 and v2,
loopback, and every other link type read reads: PPP, FDDI, Token Ring, 802.11
and its radio headers, pflog, NFLOG, ...) and of each encapsulation after it
(802.2 LLC and SNAP, MPLS label stack entries, PPPoE, PPP, Cisco HDLC, the
802.11 MAC header), of IPv4 or IPv6 (with each extension header) and of TCP, each
TCP option, the IPv4 and TCP checksums verified, and the first 64 bytes of
the payload. Each line shows the field's byte offset in the frame, its bits
when it is narrower than a byte, its raw value and its meaning.

-f N picks the frame, numbered from 1 as Wireshark numbers it; with several
files, frames are numbered across the files merged in time order. Repeat -f
or give a list: -f 3,7,10-12. A frame that carries no TCP is dissected as far
as tcplens understands it, and dissect says where and why it stops.

--json prints one JSON object per frame, one per line. Its schema:
  {"frame": {number, time, epoch, wire_length, captured_length, truncated,
             snaplen, link_type, link_type_name, file, file_offset, interface},
   "layers": [{name, title, offset, length, summary,
               "fields": [{name, label, offset, length, bits: {first, count},
                           raw, value, meaning, fields: [...]}]}],
   "checksums": [{layer, offset, status, value, computed, offload, reason}],
   "stop": {layer, offset, reason, malformed} or null,
   "warnings": [{layer, offset, message}]}
Offsets are bytes from the start of the frame; bits.first counts from the
most significant bit of the byte at offset; raw is hexadecimal.`,
		Example: `  tcplens dissect trace.pcap -f 1
  tcplens dissect trace.pcap -f 3,7,10-12
  tcplens dissect part1.pcap part2.pcap -f 1500 --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(o.frames) == 0 {
				return usagef("dissect: which frame? give -f N (frames are numbered from 1, as Wireshark numbers them)")
			}
			return runDissect(e, o, args)
		},
	}
	f := cmd.Flags()
	f.VarP(&o.frames, "frame", "f", "frame `N` to dissect, numbered from 1; repeat it or give a list such as 3,7,10-12")
	f.BoolVar(&o.json, "json", false, "print one JSON object per frame, one per line (see the schema above)")
	return cmd
}

func runDissect(e *env, o dissectOptions, paths []string) error {
	e.showProgress(o.json, true)
	c, err := openCapture(e, paths)
	if err != nil {
		return err
	}
	last := o.frames[len(o.frames)-1].hi
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	printed := 0
	// The frames before the chosen one are analysed too: their
	// connection says what each endpoint's state was and what the
	// receiver does with it.
	var cx *dissect.Connection
	an := analyze.New(analyze.Options{}, func(s *analyze.Segment) {
		if o.frames.has(s.Frame.Number) {
			cx = dissect.ConnectionOf(s)
		}
	}, nil)
	for {
		f, ok := c.next()
		if !ok || f.Number > last {
			break
		}
		cx = nil
		an.Add(&f)
		if !o.frames.has(f.Number) {
			continue
		}
		d := dissect.Frame(&f, c.describe(&f))
		d.AddConnection(cx)
		if printed > 0 && !o.json {
			w.WriteByte('\n')
		}
		if err := render.Dissection(w, d, render.DissectOptions{JSON: o.json}); err != nil {
			return err
		}
		printed++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := c.finish(); err != nil {
		return err
	}
	if missing := o.frames.above(c.read); missing != "" {
		return &exitError{code: exitNoFrame, msg: fmt.Sprintf("%s beyond the end of the capture, which has %s", missing, framesWord(c.read))}
	}
	if printed == 0 && c.filter != nil {
		return &exitError{code: exitNoFrame, msg: fmt.Sprintf("no frame asked for passes the filter %q", c.filter)}
	}
	return nil
}

// describe says where a frame came from: its file, the interface's
// snapshot length and name.
func (c *capture) describe(f *pcap.Frame) dissect.Capture {
	var d dissect.Capture
	if f.File < 0 || f.File >= len(c.inputs) {
		return d
	}
	in := c.inputs[f.File]
	d.File = in.name
	if ifs := in.reader.Interfaces(); f.Interface >= 0 && f.Interface < len(ifs) {
		d.SnapLen = ifs[f.Interface].SnapLen
		d.Interface = ifs[f.Interface].Name
	}
	return d
}

func framesWord(n int) string {
	if n == 1 {
		return "1 frame"
	}
	return strconv.Itoa(n) + " frames"
}

// frameList is the value of -f: frame numbers and ranges, kept sorted and
// merged. It implements pflag.Value.
type frameList []frameRange

// frameRange is the frames lo to hi, inclusive.
type frameRange struct{ lo, hi int }

func (l *frameList) String() string {
	var parts []string
	for _, r := range *l {
		if r.lo == r.hi {
			parts = append(parts, strconv.Itoa(r.lo))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", r.lo, r.hi))
		}
	}
	return strings.Join(parts, ",")
}

func (l *frameList) Type() string { return "N[,N|N-M...]" }

// Set adds "3", "7,9" or "10-12" (and lists of them) to the list.
func (l *frameList) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return fmt.Errorf("empty frame number in %q", s)
		}
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := parseFrameNumber(lo, item)
		if err != nil {
			return err
		}
		b := a
		if isRange {
			if b, err = parseFrameNumber(hi, item); err != nil {
				return err
			}
			if b < a {
				return fmt.Errorf("frame range %q runs backwards", item)
			}
		}
		*l = append(*l, frameRange{a, b})
	}
	l.normalise()
	return nil
}

func parseFrameNumber(s, item string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("frame %q is not a number or a range N-M", item)
	}
	if n < 1 {
		return 0, fmt.Errorf("frame %q: frames are numbered from 1", item)
	}
	return n, nil
}

// normalise sorts the ranges and merges those that overlap or touch.
func (l *frameList) normalise() {
	r := *l
	slices.SortFunc(r, func(a, b frameRange) int { return a.lo - b.lo })
	out := r[:0]
	for _, x := range r {
		if n := len(out); n > 0 && x.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, x.hi)
			continue
		}
		out = append(out, x)
	}
	*l = out
}

// has reports whether frame n was asked for.
func (l frameList) has(n int) bool {
	_, found := slices.BinarySearchFunc(l, n, func(r frameRange, n int) int {
		switch {
		case r.hi < n:
			return -1
		case r.lo > n:
			return 1
		}
		return 0
	})
	return found
}

// above describes the requested frames after frame total ("frame 9 is",
// "frames 9-12 are"), or returns "" if there are none.
func (l frameList) above(total int) string {
	var parts []string
	count := 0
	for _, r := range l {
		if r.hi <= total {
			continue
		}
		lo := max(r.lo, total+1)
		count += r.hi - lo + 1
		if lo == r.hi {
			parts = append(parts, strconv.Itoa(lo))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", lo, r.hi))
		}
	}
	switch {
	case count == 0:
		return ""
	case count == 1:
		return "frame " + parts[0] + " is"
	}
	return "frames " + strings.Join(parts, ",") + " are"
}
