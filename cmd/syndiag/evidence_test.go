package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const scenarios = "../../testdata/scenarios/"

// TestEvidenceFlag runs --evidence with files and folders, good and bad.
func TestEvidenceFlag(t *testing.T) {
	tmp := t.TempDir()
	garbage := filepath.Join(tmp, "garbage.txt")
	if err := os.WriteFile(garbage, []byte("hello, this is not evidence\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(tmp, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	// A folder as syndiag collect leaves it: evidence, a capture and a
	// stray file.
	folder := filepath.Join(tmp, "folder")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"nstat-before.txt", "nstat-after.txt", "sysctl.txt", "ss-lnt.txt", "uname.txt"} {
		copyFile(t, filepath.Join(scenarios, "accept-overflow-abort0/evidence", f), filepath.Join(folder, f))
	}
	capture := filepath.Join(folder, "server.pcap")
	copyFile(t, filepath.Join(scenarios, "accept-overflow-abort0/server.pcap"), capture)
	if err := os.WriteFile(filepath.Join(folder, "notes.md"), []byte("taken during the outage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sides := filepath.Join(tmp, "sides")
	for _, s := range []string{"server", "client"} {
		d := filepath.Join(sides, s)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "syndiag-side.txt"), []byte("# syndiag collect\nside: "+s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abort0 := scenarios + "accept-overflow-abort0/"
	tests := []struct {
		desc   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{desc: "garbage", args: []string{"--evidence", garbage, abort0 + "server.pcap"}, code: 2,
			stderr: "syndiag: evidence " + garbage + `: not host evidence: syndiag reads the output of netstat -s, nstat, cat /proc/net/netstat or /proc/net/snmp, sysctl, ss -lnt, uname -r, skb:kfree_skb traces, kernel logs (dmesg, journalctl -k, syslog) and firewall listings (iptables -L -v -n -x, iptables-save -c, nft list ruleset): it starts with "hello, this is not evidence"`},
		{desc: "missing", args: []string{"--evidence", "nonexistent", abort0 + "server.pcap"}, code: 2, stderr: "syndiag: evidence nonexistent: no such file or directory"},
		{desc: "empty folder", args: []string{"--evidence", empty, abort0 + "server.pcap"}, code: 2, stderr: "no evidence file in this folder"},
		{desc: "two sides", args: []string{"--evidence", filepath.Join(sides, "server"), "--evidence", filepath.Join(sides, "client"), abort0 + "server.pcap"}, code: 2, stderr: "evidence from both the server and the client"},
		{desc: "scenario folder", args: []string{"--evidence", abort0 + "evidence", abort0 + "server.pcap"}, code: 0, stdout: []string{
			"CRITICAL accept_queue_overflow, confidence 0.99",
			"TcpExt:ListenOverflows rose by 333 between nstat-before.txt and nstat-after.txt",
			"Host evidence (read as the server's)",
			"nstat-before.txt nstat - 390 counters",
			"TcpExt:ListenOverflows 0 333 +333",
			"Before and after: nstat-before.txt → nstat-after.txt.",
			"net.core.somaxconn 4096 sysctl.txt",
			"198.18.2.2:8080 9 8 1 ss-lnt.txt full",
			"kernel 6.18.44-fc-v657 (uname.txt)",
		}},
		{desc: "files one by one", args: []string{"--evidence", abort0 + "evidence/nstat-after.txt", "--evidence", abort0 + "evidence/nstat-before.txt", abort0 + "server.pcap"}, code: 0, stdout: []string{"TcpExt:ListenOverflows 0 333 +333"}},
		{desc: "one snapshot", args: []string{"--evidence", abort0 + "evidence/nstat-after.txt", abort0 + "server.pcap"}, code: 0, stdout: []string{
			"TcpExt:ListenOverflows - 333 since boot", "since boot: one snapshot only",
			"TcpExt:ListenOverflows is 333 since boot (nstat-after.txt, one snapshot: a total, not when): it has happened on this host",
		}},
		{desc: "folder with its capture", args: []string{"--evidence", folder, capture}, code: 0, stdout: []string{"note: " + filepath.Join(folder, "notes.md") + ": skipped: not host evidence"}},
		{desc: "markdown", args: []string{"--format", "markdown", "--evidence", abort0 + "evidence", abort0 + "server.pcap"}, code: 0, stdout: []string{"## Host evidence (read as the server's)", "| TcpExt:ListenOverflows | 0 | 333 | +333 |"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr: %s)", code, tc.code, stderr)
			}
			folded := strings.Join(strings.Fields(stdout), " ")
			for _, s := range tc.stdout {
				if !strings.Contains(folded, s) {
					t.Errorf("stdout does not contain %q:\n%s", s, stdout)
				}
			}
			if !strings.Contains(stderr, tc.stderr) || tc.stderr == "" && stderr != "" {
				t.Errorf("stderr %q, want %q", stderr, tc.stderr)
			}
		})
	}
	// The capture of a folder is skipped silently when it is given as a
	// capture, and with a note when it is not.
	_, withCapture, _ := runCmd(t, "--evidence", folder, capture)
	_, without, _ := runCmd(t, "--evidence", folder, abort0+"server.pcap")
	if strings.Contains(withCapture, "skipped, a capture") || !strings.Contains(strings.Join(strings.Fields(without), " "), "server.pcap: skipped, a capture (give it as a FILE argument to analyze it)") {
		t.Errorf("capture notes wrong:\n%s\n---\n%s", withCapture, without)
	}
}

// TestEvidenceJSON checks the JSON evidence block, its place before the
// findings, and that the document is deterministic.
func TestEvidenceJSON(t *testing.T) {
	args := []string{"--format", "json", "--evidence", scenarios + "synflood-nocookies/evidence", scenarios + "synflood-nocookies/server.pcap"}
	code, stdout, stderr := runCmd(t, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, again, _ := runCmd(t, args...); again != stdout {
		t.Error("a second run gave different output")
	}
	if i, j := strings.Index(stdout, `"evidence": {`), strings.Index(stdout, `"findings": [`); i < 0 || j < i {
		t.Errorf("evidence at %d, findings at %d", i, j)
	}
	var doc struct {
		Evidence struct {
			Side  string `json:"side"`
			Files []struct {
				Path, Kind string
				Time       *string
				Values     int
			} `json:"files"`
			Kernel   struct{ Release, File string } `json:"kernel"`
			Counters []struct {
				Name      string  `json:"name"`
				SinceBoot bool    `json:"since_boot"`
				Before    *uint64 `json:"before"`
				After     uint64  `json:"after"`
				Delta     *int64  `json:"delta"`
			} `json:"counters"`
			Sysctls []struct {
				Name, Value string
			} `json:"sysctls"`
			Listeners []struct {
				Local string `json:"local"`
				RecvQ int    `json:"recv_q"`
				SendQ int    `json:"send_q"`
			} `json:"listeners"`
		} `json:"evidence"`
		Findings []struct {
			Kind       string
			Confidence float64
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	e := doc.Evidence
	if e.Side != "unknown" || len(e.Files) != 10 || e.Kernel.Release != "6.18.44-fc-v657" {
		t.Errorf("side %q, %d files, kernel %q", e.Side, len(e.Files), e.Kernel.Release)
	}
	found := false
	for _, c := range e.Counters {
		if c.Name == "TcpExt:TCPReqQFullDrop" {
			found = true
			if c.SinceBoot || c.Before == nil || *c.Before != 0 || c.After != 1045 || c.Delta == nil || *c.Delta != 1045 {
				t.Errorf("TCPReqQFullDrop: %+v", c)
			}
		}
		if c.Name == "TcpExt:PAWSPassive" {
			t.Error("PAWSPassive listed although this kernel has no such counter")
		}
	}
	if !found {
		t.Error("no TCPReqQFullDrop counter")
	}
	settings := map[string]string{}
	for _, s := range e.Sysctls {
		settings[s.Name] = s.Value
		if !strings.HasPrefix(s.Name, "net.") {
			t.Errorf("setting %s listed", s.Name)
		}
	}
	if settings["net.ipv4.tcp_syncookies"] != "0" || settings["net.ipv4.tcp_max_syn_backlog"] != "16" {
		t.Errorf("settings %v", settings)
	}
	if len(e.Listeners) != 1 || e.Listeners[0].Local != "198.18.2.2:8080" || e.Listeners[0].SendQ != 8 {
		t.Errorf("listeners %+v", e.Listeners)
	}
	if doc.Findings[0].Kind != "syn_queue_overflow" || doc.Findings[0].Confidence != 0.99 {
		t.Errorf("first finding %+v", doc.Findings[0])
	}
	// Without --evidence there is no evidence block (the golden files
	// pin the rest of the document).
	_, plain, _ := runCmd(t, "--format", "json", scenarios+"synflood-nocookies/server.pcap")
	if strings.Contains(plain, `"evidence": {`) {
		t.Error("an evidence block without --evidence")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEvidenceDropReasons: a drop-reason trace is listed with its reasons
// in the terminal report and in the JSON document's drop_reasons.
func TestEvidenceDropReasons(t *testing.T) {
	dir := "../../testdata/trust/app-retry/"
	code, stdout, stderr := runCmd(t, "--evidence", dir+"evidence/trace.txt", dir+"server.pcap")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Kernel drop reasons (skb:kfree_skb)", "NO_SOCKET          7  tcp_v4_rcv 7", "show 7 NO_SOCKET drops at tcp_v4_rcv while the capture ran"} {
		if !strings.Contains(strings.Join(strings.Fields(stdout), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("the report lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = runCmd(t, "--format", "json", "--evidence", dir+"evidence/trace.txt", dir+"server.pcap")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Evidence struct {
			DropReasons []struct {
				Reason string `json:"reason"`
				Count  int    `json:"count"`
				Clock  string `json:"clock"`
				Sites  []struct {
					Function string `json:"function"`
					Count    int    `json:"count"`
				} `json:"sites"`
			} `json:"drop_reasons"`
		} `json:"evidence"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	d := doc.Evidence.DropReasons
	if len(d) != 2 || d[0].Reason != "NO_SOCKET" || d[0].Count != 7 || d[0].Clock != "marker" || len(d[0].Sites) != 1 || d[0].Sites[0].Function != "tcp_v4_rcv" {
		t.Errorf("drop_reasons %+v; want NO_SOCKET 7 at tcp_v4_rcv, then QUEUE_PURGE", d)
	}
}

// TestEvidenceFirewallAndKernelLog: firewall listings and a kernel log are
// listed by kind in the files table, the rules whose counters changed and
// the log's events in tables of their own, and every rule and event in the
// JSON document's firewall and kernel_log.
func TestEvidenceFirewallAndKernelLog(t *testing.T) {
	dir := "../../testdata/fusion/"
	ev := []string{"--evidence", dir + "evidence/iptables-L-before.txt", "--evidence", dir + "evidence/iptables-L-after.txt", "--evidence", dir + "evidence/dmesg.txt", "--evidence", dir + "evidence/dmesg-iso.txt"}
	code, stdout, stderr := runCmd(t, append(ev, dir+"server.pcap")...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"iptables-L-after.txt firewall 2026-12-04 18:38:30 11 rules",
		"dmesg.txt kernel log - 1 event",
		"Firewall counters",
		"iptables -L INPUT: tcp dpt:8081 DROP 200000 200006 +6",
		"iptables -L INPUT: policy DROP DROP 0 3 +3",
		"Kernel log",
		"2026-12-04 18:38:20.440 SYN queue full on 198.18.180.1:8090, SYNs dropped yes dmesg-iso.txt:1",
	} {
		if !strings.Contains(strings.Join(strings.Fields(stdout), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("the report lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = runCmd(t, append(append([]string{"--format", "json"}, ev...), dir+"server.pcap")...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Evidence struct {
			KernelLog []struct {
				Kind   string  `json:"kind"`
				Time   *string `json:"time"`
				Tie    string  `json:"tie"`
				During *bool   `json:"during_capture"`
				Addr   *string `json:"addr"`
				Port   *int    `json:"port"`
				File   string  `json:"file"`
			} `json:"kernel_log"`
			Firewall []struct {
				Chain        string `json:"chain"`
				Target       string `json:"target"`
				Policy       bool   `json:"policy"`
				DeltaPackets *int64 `json:"delta_packets"`
				Exact        bool   `json:"exact"`
			} `json:"firewall"`
		} `json:"evidence"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	k := doc.Evidence.KernelLog
	if len(k) != 1 || k[0].Kind != "syn-flood" || k[0].Time == nil || *k[0].Time != "2026-12-04T18:38:20.440842000Z" || k[0].Tie != "wall" || k[0].During == nil || !*k[0].During || *k[0].Addr != "198.18.180.1" || *k[0].Port != 8090 {
		t.Errorf("kernel_log %+v; want the one line of dmesg-iso.txt, during the capture", k)
	}
	fw := doc.Evidence.Firewall
	if len(fw) != 11 || !fw[0].Policy || fw[0].Target != "DROP" || fw[0].DeltaPackets == nil || *fw[0].DeltaPackets != 3 || !fw[0].Exact {
		t.Errorf("firewall %+v; want 11 rules, the INPUT policy first with +3", fw)
	}
}
