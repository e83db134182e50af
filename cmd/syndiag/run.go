package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows"
	"github.com/syndiag/syndiag/report"
)

// Exit codes, as DESIGN.md and the README define them.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
	exitExpect   = 3
)

const usageText = `syndiag explains why TCP connections to a server fail or hang at the handshake.

Usage:
  syndiag analyze [flags] FILE...
  syndiag analyze --client C --server S   (join a client-side and a server-side capture)
  syndiag FILE...                 (the same as analyze)
  syndiag triage [flags] PATH...  (every capture under the paths, a summary of all; see triage --help)
  syndiag collect [flags]         (print a script that collects captures and host evidence)
  syndiag version                 (the version, VCS revision and Go version; also --version)
  syndiag completion bash|zsh|fish  (print a shell completion script; see the README)
  syndiag man                     (print the man page: syndiag man | man -l -)

FILE is a capture written by tcpdump, tshark, dumpcap or Wireshark: pcap or
pcapng, plain or compressed with gzip or zstd (detected from the content, not
the name). "-" reads standard input, and so does no FILE at all when
standard input is a pipe or a file (tcpdump -w - | syndiag). For a folder
of captures, use syndiag triage.

Examples:
  syndiag server.pcap
  syndiag analyze --format json server.pcapng.gz > report.json
  tcpdump -i any -s 128 -c 200000 -w - 'tcp port 443' | syndiag
  syndiag --evidence syndiag-server-host1/ syndiag-server-host1/server.pcap

Flags:
`

const exitText = `
Exit codes:
  0  analyzed; no finding at or above --fail-on
  1  a finding at or above --fail-on
  2  bad usage, or an input that could not be read at all (the message names
     the file, the byte offset and the problem). A capture that is cut short
     or corrupt part-way is still analyzed up to that point, with a warning.
  3  the findings differ from --expect (the differences are on stderr)
  4  internal error: syndiag itself failed (a bug, whatever the input; the
     message says where)
When several apply, the first of 4, 3, 1, 2 is the exit code: with one
unreadable file of several, the others are analyzed, and a difference from
--expect or a finding at --fail-on still gives 3 or 1.
`

type options struct {
	format   string
	output   string
	maxOpen  int
	failOn   string
	evidence []string
	client   string
	server   string
	expect   string
	progress string
	top      int
	wide     bool
	sel      selection
	cfg      flows.Config // MaxOpen and what sel selects
}

// analyzeFlags defines analyze's flags, bound to opt, without parsing: run
// parses them, and the completion scripts and the man page describe them.
func analyzeFlags(opt *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("syndiag", pflag.ContinueOnError)
	fs.StringVarP(&opt.format, "format", "f", "table", "output format: table (the terminal report), json, markdown, or html (one self-contained page with charts; use with -o)")
	fs.StringVarP(&opt.output, "output", "o", "", "write the report to this file instead of standard output")
	fs.IntVar(&opt.maxOpen, "max-open", flows.DefaultMaxOpen, "most handshakes tracked at once per capture (at least 1); beyond it the one idle the longest is closed early and counted")
	fs.StringVar(&opt.failOn, "fail-on", "none", "exit 1 when a finding has at least this severity: info, warning, critical or none")
	fs.StringArrayVar(&opt.evidence, "evidence", nil, "the server's own evidence: output of netstat -s, nstat, /proc/net/netstat, sysctl, ss -lnt, uname -r, or a folder of them (syndiag collect makes one); repeatable")
	fs.StringVar(&opt.client, "client", "", "a capture taken on the client side (or its LAN, before any NAT), to join with --server")
	fs.StringVar(&opt.server, "server", "", "a capture taken on the server, to join with --client")
	fs.StringVar(&opt.expect, "expect", "", "compare the findings with a saved JSON report (--format json) and exit 3 when a finding appeared, disappeared or changed severity")
	fs.StringVar(&opt.progress, "progress", "auto", "progress bar on stderr while a file is read: auto (when stderr is a terminal and the read takes a while), always or never")
	fs.IntVar(&opt.top, "top", report.DefaultTop, "rows of the tables per server endpoint and per source, and worst attempts, in the table and markdown reports (the most attempts first; 0 for all)")
	selectionFlags(fs, &opt.sel)
	fs.BoolVar(&opt.wide, "wide", false, "keep file names whole in the table report on a terminal (they are never cut when standard output is not a terminal)")
	fs.Bool("version", false, "print the version (module, VCS revision, Go version) and exit")
	return fs
}

