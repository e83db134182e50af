// Package markup writes HTML in which no string becomes markup: the HTML
// report and triage's index are written through it, and their captures'
// paths, findings and case names are data, often uploaded by strangers.
//
// A Writer writes formats, and a format is a constant: its parameter has a
// type this package does not export, to which only an untyped string
// constant converts outside the package, so the compiler refuses a format
// built at run time. Every string argument is written escaped, as text or
// as a quoted attribute's value (html.EscapeString's five entities, and a
// U+FFFD for each byte that is not UTF-8 and each control character but
// whitespace). Markup that is not a constant is only what a Writer writes;
// the one value that carries markup, HTML, is made from constants (Const)
// and written as it is. The writer underneath is not reachable.
//
// Go's html/template would escape too, but it writes '+' as &#43; and
// normalises URLs, so the pages would change byte for byte (the Content-
// Security-Policy's hashes hold '+'), and a format with a %s only where
// text or a quoted value goes needs no contexts.
package markup

import (
	"bufio"
	"fmt"
	"io"
	"unicode/utf8"
)

// constant is what formats and Const take: outside this package only an
// untyped string constant converts to it.
type constant string

// HTML is markup written as it is: a constant, through Const.
type HTML struct{ s string }

// Const returns a constant as markup (the page's own style sheet and
// script, a fixed attribute).
func Const(s constant) HTML { return HTML{string(s)} }

// Format writes h as it is, whatever the verb.
func (h HTML) Format(f fmt.State, _ rune) { io.WriteString(f, h.s) }

// text is a string written escaped, whatever the verb.
type text string

func (t text) Format(f fmt.State, _ rune) { escape(f, string(t)) }

// formatted is any other value, written escaped as fmt formats it (a
// String method's result, a struct's fields).
type formatted struct{ v any }

func (v formatted) Format(f fmt.State, verb rune) {
	escape(f, fmt.Sprintf(fmt.FormatString(f, verb), v.v))
}

// Writer writes HTML to an io.Writer, buffered.
type Writer struct {
	w *bufio.Writer
}

// NewWriter returns a Writer that writes to w; Flush ends the page.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriter(w)} }

// Printf writes format as fmt.Fprintf would, with each argument but HTML
// ones escaped as it is written. Numbers and booleans, which fmt writes
// without markup, are written as they are.
func (w *Writer) Printf(format constant, args ...any) {
	safe := make([]any, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case string:
			safe[i] = text(a)
		case HTML, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
			safe[i] = a
		default:
			safe[i] = formatted{a}
		}
	}
	fmt.Fprintf(w.w, string(format), safe...)
}

// Text writes s escaped.
func (w *Writer) Text(s string) { escape(w.w, s) }

// Flush writes what is buffered, and returns the first error of any write.
func (w *Writer) Flush() error { return w.w.Flush() }

// escape writes s with the ampersand, the angle brackets and both quotes
// as html.EscapeString writes them, and a U+FFFD for each byte that is
// not part of valid UTF-8 and each control character (C0 but tab,
// newline, form feed and carriage return; DEL; C1), which HTML calls
// parse errors and a name should not smuggle into a page.
func escape(w io.Writer, s string) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		var rep string
		n := 1
		switch {
		case c == '&':
			rep = "&amp;"
		case c == '\'':
			rep = "&#39;" // shorter than "&apos;", and HTML 4 has no &apos;
		case c == '<':
			rep = "&lt;"
		case c == '>':
			rep = "&gt;"
		case c == '"':
			rep = "&#34;" // shorter than "&quot;"
		case c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r', c == 0x7f:
			rep = "\uFFFD"
		case c >= utf8.RuneSelf:
			var r rune
			r, n = utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && n == 1) || (r >= 0x80 && r < 0xa0) {
				rep = "\uFFFD"
			}
		}
		if rep != "" {
			io.WriteString(w, s[last:i])
			io.WriteString(w, rep)
			last = i + n
		}
		i += n
	}
	io.WriteString(w, s[last:])
}
