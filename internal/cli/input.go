package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/bpf"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/sample"
)

// Every command that reads captures reads them through openCapture, which
// takes the arguments as tcpdump takes them: files first (several are
// merged in time order as one capture, a directory stands for the
// captures in it, "-" is standard input), then a filter expression, or
// the expression in the file -F names. The filter is a read filter, as in
// tcpdump, tcptrace and tshark -R -2: the command sees only the frames
// that pass. Frames keep their numbers in the capture, so that frame 7
// is frame 7 in Wireshark whatever the filter.
//
// Files are opened only when their turn comes, and closed when read: a
// rotated capture of thousands of files holds one or two open at a time.

// input is one capture file, or standard input, or the built-in sample.
type input struct {
	name    string // as the user named it
	path    string // "" for standard input and the sample
	reopen  bool   // a regular file: opened once to learn its first time, again to read it
	first   pcap.Time
	fromDir bool // found in a directory argument

	closer io.Closer
	reader *pcap.Reader // while open
	done   bool
	size   int64           // of a regular file, 0 when unknown
	count  *countingReader // the bytes read of it, since it was last opened; nil when mapped

	// A regular file is mapped into memory while it is read (see mapFile).
	mapped   []byte
	mappable bool          // it was, or it is the built-in sample: its frames stay valid
	released int64         // how much of mapped, from its start, is given back
	marks    []releaseMark // where reading passed each releaseStep, by frame
	nextMark int64         // the offset at which the next release or mark is due
	last     int           // the number of the last frame handed out from it
	lastOff  int64         // and its offset

	// What the file said about itself, kept when it is closed.
	format     pcap.Format
	compressed bool
	bigEndian  bool
	nano       bool
	ifaces     []pcap.Interface
}

// interfaces are the file's interfaces, as far as they are known.
func (in *input) interfaces() []pcap.Interface {
	if in.reader != nil {
		return in.reader.Interfaces()
	}
	return in.ifaces
}

// keep records what the open reader knows.
func (in *input) keep() {
	r := in.reader
	in.format, in.compressed, in.bigEndian, in.nano = r.Format(), r.Compressed(), r.BigEndian(), r.Nanosecond()
	in.ifaces = slices.Clone(r.Interfaces())
}

// releaseStep is how far reading goes past the last release before the
// pages behind are given back: a few system calls per gigabyte.
const releaseStep = 4 << 20

// releaseMark says that frames numbered above frame lie at or after
// offset in their input.
type releaseMark struct {
	frame  int
	offset int64
}

// release gives back the pages of the mapped file before offset off: they
// stay in the page cache, but leave the process's resident memory, which
// would otherwise count every byte of a mapped gigabyte read to its end.
func (in *input) release(off int64) {
	end := off &^ (pageSize - 1)
	if in.mapped != nil && end > in.released {
		releaseMapped(in.mapped[in.released:end])
		in.released = end
	}
	in.nextMark = max(in.nextMark, in.released+releaseStep)
}

// passed notes that reading handed out frame n, at offset off of the
// mapped file: it gives back the pages behind, or, when the caller holds
// frames, marks where they are to be given back.
func (in *input) passed(n int, off int64, held bool) {
	in.last, in.lastOff = n, off
	if off < in.nextMark || in.compressed {
		return // a compressed file's offsets are in what it decompresses to
	}
	in.nextMark = off + releaseStep
	if held {
		in.marks = append(in.marks, releaseMark{n - 1, off})
	} else {
		in.release(off) // the frames before it are done with
	}
}

// unmap ends the mapping, once no frame in it is in use.
func (in *input) unmap() {
	if in.mapped != nil {
		unmapFile(in.mapped)
		in.mapped, in.released, in.marks, in.nextMark = nil, 0, nil, 0
	}
}

