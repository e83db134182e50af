package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// runMan is syndiag man: the man page, syndiag(1), on stdout.
func runMan(args []string, stdout, stderr io.Writer) int {
	if err := parseMan(args); err != nil {
		return stopped(err, "syndiag man", manUsage, stderr)
	}
	bw := bufio.NewWriter(stdout)
	writeMan(bw, commands())
	if err := bw.Flush(); err != nil {
		fmt.Fprintf(stderr, "syndiag man: %v\n", err)
		return exitUsage
	}
	return exitOK
}

const manUsage = "syndiag man prints the man page, syndiag(1), in roff:\n  syndiag man | man -l -\n  syndiag man > /usr/local/share/man/man1/syndiag.1\n"

// parseMan checks that man has no arguments. It returns pflag.ErrHelp for
// -h or --help.
func parseMan(args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		return pflag.ErrHelp
	}
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q (try syndiag man --help)", args[0])
	}
	return nil
}

// helpText is a --help text cut at its headings ("Usage:", "Examples:",
// "Flags:", "Exit codes:", lines at the margin that end in a colon); the
// text before the first heading is under "".
type helpText map[string][]string

func parseHelp(texts ...string) helpText {
	h := helpText{}
	for _, text := range texts {
		heading := ""
		for _, line := range strings.Split(text, "\n") {
			if line != "" && line[0] != ' ' && strings.HasSuffix(line, ":") && !strings.Contains(line, ". ") {
				heading = strings.TrimSuffix(line, ":")
				continue
			}
			h[heading] = append(h[heading], line)
		}
	}
	return h
}

// blocks cuts lines at blank lines, dropping the empty blocks.
func blocks(lines []string) [][]string {
	var bs [][]string
	var b []string
	for _, l := range append(lines, "") {
		if strings.TrimSpace(l) == "" {
			if len(b) > 0 {
				bs = append(bs, b)
			}
			b = nil
			continue
		}
		b = append(b, l)
	}
	return bs
}

// roff escapes text for roff: backslashes, a control character at the
// start of a line, and the hyphens of options (--format), which must stay
// ASCII hyphens for a reader to copy them; a hyphen inside a word
// (client-side) stays a hyphen.
func roff(s string) string {
	var b strings.Builder
	prev := ' '
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-' && !(prev >= 'a' && prev <= 'z' || prev >= 'A' && prev <= 'Z' || prev >= '0' && prev <= '9'):
			b.WriteString(`\-`)
		case (r == '.' || r == '\'') && (prev == '\n' || b.Len() == 0):
			b.WriteString(`\&`)
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

// paragraphs writes text blocks as filled paragraphs.
func paragraphs(w io.Writer, lines []string) {
	for _, b := range blocks(lines) {
		fmt.Fprintln(w, ".PP")
		for _, l := range b {
			fmt.Fprintln(w, roff(strings.TrimSpace(l)))
		}
	}
}

// verbatim writes lines as they are, unfilled: commands to type.
func verbatim(w io.Writer, lines []string) {
	fmt.Fprintln(w, ".PP\n.RS 4\n.nf")
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			fmt.Fprintln(w, roff(l))
		}
	}
	fmt.Fprintln(w, ".fi\n.RE")
}

// flagHead is a flag as the OPTIONS section shows it: \fB\-f\fR,
// \fB\-\-format\fR \fItable|json\fR.
func flagHead(f *pflag.Flag, value completion) string {
	var b strings.Builder
	if f.Shorthand != "" {
		fmt.Fprintf(&b, `\fB%s\fR, `, roff("-"+f.Shorthand))
	}
	fmt.Fprintf(&b, `\fB\-\-%s\fR`, strings.ReplaceAll(f.Name, "-", `\-`))
	if takesValue(f) {
		name, _ := pflag.UnquoteUsage(f)
		switch value.kind {
		case completeChoices:
			name = strings.Join(value.choices, "|")
		case completeFiles:
			name = "FILE"
		case completeDirs:
			name = "DIR"
		default:
			if name == "stringArray" {
				name = "string"
			}
			name = strings.ToUpper(name)
		}
		fmt.Fprintf(&b, ` \fI%s\fR`, roff(name))
	}
	return b.String()
}

// exitCodes writes an "Exit codes:" list ("  0  analyzed; …") as tagged
// paragraphs, and what follows the list as a paragraph.
func exitCodes(w io.Writer, lines []string) {
	var rest []string
	for _, l := range lines {
		code, text, ok := strings.Cut(strings.TrimSpace(l), " ")
		switch {
		case strings.TrimSpace(l) == "" && rest == nil:
		case strings.HasPrefix(l, "  ") && ok && len(code) <= 3 && strings.Trim(code, "0123456789") == "":
			fmt.Fprintf(w, ".TP\n.B %s\n%s\n", code, roff(strings.TrimSpace(text)))
		case strings.HasPrefix(l, "    ") && rest == nil:
			fmt.Fprintln(w, roff(strings.TrimSpace(l)))
		default:
			rest = append(rest, l)
		}
	}
	paragraphs(w, rest)
}

// manEnvironment is the environment syndiag and its tests read.
var manEnvironment = []struct{ name, text string }{
	{"NO_COLOR", "when set and not empty, the terminal report has no colour (https://no-color.org)."},
	{"TERM", "when dumb, standard output is not taken for a terminal: no colour, no progress bar, names not cut."},
	{"GOGC", "the Go garbage collector's target; syndiag sets 50 when it is unset, for a smaller peak of memory."},
	{"SYNDIAG_OUT", "in the script syndiag collect prints: the folder to write to, instead of syndiag-SIDE-HOST-TIME."},
	{"SYNDIAG_TRACEFS", "in the script syndiag collect prints: where tracefs is mounted, or is to be mounted, instead of /sys/kernel/tracing (or /sys/kernel/debug/tracing where that one is)."},
	{"SYNDIAG_TIMEOUT", "in the script syndiag collect prints: the seconds any one command may take (20)."},
	{"SYNDIAG_FOREIGN", "for syndiag's own tests (go test): the folder of the foreign capture corpus."},
}

