package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// manPage runs syndiag man.
func manPage(t *testing.T) string {
	t.Helper()
	code, stdout, stderr := runCmd(t, "man")
	if code != exitOK || stderr != "" {
		t.Fatalf("syndiag man: exit %d, stderr %q", code, stderr)
	}
	return stdout
}

// TestManFlags checks that the man page has every flag of every command,
// under that command, as the FlagSets define them.
func TestManFlags(t *testing.T) {
	page := manPage(t)
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			fl := c.flagList()
			if len(fl) == 0 {
				return
			}
			head := ".SS \"syndiag " + c.name + "\"\n"
			_, section, ok := strings.Cut(page, head)
			if !ok {
				t.Fatalf("no %q", head)
			}
			section, _, _ = strings.Cut(section, ".SS ")
			section, _, _ = strings.Cut(section, ".SH ")
			for _, f := range fl {
				want := `\fB\-\-` + strings.ReplaceAll(f.Name, "-", `\-`) + `\fR`
				if f.Shorthand != "" {
					want = `\fB\-` + f.Shorthand + `\fR, ` + want
				}
				if !strings.Contains(section, ".TP\n"+want) {
					t.Errorf("no %s in the OPTIONS of syndiag %s", want, c.name)
				}
				for _, choice := range c.values[f.Name].choices {
					if !strings.Contains(section, choice) {
						t.Errorf("--%s: its value %q is not in the page", f.Name, choice)
					}
				}
			}
		})
	}
}

// TestManStructure checks the page's roff: the sections a man page has,
// every command in the SYNOPSIS, every exit code, only macros the man
// package defines, and balanced blocks.
func TestManStructure(t *testing.T) {
	page := manPage(t)
	if !strings.HasPrefix(page, `.\"`) || !strings.Contains(page, "\n.TH SYNDIAG 1 ") {
		t.Errorf("the page does not start with a comment and .TH SYNDIAG 1")
	}
	for _, sh := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", `"EXIT STATUS"`, "EXAMPLES", "ENVIRONMENT", "FILES", `"SEE ALSO"`} {
		if !strings.Contains(page, "\n.SH "+sh+"\n") {
			t.Errorf("no .SH %s", sh)
		}
	}
	_, synopsis, _ := strings.Cut(page, ".SH SYNOPSIS\n")
	synopsis, _, _ = strings.Cut(synopsis, ".SH ")
	for _, c := range commands() {
		if !strings.Contains(synopsis, `\fBsyndiag\fR `+c.name) {
			t.Errorf("the SYNOPSIS does not have syndiag %s", c.name)
		}
	}
	_, exit, _ := strings.Cut(page, ".SH \"EXIT STATUS\"\n")
	exit, _, _ = strings.Cut(exit, ".SH ")
	for _, code := range []string{"0", "1", "2", "3", "4", "130"} {
		if !strings.Contains(exit, ".TP\n.B "+code+"\n") {
			t.Errorf("EXIT STATUS does not have %s", code)
		}
	}
	for _, want := range []string{"first of 4, 3, 1, 2", "first of 130, 4, 3, 1, 2", "NO_COLOR", "SYNDIAG_FOREIGN", ".BR tcpdump (1)", ".BR tshark (1)", "man \\-l \\-"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not say %q", want)
		}
	}
	macros := map[string]bool{`\"`: true, "TH": true, "SH": true, "SS": true, "PP": true, "TP": true, "B": true, "I": true, "BR": true, "RS": true, "RE": true, "nf": true, "fi": true}
	depth := map[string]int{}
	for i, line := range strings.Split(strings.TrimSuffix(page, "\n"), "\n") {
		if strings.HasPrefix(line, "'") {
			t.Errorf("line %d starts with ', a control character: %q", i+1, line)
		}
		if !strings.HasPrefix(line, ".") {
			continue
		}
		name, _, _ := strings.Cut(line[1:], " ")
		if !macros[name] {
			t.Errorf("line %d: unknown macro %q", i+1, line)
		}
		switch name {
		case "RS", "nf":
			depth[name]++
		case "RE":
			depth["RS"]--
		case "fi":
			depth["nf"]--
		}
		if depth["RS"] < 0 || depth["nf"] < 0 || depth["nf"] > 1 {
			t.Fatalf("line %d: %q is unbalanced", i+1, line)
		}
	}
	if depth["RS"] != 0 || depth["nf"] != 0 {
		t.Errorf("unbalanced blocks at the end: %v", depth)
	}
}

// TestManRenders formats the page with groff, warnings on, and checks
// that it warns of nothing and reads as a man page; it is skipped where
// groff is not installed (apt-get install groff-base).
func TestManRenders(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff is not installed")
	}
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-rLL=100n")
	cmd.Stdin = strings.NewReader(manPage(t))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("groff: %v\n%s", err, stderr.String())
	}
	text := plain(stdout.String())
	for _, want := range []string{"SYNDIAG(1)", "NAME", "syndiag - explains why TCP connections", "EXIT STATUS", "--format table|json|markdown|html", "--fail-on info|warning|critical|none", "SEE ALSO"} {
		if !strings.Contains(text, want) {
			t.Errorf("the formatted page does not have %q", want)
		}
	}
}

// plain removes terminal formatting from groff's output: SGR escapes and
// backspace overstrikes.
func plain(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch {
		case rs[i] == '\x1b':
			for i < len(rs) && rs[i] != 'm' {
				i++
			}
		case i+1 < len(rs) && rs[i+1] == '\b':
			i++ // the next rune overstrikes this one
		case rs[i] == '‐' || rs[i] == '−':
			b.WriteRune('-')
		default:
			b.WriteRune(rs[i])
		}
	}
	return b.String()
}

// TestManCommand checks syndiag man's arguments.
func TestManCommand(t *testing.T) {
	if code, stdout, _ := runCmd(t, "man", "extra"); code != exitUsage || stdout != "" {
		t.Errorf("syndiag man extra: exit %d, stdout %.40q; want exit 2 and nothing", code, stdout)
	}
	if code, _, stderr := runCmd(t, "man", "--help"); code != exitOK || !strings.Contains(stderr, "man -l -") {
		t.Errorf("syndiag man --help: exit %d, stderr %q", code, stderr)
	}
}
