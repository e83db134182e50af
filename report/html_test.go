package report

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/html")

// htmlCase is a test capture, or a client and a server capture to join.
type htmlCase struct {
	name   string
	client string // joined with server when set
	server string
}

// htmlCases lists every test capture: the scenarios' server captures and
// their client/server pairs, the lab captures, the per-host PAWS captures,
// and the NAT join.
func htmlCases(t *testing.T) []htmlCase {
	t.Helper()
	var cs []htmlCase
	glob := func(pattern string) []string {
		m, err := filepath.Glob(pattern)
		if err != nil || len(m) == 0 {
			t.Fatalf("no captures match %s", pattern)
		}
		return m
	}
	for _, p := range glob("../testdata/scenarios/*/server.pcap") {
		dir := filepath.Base(filepath.Dir(p))
		cs = append(cs, htmlCase{name: "scenarios__" + dir, server: p},
			htmlCase{name: "scenarios__" + dir + "__joined", client: filepath.Join(filepath.Dir(p), "client-lan.pcap"), server: p})
	}
	for _, p := range glob("../testdata/lab/*") {
		switch filepath.Ext(p) {
		case ".md", ".sh", ".tsv":
			continue
		}
		cs = append(cs, htmlCase{name: "lab__" + filepath.Base(p), server: p})
	}
	for _, p := range glob("../testdata/paws/*.pcap") {
		cs = append(cs, htmlCase{name: "paws__" + filepath.Base(p), server: p})
	}
	cs = append(cs, htmlCase{name: "join__nat", client: "../testdata/join/nat-client.pcap", server: "../testdata/join/nat-server.pcap"})
	return cs
}

// analyzeCase reads the case's captures and analyzes them.
func analyzeCase(t testing.TB, c htmlCase) *analyze.Result {
	t.Helper()
	var inputs []analyze.Input
	if c.client != "" {
		inputs = append(inputs, readInput(t, c.client, analyze.RoleClient), readInput(t, c.server, analyze.RoleServer))
	} else {
		inputs = append(inputs, readInput(t, c.server, analyze.RoleUnknown))
	}
	return analyze.Analyze(inputs)
}

func readInput(t testing.TB, path string, role analyze.Role) analyze.Input {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, err := analyze.ReadCapture(filepath.ToSlash(path), f, flows.Config{})
	if err != nil {
		t.Fatal(err)
	}
	in.Role = role
	return *in
}

// checkGolden compares output with testdata/html/name; -update rewrites it.
func checkGolden(t *testing.T, name, output string) {
	t.Helper()
	golden := filepath.Join("testdata", "html", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(output), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./report -run TestHTMLGolden -update)", err)
	}
	if output != string(want) {
		t.Errorf("the page's data differs from %s (run with -update after checking the change)", golden)
	}
}

// TestHTMLGolden builds the page model of every test capture and compares
// its dump (every chart's axes, series and points, every table row) with
// the golden file.
func TestHTMLGolden(t *testing.T) {
	for _, c := range htmlCases(t) {
		t.Run(c.name, func(t *testing.T) {
			res := analyzeCase(t, c)
			var b bytes.Buffer
			buildHTML(res, Options{}).dump(&b)
			checkGolden(t, c.name+".txt", b.String())
		})
	}
}

