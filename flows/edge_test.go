package flows

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// figures are the counts of a Capture that TestEdgeCaptures compares.
type figures struct {
	Format                             string
	LinkTypes                          []LinkType
	Packets, Duplicates                int64
	First, Last                        int64
	SYNFrames, SYNACKFrames, RSTFrames int64
	TCPFrames, Decoded                 int64
	Undecoded                          Undecoded
	Tracker                            TrackerStats
}

func figuresOf(c *Capture) figures {
	return figures{
		Format: c.Format, LinkTypes: c.LinkTypes,
		Packets: c.Packets, Duplicates: c.Duplicates, First: c.First, Last: c.Last,
		SYNFrames: c.SYNFrames, SYNACKFrames: c.SYNACKFrames, RSTFrames: c.RSTFrames,
		TCPFrames: c.TCPFrames, Decoded: c.Decoded, Undecoded: c.Undecoded, Tracker: c.Tracker,
	}
}

// edgeCase is what reading one capture of testdata/edge must give.
type edgeCase struct {
	file     string
	want     figures
	err      error  // sentinel the error must wrap; nil for a clean read
	offset   int64  // FormatError.Offset when err is set
	msg      string // the error's text, when err is set
	warnings []string
	attempts []Attempt // in the order they are emitted
	// frames holds, for some frame numbers, the segment the decoder must
	// find (nil: a frame whose TCP header has no flags, counted nowhere).
	frames map[int64]*segment
}

// trackerStats are the stats of a tracker with the default cap that saw
// n attempts, peak of them at once.
func trackerStats(n int64, peak int) TrackerStats {
	return TrackerStats{Attempts: n, MaxOpen: DefaultMaxOpen, PeakOpen: peak}
}

// synOptions are the options synOpts writes, as flows reads them.
func synOptions(mss uint16, ws int8, tsval, tsecr uint32) Options {
	return Options{MSS: mss, WScale: ws, SACKPermitted: true, Timestamps: true, TSval: tsval, TSecr: tsecr}
}

// tsOptions are the options tsOpts writes, as flows reads them.
func tsOptions(tsval, tsecr uint32) Options {
	return Options{WScale: -1, Timestamps: true, TSval: tsval, TSecr: tsecr}
}

func stopped(msg string) string {
	return "stopped early: " + msg + "; everything before it was analyzed"
}

