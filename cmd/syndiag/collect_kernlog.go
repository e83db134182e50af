package main

// collectKernlog is the part of the script that records the kernel's log
// during the capture, where the kernel says it dropped SYNs or connections
// ("Possible SYN flooding on port", "nf_conntrack: table full", "time wait
// bucket table overflow") and how many such lines it did not print
// ("net_ratelimit: N callbacks suppressed"); package flows/evidence reads
// them (kernlog.go).
//
// dmesg prints the whole ring buffer: the line it printed last at the
// start marks where the capture began, and only the lines after it are
// kept (when the buffer has since dropped that line, the lines stamped
// after it). dmesg --time-format iso (util-linux 2.25 and later) gives
// wall-clock times, which place the lines against the capture; older dmesg
// gives seconds since boot. Where dmesg may not read the buffer
// (kernel.dmesg_restrict and not root) journalctl -k --since the start
// does. A window without a line is written as journalctl writes it, "--
// No entries --", which syndiag reads as a kernel log without events.
const collectKernlog = `{{define "kernlog"}}
# The kernel's log during the capture: the lines dmesg prints after the last
# one it printed at the start (wall-clock times where dmesg has them), else
# journalctl -k since the start, else README.txt says why not.
kern_how='' kern_opts='' kern_start='' kern_since='' kern_why=''
# kern_window keeps the lines after the start's last line ($start) or, when
# the ring buffer no longer holds that line, those stamped after it.
# shellcheck disable=SC2016 # an awk program
kern_window='
function key(l, s) {
	s = l
	if (l ~ /^\[ *[0-9]+\.[0-9]+\]/) {
		sub(/^\[ */, "", s)
		sub(/\].*/, "", s)
		return sprintf("%020.6f", s)
	}
	sub(/ .*/, "", s)
	return s
}
{ line[NR] = $0; if ($0 == ENVIRON["start"]) at = NR }
END {
	from = 1
	if (at) from = at + 1
	else if (ENVIRON["start"] != "") for (k = key(ENVIRON["start"]); from <= NR && key(line[from]) <= k; from++) ;
	for (i = from; i <= NR; i++) print line[i]
}'

kernlog_start() {
	local rc
	kern_since="$(date '+%Y-%m-%d %H:%M:%S')"
	if have dmesg; then
		kern_opts="--time-format iso"
		# shellcheck disable=SC2086 # kern_opts are words
		bounded dmesg $kern_opts >"$tmp/dmesg" 2>"$tmp/err"
		rc=$?
		if [ "$rc" != 0 ]; then
			kern_opts=
			bounded dmesg >"$tmp/dmesg" 2>"$tmp/err"
			rc=$?
		fi
		if [ "$rc" = 0 ]; then
			kern_how=dmesg
			kern_start="$(tail -n 1 "$tmp/dmesg")"
			return
		fi
		kern_why="dmesg: $(failure "$rc")"
	else
		kern_why="dmesg is not installed"
	fi
	if have journalctl; then
		kern_how=journalctl
		return
	fi
	missing "the kernel's log: $kern_why; and journalctl is not installed"
}

kernlog_save() {
	local rc file what format
	case "$kern_how" in
	dmesg)
		file=dmesg.txt
		# shellcheck disable=SC2086 # kern_opts are words
		bounded dmesg $kern_opts >"$tmp/dmesg" 2>"$tmp/err"
		rc=$?
		if [ "$rc" != 0 ]; then
			missing "$file (dmesg): $(failure "$rc")"
			return
		fi
		start="$kern_start" awk "$kern_window" "$tmp/dmesg" >"$tmp/window"
		what="dmesg${kern_opts:+ $kern_opts}, the lines printed during the capture"
		;;
	journalctl)
		file=journalctl-k.txt
		what="journalctl -k --since '$kern_since' ($kern_why)"
		for format in short-iso-precise short-iso; do
			bounded journalctl -k --no-pager -o "$format" --since "$kern_since" >"$tmp/window" 2>"$tmp/err"
			rc=$?
			[ "$rc" = 0 ] && break
		done
		if [ "$rc" != 0 ]; then
			missing "$file ($what): $(failure "$rc")"
			return
		fi
		;;
	*)
		return
		;;
	esac
	[ -s "$tmp/window" ] || echo "-- No entries --" >"$tmp/window"
	cp "$tmp/window" "$out/$file"
	recorded "$file: $what: $(grep -vc '^-- ' "$out/$file") lines"
}
{{end}}`
