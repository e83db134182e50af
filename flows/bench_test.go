package flows

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"testing"
)

// benchCapture builds an in-memory pcap like the captures syndiag meets:
// mostly bulk data on long connections, with a short connection (SYN,
// SYN-ACK, ACK, FIN, FIN, ACK) every 100 packets. Snap length 96.
func benchCapture(packets int) []byte {
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 96)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	b.Write(hdr)
	frame := func(t int64, src, dst [4]byte, sp, dp uint16, seq, ack uint32, flags TCPFlags, payload int) {
		f := make([]byte, 14+20+32)
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		ip := f[14:]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+32+payload))
		ip[8], ip[9] = 64, 6
		copy(ip[12:], src[:])
		copy(ip[16:], dst[:])
		tcp := ip[20:]
		binary.BigEndian.PutUint16(tcp, sp)
		binary.BigEndian.PutUint16(tcp[2:], dp)
		binary.BigEndian.PutUint32(tcp[4:], seq)
		binary.BigEndian.PutUint32(tcp[8:], ack)
		tcp[12], tcp[13] = 8<<4, byte(flags)
		copy(tcp[20:], []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec, uint32(t/1e9))
		binary.LittleEndian.PutUint32(rec[4:], uint32(t%1e9/1e3))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(f)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(f)+payload))
		b.Write(rec)
		b.Write(f)
	}
	cli, srv := [4]byte{198, 18, 0, 1}, [4]byte{198, 18, 1, 1}
	t := int64(1_700_000_000e9)
	port := uint16(10000)
	for i := 0; i < packets; i++ {
		t += 10e3
		if i%100 == 0 {
			port++
			seq := uint32(i) * 7919
			frame(t, cli, srv, port, 80, seq, 0, SYN, 0)
			frame(t, srv, cli, 80, port, 5, seq+1, SYN|ACK, 0)
			frame(t, cli, srv, port, 80, seq+1, 6, ACK, 0)
			frame(t, srv, cli, 80, port, 6, seq+1, FIN|ACK, 0)
			frame(t, cli, srv, port, 80, seq+1, 7, FIN|ACK, 0)
			frame(t, srv, cli, 80, port, 7, seq+2, ACK, 0)
			i += 5
			continue
		}
		frame(t, srv, cli, 443, 50000+uint16(i%4), uint32(i)*1448, 1, ACK, 1448)
	}
	return b.Bytes()
}

func BenchmarkReadCapture(b *testing.B) {
	data := benchCapture(100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := ReadCapture(bytes.NewReader(data), Config{})
		if err != nil || c.Packets == 0 {
			b.Fatal(c.Packets, err)
		}
	}
}

func BenchmarkReadCaptureGzip(b *testing.B) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	raw := benchCapture(100_000)
	zw.Write(raw)
	zw.Close()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadCapture(bytes.NewReader(z.Bytes()), Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode measures the decoder alone on a bulk-data frame, the
// packet syndiag sees most.
func BenchmarkDecode(b *testing.B) {
	frame := firstFrame(b, benchCapture(2))
	var d Decoder
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		d.Decode(frame, LinkEthernet)
	}
}
