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

type jsonCapture struct {
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
	Attempts     int64    `json:"attempts"`
	Evicted      int64    `json:"evicted"`
	Warnings     []string `json:"warnings"`
	Error        *string  `json:"error"`
}

type jsonServer struct {
	Server        string         `json:"server"`
	Attempts      int            `json:"attempts"`
	Retransmitted int            `json:"retransmitted"`
	Clients       int            `json:"clients"`
	Outcomes      map[string]int `json:"outcomes"`
}

type jsonAttempt struct {
	Capture            int              `json:"capture"`
	Client             string           `json:"client"`
	Server             string           `json:"server"`
	ClientSeenAs       *string          `json:"client_seen_as"`
	ISN                uint32           `json:"isn"`
	SYNTimes           []string         `json:"syn_times"`
	SYNRetransmissions int              `json:"syn_retransmissions"`
	InitialRTO         *float64         `json:"initial_rto_s"`
	Outcome            analyze.Outcome  `json:"outcome"`
	ConnectTime        *float64         `json:"connect_time_s"`
	LostAt             string           `json:"lost_at"`
	Cause              string           `json:"cause"`
	TSval              *uint32          `json:"tsval"`
	SYN                jsonTransmission `json:"syn"`
	SYNACKTimes        []string         `json:"synack_times"`
	AckAnswers         int              `json:"ack_answers"`
	ThirdACK           *string          `json:"third_ack"`
	Resets             []jsonReset      `json:"resets"`
	ICMP               []jsonICMP       `json:"icmp"`
	Close              *jsonClose       `json:"close"`
	Evicted            bool             `json:"evicted,omitempty"`
}

// jsonClose says how an established connection ended, as far as the
// capture shows: what the per-host PAWS model needs (tcp_remember_stamp
// stores the last TSval the side that closed first received).
type jsonClose struct {
	FirstFIN            string  `json:"first_fin"`
	FINTime             *string `json:"fin_time"`
	ClosedAt            *string `json:"closed_at"`
	LastTSvalFromClient *uint32 `json:"last_tsval_from_client"`
	LastTSvalFromServer *uint32 `json:"last_tsval_from_server"`
}

type jsonTransmission struct {
	Frame  int64         `json:"frame"`
	TTL    uint8         `json:"ttl"`
	IPID   uint16        `json:"ip_id"`
	Window uint16        `json:"window"`
	Opts   flows.Options `json:"options"`
}

type jsonReset struct {
	Time  string `json:"time"`
	From  string `json:"from"`
	Flags string `json:"flags"`
}

type jsonICMP struct {
	Time     string `json:"time"`
	Reporter string `json:"reporter"`
	Type     uint8  `json:"type"`
	Code     uint8  `json:"code"`
	Meaning  string `json:"meaning"`
}

