package flows

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestCloseTracking checks what the per-host PAWS model will rely on: which
// side sent the first FIN, and the last timestamp each side received before
// the close. The truth comes from decoding the same real-kernel captures
// with gopacket instead of our decoder.
func TestCloseTracking(t *testing.T) {
	for _, name := range []string{"established.pcap", "established-client.pcap", "ipv6.pcap", "mixed-failures.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "lab", name)
			want := gopacketCloses(t, path)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			checked := 0
			_, err = ReadCapture(f, Config{Emit: func(a *Attempt) {
				if !a.Established() {
					return
				}
				w, ok := want[[2]netip.AddrPort{a.Client, a.Server}]
				if !ok {
					t.Errorf("%v → %v: gopacket saw no such connection", a.Client, a.Server)
					return
				}
				checked++
				if a.FirstFIN != w.firstFIN {
					t.Errorf("%v: first FIN from %v, gopacket says %v", a.Client, a.FirstFIN, w.firstFIN)
				}
				if a.LastTSval != w.last {
					t.Errorf("%v: last TSvals %+v, gopacket says %+v", a.Client, a.LastTSval, w.last)
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if checked == 0 {
				t.Fatal("no established connection checked")
			}
		})
	}
}

type closeTruth struct {
	firstFIN Side
	last     [2]TSvalSeen
}

// gopacketCloses decodes a capture with gopacket and, per connection (keyed
// client, server by the SYN), finds the first FIN's sender and, from that FIN
// on, the last TSval sent by each side.
func gopacketCloses(t *testing.T, path string) map[[2]netip.AddrPort]closeTruth {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]netip.AddrPort]closeTruth{}
	src := gopacket.NewPacketSource(r, r.LinkType())
	for p := range src.Packets() {
		tl, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tl == nil {
			continue
		}
		var s, d netip.Addr
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			s, _ = netip.AddrFromSlice(ip.SrcIP.To4())
			d, _ = netip.AddrFromSlice(ip.DstIP.To4())
		case *layers.IPv6:
			s, _ = netip.AddrFromSlice(ip.SrcIP)
			d, _ = netip.AddrFromSlice(ip.DstIP)
		}
		sp, dp := netip.AddrPortFrom(s, uint16(tl.SrcPort)), netip.AddrPortFrom(d, uint16(tl.DstPort))
		key, fromClient := [2]netip.AddrPort{sp, dp}, true
		if tl.SYN && !tl.ACK {
			out[key] = closeTruth{}
		}
		c, ok := out[key]
		if !ok {
			key, fromClient = [2]netip.AddrPort{dp, sp}, false
			if c, ok = out[key]; !ok {
				continue
			}
		}
		if tl.FIN && c.firstFIN == NoSide {
			c.firstFIN = ServerSide
			if fromClient {
				c.firstFIN = ClientSide
			}
		}
		if c.firstFIN != NoSide || tl.SYN {
			for _, o := range tl.Options {
				if o.OptionType == layers.TCPOptionKindTimestamps && len(o.OptionData) == 8 {
					i := 0
					if !fromClient {
						i = 1
					}
					ts := uint32(o.OptionData[0])<<24 | uint32(o.OptionData[1])<<16 | uint32(o.OptionData[2])<<8 | uint32(o.OptionData[3])
					c.last[i] = TSvalSeen{Valid: true, TSval: ts, Time: p.Metadata().Timestamp.UnixNano()}
				}
			}
		}
		out[key] = c
	}
	return out
}
