package main

// collectTrace is the part of the script that records the kernel's drop
// reasons during the capture: the skb:kfree_skb tracepoint, whose reason
// (Linux 5.17 and later, kfree_skb_reason) says why the kernel freed a
// packet it did not deliver, which no capture shows. Package
// flows/evidence reads the trace (trace.go): ftrace's text or perf
// script's, tied to the wall clock by a "syndiag-epoch SECONDS" marker.
//
// It uses a tracefs instance of its own (instances/syndiag-PID), so the
// global buffer, and whoever else reads it, is left alone; the buffer is
// bounded and keeps the first events when it fills, the start marker
// among them. Without tracefs (not mounted and not root, a container) it
// tries perf record, whose timestamps are tied to the wall clock by the
// reference time perf writes in its header (perf 5.10 and later); else
// README.txt says why there are no drop reasons. Tracepoints know no
// network namespace: the trace is the whole machine's.
const collectTrace = `{{define "trace"}}
# The reasons the kernel gave for the IPv4 and IPv6 packets it dropped
# during the capture (skb:kfree_skb; Linux 5.17 and later name a reason), of
# the whole machine: in a tracefs instance of its own, which leaves the
# global trace buffer alone; else with perf; else README.txt says why not.
TRACEFS="${SYNDIAG_TRACEFS:-}" # where tracefs is, or is to be mounted
TRACE_BYTES=62914560           # the most of a trace kept: syndiag reads 64 MiB of a file
TRACE_FILTER='protocol == 2048 || protocol == 34525'
trace_inst='' trace_mounted='' trace_why='' trace_kb='' trace_clock=local perf_pid='' perf_done=''

# trace_mark writes the wall clock into the trace, which ties the trace
# clock to it: syndiag reads "tracing_mark_write: syndiag-epoch SECONDS".
# The file is opened first and bash 5's EPOCHREALTIME read without a fork,
# so the clock is read microseconds before the kernel stamps the line.
trace_mark() {
	{
		if [ -n "${EPOCHREALTIME:-}" ]; then
			printf 'syndiag-epoch %s\n' "${EPOCHREALTIME/,/.}"
		else
			printf 'syndiag-epoch %s\n' "$(date +%s.%N)"
		fi
	} 2>/dev/null >>"$trace_inst/trace_marker"
}

# trace_tracefs finds tracefs: at $SYNDIAG_TRACEFS when it is set, else
# where it is mounted; else it mounts it there, as root.
trace_tracefs() {
	local rc d
	if [ -z "$TRACEFS" ]; then
		TRACEFS=/sys/kernel/tracing
		for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
			if [ -d "$d/instances" ]; then
				TRACEFS=$d
				break
			fi
		done
	fi
	[ -d "$TRACEFS/instances" ] && return 0
	if [ -z "$root" ]; then
		trace_why="tracefs is not mounted at $TRACEFS, and only root may mount it"
		return 1
	fi
	bounded mount -t tracefs nodev "$TRACEFS" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != 0 ]; then
		trace_why="cannot mount tracefs at $TRACEFS: $(failure "$rc")"
		return 1
	fi
	trace_mounted=$TRACEFS
	[ -d "$TRACEFS/instances" ] && return 0
	trace_why="tracefs at $TRACEFS has no instances"
	return 1
}

trace_start() {
	local rc ev cpus
	if ! trace_tracefs; then
		trace_unmount
		perf_start
		return
	fi
	trace_inst="$TRACEFS/instances/syndiag-$$"
	mkdir "$trace_inst" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != 0 ]; then
		trace_why="cannot make the tracefs instance $trace_inst: $(failure "$rc")"
		trace_inst=
		trace_unmount
		perf_start
		return
	fi
	ev="$trace_inst/events/skb/kfree_skb"
	if [ ! -e "$ev/enable" ]; then
		trace_cleanup
		missing "drop reasons: this kernel has no skb:kfree_skb tracepoint"
		return
	fi
	if ! grep -q reason "$ev/format" 2>/dev/null; then
		trace_cleanup
		missing "drop reasons: this kernel's skb:kfree_skb names no reason (Linux 5.17 and later do)"
		return
	fi
	# 24 MiB in all, from 256 KB to 4 MB a CPU: the trace's text then fits
	# in what syndiag reads. A full buffer keeps its first events.
	cpus="$(getconf _NPROCESSORS_ONLN 2>/dev/null)" || cpus=4
	trace_kb=$((24576 / ${cpus:-4}))
	[ "$trace_kb" -gt 4096 ] && trace_kb=4096
	[ "$trace_kb" -lt 256 ] && trace_kb=256
	echo "$trace_kb" 2>/dev/null >"$trace_inst/buffer_size_kb"
	echo 0 2>/dev/null >"$trace_inst/options/overwrite"
	# CLOCK_MONOTONIC is the same on every CPU, unlike the default clock.
	if grep -qw mono "$trace_inst/trace_clock" 2>/dev/null && echo mono 2>/dev/null >"$trace_inst/trace_clock"; then
		trace_clock=mono
	fi
	echo "$TRACE_FILTER" 2>/dev/null >"$ev/filter"
	trace_mark
	if ! echo 1 2>"$tmp/err" >"$ev/enable"; then
		rc=1
		trace_why="cannot enable skb:kfree_skb in $trace_inst: $(failure "$rc")"
		trace_cleanup
		perf_start
		return
	fi
	echo "recording the kernel's drop reasons in $trace_inst" >&2
}

# trace_stop ends the recording, with a marker at the end too.
trace_stop() {
	if [ -n "$trace_inst" ]; then
		trace_mark
		echo 0 2>/dev/null >"$trace_inst/events/skb/kfree_skb/enable"
	fi
	perf_stop
}

# trace_save reads the trace into the folder, and removes the instance.
trace_save() {
	local rc file=kfree_skb-trace.txt lost events extra=
	if [ -z "$trace_inst" ]; then
		perf_save
		return
	fi
	lost="$(cat "$trace_inst"/per_cpu/cpu*/stats 2>/dev/null | awk '/^(overrun|dropped events):/ { n += $NF } END { print n + 0 }')"
	bounded head -c "$TRACE_BYTES" "$trace_inst/trace" >"$out/$file" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != 0 ]; then
		rm -f "$out/$file"
		missing "$file (skb:kfree_skb from tracefs): $(failure "$rc")"
		trace_cleanup
		return
	fi
	events="$(grep -c ' kfree_skb: ' "$out/$file")"
	[ "${lost:-0}" -gt 0 ] && extra="; $lost lost when the buffer was full (the first ones are kept)"
	[ "$(wc -c <"$out/$file")" -ge "$TRACE_BYTES" ] && extra="$extra; cut at $TRACE_BYTES bytes"
	recorded "$file: skb:kfree_skb drop reasons of IPv4 and IPv6 packets, from tracefs (instance $(basename "$trace_inst"), $trace_kb KB a CPU, trace clock $trace_clock, syndiag-epoch markers at the start and the end): $events events$extra"
	trace_cleanup
}

# trace_cleanup undoes the tracing, on any exit: it may run twice.
trace_cleanup() {
	local i
	if [ -n "$trace_inst" ]; then
		echo 0 2>/dev/null >"$trace_inst/events/skb/kfree_skb/enable"
		# rmdir fails while a reader still holds the instance open.
		for i in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$trace_inst" 2>/dev/null && break
			sleep 0.2
		done
		[ -d "$trace_inst" ] && echo "syndiag collect: could not remove the tracefs instance $trace_inst (rmdir it)" >&2
		trace_inst=
	fi
	trace_unmount
	if [ -n "$perf_pid" ]; then
		kill -TERM "$perf_pid" 2>/dev/null
		perf_pid=
	fi
}

# trace_unmount unmounts the tracefs this script mounted, unless it is busy.
trace_unmount() {
	[ -n "$trace_mounted" ] || return 0
	umount "$trace_mounted" 2>/dev/null || echo "syndiag collect: tracefs left mounted at $trace_mounted (busy)" >&2
	trace_mounted=
}

# perf_start records skb:kfree_skb with perf where tracefs could not, on
# CLOCK_MONOTONIC where perf can choose its clock (-k, perf 4.1).
perf_start() {
	local opts="" usage
	if ! have perf; then
		missing "drop reasons (skb:kfree_skb): $trace_why; and perf is not installed"
		return
	fi
	usage="$(perf record -h 2>&1)"
	case "$usage" in *clockid*) opts="-k mono" ;; esac
	case "$usage" in *max-size*) opts="$opts --max-size=256M" ;; esac
	# shellcheck disable=SC2086 # opts are words
	perf record -q -a -e skb:kfree_skb --filter "$TRACE_FILTER" $opts -o "$tmp/perf.data" >"$tmp/perf.err" 2>&1 &
	perf_pid=$!
	sleep 1
	if ! kill -0 "$perf_pid" 2>/dev/null; then
		wait "$perf_pid" 2>/dev/null
		perf_pid=
		missing "drop reasons (skb:kfree_skb): $trace_why; and perf record failed: $(cp "$tmp/perf.err" "$tmp/err"; failure 1)"
		return
	fi
	echo "recording the kernel's drop reasons with perf ($trace_why)" >&2
}

# perf_stop stops perf record, which writes its file on SIGTERM.
perf_stop() {
	local i=0
	[ -n "$perf_pid" ] || return 0
	kill -TERM "$perf_pid" 2>/dev/null
	while kill -0 "$perf_pid" 2>/dev/null && [ "$i" -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	kill -KILL "$perf_pid" 2>/dev/null
	wait "$perf_pid" 2>/dev/null
	perf_pid=
	perf_done=1
}

# perf_save writes perf script's text, led by perf's reference time
# ("# reference time: 2026-12-04 18:36:53.666611 = 1796409413.666611 (TOD)
# = 12152.035301741 (monotonic)") as a syndiag-epoch marker line.
perf_save() {
	local rc file=kfree_skb-perf.txt ref mono wall tie events
	[ -n "$perf_done" ] || return 0
	ref="$(bounded perf report --header-only -i "$tmp/perf.data" 2>/dev/null | awk -F' = ' '/^# reference time:/ { split($2, w, " "); split($3, m, " "); print m[1], w[1] }')"
	read -r mono wall <<<"$ref"
	{
		echo "# skb:kfree_skb drop reasons: perf record -e skb:kfree_skb; perf script"
		if [ -n "${wall:-}" ]; then
			echo "# perf's reference time (perf report --header-only) as a syndiag-epoch marker:"
			echo "perf 0 [000] $mono: ftrace:print: syndiag-epoch $wall"
		fi
		bounded perf script -i "$tmp/perf.data" 2>"$tmp/err"
	} | head -c "$TRACE_BYTES" >"$out/$file"
	rc=${PIPESTATUS[0]}
	events="$(grep -c 'kfree_skb: ' "$out/$file")"
	if [ "$rc" != 0 ]; then
		rm -f "$out/$file"
		missing "$file (skb:kfree_skb from perf; $trace_why): $(failure "$rc")"
		return
	fi
	if [ "$events" = 0 ] && [ -z "${wall:-}" ]; then
		rm -f "$out/$file"
		missing "$file (skb:kfree_skb from perf; $trace_why): no event, and no reference time to tie the trace to the wall clock"
		return
	fi
	tie="tied to the wall clock by perf's reference time"
	[ -n "${wall:-}" ] || tie="not tied to the wall clock (no reference time in perf's header: perf before 5.10?)"
	recorded "$file: skb:kfree_skb drop reasons of IPv4 and IPv6 packets, from perf record ($trace_why), $tie: $events events"
}
{{end}}`
