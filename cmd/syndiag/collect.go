package main

import (
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"text/template"

	"github.com/spf13/pflag"
)

const collectUsage = `syndiag collect prints a shell script that collects, on the server and on a
client at the same time, everything syndiag reads: a capture that keeps every
handshake with its TCP options and the closes around it, the kernel's counters
before and after (nstat, or /proc/net/netstat and /proc/net/snmp), the settings
(sysctl), the listeners' queues sampled during the capture (ss -lnt), and the
kernel version (uname -r), into one folder per host.

Usage:
  syndiag collect [flags] > collect.sh
  sudo bash collect.sh server      (on the server)
  sudo bash collect.sh client      (on a client, at the same time)
  syndiag analyze --evidence SERVER-FOLDER SERVER-FOLDER/server.pcap CLIENT-FOLDER/client.pcap

Flags:
`

// collectOptions are collect's flags, as parseCollect checked them.
type collectOptions struct {
	side     string
	port     int
	iface    string
	duration int
	server   string
	snaplen  int
	light    bool
}

// ifaceRe accepts interface names (and "any"), which are then safe in the
// script without quoting tricks.
var ifaceRe = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,32}$`)

// collectFlags defines collect's flags, bound to opt, without parsing:
// parseCollect parses them, and the completion scripts and the man page
// describe them.
func collectFlags(opt *collectOptions) *pflag.FlagSet {
	fs := pflag.NewFlagSet("syndiag collect", pflag.ContinueOnError)
	fs.StringVar(&opt.side, "side", "both", "which host the script is for: server, client, or both (the side is then its first argument)")
	fs.IntVar(&opt.port, "port", 0, "the server's TCP port (0: every TCP port, a larger capture)")
	fs.StringVar(&opt.iface, "iface", "any", "the interface to capture on")
	fs.IntVar(&opt.duration, "duration", 60, "seconds to capture (0: until Ctrl-C)")
	fs.StringVar(&opt.server, "server", "", "the server's address, to capture only its traffic on the client")
	fs.IntVar(&opt.snaplen, "snaplen", 160, "bytes kept of each packet: the headers with every option, even IPv6 on -i any, and no payload")
	fs.BoolVar(&opt.light, "light", false, "capture only SYN, FIN and RST segments and ICMP errors, for a port too busy for a header capture (the accept-queue model then cannot see ignored ACKs or when the application answered)")
	return fs
}

// runCollect is syndiag collect: it prints the script.
func runCollect(args []string, stdout, stderr io.Writer) int {
	opt, err := parseCollect(args)
	if err != nil {
		return stopped(err, "syndiag collect", collectUsage+collectFlags(new(collectOptions)).FlagUsages(), stderr)
	}
	if err := writeCollectScript(stdout, opt, args); err != nil {
		fmt.Fprintf(stderr, "syndiag collect: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// parseCollect reads collect's flags; it takes no arguments. It returns
// pflag.ErrHelp for --help, and an error that says why for a command line
// that cannot run.
func parseCollect(args []string) (collectOptions, error) {
	var opt collectOptions
	fs := collectFlags(&opt)
	if err := parseFlags(fs, args, "syndiag collect"); err != nil {
		return opt, err
	}
	if fs.NArg() > 0 {
		return opt, fmt.Errorf("unexpected argument %q (try syndiag collect --help)", fs.Arg(0))
	}
	return opt, opt.check()
}

// check checks the values of the flags.
func (o collectOptions) check() error {
	switch o.side {
	case "server", "client", "both":
	default:
		return fmt.Errorf("unknown --side %q: use server, client or both", o.side)
	}
	if o.port < 0 || o.port > 65535 {
		return fmt.Errorf("--port %d: not a TCP port", o.port)
	}
	if !ifaceRe.MatchString(o.iface) {
		return fmt.Errorf("--iface %q: not an interface name", o.iface)
	}
	if o.duration < 0 {
		return fmt.Errorf("--duration %d: use 0 for until Ctrl-C", o.duration)
	}
	if o.server != "" {
		if _, err := netip.ParseAddr(o.server); err != nil {
			return fmt.Errorf("--server %q: not an IP address", o.server)
		}
	}
	if o.snaplen < 96 || o.snaplen > 262144 {
		return fmt.Errorf("--snaplen %d: use at least 96 (Ethernet, IP and a TCP header with options)", o.snaplen)
	}
	return nil
}

// captureFilter is the tcpdump filter for a side. The models need every
// packet of a handshake (the third ACK shows an ignored ACK, the server's
// first reply when accept() took the connection), the FINs and the last
// segments before TIME_WAIT (whose TSvals tcp_metrics keeps), and ICMP
// errors; pings and neighbour discovery are left out. The light filter keeps
// SYN, FIN and RST only: tcp[tcpflags] reads IPv4 packets alone in libpcap,
// so IPv6 is matched by the flags byte behind a 40-byte header.
func (o collectOptions) captureFilter(side string) string {
	tcp := "tcp"
	if o.port > 0 {
		tcp = fmt.Sprintf("tcp port %d", o.port)
	}
	if side == "client" && o.server != "" {
		tcp = fmt.Sprintf("host %s and %s", o.server, tcp)
	}
	if o.light {
		tcp = fmt.Sprintf("(%s and (tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0 or (ip6 and ip6[6] = 6 and ip6[53] & 7 != 0)))", tcp)
	} else if strings.Contains(tcp, " ") {
		tcp = "(" + tcp + ")"
	}
	return tcp + " or (icmp and icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply) or (icmp6 and ip6[40] < 128)"
}

var collectScript = template.Must(template.New("collect").Parse(`#!/usr/bin/env bash
# syndiag collect: a capture and the host's own evidence, for syndiag analyze.
# Made by: syndiag collect{{range .Args}} {{.}}{{end}}
#
# Run it as root on the server and, at the same time, on a client:
#   sudo bash collect.sh server
#   sudo bash collect.sh client
# Each run writes a new folder (or $SYNDIAG_OUT) with a capture ({{.Snaplen}} bytes of each
# packet: headers and TCP options, no payload), the kernel's counters before and after,
# its settings, the listeners' queues sampled during the capture, and the kernel version.
# Then, wherever syndiag is installed:
#   syndiag analyze --evidence SERVER-FOLDER SERVER-FOLDER/server.pcap CLIENT-FOLDER/client.pcap
set -u

