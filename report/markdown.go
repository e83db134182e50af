package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/syndiag/syndiag/analyze"
)

// Markdown writes the report as Markdown, for tickets and chat.
func Markdown(w io.Writer, res *analyze.Result, opt Options) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# syndiag report\n\n")
	for _, b := range build(res, opt).blocks {
		switch b.kind {
		case blockHeading:
			fmt.Fprintf(bw, "## %s\n\n", b.text)
		case blockText:
			fmt.Fprintf(bw, "%s\n\n", b.text)
		case blockBullets:
			for _, it := range b.items {
				fmt.Fprintf(bw, "- %s\n", strings.ReplaceAll(it, "\n", "  \n  "))
			}
			fmt.Fprintln(bw)
		case blockTable:
			mdRow(bw, b.header)
			seps := make([]string, len(b.header))
			for i := range seps {
				seps[i] = "---"
			}
			for _, i := range b.right {
				seps[i] = "---:"
			}
			mdRow(bw, seps)
			for _, r := range b.rows {
				mdRow(bw, r)
			}
			fmt.Fprintln(bw)
		case blockFinding:
			fmt.Fprintf(bw, "### %s: %s\n\n%s\n\n", strings.ToUpper(b.severity), b.label, b.text)
			if len(b.evidence) > 0 {
				fmt.Fprintf(bw, "Evidence:\n\n")
				for _, e := range b.evidence {
					fmt.Fprintf(bw, "- %s\n", e)
				}
				fmt.Fprintln(bw)
			}
			if b.action != "" {
				fmt.Fprintf(bw, "**What to do:** %s\n\n", b.action)
			}
		}
	}
	return bw.Flush()
}

func mdRow(w io.Writer, cells []string) {
	esc := make([]string, len(cells))
	for i, c := range cells {
		esc[i] = strings.ReplaceAll(c, "|", `\|`)
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(esc, " | "))
}
