package analyze

// Fusion of the kernel's drop reasons (skb:kfree_skb traces) into
// findings: the reasons that fall within a capture's span name the cause
// of SYNs the server never answered, and confirm refusals. Only drops
// while the capture ran count, when the trace's clock is tied to the wall
// clock; a trace whose clock is not gives totals only, and a trace from
// another time is not used.

import (
	"fmt"
	"strings"
	"time"

	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/flows/evidence"
)

// traceSlack widens a capture's span when drops are matched to it: a SYN
// is freed a few microseconds after the capture saw it, and the last
// packet of a capture may be that SYN.
const traceSlack = 100 * time.Millisecond

// dropsSeen is what the traces say about one reason during a capture.
type dropsSeen struct {
	n     int
	timed bool     // false when a trace without a tied clock gave totals
	files []string // the traces that cover the capture
	sites map[string]bool
}

// where words the functions that freed the packets: "at nft_do_chain".
func (d dropsSeen) where() string {
	return "at " + strings.Join(sortedKeys(d.sites, strings.Compare), ", ")
}

// when words the period the count covers.
func (d dropsSeen) when() string {
	if d.timed {
		return "while the capture ran"
	}
	return "over the whole trace (its clock is not tied to the capture's)"
}

// source words the traces the count comes from.
func (d dropsSeen) source() string {
	return strings.Join(d.files, ", ") + ", skb:kfree_skb"
}

// captureSpan returns a capture's first and last packet times, widened by
// traceSlack; ok is false for an empty capture.
func (fz *fuser) captureSpan(capture int) (from, to time.Time, ok bool) {
	c := fz.res.Captures[capture]
	if c.Capture == nil || c.Packets == 0 {
		return time.Time{}, time.Time{}, false
	}
	return time.Unix(0, c.First).Add(-traceSlack), time.Unix(0, c.Last).Add(traceSlack), true
}

// drops counts a reason's drops during a capture over the traces that
// cover it, or the totals of traces whose clock is not tied to it.
func (fz *fuser) drops(reason string, capture int) dropsSeen {
	d := dropsSeen{timed: true, sites: map[string]bool{}}
	from, to, ok := fz.captureSpan(capture)
	if !ok {
		return d
	}
	for _, tr := range fz.ev.Drops {
		r, _ := tr.Reason(reason)
		n := r.Count
		switch {
		case tr.Events == 0:
			continue
		case tr.Clock == evidence.TraceClockUnknown:
			d.timed = false
		case tr.Last.Before(from) || tr.First.After(to):
			continue // another time: traceCoverage says so
		default:
			n = r.Between(from, to)
		}
		d.files = append(d.files, base(tr.File))
		if n == 0 {
			continue
		}
		d.n += n
		for _, s := range r.Sites {
			d.sites[s.Function] = true
		}
	}
	return d
}

// tracesUsable reports whether a trace can speak about a capture: it has
// drop reasons and is not from another time.
func (fz *fuser) tracesUsable(capture int) bool {
	from, to, ok := fz.captureSpan(capture)
	for _, tr := range fz.ev.Drops {
		if tr.Events > 0 && ok && (tr.Clock == evidence.TraceClockUnknown || !tr.Last.Before(from) && !tr.First.After(to)) {
			return true
		}
	}
	return false
}

// traceCoverage says, for each trace, whether it covers the captures.
func (fz *fuser) traceCoverage() {
	first, last := fz.captureBounds()
	layout := "2006-01-02 15:04:05"
	cf, cl := time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	for _, tr := range fz.ev.Drops {
		name := base(tr.File)
		switch {
		case tr.Events == 0 || first == 0:
		case tr.Clock == evidence.TraceClockUnknown:
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s: the trace clock counts seconds since boot and no syndiag-epoch marker line ties it to the wall clock, so the trace cannot be tied to the capture: only its totals (%s) are used, not when they happened", name, wording.Plural(tr.Events, "drop")))
		case tr.Last.Add(traceSlack).Before(cf) || tr.First.Add(-traceSlack).After(cl):
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s (%s to %s UTC) does not cover the capture (%s to %s UTC): it is from another time, and its drop reasons are not used", name, tr.First.Format(layout), tr.Last.Format(layout), cf.Format(layout), cl.Format(layout)))
		default:
			how := "its timestamps taken as Unix time"
			if tr.Clock == evidence.TraceClockMarker {
				how = "its clock tied to the wall clock by its epoch marker"
			}
			fz.ev.notes = append(fz.ev.notes, fmt.Sprintf("%s (%s to %s UTC, %s) covers the capture (%s to %s UTC)", name, tr.First.Format(layout), tr.Last.Format(layout), how, cf.Format(layout), cl.Format(layout)))
		}
	}
}

