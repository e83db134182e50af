package report

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestHTMLWriterOnly reads the renderer's source (html*.go) and wants the
// page written through markup.Writer alone: no writer, builder or escaping
// of its own, and in each format a verb only where an escaped string
// cannot change the markup (text, a quoted attribute's value); elsewhere,
// in a tag or the style sheet, only HTML made from constants.
func TestHTMLWriterOnly(t *testing.T) {
	files, err := filepath.Glob("html*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbiddenImports := map[string]bool{"bufio": true, "html": true, "html/template": true, "text/template": true}
	forbiddenCalls := map[string]bool{"fmt.Fprint": true, "fmt.Fprintf": true, "fmt.Fprintln": true, "io.WriteString": true, "io.Copy": true}
	forbiddenTypes := map[string]bool{"strings.Builder": true, "bytes.Buffer": true, "bufio.Writer": true}
	fset := token.NewFileSet()
	formats := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); forbiddenImports[p] {
				t.Errorf("%s imports %s", name, p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && forbiddenTypes[x.Name+"."+n.Sel.Name] {
					t.Errorf("%s: %s", fset.Position(n.Pos()), x.Name+"."+n.Sel.Name)
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && forbiddenCalls[x.Name+"."+sel.Sel.Name] {
					t.Errorf("%s: %s.%s", fset.Position(n.Pos()), x.Name, sel.Sel.Name)
				}
				switch sel.Sel.Name {
				case "Write", "WriteString", "WriteByte", "WriteRune", "WriteTo":
					t.Errorf("%s: %s writes past markup.Writer", fset.Position(n.Pos()), sel.Sel.Name)
				case "Printf":
					formats++
					for _, p := range formatProblems(n) {
						t.Errorf("%s: %s", fset.Position(n.Pos()), p)
					}
				}
			}
			return true
		})
	}
	if formats < 50 {
		t.Errorf("%d formats read: is the page still written with Printf?", formats)
	}
}

var (
	// verb matches a fmt verb, and %% which is none.
	verb = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]*)?[a-zA-Z%]`)
	// attribute matches the start of a format that continues a tag.
	attribute = regexp.MustCompile(`^ [a-z-]+=`)
)

// formatProblems reads a Printf call's format, a literal, and says where a
// verb stands that escaping would not keep in its place: in a tag outside
// a quoted value, after '=' or '<', in the style sheet or script, unless
// its argument is HTML (markup.Const or numClass). A format that starts
// with '>', "/>" or an attribute continues a tag.
func formatProblems(call *ast.CallExpr) []string {
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return []string{"the format is not a literal"}
	}
	format, err := strconv.Unquote(lit.Value)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	inTag := strings.HasPrefix(format, ">") || strings.HasPrefix(format, "/>") || attribute.MatchString(format)
	quoted, raw := false, false // in a quoted value; in <style> or <script>
	arg := 1
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '%':
			m := verb.FindString(format[i:])
			i += len(m) - 1
			if m == "%%" {
				continue
			}
			if arg >= len(call.Args) {
				problems = append(problems, "more verbs than arguments")
				continue
			}
			html := isHTML(call.Args[arg])
			arg++
			before := format[:i-len(m)+1]
			switch {
			case strings.HasSuffix(before, "=") || strings.HasSuffix(before, "<") || strings.HasSuffix(before, "</"):
				problems = append(problems, "a verb makes a name or an unquoted value: "+format)
			case (inTag && !quoted || raw) && !html:
				problems = append(problems, "a string where only markup goes: "+format)
			}
		case c == '"' && inTag:
			quoted = !quoted
		case c == '<' && !quoted:
			inTag = true
			raw = strings.HasPrefix(format[i:], "<style") || strings.HasPrefix(format[i:], "<script")
		case c == '>' && inTag && !quoted:
			inTag = false
		}
	}
	if arg != len(call.Args) {
		problems = append(problems, "arguments without a verb: "+format)
	}
	return problems
}

// isHTML reports whether an argument is markup made from constants.
func isHTML(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		return fun.Name == "numClass"
	case *ast.SelectorExpr:
		x, ok := fun.X.(*ast.Ident)
		return ok && x.Name == "markup" && fun.Sel.Name == "Const"
	}
	return false
}

// TestFormatProblems checks formatProblems on formats it must pass and on
// those it must refuse.
func TestFormatProblems(t *testing.T) {
	tests := []struct {
		call string
		ok   bool
	}{
		{`w.Printf("<p class=\"x\">%s</p>", s)`, true},
		{`w.Printf("<a href=\"#%s\" title=\"%s\">%d</a>", s, s, 1)`, true},
		{`w.Printf("<td%s>%s</td>", numClass(true), s)`, true},
		{`w.Printf(" data-sort=\"%s\"", s)`, true},
		{`w.Printf("><title>%s</title>%s", s, end)`, true},
		{`w.Printf("<style>%s</style>", markup.Const(pageCSS))`, true},
		{`w.Printf("100%% of %d", 3)`, true},
		{`w.Printf("<td %s>", s)`, false},
		{`w.Printf("<td%s>", s)`, false},
		{`w.Printf("<a href=%s>", s)`, false},
		{`w.Printf("<%s>", s)`, false},
		{`w.Printf("</%s>", markup.Const("b"))`, false},
		{`w.Printf(" data-sort=%s", s)`, false},
		{`w.Printf("> %s", s)`, true},
		{`w.Printf(" x=\"1\" %s>", s)`, false},
		{`w.Printf("<style>%s</style>", css)`, false},
		{`w.Printf("<script>var x = \"%s\"</script>", s)`, false},
		{`w.Printf(format, s)`, false},
		{`w.Printf("<p>%s %s</p>", s)`, false},
		{`w.Printf("<p>%s</p>", s, s)`, false},
	}
	for _, tt := range tests {
		e, err := parser.ParseExpr(tt.call)
		if err != nil {
			t.Fatal(err)
		}
		if p := formatProblems(e.(*ast.CallExpr)); (len(p) == 0) != tt.ok {
			t.Errorf("%s: problems %q, want ok %v", tt.call, p, tt.ok)
		}
	}
}
