package analyze

import "github.com/syndiag/syndiag/flows"

// zeekEndpoint is the state Zeek's TCP analyzer keeps for each side of a
// connection (TCP_ENDPOINT_* in its TCP.cc), as far as conn_state reads it.
type zeekEndpoint int

const (
	zeekInactive    zeekEndpoint = iota // nothing sent yet
	zeekPartial                         // sent something, but no SYN
	zeekSYNSent                         // the client's SYN, not answered
	zeekEstablished                     // Zeek marks both sides so at the SYN-ACK
	zeekClosed                          // sent a FIN
	zeekReset                           // sent a RST
)

// ConnState is the conn_state that Zeek's conn.log gives the same packets
// (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, SH or OTH), so that the
// attempts can be joined with a conn.log. It replays the end states of
// Zeek's TCP endpoints from what the capture recorded — the SYN-ACKs, the
// FINs, the RSTs of each side and their order — and then Zeek's own
// conn_state function (base/protocols/conn/main.zeek). RSTRH and SHR,
// which need a SYN-ACK without the SYN, are never given: an attempt starts
// with its SYN. See the README for where an attempt and Zeek's connection
// are not the same thing.
func (a *Attempt) ConnState() string {
	f := a.Attempt
	// Zeek's responder is established at its SYN-ACK, and the originator
	// with it (UpdateInactiveState); a handshake completed on a SYN-ACK
	// the capture missed is taken as answered too.
	answered := len(f.SYNACKs) > 0 || f.SYNACKUnseen
	// ClosedAt is set by the second FIN, or by a RST after the handshake.
	bothFIN := f.ClosedAt != 0 && f.FirstFIN != flows.NoSide && !resetAt(f, f.ClosedAt)
	origFIN := f.FirstFIN == flows.ClientSide || bothFIN
	respFIN := f.FirstFIN == flows.ServerSide || bothFIN
	var origRST, respRST bool
	for _, r := range f.Resets {
		// Once both sides sent their FIN, a RST changes nothing; a side
		// that sent a FIN and then a RST is closed again by its peer's FIN
		// (UpdateClosedState, UpdateEstablishedState).
		if bothFIN && (r.Time > f.ClosedAt || r.FromServer == (f.FirstFIN == flows.ServerSide)) {
			continue
		}
		if r.FromServer {
			respRST = true
		} else {
			origRST = true
		}
	}
	os, rs := zeekSYNSent, zeekInactive
	switch {
	case origRST:
		os = zeekReset
	case origFIN:
		os = zeekClosed
	case answered:
		os = zeekEstablished
	}
	switch {
	case respRST:
		rs = zeekReset
	case respFIN:
		rs = zeekClosed
	case answered:
		rs = zeekEstablished
	case f.FirstData[1] != 0:
		rs = zeekPartial // data without a SYN-ACK; a bare ACK leaves it inactive
	}
	rInactive := rs == zeekInactive || rs == zeekPartial
	noBytes := f.FirstData[0] == 0 && f.FirstData[1] == 0
	// Zeek's conn_state, branch for branch; the originator is never
	// inactive here.
	switch {
	case rs == zeekReset:
		if os == zeekSYNSent || os == zeekReset && noBytes {
			return "REJ"
		}
		return "RSTR"
	case os == zeekReset:
		if !rInactive {
			return "RSTO"
		}
		// Zeek asks that the history read S, then no FIN or ACK of the
		// originator, then its R.
		if origFIN {
			return "OTH"
		}
		return "RSTOS0"
	case os == zeekClosed && rs == zeekClosed:
		return "SF"
	case os == zeekClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == zeekClosed:
		return "S3"
	case os == zeekSYNSent && rs == zeekInactive:
		return "S0"
	case os == zeekEstablished && rs == zeekEstablished:
		return "S1"
	}
	return "OTH"
}

// resetAt reports whether a RST of the attempt was seen at time t.
func resetAt(f *flows.Attempt, t int64) bool {
	for _, r := range f.Resets {
		if r.Time == t {
			return true
		}
	}
	return false
}
