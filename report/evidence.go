package report

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/analyze/wording"
	"github.com/syndiag/syndiag/flows/evidence"
)

// evidenceKinds names the kinds of evidence files for people.
var evidenceKinds = map[evidence.Kind]string{
	evidence.KindNetstat: "netstat -s",
	evidence.KindNstat:   "nstat",
	evidence.KindProcNet: "/proc/net",
	evidence.KindSysctl:  "sysctl",
	evidence.KindSS:      "ss",
	evidence.KindUname:   "uname",
	evidence.KindCollect: "collect",
	evidence.KindTrace:   "drop-reason trace",
	// The files list reads "kernel log" and "3 events", "firewall" and
	// "14 rules".
	evidence.KindKernelLog: "kernel log",
	evidence.KindFirewall:  "firewall",
}

// evidenceWhat says what a file of a kind holds, counted.
func evidenceWhat(f evidence.File) string {
	var s string
	switch f.Kind {
	case evidence.KindNetstat, evidence.KindNstat, evidence.KindProcNet:
		s = wording.Plural(f.Values, "counter")
	case evidence.KindSysctl:
		s = wording.Plural(f.Values, "setting")
	case evidence.KindSS:
		s = wording.Plural(f.Values, "socket")
	case evidence.KindUname:
		s = "kernel release"
	case evidence.KindCollect:
		s = "side"
	case evidence.KindTrace:
		s = wording.Plural(f.Values, "dropped packet")
	case evidence.KindKernelLog:
		s = wording.Plural(f.Values, "event")
	case evidence.KindFirewall:
		s = wording.Plural(f.Values, "rule")
	}
	if f.Ignored > 0 {
		s += fmt.Sprintf(" (%s not used)", wording.Plural(f.Ignored, "line"))
	}
	return s
}

// alwaysShown are the counters of SYNs dropped or answered with cookies:
// the report lists them even at 0, since a 0 there is evidence too.
var alwaysShown = map[string]bool{
	"TcpExt:ListenOverflows": true, "TcpExt:ListenDrops": true, "TcpExt:TCPReqQFullDrop": true,
	"TcpExt:TCPReqQFullDoCookies": true, "TcpExt:SyncookiesSent": true, "TcpExt:PAWSPassive": true,
}

