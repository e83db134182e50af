package report

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/syndiag/syndiag/analyze"
)

// htmlTable is a table the page can sort by any column (with scripts on);
// Numeric columns sort by their cells' Sort keys and align right.
type htmlTable struct {
	ID, Title string
	Header    []string
	Numeric   []bool
	Rows      [][]htmlCell
	Notes     []string
}

type htmlCell struct {
	Text string
	Sort string // the key a numeric column sorts by, when Text is not a number
}

func cell(s string) htmlCell       { return htmlCell{Text: s} }
func intCell(n int) htmlCell       { return htmlCell{Text: strconv.Itoa(n)} }
func keyCell(s, k string) htmlCell { return htmlCell{Text: s, Sort: k} }

// sourceTable lists the client source addresses.
func sourceTable(res *analyze.Result) htmlTable {
	t := htmlTable{ID: "sources", Title: fmt.Sprintf("Sources (%s, as each capture sees them)", plural(len(res.Sources), "client address"))}
	multi := len(res.Captures) > 1
	t.Header = []string{"Address", "Attempts", "Failed", "SYN retx", "Timestamp clocks", "TCP timestamps"}
	t.Numeric = []bool{false, true, true, true, true, false}
	if multi {
		t.Header = append([]string{"Capture"}, t.Header...)
		t.Numeric = append([]bool{false}, t.Numeric...)
	}
	for i, s := range res.Sources {
		if i == maxSourceRows {
			t.Notes = append(t.Notes, fmt.Sprintf("… and %d more (all of them are in --format json).", len(res.Sources)-maxSourceRows))
			break
		}
		clocks := "-"
		if s.TSvalMonotonic != nil {
			clocks = strconv.Itoa(s.TimestampClocks)
		}
		row := []htmlCell{keyCell(s.IP.String(), ""), intCell(s.Attempts), intCell(s.Failed), intCell(s.Retransmitted), keyCell(clocks, strconv.Itoa(s.TimestampClocks)), cell(s.Verdict)}
		if multi {
			row = append([]htmlCell{cell(filepath.Base(res.Captures[s.Capture].Path))}, row...)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// attemptTable lists the worst attempts, in the terminal report's order:
// the most SYNs sent, failures before delays, the longest wait, the
// earliest.
func attemptTable(res *analyze.Result, tb timebase) htmlTable {
	var worst []int
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if a.Outcome.Failed() || a.Retransmissions() > 0 {
			worst = append(worst, i)
		}
	}
	slices.SortStableFunc(worst, func(i, j int) int {
		a, b := &res.Attempts[i], &res.Attempts[j]
		return cmp.Or(
			-cmp.Compare(len(a.SYNs), len(b.SYNs)),
			-cmp.Compare(boolInt(a.Outcome.Failed()), boolInt(b.Outcome.Failed())),
			-cmp.Compare(a.ConnectTime, b.ConnectTime),
			cmp.Compare(a.FirstSYN(), b.FirstSYN()),
		)
	})
	t := htmlTable{ID: "attempts", Title: fmt.Sprintf("Worst attempts: failed or needed a SYN retransmission (%d)", len(worst))}
	t.Header = []string{"First SYN (UTC)", "t (s)", "Client", "Server", "Outcome", "SYNs", "SYN times (s after the first)", "Connect (s)", "Cause"}
	t.Numeric = []bool{false, true, false, false, false, true, false, true, false}
	j := joined(res)
	if j {
		t.Header = append(t.Header, "Lost at")
		t.Numeric = append(t.Numeric, false)
	}
	if len(res.Captures) > 1 {
		t.Header = append([]string{"Capture"}, t.Header...)
		t.Numeric = append([]bool{false}, t.Numeric...)
	}
	for _, i := range worst {
		if len(t.Rows) == maxAttemptRows {
			t.Notes = append(t.Notes, fmt.Sprintf("… and %d more (all of them are in --format json).", len(worst)-maxAttemptRows))
			break
		}
		a := &res.Attempts[i]
		connect := keyCell("-", "-1")
		if a.ConnectTime >= 0 {
			connect = cell(strconv.FormatFloat(a.ConnectTime, 'f', 3, 64))
		}
		client := a.Client.String()
		if a.ClientSeenAs.IsValid() {
			client += " (seen as " + a.ClientSeenAs.String() + ")"
		}
		row := []htmlCell{
			cell(analyze.Clock(a.FirstSYN())), cell(num(tb.x(a.Capture, a.FirstSYN()))),
			cell(client), cell(a.Server.String()), cell(string(a.Outcome)), intCell(len(a.SYNs)),
			cell(a.SYNOffsets()), connect, cell(a.Cause),
		}
		if j {
			lost := a.LostAt
			if lost == "" {
				lost = "-"
			}
			row = append(row, cell(lost))
		}
		if len(res.Captures) > 1 {
			row = append([]htmlCell{cell(filepath.Base(res.Captures[a.Capture].Path))}, row...)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
