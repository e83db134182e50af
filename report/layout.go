package report

import "fmt"

// page is a report laid out as blocks, so that the terminal and Markdown
// renderers say the same things in their own syntax.
type page struct {
	blocks []block
	// top bounds the rows of the long tables (per server endpoint, per
	// source), per capture; 0 shows them all.
	top int
	// wide keeps names whole instead of cutting them to fit a column.
	wide bool
}

// cut shortens a name to n runes for a table column, unless the page is
// wide.
func (p *page) cut(s string, n int) string {
	if p.wide {
		return s
	}
	return shorten(s, n)
}

// topRows keeps the first p.top rows of each capture's rows (capture[i] is
// row i's) and says how many it left out. The rows come ranked, the most
// attempts first.
func (p *page) topRows(rows [][]string, capture []int) ([][]string, int) {
	if p.top <= 0 {
		return rows, 0
	}
	var kept [][]string
	shown := map[int]int{}
	for i, r := range rows {
		if shown[capture[i]] < p.top {
			shown[capture[i]]++
			kept = append(kept, r)
		}
	}
	return kept, len(rows) - len(kept)
}

// more says how many rows or items a table or list left out.
func (p *page) more(n int) {
	if n > 0 {
		p.text(2, fmt.Sprintf("… and %d more (--top 0 for all)", n))
	}
}

type blockKind int

const (
	blockHeading blockKind = iota
	blockText              // a paragraph, wrapped
	blockBullets           // a list of wrapped items
	blockTable
	blockFinding
	blockBreak // an empty line
)

type block struct {
	kind   blockKind
	text   string
	items  []string
	indent int
	// tables
	header []string
	rows   [][]string
	right  []int // right-aligned columns
	// findings
	severity string
	label    string
	evidence []string
	action   string
}

func (p *page) heading(s string) { p.blocks = append(p.blocks, block{kind: blockHeading, text: s}) }
func (p *page) text(indent int, s string) {
	p.blocks = append(p.blocks, block{kind: blockText, text: s, indent: indent})
}
func (p *page) bullets(indent int, items []string) {
	if len(items) > 0 {
		p.blocks = append(p.blocks, block{kind: blockBullets, items: items, indent: indent})
	}
}
func (p *page) table(header []string, rows [][]string, right ...int) {
	p.blocks = append(p.blocks, block{kind: blockTable, header: header, rows: rows, right: right})
}
func (p *page) gap() { p.blocks = append(p.blocks, block{kind: blockBreak}) }
