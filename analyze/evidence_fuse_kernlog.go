package analyze

// Fusion of the kernel's log (dmesg, journalctl -k, syslog) into
// findings: "Possible SYN flooding on port P. Dropping request" confirms
// SYNs dropped at a listener whose SYN queue was full without syncookies,
// "Sending cookies" says the queue overflowed but cookies answered, and
// "nf_conntrack: table full, dropping packet" names a cause for SYNs the
// server never answered. Events count for a capture when their time falls
// within it: a wall-clock line is placed as it is, a line with seconds
// since boot only when the same line with a wall-clock time (another file,
// or the syslog stamp beside it) ties the boot clock to the wall clock.

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/flows/evidence"
)

// kernSlack widens a capture's span when log lines are matched to it:
// many log formats print whole seconds.
const kernSlack = time.Second

// Ties: how a kernel log event was placed on the wall clock.
const (
	TieWall   = "wall"    // the line's own date and time with its zone
	TieLocal  = "local"   // dmesg -T: a local time without zone, read as UTC
	TieNoYear = "no-year" // syslog: no year or zone; the capture's year, UTC
	TieBoot   = "boot"    // seconds since boot, tied by the same line with a wall-clock time
)

// KernelLogEvent is a kernel log event as the analysis placed it in time.
type KernelLogEvent struct {
	evidence.KernelEvent
	// At is the wall-clock time, zero when the event could not be tied to
	// it; Tie says how it was (TieWall, TieLocal, TieNoYear, TieBoot), and
	// TieFile, for TieBoot, which file's lines tied the boot clock.
	At      time.Time
	Tie     string
	TieFile string
	// During reports whether the event falls within a capture's span.
	During bool
}

// tieRank orders ties from the most to the least trusted; a line given in
// two files is kept in the better one.
func tieRank(t string) int {
	return map[string]int{TieWall: 0, TieBoot: 1, TieLocal: 2, TieNoYear: 3, "": 4}[t]
}

// maxTieCandidates bounds the pairs of lines bootOffset weighs (it
// compares each with each).
const maxTieCandidates = 1000

// bootOffset finds the wall-clock time of boot from the lines that give
// both clocks: a syslog line with the kernel's "[seconds]", or the same
// message in a file with seconds since boot and in one with wall-clock
// times. The offset most of them agree on (within kernSlack) wins.
func bootOffset(evs []evidence.KernelEvent) (boot time.Time, from string, ok bool) {
	type cand struct {
		boot time.Time
		file string
		rank int
	}
	var cands []cand
	timed := map[string][]evidence.KernelEvent{}
	for _, e := range evs {
		if wallClock(e.Clock) {
			if e.HasBoot && len(cands) < maxTieCandidates {
				cands = append(cands, cand{e.Time.Add(-e.Boot), e.File, tieRank(string(e.Clock))})
			} else if len(timed[e.Message]) < 200 {
				timed[e.Message] = append(timed[e.Message], e)
			}
		}
	}
	n := map[string]int{}
	for _, e := range evs {
		if e.Clock != evidence.KernelClockBoot || n[e.Message] >= 200 {
			continue
		}
		n[e.Message]++
		for _, t := range timed[e.Message] {
			if t.File != e.File && len(cands) < maxTieCandidates {
				cands = append(cands, cand{t.Time.Add(-e.Boot), t.File, tieRank(string(t.Clock))})
			}
		}
	}
	best, votes := -1, 0
	for i, c := range cands {
		v := 0
		for _, d := range cands {
			if dt := c.boot.Sub(d.boot); dt <= kernSlack && dt >= -kernSlack {
				v++
			}
		}
		if v > votes || v == votes && c.rank < cands[best].rank {
			best, votes = i, v
		}
	}
	if best < 0 {
		return time.Time{}, "", false
	}
	return cands[best].boot, cands[best].file, true
}

// wallClock reports the clocks whose lines carry a date.
func wallClock(c evidence.KernelClock) bool {
	return c == evidence.KernelClockWall || c == evidence.KernelClockLocal
}

