package main

// A fake host for the collect script: a PATH that holds stand-ins for the
// tools it runs and the few basic ones it needs, and nothing else, so each
// test decides which tools the host has; a folder laid out like tracefs;
// and a state folder where the stand-ins count their calls and log what
// they were asked.

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// collectBasics are the tools the script and the stand-ins use from the
// real system.
var collectBasics = []string{"awk", "basename", "cat", "cp", "date", "getconf", "grep", "head", "mktemp", "mv", "rm", "sed", "sleep", "tail", "timeout", "tr", "wc"}

// fakeHost runs the collect script on a host made of stand-ins.
type fakeHost struct {
	t                   *testing.T
	dir, bin, state, tr string
	env                 []string
	bash                string
}

func newFakeHost(t *testing.T) *fakeHost {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	h := &fakeHost{t: t, dir: dir, bin: filepath.Join(dir, "bin"), state: filepath.Join(dir, "state"), tr: filepath.Join(dir, "tracefs"), bash: bash}
	for _, d := range []string{h.bin, h.state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range append(collectBasics, "mkdir", "rmdir") {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("no %s", name)
		}
		link := name
		if name == "mkdir" || name == "rmdir" {
			link = "real-" + name // the stand-ins in tracefs call them
		}
		if err := os.Symlink(p, filepath.Join(h.bin, link)); err != nil {
			t.Fatal(err)
		}
	}
	pcap, err := filepath.Abs(scenarios + "accept-overflow-abort0/server.pcap")
	if err != nil {
		t.Fatal(err)
	}
	h.env = []string{"PATH=" + h.bin, "HOME=" + dir, "TMPDIR=" + dir, "LC_ALL=C", "FAKE_STATE=" + h.state, "SYNDIAG_TRACEFS=" + h.tr}
	h.stubs(map[string]string{
		"tcpdump": `w=""; while [ $# -gt 0 ]; do [ "$1" = -w ] && w="$2"; shift; done
cp "` + pcap + `" "$w"; echo "tcpdump: listening (stand-in)" >&2
trap 'exit 0' TERM; while :; do sleep 0.05; done`,
		"nstat": `n=$(cat "$FAKE_STATE/nstat" 2>/dev/null || echo 100); echo $((n + 333)) >"$FAKE_STATE/nstat"
echo '#kernel'; echo "TcpExtListenOverflows $n 0.0"; echo "TcpExtListenDrops $n 0.0"; echo "TcpExtTCPReqQFullDrop 0 0.0"`,
		"ss":       `echo 'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess'; echo 'LISTEN 9      8         198.18.2.2:8080      0.0.0.0:*'`,
		"sysctl":   `echo 'net.core.somaxconn = 4096'; echo 'net.ipv4.tcp_syncookies = 1'; echo 'net.ipv4.tcp_syn_retries = 6'; echo 'kernel.hostname = x'`,
		"uname":    `echo 6.1.0-test`,
		"hostname": `echo testhost`,
		"id":       `echo "${FAKE_UID:-0}"`,
		// mkdir and rmdir act as tracefs does on its instances: mkdir
		// lays one out, rmdir removes it whole (kept aside here, to be
		// looked at).
		"mkdir": `real-mkdir "$@" || exit
for d; do case "$d" in "$SYNDIAG_TRACEFS"/instances/?*) fake_instance "$d" ;; esac; done`,
		"rmdir": `for d; do case "$d" in
"$SYNDIAG_TRACEFS"/instances/?*) mv "$d" "$SYNDIAG_TRACEFS/removed-${d##*/}" ;;
*) real-rmdir "$d" || exit ;;
esac; done`,
		"fake_instance": `i="$1"
real-mkdir -p "$i/events/skb/kfree_skb" "$i/options" "$i/per_cpu/cpu0" "$i/per_cpu/cpu1"
echo 0 >"$i/events/skb/kfree_skb/enable"; : >"$i/events/skb/kfree_skb/filter"
if [ -n "${FAKE_NO_REASON:-}" ]; then echo 'print fmt: "skbaddr=%p protocol=%u location=%p"'; else echo 'print fmt: "skbaddr=%p protocol=%u location=%pS reason: %s"'; fi >"$i/events/skb/kfree_skb/format"
echo 1 >"$i/options/overwrite"; echo '[local] global mono' >"$i/trace_clock"; echo '7 (expanded: 1408)' >"$i/buffer_size_kb"
: >"$i/trace_marker"; printf 'overrun: 0\ndropped events: 2\n' >"$i/per_cpu/cpu0/stats"; printf 'overrun: 1\ndropped events: 0\n' >"$i/per_cpu/cpu1/stats"
cp "$FAKE_STATE/trace" "$i/trace"`,
	})
	h.file("state/trace", fakeTrace)
	return h
}

