package report

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// jenc appends indented JSON laid out exactly as json.MarshalIndent with a
// two-space indent lays it out. The attempts, which can number in the
// hundreds of thousands, are written with it: reflection-based encoding took
// longer than reading a 15-million-packet capture.
type jenc struct {
	b     []byte
	depth int
	empty []bool // per open object or array: nothing written in it yet
	// compact writes no new lines and no space after a colon, as
	// json.Marshal does: for JSON lines.
	compact bool
}

func (e *jenc) newline() {
	if e.compact {
		return
	}
	e.b = append(e.b, '\n')
	for range e.depth {
		e.b = append(e.b, ' ', ' ')
	}
}

// next starts a member or element: a comma after the previous one, then a
// new line at the current depth.
func (e *jenc) next() {
	top := len(e.empty) - 1
	if top >= 0 {
		if !e.empty[top] {
			e.b = append(e.b, ',')
		}
		e.empty[top] = false
	}
	e.newline()
}

func (e *jenc) open(c byte) {
	e.b = append(e.b, c)
	e.depth++
	e.empty = append(e.empty, true)
}

func (e *jenc) close(c byte) {
	e.depth--
	top := len(e.empty) - 1
	if !e.empty[top] {
		e.newline()
	}
	e.empty = e.empty[:top]
	e.b = append(e.b, c)
}

// list writes the member k, an array of n elements, each written by elem.
func (e *jenc) list(k string, n int, elem func(i int)) {
	e.key(k)
	e.open('[')
	for i := range n {
		e.next()
		elem(i)
	}
	e.close(']')
}

func (e *jenc) key(k string) {
	e.next()
	e.b = appendString(e.b, k)
	e.b = append(e.b, ':')
	if !e.compact {
		e.b = append(e.b, ' ')
	}
}

func (e *jenc) str(k, v string)       { e.key(k); e.b = appendString(e.b, v) }
func (e *jenc) int(k string, v int64) { e.key(k); e.b = strconv.AppendInt(e.b, v, 10) }
func (e *jenc) null(k string)         { e.key(k); e.b = append(e.b, "null"...) }
func (e *jenc) bool(k string, v bool) { e.key(k); e.b = strconv.AppendBool(e.b, v) }
func (e *jenc) time(k string, ns int64) {
	e.key(k)
	e.b = appendTimestamp(e.b, ns)
}

func (e *jenc) float(k string, f float64) { e.key(k); e.b = appendFloat(e.b, f) }

// appendFloat writes a float as encoding/json does: %f, or %e for very small
// and very large magnitudes with a one-digit exponent where possible.
func appendFloat(b []byte, f float64) []byte {
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendTimestamp(b []byte, ns int64) []byte {
	b = append(b, '"')
	b = time.Unix(0, ns).UTC().AppendFormat(b, timestampLayout)
	return append(b, '"')
}

// appendString quotes s as encoding/json does, HTML-safe characters included.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
