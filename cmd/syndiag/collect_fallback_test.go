package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syndiag/syndiag/flows/evidence"
)

// Stand-ins for the firewall's tools: each listing counts 7 more packets on
// the DROP rule than the one before (5, 12, …).
var fwStubs = map[string]string{
	"iptables": `case "$1" in -V) echo 'iptables v1.8.9 (nf_tables)'; exit ;; esac
n=$(cat "$FAKE_STATE/iptables" 2>/dev/null || echo 5); echo $((n + 7)) >"$FAKE_STATE/iptables"
echo "Chain INPUT (policy ACCEPT 100 packets, 6000 bytes)"
echo "    pkts      bytes target     prot opt in     out     source               destination"
echo "      $n      $((n * 60)) DROP       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:8080"
echo
echo "Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)"
echo "    pkts      bytes target     prot opt in     out     source               destination"`,
	"ip6tables": `case "$1" in -V) echo 'ip6tables v1.8.9 (nf_tables)'; exit ;; -S) echo '-P INPUT ACCEPT'; echo '-A INPUT -p tcp -m tcp --dport 8080 -j DROP'; exit ;; esac
n=$(cat "$FAKE_STATE/ip6tables" 2>/dev/null || echo 5); echo $((n + 7)) >"$FAKE_STATE/ip6tables"
echo "Chain INPUT (policy ACCEPT 100 packets, 6000 bytes)"
echo "    pkts      bytes target     prot opt in     out     source               destination"
echo "      $n      $((n * 80)) DROP       6    --  *      *       ::/0                 ::/0                 tcp dpt:8080"`,
	"nft": `case "$*" in "list tables") echo 'table inet filter'; exit ;; esac
n=$(cat "$FAKE_STATE/nft" 2>/dev/null || echo 5); echo $((n + 7)) >"$FAKE_STATE/nft"
printf 'table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport 8080 counter packets %d bytes %d drop\n\t}\n}\n' "$n" $((n * 60))`,
}

// Kernel log lines, as dmesg --time-format iso prints them: two before the
// capture, two during it.
const (
	dmesgBefore = `2026-12-04T18:00:00,000001+00:00 eth0: link up
2026-12-04T18:00:01,000002+00:00 random: crng init done
`
	dmesgDuring = `2026-12-04T18:00:05,000003+00:00 TCP: request_sock_TCP: Possible SYN flooding on port 198.18.2.2:8080. Sending cookies.
2026-12-04T18:00:06,000004+00:00 net_ratelimit: 3 callbacks suppressed
`
)

// dmesgStub prints the lines before the capture on its first call, and
// all of them after; FAKE_DMESG=raw is a dmesg without --time-format (the
// times since boot), wrapped a ring buffer that lost the lines before the
// capture, denied kernel.dmesg_restrict.
var dmesgStub = `case "${FAKE_DMESG:-}" in
denied) echo 'dmesg: read kernel buffer failed: Operation not permitted' >&2; exit 1 ;;
raw) [ "${1:-}" = --time-format ] && { echo "dmesg: unrecognized option '--time-format'" >&2; exit 1; } ;;
esac
n=$(cat "$FAKE_STATE/dmesg" 2>/dev/null || echo 0); echo $((n + 1)) >"$FAKE_STATE/dmesg"
if [ "${FAKE_DMESG:-}" = raw ]; then
	echo '[    1.000001] eth0: link up'; echo '[   11.000002] random: crng init done'
	[ "$n" -ge 1 ] && { echo '[  105.000003] TCP: request_sock_TCP: Possible SYN flooding on port 198.18.2.2:8080. Sending cookies.'; echo '[  106.000004] net_ratelimit: 3 callbacks suppressed'; }
	exit 0
fi
[ "$n" -ge 1 ] && [ "${FAKE_DMESG:-}" = wrapped ] && { printf '%s' '` + dmesgDuring + `'; exit 0; }
printf '%s' '` + dmesgBefore + `'
[ "$n" -ge 1 ] && printf '%s' '` + dmesgDuring + `'
exit 0`

