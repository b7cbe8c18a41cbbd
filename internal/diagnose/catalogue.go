package diagnose

// Rule describes one rule of the catalogue.
type Rule struct {
	ID      string // stable: JSON output and scripts use it
	Group   string // handshake, teardown, load, loss and speed, oddities
	Pattern string // what the rule looks for, in words
}

// Catalogue lists every rule, in the order of DESIGN §6 and issue 4.
func Catalogue() []Rule { return catalogue }

var catalogue = []Rule{
	{"refused", "handshake", "a SYN answered by RST: nothing listens, or a firewall rejects"},
	{"syn-timeout", "handshake", "a SYN sent again with backoff and never answered"},
	{"synack-retrans-lost-ack", "handshake", "the SYN-ACK sent again although the client answered: the network lost the ACK (or the SYN-ACK)"},
	{"synack-retrans-client-forgot", "handshake", "the SYN-ACK sent again and the client answers RST or nothing: it no longer knows the connection"},
	{"handshake-latency", "handshake", "the handshake took long: SYNs unanswered before one got through, or a slow SYN-ACK"},
	{"simultaneous-open", "handshake", "both ends sent a SYN: a simultaneous open"},
	{"tcp-fast-open", "handshake", "TCP Fast Open: a cookie request, data on the SYN, accepted or ignored"},
	{"ecn", "handshake", "ECN negotiated, congestion marks (CE) and their echo (ECE, CWR)"},
	{"syn-cookies", "handshake", "a SYN-ACK never resent though unanswered past any SYN-ACK timer, the late ACK accepted: a SYN cookie"},
	{"accept-then-close", "teardown", "the handshake completes, then the server sends FIN before any data: the application refused the client"},
	{"rst-after-handshake", "teardown", "an RST soon after the handshake, before any data"},
	{"rst-unread-data", "teardown", "an RST from an end that had received data it never answered: close() with unread data"},
	{"abortive-close", "teardown", "an RST after the exchange instead of FIN: SO_LINGER 0 or an aborting application"},
	{"middlebox-reset", "teardown", "an RST whose TTL or IP ID is unlike the claimed sender's own packets: forged in the path"},
	{"rst-idle-timeout", "teardown", "an RST after a long silence: an idle timeout"},
	{"rst-no-socket", "teardown", "an RST answering a segment for a connection its sender no longer has"},
	{"close-wait-leak", "teardown", "one end closed and was acknowledged; the other never closes: CLOSE_WAIT"},
	{"simultaneous-close", "teardown", "both ends sent FIN before receiving the other's: CLOSING"},
	{"half-close", "teardown", "one end sent FIN and went on receiving data: shutdown(SHUT_WR)"},
	{"syn-flood", "load", "many SYNs to one service, few completing"},
	{"time-wait-pressure", "load", "many short connections from one client, 4-tuples reused within TIME_WAIT"},
	{"port-scan", "load", "probes of many ports of a host from one address, no data: a port scan, and what each port answered"},
	{"host-sweep", "load", "probes of one port on many hosts from one address, no data: a sweep, and which hosts answered"},
	{"rto-retransmission", "loss and speed", "data resent after the retransmission timeout, and what the waits cost"},
	{"tail-loss-probe", "loss and speed", "Linux's tail loss probe resent the last segment"},
	{"fast-retransmission", "loss and speed", "data resent on duplicate ACKs or SACK"},
	{"spurious-retransmission", "loss and speed", "data resent that the receiver already had"},
	{"packet-loss", "loss and speed", "how much was lost, and where relative to the capture point"},
	{"zero-window", "loss and speed", "a receiver advertised a zero window: it stopped reading, for how long"},
	{"rwnd-limited", "loss and speed", "the sender filled the receiver's window: the receiver sets the pace"},
	{"no-window-scaling", "loss and speed", "no window scaling while the window capped the transfer"},
	{"cwnd-limited", "loss and speed", "flights well below the receiver's window, clocked by ACKs: congestion control sets the pace"},
	{"app-limited", "loss and speed", "the sender idled with nothing in flight: its application had nothing to send"},
	{"nagle-delayed-ack", "loss and speed", "a small segment held until the peer's delayed ACK of the previous one"},
	{"pmtu-blackhole", "loss and speed", "large segments resent and never acknowledged while small ones pass"},
	{"paws-drop", "oddities", "segments with an old timestamp that PAWS drops"},
	{"bad-checksum", "oddities", "segments with a wrong TCP checksum, not explained by offload"},
	{"checksum-offload", "oddities", "bad checksums on the capturing host's own packets: checksum offload"},
	{"urgent-data", "oddities", "segments with URG set"},
	{"keepalive", "oddities", "TCP keep-alive probes and their answers"},
	{"midstream-capture", "oddities", "the capture began after the handshake"},
	{"capture-incomplete", "oddities", "receivers acknowledged data that no captured packet carried: the capture itself missed packets"},
	{"snaplen-truncated", "oddities", "the snapshot length cut the payload of segments"},
}

// connRules run on every connection, in catalogue order.
var connRules = []connRule{
	ruleRefused,
	ruleSYNTimeout,
	ruleSYNACKRetrans,
	ruleHandshakeLatency,
	ruleSimultaneousOpen,
	ruleFastOpen,
	ruleECN,
	ruleSYNCookies,
	ruleAcceptThenClose,
	ruleRST,
	ruleNoSocket,
	ruleCloseWaitLeak,
	ruleSimultaneousClose,
	ruleHalfClose,
	ruleRTO,
	ruleTailLossProbe,
	ruleFastRetransmission,
	ruleSpurious,
	rulePacketLoss,
	ruleZeroWindow,
	ruleRwndLimited,
	ruleNoWindowScaling,
	ruleCwndLimited,
	ruleAppLimited,
	ruleNagle,
	rulePMTUBlackhole,
	rulePAWS,
	ruleBadChecksum,
	ruleUrgent,
	ruleKeepalive,
	ruleMidstream,
}

// captureRules run once on the whole capture.
var captureRules = []captureRule{
	ruleCaptureIncomplete,
	ruleSYNFlood,
	ruleTimeWaitPressure,
	ruleScan,
	ruleChecksumOffload,
	ruleSnaplen,
}
