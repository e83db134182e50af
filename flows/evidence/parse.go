package evidence

// Parsers of the host evidence files: each takes the file's lines, reads
// what it understands and counts the lines it does not.

import (
	"cmp"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	// /proc/net/netstat and /proc/net/snmp: a header line of names and a
	// line of values, both led by the section ("TcpExt: SyncookiesSent …").
	procHeaderRe = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*): ([A-Za-z][A-Za-z0-9_]*)( [A-Za-z][A-Za-z0-9_]*)*$`)
	procValuesRe = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*):( -?[0-9]+)+$`)
	// netstat -s: a section ("TcpExt:") at the start of a line.
	netstatSectionRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*:$`)
	netstatNamedRe   = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*): ([0-9]+)$`)
	// sysctl -a: "net.ipv4.tcp_syncookies = 1"; grep . /proc/sys/…:
	// "/proc/sys/net/ipv4/tcp_syncookies:1".
	sysctlRe     = regexp.MustCompile(`^([a-z][A-Za-z0-9_\-]*(\.[^\s=]+)+) = ?(.*)$`)
	procSysRe    = regexp.MustCompile(`^/proc/sys/([^\s:]+):(.*)$`)
	nstatLineRe  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*\s+[0-9]+(\s+[0-9.]+)?\s*$`)
	releaseRe    = regexp.MustCompile(`^[0-9]+\.[0-9]+[0-9A-Za-z._+~\-]*$`)
	numberRunsRe = regexp.MustCompile(`[0-9]+`)
)

// timeLine reads a line that only gives a time: "# syndiag-time:
// 2026-11-21T07:20:18Z" as syndiag collect writes it, a bare RFC 3339 time,
// or the output of date.
func timeLine(s string) (time.Time, bool) {
	t := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(s), "#"))
	if i := strings.Index(t, ": "); i > 0 && !strings.ContainsAny(t[:i], " \t") {
		t = strings.TrimSpace(t[i+2:])
	}
	if len(t) < 20 || len(t) > 64 {
		return time.Time{}, false
	}
	layouts := []string{time.RFC3339Nano}
	if t[0] < '0' || t[0] > '9' {
		if !strings.Contains("Mon Tue Wed Thu Fri Sat Sun", t[:3]) {
			return time.Time{}, false
		}
		layouts = []string{time.UnixDate, "Mon Jan _2 15:04:05 PM MST 2006", "Mon _2 Jan 2006 15:04:05 MST"}
	}
	for _, layout := range layouts {
		if tm, err := time.Parse(layout, t); err == nil {
			return tm.UTC(), true
		}
	}
	return time.Time{}, false
}

// fileTime returns the first time a file states, or zero.
func fileTime(lines []string) time.Time {
	for _, l := range lines {
		if t, ok := timeLine(l); ok {
			return t
		}
	}
	return time.Time{}
}

// skippable reports lines that say nothing about the content: blank lines,
// times, comments, and sysctl's complaints about keys it cannot read.
func skippable(l string) bool {
	t := strings.TrimSpace(l)
	if t == "" || strings.HasPrefix(t, "sysctl: ") {
		return true
	}
	if _, ok := timeLine(t); ok {
		return true
	}
	return strings.HasPrefix(t, "#") && t != "#kernel" && !strings.HasPrefix(t, collectMarker)
}

// detect decides a file's kind from its first meaningful line, and
// returns that line.
func detect(lines []string) (Kind, string) {
	traceHeader, journalHeader := "", ""
	for i, l := range lines {
		if isJournalHeader(l) {
			// journalctl starts with "-- Logs begin at …", and says "--
			// No entries --" when there is nothing.
			journalHeader = cmp.Or(journalHeader, strings.TrimSpace(l))
			continue
		}
		if skippable(l) {
			// tracefs's trace file starts with "# tracer: nop", even
			// when nothing was recorded.
			if t := strings.TrimSpace(l); traceHeader == "" && strings.HasPrefix(t, "# tracer: ") {
				traceHeader = t
			}
			continue
		}
		t := strings.TrimRight(l, " \t")
		switch {
		case strings.HasPrefix(t, collectMarker):
			return KindCollect, t
		case traceLineRe.MatchString(t):
			return KindTrace, t
		case isKernelLogLine(t):
			return KindKernelLog, t
		case isFirewallStart(strings.TrimSpace(t)):
			return KindFirewall, strings.TrimSpace(t)
		case t == "#kernel":
			return KindNstat, t
		case strings.Contains(t, "Recv-Q") && strings.Contains(t, "Send-Q"):
			return KindSS, t
		case procHeaderRe.MatchString(t):
			for _, next := range lines[i+1:] {
				if strings.TrimSpace(next) == "" {
					continue
				}
				if m := procValuesRe.FindStringSubmatch(strings.TrimSpace(next)); m != nil && m[1] == procHeaderRe.FindStringSubmatch(t)[1] {
					return KindProcNet, t
				}
				break
			}
		case netstatSectionRe.MatchString(t):
			return KindNetstat, t
		case sysctlRe.MatchString(t) || procSysRe.MatchString(t):
			return KindSysctl, t
		case nstatLineRe.MatchString(strings.TrimSpace(t)):
			return KindNstat, t
		case unameRelease(t) != "":
			return KindUname, t
		}
		return "", t
	}
	if traceHeader != "" {
		return KindTrace, traceHeader
	}
	if journalHeader != "" {
		return KindKernelLog, journalHeader
	}
	return "", ""
}

// parseNstat reads nstat output: "TcpExtListenDrops  12  0.0". With -z
// every counter is listed; without it only those that are not zero, so a
// missing one is 0.
func parseNstat(lines []string) (*snapshot, int) {
	s := &snapshot{values: map[string]uint64{}}
	ignored, zeros := 0, false
	for _, l := range lines {
		if skippable(l) || strings.TrimSpace(l) == "#kernel" {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 2 || len(f) > 3 || !nstatLineRe.MatchString(strings.TrimSpace(l)) {
			ignored++
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			ignored++
			continue
		}
		zeros = zeros || v == 0
		s.values[nstatMIB(f[0])] = v
	}
	if !zeros && len(s.values) > 0 {
		s.zero = []string{"*"}
	}
	return s, ignored
}

// mibSections are the prefixes nstat puts before a counter's name, longest
// first where one starts another.
var mibSections = []string{"MPTcpExt", "TcpExt", "IpExt", "IcmpMsg", "Icmp6", "Icmp", "UdpLite6", "UdpLite", "Udp6", "Udp", "Tcp", "Ip6", "Ip"}

// nstatMIB turns nstat's name of a counter into the kernel's:
// TcpExtListenDrops → TcpExt:ListenDrops.
func nstatMIB(name string) string {
	for _, sec := range mibSections {
		if rest, ok := strings.CutPrefix(name, sec); ok && rest != "" && (rest[0] >= 'A' && rest[0] <= 'Z' || rest[0] >= '0' && rest[0] <= '9') {
			return sec + ":" + rest
		}
	}
	return name
}

// parseProcNet reads /proc/net/netstat and /proc/net/snmp (or both in one
// file): pairs of a header line and a value line per section.
func parseProcNet(lines []string) (*snapshot, int) {
	s := &snapshot{values: map[string]uint64{}}
	ignored := 0
	var section string
	var names []string
	for _, l := range lines {
		if skippable(l) {
			continue
		}
		t := strings.TrimSpace(l)
		if m := procHeaderRe.FindStringSubmatch(t); m != nil {
			if names != nil {
				ignored++ // a header without values
			}
			section, names = m[1], strings.Fields(t)[1:]
			continue
		}
		m := procValuesRe.FindStringSubmatch(t)
		if m == nil || names == nil || m[1] != section {
			ignored++
			continue
		}
		vals := strings.Fields(t)[1:]
		if len(vals) != len(names) {
			ignored += 2
			names = nil
			continue
		}
		for i, v := range vals {
			// Negative values are limits (Tcp: MaxConn -1), not counters.
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				s.values[section+":"+names[i]] = n
			}
		}
		names = nil
	}
	return s, ignored
}

// netstatPhrases maps the sentences of netstat -s (net-tools
// lib/statistics.c; numbers replaced by #, lower case, no final period) to
// the kernel's counter names, per section. The older wordings are those of
// net-tools 1.60 and 2.0 as CentOS 6 and 7 ship them.
var netstatPhrases = map[string]map[string]string{
	"Tcp": {
		"# active connection openings":   "ActiveOpens",
		"# active connections openings":  "ActiveOpens",
		"# passive connection openings":  "PassiveOpens",
		"# passive connections openings": "PassiveOpens",
		"# failed connection attempts":   "AttemptFails",
		"# connection resets received":   "EstabResets",
		"# connections established":      "CurrEstab",
		"# segments received":            "InSegs",
		"# segments sent out":            "OutSegs",
		"# segments send out":            "OutSegs",
		"# segments retransmitted":       "RetransSegs",
		"# segments retransmited":        "RetransSegs",
		"# bad segments received":        "InErrs",
		"# resets sent":                  "OutRsts",
	},
	"TcpExt": {
		"# syn cookies sent":                                                         "SyncookiesSent",
		"# syn cookies received":                                                     "SyncookiesRecv",
		"# invalid syn cookies received":                                             "SyncookiesFailed",
		"# resets received for embryonic syn_recv sockets":                           "EmbryonicRsts",
		"# packets pruned from receive queue because of socket buffer overrun":       "PruneCalled",
		"# icmp packets dropped because they were out-of-window":                     "OutOfWindowIcmps",
		"# icmp packets dropped because socket was locked":                           "LockDroppedIcmps",
		"# tcp sockets finished time wait in fast timer":                             "TW",
		"# time wait sockets recycled by time stamp":                                 "TWRecycled",
		"# tcp sockets finished time wait in slow timer":                             "TWKilled",
		"# passive connections rejected because of time stamp":                       "PAWSPassive",
		"# active connections rejected because of time stamp":                        "PAWSActive",
		"# packets rejects in established connections because of timestamp":          "PAWSEstab",
		"# packets rejected in established connections because of timestamp":         "PAWSEstab",
		"# delayed acks sent":                                                        "DelayedACKs",
		"# delayed acks further delayed because of locked socket":                    "DelayedACKLocked",
		"quick ack mode was activated # times":                                       "DelayedACKLost",
		"# times the listen queue of a socket overflowed":                            "ListenOverflows",
		"# syns to listen sockets dropped":                                           "ListenDrops",
		"# syns to listen sockets ignored":                                           "ListenDrops",
		"# packet headers predicted":                                                 "TCPHPHits",
		"# packets header predicted":                                                 "TCPHPHits",
		"# acknowledgments not containing data payload received":                     "TCPPureAcks",
		"# acknowledgments not containing data received":                             "TCPPureAcks",
		"# predicted acknowledgments":                                                "TCPHPAcks",
		"# other tcp timeouts":                                                       "TCPTimeouts",
		"# connections reset due to unexpected data":                                 "TCPAbortOnData",
		"# connections reset due to early user close":                                "TCPAbortOnClose",
		"# connections aborted due to memory pressure":                               "TCPAbortOnMemory",
		"# connections aborted due to timeout":                                       "TCPAbortOnTimeout",
		"# connections aborted after user close in linger timeout":                   "TCPAbortOnLinger",
		"# times unable to send rst due to no memory":                                "TCPAbortFailed",
		"# packets collapsed in receive queue due to low socket buffer":              "TCPRcvCollapsed",
		"# packets directly queued to recvmsg prequeue":                              "TCPPrequeued",
		"# packets dropped from prequeue":                                            "TCPPrequeueDropped",
		"# fast retransmits":                                                         "TCPFastRetrans",
		"# retransmits in slow start":                                                "TCPSlowStartRetrans",
		"# times receiver scheduled too late for direct processing":                  "TCPSchedulerFailed",
		"# packets pruned from receive queue":                                        "RcvPruned",
		"# packets dropped from out-of-order queue because of socket buffer overrun": "OfoPruned",
	},
}

// parseNetstat reads netstat -s. Counters the sentences above do not name
// are read from their "Name: N" lines; netstat prints a TcpExt counter only
// when it is not 0, so a missing one is 0 when the TcpExt section is there.
// Sentences of the sections about other protocols are skipped, not counted
// as ignored.
func parseNetstat(lines []string) (*snapshot, int) {
	s := &snapshot{values: map[string]uint64{}}
	ignored := 0
	section := ""
	for _, l := range lines {
		if skippable(l) {
			continue
		}
		if l[0] != ' ' && l[0] != '\t' {
			if t := strings.TrimSpace(l); netstatSectionRe.MatchString(t) {
				section = strings.TrimSuffix(t, ":")
				if section == "TcpExt" {
					s.zero = []string{"TcpExt:"}
				}
				continue
			}
		}
		t := strings.TrimSpace(l)
		if section == "" {
			ignored++
			continue
		}
		if m := netstatNamedRe.FindStringSubmatch(t); m != nil {
			if v, err := strconv.ParseUint(m[2], 10, 64); err == nil {
				s.values[section+":"+m[1]] = v
				continue
			}
		}
		phrases, known := netstatPhrases[section]
		if !known {
			continue // Ip, Icmp, Udp…: sections about other things
		}
		nums := numberRunsRe.FindAllString(t, -1)
		if len(nums) != 1 {
			ignored++
			continue
		}
		phrase := strings.Join(strings.Fields(strings.ToLower(strings.TrimSuffix(numberRunsRe.ReplaceAllString(t, "#"), "."))), " ")
		name, ok := phrases[phrase]
		v, err := strconv.ParseUint(nums[0], 10, 64)
		if !ok || err != nil {
			ignored++
			continue
		}
		s.values[section+":"+name] = v
	}
	return s, ignored
}

// parseSysctl reads sysctl -a output, or grep . /proc/sys/… output.
func parseSysctl(lines []string) ([]Sysctl, int) {
	var out []Sysctl
	ignored := 0
	for _, l := range lines {
		if skippable(l) {
			continue
		}
		t := strings.TrimRight(l, " \t")
		if m := sysctlRe.FindStringSubmatch(t); m != nil {
			out = append(out, Sysctl{Name: m[1], Value: strings.TrimSpace(m[3])})
			continue
		}
		if m := procSysRe.FindStringSubmatch(t); m != nil {
			out = append(out, Sysctl{Name: strings.ReplaceAll(m[1], "/", "."), Value: strings.TrimSpace(m[2])})
			continue
		}
		ignored++
	}
	return out, ignored
}

// parseSS reads ss output: one or many samples, each led by its header.
// Listening sockets are kept (the highest Recv-Q over the samples); other
// sockets are counted by state.
func parseSS(lines []string) (listeners []Listener, others map[string]int, ignored int) {
	others = map[string]int{}
	at := map[string]int{} // index of a local address in listeners
	recvCol, stateCol, netidCol := -1, -1, -1
	for _, l := range lines {
		if skippable(l) {
			continue
		}
		f := strings.Fields(l)
		if strings.Contains(l, "Recv-Q") && strings.Contains(l, "Send-Q") {
			recvCol, stateCol, netidCol = -1, -1, -1
			for i, h := range f {
				switch h {
				case "Recv-Q":
					recvCol = i
				case "State":
					stateCol = i
				case "Netid":
					netidCol = i
				}
			}
			continue
		}
		if recvCol < 0 || len(f) < recvCol+4 {
			ignored++
			continue
		}
		rq, err1 := strconv.Atoi(f[recvCol])
		sq, err2 := strconv.Atoi(f[recvCol+1])
		if err1 != nil || err2 != nil || netidCol >= 0 && f[netidCol] != "tcp" {
			ignored++
			continue
		}
		state := ""
		if stateCol >= 0 {
			state = f[stateCol]
		}
		local, peer := f[recvCol+2], f[recvCol+3]
		if state == "LISTEN" || state == "" && wildcardPeer(peer) {
			addr, port, ok := ssAddr(local)
			if !ok {
				ignored++
				continue
			}
			if i, ok := at[local]; ok {
				x := &listeners[i]
				x.Samples++
				if rq > x.RecvQ {
					x.RecvQ, x.SendQ = rq, sq
				}
				continue
			}
			at[local] = len(listeners)
			listeners = append(listeners, Listener{Local: local, Addr: addr, Port: port, RecvQ: rq, SendQ: sq, Samples: 1})
			continue
		}
		if state == "" {
			state = "unknown"
		}
		others[state]++
	}
	return listeners, others, ignored
}

func wildcardPeer(p string) bool {
	switch p {
	case "*", "*:*", "0.0.0.0:*", "[::]:*", ":::*", "[::ffff:0.0.0.0]:*":
		return true
	}
	return false
}

// ssAddr reads a local address as ss prints it: "198.18.2.2:8080",
// "*:22", "[::]:443", ":::22" (older ss), "127.0.0.53%lo:53". A wildcard
// address gives an invalid Addr.
func ssAddr(s string) (netip.Addr, uint16, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.Addr{}, 0, false
	}
	port, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	host := strings.TrimSuffix(strings.TrimPrefix(s[:i], "["), "]")
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host = host[:j]
	}
	switch host {
	case "*", "0.0.0.0", "::", "":
		return netip.Addr{}, uint16(port), true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	return a.Unmap(), uint16(port), true
}

// unameRelease reads the kernel release from uname -r ("3.10.0-1160.el7.x86_64"),
// uname -a ("Linux host 3.10.0-1160.el7.x86_64 #1 SMP …") or /proc/version
// ("Linux version 3.10.0-1160.el7.x86_64 (mockbuild@…) …").
func unameRelease(line string) string {
	f := strings.Fields(line)
	switch {
	case len(f) == 1 && releaseRe.MatchString(f[0]):
		return f[0]
	case len(f) >= 3 && f[0] == "Linux" && f[1] == "version" && releaseRe.MatchString(f[2]):
		return f[2]
	case len(f) >= 3 && f[0] == "Linux" && releaseRe.MatchString(f[2]):
		return f[2]
	}
	return ""
}

// parseUname reads the first line that names a kernel release.
func parseUname(lines []string) (string, int) {
	rel, ignored := "", 0
	for _, l := range lines {
		if skippable(l) {
			continue
		}
		if r := unameRelease(l); r != "" && rel == "" {
			rel = r
			continue
		}
		ignored++
	}
	return rel, ignored
}

// parseCollectInfo reads the side marker of a syndiag collect folder:
// "side: server".
func parseCollectInfo(lines []string) (Side, int) {
	side, ignored := SideUnknown, 0
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		k, v, ok := strings.Cut(t, ":")
		switch v = strings.TrimSpace(v); {
		case ok && k == "side" && v == "server":
			side = SideServer
		case ok && k == "side" && v == "client":
			side = SideClient
		case ok:
			// port, hostname, interface: for the person reading the folder
		default:
			ignored++
		}
	}
	return side, ignored
}
