package analyze

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/syndiag/syndiag/flows"
)

// tupleTruth reads testdata/path/tuple-blackhole/truth.tsv, which make.sh
// wrote from what each attempt did: per client endpoint, its SYNs in each
// capture and what the scenario expects of it.
func tupleTruth(t *testing.T, dir string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "truth.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	truth := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n")[1:] { // after the header
		if c := strings.Split(line, "\t"); len(c) == 7 && !strings.HasPrefix(c[0], "#") {
			truth[c[0]] = c
		}
	}
	return truth
}

// TestTupleBlackhole checks the real-kernel scenario of one 4-tuple
// black-holed (testdata/path/tuple-blackhole): 198.18.152.2:41000 dropped
// on the router (only the client capture sees its SYNs), :41100 dropped on
// the server (both do), while other ports of the same host connect at once;
// and the negative control, every SYN to port 8081 dropped by the server,
// which stays a silent drop.
func TestTupleBlackhole(t *testing.T) {
	dir := filepath.Join("..", "testdata", "path", "tuple-blackhole")
	truth := tupleTruth(t, dir)
	syns := func(client string, col int) string {
		t.Helper()
		c, ok := truth["198.18.152.2:"+client]
		if !ok {
			t.Fatalf("truth.tsv has no %s", client)
		}
		return c[col]
	}
	const inClient, inServer = 4, 5
	tests := []struct {
		file       string
		role       Role
		summary    string
		evidence   []string // substrings of some evidence line; CLOCK, TENTH and MS stand for the figures a new run changes
		tuples     []string // client endpoints tuple_blackhole explains
		confidence float64
	}{
		{"client.pcap", RoleClient,
			fmt.Sprintf("2 4-tuples black-holed: every SYN of each (%d SYNs in all) went unanswered while other attempts from the same host to the same servers, from new ports, connected at once", mustInt(t, syns("41000", inClient))+mustInt(t, syns("41100", inClient))),
			[]string{
				fmt.Sprintf("198.18.152.2:41000 → 198.18.153.2:8080 at CLOCK: %s SYNs lost (SYNs at +0, 1.0, 3.0, 7.TENTH s, none answered; the client gave up), while 6 other attempts from 198.18.152.2 to the same server, from ports 41001, 41002, 41003, 41004, 41005, 41006, connected at their first SYN, the first MS ms after this 4-tuple's first SYN, 4 of them before its last SYN", syns("41000", inClient)),
				fmt.Sprintf("198.18.152.2:41100 → 198.18.153.2:8080 at CLOCK: %s SYNs lost (SYNs at +0, 1.0, 3.0, 7.TENTH s, none answered; the client gave up), while 5 other attempts from 198.18.152.2 to the same server, from ports 41002, 41003, 41004, 41005, 41006, connected at their first SYN, the first MS ms after this 4-tuple's first SYN, 4 of them before its last SYN", syns("41100", inClient)),
				"lost 0 of their 6 SYNs in that period; at that rate (counted as 1 in 8, so few attempts prove little) losing all 4 SYNs of one attempt by chance has a probability of 0.0002",
				"from the client's side the SYNs may have died anywhere on the way",
				"per-host PAWS",
			},
			[]string{"198.18.152.2:41000", "198.18.152.2:41100"}, 0.5},
		{"server.pcap", RoleServer,
			fmt.Sprintf("one 4-tuple black-holed: every one of the %s SYNs of 198.18.152.2:41100 → 198.18.153.2:8080 went unanswered while 5 other attempts from 198.18.152.2 to the same server, from new ports, connected at once", syns("41100", inServer)),
			[]string{
				"from ports 41002, 41003, 41004, 41005, 41006, connected at their first SYN",
				"lost 0 of their 5 SYNs in that period; at that rate (counted as 1 in 7, so few attempts prove little) losing all 4 SYNs of one attempt by chance has a probability of 0.0004",
				"these SYNs reached the server's capture point and the server answered none of them while it answered the same host's other ports",
				"the per-host PAWS replay (tcp_peer_is_proven, kernels < 4.12 with tcp_tw_recycle) drops none of these SYNs",
				"how sure: 1 attempt of a client that retransmitted on a known stack's schedule",
			},
			[]string{"198.18.152.2:41100"}, 0.6},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			res := Analyze([]Input{withRole(readInput(t, filepath.Join(dir, tc.file)), tc.role)})
			f := findingOf(res, KindTupleBlackhole)
			if f == nil {
				t.Fatalf("findings %v, want tuple_blackhole", kinds(res))
			}
			if f.Summary != tc.summary {
				t.Errorf("summary:\n got %q\nwant %q", f.Summary, tc.summary)
			}
			for _, want := range tc.evidence {
				re := regexp.MustCompile(strings.NewReplacer("CLOCK", `\d\d:\d\d:\d\d\.\d{3}`, "TENTH", `\d`, "MS", `\d+`).Replace(regexp.QuoteMeta(want)))
				if !slices.ContainsFunc(f.Evidence, re.MatchString) {
					t.Errorf("no evidence line contains %q; evidence:\n  %s", want, strings.Join(f.Evidence, "\n  "))
				}
			}
			if got := clientsOf(res, f); !slices.Equal(got, tc.tuples) {
				t.Errorf("tuple_blackhole explains %v, want %v", got, tc.tuples)
			}
			if f.Severity != Warning || f.Confidence != tc.confidence {
				t.Errorf("%s, confidence %.2f; want warning, %.2f (too few attempts for critical)", f.Severity, f.Confidence, tc.confidence)
			}
			// The negative control: everything to 8081 dropped by the
			// server is a silent drop, whichever side saw it.
			sd := findingOf(res, KindServerSilentDrop)
			if sd == nil {
				t.Fatalf("findings %v, want server_silent_drop for port 8081", kinds(res))
			}
			if got, want := clientsOf(res, sd), []string{"198.18.152.2:42000", "198.18.152.2:42001"}; !slices.Equal(got, want) {
				t.Errorf("server_silent_drop explains %v, want %v", got, want)
			}
			// The server never saw the SYNs the router dropped: nothing
			// may be said about that 4-tuple there.
			if tc.role == RoleServer {
				for _, a := range res.Attempts {
					if a.Client.Port() == 41000 {
						t.Errorf("server.pcap holds an attempt from %v (truth: %s SYNs there)", a.Client, syns("41000", inServer))
					}
				}
				for _, fd := range res.Findings {
					if strings.Contains(fd.Summary+strings.Join(fd.Evidence, " "), ":41000") {
						t.Errorf("%s speaks of :41000, which the server never saw", fd.Kind)
					}
				}
			}
		})
	}
}