// capture is the frames of all inputs, merged in time order and passed
// through the filter, with the problems met along the way reported on
// stderr as they happen.
type capture struct {
	e        *env
	inputs   []*input // in the order the user named them
	filter   *bpf.Filter
	frames   int // frames handed out
	read     int // frames read, before the filter
	problems int
	err      error // a problem that ended the reading

	one *input // the only input: read directly

	prog     *progress // nil when no progress line is drawn
	progNext int       // the frames read at which the progress line is looked at next

	// split reads the second half of the one input on another core (see
	// split.go); skipTo, once it stopped short, is the last record it
	// handled, which the first half's reader skips to.
	split  *split
	skipTo int64

	// The merge: inputs by their first frame's time, those open with the
	// frame each has pending.
	order    []*input
	nextOpen int
	heads    []head
	count    int

	// stable says every frame's Data stays valid until the caller
	// releases it: each input is a regular file, mapped into memory and
	// not compressed (or the built-in sample), and no second reader
	// splits the file, so frames are views into the mappings, and the
	// analysis can hand them to other goroutines without copying them. A
	// caller that keeps frames past the next one says so with hold and
	// calls release as it is done with them; otherwise next releases the
	// frames before the one it returns.
	stable bool
	held   bool
	// released is the frame the caller is done with, up to which (and
	// including) release was told, from whichever goroutine; given is
	// how far the reading goroutine has given the pages back.
	released atomic.Int64
	given    int
}

// hold says the caller keeps frames after asking for the next (see
// stable): they stay valid until it releases them.
func (c *capture) hold() { c.held = true }

// release says the caller is done with every frame up to number n. It
// may be called on any goroutine (the analysis's merger calls it while
// the reader reads on): it only notes n, and the reading goroutine gives
// the pages back as it reads on (giveBack), finish the rest.
func (c *capture) release(n int) {
	for {
		old := c.released.Load()
		if int64(n) <= old || c.released.CompareAndSwap(old, int64(n)) {
			return
		}
	}
}

// giveBack gives back, on the reading goroutine, the pages of the frames
// release was told of, and unmaps the files read to their end.
func (c *capture) giveBack() {
	n := int(c.released.Load())
	if n <= c.given {
		return
	}
	c.given = n
	for _, in := range c.inputs {
		if in.mapped == nil || in.marks == nil && !in.done {
			continue
		}
		if in.done && in.last <= n {
			in.unmap()
			continue
		}
		k := 0
		for k < len(in.marks) && in.marks[k].frame <= n {
			k++
		}
		if k > 0 {
			in.release(in.marks[k-1].offset)
			in.marks = append(in.marks[:0], in.marks[k:]...)
		}
	}
}

type head struct {
	in     *input
	index  int // into inputs
	frame  pcap.Frame
	loaded bool
	stale  bool
}

// openCapture splits args into files and a filter expression, checks that
// every file can be read and that the filter compiles, and returns the
// capture. With no file it reads standard input when that is a pipe or a
// file, else the built-in sample (and says so).
func openCapture(e *env, args []string) (*capture, error) {
	paths, expr, err := splitArgs(e, args)
	if err != nil {
		return nil, err
	}
	c := &capture{e: e, skipTo: -1}
	if expr != "" {
		if c.filter, err = bpf.NewFilter(expr); err != nil {
			// A word that names no file but looks like one was meant as
			// a file, not as the start of a filter.
			if len(args) > len(paths) && looksLikePath(args[len(paths)]) {
				return nil, &exitError{code: exitNoInput, msg: fmt.Sprintf("open %s: no such file or directory", args[len(paths)])}
			}
			return nil, usageError{err}
		}
	}
	if len(paths) == 0 {
		if stdinIsData(e.stdin) {
			paths = []string{"-"}
		} else {
			fmt.Fprintf(e.notes(), "tcplens: no file given: reading the %s\n", sample.Name)
			r, err := pcap.NewReaderBytes(sample.Capture)
			if err != nil {
				return nil, err
			}
			in := &input{name: sample.Name, reader: r, mappable: true}
			in.keep()
			c.inputs = []*input{in}
			c.one = in
			c.stable = true
			return c, nil
		}
	}
	if err := c.collect(paths); err != nil {
		return nil, err
	}
	if e.progress {
		var total int64
		for _, in := range c.inputs {
			if in.size == 0 {
				total = 0 // a pipe among them: how much is left is not known
				break
			}
			total += in.size
		}
		c.prog = newProgress(e, total, e.pass)
	}
	if len(c.inputs) == 1 {
		c.one = c.inputs[0]
		if c.one.reader == nil {
			if err := c.open(c.one); err != nil {
				return nil, &exitError{code: exitNoInput, msg: err.Error()}
			}
			c.startSplit(expr)
		}
	} else {
		c.order = slices.Clone(c.inputs)
		sort.SliceStable(c.order, func(i, j int) bool { return c.order[i].first < c.order[j].first })
	}
	// Every input has been opened once by now, and said whether it could
	// be mapped and is compressed.
	c.stable = c.split == nil
	for _, in := range c.inputs {
		c.stable = c.stable && in.mappable && !in.compressed
	}
	return c, nil
}

