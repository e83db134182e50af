package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

const join = "../../testdata/join/"

// TestJoinCommand runs the two-capture forms of analyze: the sides given
// with --client and --server, the sides inferred from two plain files, and
// two captures of different traffic, which are reported apart.
func TestJoinCommand(t *testing.T) {
	type doc struct {
		ClockOffset *struct {
			ServerMinusClient float64 `json:"server_minus_client_s"`
			Uncertainty       float64 `json:"uncertainty_s"`
			Matched           int     `json:"matched"`
		} `json:"clock_offset"`
		Attempts []struct {
			Capture      int     `json:"capture"`
			ClientSeenAs *string `json:"client_seen_as"`
			LostAt       string  `json:"lost_at"`
		} `json:"attempts"`
		Join *struct {
			ClientCapture int `json:"client_capture"`
		} `json:"join"`
		Findings []struct {
			Kind string `json:"kind"`
		} `json:"findings"`
	}
	tests := []struct {
		desc    string
		args    []string
		joined  bool
		stderr  string
		matched int
	}{
		{desc: "flags", args: []string{"--client", join + "nat-client.pcap", "--server", join + "nat-server.pcap"}, joined: true, matched: 24},
		{desc: "inferred", args: []string{join + "nat-server.pcap", join + "nat-client.pcap"}, joined: true, matched: 24,
			stderr: "nat-client.pcap: client side, inferred: SYNs at their initial TTL"},
		{desc: "different traffic", args: []string{"--client", join + "nat-client.pcap", "--server", lab + "established.pcap"},
			stderr: "not joining the captures: the captures share 0 handshake attempts"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, append([]string{"--format", "json"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit code %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.stderr, stderr)
			}
			var d doc
			if err := json.Unmarshal([]byte(stdout), &d); err != nil {
				t.Fatal(err)
			}
			if !tc.joined {
				if d.ClockOffset != nil {
					t.Errorf("clock_offset %+v, want null", *d.ClockOffset)
				}
				for _, a := range d.Attempts {
					if a.LostAt != "unknown" || a.ClientSeenAs != nil {
						t.Fatalf("attempt lost_at %q, client_seen_as %v: want unknown and null", a.LostAt, a.ClientSeenAs)
					}
				}
				return
			}
			if d.ClockOffset == nil {
				t.Fatal("clock_offset null")
			}
			if o := d.ClockOffset; math.Abs(o.ServerMinusClient-3.25) > 0.003 || o.Matched != tc.matched {
				t.Errorf("clock_offset %+v, want 3.25 s and %d matched", *o, tc.matched)
			}
			lost := map[string]int{}
			for _, a := range d.Attempts {
				lost[a.LostAt]++
				if a.LostAt != "unknown" && a.LostAt != "none" && a.ClientSeenAs == nil && a.Capture == d.Join.ClientCapture {
					t.Errorf("a client-side attempt lost %s without client_seen_as", a.LostAt)
				}
			}
			if lost["client_to_server"] == 0 || lost["server_to_client"] == 0 || lost["unknown"] != 0 {
				t.Errorf("lost_at counts %v", lost)
			}
			kinds := map[string]bool{}
			for _, f := range d.Findings {
				kinds[f.Kind] = true
			}
			if !kinds["path_drop_to_server"] || !kinds["path_drop_to_client"] || kinds["accept_queue_overflow"] {
				t.Errorf("finding kinds %v: want both path drops and no accept_queue_overflow", kinds)
			}
		})
	}
}
