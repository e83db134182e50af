package report

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows"
)

// Schema names the JSON contract this package writes.
const Schema = "syndiag/v1"

// JSONReport is a syndiag/v1 document as it is read back (syndiag
// analyze --expect): its schema, its captures and its findings. The other
// fields JSON writes are not read.
type JSONReport struct {
	Schema   string        `json:"schema"`
	Captures []JSONCapture `json:"captures"`
	Findings []JSONFinding `json:"findings"`
}

// JSONCapture is a capture in the document. Its Path is escaped
// (EscapeName); UnescapeName gives the bytes back.
type JSONCapture struct {
	Path         string   `json:"path"`
	Role         string   `json:"role"`
	Format       string   `json:"format"`
	LinkType     string   `json:"link_type"`
	LinkTypes    []string `json:"link_types"`
	Packets      int64    `json:"packets"`
	Duplicates   int64    `json:"duplicates"`
	First        *string  `json:"first"`
	Last         *string  `json:"last"`
	SYNFrames    int64    `json:"syn_frames"`
	SYNACKFrames int64    `json:"synack_frames"`
	RSTFrames    int64    `json:"rst_frames"`
	// Decoded counts the frames flows decoded; Undecoded every reason's
	// count (see flows.Undecoded), zero or not.
	Decoded   int64            `json:"decoded"`
	Undecoded map[string]int64 `json:"undecoded"`
	Attempts  int64            `json:"attempts"`
	Evicted   int64            `json:"evicted"`
	// MaxOpen is the cap on open attempts the capture was read with,
	// PeakOpen the most open at once; AfterEviction what arrived for
	// evicted attempts afterwards.
	MaxOpen       int               `json:"max_open"`
	PeakOpen      int               `json:"peak_open"`
	AfterEviction jsonAfterEviction `json:"after_eviction"`
	OrphanSYNACKs int64             `json:"orphan_synacks"`
	OrphanICMP    int64             `json:"orphan_icmp"`
	// FilteredOut counts the frames the packet selection left out.
	FilteredOut int64    `json:"filtered_out"`
	Warnings    []string `json:"warnings"`
	Error       *string  `json:"error"`
}

type jsonAfterEviction struct {
	SYNs     int64 `json:"syns"`
	SYNACKs  int64 `json:"synacks"`
	ACKs     int64 `json:"acks"`
	RSTs     int64 `json:"rsts"`
	ICMP     int64 `json:"icmp"`
	Answered int64 `json:"answered"` // evicted attempts answered after eviction
}

type jsonLatency struct {
	Answered          int     `json:"answered"`
	P50               float64 `json:"p50_s"`
	P90               float64 `json:"p90_s"`
	P99               float64 `json:"p99_s"`
	Max               float64 `json:"max_s"`
	Retransmitted     int     `json:"retransmitted"`
	Tail              int     `json:"tail"`
	TailRetransmitted int     `json:"tail_retransmitted"`
}

type jsonSource struct {
	Capture              int     `json:"capture"`
	IP                   string  `json:"ip"`
	Attempts             int     `json:"attempts"`
	Failed               int     `json:"failed"`
	Retried              int     `json:"retried"`
	Retransmitted        int     `json:"retransmitted"`
	First                string  `json:"first"`
	Last                 string  `json:"last"`
	TSvalMonotonic       *bool   `json:"tsval_monotonic"`
	TimestampClocks      int     `json:"timestamp_clocks"`
	ClockRateHz          float64 `json:"clock_rate_hz,omitempty"`
	PerConnectionOffsets bool    `json:"per_connection_offsets"`
	Verdict              string  `json:"verdict"`
}

// JSONFinding is a finding in the document. Capture indexes the
// document's captures.
type JSONFinding struct {
	Kind           string       `json:"kind"`
	Severity       string       `json:"severity"`
	Confidence     float64      `json:"confidence"`
	Capture        int          `json:"capture"`
	Summary        string       `json:"summary"`
	Evidence       []string     `json:"evidence"`
	Affected       jsonAffected `json:"affected"`
	Recommendation string       `json:"recommendation"`
}

type jsonAffected struct {
	Attempts int `json:"attempts"`
	Sources  int `json:"sources"`
}

type jsonClockOffset struct {
	ServerMinusClient float64 `json:"server_minus_client_s"`
	Uncertainty       float64 `json:"uncertainty_s"`
	Matched           int     `json:"matched"`
	Handshakes        int     `json:"handshakes_both_ways"`
}

// jsonJoin is written when a client and a server capture were given, and
// for any two captures.
type jsonJoin struct {
	Outcome       analyze.JoinOutcome `json:"outcome"`
	ClientCapture *int                `json:"client_capture"`
	ServerCapture *int                `json:"server_capture"`
	Problem       *string             `json:"problem"`
	NAT           []jsonNAT           `json:"nat"`
}

