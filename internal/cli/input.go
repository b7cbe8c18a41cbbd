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
}

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

// finish closes the files, says how many records of each held no bytes
// (the reader warned at the first), and turns "nothing could be read"
// into exit 1.
func (c *capture) finish() error {
	for _, in := range c.inputs {
		if in.closer != nil {
			in.closer.Close()
		}
		if n := in.reader.EmptyFrames(); n > 1 {
			fmt.Fprintf(c.e.stderr, "tcplens: warning: %s: %d of its %d records captured no bytes and hold no packet\n", in.name, n, in.reader.Frames())
		}
	}
	if c.frames == 0 && c.problems > 0 {
		return &exitError{code: exitNoInput, msg: "no frame could be read"}
	}
	return nil
}
