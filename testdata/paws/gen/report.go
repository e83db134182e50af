package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const (
	outcomeEstablished = "established"
	outcomeTimedOut    = "timed_out"
)

// attempt is one connect(): a SYN and its retransmissions (same ISN).
type attempt struct {
	host    hostSpec
	private netip.AddrPort
	public  netip.AddrPort // as the server sees it
	isn     uint32
	outcome string // set when the SYN-ACK arrives or at ETIMEDOUT
	syns    []*synRow
}

// synRow is one SYN transmission, a line of truth.tsv.
type synRow struct {
	attempt    *attempt
	n          int // 0 for the first SYN, k for the k-th retransmission
	tsval      uint32
	sent       int64 // the host sends it
	clientTime int64 // in the -client capture (router LAN interface)
	serverTime int64 // in the server capture
	dropped    bool  // tcp_v4_conn_request dropped it (PAWSPassiveRejected)
	// The tcp_metrics entry of the source IP when the SYN was checked
	// (only with tcp_tw_recycle=1 and an entry present).
	entry   bool
	tcpmTS  uint32
	tcpmAge int64
}

const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

func stamp(us int64) string {
	return epoch.Add(time.Duration(us) * time.Microsecond).Format(timeLayout)
}

// pcapBytes writes a classic microsecond pcap, as tcpdump does by default.
func pcapBytes(recs []record) ([]byte, error) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	for _, r := range recs {
		ci := gopacket.CaptureInfo{
			Timestamp:     epoch.Add(time.Duration(r.at) * time.Microsecond),
			CaptureLength: len(r.frame),
			Length:        len(r.frame),
		}
		if err := w.WritePacket(ci, r.frame); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// truthTSV lists every SYN transmission of every scenario in time order.
func truthTSV(results []*result) []byte {
	var b strings.Builder
	b.WriteString("scenario\thost\tprivate\tpublic\tisn\tsyn\ttsval\tclient_time\tserver_time\tdropped_by_paws\ttcpm_ts\ttcpm_age_s\toutcome\n")
	for _, res := range results {
		for _, r := range sortedRows(res) {
			a := r.attempt
			tcpmTS, age := "-", "-"
			if r.entry {
				tcpmTS, age = fmt.Sprint(r.tcpmTS), fmt.Sprint(r.tcpmAge)
			}
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%t\t%s\t%s\t%s\n",
				res.sc.name, a.host.addr(), a.private, a.public, a.isn, r.n, r.tsval,
				stamp(r.clientTime), stamp(r.serverTime), r.dropped, tcpmTS, age, a.outcome)
		}
	}
	return []byte(b.String())
}

func sortedRows(res *result) []*synRow {
	var rows []*synRow
	for _, a := range res.attempts {
		rows = append(rows, a.syns...)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].sent < rows[j].sent })
	return rows
}

// hostFigures are the truth figures of one host in one scenario.
type hostFigures struct {
	Host                 string
	Attempts             int
	Established          int
	EstablishedAfterDrop int // established, but only after a SYN was dropped
	TimedOut             int
	SYNs                 int
	Dropped              int
}

func (f *hostFigures) add(o hostFigures) {
	f.Attempts += o.Attempts
	f.Established += o.Established
	f.EstablishedAfterDrop += o.EstablishedAfterDrop
	f.TimedOut += o.TimedOut
	f.SYNs += o.SYNs
	f.Dropped += o.Dropped
}

func figures(res *result) (perHost []hostFigures, total hostFigures) {
	for _, spec := range res.sc.hosts {
		f := hostFigures{Host: spec.addr().String()}
		for _, a := range res.attempts {
			if a.host.last != spec.last {
				continue
			}
			f.Attempts++
			drops := 0
			for _, r := range a.syns {
				f.SYNs++
				if r.dropped {
					drops++
				}
			}
			f.Dropped += drops
			switch a.outcome {
			case outcomeEstablished:
				f.Established++
				if drops > 0 {
					f.EstablishedAfterDrop++
				}
			case outcomeTimedOut:
				f.TimedOut++
			}
		}
		perHost = append(perHost, f)
		total.add(f)
	}
	total.Host = "all"
	return perHost, total
}

//go:embed readme.md.tmpl
var readmeTemplate string

func readmeMarkdown(p params, results []*result, files []file) ([]byte, error) {
	type hostRow struct {
		Addr    string
		HZ      int64
		Uptime  string
		TSval   uint32
		MeanGap float64
	}
	type fileRow struct {
		Name        string
		Bytes       int
		Packets     int
		Side        string
		First, Last string
	}
	type scenarioRow struct {
		Name, Summary string
		TwRecycle     int
		Closer        string
		Hosts         []hostFigures
		Total         hostFigures
	}
	var data struct {
		Seed       uint64
		SYNRetries int
		LastSYN    int
		GiveUp     int
		Duration   int64
		Epoch      string
		Hosts      []hostRow
		Single     hostRow
		Files      []fileRow
		Scenarios  []scenarioRow
		TotalBytes int

		RequestBytes, ResponseBytes                   int
		KeepAliveRequestBytes, KeepAliveResponseBytes int
	}
	data.Seed, data.SYNRetries = p.seed, p.synRetries
	data.LastSYN = (1 << p.synRetries) - 1
	data.GiveUp = (2 << p.synRetries) - 1
	data.Duration = p.durationUs / 1_000_000
	data.Epoch = epoch.Format(time.RFC3339)
	data.RequestBytes, data.ResponseBytes = len(httpRequestClose), len(httpResponseClose)
	data.KeepAliveRequestBytes, data.KeepAliveResponseBytes = len(httpRequest), len(httpResponse)
	row := func(spec hostSpec) hostRow {
		h := newHost(&sim{p: p}, spec)
		return hostRow{
			Addr:    spec.addr().String(),
			HZ:      spec.hz,
			Uptime:  fmt.Sprintf("%.2f days", float64(h.uptimeUs)/86_400e6),
			TSval:   h.tsval(0),
			MeanGap: spec.meanGap,
		}
	}
	for _, spec := range natHosts {
		data.Hosts = append(data.Hosts, row(spec))
	}
	data.Single = row(singleHost)
	size := make(map[string]int)
	for _, f := range files {
		size[f.name] = len(f.data)
		data.TotalBytes += len(f.data)
	}
	for _, res := range results {
		per, total := figures(res)
		sr := scenarioRow{Name: res.sc.name, Summary: res.sc.summary, Closer: "client", Hosts: per, Total: total}
		if res.sc.twRecycle {
			sr.TwRecycle = 1
		}
		if res.sc.serverClosesFirst {
			sr.Closer = "server"
		}
		data.Scenarios = append(data.Scenarios, sr)
		for _, c := range []struct {
			name, side string
			recs       []record
		}{
			{res.sc.name + ".pcap", "server", res.server},
			{res.sc.name + "-client.pcap", "router LAN", res.lan},
		} {
			fr := fileRow{Name: c.name, Bytes: size[c.name], Packets: len(c.recs), Side: c.side}
			if n := len(c.recs); n > 0 {
				fr.First, fr.Last = stamp(c.recs[0].at), stamp(c.recs[n-1].at)
			}
			data.Files = append(data.Files, fr)
		}
	}
	t, err := template.New("README.md").Parse(readmeTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
