package expect

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Diff lists how got differs from the expected findings e, a line each:
// "+" a finding that appeared, "-" one that disappeared, "~" one whose
// severity changed; for triage, "+ case" and "- case" for a case new or
// gone. inShard, when not nil, limits the expected cases to those this run
// analyzed (triage --shard).
func (e *Findings) Diff(got *Findings, inShard func(string) bool) []string {
	var diff []string
	if e.triage {
		diff = e.caseDiff(got, inShard)
	}
	for _, k := range e.keys(got, inShard) {
		if d := e.findingDiff(got, k); d != "" {
			diff = append(diff, d)
		}
	}
	return diff
}

// caseDiff lists the cases expected but not in got, then those in got but
// not expected.
func (e *Findings) caseDiff(got *Findings, inShard func(string) bool) []string {
	var diff []string
	have := map[string]bool{}
	for _, c := range got.cases {
		have[c] = true
	}
	want := map[string]bool{}
	for _, c := range e.cases {
		want[c] = true
		if !have[c] && (inShard == nil || inShard(c)) {
			diff = append(diff, fmt.Sprintf("- case %s: expected, but not in this run", c))
		}
	}
	for _, c := range got.cases {
		if !want[c] {
			diff = append(diff, fmt.Sprintf("+ case %s: new, not in the expectation", c))
		}
	}
	return diff
}

// keys are the places and kinds of the findings of both, sorted, leaving
// out the expected ones of cases not in the shard.
func (e *Findings) keys(got *Findings, inShard func(string) bool) []key {
	keys := map[key]bool{}
	for k := range e.found {
		if inShard == nil || !e.triage || inShard(k.caseName) {
			keys[k] = true
		}
	}
	for k := range got.found {
		keys[k] = true
	}
	sorted := make([]key, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(a, b key) int {
		return cmp.Or(strings.Compare(a.caseName, b.caseName), strings.Compare(a.capture, b.capture), strings.Compare(a.kind, b.kind))
	})
	return sorted
}

// findingDiff says how the findings at k differ, or "" when they do not.
func (e *Findings) findingDiff(got *Findings, k key) string {
	want, have := slices.Sorted(slices.Values(e.found[k])), slices.Sorted(slices.Values(got.found[k]))
	where := k.capture
	if k.caseName != "" && k.caseName != k.capture {
		where = k.caseName + ": " + k.capture
	}
	switch {
	case slices.Equal(want, have):
		return ""
	case len(want) == 0:
		return fmt.Sprintf("+ %s: %s (%s) appeared: %s", where, k.kind, strings.Join(have, ", "), got.summary[k])
	case len(have) == 0:
		return fmt.Sprintf("- %s: %s (%s) disappeared; it said: %s", where, k.kind, strings.Join(want, ", "), e.summary[k])
	case len(want) == len(have):
		return fmt.Sprintf("~ %s: %s: severity %s, expected %s", where, k.kind, strings.Join(have, ", "), strings.Join(want, ", "))
	}
	return fmt.Sprintf("~ %s: %s: %d found (%s), expected %d (%s)", where, k.kind, len(have), strings.Join(have, ", "), len(want), strings.Join(want, ", "))
}
