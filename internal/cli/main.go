// Package cli is tcplens's command line: flags, files, the terminal and the
// wall clock live here and nowhere else. Main runs one invocation with the
// given streams, so tests drive it exactly as a user does.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitNoInput = 1 // nothing could be read
	exitUsage   = 2
)

// env is what a command needs from its surroundings.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// Main runs tcplens with args (without the program name) and returns the
// process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "tcplens:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "tcplens:", err)
	fmt.Fprintln(stderr, "Run 'tcplens --help' for usage.")
	return exitUsage
}

// exitError ends a command with a given exit code.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "tcplens",
		Short: "Read TCP at the wire level: every segment, every endpoint's state, and why",
		Long: `tcplens reads packet captures (pcap, pcapng, gzip-compressed or not) and
explains TCP: each segment field by field, the state of both endpoints after
every segment, and what went wrong.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newReadCmd(e), newDissectCmd(e))
	return root
}
