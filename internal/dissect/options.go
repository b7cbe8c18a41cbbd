package dissect

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// optCtx is what an option's meaning depends on.
type optCtx struct {
	flags wire.Flags
	ack   seq.Num
	ipv6  bool
}

// tcpOptions adds the options area of a TCP header as one field with a
// sub-field per option, walked with wire's OptionIter. Each option's value
// bytes (wire.Option.Data) are decoded here: wire decodes options only into
// the per-segment summary of wire.Options, not per TLV.
func (b *builder) tcpOptions(t wire.TCP, off, hl int, flags wire.Flags) {
	base := off + wire.TCPMinHeaderLen
	area := t.Options()
	n := hl - wire.TCPMinHeaderLen
	c := optCtx{flags: flags, ack: t.Ack()}
	for _, l := range b.d.Layers {
		if l.ID == "ipv6" {
			c.ipv6 = true
		}
	}
	val := plural(n, "byte")
	if len(area) < n {
		val = fmt.Sprintf("%s, %d captured", val, len(area))
	}
	group := b.mk("options", "options", base, len(area), val, "")
	var names []string
	it := t.OptionIter(base)
	next := 0
	for {
		o, ok := it.Next()
		if !ok {
			break
		}
		f := b.option(o, base+o.Offset, c)
		sub(&group, f)
		if o.Kind != wire.OptNOP && o.Kind != wire.OptEOL {
			names = append(names, f.Label)
		}
		next = o.Offset + o.Len
		if o.Kind == wire.OptEOL {
			break
		}
	}
	if err := it.Err(); err != nil {
		werr := asWireError(err, "tcp option", base+next)
		rest := len(area) - next
		mf := b.mk("malformed", "malformed option", base+next, rest, fmt.Sprintf("kind %d", area[next]),
			werr.Msg()+": receivers stop reading the options here")
		sub(&mf, b.mk("kind", "kind", base+next, 1, fmt.Sprintf("%d (%s)", area[next], tcpOptionName(area[next])), ""))
		if rest > 1 {
			sub(&mf, b.mk("length", "length", base+next+1, 1, utoa(area[next+1]), ""))
		}
		sub(&group, mf)
		b.warn(werr.Offset, "%s", werr.Error())
		names = append(names, "malformed")
	} else if next < len(area) {
		rest := area[next:]
		zero := true
		for _, c := range rest {
			zero = zero && c == 0
		}
		sub(&group, b.mk("padding", "padding", base+next, len(rest), plural(len(rest), "byte"),
			choose(zero, "after the end of the option list: zeros, as they should be", "after the end of the option list: should be zeros, receivers ignore them")))
	}
	switch {
	case len(area) == 0:
		group.Meaning = "not captured"
	case len(names) == 0:
		group.Meaning = "padding only"
	default:
		group.Meaning = strings.Join(names, ", ")
	}
	b.put(group)
}

