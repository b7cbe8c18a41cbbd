package dissect

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// tcpContext is what the IP layer tells the TCP layer.
type tcpContext struct {
	src, dst netip.Addr
	fragment bool // the first fragment of a fragmented datagram
	lenFixed bool // the IP length field was 0 (segmentation offload)
}

// tcp dissects the TCP header at off, of a segment tcpLen bytes long as
// the IP header states it, then its payload.
func (b *builder) tcp(off, tcpLen int, c tcpContext) {
	b.begin("tcp", "Transmission Control Protocol", off)
	end := min(len(b.data), off+tcpLen)
	if off >= end {
		b.stopErr("tcp", b.malformed("tcp", off, "no TCP header captured"))
		if off == end && off <= len(b.data) {
			// wire.ParseTCP's words for an empty header.
			b.d.Stop.Err = b.malformed("tcp", off, "0 bytes captured, the header needs 20")
			b.d.Stop.Reason = b.d.Stop.Err.Error()
		}
		return
	}
	// Bytes past the IP length are link padding, not TCP.
	b.limit = end
	defer func() { b.limit = 0 }()
	t, err := wire.ParseTCP(b.data[off:end], off)
	whole := err == nil
	if !whole {
		// Cut short: read what was captured through a padded view.
		defer b.stopErr("tcp", asWireError(err, "tcp", off))
		t, _ = wire.ParseTCP(padded(b.data[off:end], 60), off)
		t = t[:60]
	}
	hl := t.HeaderLen()
	flags := t.Flags()
	payloadLen := max(0, tcpLen-hl)
	if hl < wire.TCPMinHeaderLen {
		payloadLen = 0 // unknown: the header length is invalid
	}
	b.end(off + max(hl, wire.TCPMinHeaderLen))

	b.put(b.mk("src_port", "source port", off, 2, utoa(t.SrcPort()), portMeaning(t.SrcPort())))
	b.put(b.mk("dst_port", "destination port", off+2, 2, utoa(t.DstPort()), portMeaning(t.DstPort())))
	b.put(b.mk("seq", "sequence number", off+4, 4, utoa(uint32(t.Seq())), seqMeaning(t.Seq(), flags, payloadLen)))
	b.put(b.mk("ack", "acknowledgment number", off+8, 4, utoa(uint32(t.Ack())), ackMeaning(t.Ack(), flags)))
	b.put(b.mkBits("data_offset", "data offset", off+12, 1, 0, 4, utoa(t.DataOffset()), dataOffsetMeaning(hl)))
	rsv := t.Reserved()
	b.put(b.mkBits("reserved", "reserved", off+12, 1, 4, 3, utoa(rsv),
		choose(rsv == 0, "zero, as RFC 9293 requires", "must be zero (RFC 9293): the sender uses a bit tcplens does not know, or the header is corrupt")))
	if rsv != 0 && b.has(off+12, 1) {
		b.warn(off+12, "TCP reserved bits are 0x%x, not zero", rsv)
	}
	b.put(b.flagsField(off, flags, t.Seq(), payloadLen))
	b.put(b.mk("window", "window", off+14, 2, utoa(t.Window()), windowMeaning(t.Window(), flags)))
	b.tcpChecksum(t, off, tcpLen, hl, c)
	b.put(b.mk("urgent", "urgent pointer", off+18, 2, utoa(t.Urgent()), urgentMeaning(t.Urgent(), flags, t.Seq())))
	b.layer().Summary = fmt.Sprintf("port %d → %d, %s, seq %d", t.SrcPort(), t.DstPort(), flags.Names(), uint32(t.Seq()))
	if flags.Has(wire.ACK) {
		b.layer().Summary += fmt.Sprintf(", ack %d", uint32(t.Ack()))
	}
	b.layer().Summary += fmt.Sprintf(", win %d", t.Window())
	if hl >= wire.TCPMinHeaderLen && hl <= tcpLen {
		b.layer().Summary += fmt.Sprintf(", %s of data", plural(payloadLen, "byte"))
	}

	if hl > 20 && whole {
		b.tcpOptions(t, off, hl, flags)
	}
	if !whole {
		return
	}
	// The order of the checks is wire.Decode's.
	switch {
	case hl < wire.TCPMinHeaderLen:
		b.stopErr("tcp", b.malformed("tcp", off+12, "data offset %d words < minimum 5", t.DataOffset()))
		return
	case hl > tcpLen:
		b.stopErr("tcp", b.malformed("tcp", off+12, "header length %d exceeds the segment length %d the IP header gives", hl, tcpLen))
		return
	case hl > len(t):
		b.stopErr("tcp", b.malformed("tcp", off+len(t), "options cut short by the capture: %d of %d header bytes", len(t), hl))
		return
	}
	b.limit = 0
	b.payload(off+hl, payloadLen, end, flags, t.Seq(), c.lenFixed)
}

