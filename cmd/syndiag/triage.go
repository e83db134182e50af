package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/cmd/syndiag/internal/cases"
	"github.com/syndiag/syndiag/cmd/syndiag/internal/expect"
	"github.com/syndiag/syndiag/flows"
	"github.com/syndiag/syndiag/flows/evidence"
	"github.com/syndiag/syndiag/report"
)

// exitInterrupted is the exit code of a run stopped by Ctrl-C (128 +
// SIGINT, as shells report it).
const exitInterrupted = 130

const triageUsage = `syndiag triage analyzes every capture under the paths, each case on its own,
and prints one summary for all of them.

Usage:
  syndiag triage [flags] PATH...

Each PATH is a capture or a folder, searched recursively. Captures are found
by their content (pcap, pcapng, gzip or zstd), whatever their names; other
files are skipped and counted. A folder that holds exactly two captures is
one case: they are joined when one is client-side and the other server-side
(names starting with client and server, or the TTLs tell); any other capture
is a case of its own. Other files next to a case's captures are read as the
server's host evidence when they are (see syndiag collect).

Examples:
  syndiag triage uploads/
  syndiag triage --format jsonl --jobs 8 uploads/ > triage.jsonl
  syndiag triage --shard 3/16 --format jsonl uploads/ > shard-3.jsonl
  syndiag triage --expect expected.jsonl --format jsonl incidents/
  syndiag triage --from shard-1.jsonl --from shard-2.jsonl   (the table of both)

Flags:
`

const triageExit = `
Exit codes:
  0    analyzed; no finding at or above --fail-on
  1    a finding at or above --fail-on
  2    bad usage, or a capture that could not be read at all (its row says why;
       the other cases are analyzed and reported)
  3    the findings differ from --expect (the differences are on stderr)
  4    internal error: syndiag failed on a case (a bug; its row says where,
       the other cases are analyzed and reported)
  130  interrupted (Ctrl-C): the cases finished are reported
When several apply, the first of 130, 4, 3, 1, 2 is the exit code: an
unreadable capture (listed with its error) does not hide a difference from
--expect or a finding at --fail-on.
`

// triageOptions are triage's flags and arguments, as parseTriage checked
// them.
type triageOptions struct {
	format, output, failOn, shard, expect, progress string
	jobs, maxOpen                                   int
	from                                            []string
	wide                                            bool
	sel                                             selection
	cfg                                             flows.Config // the selection, compiled, and the cap

	// What parseTriage makes of them:
	paths   []string      // the captures and folders to triage
	form    report.Format // --format
	fail    failOn        // --fail-on
	inShard cases.Shard   // --shard
}

// triageFlags defines triage's flags, bound to opt, without parsing:
// parseTriage parses them, and the completion scripts and the man page
// describe them.
func triageFlags(opt *triageOptions) *pflag.FlagSet {
	fs := pflag.NewFlagSet("syndiag triage", pflag.ContinueOnError)
	fs.StringVarP(&opt.format, "format", "f", "table", "output format: table (a summary ranked by severity), jsonl (a line per case, in name order), json, or html (an index page and a report per case beside it; needs -o)")
	fs.StringVarP(&opt.output, "output", "o", "", "write the output to this file instead of standard output")
	fs.IntVarP(&opt.jobs, "jobs", "j", runtime.NumCPU(), "cases analyzed at once; memory grows with it, not with the number of files")
	fs.IntVar(&opt.maxOpen, "max-open", flows.DefaultMaxOpen, "most handshakes tracked at once per capture (at least 1)")
	selectionFlags(fs, &opt.sel)
	fs.StringVar(&opt.failOn, "fail-on", "none", "exit 1 when a case has a finding of at least this severity: info, warning, critical or none")
	fs.StringVar(&opt.shard, "shard", "", "analyze only shard i of n (i/n, from 1/n to n/n): split one file list over n machines; the jsonl outputs of all shards concatenate")
	fs.StringVar(&opt.expect, "expect", "", "compare the findings with a saved triage output (jsonl or json) and exit 3 when a finding appeared, disappeared or changed severity")
	fs.StringVar(&opt.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
	fs.BoolVar(&opt.wide, "wide", false, "keep case names whole in the table on a terminal (they are never cut when standard output is not a terminal)")
	fs.StringArrayVar(&opt.from, "from", nil, "read saved triage output (jsonl or json, e.g. the shards' outputs) instead of captures, and print it in --format; repeatable")
	return fs
}

// triageCommand is syndiag triage, stopped by Ctrl-C or SIGTERM.
func triageCommand(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first Ctrl-C, a second one kills at once.
		<-ctx.Done()
		stop()
	}()
	return runTriage(ctx, args, stdout, stderr)
}