// option makes the field of one option at frame offset p.
func (b *builder) option(o wire.Option, p int, c optCtx) Field {
	name := tcpOptionName(o.Kind)
	f := b.mk(optionID(o), tcpOptionLabel(o.Kind), p, o.Len, "", "")
	switch o.Kind {
	case wire.OptEOL:
		f.Value = "kind 0"
		f.Meaning = "end of the option list: the rest of the options area is padding"
		return f
	case wire.OptNOP:
		f.Value = "kind 1"
		f.Meaning = "no operation: padding that aligns the next option"
		return f
	}
	sub(&f, b.mk("kind", "kind", p, 1, utoa(o.Kind), name))
	sub(&f, b.mk("length", "length", p+1, 1, itoa(o.Len), "kind and length bytes included"))
	d := o.Data
	v := p + 2 // frame offset of the value
	bad := func(want string) {
		f.Value = "malformed"
		f.Meaning = fmt.Sprintf("length %d, but %s: receivers ignore it", o.Len, want)
		b.warn(p, "TCP option %s at byte %d: length %d, %s", name, p, o.Len, want)
		if len(d) > 0 {
			sub(&f, b.mk("data", "data", v, len(d), fmt.Sprintf("%x", d), ""))
		}
	}
	syn := c.flags.Has(wire.SYN)
	onlySYN := func() {
		if !syn {
			f.Meaning += "; it belongs on a SYN only, so the receiver ignores it here"
		}
	}
	switch o.Kind {
	case wire.OptMSS:
		if len(d) != 2 {
			bad("an MSS option is 4 bytes")
			break
		}
		mss := binary.BigEndian.Uint16(d)
		f.Value = utoa(mss)
		hdr, ipName := 40, "IPv4"
		if c.ipv6 {
			hdr, ipName = 60, "IPv6"
		}
		f.Meaning = fmt.Sprintf("the largest payload this end accepts in one segment (an MTU of %d less %d bytes of %s and TCP headers)", int(mss)+hdr, hdr, ipName)
		onlySYN()
		sub(&f, b.mk("mss", "MSS", v, 2, utoa(mss), "bytes"))
	case wire.OptWindowScale:
		if len(d) != 1 {
			bad("a window scale option is 3 bytes")
			break
		}
		s := d[0]
		f.Value = "shift " + utoa(s)
		eff := min(s, 14)
		f.Meaning = fmt.Sprintf("this end's windows count in units of %d bytes (up to %d bytes); used only if both SYNs carry the option (RFC 7323)", 1<<eff, 65535<<eff)
		if s > 14 {
			f.Meaning = "above the maximum of 14 (RFC 7323): the receiver uses 14, units of 16384 bytes"
		}
		onlySYN()
		sub(&f, b.mk("shift", "shift count", v, 1, utoa(s), fmt.Sprintf("multiply the window by %d", 1<<eff)))
	case wire.OptSACKPermitted:
		if len(d) != 0 {
			bad("a SACK-permitted option is 2 bytes")
			break
		}
		f.Value = "yes"
		f.Meaning = "this end can receive SACK blocks; selective acknowledgment is used if both SYNs carry it (RFC 2018)"
		onlySYN()
	case wire.OptSACK:
		if len(d) == 0 || len(d)%8 != 0 {
			bad("a SACK option is 2 bytes plus 8 per block")
			break
		}
		b.sack(&f, d, v, c)
	case wire.OptTimestamps:
		if len(d) != 8 {
			bad("a timestamps option is 10 bytes")
			break
		}
		val, ecr := binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
		f.Value = fmt.Sprintf("TSval %d, TSecr %d", val, ecr)
		f.Meaning = "timestamps for RTT measurement and PAWS, the protection against old duplicates after sequence numbers wrap (RFC 7323)"
		sub(&f, b.mk("tsval", "TSval", v, 4, utoa(val), "the sender's timestamp clock; the peer echoes it back in its TSecr"))
		em := "echoes the most recent TSval received from the peer: the peer measures its RTT from it"
		if !c.flags.Has(wire.ACK) {
			em = "meaningful only with ACK, which is not set: the receiver ignores it"
			if ecr != 0 {
				em += " (RFC 7323 asks senders to put 0)"
			}
		}
		sub(&f, b.mk("tsecr", "TSecr", v+4, 4, utoa(ecr), em))
	case wire.OptFastOpen:
		b.fastOpen(&f, d, v, c, false)
	case wire.OptExperiment1, wire.OptExperiment2:
		if len(d) < 2 {
			bad("an RFC 6994 experimental option carries a 2-byte ExID")
			break
		}
		exid := binary.BigEndian.Uint16(d)
		em := "an experiment tcplens does not know"
		if exid == wire.ExIDFastOpen {
			em = "TCP Fast Open, in the experimental form (RFC 6994) used before kind 34 was assigned"
		}
		sub(&f, b.mk("exid", "ExID", v, 2, fmt.Sprintf("0x%04x", exid), em))
		if exid == wire.ExIDFastOpen {
			f.Label = "TFO (experimental)"
			b.fastOpen(&f, d[2:], v+2, c, true)
			break
		}
		f.Value = fmt.Sprintf("ExID 0x%04x", exid)
		f.Meaning = "an RFC 6994 experimental option"
		if len(d) > 2 {
			sub(&f, b.mk("data", "data", v+2, len(d)-2, fmt.Sprintf("%x", d[2:]), ""))
		}
	case wire.OptMPTCP:
		b.mptcp(&f, d, p, c)
	case wire.OptMD5:
		if len(d) != 16 {
			bad("an MD5 signature option is 18 bytes")
			break
		}
		f.Value = fmt.Sprintf("%x", d)
		f.Meaning = "an MD5 digest of the segment and a shared key (RFC 2385, used by BGP); tcplens cannot verify it without the key"
		sub(&f, b.mk("digest", "digest", v, 16, fmt.Sprintf("%x", d), ""))
	case wire.OptAO:
		if len(d) < 2 {
			bad("a TCP-AO option has a key id, a next key id and a MAC")
			break
		}
		f.Value = fmt.Sprintf("key %d, next key %d", d[0], d[1])
		f.Meaning = "a MAC of the segment under a key both ends share (RFC 5925); tcplens cannot verify it without the key"
		sub(&f, b.mk("keyid", "KeyID", v, 1, utoa(d[0]), "the key this MAC was computed with"))
		sub(&f, b.mk("rnextkeyid", "RNextKeyID", v+1, 1, utoa(d[1]), "the key the sender wants to receive with next"))
		if len(d) > 2 {
			sub(&f, b.mk("mac", "MAC", v+2, len(d)-2, fmt.Sprintf("%x", d[2:]), plural(len(d)-2, "byte")))
		}
	case wire.OptUTO:
		if len(d) != 2 {
			bad("a user timeout option is 4 bytes")
			break
		}
		u := binary.BigEndian.Uint16(d)
		g, t := u>>15, u&0x7fff
		unit := "seconds"
		if g == 1 {
			unit = "minutes"
		}
		f.Value = fmt.Sprintf("%d %s", t, unit)
		f.Meaning = fmt.Sprintf("the sender will wait %d %s for unacknowledged data before giving up, and suggests the peer do the same (RFC 5482)", t, unit)
		sub(&f, b.mkBits("granularity", "granularity (G)", v, 2, 0, 1, utoa(g), choose(g == 1, "minutes", "seconds")))
		sub(&f, b.mkBits("timeout", "user timeout", v, 2, 1, 15, utoa(t), unit))
	case wire.OptAccECN0, wire.OptAccECN1:
		b.accECN(&f, o.Kind, d, v)
	default:
		f.Value = fmt.Sprintf("%x", d)
		if len(d) == 0 {
			f.Value = "(no data)"
		}
		f.Meaning = "a kind tcplens does not decode; shown raw"
		if _, known := tcpOptionNames[o.Kind]; known {
			f.Meaning = "an obsolete or rare option tcplens does not decode; shown raw"
		}
		if len(d) > 0 {
			sub(&f, b.mk("data", "data", v, len(d), fmt.Sprintf("%x", d), plural(len(d), "byte")))
		}
	}
	return f
}

