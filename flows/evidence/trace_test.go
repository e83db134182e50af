package evidence

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDropTraceTruth reads the real skb:kfree_skb traces of the trust
// scenarios (tracefs, CLOCK_TAI, an sdx-epoch marker) and checks every
// reason's count against truth.tsv, and where the kernel freed the packets.
func TestDropTraceTruth(t *testing.T) {
	truth := truthFigures(t, trustDir)
	tests := []struct {
		scenario string
		reason   string
		function string // where the kernel freed them
	}{
		{"capture-stopped", "NETFILTER_DROP", "nft_do_chain"},
		{"app-retry", "NO_SOCKET", "tcp_v4_rcv"},
		{"stale-timewait", "TCP_INVALID_SYN", "tcp_validate_incoming"},
		{"accept-full-nat", "NO_SOCKET", "cookie_v4_check"},
		{"synack-race", "TCP_INVALID_SYN", "tcp_validate_incoming"},
	}
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			ev := readOne(t, filepath.Join(trustDir, tc.scenario, "evidence", "trace.txt"))
			f := ev.Files[0]
			if f.Kind != KindTrace || f.Ignored != 0 {
				t.Fatalf("kind %s, %d lines ignored; want %s, 0", f.Kind, f.Ignored, KindTrace)
			}
			d := ev.Drops[0]
			if d.Clock != TraceClockMarker || d.Untimed != 0 {
				t.Errorf("clock %q, %d events untimed; want %q, 0", d.Clock, d.Untimed, TraceClockMarker)
			}
			prefix := tc.scenario + "/evidence/trace/dropreason_"
			want, total := map[string]int{}, 0
			for k, v := range truth {
				if r, ok := strings.CutPrefix(k, prefix); ok {
					n, err := strconv.Atoi(v)
					if err != nil {
						t.Fatalf("%s: %v", k, err)
					}
					want[r] = n
					total += want[r]
				}
			}
			if d.Events != total || f.Values != total {
				t.Errorf("%d events (%d values); want %d", d.Events, f.Values, total)
			}
			for r, n := range want {
				got, _ := d.Reason(r)
				if got.Count != n || len(got.Times) != n {
					t.Errorf("%s: %d events, %d times; want %d", r, got.Count, len(got.Times), n)
				}
			}
			for _, r := range d.Reasons {
				if _, ok := want[r.Reason]; !ok {
					t.Errorf("reason %s (%d) is not in truth.tsv", r.Reason, r.Count)
				}
			}
			r, _ := d.Reason(tc.reason)
			if len(r.Sites) == 0 || r.Sites[0].Function != tc.function || r.Sites[0].Count != want[tc.reason] {
				t.Errorf("%s freed at %v; want all %d at %s", tc.reason, r.Sites, want[tc.reason], tc.function)
			}
		})
	}
}

// TestDropTraceUntilStop: mapped through the sdx-epoch marker, the
// NETFILTER_DROP events before the capture stopped are the firewall's
// unanswered SYNs.
func TestDropTraceUntilStop(t *testing.T) {
	const s = "capture-stopped"
	ev := readOne(t, filepath.Join(trustDir, s, "evidence", "trace.txt"))
	truth := truthFigures(t, trustDir)
	stop, err := strconv.ParseFloat(truth[s+"/env/capture_stop_epoch"], 64)
	if err != nil {
		t.Fatal(err)
	}
	want, err := strconv.Atoi(truth[s+"/server.pcap/dropreason_NETFILTER_DROP_until_stop"])
	if err != nil {
		t.Fatal(err)
	}
	r, _ := ev.Drops[0].Reason("NETFILTER_DROP")
	until := time.Unix(0, int64(stop*1e9))
	if got := r.Between(time.Time{}, until); got != want {
		t.Errorf("%d NETFILTER_DROP events until the stop; want %d", got, want)
	}
}

