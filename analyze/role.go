package analyze

import (
	"fmt"
	"slices"
)

// initialTTL returns the initial TTL a packet most likely left its sender
// with: the common defaults are 64 (Linux, macOS), 128 (Windows) and 255.
func initialTTL(ttl uint8) int {
	switch {
	case ttl <= 64:
		return 64
	case ttl <= 128:
		return 128
	}
	return 255
}

// inferRole decides on which side the capture was taken when the user did
// not say: a packet captured on the host that sent it still has its initial
// TTL, and one that crossed routers has less. SYNs at their initial TTL with
// SYN-ACKs below theirs mean the client's side; the reverse, the server's.
// Anything else (both untouched: one LAN; both lower: a tap in the middle)
// is left unknown, as a wrong guess is worse than none.
func (v *view) inferRole() {
	if v.c.Role != RoleUnknown && v.c.Role != "" {
		return
	}
	v.c.Role = RoleUnknown
	var synHops, ackHops []int
	for _, i := range v.attempts {
		a := v.at(i)
		synHops = append(synHops, initialTTL(a.SYNs[0].TTL)-int(a.SYNs[0].TTL))
		if len(a.SYNACKs) > 0 {
			s := a.SYNACKs[0].TTL
			ackHops = append(ackHops, initialTTL(s)-int(s))
		}
	}
	if len(synHops) == 0 {
		return
	}
	syn := median(synHops)
	if len(ackHops) == 0 {
		if syn > 0 {
			v.c.Role, v.c.RoleInferred = RoleServer, true
			v.c.RoleReason = fmt.Sprintf("SYNs arrive %d hop(s) below their initial TTL and no SYN-ACK was seen: taken away from the clients, most likely at the server", syn)
		}
		return
	}
	ack := median(ackHops)
	switch {
	case syn == 0 && ack > 0:
		v.c.Role, v.c.RoleInferred = RoleClient, true
		v.c.RoleReason = fmt.Sprintf("SYNs at their initial TTL, SYN-ACKs %d hop(s) below theirs: taken at the client", ack)
	case syn > 0 && ack == 0:
		v.c.Role, v.c.RoleInferred = RoleServer, true
		v.c.RoleReason = fmt.Sprintf("SYN-ACKs at their initial TTL, SYNs %d hop(s) below theirs: taken at the server", syn)
	}
}

func median(xs []int) int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