// optionID is the stable id of an option field: the kind's short name and
// the option's offset in the options area, so repeated kinds stay unique.
func optionID(o wire.Option) string {
	short := map[uint8]string{
		wire.OptEOL: "eol", wire.OptNOP: "nop", wire.OptMSS: "mss", wire.OptWindowScale: "wscale",
		wire.OptSACKPermitted: "sack_perm", wire.OptSACK: "sack", wire.OptTimestamps: "timestamps",
		wire.OptMD5: "md5", wire.OptUTO: "uto", wire.OptAO: "tcp_ao", wire.OptMPTCP: "mptcp",
		wire.OptFastOpen: "tfo", wire.OptAccECN0: "accecn0", wire.OptAccECN1: "accecn1",
		wire.OptExperiment1: "exp", wire.OptExperiment2: "exp",
	}[o.Kind]
	if short == "" {
		short = fmt.Sprintf("kind%d", o.Kind)
	}
	return fmt.Sprintf("%s@%d", short, o.Offset)
}

// sack adds the blocks of a SACK option (RFC 2018), relating each to the
// segment's acknowledgment number, and spots a D-SACK (RFC 2883).
func (b *builder) sack(f *Field, d []byte, v int, c optCtx) {
	n := len(d) / 8
	f.Value = plural(n, "block")
	f.Meaning = "the receiver holds these ranges of the sender's data beyond the acknowledgment number, so the sender resends only the gaps"
	if !c.flags.Has(wire.ACK) {
		f.Meaning += "; without ACK the receiver ignores it"
	}
	var first seq.Range
	for i := range n {
		r := seq.Range{Start: seq.Num(binary.BigEndian.Uint32(d[8*i:])), End: seq.Num(binary.BigEndian.Uint32(d[8*i+4:]))}
		bv := fmt.Sprintf("%d-%d", uint32(r.Start), uint32(r.End))
		var m string
		switch {
		case r.End.LessEq(r.Start):
			m = "malformed: the right edge is not after the left edge"
		case c.flags.Has(wire.ACK):
			m = fmt.Sprintf("%s from ack+%d to ack+%d", plural(int(r.Len()), "byte"), r.Start.Sub(c.ack), r.End.Sub(c.ack))
			if i == 0 && r.End.LessEq(c.ack) {
				m = fmt.Sprintf("a D-SACK (RFC 2883): %s below the acknowledgment number arrived twice; the first retransmission of them was spurious", plural(int(r.Len()), "byte"))
			} else if r.Start.Less(c.ack) {
				m += "; it starts below the acknowledgment number"
			}
		default:
			m = plural(int(r.Len()), "byte")
		}
		if i == 0 {
			first = r
		} else if i == 1 && first.Start.GreaterEq(r.Start) && first.End.LessEq(r.End) && first.End.Greater(first.Start) && !first.End.LessEq(c.ack) {
			// The first block inside the second is also a D-SACK.
			if len(f.Fields) > 0 {
				last := &f.Fields[len(f.Fields)-1]
				last.Meaning = fmt.Sprintf("a D-SACK (RFC 2883): %s reported again inside the next block arrived twice", plural(int(first.Len()), "byte"))
			}
		}
		blk := b.mk(fmt.Sprintf("block_%d", i+1), fmt.Sprintf("block %d", i+1), v+8*i, 8, bv, m)
		sub(&blk, b.mk("left", "left edge", v+8*i, 4, utoa(uint32(r.Start)), "the first sequence number received"))
		sub(&blk, b.mk("right", "right edge", v+8*i+4, 4, utoa(uint32(r.End)), "the sequence number after the last one received"))
		sub(f, blk)
	}
}

