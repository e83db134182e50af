package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/syndiag/syndiag/analyze"
	"github.com/syndiag/syndiag/flows"
)

// TestAttemptLines checks that --attempts' JSON lines hold every attempt,
// each line the object the JSON document lists with the same id.
func TestAttemptLines(t *testing.T) {
	res := analyze.Analyze([]analyze.Input{readInput(t, "../testdata/scenarios/synflood-nocookies/server.pcap", analyze.RoleUnknown)})
	var doc, lines bytes.Buffer
	if err := JSON(&doc, res); err != nil {
		t.Fatal(err)
	}
	if err := AttemptLines(&lines, res); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Listed   jsonListed       `json:"listed"`
		Attempts []map[string]any `json:"attempts"`
	}
	if err := json.Unmarshal(doc.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if want := (jsonListedCount{1016, 1016}); d.Listed.Attempts != want {
		t.Errorf("listed attempts %+v, want %+v", d.Listed.Attempts, want)
	}
	sc := bufio.NewScanner(&lines)
	sc.Buffer(nil, 1<<20)
	n := 0
	for ; sc.Scan(); n++ {
		var a map[string]any
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if a["id"] != float64(n) {
			t.Fatalf("line %d has id %v", n+1, a["id"])
		}
		if n < len(d.Attempts) && !reflect.DeepEqual(a, d.Attempts[n]) {
			t.Fatalf("line %d differs from attempts[%d] of the document", n+1, n)
		}
	}
	if n != 1016 || len(d.Attempts) != 1016 {
		t.Errorf("%d lines and %d listed attempts, want 1016 of each", n, len(d.Attempts))
	}
}

// TestListAttempts checks which attempts a bounded document lists:
// notable ones first, evenly spread, then others in the room left.
func TestListAttempts(t *testing.T) {
	res := &analyze.Result{}
	for i := range 10 {
		o := analyze.Established
		if i%2 == 1 {
			o = analyze.Unanswered
		}
		res.Attempts = append(res.Attempts, analyze.Attempt{Attempt: &flows.Attempt{SYNs: make([]flows.Transmission, 1)}, Outcome: o, Cause: analyze.NoCause, RetryOf: -1})
	}
	for _, tt := range []struct {
		max  int
		want []int
	}{
		{10, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{4, []int{1, 3, 5, 7}},          // 4 of the 5 unanswered
		{7, []int{0, 1, 3, 4, 5, 7, 9}}, // the 5, and 2 of the 5 others
		{1, []int{1}},
	} {
		if got := listAttempts(res, tt.max); !slices.Equal(got, tt.want) {
			t.Errorf("max %d: %v, want %v", tt.max, got, tt.want)
		}
	}
}

// TestListSources checks that each capture gets its share of a bounded
// source list, and that the listing sums what is left out.
func TestListSources(t *testing.T) {
	res := &analyze.Result{Captures: make([]analyze.Capture, 2)}
	for c := range 2 {
		for n := 3; n > 0; n-- {
			res.Sources = append(res.Sources, analyze.Source{Capture: c, Attempts: n, Failed: n - 1})
		}
	}
	got := listSources(res, 4)
	var attempts []int
	for _, s := range got {
		attempts = append(attempts, s.Capture*10+s.Attempts)
	}
	if want := []int{3, 2, 13, 12}; !slices.Equal(attempts, want) {
		t.Errorf("listed capture*10+attempts %v, want %v", attempts, want)
	}
	want := jsonListedSource{Listed: 4, Total: 6, OtherAttempts: 2, OtherFailed: 0}
	if l := listing(res, 0, got); l.Sources != want {
		t.Errorf("listing %+v, want %+v", l.Sources, want)
	}
}
