package main

import (
	"strings"

	"github.com/spf13/pflag"
	"github.com/syndiag/syndiag/report"
)

// A command is one of syndiag's commands as the completion scripts and the
// man page describe it. Its flags come from the function the command
// itself parses with, so neither can drift from them; what is written here
// is only what a FlagSet cannot say: what the values and the arguments are.
type command struct {
	name    string
	summary string         // a line for a menu of commands
	flags   *pflag.FlagSet // nil for a command without flags
	args    completion     // what its arguments are
	values  map[string]completion
	// defaults replaces the man page's default of a flag whose default
	// depends on the machine (--jobs: the number of CPUs).
	defaults map[string]string
}

// A completion says what a word may be, for a shell to offer.
type completion struct {
	kind    completionKind
	choices []string
}

type completionKind int

const (
	completeNothing completionKind = iota // free text (a number, an address)
	completeFiles
	completeDirs
	completeChoices
)

var (
	files = completion{kind: completeFiles}
	dirs  = completion{kind: completeDirs}
)

func oneOf(choices ...string) completion {
	return completion{kind: completeChoices, choices: choices}
}

// formats completes --format with the formats a command writes.
func formats(fs []report.Format) completion {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return oneOf(names...)
}

// shells are the shells syndiag completion writes a script for.
var shells = []string{"bash", "zsh", "fish"}

// commands lists syndiag's commands in the order --help gives them;
// analyze is first, and is what syndiag runs without a command.
func commands() []command {
	severities := oneOf("info", "warning", "critical", "none")
	progress := oneOf("auto", "always", "never")
	return []command{
		{
			name: "analyze", summary: "analyze captures and explain the handshakes (the default command)",
			flags: analyzeFlags(new(analyzeOptions)), args: files,
			values: map[string]completion{
				"format": formats(report.ReportFormats), "output": files,
				"fail-on": severities, "evidence": files, "client": files, "server": files,
				"expect": files, "progress": progress,
			},
		},
		{
			name: "triage", summary: "analyze every capture under folders, one summary for all",
			flags: triageFlags(new(triageOptions)), args: dirs,
			defaults: map[string]string{"jobs": "the number of CPUs"},
			values: map[string]completion{
				"format": formats(report.TriageFormats), "output": files,
				"fail-on": severities, "expect": files, "progress": progress, "from": files,
			},
		},
		{
			name: "collect", summary: "print a script that collects captures and host evidence",
			flags:  collectFlags(new(collectOptions)),
			values: map[string]completion{"side": oneOf("server", "client", "both")},
		},
		{name: "version", summary: "print the version, VCS revision and Go version"},
		{name: "completion", summary: "print a shell completion script", args: oneOf(shells...)},
		{name: "man", summary: "print the man page"},
	}
}

// flagList is a command's flags in the order they were defined, the order
// of --help.
func (c command) flagList() []*pflag.Flag {
	var fl []*pflag.Flag
	if c.flags == nil {
		return nil
	}
	c.flags.SortFlags = false
	c.flags.VisitAll(func(f *pflag.Flag) { fl = append(fl, f) })
	return fl
}

// takesValue reports whether a flag needs a value (--format json), as
// opposed to a switch (--wide).
func takesValue(f *pflag.Flag) bool { return f.NoOptDefVal == "" }

// repeatable reports whether a flag may be given more than once, each
// adding a value (--evidence).
func repeatable(f *pflag.Flag) bool {
	return strings.HasSuffix(f.Value.Type(), "Array") || strings.HasSuffix(f.Value.Type(), "Slice")
}

// brief is the start of a flag's usage, before its details, for a menu:
// "output format" of "output format: table (the terminal report), …".
func brief(usage string) string {
	for _, sep := range []string{": ", "; ", " ("} {
		if i := strings.Index(usage, sep); i > 0 {
			usage = usage[:i]
		}
	}
	return usage
}
