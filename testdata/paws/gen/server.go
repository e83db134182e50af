package main

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/netip"
)

// server is a Linux 3.10 server listening on serverAddr with HZ=1000,
// net.ipv4.tcp_timestamps=1 and the scenario's tcp_tw_recycle. It follows
// the functions named in ../KERNEL.md, as far as this traffic needs.
type server struct {
	s        *sim
	uptimeUs int64
	// metrics is the tcp_metrics hash, keyed by the peer address as in 3.10.
	metrics   map[netip.Addr]*metricsBlock
	requests  map[netip.AddrPort]*request
	socks     map[netip.AddrPort]*serverConn
	timewaits map[netip.AddrPort]*timewait
}

const (
	serverHZ       = 1000
	tcpTimewaitLen = 60 * serverHZ // TCP_TIMEWAIT_LEN in jiffies
	tcpRTOMin      = serverHZ / 5  // TCP_RTO_MIN in jiffies
)

func newServer(s *sim) *server {
	r := newStream(s.p.seed, "server")
	return &server{
		s:         s,
		uptimeUs:  23*86_400_000_000 + r.between(0, 86_399_999_999),
		metrics:   make(map[netip.Addr]*metricsBlock),
		requests:  make(map[netip.AddrPort]*request),
		socks:     make(map[netip.AddrPort]*serverConn),
		timewaits: make(map[netip.AddrPort]*timewait),
	}
}

func (sv *server) jiffies() int64 {
	return (sv.uptimeUs+sv.s.now)*serverHZ/1_000_000 - 300*serverHZ
}

// seconds is get_seconds(): whole seconds of wall-clock time.
func (sv *server) seconds() uint32 {
	return uint32(epoch.Unix() + sv.s.now/1_000_000)
}

// getMetrics is tcp_get_metrics / __tcp_get_metrics_req: the entry for a
// peer, created by tcpm_new (tcpm_ts and tcpm_ts_stamp zero) when create is set.
func (sv *server) getMetrics(peer netip.Addr, create bool) *metricsBlock {
	tm := sv.metrics[peer]
	if tm == nil && create {
		tm = &metricsBlock{}
		sv.metrics[peer] = tm
	}
	return tm
}

// request is a request_sock in the SYN queue.
type request struct {
	peer     netip.AddrPort
	rcvISN   uint32
	sntISN   uint32
	tsRecent uint32 // req->ts_recent, the SYN's TSval (tcp_openreq_init)
	synackAt int64
}

type serverState int

const (
	srvEstablished serverState = iota
	srvFinWait1
	srvCloseWait
	srvLastAck
)

// serverConn is a full server socket.
type serverConn struct {
	sv            *server
	r             *stream
	peer          netip.AddrPort
	state         serverState
	id            uint16 // inet_id
	sndNxt        uint32
	sndUna        uint32
	writeSeq      uint32 // after the FIN, snd_una == write_seq means it was acked
	rcvNxt        uint32
	rcvWup        uint32
	tsRecent      uint32
	tsRecentStamp uint32
	rtoJ          int64 // icsk_rto in jiffies
}

// timewait is an inet_timewait_sock (substate FIN_WAIT2 or TIME_WAIT).
type timewait struct {
	finWait2       bool
	sndNxt, rcvNxt uint32
	tsRecent       uint32
	tsRecentStamp  uint32
	timeoutJ       int64 // tw_timeout
	expires        int64
	rcvWndScaled   uint16
	peer           netip.AddrPort
}

// receive is tcp_v4_rcv's socket lookup: TIME_WAIT, established, SYN queue,
// listener.
func (sv *server) receive(seg segment) {
	peer := seg.src
	if tw := sv.timewaits[peer]; tw != nil {
		if sv.s.now < tw.expires {
			sv.timewaitProcess(tw, seg)
			return
		}
		delete(sv.timewaits, peer)
	}
	if c := sv.socks[peer]; c != nil {
		c.receive(seg)
		return
	}
	if req := sv.requests[peer]; req != nil {
		sv.checkReq(req, seg)
		return
	}
	if seg.flags == flagSYN {
		sv.connRequest(seg)
		return
	}
	sv.s.fail(fmt.Errorf("server: segment from %v matches no socket", peer))
}

