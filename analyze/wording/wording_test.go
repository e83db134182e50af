package wording

import (
	"testing"
	"time"
)

func TestWording(t *testing.T) {
	tests := []struct {
		desc, got, want string
	}{
		{"plural one", Plural(1, "SYN"), "1 SYN"},
		{"plural many", Plural(3, "SYN"), "3 SYNs"},
		{"plural zero", Plural(0, "attempt"), "0 attempts"},
		{"plural -s", Plural(2, "process"), "2 processes"},
		{"count one", Count(1, "thing that failed|things that failed"), "1 thing that failed"},
		{"count many", Count(4, "thing that failed|things that failed"), "4 things that failed"},
		{"or one", Or([]int{5}), "5"},
		{"or two", Or([]int{5, 6}), "5 or 6"},
		{"percent whole", Percent(1, 30), "3%"},
		{"percent of nothing", Percent(0, 0), "0%"},
		{"percent fine small", PercentFine(1, 40), "2.5%"},
		{"percent fine small whole", PercentFine(1, 25), "4%"},
		{"percent fine large", PercentFine(3, 8), "38%"},
		{"percent fine of nothing", PercentFine(3, 0), "0%"},
		{"clock", Clock(time.Date(2026, 11, 21, 8, 8, 7, 123456789, time.UTC).UnixNano()), "08:08:07.123"},
		{"interval µs", Interval(35 * time.Microsecond), "35 µs"},
		{"interval short ms", Interval(2100 * time.Microsecond), "2.1 ms"},
		{"interval ms", Interval(230 * time.Millisecond), "230 ms"},
		{"interval s", Interval(3100 * time.Millisecond), "3.1 s"},
		{"seconds", Seconds(11760 * time.Millisecond), "11.76 s"},
		{"seconds tenth", Seconds(1500 * time.Millisecond), "1.5 s"},
		{"seconds whole", Seconds(3 * time.Second), "3 s"},
		{"latency sub-ms", Latency(0.0002), "0.20 ms"},
		{"latency ms", Latency(0.035), "35 ms"},
		{"latency s", Latency(3.0111), "3.01 s"},
		{"span ms", Span(250 * time.Millisecond), "250 ms"},
		{"span s", Span(13500 * time.Millisecond), "13.5 s"},
		{"span min", Span(4*time.Minute + 5*time.Second), "4m05s"},
		{"span h", Span(2*time.Hour + 7*time.Minute), "2h07m"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}