func edgeCases() []edgeCase {
	web := ap(srv4, 80)
	handshake := edgeCase{
		file: "handshake.pcap",
		want: figures{
			Format: "pcap", LinkTypes: []LinkType{LinkEthernet},
			Packets: 8, First: at(0), Last: at(3200),
			SYNFrames: 1, SYNACKFrames: 1, TCPFrames: 8, Decoded: 8,
			Tracker: trackerStats(1, 1),
		},
		attempts: []Attempt{{
			Client: ap(cli4, 40001), Server: web, ISN: 1000,
			SYNs:     []Transmission{{Time: at(0), Frame: 1, Seq: 1000, TTL: 64, IPID: 0x0101, Window: 64240, Opts: synOptions(1460, 7, 100, 0)}},
			SYNACKs:  []Transmission{{Time: at(200), Frame: 2, Seq: 9000, Ack: 1001, TTL: 64, Window: 65160, Opts: synOptions(1460, 7, 7000, 100)}},
			ThirdACK: at(400), ThirdACKFrame: 3,
			FirstData: [2]int64{at(500), at(1000)},
			FirstFIN:  ServerSide, FINTime: at(2000),
			LastTSval: [2]TSvalSeen{{true, 103, at(3000)}, {true, 7003, at(3200)}},
			ClosedAt:  at(3000),
		}},
	}
	gz, zst, be, modified := handshake, handshake, handshake, handshake
	gz.file, gz.want.Format = "handshake.pcap.gz", "pcap+gzip"
	zst.file, zst.want.Format = "handshake.pcap.zst", "pcap+zstd"
	be.file = "handshake-be.pcap"
	modified.file, modified.want.Format = "handshake-modified.pcap", "pcap-modified"

	// The first three frames of handshake.pcap.
	established := Attempt{
		Client: ap(cli4, 40001), Server: web, ISN: 1000,
		SYNs:     handshake.attempts[0].SYNs,
		SYNACKs:  handshake.attempts[0].SYNACKs,
		ThirdACK: at(400), ThirdACKFrame: 3,
		LastTSval: [2]TSvalSeen{{true, 101, at(400)}, {true, 7000, at(200)}},
	}
	// The first two.
	answered := Attempt{
		Client: ap(cli4, 40001), Server: web, ISN: 1000,
		SYNs:      handshake.attempts[0].SYNs,
		SYNACKs:   handshake.attempts[0].SYNACKs,
		LastTSval: [2]TSvalSeen{{}, {true, 7000, at(200)}},
	}
	cutHeader := "offset 286: record header cut short: 10 of 16 bytes"
	cutRecord := "offset 286: last record cut short: 40 of 86 bytes"
	bigRecord := "offset 204: record claims 4194304 captured bytes (more than the 262144 any capture tool writes)"
	badBlock := "offset 300: pcapng block 0x00000006: length 100 at its start but 104 at its end"

	return []edgeCase{
		handshake, gz, zst, be, modified,
		{
			file: "truncated-record.pcap",
			want: figures{
				Format: "pcap", LinkTypes: []LinkType{LinkEthernet}, Packets: 3, First: at(0), Last: at(400),
				SYNFrames: 1, SYNACKFrames: 1, TCPFrames: 3, Decoded: 3, Tracker: trackerStats(1, 1),
			},
			err: ErrTruncated, offset: 286, msg: cutRecord,
			warnings: []string{stopped(cutRecord)},
			attempts: []Attempt{established},
		},
		{
			file: "truncated-header.pcap",
			want: figures{
				Format: "pcap", LinkTypes: []LinkType{LinkEthernet}, Packets: 3, First: at(0), Last: at(400),
				SYNFrames: 1, SYNACKFrames: 1, TCPFrames: 3, Decoded: 3, Tracker: trackerStats(1, 1),
			},
			err: ErrTruncated, offset: 286, msg: cutHeader,
			warnings: []string{stopped(cutHeader)},
			attempts: []Attempt{established},
		},
		{
			file: "corrupt-length.pcap",
			want: figures{
				Format: "pcap", LinkTypes: []LinkType{LinkEthernet}, Packets: 2, First: at(0), Last: at(200),
				SYNFrames: 1, SYNACKFrames: 1, TCPFrames: 2, Decoded: 2, Tracker: trackerStats(1, 1),
			},
			err: ErrCorrupt, offset: 204, msg: bigRecord,
			warnings: []string{stopped(bigRecord)},
			attempts: []Attempt{answered},
		},
		{
			file: "pcapng-corrupt-block.pcapng",
			want: figures{
				Format: "pcapng", LinkTypes: []LinkType{LinkEthernet}, Packets: 2, First: at(0), Last: at(200),
				SYNFrames: 1, SYNACKFrames: 1, TCPFrames: 2, Decoded: 2, Tracker: trackerStats(1, 1),
			},
			err: ErrCorrupt, offset: 300, msg: badBlock,
			warnings: []string{stopped(badBlock)},
			attempts: []Attempt{answered},
		},
		{
			// One handshake over three interfaces; see genMixedLinkTypes for
			// how each timestamp converts.
			file: "mixed-linktypes.pcapng",
			want: figures{
				Format: "pcapng", LinkTypes: []LinkType{LinkEthernet, LinkSLL2, LinkIPv4},
				Packets: 3, First: edgeT0 + 100_000, Last: edgeT0 + 976_562,
				SYNFrames: 1, SYNACKFrames: 1, TCPFrames: 3, Decoded: 3, Tracker: trackerStats(1, 1),
			},
			attempts: []Attempt{{
				Client: ap(cli4, 40080), Server: web, ISN: 8000,
				SYNs:     []Transmission{{Time: edgeT0 + 100_000, Frame: 1, Seq: 8000, TTL: 64, IPID: 0x0801, Window: 64240, Opts: synOptions(1460, 7, 100, 0)}},
				SYNACKs:  []Transmission{{Time: edgeT0 + 350_123, Frame: 2, Seq: 18000, Ack: 8001, TTL: 64, Window: 65160, Opts: synOptions(1460, 7, 7000, 100)}},
				ThirdACK: edgeT0 + 976_562, ThirdACKFrame: 3,
				LastTSval: [2]TSvalSeen{{true, 101, edgeT0 + 976_562}, {true, 7000, edgeT0 + 350_123}},
			}},
		},
		{
			// The SYN-ACK is on interface 0 of the second section, raw IP;
			// the ACK is a simple packet block and takes its time.
			file: "two-sections.pcapng",
			want: figures{
				Format: "pcapng", LinkTypes: []LinkType{LinkIPv4, LinkRaw},
				Packets: 3, First: edgeT0 + 1000, Last: edgeT0 + 2e6,
				SYNFrames: 1, SYNACKFrames: 1, TCPFrames: 3, Decoded: 3, Tracker: trackerStats(1, 1),
			},
			attempts: []Attempt{{
				Client: ap(cli4, 40070), Server: web, ISN: 7000,
				SYNs:     []Transmission{{Time: edgeT0 + 1000, Frame: 1, Seq: 7000, TTL: 64, IPID: 0x0701, Window: 64240, Opts: synOptions(1460, 7, 100, 0)}},
				SYNACKs:  []Transmission{{Time: edgeT0 + 2e6, Frame: 2, Seq: 17000, Ack: 7001, TTL: 64, Window: 65160, Opts: synOptions(1460, 7, 7000, 100)}},
				ThirdACK: edgeT0 + 2e6, ThirdACKFrame: 3,
				LastTSval: [2]TSvalSeen{{true, 101, edgeT0 + 2e6}, {true, 7000, edgeT0 + 2e6}},
			}},
		},
		{
			// The skipped block is no frame: the retransmission is frame 2.
			file: "undescribed-interface.pcapng",
			want: figures{
				Format: "pcapng", LinkTypes: []LinkType{LinkEthernet},
				Packets: 2, First: at(0), Last: at(1e6),
				SYNFrames: 2, TCPFrames: 2, Decoded: 2, Tracker: trackerStats(1, 1),
			},
			warnings: []string{"packet blocks name interface 3, which the section does not describe; skipped"},
			attempts: []Attempt{{
				Client: ap(cli4, 40090), Server: web, ISN: 9000,
				SYNs: []Transmission{
					{Time: at(0), Frame: 1, Seq: 9000, TTL: 64, IPID: 0x0901, Window: 64240, Opts: synOptions(1460, 7, 100, 0)},
					{Time: at(1e6), Frame: 2, Seq: 9000, TTL: 64, IPID: 0x0901, Window: 64240, Opts: synOptions(1460, 7, 100, 0)},
				},
			}},
		},
		{
			// Frames are counted as tshark counts them, copies included;
			// the copies do not reach the tracker.
			file: "duplicates.pcap",
			want: figures{
				Format: "pcap-ns", LinkTypes: []LinkType{LinkEthernet},
				Packets: 12, Duplicates: 4, First: at(0), Last: at(3_010_000) + 1,
				SYNFrames: 8, SYNACKFrames: 2, TCPFrames: 12, Decoded: 12, Tracker: trackerStats(4, 4),
			},
			attempts: []Attempt{
				{
					Client: ap(cli4, 40010), Server: web, ISN: 1000,
					SYNs:     []Transmission{{Time: at(0), Frame: 1, Seq: 1000, TTL: 64, IPID: 0x1001, Window: 64240, Opts: synOptions(1460, 7, 100, 0)}},
					SYNACKs:  []Transmission{{Time: at(300), Frame: 3, Seq: 9000, Ack: 1001, TTL: 64, Window: 65160, Opts: synOptions(1460, 7, 7000, 100)}},
					ThirdACK: at(500), ThirdACKFrame: 5,
					LastTSval: [2]TSvalSeen{{true, 101, at(500)}, {true, 7000, at(300)}},
				},
				{
					Client: ap(cli4, 40011), Server: web, ISN: 2000,
					SYNs: []Transmission{
						{Time: at(10_000), Frame: 7, Seq: 2000, TTL: 64, IPID: 0x1101, Window: 64240, Opts: synOptions(1460, 7, 200, 0)},
						{Time: at(1_010_000), Frame: 8, Seq: 2000, TTL: 64, IPID: 0x1101, Window: 64240, Opts: synOptions(1460, 7, 200, 0)},
					},
				},
				{
					Client: ap(cli4, 40012), Server: web, ISN: 3000,
					SYNs: []Transmission{{Time: at(2_000_000), Frame: 9, Seq: 3000, TTL: 64, IPID: 0x1201, Window: 64240, Opts: synOptions(1460, 7, 300, 0)}},
				},
				{
					Client: ap(cli4, 40013), Server: web, ISN: 4000,
					SYNs: []Transmission{
						{Time: at(3_000_000), Frame: 11, Seq: 4000, TTL: 64, IPID: 0x1301, Window: 64240, Opts: synOptions(1460, 7, 400, 0)},
						{Time: at(3_010_000) + 1, Frame: 12, Seq: 4000, TTL: 63, IPID: 0x1301, Window: 64240, Opts: synOptions(1460, 7, 400, 0)},
					},
				},
			},
		},
		{
			// tshark counts the SYN quoted in an ICMP error as a SYN frame,
			// but not one quoted in 8 bytes, which hold no flags.
			file: "icmp.pcap",
			want: figures{
				Format: "pcap", LinkTypes: []LinkType{LinkEthernet},
				Packets: 7, First: at(0), Last: at(3000),
				SYNFrames: 6, TCPFrames: 6, Decoded: 7, // frame 4's quote holds no flags
				Tracker: TrackerStats{Attempts: 3, MaxOpen: DefaultMaxOpen, PeakOpen: 3, OrphanICMP: 1},
			},
			attempts: []Attempt{
				{
					Client: ap(cli4, 40020), Server: ap(srv4, 8081), ISN: 3000,
					SYNs: []Transmission{{Time: at(0), Frame: 1, Seq: 3000, TTL: 64, IPID: 0x2001, Window: 64240, Opts: synOptions(1460, 7, 200, 0)}},
					ICMP: []ICMPError{{Time: at(200), Frame: 2, Reporter: srv4, Type: 3, Code: 3, AboutClientSegment: true, QuotedSeq: 3000, TTL: 64}},
				},
				{
					Client: ap(cli4, 40021), Server: ap(netip.MustParseAddr("198.19.0.81"), 8084), ISN: 3100,
					SYNs: []Transmission{{Time: at(1000), Frame: 3, Seq: 3100, TTL: 64, IPID: 0x2002, Window: 64240, Opts: synOptions(1460, 7, 201, 0)}},
					ICMP: []ICMPError{{Time: at(1500), Frame: 4, Reporter: rtr4, Type: 3, Code: 1, AboutClientSegment: true, QuotedSeq: 3100, TTL: 64}},
				},
				{
					Client: ap(cli6, 40022), Server: ap(srv6, 8083), ISN: 3200,
					SYNs: []Transmission{{Time: at(2000), Frame: 5, Seq: 3200, TTL: 64, Window: 64800, Opts: synOptions(1440, 7, 202, 0)}},
					ICMP: []ICMPError{{Time: at(2200), Frame: 6, Reporter: srv6, V6: true, Type: 1, Code: 1, AboutClientSegment: true, QuotedSeq: 3200, TTL: 64}},
				},
			},
		},
		{
			file: "tcp-options.pcap",
			want: figures{
				Format: "pcap", LinkTypes: []LinkType{LinkEthernet},
				Packets: 5, First: at(0), Last: at(2000),
				SYNFrames: 2, SYNACKFrames: 1, TCPFrames: 4, Decoded: 4, Tracker: trackerStats(2, 2),
				Undecoded: Undecoded{ReasonTCPBadOffset: 1}, // frame 5
			},
			attempts: []Attempt{
				{
					Client: ap(cli4, 40030), Server: web, ISN: 4000,
					SYNs: []Transmission{{Time: at(0), Frame: 1, Seq: 4000, TTL: 64, IPID: 0x3001, Window: 64240, Opts: synOptions(1460, 7, 100, 0)}},
					// Window scale 15 is read as 14 (RFC 7323 2.3).
					SYNACKs:  []Transmission{{Time: at(200), Frame: 2, Seq: 14000, Ack: 4001, TTL: 64, Window: 65160, Opts: synOptions(1400, 14, 7000, 100)}},
					ThirdACK: at(400), ThirdACKFrame: 3,
					LastTSval: [2]TSvalSeen{{true, 101, at(400)}, {true, 7000, at(200)}},
				},
				{
					Client: ap(cli4, 40031), Server: web, ISN: 4100,
					SYNs: []Transmission{{Time: at(1000), Frame: 4, Seq: 4100, TTL: 64, IPID: 0x3101, Window: 64240, Opts: Options{MSS: 1360, WScale: -1}}},
				},
			},
			frames: map[int64]*segment{5: nil},
		},
		{
			file: "snaplen-cut.pcap",
			want: figures{
				Format: "pcap", LinkTypes: []LinkType{LinkEthernet},
				Packets: 4, First: at(0), Last: at(600),
				SYNFrames: 1, SYNACKFrames: 1, TCPFrames: 4, Decoded: 4, Tracker: trackerStats(1, 1),
				Undecoded: Undecoded{ReasonTCPOptionsCut: 4},
			},
			attempts: []Attempt{{
				Client: ap(cli4, 40040), Server: web, ISN: 4500,
				SYNs:     []Transmission{{Time: at(0), Frame: 1, Seq: 4500, TTL: 64, IPID: 0x4501, Window: 64240, Opts: Options{MSS: 1460, WScale: -1, SACKPermitted: true}}},
				SYNACKs:  []Transmission{{Time: at(200), Frame: 2, Seq: 14500, Ack: 4501, TTL: 64, Window: 65160, Opts: Options{MSS: 1400, WScale: -1, SACKPermitted: true}}},
				ThirdACK: at(400), ThirdACKFrame: 3,
				FirstData: [2]int64{at(600), 0},
			}},
			frames: map[int64]*segment{
				1: {Time: at(0), Frame: 1, Src: ap(cli4, 40040), Dst: web, Seq: 4500, Flags: SYN, Window: 64240, TTL: 64, IPID: 0x4501,
					Opts: Options{MSS: 1460, WScale: -1, SACKPermitted: true}, Cut: true},
				3: {Time: at(400), Frame: 3, Src: ap(cli4, 40040), Dst: web, Seq: 4501, Ack: 14501, Flags: ACK, Window: 502, TTL: 64, IPID: 0x4502,
					Opts: Options{WScale: -1}, Cut: true},
				// The payload length comes from the IP header, not the capture.
				4: {Time: at(600), Frame: 4, Src: ap(cli4, 40040), Dst: web, Seq: 4501, Ack: 14501, Flags: PSH | ACK, Window: 502, Payload: 20, TTL: 64, IPID: 0x4503,
					Opts: Options{WScale: -1}, Cut: true},
			},
		},
		{
			file: "ack-answer.pcap",
			want: figures{
				Format: "pcap", LinkTypes: []LinkType{LinkEthernet},
				Packets: 6, First: at(0), Last: at(1_000_400),
				SYNFrames: 2, SYNACKFrames: 1, RSTFrames: 1, TCPFrames: 6, Decoded: 6, Tracker: trackerStats(1, 1),
			},
			attempts: []Attempt{{
				Client: ap(cli4, 40050), Server: web, ISN: 5000,
				SYNs: []Transmission{
					{Time: at(0), Frame: 1, Seq: 5000, TTL: 64, IPID: 0x5001, Window: 64240, Opts: synOptions(1460, 7, 400, 0)},
					{Time: at(1_000_000), Frame: 4, Seq: 5000, TTL: 64, IPID: 0x5003, Window: 64240, Opts: synOptions(1460, 7, 1400, 0)},
				},
				SYNACKs:    []Transmission{{Time: at(1_000_200), Frame: 5, Seq: 8000, Ack: 5001, TTL: 64, Window: 65160, Opts: synOptions(1460, 7, 9500, 1400)}},
				AckAnswers: []Transmission{{Time: at(200), Frame: 2, Seq: 90000, Ack: 123456, TTL: 64, Window: 509, Opts: tsOptions(9000, 350)}},
				ThirdACK:   at(1_000_400), ThirdACKFrame: 6,
				Resets:    []Reset{{Time: at(300), Frame: 3, Flags: RST, Seq: 123456, TTL: 64, IPID: 0x5002}},
				LastTSval: [2]TSvalSeen{{true, 1401, at(1_000_400)}, {true, 9500, at(1_000_200)}},
			}},
		},
		{
			// The first connection is emitted when the new ISN arrives.
			file: "isn-reuse.pcap",
			want: figures{
				Format: "pcap", LinkTypes: []LinkType{LinkEthernet},
				Packets: 9, First: at(0), Last: at(2_000_400),
				SYNFrames: 2, SYNACKFrames: 2, TCPFrames: 9, Decoded: 9, Tracker: trackerStats(2, 1),
			},
			attempts: []Attempt{
				{
					Client: ap(cli4, 40060), Server: web, ISN: 6000,
					SYNs:     []Transmission{{Time: at(0), Frame: 1, Seq: 6000, TTL: 64, IPID: 0x6001, Window: 64240, Opts: synOptions(1460, 7, 500, 0)}},
					SYNACKs:  []Transmission{{Time: at(200), Frame: 2, Seq: 9000, Ack: 6001, TTL: 64, Window: 65160, Opts: synOptions(1460, 7, 7000, 500)}},
					ThirdACK: at(400), ThirdACKFrame: 3,
					FirstFIN: ServerSide, FINTime: at(10_000),
					LastTSval: [2]TSvalSeen{{true, 511, at(11_000)}, {true, 7011, at(11_200)}},
					ClosedAt:  at(11_000),
				},
				{
					Client: ap(cli4, 40060), Server: web, ISN: 7_000_000,
					SYNs:     []Transmission{{Time: at(2_000_000), Frame: 7, Seq: 7_000_000, TTL: 64, IPID: 0x6101, Window: 64240, Opts: synOptions(1460, 7, 2500, 0)}},
					SYNACKs:  []Transmission{{Time: at(2_000_200), Frame: 8, Seq: 12000, Ack: 7_000_001, TTL: 64, Window: 65160, Opts: synOptions(1460, 7, 9000, 2500)}},
					ThirdACK: at(2_000_400), ThirdACKFrame: 9,
					LastTSval: [2]TSvalSeen{{true, 2501, at(2_000_400)}, {true, 9000, at(2_000_200)}},
				},
			},
		},
		{
			// One frame, or two, for every Reason; see undecodedFrames.
			file: "undecoded.pcapng",
			want: figures{
				Format: "pcapng", LinkTypes: []LinkType{147, LinkEthernet, LinkIEEE80211, LinkNull},
				Packets: 21, First: at(0), Last: at(20_000),
				TCPFrames: 2, Decoded: 2, Tracker: trackerStats(0, 0),
				Undecoded: Undecoded{
					ReasonLinkType: 1, ReasonLinkHeader: 2, ReasonARP: 1, ReasonNotIP: 4,
					ReasonIPHeaderCut: 1, ReasonIPBadVersion: 1, ReasonIPBadIHL: 1, ReasonIPBadLength: 2,
					ReasonNotTCP: 2, ReasonIPFragment: 1, ReasonTCPHeaderCut: 2, ReasonTCPBadOffset: 1,
					ReasonTCPOptionsCut: 1, ReasonTCPOffsetPastPacket: 1,
				},
			},
			warnings: []string{"link type unknown (147) is not decoded: 1 packets skipped"},
		},
		{
			file: "not-a-capture.txt",
			err:  ErrNotCapture, offset: 0,
			msg: `offset 0: not a capture file: it starts with text "This is " (pcap, pcapng, gzip or zstd expected)`,
		},
		{
			file: "empty.pcap",
			err:  ErrTruncated, offset: 0,
			msg: "offset 0: file is empty or shorter than any capture header",
		},
		{
			file: "capture.pcap.bz2",
			err:  ErrUnsupportedFormat, offset: 0,
			msg: "offset 0: bzip2-compressed: decompress it first (bunzip2), or recompress with gzip or zstd",
		},
		{
			file: "short-header.pcap",
			err:  ErrTruncated, offset: 0,
			msg: "offset 0: pcap file header cut short",
		},
	}
}

