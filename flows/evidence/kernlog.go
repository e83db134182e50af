package evidence

// Kernel log lines: dmesg (with or without -T, --time-format iso, -x or
// -r), journalctl -k (short, short-precise, short-iso, short-iso-precise,
// short-full, short-monotonic) and syslog files (/var/log/kern.log,
// /var/log/messages). Of the kernel's messages, those that say a SYN or a
// new connection was dropped, or that messages were suppressed, are read;
// the others are counted as log lines.
//
// The format strings, and the kernels that print them (the versions in
// brackets are approximate: the commits were not all at hand):
//
//   - tcp_syn_flood_action() (net/ipv4/tcp_input.c; tcp_ipv4.c before
//     the IPv4 and IPv6 paths shared tcp_conn_request()), once per
//     listener (queue->synflood_warned) when its SYN queue is full, and
//     never with tcp_syncookies=2. From 6.2 (d9282e48c608, "tcp: Add
//     listening address to SYN flood message"): "%s: Possible SYN
//     flooding on port %pI4:%u. %s.\n", or "... port [%pI6c]:%u. %s.\n"
//     for an IPv6 socket (a dual-stack [::] listener too, even for an IPv4
//     SYN). Before, since tcp_syn_flood_action() appeared [3.1]: "%s:
//     Possible SYN flooding on port %d. %s.  Check SNMP counters.\n". The
//     last %s is "Sending cookies" or "Dropping request"; the first is the
//     protocol: the listener's request_sock slab name ("request_sock_TCP",
//     "request_sock_TCPv6", "request_sock_subflow_v4" for MPTCP) since
//     tcp_conn_request() [3.17], "TCP" or "TCPv6" before; and the file's
//     pr_fmt prefixes "TCP: " [3.5 and later], so a 3.10 kernel prints
//     "TCP: TCP: Possible SYN flooding on port 80. ...". Before that,
//     syn_flood_warning() in tcp_ipv4.c printed "TCP: Possible SYN
//     flooding on port %d. %s.\n" (2.6.38) and, on older 2.6 and 2.4
//     kernels, "possible SYN flooding on port %d. Sending cookies.\n".
//   - __nf_conntrack_alloc() (net/netfilter/nf_conntrack_core.c), when
//     the table holds nf_conntrack_max entries and early_drop() found none
//     to evict: net_warn_ratelimited("nf_conntrack: table full, dropping
//     packet\n"). The file's pr_fmt (KBUILD_MODNAME ": ") doubles the
//     prefix [4.x and later]: "nf_conntrack: nf_conntrack: table full,
//     dropping packet". ip_conntrack (2.4 to 2.6.22) printed
//     "ip_conntrack: table full, dropping packet." with a period.
//   - tcp_time_wait() (net/ipv4/tcp_minisocks.c), when inet_twsk_alloc()
//     returned no TIME_WAIT socket (tcp_max_tw_buckets reached, or no
//     memory): "TCP: time wait bucket table overflow\n" under
//     net_ratelimit() (LIMIT_NETDEBUG, or an explicit net_ratelimit() on
//     2.4 and early 2.6); later kernels [3.19] count
//     TcpExt:TCPTimeWaitOverflow instead and print nothing.
//   - ___ratelimit() (lib/ratelimit.c): "%s: %d callbacks suppressed\n"
//     with the limiter's function, "net_ratelimit" for every
//     net_*_ratelimited message above. It is printed when the next
//     message gets through, and counts the messages of all net_ratelimit
//     users since the last one, not only of the kind around it. Older 2.6
//     kernels printed "printk: %d messages suppressed." for all
//     printk_ratelimit users, net_ratelimit included.

