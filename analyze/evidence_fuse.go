package analyze

// Fusion of host evidence into findings: each model's figures are checked
// against the kernel's own counters and settings; agreement raises the
// finding's confidence, contradiction lowers it, and every check adds an
// evidence line that names the file it comes from. Settings that are a risk
// on their own (tcp_tw_recycle=1, SYN cookies off, a full listen backlog)
// become findings of their own when the capture shows no harm from them.

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/flows/evidence"
)

// HostEvidence is the host evidence an analysis was given, as package
// evidence read it, and what the analysis found about it as a whole: on
// which side it was taken, and whether its counter snapshots and traces
// cover the captures.
type HostEvidence struct {
	*evidence.Host
	// LogEvents are the kernel log events placed on the wall clock where
	// their lines allow, a line given in several files once.
	LogEvents []KernelLogEvent
	notes     []string // from fuseEvidence
}

// Notes returns the notes of the evidence (Host.Notes), then those of the
// analysis.
func (ev *HostEvidence) Notes() []string { return slices.Concat(ev.Host.Notes(), ev.notes) }

// modelFigures are the numbers a model computed that host evidence is
// checked against.
type modelFigures struct {
	// droppedSYNs: SYN transmissions the model says the kernel dropped
	// (per-host PAWS: correctly predicted drops; queues: real clients'
	// SYNs dropped while the queue was full).
	droppedSYNs int
	// Accept queue: completed handshakes whose final ACK was ignored
	// (tcp_abort_on_overflow=0) or reset (=1), and the queue length the
	// occupancy model saw when it overflowed (0 when unknown).
	ignoredACKs, resetACKs, queueHeld int
	// SYN queue: the flood's SYNs, those that got no SYN-ACK, the
	// half-open requests whose SYN-ACK was retransmitted (they were
	// queued), and the SYN-ACKs that look like cookies.
	floodSYNs, floodUnanswered, queued, cookieSYNACKs int
	cookies                                           bool
}

// Kinds of the findings that host evidence raises on its own.
const (
	KindHostTWRecycle     Kind = "host_tw_recycle"
	KindHostSyncookiesOff Kind = "host_syncookies_off"
	KindHostSmallBacklog  Kind = "host_small_backlog"
	KindHostListenDrops   Kind = "host_listen_drops"
	KindHostConntrackFull Kind = "host_conntrack_full"
)

// AnalyzeWithEvidence runs Analyze, then checks its findings against the
// host evidence and adds the findings the evidence alone supports. A nil
// host gives exactly what Analyze gives. The host is not changed.
func AnalyzeWithEvidence(inputs []Input, host *evidence.Host) *Result {
	res := Analyze(inputs)
	if host == nil {
		return res
	}
	ev := &HostEvidence{Host: host}
	res.Evidence = ev
	fuseEvidence(res, ev)
	rankFindings(res.Findings)
	return res
}

// fuser holds what the checks share.
type fuser struct {
	res *Result
	ev  *HostEvidence
}

// adjustment collects how the evidence bears on a finding: support raises
// the confidence towards 1 (w is the share of the remaining doubt removed),
// contradiction multiplies it by k; a contradiction outweighs any support.
type adjustment struct {
	support, against []float64
}

func (a *adjustment) raise(w float64) { a.support = append(a.support, w) }
func (a *adjustment) lower(k float64) { a.against = append(a.against, k) }

func (a *adjustment) apply(c float64) float64 {
	switch {
	case len(a.against) > 0:
		return max(round2(c*slices.Min(a.against)), 0.01)
	case len(a.support) > 0:
		doubt := 1 - c
		for _, w := range a.support {
			doubt *= 1 - w
		}
		if n := round2(1 - doubt); n < 0.99 {
			return max(n, c)
		}
		return max(c, 0.99)
	}
	return c
}