func portMeaning(p uint16) string {
	if s, ok := portNames[p]; ok {
		return s
	}
	if p >= 32768 {
		return "an ephemeral port: most likely the client's end"
	}
	if p == 0 {
		return "port 0 is reserved: no real connection uses it"
	}
	return ""
}

func seqMeaning(s seq.Num, f wire.Flags, payload int) string {
	var m string
	if f.Has(wire.SYN) {
		m = fmt.Sprintf("the initial sequence number (ISN) the sender chose; the SYN itself takes it, so the first data byte is %d", uint32(s.Add(1)))
	} else {
		m = "raw; a relative number needs the ISN from this connection's SYN, which one frame alone does not give"
	}
	n := uint32(payload)
	if f.Has(wire.FIN) {
		n++
	}
	if !f.Has(wire.SYN) {
		switch {
		case payload > 0 && f.Has(wire.FIN):
			m += fmt.Sprintf("; the data is bytes %d to %d and the FIN takes %d, so the next is %d", uint32(s), uint32(s.Add(uint32(payload)-1)), uint32(s.Add(uint32(payload))), uint32(s.Add(n)))
		case payload > 0:
			m += fmt.Sprintf("; the data is bytes %d to %d, so the next is %d", uint32(s), uint32(s.Add(n-1)), uint32(s.Add(n)))
		case f.Has(wire.FIN):
			m += fmt.Sprintf("; the FIN takes this number, so the next is %d", uint32(s.Add(1)))
		}
	} else if payload > 0 {
		m += fmt.Sprintf("; the %s carried on this SYN are bytes %d to %d", plural(payload, "byte"), uint32(s.Add(1)), uint32(s.Add(uint32(payload))))
	}
	return m
}

func ackMeaning(a seq.Num, f wire.Flags) string {
	switch {
	case !f.Has(wire.ACK) && a == 0:
		return "not meaningful: ACK is not set"
	case !f.Has(wire.ACK):
		return "not meaningful: ACK is not set, so the receiver ignores it (a nonzero value is harmless, though RFC 9293 senders put 0)"
	case f.Has(wire.SYN):
		return fmt.Sprintf("acknowledges the peer's SYN: the peer's ISN was %d, and %d is the next byte this end expects", uint32(a-1), uint32(a))
	case f.Has(wire.RST):
		return "with ACK on a RST: the RST answers a segment that ended just before this number"
	}
	return fmt.Sprintf("the sender has received every byte before %d and expects %d next (raw; relative numbers need the peer's ISN)", uint32(a), uint32(a))
}

func dataOffsetMeaning(hl int) string {
	switch {
	case hl < 20:
		return fmt.Sprintf("%s %d-byte header, below the minimum of 20 (data offset 5): malformed", article(hl), hl)
	case hl == 20:
		return "a 20-byte header, no options"
	}
	return fmt.Sprintf("%s %d-byte header, so %d bytes of options", article(hl), hl, hl-20)
}

