package main

// The per-host PAWS state of a Linux 3.10 server, as in net/ipv4/tcp_metrics.c.
// ../KERNEL.md quotes the code this file follows.

const (
	tcpPAWSMSL    = 60 // TCP_PAWS_MSL, seconds of get_seconds()
	tcpPAWSWindow = 1  // TCP_PAWS_WINDOW, ticks of the peer's timestamp clock
)

// metricsBlock holds the two fields of struct tcp_metrics_block that per-host
// PAWS uses.
type metricsBlock struct {
	tcpmTS      uint32 // tcpm_ts: the peer's TSval remembered at TIME_WAIT
	tcpmTSStamp uint32 // tcpm_ts_stamp: get_seconds() when that TSval was received
}

// peerIsProven is tcp_peer_is_proven(req, dst, paws_check=true): false means
// tcp_v4_conn_request drops the SYN (PAWSPassiveRejected). tm is nil when the
// peer has no entry; tsRecent is req->ts_recent, the SYN's TSval.
func peerIsProven(tm *metricsBlock, now uint32, tsRecent uint32) bool {
	if tm != nil &&
		now-tm.tcpmTSStamp < tcpPAWSMSL &&
		int32(tm.tcpmTS-tsRecent) > tcpPAWSWindow {
		return false
	}
	return true
}

// remember applies the update rule shared by tcp_remember_stamp and
// tcp_tw_remember_stamp: the entry only moves forward in TSval unless it is
// more than TCP_PAWS_MSL seconds old. It reports whether the entry changed.
func (tm *metricsBlock) remember(now, tsRecent, tsRecentStamp uint32) bool {
	if int32(tm.tcpmTS-tsRecent) <= 0 ||
		(now-tm.tcpmTSStamp > tcpPAWSMSL && tm.tcpmTSStamp <= tsRecentStamp) {
		tm.tcpmTSStamp = tsRecentStamp
		tm.tcpmTS = tsRecent
		return true
	}
	return false
}

// pawsCheck is tcp_paws_check(rx_opt, 0) without the 24-day clause, which
// cannot matter within a capture: may a segment with TSval tsval replace
// ts_recent?
func pawsCheck(tsRecent, tsval uint32) bool {
	return int32(tsRecent-tsval) <= 0 || tsRecent == 0
}

// after is the kernel's after(seq1, seq2) for sequence numbers.
func after(seq1, seq2 uint32) bool { return int32(seq2-seq1) < 0 }
