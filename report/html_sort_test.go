package report

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestAddrKey checks the sort keys of address cells: the page's script
// compares them as lowercased text, which must give the addresses' order.
func TestAddrKey(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want string
	}{
		{"IPv4, octets padded", "198.18.1.11", "4 198.018.001.011"},
		{"IPv4 zero", "0.0.0.0", "4 000.000.000.000"},
		{"IPv6 expanded", "2001:db8::1", "6 2001:0db8:0000:0000:0000:0000:0000:0001"},
		{"IPv6 with a zone", "fe80::1%eth0", "6 fe80:0000:0000:0000:0000:0000:0000:0001%eth0"},
		{"IPv4-mapped IPv6 stays IPv6", "::ffff:10.0.0.1", "6 0000:0000:0000:0000:0000:ffff:0a00:0001"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := addrKey(netip.MustParseAddr(tt.in)); got != tt.want {
				t.Errorf("addrKey(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got, want := addrPortKey(netip.MustParseAddrPort("198.18.1.11:8080")), "4 198.018.001.011:08080"; got != want {
		t.Errorf("addrPortKey = %q, want %q", got, want)
	}
}

// TestAddrKeyOrder sorts addresses by their keys as the script does (as
// lowercased strings) and wants them in numeric order: IPv4 by octet,
// IPv4 before IPv6, IPv6 by value whatever its text form, then the port
// as a number.
func TestAddrKeyOrder(t *testing.T) {
	tests := []struct {
		desc string
		want []string // in order
	}{
		{"IPv4 by octet, not by text", []string{"9.1.1.1", "10.0.0.9", "10.0.0.10", "10.0.0.100", "100.0.0.1", "198.18.30.2", "198.18.30.11"}},
		{"IPv4 before IPv6", []string{"255.255.255.255", "::1", "2001:db8::1"}},
		{"IPv6 by value", []string{"2001:db8::2", "2001:db8::10", "2001:db8::a:0", "2001:db8:0:1::", "2001:db9::", "fe80::1"}},
		{"port as a number", []string{"10.0.0.1:80", "10.0.0.1:443", "10.0.0.1:8080", "10.0.0.1:51780", "10.0.0.2:1", "[2001:db8::1]:9", "[2001:db8::1]:10"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			key := func(s string) string {
				if ap, err := netip.ParseAddrPort(s); err == nil {
					return strings.ToLower(addrPortKey(ap))
				}
				return strings.ToLower(addrKey(netip.MustParseAddr(s)))
			}
			got := slices.Clone(tt.want)
			slices.Reverse(got)
			slices.SortFunc(got, func(a, b string) int { return strings.Compare(key(a), key(b)) })
			if !slices.Equal(got, tt.want) {
				t.Errorf("sorted by key: %v\nwant %v", got, tt.want)
			}
		})
	}
}
