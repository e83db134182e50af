package analyze

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func offsets(s ...float64) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v * 1e9)
	}
	return out
}

func TestFitSchedule(t *testing.T) {
	tests := []struct {
		desc     string
		syns     []int64
		end      float64
		answered bool
		stack    Stack
		rto      time.Duration
		linear   int
		gaveUp   bool
		retries  []int
	}{
		{"classic, gave up (lab 41001)", offsets(0, 1.0, 3.0, 7.28), 16.5, false, StackLinuxClassic, time.Second, 1, true, []int{3}},
		{"linear default, gave up (lab 41002)", offsets(0, 1.003, 2.027, 3.051, 4.075, 5.099, 7.115, 11.211), 20.5, false, StackLinuxLinear, time.Second, 5, true, []int{3}},
		{"linear, TCP_SYNCNT=2 (lab 41304)", offsets(0, 1.009, 2.033, 3.057, 4.085, 5.105), 8.2, false, StackLinuxLinear, time.Second, 5, true, []int{2}},
		{"classic default retries=6", offsets(0, 1, 3, 7, 15, 31, 63), 140, false, StackLinuxClassic, time.Second, 1, true, []int{6}},
		{"linear default retries=6", offsets(0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67), 140, false, StackLinuxLinear, time.Second, 5, true, []int{6}},
		{"classic, answered after 2 retransmissions", offsets(0, 1, 3), 10, true, StackLinuxClassic, time.Second, 1, false, nil},
		{"classic, capture ends before the next is due", offsets(0, 1, 3), 5, false, StackLinuxClassic, time.Second, 1, false, nil},
		{"3 s RTO", offsets(0, 3, 9, 21), 60, false, StackRTO3, 3 * time.Second, 1, true, nil},
		{"one retransmission", offsets(0, 1), 1.5, true, "1 s initial RTO (one retransmission: too few to tell the backoff)", time.Second, 1, false, nil},
		{"odd intervals", offsets(0, 0.4, 0.9), 10, false, StackUnknown, 400 * time.Millisecond, 1, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := fitSchedule(tc.syns, int64(tc.end*1e9), tc.answered)
			got := fmt.Sprint(s.Stack, s.InitialRTO, s.Linear, s.GaveUp)
			want := fmt.Sprint(tc.stack, tc.rto, tc.linear, tc.gaveUp)
			if got != want {
				t.Errorf("stack, RTO, linear, gave up = %s\n want %s", got, want)
			}
			if !slices.Equal(s.SynRetries, tc.retries) {
				t.Errorf("tcp_syn_retries %v, want %v", s.SynRetries, tc.retries)
			}
		})
	}
}