// run runs a command and returns its exit code. A panic (a bug) is said on
// stderr and exits exitInternal, not Go's 2, which here means an input that
// could not be read.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(stderr, "syndiag: %s\nsyndiag: this is a bug in syndiag, not a problem of the input: please report it, with the capture if you can\n",
				report.DisplayName(internalError(v, debug.Stack())))
			code = exitInternal
		}
	}()
	if len(args) > 0 && args[0] == "collect" {
		return runCollect(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "triage" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() {
			// After the first Ctrl-C, a second one kills at once.
			<-ctx.Done()
			stop()
		}()
		return runTriage(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "completion" {
		return runCompletion(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "man" {
		return runMan(args[1:], stdout, stderr)
	}
	if len(args) == 1 && args[0] == "version" {
		fmt.Fprintln(stdout, version(debug.ReadBuildInfo()))
		return exitOK
	}
	if len(args) > 0 && args[0] == "analyze" {
		args = args[1:]
	} else if len(args) > 0 && args[0] == "help" {
		args = []string{"--help"}
	}
	var opt options
	fs := analyzeFlags(&opt)
	fs.Usage = func() { fmt.Fprint(stderr, usageText+fs.FlagUsages()+exitText) }
	// pflag prints the usage on every parse error; we want it only for
	// --help, and a one-line error otherwise.
	fs.SetOutput(io.Discard)
	usage := fs.Usage
	fs.Usage = func() {
		for _, a := range args {
			if a == "-h" || a == "--help" {
				usage()
				return
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "syndiag: %v (try syndiag --help)\n", err)
		return exitUsage
	}
	if v, _ := fs.GetBool("version"); v {
		fmt.Fprintln(stdout, version(debug.ReadBuildInfo()))
		return exitOK
	}
	if (opt.client == "") != (opt.server == "") {
		given, other := "--client", "--server"
		if opt.server != "" {
			given, other = other, given
		}
		fmt.Fprintf(stderr, "syndiag: %s needs %s: the two name the client-side and the server-side capture to join (for captures on their own, name them without flags)\n", given, other)
		return exitUsage
	}
	files, err := opt.sel.compile(fs.Args(), &opt.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "syndiag: %v\n", err)
		return exitUsage
	}
	opt.cfg.MaxOpen = opt.maxOpen
	if len(files) == 0 && opt.client == "" && stdinIsData(stdin) {
		// tcpdump -w - | syndiag: as if "-" were given.
		files = []string{"-"}
	}
	for _, path := range slices.Concat(files, []string{opt.client, opt.server}) {
		if st, err := os.Stat(path); path != "-" && err == nil && st.IsDir() {
			fmt.Fprintf(stderr, "syndiag: %s is a folder: syndiag triage %s analyzes every capture under it\n", report.DisplayName(path), report.DisplayName(shellQuote(path)))
			return exitUsage
		}
	}
	roles := make([]analyze.Role, len(files))
	if opt.server != "" {
		files, roles = append([]string{opt.server}, files...), append([]analyze.Role{analyze.RoleServer}, roles...)
	}
	if opt.client != "" {
		files, roles = append([]string{opt.client}, files...), append([]analyze.Role{analyze.RoleClient}, roles...)
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "syndiag: no capture file given (try syndiag --help)")
		return exitUsage
	}
	if opt.maxOpen < 1 {
		fmt.Fprintf(stderr, "syndiag: --max-open %d: it must be at least 1 (the default is %d)\n", opt.maxOpen, flows.DefaultMaxOpen)
		return exitUsage
	}
	switch opt.format {
	case "table", "json", "markdown", "html":
	default:
		fmt.Fprintf(stderr, "syndiag: unknown --format %q: use table, json, markdown or html\n", opt.format)
		return exitUsage
	}
	limit, err := parseFailOn(opt.failOn)
	if err != nil {
		fmt.Fprintf(stderr, "syndiag: %s\n", report.DisplayName(err.Error()))
		return exitUsage
	}
	switch opt.progress {
	case "auto", "always", "never":
	default:
		fmt.Fprintf(stderr, "syndiag: unknown --progress %q: use auto, always or never\n", opt.progress)
		return exitUsage
	}
	if opt.top < 0 {
		fmt.Fprintf(stderr, "syndiag: --top %d: use a number of rows, or 0 for all\n", opt.top)
		return exitUsage
	}
	var exp *expectation
	if opt.expect != "" {
		if exp, err = loadExpectation(opt.expect); err != nil {
			fmt.Fprintf(stderr, "syndiag: %s\n", report.DisplayName(err.Error()))
			return exitUsage
		}
		if exp.triage {
			fmt.Fprintf(stderr, "syndiag: --expect %s: a triage output; analyze compares with its own --format json report\n", report.DisplayName(opt.expect))
			return exitUsage
		}
	}
	ev, evErr := readEvidence(opt.evidence, files)
	if evErr != nil {
		fmt.Fprintf(stderr, "syndiag: %s\n", report.DisplayName(evErr.Error()))
		return exitUsage
	}

	code = exitOK
	var inputs []analyze.Input
	for fi, path := range files {
		in, err := readCapture(path, stdin, opt, stderr)
		if in != nil && roles[fi] != "" {
			in.Role = roles[fi]
		}
		if err != nil {
			fmt.Fprintf(stderr, "syndiag: %s\n", report.DisplayName(fmt.Sprintf("%s: %v", path, err)))
			var fe *flows.FormatError
			if in == nil || in.Capture.Packets == 0 || !errors.As(err, &fe) {
				code = exitUsage
			}
		}
		if in != nil {
			inputs = append(inputs, *in)
		}
	}
	if len(inputs) == 0 {
		return exitUsage
	}
	res := analyzeCase(inputs, ev)
	// Say which side each capture is when it matters: a join was made or
	// asked for.
	if j := res.Join; len(inputs) == 2 && (j != nil && j.Client >= 0 || opt.client != "" || opt.server != "") {
		explainJoin(stderr, res)
	}

	out := stdout
	var f *os.File
	if opt.output != "" {
		var err error
		if f, err = os.Create(opt.output); err != nil {
			fmt.Fprintf(stderr, "syndiag: %s\n", report.DisplayName(err.Error()))
			return exitUsage
		}
		out = f
	}
	bw := bufio.NewWriter(out)
	ropt := reportOptions(opt.output, opt.wide, opt.top, stdout)
	switch opt.format {
	case "json":
		err = report.JSON(bw, res)
	case "markdown":
		err = report.Markdown(bw, res, ropt)
	case "html":
		err = report.HTML(bw, res, ropt)
	default:
		err = report.Text(bw, res, ropt)
	}
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "syndiag: writing the report: %v\n", err)
		return exitUsage
	}
	changed := false
	if exp != nil {
		if diff := exp.compare(expectationOf("", res), nil); len(diff) > 0 {
			fmt.Fprintf(stderr, "syndiag: the findings differ from %s:\n", report.DisplayName(opt.expect))
			for _, d := range diff {
				fmt.Fprintf(stderr, "  %s\n", report.DisplayName(d))
			}
			changed = true
		}
	}
	failed := false
	for _, f := range res.Findings {
		failed = failed || limit >= 0 && f.Severity >= analyze.Severity(limit)
	}
	return exitCode(changed, failed, code == exitUsage)
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

// parseFailOn reads --fail-on: a severity, or -1 for none.
func parseFailOn(s string) (int, error) {
	if s == "none" {
		return -1, nil
	}
	sev, err := analyze.ParseSeverity(s)
	if err != nil {
		return 0, fmt.Errorf("unknown --fail-on %q: use info, warning, critical or none", s)
	}
	return int(sev), nil
}

// explainJoin tells, for two captures, which side each was taken on and how
// that was known, and whether they could be joined.
func explainJoin(w io.Writer, res *analyze.Result) {
	for _, c := range res.Captures {
		switch {
		case c.RoleInferred:
			fmt.Fprintf(w, "syndiag: %s: %s side, inferred: %s\n", report.DisplayName(c.Path), c.Role, c.RoleReason)
		case c.Role == analyze.RoleUnknown:
			fmt.Fprintf(w, "syndiag: %s: side unknown: the TTLs do not tell (pass --client or --server)\n", report.DisplayName(c.Path))
		}
	}
	if j := res.Join; j != nil && !res.Joined() {
		fmt.Fprintf(w, "syndiag: not joining the captures: %s\n", j.Problem)
	}
}

// stdinIsData reports whether standard input is a pipe or a file, as in
// tcpdump -w - | syndiag or syndiag < capture.pcap, and not a terminal or
// a device such as /dev/null: then it is the capture to read.
func stdinIsData(stdin io.Reader) bool {
	f, ok := stdin.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && (st.Mode()&os.ModeNamedPipe != 0 || st.Mode().IsRegular())
}

// reportOptions tunes a report for where it goes: colour, and names cut
// to fit, only on a terminal (output is -o's file, or "" for stdout);
// top is --top, where 0 is every row.
func reportOptions(output string, wide bool, top int, stdout io.Writer) report.Options {
	term := output == "" && isTerminal(stdout)
	return report.Options{
		Color: term && colorful(stdout),
		Top:   cmp.Or(top, -1), // 0 is all here, and the default there
		Wide:  wide || !term,
	}
}

// colorful reports whether w is a terminal that wants colour: a character
// device, and NO_COLOR (https://no-color.org) unset or empty.
func colorful(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && isTerminal(w)
}

// isTerminal reports whether w is a character device and TERM is not
// "dumb".
func isTerminal(w io.Writer) bool {
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// readCapture reads one capture file ("-" is stdin). It returns what could
// be read even when it also returns an error; a nil Input means nothing was.
func readCapture(path string, stdin io.Reader, opt options, stderr io.Writer) (*analyze.Input, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, errors.Unwrap(err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err == nil && st.IsDir() {
			return nil, errors.New("is a directory, not a capture file")
		}
		r = f
		if err == nil && wantProgress(opt.progress, stderr) {
			p := newProgress(stderr, st.Size(), report.DisplayName(filepath.Base(path)))
			defer p.done()
			r = counting{f, p}
		}
	}
	return readInputConfig(path, r, opt.cfg)
}

// readInputConfig reads a capture from r with cfg's selection.
func readInputConfig(path string, r io.Reader, cfg flows.Config) (*analyze.Input, error) {
	in := &analyze.Input{Path: path, Role: analyze.RoleUnknown}
	cfg.Emit = func(a *flows.Attempt) { in.Attempts = append(in.Attempts, a) }
	c, err := flows.ReadCapture(r, cfg)
	in.Capture = c
	if c.Format == "" {
		return nil, err
	}
	return in, err
}
