package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Names of files come from whoever uploaded them: they are data, and may
// hold any byte but '/' and NUL. Two encodings keep them so.
//
// In JSON a name is its bytes with each byte that is not part of valid
// UTF-8 written \xNN and each backslash written \\ (JSON then escapes its
// own way the control characters and those backslashes): two names stay
// two, and UnescapeName gives the bytes back, so that output read back
// (triage --from, --expect) names the same files. Valid UTF-8 without a
// backslash, which is nearly every name, is written as it is.
//
// On a terminal (and in Markdown) a name, or a message that holds one, is
// shown with its control characters and bytes that are not UTF-8 escaped,
// so that a name cannot move the cursor, colour the screen, split a row or
// reverse the text around it: DisplayName. That is for reading, not for
// reading back: a backslash is left as it is.

// EscapeName returns a name as it is written in JSON output.
func EscapeName(s string) string {
	return escapeName(s, func(r rune) bool { return r == '\\' })
}

// escapeName writes s with the bytes that are not UTF-8 as \xNN and the
// runes that escape reports as Go quotes them ('\\' as \\, a newline as
// \n).
func escapeName(s string, escape func(rune) bool) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || escape(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case escape(r):
			q := strconv.QuoteRune(r) // '\\', '\n', '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// errBadEscape is a \x escape in a name without two hex digits after it.
var errBadEscape = errors.New(`\x not followed by two hex digits`)

// UnescapeName reverses EscapeName. A backslash followed by neither
// another nor x is kept as it is, so that names written before names were
// escaped read back unchanged.
func UnescapeName(s string) (string, error) {
	if !strings.ContainsRune(s, '\\') {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '\\':
			b.WriteByte('\\')
			i++
		case 'x':
			if i+4 > len(s) {
				return "", fmt.Errorf("name %q: %w", s, errBadEscape)
			}
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				return "", fmt.Errorf("name %q: %w", s, errBadEscape)
			}
			b.WriteByte(byte(v))
			i += 3
		default:
			b.WriteByte('\\')
		}
	}
	return b.String(), nil
}

// DisplayName returns a name, or a message that holds names, as a terminal
// or a Markdown page shows it: bytes that are not UTF-8 written \xNN, and
// control characters (C0, DEL, C1), line and paragraph separators and the
// bidirectional formatting characters escaped as Go writes them (\n,
// \x1b, \u202e). Printable text is left alone.
func DisplayName(s string) string { return escapeName(s, hostileRune) }

// hostileRune reports whether r changes how a terminal shows what follows
// it rather than showing itself.
func hostileRune(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r < 0xa0: // C0, DEL, C1 (CSI is 0x9b)
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidirectional embeddings, overrides, isolates and marks
	}
	return false
}
