package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syndiag/syndiag/flows"
)

const (
	evidenceDir  = "testdata/evidence"
	scenarioDir  = "../testdata/scenarios"
	scenarioEvid = "evidence"
)

// readInput reads a capture for AnalyzeWithEvidence.
func readInput(t *testing.T, path string) Input {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := Input{Path: path, Role: RoleUnknown}
	c, err := flows.ReadCapture(f, flows.Config{Emit: func(a *flows.Attempt) { in.Attempts = append(in.Attempts, a) }})
	if err != nil {
		t.Fatal(err)
	}
	in.Capture = c
	return in
}

// addFile adds one evidence file and fails the test on an error.
func addFile(t *testing.T, ev *HostEvidence, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ev.Add(path, f); err != nil {
		t.Fatal(err)
	}
}

// readEvidenceDir adds every file of a folder, in name order, as the
// command does.
func readEvidenceDir(t *testing.T, dir string) *HostEvidence {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ev := NewHostEvidence()
	for _, e := range ents {
		if !e.IsDir() && e.Name() != "README.md" {
			addFile(t, ev, filepath.Join(dir, e.Name()))
		}
	}
	return ev
}

func readOne(t *testing.T, path string) *HostEvidence {
	t.Helper()
	ev := NewHostEvidence()
	addFile(t, ev, path)
	return ev
}

// TestEvidenceKinds reads every sample file, real (the scenarios' evidence,
// taken on Linux 6.18 while they ran) and hand-written (CentOS 7 wording,
// other formats), and checks the kind detected from the content and how
// much was read.
func TestEvidenceKinds(t *testing.T) {
	abort0 := filepath.Join(scenarioDir, "accept-overflow-abort0", scenarioEvid)
	nocookies := filepath.Join(scenarioDir, "synflood-nocookies", scenarioEvid)
	tests := []struct {
		file    string
		kind    EvidenceKind
		values  int
		ignored int
	}{
		{abort0 + "/nstat-after.txt", EvidenceNstat, 390, 0},
		{abort0 + "/netstat-s-after.txt", EvidenceNetstat, 28, 0},
		{abort0 + "/netstat-s-before.txt", EvidenceNetstat, 12, 0},
		{abort0 + "/proc-net-netstat.txt", EvidenceProcNet, 229, 0},
		{abort0 + "/proc-net-snmp.txt", EvidenceProcNet, 81, 0},
		{abort0 + "/sysctl.txt", EvidenceSysctl, 89, 0},
		{abort0 + "/ss-lnt.txt", EvidenceSS, 1, 0},
		{abort0 + "/uname.txt", EvidenceUname, 1, 0},
		{nocookies + "/ss-syn-recv.txt", EvidenceSS, 9, 0},
		{evidenceDir + "/centos7-paws/netstat-s-before.txt", EvidenceNetstat, 38, 0},
		{evidenceDir + "/centos7-paws/sysctl.txt", EvidenceSysctl, 12, 0},
		{evidenceDir + "/centos7-paws/uname.txt", EvidenceUname, 1, 0},
		{evidenceDir + "/centos7-ss-lnt.txt", EvidenceSS, 5, 0},
		{evidenceDir + "/ss-ltnp.txt", EvidenceSS, 6, 0},
		{evidenceDir + "/ss-netid.txt", EvidenceSS, 1, 1},
		{evidenceDir + "/nstat-noz.txt", EvidenceNstat, 4, 0},
		{evidenceDir + "/proc-version.txt", EvidenceUname, 1, 0},
		{evidenceDir + "/proc-sys-grep.txt", EvidenceSysctl, 4, 0},
		{evidenceDir + "/netstat-s-unknown-lines.txt", EvidenceNetstat, 8, 5},
		{evidenceDir + "/risky/ss-lnt.txt", EvidenceSS, 2, 0},
	}
	for _, tc := range tests {
		t.Run(strings.TrimPrefix(tc.file, "../"), func(t *testing.T) {
			ev := readOne(t, tc.file)
			f := ev.Files[0]
			if f.Kind != tc.kind || f.Values != tc.values || f.Ignored != tc.ignored {
				t.Errorf("kind %s, %d values, %d lines ignored; want %s, %d, %d", f.Kind, f.Values, f.Ignored, tc.kind, tc.values, tc.ignored)
			}
		})
	}
}

