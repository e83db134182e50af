package flows_test

import (
	"fmt"
	"log"
	"os"

	"github.com/syndiag/syndiag/flows"
)

// ExampleReadCapture reads a capture taken with a snap length of 62 bytes
// (tcpdump -s 62): its handshake is decoded, but the snap length cut the
// TCP options of every frame.
func ExampleReadCapture() {
	f, err := os.Open("testdata/edge/snaplen-cut.pcap")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	c, err := flows.ReadCapture(f, flows.Config{Emit: func(a *flows.Attempt) {
		fmt.Printf("%v > %v: %d SYN, %d SYN-ACK, established %v\n", a.Client, a.Server, len(a.SYNs), len(a.SYNACKs), a.Established())
	}})
	if err != nil {
		// c still holds what was read before the error.
		log.Print(err)
	}
	fmt.Printf("%d packets, %d decoded, %d not decoded\n", c.Packets, c.Decoded, c.Undecoded.Frames())
	for r, n := range c.Undecoded {
		if n > 0 {
			fmt.Printf("%v: %d (partial %v)\n", flows.Reason(r), n, flows.Reason(r).Partial())
		}
	}
	// Output:
	// 198.18.0.10:40040 > 198.19.0.80:80: 1 SYN, 1 SYN-ACK, established true
	// 4 packets, 4 decoded, 0 not decoded
	// tcp_options_cut: 4 (partial true)
}

// ExampleUndecoded lists why the frames of a capture were not decoded.
func ExampleUndecoded() {
	f, err := os.Open("testdata/edge/undecoded.pcapng")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	c, err := flows.ReadCapture(f, flows.Config{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d of %d packets not decoded\n", c.Undecoded.Frames(), c.Packets)
	fmt.Println(c.Undecoded)
	fmt.Println(c.Undecoded[flows.ReasonARP], "ARP")
	// Output:
	// 19 of 21 packets not decoded
	// link_type=1 link_header=2 arp=1 not_ip=4 ip_header_cut=1 ip_bad_version=1 ip_bad_ihl=1 ip_bad_length=2 not_tcp=2 ip_fragment=1 tcp_header_cut=2 tcp_bad_offset=1 tcp_options_cut=1 tcp_offset_past_packet=1
	// 1 ARP
}
