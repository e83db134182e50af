package main

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/cmd/syndiag/internal/cases"
	"github.com/syndiag/syndiag/report"
)

// caseReports writes triage's HTML: a report per case in a folder beside
// the index page, named after the case.
type caseReports struct {
	dir   string            // where the case reports go
	rel   string            // that folder, relative to the index
	files map[string]string // case name -> file name in dir
}

// newCaseReports prepares the folder for the reports of the cases, named
// from the index's file name ("triage.html" -> "triage-cases/"). File
// names are given here, in case order, so that they do not depend on which
// job finishes first.
func newCaseReports(index string, cases []cases.Case) (*caseReports, error) {
	stem := strings.TrimSuffix(filepath.Base(index), filepath.Ext(index))
	cr := &caseReports{
		rel:   stem + "-cases",
		files: map[string]string{},
	}
	cr.dir = filepath.Join(filepath.Dir(index), cr.rel)
	dir := filepath.Dir(index)
	if len(cases) > 0 {
		dir = cr.dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, c := range cases {
		base := safeName(c.Name)
		name := base + ".html"
		for n := 2; taken[name]; n++ {
			name = fmt.Sprintf("%s-%d.html", base, n)
		}
		taken[name] = true
		cr.files[c.Name] = name
	}
	return cr, nil
}

// safeName turns a case name into a file name: folders joined by "__",
// anything but letters, digits, '.', '-' and '_' replaced by '_'.
func safeName(name string) string {
	name = strings.TrimLeft(path.Clean(filepath.ToSlash(name)), "./")
	var b strings.Builder
	for _, r := range strings.ReplaceAll(name, "/", "__") {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "case"
	}
	return b.String()
}

// write writes the report of one case and returns its link from the index.
func (cr *caseReports) write(name string, res *analyze.Result) (string, error) {
	file := cr.files[name]
	f, err := os.Create(filepath.Join(cr.dir, file))
	if err != nil {
		return "", err
	}
	bw := bufio.NewWriter(f)
	err = report.HTML(bw, res, report.Options{})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return cr.rel + "/" + file, nil
}