IFACE={{.Iface}}
DURATION={{.Duration}}  # seconds; 0: until Ctrl-C
SNAPLEN={{.Snaplen}}
SERVER_FILTER='{{.ServerFilter}}'
CLIENT_FILTER='{{.ClientFilter}}'
SS_FILTER='{{.SSFilter}}'

side="${1:-{{.Side}}}"
case "$side" in
server) filter="$SERVER_FILTER" ;;
client) filter="$CLIENT_FILTER" ;;
*)
	echo "usage: $0 server|client" >&2
	exit 2
	;;
esac
have() { command -v "$1" >/dev/null 2>&1; }
for tool in tcpdump ss sysctl; do
	have "$tool" || { echo "syndiag collect: $tool is not installed" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || echo "syndiag collect: not root: tcpdump will likely fail" >&2

host="$(hostname 2>/dev/null || echo host)"
out="${SYNDIAG_OUT:-syndiag-$side-$host-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out" || exit 1

# Each file starts with the time it was taken, which orders the snapshots.
stamp() { echo "# syndiag-time: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; }

# The kernel's counters: absolute values (-a), zeros included (-z), without
# touching nstat's history (-s); /proc/net where nstat is missing.
snapshot() {
	if have nstat; then
		{ stamp; nstat -asz; } >"$out/nstat-$1.txt" 2>&1
	else
		{ stamp; cat /proc/net/netstat /proc/net/snmp; } >"$out/proc-net-$1.txt" 2>&1
	fi
}

printf '%s\nside: %s\nhost: %s\ninterface: %s\nfilter: %s\n' "# syndiag collect" "$side" "$host" "$IFACE" "$filter" >"$out/syndiag-side.txt"
{ stamp; uname -r; } >"$out/uname.txt"
{ stamp; sysctl -a 2>/dev/null | grep -E '^net\.'; } >"$out/sysctl.txt"
snapshot before

tcpdump -i "$IFACE" -s "$SNAPLEN" -B 8192 -U -Z root -w "$out/$side.pcap" "$filter" &
tcpdump_pid=$!
sleep 1
if ! kill -0 "$tcpdump_pid" 2>/dev/null; then
	echo "syndiag collect: tcpdump did not start (see its message above)" >&2
	exit 1
fi

# The listeners' accept queues (Recv-Q) against their limits (Send-Q), five
# times a second: an overflow lasts as long as the application is slow.
if [ "$side" = server ]; then
	# shellcheck disable=SC2086 # SS_FILTER is several words of ss's filter
	(while :; do stamp; ss -lnt $SS_FILTER; sleep 0.2; done) >"$out/ss-lnt.txt" 2>&1 &
	ss_pid=$!
fi

stop=
trap 'stop=1' INT TERM
if [ "$DURATION" -gt 0 ]; then
	echo "capturing on $IFACE for $DURATION s (Ctrl-C stops early) into $out/" >&2
	sleep "$DURATION" &
	wait $! 2>/dev/null
else
	echo "capturing on $IFACE until Ctrl-C into $out/" >&2
	while [ -z "$stop" ]; do sleep 1; done
fi
trap - INT TERM

[ -n "${ss_pid:-}" ] && kill "$ss_pid" 2>/dev/null
kill -TERM "$tcpdump_pid" 2>/dev/null
wait "$tcpdump_pid" 2>/dev/null
snapshot after

echo "done: $out" >&2
if [ "$side" = server ]; then
	echo "analyze: syndiag analyze --evidence $out $out/server.pcap" >&2
else
	echo "analyze with the server's folder: syndiag analyze --evidence SERVER-FOLDER SERVER-FOLDER/server.pcap $out/client.pcap" >&2
fi
`))

// writeCollectScript writes the script for the options.
func writeCollectScript(w io.Writer, o collectOptions, args []string) error {
	side := o.side
	if side == "both" {
		side = ""
	}
	ss := ""
	if o.port > 0 {
		ss = fmt.Sprintf("sport = :%d", o.port)
	}
	var quoted []string
	for _, a := range args {
		quoted = append(quoted, shellQuote(a))
	}
	return collectScript.Execute(w, map[string]any{
		"Args": quoted, "Iface": o.iface, "Duration": o.duration, "Snaplen": o.snaplen, "Side": side,
		"ServerFilter": o.captureFilter("server"), "ClientFilter": o.captureFilter("client"), "SSFilter": ss,
	})
}

// shellQuote quotes a word for a comment that can be pasted into a shell.
func shellQuote(s string) string {
	if regexp.MustCompile(`^[A-Za-z0-9_./:=@%+-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
