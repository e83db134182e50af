package flows

import (
	"testing"
)

// tcpWithOptions returns a TCP header whose data offset is off words and
// whose options area holds opts (cut or padded to fit nothing: the header
// is 20+len(opts) bytes, whatever off says).
func tcpWithOptions(off uint8, opts ...byte) tcpHeader {
	h := make(tcpHeader, 20, 20+len(opts))
	h[12] = off << 4
	h[13] = byte(SYN)
	return append(h, opts...)
}

func TestTCPOptions(t *testing.T) {
	none := Options{WScale: -1}
	linuxSYN := []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7}
	tests := []struct {
		desc string
		h    tcpHeader
		want Options
	}{
		{"no options", tcpWithOptions(5), none},
		{"header shorter than 20 bytes", tcpWithOptions(5)[:14], none},
		{"Linux SYN", tcpWithOptions(10, linuxSYN...),
			Options{MSS: 1460, WScale: 7, SACKPermitted: true, Timestamps: true, TSval: 100}},
		{"cut by the snap length inside the timestamps", tcpWithOptions(10, linuxSYN[:8]...),
			Options{MSS: 1460, WScale: -1, SACKPermitted: true}},
		{"options beyond the data offset are not read", tcpWithOptions(6, linuxSYN...),
			Options{MSS: 1460, WScale: -1}},
		{"end of options", tcpWithOptions(7, 0, 2, 4, 5, 0xb4, 1, 1, 1), none},
		{"window scale above 14 is 14 (RFC 7323 2.3)", tcpWithOptions(6, 3, 3, 15, 1), Options{WScale: 14}},
		{"length 0 stops parsing", tcpWithOptions(7, 2, 4, 5, 0xb4, 30, 0, 3, 3, 7, 1, 1, 1), Options{MSS: 1460, WScale: -1}},
		{"length 1 stops parsing", tcpWithOptions(7, 2, 4, 5, 0xb4, 30, 1, 3, 3, 7, 1, 1, 1), Options{MSS: 1460, WScale: -1}},
		{"length past the header", tcpWithOptions(6, 8, 10, 0, 0), none},
		{"MSS of the wrong length is ignored", tcpWithOptions(7, 2, 3, 5, 3, 3, 7, 0, 0), Options{WScale: 7}},
		{"unknown options are skipped", tcpWithOptions(8, 30, 6, 1, 2, 3, 4, 4, 2, 1, 1, 1, 1), Options{WScale: -1, SACKPermitted: true}},
		// A header of at least 20 bytes whose data offset is below 5 is no
		// TCP header: no options, and no panic.
		{"data offset 4", tcpWithOptions(4), none},
		{"data offset 0 with bytes after", tcpWithOptions(0, linuxSYN...), none},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := tc.h.options(); got != tc.want {
				t.Errorf("options() = %+v, want %+v", got, tc.want)
			}
		})
	}
}
