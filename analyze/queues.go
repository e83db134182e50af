package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/flows"
)

// period is a span of capture time.
type period struct{ from, to int64 }

// periods groups sorted-or-not event times into spans with gaps of at most
// gap, widened by pad on each side.
func periods(times []int64, gap, pad time.Duration) []period {
	if len(times) == 0 {
		return nil
	}
	t := slices.Clone(times)
	slices.Sort(t)
	var out []period
	cur := period{t[0], t[0]}
	for _, x := range t[1:] {
		if x-cur.to > int64(gap) {
			out = append(out, cur)
			cur = period{x, x}
			continue
		}
		cur.to = x
	}
	out = append(out, cur)
	for i := range out {
		out[i].from -= int64(pad)
		out[i].to += int64(pad)
	}
	return mergePeriods(out)
}

// mergePeriods joins the periods, in time order, that overlap once widened.
func mergePeriods(ps []period) []period {
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && p.from <= out[n-1].to {
			out[n-1].to = max(out[n-1].to, p.to)
			continue
		}
		out = append(out, p)
	}
	return out
}

// inPeriods reports whether t falls in one of ps, which are in time order
// and do not overlap (mergePeriods).
func inPeriods(t int64, ps []period) bool {
	k, _ := slices.BinarySearchFunc(ps, t, func(p period, t int64) int { return cmp.Compare(p.from, t+1) })
	return k > 0 && t <= ps[k-1].to
}

// droppedIn collects, among the attempts of scan not yet claimed, the SYN
// transmissions that got no answer inside the periods: the attempts and
// their count.
func (v *view) droppedIn(scan []int, ps []period, claimed map[int]bool, skip func(*Attempt) bool) (idx []int, syns int, sources map[netip.Addr]bool) {
	sources = map[netip.Addr]bool{}
	for _, i := range scan {
		a := v.at(i)
		if claimed[i] || a.Outcome == Refused || a.Outcome == ICMPUnreachable || skip != nil && skip(a) {
			continue
		}
		n := 0
		for j, lost := range lostSYNs(a, v.c.Last) {
			if lost && inPeriods(a.SYNs[j].Time, ps) {
				n++
			}
		}
		if n > 0 {
			idx = append(idx, i)
			syns += n
			sources[a.Client.Addr()] = true
		}
	}
	return idx, syns, sources
}

// acceptQueue looks for a full accept queue (sk_acceptq_is_full in
// tcp_v4_syn_recv_sock and tcp_conn_request): the kernel ignores the third
// ACK of a handshake it cannot queue and retransmits its SYN-ACK to a client
// that already ACKed (tcp_abort_on_overflow=0), or answers that ACK with RST
// (=1), and drops new SYNs while the queue stays full, whoever sends them.
func (v *view) acceptQueue(claimed map[int]bool) []*Finding {
	ignored, reset := v.overflowSigns()
	servers := map[netip.AddrPort]bool{}
	for s := range ignored {
		servers[s] = true
	}
	for s := range reset {
		servers[s] = true
	}
	// A queue already full when SYNs came leaves no such sign: every
	// listener with lost SYNs is a candidate.
	for _, i := range v.attempts {
		if a := v.at(i); !claimed[i] && len(a.SYNs) > 1 {
			servers[a.Server] = true
		}
	}
	var out []*Finding
	for _, s := range sortedKeys(servers, netip.AddrPort.Compare) {
		if f := v.acceptQueueAt(s, ignored[s], reset[s], claimed); f != nil {
			out = append(out, f)
		}
	}
	return out
}

// overflowSigns collects, per listener (an accept queue belongs to one),
// the handshakes whose final ACK the server ignored (it retransmitted its
// SYN-ACK after the client's ACK) or reset.
func (v *view) overflowSigns() (ignored, reset map[netip.AddrPort][]int) {
	ignored = map[netip.AddrPort][]int{}
	reset = map[netip.AddrPort][]int{}
	for _, i := range v.attempts {
		a := v.at(i)
		if !a.Established() {
			continue
		}
		switch {
		case a.Outcome == ResetAfterACK:
			reset[a.Server] = append(reset[a.Server], i)
		case ignoredACK(a.Attempt):
			ignored[a.Server] = append(ignored[a.Server], i)
		}
	}
	return ignored, reset
}

