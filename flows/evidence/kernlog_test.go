package evidence

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const kernelLogDir = evidenceDir + "/kernel-log"

// describeEvent puts an event's figures on one line for the tables.
func describeEvent(e KernelEvent) string {
	s := strings.Join(strings.Fields(fmt.Sprintf("%s %s", e.Kind, e.Clock)), " ") + fmt.Sprintf(" %q", e.Stamp)
	if e.HasBoot {
		s += " boot=" + e.Boot.String()
	}
	if !e.Time.IsZero() {
		s += " at=" + e.Time.Format(time.RFC3339Nano)
	}
	switch e.Kind {
	case KernelSynFlood:
		addr := "-"
		if e.Addr.IsValid() {
			addr = e.Addr.String()
		}
		s += fmt.Sprintf(" %s %s:%d cookies=%v", cmp.Or(e.Proto, "-"), addr, e.Port, e.Cookies())
	case KernelSuppressed:
		s += fmt.Sprintf(" %s %d", e.Limiter, e.Suppressed)
	}
	return s
}

// TestKernelLogReal reads the lines the kernel printed while make.sh
// flooded three listeners, as dmesg, dmesg -T and dmesg --time-format iso
// print them.
func TestKernelLogReal(t *testing.T) {
	tests := []struct {
		file   string
		events []string
	}{
		{"dmesg.txt", []string{
			`syn-flood boot "10756.588538" boot=2h59m16.588538s request_sock_TCP 198.18.170.1:8090 cookies=true`,
			`syn-flood boot "10756.588736" boot=2h59m16.588736s request_sock_TCP :::8092 cookies=true`,
			`syn-flood boot "10758.563571" boot=2h59m18.563571s request_sock_TCP 198.18.170.1:8091 cookies=false`,
		}},
		{"dmesg-T.txt", []string{
			`syn-flood local "Fri Dec  4 18:13:37 2026" at=2026-12-04T18:13:37Z request_sock_TCP 198.18.170.1:8090 cookies=true`,
			`syn-flood local "Fri Dec  4 18:13:37 2026" at=2026-12-04T18:13:37Z request_sock_TCP :::8092 cookies=true`,
			`syn-flood local "Fri Dec  4 18:13:39 2026" at=2026-12-04T18:13:39Z request_sock_TCP 198.18.170.1:8091 cookies=false`,
		}},
		{"dmesg-iso.txt", []string{
			`syn-flood wall "2026-12-04T18:13:37,588538+00:00" at=2026-12-04T18:13:37.588538Z request_sock_TCP 198.18.170.1:8090 cookies=true`,
			`syn-flood wall "2026-12-04T18:13:37,588736+00:00" at=2026-12-04T18:13:37.588736Z request_sock_TCP :::8092 cookies=true`,
			`syn-flood wall "2026-12-04T18:13:39,563571+00:00" at=2026-12-04T18:13:39.563571Z request_sock_TCP 198.18.170.1:8091 cookies=false`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			h := readOne(t, filepath.Join(kernelLogDir, tc.file))
			f := h.Files[0]
			if f.Kind != KindKernelLog || f.Values != len(tc.events) || f.Ignored != 0 {
				t.Errorf("kind %s, %d values, %d ignored; want %s, %d, 0", f.Kind, f.Values, f.Ignored, KindKernelLog, len(tc.events))
			}
			var got []string
			for _, e := range h.KernelLog {
				got = append(got, describeEvent(e))
			}
			if g, w := strings.Join(got, "\n"), strings.Join(tc.events, "\n"); g != w {
				t.Errorf("events\n%s\nwant\n%s", g, w)
			}
			if c := h.KernelCounts(); len(c) != 1 || c[0] != (KernelCount{KernelSynFlood, 3, 0}) {
				t.Errorf("counts %+v, want 3 SYN floods", c)
			}
		})
	}
	// The same boot: wall clock minus time since boot is one instant for
	// every line (the kernel stamps both from one clock).
	boot, iso := readOne(t, filepath.Join(kernelLogDir, "dmesg.txt")), readOne(t, filepath.Join(kernelLogDir, "dmesg-iso.txt"))
	var epochs []time.Time
	for i, e := range iso.KernelLog {
		epochs = append(epochs, e.Time.Add(-boot.KernelLog[i].Boot))
	}
	for _, ep := range epochs[1:] {
		if d := ep.Sub(epochs[0]); d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("boot instants %v: the formats disagree", epochs)
		}
	}
}

