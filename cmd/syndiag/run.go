package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/pflag"
	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/cmd/syndiag/internal/expect"
	"github.com/syndiag/syndiag/flows"
	"github.com/syndiag/syndiag/report"
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

// analyzeOptions are analyze's flags and arguments (syndiag analyze, the
// default command), as parseAnalyze checked them.
type analyzeOptions struct {
	format   string
	output   string
	attempts string
	maxOpen  int
	failOn   string
	evidence []string
	client   string
	server   string
	expect   string
	progress string
	top      int
	wide     bool
	version  bool
	sel      selection

	// What parseAnalyze makes of them:
	files []string       // the captures, --client and --server first
	roles []analyze.Role // of each file: "" to keep what it reads as
	form  report.Format  // --format
	fail  failOn         // --fail-on
	cfg   flows.Config   // MaxOpen and what sel selects
}

// analyzeFlags defines analyze's flags, bound to opt, without parsing:
// parseAnalyze parses them, and the completion scripts and the man page
// describe them.
func analyzeFlags(opt *analyzeOptions) *pflag.FlagSet {
	fs := pflag.NewFlagSet("syndiag", pflag.ContinueOnError)
	fs.StringVarP(&opt.format, "format", "f", "table", "output format: table (the terminal report), json, markdown, or html (one self-contained page with charts; use with -o)")
	fs.StringVarP(&opt.output, "output", "o", "", "write the report to this file instead of standard output")
	fs.StringVar(&opt.attempts, "attempts", "", "also write every handshake attempt to this file as JSON lines, one object per line as the JSON report's attempts[] has it (the JSON report lists at most 5000)")
	fs.IntVar(&opt.maxOpen, "max-open", flows.DefaultMaxOpen, "most handshakes tracked at once per capture (at least 1); beyond it the one idle the longest is closed early and counted")
	fs.StringVar(&opt.failOn, "fail-on", "none", "exit 1 when a finding has at least this severity: info, warning, critical or none")
	fs.StringArrayVar(&opt.evidence, "evidence", nil, "the server's own evidence: output of netstat -s, nstat, /proc/net/netstat, sysctl, ss -lnt, uname -r, skb:kfree_skb traces, dmesg or journalctl -k, iptables -L -v -n -x, iptables-save -c or nft list ruleset, or a folder of them (syndiag collect makes one); repeatable")
	fs.StringVar(&opt.client, "client", "", "a capture taken on the client side (or its LAN, before any NAT), to join with --server")
	fs.StringVar(&opt.server, "server", "", "a capture taken on the server, to join with --client")
	fs.StringVar(&opt.expect, "expect", "", "compare the findings with a saved JSON report (--format json) and exit 3 when a finding appeared, disappeared or changed severity")
	fs.StringVar(&opt.progress, "progress", "auto", "progress bar on stderr while a file is read: auto (when stderr is a terminal and the read takes a while), always or never")
	fs.IntVar(&opt.top, "top", report.DefaultTop, "rows of the tables per server endpoint and per source, and worst attempts, in the table and markdown reports (the most attempts first; 0 for all)")
	selectionFlags(fs, &opt.sel)
	fs.BoolVar(&opt.wide, "wide", false, "keep file names whole in the table report on a terminal (they are never cut when standard output is not a terminal)")
	fs.BoolVar(&opt.version, "version", false, "print the version (module, VCS revision, Go version) and exit")
	return fs
}

// analyzeHelp is analyze's --help, which is syndiag's.
func analyzeHelp() string {
	return usageText + analyzeFlags(new(analyzeOptions)).FlagUsages() + exitText
}

// runAnalyze is syndiag analyze: it reads the captures, analyzes them
// together and writes one report.
func runAnalyze(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opt, err := parseAnalyze(args, stdinIsData(stdin))
	if err != nil {
		help := ""
		if slices.Contains(args, "-h") || slices.Contains(args, "--help") {
			help = analyzeHelp() // not for --help=x, which pflag takes too
		}
		return stopped(err, "syndiag", help, stderr)
	}
	if opt.version {
		return runVersion(stdout)
	}
	return opt.run(stdin, stdout, stderr)
}

// parseAnalyze reads analyze's command line: flags, capture files ("-" for
// standard input, taken without files when stdinData says it is a pipe or
// a file) and a filter after them. It returns pflag.ErrHelp for --help,
// and an error that says why for a command line that cannot run. It reads
// no file, but tells a folder given as a capture.
func parseAnalyze(args []string, stdinData bool) (analyzeOptions, error) {
	var opt analyzeOptions
	fs := analyzeFlags(&opt)
	if err := parseFlags(fs, args, "syndiag"); err != nil || opt.version {
		return opt, err
	}
	if err := opt.inputs(fs.Args(), stdinData); err != nil {
		return opt, err
	}
	return opt, opt.check()
}