// TestTupleBlackholeJoined: with both captures joined, each capture keeps
// its own tuple_blackhole, and the silent drop of port 8081 stays.
func TestTupleBlackholeJoined(t *testing.T) {
	dir := filepath.Join("..", "testdata", "path", "tuple-blackhole")
	res := Analyze([]Input{withRole(readInput(t, filepath.Join(dir, "client.pcap")), RoleClient), withRole(readInput(t, filepath.Join(dir, "server.pcap")), RoleServer)})
	if !res.Joined() {
		t.Fatalf("not joined: %+v", res.Join)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s@%d %v", f.Kind, f.Capture, clientsOf(res, &f)))
	}
	want := []string{
		"server_silent_drop@1 [198.18.152.2:42000 198.18.152.2:42001]",
		"tuple_blackhole@0 [198.18.152.2:41000 198.18.152.2:41100]",
		"tuple_blackhole@1 [198.18.152.2:41100]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %v\nwant %v", got, want)
	}
}

// TestTupleBlackholeNegatives builds one host's attempts to one server and
// checks what must not pass for a black-holed 4-tuple.
func TestTupleBlackholeNegatives(t *testing.T) {
	// at makes an attempt from port with SYNs at the given seconds; a
	// SYN-ACK answers the SYN at index answered (-1: none) 1 ms later, and
	// the client acknowledges it.
	at := func(port uint16, answered int, syns ...float64) *flows.Attempt {
		a := &flows.Attempt{Client: netip.AddrPortFrom(netip.MustParseAddr("198.18.152.2"), port), Server: netip.MustParseAddrPort("198.18.153.2:8080"), ISN: uint32(port) * 1000}
		for _, s := range syns {
			a.SYNs = append(a.SYNs, flows.Transmission{Time: int64(s * 1e9), TTL: 64})
		}
		if answered >= 0 {
			t := a.SYNs[answered].Time + 1e6
			a.SYNACKs = []flows.Transmission{{Time: t, TTL: 63}}
			a.ThirdACK = t + 1e6
		}
		return a
	}
	stuck := func() *flows.Attempt { return at(41000, -1, 0, 1, 3, 7) }
	tests := []struct {
		name     string
		attempts []*flows.Attempt
		last     float64 // the capture's last packet, in seconds
		cause    Kind    // of :41000
	}{
		{"black-holed", []*flows.Attempt{stuck(), at(41001, 0, 0.5), at(41002, 0, 2), at(41003, 0, 4)}, 30, KindTupleBlackhole},
		// The server came back after the stuck attempt's last SYN: it
		// would have got through too with one more.
		{"server back after its last SYN", []*flows.Attempt{stuck(), at(41001, 0, 8), at(41002, 0, 10)}, 30, KindServerSilentDrop},
		// The other ports lose SYNs too: 2 of 5, and losing 4 of 4 at
		// that rate (3 in 7 counted) is no rarity.
		{"losses on every port", []*flows.Attempt{stuck(), at(41001, 1, 0.5, 1.5), at(41002, 0, 2), at(41003, 1, 4, 5)}, 30, KindServerSilentDrop},
		// More new ports failed than connected: the server, not a tuple.
		{"most ports fail", []*flows.Attempt{stuck(), at(41001, 0, 0.5), at(41002, -1, 2, 3, 5, 9), at(41003, -1, 4, 5, 7, 11)}, 30, KindServerSilentDrop},
		// A SYN lost and its retransmission answered is a delay.
		{"recovered", []*flows.Attempt{at(41000, 1, 0, 1), at(41001, 0, 0.5), at(41002, 0, 2)}, 30, KindServerSilentDrop},
		// One SYN lost and the capture ended within the client's timeout
		// after its retransmission: a single loss proves nothing.
		{"capture ends", []*flows.Attempt{at(41000, -1, 0, 1), at(41001, 0, 0.5)}, 1.5, KindServerSilentDrop},
		// Only one other port, clean: 4 lost SYNs are 1 in 81 by chance
		// at the rate 1 in 3 — not rare enough.
		{"one witness", []*flows.Attempt{stuck(), at(41001, 0, 0.5)}, 30, KindServerSilentDrop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &flows.Capture{First: 0, Last: int64(tc.last * 1e9)}
			res := Analyze([]Input{{Path: tc.name, Role: RoleClient, Capture: c, Attempts: tc.attempts}})
			var want []string
			if tc.cause == KindTupleBlackhole {
				want = []string{"198.18.152.2:41000"}
			}
			var got []string
			if f := findingOf(res, KindTupleBlackhole); f != nil {
				got = clientsOf(res, f)
			}
			if !slices.Equal(got, want) {
				t.Errorf("tuple_blackhole explains %v, want %v (findings %v)", got, want, kinds(res))
			}
			for _, a := range res.Attempts {
				if a.Client.Port() == 41000 && a.Cause != tc.cause {
					t.Errorf("%v: cause %s, want %s", a.Client, a.Cause, tc.cause)
				}
			}
		})
	}
}

// TestTupleBlackholeStaleTimeWait: a 4-tuple the server answers with a
// bare ACK is a port still in TIME_WAIT there, never a black hole.
func TestTupleBlackholeStaleTimeWait(t *testing.T) {
	for _, file := range []string{"server.pcap", "client-lan.pcap"} {
		res := readCapture(t, filepath.Join(trustDir, "stale-timewait", file))
		if f := findingOf(res, KindTupleBlackhole); f != nil {
			t.Errorf("%s: tuple_blackhole on a stale TIME_WAIT capture: %s", file, f.Summary)
		}
	}
}

func clientsOf(res *Result, f *Finding) []string {
	var out []string
	for _, i := range f.attempts {
		out = append(out, res.Attempts[i].Client.String())
	}
	return out
}

func withRole(in Input, r Role) Input {
	in.Role = r
	return in
}