// TestEvidenceValues checks what the parsers read from each format,
// including the older netstat -s wording of CentOS 7's net-tools.
func TestEvidenceValues(t *testing.T) {
	counter := func(ev *HostEvidence, name string) string {
		c, ok := ev.Counter(name)
		if !ok {
			return "missing"
		}
		return strconv.FormatUint(c.After, 10)
	}
	sysctl := func(ev *HostEvidence, name string) string {
		s, ok := ev.Sysctl(name)
		if !ok {
			return "missing"
		}
		return s.Value
	}
	centos := readOne(t, evidenceDir+"/centos7-paws/netstat-s-after.txt")
	abort0 := readOne(t, filepath.Join(scenarioDir, "accept-overflow-abort0", scenarioEvid, "netstat-s-after.txt"))
	proc := readOne(t, filepath.Join(scenarioDir, "accept-overflow-abort0", scenarioEvid, "proc-net-snmp.txt"))
	noz := readOne(t, evidenceDir+"/nstat-noz.txt")
	grep := readOne(t, evidenceDir+"/proc-sys-grep.txt")
	centosSysctl := readOne(t, evidenceDir+"/centos7-paws/sysctl.txt")
	tests := []struct {
		desc, got, want string
	}{
		{"centos7 PAWSPassive", counter(centos, "TcpExt:PAWSPassive"), "1080"},
		{"centos7 ListenOverflows", counter(centos, "TcpExt:ListenOverflows"), "46"},
		{"centos7 ListenDrops", counter(centos, "TcpExt:ListenDrops"), "1126"},
		{"centos7 SyncookiesFailed", counter(centos, "TcpExt:SyncookiesFailed"), "21"},
		{"centos7 SyncookiesSent (not printed: 0)", counter(centos, "TcpExt:SyncookiesSent"), "0"},
		{"centos7 TWRecycled", counter(centos, "TcpExt:TWRecycled"), "5699"},
		{"centos7 DelayedACKLost", counter(centos, "TcpExt:DelayedACKLost"), "34567"},
		{"centos7 TCPSynRetrans (Name: value)", counter(centos, "TcpExt:TCPSynRetrans"), "3456"},
		{"centos7 active connections openings", counter(centos, "Tcp:ActiveOpens"), "2345901"},
		{"centos7 segments send out", counter(centos, "Tcp:OutSegs"), "897000000"},
		{"centos7 segments retransmited", counter(centos, "Tcp:RetransSegs"), "45678"},
		{"centos7 bad segments received.", counter(centos, "Tcp:InErrs"), "12"},
		{"centos7 IpExt", counter(centos, "IpExt:InOctets"), "98765432100"},
		{"centos7 time from date", centos.Files[0].Time.Format(time.RFC3339), "2024-03-01T10:04:01Z"},
		{"6.18 ListenOverflows", counter(abort0, "TcpExt:ListenOverflows"), "333"},
		{"6.18 SyncookiesRecv", counter(abort0, "TcpExt:SyncookiesRecv"), "49"},
		{"6.18 TCPReqQFullDoCookies", counter(abort0, "TcpExt:TCPReqQFullDoCookies"), "7"},
		{"6.18 passive connection openings", counter(abort0, "Tcp:PassiveOpens"), "80"},
		{"6.18 Ip:Forwarding", counter(abort0, "Ip:Forwarding"), "2"},
		{"proc snmp PassiveOpens", counter(proc, "Tcp:PassiveOpens"), "80"},
		{"proc snmp MaxConn -1 is no counter", counter(proc, "Tcp:MaxConn"), "missing"},
		{"nstat without -z: listed", counter(noz, "TcpExt:ListenOverflows"), "7"},
		{"nstat without -z: missing is 0", counter(noz, "TcpExt:ListenDrops"), "0"},
		{"grep /proc/sys", sysctl(grep, "net.ipv4.tcp_tw_recycle"), "1"},
		{"sysctl with tabs", sysctl(centosSysctl, "net.ipv4.ip_local_port_range"), "32768\t60999"},
		{"sysctl complaint skipped", sysctl(centosSysctl, "net.ipv6.conf.all.stable_secret"), "missing"},
		{"uname -a", readOne(t, evidenceDir+"/centos7-paws/uname.txt").Kernel, "3.10.0-1160.el7.x86_64"},
		{"/proc/version", readOne(t, evidenceDir+"/proc-version.txt").Kernel, "3.10.0-1160.el7.x86_64"},
		{"uname -r", readOne(t, filepath.Join(scenarioDir, "healthy", scenarioEvid, "uname.txt")).Kernel, "6.18.44-fc-v657"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.desc, tc.got, tc.want)
		}
	}
}