import (
	"cmp"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KernelEventKind names what a kernel log line says.
type KernelEventKind string

// Kinds of kernel log events.
const (
	// KernelSynFlood: a listener's SYN queue was full
	// (tcp_syn_flood_action); syncookies were sent or the SYN dropped.
	KernelSynFlood KernelEventKind = "syn-flood"
	// KernelConntrackFull: the conntrack table was full and a packet
	// that needed a new entry was dropped (__nf_conntrack_alloc).
	KernelConntrackFull KernelEventKind = "conntrack-full"
	// KernelTimeWaitOverflow: a closing connection got no TIME_WAIT
	// socket (tcp_time_wait, kernels up to 3.18).
	KernelTimeWaitOverflow KernelEventKind = "timewait-overflow"
	// KernelSuppressed: messages the rate limiter did not print
	// (___ratelimit); Suppressed says how many.
	KernelSuppressed KernelEventKind = "suppressed"
)

// KernelClock says what a kernel log line's time is.
type KernelClock string

// Kernel log clocks.
const (
	// KernelClockBoot: seconds since boot (dmesg, journalctl -o
	// short-monotonic, the "[  123.456]" a syslog line carries).
	KernelClockBoot KernelClock = "boot"
	// KernelClockWall: a date and a time with its zone (dmesg
	// --time-format iso, journalctl -o short-iso or short-full, RFC 3339
	// syslog).
	KernelClockWall KernelClock = "wall"
	// KernelClockLocal: a date and a time without a zone (dmesg -T, which
	// also drifts when the host suspended); read as UTC.
	KernelClockLocal KernelClock = "local"
	// KernelClockNoYear: month, day and time, no year or zone
	// (journalctl's default short format, traditional syslog); read as
	// UTC in year 0.
	KernelClockNoYear KernelClock = "no-year"
)

// KernelEvent is one kernel log line about dropped SYNs or connections,
// or about suppressed messages.
type KernelEvent struct {
	Kind KernelEventKind
	// Stamp is the time as the line prints it; Clock says what it is.
	Stamp string
	Clock KernelClock
	// Time is the wall-clock time (zero when the line gives only the time
	// since boot); see Clock for the zone and the year.
	Time time.Time
	// Boot is the time since boot, when the line gives it (HasBoot):
	// dmesg's own, or the "[ seconds]" inside a syslog line.
	Boot    time.Duration
	HasBoot bool
	// Proto, Addr, Port and Action are those of a SYN flood:
	// "request_sock_TCP", the listener's address (kernels from 6.2; the
	// invalid Addr before) and port, "Sending cookies" or "Dropping
	// request".
	Proto  string
	Addr   netip.Addr
	Port   uint16
	Action string
	// Suppressed is the number of messages a rate limiter did not print;
	// Limiter names it ("net_ratelimit", "printk").
	Suppressed int
	Limiter    string
	// Message is the kernel's message, without the time and the host.
	Message string
	File    string
	Line    int // 1-based line number in File
}

// Cookies reports whether a SYN flood event says cookies were sent (the
// SYN was answered) rather than the SYN dropped.
func (e KernelEvent) Cookies() bool { return e.Action == "Sending cookies" }

// KernelCount is how many events of a kind the kernel logs show.
type KernelCount struct {
	Kind   KernelEventKind
	Events int // lines
	// Suppressed adds up the messages the rate limiter did not print
	// (KernelSuppressed only).
	Suppressed int
}

// KernelCounts counts the kernel log events by kind, in a fixed order.
func (h *Host) KernelCounts() []KernelCount {
	at := map[KernelEventKind]*KernelCount{}
	var out []KernelCount
	for _, k := range []KernelEventKind{KernelSynFlood, KernelConntrackFull, KernelTimeWaitOverflow, KernelSuppressed} {
		out = append(out, KernelCount{Kind: k})
	}
	for i := range out {
		at[out[i].Kind] = &out[i]
	}
	for _, e := range h.KernelLog {
		c := at[e.Kind]
		c.Events++
		c.Suppressed += e.Suppressed
	}
	return slices.DeleteFunc(out, func(c KernelCount) bool { return c.Events == 0 })
}

var (
	// dmesg -r prints the priority ("<4>"), dmesg -x the facility and the
	// level ("kern  :warn  : ").
	kernPrioRe = regexp.MustCompile(`^<[0-9]+>`)
	kernDecoRe = regexp.MustCompile(`^[a-z]+ *:[a-z]+ *: `)
	// "[  123.456789]", then on CONFIG_PRINTK_CALLER kernels "[T1234]" or
	// "[    C1]".
	kernBootRe   = regexp.MustCompile(`^\[ *([0-9]+\.[0-9]+)\] ?(?:\[ *[TC][0-9]+\] ?)?`)
	kernDmesgTRe = regexp.MustCompile(`^\[((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4})\] ?`)
	// dmesg --time-format iso: "2026-12-04T18:11:31,919877+00:00 msg".
	// RFC 3339 syslog and journalctl -o short-iso[-precise]:
	// "2026-12-04T18:11:31.919877+00:00 host kernel: msg" (older
	// systemd: "+0000").
	kernISORe = regexp.MustCompile(`^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})) `)
	// Traditional syslog and journalctl's short and short-precise formats:
	// "Dec  4 18:11:31 host kernel: msg", "Dec 04 18:11:31.123456 host ...".
	kernSyslogRe = regexp.MustCompile(`^((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?) `)
	// journalctl -o short-full: "Fri 2026-12-04 18:11:31 UTC host kernel: msg".
	kernFullRe = regexp.MustCompile(`^((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)? [A-Za-z][A-Za-z0-9+-]*) `)
	// The host and the tag of a syslog line: "web1 kernel: ",
	// "web1 sshd[812]: ".
	kernTagRe = regexp.MustCompile(`^(\S+) ([^\s:\[]+)(?:\[[0-9]+\])?: ?`)

	synFloodRe  = regexp.MustCompile(`^(?:([A-Za-z0-9_]+): )?(?:([A-Za-z0-9_]+): )?[Pp]ossible SYN flooding on port (\S+)\. (Sending cookies|Dropping request)\.(?: +Check SNMP counters\.)?$`)
	conntrackRe = regexp.MustCompile(`^(?:(?:nf|ip)_conntrack: )+table full, dropping packet\.?$`)
	twRe        = regexp.MustCompile(`^(?:TCP: )?time wait bucket table overflow(?: \(\S+\))?$`)
	suppressRe  = regexp.MustCompile(`^(net_ratelimit): ([0-9]+) callbacks suppressed$|^(printk): ([0-9]+) messages suppressed\.$`)
)

// kernelLine is a log line split into its time and its message.
type kernelLine struct {
	stamp   string
	clock   KernelClock
	time    time.Time
	boot    time.Duration
	hasBoot bool
	kernel  bool // the kernel's (dmesg, or a syslog line tagged kernel)
	msg     string
}

// splitKernelLine reads the time and, for syslog and journal lines, the
// host and the tag; ok is false for a line that is none of these formats.
func splitKernelLine(l string) (kernelLine, bool) {
	l = strings.TrimRight(l, " \t")
	l = kernPrioRe.ReplaceAllLiteralString(l, "")
	l = kernDecoRe.ReplaceAllLiteralString(l, "")
	var k kernelLine
	rest, tagged := "", false
	switch {
	case kernBootRe.MatchString(l):
		m := kernBootRe.FindStringSubmatch(l)
		ns, ok := traceNanos(m[1])
		if !ok {
			return k, false
		}
		k.stamp, k.clock, k.boot, k.hasBoot = m[1], KernelClockBoot, time.Duration(ns), true
		rest = l[len(m[0]):]
		// journalctl -o short-monotonic: "[  123.456] host kernel: msg".
		if t := kernTagRe.FindStringSubmatch(rest); t != nil && t[2] == "kernel" {
			tagged = true
		}
	case kernDmesgTRe.MatchString(l):
		m := kernDmesgTRe.FindStringSubmatch(l)
		t, err := time.Parse("Mon Jan _2 15:04:05 2006", m[1])
		if err != nil {
			return k, false
		}
		k.stamp, k.clock, k.time, rest = m[1], KernelClockLocal, t, l[len(m[0]):]
	case kernISORe.MatchString(l):
		m := kernISORe.FindStringSubmatch(l)
		t, ok := parseISOStamp(m[1])
		if !ok {
			return k, false
		}
		k.stamp, k.clock, k.time, rest = m[1], KernelClockWall, t, l[len(m[0]):]
		// dmesg --time-format iso has a comma and no host.
		tagged = !strings.Contains(m[1], ",")
	case kernSyslogRe.MatchString(l):
		m := kernSyslogRe.FindStringSubmatch(l)
		t, err := time.Parse("Jan _2 15:04:05.999999999", m[1])
		if err != nil {
			return k, false
		}
		k.stamp, k.clock, k.time, rest, tagged = m[1], KernelClockNoYear, t, l[len(m[0]):], true
	case kernFullRe.MatchString(l):
		m := kernFullRe.FindStringSubmatch(l)
		t, err := time.Parse("Mon 2006-01-02 15:04:05.999999999 MST", m[1])
		if err != nil {
			return k, false
		}
		k.stamp, k.clock, k.time, rest, tagged = m[1], KernelClockWall, t.UTC(), l[len(m[0]):], true
	default:
		return k, false
	}
	k.kernel = true
	if tagged {
		t := kernTagRe.FindStringSubmatch(rest)
		if t == nil {
			return k, false
		}
		k.kernel, rest = t[2] == "kernel", rest[len(t[0]):]
		// A syslog line of the kernel carries dmesg's time when printk
		// times are on: "kernel: [  123.456] msg".
		if m := kernBootRe.FindStringSubmatch(rest); m != nil && k.kernel && !k.hasBoot {
			if ns, ok := traceNanos(m[1]); ok {
				k.boot, k.hasBoot, rest = time.Duration(ns), true, rest[len(m[0]):]
			}
		}
	}
	k.msg = strings.TrimSpace(rest)
	return k, true
}

// parseISOStamp reads an ISO 8601 time as dmesg and journalctl print it:
// a comma or a period before the fraction, a zone with or without a colon.
func parseISOStamp(s string) (time.Time, bool) {
	s = strings.Replace(s, ",", ".", 1)
	for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// isJournalHeader recognises journalctl's own lines: "-- Logs begin at
// …", "-- Journal begins at …", "-- No entries --", "-- Boot 3f2a… --".
func isJournalHeader(l string) bool {
	t := strings.TrimSpace(l)
	return strings.HasPrefix(t, "-- ") && (strings.HasSuffix(t, " --") || strings.HasPrefix(t, "-- Logs begin at ") || strings.HasPrefix(t, "-- Journal begins at "))
}

// kernelEvent reads what a kernel message says, if it is one syndiag reads.
func kernelEvent(msg string) (KernelEvent, bool) {
	var e KernelEvent
	switch {
	case synFloodRe.MatchString(msg):
		m := synFloodRe.FindStringSubmatch(msg)
		addr, port, ok := floodPort(m[3])
		if !ok {
			return e, false
		}
		e.Kind, e.Proto, e.Addr, e.Port, e.Action = KernelSynFlood, cmp.Or(m[2], m[1]), addr, port, m[4]
	case conntrackRe.MatchString(msg):
		e.Kind = KernelConntrackFull
	case twRe.MatchString(msg):
		e.Kind = KernelTimeWaitOverflow
	case suppressRe.MatchString(msg):
		m := suppressRe.FindStringSubmatch(msg)
		lim, n := cmp.Or(m[1], m[3]), cmp.Or(m[2], m[4])
		v, err := strconv.Atoi(n)
		if err != nil {
			return e, false
		}
		e.Kind, e.Limiter, e.Suppressed = KernelSuppressed, lim, v
	default:
		return e, false
	}
	e.Message = msg
	return e, true
}

// floodPort reads the listener of a SYN flood message: "8080" (before
// 6.2), "198.18.2.2:8080", "[::]:8080".
func floodPort(s string) (netip.Addr, uint16, bool) {
	if p, err := strconv.ParseUint(s, 10, 16); err == nil {
		return netip.Addr{}, uint16(p), true
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	return ap.Addr().Unmap(), ap.Port(), true
}

// kernelLog is what parseKernelLog read of one file.
type kernelLog struct {
	events []KernelEvent
	lines  int // log lines, of any program
}

// parseKernelLog reads a kernel log. Lines of other programs (a
// /var/log/messages) and other kernel messages are log lines, not
// ignored; lines that are no log line at all are.
func parseKernelLog(lines []string, path string) (kernelLog, int) {
	var kl kernelLog
	ignored := 0
	for i, l := range lines {
		if skippable(l) || isJournalHeader(l) {
			continue
		}
		k, ok := splitKernelLine(l)
		if !ok {
			// dmesg -t prints no time: its lines count when they are
			// messages syndiag reads.
			if _, event := kernelEvent(strings.TrimSpace(l)); !event {
				ignored++
				continue
			}
			k = kernelLine{kernel: true, msg: strings.TrimSpace(l)}
		}
		kl.lines++
		if !k.kernel {
			continue
		}
		e, ok := kernelEvent(k.msg)
		if !ok {
			continue
		}
		e.Stamp, e.Clock, e.Time, e.Boot, e.HasBoot = k.stamp, k.clock, k.time, k.boot, k.hasBoot
		e.File, e.Line = path, i+1
		kl.events = append(kl.events, e)
	}
	return kl, ignored
}

// isKernelLogLine is detect's test: a line in one of the log formats, or
// a message syndiag reads without a time (dmesg -t).
func isKernelLogLine(l string) bool {
	_, ok := splitKernelLine(l)
	_, event := kernelEvent(strings.TrimSpace(l))
	return ok || event
}

// addKernelLog records a file's events. A line another file gave already
// (the same time and message: kern.log and messages both have it) is
// not counted twice; lines repeated in one file are distinct events.
func (h *Host) addKernelLog(kl kernelLog, f *File) {
	key := func(e KernelEvent) string {
		return fmt.Sprintf("%s %s %d %v %s", e.Clock, e.Stamp, e.Boot, e.HasBoot, e.Message)
	}
	earlier := make(map[string]int, len(h.KernelLog))
	for _, e := range h.KernelLog {
		earlier[key(e)]++
	}
	for _, e := range kl.events {
		if k := key(e); earlier[k] > 0 {
			earlier[k]--
			continue
		}
		h.KernelLog = append(h.KernelLog, e)
		f.Values++
		if f.Time.IsZero() && e.Clock == KernelClockWall {
			f.Time = e.Time
		}
	}
	if len(kl.events) == 0 {
		h.Note(fmt.Sprintf("%s is a kernel log without the lines syndiag reads (%s: none about SYN flooding, a full conntrack table or TIME_WAIT buckets)", filepath.Base(f.Path), countLines(kl.lines)))
	}
}
