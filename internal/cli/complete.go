package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/graph"
	"github.com/tcplens/tcplens/internal/tcp"
)

// completeConnsLimit is the most capture bytes the shell's completion of
// a connection id reads: a few tenths of a second.
const completeConnsLimit = 32 << 20

// addCompletions teaches cobra's completion (tcplens completion bash,
// zsh, fish, powershell) the values of the flags that take names, and the
// connection ids of a capture small enough to read at once, on every
// command that has such a flag.
func addCompletions(root *cobra.Command, e *env) {
	names := func(list ...string) cobra.CompletionFunc {
		return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return list, cobra.ShellCompDirectiveNoFileComp
		}
	}
	var kinds []string
	for k := event.Kind(1); k.String() != "invalid"; k++ {
		kinds = append(kinds, k.String()+"\t"+k.Explain())
	}
	var findings []string
	for _, r := range diagnose.Catalogue() {
		findings = append(findings, r.ID+"\t"+r.Pattern)
	}
	var states []string
	for st := tcp.Closed; st <= tcp.LastAck; st++ {
		states = append(states, st.String())
	}
	var cmds []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		cmds = append(cmds, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, c := range cmds {
		reg := func(flag string, f cobra.CompletionFunc) {
			if c.Flags().Lookup(flag) != nil {
				c.RegisterFlagCompletionFunc(flag, f)
			}
		}
		reg("analysis", names(kinds...))
		reg("state", names(states...))
		reg("finding", names(findings...))
		reg("color", names("auto", "always", "never"))
		reg("min-severity", names("info", "notice", "warning", "error"))
		var pictures []string
		for _, k := range graph.Kinds {
			pictures = append(pictures, k.String())
		}
		reg("kind", names(pictures...))
		reg("dir", names("auto", "client", "server"))
		reg("conn", func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return connIDs(e, args), cobra.ShellCompDirectiveNoFileComp
		})
	}
}

// connIDs lists the connections of the captures args name, with their
// endpoints, when they are small enough to analyse at once.
func connIDs(e *env, args []string) []string {
	var size int64
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || st.IsDir() {
			continue
		}
		size += st.Size()
	}
	if size > completeConnsLimit {
		return nil
	}
	quiet := &env{stdin: e.stdin, stdout: io.Discard, stderr: io.Discard, filterFile: e.filterFile}
	c, err := openCapture(quiet, args)
	if err != nil {
		return nil
	}
	var out []string
	c.analyzeAll(analyze.New(analyze.Options{MaxConns: conn.DefaultMaxConns}, nil, func(cn *conn.Conn, _ conn.EndReason) {
		cl, sv := cn.Ends[cn.Client].Addr, cn.Ends[1-cn.Client].Addr
		out = append(out, fmt.Sprintf("%d\t%s → %s", cn.ID, cl, sv))
	}))
	c.finish()
	return out
}