// silentDropCauses are the drop reasons that name why a server never
// answered SYNs that reached it, in the order they are looked for.
var silentDropCauses = []struct {
	reason, cause string
}{
	{"NETFILTER_DROP", "a netfilter rule dropped them (iptables/nftables DROP): find the rule whose counter grows with the SYNs in iptables -L -v -n -x or nft list ruleset"},
	{"IP_RPFILTER", "the reverse-path filter dropped them (rp_filter): the route back to these clients leaves by another interface than the SYNs came in"},
	{"TCP_CSUM", "they arrived with bad TCP checksums: something on the path corrupts them, or checksum offload is broken"},
	{"NO_SOCKET", "no socket listened for them"},
}

// silentDropReasons names the cause of unanswered SYNs from the kernel's
// drop reasons during the capture. The drops are compared with every SYN
// transmission of the capture that got no answer, since a trace cannot
// tell which attempts its packets belonged to. It reports whether a
// reason other than a netfilter rule's was named.
func (fz *fuser) silentDropReasons(f *Finding, adj *adjustment, syns int, serverSide bool) (other bool) {
	if !fz.tracesUsable(f.Capture) {
		return false
	}
	all := fz.unansweredSYNs(f.Capture)
	named := false
	for _, c := range silentDropCauses {
		d := fz.drops(c.reason, f.Capture)
		if d.n == 0 {
			continue
		}
		named = true
		other = other || c.reason != "NETFILTER_DROP"
		s := fmt.Sprintf("the kernel's drop reasons (%s) show %s %s %s, and the capture shows %s without an answer (%d in these attempts)", d.source(), wording.Plural(d.n, c.reason+" drop"), d.where(), d.when(), wording.Plural(all, "SYN transmission"), syns)
		switch {
		case d.n == all:
			s += ": exactly as many"
		case d.n > all:
			s += ": more, so the kernel also dropped packets the capture does not show (sent after it stopped, or not SYNs)"
		default:
			s += fmt.Sprintf(": %d fewer, so something else dropped the rest", all-d.n)
		}
		s += " — " + c.cause
		switch {
		case !serverSide:
		case d.n >= all && d.timed:
			adj.raise(0.8)
		case d.n >= all:
			adj.raise(0.4)
		default:
			adj.raise(0.3)
		}
		f.Evidence = append(f.Evidence, s)
	}
	if !named {
		for _, tr := range fz.ev.Drops {
			if tr.Events > 0 {
				f.Evidence = append(f.Evidence, fmt.Sprintf("the kernel's drop reasons (%s, skb:kfree_skb) name none of NETFILTER_DROP, IP_RPFILTER, TCP_CSUM, NO_SOCKET for these %s: they were lost before the kernel saw them, or freed without a reason (a full listen queue frees SYNs with consume_skb)", base(tr.File), wording.Plural(syns, "SYN")))
				break
			}
		}
	}
	return other
}

// unansweredSYNs counts the SYN transmissions of a capture's attempts
// that got neither a SYN-ACK nor a RST.
func (fz *fuser) unansweredSYNs(capture int) int {
	n := 0
	for i := range fz.res.Attempts {
		a := &fz.res.Attempts[i]
		if a.Capture == capture && (a.Outcome == Unanswered || a.Outcome == Incomplete) && len(a.SYNACKs) == 0 && !a.SYNACKUnseen && len(a.Resets) == 0 {
			n += len(a.SYNs)
		}
	}
	return n
}

