package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows"
	"github.com/syndiag/syndiag/report"
)

// A parseCase is a command line, and the error parsing it gives (the whole
// message, "help" for --help, "" for none) or a check of the options.
type parseCase[O any] struct {
	desc      string
	args      []string
	stdinData bool
	err       string
	check     func(t *testing.T, o O)
}

func runParseCases[O any](t *testing.T, tests []parseCase[O], parse func(args []string, stdinData bool) (O, error)) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			o, err := parse(tc.args, tc.stdinData)
			if got := errText(err); !sameError(got, tc.err) {
				t.Fatalf("error %q, want %q", got, tc.err)
			}
			if tc.check != nil {
				tc.check(t, o)
			}
		})
	}
}

// sameError reports whether an error's text is the one wanted, or starts
// with it when what is wanted ends in ": " (what follows is flows' own).
func sameError(got, want string) bool {
	return got == want || strings.HasSuffix(want, ": ") && strings.HasPrefix(got, want)
}

// errText is an error's message, "help" for pflag.ErrHelp, or "" for none.
func errText(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, pflag.ErrHelp):
		return "help"
	}
	return err.Error()
}

func TestParseAnalyze(t *testing.T) {
	folder := t.TempDir()
	tests := []parseCase[analyzeOptions]{
		{desc: "a file", args: []string{"a.pcap"}, check: func(t *testing.T, o analyzeOptions) {
			want(t, "files", o.files, []string{"a.pcap"})
			want(t, "roles", o.roles, []analyze.Role{""})
			want(t, "format", o.form, report.FormatTable)
			want(t, "fails on critical", o.fail.fails(analyze.Critical), false)
			want(t, "max open", o.cfg.MaxOpen, flows.DefaultMaxOpen)
		}},
		{desc: "client and server first", args: []string{"--client", "c.pcap", "x.pcap", "--server", "s.pcap"}, check: func(t *testing.T, o analyzeOptions) {
			want(t, "files", o.files, []string{"c.pcap", "s.pcap", "x.pcap"})
			want(t, "roles", o.roles, []analyze.Role{analyze.RoleClient, analyze.RoleServer, ""})
		}},
		{desc: "values", args: []string{"-f", "json", "--fail-on", "warning", "--top", "0", "--max-open", "7", "-o", "r.json", "a.pcap"}, check: func(t *testing.T, o analyzeOptions) {
			want(t, "format", o.form, report.FormatJSON)
			want(t, "fails on warning", o.fail.fails(analyze.Warning), true)
			want(t, "fails on info", o.fail.fails(analyze.Info), false)
			want(t, "top", o.top, 0)
			want(t, "max open", o.cfg.MaxOpen, 7)
			want(t, "output", o.output, "r.json")
		}},
		{desc: "stdin a pipe", stdinData: true, check: func(t *testing.T, o analyzeOptions) {
			want(t, "files", o.files, []string{"-"})
		}},
		{desc: "stdin a pipe, a file named", args: []string{"a.pcap"}, stdinData: true, check: func(t *testing.T, o analyzeOptions) {
			want(t, "files", o.files, []string{"a.pcap"})
		}},
		{desc: "filter after the files", args: []string{"a.pcap", "b.pcap", "tcp", "port", "443"}, check: func(t *testing.T, o analyzeOptions) {
			want(t, "files", o.files, []string{"a.pcap", "b.pcap"})
			want(t, "filter", o.sel.filter, "tcp port 443")
			want(t, "filter compiled", o.cfg.Filter != nil, true)
		}},
		{desc: "version, nothing else checked", args: []string{"--version", "--format", "xml"}, check: func(t *testing.T, o analyzeOptions) {
			want(t, "version", o.version, true)
		}},
		{desc: "help", args: []string{"--help"}, err: "help"},
		{desc: "no file", err: "no capture file given (try syndiag --help)"},
		{desc: "unknown flag", args: []string{"--bogus", "a.pcap"}, err: "unknown flag: --bogus (try syndiag --help)"},
		{desc: "client alone", args: []string{"--client", "c.pcap", "a.pcap"}, err: "--client needs --server: the two name the client-side and the server-side capture to join (for captures on their own, name them without flags)"},
		{desc: "server alone", args: []string{"--server", "s.pcap"}, err: "--server needs --client: the two name the client-side and the server-side capture to join (for captures on their own, name them without flags)"},
		{desc: "a folder", args: []string{folder}, err: folder + " is a folder: syndiag triage " + folder + " analyzes every capture under it"},
		{desc: "bad format", args: []string{"--format", "xml", "a.pcap"}, err: `unknown --format "xml": use table, json, markdown or html`},
		{desc: "triage's format", args: []string{"--format", "jsonl", "a.pcap"}, err: `unknown --format "jsonl": use table, json, markdown or html`},
		{desc: "bad fail-on", args: []string{"--fail-on", "loud", "a.pcap"}, err: `unknown --fail-on "loud": use info, warning, critical or none`},
		{desc: "bad progress", args: []string{"--progress", "sometimes", "a.pcap"}, err: `unknown --progress "sometimes": use auto, always or never`},
		{desc: "max-open 0", args: []string{"--max-open", "0", "a.pcap"}, err: "--max-open 0: it must be at least 1 (the default is 100000)"},
		{desc: "top -1", args: []string{"--top", "-1", "a.pcap"}, err: "--top -1: use a number of rows, or 0 for all"},
		{desc: "bad since", args: []string{"--since", "yesterday", "a.pcap"}, err: "--since yesterday: flows: "},
		{desc: "two filters", args: []string{"--filter", "port 1", "a.pcap", "port", "2"}, err: `a filter is given twice, with --filter and after the files ("port 2"): give it once`},
		{desc: "first problem wins", args: []string{"--format", "xml", "--top", "-1"}, err: "no capture file given (try syndiag --help)"},
	}
	runParseCases(t, tests, parseAnalyze)
}

