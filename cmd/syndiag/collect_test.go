package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
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
		"firewall before", "firewall after", `"$tool" -L -v -n -x`, "nft list ruleset",
		"kernlog_start", "kernlog_save", "bounded dmesg $kern_opts", "journalctl -k --no-pager",
		"trace_start", "trace_stop", "trace_save", `instances/syndiag-$$`, "events/skb/kfree_skb", "syndiag-epoch %s",
		"perf record -q -a -e skb:kfree_skb", "trap cleanup EXIT", `timeout -k 2 "$TIMEOUT" "$@"`,
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

// countPackets counts the packets of a capture that keep keeps (all with
// nil).
func countPackets(t *testing.T, path string, keep func(gopacket.Packet) bool) int {
	t.Helper()
	n := 0
	eachPacket(t, path, func(p gopacket.Packet, _ time.Time) {
		if keep == nil || keep(p) {
			n++
		}
	})
	return n
}

// eachPacket calls fn with each packet of a capture and its time.
func eachPacket(t *testing.T, path string, fn func(p gopacket.Packet, at time.Time)) {
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
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(gopacket.NewPacket(data, r.LinkType(), gopacket.Default), ci.Timestamp)
	}
}