type jsonNAT struct {
	Private    string `json:"private"`
	Public     string `json:"public"`
	SharedWith int    `json:"other_hosts_on_public_ip"`
}

type jsonServer struct {
	Capture       int            `json:"capture"`
	Server        string         `json:"server"`
	Attempts      int            `json:"attempts"`
	Retransmitted int            `json:"retransmitted"`
	Retries       int            `json:"app_retries"`
	Clients       int            `json:"clients"`
	Outcomes      map[string]int `json:"outcomes"`
	Latency       *jsonLatency   `json:"connect_latency"`
}

func afterEviction(st flows.TrackerStats) jsonAfterEviction {
	l := st.AfterEviction
	return jsonAfterEviction{l.SYNs, l.SYNACKs, l.ACKs, l.RSTs, l.ICMP, st.AnsweredAfterEviction}
}

// JSON writes the result as the syndiag/v1 JSON document, indented and
// deterministic: the same result gives the same bytes. Attempts are encoded
// one at a time, so memory does not grow with the size of the document.
func JSON(w io.Writer, res *analyze.Result) error {
	captures := []JSONCapture{}
	for _, c := range res.Captures {
		jc := JSONCapture{
			Path: EscapeName(c.Path), Role: string(c.Role), Format: c.Format, Packets: c.Packets, Duplicates: c.Duplicates,
			SYNFrames: c.SYNFrames, SYNACKFrames: c.SYNACKFrames, RSTFrames: c.RSTFrames,
			Decoded: c.Decoded, Undecoded: jsonUndecoded(c.Undecoded),
			Attempts: c.Tracker.Attempts, Evicted: c.Tracker.Evicted, MaxOpen: c.Tracker.MaxOpen, PeakOpen: c.Tracker.PeakOpen,
			OrphanSYNACKs: c.Tracker.OrphanSYNACKs, OrphanICMP: c.Tracker.OrphanICMP, FilteredOut: c.FilteredOut,
			AfterEviction: afterEviction(c.Tracker),
			LinkTypes:     []string{}, Warnings: append([]string{}, c.Warnings...),
		}
		for _, lt := range c.LinkTypes {
			jc.LinkTypes = append(jc.LinkTypes, lt.String())
		}
		jc.LinkType = linkTypeSummary(c.LinkTypes)
		if c.Packets > 0 {
			f, l := timestamp(c.First), timestamp(c.Last)
			jc.First, jc.Last = &f, &l
		}
		if c.Err != nil {
			e := c.Err.Error()
			jc.Error = &e
		}
		captures = append(captures, jc)
	}
	servers := []jsonServer{}
	for _, s := range res.Servers {
		js := jsonServer{Capture: s.Capture, Server: s.Server.String(), Attempts: s.Attempts, Retransmitted: s.Retransmitted, Retries: s.Retries, Clients: s.Clients, Outcomes: map[string]int{}}
		for o, n := range s.Outcomes {
			js.Outcomes[string(o)] = n
		}
		if l := s.Latency; l.Count > 0 {
			js.Latency = &jsonLatency{Answered: l.Count, P50: l.P50, P90: l.P90, P99: l.P99, Max: l.Max, Retransmitted: l.Retransmitted, Tail: l.Tail, TailRetransmitted: l.TailRetransmitted}
		}
		servers = append(servers, js)
	}

	jw := &jsonWriter{w: bufio.NewWriter(w)}
	jw.raw("{\n")
	jw.field("schema", Schema, false)
	jw.field("captures", captures, false)
	if j := res.Join; res.Joined() {
		jw.field("clock_offset", jsonClockOffset{j.Offset, j.Uncertainty, j.Matched, j.Handshakes}, false)
	} else {
		jw.raw(`  "clock_offset": null,` + "\n")
	}
	if j := res.Join; j != nil {
		jj := jsonJoin{Outcome: j.Outcome, NAT: []jsonNAT{}}
		if j.Client >= 0 {
			jj.ClientCapture, jj.ServerCapture = &j.Client, &j.Server
		}
		if j.Problem != "" {
			jj.Problem = &j.Problem
		}
		for _, e := range j.NAT {
			jj.NAT = append(jj.NAT, jsonNAT{e.Private.String(), e.Public.String(), e.SharedWith})
		}
		jw.field("join", jj, false)
	}
	jw.field("servers", servers, false)
	listed := listAttempts(res, MaxJSONAttempts)
	srcs := listSources(res, MaxJSONSources)
	jw.field("listed", listing(res, len(listed), srcs), false)
	jw.array("attempts", len(listed), func(e *jenc, i int) { appendAttempt(e, listed[i], &res.Attempts[listed[i]]) })
	sources := []jsonSource{}
	for _, s := range srcs {
		sources = append(sources, jsonSource{Capture: s.Capture, IP: s.IP.String(), Attempts: s.Attempts, Failed: s.Failed, Retried: s.Retried, Retransmitted: s.Retransmitted,
			First: timestamp(s.First), Last: timestamp(s.Last), TSvalMonotonic: s.TSvalMonotonic, TimestampClocks: s.TimestampClocks,
			ClockRateHz: s.ClockRate, PerConnectionOffsets: s.PerConnectionOffsets, Verdict: s.Verdict})
	}
	findings := []JSONFinding{}
	for _, f := range res.Findings {
		findings = append(findings, JSONFinding{Kind: string(f.Kind), Severity: f.Severity.String(), Confidence: f.Confidence, Capture: f.Capture,
			Summary: f.Summary, Evidence: append([]string{}, f.Evidence...), Affected: jsonAffected{f.AffectedAttempts, f.AffectedSources}, Recommendation: f.Recommendation})
	}
	jw.field("sources", sources, false)
	jw.array("accept_queues", len(res.AcceptQueues), func(e *jenc, i int) { appendAcceptQueue(e, &res.AcceptQueues[i], jw) })
	jw.array("paws_replay", len(res.PAWS), func(e *jenc, i int) { appendPAWSReplay(e, &res.PAWS[i], jw) })
	if res.Evidence != nil {
		jw.field("evidence", evidenceJSON(res.Evidence), false)
	}
	jw.field("findings", findings, true)
	jw.raw("}\n")
	if jw.err != nil {
		return jw.err
	}
	return jw.w.Flush()
}