func TestParseTriage(t *testing.T) {
	tests := []parseCase[triageOptions]{
		{desc: "a folder", args: []string{"uploads"}, check: func(t *testing.T, o triageOptions) {
			want(t, "paths", o.paths, []string{"uploads"})
			want(t, "format", o.form, report.FormatTable)
			want(t, "shard", o.inShard.String(), "")
		}},
		{desc: "values", args: []string{"-f", "jsonl", "-j", "3", "--shard", "2/3", "--fail-on", "critical", "a", "b", "port", "80"}, check: func(t *testing.T, o triageOptions) {
			want(t, "paths", o.paths, []string{"a", "b"})
			want(t, "format", o.form, report.FormatJSONL)
			want(t, "jobs", o.jobs, 3)
			want(t, "shard", o.inShard.String(), "2/3")
			want(t, "fails on critical", o.fail.fails(analyze.Critical), true)
			want(t, "fails on warning", o.fail.fails(analyze.Warning), false)
		}},
		{desc: "html with -o", args: []string{"-f", "html", "-o", "t.html", "uploads"}, check: func(t *testing.T, o triageOptions) {
			want(t, "format", o.form, report.FormatHTML)
		}},
		{desc: "from", args: []string{"--from", "a.jsonl", "--from", "b.jsonl", "-f", "json"}, check: func(t *testing.T, o triageOptions) {
			want(t, "from", o.from, []string{"a.jsonl", "b.jsonl"})
			want(t, "paths", len(o.paths), 0)
		}},
		{desc: "help", args: []string{"-h"}, err: "help"},
		{desc: "no path", err: "no path given (try syndiag triage --help)"},
		{desc: "unknown flag", args: []string{"--bogus"}, err: "unknown flag: --bogus (try syndiag triage --help)"},
		{desc: "paths and from", args: []string{"--from", "a.jsonl", "uploads"}, err: "give captures to triage, or --from saved output to print, not both"},
		{desc: "from and shard", args: []string{"--from", "a.jsonl", "--shard", "1/2"}, err: "--shard chooses captures to analyze; --from reads output already made"},
		{desc: "bad format", args: []string{"-f", "markdown", "uploads"}, err: `unknown --format "markdown": use table, jsonl, json or html`},
		{desc: "html without -o", args: []string{"-f", "html", "uploads"}, err: "--format html writes an index page and a report per case beside it: name the index with -o, e.g. -o triage.html"},
		{desc: "bad fail-on", args: []string{"--fail-on", "x", "uploads"}, err: `unknown --fail-on "x": use info, warning, critical or none`},
		{desc: "bad progress", args: []string{"--progress", "x", "uploads"}, err: `unknown --progress "x": use auto, always or never`},
		{desc: "no jobs", args: []string{"-j", "0", "uploads"}, err: "--jobs must be at least 1"},
		{desc: "max-open 0", args: []string{"--max-open", "0", "uploads"}, err: "--max-open 0: it must be at least 1 (the default is 100000)"},
		{desc: "bad shard", args: []string{"--shard", "4/3", "uploads"}, err: `bad --shard "4/3": use i/n with 1 <= i <= n, e.g. 1/4 (shards count from 1)`},
		// Triage says values as it says names: escaped (report.DisplayName).
		{desc: "a value said safely", args: []string{"--since", "\x1b[31m", "uploads"}, err: `--since \x1b[31m: flows: `},
	}
	runParseCases(t, tests, func(args []string, _ bool) (triageOptions, error) { return parseTriage(args) })
}