// hostEvidence lays out the host evidence: the files read, the counters and
// settings that decide how SYNs are treated, the listeners, and notes.
func hostEvidence(p *page, res *analyze.Result) {
	ev := res.Evidence
	if ev == nil {
		return
	}
	side := "read as the server's"
	if ev.Side != evidence.SideUnknown {
		side = "collected on the " + string(ev.Side)
	}
	p.heading(fmt.Sprintf("Host evidence (%s)", side))
	var rows [][]string
	for _, f := range ev.Files {
		taken := "-"
		if !f.Time.IsZero() {
			taken = f.Time.UTC().Format("2006-01-02 15:04:05")
		}
		rows = append(rows, []string{p.cut(DisplayName(filepath.Base(f.Path)), 26), evidenceKinds[f.Kind], taken, evidenceWhat(f)})
	}
	if len(rows) > 0 {
		p.table([]string{"File", "Kind", "Taken (UTC)", "Read"}, rows)
	}
	var notes []string
	if ev.Kernel != "" {
		notes = append(notes, fmt.Sprintf("kernel %s (%s)", ev.Kernel, filepath.Base(ev.KernelFile)))
	}
	for _, n := range ev.Notes() {
		notes = append(notes, "note: "+n)
	}
	p.bullets(2, notes)
	p.gap()

	if key := ev.KeyCounters(); len(key) > 0 {
		p.heading("Counters that tell how SYNs were treated")
		rows = nil
		pairs := map[string]int{}
		var order []string
		quiet := 0
		for _, c := range key {
			if c.After == 0 && c.Delta == 0 && !alwaysShown[c.Name] {
				quiet++
				continue
			}
			if c.SinceBoot {
				rows = append(rows, []string{c.Name, "-", strconv.FormatUint(c.After, 10), "since boot"})
				continue
			}
			change := strconv.FormatInt(c.Delta, 10)
			if c.Delta > 0 {
				change = "+" + change
			}
			rows = append(rows, []string{c.Name, strconv.FormatUint(c.Before, 10), strconv.FormatUint(c.After, 10), change})
			pair := filepath.Base(c.From) + " → " + filepath.Base(c.To)
			if pairs[pair] == 0 {
				order = append(order, pair)
			}
			pairs[pair]++
		}
		p.table([]string{"Counter", "Before", "After", "Change"}, rows, 1, 2, 3)
		var lines []string
		for _, pr := range order {
			lines = append(lines, fmt.Sprintf("Before and after: %s.", pr))
		}
		if quiet > 0 {
			lines = append(lines, fmt.Sprintf("%s of this list stayed at 0.", wording.Plural(quiet, "other counter")))
		}
		moved := 0
		for _, c := range ev.Counters {
			if !c.SinceBoot && c.Delta != 0 && !evidence.IsKeyCounter(c.Name) {
				moved++
			}
		}
		if moved > 0 {
			lines = append(lines, fmt.Sprintf("%s moved as well (all of them are in --format json).", wording.Plural(moved, "other counter")))
		}
		for _, c := range key {
			if c.SinceBoot {
				lines = append(lines, "since boot: one snapshot only, so the total since the host (or its network namespace) started, not what happened during the capture; take one before and one after.")
				break
			}
		}
		for _, l := range lines {
			p.text(2, l)
		}
		p.gap()
	}

	dropReasons(p, ev)
	firewallChanges(p, ev)
	kernelLog(p, ev)

	if ss := ev.KeySysctls(); len(ss) > 0 {
		p.heading("Settings that decide how SYNs are treated")
		rows = nil
		for _, s := range ss {
			rows = append(rows, []string{s.Name, s.Value, DisplayName(filepath.Base(s.File))})
		}
		p.table([]string{"Setting", "Value", "File"}, rows)
		p.gap()
	}

	if len(ev.Listeners) > 0 || len(ev.Sockets) > 0 {
		p.heading("Listening sockets (ss)")
		rows = nil
		for _, l := range ev.Listeners {
			state := ""
			switch {
			case l.SendQ > 0 && l.RecvQ > l.SendQ:
				state = "full"
			case l.SendQ > 0 && l.RecvQ == l.SendQ:
				state = "at its limit"
			}
			rows = append(rows, []string{l.Local, strconv.Itoa(l.RecvQ), strconv.Itoa(l.SendQ), strconv.Itoa(l.Samples), filepath.Base(l.File), state})
		}
		if len(rows) > 0 {
			p.table([]string{"Local address", "Recv-Q", "Send-Q", "Samples", "File", "State"}, rows, 1, 2, 3)
		}
		notes := []string{"For a listener Recv-Q is its accept queue (connections waiting for accept()), the highest seen, and Send-Q the queue's limit, min(listen backlog, net.core.somaxconn)."}
		var states []string
		for st, n := range ev.Sockets {
			states = append(states, fmt.Sprintf("%d %s", n, strings.ToLower(st)))
		}
		if len(states) > 0 {
			slices.Sort(states)
			notes = append(notes, "Other sockets listed: "+strings.Join(states, ", ")+" (\"unknown\": the file has no State column).")
		}
		for _, n := range notes {
			p.text(2, n)
		}
		p.gap()
	}
}