// flagsField makes the flags field and one sub-field per control bit,
// saying what each means for this segment (RFC 9293 section 3.1, RFC 3168
// for CWR and ECE, RFC 9768 for AE).
func (b *builder) flagsField(off int, f wire.Flags, s seq.Num, payload int) Field {
	fl := b.mkBits("flags", "flags", off+12, 2, 7, 9, f.Names(), segmentKind(f, payload))
	syn, ack := f.Has(wire.SYN), f.Has(wire.ACK)
	type bitInfo struct {
		id, label  string
		flag       wire.Flags
		off, bit   int
		set, unset string
	}
	ece := "set: the receiver saw a packet marked Congestion Experienced and asks the sender to slow down (RFC 3168)"
	cwr := "set: the sender has reduced its congestion window in answer to ECE (RFC 3168)"
	switch {
	case syn && !ack && f.Has(wire.ECE|wire.CWR) && f.Has(wire.AE):
		ece = "set: with CWR and AE on a SYN, asks for Accurate ECN (RFC 9768)"
		cwr = ece
	case syn && !ack && f.Has(wire.ECE|wire.CWR):
		ece = "set: with CWR on a SYN, asks to use ECN (an ECN-setup SYN, RFC 3168)"
		cwr = "set: with ECE on a SYN, asks to use ECN (an ECN-setup SYN, RFC 3168)"
	case syn && ack && f.Has(wire.ECE) && !f.Has(wire.CWR):
		ece = "set: on a SYN-ACK without CWR, agrees to use ECN (RFC 3168)"
	case syn && ack && f.Any(wire.AE|wire.CWR|wire.ECE):
		ece = "set: on a SYN-ACK, part of the Accurate ECN handshake (RFC 9768)"
		cwr = ece
	}
	ae := "set: Accurate ECN (RFC 9768): with CWR and ECE, the three bits count CE-marked packets (the ACE field)"
	if syn && !ack {
		ae = "set: on a SYN with CWR and ECE, asks for Accurate ECN (RFC 9768)"
	}
	psh := "set: the receiver should hand the data to the application now rather than wait for more"
	if payload == 0 {
		psh = "set on a segment without data: it has no effect"
	}
	urg := "set: the urgent pointer is meaningful; the segment carries urgent (out-of-band) data, which almost no application uses"
	rst := "set: the sender aborts the connection; the receiver drops it at once if the sequence number is in its window (RFC 5961), losing any unread data"
	synm := fmt.Sprintf("set: the sender opens a connection; %d is its initial sequence number and the SYN takes one sequence number", uint32(s))
	if ack && syn {
		synm = fmt.Sprintf("set, with ACK: the sender accepts the connection; %d is its initial sequence number", uint32(s))
	}
	fin := "set: the sender has no more data to send and closes its direction; the FIN takes one sequence number, and data may still flow the other way"
	ackm := "set: the acknowledgment number is meaningful; every segment but the first SYN carries it"
	ackNot := "not set: the acknowledgment number is ignored"
	if syn {
		ackNot = "not set: the first SYN of a connection acknowledges nothing"
	}
	bits := []bitInfo{
		{"ae", "AE", wire.AE, off + 12, 7, ae, "not set (accurate ECN)"},
		{"cwr", "CWR", wire.CWR, off + 13, 0, cwr, "not set (congestion window reduced)"},
		{"ece", "ECE", wire.ECE, off + 13, 1, ece, "not set (ECN-Echo)"},
		{"urg", "URG", wire.URG, off + 13, 2, urg, "not set: no urgent data, the urgent pointer is ignored"},
		{"ack", "ACK", wire.ACK, off + 13, 3, ackm, ackNot},
		{"psh", "PSH", wire.PSH, off + 13, 4, psh, "not set (push)"},
		{"rst", "RST", wire.RST, off + 13, 5, rst, "not set (reset)"},
		{"syn", "SYN", wire.SYN, off + 13, 6, synm, "not set: not a connection-opening segment"},
		{"fin", "FIN", wire.FIN, off + 13, 7, fin, "not set (finish)"},
	}
	for _, bi := range bits {
		set := f.Has(bi.flag)
		sub(&fl, b.mkBits(bi.id, bi.label, bi.off, 1, bi.bit, 1, bit(set), choose(set, bi.set, bi.unset)))
	}
	return fl
}

