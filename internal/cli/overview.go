package cli

import (
	"bufio"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/bpf"
	"github.com/tcplens/tcplens/internal/render"
)

type overviewOptions struct{ reportOptions }

// setupOverview makes `tcplens FILE...` print the overview, and `tcplens`
// alone the overview of the built-in demo capture.
func setupOverview(root *cobra.Command, e *env) {
	var o overviewOptions
	root.Args = cobra.ArbitraryArgs
	root.Use = "tcplens [FILE...] | tcplens COMMAND"
	root.Example = `  tcplens trace.pcap            # the overview: capture facts, connections, findings
  tcplens                       # the same on the built-in demo capture
  tcplens diagnose trace.pcap   # every finding, explained
  tcplens explain trace.pcap -c 3`
	root.RunE = func(cmd *cobra.Command, args []string) error {
		return runOverview(e, o, args)
	}
	o.register(root.Flags())
	root.AddCommand(newDemoCmd(e))
}

func newDemoCmd(e *env) *cobra.Command {
	var o overviewOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The overview of the small real capture built into tcplens",
		Long: `demo prints the overview (what tcplens FILE prints) of the capture built into
the binary: a few real Linux connections recorded in network namespaces, each
showing a pattern tcplens diagnoses. tcplens with no arguments does the same.
Other commands read the demo capture when given no file, so that
tcplens explain -c 2 and tcplens diagnose work on it too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOverview(e, o, nil)
		},
	}
	o.register(cmd.Flags())
	return cmd
}

// overviewRows is how many connections the overview lists: as many as a
// person reads before turning to conns or explain.
const overviewRows = 20

func runOverview(e *env, o overviewOptions, paths []string) error {
	if len(paths) > 0 && e.filterFile == "" {
		// A mistyped command reaches here as a file name: neither a file
		// nor the start of a filter.
		p := paths[0]
		if _, err := os.Stat(p); err != nil && p != "-" && !looksLikePath(p) {
			if _, ferr := bpf.NewFilter(strings.Join(paths, " ")); ferr != nil {
				return usagef("unknown command %q (and no file of that name)", p)
			}
		}
	}
	e.showProgress(false, false)
	st, d, c, err := o.run(e, paths, overviewRows, nil)
	if err != nil {
		return err
	}
	files := make([]string, len(c.inputs))
	for i, in := range c.inputs {
		files[i] = in.name
	}
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	ov := &render.Overview{Files: files, Report: d.rep, Args: hintArgs(paths), MaxConns: overviewRows}
	if err := render.OverviewText(w, ov, st); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return c.finish()
}

// hintArgs is how the overview's hints name the capture: the arguments,
// or FILE… for a list too long to repeat.
func hintArgs(paths []string) string {
	s := strings.Join(paths, " ")
	if len(s) > 100 {
		return "FILE…"
	}
	return s
}
