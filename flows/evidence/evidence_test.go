package evidence

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
)

const (
	evidenceDir  = "testdata"
	scenarioDir  = "../../testdata/scenarios"
	scenarioEvid = "evidence"
)

// trustDir holds the real-kernel scenarios of issue 11 (make-scenarios.sh
// trust), each with the drop-reason trace taken while it ran.
var trustDir = filepath.Join("..", "..", "testdata", "trust")

// truthFigures reads the truth.tsv that make-scenarios.sh writes in dir:
// the figures the script measured, keyed "scenario/file/metric".
func truthFigures(t *testing.T, dir string) map[string]string {
	return tsvFigures(t, filepath.Join(dir, "truth.tsv"), 3)
}

// tsvFigures reads a table of tab-separated values: the first keys
// columns, joined by "/", name the value in the next column. Comments
// and shorter lines are skipped.
func tsvFigures(t *testing.T, path string, keys int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	figures := map[string]string{}
	for line := range strings.Lines(string(b)) {
		if c := strings.Split(strings.TrimRight(line, "\r\n"), "\t"); len(c) > keys && !strings.HasPrefix(c[0], "#") {
			figures[strings.Join(c[:keys], "/")] = c[keys]
		}
	}
	return figures
}

// addFile adds one evidence file and fails the test on an error.
func addFile(t *testing.T, h *Host, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := h.Add(path, f); err != nil {
		t.Fatal(err)
	}
}

