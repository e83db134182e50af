package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

const completionUsage = `syndiag completion prints a completion script for a shell: the commands,
their flags, the values a flag accepts, and files or folders where a command
reads them.

Usage:
  syndiag completion bash > /etc/bash_completion.d/syndiag
  syndiag completion zsh > "${fpath[1]}/_syndiag"
  syndiag completion fish > ~/.config/fish/completions/syndiag.fish
`

// runCompletion is syndiag completion SHELL.
func runCompletion(args []string, stdout, stderr io.Writer) int {
	shell, err := parseCompletion(args)
	if err != nil {
		return stopped(err, "syndiag completion", completionUsage, stderr)
	}
	bw := bufio.NewWriter(stdout)
	writeCompletion(bw, shell, commands())
	if err := bw.Flush(); err != nil {
		fmt.Fprintf(stderr, "syndiag completion: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// parseCompletion reads completion's one argument, the shell. It returns
// pflag.ErrHelp for -h or --help.
func parseCompletion(args []string) (shell string, err error) {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		return "", pflag.ErrHelp
	}
	if len(args) != 1 || !slices.Contains(shells, args[0]) {
		return "", fmt.Errorf("name one shell: %s (try syndiag completion --help)", strings.Join(shells, ", "))
	}
	return args[0], nil
}

// writeCompletion writes the completion script for shell.
func writeCompletion(w io.Writer, shell string, cmds []command) {
	switch shell {
	case "bash":
		writeBash(w, cmds)
	case "zsh":
		writeZsh(w, cmds)
	case "fish":
		writeFish(w, cmds)
	}
}

func commandNames(cmds []command) []string {
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	return names
}

// flagWords is how a flag is typed: "-f", "--format", or "--wide".
func flagWords(f *pflag.Flag) []string {
	if f.Shorthand != "" {
		return []string{"-" + f.Shorthand, "--" + f.Name}
	}
	return []string{"--" + f.Name}
}

// bashAction is the bash that completes a value or an argument, its lines
// indented by indent; "" for free text.
func bashAction(c completion, indent string) string {
	switch c.kind {
	case completeChoices:
		return fmt.Sprintf("_syndiag_add -W %q -- \"$cur\"", strings.Join(c.choices, " "))
	case completeFiles:
		return "_syndiag_add -f -- \"$cur\"\n" + indent + "compopt -o filenames 2>/dev/null"
	case completeDirs:
		return "_syndiag_add -d -- \"$cur\"\n" + indent + "compopt -o filenames 2>/dev/null"
	}
	return ""
}

// writeBash writes a script for bash's complete -F. Bash splits
// --format=json into three words at the "=", which it undoes.
func writeBash(w io.Writer, cmds []command) {
	fmt.Fprintf(w, bashHead, strings.Join(commandNames(cmds), "|"), strings.Join(commandNames(cmds), " "))
	for _, c := range cmds {
		bashCommand(w, c)
	}
	fmt.Fprint(w, bashTail)
}

// bashHead is the start of the bash script, up to the case of each
// command; its verbs are the commands joined by "|", then by " ".
const bashHead = `# bash completion for syndiag, generated from its flags by: syndiag completion bash
# Install: syndiag completion bash > /etc/bash_completion.d/syndiag

# _syndiag_add adds what compgen offers to COMPREPLY, a line each, so that
# file names with spaces stay whole.
_syndiag_add() {
	local w
	while IFS= read -r w; do
		COMPREPLY+=("$w")
	done < <(compgen "$@")
}

_syndiag() {
	COMPREPLY=()
	local cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]} prev=
	(( cword > 0 )) && prev=${COMP_WORDS[cword-1]}
	if [[ $cur == "=" ]]; then
		cur=
	elif [[ $prev == "=" ]] && (( cword > 1 )); then
		prev=${COMP_WORDS[cword-2]}
	fi
	local cmd=analyze
	case ${COMP_WORDS[1]} in
	%s)
		(( cword > 1 )) && cmd=${COMP_WORDS[1]}
		;;
	esac
	if (( cword == 1 )) && [[ $cur != -* ]]; then
		_syndiag_add -W %q -- "$cur"
		_syndiag_add -f -- "$cur"
		compopt -o filenames 2>/dev/null
		return 0
	fi
	case $cmd in
`

// bashTail ends the bash script.
const bashTail = `	esac
	return 0
}

complete -F _syndiag syndiag
`

// bashCommand writes the case of one command: the values of its flags,
// then its flags, then its arguments.
func bashCommand(w io.Writer, c command) {
	fmt.Fprintf(w, "\t%s)\n", c.name)
	var valueless, words []string
	byKind := map[string][]string{}
	var order []string
	for _, f := range c.flagList() {
		words = append(words, flagWords(f)...)
		if !takesValue(f) {
			continue
		}
		action := bashAction(c.values[f.Name], "\t\t\t")
		if action == "" {
			valueless = append(valueless, flagWords(f)...)
			continue
		}
		if _, ok := byKind[action]; !ok {
			order = append(order, action)
		}
		byKind[action] = append(byKind[action], flagWords(f)...)
	}
	if len(order) > 0 || len(valueless) > 0 {
		fmt.Fprint(w, "\t\tcase $prev in\n")
		for _, action := range order {
			fmt.Fprintf(w, "\t\t%s)\n\t\t\t%s\n\t\t\treturn 0\n\t\t\t;;\n", strings.Join(byKind[action], "|"), action)
		}
		if len(valueless) > 0 {
			// A value of free text: offer nothing rather than files.
			fmt.Fprintf(w, "\t\t%s)\n\t\t\treturn 0\n\t\t\t;;\n", strings.Join(valueless, "|"))
		}
		fmt.Fprint(w, "\t\tesac\n")
	}
	words = append(words, "-h", "--help")
	fmt.Fprintf(w, "\t\tif [[ $cur == -* ]]; then\n\t\t\t_syndiag_add -W %q -- \"$cur\"\n\t\t\treturn 0\n\t\tfi\n", strings.Join(words, " "))
	if c.args.kind == completeChoices {
		fmt.Fprint(w, "\t\t(( cword == 2 )) || return 0\n")
	}
	if action := bashAction(c.args, "\t\t"); action != "" {
		fmt.Fprintf(w, "\t\t%s\n", action)
	}
	fmt.Fprint(w, "\t\t;;\n")
}

// zshQuote quotes s for zsh in single quotes.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// zshDescription escapes a description for _arguments' [brackets].
func zshDescription(s string) string {
	return strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(brief(s))
}

// zshAction is the _arguments action that completes a value or argument.
func zshAction(c completion) string {
	switch c.kind {
	case completeFiles:
		return "_files"
	case completeDirs:
		return "_directories"
	case completeChoices:
		return "(" + strings.Join(c.choices, " ") + ")"
	}
	return " "
}

// writeZsh writes a script for zsh's compsys: a file _syndiag in $fpath,
// or sourced, when it registers itself with compdef.
func writeZsh(w io.Writer, cmds []command) {
	fmt.Fprint(w, zshHead)
	for _, c := range cmds {
		zshCommand(w, c)
	}
	fmt.Fprint(w, "_syndiag() {\n\tlocal -a commands\n\tcommands=(\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "\t\t%s\n", zshQuote(c.name+":"+c.summary))
	}
	fmt.Fprintf(w, zshTail, strings.Join(commandNames(cmds), "|"))
}

// zshHead starts the zsh script.
const zshHead = `#compdef syndiag
# zsh completion for syndiag, generated from its flags by: syndiag completion zsh
# Install: syndiag completion zsh > "${fpath[1]}/_syndiag"

`

// zshTail ends the zsh script, after the menu of commands: the function
// that completes syndiag; its verb is the commands joined by "|".
const zshTail = `	)
	if (( CURRENT == 2 )) && [[ $PREFIX != -* ]]; then
		_describe -t commands 'syndiag command' commands
	fi
	case $words[2] in
	(%s)
		if (( CURRENT > 2 )); then
			shift words
			(( CURRENT-- ))
			_syndiag_$words[1]
		fi
		;;
	(*)
		_syndiag_analyze
		;;
	esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
	_syndiag "$@"
else
	compdef _syndiag syndiag
fi
`

// zshCommand writes the function that completes one command: _arguments
// with its flags and its arguments.
func zshCommand(w io.Writer, c command) {
	fmt.Fprintf(w, "_syndiag_%s() {\n\t_arguments -s -S", c.name)
	for _, f := range c.flagList() {
		desc := "[" + zshDescription(f.Usage) + "]"
		value := ""
		if takesValue(f) {
			value = ":" + strings.ReplaceAll(f.Name, "-", " ") + ":" + zshAction(c.values[f.Name])
		}
		prefix := ""
		if repeatable(f) {
			prefix = "*"
		}
		if f.Shorthand == "" {
			long := "--" + f.Name
			if takesValue(f) {
				long += "="
			}
			fmt.Fprintf(w, " \\\n\t\t%s", zshQuote(prefix+long+desc+value))
			continue
		}
		short, long := "-"+f.Shorthand, "--"+f.Name
		if takesValue(f) {
			short, long = short+"+", long+"="
		}
		exclude := ""
		if !repeatable(f) {
			exclude = fmt.Sprintf("(-%s --%s)", f.Shorthand, f.Name)
		}
		fmt.Fprintf(w, " \\\n\t\t%s{%s,%s}%s", zshQuote(exclude+prefix), short, long, zshQuote(desc+value))
	}
	fmt.Fprintf(w, " \\\n\t\t'(- *)'{-h,--help}'[show the help]'")
	switch c.args.kind {
	case completeFiles:
		fmt.Fprintf(w, " \\\n\t\t%s", zshQuote("*:capture:"+zshAction(c.args)))
	case completeDirs:
		fmt.Fprintf(w, " \\\n\t\t%s", zshQuote("*:folder:"+zshAction(c.args)))
	case completeChoices:
		fmt.Fprintf(w, " \\\n\t\t%s", zshQuote("1:"+c.name+":"+zshAction(c.args)))
	}
	fmt.Fprint(w, "\n}\n\n")
}

// fishQuote quotes s for fish in single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

// writeFish writes a script for fish: complete commands, each under a
// condition that names the syndiag command being typed.
func writeFish(w io.Writer, cmds []command) {
	fmt.Fprintf(w, fishHead, strings.Join(commandNames(cmds), " "))
	for _, c := range cmds {
		fmt.Fprintf(w, "complete -c syndiag -n __syndiag_at_start -a %s -d %s\n", c.name, fishQuote(c.summary))
	}
	for _, c := range cmds {
		fishCommand(w, c)
	}
}

// fishHead starts the fish script; its verb is the commands joined by " ".
const fishHead = `# fish completion for syndiag, generated from its flags by: syndiag completion fish
# Install: syndiag completion fish > ~/.config/fish/completions/syndiag.fish

# __syndiag_is succeeds when the command typed is $argv[1]; without one,
# syndiag analyzes.
function __syndiag_is
	set -l words (commandline -opc)
	set -l cmd analyze
	if set -q words[2]; and contains -- $words[2] %s
		set cmd $words[2]
	end
	test "$cmd" = $argv[1]
end

function __syndiag_at_start
	test (count (commandline -opc)) -eq 1
end

complete -c syndiag -f
`

// fishCommand writes the completions of one command: its flags, then its
// arguments.
func fishCommand(w io.Writer, c command) {
	cond := fishQuote("__syndiag_is " + c.name)
	fmt.Fprintf(w, "\n# syndiag %s\n", c.name)
	for _, f := range c.flagList() {
		var b strings.Builder
		fmt.Fprintf(&b, "complete -c syndiag -n %s", cond)
		if f.Shorthand != "" {
			fmt.Fprintf(&b, " -s %s", f.Shorthand)
		}
		fmt.Fprintf(&b, " -l %s", f.Name)
		if takesValue(f) {
			switch comp := c.values[f.Name]; comp.kind {
			case completeChoices:
				fmt.Fprintf(&b, " -x -a %s", fishQuote(strings.Join(comp.choices, " ")))
			case completeFiles:
				b.WriteString(" -r -F")
			case completeDirs:
				b.WriteString(" -x -a '(__fish_complete_directories)'")
			default:
				b.WriteString(" -x")
			}
		}
		fmt.Fprintf(&b, " -d %s\n", fishQuote(brief(f.Usage)))
		io.WriteString(w, b.String())
	}
	fmt.Fprintf(w, "complete -c syndiag -n %s -s h -l help -d 'show the help'\n", cond)
	switch c.args.kind {
	case completeFiles:
		fmt.Fprintf(w, "complete -c syndiag -n %s -F\n", cond)
	case completeDirs:
		fmt.Fprintf(w, "complete -c syndiag -n %s -x -a '(__fish_complete_directories)'\n", cond)
	case completeChoices:
		fmt.Fprintf(w, "complete -c syndiag -n %s -x -a %s\n", fishQuote("__syndiag_is "+c.name+"; and test (count (commandline -opc)) -eq 2"), fishQuote(strings.Join(c.args.choices, " ")))
	}
}