// mostQueued is the most half-open requests of a flood that the SYN queue
// held at one time: a request is queued from its first SYN-ACK until its
// last one, plus the second the timer would wait before the next, when it
// expired. Only requests whose SYN-ACK was retransmitted show they were
// queued (a cookie keeps no state).
func (v *view) mostQueued(flood []int) int {
	type edge struct {
		t int64
		d int
	}
	var es []edge
	for _, i := range flood {
		a := v.at(i)
		if len(a.SYNACKs) < 2 {
			continue
		}
		es = append(es, edge{a.SYNACKs[0].Time, +1}, edge{a.SYNACKs[len(a.SYNACKs)-1].Time + int64(time.Second), -1})
	}
	slices.SortFunc(es, func(a, b edge) int {
		if a.t != b.t {
			return cmp.Compare(a.t, b.t)
		}
		return a.d - b.d
	})
	n, most := 0, 0
	for _, e := range es {
		n += e.d
		most = max(most, n)
	}
	return most
}

// overflowTimes returns when the server took the third ACK of each of these
// handshakes, in the occupancy model's time (acceptOccupancy): at the
// client, one way after the capture saw the ACK leave.
func (v *view) overflowTimes(server netip.AddrPort, idx []int) []int64 {
	d := v.oneWayDelay(server)
	var out []int64
	for _, i := range idx {
		out = append(out, v.at(i).ThirdACK+d)
	}
	return out
}

// synackTimerMin is the shortest interval at which the request timer
// (reqsk_timer_handler, TCP_TIMEOUT_INIT doubling per retransmission) can
// send a SYN-ACK again, less timer and capture jitter.
const synackTimerMin = 900 * time.Millisecond

// ignoredACK reports whether the server ignored the client's third ACK: a
// SYN-ACK after that ACK that its request timer sent, at least about a
// second after the previous SYN-ACK. A SYN-ACK right after another is the
// answer to a retransmitted SYN (tcp_check_req → inet_rtx_syn_ack) that
// crossed the timer's own retransmission: the client ACKed the first of the
// two, and the second follows its ACK by microseconds. That is a SYN-ACK
// lost on the way or a slow path, not a full queue.
func ignoredACK(a *flows.Attempt) bool {
	for k, s := range a.SYNACKs {
		if k > 0 && s.Time > a.ThirdACK && s.Time-a.SYNACKs[k-1].Time >= int64(synackTimerMin) {
			return true
		}
	}
	return false
}

