package report

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
)

// htmlTable is a table the page can sort by any column (with scripts on).
// A column sorts by its cells' Sort keys where they have one, else by
// their text; Numeric columns sort as numbers and align right.
type htmlTable struct {
	ID, Title string
	Header    []string
	Numeric   []bool
	Rows      [][]htmlCell
	Notes     []string
}

type htmlCell struct {
	Text string
	// Sort is the key the column sorts by, when Text does not sort as
	// itself: a number for numeric columns, else a string that compares
	// in the wanted order (see addrKey).
	Sort string
}

func cell(s string) htmlCell       { return htmlCell{Text: s} }
func intCell(n int) htmlCell       { return htmlCell{Text: strconv.Itoa(n)} }
func keyCell(s, k string) htmlCell { return htmlCell{Text: s, Sort: k} }

// addrCell shows an address and sorts it numerically.
func addrCell(s string, a netip.Addr) htmlCell { return keyCell(s, addrKey(a)) }

// addrPortCell shows an address and port and sorts them numerically.
func addrPortCell(s string, ap netip.AddrPort) htmlCell { return keyCell(s, addrPortKey(ap)) }

// addrKey is a key that sorts addresses by value when compared as text,
// which is all the page's script does: IPv4 before IPv6, then IPv4 by its
// octets padded to three digits ("4 198.018.030.011"), IPv6 by its eight
// groups padded to four hex digits (netip's StringExpanded), then the zone.
func addrKey(a netip.Addr) string {
	if !a.IsValid() {
		return "0"
	}
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("4 %03d.%03d.%03d.%03d", b[0], b[1], b[2], b[3])
	}
	k := "6 " + a.WithZone("").StringExpanded()
	if z := a.Zone(); z != "" {
		k += "%" + z
	}
	return k
}

// addrPortKey is addrKey and the port padded to five digits.
func addrPortKey(ap netip.AddrPort) string {
	return fmt.Sprintf("%s:%05d", addrKey(ap.Addr()), ap.Port())
}

// sourceTable lists the client source addresses.
func sourceTable(res *analyze.Result) htmlTable {
	t := htmlTable{ID: "sources", Title: fmt.Sprintf("Sources (%s, as each capture sees them)", wording.Plural(len(res.Sources), "client address"))}
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
		row := []htmlCell{addrCell(s.IP.String(), s.IP), intCell(s.Attempts), intCell(s.Failed), intCell(s.Retransmitted), keyCell(clocks, strconv.Itoa(s.TimestampClocks)), cell(s.Verdict)}
		if multi {
			row = append([]htmlCell{cell(captureName(res.Captures[s.Capture].Path))}, row...)
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
			cell(wording.Clock(a.FirstSYN())), cell(num(tb.x(a.Capture, a.FirstSYN()))),
			addrPortCell(client, a.Client), addrPortCell(a.Server.String(), a.Server), cell(string(a.Outcome)), intCell(len(a.SYNs)),
			cell(a.SYNOffsets()), connect, cell(string(a.Cause)),
		}
		if j {
			lost := string(a.LostAt)
			if lost == "" {
				lost = "-"
			}
			row = append(row, cell(lost))
		}
		if len(res.Captures) > 1 {
			row = append([]htmlCell{cell(captureName(res.Captures[a.Capture].Path))}, row...)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