// connRequest is tcp_v4_conn_request for a SYN with isn == 0 (it hit no
// TIME_WAIT socket: receive looked first) and want_cookie false (the SYN
// queue never fills here).
func (sv *server) connRequest(seg segment) {
	now := sv.seconds()
	req := &request{peer: seg.src, rcvISN: seg.seq, tsRecent: seg.tsval}
	row := seg.row
	// saw_tstamp is always true: every client sends timestamps and the
	// server has tcp_timestamps=1. A route back exists and fl4.daddr == saddr.
	if sv.s.sc.twRecycle {
		tm := sv.getMetrics(seg.src.Addr(), false)
		if row != nil && tm != nil {
			row.entry = true
			row.tcpmTS = tm.tcpmTS
			row.tcpmAge = int64(now - tm.tcpmTSStamp)
		}
		if !peerIsProven(tm, now, req.tsRecent) {
			// LINUX_MIB_PAWSPASSIVEREJECTED and LINUX_MIB_LISTENDROPS;
			// nothing is sent.
			if row != nil {
				row.dropped = true
			}
			return
		}
	}
	req.sntISN = secureSeq(sv.s.p.seed, serverAddr, seg.src, sv.s.now)
	sv.requests[seg.src] = req
	sv.s.after(sv.s.jitter.between(10, 30), func() {
		// tcp_make_synack; ip_build_and_send_pkt from the listener: IP ID 0.
		req.synackAt = sv.s.now
		sv.s.fromServer(segment{
			src: serverAddr, dst: req.peer,
			flags: flagSYN | flagACK, seq: req.sntISN, ack: req.rcvISN + 1,
			window: 28960,
			tsval:  uint32(sv.jiffies()), tsecr: req.tsRecent,
			ttl: serverTTL,
		})
	})
}

// checkReq is tcp_check_req for the ACK that completes the handshake,
// followed by tcp_v4_syn_recv_sock, tcp_create_openreq_child and the
// SYN_RECV case of tcp_rcv_state_process.
func (sv *server) checkReq(req *request, seg segment) {
	if seg.has(flagSYN) || !seg.has(flagACK) || seg.ack != req.sntISN+1 {
		sv.s.fail(fmt.Errorf("server: unexpected segment from %v in SYN_RECV", req.peer))
		return
	}
	delete(sv.requests, req.peer)
	// tcp_synack_rtt_meas: the first sample sets srtt = m, rttvar =
	// max(2m, TCP_RTO_MIN), so icsk_rto = m + max(2m, TCP_RTO_MIN).
	m := (sv.s.now - req.synackAt) * serverHZ / 1_000_000
	rto := m + max(2*m, tcpRTOMin)
	c := &serverConn{
		sv:            sv,
		r:             newStream(sv.s.p.seed, "server-conn", uint64(req.sntISN)),
		peer:          req.peer,
		state:         srvEstablished,
		id:            uint16((req.sntISN + 1) ^ uint32(sv.jiffies())),
		sndNxt:        req.sntISN + 1,
		sndUna:        req.sntISN + 1,
		rcvNxt:        req.rcvISN + 1,
		rcvWup:        req.rcvISN + 1,
		tsRecent:      req.tsRecent,
		tsRecentStamp: sv.seconds(),
		rtoJ:          rto,
	}
	c.writeSeq = c.sndNxt
	sv.socks[req.peer] = c
	c.replaceTSRecent(seg)
	sv.getMetrics(req.peer.Addr(), true) // tcp_init_metrics
}

// replaceTSRecent is tcp_replace_ts_recent, called from tcp_ack with
// FLAG_UPDATE_TS_RECENT (the fast path's tcp_store_ts_recent agrees for the
// in-order segments of this traffic).
func (c *serverConn) replaceTSRecent(seg segment) {
	if !after(seg.seq, c.rcvWup) && pawsCheck(c.tsRecent, seg.tsval) {
		c.tsRecent = seg.tsval
		c.tsRecentStamp = c.sv.seconds()
	}
}

func (c *serverConn) seg(flags uint8, payload []byte) segment {
	seg := segment{
		src: serverAddr, dst: c.peer,
		flags: flags, seq: c.sndNxt, ack: c.rcvNxt,
		window: 227, // 28960 >> 7, rounded up
		tsval:  uint32(c.sv.jiffies()), tsecr: c.tsRecent,
		payload: payload, id: c.id, ttl: serverTTL,
	}
	c.id++
	return seg
}