// acceptQueueAt judges one listener from the handshakes whose final ACK it
// ignored or reset.
func (v *view) acceptQueueAt(server netip.AddrPort, ignored, reset []int, claimed map[int]bool) *Finding {
	events := v.overflowTimes(server, append(append([]int{}, ignored...), reset...))
	// The queue was full when the kernel ignored or reset a completed
	// handshake; the occupancy model says how full that is and for how
	// long it stayed so. Without it (the server sends no payload, so
	// acceptance is invisible), the bursts around those events stand in.
	steps, served := v.acceptOccupancy(server)
	// The queue was full at every such event; the model counts a
	// connection as waiting until the server's first reply, which comes a
	// little after accept(), so it overestimates, and the smallest count
	// seen at an event is the best estimate of the queue's size. Without
	// such events the queue may have been full before the SYNs came:
	// then the lost SYNs themselves must line up with it (fitQueueToDrops).
	capacity := 0
	var fit queueFit
	fitted := false
	if served {
		capacity = queueCapacity(steps, events)
		fit, fitted = v.fitQueueToDrops(server, steps, claimed)
	}
	if len(events) == 0 {
		if !fitted {
			return nil
		}
		capacity = fit.capacity
	}
	ps := periods(events, 3*time.Second, time.Second)
	if capacity > 0 {
		ps = fullPeriods(steps, capacity, 100*time.Millisecond)
	}
	dropped, syns, sources := v.droppedIn(v.listener(server), ps, claimed, nil)
	// One or two repeated SYN-ACKs alone are as likely a lost ACK.
	if len(ignored)+len(reset) < 3 && syns == 0 {
		return nil
	}
	if len(events) == 0 {
		return v.acceptQueueFullAtSYN(server, fit, ps, dropped, syns, sources)
	}
	f := &Finding{Kind: KindAcceptQueueOverflow, Severity: Critical, figures: modelFigures{droppedSYNs: syns, ignoredACKs: len(ignored), resetACKs: len(reset), queueHeld: capacity}}
	f.attempts = append(append(append([]int{}, ignored...), reset...), dropped...)
	slices.Sort(f.attempts)
	f.attempts = slices.Compact(f.attempts)
	conf := 0.6
	if len(sources) >= 2 {
		conf += 0.2
	}
	if len(ignored)+len(reset) >= 5 {
		conf += 0.15
	}
	if v.c.Role == RoleClient {
		// The client sees the SYN-ACKs repeated after its ACK, but not
		// whether its ACK reached the server.
		conf -= 0.25
	}
	f.Confidence = round2(conf)
	t0 := slices.Min(events) - v.oneWayDelay(server) // in the capture's own time
	f.Summary = fmt.Sprintf("the listener's accept queue overflowed: the application did not accept() connections fast enough, so the kernel dropped %s and %s", wording.Plural(syns, "SYN"), describeOverflow(len(ignored), len(reset)))
	if fitted && fit.capacity <= capacity {
		f.Evidence = append(f.Evidence, fitEvidence(fit))
	}
	if len(ignored) > 0 {
		a := v.at(ignored[0])
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s: the client sent its third ACK but the server retransmitted its SYN-ACK anyway (the ACK was dropped because the queue was full; net.ipv4.tcp_abort_on_overflow=0); e.g. %s → %s, ACK at %s, SYN-ACKs at %s",
			wording.Plural(len(ignored), "handshake"), a.Client, a.Server, wording.Clock(a.ThirdACK), synackOffsets(a)))
	}
	if len(reset) > 0 {
		a := v.at(reset[0])
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s reset by the server right after the client's third ACK (net.ipv4.tcp_abort_on_overflow=1); e.g. %s → %s at %s", wording.Plural(len(reset), "handshake"), a.Client, a.Server, wording.Clock(a.ThirdACK)))
	}
	if syns > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("in the same %s, %s from %s got no answer: a full queue drops SYNs from every client alike", wording.Plural(len(ps), "burst"), wording.Plural(syns, "SYN"), wording.Plural(len(sources), "source")))
	}
	if capacity > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("when the first overflow showed (%s), %d completed handshakes were waiting for the application (no reply from the server yet): the accept queue holds about %d, so the listen backlog is about %d — the kernel uses min(backlog, net.core.somaxconn) and drops once the queue holds one more than that; it stayed full for %s in all", wording.Clock(t0), capacity, capacity, max(capacity-1, 0), wording.Seconds(periodsLength(ps))))
	}
	f.Recommendation = acceptQueueAdvice
	if v.c.Role == RoleClient {
		f.Evidence = append(f.Evidence, "seen from the client's side: the repeated SYN-ACKs and resets could also mean the client's ACKs were lost on the way; a capture at the server settles it")
	}
	return f
}

// acceptQueueAdvice is what to do about a full accept queue.
const acceptQueueAdvice = "Find why the application accepts slowly (a blocked accept loop, too few workers, long work before accept; `ss -lnt` shows the listener's Recv-Q at its Send-Q limit while it happens), then raise the backlog in the application's listen() and net.core.somaxconn together — the smaller of the two wins. `netstat -s | grep -i listen` shows \"times the listen queue of a socket overflowed\" growing."

