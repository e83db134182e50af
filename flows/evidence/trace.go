package evidence

// Kernel drop reasons: the skb:kfree_skb tracepoint, as the raw text of
// tracefs (trace, trace_pipe) or perf script prints it. Since Linux 5.17
// kfree_skb_reason() records why the kernel freed a packet it did not
// deliver (NETFILTER_DROP, NO_SOCKET, TCP_CSUM, …), which a capture taken
// before the drop point cannot show. Trace timestamps are seconds on the
// trace clock (since boot by default), so a trace is tied to the capture
// by a marker line written through trace_marker, or by a wall clock.

import (
	"cmp"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxDropTimes bounds the event times kept per trace file; later events
// are counted but not placed.
const maxDropTimes = 10000

// TraceClock says how a trace's timestamps were tied to the wall clock.
type TraceClock string

// Trace clocks.
const (
	// TraceClockMarker: a marker line ("tracing_mark_write: syndiag-epoch
	// <unix seconds>") gave the offset between the trace clock and the
	// wall clock.
	TraceClockMarker TraceClock = "marker"
	// TraceClockUnix: the timestamps are already Unix time (trace_clock
	// set to a wall clock, or perf script with a realtime clock).
	TraceClockUnix TraceClock = "unix"
	// TraceClockUnknown: seconds since boot and no marker; only the totals
	// can be used.
	TraceClockUnknown TraceClock = ""
)

// epochMarkers are the words of a marker line that give the wall clock
// at the marker's trace time: syndiag collect writes syndiag-epoch, the
// scenario script sdx-epoch.
var epochMarkers = []string{"syndiag-epoch", "sdx-epoch"}

// DropReason counts the packets a trace shows freed for one reason.
type DropReason struct {
	Reason string // the kernel's name, NETFILTER_DROP
	Count  int
	// Sites counts the events by the function that freed the packet
	// (nft_do_chain, tcp_v4_rcv), most first.
	Sites []DropSite
	// Times are the events' wall-clock times, when the trace clock could
	// be tied to it, for at most the file's first 10000 events
	// (maxDropTimes).
	Times []time.Time
}

// DropSite is a function that freed packets, and how many.
type DropSite struct {
	Function string
	Count    int
}

// DropTrace is one trace file's kfree_skb events.
type DropTrace struct {
	File  string
	Clock TraceClock
	// First and Last are the wall-clock times of the first and the last
	// event of any kind in the file (zero when Clock is unknown).
	First, Last time.Time
	Events      int // kfree_skb events with a reason
	// Untimed counts the events whose time was not kept (beyond the
	// first 10000, or no clock).
	Untimed int
	Reasons []DropReason // by name
}

// Reason returns the events of one reason, and whether the trace has any.
func (d *DropTrace) Reason(name string) (DropReason, bool) {
	i, ok := slices.BinarySearchFunc(d.Reasons, name, func(r DropReason, n string) int { return strings.Compare(r.Reason, n) })
	if !ok {
		return DropReason{}, false
	}
	return d.Reasons[i], true
}

// Between counts the events of a reason in [from, to] (wall clock).
func (r DropReason) Between(from, to time.Time) int {
	n := 0
	for _, t := range r.Times {
		if !t.Before(from) && !t.After(to) {
			n++
		}
	}
	return n
}

// traceLineRe matches a tracepoint event line: ftrace's
// "comm-pid [cpu] flags seconds: event: fields" (the flags and a tgid
// column are optional) and perf script's "comm pid [cpu] seconds:
// system:event: fields".
var traceLineRe = regexp.MustCompile(`^\s*\S.*?[ -][0-9]+\s+(?:\(\s*[0-9-]+\)\s+)?\[[0-9]+\]\s+(?:[a-zA-Z0-9.]{4,6}\s+)?([0-9]+\.[0-9]+):\s+(?:[a-z_0-9]+:)?([a-z_0-9]+):\s?(.*)$`)

// traceEvent splits an event line into its timestamp (nanoseconds on the
// trace clock), the event's name and its fields.
func traceEvent(l string) (ns int64, event, fields string, ok bool) {
	m := traceLineRe.FindStringSubmatch(l)
	if m == nil {
		return 0, "", "", false
	}
	ns, ok = traceNanos(m[1])
	return ns, m[2], m[3], ok
}

// traceNanos reads seconds with a fraction ("1796401107.649060") exactly,
// as nanoseconds: a float64 would lose the microseconds of a Unix time.
func traceNanos(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec < 0 || sec > maxTraceSeconds || len(frac) > 9 {
		return 0, false
	}
	ns := int64(0)
	if frac != "" {
		n, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		ns = n
	}
	return sec*1e9 + ns, true
}

// kfreeSkb reads the fields of a kfree_skb event: "skbaddr=… protocol=2048
// location=nft_do_chain+0x46f/0x690 reason: NETFILTER_DROP". Events
// without a reason (kernels before 5.17) are not read.
func kfreeSkb(fields string) (reason, function string, ok bool) {
	before, reason, found := strings.Cut(fields, " reason: ")
	reason = strings.TrimSpace(reason)
	if !found || reason == "" || strings.ContainsAny(reason, " \t=") {
		return "", "", false
	}
	function = "?"
	if _, loc, found := strings.Cut(before, "location="); found {
		loc, _, _ = strings.Cut(loc, " ")
		loc, _, _ = strings.Cut(loc, "+")
		if loc != "" {
			function = loc
		}
	}
	return reason, function, true
}

// traceEpoch reads a marker's wall-clock time from the fields of a
// tracing_mark_write (or perf's ftrace:print) event.
func traceEpoch(fields string) (int64, bool) {
	f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(fields), "buf="))
	for i := 0; i+1 < len(f); i++ {
		if slices.Contains(epochMarkers, f[i]) {
			ns, ok := traceNanos(f[i+1])
			return ns, ok && ns > unixFloor*1e9
		}
	}
	return 0, false
}

