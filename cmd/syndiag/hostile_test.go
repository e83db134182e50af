//go:build unix

package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows/evidence"
)

// hostileTree builds, under dir, uploads as issue 16 found them: good
// captures, one whose analysis panics (through the analyzeCase hook, since
// no input is known to panic any more), one of link type 65535 (which did),
// a FIFO with no writer, a link loop, a dangling link, and names with an
// escape sequence, a newline and bytes that are not UTF-8 (two names that
// differ only there).
func hostileTree(t *testing.T, dir string) {
	t.Helper()
	closed, err := os.ReadFile(lab + "closed-port.pcap")
	if err != nil {
		t.Fatal(err)
	}
	icmp, err := os.ReadFile(lab + "icmp-reject.pcap")
	if err != nil {
		t.Fatal(err)
	}
	lt := slices.Clone(closed)
	binary.LittleEndian.PutUint32(lt[20:], 0xffff)
	files := map[string][]byte{
		"uploads/good/closed-port.pcap":   closed,
		"uploads/icmp.pcap":               icmp,
		"uploads/crash/boom.pcap":         closed,
		"uploads/linktype-65535.pcap":     lt,
		"uploads/\x1b[31mred\x1b[0m.pcap": closed,
		"uploads/new\nline.pcap":          icmp,
		"uploads/bad\xff.pcap":            closed,
		"uploads/bad\xfe.pcap":            icmp,
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	up := filepath.Join(dir, "uploads")
	if err := syscall.Mkfifo(filepath.Join(up, "fifo.pcap"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"loop-b", "loop-a"}, {"loop-a", "loop-b"}, {"nowhere.pcap", "dangling.pcap"}} {
		if err := os.Symlink(l[0], filepath.Join(up, l[1])); err != nil {
			t.Fatal(err)
		}
	}
}

// unwrap joins the lines a table wraps, and the columns it pads, with
// single spaces.
func unwrap(s string) string { return strings.Join(strings.Fields(s), " ") }

// panicOn makes analyzeCase panic on the case whose capture is named name,
// as a bug would, for the rest of the test.
func panicOn(t *testing.T, name string) {
	real := analyzeCase
	analyzeCase = func(in []analyze.Input, ev *evidence.Host) *analyze.Result {
		for _, i := range in {
			if filepath.Base(i.Path) == name {
				var m map[string]int
				m["injected"]++ // a nil map: a runtime panic, as a real bug gives
			}
		}
		return real(in, ev)
	}
	t.Cleanup(func() { analyzeCase = real })
}

// runWithin runs the command and fails the test if it takes longer than
// d: a FIFO opened for reading would block forever.
func runWithin(t *testing.T, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := runCmd(t, args...)
		done <- result{code, out, errs}
	}()
	select {
	case r := <-done:
		return r.code, r.stdout, r.stderr
	case <-time.After(d):
		t.Fatalf("syndiag %s: still running after %v (blocked on a FIFO?)", strings.Join(args, " "), d)
	}
	return 0, "", ""
}

