package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows"
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

type triageOptions struct {
	format, output, failOn, shard, expect, progress string
	jobs, maxOpen                                   int
	from                                            []string
	wide                                            bool
	sel                                             selection
	cfg                                             flows.Config // the selection, compiled, and the cap
}

// shardSpec is --shard i/n: this run analyzes the cases whose name hashes
// to i among n.
type shardSpec struct{ i, n uint32 }

func (s shardSpec) String() string {
	if s.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.i, s.n)
}

// has reports whether a case belongs to the shard. The case's name decides,
// not its place in the list, so a shard keeps its cases when files are
// added to other folders.
func (s shardSpec) has(name string) bool {
	if s.n == 0 {
		return true
	}
	h := fnv.New32a()
	io.WriteString(h, name)
	return h.Sum32()%s.n == s.i-1
}

func parseShard(s string) (shardSpec, error) {
	if s == "" {
		return shardSpec{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.ParseUint(a, 10, 32)
	n, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil || n == 0 || i < 1 || i > n {
		return shardSpec{}, fmt.Errorf("bad --shard %q: use i/n with 1 <= i <= n, e.g. 1/4 (shards count from 1)", s)
	}
	return shardSpec{uint32(i), uint32(n)}, nil
}

// triageFlags defines triage's flags, bound to opt, without parsing: runTriage
// parses them, and the completion scripts and the man page describe them.
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

func runTriage(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var opt triageOptions
	fs := triageFlags(&opt)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stderr, triageUsage+fs.FlagUsages()+triageExit)
			return exitOK
		}
		fmt.Fprintf(stderr, "syndiag triage: %v (try syndiag triage --help)\n", err)
		return exitUsage
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "syndiag triage: %s\n", report.DisplayName(fmt.Sprintf(format, a...)))
		return exitUsage
	}
	paths, err := opt.sel.compile(fs.Args(), &opt.cfg)
	if err != nil {
		return fail("%v", err)
	}
	switch {
	case len(paths) == 0 && len(opt.from) == 0:
		return fail("no path given (try syndiag triage --help)")
	case len(paths) > 0 && len(opt.from) > 0:
		return fail("give captures to triage, or --from saved output to print, not both")
	case len(opt.from) > 0 && opt.shard != "":
		return fail("--shard chooses captures to analyze; --from reads output already made")
	}
	switch opt.format {
	case "table", "jsonl", "json":
	case "html":
		if opt.output == "" {
			return fail("--format html writes an index page and a report per case beside it: name the index with -o, e.g. -o triage.html")
		}
	default:
		return fail("unknown --format %q: use table, jsonl, json or html", opt.format)
	}
	limit, err := parseFailOn(opt.failOn)
	if err != nil {
		return fail("%v", err)
	}
	switch opt.progress {
	case "auto", "always", "never":
	default:
		return fail("unknown --progress %q: use auto, always or never", opt.progress)
	}
	if opt.jobs < 1 {
		return fail("--jobs must be at least 1")
	}
	if opt.maxOpen < 1 {
		return fail("--max-open %d: it must be at least 1 (the default is %d)", opt.maxOpen, flows.DefaultMaxOpen)
	}
	shard, err := parseShard(opt.shard)
	if err != nil {
		return fail("%v", err)
	}
	var exp *expectation
	if opt.expect != "" {
		if exp, err = loadExpectation(opt.expect); err != nil {
			return fail("%v", err)
		}
	}

	t := report.Triage{Shard: shard.String()}
	var cases []caseSpec
	if len(opt.from) > 0 {
		if t.Cases, err = readTriage(opt.from); err != nil {
			return fail("%v", err)
		}
	} else {
		found := discover(paths)
		for _, c := range found.cases {
			if shard.has(c.name) {
				cases = append(cases, c)
			}
		}
		t.Skipped, t.Special = found.skipped, found.special
	}

	var html *caseReports
	if opt.format == "html" {
		// Made first: it makes the index's folder too.
		if html, err = newCaseReports(opt.output, cases); err != nil {
			return fail("%v", err)
		}
	}
	out := stdout
	var outFile *os.File
	if opt.output != "" {
		if outFile, err = os.Create(opt.output); err != nil {
			return fail("%v", err)
		}
		defer outFile.Close()
		out = outFile
	}
	bw := bufio.NewWriter(out)

	var werr error
	if len(opt.from) == 0 {
		t.Cases, werr = runCases(ctx, cases, opt, bw, html, stderr)
		t.Interrupted = len(cases) - len(t.Cases)
		// Files read as host evidence were not skipped.
		used := map[string]bool{}
		for _, c := range t.Cases {
			for _, e := range c.Evidence {
				used[e] = true
			}
		}
		t.Skipped = slices.DeleteFunc(t.Skipped, func(p string) bool { return used[p] })
	} else if opt.format == "jsonl" {
		for _, c := range t.Cases {
			if werr == nil {
				werr = report.CaseJSONL(bw, c)
			}
		}
	}
	if werr == nil {
		switch opt.format {
		case "json":
			werr = report.TriageJSON(bw, t)
		case "table":
			report.RankCases(t.Cases)
			werr = report.TriageText(bw, t, reportOptions(opt.output, opt.wide, 0, stdout))
		case "html":
			report.RankCases(t.Cases)
			werr = report.TriageHTML(bw, t)
		}
	}
	if werr == nil {
		werr = bw.Flush()
	}
	if outFile != nil {
		if cerr := outFile.Close(); werr == nil {
			werr = cerr
		}
	}
	if werr != nil {
		return fail("writing the output: %v", werr)
	}

	verb := "analyzed"
	if len(opt.from) > 0 {
		verb = "read"
	}
	for _, line := range report.TriageStatus(t, verb, opt.format == "table") {
		fmt.Fprintf(stderr, "syndiag triage: %s\n", line)
	}
	if ctx.Err() != nil && len(opt.from) == 0 {
		return exitInterrupted
	}
	changed := false
	if exp != nil {
		got := expectationOfCases(t.Cases)
		if diff := exp.compare(got, shard.has); len(diff) > 0 {
			fmt.Fprintf(stderr, "syndiag triage: the findings differ from %s:\n", report.DisplayName(opt.expect))
			for _, d := range diff {
				fmt.Fprintf(stderr, "  %s\n", report.DisplayName(d))
			}
			changed = true
		}
	}
	// A crash outranks all; then exitCode's order: a change, a finding,
	// an unreadable file (still a row of the output).
	failed, unreadable := false, false
	for _, c := range t.Cases {
		if c.Internal != "" {
			return exitInternal
		}
		if limit >= 0 && c.Worst() >= analyze.Severity(limit) {
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
func runCases(ctx context.Context, cases []caseSpec, opt triageOptions, w *bufio.Writer, html *caseReports, stderr io.Writer) ([]report.CaseSummary, error) {
	var prog *progress
	if wantProgress(opt.progress, stderr) && len(cases) > 0 {
		var total int64
		for _, c := range cases {
			for _, f := range c.files {
				total += f.size
			}
		}
		prog = newProgress(stderr, total, fmt.Sprintf("cases 0/%d", len(cases)))
	}
	summaries := make([]*report.CaseSummary, len(cases))
	var werr error
	emitted := 0
	emit := func(all bool) {
		for ; emitted < len(cases) && werr == nil; emitted++ {
			s := summaries[emitted]
			if s == nil && !all {
				break
			}
			if s != nil && opt.format == "jsonl" {
				werr = report.CaseJSONL(w, *s)
			}
		}
		if opt.format == "jsonl" && werr == nil {
			werr = w.Flush()
		}
	}
	type result struct {
		i int
		s *report.CaseSummary
	}
	work := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for range min(opt.jobs, max(len(cases), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results <- result{i, triageCase(ctx, cases[i], opt, prog, html)}
			}
		}()
	}
	go func() {
		defer close(work)
		for i := range cases {
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	done := 0
	for r := range results {
		done++
		if r.s == nil {
			continue // interrupted
		}
		summaries[r.i] = r.s
		prog.describe(fmt.Sprintf("cases %d/%d", done, len(cases)))
		emit(false)
	}
	prog.done()
	// After an interrupt, the finished cases that waited behind an
	// unfinished one.
	emit(true)
	var finished []report.CaseSummary
	for _, s := range summaries {
		if s != nil {
			finished = append(finished, *s)
		}
	}
	return finished, werr
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
func triageCase(ctx context.Context, c caseSpec, opt triageOptions, prog *progress, html *caseReports) (s *report.CaseSummary) {
	defer func() {
		if v := recover(); v != nil {
			var files []string
			for _, f := range c.files {
				files = append(files, f.path)
			}
			msg := fmt.Sprintf("%s: %s", strings.Join(files, ", "), internalError(v, debug.Stack()))
			// In errors[] too, where the HTML index and scripts look.
			s = &report.CaseSummary{Name: c.name, Internal: msg, Errors: []string{msg}}
			for _, f := range c.files {
				s.Files = append(s.Files, report.CaseFile{Path: f.path, Role: string(f.role), Bytes: f.size, Error: "internal error"})
			}
		}
	}()
	return triageCaseOnce(ctx, c, opt, prog, html)
}

func triageCaseOnce(ctx context.Context, c caseSpec, opt triageOptions, prog *progress, html *caseReports) *report.CaseSummary {
	s := &report.CaseSummary{Name: c.name}
	if c.problem != "" {
		s.Files = []report.CaseFile{{Path: c.name, Role: string(analyze.RoleUnknown), Error: c.problem}}
		s.Errors = []string{c.name + ": " + c.problem}
		return s
	}
	var inputs []analyze.Input
	var unread []report.CaseFile
	sizes := map[string]int64{}
	for _, f := range c.files {
		sizes[f.path] = f.size
		cfg := opt.cfg
		cfg.MaxOpen = opt.maxOpen
		in, err := readCaseFile(ctx, f, cfg, prog)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.Errors = append(s.Errors, fmt.Sprintf("%s: %v", f.path, err))
		}
		if in == nil {
			unread = append(unread, report.CaseFile{Path: f.path, Role: string(f.role), Bytes: f.size, Error: err.Error()})
			continue
		}
		inputs = append(inputs, *in)
	}
	if len(inputs) > 0 {
		ev, used := caseEvidence(c.evidence)
		res := analyzeCase(inputs, ev)
		errs := s.Errors
		*s = report.Summarize(res)
		s.Name, s.Errors, s.Evidence = c.name, errs, used
		for i := range s.Files {
			s.Files[i].Bytes = sizes[s.Files[i].Path]
		}
		if html != nil {
			rel, err := html.write(c.name, res)
			if err != nil {
				s.Errors = append(s.Errors, fmt.Sprintf("writing the report of %s: %v", c.name, err))
			}
			s.Report = rel
		}
	}
	s.Files = append(s.Files, unread...)
	return s
}

// readCaseFile reads one capture of a case, stopping when ctx is done.
func readCaseFile(ctx context.Context, f caseInput, cfg flows.Config, prog *progress) (*analyze.Input, error) {
	open := openRegular
	if f.stream {
		open = os.Open // named on the command line: waits for its writer
	}
	file, err := open(f.path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer file.Close()
	var r io.Reader = ctxReader{ctx, file}
	if prog != nil {
		r = counting{r, prog}
	}
	in, err := readInputConfig(f.path, r, cfg)
	if in != nil {
		in.Role = f.role
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
func caseEvidence(paths []string) (*analyze.HostEvidence, []string) {
	ev := analyze.NewHostEvidence()
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
