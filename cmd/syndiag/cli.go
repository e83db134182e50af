package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows"
	"github.com/syndiag/syndiag/report"
)

// What every command shares: its flags parsed quietly, a command line that
// cannot run said in one line, the output file, and the exit code.

// Exit codes, as DESIGN.md and the README define them; exitInternal is in
// crash.go, exitInterrupted in triage.go.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
	exitExpect   = 3
)

// parseFlags parses a command's flags without printing anything: --help is
// pflag.ErrHelp, and any other problem an error that says how to get the
// help of the command (command is "syndiag", "syndiag triage", …).
func parseFlags(fs *pflag.FlagSet, args []string, command string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%v (try %s --help)", err, command)
}

// stopped ends a command whose command line did not parse: with --help
// (pflag.ErrHelp) it prints help and exits 0; otherwise it says the
// problem after the command's name and exits 2.
func stopped(err error, command, help string, stderr io.Writer) int {
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(stderr, help)
		return exitOK
	}
	fmt.Fprintf(stderr, "%s: %v\n", command, err)
	return exitUsage
}

// exitCode is the exit code of a run that analyzed something, when several
// apply: a difference from --expect (3), then a finding at or above
// --fail-on (1), then an input that could not be read (2). A CI job
// watches 3 and 1; one unreadable upload among many must not hide them,
// and it is named on stderr and in the report anyway. An interrupt (130)
// and an internal error (4) outrank all three and are decided before.
func exitCode(changed, failed, unreadable bool) int {
	switch {
	case changed:
		return exitExpect
	case failed:
		return exitFindings
	case unreadable:
		return exitUsage
	}
	return exitOK
}

// failOn is --fail-on: the least severity of a finding that makes the run
// exit 1, unless none.
type failOn struct {
	least analyze.Severity
	none  bool
}

// parseFailOn reads --fail-on: a severity, or none.
func parseFailOn(s string) (failOn, error) {
	if s == "none" {
		return failOn{none: true}, nil
	}
	sev, err := analyze.ParseSeverity(s)
	if err != nil {
		return failOn{}, fmt.Errorf("unknown --fail-on %q: use info, warning, critical or none", s)
	}
	return failOn{least: sev}, nil
}

// fails reports whether a finding of this severity fails the run.
func (f failOn) fails(sev analyze.Severity) bool { return !f.none && sev >= f.least }

// checkProgress checks --progress.
func checkProgress(mode string) error {
	switch mode {
	case "auto", "always", "never":
		return nil
	}
	return fmt.Errorf("unknown --progress %q: use auto, always or never", mode)
}

// checkMaxOpen checks --max-open.
func checkMaxOpen(n int) error {
	if n < 1 {
		return fmt.Errorf("--max-open %d: it must be at least 1 (the default is %d)", n, flows.DefaultMaxOpen)
	}
	return nil
}

// sayDiff says on stderr how the findings differ from those of --expect's
// file, a line each, and reports whether they do.
func sayDiff(stderr io.Writer, command, expectPath string, diff []string) bool {
	if len(diff) == 0 {
		return false
	}
	fmt.Fprintf(stderr, "%s: the findings differ from %s:\n", command, report.DisplayName(expectPath))
	for _, d := range diff {
		fmt.Fprintf(stderr, "  %s\n", report.DisplayName(d))
	}
	return true
}

// output is where a command writes its report: -o's file, or stdout,
// buffered.
type output struct {
	*bufio.Writer
	f *os.File // nil for stdout
}

// openOutput creates -o's file (path), or writes to stdout when path is "".
func openOutput(path string, stdout io.Writer) (*output, error) {
	if path == "" {
		return &output{Writer: bufio.NewWriter(stdout)}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &output{Writer: bufio.NewWriter(f), f: f}, nil
}

// close flushes the output and closes its file, and returns the first
// error of the two.
func (o *output) close() error {
	err := o.Flush()
	if o.f != nil {
		if cerr := o.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