// TestTriageHostile triages the hostile tree: the run finishes, every good
// case is reported, the crash is a row of its own with exit 4, the paths
// that are not regular files are listed, names are escaped on the terminal
// and kept apart in JSON, and --from and --expect read the run's output
// back.
func TestTriageHostile(t *testing.T) {
	dir := t.TempDir()
	hostileTree(t, dir)
	t.Chdir(dir)
	panicOn(t, "boom.pcap")
	good := []string{`good/closed-port.pcap`, `icmp.pcap`, `linktype-65535.pcap`, `\x1b[31mred\x1b[0m.pcap`, `new\nline.pcap`, `bad\xff.pcap`, `bad\xfe.pcap`}

	code, table, stderr := runWithin(t, time.Minute, "triage", "--jobs", "3", "uploads")
	if code != exitInternal {
		t.Errorf("exit %d, want %d (internal error)\n%s", code, exitInternal, stderr)
	}
	for _, out := range []string{table, stderr} {
		if strings.ContainsAny(out, "\x1b\xff\xfe") || strings.Contains(out, "new\nline") {
			t.Errorf("a name reached the terminal unescaped:\n%q", out)
		}
	}
	for _, name := range good {
		if !strings.Contains(table, name) {
			t.Errorf("table lacks %s:\n%s", name, table)
		}
	}
	for _, want := range []string{
		"1 internal error",
		"Internal errors (a bug in syndiag",
		"uploads/crash/boom.pcap: internal error: assignment to entry in nil map at syndiag.panicOn.func1 (hostile_test.go:",
		"OK linktype-65535.pcap * 0 0 none",
		"uploads/linktype-65535.pcap: link type unknown (65535) is not decoded: 4 packets skipped",
		"Left out, not regular files (never opened): uploads/dangling.pcap (dangling link), uploads/fifo.pcap (FIFO), uploads/loop-a (link loop), uploads/loop-b (link loop).",
	} {
		if !strings.Contains(unwrap(table), want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if !strings.Contains(stderr, "internal error (a bug in syndiag: please report it): uploads/crash/boom.pcap: internal error: assignment to entry in nil map") {
		t.Errorf("stderr does not name the crash:\n%s", stderr)
	}

	// JSON lines: one per case, the crash included, names distinct and
	// escaped reversibly.
	code, jsonl, stderr := runWithin(t, time.Minute, "triage", "--format", "jsonl", "uploads")
	if code != exitInternal {
		t.Errorf("jsonl: exit %d, want %d\n%s", code, exitInternal, stderr)
	}
	var cases []string
	sc := bufio.NewScanner(strings.NewReader(jsonl))
	for sc.Scan() {
		var c struct {
			Case     string `json:"case"`
			Internal string `json:"internal_error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		cases = append(cases, c.Case)
		if (c.Internal != "") != strings.Contains(c.Case, "boom") {
			t.Errorf("case %q: internal_error %q", c.Case, c.Internal)
		}
	}
	wantCases := []string{"uploads/\x1b[31mred\x1b[0m.pcap", `uploads/bad\xfe.pcap`, `uploads/bad\xff.pcap`, "uploads/crash/boom.pcap",
		"uploads/good/closed-port.pcap", "uploads/icmp.pcap", "uploads/linktype-65535.pcap", "uploads/new\nline.pcap"}
	if !slices.Equal(cases, wantCases) {
		t.Errorf("cases %q\nwant %q", cases, wantCases)
	}
	if err := os.WriteFile("run.jsonl", []byte(jsonl), 0o644); err != nil {
		t.Fatal(err)
	}

	// Read back: the same lines, and the same table but for what JSON
	// lines do not record (the paths left out).
	code, again, stderr := runCmd(t, "triage", "--from", "run.jsonl", "--format", "jsonl")
	if code != exitInternal || again != jsonl {
		t.Errorf("--from run.jsonl: exit %d, want %d; output:\n%s\nwant:\n%s\n%s", code, exitInternal, again, jsonl, stderr)
	}
	_, fromTable, _ := runCmd(t, "triage", "--from", "run.jsonl")
	if cut := table[:strings.Index(table, "Left out")]; !strings.HasPrefix(fromTable, cut) {
		t.Errorf("--from table:\n%s\nwant it to start with:\n%s", fromTable, cut)
	}
	code, _, stderr = runWithin(t, time.Minute, "triage", "--expect", "run.jsonl", "--format", "jsonl", "uploads")
	if code != exitInternal || strings.Contains(stderr, "differ") || strings.Contains(stderr, "expect") {
		t.Errorf("--expect the run's own output: exit %d, want %d and no difference:\n%s", code, exitInternal, stderr)
	}

	// Without the crash, the exit code is the usual one.
	analyzeCase = analyze.AnalyzeWithEvidence
	code, _, stderr = runWithin(t, time.Minute, "triage", "--format", "json", "uploads")
	if code != exitOK {
		t.Errorf("without the crash: exit %d, want 0\n%s", code, stderr)
	}
}

// TestAnalyzeInternalError checks that a panic in analyze exits 4 with a
// message, not Go's 2 and a stack dump.
func TestAnalyzeInternalError(t *testing.T) {
	panicOn(t, "closed-port.pcap")
	code, stdout, stderr := runCmd(t, lab+"closed-port.pcap")
	if code != exitInternal || stdout != "" {
		t.Errorf("exit %d, want %d, and no report:\n%s", code, exitInternal, stdout)
	}
	if !strings.HasPrefix(stderr, "syndiag: internal error: assignment to entry in nil map at syndiag.panicOn.func1 (hostile_test.go:") ||
		!strings.Contains(stderr, "this is a bug in syndiag") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestMaxOpenUsage checks that --max-open below 1 is a usage error, not a
// silent default.
func TestMaxOpenUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--max-open", "0", lab + "closed-port.pcap"},
		{"--max-open=-5", lab + "closed-port.pcap"},
		{"triage", "--max-open", "0", lab + "closed-port.pcap"},
		{"triage", "--max-open", "-1", lab + "closed-port.pcap"},
	} {
		code, _, stderr := runCmd(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "it must be at least 1") {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, stderr)
		}
	}
}

// TestTriageMaxOpen triages a capture with more handshakes open at once
// than --max-open: the row is marked and the cap's warning is in the table
// and the JSON.
func TestTriageMaxOpen(t *testing.T) {
	capture := lab + "mixed-failures.pcap"
	_, table, _ := runCmd(t, "triage", "--max-open", "2", capture)
	if !strings.Contains(table, "mixed-failures.pcap *") || !strings.Contains(table, "* read to the end, but not all of it is in the figures:") ||
		!strings.Contains(table, "more than 2 handshakes were open at once") {
		t.Errorf("table:\n%s", table)
	}
	_, jsonl, _ := runCmd(t, "triage", "--max-open", "2", "--format", "jsonl", capture)
	var c struct {
		Warnings []string `json:"warnings"`
		Files    []struct {
			Evicted int64 `json:"evicted"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(jsonl), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.HasPrefix(c.Warnings[0], capture+": more than 2 handshakes were open at once") || c.Files[0].Evicted == 0 {
		t.Errorf("JSON line: %s", jsonl)
	}
}

// TestFIFONamed checks that a FIFO named on the command line is read as a
// stream, by analyze and by triage.
func TestFIFONamed(t *testing.T) {
	data, err := os.ReadFile(lab + "closed-port.pcap")
	if err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "live.pcap")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"analyze", "--format", "json", fifo}, {"triage", "--format", "jsonl", fifo}} {
		go func() {
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			f.Write(data)
			f.Close()
		}()
		code, stdout, stderr := runWithin(t, time.Minute, args...)
		if code != exitOK || !strings.Contains(stdout, `"refused"`) {
			t.Errorf("%v: exit %d:\n%s\n%s", args, code, stdout, stderr)
		}
	}
}
