package analyze

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syndiag/syndiag/flows/evidence"
)

// TestKernelLogFusion: the real "Possible SYN flooding" line of the run
// that made testdata/fusion confirms its syn_queue_overflow finding when
// its time ties it to the capture, says less when it cannot be tied, is
// listed once when two files give it, and is not the capture's when it is
// from another time.
func TestKernelLogFusion(t *testing.T) {
	get := fusionTruth(t)
	if get("kernel_log_lines") != 1 {
		t.Fatalf("truth.tsv: %d kernel log lines, want the one line of 198.18.180.1:8090", get("kernel_log_lines"))
	}
	iso, boot := fusionFile(t, "dmesg-iso.txt"), fusionFile(t, "dmesg.txt")
	line := "“TCP: request_sock_TCP: Possible SYN flooding on port 198.18.180.1:8090. Dropping request.”"
	stamp := strings.Fields(iso.content)[0] // 2026-12-04T18:38:20,440842+00:00
	at, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", strings.Replace(stamp, ",", ".", 1))
	if err != nil {
		t.Fatal(err)
	}
	when := at.UTC().Format("2006-01-02 15:04:05.000") + " UTC"
	cookies := func(f evFile) evFile {
		return evFile{f.name, strings.ReplaceAll(f.content, "Dropping request", "Sending cookies")}
	}
	tests := []struct {
		name  string
		files []evFile
		want  string
		moved int // +1 raised, 0 the same, -1 lowered
		note  string
	}{
		{"wall clock", []evFile{iso}, fmt.Sprintf("the kernel logged %s (dmesg-iso.txt line 1, %s) during the capture: the listener's SYN queue was full and syncookies were off, so it dropped SYNs — as the capture shows", line, when), +1,
			"dmesg-iso.txt: 1 event, 1 within the capture"},
		{"since boot", []evFile{boot}, fmt.Sprintf("the kernel logged %s (dmesg.txt line 1, %s s since boot, not tied to the wall clock) at a time that cannot be tied to the capture's: the listener's SYN queue was full and syncookies were off", line, strings.Trim(strings.Fields(boot.content)[0], "[]")), +1,
			"dmesg.txt: its lines count seconds since boot and nothing ties them to the wall clock"},
		{"since boot, tied by the iso copy", []evFile{boot, iso}, fmt.Sprintf("the kernel logged %s (dmesg-iso.txt line 1, %s) during the capture", line, when), +1,
			"dmesg.txt: 1 event, 1 within the capture (" + "2026-12-04"},
		// Constructed: the same line as if cookies had been on.
		{"cookies", []evFile{cookies(iso)}, "Sending cookies.” (dmesg-iso.txt line 1, " + when + ") during the capture: the queue overflowed but cookies answered, so SYNs were not dropped for that reason", -1, ""},
		// Constructed: the same line a day earlier.
		{"another time", []evFile{{iso.name, strings.Replace(iso.content, "2026-12-04T", "2026-12-03T", 1)}}, "outside the capture: this listener's SYN queue overflowed then", 0,
			"are outside the capture (2026-12-04 18:38:11 to 2026-12-04 18:38:28 UTC): this log does not cover the capture's time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			with, without := fuseFusion(t, tc.files...)
			f, b := pair(t, with, without, KindSYNQueueOverflow)
			if !hasEvidence(f, tc.want) {
				t.Errorf("evidence lacks %q:\n%s", tc.want, strings.Join(f.Evidence, "\n"))
			}
			if got := cmpConfidence(f.Confidence, b.Confidence); got != tc.moved {
				t.Errorf("confidence %.2f, %.2f without the log: moved %d, want %d", f.Confidence, b.Confidence, got, tc.moved)
			}
			if notes := strings.Join(with.Evidence.Notes(), "\n"); !strings.Contains(notes, tc.note) {
				t.Errorf("notes lack %q: %s", tc.note, notes)
			}
			if n := len(with.Evidence.LogEvents); n != 1 {
				t.Errorf("%d events listed, want 1 (a line given in two files once)", n)
			}
		})
	}
}

func cmpConfidence(with, without float64) int {
	switch {
	case with > without:
		return 1
	case with < without:
		return -1
	}
	return 0
}

