package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// completionScript runs syndiag completion shell.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	code, stdout, stderr := runCmd(t, "completion", shell)
	if code != exitOK || stderr != "" {
		t.Fatalf("syndiag completion %s: exit %d, stderr %q", shell, code, stderr)
	}
	return stdout
}

// TestCompletionFlags checks that each script knows every flag of every
// command, as the FlagSets define them: a flag added to a command is in
// the scripts without anyone writing it there, and this test says so when
// it is not.
func TestCompletionFlags(t *testing.T) {
	// How each shell's script spells a flag.
	spell := map[string]func(f *pflag.Flag) []string{
		"bash": func(f *pflag.Flag) []string { return flagWords(f) },
		"zsh": func(f *pflag.Flag) []string {
			if f.Shorthand != "" {
				return []string{"{-" + f.Shorthand, ",--" + f.Name}
			}
			return []string{"--" + f.Name}
		},
		"fish": func(f *pflag.Flag) []string {
			if f.Shorthand != "" {
				return []string{"-s " + f.Shorthand + " -l " + f.Name + " "}
			}
			return []string{"-l " + f.Name + " "}
		},
	}
	for _, shell := range shells {
		script := completionScript(t, shell)
		for _, c := range commands() {
			t.Run(shell+"/"+c.name, func(t *testing.T) {
				if !strings.Contains(script, c.name) {
					t.Errorf("the %s script does not name the command %s", shell, c.name)
				}
				for _, f := range c.flagList() {
					for _, word := range spell[shell](f) {
						if !strings.Contains(script, word) {
							t.Errorf("the %s script does not have %q (flag --%s of %s)", shell, word, f.Name, c.name)
						}
					}
					for _, choice := range c.values[f.Name].choices {
						if !strings.Contains(script, choice) {
							t.Errorf("the %s script does not offer %q for --%s of %s", shell, choice, f.Name, c.name)
						}
					}
				}
			})
		}
	}
}

// TestCompletionValues checks the table of what flag values are against
// the FlagSets: a value described is a flag that takes one (a renamed flag
// must not leave its completion behind), and a command with flags has
// them.
func TestCompletionValues(t *testing.T) {
	for _, c := range commands() {
		for name := range c.values {
			f := (*pflag.Flag)(nil)
			if c.flags != nil {
				f = c.flags.Lookup(name)
			}
			switch {
			case f == nil:
				t.Errorf("%s: a completion for --%s, which is not one of its flags", c.name, name)
			case !takesValue(f):
				t.Errorf("%s: a completion for --%s, which takes no value", c.name, name)
			}
		}
		if c.flags != nil && len(c.flagList()) == 0 {
			t.Errorf("%s: a FlagSet without flags", c.name)
		}
	}
}

// TestCompletionSyntax checks each script with its shell's -n (parse, run
// nothing), where that shell is installed.
func TestCompletionSyntax(t *testing.T) {
	for _, shell := range shells {
		t.Run(shell, func(t *testing.T) {
			path, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("%s is not installed", shell)
			}
			file := filepath.Join(t.TempDir(), "syndiag."+shell)
			if err := os.WriteFile(file, []byte(completionScript(t, shell)), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(path, "-n", file).CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s", shell, err, out)
			}
		})
	}
}

// completionDir is a folder with a capture and a folder in it, for the
// shells to complete names from.
func completionDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "uploads"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "server.pcap"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBashCompletion runs the bash script's function on command lines, as
// bash's complete -F does, and checks what it offers.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	dir := completionDir(t)
	script := filepath.Join(t.TempDir(), "syndiag.bash")
	if err := os.WriteFile(script, []byte(completionScript(t, "bash")), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc  string
		words []string // the last is the word being completed
		want  []string
	}{
		{"commands and captures", []string{""}, []string{"analyze", "collect", "completion", "man", "server.pcap", "triage", "uploads", "version"}},
		{"analyze's flags", []string{"--w"}, []string{"--wide"}},
		{"format", []string{"--format", ""}, []string{"table", "json", "markdown", "html"}},
		{"format's shorthand", []string{"-f", "m"}, []string{"markdown"}},
		{"--fail-on=", []string{"--fail-on", "=", "w"}, []string{"warning"}},
		{"--fail-on= before a value", []string{"--fail-on", "="}, []string{"info", "warning", "critical", "none"}},
		{"a number", []string{"--top", ""}, nil},
		{"a capture", []string{"analyze", "se"}, []string{"server.pcap"}},
		{"evidence", []string{"--evidence", "u"}, []string{"uploads"}},
		{"triage's folders", []string{"triage", ""}, []string{"uploads"}},
		{"triage's format", []string{"triage", "--format", "j"}, []string{"jsonl", "json"}},
		{"triage's flags", []string{"triage", "--fr"}, []string{"--from"}},
		{"collect's side", []string{"collect", "--side", ""}, []string{"server", "client", "both"}},
		{"collect takes no files", []string{"collect", ""}, nil},
		{"shells", []string{"completion", ""}, shells},
		{"one shell only", []string{"completion", "bash", ""}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			words := append([]string{"syndiag"}, tc.words...)
			quoted := make([]string, len(words))
			for i, w := range words {
				quoted[i] = shellQuote(w)
			}
			prog := "source " + shellQuote(script) + "\ncompopt() { :; }\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
				strconv.Itoa(len(words)-1) + "\n_syndiag\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
			cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			got := strings.Fields(string(out))
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("%q: got %q, want %q", strings.Join(words, " "), got, want)
			}
		})
	}
}