// jsonWriter writes an indented JSON object piece by piece.
type jsonWriter struct {
	w   *bufio.Writer
	err error
}

func (j *jsonWriter) raw(s string) {
	if j.err == nil {
		_, j.err = j.w.WriteString(s)
	}
}

func (j *jsonWriter) bytes(b []byte) {
	if j.err == nil {
		_, j.err = j.w.Write(b)
	}
}

func (j *jsonWriter) value(v any, prefix string) {
	if j.err != nil {
		return
	}
	b, err := json.MarshalIndent(v, prefix, "  ")
	if err != nil {
		j.err = err
		return
	}
	_, j.err = j.w.Write(b)
}

// array writes a field that is an array, not the last, element by element
// with jenc, so that memory does not grow with its length.
func (j *jsonWriter) array(name string, n int, elem func(e *jenc, i int)) {
	if n == 0 {
		j.raw("  " + strconv.Quote(name) + ": [],\n")
		return
	}
	j.raw("  " + strconv.Quote(name) + ": [")
	e := &jenc{depth: 2}
	for i := range n {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.newline()
		elem(e, i)
		j.spill(e)
	}
	j.bytes(e.b)
	j.raw("\n  ],\n")
}

// spill writes what e holds once it is large, so that one long element
// (an occupancy of a million steps) does not sit in memory whole.
func (j *jsonWriter) spill(e *jenc) {
	if len(e.b) >= 64<<10 {
		j.bytes(e.b)
		e.b = e.b[:0]
	}
}

func (j *jsonWriter) field(name string, v any, last bool) {
	j.raw("  " + strconv.Quote(name) + ": ")
	j.value(v, "  ")
	if last {
		j.raw("\n")
	} else {
		j.raw(",\n")
	}
}