func TestParseCollect(t *testing.T) {
	tests := []struct {
		desc string
		args []string
		err  string
		want collectOptions
	}{
		{desc: "defaults", want: collectOptions{side: "both", iface: "any", duration: 60, snaplen: 160}},
		{desc: "values", args: []string{"--side", "client", "--port", "443", "--server", "10.0.0.1", "--light"},
			want: collectOptions{side: "client", port: 443, iface: "any", duration: 60, server: "10.0.0.1", snaplen: 160, light: true}},
		{desc: "help", args: []string{"--help"}, err: "help"},
		{desc: "an argument", args: []string{"server"}, err: `unexpected argument "server" (try syndiag collect --help)`},
		{desc: "unknown flag", args: []string{"--bogus"}, err: "unknown flag: --bogus (try syndiag collect --help)"},
		{desc: "bad side", args: []string{"--side", "x"}, err: `unknown --side "x": use server, client or both`},
		{desc: "bad port", args: []string{"--port", "70000"}, err: "--port 70000: not a TCP port"},
		{desc: "small snaplen", args: []string{"--snaplen", "40"}, err: "--snaplen 40: use at least 96 (Ethernet, IP and a TCP header with options)"},
		{desc: "bad server", args: []string{"--server", "example.com"}, err: `--server "example.com": not an IP address`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			o, err := parseCollect(tc.args)
			if got := errText(err); got != tc.err {
				t.Fatalf("error %q, want %q", got, tc.err)
			}
			if tc.err == "" && o != tc.want {
				t.Errorf("got %+v, want %+v", o, tc.want)
			}
		})
	}
}

func TestParseCompletionAndMan(t *testing.T) {
	shellsErr := "name one shell: bash, zsh, fish (try syndiag completion --help)"
	for _, tc := range []struct {
		args  []string
		shell string
		err   string
	}{
		{[]string{"bash"}, "bash", ""},
		{[]string{"fish"}, "fish", ""},
		{[]string{"--help"}, "", "help"},
		{nil, "", shellsErr},
		{[]string{"tcsh"}, "", shellsErr},
		{[]string{"bash", "zsh"}, "", shellsErr},
	} {
		shell, err := parseCompletion(tc.args)
		if shell != tc.shell || errText(err) != tc.err {
			t.Errorf("parseCompletion(%q) = %q, %q; want %q, %q", tc.args, shell, errText(err), tc.shell, tc.err)
		}
	}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{nil, ""},
		{[]string{"-h"}, "help"},
		{[]string{"roff"}, `unexpected argument "roff" (try syndiag man --help)`},
	} {
		if err := parseMan(tc.args); errText(err) != tc.err {
			t.Errorf("parseMan(%q) = %q, want %q", tc.args, errText(err), tc.err)
		}
	}
}

// want compares a parsed value with what it should be.
func want[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func equal[T any](a, b T) bool {
	switch a := any(a).(type) {
	case []string:
		return slices.Equal(a, any(b).([]string))
	case []analyze.Role:
		return slices.Equal(a, any(b).([]analyze.Role))
	}
	return any(a) == any(b)
}