func fuseEvidence(res *Result, ev *HostEvidence) {
	fz := &fuser{res: res, ev: ev}
	fz.coverage()
	fz.traceCoverage()
	fz.firewallCoverage()
	fz.placeKernelLog()
	fz.timeWaitLog()
	if ev.Side == evidence.SideClient {
		ev.notes = append(ev.notes, fmt.Sprintf("the evidence was collected on the client (%s): its counters and listeners are not the server's, so only the client's own settings are compared with the capture", base(ev.SideFile)))
		for i := range res.Findings {
			fz.synRetries(&res.Findings[i])
		}
		return
	}
	seen := map[Kind]bool{}
	for i := range res.Findings {
		f := &res.Findings[i]
		seen[f.Kind] = true
		var adj adjustment
		switch f.Kind {
		case KindPerHostPAWS:
			fz.perHostPAWS(f, &adj)
		case KindAcceptQueueOverflow:
			fz.acceptQueue(f, &adj)
			fz.acceptQueueReasons(f)
		case KindSYNQueueOverflow:
			fz.synQueue(f, &adj)
			fz.synQueueLog(f, &adj)
		case KindServerSilentDrop:
			fz.silentDrop(f, &adj)
		case KindRefused:
			fz.refusedReasons(f, &adj)
			fz.refusedFirewall(f, &adj)
		case KindICMPUnreachable:
			fz.refusedFirewall(f, &adj)
		case KindStaleTimeWait:
			fz.staleReasons(f, &adj)
		case KindTimestampsNonMonotone:
			fz.timestamps(f)
		}
		fz.synRetries(f)
		f.Confidence = adj.apply(f.Confidence)
	}
	res.Findings = append(res.Findings, fz.risks(seen)...)
}

func base(p string) string { return filepath.Base(p) }

// describeCounter says what a counter did, with the files it comes from.
func describeCounter(c evidence.Counter) string {
	switch {
	case c.SinceBoot:
		return fmt.Sprintf("%s is %d since boot (%s, one snapshot: a total, not when)", c.Name, c.After, base(c.To))
	case c.Delta == 0:
		return fmt.Sprintf("%s did not move (%d between %s and %s)", c.Name, c.After, base(c.From), base(c.To))
	case c.Delta < 0:
		return fmt.Sprintf("%s went down from %d to %d between %s and %s", c.Name, c.Before, c.After, base(c.From), base(c.To))
	}
	return fmt.Sprintf("%s rose by %d between %s and %s", c.Name, c.Delta, base(c.From), base(c.To))
}

// counter returns a usable counter.
func (fz *fuser) counter(name string) (evidence.Counter, bool) {
	c, ok := fz.ev.Counter(name)
	return c, ok && c.Valid()
}

// describeSysctl says what a setting is, with its file.
func describeSysctl(s evidence.Sysctl) string {
	return fmt.Sprintf("%s = %s (%s)", s.Name, s.Value, base(s.File))
}

// intSysctl returns a setting as a number.
func (fz *fuser) intSysctl(name string) (evidence.Sysctl, int, bool) {
	s, ok := fz.ev.Sysctl(name)
	if !ok {
		return s, 0, false
	}
	n, err := strconv.Atoi(strings.Fields(s.Value + " x")[0])
	return s, n, err == nil
}

// hasTCPSysctls reports whether the settings read include the TCP ones, so
// that a missing one does not exist on this kernel.
func (fz *fuser) hasTCPSysctls() (string, bool) {
	for _, s := range fz.ev.Sysctls {
		if strings.HasPrefix(s.Name, "net.ipv4.tcp_") {
			return s.File, true
		}
	}
	return "", false
}

// noTWRecycle says why the kernel has no tcp_tw_recycle, if the evidence
// shows it: a kernel from 4.12 on, or sysctl output without it.
func (fz *fuser) noTWRecycle() string {
	if maj, min, ok := fz.ev.KernelVersion(); ok && (maj > 4 || maj == 4 && min >= 12) {
		return fmt.Sprintf("the server runs Linux %s (%s): tcp_tw_recycle and its per-host PAWS check were removed in 4.12", fz.ev.Kernel, base(fz.ev.KernelFile))
	}
	if _, ok := fz.ev.Sysctl("net.ipv4.tcp_tw_recycle"); !ok {
		if file, ok := fz.hasTCPSysctls(); ok {
			return fmt.Sprintf("%s lists the TCP settings but no net.ipv4.tcp_tw_recycle: this kernel does not have it (removed in 4.12)", base(file))
		}
	}
	return ""
}

// serverOf returns the server endpoint of a finding's first attempt.
func (fz *fuser) serverOf(f *Finding) (netip.AddrPort, bool) {
	if len(f.attempts) == 0 {
		return netip.AddrPort{}, false
	}
	return fz.res.Attempts[f.attempts[0]].Server, true
}

// listenerFor finds the listener ss showed for a server endpoint: the same
// port and that address or a wildcard.
func (fz *fuser) listenerFor(server netip.AddrPort) (evidence.Listener, bool) {
	var wild *evidence.Listener
	for i := range fz.ev.Listeners {
		l := &fz.ev.Listeners[i]
		if l.Port != server.Port() {
			continue
		}
		if l.Addr == server.Addr().Unmap() {
			return *l, true
		}
		if !l.Addr.IsValid() && wild == nil {
			wild = l
		}
	}
	if wild != nil {
		return *wild, true
	}
	return evidence.Listener{}, false
}