// fastOpen decodes a TFO option's value (RFC 7413): a cookie request when
// empty, else a cookie of 4 to 16 bytes.
func (b *builder) fastOpen(f *Field, d []byte, v int, c optCtx, exp bool) {
	syn, ack := c.flags.Has(wire.SYN), c.flags.Has(wire.ACK)
	switch n := len(d); {
	case n == 0:
		f.Value = "cookie request"
		f.Meaning = "the client asks the server for a Fast Open cookie, to send data on the SYN of its next connection"
		if syn && ack {
			f.Meaning = "an empty cookie on a SYN-ACK: the server supports Fast Open but sends no cookie"
		}
	case n < 4 || n > 16 || n%2 != 0:
		f.Value = "malformed"
		f.Meaning = fmt.Sprintf("%s %d-byte cookie: RFC 7413 cookies are 4 to 16 bytes, an even number", article(n), n)
		sub(f, b.mk("cookie", "cookie", v, n, fmt.Sprintf("%x", d), ""))
	default:
		f.Value = fmt.Sprintf("cookie %x", d)
		switch {
		case syn && ack:
			f.Meaning = "the server's cookie for this client, to present on the SYN of a later connection"
		case syn:
			f.Meaning = "the client presents a cookie the server gave it earlier, so the server may accept the data on this SYN at once"
		default:
			f.Meaning = "a cookie outside the handshake: receivers ignore it"
		}
		sub(f, b.mk("cookie", "cookie", v, n, fmt.Sprintf("%x", d), plural(n, "byte")))
	}
	if exp {
		f.Meaning += " (RFC 6994 experimental form, kind 254 with ExID 0xf989)"
	}
}