// TestEvidenceListeners checks the listeners read from the ss formats.
func TestEvidenceListeners(t *testing.T) {
	tests := []struct {
		file    string
		want    string // Local Recv-Q/Send-Q xSamples, space separated
		sockets map[string]int
	}{
		{filepath.Join(scenarioDir, "accept-overflow-abort0", scenarioEvid, "ss-lnt.txt"), "198.18.2.2:8080 9/8 x1", map[string]int{}},
		{filepath.Join(scenarioDir, "synflood-nocookies", scenarioEvid, "ss-syn-recv.txt"), "", map[string]int{"unknown": 9}},
		{evidenceDir + "/centos7-ss-lnt.txt", "*:22 0/128 x1, :::22 0/128 x1, 127.0.0.1:25 0/100 x1, ::1:25 0/100 x1, *:80 129/128 x1", map[string]int{}},
		{evidenceDir + "/ss-ltnp.txt", "0.0.0.0:22 0/4096 x1, [::]:22 0/4096 x1, 127.0.0.53%lo:53 0/4096 x1, [::ffff:10.0.0.5]:443 0/511 x1", map[string]int{"ESTAB": 1, "SYN-RECV": 1}},
		{evidenceDir + "/ss-netid.txt", "127.0.0.1:8080 3/5 x1", map[string]int{}},
		{evidenceDir + "/risky/ss-lnt.txt", "0.0.0.0:22 0/128 x3, 198.18.2.2:8080 129/128 x3", map[string]int{}},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			ev := readOne(t, tc.file)
			var got []string
			for _, l := range ev.Listeners {
				got = append(got, fmt.Sprintf("%s %d/%d x%d", l.Local, l.RecvQ, l.SendQ, l.Samples))
			}
			if g := strings.Join(got, ", "); g != tc.want {
				t.Errorf("listeners %q, want %q", g, tc.want)
			}
			if !reflect.DeepEqual(ev.Sockets, tc.sockets) {
				t.Errorf("other sockets %v, want %v", ev.Sockets, tc.sockets)
			}
		})
	}
	ev := readOne(t, evidenceDir+"/ss-ltnp.txt")
	if l := ev.Listeners[3]; l.Addr.String() != "10.0.0.5" || l.Port != 443 {
		t.Errorf("[::ffff:10.0.0.5]:443 read as %s port %d", l.Addr, l.Port)
	}
	if l := ev.Listeners[0]; l.Addr.IsValid() {
		t.Errorf("0.0.0.0 read as %s, want a wildcard", l.Addr)
	}
}