// bytesRead is how many bytes of the inputs are read.
func (c *capture) bytesRead() int64 {
	var n int64
	for _, in := range c.inputs {
		switch {
		case in.count != nil:
			n += in.count.n
		case in.mapped != nil:
			n += in.lastOff
		}
	}
	if c.split != nil {
		n += c.split.bytes.Load()
	}
	return n
}

// splitArgs takes the leading arguments that name files, directories or
// "-" as the inputs, and joins the rest into the filter expression; -F
// gives the expression from a file instead.
func splitArgs(e *env, args []string) (paths []string, expr string, err error) {
	for _, a := range args {
		if a != "-" {
			if _, err := os.Stat(a); err != nil {
				break
			}
		}
		paths = append(paths, a)
	}
	rest := args[len(paths):]
	if e.filterFile != "" {
		if len(rest) > 0 {
			if looksLikePath(rest[0]) {
				return nil, "", &exitError{code: exitNoInput, msg: fmt.Sprintf("open %s: no such file or directory", rest[0])}
			}
			return nil, "", usageError{fmt.Errorf("give the filter either after the files or with -F, not both")}
		}
		b, err := os.ReadFile(e.filterFile)
		if err != nil {
			return nil, "", &exitError{code: exitNoInput, msg: fmt.Sprintf("-F: %v", err)}
		}
		if len(b) > bpf.MaxLength {
			return nil, "", usageError{fmt.Errorf("-F %s: the filter is %d bytes, more than the %d a filter may have", e.filterFile, len(b), bpf.MaxLength)}
		}
		return paths, strings.TrimSpace(string(b)), nil
	}
	return paths, strings.Join(rest, " "), nil
}

// looksLikePath reports whether a word that names no file was meant to:
// a path, or a capture file's name.
func looksLikePath(s string) bool {
	if strings.ContainsRune(s, os.PathSeparator) {
		return true
	}
	for _, ext := range []string{".pcap", ".pcapng", ".cap", ".gz", ".dmp", ".trc"} {
		if strings.HasSuffix(strings.ToLower(s), ext) {
			return true
		}
	}
	return false
}

// stdinIsData reports whether standard input brings data: a pipe or a
// file, not a terminal (nor /dev/null, where CI runs with none).
func stdinIsData(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false // a test's reader: tests name "-" when they mean it
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	m := st.Mode()
	return m&os.ModeNamedPipe != 0 || m.IsRegular() || m&os.ModeSocket != 0
}