// perfStubs are perf record (which writes its file and runs until
// SIGTERM), perf report --header-only (the reference time) and perf script.
var perfStubs = map[string]string{
	"perf": `case "$1" in
record) case " $* " in *" -h "*) echo '    -k, --clockid <n>     clockid to use'; echo '        --max-size <size>'; exit 129 ;; esac
	echo "$*" >"$FAKE_STATE/perf-args"
	while [ $# -gt 0 ]; do [ "$1" = -o ] && o="$2"; shift; done
	echo data >"$o"; trap 'exit 0' TERM; while :; do sleep 0.05; done ;;
report) echo '# clockid: monotonic (1)'; echo '# reference time: 2026-12-04 18:36:53.666611 = 1796409413.666611 (TOD) = 12152.035301741 (monotonic)' ;;
script) echo '         swapper     0 [001] 12153.035301: skb:kfree_skb: skbaddr=0xffff88814c183b00 rx_sk=(nil) protocol=2048 location=nft_do_chain+0x46f reason: NETFILTER_DROP' ;;
esac`,
}

// TestCollectHosts runs the script on fake hosts, from one that has every
// tool to one that has none, and checks what it recorded, what
// README.txt says it did not and why, and that syndiag reads every file.
func TestCollectHosts(t *testing.T) {
	tests := []struct {
		desc   string
		setup  func(h *fakeHost) []string // the environment
		signal os.Signal
		code   int
		files  string   // the folder's files
		readme []string // lines of README.txt
		check  func(t *testing.T, h *fakeHost, folder string, ev *evidence.Host)
	}{
		{
			desc: "every tool, as root",
			setup: func(h *fakeHost) []string {
				h.tracefs()
				h.stubs(fwStubs)
				h.stubs(map[string]string{"dmesg": dmesgStub})
				return nil
			},
			files: "README.txt dmesg.txt ip6tables-after.txt ip6tables-before.txt iptables-after.txt iptables-before.txt kfree_skb-trace.txt nft-after.txt nft-before.txt nstat-after.txt nstat-before.txt server.pcap ss-lnt.txt sysctl.txt uname.txt",
			readme: []string{
				"# syndiag collect", "side: server", "host: testhost",
				"recorded: uname.txt: uname -r", "recorded: sysctl.txt: sysctl -a, the net.* settings",
				"recorded: nstat-before.txt: nstat -asz", "recorded: nstat-after.txt: nstat -asz",
				"recorded: iptables-before.txt: iptables -L -v -n -x", "recorded: ip6tables-after.txt: ip6tables -L -v -n -x",
				"recorded: nft-before.txt: nft list ruleset", "recorded: nft-after.txt: nft list ruleset",
				"# iptables is iptables v1.8.9 (nf_tables): its rules show in nft list ruleset too, with the same counters.",
				"recorded: dmesg.txt: dmesg --time-format iso, the lines printed during the capture: 2 lines",
				"recorded: kfree_skb-trace.txt: skb:kfree_skb drop reasons of IPv4 and IPv6 packets, from tracefs (instance syndiag-",
				"KB a CPU, trace clock mono, syndiag-epoch markers at the start and the end): 3 events; 3 lost when the buffer was full (the first ones are kept)",
				"recorded: ss-lnt.txt: ss -lnt sport = :8080, five times a second during the capture",
				"recorded: server.pcap: tcpdump -i any -s 160, filter: (tcp port 8080) or",
				"# Done: ",
			},
			check: checkEveryTool,
		},
		{
			desc: "tracefs to mount",
			setup: func(h *fakeHost) []string {
				h.stubs(map[string]string{
					"mount":  `echo "mount $*" >>"$FAKE_STATE/mounts"; real-mkdir -p "$4/instances"`,
					"umount": `echo "umount $*" >>"$FAKE_STATE/mounts"`,
				})
				return nil
			},
			files:  "README.txt kfree_skb-trace.txt nstat-after.txt nstat-before.txt server.pcap ss-lnt.txt sysctl.txt uname.txt",
			readme: []string{"recorded: kfree_skb-trace.txt: skb:kfree_skb drop reasons"},
			check: func(t *testing.T, h *fakeHost, _ string, _ *evidence.Host) {
				if got, want := h.read("state/mounts"), fmt.Sprintf("mount -t tracefs nodev %s\numount %s\n", h.tr, h.tr); got != want {
					t.Errorf("mounts:\n%s\nwant:\n%s", got, want)
				}
			},
		},
		{
			desc: "not root: perf, journalctl",
			setup: func(h *fakeHost) []string {
				h.stubs(perfStubs)
				h.stubs(map[string]string{
					"dmesg":      dmesgStub,
					"journalctl": `case "$*" in *"-k "*"--since "*) ;; *) exit 2 ;; esac; echo '-- Logs begin at Fri 2026-12-04 17:00:00 UTC. --'; echo '2026-12-04T18:00:05.000003+0000 testhost kernel: TCP: request_sock_TCP: Possible SYN flooding on port 198.18.2.2:8080. Sending cookies.'`,
				})
				return []string{"FAKE_UID=1000", "FAKE_DMESG=denied"}
			},
			files: "README.txt journalctl-k.txt kfree_skb-perf.txt nstat-after.txt nstat-before.txt server.pcap ss-lnt.txt sysctl.txt uname.txt",
			readme: []string{
				"recorded: kfree_skb-perf.txt: skb:kfree_skb drop reasons of IPv4 and IPv6 packets, from perf record (tracefs is not mounted at ", ", and only root may mount it), tied to the wall clock by perf's reference time: 1 events",
				"recorded: journalctl-k.txt: journalctl -k --since '", "(dmesg: dmesg: read kernel buffer failed: Operation not permitted): 1 lines",
				"missing: iptables -L: iptables is not installed", "missing: nft list ruleset: nft is not installed",
			},
			check: func(t *testing.T, h *fakeHost, _ string, ev *evidence.Host) {
				if args := h.read("state/perf-args"); !strings.Contains(args, "record -q -a -e skb:kfree_skb --filter protocol == 2048 || protocol == 34525 -k mono --max-size=256M -o ") {
					t.Errorf("perf %s", args)
				}
				want := time.Unix(1796409414, 666610259).UTC()
				if len(ev.Drops) != 1 || ev.Drops[0].Clock != evidence.TraceClockMarker || !ev.Drops[0].First.Equal(time.Unix(1796409413, 666611000)) || ev.Drops[0].Events != 1 || !ev.Drops[0].Reasons[0].Times[0].Equal(want) {
					t.Errorf("drops %+v, want one NETFILTER_DROP at %s", ev.Drops, want)
				}
				if len(ev.KernelLog) != 1 || ev.KernelLog[0].Kind != evidence.KernelSynFlood || ev.KernelLog[0].Clock != evidence.KernelClockWall {
					t.Errorf("kernel log %+v", ev.KernelLog)
				}
			},
		},
		{
			desc:  "no tool",
			setup: func(h *fakeHost) []string { return []string{"FAKE_UID=1000"} },
			files: "README.txt nstat-after.txt nstat-before.txt server.pcap ss-lnt.txt sysctl.txt uname.txt",
			readme: []string{
				"missing: drop reasons (skb:kfree_skb): tracefs is not mounted at ", ", and only root may mount it; and perf is not installed",
				"missing: the kernel's log: dmesg is not installed; and journalctl is not installed",
				"missing: iptables -L: iptables is not installed", "missing: ip6tables -L: ip6tables is not installed",
				"missing: nft list ruleset: nft is not installed",
			},
		},
		{
			desc: "a kernel without drop reasons, dmesg without wall-clock times",
			setup: func(h *fakeHost) []string {
				h.tracefs()
				h.stubs(map[string]string{"dmesg": dmesgStub})
				return []string{"FAKE_NO_REASON=1", "FAKE_DMESG=raw"}
			},
			files:  "README.txt dmesg.txt nstat-after.txt nstat-before.txt server.pcap ss-lnt.txt sysctl.txt uname.txt",
			readme: []string{"missing: drop reasons: this kernel's skb:kfree_skb names no reason (Linux 5.17 and later do)", "recorded: dmesg.txt: dmesg, the lines printed during the capture: 2 lines"},
			check: func(t *testing.T, h *fakeHost, _ string, ev *evidence.Host) {
				checkInstanceRemoved(t, h)
				if len(ev.KernelLog) != 2 || !ev.KernelLog[0].HasBoot || ev.KernelLog[0].Boot != 105000003*time.Microsecond {
					t.Errorf("kernel log %+v", ev.KernelLog)
				}
			},
		},
		{
			desc: "a ring buffer that lost the start, ip6tables without rules",
			setup: func(h *fakeHost) []string {
				h.stubs(map[string]string{"dmesg": dmesgStub, "ip6tables": `case "$1" in -V) echo 'ip6tables v1.8.9 (nf_tables)' ;; -S) echo '-P INPUT ACCEPT' ;; *) echo 'Chain INPUT (policy ACCEPT 0 packets, 0 bytes)' ;; esac`})
				return []string{"FAKE_DMESG=wrapped"}
			},
			files:  "README.txt dmesg.txt nstat-after.txt nstat-before.txt server.pcap ss-lnt.txt sysctl.txt uname.txt",
			readme: []string{"recorded: dmesg.txt: dmesg --time-format iso, the lines printed during the capture: 2 lines", "missing: ip6tables -L: no rule, only chain policies (which syndiag would take for iptables')"},
		},
		{
			desc: "tracefs refuses an instance",
			setup: func(h *fakeHost) []string {
				h.tracefs()
				h.stubs(map[string]string{"mkdir": `case "$1" in "$SYNDIAG_TRACEFS"/*) echo "mkdir: cannot create directory '$1': Permission denied" >&2; exit 1 ;; esac; real-mkdir "$@"`})
				return nil
			},
			files:  "README.txt nstat-after.txt nstat-before.txt server.pcap ss-lnt.txt sysctl.txt uname.txt",
			readme: []string{"missing: drop reasons (skb:kfree_skb): cannot make the tracefs instance ", ": mkdir: cannot create directory ", "Permission denied; and perf is not installed"},
		},
		{
			desc: "tools that hang",
			setup: func(h *fakeHost) []string {
				h.stubs(map[string]string{
					"iptables": `case "$1" in -V) echo 'iptables v1.8.9 (nf_tables)' ;; *) exec sleep 30 ;; esac`,
					"nft":      `exec sleep 30`,
				})
				return []string{"SYNDIAG_TIMEOUT=1"}
			},
			files:  "README.txt nstat-after.txt nstat-before.txt server.pcap ss-lnt.txt sysctl.txt uname.txt",
			readme: []string{"missing: iptables-before.txt (iptables -L -v -n -x): timed out after 1 s", "missing: iptables-after.txt (iptables -L -v -n -x): timed out after 1 s", "missing: nft list ruleset: timed out after 1 s"},
		},
		{
			desc: "tcpdump that does not start",
			setup: func(h *fakeHost) []string {
				h.tracefs()
				h.stubs(map[string]string{"tcpdump": `echo 'tcpdump: any: You do not have permission to capture on that device' >&2; exit 1`})
				return nil
			},
			code:   1,
			files:  "README.txt nstat-before.txt sysctl.txt uname.txt",
			readme: []string{"missing: server.pcap: tcpdump did not start", "# Stopped before the end: the files of the end are missing."},
			check:  func(t *testing.T, h *fakeHost, _ string, _ *evidence.Host) { checkInstanceRemoved(t, h) },
		},
		{
			desc: "stopped by SIGTERM",
			setup: func(h *fakeHost) []string {
				h.tracefs()
				return nil
			},
			signal: syscall.SIGTERM,
			files:  "README.txt kfree_skb-trace.txt nstat-after.txt nstat-before.txt server.pcap ss-lnt.txt sysctl.txt uname.txt",
			readme: []string{"recorded: kfree_skb-trace.txt", "# Done: "},
			check:  func(t *testing.T, h *fakeHost, _ string, _ *evidence.Host) { checkInstanceRemoved(t, h) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			h := newFakeHost(t)
			env := tc.setup(h)
			duration := "1"
			if tc.signal != nil {
				duration = "0"
			}
			start := time.Now()
			folder, stderr, code := h.run("server", tc.signal, env, "--duration", duration)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, stderr)
			}
			if took := time.Since(start); took > 45*time.Second { // without time limits, "tools that hang" takes 90 s
				t.Errorf("took %s", took)
			}
			if got := strings.Join(folderFiles(t, folder), " "); got != tc.files {
				t.Errorf("files:\n%s\nwant:\n%s", got, tc.files)
			}
			readme := h.read(filepath.Base(folder) + "/README.txt")
			for _, s := range tc.readme {
				if !strings.Contains(readme, s) {
					t.Errorf("README.txt lacks %q:\n%s", s, readme)
				}
			}
			for _, l := range strings.Split(strings.TrimSpace(readme), "\n") {
				if !strings.HasPrefix(l, "#") && !strings.Contains(l, ": ") {
					t.Errorf("README.txt line %q: syndiag would count it as not understood", l)
				}
			}
			ev := checkParses(t, folder)
			if tc.check != nil {
				tc.check(t, h, folder, ev)
			}
		})
	}
}