// TestEvidenceErrors: content that is no evidence is an *EvidenceError that
// names the file; unknown lines inside evidence are not.
func TestEvidenceErrors(t *testing.T) {
	pcap, err := os.ReadFile("../testdata/lab/closed-port.pcap")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc    string
		content string
		err     error
		msg     string
	}{
		{"garbage", "hello, this is not evidence\nand neither is this line\n", ErrNotEvidence, `evidence f.txt: not host evidence: syndiag reads the output of netstat -s, nstat, cat /proc/net/netstat or /proc/net/snmp, sysctl, ss -lnt, uname -r and skb:kfree_skb traces: it starts with "hello, this is not evidence"`},
		{"empty", "", ErrNotEvidence, "evidence f.txt: not host evidence"},
		{"only comments", "# nothing here\n\n", ErrNotEvidence, "evidence f.txt: not host evidence"},
		{"binary", "\x00\x01\x02binary", ErrNotEvidence, "it starts with"},
		{"latin-1", "caf\xe9\n", ErrNotEvidence, "it starts with"},
		{"pcap", string(pcap), ErrCaptureNotEvidence, "evidence f.txt: a packet capture, not host evidence: give it as a capture FILE argument"},
		{"gzip", "\x1f\x8b\x08\x00rest", ErrCaptureNotEvidence, "a packet capture"},
		{"a word", "hello\n", ErrNotEvidence, `it starts with "hello"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			ev := NewHostEvidence()
			err := ev.Add("f.txt", strings.NewReader(tc.content))
			var ee *EvidenceError
			if !errors.Is(err, tc.err) || !errors.As(err, &ee) || ee.File != "f.txt" {
				t.Fatalf("error %v, want an *EvidenceError for f.txt wrapping %v", err, tc.err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q lacks %q", err, tc.msg)
			}
			if len(ev.Files) != 0 {
				t.Errorf("a file was recorded: %+v", ev.Files)
			}
		})
	}
	// Two sides in one set of evidence.
	ev := NewHostEvidence()
	if err := ev.Add("a/syndiag-side.txt", strings.NewReader("# syndiag collect\nside: server\n")); err != nil {
		t.Fatal(err)
	}
	err = ev.Add("b/syndiag-side.txt", strings.NewReader("# syndiag collect\nside: client\nhost: c1\n"))
	if !errors.Is(err, ErrEvidenceHosts) || !strings.Contains(err.Error(), "syndiag-side.txt says server, syndiag-side.txt says client") {
		t.Errorf("error %v, want ErrEvidenceHosts naming both", err)
	}
}

// TestEvidenceUnknownLines: lines no parser knows are counted and skipped,
// and everything around them is still read.
func TestEvidenceUnknownLines(t *testing.T) {
	ev := readOne(t, evidenceDir+"/netstat-s-unknown-lines.txt")
	if f := ev.Files[0]; f.Ignored != 5 {
		t.Errorf("%d lines ignored, want 5", f.Ignored)
	}
	for name, want := range map[string]uint64{"TcpExt:ListenOverflows": 333, "TcpExt:ListenDrops": 333, "TcpExt:SyncookiesSent": 7, "TcpExt:TCPReqQFullDoCookies": 7, "Tcp:PassiveOpens": 80, "Tcp:RetransSegs": 16, "IpExt:InOctets": 41818} {
		if c, ok := ev.Counter(name); !ok || c.After != want || !c.SinceBoot {
			t.Errorf("%s: %+v, want %d since boot", name, c, want)
		}
	}
	// Unknown lines in every other kind, too.
	for _, content := range []string{
		"#kernel\nTcpExtListenDrops 5 0.0\nthis is not nstat\nTcpExtTW 3\n",
		"net.core.somaxconn = 128\nnot a setting\nnet.ipv4.tcp_syncookies = 1\n",
		"State Recv-Q Send-Q Local Address:Port Peer Address:Port\nLISTEN 0 5 *:80 *:*\ngarbage row\nLISTEN x y *:81 *:*\n",
		"TcpExt: A B\nTcpExt: 1 2\nsomething else\nTcpExt: C\nTcpExt: 1 2\n",
	} {
		ev := NewHostEvidence()
		if err := ev.Add("f", strings.NewReader(content)); err != nil {
			t.Errorf("%q: %v", content, err)
			continue
		}
		if f := ev.Files[0]; f.Values != 2 && f.Kind != EvidenceSS || f.Kind == EvidenceSS && f.Values != 1 || f.Ignored == 0 {
			t.Errorf("%q: %+v", content, f)
		}
	}
}

// TestEvidenceSnapshotOrder: before and after are told apart by the time
// inside the files, or else by the counters, which only grow; never by the
// names ("after" sorts before "before").
func TestEvidenceSnapshotOrder(t *testing.T) {
	dir := filepath.Join(scenarioDir, "accept-overflow-abort0", scenarioEvid)
	for _, order := range [][]string{{"nstat-after.txt", "nstat-before.txt"}, {"nstat-before.txt", "nstat-after.txt"}, {"netstat-s-after.txt", "netstat-s-before.txt"}} {
		ev := NewHostEvidence()
		for _, f := range order {
			addFile(t, ev, filepath.Join(dir, f))
		}
		c, _ := ev.Counter("TcpExt:ListenOverflows")
		if c.SinceBoot || c.Delta != 333 || filepath.Base(c.From) != strings.Replace(order[0], "after", "before", 1) && filepath.Base(c.From) != order[1] {
			t.Errorf("%v: %+v, want a delta of 333 from the before file", order, c)
		}
	}
	// Times decide, even against the counters.
	ev := NewHostEvidence()
	for _, f := range []struct{ name, content string }{
		{"b.txt", "# syndiag-time: 2026-11-21T07:00:10Z\n#kernel\nTcpExtListenDrops 100 0.0\n"},
		{"a.txt", "# syndiag-time: 2026-11-21T07:00:00Z\n#kernel\nTcpExtListenDrops 40 0.0\n"},
	} {
		if err := ev.Add(f.name, strings.NewReader(f.content)); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := ev.Counter("TcpExt:ListenDrops"); c.Delta != 60 || c.From != "a.txt" {
		t.Errorf("timed: %+v, want a.txt → b.txt, +60", c)
	}
	// Files that disagree get a note.
	ev = NewHostEvidence()
	ev.Add("x.txt", strings.NewReader("#kernel\nTcpExtListenDrops 100 0.0\nTcpExtTW 5 0.0\n"))
	ev.Add("y.txt", strings.NewReader("#kernel\nTcpExtListenDrops 40 0.0\nTcpExtTW 9 0.0\n"))
	if notes := strings.Join(ev.AllNotes(), "\n"); !strings.Contains(notes, "x.txt and y.txt disagree on which was taken first (1 counters grew, 1 fell)") {
		t.Errorf("notes: %q", notes)
	}
	if c, _ := ev.Counter("TcpExt:ListenDrops"); c.Delta != -60 || c.valid() {
		t.Errorf("%+v: a counter that fell is no valid delta", c)
	}
}

// TestEvidenceTruthDeltas: every counter delta the scenario script measured
// with nstat (truth.tsv) is what the evidence gives, read from the
// scenario's whole folder; counters this kernel does not have are reported
// as missing, not as 0.
func TestEvidenceTruthDeltas(t *testing.T) {
	truth := scenarioTruth(t)
	n := 0
	for key, want := range truth {
		parts := strings.SplitN(key, "/", 4) // scenario/evidence/nstat/delta_X
		if len(parts) != 4 || parts[1]+"/"+parts[2] != "evidence/nstat" || !strings.HasPrefix(parts[3], "delta_") {
			continue
		}
		ev := readEvidenceDir(t, filepath.Join(scenarioDir, parts[0], scenarioEvid))
		name := nstatMIB(strings.TrimPrefix(parts[3], "delta_"))
		c, ok := ev.Counter(name)
		switch _, lacks := ev.lacksCounter(name); {
		case !ok && lacks && want == "0":
		case !ok:
			t.Errorf("%s: %s missing", parts[0], name)
		case c.SinceBoot || strconv.FormatInt(c.Delta, 10) != want:
			t.Errorf("%s: %s %+v, want a delta of %s", parts[0], name, c, want)
		}
		n++
	}
	if n < 100 {
		t.Errorf("only %d counter deltas in truth.tsv", n)
	}
}

// TestEvidenceFusionScenarios runs each real-kernel scenario's server
// capture with the evidence taken during the run and checks that the
// findings' confidence and evidence lines reflect it, with the figures of
// truth.tsv.
func TestEvidenceFusionScenarios(t *testing.T) {
	get := scenarioFigure(t)
	const nstat = "between nstat-before.txt and nstat-after.txt"
	type want struct {
		kind       Kind
		before     float64 // confidence without evidence
		confidence float64
		evidence   []string
	}
	tests := []struct {
		scenario string
		findings func(s string) []want
	}{
		{"accept-overflow-abort0", func(s string) []want {
			d := func(m string) string { return get(s, "evidence/nstat", "delta_TcpExt"+m) }
			return []want{
				{KindAcceptQueueOverflow, 0.95, 0.99, []string{
					fmt.Sprintf("TcpExt:ListenOverflows rose by %s %s: more than the capture shows (%s SYNs and %s completed handshakes dropped)", d("ListenOverflows"), nstat, get(s, "server.pcap", "syn_unanswered_tx"), get(s, "server.pcap", "attempts_with_synack_after_ack")),
					fmt.Sprintf("TcpExt:TCPReqQFullDoCookies rose by %s %s: the SYN queue, whose limit is the same backlog, was full too", d("TCPReqQFullDoCookies"), nstat),
					"ss (ss-lnt.txt) shows the listener 198.18.2.2:8080 with Recv-Q 9 and Send-Q 8",
					"it was full when ss looked (the kernel admits one more than the limit); the limit is the backlog of about 8 the capture implies",
					"net.core.somaxconn = 4096 (sysctl.txt) is not what limits the queue: the application's listen() backlog (8) is; raise that",
					"net.ipv4.tcp_abort_on_overflow = 0 (sysctl.txt), as the capture shows",
				}},
				{KindSYNRetransmitDelay, 1, 1, nil},
			}
		}},
		{"accept-overflow-abort1", func(s string) []want {
			d := func(m string) string { return get(s, "evidence/nstat", "delta_TcpExt"+m) }
			return []want{
				{KindAcceptQueueOverflow, 0.95, 0.99, []string{
					fmt.Sprintf("TcpExt:ListenOverflows rose by %s %s: exactly as many as the capture shows (%s SYNs and %s completed handshakes dropped)", d("ListenOverflows"), nstat, get(s, "server.pcap", "syn_unanswered_tx"), get(s, "server.pcap", "attempts_with_rst_after_ack")),
					fmt.Sprintf("TcpExt:EmbryonicRsts rose by %s %s: the kernel counts there each request it resets with tcp_abort_on_overflow=1; the capture shows %s reset handshakes", d("EmbryonicRsts"), nstat, get(s, "server.pcap", "attempts_with_rst_after_ack")),
					"net.ipv4.tcp_abort_on_overflow = 1 (sysctl.txt), as the capture shows",
				}},
				{KindSYNRetransmitDelay, 1, 1, nil},
			}
		}},
		{"synflood-nocookies", func(s string) []want {
			d := func(m string) string { return get(s, "evidence/nstat", "delta_TcpExt"+m) }
			flood := mustInt(t, get(s, "server.pcap", "spoofed_syns")) - 9
			return []want{
				{KindSYNQueueOverflow, 0.9, 0.99, []string{
					fmt.Sprintf("TcpExt:TCPReqQFullDrop rose by %s %s: exactly as many as the capture shows (%d flood SYNs and %s SYNs of real clients without an answer)", d("TCPReqQFullDrop"), nstat, flood, get(s, "server.pcap", "syn_unanswered_tx")),
					"net.ipv4.tcp_syncookies = 0 (sysctl.txt): a full SYN queue drops SYNs instead of answering with cookies",
					"ss (ss-lnt.txt) shows the listener 198.18.2.2:8080 with Recv-Q 0 and Send-Q 8: current kernels cap the SYN queue at the same backlog (inet_csk_reqsk_queue_is_full) and admit one more, 9; the capture shows 9 half-open requests held",
					"net.ipv4.tcp_max_syn_backlog = 16 (sysctl.txt)",
				}},
				{KindSYNRetransmitDelay, 1, 1, nil},
			}
		}},
		{"synflood-cookies", func(s string) []want {
			d := func(m string) string { return get(s, "evidence/nstat", "delta_TcpExt"+m) }
			flood := mustInt(t, get(s, "server.pcap", "spoofed_syns")) - 9
			return []want{
				{KindSYNQueueOverflow, 0.8, 0.98, []string{
					fmt.Sprintf("TcpExt:SyncookiesSent rose by %s %s: the server answered with SYN cookies — the capture shows %d flood SYN-ACKs never retransmitted; the other %d answered SYNs", d("SyncookiesSent"), nstat, flood, mustInt(t, d("SyncookiesSent"))-flood),
					fmt.Sprintf("TcpExt:SyncookiesRecv rose by %s %s: ACKs that came back with a valid cookie", d("SyncookiesRecv"), nstat),
					"net.ipv4.tcp_syncookies = 1 (sysctl.txt): cookies answer once the SYN queue is full",
				}},
			}
		}},
		{"firewall-drop-mixed", func(s string) []want {
			return []want{
				{KindServerSilentDrop, 0.8, 0.92, []string{
					fmt.Sprintf("TcpExt:ListenDrops did not move (0 %s) while %s SYNs went unanswered: the TCP stack dropped none of them — something before it did", nstat, get(s, "server.pcap", "syn_unanswered_tx")),
					"net.ipv4.tcp_syn_retries = 6 (sysctl.txt) is this host's setting for connections it opens; the clients gave up after 4 SYNs, as Linux does with tcp_syn_retries=3",
				}},
			}
		}},
		{"healthy", func(string) []want { return nil }},
		{"nat-modern-clients", func(string) []want { return nil }},
	}
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			in := readInput(t, filepath.Join(scenarioDir, tc.scenario, "server.pcap"))
			plain := Analyze([]Input{in})
			ev := readEvidenceDir(t, filepath.Join(scenarioDir, tc.scenario, scenarioEvid))
			res := AnalyzeWithEvidence([]Input{in}, ev)
			if res.Evidence != ev {
				t.Error("Result.Evidence is not the evidence given")
			}
			wants := tc.findings(tc.scenario)
			var kinds, wantKinds []string
			for _, f := range res.Findings {
				kinds = append(kinds, string(f.Kind))
			}
			for _, w := range wants {
				wantKinds = append(wantKinds, string(w.kind))
			}
			if strings.Join(kinds, " ") != strings.Join(wantKinds, " ") {
				t.Fatalf("findings %v, want %v", kinds, wantKinds)
			}
			for i, w := range wants {
				f, p := res.Findings[i], plain.Findings[i]
				if p.Confidence != w.before || f.Confidence != w.confidence {
					t.Errorf("%s: confidence %.2f without evidence, %.2f with; want %.2f and %.2f", f.Kind, p.Confidence, f.Confidence, w.before, w.confidence)
				}
				all := strings.Join(f.Evidence, "\n")
				for _, s := range w.evidence {
					if !strings.Contains(all, s) {
						t.Errorf("%s: no evidence with %q in\n%s", f.Kind, s, all)
					}
				}
			}
		})
	}
}

// TestEvidencePerHostPAWS: the generated per-host PAWS capture (a Linux
// 3.10 server) with hand-written CentOS 7 evidence: counters that agree
// with the replay, counters that contradict it, and a modern kernel that
// cannot have the rule.
func TestEvidencePerHostPAWS(t *testing.T) {
	in := readInput(t, "../testdata/paws/paws-nat.pcap")
	tests := []struct {
		evidence   string
		confidence float64
		lines      []string
	}{
		{evidenceDir + "/centos7-paws", 0.99, []string{
			"the server runs Linux 3.10.0-1160.el7.x86_64 (uname.txt), older than 4.12: its kernel has the per-host PAWS check",
			"net.ipv4.tcp_tw_recycle = 1 (sysctl.txt): the rule is on",
			"TcpExt:PAWSPassive rose by 80 between netstat-s-before.txt and netstat-s-after.txt: exactly as many as the replay predicts (80 dropped SYNs)",
		}},
		{evidenceDir + "/centos7-paws-zero", 0.15, []string{
			"the counters say 0 PAWS rejects: TcpExt:PAWSPassive did not move (1000 between netstat-s-before.txt and netstat-s-after.txt): per-host PAWS is not the cause",
		}},
		{filepath.Join(scenarioDir, "healthy", scenarioEvid), 0.1, []string{
			"the server runs Linux 6.18.44-fc-v657 (uname.txt): tcp_tw_recycle and its per-host PAWS check were removed in 4.12, so this rule cannot have dropped these SYNs: per-host PAWS is not the cause here",
			"nstat-after.txt has no TcpExt:PAWSPassive counter: the kernel has no per-host PAWS check (removed in 4.12)",
		}},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.evidence), func(t *testing.T) {
			res := AnalyzeWithEvidence([]Input{in}, readEvidenceDir(t, tc.evidence))
			var f *Finding
			for i := range res.Findings {
				if res.Findings[i].Kind == KindPerHostPAWS {
					f = &res.Findings[i]
				}
			}
			if f == nil {
				t.Fatal("no per_host_paws finding")
			}
			if f.Confidence != tc.confidence {
				t.Errorf("confidence %.2f, want %.2f", f.Confidence, tc.confidence)
			}
			all := strings.Join(f.Evidence, "\n")
			for _, s := range tc.lines {
				if !strings.Contains(all, s) {
					t.Errorf("no evidence with %q in\n%s", s, all)
				}
			}
		})
	}
	res := AnalyzeWithEvidence([]Input{in}, readEvidenceDir(t, evidenceDir+"/centos7-paws"))
	if notes := strings.Join(res.Evidence.AllNotes(), "\n"); !strings.Contains(notes, "the counter snapshots (2024-03-01 09:59:58 to 2024-03-01 10:04:01 UTC) cover the capture (2024-03-01 10:00:00 to 2024-03-01 10:03:55 UTC)") {
		t.Errorf("notes: %q", notes)
	}
}

// TestEvidenceRisks: settings and queues that drop SYNs are findings of
// their own when the capture (here a healthy one) shows no harm yet.
func TestEvidenceRisks(t *testing.T) {
	in := readInput(t, filepath.Join(scenarioDir, "healthy", "server.pcap"))
	res := AnalyzeWithEvidence([]Input{in}, readEvidenceDir(t, evidenceDir+"/risky"))
	want := map[Kind][]string{
		KindHostTWRecycle: {"warning", "net.ipv4.tcp_tw_recycle is on",
			"net.ipv4.tcp_tw_recycle = 1 (sysctl.txt): the server remembers the last timestamp of each client address",
			"the server runs Linux 3.10.0-1160.el7.x86_64 (uname.txt); the setting was removed in 4.12"},
		KindHostSyncookiesOff: {"warning", "SYN cookies are off",
			"net.ipv4.tcp_syncookies = 0 (sysctl.txt)",
			"the listeners' backlogs (ss Send-Q): 0.0.0.0:22 128, 198.18.2.2:8080 128"},
		KindHostSmallBacklog: {"warning", "a listener's accept queue was full when ss looked",
			"ss (ss-lnt.txt, 3 samples) shows the listener 198.18.2.2:8080 with Recv-Q up to 129 and Send-Q 128: its accept queue was at its limit",
			"net.core.somaxconn = 128 (sysctl.txt): no listener can queue more than that (the default before Linux 5.4)"},
		KindHostListenDrops: {"warning", "dropped 42 SYNs at listening sockets",
			"TcpExt:ListenDrops rose by 42 between nstat-before.txt and nstat-after.txt",
			"TcpExt:ListenOverflows rose by 42 between nstat-before.txt and nstat-after.txt"},
	}
	if len(res.Findings) != len(want) {
		t.Errorf("%d findings, want %d", len(res.Findings), len(want))
	}
	for _, f := range res.Findings {
		w, ok := want[f.Kind]
		if !ok {
			t.Errorf("unexpected finding %s: %s", f.Kind, f.Summary)
			continue
		}
		if f.Severity.String() != w[0] || !strings.Contains(f.Summary, w[1]) {
			t.Errorf("%s: %s %q, want %s and %q", f.Kind, f.Severity, f.Summary, w[0], w[1])
		}
		all := strings.Join(f.Evidence, "\n")
		for _, s := range w[2:] {
			if !strings.Contains(all, s) {
				t.Errorf("%s: no evidence with %q in\n%s", f.Kind, s, all)
			}
		}
		if f.Recommendation == "" || f.Capture != 0 {
			t.Errorf("%s: recommendation %q, capture %d", f.Kind, f.Recommendation, f.Capture)
		}
	}
}

// TestEvidenceClientSide: evidence a syndiag collect folder marks as the
// client's is compared only with what the client decides (tcp_syn_retries).
func TestEvidenceClientSide(t *testing.T) {
	in := readInput(t, filepath.Join(scenarioDir, "firewall-drop-mixed", "server.pcap"))
	ev := readEvidenceDir(t, filepath.Join(scenarioDir, "firewall-drop-mixed", scenarioEvid))
	if err := ev.Add("client/syndiag-side.txt", strings.NewReader("# syndiag collect\nside: client\nhost: c1\n")); err != nil {
		t.Fatal(err)
	}
	if err := ev.Add("client/sysctl.txt", strings.NewReader("net.ipv4.tcp_syn_retries = 3\n")); err != nil {
		t.Fatal(err)
	}
	res := AnalyzeWithEvidence([]Input{in}, ev)
	f := res.Findings[0]
	all := strings.Join(f.Evidence, "\n")
	if !strings.Contains(all, "net.ipv4.tcp_syn_retries = 3 (sysctl.txt) on the client: the clients gave up after 4 SYNs, as Linux does with tcp_syn_retries=3") {
		t.Errorf("no tcp_syn_retries line in\n%s", all)
	}
	if strings.Contains(all, "ListenDrops") || f.Confidence != 0.8 {
		t.Errorf("the client's counters were fused (confidence %.2f):\n%s", f.Confidence, all)
	}
	if notes := strings.Join(ev.AllNotes(), "\n"); !strings.Contains(notes, "the evidence was collected on the client (syndiag-side.txt)") {
		t.Errorf("notes: %q", notes)
	}
}

// TestAnalyzeWithoutEvidence: no evidence, no change.
func TestAnalyzeWithoutEvidence(t *testing.T) {
	in := readInput(t, filepath.Join(scenarioDir, "accept-overflow-abort0", "server.pcap"))
	a, b := Analyze([]Input{in}), AnalyzeWithEvidence([]Input{in}, nil)
	if !reflect.DeepEqual(a.Findings, b.Findings) || b.Evidence != nil {
		t.Error("AnalyzeWithEvidence without evidence differs from Analyze")
	}
}

func TestNstatMIB(t *testing.T) {
	for in, want := range map[string]string{
		"TcpExtListenDrops": "TcpExt:ListenDrops", "TcpPassiveOpens": "Tcp:PassiveOpens", "IpExtInOctets": "IpExt:InOctets",
		"IpInReceives": "Ip:InReceives", "Ip6InReceives": "Ip6:InReceives", "IcmpMsgInType3": "IcmpMsg:InType3",
		"Icmp6InMsgs": "Icmp6:InMsgs", "UdpLite6InErrors": "UdpLite6:InErrors", "MPTcpExtMPCapableSYNRX": "MPTcpExt:MPCapableSYNRX",
		"TcpExtTW": "TcpExt:TW", "TlsCurrTxSw": "TlsCurrTxSw", "Tcp": "Tcp",
	} {
		if got := nstatMIB(in); got != want {
			t.Errorf("nstatMIB(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTimeLine(t *testing.T) {
	for in, want := range map[string]string{
		"# syndiag-time: 2026-11-21T07:20:18Z":  "2026-11-21T07:20:18Z",
		"2026-11-21T07:20:18.5+01:00":           "2026-11-21T06:20:18Z",
		"Fri Mar  1 09:59:58 UTC 2024":          "2024-03-01T09:59:58Z",
		"# taken: Fri Mar  1 09:59:58 UTC 2024": "2024-03-01T09:59:58Z",
		"    Forwarding: 2":                     "",
		"TcpExtListenDrops 12 0.0":              "",
		"#kernel":                               "",
	} {
		tm, ok := timeLine(in)
		got := ""
		if ok {
			got = tm.Truncate(time.Second).Format(time.RFC3339)
		}
		if got != want {
			t.Errorf("timeLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzEvidence: no content makes Add panic, and a file it accepts is
// recorded once.
func FuzzEvidence(f *testing.F) {
	for _, dir := range []string{evidenceDir, evidenceDir + "/centos7-paws", evidenceDir + "/risky", filepath.Join(scenarioDir, "synflood-nocookies", scenarioEvid)} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && !e.IsDir() {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{"capture-stopped", "app-retry", "stale-timewait"} {
		if b, err := os.ReadFile(filepath.Join(trustDir, s, "evidence", "trace.txt")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev := NewHostEvidence()
		if err := ev.Add("f", bytes.NewReader(b)); err == nil && len(ev.Files) != 1 {
			t.Errorf("%d files recorded", len(ev.Files))
		}
		ev.KeyCounters()
		ev.KeySysctls()
	})
}

func BenchmarkEvidenceNstat(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(scenarioDir, "accept-overflow-abort0", scenarioEvid, "nstat-after.txt"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := NewHostEvidence().Add("nstat.txt", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