// TestKernelLogHandWritten reads the hand-written syslog and journal
// files: every kind of event, and the suppressed messages.
func TestKernelLogHandWritten(t *testing.T) {
	tests := []struct {
		file    string
		lines   int // log lines
		events  []string
		counts  []KernelCount
		ignored int
	}{
		{"centos7-messages.txt", 10, []string{
			`syn-flood no-year "Mar  1 10:03:05" boot=2h15m55.73204s at=0000-03-01T10:03:05Z TCP -:80 cookies=false`,
			`conntrack-full no-year "Mar  1 10:03:05" boot=2h15m55.901877s at=0000-03-01T10:03:05Z`,
			`suppressed no-year "Mar  1 10:03:10" boot=2h16m0.90241s at=0000-03-01T10:03:10Z net_ratelimit 2211`,
			`conntrack-full no-year "Mar  1 10:03:10" boot=2h16m0.902413s at=0000-03-01T10:03:10Z`,
			`conntrack-full no-year "Mar  1 10:03:10" boot=2h16m0.9029s at=0000-03-01T10:03:10Z`,
			`suppressed no-year "Mar  1 10:03:15" boot=2h16m5.90302s at=0000-03-01T10:03:15Z net_ratelimit 1874`,
			`timewait-overflow no-year "Mar  1 10:03:15" boot=2h16m5.903111s at=0000-03-01T10:03:15Z`,
			`syn-flood no-year "Mar  1 10:03:16" boot=2h16m6.11822s at=0000-03-01T10:03:16Z TCPv6 -:443 cookies=true`,
		}, []KernelCount{{KernelSynFlood, 2, 0}, {KernelConntrackFull, 3, 0}, {KernelTimeWaitOverflow, 1, 0}, {KernelSuppressed, 2, 4085}}, 0},
		{"journalctl-k.txt", 5, []string{
			`syn-flood no-year "Mar 01 10:04:59" at=0000-03-01T10:04:59Z request_sock_TCP -:8080 cookies=true`,
			`conntrack-full no-year "Mar 01 10:04:59" at=0000-03-01T10:04:59Z`,
			`suppressed no-year "Mar 01 10:05:00" at=0000-03-01T10:05:00Z net_ratelimit 97`,
			`conntrack-full no-year "Mar 01 10:05:00" at=0000-03-01T10:05:00Z`,
		}, []KernelCount{{KernelSynFlood, 1, 0}, {KernelConntrackFull, 2, 0}, {KernelSuppressed, 1, 97}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			h := readOne(t, filepath.Join(kernelLogDir, tc.file))
			f := h.Files[0]
			if f.Kind != KindKernelLog || f.Values != len(tc.events) || f.Ignored != tc.ignored {
				t.Errorf("kind %s, %d values, %d ignored; want %s, %d, %d", f.Kind, f.Values, f.Ignored, KindKernelLog, len(tc.events), tc.ignored)
			}
			var got []string
			for _, e := range h.KernelLog {
				got = append(got, describeEvent(e))
			}
			if g, w := strings.Join(got, "\n"), strings.Join(tc.events, "\n"); g != w {
				t.Errorf("events\n%s\nwant\n%s", g, w)
			}
			if c := h.KernelCounts(); fmt.Sprint(c) != fmt.Sprint(tc.counts) {
				t.Errorf("counts %+v, want %+v", c, tc.counts)
			}
			if len(h.Notes()) != 0 {
				t.Errorf("notes %q", h.Notes())
			}
		})
	}
}

// TestKernelLogTwoFiles: a line in two files (kern.log and messages,
// or one file given twice) counts once.
func TestKernelLogTwoFiles(t *testing.T) {
	h := NewHost()
	addFile(t, h, filepath.Join(kernelLogDir, "centos7-messages.txt"))
	addFile(t, h, filepath.Join(kernelLogDir, "centos7-messages.txt"))
	if len(h.KernelLog) != 8 || h.Files[1].Values != 0 {
		t.Errorf("%d events, the second file %d; want 8 and 0", len(h.KernelLog), h.Files[1].Values)
	}
}

