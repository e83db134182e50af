// Package report is the last stage of syndiag's pipeline: it renders an
// analyze.Result as a terminal or Markdown report, as the JSON of the
// syndiag/v1 contract, or as a self-contained HTML page with charts, and a
// triage run's cases as a table, JSON lines or an HTML index.
//
// It decides nothing: everything it prints was found by analyze and is in
// the Result (the findings, the join's outcome and why two captures were
// not joined, the per-host PAWS replay and the accept-queue models the
// charts draw), so the HTML report holds nothing the JSON does not. What
// report chooses is presentation: the order of sections, how many rows and
// points fit on a page, and the words around the figures, which it writes
// with analyze/wording as analyze does. Format (format.go) is an output
// format as --format names it: it checks the name and writes a report, or a
// triage summary, in that format.
//
// The HTML pages are written through report/internal/markup, whose writer
// takes only constant formats and escapes every string it is given: a
// capture's name, a finding or a case cannot become markup.
package report
