package main

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The replay re-derives the per-host PAWS decisions from a server capture
// alone, the way an analyzer must: who sent the first FIN, the client's
// TSvals on the segments that reach the server's TIME_WAIT, whole seconds of
// capture time. It shares only kernel.go with the simulator.

type replaySYN struct {
	public netip.AddrPort
	isn    uint32
	tsval  uint32
	at     int64 // capture time, microseconds since the Unix epoch
	answer bool  // a SYN-ACK followed before the next transmission
	paws   bool  // the replayed rule drops it
	// The replayed tcp_metrics entry of the source IP when the SYN arrived.
	tcpmTS  uint32
	tcpmAge int64
}

type replayConn struct {
	serverFIN    uint32 // sequence number of the server's FIN
	serverFirst  bool   // the server's FIN came before any client FIN
	clientFIN    bool
	finWait2Seen bool // the server has entered tcp_time_wait
}

type replay struct {
	syns    []*replaySYN
	metrics map[netip.Addr]*metricsBlock
}

func replayCapture(t *testing.T, data []byte) *replay {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rp := &replay{metrics: make(map[netip.Addr]*metricsBlock)}
	conns := make(map[netip.AddrPort]*replayConn)
	last := make(map[netip.AddrPort]*replaySYN) // latest SYN per client
	var eth layers.Ethernet
	var ip4 layers.IPv4
	var tcp layers.TCP
	var payload gopacket.Payload
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &tcp, &payload)
	var decoded []gopacket.LayerType
	for {
		frame, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := parser.DecodeLayers(frame, &decoded); err != nil && len(decoded) < 3 {
			t.Fatalf("frame at %v: %v", ci.Timestamp, err)
		}
		src, _ := netip.AddrFromSlice(ip4.SrcIP)
		dst, _ := netip.AddrFromSlice(ip4.DstIP)
		from := netip.AddrPortFrom(src, uint16(tcp.SrcPort))
		to := netip.AddrPortFrom(dst, uint16(tcp.DstPort))
		tsval, ok := timestamp(&tcp)
		if !ok {
			t.Fatalf("frame at %v has no timestamp option", ci.Timestamp)
		}
		us := ci.Timestamp.UnixMicro()
		now := uint32(ci.Timestamp.Unix()) // get_seconds()
		toServer := to == serverAddr
		client := from
		if !toServer {
			client = to
		}
		switch {
		case toServer && tcp.SYN && !tcp.ACK:
			s := &replaySYN{public: from, isn: tcp.Seq, tsval: tsval, at: us}
			s.paws = !peerIsProven(rp.metrics[src], now, tsval)
			if tm := rp.metrics[src]; tm != nil {
				s.tcpmTS, s.tcpmAge = tm.tcpmTS, int64(now-tm.tcpmTSStamp)
			}
			rp.syns = append(rp.syns, s)
			last[from] = s
		case !toServer && tcp.SYN && tcp.ACK:
			if s := last[to]; s != nil && s.isn+1 == tcp.Ack {
				s.answer = true
				conns[to] = &replayConn{}
			}
			// tcp_init_metrics creates the entry when the handshake ends;
			// creating it here changes nothing (an entry with stamp 0 is
			// proven).
			if rp.metrics[dst] == nil {
				rp.metrics[dst] = &metricsBlock{}
			}
		case !toServer && tcp.FIN:
			c := conns[client]
			c.serverFIN = tcp.Seq
			c.serverFirst = !c.clientFIN
		case toServer:
			c := conns[client]
			if c == nil {
				t.Fatalf("segment from %v before its handshake", client)
			}
			if tcp.FIN && !c.serverFirst {
				c.clientFIN = true
			}
			if !c.serverFirst || !tcp.ACK || tcp.Ack != c.serverFIN+1 {
				continue
			}
			// The server closed first and this segment acks its FIN:
			// tcp_time_wait → tcp_remember_stamp (first such segment), or
			// the FIN reaching the FIN_WAIT2 timewait socket →
			// tcp_tw_remember_stamp. Both apply the same rule to this
			// segment's TSval and arrival second.
			if c.finWait2Seen && !tcp.FIN {
				continue // a duplicate ACK; the timewait socket ignores it
			}
			c.finWait2Seen = true
			rp.metrics[src].remember(now, tsval, now)
		}
	}
	return rp
}

func timestamp(tcp *layers.TCP) (uint32, bool) {
	for _, o := range tcp.Options {
		if o.OptionType == layers.TCPOptionKindTimestamps && len(o.OptionData) == 8 {
			return uint32(o.OptionData[0])<<24 | uint32(o.OptionData[1])<<16 | uint32(o.OptionData[2])<<8 | uint32(o.OptionData[3]), true
		}
	}
	return 0, false
}

