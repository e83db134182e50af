package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/syndiag/syndiag/flows/evidence"
)

func TestCollectFlags(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"--help"}, 0, "syndiag collect prints a shell script"},
		{[]string{"--port", "70000"}, 2, "--port 70000: not a TCP port"},
		{[]string{"--iface", "eth0; rm -rf /"}, 2, `--iface "eth0; rm -rf /": not an interface name`},
		{[]string{"--server", "web1"}, 2, `--server "web1": not an IP address`},
		{[]string{"--side", "middle"}, 2, `unknown --side "middle"`},
		{[]string{"--duration", "-1"}, 2, "--duration -1"},
		{[]string{"--snaplen", "40"}, 2, "--snaplen 40: use at least 96"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--bogus"}, 2, "unknown flag: --bogus"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCmd(t, append([]string{"collect"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.stderr)
			}
			if code != 0 && stdout != "" {
				t.Errorf("a script was printed on error: %s", stdout)
			}
		})
	}
}

// TestCollectScript checks that every variant of the script is valid bash
// and holds the commands syndiag needs.
func TestCollectScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	tests := []struct {
		args []string
		want []string
	}{
		{nil, []string{`side="${1:-}"`, "SERVER_FILTER='tcp or (icmp and icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply) or (icmp6 and ip6[40] < 128)'", "SS_FILTER=''", "IFACE=any", "DURATION=60", "SNAPLEN=160"}},
		{[]string{"--port", "443", "--side", "server", "--iface", "eth0", "--duration", "0"}, []string{`side="${1:-server}"`, "SERVER_FILTER='(tcp port 443) or", "SS_FILTER='sport = :443'", "IFACE=eth0", "DURATION=0", "# Made by: syndiag collect --port 443 --side server --iface eth0 --duration 0"}},
		{[]string{"--port", "8080", "--server", "2001:db8::1", "--side", "client"}, []string{`side="${1:-client}"`, "CLIENT_FILTER='(host 2001:db8::1 and tcp port 8080) or"}},
		{[]string{"--port", "8080", "--light", "--snaplen", "128"}, []string{"SERVER_FILTER='(tcp port 8080 and (tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0 or (ip6 and ip6[6] = 6 and ip6[53] & 7 != 0))) or", "SNAPLEN=128"}},
	}
	common := []string{
		"#!/usr/bin/env bash",
		`tcpdump -i "$IFACE" -s "$SNAPLEN" -B 8192 -U -Z root -w "$out/$side.pcap" "$filter" &`,
		"nstat -asz", "cat /proc/net/netstat /proc/net/snmp",
		"sysctl -a 2>/dev/null | grep -E '^net\\.'",
		"ss -lnt $SS_FILTER", "uname -r", "snapshot before", "snapshot after",
		`echo "# syndiag-time: $(date -u +%Y-%m-%dT%H:%M:%SZ)"`,
		`printf '%s\nside: %s\nhost: %s\ninterface: %s\nfilter: %s\n' "# syndiag collect"`,
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, script, stderr := runCmd(t, append([]string{"collect"}, tc.args...)...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, s := range append(common, tc.want...) {
				if !strings.Contains(script, s) {
					t.Errorf("script lacks %q", s)
				}
			}
			cmd := exec.Command(bash, "-n")
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("bash -n: %v\n%s", err, out)
			}
			if sc, err := exec.LookPath("shellcheck"); err == nil {
				cmd := exec.Command(sc, "-s", "bash", "-")
				cmd.Stdin = strings.NewReader(script)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("shellcheck: %v\n%s", err, out)
				}
			}
		})
	}
}

// TestCollectFilters runs the capture filters through tcpdump on the lab
// captures and checks that they keep exactly the packets they promise:
// every TCP packet (of the port) and ICMP errors, or with --light the SYN,
// FIN and RST segments, IPv6 included, and ICMP errors.
func TestCollectFilters(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("no tcpdump")
	}
	for _, file := range []string{"mixed-failures.pcap", "ipv6.pcap", "icmp6-reject.pcap", "closed-port.pcap", "established.pcap"} {
		for _, o := range []collectOptions{{port: 0}, {port: 8080}, {port: 0, light: true}, {port: 8080, light: true}} {
			filter := o.captureFilter("server")
			t.Run(fmt.Sprintf("%s/port=%d,light=%v", file, o.port, o.light), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out.pcap")
				cmd := exec.Command(tcpdump, "-r", lab+file, "-w", out, filter)
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("tcpdump: %v\n%s", err, msg)
				}
				got := countPackets(t, out, nil)
				want := countPackets(t, lab+file, func(p gopacket.Packet) bool { return keeps(p, o) })
				t.Logf("%d of %d packets kept", got, countPackets(t, lab+file, nil))
				if got != want || want == 0 && o.port == 0 {
					t.Errorf("tcpdump kept %d packets, want %d", got, want)
				}
			})
		}
	}
}