// placeKernelLog places every kernel log event on the wall clock where
// its line allows, marks those within a capture, notes per file how it
// relates to the captures, and keeps one event of a line given in several
// files.
func (fz *fuser) placeKernelLog() {
	first, _ := fz.captureBounds()
	year := 0
	if first != 0 {
		year = time.Unix(0, first).UTC().Year()
	}
	boot, bootFile, tied := bootOffset(fz.ev.Host.KernelLog)
	var all []KernelLogEvent
	for _, e := range fz.ev.Host.KernelLog {
		k := KernelLogEvent{KernelEvent: e}
		switch {
		case e.Clock == evidence.KernelClockWall:
			k.At, k.Tie = e.Time, TieWall
		case e.Clock == evidence.KernelClockLocal:
			k.At, k.Tie = e.Time, TieLocal
		case e.Clock == evidence.KernelClockNoYear && year > 0:
			k.At, k.Tie = e.Time.AddDate(year, 0, 0), TieNoYear
		case e.HasBoot && tied && bootFile != e.File:
			k.At, k.Tie, k.TieFile = boot.Add(e.Boot), TieBoot, bootFile
		}
		k.During = !k.At.IsZero() && fz.inCapture(k.At)
		all = append(all, k)
	}
	fz.kernelLogNotes(all)
	fz.ev.LogEvents = dedupeLog(all)
}

// inCapture reports whether a time falls within a capture's span, widened
// by kernSlack.
func (fz *fuser) inCapture(t time.Time) bool {
	for _, c := range fz.res.Captures {
		if c.Capture == nil || c.Packets == 0 {
			continue
		}
		if !t.Before(time.Unix(0, c.First).Add(-kernSlack)) && !t.After(time.Unix(0, c.Last).Add(kernSlack)) {
			return true
		}
	}
	return false
}

// dedupeLog drops an event when another file has the same message within
// kernSlack on a clock at least as good (dmesg and dmesg --time-format iso
// of the same lines).
func dedupeLog(all []KernelLogEvent) []KernelLogEvent {
	byMsg := map[string][]int{}
	for i, e := range all {
		if !e.At.IsZero() {
			byMsg[e.Message] = append(byMsg[e.Message], i)
		}
	}
	drop := map[int]bool{}
	for _, idx := range byMsg {
		slices.SortStableFunc(idx, func(a, b int) int { return all[a].At.Compare(all[b].At) })
		for x, i := range idx {
			for y := x + 1; y < len(idx) && all[idx[y]].At.Sub(all[i].At) <= kernSlack; y++ {
				j := idx[y]
				if all[i].File == all[j].File || drop[i] || drop[j] {
					continue
				}
				if ri, rj := tieRank(all[i].Tie), tieRank(all[j].Tie); rj < ri || rj == ri && j < i {
					drop[i] = true
				} else {
					drop[j] = true
				}
			}
		}
	}
	var out []KernelLogEvent
	for i, e := range all {
		if !drop[i] {
			out = append(out, e)
		}
	}
	return out
}

