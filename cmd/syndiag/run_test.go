package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const lab = "../../testdata/lab/"

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	notCapture := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notCapture, []byte("hello, this is not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A capture cut in its last record: analyzed up to there, with a warning.
	whole, err := os.ReadFile(lab + "closed-port.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, whole[:len(whole)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc     string
		args     []string
		code     int
		stdout   string // a substring of stdout, or "" for no check
		stderr   string // a substring of stderr
		noStderr bool
	}{
		{desc: "help", args: []string{"--help"}, code: 0, stderr: "syndiag analyze [flags] FILE..."},
		{desc: "help command", args: []string{"help"}, code: 0, stderr: "Exit codes:"},
		{desc: "no file", args: []string{"analyze"}, code: 2, stderr: "no capture file given"},
		{desc: "bad format", args: []string{"--format", "xml", lab + "closed-port.pcap"}, code: 2, stderr: `unknown --format "xml"`},
		{desc: "bad fail-on", args: []string{"--fail-on", "loud", lab + "closed-port.pcap"}, code: 2, stderr: `unknown --fail-on "loud"`},
		{desc: "unknown flag", args: []string{"--bogus", lab + "closed-port.pcap"}, code: 2, stderr: "unknown flag: --bogus"},
		{desc: "missing file", args: []string{"nonexistent.pcap"}, code: 2, stderr: "syndiag: nonexistent.pcap: no such file or directory"},
		{desc: "directory", args: []string{lab}, code: 2, stderr: "syndiag: ../../testdata/lab/ is a folder: syndiag triage ../../testdata/lab/ analyzes every capture under it"},
		{desc: "directory beside a file", args: []string{lab + "closed-port.pcap", lab}, code: 2, stderr: "is a folder: syndiag triage"},
		{desc: "client without server", args: []string{"--client", lab + "closed-port-client.pcap", lab + "closed-port.pcap"}, code: 2, stderr: "syndiag: --client needs --server"},
		{desc: "server without client", args: []string{"--server", lab + "closed-port.pcap"}, code: 2, stderr: "syndiag: --server needs --client"},
		{desc: "no file, stdin not a pipe", args: nil, code: 2, stderr: "no capture file given"},
		{desc: "not a capture", args: []string{notCapture}, code: 2, stderr: `notes.txt: offset 0: not a capture file: it starts with text "hello, t"`},
		{desc: "shortcut", args: []string{lab + "closed-port.pcap"}, code: 0, stdout: "198.18.2.2:8081", noStderr: true},
		{desc: "analyze", args: []string{"analyze", lab + "closed-port.pcap"}, code: 0, stdout: "198.18.2.2:8081", noStderr: true},
		{desc: "one good one bad", args: []string{lab + "closed-port.pcap", notCapture}, code: 2, stdout: "198.18.2.2:8081", stderr: "not a capture file"},
		{desc: "truncated", args: []string{cut}, code: 0, stdout: "warning: " + cut + ": stopped early: offset 274: last record cut short", stderr: "cut.pcap: offset 274: last record cut short: 44 of 54 bytes"},
		{desc: "fail-on warning, a warning", args: []string{"--fail-on", "warning", lab + "closed-port.pcap"}, code: 1, stdout: "WARNING refused", noStderr: true},
		{desc: "fail-on critical, only warnings", args: []string{"--fail-on", "critical", lab + "closed-port.pcap"}, code: 0, stdout: "WARNING refused", noStderr: true},
		{desc: "fail-on critical, a critical", args: []string{"--fail-on", "critical", "../../testdata/scenarios/accept-overflow-abort0/server.pcap"}, code: 1, stdout: "CRITICAL accept_queue_overflow", noStderr: true},
		{desc: "fail-on info, healthy", args: []string{"--fail-on", "info", lab + "established.pcap"}, code: 0, stdout: "Nothing wrong", noStderr: true},
		{desc: "markdown", args: []string{"--format", "markdown", lab + "closed-port.pcap"}, code: 0, stdout: "### WARNING: refused, confidence 1.00", noStderr: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr: %s)", code, tc.code, stderr)
			}
			// The report wraps long lines; compare with runs of white space
			// folded.
			if !strings.Contains(strings.Join(strings.Fields(stdout), " "), tc.stdout) {
				t.Errorf("stdout does not contain %q:\n%s", tc.stdout, stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.stderr, stderr)
			}
			if tc.noStderr && stderr != "" {
				t.Errorf("unexpected stderr: %s", stderr)
			}
		})
	}
}

// goldenCaptures lists every test capture of the repository: the lab's,
// the diagnosis scenarios' and the per-host PAWS generator's.
func goldenCaptures(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{lab, "../../testdata/paws/", "../../testdata/scenarios/*/"} {
		for _, pat := range []string{"*.pcap", "*.pcapng", "*.gz", "*.zst"} {
			m, _ := filepath.Glob(dir + pat)
			files = append(files, m...)
		}
	}
	if len(files) == 0 {
		t.Fatal("no test captures")
	}
	return files
}

// goldenName names a capture's golden file after its folder and name.
func goldenName(file string) string {
	rel := strings.TrimPrefix(filepath.ToSlash(file), "../../testdata/")
	return strings.ReplaceAll(rel, "/", "__")
}

// goldenExt names the golden file extension of each output format.
var goldenExt = map[string]string{"table": "txt", "json": "json", "markdown": "md"}

// checkGolden compares output with testdata/golden/name, or rewrites that
// file under -update.
func checkGolden(t *testing.T, name, output string) {
	t.Helper()
	checkGoldenFile(t, filepath.Join("testdata", "golden", name), output)
}