// runTriage triages the captures under the paths args name, or prints the
// saved output --from names, until ctx is done.
func runTriage(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opt, err := parseTriage(args)
	if err != nil {
		help := triageUsage + triageFlags(new(triageOptions)).FlagUsages() + triageExit
		return stopped(err, "syndiag triage", help, stderr)
	}
	return opt.run(ctx, stdout, stderr)
}

// parseTriage reads triage's command line: flags, paths and a filter after
// them. It returns pflag.ErrHelp for --help, and an error that says why
// for a command line that cannot run. It reads no file.
func parseTriage(args []string) (triageOptions, error) {
	var opt triageOptions
	fs := triageFlags(&opt)
	if err := parseFlags(fs, args, "syndiag triage"); err != nil {
		return opt, err
	}
	if err := opt.check(fs.Args()); err != nil {
		// Paths and values are said as names are.
		return opt, errors.New(report.DisplayName(err.Error()))
	}
	return opt, nil
}

// check compiles the selection and checks the paths and the values of the
// flags.
func (opt *triageOptions) check(args []string) error {
	var err error
	if opt.paths, err = opt.sel.compile(args, &opt.cfg); err != nil {
		return err
	}
	switch {
	case len(opt.paths) == 0 && len(opt.from) == 0:
		return errors.New("no path given (try syndiag triage --help)")
	case len(opt.paths) > 0 && len(opt.from) > 0:
		return errors.New("give captures to triage, or --from saved output to print, not both")
	case len(opt.from) > 0 && opt.shard != "":
		return errors.New("--shard chooses captures to analyze; --from reads output already made")
	}
	if opt.form, err = report.ParseFormat(opt.format, report.TriageFormats); err != nil {
		return err
	}
	if opt.form == report.FormatHTML && opt.output == "" {
		return errors.New("--format html writes an index page and a report per case beside it: name the index with -o, e.g. -o triage.html")
	}
	if opt.fail, err = parseFailOn(opt.failOn); err != nil {
		return err
	}
	if err := checkProgress(opt.progress); err != nil {
		return err
	}
	if opt.jobs < 1 {
		return errors.New("--jobs must be at least 1")
	}
	if err := checkMaxOpen(opt.maxOpen); err != nil {
		return err
	}
	opt.inShard, err = cases.ParseShard(opt.shard)
	return err
}

// run triages the cases, or reads the saved ones, writes the output, says
// how it went on stderr and decides the exit code.
func (opt triageOptions) run(ctx context.Context, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "syndiag triage: %s\n", report.DisplayName(err.Error()))
		return exitUsage
	}
	var exp *expect.Findings
	if opt.expect != "" {
		var err error
		if exp, err = expect.Load(opt.expect); err != nil {
			return fail(err)
		}
	}
	t, todo, err := opt.gather()
	if err != nil {
		return fail(err)
	}
	if err := opt.write(ctx, &t, todo, stdout, stderr); err != nil {
		return fail(err)
	}
	verb := "analyzed"
	if len(opt.from) > 0 {
		verb = "read"
	}
	for _, line := range report.TriageStatus(t, verb, opt.form == report.FormatTable) {
		fmt.Fprintf(stderr, "syndiag triage: %s\n", line)
	}
	if ctx.Err() != nil && len(opt.from) == 0 {
		return exitInterrupted
	}
	changed := exp != nil && sayDiff(stderr, "syndiag triage", opt.expect, exp.Diff(expect.OfCases(t.Cases), opt.inShard.Has))
	return opt.exitCode(t.Cases, changed)
}

// gather finds the cases of this shard under the paths, or reads the saved
// cases of --from.
func (opt triageOptions) gather() (t report.Triage, todo []cases.Case, err error) {
	t.Shard = opt.inShard.String()
	if len(opt.from) > 0 {
		t.Cases, err = readTriage(opt.from)
		return t, nil, err
	}
	found := cases.Discover(opt.paths)
	for _, c := range found.Cases {
		if opt.inShard.Has(c.Name) {
			todo = append(todo, c)
		}
	}
	t.Skipped, t.Special = found.Skipped, found.Special
	return t, todo, nil
}

// write analyzes the cases to do into t, unless --from gave them, and
// writes the output: with --format html, a report per case beside it.
func (opt triageOptions) write(ctx context.Context, t *report.Triage, todo []cases.Case, stdout, stderr io.Writer) error {
	var html *caseReports
	if opt.form == report.FormatHTML {
		// Made first: it makes the index's folder too.
		var err error
		if html, err = newCaseReports(opt.output, todo); err != nil {
			return err
		}
	}
	out, err := openOutput(opt.output, stdout)
	if err != nil {
		return err
	}
	streamed := false // the jsonl lines, written as the cases finished
	if len(opt.from) == 0 {
		streamed = opt.form == report.FormatJSONL
		t.Cases, err = runCases(ctx, todo, opt, out.Writer, html, stderr)
		t.Interrupted = len(todo) - len(t.Cases)
		dropEvidence(t)
	}
	if err == nil && !streamed {
		err = opt.form.WriteTriage(out, *t, reportOptions(opt.output, opt.wide, 0, stdout))
	}
	if cerr := out.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	return nil
}