// TestFishCompletion asks fish what it completes on command lines, with
// complete -C, where fish is installed.
func TestFishCompletion(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("fish is not installed")
	}
	dir := completionDir(t)
	script := filepath.Join(t.TempDir(), "syndiag.fish")
	if err := os.WriteFile(script, []byte(completionScript(t, "fish")), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc, line string
		want       []string
	}{
		{"commands and captures", "syndiag ", []string{"analyze", "collect", "completion", "man", "server.pcap", "triage", "uploads/", "version"}},
		{"format", "syndiag --format ", []string{"html", "json", "markdown", "table"}},
		{"--fail-on=", "syndiag --fail-on=c", []string{"--fail-on=critical"}},
		{"a capture", "syndiag analyze s", []string{"server.pcap"}},
		{"triage's folders", "syndiag triage ", []string{"uploads/"}},
		{"triage's format", "syndiag triage -f j", []string{"json", "jsonl"}},
		{"collect's flags", "syndiag collect --sn", []string{"--snaplen"}},
		{"shells", "syndiag completion ", []string{"bash", "fish", "zsh"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cmd := exec.Command(fish, "--no-config", "-c", "source "+shellQuote(script)+"; complete -C "+shellQuote(tc.line))
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, out)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if w, _, _ := strings.Cut(l, "\t"); w != "" {
					got = append(got, w)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}

// TestZshCompletion types command lines into an interactive zsh with the
// script loaded (testdata/zsh-complete.zsh) and checks what its completion
// system offers, where zsh is installed: the _arguments specs, which zsh -n
// does not read. Flags are checked against the FlagSets.
func TestZshCompletion(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("zsh is not installed")
	}
	script := filepath.Join(t.TempDir(), "_syndiag")
	if err := os.WriteFile(script, []byte(completionScript(t, "zsh")), 0o644); err != nil {
		t.Fatal(err)
	}
	capture, err := filepath.Abs("testdata/zsh-complete.zsh")
	if err != nil {
		t.Fatal(err)
	}
	// compinit's dump, made once for every line.
	dump := filepath.Join(t.TempDir(), "zcompdump")
	if out, err := exec.Command(zsh, "-f", "-c", "autoload -U compinit && compinit -u -d "+shellQuote(dump)).CombinedOutput(); err != nil {
		t.Fatalf("compinit: %v\n%s", err, out)
	}
	dir := completionDir(t)
	flagsOf := func(name string) []string {
		want := []string{"-h", "--help"}
		for _, c := range commands() {
			for _, f := range c.flagList() {
				if c.name == name {
					want = append(want, flagWords(f)...)
				}
			}
		}
		return want
	}
	tests := []struct {
		desc, line string
		want       []string
	}{
		{"commands and captures", "syndiag ", []string{"analyze", "collect", "completion", "man", "server.pcap", "triage", "uploads", "version"}},
		{"analyze's flags", "syndiag -", flagsOf("analyze")},
		{"triage's flags", "syndiag triage -", flagsOf("triage")},
		{"collect's flags", "syndiag collect -", flagsOf("collect")},
		{"format", "syndiag --format ", []string{"table", "json", "markdown", "html"}},
		{"--fail-on=", "syndiag --fail-on=w", []string{"warning"}},
		{"triage's format", "syndiag triage -f j", []string{"jsonl", "json"}},
		{"collect's side", "syndiag collect --side ", []string{"server", "client", "both"}},
		{"shells", "syndiag completion ", shells},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, zsh, "-f", capture, script, tc.line, dump)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("zsh: %v\n%s", err, out)
			}
			got := slices.Compact(slices.Sorted(slices.Values(strings.Fields(string(out)))))
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("%q: got %q, want %q", tc.line, got, want)
			}
		})
	}
}

// TestCompletionCommand checks syndiag completion's arguments.
func TestCompletionCommand(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string // its start
	}{
		{[]string{"completion", "bash"}, exitOK, "# bash completion for syndiag"},
		{[]string{"completion", "zsh"}, exitOK, "#compdef syndiag"},
		{[]string{"completion", "fish"}, exitOK, "# fish completion for syndiag"},
		{[]string{"completion"}, exitUsage, ""},
		{[]string{"completion", "tcsh"}, exitUsage, ""},
		{[]string{"completion", "bash", "zsh"}, exitUsage, ""},
		{[]string{"completion", "--help"}, exitOK, ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.args...)
			if code != tc.code || !strings.HasPrefix(stdout, tc.stdout) || tc.stdout == "" && stdout != "" {
				t.Errorf("exit %d (want %d), stdout %.40q (want %q…), stderr %q", code, tc.code, stdout, tc.stdout, stderr)
			}
			if code == exitUsage && !strings.Contains(stderr, "bash, zsh, fish") {
				t.Errorf("stderr %q does not name the shells", stderr)
			}
		})
	}
}

// TestHelpNamesCommands checks that --help lists completion and man.
func TestHelpNamesCommands(t *testing.T) {
	_, _, stderr := runCmd(t, "--help")
	for _, c := range commands() {
		if c.name != "analyze" && !strings.Contains(stderr, "syndiag "+c.name) {
			t.Errorf("--help does not list syndiag %s", c.name)
		}
	}
}
