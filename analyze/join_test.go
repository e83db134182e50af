package analyze

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/syndiag/syndiag/flows"
)

// joined reads a client-side and a server-side capture and analyzes them
// together, with their roles given.
func joined(t *testing.T, client, server string) *Result {
	t.Helper()
	c, s := readInput(t, client), readInput(t, server)
	c.Role, s.Role = RoleClient, RoleServer
	res := Analyze([]Input{c, s})
	if res.Join == nil {
		t.Fatal("no join")
	}
	if res.Join.Problem != "" {
		t.Fatalf("join: %s", res.Join.Problem)
	}
	return res
}

// TestJoinNATLab joins testdata/join's real-kernel captures, taken on the
// client LAN and at the server behind a MASQUERADE router that drops every
// 4th SYN on the way in and every 3rd SYN-ACK on the way back, with the
// server capture shifted by a known amount: the offset must come out within
// a few milliseconds of it and every SYN transmission be localized as
// truth.tsv says.
func TestJoinNATLab(t *testing.T) {
	dir := filepath.Join("..", "testdata", "join")
	res := joined(t, filepath.Join(dir, "nat-client.pcap"), filepath.Join(dir, "nat-server.pcap"))
	f, err := os.Open(filepath.Join(dir, "truth.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]LostAt{} // "client isn tsval" → lost_at
	var shift float64
	counts := map[LostAt]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		switch {
		case c[0] == "# clock_shift_s":
			shift, _ = strconv.ParseFloat(c[1], 64)
		case strings.HasPrefix(c[0], "#") || c[0] == "client":
		default:
			want[c[0]+" "+c[2]+" "+c[3]] = LostAt(c[5])
			counts[LostAt(c[5])]++
		}
	}
	j := res.Join
	if d := math.Abs(j.Offset - shift); d > 0.003 {
		t.Errorf("offset %.6f s, want %.2f ± 0.003 (uncertainty %.6f)", j.Offset, shift, j.Uncertainty)
	}
	t.Logf("offset %.6f s (truth %.2f, error %.1f µs), uncertainty %.6f s, %d attempts matched, %d handshakes both ways",
		j.Offset, shift, 1e6*math.Abs(j.Offset-shift), j.Uncertainty, j.Matched, j.Handshakes)
	got := map[string]LostAt{}
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if a.Capture != j.Client {
			continue
		}
		for k, s := range a.SYNs {
			lost := LostUnknown
			if a.SYNLostAt != nil {
				lost = a.SYNLostAt[k]
			}
			got[fmt.Sprintf("%s %d %d", a.Client, a.ISN, s.Opts.TSval)] = lost
		}
	}
	for _, k := range sortedKeys(want, strings.Compare) {
		if got[k] != want[k] {
			t.Errorf("SYN %s: lost_at %q, want %q", k, got[k], want[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d SYN transmissions in the client capture, truth has %d", len(got), len(want))
	}
	t.Logf("%d SYN transmissions localized: %v", len(want), counts)
	kinds := map[Kind]int{}
	for _, f := range res.Findings {
		kinds[f.Kind] = f.AffectedAttempts
	}
	if counts[LostClientToServer] > 0 && kinds[KindPathDropToServer] == 0 {
		t.Errorf("no %s finding", KindPathDropToServer)
	}
	if counts[LostServerToClient] > 0 && kinds[KindPathDropToClient] == 0 {
		t.Errorf("no %s finding", KindPathDropToClient)
	}
	publics := map[string]bool{}
	for _, e := range j.NAT {
		publics[e.Public.Addr().String()] = true
		if e.SharedWith != 2 {
			t.Errorf("NAT %s → %s: shared with %d other hosts, want 2", e.Private, e.Public, e.SharedWith)
		}
	}
	if len(publics) != 1 || len(j.NAT) != j.Matched {
		t.Errorf("NAT table: %d public addresses, %d entries for %d matches", len(publics), len(j.NAT), j.Matched)
	}
}

// TestJoinPAWS joins the PAWS generator's two views of paws-nat (the client
// LAN and the server, one clock): every attempt is matched and the per-host
// PAWS finding names exactly the private hosts whose SYNs the generator's
// kernel dropped.
func TestJoinPAWS(t *testing.T) {
	dir := filepath.Join("..", "testdata", "paws")
	res := joined(t, filepath.Join(dir, "paws-nat-client.pcap"), filepath.Join(dir, "paws-nat.pcap"))
	j := res.Join
	if math.Abs(j.Offset) > 0.003 {
		t.Errorf("offset %.6f s, want 0 (one clock)", j.Offset)
	}
	f, err := os.Open(filepath.Join(dir, "truth.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	locked := map[string]bool{}
	attempts := map[string]bool{}
	dropped := map[string]bool{} // "private isn syn" → the kernel dropped it
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if c[0] != "paws-nat" {
			continue
		}
		attempts[c[4]] = true
		dropped[c[2]+" "+c[4]+" "+c[5]] = c[9] == "true"
		if c[9] == "true" {
			locked[c[1]] = true
		}
	}
	if j.Matched != len(attempts) {
		t.Errorf("%d attempts matched, truth has %d", j.Matched, len(attempts))
	}
	// Every SYN the generator's kernel dropped died in the server; every
	// other one was answered.
	syns := 0
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if a.Capture != j.Client {
			continue
		}
		for k, l := range a.SYNLostAt {
			d, ok := dropped[fmt.Sprintf("%s %d %d", a.Client, a.ISN, k)]
			if !ok {
				t.Errorf("%s ISN %d SYN %d: not in truth.tsv", a.Client, a.ISN, k)
			}
			if want := map[bool]LostAt{true: LostServer, false: LostNone}[d]; l != want {
				t.Errorf("%s ISN %d SYN %d: lost_at %s, want %s", a.Client, a.ISN, k, l, want)
			}
			syns++
		}
	}
	if syns != len(dropped) {
		t.Errorf("%d SYNs localized, truth has %d", syns, len(dropped))
	}
	var got []string
	for _, f := range res.Findings {
		if f.Kind == KindPerHostPAWS {
			for _, h := range f.LockedOut {
				got = append(got, h.String())
			}
		}
	}
	want := sortedKeys(locked, strings.Compare)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("locked-out hosts %v, want %v", got, want)
	}
}

// TestJoinOutcome checks what analyze says of two captures: joined, or why
// not, in the one sentence every view prints.
func TestJoinOutcome(t *testing.T) {
	lab, join := filepath.Join("..", "testdata", "lab"), filepath.Join("..", "testdata", "join")
	read := func(path string, role Role) Input {
		if path == "" {
			// No attempts: nothing tells the capture's side.
			return Input{Path: "empty.pcap", Role: role, Capture: &flows.Capture{}}
		}
		in := readInput(t, path)
		in.Role = role
		return in
	}
	tests := []struct {
		desc         string
		a, b         string
		roleA, roleB Role // RoleUnknown: inferred
		want         JoinOutcome
		pair         bool
		problem      string
	}{
		{"joined", filepath.Join(join, "nat-client.pcap"), filepath.Join(join, "nat-server.pcap"), RoleClient, RoleServer, Joined, true, ""},
		{"no overlap", filepath.Join(join, "nat-client.pcap"), filepath.Join(lab, "established.pcap"), RoleClient, RoleServer, JoinNoOverlap, true,
			"the captures share 0 handshake attempts (by ISN, server port and TCP timestamp): they do not overlap in time or hold different traffic, so each is reported on its own"},
		{"both server-side, inferred", filepath.Join(lab, "closed-port.pcap"), filepath.Join(lab, "icmp-reject.pcap"), RoleUnknown, RoleUnknown, JoinSameSide, false,
			"both captures are server-side, by their TTLs; each is reported on its own"},
		{"both client-side, given", filepath.Join(lab, "closed-port-client.pcap"), filepath.Join(lab, "icmp-reject-client.pcap"), RoleClient, RoleClient, JoinSameSide, false,
			"both captures are client-side; each is reported on its own"},
		{"side unknown", filepath.Join(lab, "closed-port.pcap"), "", RoleUnknown, RoleUnknown, JoinSideUnknown, false,
			"a join needs one client-side and one server-side capture, and the TTLs do not tell which is which; each is reported on its own"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			res := Analyze([]Input{read(tc.a, tc.roleA), read(tc.b, tc.roleB)})
			j := res.Join
			if j == nil {
				t.Fatal("Join is nil for two captures")
			}
			if j.Outcome != tc.want || j.Problem != tc.problem || res.Joined() != (tc.want == Joined) {
				t.Errorf("outcome %q, problem %q, joined %v; want %q, %q", j.Outcome, j.Problem, res.Joined(), tc.want, tc.problem)
			}
			if pair := j.Client >= 0 && j.Server >= 0; pair != tc.pair || (j.Client < 0) != (j.Server < 0) {
				t.Errorf("client capture %d, server capture %d; want a pair: %v", j.Client, j.Server, tc.pair)
			}
			for _, q := range res.AcceptQueues {
				if res.Joined() && q.Capture == j.Client {
					t.Errorf("an accept queue modelled in the joined client capture: %s", q.Server)
				}
			}
		})
	}
}
