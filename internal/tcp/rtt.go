package tcp

import "time"

// Linux's bounds on the retransmission timeout (TCP_RTO_MIN, TCP_RTO_MAX)
// and its initial value (TCP_TIMEOUT_INIT). RFC 6298 (2.4) asks for a
// 1 s minimum; Linux uses 200 ms, and tcplens predicts Linux.
const (
	LinuxRTOMin  = 200 * time.Millisecond
	LinuxRTOMax  = 120 * time.Second
	LinuxRTOInit = time.Second
)

// RTT is one sender's round-trip estimator, RFC 6298 with Karn's rule: a
// sample is taken only from a segment that was sent once. Samples from
// the timestamp echo (RFC 7323) are exempt from Karn's rule, because the
// echoed TSval names the transmission that was acknowledged.
type RTT struct {
	SRTT    time.Duration // smoothed round-trip time; 0 before the first sample
	RTTVar  time.Duration // round-trip variation
	RTO     time.Duration // retransmission timeout the sender would compute, Linux's bounds applied
	Min     time.Duration // smallest sample seen
	Latest  time.Duration // the last sample
	Samples int
}

// Sample adds a measurement r.
func (e *RTT) Sample(r time.Duration) {
	if r <= 0 {
		return
	}
	if e.Samples == 0 {
		// RFC 6298 (2.2): SRTT <- R, RTTVAR <- R/2.
		e.SRTT = r
		e.RTTVar = r / 2
		e.Min = r
	} else {
		// RFC 6298 (2.3): RTTVAR <- (1 - 1/4) RTTVAR + 1/4 |SRTT - R'|,
		// then SRTT <- (1 - 1/8) SRTT + 1/8 R'.
		d := e.SRTT - r
		if d < 0 {
			d = -d
		}
		e.RTTVar = (3*e.RTTVar + d) / 4
		e.SRTT = (7*e.SRTT + r) / 8
		e.Min = min(e.Min, r)
	}
	e.Latest = r
	e.Samples++
	// RFC 6298 (2.3): RTO <- SRTT + max(G, K*RTTVAR) with K = 4; Linux's
	// clock granularity is fine enough to drop G, and it floors the
	// variance term at TCP_RTO_MIN rather than the whole RTO at 1 s.
	e.RTO = e.SRTT + max(4*e.RTTVar, LinuxRTOMin)
	e.RTO = min(e.RTO, LinuxRTOMax)
}

// CurrentRTO is the timeout the sender would use now: the estimate, or
// the initial 1 s before any sample (RFC 6298 (2.1)).
func (e *RTT) CurrentRTO() time.Duration {
	if e.Samples == 0 {
		return LinuxRTOInit
	}
	return e.RTO
}
