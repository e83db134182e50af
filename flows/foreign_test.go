package flows

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// foreignEnv names the folder of captures from other projects' test
// suites, with tshark's counts in MANIFEST.tsv. Without it the tests look
// beside the repository (defaultForeignDir), and skip when the folder is
// not there, as in a user's clone; a folder named in foreignEnv must exist.
const foreignEnv = "SYNDIAG_FOREIGN"

// defaultForeignDir is ../shared/captures-foreign beside the repository,
// from the flows folder the tests run in.
const defaultForeignDir = "../../shared/captures-foreign"

// foreignDir returns the foreign captures' folder, and whether foreignEnv
// named it.
func foreignDir() (dir string, named bool) {
	if d := os.Getenv(foreignEnv); d != "" {
		return d, true
	}
	return defaultForeignDir, false
}

type manifestRow struct {
	file, format, linkType, notes string
	packets, syn, synack, rst     int64
	tsharkOK                      bool
}

// readManifest reads MANIFEST.tsv of the foreign captures' folder, and
// returns the folder with its rows.
func readManifest(t *testing.T) (string, []manifestRow) {
	t.Helper()
	dir, named := foreignDir()
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if errors.Is(err, os.ErrNotExist) && !named {
		t.Skipf("no foreign captures beside the repository (%s), and %s is not set", defaultForeignDir, foreignEnv)
	}
	if err != nil && named {
		t.Fatalf("%s=%s: %v (a relative path starts from the flows folder)", foreignEnv, dir, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []manifestRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for first := true; sc.Scan(); first = false {
		if first {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 13 {
			t.Fatalf("manifest line %q has %d columns", sc.Text(), len(c))
		}
		r := manifestRow{file: c[0], format: c[5], linkType: c[6], notes: c[12], tsharkOK: c[11] == "0"}
		r.packets, _ = strconv.ParseInt(c[7], 10, 64)
		r.syn, _ = strconv.ParseInt(c[8], 10, 64)
		r.synack, _ = strconv.ParseInt(c[9], 10, 64)
		r.rst, _ = strconv.ParseInt(c[10], 10, 64)
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return dir, rows
}

// foreignUndecoded holds what flows does not decode in some foreign
// captures of malformed packets, each checked against tshark's expert info.
var foreignUndecoded = map[string]Undecoded{
	// "Bogus IP length" (a total length of 11, under the header length),
	// then "Bogus IPv4 version" (5).
	"pcapplusplus__ipv4-malformed.pcap": {ReasonIPBadLength: 1, ReasonIPBadVersion: 1},
	// "Short segment": data offsets past the segment; tshark counts the
	// flags, as flows does.
	"pcapplusplus__tcp-malformed.pcap": {ReasonTCPOffsetPastPacket: 2},
	// "Bogus TCP header length (8, must be at least 20)".
	"ndpi__kerberos_fuzz.pcapng":          {ReasonTCPBadOffset: 1},
	"tcpdump__LINKTYPE_IPV4_invalid.pcap": {ReasonIPBadVersion: 1},
	"tcpdump__LINKTYPE_IPV6_invalid.pcap": {ReasonIPBadVersion: 1},
	// tshark stops at the Ethernet header, and at the IP header.
	"zeek__trunc__trunc-hdr.pcap": {ReasonLinkHeader: 1},
	"zeek__trunc__ip4-trunc.pcap": {ReasonIPHeaderCut: 1},
	// A SYN whose options go on in the second fragment: flows decodes the
	// first, tshark the reassembled datagram on the second.
	"zeek__ipv4__fragmented-syn.pcap": {ReasonTCPOptionsCut: 1, ReasonIPFragment: 1},
}

// TestForeignCaptures reads every foreign capture: none may panic, every
// frame read is decoded or counted undecoded, and where tshark read the
// whole file and flows decodes its link types, the frame, SYN, SYN-ACK and
// RST counts must equal tshark's.
func TestForeignCaptures(t *testing.T) {
	dir, rows := readManifest(t)
	for name := range foreignUndecoded {
		if !slices.ContainsFunc(rows, func(r manifestRow) bool { return r.file == name }) {
			t.Errorf("%s is not in the manifest", name)
		}
	}
	for _, r := range rows {
		t.Run(r.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, r.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c, err := ReadCapture(f, Config{})
			if err != nil {
				t.Logf("error: %v", err)
			}
			if n := c.Decoded + c.Undecoded.Frames(); n != c.Packets {
				t.Errorf("%d packets, but %d decoded + %d undecoded (%v)", c.Packets, c.Decoded, c.Undecoded.Frames(), c.Undecoded)
			}
			if want, ok := foreignUndecoded[r.file]; ok && c.Undecoded != want {
				t.Errorf("undecoded %v, want %v", c.Undecoded, want)
			}
			supported := len(c.LinkTypes) > 0
			for _, lt := range c.LinkTypes {
				supported = supported && lt.Supported()
			}
			if !r.tsharkOK || err != nil || !supported {
				return
			}
			got := [4]int64{c.Packets, c.SYNFrames, c.SYNACKFrames, c.RSTFrames}
			want := [4]int64{r.packets, r.syn, r.synack, r.rst}
			if strings.Contains(r.notes, "tshark lists") {
				got[0] = want[0] // tshark shows pcapng custom blocks as frames
			}
			if got != want {
				t.Errorf("packets, SYN, SYN-ACK, RST = %v, tshark says %v (%s; %s)", got, want, r.linkType, r.notes)
			}
		})
	}
}