// TestHTMLSelfContained renders every test capture twice: the bytes must
// be equal, and the page must name no resource outside itself.
func TestHTMLSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:|//|file:)|url\(|@import|https?://`)
	for _, c := range htmlCases(t) {
		t.Run(c.name, func(t *testing.T) {
			res := analyzeCase(t, c)
			var a, b bytes.Buffer
			if err := HTML(&a, res, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := HTML(&b, res, Options{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("two renderings of one result differ")
			}
			if m := external.Find(a.Bytes()); m != nil {
				t.Errorf("the page refers outside itself: %q", m)
			}
			if n := a.Len(); n > 2<<20 {
				t.Errorf("page of %d bytes", n)
			}
			for _, want := range []string{"<title>", `http-equiv="Content-Security-Policy"`, `<section id="findings">`, "@media print"} {
				if !bytes.Contains(a.Bytes(), []byte(want)) {
					t.Errorf("no %s in the page", want)
				}
			}
		})
	}
}

// series returns the series of the page's charts of a kind whose style
// starts with prefix, and the total the legend counts for them.
func seriesOf(p *htmlPage, kind, prefix string) (points, counted int) {
	for _, s := range p.Sections {
		for _, c := range s.Charts {
			if c.Kind != kind {
				continue
			}
			for _, sr := range c.Series {
				if strings.HasPrefix(sr.Style, prefix) {
					points += len(sr.Points)
					counted += sr.Count
				}
			}
		}
	}
	return points, counted
}

// TestHTMLLabTruth checks the timeline against the lab captures' truth
// (attempts.tsv): one mark per SYN transmission of every attempt.
func TestHTMLLabTruth(t *testing.T) {
	want := map[string]int{}
	var files []string
	for _, r := range readTSV(t, "../testdata/lab/attempts.tsv") {
		if _, ok := want[r["file"]]; !ok {
			files = append(files, r["file"])
		}
		want[r["file"]] += atoi(t, r["syn_tx"])
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			p := buildHTML(analyzeCase(t, htmlCase{server: "../testdata/lab/" + f}), Options{})
			if marks, _ := seriesOf(p, "timeline", "o-"); marks != want[f] {
				t.Errorf("%d SYN marks, attempts.tsv says %d SYN transmissions", marks, want[f])
			}
		})
	}
}

// TestHTMLScenarioTruth checks the timeline and the accept-queue chart
// against what the scenario scripts measured.
func TestHTMLScenarioTruth(t *testing.T) {
	truth := map[string]string{}
	for _, r := range readTSV(t, "../testdata/scenarios/truth.tsv") {
		truth[r["scenario"]+"/"+r["file"]+"/"+r["metric"]] = r["value"]
	}
	get := func(t *testing.T, s, f, m string) int {
		t.Helper()
		v, ok := truth[s+"/"+f+"/"+m]
		if !ok {
			t.Fatalf("truth.tsv has no %s/%s/%s", s, f, m)
		}
		return atoi(t, v)
	}
	dirs, _ := filepath.Glob("../testdata/scenarios/*/server.pcap")
	for _, path := range dirs {
		s := filepath.Base(filepath.Dir(path))
		t.Run(s, func(t *testing.T) {
			if strings.HasPrefix(s, "synflood") {
				t.Skip("truth.tsv counts the real clients' SYNs only, not the flood's")
			}
			p := buildHTML(analyzeCase(t, htmlCase{server: path}), Options{})
			if marks, _ := seriesOf(p, "timeline", "o-"); marks != get(t, s, "server.pcap", "syn_tx") {
				t.Errorf("%d SYN marks, truth.tsv says %d SYN transmissions", marks, get(t, s, "server.pcap", "syn_tx"))
			}
			if synacks, _ := seriesOf(p, "timeline", "synack"); synacks != get(t, s, "server.pcap", "synack_tx") {
				t.Errorf("%d SYN-ACK ticks, truth.tsv says %d", synacks, get(t, s, "server.pcap", "synack_tx"))
			}
			if !strings.HasPrefix(s, "accept-overflow") {
				return
			}
			if _, lost := seriesOf(p, "queue", "q-lost"); lost != get(t, s, "server.pcap", "syn_unanswered_tx") {
				t.Errorf("accept queue chart: %d unanswered SYNs, truth.tsv says %d", lost, get(t, s, "server.pcap", "syn_unanswered_tx"))
			}
			full, _ := seriesOf(p, "queue", "q-full")
			if want := get(t, s, "server.pcap", "attempts_with_synack_after_ack") + get(t, s, "server.pcap", "attempts_with_rst_after_ack"); full != want {
				t.Errorf("accept queue chart: %d ignored or reset ACKs marked, truth.tsv says %d", full, want)
			}
		})
	}
}