// dropEvidence takes the files read as host evidence off the list of
// files skipped.
func dropEvidence(t *report.Triage) {
	used := map[string]bool{}
	for _, c := range t.Cases {
		for _, e := range c.Evidence {
			used[e] = true
		}
	}
	t.Skipped = slices.DeleteFunc(t.Skipped, func(p string) bool { return used[p] })
}

// exitCode is triage's exit code: an internal error on a case outranks
// all; then exitCode's order: a change, a finding, an unreadable file
// (still a row of the output).
func (opt triageOptions) exitCode(summaries []report.CaseSummary, changed bool) int {
	failed, unreadable := false, false
	for _, c := range summaries {
		if c.Internal != "" {
			return exitInternal
		}
		if opt.fail.fails(c.Worst()) {
			failed = true
		}
		unreadable = unreadable || c.Unreadable()
	}
	return exitCode(changed, failed, unreadable)
}

// runCases analyzes the cases on opt.jobs workers and returns the summaries
// of those that finished, in case order. With --format jsonl it writes each
// to w as soon as the cases before it are done, so the output streams and
// does not depend on --jobs.
func runCases(ctx context.Context, todo []cases.Case, opt triageOptions, w *bufio.Writer, html *caseReports, stderr io.Writer) ([]report.CaseSummary, error) {
	prog := casesProgress(todo, opt.progress, stderr)
	out := &inOrder{summaries: make([]*report.CaseSummary, len(todo)), w: w, jsonl: opt.form == report.FormatJSONL}
	done := 0
	for r := range triageAll(ctx, todo, opt, prog, html) {
		done++
		if r.s == nil {
			continue // interrupted
		}
		out.summaries[r.i] = r.s
		prog.describe(fmt.Sprintf("cases %d/%d", done, len(todo)))
		out.emit(false)
	}
	prog.done()
	// After an interrupt, the finished cases that waited behind an
	// unfinished one.
	out.emit(true)
	var finished []report.CaseSummary
	for _, s := range out.summaries {
		if s != nil {
			finished = append(finished, *s)
		}
	}
	return finished, out.err
}

// casesProgress is the progress bar of triage (nil for none): the bytes
// of all the cases' captures.
func casesProgress(todo []cases.Case, mode string, stderr io.Writer) *progress {
	if !wantProgress(mode, stderr) || len(todo) == 0 {
		return nil
	}
	var total int64
	for _, c := range todo {
		for _, f := range c.Files {
			total += f.Size
		}
	}
	return newProgress(stderr, total, fmt.Sprintf("cases 0/%d", len(todo)))
}

// caseResult is the summary of the case todo[i], nil when it was
// interrupted.
type caseResult struct {
	i int
	s *report.CaseSummary
}

// triageAll triages the cases on opt.jobs workers, and sends each result
// as it comes; the channel closes when all are done, or ctx is and the
// workers have stopped.
func triageAll(ctx context.Context, todo []cases.Case, opt triageOptions, prog *progress, html *caseReports) <-chan caseResult {
	work := make(chan int)
	results := make(chan caseResult)
	var wg sync.WaitGroup
	for range min(opt.jobs, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results <- caseResult{i, triageCase(ctx, todo[i], opt, prog, html)}
			}
		}()
	}
	go func() {
		defer close(work)
		for i := range todo {
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	return results
}

// inOrder writes the JSON lines of the cases in case order as they finish:
// a case's line waits for those of the cases before it.
type inOrder struct {
	summaries []*report.CaseSummary // nil until the case is done
	emitted   int                   // the cases written, or passed over
	w         *bufio.Writer
	jsonl     bool // --format jsonl; otherwise nothing is written
	err       error
}

// emit writes the lines of the cases done up to the first not done, or,
// with all, of every case done.
func (o *inOrder) emit(all bool) {
	for ; o.emitted < len(o.summaries) && o.err == nil; o.emitted++ {
		s := o.summaries[o.emitted]
		if s == nil && !all {
			break
		}
		if s != nil && o.jsonl {
			o.err = report.CaseJSONL(o.w, *s)
		}
	}
	if o.jsonl && o.err == nil {
		o.err = o.w.Flush()
	}
}

// readTriage reads saved triage outputs for --from.
func readTriage(files []string) ([]report.CaseSummary, error) {
	var all []report.CaseSummary
	seen := map[string]string{}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("--from %s: %v", name, unwrapPath(err))
		}
		cs, err := report.ReadCases(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--from %s: %v", name, err)
		}
		for _, c := range cs {
			if other, ok := seen[c.Name]; ok {
				return nil, fmt.Errorf("--from %s: case %q is in %s too", name, c.Name, other)
			}
			seen[c.Name] = name
		}
		all = append(all, cs...)
	}
	slices.SortFunc(all, func(a, b report.CaseSummary) int { return strings.Compare(a.Name, b.Name) })
	return all, nil
}

