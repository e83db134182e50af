package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows"
)

// TestUndecodedNotes reads hand-made captures of frames flows does not
// decode, or decodes in part, and checks the note every report has under
// its capture table, and the JSON counts.
func TestUndecodedNotes(t *testing.T) {
	tests := []struct {
		file  string
		notes []string // in the terminal report, one a line
		json  map[string]int64
	}{
		{
			file: "undecoded.pcapng",
			notes: []string{
				"undecoded.pcapng: 19 frames not decoded: 4 not IP, 2 link-layer headers cut short or invalid, 2 IP lengths shorter than their headers, 2 IP but not TCP, 2 TCP headers cut by the snap length, 1 of a link type syndiag does not decode, 1 ARP, 1 IP header cut by the snap length, 1 bad IP version, 1 IPv4 header length under 20 bytes, 1 IP fragment without a TCP header, 1 TCP header length under 20 bytes",
				"undecoded.pcapng: 2 frames decoded in part: 1 with TCP options cut by the snap length, 1 with a TCP header longer than its packet",
			},
			json: map[string]int64{
				"link_type": 1, "link_header": 2, "arp": 1, "not_ip": 4, "ip_header_cut": 1, "ip_bad_version": 1, "ip_bad_ihl": 1,
				"ip_bad_length": 2, "not_tcp": 2, "ip_fragment": 1, "tcp_header_cut": 2, "tcp_bad_offset": 1, "tcp_options_cut": 1, "tcp_offset_past_packet": 1,
			},
		},
		{
			file:  "snaplen-cut.pcap",
			notes: []string{"snaplen-cut.pcap: 4 frames decoded in part: 4 with TCP options cut by the snap length"},
			json:  map[string]int64{"tcp_options_cut": 4},
		},
		{file: "handshake.pcap"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			in := readInput(t, "../flows/testdata/edge/"+tc.file, analyze.RoleUnknown)
			res := analyze.Analyze([]analyze.Input{in})
			var text, md, html, js bytes.Buffer
			if err := Text(&text, res, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := Markdown(&md, res, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := HTML(&html, res, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := JSON(&js, res); err != nil {
				t.Fatal(err)
			}
			got := notesAbout(text.String(), tc.file+": ", " decoded")
			if strings.Join(got, "\n") != strings.Join(tc.notes, "\n") {
				t.Errorf("notes:\n got %q\nwant %q", got, tc.notes)
			}
			for _, n := range tc.notes {
				// Markdown and HTML say the same, with the name in
				// backquotes or escaped.
				_, rest, _ := strings.Cut(n, ": ")
				if !strings.Contains(md.String(), rest) || !strings.Contains(html.String(), rest) {
					t.Errorf("markdown or HTML lacks %q", rest)
				}
			}
			var doc struct {
				Captures []struct {
					Packets, Decoded, FilteredOut int64
					Undecoded                     map[string]int64
				}
			}
			if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			c := doc.Captures[0]
			if len(c.Undecoded) != flows.NumReasons {
				t.Errorf("JSON undecoded has %d keys, want all %d", len(c.Undecoded), flows.NumReasons)
			}
			var frames int64
			for k, n := range c.Undecoded {
				if n != tc.json[k] {
					t.Errorf("JSON undecoded.%s = %d, want %d", k, n, tc.json[k])
				}
				if k != "tcp_options_cut" && k != "tcp_offset_past_packet" {
					frames += n
				}
			}
			if c.Decoded+frames+c.FilteredOut != c.Packets {
				t.Errorf("JSON: %d decoded + %d undecoded + %d filtered out, of %d packets", c.Decoded, frames, c.FilteredOut, c.Packets)
			}
		})
	}
}

// notesAbout returns the lines of a terminal report that start with
// prefix (after the indent) and contain substr, with their wrapped
// continuation lines joined.
func notesAbout(s, prefix, substr string) []string {
	var out []string
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimLeft(lines[i], " •-")
		if !strings.HasPrefix(l, prefix) || !strings.Contains(l, substr) {
			continue
		}
		indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " •-"))
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) >= indent && !strings.HasPrefix(strings.TrimLeft(lines[i+1], " "), "•") && !strings.HasPrefix(strings.TrimLeft(lines[i+1], " "), "- ") {
			i++
			l += " " + strings.TrimSpace(lines[i])
		}
		out = append(out, l)
	}
	return out
}

// TestReasonWords checks that every reason flows counts has words.
func TestReasonWords(t *testing.T) {
	for r := range flows.Reason(flows.NumReasons) {
		if w := reasonWords[r]; w[0] == "" || w[1] == "" {
			t.Errorf("reason %v has no words", r)
		}
	}
}