// fakeTrace is what the fake tracefs instance's trace holds.
const fakeTrace = `# tracer: nop
#
#                                _-----=> irqs-off/BH-disabled
            bash-4242    [000] ...1. 12516.473381: tracing_mark_write: syndiag-epoch 1796409778.104636
          <idle>-0       [001] ..s1. 12517.000000: kfree_skb: skbaddr=0000000012345678 rx_sk=0000000000000000 protocol=2048 location=nft_do_chain+0x46f/0x690 reason: NETFILTER_DROP
          <idle>-0       [001] ..s1. 12517.100000: kfree_skb: skbaddr=0000000012345679 rx_sk=0000000000000000 protocol=2048 location=nft_do_chain+0x46f/0x690 reason: NETFILTER_DROP
          <idle>-0       [001] ..s1. 12517.200000: kfree_skb: skbaddr=000000001234567a rx_sk=0000000000000000 protocol=2048 location=tcp_v4_rcv+0x99/0x1400 reason: NO_SOCKET
            bash-4242    [000] ...1. 12519.524491: tracing_mark_write: syndiag-epoch 1796409781.155734
`

// stubs writes stand-ins, shell scripts, into the host's PATH.
func (h *fakeHost) stubs(m map[string]string) {
	h.t.Helper()
	for name, body := range m {
		h.file("bin/"+name, "#!/bin/sh\n"+body+"\n")
		if err := os.Chmod(filepath.Join(h.bin, name), 0o755); err != nil {
			h.t.Fatal(err)
		}
	}
}

// file writes a file under the host's folder.
func (h *fakeHost) file(name, content string) {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// read returns a file under the host's folder, "" when it is missing.
func (h *fakeHost) read(name string) string {
	b, _ := os.ReadFile(filepath.Join(h.dir, name))
	return string(b)
}

// tracefs lays out the fake tracefs: a folder with instances/.
func (h *fakeHost) tracefs() {
	h.t.Helper()
	if err := os.MkdirAll(filepath.Join(h.tr, "instances"), 0o755); err != nil {
		h.t.Fatal(err)
	}
}

// stderrFile is a command's standard error, in a file that the test reads
// while the command runs.
type stderrFile struct {
	t *testing.T
	f *os.File
}

func newStderrFile(t *testing.T, dir string) stderrFile {
	t.Helper()
	f, err := os.CreateTemp(dir, "stderr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return stderrFile{t, f}
}

func (s stderrFile) String() string {
	b, err := os.ReadFile(s.f.Name())
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

// run runs the script for a side with collect's flags, and returns its
// folder, its standard error and its exit status. With signal set, it
// sends the signal once the capture runs.
func (h *fakeHost) run(side string, signal os.Signal, env []string, flags ...string) (folder, stderr string, code int) {
	h.t.Helper()
	_, script, msg := runCmd(h.t, append([]string{"collect", "--port", "8080"}, flags...)...)
	if script == "" {
		h.t.Fatalf("collect: %s", msg)
	}
	h.file("collect.sh", script)
	folder = filepath.Join(h.dir, side+"-folder")
	cmd := exec.Command(h.bash, "collect.sh", side)
	cmd.Dir = h.dir
	cmd.Env = append(append(append([]string{}, h.env...), "SYNDIAG_OUT="+folder), env...)
	errb := newStderrFile(h.t, h.dir)
	cmd.Stderr = errb.f
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	if signal != nil {
		for i := 0; i < 200 && !strings.Contains(errb.String(), "capturing on"); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if err := cmd.Process.Signal(signal); err != nil {
			h.t.Fatal(err)
		}
	}
	code = 0
	if err := cmd.Wait(); err != nil {
		code = cmd.ProcessState.ExitCode()
	}
	if strings.Contains(errb.String(), "command not found") {
		h.t.Errorf("the script ran a tool the fake host lacks:\n%s", errb.String())
	}
	return folder, errb.String(), code
}

// folderFiles lists a folder's file names, sorted.
func folderFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}