// segmentKind says in words what a combination of flags is.
func segmentKind(f wire.Flags, payload int) string {
	core := f & (wire.SYN | wire.ACK | wire.RST | wire.FIN)
	var s string
	switch core {
	case wire.SYN:
		s = "a connection request: the first step of the three-way handshake"
	case wire.SYN | wire.ACK:
		s = "a connection accepted: the second step of the three-way handshake"
	case wire.RST:
		s = "a reset without ACK: typically the answer to a segment for a connection that does not exist"
	case wire.RST | wire.ACK:
		s = "a reset: the connection is aborted (a SYN answered this way means the port is closed)"
	case wire.FIN | wire.ACK, wire.FIN:
		s = "a close: the sender is done sending"
	case wire.ACK:
		if payload > 0 {
			s = "data, with an acknowledgment"
		} else {
			s = "a pure acknowledgment (or a window update or keep-alive, which only the connection's history tells apart)"
		}
	case 0:
		s = "no SYN, ACK, RST or FIN: not a segment any TCP state accepts (a scan, such as nmap's NULL or Xmas scan, or corruption)"
	default:
		s = "an unusual combination: " + strings.ToLower(f.Names())
	}
	if core&(wire.SYN|wire.FIN) != 0 && payload > 0 {
		s += fmt.Sprintf(", carrying %s of data", plural(payload, "byte"))
	}
	return s
}

func windowMeaning(w uint16, f wire.Flags) string {
	switch {
	case f.Has(wire.RST):
		return "ignored on a RST"
	case f.Has(wire.SYN):
		return fmt.Sprintf("the sender can take %d bytes; a SYN's window is never scaled (RFC 7323 section 2.2), so this is exact; a window scale option here applies from the next segment on", w)
	case w == 0:
		return "a zero window: the sender's receive buffer is full; the peer must stop sending and probe until it opens"
	}
	return "raw value; the scale factor the two SYNs negotiated multiplies it (window × 2^shift), which one frame alone does not give"
}

func urgentMeaning(u uint16, f wire.Flags, s seq.Num) string {
	switch {
	case f.Has(wire.URG):
		return fmt.Sprintf("the urgent data ends just before sequence number %d (seq + %d)", uint32(s.Add(uint32(u))), u)
	case u == 0:
		return "meaningful only with URG, which is not set"
	}
	return "nonzero but meaningless: URG is not set, so the receiver ignores it"
}