// addContent adds a file's content and fails the test on an error.
func addContent(t *testing.T, h *Host, name, content string) {
	t.Helper()
	if err := h.Add(name, strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
}

// readDir adds every file of a folder, in name order, as the command does.
func readDir(t *testing.T, dir string) *Host {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost()
	for _, e := range ents {
		if !e.IsDir() && e.Name() != "README.md" {
			addFile(t, h, filepath.Join(dir, e.Name()))
		}
	}
	return h
}

func readOne(t *testing.T, path string) *Host {
	t.Helper()
	h := NewHost()
	addFile(t, h, path)
	return h
}

func TestKinds(t *testing.T) {
	abort0 := filepath.Join(scenarioDir, "accept-overflow-abort0", scenarioEvid)
	nocookies := filepath.Join(scenarioDir, "synflood-nocookies", scenarioEvid)
	tests := []struct {
		file    string
		kind    Kind
		values  int
		ignored int
	}{
		{abort0 + "/nstat-after.txt", KindNstat, 390, 0},
		{abort0 + "/netstat-s-after.txt", KindNetstat, 28, 0},
		{abort0 + "/netstat-s-before.txt", KindNetstat, 12, 0},
		{abort0 + "/proc-net-netstat.txt", KindProcNet, 229, 0},
		{abort0 + "/proc-net-snmp.txt", KindProcNet, 81, 0},
		{abort0 + "/sysctl.txt", KindSysctl, 89, 0},
		{abort0 + "/ss-lnt.txt", KindSS, 1, 0},
		{abort0 + "/uname.txt", KindUname, 1, 0},
		{nocookies + "/ss-syn-recv.txt", KindSS, 9, 0},
		{evidenceDir + "/centos7-paws/netstat-s-before.txt", KindNetstat, 38, 0},
		{evidenceDir + "/centos7-paws/sysctl.txt", KindSysctl, 12, 0},
		{evidenceDir + "/centos7-paws/uname.txt", KindUname, 1, 0},
		{evidenceDir + "/centos7-ss-lnt.txt", KindSS, 5, 0},
		{evidenceDir + "/ss-ltnp.txt", KindSS, 6, 0},
		{evidenceDir + "/ss-netid.txt", KindSS, 1, 1},
		{evidenceDir + "/nstat-noz.txt", KindNstat, 4, 0},
		{evidenceDir + "/proc-version.txt", KindUname, 1, 0},
		{evidenceDir + "/proc-sys-grep.txt", KindSysctl, 4, 0},
		{evidenceDir + "/netstat-s-unknown-lines.txt", KindNetstat, 8, 5},
		{evidenceDir + "/risky/ss-lnt.txt", KindSS, 2, 0},
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

// TestValues checks what the parsers read from each format,
// including the older netstat -s wording of CentOS 7's net-tools.
func TestValues(t *testing.T) {
	counter := func(ev *Host, name string) string {
		c, ok := ev.Counter(name)
		if !ok {
			return "missing"
		}
		return strconv.FormatUint(c.After, 10)
	}
	sysctl := func(ev *Host, name string) string {
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

// TestListeners checks the listeners read from the ss formats.
func TestListeners(t *testing.T) {
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

// TestErrors: content that is no evidence is an *Error that
// names the file; unknown lines inside evidence are not.
func TestErrors(t *testing.T) {
	pcap, err := os.ReadFile("../../testdata/lab/closed-port.pcap")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc    string
		content string
		err     error
		msg     string
	}{
		{"garbage", "hello, this is not evidence\nand neither is this line\n", ErrNotEvidence, `evidence f.txt: not host evidence: syndiag reads the output of netstat -s, nstat, cat /proc/net/netstat or /proc/net/snmp, sysctl, ss -lnt, uname -r, skb:kfree_skb traces, kernel logs (dmesg, journalctl -k, syslog) and firewall listings (iptables -L -v -n -x, iptables-save -c, nft list ruleset): it starts with "hello, this is not evidence"`},
		{"empty", "", ErrNotEvidence, "evidence f.txt: not host evidence"},
		{"only comments", "# nothing here\n\n", ErrNotEvidence, "evidence f.txt: not host evidence"},
		{"binary", "\x00\x01\x02binary", ErrNotEvidence, "it starts with"},
		{"latin-1", "caf\xe9\n", ErrNotEvidence, "it starts with"},
		{"pcap", string(pcap), ErrCapture, "evidence f.txt: a packet capture, not host evidence: give it as a capture FILE argument"},
		{"gzip", "\x1f\x8b\x08\x00rest", ErrCapture, "a packet capture"},
		{"a word", "hello\n", ErrNotEvidence, `it starts with "hello"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			ev := NewHost()
			err := ev.Add("f.txt", strings.NewReader(tc.content))
			var ee *Error
			if !errors.Is(err, tc.err) || !errors.As(err, &ee) || ee.File != "f.txt" {
				t.Fatalf("error %v, want an *Error for f.txt wrapping %v", err, tc.err)
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
	ev := NewHost()
	if err := ev.Add("a/syndiag-side.txt", strings.NewReader("# syndiag collect\nside: server\n")); err != nil {
		t.Fatal(err)
	}
	err = ev.Add("b/syndiag-side.txt", strings.NewReader("# syndiag collect\nside: client\nhost: c1\n"))
	if !errors.Is(err, ErrBothSides) || !strings.Contains(err.Error(), "syndiag-side.txt says server, syndiag-side.txt says client") {
		t.Errorf("error %v, want ErrBothSides naming both", err)
	}
}

// TestUnknownLines: lines no parser knows are counted and skipped,
// and everything around them is still read.
func TestUnknownLines(t *testing.T) {
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
		ev := NewHost()
		if err := ev.Add("f", strings.NewReader(content)); err != nil {
			t.Errorf("%q: %v", content, err)
			continue
		}
		if f := ev.Files[0]; f.Values != 2 && f.Kind != KindSS || f.Kind == KindSS && f.Values != 1 || f.Ignored == 0 {
			t.Errorf("%q: %+v", content, f)
		}
	}
}

// TestSnapshotOrder: before and after are told apart by the time
// inside the files, or else by the counters, which only grow; never by the
// names ("after" sorts before "before").
func TestSnapshotOrder(t *testing.T) {
	dir := filepath.Join(scenarioDir, "accept-overflow-abort0", scenarioEvid)
	for _, order := range [][]string{{"nstat-after.txt", "nstat-before.txt"}, {"nstat-before.txt", "nstat-after.txt"}, {"netstat-s-after.txt", "netstat-s-before.txt"}} {
		ev := NewHost()
		for _, f := range order {
			addFile(t, ev, filepath.Join(dir, f))
		}
		c, _ := ev.Counter("TcpExt:ListenOverflows")
		if c.SinceBoot || c.Delta != 333 || filepath.Base(c.From) != strings.Replace(order[0], "after", "before", 1) && filepath.Base(c.From) != order[1] {
			t.Errorf("%v: %+v, want a delta of 333 from the before file", order, c)
		}
	}
	// Times decide, even against the counters.
	ev := NewHost()
	addContent(t, ev, "b.txt", "# syndiag-time: 2026-11-21T07:00:10Z\n#kernel\nTcpExtListenDrops 100 0.0\n")
	addContent(t, ev, "a.txt", "# syndiag-time: 2026-11-21T07:00:00Z\n#kernel\nTcpExtListenDrops 40 0.0\n")
	if c, _ := ev.Counter("TcpExt:ListenDrops"); c.Delta != 60 || c.From != "a.txt" {
		t.Errorf("timed: %+v, want a.txt → b.txt, +60", c)
	}
	// Files that disagree get a note.
	ev = NewHost()
	ev.Add("x.txt", strings.NewReader("#kernel\nTcpExtListenDrops 100 0.0\nTcpExtTW 5 0.0\n"))
	ev.Add("y.txt", strings.NewReader("#kernel\nTcpExtListenDrops 40 0.0\nTcpExtTW 9 0.0\n"))
	if notes := strings.Join(ev.Notes(), "\n"); !strings.Contains(notes, "x.txt and y.txt disagree on which was taken first (1 counters grew, 1 fell)") {
		t.Errorf("notes: %q", notes)
	}
	if c, _ := ev.Counter("TcpExt:ListenDrops"); c.Delta != -60 || c.Valid() {
		t.Errorf("%+v: a counter that fell is no valid delta", c)
	}
}

// TestTruthDeltas: every counter delta the scenario script measured with
// nstat (truth.tsv) is what the evidence gives, read from the scenario's
// whole folder; counters this kernel does not have are reported as
// missing, not as 0.
func TestTruthDeltas(t *testing.T) {
	truth := truthFigures(t, scenarioDir)
	n := 0
	for key, want := range truth {
		parts := strings.SplitN(key, "/", 4) // scenario/evidence/nstat/delta_X
		if len(parts) != 4 || parts[1]+"/"+parts[2] != "evidence/nstat" || !strings.HasPrefix(parts[3], "delta_") {
			continue
		}
		ev := readDir(t, filepath.Join(scenarioDir, parts[0], scenarioEvid))
		name := nstatMIB(strings.TrimPrefix(parts[3], "delta_"))
		c, ok := ev.Counter(name)
		switch _, lacks := ev.LacksCounter(name); {
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
		ev := NewHost()
		if err := ev.Add("f", bytes.NewReader(b)); err == nil && len(ev.Files) != 1 {
			t.Errorf("%d files recorded", len(ev.Files))
		}
		ev.KeyCounters()
		ev.KeySysctls()
	})
}

func BenchmarkEvidenceNstat(b *testing.B) {
	benchmarkAdd(b, filepath.Join(scenarioDir, "accept-overflow-abort0", scenarioEvid, "nstat-after.txt"))
}

// benchmarkAdd measures Add on one file.
func benchmarkAdd(b *testing.B, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := NewHost().Add(filepath.Base(path), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