// conntrackLog is a kernel log (dmesg --time-format iso) whose conntrack
// lines fall at the given offsets after t: hand-written from the kernel's
// format strings, placed on a capture's clock.
func conntrackLog(t0 time.Time, suppressed int, offsets ...time.Duration) evFile {
	var b strings.Builder
	for i, d := range offsets {
		at := t0.Add(d).UTC().Format("2006-01-02T15:04:05,000000+00:00")
		if i > 0 && suppressed > 0 {
			fmt.Fprintf(&b, "%s net_ratelimit: %d callbacks suppressed\n", at, suppressed)
		}
		fmt.Fprintf(&b, "%s nf_conntrack: nf_conntrack: table full, dropping packet\n", at)
	}
	return evFile{"dmesg-conntrack.txt", b.String()}
}

// TestConntrackFusion: "table full, dropping packet" during the capture
// names a cause for the SYNs the server never answered, and keeps the
// firewall's silence from counting against the finding; on a capture
// with no such finding it is a host_conntrack_full finding whose severity
// follows the evidence.
func TestConntrackFusion(t *testing.T) {
	in := readInput(t, filepath.Join(fusionDir, "server.pcap"))
	first := time.Unix(0, Analyze([]Input{in}).Captures[0].First)
	before := fusionFile(t, "iptables-L-before.txt")
	still := evFile{"iptables-L-still.txt", strings.SplitN(fusionFile(t, "iptables-L-after.txt").content, "\n", 2)[0] + "\n" + strings.SplitN(before.content, "\n", 2)[1]}

	with, without := fuseFusion(t, conntrackLog(first, 97, time.Second, 2*time.Second), before, still)
	f, b := pair(t, with, without, KindServerSilentDrop)
	want := "nf_conntrack: nf_conntrack: table full, dropping packet” (dmesg-conntrack.txt line 1, " + first.Add(time.Second).UTC().Format("2006-01-02 15:04:05.000") + " UTC) 2 times, and 97 messages suppressed just before such lines (net_ratelimit counts every rate-limited network message, so up to that many more drops) during the capture: a full conntrack table drops every packet that needs a new entry, such as these SYNs"
	if !hasEvidence(f, want) || !hasEvidence(f, "so the firewall's listed tables did not drop them; the cause named above did") || f.Confidence <= b.Confidence {
		t.Errorf("confidence %.2f (%.2f without); evidence lacks %q:\n%s", f.Confidence, b.Confidence, want, strings.Join(f.Evidence, "\n"))
	}
	if findingOf(with, KindHostConntrackFull) != nil {
		t.Errorf("host_conntrack_full beside the server_silent_drop that took the lines: %v", kinds(with))
	}

	// A capture without unanswered SYNs: the lines are a finding of their
	// own.
	healthy := readInput(t, filepath.Join("..", "testdata", "scenarios", "healthy", "server.pcap"))
	healthy.Role = RoleServer
	start := time.Unix(0, Analyze([]Input{healthy}).Captures[0].First)
	tests := []struct {
		name       string
		log        evFile
		severity   Severity
		confidence float64
		summary    string
	}{
		{"during", conntrackLog(start, 20, time.Second, 2*time.Second), Warning, 0.9, "the conntrack table was full during the capture: the kernel dropped packets that needed a new connection entry (logged 2 times)"},
		{"during, many", conntrackLog(start, 500, time.Second, 2*time.Second), Critical, 0.9, "the conntrack table was full during the capture"},
		{"another time", conntrackLog(start, 0, -time.Hour), Info, 0.5, "the conntrack table was full on this host at another time than the capture's"},
		{"no time", evFile{"dmesg-t.txt", "nf_conntrack: nf_conntrack: table full, dropping packet\n"}, Warning, 0.6, "at a time the log cannot tie to the capture"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := evidence.NewHost()
			if err := ev.Add(tc.log.name, strings.NewReader(tc.log.content)); err != nil {
				t.Fatal(err)
			}
			res := AnalyzeWithEvidence([]Input{healthy}, ev)
			f := findingOf(res, KindHostConntrackFull)
			if f == nil {
				t.Fatalf("findings %v, want host_conntrack_full", kinds(res))
			}
			if f.Severity != tc.severity || f.Confidence != tc.confidence || !strings.Contains(f.Summary, tc.summary) {
				t.Errorf("%s %.2f %q; want %s %.2f %q", f.Severity, f.Confidence, f.Summary, tc.severity, tc.confidence, tc.summary)
			}
		})
	}
}