// TestDropTraceFormats reads the forms a trace takes: tracefs with and
// without flags, perf script, clocks since boot, a marker, lines that are
// nearly events.
func TestDropTraceFormats(t *testing.T) {
	const (
		ftrace = "          <idle>-0       [001] ..s1.   432.701987: kfree_skb: skbaddr=00000000a65c0a72 rx_sk=0000000000000000 protocol=2048 location=nft_do_chain+0x46f/0x690 reason: NETFILTER_DROP\n"
		noflag = "          <idle>-0       [001]   433.000001: kfree_skb: skbaddr=00000000a65c0a72 protocol=2048 location=tcp_v4_rcv+0x1/0x2 reason: NO_SOCKET\n"
		perf   = "         python3 25807 [001] 1796401107.649060: skb:kfree_skb: skbaddr=0xffff8881 rx_sk=0 protocol=2048 location=0xffffffff81a2b3c4 reason: IP_RPFILTER\n"
		marker = "            bash-22737   [000] ...1.   430.000000: tracing_mark_write: syndiag-epoch 1796401100.5\n"
		header = "# tracer: nop\n#\n# entries-in-buffer/entries-written: 2/2   #P:2\n"
	)
	tests := []struct {
		desc    string
		input   string
		clock   TraceClock
		events  int
		ignored int
		first   string // the first event's wall-clock time, RFC 3339
		reasons string
	}{
		{"tracefs since boot", header + ftrace + noflag, TraceClockUnknown, 2, 0, "", "NETFILTER_DROP NO_SOCKET"},
		{"marker", marker + ftrace, TraceClockMarker, 1, 0, "2026-12-04T16:18:23.201987Z", "NETFILTER_DROP"},
		{"perf script", perf, TraceClockUnix, 1, 0, "2026-12-04T16:18:27.64906Z", "IP_RPFILTER"},
		{"kfree_skb without a reason", strings.Replace(ftrace, " reason: NETFILTER_DROP", "", 1) + noflag, TraceClockUnknown, 1, 1, "", "NO_SOCKET"},
		{"nearly a trace", ftrace + "this line is not an event\n" + "  <idle>-0 [001] ..s1. x: kfree_skb: reason: X\n", TraceClockUnknown, 1, 2, "", "NETFILTER_DROP"},
		{"empty tracefs buffer", header, TraceClockUnknown, 0, 0, "", ""},
		{"other events only", strings.Replace(noflag, "kfree_skb", "tcp_send_reset", 1), TraceClockUnknown, 0, 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			ev := NewHost()
			if err := ev.Add("trace.txt", strings.NewReader(tc.input)); err != nil {
				t.Fatal(err)
			}
			f, d := ev.Files[0], ev.Drops[0]
			if f.Kind != KindTrace || d.Clock != tc.clock || d.Events != tc.events || f.Ignored != tc.ignored {
				t.Errorf("kind %s, clock %q, %d events, %d ignored; want %s, %q, %d, %d", f.Kind, d.Clock, d.Events, f.Ignored, KindTrace, tc.clock, tc.events, tc.ignored)
			}
			var names []string
			for _, r := range d.Reasons {
				names = append(names, r.Reason)
			}
			if got := strings.Join(names, " "); got != tc.reasons {
				t.Errorf("reasons %q; want %q", got, tc.reasons)
			}
			if tc.first != "" {
				if got := d.Reasons[0].Times[0].Format(time.RFC3339Nano); got != tc.first {
					t.Errorf("first event at %s; want %s", got, tc.first)
				}
			}
			if tc.events == 0 && len(ev.Notes()) != 1 {
				t.Errorf("notes %q; want one saying there are no drop reasons", ev.Notes())
			}
		})
	}
}

// TestDropTraceTruncation cuts a real trace at every byte: once its first
// event line is whole, every prefix is read as a trace, and no prefix
// counts more events than the whole file.
func TestDropTraceTruncation(t *testing.T) {
	path := filepath.Join(trustDir, "capture-stopped", "evidence", "trace.txt")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data := string(b)
	firstLine := strings.IndexByte(data, '\n')
	whole := readOne(t, path).Drops[0].Events
	for n := range len(data) + 1 {
		ev := NewHost()
		err := ev.Add("trace.txt", strings.NewReader(data[:n]))
		if n >= firstLine && err != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
		if err == nil && (ev.Files[0].Kind != KindTrace && n >= firstLine || len(ev.Drops) > 0 && ev.Drops[0].Events > whole) {
			t.Fatalf("cut at %d: kind %s, %d events of %d", n, ev.Files[0].Kind, ev.Drops[0].Events, whole)
		}
	}
}

func BenchmarkEvidenceTrace(b *testing.B) {
	benchmarkAdd(b, filepath.Join(trustDir, "accept-full-nat", "evidence", "trace.txt"))
}
