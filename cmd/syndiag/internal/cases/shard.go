package cases

import (
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
)

// Shard is --shard i/n: a run analyzes the cases whose name hashes to i
// among n. The zero Shard holds every case.
type Shard struct{ i, n uint32 }

// ParseShard reads --shard: "" for every case, or i/n with 1 <= i <= n.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.ParseUint(a, 10, 32)
	n, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil || n == 0 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("bad --shard %q: use i/n with 1 <= i <= n, e.g. 1/4 (shards count from 1)", s)
	}
	return Shard{uint32(i), uint32(n)}, nil
}

// String is the shard as --shard takes it, or "" for every case.
func (s Shard) String() string {
	if s.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.i, s.n)
}

// Has reports whether a case belongs to the shard. The case's name decides,
// not its place in the list, so a shard keeps its cases when files are
// added to other folders.
func (s Shard) Has(name string) bool {
	if s.n == 0 {
		return true
	}
	h := fnv.New32a()
	io.WriteString(h, name)
	return h.Sum32()%s.n == s.i-1
}
