package report

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// nameCases are names an upload may carry, with how JSON and a terminal
// write them.
var nameCases = []struct {
	desc, name, json, display string
}{
	{"plain", "uploads/acme-1234/server.pcap", "uploads/acme-1234/server.pcap", "uploads/acme-1234/server.pcap"},
	{"UTF-8", "uploads/ünïcødé/日本.pcap", "uploads/ünïcødé/日本.pcap", "uploads/ünïcødé/日本.pcap"},
	{"escape sequence", "\x1b[31mred\x1b[0m.pcap", "\x1b[31mred\x1b[0m.pcap", `\x1b[31mred\x1b[0m.pcap`},
	{"newline", "new\nline.pcap", "new\nline.pcap", `new\nline.pcap`},
	{"C1 CSI", "a\u009b2Jb.pcap", "a\u009b2Jb.pcap", `a\u009b2Jb.pcap`},
	{"bidi override", "evil\u202egnp.pcap", "evil\u202egnp.pcap", `evil\u202egnp.pcap`},
	{"invalid UTF-8", "bad\xff.pcap", `bad\xff.pcap`, `bad\xff.pcap`},
	{"other invalid byte", "bad\xfe.pcap", `bad\xfe.pcap`, `bad\xfe.pcap`},
	{"backslash", `a\b.pcap`, `a\\b.pcap`, `a\b.pcap`},
	{"backslash and x, as an escape would be", `bad\xff.pcap`, `bad\\xff.pcap`, `bad\xff.pcap`},
	{"replacement character itself", "a\ufffd.pcap", "a\ufffd.pcap", "a\ufffd.pcap"},
}

func TestNames(t *testing.T) {
	for _, tc := range nameCases {
		t.Run(tc.desc, func(t *testing.T) {
			if got := EscapeName(tc.name); got != tc.json {
				t.Errorf("EscapeName(%q) = %q, want %q", tc.name, got, tc.json)
			}
			if got := DisplayName(tc.name); got != tc.display {
				t.Errorf("DisplayName(%q) = %q, want %q", tc.name, got, tc.display)
			}
			checkName(t, tc.name)
		})
	}
	// Names written before names were escaped: a lone backslash reads back
	// as it is.
	for in, want := range map[string]string{`a\b`: `a\b`, `a\`: `a\`, `plain`: `plain`} {
		if got, err := UnescapeName(in); got != want || err != nil {
			t.Errorf("UnescapeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`a\x`, `a\xf`, `a\xzz`} {
		if _, err := UnescapeName(bad); err == nil {
			t.Errorf("UnescapeName(%q): no error", bad)
		}
	}
}

// checkName checks what names must keep: JSON holds the escaped name as
// it is and gives the bytes back, and a terminal sees no control character.
func checkName(t *testing.T, name string) {
	t.Helper()
	esc := EscapeName(name)
	b, err := json.Marshal(esc)
	if err != nil {
		t.Fatal(err)
	}
	var back string
	if err := json.Unmarshal(b, &back); err != nil || back != esc {
		t.Errorf("%q through JSON: %q, %v", esc, back, err)
	}
	if got, err := UnescapeName(esc); got != name || err != nil {
		t.Errorf("UnescapeName(EscapeName(%q)) = %q, %v", name, got, err)
	}
	d := DisplayName(name)
	if !utf8.ValidString(d) || strings.ContainsFunc(d, hostileRune) {
		t.Errorf("DisplayName(%q) = %q: not for a terminal", name, d)
	}
}

// FuzzNames checks, for any name, that EscapeName is reversed by
// UnescapeName through JSON, that it keeps names apart, and that
// DisplayName leaves nothing a terminal would obey.
func FuzzNames(f *testing.F) {
	for _, tc := range nameCases {
		f.Add(tc.name, tc.json)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		checkName(t, a)
		if a != b && EscapeName(a) == EscapeName(b) {
			t.Errorf("%q and %q are both written %q", a, b, EscapeName(a))
		}
	})
}