// describeListener says what ss showed of a listener.
func describeListener(l evidence.Listener) string {
	s := fmt.Sprintf("ss (%s) shows the listener %s with Recv-Q %d and Send-Q %d", base(l.File), l.Local, l.RecvQ, l.SendQ)
	if l.Samples > 1 {
		s = fmt.Sprintf("ss (%s, %d samples) shows the listener %s with Recv-Q up to %d and Send-Q %d", base(l.File), l.Samples, l.Local, l.RecvQ, l.SendQ)
	}
	return s
}

// coverage notes whether the counter snapshots were taken around the
// captures, when both have times.
func (fz *fuser) coverage() {
	from, to := fz.ev.CounterSpan()
	first, last := fz.captureBounds()
	if from.IsZero() || from.Equal(to) || first == 0 {
		return
	}
	cf, cl := time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	layout := "2006-01-02 15:04:05"
	if from.After(cf.Add(time.Second)) || to.Before(cl.Add(-time.Second)) {
		fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("the counter snapshots (%s to %s UTC) do not cover the whole capture (%s to %s UTC): drops outside them are not in the deltas", from.Format(layout), to.Format(layout), cf.Format(layout), cl.Format(layout)))
		return
	}
	fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("the counter snapshots (%s to %s UTC) cover the capture (%s to %s UTC)", from.Format(layout), to.Format(layout), cf.Format(layout), cl.Format(layout)))
}

// captureBounds returns the first and the last packet time of all the
// captures (Unix nanoseconds), 0 when none has packets.
func (fz *fuser) captureBounds() (first, last int64) {
	for _, c := range fz.res.Captures {
		if c.Capture == nil || c.Packets == 0 {
			continue
		}
		if first == 0 || c.First < first {
			first = c.First
		}
		last = max(last, c.Last)
	}
	return first, last
}

// compare words a counter's delta against the drops the capture shows (or
// a model predicts), and says how much that supports the finding.
func compare(c evidence.Counter, seen int, shows, what string) (string, float64) {
	n := c.Value()
	switch {
	case c.SinceBoot:
		return fmt.Sprintf("%s: it has happened on this host (%s %s)", describeCounter(c), shows, what), 0.2
	case n == int64(seen):
		return fmt.Sprintf("%s: exactly as many as %s (%s)", describeCounter(c), shows, what), 0.8
	case n > int64(seen):
		return fmt.Sprintf("%s: more than %s (%s)", describeCounter(c), shows, what), 0.8
	}
	return fmt.Sprintf("%s: fewer than %s (%s), so some of those were dropped by something else", describeCounter(c), shows, what), 0.3
}

// perHostPAWS checks the replay against the kernel: the rule exists only
// before 4.12, with tcp_tw_recycle=1 and tcp_timestamps on, and it counts
// every drop in LINUX_MIB_PAWSPASSIVEREJECTED (TcpExt:PAWSPassive).
func (fz *fuser) perHostPAWS(f *Finding, adj *adjustment) {
	ev := fz.ev
	add := func(s string) { f.Evidence = append(f.Evidence, s) }
	if why := fz.noTWRecycle(); why != "" {
		add(why + ", so this rule cannot have dropped these SYNs: per-host PAWS is not the cause here")
		adj.lower(0.1)
	} else if _, _, ok := ev.KernelVersion(); ok {
		add(fmt.Sprintf("the server runs Linux %s (%s), older than 4.12: its kernel has the per-host PAWS check", ev.Kernel, base(ev.KernelFile)))
		adj.raise(0.2)
	}
	if s, ok := ev.Sysctl("net.ipv4.tcp_tw_recycle"); ok {
		if s.Value == "0" {
			add(describeSysctl(s) + ": the rule is off; unless it was on while the capture was taken, per-host PAWS is not the cause")
			adj.lower(0.15)
		} else {
			add(describeSysctl(s) + ": the rule is on")
			adj.raise(0.5)
		}
	}
	if s, ok := ev.Sysctl("net.ipv4.tcp_timestamps"); ok && s.Value == "0" {
		add(describeSysctl(s) + ": the server ignores the timestamps of SYNs (tcp_parse_options sets saw_tstamp on a SYN only when they are on), so the rule never applies")
		adj.lower(0.1)
	}
	pred := f.figures.droppedSYNs
	if c, ok := fz.counter("TcpExt:PAWSPassive"); ok {
		switch {
		case c.Value() == 0:
			add(fmt.Sprintf("the counters say 0 PAWS rejects: %s: per-host PAWS is not the cause", describeCounter(c)))
			adj.lower(0.15)
		default:
			s, w := compare(c, pred, "the replay predicts", wording.Plural(pred, "dropped SYN"))
			add(s)
			adj.raise(w)
		}
	} else if file, lacks := ev.LacksCounter("TcpExt:PAWSPassive"); lacks {
		add(fmt.Sprintf("%s has no TcpExt:PAWSPassive counter: the kernel has no per-host PAWS check (removed in 4.12)", base(file)))
		adj.lower(0.1)
	}
}

