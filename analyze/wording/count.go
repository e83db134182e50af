package wording

import (
	"fmt"
	"strconv"
	"strings"
)

// Plural writes a count and a noun: "1 SYN", "3 SYNs", "2 processes".
func Plural(n int, word string) string {
	switch {
	case n == 1:
		return "1 " + word
	case strings.HasSuffix(word, "s"):
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Count writes a count with the form of its noun phrase that fits, from
// "one|many": Count(3, "attempt that failed|attempts that failed") is "3
// attempts that failed". Plural suffices where the plural adds an s.
func Count(n int, forms string) string {
	one, many, _ := strings.Cut(forms, "|")
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Or lists alternatives: "5", "5 or 6".
func Or(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, " or ")
}

// Percent writes n of a whole as a whole percentage, "3%", for tables,
// where a column reads best with one width; "0%" of nothing.
func Percent(n, of int) string {
	if of == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

// PercentFine writes n of a whole as a percentage for a sentence: with one
// decimal below 10% unless whole ("2.5%", "4%", "37%"), so that a small
// share does not read as 3% or 0%; "0%" of nothing.
func PercentFine(n, of int) string {
	if of == 0 {
		return "0%"
	}
	p := 100 * float64(n) / float64(of)
	if p < 10 && p != float64(int(p)) {
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}