// accECN decodes an AccECN option (RFC 9768 section 3.2.3): up to three
// 24-bit byte counters, in order EE0B, ECEB, EE1B (kind 172) or EE1B,
// ECEB, EE0B (kind 174).
func (b *builder) accECN(f *Field, kind uint8, d []byte, v int) {
	names := [3]string{"EE0B", "ECEB", "EE1B"}
	what := [3]string{"bytes received marked ECT(0)", "bytes received marked CE (congestion experienced)", "bytes received marked ECT(1)"}
	order := [3]int{0, 1, 2}
	if kind == wire.OptAccECN1 {
		order = [3]int{2, 1, 0}
	}
	if len(d)%3 != 0 || len(d) > 9 {
		f.Value = "malformed"
		f.Meaning = fmt.Sprintf("length %d: an AccECN option is 2, 5, 8 or 11 bytes", len(d)+2)
		b.warn(v-2, "TCP option AccECN at byte %d: length %d", v-2, len(d)+2)
		return
	}
	var vals []string
	for i := 0; i*3 < len(d); i++ {
		k := order[i]
		x := uint32(d[3*i])<<16 | uint32(d[3*i+1])<<8 | uint32(d[3*i+2])
		vals = append(vals, fmt.Sprintf("%s %d", names[k], x))
		sub(f, b.mk(strings.ToLower(names[k]), names[k], v+3*i, 3, utoa(x), what[k]+", counted modulo 2^24"))
	}
	f.Value = strings.Join(vals, ", ")
	if len(vals) == 0 {
		f.Value = "no counters"
	}
	f.Meaning = "Accurate ECN byte counters: how many bytes the sender of this segment has received with each ECN mark"
}