// acceptQueueFullAtSYN reports a queue that was already full when the SYNs
// came: no handshake was ignored or reset, the SYNs themselves went
// unanswered while completed handshakes waited for the application.
func (v *view) acceptQueueFullAtSYN(server netip.AddrPort, fit queueFit, ps []period, dropped []int, syns int, sources map[netip.Addr]bool) *Finding {
	f := &Finding{Kind: KindAcceptQueueOverflow, Severity: Critical, attempts: dropped, figures: modelFigures{droppedSYNs: syns, queueHeld: fit.capacity}}
	conf := 0.6
	if fit.lostFull == fit.lost && float64(fit.answeredFull) <= 0.05*float64(fit.answered) {
		conf += 0.15
	}
	if fit.waitedMax >= int64(time.Second) {
		// The application left requests unanswered for over a second:
		// it was not accepting, not just slow to reply.
		conf += 0.1
	}
	if v.c.Role == RoleClient {
		conf -= 0.1
	}
	f.Confidence = round2(conf)
	f.Summary = fmt.Sprintf("the listener's accept queue was full: the application stopped accept()ing connections, so the kernel dropped %s from %s without answering them", wording.Plural(syns, "SYN"), wording.Plural(len(sources), "source"))
	f.Evidence = append(f.Evidence, fitEvidence(fit))
	f.Evidence = append(f.Evidence, fmt.Sprintf("when the first SYN went unanswered (%s), %d completed handshakes were waiting for the application: the accept queue holds about %d, so the listen backlog is about %d — the kernel uses min(backlog, net.core.somaxconn) and drops once the queue holds one more than that; it stayed full for %s in all",
		wording.Clock(fit.firstLost), fit.capacity, fit.capacity, max(fit.capacity-1, 0), wording.Seconds(periodsLength(v.withLostSYNs(ps, dropped)))))
	f.Evidence = append(f.Evidence, "a SYN that finds the accept queue full is dropped in tcp_conn_request (sk_acceptq_is_full) before any SYN-ACK, so no third ACK is ignored and nothing but unanswered SYNs shows: the form a firewall drop is mistaken for, told apart by the waiting handshakes and by drops that start and end with them")
	if v.c.Role == RoleClient {
		f.Evidence = append(f.Evidence, "seen from the client's side: the waiting requests and the unanswered SYNs are the clients' own; a capture at the server, or its ListenOverflows counter, settles it")
	}
	f.Recommendation = acceptQueueAdvice
	return f
}

// withLostSYNs keeps the periods during which a SYN of these attempts was
// lost: the model also counts a full queue where a burst was being
// accepted and nothing was dropped, which is no time the queue turned
// clients away.
func (v *view) withLostSYNs(ps []period, idx []int) []period {
	var lost []int64
	for _, i := range idx {
		a := v.at(i)
		for j, l := range lostSYNs(a, v.c.Last) {
			if l {
				lost = append(lost, a.SYNs[j].Time)
			}
		}
	}
	slices.Sort(lost)
	var out []period
	for _, p := range ps {
		k, _ := slices.BinarySearch(lost, p.from)
		if k < len(lost) && lost[k] <= p.to {
			out = append(out, p)
		}
	}
	return out
}

// fitEvidence says how the lost SYNs line up with the waiting handshakes.
func fitEvidence(fit queueFit) string {
	s := fmt.Sprintf("%d of %d unanswered SYNs came while %d or more completed handshakes were waiting for the application (their requests unanswered, for up to %s), and %d of %d answered SYNs came while fewer waited: the drops start and end with the queue",
		fit.lostFull, fit.lost, fit.capacity, wording.Interval(time.Duration(fit.waitedMax)), fit.answered-fit.answeredFull, fit.answered)
	if fit.answeredFull > 0 {
		s += fmt.Sprintf(" (the other %d came while the model counted more than the queue holds: it counts a handshake until the server's first reply, a little after accept(), and runs high when a burst is accepted at once)", fit.answeredFull)
	}
	return s
}