// JSON writes the result as the syndiag/v1 JSON document, indented and
// deterministic: the same result gives the same bytes. Attempts are encoded
// one at a time, so memory does not grow with the size of the document.
func JSON(w io.Writer, res *analyze.Result) error {
	captures := []jsonCapture{}
	for _, c := range res.Captures {
		jc := jsonCapture{
			Path: c.Path, Role: string(c.Role), Format: c.Format, Packets: c.Packets, Duplicates: c.Duplicates,
			SYNFrames: c.SYNFrames, SYNACKFrames: c.SYNACKFrames, RSTFrames: c.RSTFrames,
			Attempts: c.Tracker.Attempts, Evicted: c.Tracker.Evicted,
			LinkTypes: []string{}, Warnings: append([]string{}, c.Warnings...),
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
		js := jsonServer{Server: s.Server.String(), Attempts: s.Attempts, Retransmitted: s.Retransmitted, Clients: s.Clients, Outcomes: map[string]int{}}
		for o, n := range s.Outcomes {
			js.Outcomes[string(o)] = n
		}
		servers = append(servers, js)
	}

	jw := &jsonWriter{w: bufio.NewWriter(w)}
	jw.raw("{\n")
	jw.field("schema", Schema, false)
	jw.field("captures", captures, false)
	jw.raw(`  "clock_offset": null,` + "\n")
	jw.field("servers", servers, false)
	if len(res.Attempts) == 0 {
		jw.raw(`  "attempts": [],` + "\n")
	} else {
		jw.raw(`  "attempts": [`)
		for i := range res.Attempts {
			if i > 0 {
				jw.raw(",")
			}
			jw.raw("\n    ")
			jw.value(attemptJSON(&res.Attempts[i]), "    ")
		}
		jw.raw("\n  ],\n")
	}
	jw.raw(`  "sources": [],` + "\n")
	jw.raw(`  "findings": []` + "\n}\n")
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

func (j *jsonWriter) field(name string, v any, last bool) {
	j.raw("  " + strconv.Quote(name) + ": ")
	j.value(v, "  ")
	if last {
		j.raw("\n")
	} else {
		j.raw(",\n")
	}
}

func attemptJSON(a *analyze.Attempt) jsonAttempt {
	syn := a.SYNs[0]
	j := jsonAttempt{
		Capture: a.Capture, Client: a.Client.String(), Server: a.Server.String(), ISN: a.ISN,
		SYNRetransmissions: a.Retransmissions(), Outcome: a.Outcome, LostAt: "unknown", Cause: "none",
		SYN:      jsonTransmission{Frame: syn.Frame, TTL: syn.TTL, IPID: syn.IPID, Window: syn.Window, Opts: syn.Opts},
		SYNTimes: []string{}, SYNACKTimes: []string{}, AckAnswers: len(a.AckAnswers),
		Resets: []jsonReset{}, ICMP: []jsonICMP{}, Evicted: a.Evicted,
	}
	if a.Established() {
		c := &jsonClose{FirstFIN: a.FirstFIN.String()}
		if a.FirstFIN != flows.NoSide {
			t := timestamp(a.FINTime)
			c.FINTime = &t
		}
		if a.ClosedAt != 0 {
			t := timestamp(a.ClosedAt)
			c.ClosedAt = &t
		}
		if a.FirstFIN != flows.NoSide && a.LastTSval[0].Valid {
			v := a.LastTSval[0].TSval
			c.LastTSvalFromClient = &v
		}
		if a.FirstFIN != flows.NoSide && a.LastTSval[1].Valid {
			v := a.LastTSval[1].TSval
			c.LastTSvalFromServer = &v
		}
		j.Close = c
	}
	for _, s := range a.SYNs {
		j.SYNTimes = append(j.SYNTimes, timestamp(s.Time))
	}
	for _, s := range a.SYNACKs {
		j.SYNACKTimes = append(j.SYNACKTimes, timestamp(s.Time))
	}
	if a.InitialRTO >= 0 {
		v := a.InitialRTO
		j.InitialRTO = &v
	}
	if a.ConnectTime >= 0 {
		v := a.ConnectTime
		j.ConnectTime = &v
	}
	if syn.Opts.Timestamps {
		v := syn.Opts.TSval
		j.TSval = &v
	}
	if a.Established() {
		t := timestamp(a.ThirdACK)
		j.ThirdACK = &t
	}
	for _, r := range a.Resets {
		from := "client"
		if r.FromServer {
			from = "server"
		}
		j.Resets = append(j.Resets, jsonReset{Time: timestamp(r.Time), From: from, Flags: r.Flags.String()})
	}
	for _, e := range a.ICMP {
		j.ICMP = append(j.ICMP, jsonICMP{Time: timestamp(e.Time), Reporter: e.Reporter.String(), Type: e.Type, Code: e.Code, Meaning: icmpMeaning(e)})
	}
	return j
}

// timestamp formats nanoseconds since the epoch as RFC 3339 in UTC with all
// nine digits, so that every time in the document has the same width.
func timestamp(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
}

func linkTypeSummary(lts []flows.LinkType) string {
	switch len(lts) {
	case 0:
		return ""
	case 1:
		return lts[0].String()
	}
	return "per-packet"
}