// collect turns the paths into inputs, expanding directories, and reads
// each file's first frame time; a file that cannot be read is an error.
func (c *capture) collect(paths []string) error {
	var problems []string
	stdinUsed := false
	for _, p := range paths {
		if p == "-" {
			if stdinUsed {
				return usageError{errors.New("standard input named twice")}
			}
			stdinUsed = true
			c.inputs = append(c.inputs, &input{name: "standard input"})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if !st.IsDir() {
			in := &input{name: p, path: p, reopen: st.Mode().IsRegular()}
			if in.reopen {
				in.size = st.Size()
			}
			c.inputs = append(c.inputs, in)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		n := 0
		for _, ent := range entries {
			if ent.Type().IsRegular() && !strings.HasPrefix(ent.Name(), ".") {
				fp := filepath.Join(p, ent.Name())
				var size int64
				if info, err := ent.Info(); err == nil {
					size = info.Size()
				}
				c.inputs = append(c.inputs, &input{name: fp, path: fp, reopen: true, fromDir: true, size: size})
				n++
			}
		}
		if n == 0 {
			problems = append(problems, fmt.Sprintf("%s: a directory with no files", p))
		}
	}
	if len(problems) == 0 && len(c.inputs) > 1 {
		// Learn each file's first time, one file open at a time.
		kept := c.inputs[:0]
		skipped := 0
		for _, in := range c.inputs {
			if !in.reopen {
				kept = append(kept, in) // read when merged; opened first
				continue
			}
			if err := c.open(in); err != nil {
				if in.fromDir && errors.Is(err, pcap.ErrNotCapture) {
					skipped++
					continue
				}
				problems = append(problems, err.Error())
				continue
			}
			in.first = c.peekFirst(in)
			c.close(in)
			in.done = false
			kept = append(kept, in)
		}
		c.inputs = kept
		if skipped > 0 {
			fmt.Fprintf(c.e.notes(), "tcplens: %s in the directories given are not captures: skipped\n", plural(skipped, "file"))
		}
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
		}
		return &exitError{code: exitNoInput, msg: strings.Join(problems, "; ")}
	}
	if len(c.inputs) == 0 {
		return &exitError{code: exitNoInput, msg: "no capture could be read"}
	}
	for _, in := range c.inputs {
		if !in.reopen && in.reader == nil {
			if err := c.open(in); err != nil {
				return &exitError{code: exitNoInput, msg: err.Error()}
			}
			in.first = 0 // a stream cannot be peeked: it joins the merge at once
		}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// open opens an input and reads its header.
func (c *capture) open(in *input) error {
	var rd io.Reader
	if in.path == "" {
		rd = c.e.stdin
		if f, ok := rd.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				in.size = st.Size()
			}
		}
	} else {
		f, err := os.Open(in.path)
		if err != nil {
			return err
		}
		if data, ok := mapFile(f); ok {
			f.Close()
			in.mapped, in.mappable = data, true
		} else {
			rd, in.closer = f, f
		}
	}
	var r *pcap.Reader
	var err error
	if in.mapped != nil {
		r, err = pcap.NewReaderBytes(in.mapped)
		if err == nil && r.Compressed() {
			// Decompressed, its frames are copies anyway: read it as a
			// stream, which counts the bytes read (the progress line).
			in.unmap()
			in.mappable = false
			f, ferr := os.Open(in.path)
			if ferr != nil {
				return ferr
			}
			rd, in.closer = f, f
		}
	}
	if in.mapped == nil {
		in.count = &countingReader{r: rd}
		r, err = pcap.NewReader(in.count)
	}
	if err != nil {
		if in.closer != nil {
			in.closer.Close()
			in.closer = nil
		}
		in.unmap()
		return fmt.Errorf("%s: %w", in.name, err)
	}
	in.reader = r
	in.keep()
	return nil
}

// peekFirst is the time of the input's first frame; a file without one
// sorts last.
func (c *capture) peekFirst(in *input) pcap.Time {
	for {
		f, err := in.reader.Next()
		if err == nil {
			return f.Time
		}
		if err == io.EOF {
			return 1<<63 - 1
		}
	}
}

func (c *capture) close(in *input) {
	if in.reader != nil {
		// The reader warned at the first record that held no packet.
		if n := in.reader.EmptyFrames(); n > 1 {
			fmt.Fprintf(c.e.stderr, "tcplens: warning: %s: %d of its %d records captured no bytes and hold no packet\n", in.name, n, in.reader.Frames())
		}
		in.keep()
		in.reader = nil
	}
	if in.closer != nil {
		in.closer.Close()
		in.closer = nil
	}
	if !c.held {
		in.unmap()
	}
	in.done = true
}

// next returns the next frame that passes the filter, reporting problems
// on the way; false at the end.
func (c *capture) next() (pcap.Frame, bool) {
	var f pcap.Frame
	ok := c.nextInto(&f)
	return f, ok
}

// nextInto is next into *f: the analysis, which takes millions of frames,
// spares copying each through the returns.
func (c *capture) nextInto(f *pcap.Frame) bool {
	c.giveBack()
	for {
		ok, filtered := c.nextFrame(f)
		if !ok {
			c.prog.clear()
			return false
		}
		c.read = max(c.read, f.Number)
		in := c.one
		if in == nil {
			in = c.inputs[f.File]
		}
		if in.mapped != nil {
			in.passed(f.Number, f.Offset, c.held)
		}
		if c.prog != nil && c.read >= c.progNext {
			c.progNext = c.read + progressFrames
			c.prog.tick(c.read, c.bytesRead())
		}
		if c.filter != nil && !filtered {
			pass, err := c.filter.Match(f, c.inputs[f.File].bigEndian)
			if err != nil {
				c.err = usageError{err}
				return false
			}
			if !pass {
				continue
			}
		}
		c.frames++
		return true
	}
}

// analyzeAll hands every frame of c to an, then closes an.
func (c *capture) analyzeAll(an *analyze.Analyzer) {
	var f pcap.Frame
	for c.nextInto(&f) {
		an.Add(&f)
	}
	an.Close()
}

// nextFrame reads the next frame of the merge into *f, and says whether
// it passed the filter already.
func (c *capture) nextFrame(f *pcap.Frame) (ok, filtered bool) {
	if c.err != nil {
		return false, false
	}
	if c.one != nil {
		for {
			if s := c.split; s != nil && s.draining {
				fr, ok, end := s.next()
				if ok {
					*f = fr
					c.read = max(c.read, s.readSoFar())
					return true, true
				}
				c.split = nil
				if end {
					return false, false
				}
				c.skipTo = s.skipTo // the first half's reader takes over
			}
			// A call through the interface and the wrapper costs a tenth
			// of what reading a frame does: the one input is read directly.
			err := c.one.reader.Read(f)
			if err == nil {
				if f.Offset <= c.skipTo {
					continue // the second half handled it
				}
				if c.split != nil && f.Offset >= c.split.at {
					if c.split.reached(f) {
						continue // the second half has it
					}
					c.split = nil // the boundary was no record's: read on alone
				}
				return true, false
			}
			if err == io.EOF {
				return false, false
			}
			c.warn(c.one.name, err)
		}
	}
	for {
		// Advance the source whose frame was handed out last.
		for i := range c.heads {
			h := &c.heads[i]
			if h.stale {
				h.stale, h.loaded = false, false
			}
			for !h.loaded && !h.in.done {
				f, err := h.in.reader.Next()
				switch {
				case err == nil:
					h.frame, h.loaded = f, true
				case err == io.EOF:
					c.close(h.in)
				default:
					c.warn(h.in.name, err)
				}
			}
		}
		c.heads = slices.DeleteFunc(c.heads, func(h head) bool { return !h.loaded })
		best := -1
		for i := range c.heads {
			h := &c.heads[i]
			if best < 0 || h.frame.Time < c.heads[best].frame.Time || h.frame.Time == c.heads[best].frame.Time && h.index < c.heads[best].index {
				best = i
			}
		}
		// Open the next file when its first frame comes before all those
		// pending (or nothing is pending).
		if c.nextOpen < len(c.order) && (best < 0 || c.order[c.nextOpen].first <= c.heads[best].frame.Time) {
			in := c.order[c.nextOpen]
			c.nextOpen++
			if in.reader == nil {
				if err := c.open(in); err != nil {
					c.warn(in.name, err)
					continue
				}
			}
			c.heads = append(c.heads, head{in: in, index: slices.Index(c.inputs, in)})
			continue
		}
		if best < 0 {
			return false, false
		}
		h := &c.heads[best]
		h.stale = true
		c.count++
		*f = h.frame
		f.Number = c.count
		f.File = h.index
		return true, false
	}
}

func (c *capture) warn(name string, err error) {
	c.problems++
	c.prog.clear()
	fmt.Fprintf(c.e.notes(), "tcplens: warning: %s: %v\n", name, err)
}

// finish closes the files and turns "nothing could be read" into exit 1,
// and a filter that cannot take a frame's link type into exit 2.
func (c *capture) finish() error {
	c.prog.clear()
	if c.split != nil {
		c.split.cancel()
		c.split = nil
	}
	for _, in := range c.inputs {
		c.close(in)
		in.unmap()
	}
	if c.err != nil {
		return c.err
	}
	if c.frames == 0 && c.problems > 0 {
		return &exitError{code: exitNoInput, msg: "no frame could be read"}
	}
	return nil
}