// send transmits from the full socket; tcp_select_window moves rcv_wup.
func (c *serverConn) send(seg segment) {
	c.sndNxt = seg.seq + seg.seqLen()
	c.rcvWup = c.rcvNxt
	c.sv.s.fromServer(seg)
}

var (
	httpResponseClose = []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.12.2\r\nContent-Type: application/json\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{\"status\":\"ok\"}\n")
	httpResponse      = []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.12.2\r\nContent-Type: application/json\r\nContent-Length: 16\r\nConnection: keep-alive\r\n\r\n{\"status\":\"ok\"}\n")
)

// receive is tcp_rcv_established / tcp_rcv_state_process for this traffic.
func (c *serverConn) receive(seg segment) {
	s := c.sv.s
	if seg.seq != c.rcvNxt || seg.has(flagSYN) {
		s.fail(fmt.Errorf("server: out-of-order segment from %v", c.peer))
		return
	}
	// Step 5, tcp_ack: snd_una and ts_recent.
	if after(seg.ack, c.sndUna) {
		c.sndUna = seg.ack
	}
	c.replaceTSRecent(seg)
	switch c.state {
	case srvEstablished:
		if len(seg.payload) > 0 {
			c.rcvNxt += uint32(len(seg.payload))
			// The application answers; its write carries the delayed ACK.
			appDelay := c.r.between(150, 900)
			if s.sc.serverClosesFirst {
				s.after(appDelay, func() { c.send(c.seg(flagPSH|flagACK, httpResponseClose)) })
				// close(): tcp_send_fin, FIN_WAIT1, the socket is orphaned.
				s.after(appDelay+c.r.between(15, 40), func() {
					c.state = srvFinWait1
					fin := c.seg(flagFIN|flagACK, nil)
					c.writeSeq = fin.seq + 1
					c.send(fin)
				})
			} else {
				s.after(appDelay, func() { c.send(c.seg(flagPSH|flagACK, httpResponse)) })
			}
			return
		}
		if seg.has(flagFIN) {
			// tcp_fin: CLOSE_WAIT. The application sees EOF and closes;
			// its FIN carries the (delayed) ACK of the client's FIN.
			c.rcvNxt++
			c.state = srvCloseWait
			s.after(c.r.between(80, 400), func() {
				c.state = srvLastAck
				fin := c.seg(flagFIN|flagACK, nil)
				c.writeSeq = fin.seq + 1
				c.send(fin)
			})
		}
	case srvFinWait1:
		if c.sndUna != c.writeSeq {
			return // an ACK of the response, not yet of the FIN
		}
		if !seg.has(flagFIN) {
			// tcp_rcv_state_process, TCP_FIN_WAIT1: orphaned, tmo =
			// tcp_fin_time() == TCP_TIMEWAIT_LEN, no FIN in the segment.
			c.timeWait(true, tcpTimewaitLen)
			return
		}
		// th->fin only re-arms the keepalive timer; step 7, tcp_data_queue
		// → tcp_fin in FIN_WAIT2: tcp_send_ack, tcp_time_wait(TIME_WAIT, 0).
		c.rcvNxt++
		s.after(c.r.between(8, 20), func() { c.send(c.seg(flagACK, nil)) })
		c.timeWait(false, 0)
	case srvCloseWait:
		s.fail(fmt.Errorf("server: unexpected segment from %v in CLOSE_WAIT", c.peer))
	case srvLastAck:
		if c.sndUna == c.writeSeq {
			// TCP_LAST_ACK: tcp_update_metrics(sk); tcp_done(sk). No
			// stamp: tcp_update_metrics never touches tcpm_ts.
			delete(c.sv.socks, c.peer)
		}
	}
}