// analyzeCase analyzes the captures of a case; tests replace it to make a
// case fail as a bug would.
var analyzeCase = analyze.AnalyzeWithEvidence

// triageCase reads and analyzes one case and keeps its summary. It returns
// nil when the run was interrupted before the case was done. A panic while
// the case is read or analyzed (a bug) makes the case's summary say so,
// naming its files, and the other cases go on.
func triageCase(ctx context.Context, c cases.Case, opt triageOptions, prog *progress, html *caseReports) (s *report.CaseSummary) {
	defer func() {
		if v := recover(); v != nil {
			var files []string
			for _, f := range c.Files {
				files = append(files, f.Path)
			}
			msg := fmt.Sprintf("%s: %s", strings.Join(files, ", "), internalError(v, debug.Stack()))
			// In errors[] too, where the HTML index and scripts look.
			s = &report.CaseSummary{Name: c.Name, Internal: msg, Errors: []string{msg}}
			for _, f := range c.Files {
				s.Files = append(s.Files, report.CaseFile{Path: f.Path, Role: string(f.Role), Bytes: f.Size, Error: "internal error"})
			}
		}
	}()
	return triageCaseOnce(ctx, c, opt, prog, html)
}

func triageCaseOnce(ctx context.Context, c cases.Case, opt triageOptions, prog *progress, html *caseReports) *report.CaseSummary {
	s := &report.CaseSummary{Name: c.Name}
	if c.Problem != "" {
		s.Files = []report.CaseFile{{Path: c.Name, Role: string(analyze.RoleUnknown), Error: c.Problem}}
		s.Errors = []string{c.Name + ": " + c.Problem}
		return s
	}
	var inputs []analyze.Input
	var unread []report.CaseFile
	sizes := map[string]int64{}
	for _, f := range c.Files {
		sizes[f.Path] = f.Size
		cfg := opt.cfg
		cfg.MaxOpen = opt.maxOpen
		in, err := readCaseFile(ctx, f, cfg, prog)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.Errors = append(s.Errors, fmt.Sprintf("%s: %v", f.Path, err))
		}
		if in == nil {
			unread = append(unread, report.CaseFile{Path: f.Path, Role: string(f.Role), Bytes: f.Size, Error: err.Error()})
			continue
		}
		inputs = append(inputs, *in)
	}
	if len(inputs) > 0 {
		ev, used := caseEvidence(c.Evidence)
		res := analyzeCase(inputs, ev)
		errs := s.Errors
		*s = report.Summarize(res)
		s.Name, s.Errors, s.Evidence = c.Name, errs, used
		for i := range s.Files {
			s.Files[i].Bytes = sizes[s.Files[i].Path]
		}
		if html != nil {
			rel, err := html.write(c.Name, res)
			if err != nil {
				s.Errors = append(s.Errors, fmt.Sprintf("writing the report of %s: %v", c.Name, err))
			}
			s.Report = rel
		}
	}
	s.Files = append(s.Files, unread...)
	return s
}

// readCaseFile reads one capture of a case, stopping when ctx is done.
func readCaseFile(ctx context.Context, f cases.File, cfg flows.Config, prog *progress) (*analyze.Input, error) {
	file, err := f.Open()
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer file.Close()
	var r io.Reader = ctxReader{ctx, file}
	if prog != nil {
		r = counting{r, prog}
	}
	in, err := analyze.ReadCapture(f.Path, r, cfg)
	if in != nil {
		in.Role = f.Role
	}
	return in, err
}

// ctxReader stops reading when its context is done, so that Ctrl-C stops
// a capture being read.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// caseEvidence reads the files next to a case's captures that are host
// evidence, and returns nil when none is.
func caseEvidence(paths []string) (*evidence.Host, []string) {
	ev := evidence.NewHost()
	var used []string
	for _, p := range paths {
		// A file that is not evidence, or is another host's, is passed
		// over: it is whatever else an upload holds.
		if addEvidence(ev, p) == nil {
			used = append(used, p)
		}
	}
	if len(used) == 0 {
		return nil, nil
	}
	return ev, used
}
