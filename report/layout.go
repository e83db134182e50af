package report

// page is a report laid out as blocks, so that the terminal and Markdown
// renderers say the same things in their own syntax.
type page struct {
	blocks []block
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