// timeWait is tcp_time_wait(sk, state, timeo): remember the stamp when
// tw_recycle is on, then hand the connection to a timewait socket.
func (c *serverConn) timeWait(finWait2 bool, timeoJ int64) {
	sv := c.sv
	recycleOK := false
	if sv.s.sc.twRecycle && c.tsRecentStamp != 0 {
		recycleOK = sv.rememberStamp(c.peer.Addr(), c.tsRecent, c.tsRecentStamp)
	}
	rto := (c.rtoJ << 2) - (c.rtoJ >> 1) // 3.5 * RTO
	if timeoJ < rto {
		timeoJ = rto
	}
	tw := &timewait{
		finWait2:      finWait2,
		sndNxt:        c.sndNxt,
		rcvNxt:        c.rcvNxt,
		tsRecent:      c.tsRecent,
		tsRecentStamp: c.tsRecentStamp,
		rcvWndScaled:  227,
		peer:          c.peer,
	}
	if recycleOK {
		tw.timeoutJ = rto
	} else {
		tw.timeoutJ = tcpTimewaitLen
		if !finWait2 {
			timeoJ = tcpTimewaitLen
		}
	}
	tw.expires = sv.s.now + timeoJ*1_000_000/serverHZ
	sv.timewaits[c.peer] = tw
	delete(sv.socks, c.peer)
	// tcp_update_metrics(sk): RTT and cwnd only.
}

// rememberStamp is tcp_remember_stamp: the entry is created if missing
// (tcp_get_metrics with create), then the update rule applies.
func (sv *server) rememberStamp(peer netip.Addr, tsRecent, tsRecentStamp uint32) bool {
	tm := sv.getMetrics(peer, true)
	tm.remember(sv.seconds(), tsRecent, tsRecentStamp)
	return true
}

// timewaitProcess is tcp_timewait_state_process for the segments this
// traffic sends to a timewait socket: the client's FIN in substate FIN_WAIT2.
func (sv *server) timewaitProcess(tw *timewait, seg segment) {
	if !tw.finWait2 {
		sv.s.fail(fmt.Errorf("server: segment from %v hit TIME_WAIT; the generator does not model that", tw.peer))
		return
	}
	if seg.seq == tw.rcvNxt && seg.flags == flagACK && len(seg.payload) == 0 {
		return // "Dup ACK?": TCP_TW_SUCCESS, nothing sent
	}
	if seg.seq != tw.rcvNxt || !seg.has(flagFIN) || seg.has(flagSYN) {
		sv.s.fail(fmt.Errorf("server: unexpected segment from %v in FIN_WAIT2 (flags %#x seq %d want %d)", tw.peer, seg.flags, seg.seq, tw.rcvNxt))
		return
	}
	// FIN arrived, enter true time-wait state.
	tw.finWait2 = false
	tw.rcvNxt = seg.seq + seg.seqLen()
	tw.tsRecentStamp = sv.seconds()
	tw.tsRecent = seg.tsval
	if sv.s.sc.twRecycle && tw.tsRecentStamp != 0 && sv.twRememberStamp(tw) {
		tw.expires = sv.s.now + tw.timeoutJ*1_000_000/serverHZ
	} else {
		tw.expires = sv.s.now + tcpTimewaitLen*1_000_000/serverHZ
	}
	// TCP_TW_ACK → tcp_v4_timewait_ack → tcp_v4_send_ack through the
	// per-cpu control socket: DF, IP ID 0.
	ack := segment{
		src: serverAddr, dst: tw.peer,
		flags: flagACK, seq: tw.sndNxt, ack: tw.rcvNxt,
		window: tw.rcvWndScaled,
		tsval:  uint32(sv.jiffies()), tsecr: tw.tsRecent,
		ttl: serverTTL,
	}
	sv.s.after(sv.s.jitter.between(8, 20), func() {
		ack.tsval = uint32(sv.jiffies())
		sv.s.fromServer(ack)
	})
}

// twRememberStamp is tcp_tw_remember_stamp: lookup only, no create.
func (sv *server) twRememberStamp(tw *timewait) bool {
	tm := sv.getMetrics(tw.peer.Addr(), false)
	if tm == nil {
		return false
	}
	tm.remember(sv.seconds(), tw.tsRecent, tw.tsRecentStamp)
	return true
}

// secureSeq stands in for secure_tcp_sequence_number: a keyed hash of the
// 4-tuple plus a clock ticking every 64 ns.
func secureSeq(seed uint64, src, dst netip.AddrPort, nowUs int64) uint32 {
	h := fnv.New32a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	h.Write(s4[:])
	h.Write(d4[:])
	binary.BigEndian.PutUint16(b[:], src.Port())
	binary.BigEndian.PutUint16(b[2:], dst.Port())
	h.Write(b[:4])
	return h.Sum32() + uint32(nowUs*1000/64)
}
