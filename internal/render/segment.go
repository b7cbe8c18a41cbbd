package render

import (
	"strconv"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/event"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// AppendAnnotation appends what `read --annotate` adds after tcpdump's
// line: " | client STATE server STATE | analysis". A state the segment
// changed shows what it was, "(was SYN_RECV)"; a correction is marked,
// and an RST forged in an end's name, which leaves it where it was, too.
func AppendAnnotation(b []byte, s *analyze.Segment) []byte {
	if s.Conn == nil {
		b = append(b, " | not analysed: "...)
		if s.Err != nil {
			b = append(b, s.Err.Error()...)
		}
		return b
	}
	c := s.Conn
	b = append(b, " | client "...)
	b = appendState(b, &c.Ends[c.Client], s, c.Client)
	b = append(b, " server "...)
	b = appendState(b, &c.Ends[1-c.Client], s, 1-c.Client)
	r := s.Result
	if !r.Analysis.Empty() {
		b = append(b, " | "...)
		b = AppendAnalysis(b, r)
	}
	if s.Err != nil {
		b = append(b, " | "...)
		b = append(b, s.Err.Error()...)
	}
	return b
}

func appendState(b []byte, e *tcp.Endpoint, s *analyze.Segment, idx int) []byte {
	b = append(b, e.State.String()...)
	sender := idx == s.End
	var first *tcp.Change
	corrected := false
	for i := range s.Result.Changes {
		ch := &s.Result.Changes[i]
		if ch.Sender != sender {
			continue
		}
		if first == nil {
			first = ch
		}
		corrected = corrected || ch.Correction
	}
	if first != nil && first.From != e.State {
		b = append(b, " (was "...)
		b = append(b, first.From.String()...)
		if corrected {
			b = append(b, ", corrected"...)
		}
		b = append(b, ')')
	} else if first != nil && !corrected && s.Seg != nil && s.Seg.Flags.Has(wire.RST) {
		// It stays where it was: the RST was forged in its name.
		b = append(b, " (RST not its own)"...)
	}
	return b
}

// AppendAnalysis appends the analysis of a segment in words: each kind's
// name, with the frame and numbers it refers to.
func AppendAnalysis(b []byte, r *tcp.Result) []byte {
	first := true
	retransKind := r.Analysis.Has(event.FastRetransmission) || r.Analysis.Has(event.RTORetransmission) ||
		r.Analysis.Has(event.TailLossProbe) || r.Analysis.Has(event.SYNRetransmission) ||
		r.Analysis.Has(event.SYNACKRetransmission) || r.Analysis.Has(event.FINRetransmission) ||
		r.Analysis.Has(event.SpuriousRetransmission)
	for _, k := range r.Analysis.Kinds() {
		if k == event.Retransmission && retransKind {
			continue // the kind says it, with more
		}
		if !first {
			b = append(b, ", "...)
		}
		first = false
		b = append(b, k.String()...)
		switch k {
		case event.OutOfOrder:
			if r.SentBefore.Frame != 0 {
				b = append(b, ": "...)
				b = r.SentBefore.AppendText(b)
				b = append(b, ", an original that came late"...)
			}
		case event.DuplicateAck:
			b = append(b, " #"...)
			b = strconv.AppendInt(b, int64(r.DupAckNum), 10)
			b = append(b, " of frame "...)
			b = strconv.AppendInt(b, int64(r.DupAckFrame), 10)
		case event.Retransmission, event.FastRetransmission, event.RTORetransmission, event.TailLossProbe,
			event.SYNRetransmission, event.SYNACKRetransmission, event.FINRetransmission, event.SpuriousRetransmission:
			if r.Attempt > 2 {
				b = append(b, " #"...)
				b = strconv.AppendInt(b, int64(r.Attempt-1), 10)
			}
			if r.RetransFrame != 0 {
				b = append(b, " of frame "...)
				b = strconv.AppendInt(b, int64(r.RetransFrame), 10)
				b = append(b, " after "...)
				b = AppendDuration(b, r.RetransDelay)
				if r.Attempt > 2 {
					b = append(b, " ("...)
					b = AppendDuration(b, r.SincePrev)
					b = append(b, " after the previous)"...)
				}
			}
			if k == event.RTORetransmission || k == event.TailLossProbe || k == event.FastRetransmission {
				b = append(b, " (RTO "...)
				b = AppendDuration(b, r.RTO)
				if r.SRTT > 0 {
					b = append(b, ", SRTT "...)
					b = AppendDuration(b, r.SRTT)
				}
				b = append(b, ')')
			}
		}
	}
	return b
}

// AppendDuration appends d with three significant digits in the unit that
// reads best: "412 ms", "38.2 ms", "1.02 s", "85.0 µs".
func AppendDuration(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	v, unit := float64(d), "ns"
	switch {
	case d >= time.Second:
		v, unit = v/1e9, "s"
	case d >= time.Millisecond:
		v, unit = v/1e6, "ms"
	case d >= time.Microsecond:
		v, unit = v/1e3, "µs"
	}
	prec := 0
	switch {
	case v < 10:
		prec = 2
	case v < 100:
		prec = 1
	}
	if unit == "ns" {
		prec = 0
	}
	b = strconv.AppendFloat(b, v, 'f', prec, 64)
	b = append(b, ' ')
	return append(b, unit...)
}

// AppendSegmentJSON appends the JSON object `read --json` prints for a
// segment, and a newline. The field names are API.
func AppendSegmentJSON(b []byte, s *analyze.Segment) []byte {
	f, seg, r := s.Frame, s.Seg, s.Result
	b = append(b, `{"frame":`...)
	b = strconv.AppendInt(b, int64(f.Number), 10)
	b = append(b, `,"time":`...)
	b = appendEpoch(b, f.Time)
	if s.Conn != nil {
		b = append(b, `,"conn":`...)
		b = strconv.AppendInt(b, int64(s.Conn.ID), 10)
		b = append(b, `,"dir":"`...)
		b = append(b, s.Dir.String()...)
		b = append(b, '"')
	}
	if seg.TCP != nil {
		b = append(b, `,"src":"`...)
		b = appendAddrPort(b, seg.Src)
		b = append(b, `","dst":"`...)
		b = appendAddrPort(b, seg.Dst)
		b = append(b, `","flags":"`...)
		b = seg.Flags.AppendTcpdump(b)
		b = append(b, `","seq":`...)
		b = strconv.AppendUint(b, uint64(r.RelSeq), 10)
		b = append(b, `,"ack":`...)
		b = strconv.AppendUint(b, uint64(r.RelAck), 10)
		b = append(b, `,"seq_raw":`...)
		b = strconv.AppendUint(b, uint64(seg.Seq), 10)
		b = append(b, `,"ack_raw":`...)
		b = strconv.AppendUint(b, uint64(seg.Ack), 10)
		b = append(b, `,"len":`...)
		b = strconv.AppendInt(b, int64(seg.PayloadLen), 10)
		b = append(b, `,"win":`...)
		b = strconv.AppendUint(b, uint64(seg.Window), 10)
		b = append(b, `,"win_scaled":`...)
		if r.WindowScaled >= 0 {
			b = strconv.AppendInt(b, r.WindowScaled, 10)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"options":`...)
		b = appendOptionsJSON(b, &seg.Options, seg)
	}
	b = append(b, `,"analysis":[`...)
	for i, k := range r.Analysis.Kinds() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k.String()...)
		b = append(b, '"')
	}
	b = append(b, ']')
	if r.Analysis.Has(event.DuplicateAck) {
		b = append(b, `,"dup_ack":{"num":`...)
		b = strconv.AppendInt(b, int64(r.DupAckNum), 10)
		b = append(b, `,"of":`...)
		b = strconv.AppendInt(b, int64(r.DupAckFrame), 10)
		b = append(b, '}')
	}
	if r.RetransFrame != 0 {
		b = append(b, `,"retransmits":{"frame":`...)
		b = strconv.AppendInt(b, int64(r.RetransFrame), 10)
		b = append(b, `,"after":`...)
		b = appendSeconds(b, r.RetransDelay)
		if r.Attempt > 0 {
			b = append(b, `,"attempt":`...)
			b = strconv.AppendInt(b, int64(r.Attempt), 10)
			b = append(b, `,"since_previous":`...)
			b = appendSeconds(b, r.SincePrev)
		}
		if r.RTO > 0 {
			b = append(b, `,"rto":`...)
			b = appendSeconds(b, r.RTO)
		}
		if r.SRTT > 0 {
			b = append(b, `,"srtt":`...)
			b = appendSeconds(b, r.SRTT)
		}
		b = append(b, '}')
	}
	if o := r.SentBefore; o.Frame != 0 {
		b = append(b, `,"sent_before":{"frame":`...)
		b = strconv.AppendInt(b, int64(o.Frame), 10)
		b = append(b, `,"by":"`...)
		b = append(b, o.By.Name()...)
		b = append(b, '"')
		if o.By == tcp.ClockRoundTrip {
			b = append(b, `,"after":`...)
			b = appendSeconds(b, o.After)
			b = append(b, `,"half_rtt":`...)
			b = appendSeconds(b, o.Floor)
		} else {
			b = append(b, `,"own":`...)
			b = strconv.AppendUint(b, uint64(o.Own), 10)
			b = append(b, `,"theirs":`...)
			b = strconv.AppendUint(b, uint64(o.Theirs), 10)
		}
		b = append(b, '}')
	}
	if r.AckedFrame != 0 {
		b = append(b, `,"acks_frame":`...)
		b = strconv.AppendInt(b, int64(r.AckedFrame), 10)
		b = append(b, `,"ack_rtt":`...)
		b = appendSeconds(b, r.AckRTT)
	}
	if r.RTTSample > 0 {
		b = append(b, `,"rtt":`...)
		b = appendSeconds(b, r.RTTSample)
	}
	if r.BytesInFlight >= 0 {
		b = append(b, `,"bytes_in_flight":`...)
		b = strconv.AppendInt(b, r.BytesInFlight, 10)
	}
	if s.Conn != nil {
		c := s.Conn
		b = append(b, `,"state_after":{"client":"`...)
		b = append(b, c.ClientEnd().State.String()...)
		b = append(b, `","server":"`...)
		b = append(b, c.ServerEnd().State.String()...)
		b = append(b, `"}`...)
		if len(r.Changes) > 0 {
			b = append(b, `,"changes":[`...)
			for i, ch := range r.Changes {
				if i > 0 {
					b = append(b, ',')
				}
				who := "server"
				if (ch.Sender && s.End == c.Client) || (!ch.Sender && s.End != c.Client) {
					who = "client"
				}
				b = append(b, `{"end":"`...)
				b = append(b, who...)
				b = append(b, `","from":"`...)
				b = append(b, ch.From.String()...)
				b = append(b, `","to":"`...)
				b = append(b, ch.State.String()...)
				b = append(b, `","reason":`...)
				b = appendJSONString(b, ch.Reason.String())
				if ch.Correction {
					b = append(b, `,"correction":true`...)
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
	}
	if s.Err != nil {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, s.Err.Error())
	}
	return append(b, "}\n"...)
}

func appendOptionsJSON(b []byte, o *wire.Options, s *wire.Segment) []byte {
	b = append(b, '{')
	n := 0
	key := func(k string) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
	}
	if o.Has(wire.HasMSS) {
		key("mss")
		b = strconv.AppendUint(b, uint64(o.MSS), 10)
	}
	if o.Has(wire.HasWindowScale) {
		key("wscale")
		b = strconv.AppendUint(b, uint64(o.WindowScale), 10)
	}
	if o.Has(wire.HasSACKPermitted) {
		key("sack_permitted")
		b = append(b, "true"...)
	}
	if o.Has(wire.HasSACK) {
		key("sack")
		b = append(b, '[')
		for i, r := range o.SACKBlocks() {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendUint(b, uint64(r.Start), 10)
			b = append(b, ',')
			b = strconv.AppendUint(b, uint64(r.End), 10)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	if o.Has(wire.HasTimestamps) {
		key("ts")
		b = append(b, `{"val":`...)
		b = strconv.AppendUint(b, uint64(o.TSVal), 10)
		b = append(b, `,"ecr":`...)
		b = strconv.AppendUint(b, uint64(o.TSEcr), 10)
		b = append(b, '}')
	}
	if o.Has(wire.HasFastOpen) {
		key("tfo_cookie_len")
		b = strconv.AppendInt(b, int64(o.FastOpenCookie), 10)
	}
	if o.Has(wire.HasMPTCP) {
		key("mptcp")
		b = append(b, "true"...)
	}
	if o.Has(wire.HasMD5) {
		key("md5")
		b = append(b, "true"...)
	}
	if o.Has(wire.HasAO) {
		key("tcp_ao")
		b = append(b, "true"...)
	}
	if o.Has(wire.HasUTO) {
		key("uto")
		b = strconv.AppendUint(b, uint64(o.UTO), 10)
	}
	if o.Has(wire.HasAccECN) {
		key("accecn")
		b = append(b, "true"...)
	}
	if o.Has(wire.HasUnknown) {
		key("unknown")
		b = append(b, "true"...)
	}
	if o.Has(wire.HasMalformed) {
		key("malformed")
		b = append(b, "true"...)
	}
	return append(b, '}')
}

// appendEpoch appends seconds since the epoch with nine decimals, as
// tshark's frame.time_epoch.
func appendEpoch(b []byte, t pcap.Time) []byte {
	sec, nsec := t.Unix()
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.')
	s := strconv.FormatInt(nsec+1e9, 10)
	return append(b, s[1:]...)
}

// appendSeconds appends a duration in seconds with microsecond precision.
func appendSeconds(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, d.Seconds(), 'f', 6, 64)
}
