package main

// The script syndiag collect prints. It runs where syndiag is not
// installed, so it is bash and the tools every Linux has; what needs more
// (tracefs or perf, iptables, nft, dmesg) is recorded where the host
// allows it, and README.txt says what was not, and why. The parts are
// templates of their own: collect_trace.go (drop reasons),
// collect_kernlog.go (the kernel's log), collect_firewall.go (firewall
// counters).

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/template"
)

// collectMain is the script's frame: the settings, the helpers every part
// uses, and the order of the collection.
const collectMain = `#!/usr/bin/env bash
# syndiag collect: a capture and the host's own evidence, for syndiag analyze.
# Made by: syndiag collect{{range .Args}} {{.}}{{end}}
#
# Run it as root on the server and, at the same time, on a client:
#   sudo bash collect.sh server
#   sudo bash collect.sh client
# Each run writes a new folder (or $SYNDIAG_OUT) with a capture ({{.Snaplen}} bytes of each
# packet: headers and TCP options, no payload), the kernel's counters before and after,
# its settings, the listeners' queues sampled during the capture, the kernel version,
# the firewall's counters before and after, the kernel's log and the reasons it gave
# for the packets it dropped during the capture, and README.txt: what was recorded,
# and what was not and why. Every command runs with a time limit.
# Then, wherever syndiag is installed:
#   syndiag analyze --evidence SERVER-FOLDER SERVER-FOLDER/server.pcap CLIENT-FOLDER/client.pcap
set -u

IFACE={{.Iface}}
DURATION={{.Duration}}  # seconds; 0: until Ctrl-C
SNAPLEN={{.Snaplen}}
SERVER_FILTER='{{.ServerFilter}}'
CLIENT_FILTER='{{.ClientFilter}}'
SS_FILTER='{{.SSFilter}}'
TIMEOUT=${SYNDIAG_TIMEOUT:-20}  # seconds a command may take

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
root=
if [ "$(id -u)" = 0 ]; then root=1; else echo "syndiag collect: not root: tcpdump will likely fail" >&2; fi

host="$(hostname 2>/dev/null || echo host)"
out="${SYNDIAG_OUT:-syndiag-$side-$host-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out" || exit 1
tmp="$(mktemp -d)" || exit 1

# Each file starts with the time it was taken, which orders the snapshots.
stamp() { echo "# syndiag-time: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; }

# bounded runs a command with a time limit, so that no tool hangs the
# collection (status 124 when the limit was reached).
bounded() {
	if have timeout; then timeout -k 2 "$TIMEOUT" "$@"; else "$@"; fi
}

# README.txt starts with the side, which syndiag analyze reads, then says
# what the folder holds and what it lacks, and why, a line each.
readme() { printf '%s\n' "$*" >>"$out/README.txt"; }
recorded() { readme "recorded: $*"; }
missing() {
	readme "missing: $*"
	echo "syndiag collect: not recorded: $*" >&2
}
# failure says why a command failed: its time limit, or the start of its
# error message (in $tmp/err), or its status.
failure() {
	if [ "$1" = 124 ]; then
		echo "timed out after $TIMEOUT s"
		return
	fi
	local msg
	msg="$(head -c 300 "$tmp/err" 2>/dev/null | tr -s '\n\t' '  ')"
	msg="${msg% }"
	echo "${msg:-exit status $1}"
}
# take FILE WHAT COMMAND...: the command's output, stamped, into FILE; a
# command that fails leaves no file but a line in README.txt.
take() {
	local file="$1" what="$2" rc
	shift 2
	{ stamp; bounded "$@"; } >"$out/$file" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = 0 ]; then
		recorded "$file: $what"
		return 0
	fi
	rm -f "$out/$file"
	missing "$file ($what): $(failure "$rc")"
	return 1
}

# The kernel's counters: absolute values (-a), zeros included (-z), without
# touching nstat's history (-s); /proc/net where nstat is missing.
snapshot() {
	if have nstat; then
		take "nstat-$1.txt" "nstat -asz" nstat -asz
	else
		take "proc-net-$1.txt" "cat /proc/net/netstat /proc/net/snmp" cat /proc/net/netstat /proc/net/snmp
	fi
}
{{template "trace" .}}
{{template "kernlog" .}}
{{template "firewall" .}}
# On any exit, Ctrl-C and kill included, the tracing is undone and the
# background jobs stopped.
done=
cleanup() {
	[ -n "${ss_pid:-}" ] && kill "$ss_pid" 2>/dev/null
	[ -n "${tcpdump_pid:-}" ] && kill -TERM "$tcpdump_pid" 2>/dev/null
	trace_cleanup
	[ -n "$done" ] || readme "# Stopped before the end: the files of the end are missing."
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

printf '%s\nside: %s\nhost: %s\ninterface: %s\nfilter: %s\n' "# syndiag collect" "$side" "$host" "$IFACE" "$filter" >"$out/README.txt"
readme "# What this folder holds, and what it does not and why: a line each."
container=
if have systemd-detect-virt; then
	container="$(systemd-detect-virt -c 2>/dev/null)" || container=
elif [ -e /.dockerenv ]; then
	container=docker
elif [ -e /run/.containerenv ]; then
	container=podman
fi
have timeout || readme "# timeout is not installed: the commands run without a time limit."
[ -n "$container" ] && readme "# In a container ($container): the kernel's log, its tracing and the firewall may be the host's, or out of reach; collect on the host for them."
take uname.txt "uname -r" uname -r
if { stamp; bounded sysctl -a 2>/dev/null | grep -E '^net\.'; } >"$out/sysctl.txt"; then
	recorded "sysctl.txt: sysctl -a, the net.* settings"
else
	rm -f "$out/sysctl.txt"
	missing "sysctl.txt: sysctl -a printed no net.* setting"
fi
snapshot before
firewall before
kernlog_start
trace_start

tcpdump -i "$IFACE" -s "$SNAPLEN" -B 8192 -U -Z root -w "$out/$side.pcap" "$filter" &
tcpdump_pid=$!
sleep 1
if ! kill -0 "$tcpdump_pid" 2>/dev/null; then
	echo "syndiag collect: tcpdump did not start (see its message above)" >&2
	missing "$side.pcap: tcpdump did not start"
	tcpdump_pid=
	exit 1
fi

# The listeners' accept queues (Recv-Q) against their limits (Send-Q), five
# times a second: an overflow lasts as long as the application is slow. The
# first sample is taken before the loop, so that even a capture stopped at
# once has one.
if [ "$side" = server ]; then
	# shellcheck disable=SC2086 # SS_FILTER is several words of ss's filter
	{ stamp; bounded ss -lnt $SS_FILTER; } >"$out/ss-lnt.txt" 2>&1
	# shellcheck disable=SC2086
	(while sleep 0.2; do stamp; bounded ss -lnt $SS_FILTER; done) >>"$out/ss-lnt.txt" 2>&1 &
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
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${ss_pid:-}" ]; then
	kill "$ss_pid" 2>/dev/null
	ss_pid=
	recorded "ss-lnt.txt: ss -lnt $SS_FILTER, five times a second during the capture"
fi
kill -TERM "$tcpdump_pid" 2>/dev/null
wait "$tcpdump_pid" 2>/dev/null
tcpdump_pid=
recorded "$side.pcap: tcpdump -i $IFACE -s $SNAPLEN, filter: $filter"
trace_stop
snapshot after
firewall after
kernlog_save
trace_save
done=1
readme "# Done: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

echo "done: $out" >&2
if [ "$side" = server ]; then
	echo "analyze: syndiag analyze --evidence $out $out/server.pcap" >&2
else
	echo "analyze with the server's folder: syndiag analyze --evidence SERVER-FOLDER SERVER-FOLDER/server.pcap $out/client.pcap" >&2
fi
`

// collectScript is the script, its parts defined in their own templates.
var collectScript = func() *template.Template {
	t := template.Must(template.New("collect").Parse(collectMain))
	for _, part := range []string{collectTrace, collectKernlog, collectFirewall} {
		template.Must(t.Parse(part))
	}
	return t
}()

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

// shellWordRe matches the words a shell reads as they are.
var shellWordRe = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+-]+$`)

// shellQuote quotes a word for a comment that can be pasted into a shell.
func shellQuote(s string) string {
	if shellWordRe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