// TestHTMLPAWSTruth checks that the TSval charts mark as rejected exactly
// the SYNs the generator's kernel dropped, all unanswered, and that the
// model's finding says the same number.
func TestHTMLPAWSTruth(t *testing.T) {
	dropped := 0
	for _, r := range readTSV(t, "../testdata/paws/truth.tsv") {
		if r["scenario"] == "paws-nat" && r["dropped_by_paws"] == "true" {
			dropped++
		}
	}
	res := analyzeCase(t, htmlCase{server: "../testdata/paws/paws-nat.pcap"})
	p := buildHTML(res, Options{})
	var rejected, rejectedAnswered int
	for _, s := range p.Sections {
		for _, c := range s.Charts {
			for _, sr := range c.Series {
				switch sr.Name {
				case "rule rejects, no answer":
					rejected += len(sr.Points)
				case "rule rejects, but answered: not in force":
					rejectedAnswered += len(sr.Points)
				}
			}
		}
	}
	if rejected != dropped || rejectedAnswered != 0 {
		t.Errorf("TSval charts: %d rejected and unanswered, %d rejected but answered; the generator's kernel dropped %d", rejected, rejectedAnswered, dropped)
	}
	for _, f := range p.Findings {
		if f.Kind == string(analyze.KindPerHostPAWS) && !strings.Contains(f.Summary, "dropped "+strconv.Itoa(dropped)+" SYNs") {
			t.Errorf("finding %q does not say %d", f.Summary, dropped)
		}
	}
	if p.Sections[1].ID != "paws" {
		t.Errorf("the TSval charts should come right after the timeline when they show the diagnosis; sections %s, %s", p.Sections[0].ID, p.Sections[1].ID)
	}
}

// TestHTMLJoinAligned checks that a joined server capture's timeline is on
// the client's clock: a SYN seen at both ends is drawn at nearly the same
// time in both.
func TestHTMLJoinAligned(t *testing.T) {
	res := analyzeCase(t, htmlCase{client: "../testdata/join/nat-client.pcap", server: "../testdata/join/nat-server.pcap"})
	tb := newTimebase(res)
	matched := 0
	for i := range res.Attempts {
		a := &res.Attempts[i]
		if a.Capture != res.Join.Client || a.Peer < 0 {
			continue
		}
		s := &res.Attempts[a.Peer]
		for _, cs := range a.SYNs {
			for _, ss := range s.SYNs {
				if cs.Opts.TSval == ss.Opts.TSval {
					matched++
					if d := tb.x(s.Capture, ss.Time) - tb.x(a.Capture, cs.Time); d < 0 || d > 0.05 {
						t.Errorf("%s SYN TSval %d: drawn %.4f s apart", a.Client, cs.Opts.TSval, d)
					}
				}
			}
		}
	}
	if matched == 0 {
		t.Fatal("no SYN seen in both captures")
	}
	p := buildHTML(res, Options{})
	if n := len(p.Sections[0].Charts); n != 2 {
		t.Fatalf("%d timelines, want the client's and the server's", n)
	}
}

// TestHTMLBinned checks that a timeline with more SYNs than it draws one
// by one counts them all in bins and says so.
func TestHTMLBinned(t *testing.T) {
	defer func(n int) { maxMarks = n }(maxMarks)
	maxMarks = 50
	res := analyzeCase(t, htmlCase{server: "../testdata/scenarios/accept-overflow-abort0/server.pcap"})
	p := buildHTML(res, Options{})
	// The legends count connections: the 80 attempts, whose 250 SYNs are
	// drawn in fewer bars.
	marks, counted := seriesOf(p, "timeline", "o-")
	if counted != 80 || marks == 0 || marks >= 250 {
		t.Errorf("binned timeline: %d bars counting %d connections, want fewer than 250 bars counting 80", marks, counted)
	}
	var out bytes.Buffer
	if err := HTML(&out, res, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "too many to draw one by one") {
		t.Error("the page does not say the SYNs were counted in bins")
	}
}

// TestHTMLIndex renders triage's index: links are relative and escaped,
// capture text is escaped, errors show.
func TestHTMLIndex(t *testing.T) {
	cases := []CaseSummary{
		{Name: "uploads/a <b>.pcap", Files: []CaseFile{{Path: "uploads/a <b>.pcap", Role: "server", Format: "pcap", Packets: 10}},
			Findings: []CaseFinding{{Kind: analyze.KindAcceptQueueOverflow, Severity: analyze.Critical, Confidence: 0.95, Summary: "queue & more", AffectedAttempts: 5}},
			Attempts: 10, Failed: 2, Retransmitted: 3, Report: "cases/a b#1.html"},
		{Name: "uploads/c:x.pcap", Report: "c:x.html", Files: []CaseFile{{Path: "uploads/c:x.pcap", Role: "unknown"}}},
		{Name: "uploads/bad.pcap", Files: []CaseFile{{Path: "uploads/bad.pcap", Role: "unknown", Error: "not a capture"}}, Errors: []string{"uploads/bad.pcap: not a capture"}},
	}
	var b bytes.Buffer
	if err := HTMLIndex(&b, "triage of uploads", cases, Options{}); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{
		`<a href="cases/a%20b%231.html" title="uploads/a &lt;b&gt;.pcap">a &lt;b&gt;.pcap</a>`,
		`<a href="./c:x.html" title="uploads/c:x.pcap">c:x.pcap</a>`,
		"under uploads/",
		"queue &amp; more",
		"error: uploads/bad.pcap: not a capture",
		"3 cases: 1 critical, 0 warning, 0 info, 2 without findings",
		"<title>triage of uploads</title>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("index lacks %s", want)
		}
	}
	if strings.Contains(s, "<b>") {
		t.Error("capture text not escaped")
	}
}

func readTSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var header []string
	var rows []map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = c
			continue
		}
		r := map[string]string{}
		for i, h := range header {
			if i < len(c) {
				r[h] = c[i]
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("truth value %q: %v", s, err)
	}
	return n
}

// TestHTMLJoinLossTruth checks the signs on the joined client timeline
// against testdata/join/truth.tsv, which says per SYN transmission of the
// client capture where it died: each lost SYN has the sign of its class at
// its time in its client's lane, and every class counts as many as truth.
func TestHTMLJoinLossTruth(t *testing.T) {
	res := analyzeCase(t, htmlCase{client: "../testdata/join/nat-client.pcap", server: "../testdata/join/nat-server.pcap"})
	tb := newTimebase(res)
	p := buildHTML(res, Options{})
	var ch *chart
	for i := range p.Sections[0].Charts {
		if c := &p.Sections[0].Charts[i]; c.ID == "timeline-"+strconv.Itoa(res.Join.Client) {
			ch = c
		}
	}
	if ch == nil {
		t.Fatal("no timeline of the client capture")
	}
	// A SYN on the page: its class, its client (the tooltip's first word)
	// and its time on the axis.
	type syn struct {
		at     analyze.LostAt
		client string
		x      float64
	}
	got := map[syn]int{}
	gotCount := map[analyze.LostAt]int{}
	marks := 0
	for _, s := range ch.Series {
		switch s.Kind {
		case seriesMarks:
			marks += len(s.Points)
		case seriesLetters:
			at := analyze.LostAt(strings.TrimPrefix(s.Style, "lost-"))
			gotCount[at] += len(s.Points)
			for _, pt := range s.Points {
				client, _, _ := strings.Cut(pt.Title, " ")
				got[syn{at, client, pt.X}]++
			}
		}
	}
	gotCount[analyze.LostNone] = marks
	for at, n := range gotCount {
		if at != analyze.LostNone {
			gotCount[analyze.LostNone] -= n
		}
	}
	want := map[syn]int{}
	wantCount := map[analyze.LostAt]int{}
	for _, r := range readTSV(t, "../testdata/join/truth.tsv") {
		lost := analyze.LostAt(r["lost_at"])
		wantCount[lost]++
		if lost == analyze.LostNone {
			continue
		}
		sec, frac, _ := strings.Cut(r["time"], ".")
		ns := int64(atoi(t, sec))*1e9 + int64(atoi(t, (frac + "000000000")[:9]))
		want[syn{lost, r["client"], tb.x(res.Join.Client, ns)}]++
	}
	if len(wantCount) < 3 {
		t.Fatalf("truth.tsv has classes %v: too few to test", wantCount)
	}
	for _, at := range []analyze.LostAt{analyze.LostNone, analyze.LostClientToServer, analyze.LostServer, analyze.LostServerToClient, analyze.LostUnknown} {
		if gotCount[at] != wantCount[at] {
			t.Errorf("lost_at %s: %d SYNs on the page, truth.tsv says %d", at, gotCount[at], wantCount[at])
		}
	}
	for s, n := range want {
		if got[s] != n {
			t.Errorf("truth.tsv: %s SYN at %s s lost %s; the page has %d such signs", s.client, num(s.x), s.at, got[s])
		}
	}
	for s, n := range got {
		if want[s] != n {
			t.Errorf("the page has %d %s signs for %s at %s s; truth.tsv %d", n, s.at, s.client, num(s.x), want[s])
		}
	}
}
