// Command syndiag reads tcpdump captures and explains why TCP connections to
// a server fail or hang at the handshake. Run `syndiag --help` for usage.
//
// It only wires the pipeline's packages together. run (below) picks the
// command; each command has its options, a parse function (flags to
// options, or a usage error) and a run: analyze, the default, in run.go,
// then triage.go, collect.go, completion.go, manpage.go and version.go;
// cli.go holds what they share. Triage finds its cases with
// internal/cases, and --expect compares findings with internal/expect.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/syndiag/syndiag/report"
)

func main() {
	// The live heap is the handshake attempts kept for the report; the
	// packets themselves allocate nothing. Half the default headroom keeps
	// peak memory near 1.5x that heap (60 MB instead of 75 MB on a
	// 15-million-packet capture) for a few more, short GC cycles. GOGC in
	// the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs the command args name and returns its exit code: analyze when
// args name no other command. Each command parses its own flags (see
// commands.go for the list). A panic (a bug) is said on stderr and exits
// exitInternal, not Go's 2, which here means an input that could not be
// read.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(stderr, "syndiag: %s\nsyndiag: this is a bug in syndiag, not a problem of the input: please report it, with the capture if you can\n",
				report.DisplayName(internalError(v, debug.Stack())))
			code = exitInternal
		}
	}()
	first := ""
	if len(args) > 0 {
		first = args[0]
	}
	switch {
	case first == "collect":
		return runCollect(args[1:], stdout, stderr)
	case first == "triage":
		return triageCommand(args[1:], stdout, stderr)
	case first == "completion":
		return runCompletion(args[1:], stdout, stderr)
	case first == "man":
		return runMan(args[1:], stdout, stderr)
	case first == "version" && len(args) == 1:
		return runVersion(stdout)
	case first == "analyze":
		return runAnalyze(args[1:], stdin, stdout, stderr)
	case first == "help":
		return runAnalyze([]string{"--help"}, stdin, stdout, stderr)
	}
	return runAnalyze(args, stdin, stdout, stderr)
}