// checkGoldenFile compares output with the file golden, or rewrites it
// under -update.
func checkGoldenFile(t *testing.T, golden, output string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(output), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/syndiag -update)", err)
	}
	if output != string(want) {
		t.Errorf("output differs from %s (run with -update after checking the change):\n%s", golden, output)
	}
}

// TestGoldenJoined renders the two-capture joins as text, JSON and Markdown
// and compares with testdata/golden.
func TestGoldenJoined(t *testing.T) {
	pairs := []struct{ name, client, server string }{
		{"join__nat", "../../testdata/join/nat-client.pcap", "../../testdata/join/nat-server.pcap"},
		{"join__paws-nat", "../../testdata/paws/paws-nat-client.pcap", "../../testdata/paws/paws-nat.pcap"},
	}
	for _, pr := range pairs {
		for _, format := range []string{"table", "json", "markdown"} {
			name := pr.name + "." + goldenExt[format]
			t.Run(name, func(t *testing.T) {
				code, stdout, stderr := runCmd(t, "--format", format, "--client", pr.client, "--server", pr.server)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				checkGolden(t, name, stdout)
			})
		}
	}
}

// TestGolden renders every test capture as text, JSON and Markdown and
// compares with testdata/golden; go test ./cmd/syndiag -update rewrites them.
func TestGolden(t *testing.T) {
	for _, file := range goldenCaptures(t) {
		for _, format := range []string{"table", "json", "markdown"} {
			name := goldenName(file) + "." + goldenExt[format]
			t.Run(name, func(t *testing.T) {
				code, stdout, stderr := runCmd(t, "--format", format, file)
				if code != 0 || stderr != "" {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				checkGolden(t, name, stdout)
				if *update {
					return
				}
				// Identical input gives byte-identical output.
				if _, again, _ := runCmd(t, "--format", format, file); again != stdout {
					t.Error("a second run gave different output")
				}
			})
		}
	}
}

// TestColorful checks when the terminal report may use colour: only on a
// character device, and never with NO_COLOR set or TERM=dumb.
func TestColorful(t *testing.T) {
	dev, w := terminalAndPipe(t)
	tests := []struct {
		desc          string
		out           io.Writer
		noColor, term string
		want          bool
	}{
		{"character device", dev, "", "xterm", true},
		{"NO_COLOR", dev, "1", "xterm", false},
		{"dumb terminal", dev, "", "dumb", false},
		{"pipe", w, "", "xterm", false},
		{"buffer", &bytes.Buffer{}, "", "xterm", false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Setenv("NO_COLOR", tc.noColor)
			t.Setenv("TERM", tc.term)
			if got := colorful(tc.out); got != tc.want {
				t.Errorf("colorful = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestStdinImplied checks that with no FILE a capture piped or redirected
// to standard input is read, as tcpdump -w - | syndiag expects, and that a
// terminal or /dev/null on standard input is not waited on.
func TestStdinImplied(t *testing.T) {
	capture := lab + "closed-port.pcap"
	want, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	pipe := func(t *testing.T) *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		go func() {
			w.Write(want)
			w.Close()
		}()
		return r
	}
	file := func(t *testing.T) *os.File {
		f, err := os.Open(capture)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	devNull := func(t *testing.T) *os.File {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	tests := []struct {
		desc   string
		stdin  func(*testing.T) *os.File
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"pipe", pipe, nil, 0, "198.18.2.2:8081", ""},
		{"pipe, flags only", pipe, []string{"--format", "json"}, 0, `"path": "-"`, ""},
		{"redirected file", file, []string{"analyze"}, 0, "198.18.2.2:8081", ""},
		{"dev null", devNull, nil, 2, "", "no capture file given"},
		{"a FILE wins over the pipe", pipe, []string{lab + "established.pcap"}, 0, "established.pcap", ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, tc.stdin(t), &out, &errb)
			if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("exit %d (want %d); stdout has %q: %v; stderr %q (want %q)", code, tc.code, tc.stdout, strings.Contains(out.String(), tc.stdout), errb.String(), tc.stderr)
			}
		})
	}
}

// terminalAndPipe opens a character device, which isTerminal takes for a
// terminal, and the writing end of a pipe, which it does not.
func terminalAndPipe(t *testing.T) (dev, pipe *os.File) {
	t.Helper()
	dev, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close(); r.Close(); w.Close() })
	return dev, w
}

// TestAttemptsFile checks --attempts: a JSON line per attempt, whatever
// the format of the report, and a usage error when the file cannot be
// written.
func TestAttemptsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "attempts.jsonl")
	code, _, stderr := runCmd(t, "analyze", "--progress", "never", "--attempts", path, "../../testdata/scenarios/firewall-drop-mixed/server.pcap")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	_, doc, _ := runCmd(t, "analyze", "--progress", "never", "-f", "json", "../../testdata/scenarios/firewall-drop-mixed/server.pcap")
	var d struct {
		Captures []struct{ Attempts int } `json:"captures"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	if len(lines) != d.Captures[0].Attempts || !strings.HasPrefix(lines[0], `{"id":0,"capture":0,`) {
		t.Errorf("%d lines starting %.30q, want %d attempts from id 0", len(lines), lines[0], d.Captures[0].Attempts)
	}
	code, _, stderr = runCmd(t, "analyze", "--progress", "never", "--attempts", t.TempDir(), "../../testdata/scenarios/firewall-drop-mixed/server.pcap")
	if code != exitUsage || !strings.Contains(stderr, "--attempts") {
		t.Errorf("--attempts to a folder: exit %d, %q", code, stderr)
	}
}
