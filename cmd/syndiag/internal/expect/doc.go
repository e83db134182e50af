// Package expect is syndiag's --expect: it takes the findings of a run, or
// reads them from a saved output (an analyze JSON report, or triage JSON or
// JSON lines, through package report's own types), and lists how the run's
// findings differ from the saved ones. Only the diagnosis is compared —
// which kinds were found, at which severity, in which capture of which
// case — not the evidence or the wording, which may improve without it
// changing.
package expect
