// Package cli is tcplens's command line: flags, files, the terminal and the
// wall clock live here and nowhere else. Main runs one invocation with the
// given streams, so tests drive it exactly as a user does.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"

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
	err := execute(root)
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

// execute runs the command, profiled when TCPLENS_CPUPROFILE names a file.
func execute(root *cobra.Command) error {
	stop, err := startProfile(os.Getenv("TCPLENS_CPUPROFILE"))
	if err != nil {
		return err
	}
	defer stop()
	return root.Execute()
}

// startProfile writes a CPU profile of the whole run to path, when set:
// BENCHMARKS.md profiles the commands as users run them, output and
// file reading included, which a Go benchmark of a package does not.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("TCPLENS_CPUPROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("TCPLENS_CPUPROFILE: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
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
	root.Version = version()
	root.SetVersionTemplate("tcplens {{.Version}}\n")
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newReadCmd(e), newDissectCmd(e), newConnsCmd(e))
	root.AddCommand(newSSCmd(e))
	root.AddCommand(newCaptureCmd(e))
	root.AddCommand(newLabCmd(e))
	root.AddCommand(newDiagnoseCmd(e), newExplainCmd(e))
	root.AddCommand(newReportCmd(e), newGraphCmd(e))
	root.AddCommand(newCompareCmd(e))
	setupOverview(root, e)
	return root
}

// version names the build: the module version when installed with
// go install, else the VCS revision the binary was built from.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown version)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "(devel)"
	}
	return "devel " + rev + dirty
}
