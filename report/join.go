package report

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
)

// join lays out what joining a client and a server capture found: the clock
// offset, a section per place SYNs were lost, and the NAT table. Nothing is
// written for a single capture.
func join(p *page, res *analyze.Result) {
	j := res.Join
	if j == nil {
		return
	}
	if !res.Joined() {
		if j.Client >= 0 {
			p.heading("Client and server captures: not joined")
		} else {
			p.heading("Captures not joined")
		}
		p.text(2, fmt.Sprintf("Not joined: %s.", j.Problem))
		p.gap()
		return
	}
	p.heading("Client and server captures joined")
	p.text(2, fmt.Sprintf("Client side: %s; server side: %s.", DisplayName(filepath.Base(res.Captures[j.Client].Path)), DisplayName(filepath.Base(res.Captures[j.Server].Path))))
	p.text(2, fmt.Sprintf("Clock offset (server minus client): %+.6f s ± %.6f s, from %s, %s seen both ways.",
		j.Offset, j.Uncertainty, wording.Plural(j.Matched, "matched attempt"), wording.Plural(j.Handshakes, "handshake")))
	p.text(2, "Times below are the client capture's.")
	p.gap()
	for _, sec := range []struct {
		lost  analyze.LostAt
		title string
	}{
		{analyze.LostClientToServer, "SYNs lost on the way to the server (seen at the client, never at the server)"},
		{analyze.LostServer, "SYNs lost in the server (seen at the server, no answer)"},
		{analyze.LostServerToClient, "SYNs whose SYN-ACK was lost on the way back (answered at the server, never seen at the client)"},
	} {
		type lost struct {
			t   int64
			row []string
		}
		var ls []lost
		for i := range res.Attempts {
			a := &res.Attempts[i]
			for k, l := range a.SYNLostAt {
				if l != sec.lost {
					continue
				}
				seen := "-"
				if a.ClientSeenAs.IsValid() {
					seen = a.ClientSeenAs.String()
				}
				ls = append(ls, lost{a.SYNs[k].Time, []string{time.Unix(0, a.SYNs[k].Time).UTC().Format("15:04:05.000000"), a.Client.String(), seen,
					a.Server.String(), strconv.FormatUint(uint64(a.ISN), 10), strconv.Itoa(k + 1)}})
			}
		}
		if len(ls) == 0 {
			continue
		}
		slices.SortStableFunc(ls, func(a, b lost) int { return cmp.Compare(a.t, b.t) })
		rows := make([][]string, len(ls))
		for i, l := range ls {
			rows[i] = l.row
		}
		p.heading(fmt.Sprintf("%s: %d", sec.title, len(rows)))
		p.table([]string{"Time (UTC)", "Client", "Seen as", "Server", "ISN", "SYN #"}, rows, 4, 5)
		p.gap()
	}
	if len(j.NAT) == 0 {
		return
	}
	p.heading("NAT table (client host:port → as the server saw it)")
	var rows [][]string
	for _, e := range j.NAT {
		rows = append(rows, []string{e.Private.String(), e.Public.String(), strconv.Itoa(e.SharedWith)})
	}
	p.table([]string{"Client", "Seen as", "Other hosts on that IP"}, rows, 2)
	p.gap()
}