// TestEdgeCaptures reads every hand-made capture and compares all that
// flows found with what the capture is known to hold.
func TestEdgeCaptures(t *testing.T) {
	cases := edgeCases()
	for _, f := range edgeFixtures {
		if !slices.ContainsFunc(cases, func(c edgeCase) bool { return c.file == f.name }) {
			t.Errorf("%s has no case in TestEdgeCaptures", f.name)
		}
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(edgeDir, tc.file)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var attempts []Attempt
			c, err := ReadCapture(f, Config{Emit: func(a *Attempt) { attempts = append(attempts, *a) }})
			checkFormatErr(t, err, tc.err, tc.offset, tc.msg)
			if c.Err != err {
				t.Errorf("Capture.Err = %v, ReadCapture returned %v", c.Err, err)
			}
			if got := figuresOf(c); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("figures:\n got %+v\nwant %+v", got, tc.want)
			}
			if !slices.Equal(c.Warnings, tc.warnings) {
				t.Errorf("warnings:\n got %q\nwant %q", c.Warnings, tc.warnings)
			}
			if len(attempts) != len(tc.attempts) {
				t.Errorf("%d attempts, want %d", len(attempts), len(tc.attempts))
			}
			for i := range min(len(attempts), len(tc.attempts)) {
				if got, want := attempts[i], tc.attempts[i]; !reflect.DeepEqual(got, want) {
					t.Errorf("attempt %d:\n got %s\nwant %s", i, describeAttempt(&got), describeAttempt(&want))
				}
			}
			if len(tc.frames) > 0 {
				segs := decodeSegments(t, path)
				for n, want := range tc.frames {
					if got := segs[n-1]; !reflect.DeepEqual(got, want) {
						t.Errorf("frame %d: segment\n got %+v\nwant %+v", n, got, want)
					}
				}
			}
		})
	}
}

