package analyze

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/syndiag/syndiag/flows"
)

// synthJoin builds a client LAN capture and a server capture of the same
// handshakes from a seed: random clock offset, NAT mapping (address and port
// rewritten, or not), loss of SYNs on the way in and SYN-ACKs on the way
// back, timestamps or none, ISNs that collide on purpose, and unrelated
// server-side attempts. It returns the result before joining and, per
// server-side attempt, the client-side attempt it came from (nil for the
// unrelated ones).
func synthJoin(seed uint64) (*Result, map[*flows.Attempt]*flows.Attempt) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	offset := int64(r.IntN(2_000_000_000)) - 1_000_000_000 + int64(r.IntN(3))*3600e9
	ts := r.IntN(4) != 0
	nat := r.IntN(3) != 0
	pIn, pBack := r.Float64()*0.4, r.Float64()*0.4
	public := netip.MustParseAddr("198.18.40.1")
	server := netip.AddrPortFrom(netip.MustParseAddr("198.18.50.10"), 80)
	n := 1 + r.IntN(40)
	base := int64(1_700_000_000e9)
	origin := map[*flows.Attempt]*flows.Attempt{}
	var cl, sv []*flows.Attempt
	isns := []uint32{}
	for i := range n {
		host := netip.AddrFrom4([4]byte{198, 18, 60, byte(10 + r.IntN(4))})
		c := &flows.Attempt{Client: netip.AddrPortFrom(host, uint16(30000+i)), Server: server}
		// A third of the ISNs repeat an earlier one: the join must not
		// take them for the same attempt.
		if len(isns) > 0 && r.IntN(3) == 0 {
			c.ISN = isns[r.IntN(len(isns))]
		} else {
			c.ISN = r.Uint32()
		}
		isns = append(isns, c.ISN)
		seen := c.Client
		if nat {
			seen = netip.AddrPortFrom(public, uint16(1024+r.IntN(60000)))
		}
		s := &flows.Attempt{Client: seen, Server: server, ISN: c.ISN}
		t := base + int64(i)*int64(r.IntN(3_000_000_000)+1)
		tsv := r.Uint32()
		sseq := r.Uint32()
		owd := int64(100_000 + r.IntN(20_000_000))
		for k := range 1 + r.IntN(4) {
			st := t + int64(k)*1e9
			syn := flows.Transmission{Time: st, Seq: c.ISN, TTL: 64, Opts: flows.Options{Timestamps: ts}}
			if ts {
				syn.Opts.TSval = tsv + uint32(k)*1000
			}
			c.SYNs = append(c.SYNs, syn)
			if r.Float64() < pIn {
				continue
			}
			syn.Time, syn.TTL = st+owd+offset, 60
			s.SYNs = append(s.SYNs, syn)
			sa := flows.Transmission{Time: syn.Time + 50_000, Seq: sseq, Ack: c.ISN + 1, TTL: 64, Opts: flows.Options{Timestamps: ts}}
			if ts {
				sa.Opts.TSval = sseq ^ uint32(k)
			}
			s.SYNACKs = append(s.SYNACKs, sa)
			if r.Float64() < pBack {
				continue
			}
			sa.Time, sa.TTL = sa.Time-offset+owd, 60
			c.SYNACKs = append(c.SYNACKs, sa)
		}
		cl = append(cl, c)
		if len(s.SYNs) > 0 {
			sv = append(sv, s)
			origin[s] = c
		}
	}
	// Unrelated server traffic, some with an ISN of ours.
	for i := range r.IntN(10) {
		isn := r.Uint32()
		if r.IntN(2) == 0 {
			isn = isns[r.IntN(len(isns))]
		}
		syn := flows.Transmission{Time: base + offset + int64(r.IntN(60e9)), Seq: isn, TTL: 50, Opts: flows.Options{Timestamps: ts, TSval: r.Uint32()}}
		if !ts {
			syn.Opts.TSval = 0
		}
		sv = append(sv, &flows.Attempt{Client: netip.AddrPortFrom(netip.MustParseAddr("198.19.1.1"), uint16(i+1)), Server: server, ISN: isn, SYNs: []flows.Transmission{syn}})
	}
	res := &Result{}
	for ci, list := range [][]*flows.Attempt{cl, sv} {
		c := &flows.Capture{First: 1 << 62, Last: 0}
		for _, a := range list {
			c.First = min(c.First, a.SYNs[0].Time)
			for _, s := range a.SYNs {
				c.Last = max(c.Last, s.Time)
			}
			for _, s := range a.SYNACKs {
				c.Last = max(c.Last, s.Time)
			}
		}
		role := RoleClient
		if ci == 1 {
			role = RoleServer
		}
		res.Captures = append(res.Captures, Capture{Role: role, Capture: c})
		for _, a := range list {
			res.Attempts = append(res.Attempts, newAttempt(a, ci, c.Last))
		}
	}
	slices.SortStableFunc(res.Attempts, compareAttempts)
	return res, origin
}

// FuzzJoin joins synthetic captures and checks that no two attempts of
// different ISNs, server ports or (with timestamps) SYN TSvals are paired,
// that an attempt whose ISN is unique is paired with its own twin (without
// timestamps, a stranger with the same ISN and server port inside the time
// window is indistinguishable, and real 32-bit ISNs make that rare), and that
// a SYN lost on the way in is never placed anywhere else.
func FuzzJoin(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1 << 40, 0xdeadbeef} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		res, origin := synthJoin(seed)
		joinCaptures(res)
		count := map[uint32]int{}
		for i := range res.Attempts {
			count[res.Attempts[i].ISN]++
		}
		for i := range res.Attempts {
			a := &res.Attempts[i]
			if a.Peer < 0 {
				continue
			}
			p := &res.Attempts[a.Peer]
			if p.Peer != i {
				t.Fatalf("seed %d: attempt %d pairs with %d, which pairs with %d", seed, i, a.Peer, p.Peer)
			}
			if a.ISN != p.ISN || a.Server.Port() != p.Server.Port() {
				t.Fatalf("seed %d: paired ISN %d port %d with ISN %d port %d", seed, a.ISN, a.Server.Port(), p.ISN, p.Server.Port())
			}
			if a.Capture != res.Join.Server {
				continue
			}
			want := origin[a.Attempt]
			if want == nil && a.SYNs[0].Opts.Timestamps {
				t.Fatalf("seed %d: unrelated server attempt with ISN %d paired although no SYN TSval matches", seed, a.ISN)
			}
			if want != nil && count[a.ISN] == 2 && want != p.Attempt {
				t.Fatalf("seed %d: ISN %d, unique, paired with the wrong attempt", seed, a.ISN)
			}
			if want == p.Attempt && a.SYNs[0].Opts.Timestamps {
				for k, l := range p.SYNLostAt {
					inServer := slices.ContainsFunc(a.SYNs, func(s flows.Transmission) bool { return s.Opts.TSval == p.SYNs[k].Opts.TSval })
					if inServer == (l == LostClientToServer) {
						t.Fatalf("seed %d: SYN %d of ISN %d lost_at %s, seen at the server: %v", seed, k, a.ISN, l, inServer)
					}
				}
			}
		}
	})
}