// queueCapacity is the smallest modelled occupancy, above zero, at the
// times the queue was seen full (0 when none).
func queueCapacity(steps []queueStep, full []int64) int {
	capacity := 0
	for _, t := range full {
		if n := occupancyAt(steps, t); n > 0 && (capacity == 0 || n < capacity) {
			capacity = n
		}
	}
	return capacity
}

func describeOverflow(ignored, reset int) string {
	switch {
	case ignored > 0 && reset > 0:
		return fmt.Sprintf("ignored %s and reset %s", wording.Plural(ignored, "completed handshake"), wording.Plural(reset, "more"))
	case reset > 0:
		return fmt.Sprintf("reset %s", wording.Plural(reset, "completed handshake"))
	}
	return fmt.Sprintf("ignored the final ACK of %s", wording.Plural(ignored, "completed handshake"))
}

// periodsLength sums the lengths of periods that ended.
func periodsLength(ps []period) time.Duration {
	var d int64
	for _, p := range ps {
		if p.to != 1<<63-1 {
			d += p.to - p.from
		}
	}
	return time.Duration(d)
}

func synackOffsets(a *Attempt) string {
	s := ""
	for i, x := range a.SYNACKs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("+%.1f s", float64(x.Time-a.SYNs[0].Time)/1e9)
	}
	return s
}

