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
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitNoInput = 1 // nothing could be read
	exitFailed  = 1 // an error while running
	exitUsage   = 2
)

// env is what a command needs from its surroundings.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	filterFile string // -F: the filter expression of every command that reads captures
	// reread says the captures are being read again, after a first
	// reading that said what there was to say of them: their notes and
	// warnings are not repeated.
	reread bool

	// progress lets openCapture draw a progress line on stderr (see
	// showProgress); terminal and now stand in for the terminal check and
	// the clock in tests.
	progress bool
	pass     string // what a reading is for, when a command reads twice
	terminal func(io.Writer) bool
	now      func() time.Time
}

// notes is where what the capture's reading says of its inputs goes.
func (e *env) notes() io.Writer {
	if e.reread {
		return io.Discard
	}
	return e.stderr
}

// again is e for a second reading of the same captures.
func (e *env) again() *env {
	a := *e
	a.reread = true
	a.pass = "second reading"
	return &a
}

// Main runs tcplens with args (without the program name) and returns the
// process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return mainWith(&env{stdin: stdin, stdout: stdout, stderr: stderr}, args)
}

// mainWith is Main in surroundings a test may have made.
func mainWith(e *env, args []string) int {
	stderr := e.stderr
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
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
	if isUsage(err) {
		fmt.Fprintln(stderr, "Run 'tcplens --help' for usage.")
		return exitUsage
	}
	return exitFailed
}

// usageError is an error in how tcplens was called: a flag, an argument,
// a filter. Only these end with the advice to read --help; an error met
// while running (a file that cannot be written, a namespace that does not
// exist) does not.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// usagef makes a usageError.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// isUsage reports whether err is a usage error: ours, or cobra's about
// its flags, arguments and commands.
func isUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most", "bad flag syntax"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
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
	root.CompletionOptions.HiddenDefaultCmd = false
	root.PersistentFlags().StringVarP(&e.filterFile, "filter-file", "F", "", "read the filter expression from `FILE` (commands that read captures, and capture)")
	root.AddCommand(newReadCmd(e), newDissectCmd(e), newConnsCmd(e))
	root.AddCommand(newSSCmd(e))
	root.AddCommand(newCaptureCmd(e))
	root.AddCommand(newLabCmd(e))
	root.AddCommand(newDiagnoseCmd(e), newExplainCmd(e))
	root.AddCommand(newReportCmd(e), newGraphCmd(e))
	root.AddCommand(newCompareCmd(e))
	root.AddCommand(newExportCmd(e))
	setupOverview(root, e)
	addCompletions(root, e)
	return root
}

// version names the build: the module version (when installed with go
// install of a tagged version), the VCS commit and its time, and says so
// when the build carries none (go build -buildvcs=false, a tarball).
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown version: the binary carries no build information)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	rev, when, dirty := "", "", ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ", with uncommitted changes"
			}
		}
	}
	if rev == "" {
		return v + ", built without VCS information (no commit recorded)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if when != "" {
		when = " of " + when
	}
	return fmt.Sprintf("%s, commit %s%s%s", v, rev, when, dirty)
}