// checkFormatErr checks that err is nil when sentinel is, and otherwise a
// *FormatError that wraps sentinel, at offset, with the text msg.
func checkFormatErr(t *testing.T, err, sentinel error, offset int64, msg string) {
	t.Helper()
	if sentinel == nil {
		if err != nil {
			t.Fatalf("error %v, want none", err)
		}
		return
	}
	var fe *FormatError
	switch {
	case !errors.Is(err, sentinel):
		t.Errorf("error %v, want one wrapping %v", err, sentinel)
	case !errors.As(err, &fe):
		t.Errorf("error %T %v is not a *FormatError", err, err)
	case fe.Offset != offset:
		t.Errorf("error at offset %d, want %d (%v)", fe.Offset, offset, err)
	case err.Error() != msg:
		t.Errorf("error %q, want %q", err, msg)
	}
}

// describeAttempt prints an attempt with one field a line, for diffs.
func describeAttempt(a *Attempt) string {
	v := reflect.ValueOf(*a)
	s := ""
	for i := range v.NumField() {
		s += fmt.Sprintf("\n\t%s: %+v", v.Type().Field(i).Name, v.Field(i).Interface())
	}
	return s
}

// decodeSegments decodes every frame of a capture on its own and returns,
// for each, the segment the tracker would see, or nil when the frame has no
// TCP header with flags.
func decodeSegments(t *testing.T, path string) []*segment {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var segs []*segment
	var d Decoder
	for n := int64(1); ; n++ {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		d.Decode(rec.Data, rec.LinkType)
		if !d.hasTCP || !d.tcp.hasFlags() {
			segs = append(segs, nil)
			continue
		}
		s := segmentOf(&d, rec.Time, n)
		segs = append(segs, &s)
	}
	return segs
}