// dropReasons lays out the kernel's drop reasons, over each whole trace:
// the findings say which of them fall within the capture.
func dropReasons(p *page, ev *analyze.HostEvidence) {
	var rows [][]string
	for _, d := range ev.Drops {
		for _, r := range d.Reasons {
			var sites []string
			for _, s := range r.Sites {
				sites = append(sites, fmt.Sprintf("%s %d", s.Function, s.Count))
			}
			rows = append(rows, []string{r.Reason, strconv.Itoa(r.Count), strings.Join(sites, ", "), DisplayName(filepath.Base(d.File))})
		}
	}
	if len(rows) == 0 {
		return
	}
	p.heading("Kernel drop reasons (skb:kfree_skb)")
	p.table([]string{"Reason", "Packets", "Freed at", "File"}, rows, 1)
	p.text(2, "Counted over the whole trace; the findings count the drops within the capture.")
	p.gap()
}

type jsonEvidence struct {
	Side      string             `json:"side"`
	Files     []jsonEvidenceFile `json:"files"`
	Notes     []string           `json:"notes"`
	Kernel    *jsonKernel        `json:"kernel"`
	Counters  []jsonCounter      `json:"counters"`
	Sysctls   []jsonSysctl       `json:"sysctls"`
	Listeners []jsonListener     `json:"listeners"`
	// DropReasons is there only when a drop-reason trace was read.
	DropReasons []jsonDropReason `json:"drop_reasons,omitempty"`
	// KernelLog is there only when a kernel log had events: each line
	// once, placed on the wall clock where the analysis could.
	KernelLog []jsonKernelEvent `json:"kernel_log,omitempty"`
	// Firewall is there only when a firewall listing was read: every
	// rule and counted policy, by ruleset, as listed.
	Firewall []jsonFirewallRule `json:"firewall,omitempty"`
}

type jsonKernelEvent struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// Time is the wall-clock time, null when it could not be tied; Tie
	// says how it was: "wall", "local", "no-year", "boot" or "".
	Time      *string  `json:"time"`
	Tie       string   `json:"tie"`
	Stamp     string   `json:"stamp"`
	SinceBoot *float64 `json:"since_boot_s"`
	During    *bool    `json:"during_capture"` // null when Time is

	Addr       *string `json:"addr"`
	Port       *int    `json:"port"`
	Action     *string `json:"action"`
	Suppressed *int    `json:"suppressed"`
	File       string  `json:"file"`
	Line       int     `json:"line"`
}

type jsonFirewallRule struct {
	Format   string `json:"format"`
	Family   string `json:"family"`
	Table    string `json:"table"`
	Chain    string `json:"chain"`
	Rule     string `json:"rule"`
	Target   string `json:"target"`
	Policy   bool   `json:"policy"`
	Position int    `json:"position"`
	Handle   int    `json:"handle"`
	Counter  string `json:"counter"`
	// Single: one listing only; the counts are totals and the before and
	// delta fields are null.
	Single        bool    `json:"single"`
	Packets       uint64  `json:"packets"`
	Bytes         uint64  `json:"bytes"`
	Exact         bool    `json:"exact"`
	BeforePackets *uint64 `json:"before_packets"`
	BeforeBytes   *uint64 `json:"before_bytes"`
	DeltaPackets  *int64  `json:"delta_packets"`
	DeltaBytes    *int64  `json:"delta_bytes"`
	From          *string `json:"from"`
	To            string  `json:"to"`
}

type jsonDropReason struct {
	Reason string         `json:"reason"`
	Count  int            `json:"count"`
	Sites  []jsonDropSite `json:"sites"`
	File   string         `json:"file"`
	// Clock says how the trace clock was tied to the wall clock: "marker",
	// "unix", or "" (not tied: the count is a total).
	Clock string `json:"clock"`
}

type jsonDropSite struct {
	Function string `json:"function"`
	Count    int    `json:"count"`
}

type jsonEvidenceFile struct {
	Path    string  `json:"path"`
	Kind    string  `json:"kind"`
	Time    *string `json:"time"`
	Values  int     `json:"values"`
	Ignored int     `json:"ignored_lines"`
}

type jsonKernel struct {
	Release string `json:"release"`
	File    string `json:"file"`
}