// TestKernelLogFormats reads one line in each format a kernel log takes,
// and the message formats of older and newer kernels.
func TestKernelLogFormats(t *testing.T) {
	const flood = "TCP: request_sock_TCP: Possible SYN flooding on port 198.18.2.2:8080. Sending cookies."
	tests := []struct {
		desc, line, want string
	}{
		// Times.
		{"dmesg -x", "kern  :info  : [ 5.250000] " + flood, `syn-flood boot "5.250000" boot=5.25s request_sock_TCP 198.18.2.2:8080 cookies=true`},
		{"dmesg -r", "<6>[    5.250000] " + flood, `syn-flood boot "5.250000" boot=5.25s request_sock_TCP 198.18.2.2:8080 cookies=true`},
		{"printk caller", "[  601.749973][    C1] " + flood, `syn-flood boot "601.749973" boot=10m1.749973s request_sock_TCP 198.18.2.2:8080 cookies=true`},
		{"printk caller, task", "[  601.749973] [T19113] " + flood, `syn-flood boot "601.749973" boot=10m1.749973s request_sock_TCP 198.18.2.2:8080 cookies=true`},
		{"dmesg -t", flood, `syn-flood "" request_sock_TCP 198.18.2.2:8080 cookies=true`},
		{"journalctl -o short-precise", "Mar 01 10:04:59.123456 api2 kernel: " + flood, `syn-flood no-year "Mar 01 10:04:59.123456" at=0000-03-01T10:04:59.123456Z request_sock_TCP 198.18.2.2:8080 cookies=true`},
		{"journalctl -o short-iso", "2024-03-01T10:04:59+0100 api2 kernel: " + flood, `syn-flood wall "2024-03-01T10:04:59+0100" at=2024-03-01T09:04:59Z request_sock_TCP 198.18.2.2:8080 cookies=true`},
		{"journalctl -o short-iso-precise", "2024-03-01T10:04:59.123456+00:00 api2 kernel: " + flood, `syn-flood wall "2024-03-01T10:04:59.123456+00:00" at=2024-03-01T10:04:59.123456Z request_sock_TCP 198.18.2.2:8080 cookies=true`},
		{"journalctl -o short-full", "Fri 2024-03-01 10:04:59 UTC api2 kernel: " + flood, `syn-flood wall "Fri 2024-03-01 10:04:59 UTC" at=2024-03-01T10:04:59Z request_sock_TCP 198.18.2.2:8080 cookies=true`},
		{"journalctl -o short-monotonic", "[ 8155.732040] api2 kernel: " + flood, `syn-flood boot "8155.732040" boot=2h15m55.73204s request_sock_TCP 198.18.2.2:8080 cookies=true`},
		{"rsyslog RFC 3339 with printk time", "2024-03-01T10:04:59.123456+00:00 api2 kernel: [ 8155.732040] " + flood, `syn-flood wall "2024-03-01T10:04:59.123456+00:00" boot=2h15m55.73204s at=2024-03-01T10:04:59.123456Z request_sock_TCP 198.18.2.2:8080 cookies=true`},
		// Messages of other kernels.
		{"6.2+ IPv6", "[ 1.0] TCP: request_sock_TCPv6: Possible SYN flooding on port [2001:db8::1]:443. Dropping request.", `syn-flood boot "1.0" boot=1s request_sock_TCPv6 2001:db8::1:443 cookies=false`},
		{"MPTCP", "[ 1.0] TCP: request_sock_subflow_v4: Possible SYN flooding on port 0.0.0.0:20002. Sending cookies.", `syn-flood boot "1.0" boot=1s request_sock_subflow_v4 0.0.0.0:20002 cookies=true`},
		{"3.17 to 6.1", "[ 1.0] TCP: request_sock_TCP: Possible SYN flooding on port 80. Sending cookies.  Check SNMP counters.", `syn-flood boot "1.0" boot=1s request_sock_TCP -:80 cookies=true`},
		{"3.1 to 3.4", "[ 1.0] TCPv6: Possible SYN flooding on port 80. Dropping request.  Check SNMP counters.", `syn-flood boot "1.0" boot=1s TCPv6 -:80 cookies=false`},
		{"2.6.38", "[ 1.0] TCP: Possible SYN flooding on port 80. Sending cookies.", `syn-flood boot "1.0" boot=1s TCP -:80 cookies=true`},
		{"older 2.6", "Feb 25 21:35:48 server kernel: [16508.733356] possible SYN flooding on port 4671. Sending cookies.", `syn-flood no-year "Feb 25 21:35:48" boot=4h35m8.733356s at=0000-02-25T21:35:48Z - -:4671 cookies=true`},
		{"ip_conntrack", "[ 1.0] ip_conntrack: table full, dropping packet.", `conntrack-full boot "1.0" boot=1s`},
		{"nf_conntrack doubled", "[104235.156774] nf_conntrack: nf_conntrack: table full, dropping packet", `conntrack-full boot "104235.156774" boot=28h57m15.156774s`},
		{"TIME_WAIT, OpenVZ", "[ 1.0] TCP: time wait bucket table overflow (CT101)", `timewait-overflow boot "1.0" boot=1s`},
		{"printk_ratelimit, 2.6", "[ 1.0] printk: 12 messages suppressed.", `suppressed boot "1.0" boot=1s printk 12`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			h := NewHost()
			if err := h.Add("k.txt", strings.NewReader(tc.line+"\n")); err != nil {
				t.Fatal(err)
			}
			if f := h.Files[0]; f.Kind != KindKernelLog || f.Values != 1 || f.Ignored != 0 || len(h.KernelLog) != 1 {
				t.Fatalf("kind %s, %d values, %d ignored; want %s, 1, 0", f.Kind, f.Values, f.Ignored, KindKernelLog)
			}
			if got := describeEvent(h.KernelLog[0]); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestKernelLogNearMisses: a kernel log without the lines syndiag reads
// is read with a note; lines nearly like an event are not events; other
// programs' lines and lines that are no log line are told apart.
func TestKernelLogNearMisses(t *testing.T) {
	tests := []struct {
		desc, content   string
		values, ignored int
		note            string
	}{
		{"boot messages only", "", 0, 0, "dmesg-boot.txt is a kernel log without the lines syndiag reads (3 lines: none about SYN flooding, a full conntrack table or TIME_WAIT buckets)"},
		{"journal without entries", "-- No entries --\n", 0, 0, "without the lines syndiag reads (0 lines"},
		{"almost events", "[ 1.0] TCP: Possible SYN flooding on port http. Sending cookies.\n[ 1.1] nf_conntrack: expectation table full\n[ 1.2] net_ratelimit: many callbacks suppressed\n[ 1.3] TCP: time wait bucket table overflow\n", 1, 0, ""},
		{"another program's flood message", "Mar  1 10:03:05 web1 myapp[12]: TCP: Possible SYN flooding on port 80. Sending cookies.\n", 0, 0, "without the lines syndiag reads (1 line:"},
		{"garbage inside", "[ 1.0] nf_conntrack: table full, dropping packet\nnot a log line\n[ 2.0] nf_conntrack: table full, dropping packet\n", 2, 1, ""},
		{"the same line twice in a file", "[ 1.0] nf_conntrack: table full, dropping packet\n[ 1.0] nf_conntrack: table full, dropping packet\n", 2, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			h := NewHost()
			var err error
			if tc.content == "" {
				addFile(t, h, filepath.Join(kernelLogDir, "dmesg-boot.txt"))
			} else {
				err = h.Add("k.txt", strings.NewReader(tc.content))
			}
			if err != nil {
				t.Fatal(err)
			}
			if f := h.Files[0]; f.Kind != KindKernelLog || f.Values != tc.values || f.Ignored != tc.ignored {
				t.Errorf("kind %s, %d values, %d ignored; want %s, %d, %d", f.Kind, f.Values, f.Ignored, KindKernelLog, tc.values, tc.ignored)
			}
			notes := strings.Join(h.Notes(), "\n")
			if tc.note == "" && notes != "" || !strings.Contains(notes, tc.note) {
				t.Errorf("notes %q, want %q", notes, tc.note)
			}
		})
	}
	// The kernel log kinds take none of the other files, and the other
	// kinds none of these.
	for _, f := range []string{"nstat-noz.txt", "centos7-ss-lnt.txt", "proc-sys-grep.txt", "proc-version.txt", "netstat-s-unknown-lines.txt", "ss-ltnp.txt"} {
		if k := readOne(t, filepath.Join(evidenceDir, f)).Files[0].Kind; k == KindKernelLog || k == KindFirewall {
			t.Errorf("%s read as %s", f, k)
		}
	}
	if k := readOne(t, filepath.Join(trustDir, "capture-stopped", "evidence", "trace.txt")).Files[0].Kind; k != KindTrace {
		t.Errorf("a drop-reason trace read as %s", k)
	}
}

// FuzzKernelLog: no content makes Add panic; a kernel log it accepts has
// an event for each value, counted by kind, and the same file given twice
// adds nothing.
func FuzzKernelLog(f *testing.F) {
	ents, _ := os.ReadDir(kernelLogDir)
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(kernelLogDir, e.Name())); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := NewHost()
		if err := h.Add("a", bytes.NewReader(b)); err != nil || h.Files[0].Kind != KindKernelLog {
			return
		}
		n := 0
		for _, c := range h.KernelCounts() {
			n += c.Events
		}
		if n != len(h.KernelLog) || n != h.Files[0].Values {
			t.Errorf("%d events counted, %d kept, %d values", n, len(h.KernelLog), h.Files[0].Values)
		}
		for _, e := range h.KernelLog {
			if e.Kind == KernelSynFlood && e.Action == "" || e.Kind == KernelSuppressed && e.Limiter == "" {
				t.Errorf("event %+v lacks its figures", e)
			}
		}
		if err := h.Add("b", bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		if len(h.KernelLog) != n {
			t.Errorf("the same log twice: %d events, then %d", n, len(h.KernelLog))
		}
	})
}

func BenchmarkEvidenceKernelLog(b *testing.B) {
	benchmarkAdd(b, filepath.Join(kernelLogDir, "centos7-messages.txt"))
}
