package analyze

import (
	"fmt"
	"strings"

	"github.com/syndiag/syndiag/analyze/wording"
)

// nonMonotonicTimestamps reports, for information, the sources whose SYN
// timestamps go backwards, with what the clock estimate makes of them, and
// what the per-host PAWS replay says: on a modern kernel none of it is a
// fault by itself.
func (v *view) nonMonotonicTimestamps(paws pawsReplay) *Finding {
	var lines []string
	n := 0
	for _, s := range v.res.Sources {
		// Per-connection offsets are every modern client's normal; only
		// several clocks sharing an address (NAT) are worth a note.
		if s.Capture != v.idx || s.TSvalMonotonic == nil || *s.TSvalMonotonic || s.ClockLines < 2 {
			continue
		}
		n++
		if len(lines) < 5 {
			lines = append(lines, fmt.Sprintf("%s: %d connections, %s", s.IP, s.Attempts, s.Verdict))
		}
	}
	// The replay's would-be drops on their own are every modern capture's
	// normal (per-connection offsets put half the SYNs behind a stamp), so
	// they only add to a note about NAT'd clocks.
	risky := paws.finding == nil && paws.predicted >= 3
	if n == 0 {
		return nil
	}
	f := &Finding{Kind: KindTimestampsNonMonotone, Severity: Info, Confidence: 1}
	verb := "shows"
	if n > 1 {
		verb = "show"
	}
	f.Summary = fmt.Sprintf("%s %s several TCP timestamp clocks: hosts behind a NAT — harmless unless the server runs tcp_tw_recycle", wording.Plural(n, "source address"), verb)
	f.Evidence = append(f.Evidence, lines...)
	if n > len(lines) {
		f.Evidence = append(f.Evidence, fmt.Sprintf("and %d more", n-len(lines)))
	}
	if risky {
		f.Evidence = append(f.Evidence, fmt.Sprintf("the per-host PAWS rule of kernels < 4.12 with tcp_tw_recycle=1 would have dropped %s here, but the server answered %d of them: it does not apply that rule", wording.Plural(paws.predicted, "SYN"), paws.falsePos))
	}
	f.Recommendation = strings.TrimSpace("Nothing to change on a kernel ≥ 4.12. On an older server with net.ipv4.tcp_tw_recycle=1, these clients would be at risk of per-host PAWS drops: set it to 0.")
	f.AffectedSources = n
	return f
}
