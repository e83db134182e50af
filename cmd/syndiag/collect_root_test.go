package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/syndiag/syndiag/flows/evidence"
)

// rootSYNs is how many SYNs TestCollectRoot sends to the dropped port.
const rootSYNs = 5

// TestCollectRoot runs the script for real, as root, in a network
// namespace whose firewall drops a port, around SYNs sent to that port from
// another namespace, and stops it with Ctrl-C (SIGINT). The kernel's drop
// reasons must show a NETFILTER_DROP for each SYN the capture holds, at
// its time, the DROP rule's counters must have grown by as many, and
// syndiag must read every file the script wrote. It needs root, Linux,
// tracefs, ip, tcpdump and iptables; go test -short skips it.
func TestCollectRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a real collection as root")
	}
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux")
	}
	if fs, err := os.ReadFile("/proc/filesystems"); err != nil || !strings.Contains(string(fs), "tracefs") {
		t.Skip("no tracefs")
	}
	for _, tool := range []string{"bash", "ip", "tcpdump", "ss", "sysctl", "iptables", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	id := os.Getpid() % 100000
	srv, cli := fmt.Sprintf("sdx17c-s%d", id), fmt.Sprintf("sdx17c-c%d", id)
	veth := fmt.Sprintf("sdx17c%d", id)
	const server, port = "198.19.17.1", "8117"
	t.Cleanup(func() {
		for _, ns := range []string{srv, cli} {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	for _, c := range [][]string{
		{"ip", "netns", "add", srv},
		{"ip", "netns", "add", cli},
		{"ip", "link", "add", veth + "a", "netns", srv, "type", "veth", "peer", "name", veth + "b", "netns", cli},
		{"ip", "-n", srv, "addr", "add", server + "/30", "dev", veth + "a"},
		{"ip", "-n", cli, "addr", "add", "198.19.17.2/30", "dev", veth + "b"},
		{"ip", "-n", srv, "link", "set", veth + "a", "up"},
		{"ip", "-n", cli, "link", "set", veth + "b", "up"},
		{"ip", "-n", srv, "link", "set", "lo", "up"},
		{"ip", "netns", "exec", srv, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", port, "-j", "DROP"},
	} {
		rootRun(t, c...)
	}

	_, script, _ := runCmd(t, "collect", "--side", "server", "--port", port, "--duration", "0")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "collect.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "folder")
	cmd := exec.Command("ip", "netns", "exec", srv, "bash", "collect.sh")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SYNDIAG_OUT="+folder)
	stderr := newStderrFile(t, dir)
	cmd.Stderr = stderr.f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	for i := 0; i < 300 && !strings.Contains(stderr.String(), "capturing on"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "capturing on") {
		t.Fatalf("the capture did not start:\n%s", stderr.String())
	}
	// Each connect is cut after 0.5 s, before the first retransmission
	// (1 s): one SYN each.
	connects := fmt.Sprintf(`for i in $(seq %d); do timeout 0.5 bash -c 'exec 3<>/dev/tcp/%s/%s' 2>/dev/null & done; wait`, rootSYNs, server, port)
	_ = exec.Command("ip", "netns", "exec", cli, "bash", "-c", connects).Run()
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("collect: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("collect did not stop after SIGINT:\n%s", stderr.String())
	}
	t.Logf("collect:\n%s", stderr.String())
	for _, bad := range []string{"could not remove", "left mounted"} {
		if strings.Contains(stderr.String(), bad) {
			t.Errorf("collect says %q", bad)
		}
	}

	syns := synTimes(t, filepath.Join(folder, "server.pcap"), 8117)
	if len(syns) != rootSYNs {
		t.Fatalf("the capture holds %d SYNs, want %d", len(syns), rootSYNs)
	}
	ev := checkParses(t, folder)
	b, err := os.ReadFile(filepath.Join(folder, "README.txt"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	t.Logf("README.txt:\n%s", readme)

	// One NETFILTER_DROP for each SYN, at its time: the marker ties the
	// trace clock to the capture's within microseconds; 5 ms either side
	// leaves out the drops of other namespaces, which the trace sees too.
	if len(ev.Drops) != 1 || ev.Drops[0].Clock != evidence.TraceClockMarker {
		t.Fatalf("drops %+v", ev.Drops)
	}
	nf, _ := ev.Drops[0].Reason("NETFILTER_DROP")
	t.Logf("NETFILTER_DROP: %d in the trace, at %v; SYNs at %v", nf.Count, nf.Times, syns)
	for _, syn := range syns {
		if n := nf.Between(syn.Add(-5*time.Millisecond), syn.Add(5*time.Millisecond)); n < 1 {
			t.Errorf("no NETFILTER_DROP within 5 ms of the SYN at %s", syn.Format(time.RFC3339Nano))
		}
	}
	if n := nf.Between(syns[0].Add(-5*time.Millisecond), syns[len(syns)-1].Add(5*time.Millisecond)); n != rootSYNs {
		t.Errorf("%d NETFILTER_DROP events during the SYNs, want %d", n, rootSYNs)
	}
	// The DROP rule counted them, in iptables' listing and, where nft is
	// installed, in nft's (iptables-nft's rules are nft rules).
	want := map[evidence.FirewallFormat]bool{evidence.FirewallList: true}
	if _, err := exec.LookPath("nft"); err == nil {
		want[evidence.FirewallNft] = true
	}
	for _, r := range ev.Firewall {
		if !r.IsDrop() || !strings.Contains(r.Rule, port) {
			continue
		}
		delete(want, r.Format)
		if r.Single || r.DeltaPackets != rootSYNs || !r.DeltaExact() {
			t.Errorf("%s rule %q: %d packets more, want %d (%+v)", r.Format, r.Rule, r.DeltaPackets, rootSYNs, r)
		}
	}
	if len(want) > 0 {
		t.Errorf("no DROP rule in the %v listings: %+v", want, ev.Firewall)
	}
	if m := regexp.MustCompile(`instance (syndiag-[0-9]+)`).FindStringSubmatch(readme); m == nil {
		t.Errorf("README.txt names no tracefs instance")
	} else {
		for _, d := range []string{"/sys/kernel/tracing/instances/", "/sys/kernel/debug/tracing/instances/"} {
			if _, err := os.Stat(d + m[1]); err == nil {
				t.Errorf("%s%s is left", d, m[1])
			}
		}
	}
}

// rootRun runs a command with a time limit, and stops the test when it fails.
func rootRun(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// synTimes returns the times of the SYNs to a port in a capture.
func synTimes(t *testing.T, path string, port layers.TCPPort) []time.Time {
	t.Helper()
	var out []time.Time
	eachPacket(t, path, func(p gopacket.Packet, at time.Time) {
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && tcp.SYN && !tcp.ACK && tcp.DstPort == port {
			out = append(out, at)
		}
	})
	return out
}