// checkParses reads every file of a folder as evidence, one by one (only
// the capture is not), then the folder as syndiag analyze does: nothing
// skipped, no line not understood.
func checkParses(t *testing.T, folder string) *evidence.Host {
	t.Helper()
	var pcaps []string
	for _, name := range folderFiles(t, folder) {
		p := filepath.Join(folder, name)
		if strings.HasSuffix(name, ".pcap") {
			pcaps = append(pcaps, p)
			continue
		}
		h := evidence.NewHost()
		if err := addEvidence(h, p); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if f := h.Files[0]; f.Ignored > 0 {
			t.Errorf("%s: %d lines not understood", name, f.Ignored)
		}
	}
	ev, err := readEvidence([]string{folder}, pcaps)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ev.Notes() {
		if strings.Contains(n, "skipped") {
			t.Errorf("note: %s", n)
		}
	}
	return ev
}

// checkInstanceRemoved checks that the script removed its tracefs
// instance (rmdir) after disabling the event.
func checkInstanceRemoved(t *testing.T, h *fakeHost) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(h.tr, "instances", "*"))
	removed, _ := filepath.Glob(filepath.Join(h.tr, "removed-syndiag-*"))
	if len(left) != 0 || len(removed) != 1 {
		t.Fatalf("instances left %v, removed %v", left, removed)
	}
	if got := strings.TrimSpace(h.read(strings.TrimPrefix(removed[0], h.dir+"/") + "/events/skb/kfree_skb/enable")); got != "0" {
		t.Errorf("kfree_skb left enabled: %q", got)
	}
}

