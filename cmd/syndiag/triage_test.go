package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// triageTree builds, under dir, a tree of uploads as a support team gets
// them: pairs in folders (named, and told apart only by their TTLs), a
// collect bundle with host evidence, renamed and compressed copies, a
// capture cut short, a corrupt one, an empty one, one in a format syndiag
// cannot read, and files that are not captures at all.
func triageTree(t *testing.T, dir string) {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile("../../testdata/" + p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(p string, b []byte) {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	// A pair named by its sides, with a note that is not a capture.
	write("uploads/acme-1234/client.pcap", read("scenarios/accept-overflow-abort1/client-lan.pcap"))
	write("uploads/acme-1234/server.pcap", read("scenarios/accept-overflow-abort1/server.pcap"))
	write("uploads/acme-1234/notes.txt", []byte("customer says: connections hang for 3 s at peak\n"))
	// A pair whose names say nothing: the TTLs tell the sides.
	write("uploads/beta-77/a.pcap", read("join/nat-client.pcap"))
	write("uploads/beta-77/b.pcapng", read("join/nat-server.pcap"))
	// Two captures of the same side cannot be joined.
	write("uploads/gamma/lb1.pcap", read("lab/closed-port.pcap"))
	write("uploads/gamma/lb2.pcap", read("lab/icmp-reject.pcap"))
	// What syndiag collect leaves: the server's capture and its evidence.
	write("uploads/delta/server.pcap", read("scenarios/synflood-nocookies/server.pcap"))
	for _, f := range []string{"nstat-before.txt", "nstat-after.txt", "sysctl.txt", "uname.txt"} {
		write("uploads/delta/"+f, read("scenarios/synflood-nocookies/evidence/"+f))
	}
	// Loose files: more than two captures in a folder are a case each.
	write("uploads/misc/lb-2026-11-20.pcap.gz", gz(read("paws/paws-nat.pcap")))
	write("uploads/misc/renamed.bin", read("lab/closed-port.pcap"))
	mixed := read("lab/mixed-failures.pcap")
	write("uploads/misc/cut-short.pcap", mixed[:len(mixed)*2/3])
	// A record whose length no capture could have: corrupt after 2 records.
	closed := read("lab/closed-port.pcap")
	off := 24
	for range 2 {
		off += 16 + int(binary.LittleEndian.Uint32(closed[off+8:]))
	}
	corrupt := slices.Clone(closed[:off+16])
	binary.LittleEndian.PutUint32(corrupt[off+8:], 0x7fffffff)
	binary.LittleEndian.PutUint32(corrupt[off+12:], 0x7fffffff)
	write("uploads/misc/corrupt.pcap", corrupt)
	write("uploads/misc/empty.pcap", nil)
	write("uploads/misc/trace.pcap.bz2", []byte("BZh91AY&SY\x00\x00\x00\x00"))
	write("uploads/misc/README.md", []byte("# Uploads\n"))
	write("uploads/misc/photo.jpg", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0})
	// A link to a capture is read; a link to a folder is not followed.
	if err := os.Symlink("renamed.bin", filepath.Join(dir, "uploads/misc/link-to-renamed")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../acme-1234", filepath.Join(dir, "uploads/misc/link-to-acme")); err != nil {
		t.Fatal(err)
	}
	write("uploads/.DS_Store", []byte{0, 0, 0, 1, 'B', 'u', 'd', '1'})
}

// TestTriage triages the tree and compares the table, the JSON lines and
// the JSON document in full with testdata/golden, with one job and four.
func TestTriage(t *testing.T) {
	golden, err := filepath.Abs(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	triageTree(t, dir)
	t.Chdir(dir)
	for _, format := range []string{"table", "jsonl", "json"} {
		var first string
		for _, jobs := range []string{"1", "4"} {
			code, stdout, stderr := runCmd(t, "triage", "--format", format, "--jobs", jobs, "uploads")
			if code != exitUsage {
				t.Errorf("%s, --jobs %s: exit %d, want %d (an upload could not be read): %s", format, jobs, code, exitUsage, stderr)
			}
			if first == "" {
				first = stdout
				checkGoldenFile(t, filepath.Join(golden, "triage."+format), stdout)
				continue
			}
			if stdout != first {
				t.Errorf("%s: --jobs %s gave other output than --jobs 1:\n%s", format, jobs, stdout)
			}
		}
	}
}

// TestTriageShards checks that the JSON lines of all shards, concatenated
// and sorted, are those of one run, and that each case is in one shard.
func TestTriageShards(t *testing.T) {
	dir := t.TempDir()
	triageTree(t, dir)
	t.Chdir(dir)
	_, whole, _ := runCmd(t, "triage", "--format", "jsonl", "uploads")
	var lines, shards []string
	for i := range 3 {
		_, out, stderr := runCmd(t, "triage", "--format", "jsonl", "--shard", string(rune('1'+i))+"/3", "uploads")
		if out == "" {
			t.Errorf("shard %d/3 is empty: %s", i+1, stderr)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(out, "\n"), "\n")...)
		name := fmt.Sprintf("shard-%d.jsonl", i+1)
		if err := os.WriteFile(name, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		shards = append(shards, "--from", name)
	}
	slices.Sort(lines)
	if got := strings.Join(lines, "\n") + "\n"; got != whole {
		t.Errorf("shards concatenated and sorted:\n%s\nwant the whole run:\n%s", got, whole)
	}
	// --from reads the shards back: the same lines, and the same table
	// but for the files skipped, which JSON lines do not record.
	if _, got, stderr := runCmd(t, append([]string{"triage", "--format", "jsonl"}, shards...)...); got != whole {
		t.Errorf("--from the shards, jsonl:\n%s\nwant:\n%s\n%s", got, whole, stderr)
	}
	_, table, _ := runCmd(t, "triage", "uploads")
	table = table[:strings.Index(table, "Skipped ")]
	if _, got, _ := runCmd(t, append([]string{"triage"}, shards...)...); got != table {
		t.Errorf("--from the shards, table:\n%s\nwant:\n%s", got, table)
	}
	for _, bad := range [][]string{
		{"--from", "shard-1.jsonl", "--from", "shard-1.jsonl"},
		{"--from", "shard-1.jsonl", "uploads"},
		{"--from", "uploads/misc/README.md"},
	} {
		if code, _, stderr := runCmd(t, append([]string{"triage"}, bad...)...); code != exitUsage {
			t.Errorf("%v: exit %d: %s", bad, code, stderr)
		}
	}
	for _, bad := range []string{"0/3", "4/3", "1/0", "x", "1/"} {
		if code, _, stderr := runCmd(t, "triage", "--shard", bad, "uploads"); code != exitUsage || !strings.Contains(stderr, "bad --shard") {
			t.Errorf("--shard %s: exit %d, %s", bad, code, stderr)
		}
	}
}

// TestTriageExpect saves a triage and checks that an unchanged run matches
// it and a changed expectation gives exit 3 and a readable diff.
func TestTriageExpect(t *testing.T) {
	dir := t.TempDir()
	triageTree(t, dir)
	t.Chdir(dir)
	paths := []string{"uploads/acme-1234", "uploads/beta-77", "uploads/delta"}
	_, saved, _ := runCmd(t, append([]string{"triage", "--format", "jsonl"}, paths...)...)
	write := func(name, s string) string {
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return name
	}
	same := write("same.jsonl", saved)
	// The expectation knew a finding this run does not make, had another
	// at a lower severity, and did not know of the collect bundle.
	lines := strings.Split(strings.TrimSuffix(saved, "\n"), "\n")
	changed := strings.Replace(lines[0], `"kind":"syn_retransmission_delay","severity":"warning"`, `"kind":"syn_retransmission_delay","severity":"info"`, 1)
	changed = strings.Replace(changed, `"findings":[`, `"findings":[{"kind":"per_host_paws","severity":"critical","confidence":0.9,"capture":"uploads/acme-1234/server.pcap","summary":"old diagnosis","affected_attempts":3},`, 1)
	other := write("changed.jsonl", changed+"\n"+lines[1]+"\n")
	tests := []struct {
		desc, expect string
		code         int
		stderr       []string
	}{
		{"unchanged", same, exitOK, nil},
		{"changed", other, exitExpect, []string{
			"the findings differ from changed.jsonl:",
			"+ case uploads/delta/server.pcap: new, not in the expectation",
			"- uploads/acme-1234: uploads/acme-1234/server.pcap: per_host_paws (critical) disappeared; it said: old diagnosis",
			"~ uploads/acme-1234: uploads/acme-1234/client.pcap: syn_retransmission_delay: severity warning, expected info",
			"+ uploads/delta/server.pcap: syn_queue_overflow (critical) appeared",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, _, stderr := runCmd(t, append([]string{"triage", "--format", "jsonl", "--expect", tc.expect}, paths...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
}

// TestAnalyzeExpect compares analyze's findings with its saved JSON.
func TestAnalyzeExpect(t *testing.T) {
	file := lab + "closed-port.pcap"
	_, saved, _ := runCmd(t, "--format", "json", file)
	dir := t.TempDir()
	same := filepath.Join(dir, "same.json")
	os.WriteFile(same, []byte(saved), 0o644)
	worse := filepath.Join(dir, "worse.json")
	os.WriteFile(worse, []byte(strings.Replace(saved, `"severity": "warning"`, `"severity": "critical"`, 1)), 0o644)
	triage := filepath.Join(dir, "triage.jsonl")
	os.WriteFile(triage, []byte(`{"case":"x","findings":[]}`+"\n"), 0o644)
	tests := []struct {
		desc   string
		args   []string
		code   int
		stderr string
	}{
		{"same", []string{"--expect", same, file}, exitOK, ""},
		{"severity changed", []string{"--expect", worse, file}, exitExpect, "~ ../../testdata/lab/closed-port.pcap: refused: severity warning, expected critical"},
		{"fail-on still counts", []string{"--expect", same, "--fail-on", "warning", file}, exitFindings, ""},
		{"a triage output", []string{"--expect", triage, file}, exitUsage, "a triage output"},
		{"missing", []string{"--expect", filepath.Join(dir, "none.json"), file}, exitUsage, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, _, stderr := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, stderr, tc.stderr)
			}
		})
	}
}

// TestTriageInterrupted stops a run before it starts: nothing is analyzed,
// what output there is stays well-formed, and the exit code says so.
func TestTriageInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := runTriage(ctx, []string{"--format", "json", "../../testdata/lab"}, &out, &errb)
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
	// Every capture of the lab is its own case, and none was analyzed.
	captures, _ := filepath.Glob("../../testdata/lab/*.pcap*")
	var doc struct {
		Cases       []json.RawMessage `json:"cases"`
		Interrupted int               `json:"interrupted"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(doc.Cases) != 0 || doc.Interrupted != len(captures) {
		t.Errorf("%d cases written, %d interrupted; want 0 and %d", len(doc.Cases), doc.Interrupted, len(captures))
	}
	if want := fmt.Sprintf("interrupted: %d cases not analyzed", len(captures)); !strings.Contains(errb.String(), want) {
		t.Errorf("stderr lacks %q: %s", want, errb.String())
	}
}

// TestTriageHTML writes the index page and a report per case, and checks
// that every readable case links to its own report and every link points
// at a file that was written.
func TestTriageHTML(t *testing.T) {
	dir := t.TempDir()
	triageTree(t, dir)
	t.Chdir(dir)
	if code, _, stderr := runCmd(t, "triage", "--format", "html", "uploads"); code != exitUsage || !strings.Contains(stderr, "name the index with -o") {
		t.Errorf("html without -o: exit %d, %s", code, stderr)
	}
	code, _, stderr := runCmd(t, "triage", "--format", "html", "-o", "out/triage.html", "uploads")
	if code != exitUsage { // two uploads cannot be read
		t.Errorf("exit %d: %s", code, stderr)
	}
	index, err := os.ReadFile("out/triage.html")
	if err != nil {
		t.Fatal(err)
	}
	_, jsonl, _ := runCmd(t, "triage", "--format", "jsonl", "uploads")
	want := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(jsonl, "\n"), "\n") {
		var c struct {
			Case  string `json:"case"`
			Files []struct {
				Format string `json:"format"`
			} `json:"files"`
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		if c.Files[0].Format != "" {
			want["triage-cases/"+safeName(c.Case)+".html"] = true
		}
	}
	links := regexp.MustCompile(`href="(triage-cases/[^"]+)"`).FindAllStringSubmatch(string(index), -1)
	got := map[string]bool{}
	for _, l := range links {
		got[l[1]] = true
		if st, err := os.Stat(filepath.Join("out", l[1])); err != nil || st.Size() == 0 {
			t.Errorf("link %s: %v", l[1], err)
		}
	}
	for w := range want {
		if !got[w] {
			t.Errorf("the index does not link to %s", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d case reports linked, want %d", len(got), len(want))
	}
	entries, _ := os.ReadDir("out/triage-cases")
	if len(entries) != len(want) {
		t.Errorf("%d files in triage-cases/, want %d", len(entries), len(want))
	}
}

// TestTriageFailOn checks --fail-on over cases: the most severe finding of
// any case counts.
func TestTriageFailOn(t *testing.T) {
	dir := t.TempDir()
	triageTree(t, dir)
	t.Chdir(dir)
	tests := []struct {
		desc string
		args []string
		code int
	}{
		{"critical, a critical case", []string{"--fail-on", "critical", "uploads/beta-77", "uploads/acme-1234"}, exitFindings},
		{"critical, only warnings", []string{"--fail-on", "critical", "uploads/beta-77"}, exitOK},
		{"warning, only warnings", []string{"--fail-on", "warning", "uploads/beta-77"}, exitFindings},
		{"none", []string{"uploads/acme-1234"}, exitOK},
		{"a finding outranks an unreadable file", []string{"--fail-on", "critical", "uploads/acme-1234", "uploads/misc/empty.pcap"}, exitFindings},
		{"an unreadable file, no finding at the level", []string{"--fail-on", "critical", "uploads/beta-77", "uploads/misc/empty.pcap"}, exitUsage},
		{"bad value", []string{"--fail-on", "loud", "uploads"}, exitUsage},
		{"no path", []string{"--fail-on", "info"}, exitUsage},
		{"bad format", []string{"--format", "xml", "uploads"}, exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, _, stderr := runCmd(t, append([]string{"triage", "--format", "jsonl"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, stderr)
			}
		})
	}
}

// TestExitOrder checks which exit code wins when several apply, in triage
// and in analyze: a difference from --expect (3), then a finding at
// --fail-on (1), then an unreadable input (2), which is still named.
func TestExitOrder(t *testing.T) {
	closed, err := filepath.Abs(lab + "closed-port.pcap")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	triageTree(t, dir)
	t.Chdir(dir)
	write := func(name, s string) string {
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return name
	}
	paths := []string{"uploads/acme-1234", "uploads/misc/empty.pcap"}
	_, saved, _ := runCmd(t, append([]string{"triage", "--format", "jsonl"}, paths...)...)
	same := write("same.jsonl", saved)
	other := strings.Replace(saved, `"severity":"warning"`, `"severity":"info"`, 1)
	if other == saved {
		t.Fatal("no warning to change in the saved triage")
	}
	changed := write("changed.jsonl", other)
	_, report, _ := runCmd(t, "--format", "json", closed)
	sameJSON := write("same.json", report)
	worseJSON := write("worse.json", strings.Replace(report, `"severity": "warning"`, `"severity": "critical"`, 1))
	notCapture := write("notes.txt", "not a capture\n")
	// Each run names the unreadable file, in its output or on stderr.
	tests := []struct {
		desc string
		args []string
		code int
		says []string
	}{
		{"triage: unreadable alone", append([]string{"triage", "--expect", same}, paths...), exitUsage,
			[]string{"empty.pcap"}},
		{"triage: a change outranks an unreadable file", append([]string{"triage", "--expect", changed}, paths...), exitExpect,
			[]string{"empty.pcap", "the findings differ"}},
		{"triage: a finding outranks an unreadable file", append([]string{"triage", "--fail-on", "warning"}, paths...), exitFindings,
			[]string{"empty.pcap"}},
		{"triage: a change outranks a finding", append([]string{"triage", "--fail-on", "warning", "--expect", changed}, paths...), exitExpect,
			[]string{"empty.pcap", "the findings differ"}},
		{"analyze: unreadable alone", []string{"--expect", sameJSON, closed, notCapture}, exitUsage,
			[]string{"notes.txt: offset 0: not a capture file"}},
		{"analyze: a change outranks an unreadable file", []string{"--expect", worseJSON, closed, notCapture}, exitExpect,
			[]string{"notes.txt", "the findings differ"}},
		{"analyze: a finding outranks an unreadable file", []string{"--fail-on", "warning", closed, notCapture}, exitFindings,
			[]string{"notes.txt"}},
		{"analyze: nothing readable", []string{"--fail-on", "info", notCapture}, exitUsage,
			[]string{"notes.txt"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			for _, s := range tc.says {
				if !strings.Contains(stdout+stderr, s) {
					t.Errorf("output lacks %q:\n%s%s", s, stdout, stderr)
				}
			}
		})
	}
}
