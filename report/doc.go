// Package report is the last stage of syndiag's pipeline: it renders an
// analyze.Result as a terminal report or as the JSON of the syndiag/v1
// contract. It decides nothing; everything it prints was found by analyze.
// Format (format.go) is an output format as --format names it: it checks
// the name and writes a report, or a triage summary, in that format.
package report