// acceptQueue checks the accept-queue model against ListenOverflows (every
// SYN and every ACK the kernel drops because sk_acceptq_is_full), the
// listener's backlog in ss, somaxconn and tcp_abort_on_overflow.
func (fz *fuser) acceptQueue(f *Finding, adj *adjustment) {
	ev, fg := fz.ev, f.figures
	add := func(s string) { f.Evidence = append(f.Evidence, s) }
	seen := fg.droppedSYNs + fg.ignoredACKs + fg.resetACKs
	what := fmt.Sprintf("%s and %s dropped", wording.Plural(fg.droppedSYNs, "SYN"), wording.Plural(fg.ignoredACKs+fg.resetACKs, "completed handshake"))
	if c, ok := fz.counter("TcpExt:ListenOverflows"); ok {
		if c.Value() == 0 {
			add(fmt.Sprintf("the counters say the listen queue never overflowed: %s — the accept queue is not the cause", describeCounter(c)))
			adj.lower(0.2)
		} else {
			s, w := compare(c, seen, "the capture shows", what)
			if !c.SinceBoot && c.Value() > int64(seen) {
				s += ": the kernel also counts every ACK and data segment it ignores while the queue is full, and other listeners' overflows"
			}
			add(s)
			adj.raise(w)
		}
	}
	if c, ok := fz.counter("TcpExt:EmbryonicRsts"); ok && fg.resetACKs > 0 && !c.SinceBoot && c.Delta > 0 {
		add(fmt.Sprintf("%s: the kernel counts there each request it resets with tcp_abort_on_overflow=1; the capture shows %s", describeCounter(c), wording.Plural(fg.resetACKs, "reset handshake")))
		adj.raise(0.3)
	}
	if c, ok := fz.counter("TcpExt:TCPReqQFullDoCookies"); ok && !c.SinceBoot && c.Delta > 0 {
		add(fmt.Sprintf("%s: the SYN queue, whose limit is the same backlog, was full too, and the kernel answered those SYNs with cookies", describeCounter(c)))
	}
	backlog := max(fg.queueHeld-1, 0)
	limit := backlog
	server, ok := fz.serverOf(f)
	if l, found := fz.listenerFor(server); ok && found {
		limit = l.SendQ
		s := describeListener(l) + " (for a listener Recv-Q is the accept queue and Send-Q its limit, min(backlog, net.core.somaxconn))"
		if l.RecvQ > l.SendQ {
			s += ": it was full when ss looked (the kernel admits one more than the limit)"
			adj.raise(0.5)
		}
		switch {
		case backlog > 0 && l.SendQ == backlog:
			s += fmt.Sprintf("; the limit is the backlog of about %d the capture implies", backlog)
			adj.raise(0.5)
		case backlog > 0:
			s += fmt.Sprintf("; the capture implies about %d: the limit was different then, or the estimate is off", backlog)
		}
		add(s)
	}
	if s, n, ok := fz.intSysctl("net.core.somaxconn"); ok && limit > 0 {
		if n <= limit {
			add(describeSysctl(s) + ": it caps the listen backlog; raise it together with the application's listen() backlog")
		} else {
			add(fmt.Sprintf("%s is not what limits the queue: the application's listen() backlog (%d) is; raise that", describeSysctl(s), limit))
		}
	}
	if s, ok := ev.Sysctl("net.ipv4.tcp_abort_on_overflow"); ok {
		switch {
		case s.Value == "0" && fg.ignoredACKs > 0 && fg.resetACKs == 0, s.Value == "1" && fg.resetACKs > 0 && fg.ignoredACKs == 0:
			add(describeSysctl(s) + ", as the capture shows")
		case s.Value == "0" && fg.resetACKs > 0, s.Value == "1" && fg.ignoredACKs > 0:
			add(describeSysctl(s) + ", but the capture shows the other behaviour: the setting was changed since, or this is another host's")
		}
	}
}

