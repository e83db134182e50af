package flows

import (
	"bytes"
	"unicode/utf8"
)

// notCaptureErr explains what the first bytes of a file look like, so that a
// user who passed the wrong file learns what it is.
func notCaptureErr(head []byte) error {
	switch {
	case bytes.HasPrefix(head, []byte("snoop\x00\x00\x00")):
		return formatErr(0, ErrUnsupportedFormat, "Solaris snoop capture: convert it with `editcap -F pcap IN OUT`")
	case bytes.HasPrefix(head, []byte("BZh")):
		return formatErr(0, ErrUnsupportedFormat, "bzip2-compressed: decompress it first (bunzip2), or recompress with gzip or zstd")
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return formatErr(0, ErrUnsupportedFormat, "xz-compressed: decompress it first (unxz), or recompress with gzip or zstd")
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return formatErr(0, ErrUnsupportedFormat, "zip archive: unpack it first")
	case bytes.HasPrefix(head, []byte("XCP\x00")):
		return formatErr(0, ErrUnsupportedFormat, "NetXray/Sniffer capture: convert it with `editcap -F pcap IN OUT`")
	}
	n := min(len(head), 8)
	if utf8.Valid(head) && isPrintable(head) {
		return formatErr(0, ErrNotCapture, "not a capture file: it starts with text %q (pcap, pcapng, gzip or zstd expected)", string(head[:n]))
	}
	return formatErr(0, ErrNotCapture, "not a capture file: it starts with bytes % x (pcap, pcapng, gzip or zstd expected)", head[:n])
}

func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
