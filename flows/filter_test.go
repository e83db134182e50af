package flows

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// filterExprs are the expressions checked against tcpdump on every lab
// capture: every primitive, qualifier and operator the parser accepts.
var filterExprs = []string{
	"tcp",
	"icmp",
	"icmp6",
	"ip",
	"ip6",
	"ip6 and tcp",
	"host 198.18.2.2",
	"src host 198.18.1.2",
	"dst host 198.18.2.2",
	"host 2001:2:0:2::2",
	"net 198.18.0.0/16",
	"net 198.18.2.0 mask 255.255.255.0",
	"src net 198.18.1",
	"port 8080",
	"dst port 8081",
	"src port 8080",
	"tcp dst port 8082",
	"src or dst port 8083",
	"portrange 8081-8083",
	"tcp port 8080 and net 198.18.0.0/16",
	"not port 8080",
	"!(port 8080 || port 8081) && tcp",
	"(icmp or icmp6) and not dst port 8080",
	"src and dst net 198.18.0.0/16",
	"ip and (port 8084 or port 8085)",
}

// selected reads a capture through a filter and returns how many records
// it selected.
func selected(tb testing.TB, name string, f *Filter) int64 {
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := ReadCapture(bytes.NewReader(b), Config{Filter: f})
	if err != nil {
		tb.Fatal(err)
	}
	return c.Packets - c.Undecoded[ReasonLinkType] - c.FilteredOut
}

// tcpdumpPrefix is what tcpdump needs before an expression to look inside
// a capture as flows does: a BPF program tests fixed offsets, so it skips
// an 802.1Q tag only after a vlan keyword, and one vlan per tag. flows
// decodes the tags itself and needs no keyword.
var tcpdumpPrefix = map[string]string{
	"vlan.pcap":      "vlan and ",
	"vlan-qinq.pcap": "vlan and vlan and ",
}

// TestFilterTcpdump checks that a Filter selects the packets tcpdump
// selects with the same expression, on every lab capture, where tcpdump is
// installed. The Filter is made to test an ICMP error on its own header
// only, as tcpdump does; TestFilterQuoted checks the difference.
func TestFilterTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed")
	}
	files, _ := filepath.Glob("../testdata/lab/*.pcap")
	if len(files) == 0 {
		t.Fatal("no lab captures")
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel()
			for _, expr := range filterExprs {
				f, err := ParseFilter(expr)
				if err != nil {
					t.Fatal(err)
				}
				f.carrierOnly = true
				got := selected(t, name, f)
				full := tcpdumpPrefix[filepath.Base(name)] + "(" + expr + ")"
				out, err := exec.Command("tcpdump", "-r", name, "-nn", "-q", full).Output()
				if err != nil {
					t.Fatalf("tcpdump %q: %v", full, err)
				}
				want := int64(bytes.Count(out, []byte("\n")))
				if got != want {
					t.Errorf("%q: flows selects %d packets, tcpdump %q %d", expr, got, full, want)
				}
			}
		})
	}
}

