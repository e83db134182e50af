// Command synth writes the synthetic captures of issue 12's memory targets
// (bounded memory at any number of handshakes) as classic pcap on Ethernet,
// to standard output or -out, in one streaming pass and constant memory:
//
//	spoofed   N SYNs from N distinct spoofed sources, nothing answered
//	halfopen  N SYNs, each answered by a SYN-ACK that is never acknowledged
//	healthy   N complete handshakes: SYN, SYN-ACK, ACK, then FINs both ways
//	reuse     N handshakes over 1,000 4-tuples reused with new ISNs
//
// Sources are spread over 198.18.0.0/15 minus the server (198.19.255.254)
// and ports; timestamps advance by -gap-us per handshake. The packets are
// what syndiag's models read (flags, sequence numbers, TCP timestamps), not
// a replay of a real kernel: for speed and memory measurements only, never
// a diagnosis test. Standard library only; nothing it writes is committed.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	kind := flag.String("kind", "spoofed", "spoofed, halfopen, healthy or reuse")
	n := flag.Int("n", 1_000_000, "handshakes (SYN sources for spoofed)")
	gapUS := flag.Int64("gap-us", 100, "microseconds between handshakes")
	out := flag.String("out", "", "output file (default standard output)")
	flag.Parse()
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "synth:", err)
			os.Exit(2)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	defer bw.Flush()
	g := &gen{w: bw, gap: *gapUS}
	g.header()
	for i := range *n {
		g.handshake(*kind, i)
	}
}

type gen struct {
	w   *bufio.Writer
	gap int64 // µs between handshakes
	buf [96]byte
}

func (g *gen) header() {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 128)
	binary.LittleEndian.PutUint32(h[20:], 1) // Ethernet
	g.w.Write(h[:])
}

var server = [4]byte{198, 19, 255, 254}

const serverPort = 8080

// client returns the i-th source address and port.
func client(i int) ([4]byte, uint16) {
	a := uint32(198)<<24 | uint32(18)<<16 | uint32(i%130000+1)
	return [4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}, uint16(1024 + (i/130000)%60000)
}

func (g *gen) handshake(kind string, i int) {
	t := int64(1_700_000_000)*1e6 + int64(i)*g.gap // µs
	src, sport := client(i)
	if kind == "reuse" {
		src, sport = client(i % 1000)
	}
	isn := uint32(i)*2654435761 + 1
	sisn := isn ^ 0x5bd1e995
	ts := uint32(t / 1000)
	syn := func(at int64) { g.packet(at, src, server, sport, serverPort, isn, 0, 0x02, ts) }
	synack := func(at int64) { g.packet(at, server, src, serverPort, sport, sisn, isn+1, 0x12, ts+7) }
	switch kind {
	case "spoofed":
		syn(t)
	case "halfopen":
		syn(t)
		synack(t + 20)
	case "healthy", "reuse":
		syn(t)
		synack(t + 20)
		g.packet(t+40, src, server, sport, serverPort, isn+1, sisn+1, 0x10, ts+1)
		g.packet(t+60, server, src, serverPort, sport, sisn+1, isn+1, 0x11, ts+8)
		g.packet(t+80, src, server, sport, serverPort, isn+1, sisn+2, 0x11, ts+2)
		g.packet(t+100, server, src, serverPort, sport, sisn+2, isn+2, 0x10, ts+9)
	default:
		fmt.Fprintln(os.Stderr, "synth: unknown -kind", kind)
		os.Exit(2)
	}
}

// packet writes one Ethernet/IPv4/TCP record, with Linux's SYN options
// (MSS, SACK permitted, timestamps, window scale) on every segment.
func (g *gen) packet(us int64, src, dst [4]byte, sport, dport uint16, seq, ack uint32, flags byte, tsval uint32) {
	const tcpLen = 40
	b := g.buf[:14+20+tcpLen]
	clear(b)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 20+tcpLen)
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	var sum uint32
	for k := 0; k < 20; k += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[k:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	tcp := b[34:]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12], tcp[13] = tcpLen/4<<4, flags
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	copy(tcp[20:], []byte{2, 4, 5, 180, 4, 2, 8, 10})
	binary.BigEndian.PutUint32(tcp[28:], tsval)
	copy(tcp[36:], []byte{1, 3, 3, 7})
	var rec [16]byte
	binary.LittleEndian.PutUint32(rec[0:], uint32(us/1e6))
	binary.LittleEndian.PutUint32(rec[4:], uint32(us%1e6))
	binary.LittleEndian.PutUint32(rec[8:], uint32(len(b)))
	binary.LittleEndian.PutUint32(rec[12:], uint32(len(b)))
	g.w.Write(rec[:])
	g.w.Write(b)
}
