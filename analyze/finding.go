package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/syndiag/syndiag/analyze/wording"
)

// Severity ranks findings: the greater, the more severe, so severities
// compare as integers (<, max, cmp.Compare) and need no ranking of their
// own. In JSON and on the terminal a severity is its name (String).
type Severity int

// Severities, lowest first.
const (
	// NoSeverity is the worst severity of no findings at all ("none"):
	// below every finding's.
	NoSeverity Severity = iota - 1
	Info
	Warning
	Critical
)

func (s Severity) String() string {
	switch s {
	case NoSeverity:
		return "none"
	case Warning:
		return "warning"
	case Critical:
		return "critical"
	}
	return "info"
}

// ParseSeverity reads a severity's name: "info", "warning", "critical", or
// "none" for NoSeverity.
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "none":
		return NoSeverity, nil
	case "info":
		return Info, nil
	case "warning":
		return Warning, nil
	case "critical":
		return Critical, nil
	}
	return 0, fmt.Errorf("unknown severity %q", s)
}

// MarshalText writes the severity's name, so that JSON holds "critical",
// not 2.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name (ParseSeverity).
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Kind names a finding's diagnosis, as the JSON contract does.
type Kind string

// Finding kinds.
const (
	KindPerHostPAWS           Kind = "per_host_paws"
	KindAcceptQueueOverflow   Kind = "accept_queue_overflow"
	KindSYNQueueOverflow      Kind = "syn_queue_overflow"
	KindPathDropToServer      Kind = "path_drop_to_server"
	KindPathDropToClient      Kind = "path_drop_to_client"
	KindServerSilentDrop      Kind = "server_silent_drop"
	KindRefused               Kind = "refused"
	KindMiddleboxReset        Kind = "middlebox_reset"
	KindICMPUnreachable       Kind = "icmp_unreachable"
	KindStaleTimeWait         Kind = "stale_timewait"
	KindTimestampsNonMonotone Kind = "timestamps_non_monotonic"
	KindSYNRetransmitDelay    Kind = "syn_retransmission_delay"
	KindPortScan              Kind = "port_scan"
	KindSYNACKUnacknowledged  Kind = "synack_unacknowledged"
	KindTupleBlackhole        Kind = "tuple_blackhole"
)

// NoCause is the Cause of an attempt that no finding explains.
const NoCause Kind = "none"

// Finding is one diagnosis: what was seen, how sure we are, and what to do.
type Finding struct {
	Kind       Kind
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
func symptom(kind Kind) bool {
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
	case KindPerHostPAWS, KindAcceptQueueOverflow, KindServerSilentDrop, KindPathDropToServer, KindPathDropToClient, KindSYNACKUnacknowledged, KindTupleBlackhole:
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
