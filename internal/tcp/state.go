package tcp

// State is an endpoint's state in the RFC 9293 state machine, as an
// observer of the capture infers it, plus Unknown for a side the capture
// has said nothing about yet.
type State uint8

// The states, in the order of RFC 9293 section 3.3.2.
const (
	Unknown State = iota
	Closed
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	Closing
	TimeWait
	CloseWait
	LastAck
)

var linuxNames = [...]string{
	Unknown:     "UNKNOWN",
	Closed:      "CLOSED",
	Listen:      "LISTEN",
	SynSent:     "SYN_SENT",
	SynReceived: "SYN_RECV",
	Established: "ESTABLISHED",
	FinWait1:    "FIN_WAIT1",
	FinWait2:    "FIN_WAIT2",
	Closing:     "CLOSING",
	TimeWait:    "TIME_WAIT",
	CloseWait:   "CLOSE_WAIT",
	LastAck:     "LAST_ACK",
}

var rfcNames = [...]string{
	Unknown:     "UNKNOWN",
	Closed:      "CLOSED",
	Listen:      "LISTEN",
	SynSent:     "SYN-SENT",
	SynReceived: "SYN-RECEIVED",
	Established: "ESTABLISHED",
	FinWait1:    "FIN-WAIT-1",
	FinWait2:    "FIN-WAIT-2",
	Closing:     "CLOSING",
	TimeWait:    "TIME-WAIT",
	CloseWait:   "CLOSE-WAIT",
	LastAck:     "LAST-ACK",
}

// String names the state as the Linux kernel does in ss and /proc/net/tcp
// (SYN_SENT, FIN_WAIT1), the spelling tcplens prints everywhere.
func (s State) String() string {
	if int(s) < len(linuxNames) {
		return linuxNames[s]
	}
	return "INVALID"
}

// RFC names the state as RFC 9293 spells it (SYN-SENT, FIN-WAIT-1).
func (s State) RFC() string {
	if int(s) < len(rfcNames) {
		return rfcNames[s]
	}
	return "INVALID"
}

// Synchronized reports whether the state is one of RFC 9293's synchronized
// states, where both ISNs are known and sequence numbers are checked.
func (s State) Synchronized() bool {
	return s >= Established
}

// Open reports whether the endpoint can still send data: it has not sent
// its FIN.
func (s State) Open() bool {
	return s == Established || s == CloseWait || s == SynReceived
}