// mptcp decodes a multipath TCP option (RFC 8684 section 3).
func (b *builder) mptcp(f *Field, d []byte, p int, c optCtx) {
	if len(d) < 1 {
		f.Value = "malformed"
		f.Meaning = "an MPTCP option needs a subtype byte"
		b.warn(p, "TCP option MPTCP at byte %d: no subtype", p)
		return
	}
	names := []string{"MP_CAPABLE", "MP_JOIN", "DSS", "ADD_ADDR", "REMOVE_ADDR", "MP_PRIO", "MP_FAIL", "MP_FASTCLOSE", "MP_TCPRST"}
	meanings := []string{
		"multipath capable: negotiates MPTCP and exchanges the keys of the connection",
		"joins this subflow to an existing MPTCP connection",
		"data sequence signal: maps this subflow's bytes into the connection's data sequence and acknowledges data",
		"advertises another address of the sender",
		"withdraws addresses of the sender",
		"changes the priority of a subflow (backup or not)",
		"reports a checksum failure and falls back to plain TCP",
		"closes the whole MPTCP connection at once, like a RST",
		"a reset of this subflow, with a reason",
	}
	st := int(d[0] >> 4)
	name, sm := "unknown", "a subtype tcplens does not decode"
	if st < len(names) {
		name, sm = names[st], meanings[st]
	} else if st == 15 {
		name, sm = "MP_EXPERIMENTAL", "reserved for private experiments"
	}
	f.Value = name
	f.Meaning = sm
	sub(f, b.mkBits("subtype", "subtype", p+2, 1, 0, 4, fmt.Sprintf("%d (%s)", st, name), ""))
	at := func(i, n int) bool { return len(d) >= i-2+n } // option byte i (kind = 0) is d[i-2]
	key := func(id, label string, i int, m string) {
		if at(i, 8) {
			sub(f, b.mk(id, label, p+i, 8, fmt.Sprintf("0x%016x", binary.BigEndian.Uint64(d[i-2:])), m))
		}
	}
	u32 := func(id, label string, i int, m string) {
		if at(i, 4) {
			sub(f, b.mk(id, label, p+i, 4, utoa(binary.BigEndian.Uint32(d[i-2:])), m))
		}
	}
	switch st {
	case 0: // MP_CAPABLE
		ver := d[0] & 15
		f.Value = fmt.Sprintf("MP_CAPABLE v%d", ver)
		sub(f, b.mkBits("version", "version", p+2, 1, 4, 4, utoa(ver), choose(ver == 1, "MPTCP v1 (RFC 8684)", choose(ver == 0, "MPTCP v0 (RFC 6824)", ""))))
		if at(3, 1) {
			fl := d[1]
			var set []string
			for i, n := range []string{"A (checksums required)", "B (extensibility)", "C (no new subflows to this address)", "D", "E", "F", "G", "H (HMAC-SHA256)"} {
				if fl&(0x80>>i) != 0 {
					set = append(set, n)
				}
			}
			sub(f, b.mk("flags", "flags", p+3, 1, fmt.Sprintf("0x%02x", fl), strings.Join(set, ", ")))
		}
		key("sender_key", "sender's key", 4, "the sender's 64-bit key; its hash gives the connection token")
		key("receiver_key", "receiver's key", 12, "the peer's key, echoed on the third ACK")
		if at(20, 2) {
			sub(f, b.mk("data_length", "data-level length", p+20, 2, utoa(binary.BigEndian.Uint16(d[18:])), "bytes of data this option maps"))
		}
		if at(22, 2) {
			sub(f, b.mk("checksum", "checksum", p+22, 2, hex16(binary.BigEndian.Uint16(d[20:])), "DSS checksum"))
		}
		switch {
		case len(d) == 2 && c.flags.Has(wire.SYN) && !c.flags.Has(wire.ACK):
			f.Meaning = "the client asks to use MPTCP v1; the keys follow on the SYN-ACK and the third ACK"
		case len(d) == 10 && c.flags.Has(wire.SYN|wire.ACK):
			f.Meaning = "the server agrees to use MPTCP and sends its key"
		case len(d) >= 18:
			f.Meaning = "the third ACK (or first data): both keys, confirming MPTCP"
		}
	case 1: // MP_JOIN
		backup := d[0]&1 != 0
		sub(f, b.mkBits("backup", "backup (B)", p+2, 1, 7, 1, bit(backup), choose(backup, "a backup subflow: used only if the others fail", "a regular subflow")))
		switch len(d) + 2 {
		case 12:
			sub(f, b.mk("addr_id", "address id", p+3, 1, utoa(d[1]), ""))
			u32("token", "receiver's token", 4, "names the connection to join")
			u32("nonce", "sender's random number", 8, "")
		case 16:
			sub(f, b.mk("addr_id", "address id", p+3, 1, utoa(d[1]), ""))
			key("hmac", "truncated HMAC", 4, "proves the sender knows the keys")
			u32("nonce", "sender's random number", 12, "")
		case 24:
			sub(f, b.mk("hmac", "HMAC", p+4, 20, fmt.Sprintf("%x", d[2:22]), "proves the sender knows the keys"))
		}
	case 2: // DSS
		if !at(3, 1) {
			break
		}
		fl := d[1]
		var set []string
		for _, x := range []struct {
			m byte
			n string
		}{{0x10, "F (DATA_FIN)"}, {0x08, "m (8-byte DSN)"}, {0x04, "M (mapping present)"}, {0x02, "a (8-byte data ACK)"}, {0x01, "A (data ACK present)"}} {
			if fl&x.m != 0 {
				set = append(set, x.n)
			}
		}
		sub(f, b.mk("flags", "flags", p+3, 1, fmt.Sprintf("0x%02x", fl), strings.Join(set, ", ")))
		i := 4
		num := func(id, label string, wide bool, m string) {
			n := 4
			if wide {
				n = 8
			}
			if !at(i, n) {
				return
			}
			var x uint64
			if wide {
				x = binary.BigEndian.Uint64(d[i-2:])
			} else {
				x = uint64(binary.BigEndian.Uint32(d[i-2:]))
			}
			sub(f, b.mk(id, label, p+i, n, utoa(x), m))
			i += n
		}
		var parts []string
		if fl&0x01 != 0 {
			num("data_ack", "data ACK", fl&0x02 != 0, "the connection-level acknowledgment: all data before it was received")
			parts = append(parts, "data ACK")
		}
		if fl&0x04 != 0 {
			num("dsn", "data sequence number", fl&0x08 != 0, "where this subflow's bytes go in the connection's data")
			num("ssn", "subflow sequence number", false, "relative to the subflow's ISN")
			if at(i, 2) {
				sub(f, b.mk("data_length", "data-level length", p+i, 2, utoa(binary.BigEndian.Uint16(d[i-2:])), "bytes the mapping covers"))
				i += 2
			}
			if at(i, 2) {
				sub(f, b.mk("checksum", "checksum", p+i, 2, hex16(binary.BigEndian.Uint16(d[i-2:])), "DSS checksum"))
			}
			parts = append(parts, "mapping")
		}
		if fl&0x10 != 0 {
			parts = append(parts, "DATA_FIN")
		}
		if len(parts) > 0 {
			f.Value = "DSS: " + strings.Join(parts, ", ")
		}
	case 3: // ADD_ADDR
		echo := d[0]&1 != 0
		sub(f, b.mkBits("echo", "echo (E)", p+2, 1, 7, 1, bit(echo), choose(echo, "echoes an address the peer advertised", "advertises a new address")))
		l := len(d) + 2
		v6 := l >= 20
		if at(3, 1) {
			sub(f, b.mk("addr_id", "address id", p+3, 1, utoa(d[1]), ""))
		}
		i := 4
		if !v6 && at(4, 4) {
			a := netip.AddrFrom4([4]byte(d[2:6]))
			sub(f, b.mk("address", "address", p+4, 4, a.String(), ""))
			f.Value = "ADD_ADDR " + a.String()
			i += 4
		} else if v6 && at(4, 16) {
			a := netip.AddrFrom16([16]byte(d[2:18]))
			sub(f, b.mk("address", "address", p+4, 16, a.String(), ""))
			f.Value = "ADD_ADDR " + a.String()
			i += 16
		}
		if (l == 10 || l == 18 || l == 22 || l == 30) && at(i, 2) {
			sub(f, b.mk("port", "port", p+i, 2, utoa(binary.BigEndian.Uint16(d[i-2:])), ""))
			i += 2
		}
		if (l == 16 || l == 18 || l == 28 || l == 30) && at(i, 8) {
			key("hmac", "truncated HMAC", i, "authenticates the advertisement")
		}
	case 4: // REMOVE_ADDR
		var ids []string
		for i := 1; i < len(d); i++ {
			ids = append(ids, utoa(d[i]))
		}
		if len(d) > 1 {
			sub(f, b.mk("addr_ids", "address ids", p+3, len(d)-1, strings.Join(ids, " "), ""))
		}
	case 5: // MP_PRIO
		backup := d[0]&1 != 0
		sub(f, b.mkBits("backup", "backup (B)", p+2, 1, 7, 1, bit(backup), choose(backup, "make this subflow a backup", "make this subflow a regular one")))
	case 6: // MP_FAIL
		key("dsn", "data sequence number", 4, "where the checksum failed")
	case 7: // MP_FASTCLOSE
		key("receiver_key", "receiver's key", 4, "proves the close comes from the peer")
	case 8: // MP_TCPRST
		if at(3, 1) {
			reasons := []string{"unspecified", "MPTCP-specific error", "lack of resources", "administratively prohibited", "too much outstanding data", "unacceptable performance", "middlebox interference"}
			r := "unknown reason"
			if int(d[1]) < len(reasons) {
				r = reasons[d[1]]
			}
			sub(f, b.mk("reason", "reason", p+3, 1, utoa(d[1]), r))
			f.Value = "MP_TCPRST: " + r
		}
	}
}