// Trace timestamps above unixFloor seconds (2001) are a wall clock: no
// host has been up for 31 years. maxTraceSeconds keeps nanoseconds in an
// int64.
const unixFloor, maxTraceSeconds = 1e9, 9e9

// parseTrace reads the kfree_skb events of a trace and ties its clock to
// the wall clock. It returns the trace and the number of lines it did not
// understand.
func parseTrace(lines []string) (DropTrace, int) {
	type event struct {
		ns               int64
		reason, function string
	}
	var evs []event
	ignored := 0
	offset, clock := int64(0), TraceClockUnknown
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for _, l := range lines {
		if skippable(l) {
			continue
		}
		ns, name, fields, ok := traceEvent(l)
		if !ok {
			ignored++
			continue
		}
		first, last = min(first, ns), max(last, ns)
		switch name {
		case "tracing_mark_write", "print":
			if wall, ok := traceEpoch(fields); ok && clock != TraceClockMarker {
				offset, clock = wall-ns, TraceClockMarker
			}
		case "kfree_skb":
			reason, function, ok := kfreeSkb(fields)
			if !ok {
				ignored++
				continue
			}
			evs = append(evs, event{ns, reason, function})
		}
	}
	var d DropTrace
	if clock == TraceClockUnknown && first > unixFloor*1e9 && first <= last {
		clock = TraceClockUnix
	}
	d.Clock = clock
	wall := func(ns int64) time.Time { return time.Unix(0, ns+offset).UTC() }
	if clock != TraceClockUnknown && first <= last {
		d.First, d.Last = wall(first), wall(last)
	}
	byReason := map[string]*DropReason{}
	sites := map[string]map[string]int{}
	for i, e := range evs {
		r := byReason[e.reason]
		if r == nil {
			r = &DropReason{Reason: e.reason}
			byReason[e.reason] = r
			sites[e.reason] = map[string]int{}
		}
		r.Count++
		sites[e.reason][e.function]++
		if clock != TraceClockUnknown && i < maxDropTimes {
			r.Times = append(r.Times, wall(e.ns))
		} else {
			d.Untimed++
		}
	}
	d.Events = len(evs)
	for _, name := range sortedNames(byReason) {
		r := byReason[name]
		for fn, n := range sites[name] {
			r.Sites = append(r.Sites, DropSite{fn, n})
		}
		slices.SortFunc(r.Sites, func(a, b DropSite) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Function, b.Function))
		})
		d.Reasons = append(d.Reasons, *r)
	}
	return d, ignored
}