// inputs makes the list of captures to read from the arguments, --client
// and --server, and compiles the packet selection.
func (opt *analyzeOptions) inputs(args []string, stdinData bool) error {
	if (opt.client == "") != (opt.server == "") {
		given, other := "--client", "--server"
		if opt.server != "" {
			given, other = other, given
		}
		return fmt.Errorf("%s needs %s: the two name the client-side and the server-side capture to join (for captures on their own, name them without flags)", given, other)
	}
	files, err := opt.sel.compile(args, &opt.cfg)
	if err != nil {
		return err
	}
	opt.cfg.MaxOpen = opt.maxOpen
	if len(files) == 0 && opt.client == "" && stdinData {
		// tcpdump -w - | syndiag: as if "-" were given.
		files = []string{"-"}
	}
	for _, path := range slices.Concat(files, []string{opt.client, opt.server}) {
		if st, err := os.Stat(path); path != "-" && err == nil && st.IsDir() {
			return fmt.Errorf("%s is a folder: syndiag triage %s analyzes every capture under it", report.DisplayName(path), report.DisplayName(shellQuote(path)))
		}
	}
	opt.files, opt.roles = files, make([]analyze.Role, len(files))
	if opt.server != "" {
		opt.files, opt.roles = append([]string{opt.server}, opt.files...), append([]analyze.Role{analyze.RoleServer}, opt.roles...)
	}
	if opt.client != "" {
		opt.files, opt.roles = append([]string{opt.client}, opt.files...), append([]analyze.Role{analyze.RoleClient}, opt.roles...)
	}
	if len(opt.files) == 0 {
		return errors.New("no capture file given (try syndiag --help)")
	}
	return nil
}

// check checks the values of the flags.
func (opt *analyzeOptions) check() error {
	if err := checkMaxOpen(opt.maxOpen); err != nil {
		return err
	}
	var err error
	if opt.form, err = report.ParseFormat(opt.format, report.ReportFormats); err != nil {
		return err
	}
	if opt.fail, err = parseFailOn(opt.failOn); err != nil {
		return errors.New(report.DisplayName(err.Error()))
	}
	if err := checkProgress(opt.progress); err != nil {
		return err
	}
	if opt.top < 0 {
		return fmt.Errorf("--top %d: use a number of rows, or 0 for all", opt.top)
	}
	return nil
}

// run reads the captures, analyzes them, writes the report and decides the
// exit code.
func (opt analyzeOptions) run(stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "syndiag: %s\n", report.DisplayName(err.Error()))
		return exitUsage
	}
	exp, err := opt.loadExpect()
	if err != nil {
		return fail(err)
	}
	ev, err := readEvidence(opt.evidence, opt.files)
	if err != nil {
		return fail(err)
	}
	inputs, unreadable := opt.readCaptures(stdin, stderr)
	if len(inputs) == 0 {
		return exitUsage
	}
	res := analyzeCase(inputs, ev)
	// Say which side each capture is when it matters: a join was made or
	// asked for.
	if j := res.Join; len(inputs) == 2 && (j != nil && j.Client >= 0 || opt.client != "" || opt.server != "") {
		explainJoin(stderr, res)
	}
	if code := opt.write(res, stdout, stderr); code != exitOK {
		return code
	}
	if code := opt.writeAttempts(res, stderr); code != exitOK {
		return code
	}
	changed := exp != nil && sayDiff(stderr, "syndiag", opt.expect, exp.Diff(expect.OfResult(res), nil))
	failed := false
	for _, f := range res.Findings {
		failed = failed || opt.fail.fails(f.Severity)
	}
	return exitCode(changed, failed, unreadable)
}

// loadExpect reads the findings of --expect, or returns nil without it.
func (opt analyzeOptions) loadExpect() (*expect.Findings, error) {
	if opt.expect == "" {
		return nil, nil
	}
	exp, err := expect.Load(opt.expect)
	if err == nil && exp.Triage() {
		err = fmt.Errorf("--expect %s: a triage output; analyze compares with its own --format json report", opt.expect)
	}
	return exp, err
}

// readCaptures reads the captures, and says on stderr what could not be
// read. unreadable is set when a file could not be read at all (or only
// its header): exit 2 unless something else outranks it.
func (opt analyzeOptions) readCaptures(stdin io.Reader, stderr io.Writer) (inputs []analyze.Input, unreadable bool) {
	for i, path := range opt.files {
		in, err := readCapture(path, stdin, opt, stderr)
		if in != nil && opt.roles[i] != "" {
			in.Role = opt.roles[i]
		}
		if err != nil {
			fmt.Fprintf(stderr, "syndiag: %s\n", report.DisplayName(fmt.Sprintf("%s: %v", path, err)))
			var fe *flows.FormatError
			if in == nil || in.Capture.Packets == 0 || !errors.As(err, &fe) {
				unreadable = true
			}
		}
		if in != nil {
			inputs = append(inputs, *in)
		}
	}
	return inputs, unreadable
}

// write writes the report to -o's file or stdout, and returns exitUsage,
// said on stderr, when it cannot.
func (opt analyzeOptions) write(res *analyze.Result, stdout, stderr io.Writer) int {
	out, err := openOutput(opt.output, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "syndiag: %s\n", report.DisplayName(err.Error()))
		return exitUsage
	}
	err = opt.form.Write(out, res, reportOptions(opt.output, opt.wide, opt.top, stdout))
	if cerr := out.close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "syndiag: writing the report: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// writeAttempts writes every attempt to --attempts' file as JSON lines,
// and returns exitUsage, said on stderr, when it cannot.
func (opt analyzeOptions) writeAttempts(res *analyze.Result, stderr io.Writer) int {
	if opt.attempts == "" {
		return exitOK
	}
	f, err := os.Create(opt.attempts)
	if err == nil {
		err = report.AttemptLines(f, res)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "syndiag: --attempts: %s\n", report.DisplayName(err.Error()))
		return exitUsage
	}
	return exitOK
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

// readCapture reads one capture file ("-" is stdin). It returns what could
// be read even when it also returns an error; a nil Input means nothing was.
func readCapture(path string, stdin io.Reader, opt analyzeOptions, stderr io.Writer) (*analyze.Input, error) {
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
	return analyze.ReadCapture(path, r, opt.cfg)
}