// checkEveryTool checks what the script did in tracefs and what the files
// say, and runs the client side and syndiag analyze on the folders.
func checkEveryTool(t *testing.T, h *fakeHost, folder string, ev *evidence.Host) {
	checkInstanceRemoved(t, h)
	removed, _ := filepath.Glob(filepath.Join(h.tr, "removed-syndiag-*"))
	inst := strings.TrimPrefix(removed[0], h.dir+"/") + "/"
	for file, want := range map[string]string{
		"options/overwrite": "0", "trace_clock": "mono", "events/skb/kfree_skb/filter": "protocol == 2048 || protocol == 34525",
	} {
		if got := strings.TrimSpace(h.read(inst + file)); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
	if kb, err := strconv.Atoi(strings.TrimSpace(h.read(inst + "buffer_size_kb"))); err != nil || kb < 256 || kb > 4096 {
		t.Errorf("buffer_size_kb %d (%v)", kb, err)
	}
	// Two markers, at the start and the end, with the wall clock.
	marks := strings.Split(strings.TrimSpace(h.read(inst+"trace_marker")), "\n")
	for _, m := range marks {
		f := strings.Fields(m)
		sec, err := strconv.ParseFloat(f[len(f)-1], 64)
		if len(f) != 2 || f[0] != "syndiag-epoch" || err != nil || time.Since(time.Unix(int64(sec), 0)) > time.Minute {
			t.Errorf("marker %q", m)
		}
	}
	if len(marks) != 2 {
		t.Errorf("markers %q", marks)
	}

	kinds := map[evidence.Kind]int{}
	for _, f := range ev.Files {
		kinds[f.Kind]++
	}
	want := map[evidence.Kind]int{evidence.KindCollect: 1, evidence.KindNstat: 2, evidence.KindSysctl: 1, evidence.KindSS: 1, evidence.KindUname: 1, evidence.KindTrace: 1, evidence.KindKernelLog: 1, evidence.KindFirewall: 6}
	if fmt.Sprint(kinds) != fmt.Sprint(want) || ev.Side != evidence.SideServer || ev.Kernel != "6.1.0-test" || len(ev.Notes()) != 0 {
		t.Errorf("kinds %v, side %s, kernel %q, notes %q", kinds, ev.Side, ev.Kernel, ev.Notes())
	}
	// "nstat-after.txt" sorts first, yet the times inside order them.
	if c, ok := ev.Counter("TcpExt:ListenOverflows"); !ok || c.Delta != 333 || filepath.Base(c.From) != "nstat-before.txt" {
		t.Errorf("ListenOverflows %+v", c)
	}
	// The script samples every 0.2 s for the 1 s capture; how many samples
	// a loaded machine takes is timing, so only one is required here.
	if len(ev.Listeners) != 1 || ev.Listeners[0].Samples < 1 || ev.Listeners[0].RecvQ != 9 {
		t.Errorf("listeners %+v", ev.Listeners)
	}
	if _, ok := ev.Sysctl("kernel.hostname"); ok {
		t.Error("settings outside net.* were collected")
	}
	drops := 0
	for _, r := range ev.Firewall {
		if r.IsDrop() {
			drops++
			if r.DeltaPackets != 7 || r.Single || filepath.Base(r.From) != strings.Replace(filepath.Base(r.To), "after", "before", 1) {
				t.Errorf("rule %+v: want 7 packets more, before to after", r)
			}
		}
	}
	if drops != 3 {
		t.Errorf("%d DROP rules, want iptables', ip6tables' and nft's: %+v", drops, ev.Firewall)
	}
	if len(ev.Drops) != 1 || ev.Drops[0].Clock != evidence.TraceClockMarker || ev.Drops[0].Events != 3 {
		t.Errorf("drops %+v", ev.Drops)
	} else if r, _ := ev.Drops[0].Reason("NETFILTER_DROP"); r.Count != 2 || !r.Times[0].Equal(time.Unix(1796409778, 631255000)) {
		t.Errorf("NETFILTER_DROP %+v", r)
	}
	if got := fmt.Sprint(ev.KernelCounts()); got != "[{syn-flood 1 0} {suppressed 1 3}]" {
		t.Errorf("kernel log %s", got)
	}

	client, stderr, code := h.run("client", nil, nil, "--duration", "1")
	if code != 0 {
		t.Fatalf("client: exit %d\n%s", code, stderr)
	}
	cev, err := readEvidence([]string{client}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cev.Side != evidence.SideClient || len(cev.Listeners) != 0 || !strings.Contains(strings.Join(cev.Notes(), "\n"), "client.pcap: skipped, a capture") {
		t.Errorf("client folder: side %s, listeners %v, notes %q", cev.Side, cev.Listeners, cev.Notes())
	}
	code, stdout, stderr := runCmd(t, "--evidence", folder, filepath.Join(folder, "server.pcap"), filepath.Join(client, "client.pcap"))
	if code != 0 || stderr != "" || !strings.Contains(stdout, "Host evidence (collected on the server)") || strings.Contains(stdout, "skipped") {
		t.Errorf("analyze: exit %d, stderr %q\n%s", code, stderr, stdout)
	}
}