type jsonCounter struct {
	Name      string  `json:"name"`
	SinceBoot bool    `json:"since_boot"`
	Before    *uint64 `json:"before"`
	After     uint64  `json:"after"`
	Delta     *int64  `json:"delta"`
	From      *string `json:"from"`
	To        string  `json:"to"`
}

type jsonSysctl struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	File  string `json:"file"`
}

type jsonListener struct {
	Local   string `json:"local"`
	RecvQ   int    `json:"recv_q"`
	SendQ   int    `json:"send_q"`
	Samples int    `json:"samples"`
	File    string `json:"file"`
}

// evidenceJSON is the JSON evidence block: every file read, the counters
// that tell how SYNs were treated and any other counter that moved, the
// settings of TCP connection setup, the kernel and the listeners.
func evidenceJSON(ev *analyze.HostEvidence) jsonEvidence {
	j := jsonEvidence{Side: string(ev.Side), Files: []jsonEvidenceFile{}, Notes: append([]string{}, ev.Notes()...),
		Counters: []jsonCounter{}, Sysctls: []jsonSysctl{}, Listeners: []jsonListener{}}
	for _, f := range ev.Files {
		jf := jsonEvidenceFile{Path: f.Path, Kind: string(f.Kind), Values: f.Values, Ignored: f.Ignored}
		if !f.Time.IsZero() {
			t := timestamp(f.Time.UnixNano())
			jf.Time = &t
		}
		j.Files = append(j.Files, jf)
	}
	if ev.Kernel != "" {
		j.Kernel = &jsonKernel{Release: ev.Kernel, File: ev.KernelFile}
	}
	for _, c := range ev.Counters {
		if !evidence.IsKeyCounter(c.Name) && (c.SinceBoot || c.Delta == 0) {
			continue
		}
		jc := jsonCounter{Name: c.Name, SinceBoot: c.SinceBoot, After: c.After, To: c.To}
		if !c.SinceBoot {
			before, delta, from := c.Before, c.Delta, c.From
			jc.Before, jc.Delta, jc.From = &before, &delta, &from
		}
		j.Counters = append(j.Counters, jc)
	}
	for _, s := range ev.Sysctls {
		if evidence.IsRelevantSysctl(s.Name) {
			j.Sysctls = append(j.Sysctls, jsonSysctl{Name: s.Name, Value: s.Value, File: s.File})
		}
	}
	for _, l := range ev.Listeners {
		j.Listeners = append(j.Listeners, jsonListener{Local: l.Local, RecvQ: l.RecvQ, SendQ: l.SendQ, Samples: l.Samples, File: l.File})
	}
	for _, d := range ev.Drops {
		for _, r := range d.Reasons {
			jd := jsonDropReason{Reason: r.Reason, Count: r.Count, Sites: []jsonDropSite{}, File: d.File, Clock: string(d.Clock)}
			for _, s := range r.Sites {
				jd.Sites = append(jd.Sites, jsonDropSite{s.Function, s.Count})
			}
			j.DropReasons = append(j.DropReasons, jd)
		}
	}
	for _, e := range ev.LogEvents {
		j.KernelLog = append(j.KernelLog, kernelEventJSON(e))
	}
	for _, r := range ev.Firewall {
		j.Firewall = append(j.Firewall, firewallRuleJSON(r))
	}
	return j
}

func kernelEventJSON(e analyze.KernelLogEvent) jsonKernelEvent {
	je := jsonKernelEvent{Kind: string(e.Kind), Message: e.Message, Tie: e.Tie, Stamp: e.Stamp, File: e.File, Line: e.Line}
	if !e.At.IsZero() {
		t, during := timestamp(e.At.UnixNano()), e.During
		je.Time, je.During = &t, &during
	}
	if e.HasBoot {
		b := e.Boot.Seconds()
		je.SinceBoot = &b
	}
	switch e.Kind {
	case evidence.KernelSynFlood:
		port, action := int(e.Port), e.Action
		je.Port, je.Action = &port, &action
		if e.Addr.IsValid() {
			a := e.Addr.String()
			je.Addr = &a
		}
	case evidence.KernelSuppressed:
		n := e.Suppressed
		je.Suppressed = &n
	}
	return je
}