// synQueue checks the SYN-flood model against the counters of
// tcp_conn_request: TCPReqQFullDrop (a full SYN queue without cookies
// drops), TCPReqQFullDoCookies and SyncookiesSent (with cookies), and the
// settings tcp_syncookies and tcp_max_syn_backlog.
func (fz *fuser) synQueue(f *Finding, adj *adjustment) {
	ev, fg := fz.ev, f.figures
	add := func(s string) { f.Evidence = append(f.Evidence, s) }
	dropped := fg.floodUnanswered + fg.droppedSYNs
	dropping := !fg.cookies && dropped > 0
	if c, ok := fz.counter("TcpExt:TCPReqQFullDrop"); ok {
		switch {
		case c.Value() > 0 && dropped > 0:
			s, w := compare(c, dropped, "the capture shows", fmt.Sprintf("%d flood SYNs and %s of real clients without an answer", fg.floodUnanswered, wording.Plural(fg.droppedSYNs, "SYN")))
			add(s)
			adj.raise(w)
		case c.Value() > 0:
			add(describeCounter(c) + ": the full SYN queue dropped SYNs as well")
		case dropping:
			add(fmt.Sprintf("the counters say no SYN was dropped for a full SYN queue: %s — the unanswered SYNs were dropped by something else", describeCounter(c)))
			adj.lower(0.3)
		}
	}
	if fg.cookies {
		c, ok := fz.counter("TcpExt:SyncookiesSent")
		if !ok {
			c, ok = fz.counter("TcpExt:TCPReqQFullDoCookies")
		}
		switch {
		case !ok:
		case c.Value() == 0:
			add(fmt.Sprintf("the counters say no SYN cookie was sent: %s — those SYN-ACKs were not cookies", describeCounter(c)))
			adj.lower(0.3)
		case c.SinceBoot:
			add(describeCounter(c) + ": the server has answered with SYN cookies")
			adj.raise(0.2)
		case c.Value() >= int64(fg.cookieSYNACKs):
			s := fmt.Sprintf("%s: the server answered with SYN cookies — the capture shows %d flood SYN-ACKs never retransmitted", describeCounter(c), fg.cookieSYNACKs)
			if extra := c.Value() - int64(fg.cookieSYNACKs); extra > 0 {
				s += fmt.Sprintf("; the other %d answered SYNs the capture does not count as the flood's, such as real clients' during it", extra)
			}
			add(s)
			adj.raise(0.8)
		default:
			add(fmt.Sprintf("%s: fewer cookies than the %d SYN-ACKs that look like cookies in the capture", describeCounter(c), fg.cookieSYNACKs))
			adj.raise(0.3)
		}
		if c, ok := fz.counter("TcpExt:SyncookiesRecv"); ok && !c.SinceBoot && c.Delta > 0 {
			add(describeCounter(c) + ": ACKs that came back with a valid cookie, i.e. real clients that connected through cookies")
		}
		if c, ok := fz.counter("TcpExt:SyncookiesFailed"); ok && !c.SinceBoot && c.Delta > 0 {
			add(describeCounter(c) + ": ACKs with an invalid cookie (cookie_v4_check)")
		}
	}
	if s, ok := ev.Sysctl("net.ipv4.tcp_syncookies"); ok {
		switch {
		case s.Value == "0" && dropping:
			add(describeSysctl(s) + ": a full SYN queue drops SYNs instead of answering with cookies")
			adj.raise(0.5)
		case s.Value == "0" && fg.cookies:
			add(describeSysctl(s) + ", yet the capture looks like cookies: the setting was changed since")
			adj.lower(0.3)
		case s.Value != "0" && fg.cookies:
			add(describeSysctl(s) + ": cookies answer once the SYN queue is full")
			adj.raise(0.3)
		case s.Value != "0" && dropping:
			add(describeSysctl(s) + ": a full SYN queue answers with cookies rather than dropping, so these drops need another cause (a full accept queue), or the setting was changed since")
			adj.lower(0.5)
		}
	}
	if server, ok := fz.serverOf(f); ok {
		if l, found := fz.listenerFor(server); found {
			s := describeListener(l) + fmt.Sprintf(": current kernels cap the SYN queue at the same backlog (inet_csk_reqsk_queue_is_full) and admit one more, %d", l.SendQ+1)
			if fg.queued > 0 {
				s += fmt.Sprintf("; the capture shows %s held", wording.Plural(fg.queued, "half-open request"))
				if fg.queued == l.SendQ+1 {
					adj.raise(0.3)
				}
			}
			add(s)
		}
	}
	if s, ok := ev.Sysctl("net.ipv4.tcp_max_syn_backlog"); ok {
		add(describeSysctl(s) + ": on current kernels it matters only without cookies, where the kernel drops SYNs from unproven peers once three quarters of it is in use; on 3.x kernels the SYN queue is min(backlog, tcp_max_syn_backlog) rounded up to a power of two")
	}
}