// kernelLogNotes says, per file, whether its events could be tied to the
// captures, and whether they fall within them.
func (fz *fuser) kernelLogNotes(all []KernelLogEvent) {
	first, last := fz.captureBounds()
	if first == 0 {
		return
	}
	layout := "2006-01-02 15:04:05"
	span := fmt.Sprintf("%s to %s UTC", time.Unix(0, first).UTC().Format(layout), time.Unix(0, last).UTC().Format(layout))
	var files []string
	byFile := map[string][]KernelLogEvent{}
	for _, e := range all {
		if byFile[e.File] == nil {
			files = append(files, e.File)
		}
		byFile[e.File] = append(byFile[e.File], e)
	}
	for _, file := range files {
		evs := byFile[file]
		var at []time.Time
		during := 0
		for _, e := range evs {
			if !e.At.IsZero() {
				at = append(at, e.At)
			}
			if e.During {
				during++
			}
		}
		name := base(file)
		switch {
		case len(at) == 0 && evs[0].Clock == evidence.KernelClockBoot:
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s: its lines count seconds since boot and nothing ties them to the wall clock (the same lines with wall-clock times would: dmesg --time-format iso, journalctl -k -o short-iso), so its %s cannot be tied to the capture: what they say is used, not when", name, wording.Plural(len(evs), "event")))
		case len(at) == 0:
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s: its lines carry no time, so its %s cannot be tied to the capture: what they say is used, not when", name, wording.Plural(len(evs), "event")))
		case during == 0:
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s: its %s (%s to %s UTC%s) are outside the capture (%s): this log does not cover the capture's time, and its events are not the capture's", name, wording.Plural(len(evs), "event"), slices.MinFunc(at, time.Time.Compare).Format(layout), slices.MaxFunc(at, time.Time.Compare).Format(layout), tieWords(evs[0]), span))
		default:
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s: %s, %d within the capture (%s%s)", name, wording.Plural(len(evs), "event"), during, span, tieWords(evs[0])))
		}
	}
}

// tieWords says how an event's time was read, when that is not plain.
func tieWords(e KernelLogEvent) string {
	switch e.Tie {
	case TieLocal:
		return "; dmesg -T prints local time without a zone: read as UTC"
	case TieNoYear:
		return "; the lines give no year or zone: read as UTC in the capture's year"
	case TieBoot:
		return fmt.Sprintf("; seconds since boot, tied to the wall clock by the same lines in %s", base(e.TieFile))
	}
	return ""
}

// describeEvent quotes a log event with its file, line and time.
func describeEvent(e KernelLogEvent) string {
	when := e.At.UTC().Format("2006-01-02 15:04:05.000") + " UTC"
	switch {
	case e.At.IsZero() && e.HasBoot:
		when = fmt.Sprintf("%s s since boot, not tied to the wall clock", e.Stamp)
	case e.At.IsZero():
		when = "no time"
	}
	return fmt.Sprintf("“%s” (%s line %d, %s)", e.Message, base(e.File), e.Line, when)
}

