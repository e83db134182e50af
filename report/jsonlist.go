package report

import (
	"bufio"
	"io"

	"github.com/syndiag/syndiag/analyze"
)

// The JSON document is bounded whatever the number of handshakes: it lists
// at most MaxJSONAttempts attempts and MaxJSONSources sources, and says in
// "listed" how many there were. AttemptLines writes every attempt.
const (
	MaxJSONAttempts = 5000
	MaxJSONSources  = 5000
)

// jsonListed says how much of the attempts and sources the document lists.
type jsonListed struct {
	Attempts jsonListedCount  `json:"attempts"`
	Sources  jsonListedSource `json:"sources"`
}

type jsonListedCount struct {
	Listed int `json:"listed"`
	Total  int `json:"total"`
}

// jsonListedSource also sums what the sources left out hold.
type jsonListedSource struct {
	Listed int `json:"listed"`
	Total  int `json:"total"`
	// OtherAttempts and OtherFailed sum the attempts and failed attempts
	// of the sources not listed.
	OtherAttempts int `json:"other_attempts"`
	OtherFailed   int `json:"other_failed"`
}

func listing(res *analyze.Result, attempts int, sources []analyze.Source) jsonListed {
	l := jsonListed{
		Attempts: jsonListedCount{attempts, len(res.Attempts)},
		Sources:  jsonListedSource{Listed: len(sources), Total: len(res.Sources)},
	}
	for _, s := range res.Sources {
		l.Sources.OtherAttempts += s.Attempts
		l.Sources.OtherFailed += s.Failed
	}
	for _, s := range sources {
		l.Sources.OtherAttempts -= s.Attempts
		l.Sources.OtherFailed -= s.Failed
	}
	return l
}

// listSources returns the sources the document lists: all when there are
// at most limit; else, of each capture, its share of limit, taken in the
// result's order (the most attempts first).
func listSources(res *analyze.Result, limit int) []analyze.Source {
	if len(res.Sources) <= limit {
		return res.Sources
	}
	share := limit / max(len(res.Captures), 1)
	var out []analyze.Source
	taken := map[int]int{}
	for _, s := range res.Sources {
		if taken[s.Capture] < share {
			out = append(out, s)
			taken[s.Capture]++
		}
	}
	return out
}

// listAttempts returns the indices in res.Attempts of the attempts the
// document lists, in the result's order (by first SYN): every attempt when
// there are at most max; else, first, attempts a reader looks for — not
// established, explained by a finding, with SYNs retransmitted, or
// following up a failure —, evenly spread over the capture when they are
// too many, then others, spread the same way, in the room left.
func listAttempts(res *analyze.Result, max int) []int {
	n := len(res.Attempts)
	if n <= max {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	var notable, other int
	for i := range res.Attempts {
		if notableAttempt(&res.Attempts[i]) {
			notable++
		} else {
			other++
		}
	}
	takeNotable := min(notable, max)
	takeOther := min(other, max-takeNotable)
	out := make([]int, 0, max)
	var seenN, seenO, gotN, gotO int
	for i := range res.Attempts {
		if notableAttempt(&res.Attempts[i]) {
			// the k-th of m picks, k = 0..take-1, is the floor(k*m/take)-th.
			if gotN < takeNotable && seenN == gotN*notable/takeNotable {
				out = append(out, i)
				gotN++
			}
			seenN++
		} else {
			if gotO < takeOther && seenO == gotO*other/takeOther {
				out = append(out, i)
				gotO++
			}
			seenO++
		}
	}
	return out
}

func notableAttempt(a *analyze.Attempt) bool {
	return a.Outcome != analyze.Established || a.Cause != analyze.NoCause || a.Retransmissions() > 0 || a.RetryOf >= 0
}

// AttemptLines writes every attempt of the result as JSON lines: one
// object per line, in the result's order, each as the JSON document's
// attempts[] writes it (with the same id), so that a consumer can read all
// of a capture's attempts however many there are.
func AttemptLines(w io.Writer, res *analyze.Result) error {
	jw := &jsonWriter{w: bufio.NewWriter(w)}
	e := &jenc{compact: true}
	for i := range res.Attempts {
		appendAttempt(e, i, &res.Attempts[i])
		e.b = append(e.b, '\n')
		jw.spill(e)
	}
	jw.bytes(e.b)
	if jw.err != nil {
		return jw.err
	}
	return jw.w.Flush()
}
