package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/syndiag/syndiag/analyze/wording"
)

// Severity ranks findings.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota
	Warning
	Critical
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Critical:
		return "critical"
	}
	return "info"
}

// ParseSeverity reads "info", "warning" or "critical".
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "info":
		return Info, nil
	case "warning":
		return Warning, nil
	case "critical":
		return Critical, nil
	}
	return 0, fmt.Errorf("unknown severity %q", s)
}

// Finding kinds, as the JSON contract names them.
const (
	KindPerHostPAWS           = "per_host_paws"
	KindAcceptQueueOverflow   = "accept_queue_overflow"
	KindSYNQueueOverflow      = "syn_queue_overflow"
	KindPathDropToServer      = "path_drop_to_server"
	KindPathDropToClient      = "path_drop_to_client"
	KindServerSilentDrop      = "server_silent_drop"
	KindRefused               = "refused"
	KindICMPUnreachable       = "icmp_unreachable"
	KindStaleTimeWait         = "stale_timewait"
	KindTimestampsNonMonotone = "timestamps_non_monotonic"
	KindSYNRetransmitDelay    = "syn_retransmission_delay"
	KindPortScan              = "port_scan"
	KindSYNACKUnacknowledged  = "synack_unacknowledged"
)

// Finding is one diagnosis: what was seen, how sure we are, and what to do.
type Finding struct {
	Kind       string
	Severity   Severity
	Confidence float64 // 0..1
	Capture    int     // index into Result.Captures
	Summary    string
	// Evidence lists the observations behind the finding, each a sentence
	// with its figures.
	Evidence []string
	// Affected counts the attempts the finding explains and their sources.
	AffectedAttempts int
	AffectedSources  int
	// Recommendation says what to check and what to change.
	Recommendation string
	// LockedOut names, for a per-host PAWS finding on a joined server
	// capture, the private client hosts whose SYNs it explains.
	LockedOut []netip.Addr

	// attempts are the indices into Result.Attempts the finding explains.
	attempts []int
	// figures are the model's numbers that host evidence is checked against.
	figures modelFigures
}

// symptom reports whether a kind describes what the clients felt (SYNs
// retransmitted, timestamps going backwards) rather than why.
func symptom(kind string) bool {
	return kind == KindSYNRetransmitDelay || kind == KindTimestampsNonMonotone
}

// rank orders findings: most severe first, causes before the symptoms they
// explain, then the most attempts, then the most confident, then by kind for
// a stable order.
func rankFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		sa, sb := symptom(a.Kind), symptom(b.Kind)
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmpBool(sa, sb),
			cmp.Compare(b.AffectedAttempts, a.AffectedAttempts),
			cmp.Compare(b.Confidence, a.Confidence),
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Capture, b.Capture),
		)
	})
}

// criticalAttempts is how many attempts of clients that waited for an
// answer a finding about an unseen drop needs before it may be critical: a
// handful of lost handshakes is what any path loses now and then.
const criticalAttempts = 10

// weigh lets the severity and confidence of a finding whose cause is
// inferred from silence (a drop nobody saw) follow the amount of evidence.
// Strong evidence is an attempt whose client waited for an answer as a TCP
// stack does: it retransmitted on a known stack's schedule, or completed a
// handshake the model reads (an ignored or reset third ACK). A single SYN
// never retransmitted although the capture went on (a scanner, a probe with
// a short timeout, a spoofed or crafted packet, or a capture that missed the
// retransmissions) and retransmissions that fit no known stack's timer are
// weak: alone they make no more than an informational finding.
func weigh(res *Result, f *Finding) {
	switch f.Kind {
	case KindPerHostPAWS, KindAcceptQueueOverflow, KindServerSilentDrop, KindPathDropToServer, KindPathDropToClient, KindSYNACKUnacknowledged:
	default:
		return
	}
	var strong, single, odd, hurt int
	for _, i := range f.attempts {
		a := &res.Attempts[i]
		switch {
		case a.Established() && f.Kind == KindAcceptQueueOverflow:
			strong++
		case a.Retransmissions() == 0:
			single++
		case a.Schedule.Stack == StackUnknown:
			odd++
		default:
			strong++
			// Hurt: it failed, or it was still knocking, never
			// answered, after three or more SYNs when the capture
			// stopped.
			if a.Outcome.Failed() || a.Outcome == Incomplete && len(answerTimes(a.Attempt, true)) == 0 && len(a.SYNs) >= 3 {
				hurt++
			}
		}
	}
	var sev Severity
	var conf float64
	switch {
	case strong >= criticalAttempts:
		return
	case strong >= 3:
		sev, conf = Warning, 0.85
	case strong >= 1 && hurt > 0:
		sev, conf = Warning, 0.6
	case strong >= 1:
		// A SYN or two lost and then answered is what any path does
		// now and then.
		sev, conf = Info, 0.5
	default:
		sev, conf = Info, 0.4
	}
	if f.Kind == KindPathDropToServer || f.Kind == KindPathDropToClient {
		// Two captures place these losses: where they happened is seen,
		// not inferred; only how much they matter depends on the count.
		conf = f.Confidence
	}
	if f.Severity <= sev && f.Confidence <= conf {
		return
	}
	f.Severity, f.Confidence = min(f.Severity, sev), min(f.Confidence, conf)
	var weak []string
	if single > 0 {
		weak = append(weak, fmt.Sprintf("%s never retransmitted although the capture went on (a scanner, a probe with a short timeout, spoofed or crafted packets, or a capture that missed the retransmissions)", wording.Plural(single, "single SYN")))
	}
	if odd > 0 {
		weak = append(weak, fmt.Sprintf("%s whose retransmissions fit no known stack's timer", wording.Plural(odd, "attempt")))
	}
	what := "attempt of a client that retransmitted on a known stack's schedule|attempts of clients that retransmitted on a known stack's schedule"
	if f.Kind == KindAcceptQueueOverflow {
		what = "ignored or reset handshake or attempt retransmitted on a known stack's schedule|ignored or reset handshakes and attempts retransmitted on a known stack's schedule"
	}
	var why string
	switch {
	case strong > 0 && sev == Info:
		why = fmt.Sprintf("how sure: %s, none of which failed (each connected in the end, or was still trying when the capture stopped) — a loss any path has now and then, informational", wording.Count(strong, what))
	case strong == 0:
		why = fmt.Sprintf("how sure: no %s; only %s — informational, not a diagnosis", strings.SplitN(what, "|", 2)[0], strings.Join(weak, ", and "))
	default:
		why = "how sure: " + wording.Count(strong, what)
		if len(weak) > 0 {
			why += ", besides " + strings.Join(weak, ", and ")
		}
		why += fmt.Sprintf(" — too few to be %s (%d or more would be)", Critical, criticalAttempts)
	}
	f.Evidence = append(f.Evidence, why)
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// countSources counts the distinct client addresses among attempts.
func countSources(res *Result, idx []int) int {
	seen := map[string]bool{}
	for _, i := range idx {
		seen[res.Attempts[i].Client.Addr().String()] = true
	}
	return len(seen)
}