// silentDrop: SYNs no model explains. ListenDrops counts every SYN the TCP
// stack drops at a listener; if it did not move, the stack did not drop
// them and something before it did.
func (fz *fuser) silentDrop(f *Finding, adj *adjustment) {
	add := func(s string) { f.Evidence = append(f.Evidence, s) }
	syns := 0
	for _, i := range f.attempts {
		a := &fz.res.Attempts[i]
		syns += countLost(a, fz.res.Captures[a.Capture].Last)
	}
	serverSide := fz.res.Captures[f.Capture].Role == RoleServer
	c, ok := fz.counter("TcpExt:ListenDrops")
	switch {
	case !ok:
	case c.Value() == 0:
		s := fmt.Sprintf("%s while %s went unanswered: the TCP stack dropped none of them — something before it did (a netfilter rule, conntrack, rp_filter)", describeCounter(c), wording.Plural(syns, "SYN"))
		if c.SinceBoot {
			s = fmt.Sprintf("%s: the TCP stack has never dropped a SYN at a listener, so something before it dropped these %s (a netfilter rule, conntrack, rp_filter)", describeCounter(c), wording.Plural(syns, "SYN"))
		}
		add(s)
		if serverSide {
			adj.raise(0.6)
		}
	case c.SinceBoot:
		add(describeCounter(c) + ": the TCP stack has dropped SYNs at listeners, not necessarily these")
	default:
		var parts []string
		for _, n := range []string{"TcpExt:ListenOverflows", "TcpExt:TCPReqQFullDrop", "TcpExt:PAWSPassive"} {
			if x, ok := fz.counter(n); ok && !x.SinceBoot && x.Delta > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(n, "TcpExt:"), x.Delta))
			}
		}
		s := describeCounter(c) + ": the TCP stack itself dropped SYNs"
		if len(parts) > 0 {
			s += " (" + strings.Join(parts, ", ") + ")"
		}
		add(s + "; if they were these, a listener, not a firewall, dropped them: look at ss -lnt and the application's accept loop")
		adj.lower(0.6)
	}
	other := fz.silentDropReasons(f, adj, syns, serverSide)
	other = fz.silentDropLog(f, adj, serverSide) || other
	g := fz.silentDropFirewall(f, adj, serverSide)
	if g.named && g.all {
		f.Summary += ": the server's firewall dropped them (its DROP rules grew by as many, below)"
		f.Recommendation = "The server's firewall drops these SYNs silently: find the rules named below (`iptables -L -v -n -x --line-numbers`, `nft -a list ruleset`: their counters grow with each SYN) and allow the clients that should connect; a DROP leaves them waiting for their SYN timeouts, a REJECT would at least fail them at once."
	}
	if g.noneGrew {
		s := fmt.Sprintf("no DROP or REJECT rule that matches these SYNs, nor a DROP policy, grew between %s while the capture shows %s to %s without an answer: a rule that dropped them would have counted them", g.files, wording.Plural(g.syns.n, "SYN transmission"), g.syns.where())
		if other {
			add(s + ", so the firewall's listed tables did not drop them; the cause named above did")
		} else {
			add(s + ", so the firewall's listed tables did not drop them: look at conntrack (dmesg, conntrack -S), rp_filter, or the listener")
			if serverSide {
				adj.lower(0.7)
			}
		}
	}
}

// timestamps: several timestamp clocks behind one address only matter with
// tcp_tw_recycle; say whether this server has it.
func (fz *fuser) timestamps(f *Finding) {
	if why := fz.noTWRecycle(); why != "" {
		f.Evidence = append(f.Evidence, why+": harmless on this server")
		return
	}
	if s, ok := fz.ev.Sysctl("net.ipv4.tcp_tw_recycle"); ok && s.Value != "0" {
		f.Evidence = append(f.Evidence, describeSysctl(s)+": these clients are exposed to per-host PAWS drops")
	}
}

