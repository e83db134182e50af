package main

import (
	"encoding/binary"
	"hash/fnv"
	"math"
)

// stream is a SplitMix64 generator. The generator carries its own so that
// the captures depend only on the seed, never on the Go release's math/rand.
type stream struct{ s uint64 }

// newStream derives an independent stream from the seed and a label, so that
// adding a use of randomness in one place does not shift every other draw
// (the three NAT scenarios share their traffic because of this).
func newStream(seed uint64, label string, n ...uint64) *stream {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(label))
	for _, v := range n {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	return &stream{s: h.Sum64()}
}

func (r *stream) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// between returns an integer in [lo, hi].
func (r *stream) between(lo, hi int64) int64 {
	return lo + int64(r.next()%uint64(hi-lo+1))
}

// expMillis draws an exponential gap with the given mean in seconds and
// returns it in whole milliseconds; rounding to milliseconds keeps the result
// the same on every architecture even if the float maths differs in the last bit.
func (r *stream) expMillis(meanSeconds float64) int64 {
	u := (float64(r.next()>>11) + 0.5) / (1 << 53)
	return int64(math.Round(-math.Log(u) * meanSeconds * 1000))
}
