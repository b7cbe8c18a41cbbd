package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/sample"
)

// input is one opened capture file.
type input struct {
	name   string
	closer io.Closer
	reader *pcap.Reader
	mapped []byte // the file mapped into memory, unmapped by finish; nil when read
	// released is how much of mapped, from its start, the process has
	// given back (see release).
	released int64
}

// releaseStep is how far reading goes past the last release before the
// pages behind are given back: a few system calls per gigabyte.
const releaseStep = 16 << 20

// release gives back the pages of the mapped file before offset off,
// which no frame in use lies in any more. They stay in the page cache, but
// leave the process's resident memory: otherwise a mapped gigabyte read to
// its end counts a gigabyte of it.
func (in *input) release(off int64) {
	if in.mapped == nil || off-in.released < releaseStep {
		return
	}
	end := off &^ (pageSize - 1)
	releaseMapped(in.mapped[in.released:end])
	in.released = end
}

// capture is the frames of all inputs, merged in time order, with the
// problems met along the way reported on stderr as they happen.
type capture struct {
	e        *env
	inputs   []*input
	src      pcap.Source
	one      *pcap.Reader // the only input: read directly, not through src
	frames   int
	problems int
	// stable says every frame's Data stays valid until finish: each input
	// is a file mapped into memory and not compressed, so frames are views
	// into the mapping and the analysis can hand them to other goroutines
	// without copying them. A caller that keeps frames past the next one
	// says so with hold, and calls release as it is done with them.
	stable bool
	held   bool
}

// hold says the caller keeps frames after asking for the next: the pages
// they lie in are given back only when it calls release.
func (c *capture) hold() { c.held = true }

// release says the caller is done with every frame of input file before
// offset off.
func (c *capture) release(file int, off int64) { c.inputs[file].release(off) }

// openCapture opens the named files ("-" is standard input). With no
// names it opens the built-in sample and says so. Files that cannot be
// opened are reported and skipped; it fails only if none opens.
func openCapture(e *env, paths []string) (*capture, error) {
	c := &capture{e: e}
	if len(paths) == 0 {
		fmt.Fprintf(e.stderr, "tcplens: no file given: reading the %s\n", sample.Name)
		r, err := pcap.NewReaderBytes(sample.Capture)
		if err != nil {
			return nil, err
		}
		c.inputs = append(c.inputs, &input{name: sample.Name, reader: r})
	}
	stdinUsed := false
	for _, p := range paths {
		var (
			rd     io.Reader
			closer io.Closer
		)
		if p == "-" {
			if stdinUsed {
				c.warn("-", errors.New("standard input named twice; reading it once"))
				continue
			}
			stdinUsed = true
			rd = e.stdin
		} else {
			f, err := os.Open(p)
			if err != nil {
				c.warn(p, err)
				continue
			}
			if data, ok := mapFile(f); ok {
				f.Close()
				r, err := pcap.NewReaderBytes(data)
				if err != nil {
					unmapFile(data)
					c.warn(p, err)
					continue
				}
				c.inputs = append(c.inputs, &input{name: displayName(p), reader: r, mapped: data})
				continue
			}
			rd, closer = f, f
		}
		r, err := pcap.NewReader(rd)
		if err != nil {
			if closer != nil {
				closer.Close()
			}
			c.warn(p, err)
			continue
		}
		c.inputs = append(c.inputs, &input{name: displayName(p), closer: closer, reader: r})
	}
	if len(c.inputs) == 0 {
		return nil, &exitError{code: exitNoInput, msg: "no capture could be read"}
	}
	srcs := make([]pcap.Source, len(c.inputs))
	for i, in := range c.inputs {
		srcs[i] = in.reader
	}
	c.src = pcap.Merge(srcs...)
	if len(c.inputs) == 1 {
		c.one = c.inputs[0].reader
	}
	c.stable = true
	for _, in := range c.inputs {
		c.stable = c.stable && in.mapped != nil && !in.reader.Compressed()
	}
	return c, nil
}

func displayName(p string) string {
	if p == "-" {
		return "standard input"
	}
	return p
}

// next returns the next frame, reporting problems on the way; false at the end.
func (c *capture) next() (pcap.Frame, bool) {
	for {
		var f pcap.Frame
		var err error
		if c.one != nil {
			// A call through the interface and the wrapper costs a tenth
			// of what reading a frame does.
			f, err = c.one.Next()
		} else {
			f, err = c.src.Next()
		}
		if err == nil {
			c.frames++
			if !c.held {
				c.inputs[f.File].release(f.Offset)
			}
			return f, true
		}
		if err == io.EOF {
			return pcap.Frame{}, false
		}
		name := c.inputs[0].name
		var se *pcap.SourceError
		if errors.As(err, &se) {
			name = c.inputs[se.File].name
			err = se.Err
		}
		c.warn(name, err)
	}
}

func (c *capture) warn(name string, err error) {
	c.problems++
	fmt.Fprintf(c.e.stderr, "tcplens: warning: %s: %v\n", name, err)
}

// finish closes the files and turns "nothing could be read" into exit 1.
func (c *capture) finish() error {
	for _, in := range c.inputs {
		if in.closer != nil {
			in.closer.Close()
		}
		if in.mapped != nil {
			unmapFile(in.mapped)
			in.mapped = nil
		}
	}
	if c.frames == 0 && c.problems > 0 {
		return &exitError{code: exitNoInput, msg: "no frame could be read"}
	}
	return nil
}