func firewallRuleJSON(r evidence.FirewallRule) jsonFirewallRule {
	jr := jsonFirewallRule{Format: string(r.Format), Family: r.Family, Table: r.Table, Chain: r.Chain, Rule: r.Rule, Target: r.Target, Policy: r.Policy,
		Position: r.Position, Handle: r.Handle, Counter: r.Counter, Single: r.Single, Packets: r.Packets.N, Bytes: r.Bytes.N, To: r.To}
	jr.Exact = r.Packets.Exact() && r.Bytes.Exact()
	if !r.Single {
		bp, bb, dp, db, from := r.Before.Packets.N, r.Before.Bytes.N, r.DeltaPackets, r.DeltaBytes, r.From
		jr.BeforePackets, jr.BeforeBytes, jr.DeltaPackets, jr.DeltaBytes, jr.From = &bp, &bb, &dp, &db, &from
		jr.Exact = r.DeltaExact()
	}
	return jr
}

// firewallChanges lays out the firewall rules whose packet counters
// changed between two listings (or may have: rounded counts), and counts
// the rest; the findings say which of them concern the capture.
func firewallChanges(p *page, ev *analyze.HostEvidence) {
	if len(ev.Firewall) == 0 {
		return
	}
	var rows [][]string
	same, single := 0, 0
	for _, r := range ev.Firewall {
		switch {
		case r.Single:
			single++
			continue
		case r.DeltaExact() && r.DeltaPackets == 0:
			same++
			continue
		}
		change := fmt.Sprintf("%+d", r.DeltaPackets)
		if !r.DeltaExact() {
			change = "~" + change
		}
		rows = append(rows, []string{string(r.Format), p.cut(analyze.FirewallRuleText(r), 48), r.Target, r.Before.Packets.String(), r.Packets.String(), change})
	}
	p.heading("Firewall counters")
	if len(rows) > 0 {
		p.table([]string{"Listing", "Rule", "Verdict", "Before", "After", "Change"}, rows, 3, 4, 5)
	}
	var lines []string
	if same > 0 {
		lines = append(lines, fmt.Sprintf("%s did not change.", wording.Count(same, "other rule or policy|other rules or policies")))
	}
	if single > 0 {
		lines = append(lines, fmt.Sprintf("%s in one listing only: totals since they were added, not changes.", wording.Count(single, "rule is|rules are")))
	}
	if len(rows) > 0 {
		lines = append(lines, "Packets; ~: rounded counts (iptables -L without -x). Every rule is in --format json.")
	}
	for _, l := range lines {
		p.text(2, l)
	}
	p.gap()
}

// kernelLog lays out the kernel log events, each line once, with the time
// the analysis placed it at.
func kernelLog(p *page, ev *analyze.HostEvidence) {
	if len(ev.LogEvents) == 0 {
		return
	}
	var rows [][]string
	for _, e := range ev.LogEvents {
		when := e.Stamp
		if !e.At.IsZero() {
			when = e.At.UTC().Format("2006-01-02 15:04:05.000")
		}
		during := "no"
		switch {
		case e.During:
			during = "yes"
		case e.At.IsZero():
			during = "cannot tell"
		}
		rows = append(rows, []string{when, analyze.KernelEventText(e.KernelEvent), during, fmt.Sprintf("%s:%d", DisplayName(filepath.Base(e.File)), e.Line)})
	}
	p.heading("Kernel log")
	shown, more := p.topRows(rows, make([]int, len(rows)))
	p.table([]string{"Time (UTC)", "Event", "In the capture", "File:line"}, shown)
	p.more(more)
	p.text(2, "A line given in two files (dmesg and dmesg --time-format iso) is listed once; a time since boot is shown as printed when nothing ties it to the wall clock.")
	p.gap()
}
