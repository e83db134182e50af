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

// Exit codes, as DESIGN.md and the README define them.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

const usageText = `syndiag explains why TCP connections to a server fail or hang at the handshake.

Usage:
  syndiag analyze [flags] FILE...
  syndiag analyze --client C --server S   (join a client-side and a server-side capture)
  syndiag FILE...                 (the same as analyze)
  syndiag collect [flags]         (print a script that collects captures and host evidence)

FILE is a capture written by tcpdump, tshark, dumpcap or Wireshark: pcap or
pcapng, plain or compressed with gzip or zstd (detected from the content, not
the name). "-" reads standard input.

Examples:
  syndiag server.pcap
  syndiag analyze --format json server.pcapng.gz > report.json
  tcpdump -i any -s 128 -c 200000 -w - 'tcp port 443' | syndiag -
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
`

type options struct {
	format   string
	output   string
	maxOpen  int
	failOn   string
	evidence []string
	client   string
	server   string
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "collect" {
		return runCollect(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "analyze" {
		args = args[1:]
	} else if len(args) > 0 && args[0] == "help" {
		args = []string{"--help"}
	}
	fs := pflag.NewFlagSet("syndiag", pflag.ContinueOnError)
	var opt options
	fs.StringVarP(&opt.format, "format", "f", "table", "output format: table (the terminal report), json or markdown")
	fs.StringVarP(&opt.output, "output", "o", "", "write the report to this file instead of standard output")
	fs.IntVar(&opt.maxOpen, "max-open", flows.DefaultMaxOpen, "most handshakes tracked at once per capture; beyond it the oldest are closed early and counted")
	fs.StringVar(&opt.failOn, "fail-on", "none", "exit 1 when a finding has at least this severity: info, warning, critical or none")
	fs.StringArrayVar(&opt.evidence, "evidence", nil, "the server's own evidence: output of netstat -s, nstat, /proc/net/netstat, sysctl, ss -lnt, uname -r, or a folder of them (syndiag collect makes one); repeatable")
	fs.StringVar(&opt.client, "client", "", "a capture taken on the client side (or its LAN, before any NAT), to join with --server")
	fs.StringVar(&opt.server, "server", "", "a capture taken on the server, to join with --client")
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
	files := fs.Args()
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
	switch opt.format {
	case "table", "json", "markdown":
	default:
		fmt.Fprintf(stderr, "syndiag: unknown --format %q: use table, json or markdown\n", opt.format)
		return exitUsage
	}
	switch opt.failOn {
	case "none", "info", "warning", "critical":
	default:
		fmt.Fprintf(stderr, "syndiag: unknown --fail-on %q: use info, warning, critical or none\n", opt.failOn)
		return exitUsage
	}
	ev, evErr := readEvidence(opt.evidence, files)
	if evErr != nil {
		fmt.Fprintf(stderr, "syndiag: %v\n", evErr)
		return exitUsage
	}

	code := exitOK
	var inputs []analyze.Input
	for fi, path := range files {
		in, err := readCapture(path, stdin, opt)
		if in != nil && roles[fi] != "" {
			in.Role = roles[fi]
		}
		if err != nil {
			fmt.Fprintf(stderr, "syndiag: %s: %v\n", path, err)
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
	res := analyze.AnalyzeWithEvidence(inputs, ev)
	// Say which side each capture is when it matters: a join was made or
	// asked for.
	if len(inputs) == 2 && (res.Join != nil || opt.client != "" || opt.server != "") {
		explainJoin(stderr, res)
	}

	out := stdout
	var f *os.File
	if opt.output != "" {
		var err error
		if f, err = os.Create(opt.output); err != nil {
			fmt.Fprintf(stderr, "syndiag: %v\n", err)
			return exitUsage
		}
		out = f
	}
	bw := bufio.NewWriter(out)
	var err error
	ropt := report.Options{Color: opt.output == "" && colorful(stdout)}
	switch opt.format {
	case "json":
		err = report.JSON(bw, res)
	case "markdown":
		err = report.Markdown(bw, res, ropt)
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
	if code == exitOK && opt.failOn != "none" {
		limit, _ := analyze.ParseSeverity(opt.failOn)
		for _, f := range res.Findings {
			if f.Severity >= limit {
				return exitFindings
			}
		}
	}
	return code
}

// explainJoin tells, for two captures, which side each was taken on and how
// that was known, and whether they could be joined.
func explainJoin(w io.Writer, res *analyze.Result) {
	for _, c := range res.Captures {
		switch {
		case c.RoleInferred:
			fmt.Fprintf(w, "syndiag: %s: %s side, inferred: %s\n", c.Path, c.Role, c.RoleReason)
		case c.Role == analyze.RoleUnknown:
			fmt.Fprintf(w, "syndiag: %s: side unknown: the TTLs do not tell (pass --client or --server)\n", c.Path)
		}
	}
	switch j := res.Join; {
	case j == nil:
		fmt.Fprintln(w, "syndiag: not joining the captures: that needs one client-side and one server-side capture; each is reported on its own (use --client C --server S)")
	case j.Problem != "":
		fmt.Fprintf(w, "syndiag: not joining the captures: %s\n", j.Problem)
	}
}

// colorful reports whether w is a terminal that wants colour: a character
// device, and NO_COLOR (https://no-color.org) unset or empty.
func colorful(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
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
func readCapture(path string, stdin io.Reader, opt options) (*analyze.Input, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, errors.Unwrap(err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, errors.New("is a directory, not a capture file")
		}
		r = f
	}
	in := &analyze.Input{Path: path, Role: analyze.RoleUnknown}
	c, err := flows.ReadCapture(r, flows.Config{
		MaxOpen: opt.maxOpen,
		Emit:    func(a *flows.Attempt) { in.Attempts = append(in.Attempts, a) },
	})
	in.Capture = c
	if c.Format == "" {
		return nil, err
	}
	return in, err
}
