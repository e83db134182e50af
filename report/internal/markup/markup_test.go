package markup

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"html"
	"strings"
	"testing"
	"unicode/utf8"
)

func render(f func(w *Writer)) string {
	var b bytes.Buffer
	w := NewWriter(&b)
	f(w)
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return b.String()
}

type severity int

func (severity) String() string { return "<b>critical</b>" }

func TestPrintf(t *testing.T) {
	tests := []struct {
		desc string
		f    func(w *Writer)
		want string
	}{
		{"string escaped", func(w *Writer) { w.Printf(`<p title="%s">%s</p>`, `"><img src=x>`, "<script>&'") },
			`<p title="&#34;&gt;&lt;img src=x&gt;">&lt;script&gt;&amp;&#39;</p>`},
		{"HTML as it is", func(w *Writer) { w.Printf("<td%s>%s</td>", Const(` class="num"`), "1") }, `<td class="num">1</td>`},
		{"zero HTML", func(w *Writer) { w.Printf("<td%s>", HTML{}) }, `<td>`},
		{"numbers", func(w *Writer) { w.Printf("%d %.2f %v %d", 3, 0.955, true, uint32(7)) }, "3 0.95 true 7"},
		{"String method escaped", func(w *Writer) { w.Printf("%s", severity(3)) }, "&lt;b&gt;critical&lt;/b&gt;"},
		{"named string escaped", func(w *Writer) {
			type kind string
			w.Printf("%s", kind("a<b"))
		}, "a&lt;b"},
		{"Text", func(w *Writer) { w.Text("a & b") }, "a &amp; b"},
		{"controls and bad UTF-8", func(w *Writer) { w.Text("a\x00b\x1b[31m\x7f\u0085c\xffd\t\n\r\fé") }, "a\uFFFDb\uFFFD[31m\uFFFD\uFFFDc\uFFFDd\t\n\r\fé"},
		{"{{ and ]]> are text", func(w *Writer) { w.Text("{{.}} ]]>") }, "{{.}} ]]&gt;"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := render(tt.f); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEscapeAsHTMLPackage: on valid UTF-8 without control characters the
// escaping is html.EscapeString's, so that pages written before stay the
// same bytes.
func TestEscapeAsHTMLPackage(t *testing.T) {
	for _, s := range []string{"", "plain", `<a href="x">'&'</a>`, "→ · – “quoted” 10.0.0.1:443 [2001:db8::1]:80 `cmd`", "&amp; already"} {
		if got, want := render(func(w *Writer) { w.Text(s) }), html.EscapeString(s); got != want {
			t.Errorf("%q: got %q, html.EscapeString %q", s, got, want)
		}
	}
}

// FuzzEscape checks that no string escapes its text: the output is UTF-8
// without control characters but whitespace, holds no angle bracket or
// quote, has an ampersand only where an entity starts, and unescapes to
// the input when the input was clean.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`, "</style>", "]]>", "{{", "\x00\x1b\x7f\u0085", "\xff\xfe", "a&b'c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := render(func(w *Writer) { w.Text(s) })
		if !utf8.ValidString(got) {
			t.Fatalf("%q: not UTF-8: %q", s, got)
		}
		for _, r := range got {
			if (r < 0x20 && !strings.ContainsRune("\t\n\r\f", r)) || (r >= 0x7f && r < 0xa0) {
				t.Fatalf("%q: control character %U in %q", s, r, got)
			}
		}
		if strings.ContainsAny(got, `<>"'`) {
			t.Fatalf("%q: markup in %q", s, got)
		}
		for rest := got; ; {
			i := strings.IndexByte(rest, '&')
			if i < 0 {
				break
			}
			rest = rest[i:]
			ok := false
			for _, e := range []string{"&amp;", "&lt;", "&gt;", "&#34;", "&#39;"} {
				ok = ok || strings.HasPrefix(rest, e)
			}
			if !ok {
				t.Fatalf("%q: bare ampersand in %q", s, got)
			}
			rest = rest[1:]
		}
		if html.UnescapeString(got) != s && !strings.Contains(got, "\uFFFD") {
			t.Fatalf("%q: unescapes to %q", s, html.UnescapeString(got))
		}
	})
}

// TestConstantsOnly type-checks code that would use the package as report
// does, and wants the compiler to refuse every way of putting a string
// computed at run time into a format or an HTML value.
func TestConstantsOnly(t *testing.T) {
	const path = "example.com/markup"
	fset := token.NewFileSet()
	src, err := parser.ParseFile(fset, "markup.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	std := importer.Default()
	pkg, err := (&types.Config{Importer: std}).Check(path, fset, []*ast.File{src}, nil)
	if err != nil {
		t.Fatal(err)
	}
	imp := importerFunc(func(p string) (*types.Package, error) {
		if p == path {
			return pkg, nil
		}
		return std.Import(p)
	})
	tests := []struct {
		desc, code string
		err        string // what the compiler says; "" when it compiles
	}{
		{"constant format and HTML", `w.Printf("<p>%s</p>", s); const c = "<b>"; _ = markup.Const(c + "</b>")`, ""},
		{"format from a variable", `w.Printf(s)`, "as markup.constant value"},
		{"format built at run time", `w.Printf(fmt.Sprint("<p>", s))`, "as markup.constant value"},
		{"HTML from a variable", `_ = markup.Const(s)`, "as markup.constant value"},
		{"HTML by conversion", `_ = markup.HTML(s)`, "cannot convert"},
		{"HTML by literal", `_ = markup.HTML{s}`, "unexported field"},
		{"the writer underneath", `_ = w.w`, "unexported field"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			code := fmt.Sprintf("package p\nimport (\n\"fmt\"\nmarkup %q\n)\nvar _ = fmt.Sprint\nfunc f(w *markup.Writer, s string) {\n%s\n}\n", path, tt.code)
			file, err := parser.ParseFile(fset, "p.go", code, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, err = (&types.Config{Importer: imp}).Check("p", fset, []*ast.File{file}, nil)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("%s: %v", tt.code, err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("%s: compiler says %v, want %q", tt.code, err, tt.err)
			}
		})
	}
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
