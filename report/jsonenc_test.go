package report

import (
	"encoding/json"
	"math"
	"testing"
)

// TestJencMatchesEncodingJSON checks that the hand-written encoder writes
// what encoding/json.MarshalIndent writes for the same values.
func TestJencMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", `q"uote\back`, "tab\tnl\ncr\r", "\x00\x1f", "<html>&", "ü→€", "bad\xffutf8", "\u2028\u2029"}
	floats := []float64{0, 1, -1, 0.5, 1.9e-05, 1e-6, 9.99e-7, 1e-9, 3.0000001, 1e20, 1e21, 123456789.123456789, math.SmallestNonzeroFloat64}
	type doc struct {
		S []string  `json:"s"`
		F []float64 `json:"f"`
		E []int     `json:"e"`
		O struct {
			N *int `json:"n"`
			B bool `json:"b"`
		} `json:"o"`
	}
	want, err := json.MarshalIndent(doc{S: strs, F: floats, E: []int{}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	e := &jenc{}
	e.open('{')
	e.key("s")
	e.open('[')
	for _, s := range strs {
		e.next()
		e.b = appendString(e.b, s)
	}
	e.close(']')
	e.key("f")
	e.open('[')
	for _, f := range floats {
		e.next()
		e.b = appendFloat(e.b, f)
	}
	e.close(']')
	e.key("e")
	e.open('[')
	e.close(']')
	e.key("o")
	e.open('{')
	e.null("n")
	e.bool("b", false)
	e.close('}')
	e.close('}')
	if string(e.b) != string(want) {
		t.Errorf("jenc wrote\n%s\nencoding/json writes\n%s", e.b, want)
	}
}