// TestFilterQuoted checks that an ICMP error about a TCP segment matches
// on the segment it quotes as well as on its own header, which tcpdump
// does not do: on the reject captures, "port 8083" keeps the port
// unreachable errors about SYNs to 8083, and "tcp and host 198.18.2.2"
// keeps the errors the server sent.
func TestFilterQuoted(t *testing.T) {
	tests := []struct {
		file, expr     string
		strict, quoted int64 // tcpdump's count, and flows' count
	}{
		{"icmp-reject.pcap", "port 8083", 1, 2},
		{"icmp-reject.pcap", "tcp dst port 8084", 1, 2},
		{"icmp-reject.pcap", "icmp and port 8085", 0, 1},
		{"icmp-reject.pcap", "not port 8083", 5, 4},
		{"icmp6-reject.pcap", "tcp and host 2001:2:0:2::2", 4, 8},
		{"closed-port.pcap", "port 8081", 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.expr, func(t *testing.T) {
			f, err := ParseFilter(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			name := "../testdata/lab/" + tt.file
			if got := selected(t, name, f); got != tt.quoted {
				t.Errorf("selected %d packets, want %d", got, tt.quoted)
			}
			f.carrierOnly = true
			if got := selected(t, name, f); got != tt.strict {
				t.Errorf("on the ICMP header only: selected %d packets, want %d", got, tt.strict)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct {
		expr   string
		offset int
		word   string
	}{
		{"tcp port", 8, ""},
		{"port http", 5, "http"},
		{"host example.com", 5, "example.com"},
		{"tcp port 8080 and", 17, ""},
		{"(port 1 or port 2", 0, "("},
		{"port 1)", 6, ")"},
		{"port 1 port 2", 7, "port"},
		{"frobnicate", 0, "frobnicate"},
		{"net 10.0.0.1/8", 4, "10.0.0.1/8"},
		{"net 10.0.0.0 mask 255.0.255.0", 18, "255.0.255.0"},
		{"portrange 10", 10, "10"},
		{"port 70000", 5, "70000"},
		{"icmp port 1", 5, "port"},
		{"tcp host 1.2.3.4", 4, "host"},
		{"port 1 & port 2", 7, "&"},
		{"not", 3, ""},
		{"()", 1, ")"},
		{strings.Repeat("(", 200) + "tcp" + strings.Repeat(")", 200), 100, "("},
		{strings.Repeat("not ", 200) + "tcp", 400, "not"},
	}
	for _, tt := range tests {
		t.Run(tt.expr[:min(len(tt.expr), 30)], func(t *testing.T) {
			_, err := ParseFilter(tt.expr)
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FilterError", err)
			}
			if fe.Offset != tt.offset || fe.Word != tt.word {
				t.Errorf("got offset %d word %q (%v), want offset %d word %q", fe.Offset, fe.Word, err, tt.offset, tt.word)
			}
		})
	}
}

func TestParseFilterAccepts(t *testing.T) {
	for _, expr := range append(filterExprs,
		"", "  ", "TCP PORT 8080", "198.18.2.2", "src 198.18.1.2", "dst or src port 1",
		"src and dst port 1", "net 10 mask 255.0.0.0", "portrange 9-3", "ip6 host ::1",
		"udp port 53", "port 1&&port 2||!port 3", "net 2001:db8::/32") {
		if _, err := ParseFilter(expr); err != nil {
			t.Errorf("%q: %v", expr, err)
		}
	}
}

// FuzzFilter parses arbitrary expressions and runs what compiles over a
// lab capture: neither may panic, and an error is always a *FilterError
// whose offset lies within the expression.
func FuzzFilter(f *testing.F) {
	for _, e := range filterExprs {
		f.Add(e)
	}
	f.Add("((((tcp")
	f.Add("src or dst or port 1")
	f.Add("net 1.2.3.4 mask")
	f.Add("&|!()")
	data, err := os.ReadFile("../testdata/lab/icmp-reject.pcap")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := ParseFilter(expr)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) || fe.Offset < 0 || fe.Offset > len(expr) {
				t.Fatalf("%q: %v", expr, err)
			}
			return
		}
		if _, err := ReadCapture(bytes.NewReader(data), Config{Filter: flt}); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkFilter measures a filter on a bulk-data frame: it must not
// allocate.
func BenchmarkFilter(b *testing.B) {
	var d Decoder
	d.Decode(firstFrame(b, benchCapture(2)), LinkEthernet)
	f, err := ParseFilter("tcp port 8080 and net 198.18.0.0/16 or not (src host 2001:db8::1 or portrange 1-1024)")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Match(&d)
	}
}

// TestFilterAllocs checks that matching allocates nothing per packet.
func TestFilterAllocs(t *testing.T) {
	data, err := os.ReadFile("../testdata/lab/icmp-reject.pcap")
	if err != nil {
		t.Fatal(err)
	}
	rd, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := ParseFilter("tcp port 8080 and net 198.18.0.0/16 or not (icmp and src host 2001:db8::1)")
	var d Decoder
	for i := 0; ; i++ {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		d.Decode(rec.Data, rec.LinkType)
		if n := testing.AllocsPerRun(10, func() { f.Match(&d) }); n != 0 {
			t.Errorf("record %s: %v allocations", strconv.Itoa(i), n)
		}
	}
}

// firstFrame returns a copy of the first frame of a capture.
func firstFrame(tb testing.TB, data []byte) []byte {
	rd, err := NewReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	rec, err := rd.Next()
	if err != nil {
		tb.Fatal(err)
	}
	return append([]byte(nil), rec.Data...)
}
