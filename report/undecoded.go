package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/flows"
)

// reasonWords says each flows.Reason to a user, for one frame and for
// several.
var reasonWords = [flows.NumReasons][2]string{
	flows.ReasonLinkType:            {"of a link type syndiag does not decode", "of a link type syndiag does not decode"},
	flows.ReasonLinkHeader:          {"link-layer header cut short or invalid", "link-layer headers cut short or invalid"},
	flows.ReasonARP:                 {"ARP", "ARP"},
	flows.ReasonNotIP:               {"not IP", "not IP"},
	flows.ReasonIPHeaderCut:         {"IP header cut by the snap length", "IP headers cut by the snap length"},
	flows.ReasonIPBadVersion:        {"bad IP version", "bad IP versions"},
	flows.ReasonIPBadIHL:            {"IPv4 header length under 20 bytes", "IPv4 header lengths under 20 bytes"},
	flows.ReasonIPBadLength:         {"IP length shorter than its headers", "IP lengths shorter than their headers"},
	flows.ReasonNotTCP:              {"IP but not TCP", "IP but not TCP"},
	flows.ReasonIPFragment:          {"IP fragment without a TCP header", "IP fragments without a TCP header"},
	flows.ReasonTCPHeaderCut:        {"TCP header cut by the snap length", "TCP headers cut by the snap length"},
	flows.ReasonTCPBadOffset:        {"TCP header length under 20 bytes", "TCP header lengths under 20 bytes"},
	flows.ReasonTCPOptionsCut:       {"with TCP options cut by the snap length", "with TCP options cut by the snap length"},
	flows.ReasonTCPOffsetPastPacket: {"with a TCP header longer than its packet", "with TCP headers longer than their packets"},
}

// undecodedNotes says what of a capture flows did not decode, and what it
// decoded only in part, most frequent reason first: "3 frames not decoded:
// 2 ARP, 1 TCP header cut by the snap length". It says nothing of a
// capture that flows decoded whole.
func undecodedNotes(u flows.Undecoded) []string {
	var notes []string
	if n := u.Frames(); n > 0 {
		notes = append(notes, fmt.Sprintf("%s not decoded: %s", wording.Plural(int(n), "frame"), reasonList(u, false)))
	}
	if n := u.Partial(); n > 0 {
		notes = append(notes, fmt.Sprintf("%s decoded in part: %s", wording.Plural(int(n), "frame"), reasonList(u, true)))
	}
	return notes
}

// reasonList lists the counts of the reasons that are Partial, or of the
// others, largest first.
func reasonList(u flows.Undecoded, partial bool) string {
	var rs []flows.Reason
	for r, n := range u {
		if n > 0 && flows.Reason(r).Partial() == partial {
			rs = append(rs, flows.Reason(r))
		}
	}
	slices.SortStableFunc(rs, func(a, b flows.Reason) int { return cmp.Compare(u[b], u[a]) })
	parts := make([]string, len(rs))
	for i, r := range rs {
		w := reasonWords[r][0]
		if u[r] > 1 {
			w = reasonWords[r][1]
		}
		parts[i] = fmt.Sprintf("%d %s", u[r], w)
	}
	return strings.Join(parts, ", ")
}

// jsonUndecoded is the undecoded object of a JSON capture: every reason,
// zero or not, by its name, so that the keys of a capture do not depend on
// what it holds.
func jsonUndecoded(u flows.Undecoded) map[string]int64 {
	m := make(map[string]int64, flows.NumReasons)
	for r, n := range u {
		m[flows.Reason(r).String()] = n
	}
	return m
}
