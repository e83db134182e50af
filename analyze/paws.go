package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/flows"
)

// Constants of the per-host PAWS rule (include/net/tcp.h).
const (
	tcpPAWSMSL    = 60 // seconds a remembered timestamp stays in force
	tcpPAWSWindow = 1  // ticks of slack
)

// pawsReplay is the outcome of replaying the capture through the per-host
// PAWS rule of Linux < 4.12 with net.ipv4.tcp_tw_recycle=1.
type pawsReplay struct {
	finding *Finding
	// SYN transmissions with a timestamp option; those the rule drops; and
	// how they compare with the SYNs that went unanswered.
	syns, predicted, truePos, falsePos, falseNeg int
	stamps                                       int // TIME_WAIT stamps stored
	// dropped holds the SYNs the rule drops, as (attempt, transmission).
	dropped map[[2]int]bool
	// replay is every stamp and decision, explained SYNs' too.
	replay PAWSReplay
}

type pawsEvent struct {
	t       int64
	store   bool
	ip      netip.Addr
	tsval   uint32
	stampNS int64 // store: when ts_recent was taken
	attempt int
	syn     int
}

type pawsMetric struct {
	ts    uint32
	stamp int64 // seconds
	from  int   // attempt whose close stored it
}

// perHostPAWS replays the server-side packets through the rule, following
// Linux 3.10:
//
//   - tcp_time_wait → tcp_remember_stamp: when a connection the server
//     closed first enters TIME_WAIT, the tcp_metrics entry of the peer's
//     address takes the last timestamp received from the peer (ts_recent) and
//     when it was received, if that moves the entry forward
//     ((s32)(tcpm_ts - ts_recent) <= 0) or the entry is older than
//     TCP_PAWS_MSL and not newer than ts_recent_stamp.
//   - tcp_v4_conn_request → tcp_peer_is_proven(req, dst, true): a SYN with a
//     timestamp is dropped silently (LINUX_MIB_PAWSPASSIVEREJECTED) when
//     get_seconds() - tcpm_ts_stamp < TCP_PAWS_MSL and
//     (s32)(tcpm_ts - req->ts_recent) > TCP_PAWS_WINDOW.
//
// Only SYNs the rule drops and that indeed got no answer count for it; a
// non-monotonic TSval alone proves nothing, as modern kernels randomise
// timestamp offsets and do not have this rule.
//
// The rule's decision on a SYN does not depend on what explains it, so the
// same pass decides every SYN with a timestamp for the record the reports
// draw (PAWSReplay).
func (v *view) perHostPAWS(explained map[int]bool) pawsReplay {
	var r pawsReplay
	var rec pawsRecord
	if v.c.Role == RoleClient {
		// The rule keys on the address the server sees, which a NAT hides
		// from the client's side.
		r.replay = PAWSReplay{Capture: v.idx, Scope: PAWSClientSide}
		return r
	}
	var events []pawsEvent
	answered := map[int][]bool{}
	for _, i := range v.attempts {
		a := v.at(i)
		answered[i] = synAnswered(a)
		for j, s := range a.SYNs {
			if s.Opts.Timestamps {
				events = append(events, pawsEvent{t: s.Time, ip: a.Client.Addr(), tsval: s.Opts.TSval, attempt: i, syn: j})
			}
		}
		if a.Established() && a.FirstFIN == flows.ServerSide && a.ClosedAt != 0 && a.LastTSval[0].Valid {
			events = append(events, pawsEvent{t: a.ClosedAt, store: true, ip: a.Client.Addr(), tsval: a.LastTSval[0].TSval, stampNS: a.LastTSval[0].Time, attempt: i})
		}
	}
	slices.SortStableFunc(events, func(a, b pawsEvent) int { return cmp.Compare(a.t, b.t) })
	metrics := map[netip.Addr]pawsMetric{}
	var hits []int // attempts with a correctly predicted drop
	hit := map[int]bool{}
	var example string
	perSource := map[netip.Addr]int{}
	for _, e := range events {
		now := e.t / 1e9
		tm, ok := metrics[e.ip]
		if e.store {
			r.stamps++
			stamp := e.stampNS / 1e9
			stored := !ok || int32(tm.ts-e.tsval) <= 0 || now-tm.stamp > tcpPAWSMSL && tm.stamp <= stamp
			if stored {
				metrics[e.ip] = pawsMetric{ts: e.tsval, stamp: stamp, from: e.attempt}
				rec.stamp(e)
			}
			continue
		}
		inForce := ok && now-tm.stamp < tcpPAWSMSL
		drop := inForce && int32(tm.ts-e.tsval) > tcpPAWSWindow
		unanswered := !answered[e.attempt][e.syn]
		rec.decide(e, !unanswered, inForce, drop, tm.ts)
		if explained[e.attempt] {
			continue // another mechanism explains this attempt's SYNs
		}
		r.syns++
		if drop {
			if r.dropped == nil {
				r.dropped = map[[2]int]bool{}
			}
			r.dropped[[2]int{e.attempt, e.syn}] = true
		}
		switch {
		case drop && unanswered:
			r.predicted++
			r.truePos++
			perSource[e.ip]++
			if !hit[e.attempt] {
				// SYNs of attempts interleave in time: count each once.
				hit[e.attempt] = true
				hits = append(hits, e.attempt)
			}
			if example == "" {
				a, c := v.at(e.attempt), v.at(tm.from)
				example = fmt.Sprintf("e.g. at %s the SYN from %s (TSval %d) came %d s after the server closed %s → %s and stored TSval %d for %s: %d ticks behind it, inside the 60 s window, so the kernel dropped it — and no SYN-ACK followed",
					wording.Clock(e.t), a.Client, e.tsval, now-tm.stamp, c.Client, c.Server, tm.ts, e.ip, int32(tm.ts-e.tsval))
			}
		case drop:
			r.predicted++
			r.falsePos++
		case unanswered:
			r.falseNeg++
		}
	}
	r.replay = rec.result(v.idx)
	// The rule must predict the drops (precision) and the drops must be the
	// rule's (recall): per-connection random offsets put half of all SYNs
	// "behind" a stamp, so drops of another cause would match it by chance
	// about half the time — and then the other half are drops it does not
	// predict.
	if r.truePos < 2 || float64(r.truePos) < 0.8*float64(r.predicted) || float64(r.truePos) < 0.6*float64(r.truePos+r.falseNeg) {
		return r
	}
	precision := float64(r.truePos) / float64(r.predicted)
	recall := float64(r.truePos) / float64(r.truePos+r.falseNeg)
	slices.Sort(hits)
	f := &Finding{Kind: KindPerHostPAWS, Severity: Critical, attempts: hits, figures: modelFigures{droppedSYNs: r.truePos}}
	f.Confidence = round2(precision * min(1, recall+0.2) * float64(r.truePos) / (float64(r.truePos) + 1.5))
	var srcs []string
	for _, ip := range sortedKeys(perSource, netip.Addr.Compare) {
		srcs = append(srcs, fmt.Sprintf("%s (%d)", ip, perSource[ip]))
	}
	f.Summary = fmt.Sprintf("per-host PAWS (tcp_tw_recycle) dropped %s from %s: the server remembers the last timestamp per client address, and hosts sharing that address with a clock behind are locked out for up to 60 s", wording.Plural(r.truePos, "SYN"), strings.Join(firstN(srcs, 4), ", "))
	f.Evidence = append(f.Evidence,
		fmt.Sprintf("replaying the kernel rule (tcp_remember_stamp when the server closes first, tcp_peer_is_proven on each SYN) over %s with timestamps and %d TIME_WAIT stamps: predicted %d of %d dropped SYNs, %d false drops (precision %.2f, recall %.2f)",
			wording.Plural(r.syns, "SYN"), r.stamps, r.truePos, r.truePos+r.falseNeg, r.falsePos, precision, recall),
		example)
	f.Recommendation = "This rule exists only in kernels before 4.12 with net.ipv4.tcp_tw_recycle=1 and net.ipv4.tcp_timestamps=1. Check: `sysctl net.ipv4.tcp_tw_recycle` (1), `uname -r` (< 4.12), `netstat -s | grep 'passive connections rejected because of time stamp'` growing. Fix: set net.ipv4.tcp_tw_recycle=0 (and remove it from /etc/sysctl.*). Do not disable timestamps instead: they protect against wrapped sequence numbers and make RTT measurement work."
	r.finding = f
	return r
}

func round2(x float64) float64 { return float64(int(x*100+0.5)) / 100 }