// synQueue looks for a SYN flood: many sources each sending one SYN and
// never another packet — half-open handshakes (SYN-ACK sent, never
// acknowledged) and, once the SYN queue is full, SYNs with no answer at all.
// Without SYN cookies (net.ipv4.tcp_syncookies=0) a full queue drops every
// new SYN (tcp_conn_request: inet_csk_reqsk_queue_is_full →
// tcp_syn_flood_action, ListenDrops), real clients' too; with cookies the
// kernel answers each SYN beyond the queue with a cookie and keeps no state,
// so it never retransmits those SYN-ACKs, while the requests in the queue
// get theirs retransmitted (tcp_synack_retries).
func (v *view) synQueue(claimed map[int]bool) *Finding {
	// A flood's attempts: one SYN, nothing from the client afterwards.
	var flood []int
	var times []int64
	srcs := map[netip.Addr]bool{}
	for _, i := range v.attempts {
		a := v.at(i)
		if claimed[i] || len(a.SYNs) != 1 || a.Established() {
			continue
		}
		if a.Outcome == HalfOpen || a.Outcome == Unanswered && len(a.Resets) == 0 {
			flood = append(flood, i)
			times = append(times, a.FirstSYN())
			srcs[a.Client.Addr()] = true
		}
	}
	if len(flood) < 20 || len(srcs) < 10 {
		return nil
	}
	ps := periods(times, 5*time.Second, 2*time.Second)
	// The queue stays full until its half-open requests time out, which is
	// after their last SYN-ACK: extend the flood's periods to cover that.
	orig := slices.Clone(ps)
	for _, i := range flood {
		a := v.at(i)
		if len(a.SYNACKs) == 0 {
			continue
		}
		last := a.SYNACKs[len(a.SYNACKs)-1].Time + int64(time.Second)
		t := a.FirstSYN()
		k, _ := slices.BinarySearchFunc(orig, t, func(p period, t int64) int { return cmp.Compare(p.from, t+1) })
		if k > 0 && t <= orig[k-1].to && last > ps[k-1].to {
			ps[k-1].to = last
		}
	}
	ps = mergePeriods(ps)
	// Real clients retransmit: their unanswered SYNs are the harm.
	dropped, syns, dsrcs := v.droppedIn(v.attempts, ps, claimed, func(a *Attempt) bool { return len(a.SYNs) == 1 && !a.Established() })
	var half, unanswered, queued, cookieLike int
	for _, i := range flood {
		a := v.at(i)
		switch {
		case a.Outcome == Unanswered:
			unanswered++
		case len(a.SYNACKs) > 1:
			half++
			queued++
		default:
			half++
			if v.c.Last-a.SYNACKs[0].Time > int64(1500*time.Millisecond) {
				cookieLike++
			}
		}
	}
	cookies := cookieLike >= 10 && cookieLike*2 >= half
	f := &Finding{Kind: KindSYNQueueOverflow, figures: modelFigures{droppedSYNs: syns, floodSYNs: len(flood), floodUnanswered: unanswered, queued: queued, cookies: cookies, cookieSYNACKs: cookieLike}}
	f.attempts = append(append([]int{}, flood...), dropped...)
	slices.Sort(f.attempts)
	f.attempts = slices.Compact(f.attempts)
	from, to := slices.Min(times), slices.Max(times)
	f.Evidence = append(f.Evidence, fmt.Sprintf("%s from %d source addresses between %s and %s sent one SYN each and nothing else: %d left half-open (SYN-ACK sent, never acknowledged), %d unanswered — the signature of a SYN flood from spoofed sources",
		wording.Plural(len(flood), "attempt"), len(srcs), wording.Clock(from), wording.Clock(to), half, unanswered))
	if queued > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s had their SYN-ACK retransmitted: they sat in the SYN queue, which held at most %d of them at one time — its size, the listen backlog plus one", wording.Plural(queued, "half-open handshake"), v.mostQueued(flood)))
	}
	if cookies {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%d SYN-ACKs were never retransmitted although the capture went on: the server kept no state for them, i.e. it answered with SYN cookies", cookieLike))
	}
	if unanswered > 0 && !cookies {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%d flood SYNs got no SYN-ACK at all: the SYN queue was full and SYN cookies were off", unanswered))
	}
	if syns > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("meanwhile %s from %s (they retransmitted) got no answer", wording.Plural(syns, "SYN"), wording.Plural(len(dsrcs), "real client")))
	}
	switch {
	case syns > 0 || unanswered > 0 && !cookies:
		f.Severity, f.Confidence = Critical, 0.9
		if syns == 0 {
			f.Confidence = 0.75
		}
		f.Summary = fmt.Sprintf("SYN queue overflow: a flood of %s from %d sources filled the server's SYN queue; with no SYN cookies, %s from real clients were dropped", wording.Plural(len(flood), "SYN"), len(srcs), wording.Plural(syns, "SYN"))
		f.Recommendation = "Turn SYN cookies on (net.ipv4.tcp_syncookies=1, the default), so a full SYN queue answers with cookies instead of dropping; a larger listen backlog and net.ipv4.tcp_max_syn_backlog only buy time. Check `netstat -s` (\"SYNs to LISTEN sockets dropped\") and `nstat -az TcpExtListenDrops TcpExtTCPReqQFullDrop`. Filter the flood upstream if it is an attack."
	case cookies:
		f.Severity, f.Confidence = Warning, 0.8
		f.Summary = fmt.Sprintf("SYN flood absorbed by SYN cookies: %s from %d sources, and real clients were still answered", wording.Plural(len(flood), "SYN"), len(srcs))
		f.Recommendation = "Cookies kept the service up. A cookie carries window scaling and SACK only inside the TCP timestamp, so keep net.ipv4.tcp_timestamps=1; filter the flood upstream, and watch `nstat -az TcpExtSyncookiesSent TcpExtSyncookiesRecv TcpExtSyncookiesFailed TcpExtTCPReqQFullDoCookies`."
	default:
		f.Severity, f.Confidence = Warning, 0.6
		f.Summary = fmt.Sprintf("%s from %d sources that never went past the SYN-ACK: a SYN flood, or SYN-ACKs lost on the way back", wording.Plural(len(flood), "attempt"), len(srcs))
		f.Recommendation = "If the sources are spoofed, filter the flood upstream and keep net.ipv4.tcp_syncookies=1; if they are real clients, their SYN-ACKs are lost on the way back: capture at the client side too."
	}
	return f
}