// floodEvents returns the SYN flood events about the listeners of some
// endpoints: the same port, and the same address unless the line names
// none (before 6.2) or a wildcard.
func (fz *fuser) floodEvents(endpoints map[netip.AddrPort]bool) []KernelLogEvent {
	var out []KernelLogEvent
	for _, e := range fz.ev.LogEvents {
		if e.Kind != evidence.KernelSynFlood {
			continue
		}
		for ep := range endpoints {
			if e.Port == ep.Port() && (!e.Addr.IsValid() || e.Addr.IsUnspecified() || e.Addr == ep.Addr().Unmap()) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// endpointsOf returns the server endpoints of a finding's attempts.
func (fz *fuser) endpointsOf(f *Finding) map[netip.AddrPort]bool {
	m := map[netip.AddrPort]bool{}
	for _, i := range f.attempts {
		m[fz.res.Attempts[i].Server] = true
	}
	return m
}

// logWhen says whether an event belongs to the capture.
func logWhen(e KernelLogEvent) string {
	switch {
	case e.During:
		return "during the capture"
	case e.At.IsZero():
		return "at a time that cannot be tied to the capture's"
	}
	return "outside the capture"
}

// synQueueLog checks the SYN-flood model against the kernel's line about
// the listener: tcp_syn_flood_action prints it once per listener, the
// first time its SYN queue is full, with what it did then.
func (fz *fuser) synQueueLog(f *Finding, adj *adjustment) {
	dropping := !f.figures.cookies
	for _, e := range firstLog(fz.floodEvents(fz.endpointsOf(f)), 3) {
		s := fmt.Sprintf("the kernel logged %s %s", describeEvent(e), logWhen(e))
		agrees := e.Cookies() != dropping
		switch {
		case !e.At.IsZero() && !e.During:
			s += ": this listener's SYN queue overflowed then; the kernel prints the line once per listener, so the capture's time may have no line of its own"
		case agrees && dropping:
			s += ": the listener's SYN queue was full and syncookies were off, so it dropped SYNs — as the capture shows"
		case agrees:
			s += ": the listener's SYN queue was full and syncookies answered — as the capture shows"
		case dropping:
			s += ": the queue overflowed but cookies answered, so SYNs were not dropped for that reason (unless tcp_syncookies was turned off later: the kernel prints this once per listener)"
		default:
			s += ": the listener dropped SYNs rather than answering with cookies, while the capture looks like cookies"
		}
		f.Evidence = append(f.Evidence, s)
		switch {
		case !e.At.IsZero() && !e.During:
		case agrees && e.During:
			adj.raise(0.5)
		case agrees:
			adj.raise(0.2)
		case e.During:
			adj.lower(0.5)
		}
	}
}

// firstLog keeps the first n events.
func firstLog(evs []KernelLogEvent, n int) []KernelLogEvent { return evs[:min(len(evs), n)] }

// conntrackCount adds up the "table full" events in or out of the
// capture, and the messages the rate limiter suppressed just before them
// (net_ratelimit counts every rate-limited network message, so that is an
// upper bound).
type conntrackCount struct {
	lines, suppressed int
	first             KernelLogEvent
}

// conntrackFull counts the conntrack-full events that are the capture's
// (during) or that cannot be tied to it (untied).
func (fz *fuser) conntrackFull(during bool) conntrackCount {
	var c conntrackCount
	evs := fz.ev.LogEvents
	for i, e := range evs {
		if e.Kind != evidence.KernelConntrackFull || e.During != during || !during && !e.At.IsZero() {
			continue
		}
		if c.lines == 0 {
			c.first = e
		}
		c.lines++
		if i > 0 && evs[i-1].Kind == evidence.KernelSuppressed && evs[i-1].File == e.File {
			c.suppressed += evs[i-1].Suppressed
		}
	}
	return c
}

// words says how many packets the lines stand for.
func (c conntrackCount) words() string {
	s := wording.Count(c.lines, "time|times")
	if c.suppressed > 0 {
		s += fmt.Sprintf(", and %s suppressed just before such lines (net_ratelimit counts every rate-limited network message, so up to that many more drops)", wording.Plural(c.suppressed, "message"))
	}
	return s
}

// silentDropLog names causes of unanswered SYNs from the kernel's log: a
// listener that dropped SYNs for a full SYN queue, and a full conntrack
// table.
func (fz *fuser) silentDropLog(f *Finding, adj *adjustment, serverSide bool) bool {
	named := false
	for _, e := range firstLog(fz.floodEvents(fz.endpointsOf(f)), 3) {
		if e.Cookies() || !e.At.IsZero() && !e.During {
			continue
		}
		named = true
		f.Evidence = append(f.Evidence, fmt.Sprintf("the kernel logged %s %s: the listener's SYN queue was full and syncookies were off, so the TCP stack itself dropped SYNs there", describeEvent(e), logWhen(e)))
		if serverSide && e.During {
			adj.raise(0.5)
		} else if serverSide {
			adj.raise(0.2)
		}
	}
	for _, during := range []bool{true, false} {
		c := fz.conntrackFull(during)
		if c.lines == 0 {
			continue
		}
		named = true
		f.Evidence = append(f.Evidence, fmt.Sprintf("the kernel logged %s %s %s: a full conntrack table drops every packet that needs a new entry, such as these SYNs — a cause for them (check conntrack -S and net.netfilter.nf_conntrack_max)", describeEvent(c.first), c.words(), logWhen(c.first)))
		if serverSide && during {
			adj.raise(0.5)
		} else if serverSide {
			adj.raise(0.1)
		}
	}
	return named
}

// timeWaitLog notes TIME_WAIT bucket overflows: context, not a cause of
// dropped SYNs.
func (fz *fuser) timeWaitLog() {
	n, during := 0, 0
	var file string
	for _, e := range fz.ev.LogEvents {
		if e.Kind == evidence.KernelTimeWaitOverflow {
			n++
			file = cmp.Or(file, base(e.File))
			if e.During {
				during++
			}
		}
	}
	if n > 0 {
		fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s: the kernel logged “time wait bucket table overflow” %s (%d during the capture): closing connections got no TIME_WAIT socket (net.ipv4.tcp_max_tw_buckets reached), so a late segment of an old connection can meet a new one on the same ports; it does not drop SYNs", file, wording.Count(n, "time|times"), during))
	}
}

// conntrackRisk raises host_conntrack_full when the log shows a full
// conntrack table and no finding of unanswered SYNs took it as a cause:
// critical only when many packets were dropped during the capture.
func (fz *fuser) conntrackRisk() (Finding, bool) {
	during, untied := fz.conntrackFull(true), fz.conntrackFull(false)
	other := conntrackCount{}
	for _, e := range fz.ev.LogEvents {
		if e.Kind == evidence.KernelConntrackFull && !e.During && !e.At.IsZero() {
			if other.lines == 0 {
				other.first = e
			}
			other.lines++
		}
	}
	f := Finding{Kind: KindHostConntrackFull, Severity: Warning, Confidence: 0.9}
	switch {
	case during.lines > 0:
		f.Summary = fmt.Sprintf("the conntrack table was full during the capture: the kernel dropped packets that needed a new connection entry (logged %s)", wording.Count(during.lines, "time|times"))
		f.Evidence = append(f.Evidence, fmt.Sprintf("the kernel logged %s %s during the capture", describeEvent(during.first), during.words()))
		if during.lines+during.suppressed >= 100 {
			f.Severity = Critical
		}
		f.Evidence = append(f.Evidence, "the capture shows no SYN left unanswered for this: the drops hit other ports, other traffic, or new connections the capture filter left out")
	case untied.lines > 0:
		f.Confidence = 0.6
		f.Summary = "the conntrack table has been full on this host: the kernel dropped packets that needed a new connection entry, at a time the log cannot tie to the capture"
		f.Evidence = append(f.Evidence, fmt.Sprintf("the kernel logged %s %s", describeEvent(untied.first), untied.words()))
	case other.lines > 0:
		f.Severity, f.Confidence = Info, 0.5
		f.Summary = "the conntrack table was full on this host at another time than the capture's"
		f.Evidence = append(f.Evidence, fmt.Sprintf("the kernel logged %s %s, outside the capture", describeEvent(other.first), wording.Count(other.lines, "time|times")))
	default:
		return f, false
	}
	f.Recommendation = "Raise net.netfilter.nf_conntrack_max (and the hash table, nf_conntrack_buckets) to fit the connections in flight, lower nf_conntrack_tcp_timeout_time_wait and the other timeouts that keep dead entries, or exempt the busy port from tracking (a NOTRACK rule in the raw table). `conntrack -S` counts the drops (insert_failed, drop, early_drop)."
	return f, true
}

// KernelEventText says what a kernel log event is, briefly: "SYN flood on
// 198.18.180.1:8090, dropping", "conntrack table full", "TIME_WAIT bucket
// overflow", "2211 messages suppressed".
func KernelEventText(e evidence.KernelEvent) string {
	switch e.Kind {
	case evidence.KernelSynFlood:
		where := fmt.Sprintf("port %d", e.Port)
		if e.Addr.IsValid() {
			where = netip.AddrPortFrom(e.Addr, e.Port).String()
		}
		what := "SYNs dropped"
		if e.Cookies() {
			what = "cookies sent"
		}
		return fmt.Sprintf("SYN queue full on %s, %s", where, what)
	case evidence.KernelConntrackFull:
		return "conntrack table full, packet dropped"
	case evidence.KernelTimeWaitOverflow:
		return "TIME_WAIT bucket table overflow"
	case evidence.KernelSuppressed:
		return fmt.Sprintf("%s suppressed (%s)", wording.Plural(e.Suppressed, "message"), e.Limiter)
	}
	return e.Message
}
