package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/syndiag/syndiag/analyze"
)

// TestWideNames checks that a long capture name is cut from the front to
// fit a terminal's column, and kept whole with Wide, in the captures table
// and in the Capture column of a joined report.
func TestWideNames(t *testing.T) {
	const long = "uploads/acme-1234/customer-lb-2026-11-20-after-the-reboot-client.pcap"
	const longServer = "uploads/acme-1234/customer-lb-2026-11-20-after-the-reboot-server.pcap"
	c := readInput(t, "../testdata/join/nat-client.pcap", analyze.RoleClient)
	s := readInput(t, "../testdata/join/nat-server.pcap", analyze.RoleServer)
	c.Path, s.Path = long, longServer
	res := analyze.Analyze([]analyze.Input{c, s})
	tests := []struct {
		desc   string
		opt    Options
		has    []string
		hasNot []string
	}{
		{"cut", Options{}, []string{"…er-the-reboot-client.pcap  pcap", "…-the-reboot-server.pcap  198.18.31.2:8080"}, []string{"customer-lb-2026-11-20-after-the-reboot-client.pcap  pcap"}},
		{"wide", Options{Wide: true}, []string{"customer-lb-2026-11-20-after-the-reboot-client.pcap  pcap", "customer-lb-2026-11-20-after-the-reboot-server.pcap  198."}, []string{"…"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var b bytes.Buffer
			if err := Text(&b, res, tc.opt); err != nil {
				t.Fatal(err)
			}
			// The tables only: the findings and notes may say the name too.
			tables := tableLines(b.String())
			for _, s := range tc.has {
				if !strings.Contains(tables, s) {
					t.Errorf("tables lack %q:\n%s", s, tables)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(tables, s) {
					t.Errorf("tables have %q:\n%s", s, tables)
				}
			}
		})
	}
}

// tableLines keeps the lines of a terminal report that are table rows:
// from a header underline to the next line that starts with a space or is
// empty.
func tableLines(s string) string {
	var out []string
	in := false
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(l, "─"):
			in = true
		case l == "" || strings.HasPrefix(l, " "):
			in = false
		case in:
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