// writeMan writes syndiag(1) in the man macros, from the commands' flags and
// their --help texts, so that it says what the commands parse.
func writeMan(w io.Writer, cmds []command) {
	top := parseHelp(usageText, exitText)
	help := map[string]helpText{"triage": parseHelp(triageUsage, triageExit), "collect": parseHelp(collectUsage), "completion": parseHelp(completionUsage)}
	manHead(w, top)
	manCommands(w, cmds, help)
	manOptions(w, cmds)

	fmt.Fprintln(w, ".SH \"EXIT STATUS\"")
	fmt.Fprintln(w, ".SS analyze")
	exitCodes(w, top["Exit codes"])
	fmt.Fprintln(w, ".SS triage")
	exitCodes(w, help["triage"]["Exit codes"])
	fmt.Fprintln(w, ".PP\nThe other commands exit 0, or 2 on bad usage.")

	fmt.Fprintln(w, ".SH EXAMPLES")
	verbatim(w, top["Examples"])
	verbatim(w, help["triage"]["Examples"])
	verbatim(w, blocks(help["collect"]["Usage"])[0])
	verbatim(w, []string{"syndiag man | man -l -", "syndiag completion bash > /etc/bash_completion.d/syndiag"})
	manTail(w)
}

// manHead writes the page's title, NAME, SYNOPSIS and DESCRIPTION, from
// syndiag's --help (top).
func manHead(w io.Writer, top helpText) {
	fmt.Fprintln(w, `.\" syndiag(1), generated from syndiag's flags by: syndiag man`)
	fmt.Fprintln(w, `.TH SYNDIAG 1 "" "syndiag" "User Commands"`)
	fmt.Fprintln(w, ".SH NAME")
	name := strings.TrimSuffix(strings.TrimPrefix(strings.Join(blocks(top[""])[0], " "), "syndiag "), ".")
	fmt.Fprintf(w, "syndiag \\- %s\n", roff(name))

	fmt.Fprintln(w, ".SH SYNOPSIS\n.nf")
	usage := blocks(top["Usage"])
	for _, l := range usage[0] {
		l = strings.TrimPrefix(strings.TrimSpace(l), "syndiag ")
		if i := strings.Index(l, "  "); i > 0 {
			l = l[:i] // the comment in parentheses
		}
		fmt.Fprintf(w, "\\fBsyndiag\\fR %s\n", roff(strings.TrimSpace(l)))
	}
	fmt.Fprintln(w, ".fi")

	fmt.Fprintln(w, ".SH DESCRIPTION")
	paragraphs(w, top[""])
	for _, b := range usage[1:] {
		paragraphs(w, b)
	}
}

// manCommands writes COMMANDS: each command's summary, and what its --help
// says before the flags (help, by command).
func manCommands(w io.Writer, cmds []command, help map[string]helpText) {
	fmt.Fprintln(w, ".SH COMMANDS")
	for _, c := range cmds {
		fmt.Fprintf(w, ".TP\n.B %s\n%s.\n", c.name, roff(c.summary))
		h, ok := help[c.name]
		if !ok {
			continue
		}
		fmt.Fprintln(w, ".RS")
		paragraphs(w, h[""])
		u := blocks(h["Usage"])
		verbatim(w, u[0])
		for _, b := range u[1:] {
			paragraphs(w, b)
		}
		fmt.Fprintln(w, ".RE")
	}
}

// manOptions writes OPTIONS: the flags of each command that has any.
func manOptions(w io.Writer, cmds []command) {
	fmt.Fprintln(w, ".SH OPTIONS")
	for _, c := range cmds {
		fl := c.flagList()
		if len(fl) == 0 {
			continue
		}
		fmt.Fprintf(w, ".SS \"syndiag %s\"\n", c.name)
		for _, f := range fl {
			fmt.Fprintf(w, ".TP\n%s\n%s", flagHead(f, c.values[f.Name]), roff(f.Usage))
			if def, ok := c.defaults[f.Name]; ok {
				fmt.Fprintf(w, " (default: %s)", roff(def))
			} else if def := f.DefValue; takesValue(f) && def != "" && def != "[]" {
				fmt.Fprintf(w, " (default: %s)", roff(def))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nprint the help of syndiag %s and exit.\n", c.name)
	}
}

// manTail writes ENVIRONMENT, FILES and SEE ALSO.
func manTail(w io.Writer) {
	fmt.Fprintln(w, ".SH ENVIRONMENT")
	for _, e := range manEnvironment {
		fmt.Fprintf(w, ".TP\n.B %s\n%s\n", e.name, roff(e.text))
	}
	fmt.Fprintln(w, ".SH FILES")
	fmt.Fprintln(w, ".TP\n.I /etc/bash_completion.d/syndiag\nbash completion, from syndiag completion bash.")
	fmt.Fprintln(w, ".TP\n.I ~/.config/fish/completions/syndiag.fish\nfish completion, from syndiag completion fish.")
	fmt.Fprintln(w, ".SH \"SEE ALSO\"\n.BR tcpdump (1),\n.BR tshark (1),\n.BR pcap-filter (7)")
}