// tcpChecksum adds the checksum field, verified against the pseudo-header
// (RFC 9293 section 3.1).
func (b *builder) tcpChecksum(t wire.TCP, off, tcpLen, hl int, c tcpContext) {
	ck := Checksum{Layer: "tcp", Offset: off + 16, Value: t.Checksum()}
	// An IP length beyond the frame's wire length is wrong, not truncation:
	// the bytes never existed. As tshark does, verify what the wire held.
	segLen, short := tcpLen, ""
	if w := b.frame.Length - off; w < tcpLen && w >= wire.TCPMinHeaderLen {
		segLen = w
		short = fmt.Sprintf(" (over the %d bytes the frame held on the wire; the IP header claims %d)", w, tcpLen)
	}
	switch {
	case c.fragment:
		ck.Reason = "this packet is the first IP fragment: the checksum covers the whole segment, whose rest travels in later fragments"
	case off+segLen > len(b.data):
		ck.Reason = fmt.Sprintf("only %d of the segment's %d bytes were captured", max(0, len(b.data)-off), segLen)
		if b.d.Frame.SnapLen > 0 && len(b.data) >= b.d.Frame.SnapLen {
			ck.Reason += fmt.Sprintf(" (the snaplen is %d)", b.d.Frame.SnapLen)
		}
		ck.Reason += ", and the checksum covers all of them"
	default:
		want, ok := wire.TCPChecksum(c.src, c.dst, b.data[off:off+segLen])
		ck.Computed = want
		ck.Status = Incorrect
		if ok {
			ck.Status = Correct
			ck.Computed = ck.Value
		}
	}
	var v, m string
	switch ck.Status {
	case Correct:
		v, m = "correct", "verified over the pseudo-header (addresses, protocol, length), the header and the data"+short
	case Incorrect:
		v = fmt.Sprintf("incorrect, should be 0x%04x", ck.Computed) + short
		// Linux leaves the folded pseudo-header sum in the field for the
		// NIC to complete (CHECKSUM_PARTIAL).
		partial := wire.Fold(wire.PseudoHeaderSum(c.src, c.dst, wire.ProtoTCP, segLen))
		switch {
		case isSLL(b.linkHdr) && b.linkHdr.PacketType == wire.PacketOutgoing:
			ck.Reason = "the frame was sent by the capturing host, which captures it before the NIC computes the checksum: checksum offload is the likely cause, not corruption"
		case c.lenFixed:
			ck.Reason = "the IP length is 0, so the capturing host offloads segmentation and checksums to the NIC: checksum offload is the cause"
		case ck.Value == partial || ck.Value == ^partial:
			ck.Reason = "the field holds only the pseudo-header sum, which the sender leaves for the NIC to complete: checksum offload on the capturing host is the likely cause"
		case ck.Value == 0:
			ck.Reason = "an all-zero field is what a sender leaves for the NIC to fill in: checksum offload on the capturing host is the likely cause"
		}
		if ck.Reason != "" {
			ck.Offload = true
			m = ck.Reason
		} else {
			m = "the segment was corrupted on the way or altered by a middlebox that did not update it; the receiver drops it silently"
		}
	default:
		v, m = "unverified", ck.Reason
	}
	if b.put(b.mk("checksum", "checksum", off+16, 2, v, m)) {
		b.d.Checksums = append(b.d.Checksums, ck)
		if ck.Status == Incorrect {
			msg := fmt.Sprintf("TCP checksum 0x%04x is incorrect, should be 0x%04x", ck.Value, ck.Computed)
			if ck.Offload {
				msg += " (checksum offload is the likely cause)"
			}
			b.warn(off+16, "%s", msg)
		}
	}
}

// payload adds the TCP payload layer: n bytes as the IP header implies,
// starting at off, captured up to end.
func (b *builder) payload(off, n, end int, f wire.Flags, s seq.Num, lenFixed bool) {
	b.begin("payload", "TCP payload", off)
	have := max(0, end-off)
	b.end(off + have)
	if n == 0 {
		b.put(b.mk("length", "length", off, 0, "0 bytes", "this segment carries no data"))
		b.layer().Summary = "no data"
		return
	}
	lm := "the IP header's length minus the IP and TCP headers"
	if lenFixed {
		lm = "the frame's length minus the IP and TCP headers, since the IP length is 0"
	}
	switch {
	case f.Has(wire.SYN):
		lm += "; data on a SYN is TCP Fast Open: the server takes it only with a valid cookie, otherwise it acknowledges the SYN alone and the client sends the data again"
	case f.Has(wire.RST):
		lm += "; data on a RST is diagnostic text (RFC 9293 section 3.5.3), never delivered to the application"
	}
	b.put(b.mk("length", "length", off, 0, plural(n, "byte"), lm))
	cm := "all of it"
	if have < n {
		cm = fmt.Sprintf("%d of %d: the capture kept only the start of the frame", have, n)
		if b.d.Frame.SnapLen > 0 && len(b.data) >= b.d.Frame.SnapLen {
			cm += fmt.Sprintf(" (snaplen %d)", b.d.Frame.SnapLen)
		}
	}
	b.put(b.mk("captured", "captured", off, 0, plural(have, "byte"), cm))
	if have > 0 {
		k := min(have, 64)
		if f.Has(wire.SYN) {
			s++ // the SYN takes the first sequence number
		}
		p := b.mk("preview", "preview", off, k, fmt.Sprintf("first %s", plural(k, "byte")),
			fmt.Sprintf("sequence numbers %d to %d", uint32(s), uint32(s.Add(uint32(k-1)))))
		p.Dump = true
		b.put(p)
	}
	b.layer().Summary = plural(n, "byte")
	if have < n {
		b.layer().Summary += fmt.Sprintf(", %d captured", have)
	}
}