// keeps says whether the filter of o should keep a packet.
func keeps(p gopacket.Packet, o collectOptions) bool {
	if l, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		t := l.TypeCode.Type()
		return t != layers.ICMPv4TypeEchoRequest && t != layers.ICMPv4TypeEchoReply
	}
	if l, ok := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
		return l.TypeCode.Type() < 128
	}
	tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok || o.port > 0 && int(tcp.SrcPort) != o.port && int(tcp.DstPort) != o.port {
		return false
	}
	return !o.light || tcp.SYN || tcp.FIN || tcp.RST
}

func countPackets(t *testing.T, path string, keep func(gopacket.Packet) bool) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		if keep == nil || keep(gopacket.NewPacket(data, r.LinkType(), gopacket.Default)) {
			n++
		}
	}
}

// TestCollectRun runs the script on both sides with stand-ins for tcpdump,
// nstat, ss, sysctl and uname, and reads the folders it writes as
// evidence: the side, the kinds, before and after in order, the listener
// samples.
func TestCollectRun(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	pcap, err := filepath.Abs(scenarios + "accept-overflow-abort0/server.pcap")
	if err != nil {
		t.Fatal(err)
	}
	stubs := map[string]string{
		"tcpdump": `w=""; while [ $# -gt 0 ]; do [ "$1" = -w ] && w="$2"; shift; done
cp "` + pcap + `" "$w"; echo "tcpdump: listening (stand-in)" >&2
trap 'exit 0' TERM; while :; do sleep 0.05; done`,
		"nstat": `n=$(cat "$STUB_STATE" 2>/dev/null || echo 100); echo $((n + 333)) >"$STUB_STATE"
echo '#kernel'; echo "TcpExtListenOverflows $n 0.0"; echo "TcpExtListenDrops $n 0.0"; echo "TcpExtTCPReqQFullDrop 0 0.0"`,
		"ss":       `echo 'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess'; echo 'LISTEN 9      8         198.18.2.2:8080      0.0.0.0:*'`,
		"sysctl":   `echo 'net.core.somaxconn = 4096'; echo 'net.ipv4.tcp_syncookies = 1'; echo 'net.ipv4.tcp_syn_retries = 6'; echo 'kernel.hostname = x'`,
		"uname":    `echo 6.1.0-test`,
		"hostname": `echo testhost`,
		"id":       `echo 0`,
	}
	for name, body := range stubs {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, script, _ := runCmd(t, "collect", "--port", "8080", "--duration", "1")
	if err := os.WriteFile(filepath.Join(tmp, "collect.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	folders := map[string]string{}
	for _, side := range []string{"server", "client"} {
		out := filepath.Join(tmp, side+"-folder")
		cmd := exec.Command(bash, "collect.sh", side)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "SYNDIAG_OUT="+out, "STUB_STATE="+filepath.Join(tmp, side+".state"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", side, err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "done: "+out) {
			t.Errorf("%s: stderr %s", side, stderr.String())
		}
		folders[side] = out
	}

	ev, err := readEvidence([]string{folders["server"]}, []string{filepath.Join(folders["server"], "server.pcap")})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[evidence.Kind]int{}
	for _, f := range ev.Files {
		kinds[f.Kind]++
		if f.Kind != evidence.KindCollect && f.Time.IsZero() {
			t.Errorf("%s has no time", f.Path)
		}
	}
	want := map[evidence.Kind]int{evidence.KindCollect: 1, evidence.KindNstat: 2, evidence.KindSysctl: 1, evidence.KindSS: 1, evidence.KindUname: 1}
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
	code, stdout, stderr := runCmd(t, "--evidence", folders["server"], filepath.Join(folders["server"], "server.pcap"), filepath.Join(folders["client"], "client.pcap"))
	if code != 0 || stderr != "" || !strings.Contains(stdout, "Host evidence (collected on the server)") || strings.Contains(stdout, "skipped") {
		t.Errorf("analyze: exit %d, stderr %q\n%s", code, stderr, stdout)
	}

	cev, err := readEvidence([]string{folders["client"]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cev.Side != evidence.SideClient || len(cev.Listeners) != 0 || !strings.Contains(strings.Join(cev.Notes(), "\n"), "client.pcap: skipped, a capture") {
		t.Errorf("client folder: side %s, listeners %v, notes %q", cev.Side, cev.Listeners, cev.Notes())
	}
}
