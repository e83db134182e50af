package wording

import (
	"fmt"
	"strings"
	"time"
)

// Clock writes a capture time (nanoseconds since the epoch) as a time of
// day in UTC to the millisecond: "15:04:05.000".
func Clock(ns int64) string { return time.Unix(0, ns).UTC().Format("15:04:05.000") }

// Interval writes a short interval for a sentence, to two significant
// figures or so: "35 µs", "2.1 ms", "230 ms", "3.1 s".
func Interval(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// Seconds writes a duration in seconds to the hundredth, without trailing
// zeros: "11.76 s", "1.5 s", "3 s".
func Seconds(d time.Duration) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", d.Seconds()), "0"), ".") + " s"
}

// Latency writes a connect time, in seconds, for a latency table: "0.20
// ms", "35 ms", "3.01 s".
func Latency(s float64) string {
	d := time.Duration(s * 1e9)
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f ms", s*1e3)
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", s*1e3)
	}
	return fmt.Sprintf("%.2f s", s)
}

// Span writes how long a capture ran: "250 ms", "13.5 s", "4m05s",
// "2h07m".
func Span(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