// TestReplayExplainsDrops: in every tcp_tw_recycle=1 scenario the rule
// replayed from the server capture predicts exactly the unanswered SYNs and
// exactly the truth's dropped_by_paws; in the recycle-off control the same
// replay would drop SYNs although none went unanswered.
func TestReplayExplainsDrops(t *testing.T) {
	files := make(map[string][]byte)
	for _, f := range generatedFiles(t) {
		files[f.name] = f.data
	}
	for _, res := range defaultResults(t) {
		t.Run(res.sc.name, func(t *testing.T) {
			rp := replayCapture(t, files[res.sc.name+".pcap"])
			truth := make(map[string]bool)
			rows := make(map[string]*synRow)
			for _, r := range sortedRows(res) {
				key := fmt.Sprint(r.attempt.public, r.attempt.isn, r.tsval)
				truth[key] = r.dropped
				rows[key] = r
			}
			if len(truth) != len(rp.syns) {
				t.Fatalf("capture has %d SYNs, truth %d", len(rp.syns), len(truth))
			}
			predicted := 0
			for _, s := range rp.syns {
				key := fmt.Sprint(s.public, s.isn, s.tsval)
				dropped, ok := truth[key]
				if !ok {
					t.Errorf("SYN %s is not in the truth", key)
					continue
				}
				if dropped == s.answer {
					t.Errorf("SYN %s: truth dropped=%t but answered=%t in the capture", key, dropped, s.answer)
				}
				if s.paws {
					predicted++
				}
				if !res.sc.twRecycle {
					continue
				}
				if s.paws != dropped {
					t.Errorf("SYN %s at %d: replayed rule says drop=%t, truth %t", key, s.at, s.paws, dropped)
				}
				// The entry itself must agree; before the first handshake
				// completes the server has none, the replay one with stamp 0.
				if r := rows[key]; r.entry && (r.tcpmTS != s.tcpmTS || r.tcpmAge != s.tcpmAge) {
					t.Errorf("SYN %s: truth entry (tcpm_ts %d, age %d s), replayed (%d, %d s)", key, r.tcpmTS, r.tcpmAge, s.tcpmTS, s.tcpmAge)
				}
			}
			switch res.sc.name {
			case "paws-nat-recycle-off":
				if predicted == 0 {
					t.Error("the replayed rule drops nothing: the control's TSvals would not have triggered per-host PAWS")
				}
			case "paws-nat-client-closes", "paws-single-host":
				if predicted != 0 {
					t.Errorf("the replayed rule drops %d SYNs, want 0", predicted)
				}
			}
		})
	}
}

// TestCapturesAgree: the LAN capture shows the same SYNs with private
// addresses, the server capture only the NAT's public address.
func TestCapturesAgree(t *testing.T) {
	files := make(map[string][]byte)
	for _, f := range generatedFiles(t) {
		files[f.name] = f.data
	}
	lanNet := netip.MustParsePrefix("198.18.60.0/24")
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, c := range []struct {
				name   string
				client func(netip.Addr) bool
			}{
				{sc.name + ".pcap", func(a netip.Addr) bool { return a == natPublic }},
				{sc.name + "-client.pcap", lanNet.Contains},
			} {
				r, err := pcapgo.NewReader(bytes.NewReader(files[c.name]))
				if err != nil {
					t.Fatal(err)
				}
				syns := 0
				for {
					data, _, err := r.ReadPacketData()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
					if el := p.ErrorLayer(); el != nil {
						t.Fatalf("%s: %v", c.name, el.Error())
					}
					ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
					tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
					src, _ := netip.AddrFromSlice(ip.SrcIP)
					dst, _ := netip.AddrFromSlice(ip.DstIP)
					if !(c.client(src) && dst == serverAddr.Addr()) && !(src == serverAddr.Addr() && c.client(dst)) {
						t.Errorf("%s: unexpected %v -> %v", c.name, src, dst)
					}
					if ip.TTL != 59 && ip.TTL != 64 {
						t.Errorf("%s: TTL %d", c.name, ip.TTL)
					}
					if tcp.SYN && !tcp.ACK {
						syns++
					}
				}
				want := 0
				for _, res := range defaultResults(t) {
					if res.sc.name == sc.name {
						_, total := figures(res)
						want = total.SYNs
					}
				}
				if syns != want {
					t.Errorf("%s: %d SYNs, truth has %d", c.name, syns, want)
				}
			}
		})
	}
}
