package flows

import (
	"errors"
	"net/netip"
	"strings"
	"time"
)

// Instant is one end of a time window: an absolute time, or an offset from
// the capture's first record. The zero Instant bounds nothing.
type Instant struct {
	set    bool
	at     int64 // ns since the epoch, when !rel
	offset int64 // ns after the first record, when rel
	rel    bool
}

// ErrInstant is returned by ParseInstant for a value that is neither an
// RFC 3339 time nor a non-negative offset.
var ErrInstant = errors.New("flows: not an RFC 3339 time (2006-01-02T15:04:05Z07:00) or an offset from the capture start (+30s, 90s, 1m30s)")

// ParseInstant reads an RFC 3339 time (with or without fractional
// seconds) or an offset from the capture start in Go's duration syntax,
// with an optional leading +: "+30s", "90s", "1m30s", "250ms".
func ParseInstant(s string) (Instant, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return Instant{set: true, at: t.UnixNano()}, nil
	}
	if strings.HasPrefix(s, "-") {
		return Instant{}, ErrInstant
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return Instant{}, ErrInstant
	}
	return Instant{set: true, rel: true, offset: int64(d)}, nil
}

// IsZero reports whether the Instant bounds nothing.
func (i Instant) IsZero() bool { return !i.set }

// resolve returns the Instant in ns since the epoch, given the time of the
// capture's first record.
func (i Instant) resolve(first int64) int64 {
	if i.rel {
		return first + i.offset
	}
	return i.at
}

// Listener is the server side to study: an address, and a port unless it
// is 0.
type Listener struct {
	Addr netip.Addr
	Port uint16
}

// ParseListener reads ADDR or ADDR:PORT ([ADDR]:PORT for IPv6).
func ParseListener(s string) (Listener, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return Listener{}, errors.New("flows: listener port 0")
		}
		return Listener{Addr: ap.Addr().Unmap(), Port: ap.Port()}, nil
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil || a.Zone() != "" {
		return Listener{}, errors.New("flows: listener " + "\"" + s + "\" is not ADDR, ADDR:PORT or [ADDR]:PORT")
	}
	return Listener{Addr: a.Unmap()}, nil
}

// keeps reports whether an attempt to server is one to study.
func (l Listener) keeps(server netip.AddrPort) bool {
	return server.Addr().Unmap() == l.Addr && (l.Port == 0 || server.Port() == l.Port)
}