// synRetries compares where the clients gave up with tcp_syn_retries.
func (fz *fuser) synRetries(f *Finding) {
	switch f.Kind {
	case KindSYNRetransmitDelay, KindSYNQueueOverflow:
		return
	}
	s, v, ok := fz.intSysctl("net.ipv4.tcp_syn_retries")
	if !ok {
		return
	}
	var gave *Attempt
	all, none := true, true
	for _, i := range f.attempts {
		a := &fz.res.Attempts[i]
		if !a.Schedule.GaveUp || len(a.Schedule.SynRetries) == 0 {
			continue
		}
		if gave == nil {
			gave = a
		}
		if slices.Contains(a.Schedule.SynRetries, v) {
			none = false
		} else {
			all = false
		}
	}
	if gave == nil {
		return
	}
	implied := fmt.Sprintf("the clients gave up after %s, as Linux does with tcp_syn_retries=%s", wording.Plural(len(gave.SYNs), "SYN"), wording.Or(gave.Schedule.SynRetries))
	switch {
	case all && fz.ev.Side == evidence.SideClient:
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s on the client: %s", describeSysctl(s), implied))
	case all:
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: %s", describeSysctl(s), implied))
	case none && fz.ev.Side == evidence.SideClient:
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s on the client, but %s: the application's connect timeout came first, or these were other clients", describeSysctl(s), implied))
	case none:
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s is this host's setting for connections it opens; %s: tcp_syn_retries is the connecting side's setting, so it is set differently on the clients (or their application's timeout came first)", describeSysctl(s), implied))
	}
}

// risks raises the findings the evidence supports with no harm in the
// capture: settings and queues that will drop SYNs.
func (fz *fuser) risks(seen map[Kind]bool) []Finding {
	ev := fz.ev
	capture := 0
	for i, c := range fz.res.Captures {
		if c.Role == RoleServer {
			capture = i
			break
		}
	}
	var out []Finding
	if s, ok := ev.Sysctl("net.ipv4.tcp_tw_recycle"); ok && s.Value != "0" && !seen[KindPerHostPAWS] {
		f := Finding{Kind: KindHostTWRecycle, Severity: Warning, Confidence: 0.9, Capture: capture}
		f.Summary = "net.ipv4.tcp_tw_recycle is on: SYNs from clients behind a NAT will be dropped silently by per-host PAWS"
		f.Evidence = append(f.Evidence, describeSysctl(s)+": the server remembers the last timestamp of each client address for 60 s after it closes a connection, and drops SYNs from that address with an older timestamp (tcp_peer_is_proven) — hosts behind one NAT address have different timestamp clocks")
		if ev.Kernel != "" {
			f.Evidence = append(f.Evidence, fmt.Sprintf("the server runs Linux %s (%s); the setting was removed in 4.12", ev.Kernel, base(ev.KernelFile)))
		}
		if t, ok := ev.Sysctl("net.ipv4.tcp_timestamps"); ok {
			f.Evidence = append(f.Evidence, describeSysctl(t))
		}
		if c, ok := fz.counter("TcpExt:PAWSPassive"); ok {
			f.Evidence = append(f.Evidence, describeCounter(c))
			if !c.SinceBoot && c.Delta > 0 {
				f.Severity = Critical
				f.Summary += fmt.Sprintf("; the kernel rejected %d SYNs this way while the evidence was taken, on ports or at times the capture does not show", c.Delta)
			}
		}
		for _, x := range fz.res.Findings {
			if x.Kind == KindTimestampsNonMonotone {
				f.Evidence = append(f.Evidence, "the capture shows clients behind a NAT (several timestamp clocks behind one address): they are exposed")
				f.Confidence = 0.95
				break
			}
		}
		f.Recommendation = "Set net.ipv4.tcp_tw_recycle=0 now (`sysctl -w net.ipv4.tcp_tw_recycle=0`) and remove it from /etc/sysctl.conf and /etc/sysctl.d/: it is unsafe with any client behind a NAT, and Linux 4.12 removed it. Keep net.ipv4.tcp_timestamps=1. To reuse TIME_WAIT ports for outgoing connections, net.ipv4.tcp_tw_reuse=1 is the safe setting."
		out = append(out, f)
	}
	if s, ok := ev.Sysctl("net.ipv4.tcp_syncookies"); ok && s.Value == "0" && !seen[KindSYNQueueOverflow] {
		f := Finding{Kind: KindHostSyncookiesOff, Severity: Warning, Confidence: 0.9, Capture: capture}
		f.Summary = "SYN cookies are off: a SYN flood, or a burst of connections larger than a listen backlog, makes the kernel drop SYNs from every client"
		f.Evidence = append(f.Evidence, describeSysctl(s)+": when a listener's SYN queue is full, tcp_conn_request drops the SYN (TCPReqQFullDrop) instead of answering with a cookie")
		if c, ok := fz.counter("TcpExt:TCPReqQFullDrop"); ok && c.Value() > 0 {
			f.Evidence = append(f.Evidence, describeCounter(c)+": it has already happened")
		}
		var backlogs []string
		for _, l := range ev.Listeners {
			backlogs = append(backlogs, fmt.Sprintf("%s %d", l.Local, l.SendQ))
		}
		if len(backlogs) > 0 {
			f.Evidence = append(f.Evidence, fmt.Sprintf("the SYN queue of a listener holds its backlog plus one; the listeners' backlogs (ss Send-Q): %s", strings.Join(firstN(backlogs, 5), ", ")))
		}
		f.Recommendation = "Set net.ipv4.tcp_syncookies=1 (the default): cookies answer only when the SYN queue is full, and cost nothing otherwise."
		out = append(out, f)
	}
	if !seen[KindAcceptQueueOverflow] {
		if f, ok := fz.smallBacklog(); ok {
			f.Capture = capture
			out = append(out, f)
		}
	}
	if f, ok := fz.conntrackRisk(); ok && !seen[KindServerSilentDrop] {
		f.Capture = capture
		out = append(out, f)
	}
	if c, ok := fz.counter("TcpExt:ListenDrops"); ok && !c.SinceBoot && c.Delta > 0 && !seen[KindAcceptQueueOverflow] && !seen[KindSYNQueueOverflow] && !seen[KindPerHostPAWS] && !seen[KindServerSilentDrop] {
		f := Finding{Kind: KindHostListenDrops, Severity: Warning, Confidence: 0.9, Capture: capture}
		f.Summary = fmt.Sprintf("the server's TCP stack dropped %d SYNs at listening sockets while the evidence was taken, but the capture shows no such drop: they were to another port, or outside the capture", c.Delta)
		f.Evidence = append(f.Evidence, describeCounter(c))
		for _, n := range []string{"TcpExt:ListenOverflows", "TcpExt:TCPReqQFullDrop", "TcpExt:PAWSPassive"} {
			if x, ok := fz.counter(n); ok && x.Delta > 0 {
				f.Evidence = append(f.Evidence, describeCounter(x))
			}
		}
		f.Recommendation = "Capture every port of the server over the same time as the counter snapshots (`syndiag collect` without --port), and look for a listener at its limit in `ss -lnt` (Recv-Q above Send-Q)."
		out = append(out, f)
	}
	return out
}

// smallBacklog: a listener whose accept queue ss found full, or somaxconn
// at 128 (the default before Linux 5.4) on a host whose listen queues
// overflow.
func (fz *fuser) smallBacklog() (Finding, bool) {
	ev := fz.ev
	f := Finding{Kind: KindHostSmallBacklog, Severity: Warning, Confidence: 0.8}
	for _, l := range ev.Listeners {
		if l.SendQ > 0 && l.RecvQ >= l.SendQ {
			f.Evidence = append(f.Evidence, describeListener(l)+": its accept queue was at its limit")
		}
	}
	full := len(f.Evidence) > 0
	s, n, ok := fz.intSysctl("net.core.somaxconn")
	overflowed := false
	if c, found := fz.counter("TcpExt:ListenOverflows"); found && c.Value() > 0 {
		overflowed = true
		f.Evidence = append(f.Evidence, describeCounter(c))
	}
	small := ok && n <= 128 && overflowed
	if small {
		f.Evidence = append(f.Evidence, describeSysctl(s)+": no listener can queue more than that (the default before Linux 5.4)")
	}
	if !full && !small {
		return Finding{}, false
	}
	if full {
		f.Summary = "a listener's accept queue was full when ss looked: the kernel drops SYNs and ignores completed handshakes while the application falls behind"
	} else {
		f.Summary = "net.core.somaxconn is small and listen queues overflow on this host"
	}
	f.Recommendation = "Raise the listen backlog in the application and net.core.somaxconn together (the smaller wins; 4096 is the default since Linux 5.4), and find why accept() falls behind; capture the listener's port while it happens to see which clients it hits."
	return f, true
}
