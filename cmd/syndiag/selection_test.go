package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestSelection runs the selection flags on the lab capture with every
// outcome and checks which attempts' servers are left.
func TestSelection(t *testing.T) {
	const file = "../../testdata/lab/mixed-failures.pcap"
	tests := []struct {
		desc string
		args []string
		want []string // the servers of the attempts, in order
	}{
		{"filter flag", []string{"-Y", "port 8081", file}, []string{"198.18.2.2:8081", "[2001:2:0:2::2]:8081"}},
		{"trailing filter", []string{file, "port", "8081"}, []string{"198.18.2.2:8081", "[2001:2:0:2::2]:8081"}},
		{"trailing filter in one word", []string{file, "ip6 and (port 8081 || port 8080)"}, []string{"[2001:2:0:2::2]:8080", "[2001:2:0:2::2]:8081"}},
		{"filter keeps ICMP errors", []string{file, "--filter", "tcp dst port 8083"}, []string{"198.18.2.2:8083"}},
		{"listener with port", []string{"--listener", "198.18.2.2:8082", file}, []string{"198.18.2.2:8082"}},
		{"listener IPv6", []string{"--listener", "2001:2:0:2::2", file}, []string{"[2001:2:0:2::2]:8080", "[2001:2:0:2::2]:8081"}},
		{"since offset", []string{"--since", "+1.5s", file}, []string{"198.18.2.2:8080", "198.18.2.2:8082", "[2001:2:0:2::2]:8080", "[2001:2:0:2::2]:8081"}}, // 8082's SYN retransmissions come later
		{"until offset", []string{"--until", "500ms", file}, []string{"198.18.2.2:8080", "198.18.2.2:8081", "198.18.2.2:8080"}},
		{"since RFC 3339", []string{"--since", "2026-11-21T06:51:17.9Z", file}, []string{"198.18.2.2:8082", "[2001:2:0:2::2]:8081"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(append([]string{"-f", "json"}, tt.args...), strings.NewReader(""), &out, &errb); code != exitOK {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			var rep struct {
				Attempts []struct{ Server string }
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range rep.Attempts {
				got = append(got, a.Server)
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("servers %v, want %v", got, want)
			}
		})
	}
}

// TestSelectionErrors checks that a bad selection exits 2 and says where.
func TestSelectionErrors(t *testing.T) {
	const file = "../../testdata/lab/mixed-failures.pcap"
	tests := []struct {
		desc string
		args []string
		want string
	}{
		{"bad word", []string{"-Y", "port http", file}, `offset 5 ("http")`},
		{"ends early", []string{file, "tcp", "port", "8080", "and"}, "offset 17 (end of expression)"},
		{"twice", []string{"-Y", "tcp", file, "port", "1"}, "given twice"},
		{"since", []string{"--since", "yesterday", file}, "--since yesterday"},
		{"until negative", []string{"--until", "-5s", file}, "--until -5s"},
		{"listener", []string{"--listener", "example.com", file}, "--listener"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, strings.NewReader(""), &out, &errb); code != exitUsage {
				t.Fatalf("exit %d, want %d: %s", code, exitUsage, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q does not name %q", errb.String(), tt.want)
			}
		})
	}
}

// TestSelectionSaid: a report of a selection says how much of the capture
// it left out, in the terminal and in the JSON.
func TestSelectionSaid(t *testing.T) {
	const file = "../../testdata/lab/mixed-failures.pcap"
	code, stdout, stderr := runCmd(t, "-Y", "port 8081", file)
	if code != exitOK || !strings.Contains(strings.Join(strings.Fields(stdout), " "), "frames of 64 left out by the packet selection") {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-f", "json", "-Y", "port 8081", file}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep struct {
		Captures []struct {
			Packets     int64 `json:"packets"`
			FilteredOut int64 `json:"filtered_out"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if c := rep.Captures[0]; c.FilteredOut == 0 || c.FilteredOut >= c.Packets {
		t.Errorf("filtered_out %d of %d packets", c.FilteredOut, c.Packets)
	}
}

// TestTriageSelection: triage takes the same selection, as a flag or after
// the paths, and applies it to every case.
func TestTriageSelection(t *testing.T) {
	const dir = "../../testdata/lab"
	for _, args := range [][]string{
		{"triage", "--progress", "never", "-f", "jsonl", "-Y", "port 8081", dir},
		{"triage", "--progress", "never", "-f", "jsonl", dir, "port", "8081"},
	} {
		code, stdout, stderr := runCmd(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var c struct {
				Case     string
				Attempts int
				Findings []struct{ Kind string }
			}
			if err := json.Unmarshal([]byte(line), &c); err != nil {
				t.Fatal(err)
			}
			for _, f := range c.Findings {
				if f.Kind != "refused" {
					t.Errorf("%v: %s: %s beside the refusals of port 8081, the only port selected", args, c.Case, f.Kind)
				}
			}
		}
	}
	if code, _, stderr := runCmd(t, "triage", "-Y", "port http", dir); code != exitUsage || !strings.Contains(stderr, `offset 5 ("http")`) {
		t.Errorf("bad filter: exit %d, %s", code, stderr)
	}
}