// refusedReasons checks refusals against NO_SOCKET: tcp_v4_rcv frees a
// SYN that finds no socket with that reason and answers it with RST
// (tcp_v4_send_reset).
func (fz *fuser) refusedReasons(f *Finding, adj *adjustment) {
	if !fz.tracesUsable(f.Capture) {
		return
	}
	refused := len(f.attempts)
	d := fz.drops("NO_SOCKET", f.Capture)
	s := fmt.Sprintf("the kernel's drop reasons (%s) show %s %s %s", d.source(), wording.Plural(d.n, "NO_SOCKET drop"), d.where(), d.when())
	switch {
	case d.n == 0:
		s = fmt.Sprintf("the kernel's drop reasons (%s) show no NO_SOCKET drop %s, while the capture shows %s: the RSTs came from something else (a REJECT rule, a middlebox)", d.source(), d.when(), wording.Plural(refused, "refused attempt"))
		if d.timed {
			adj.lower(0.6)
		}
	case d.n == refused:
		s += fmt.Sprintf(": exactly as many as the refused attempts (%d): the kernel found no listening socket for these SYNs and answered with RST", refused)
		adj.raise(0.5)
	case d.n > refused:
		s += fmt.Sprintf(": at least one for each of the %s (the kernel also frees other segments for no socket)", wording.Plural(refused, "refused attempt"))
		adj.raise(0.5)
	default:
		s += fmt.Sprintf(": fewer than the %s, so some RSTs came from something else (a REJECT rule, a middlebox)", wording.Plural(refused, "refused attempt"))
	}
	f.Evidence = append(f.Evidence, s)
}

// staleReasons checks SYNs answered by a bare ACK against TCP_INVALID_SYN:
// tcp_validate_incoming gives that reason to a SYN that reaches a
// synchronised connection, after answering it with a challenge ACK
// (tcp_send_challenge_ack, RFC 5961 4.2).
func (fz *fuser) staleReasons(f *Finding, adj *adjustment) {
	if !fz.tracesUsable(f.Capture) {
		return
	}
	d := fz.drops("TCP_INVALID_SYN", f.Capture)
	if d.n == 0 {
		return
	}
	s := fmt.Sprintf("the kernel's drop reasons (%s) show %s %s %s, for %s answered by a bare ACK: these SYNs met a connection the server still held as ESTABLISHED on the same 4-tuple, which answers a SYN with a challenge ACK and drops it (tcp_validate_incoming, RFC 5961 4.2)", d.source(), wording.Plural(d.n, "TCP_INVALID_SYN drop"), d.where(), d.when(), wording.Plural(len(f.attempts), "attempt"))
	if d.n >= len(f.attempts) && d.timed {
		adj.raise(0.5)
	}
	f.Evidence = append(f.Evidence, s)
}

// acceptQueueReasons says what a trace can and cannot show of a full
// listen queue: tcp_conn_request drops the SYN after tcp_listendrop and
// tcp_rcv_state_process frees it with consume_skb, as an accepted one, so
// it carries no reason; TCP_LISTEN_OVERFLOW is only set by tcp_check_req
// for the ACK of a half-open request that meets a full queue.
func (fz *fuser) acceptQueueReasons(f *Finding) {
	if !fz.tracesUsable(f.Capture) {
		return
	}
	d := fz.drops("TCP_LISTEN_OVERFLOW", f.Capture)
	var s string
	if d.n == 0 {
		s = fmt.Sprintf("the kernel's drop reasons (%s) show no TCP_LISTEN_OVERFLOW %s", strings.Join(fz.traceNames(), ", ")+", skb:kfree_skb", d.when())
	} else {
		s = fmt.Sprintf("the kernel's drop reasons (%s) show %s %s %s: ACKs of half-open requests that met the full queue", d.source(), wording.Plural(d.n, "TCP_LISTEN_OVERFLOW drop"), d.where(), d.when())
	}
	f.Evidence = append(f.Evidence, s+"; a SYN dropped because the listen queue is full is freed with consume_skb and carries no reason on this kernel, so the trace's silence about these SYNs proves nothing (TCP_LISTEN_OVERFLOW marks only ACKs of half-open requests, in tcp_check_req)")
}

// traceNames lists the trace files that have drop reasons.
func (fz *fuser) traceNames() []string {
	var out []string
	for _, tr := range fz.ev.Drops {
		if tr.Events > 0 {
			out = append(out, base(tr.File))
		}
	}
	return out
}