// appendAttempt writes one attempt as a JSON object at the given depth.
func appendAttempt(e *jenc, id int, a *analyze.Attempt) {
	syn := a.SYNs[0]
	e.open('{')
	e.int("id", int64(id))
	e.int("capture", int64(a.Capture))
	e.str("client", a.Client.String())
	e.str("server", a.Server.String())
	if a.ClientSeenAs.IsValid() {
		e.str("client_seen_as", a.ClientSeenAs.String())
	} else {
		e.null("client_seen_as")
	}
	e.int("isn", int64(a.ISN))
	e.key("syn_times")
	e.open('[')
	for _, s := range a.SYNs {
		e.next()
		e.b = appendTimestamp(e.b, s.Time)
	}
	e.close(']')
	e.int("syn_retransmissions", int64(a.Retransmissions()))
	if a.InitialRTO >= 0 {
		e.float("initial_rto_s", a.InitialRTO)
	} else {
		e.null("initial_rto_s")
	}
	e.str("outcome", string(a.Outcome))
	e.str("conn_state", a.ConnState())
	if a.RetryOf >= 0 {
		e.int("retry_of", int64(a.RetryOf))
	} else {
		e.null("retry_of")
	}
	if a.ConnectTime >= 0 {
		e.float("connect_time_s", a.ConnectTime)
	} else {
		e.null("connect_time_s")
	}
	if a.LostAt != "" {
		e.str("lost_at", string(a.LostAt))
	} else {
		e.str("lost_at", string(analyze.LostUnknown))
	}
	if a.SYNLostAt != nil {
		e.key("syn_lost_at")
		e.open('[')
		for _, l := range a.SYNLostAt {
			e.next()
			e.b = appendString(e.b, string(l))
		}
		e.close(']')
	}
	e.str("cause", string(a.Cause))
	if syn.Opts.Timestamps {
		e.int("tsval", int64(syn.Opts.TSval))
	} else {
		e.null("tsval")
	}
	e.key("schedule")
	e.open('{')
	sc := a.Schedule
	if sc.Stack != "" {
		e.str("stack", string(sc.Stack))
	} else {
		e.null("stack")
	}
	e.int("linear_retries", int64(sc.Linear))
	e.bool("gave_up", sc.GaveUp)
	e.key("implied_tcp_syn_retries")
	e.open('[')
	for _, n := range sc.SynRetries {
		e.next()
		e.b = strconv.AppendInt(e.b, int64(n), 10)
	}
	e.close(']')
	e.close('}')
	e.key("syn")
	e.open('{')
	e.int("frame", syn.Frame)
	e.int("ttl", int64(syn.TTL))
	e.int("ip_id", int64(syn.IPID))
	e.int("window", int64(syn.Window))
	e.key("options")
	e.open('{')
	o := syn.Opts
	if o.MSS != 0 {
		e.int("mss", int64(o.MSS))
	}
	e.int("wscale", int64(o.WScale))
	e.bool("sack_permitted", o.SACKPermitted)
	e.bool("timestamps", o.Timestamps)
	if o.TSval != 0 {
		e.int("tsval", int64(o.TSval))
	}
	if o.TSecr != 0 {
		e.int("tsecr", int64(o.TSecr))
	}
	e.close('}')
	e.close('}')
	e.key("synack_times")
	e.open('[')
	for _, s := range a.SYNACKs {
		e.next()
		e.b = appendTimestamp(e.b, s.Time)
	}
	e.close(']')
	e.int("ack_answers", int64(len(a.AckAnswers)))
	if a.Established() {
		e.time("third_ack", a.ThirdACK)
	} else {
		e.null("third_ack")
	}
	e.key("resets")
	e.open('[')
	for _, r := range a.Resets {
		e.next()
		e.open('{')
		e.time("time", r.Time)
		from := "client"
		if r.FromServer {
			from = "server"
		}
		e.str("from", from)
		e.str("flags", r.Flags.String())
		e.close('}')
	}
	e.close(']')
	e.key("icmp")
	e.open('[')
	for _, ic := range a.ICMP {
		e.next()
		e.open('{')
		e.time("time", ic.Time)
		e.str("reporter", ic.Reporter.String())
		e.int("type", int64(ic.Type))
		e.int("code", int64(ic.Code))
		e.str("meaning", analyze.ICMPMeaning(ic.V6, ic.Type, ic.Code))
		e.close('}')
	}
	e.close(']')
	if a.Established() {
		e.key("close")
		appendClose(e, a)
	} else {
		e.null("close")
	}
	if a.Evicted {
		e.bool("evicted", true)
	}
	e.close('}')
}

// appendClose writes how an established connection ended, as far as the
// capture shows: what the per-host PAWS model needs (tcp_remember_stamp
// stores the last TSval the side that closed first received).
func appendClose(e *jenc, a *analyze.Attempt) {
	e.open('{')
	e.str("first_fin", a.FirstFIN.String())
	fin := a.FirstFIN != flows.NoSide
	if fin {
		e.time("fin_time", a.FINTime)
	} else {
		e.null("fin_time")
	}
	if a.ClosedAt != 0 {
		e.time("closed_at", a.ClosedAt)
	} else {
		e.null("closed_at")
	}
	for i, k := range []string{"last_tsval_from_client", "last_tsval_from_server"} {
		if fin && a.LastTSval[i].Valid {
			e.int(k, int64(a.LastTSval[i].TSval))
		} else {
			e.null(k)
		}
	}
	e.close('}')
}

// timestamp formats nanoseconds since the epoch as RFC 3339 in UTC with all
// nine digits, so that every time in the document has the same width.
func timestamp(ns int64) string {
	return time.Unix(0, ns).UTC().Format(timestampLayout)
}

const timestampLayout = "2006-01-02T15:04:05.000000000Z07:00"

func linkTypeSummary(lts []flows.LinkType) string {
	switch len(lts) {
	case 0:
		return ""
	case 1:
		return lts[0].String()
	}
	return "per-packet"
}
