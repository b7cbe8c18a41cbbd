package bpf

import (
	"fmt"

	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/pcap"
)

// This file is libpcap's model of the link layer (gencode.c's
// init_linktype, gen_load_a, gen_linktype and their helpers): where each
// link type keeps its protocol field, its payload and the network header,
// and how a frame is tested for a protocol. Its oddities are libpcap's and
// are kept on purpose (a filter must accept what tcpdump accepts): Frame
// Relay's and SLIP's network header is taken to start at the frame's
// first byte, Juniper's cookie to be 4 bytes followed by Ethernet, an
// 802.11 header to be 24 or 26 bytes, and so on.

// A hdrOff is libpcap's bpf_abs_offset: where a header starts, as a
// constant and, behind a header whose length only the frame tells (a
// radiotap, AVS or Prism header, an 802.11 or pflog header), a scratch
// word the program's prologue fills with the variable part.
type hdrOff struct {
	k   int
	reg int // -1: none
}

// The scratch words of the variable parts; arithmetic uses those below.
const (
	regLinkHdr  = 15
	regLinkPL   = 14
	maxArithReg = 13
)

func fixed(k int) hdrOff { return hdrOff{k: k, reg: -1} }

// noField is libpcap's OFFSET_NOT_SET for a link type without a protocol
// field or without a network header.
const noField = -1 << 20

// A base is what an offset is relative to (libpcap's e_offrel).
type base uint8

const (
	bPacket    base = iota // the frame's first byte
	bLinkHdr               // the link-layer header (after a radio header)
	bLinkType              // the link layer's protocol field
	bLLC                   // the link-layer payload: an 802.2 header where there is one
	bNet                   // the network header: the payload after LLC/SNAP, MPLS labels
	bNetNoSnap             // the network header after LLC without SNAP
	bTransIPv4             // the transport header behind an IPv4 header of any length
	bTransIPv6             // the transport header right behind the fixed IPv6 header
)

// setLink is init_linktype.
func (p *parser) setLink() error {
	p.hdr, p.lt, p.pl = fixed(0), fixed(0), fixed(0)
	p.nl, p.nlNoSnap = 0, 0
	l := p.opt.Link
	if p.opt.Cooked {
		l = pcap.LinkRaw // data starts at the network header
	}
	p.dlt, p.outer = l, l
	switch l {
	case pcap.LinkEthernet:
		p.lt, p.pl, p.nlNoSnap = fixed(12), fixed(14), 3
	case pcap.LinkNetAnalyzer:
		p.hdr, p.lt, p.pl, p.nlNoSnap = fixed(4), fixed(16), fixed(18), 3
	case pcap.LinkNetAnalyzerTransparent:
		p.hdr, p.lt, p.pl, p.nlNoSnap = fixed(12), fixed(24), fixed(26), 3
	case pcap.LinkSLIP:
		p.lt, p.pl = fixed(noField), fixed(16)
	case pcap.LinkNull, pcap.LinkLoop:
		p.pl = fixed(4)
	case pcap.LinkENC:
		p.pl = fixed(12)
	case pcap.LinkPPP, pcap.LinkPPPHDLC, pcap.LinkCHDLC:
		p.lt, p.pl = fixed(2), fixed(4)
	case pcap.LinkPPPoE:
		p.lt, p.pl = fixed(6), fixed(8)
	case pcap.LinkFDDI:
		p.lt, p.pl, p.nl, p.nlNoSnap = fixed(13), fixed(13), 8, 3
	case pcap.LinkTokenRing:
		p.lt, p.pl, p.nl, p.nlNoSnap = fixed(14), fixed(14), 8, 3
	case pcap.LinkRadiotap, pcap.LinkAVS, pcap.LinkPrism:
		p.hdr = hdrOff{reg: regLinkHdr}
		p.lt, p.pl, p.nl, p.nlNoSnap = fixed(24), hdrOff{reg: regLinkPL}, 8, 3
	case pcap.LinkIEEE80211:
		p.lt, p.pl, p.nl, p.nlNoSnap = fixed(24), hdrOff{reg: regLinkPL}, 8, 3
	case pcap.LinkATMRFC1483:
		p.nl, p.nlNoSnap = 8, 3
	case pcap.LinkSunATM:
		p.lt, p.pl, p.nl, p.nlNoSnap = fixed(4), fixed(4), 8, 3
	case pcap.LinkRaw, pcap.LinkRaw12, pcap.LinkRaw14, pcap.LinkIPv4, pcap.LinkIPv6, pcap.LinkFrameRelay:
		p.lt = fixed(noField)
	case pcap.LinkSLL:
		p.lt, p.pl = fixed(14), fixed(16)
	case pcap.LinkSLL2:
		p.pl = fixed(20)
	case pcap.LinkIPOverFC:
		p.lt, p.pl, p.nl, p.nlNoSnap = fixed(16), fixed(16), 8, 3
	case pcap.LinkAppleIP1394:
		p.lt, p.pl = fixed(16), fixed(18)
	case pcap.LinkPFLOG:
		p.pl = hdrOff{reg: regLinkPL}
	case pcap.LinkJuniperEther:
		p.lt, p.pl, p.nl, p.nlNoSnap = fixed(16), fixed(14), 18, 21
	case pcap.LinkIPNET:
		p.lt, p.pl, p.nlNoSnap = fixed(1), fixed(24), noField
	case pcap.LinkNFLOG, pcap.LinkIPoIB:
		// libpcap knows no protocol field or network header here: only
		// link[…], len and the like compile.
		p.lt, p.pl, p.nl, p.nlNoSnap = fixed(noField), fixed(noField), noField, noField
	default:
		return &SyntaxError{Expr: p.text, Msg: fmt.Sprintf("frames of %v cannot be filtered", p.opt.Link)}
	}
	return nil
}

func (p *parser) wifi() bool {
	switch p.dlt {
	case pcap.LinkIEEE80211, pcap.LinkRadiotap, pcap.LinkAVS, pcap.LinkPrism:
		return true
	}
	return false
}

func (p *parser) ethernet() bool {
	switch p.dlt {
	case pcap.LinkEthernet, pcap.LinkNetAnalyzer, pcap.LinkNetAnalyzerTransparent:
		return !p.opt.Cooked
	}
	return false
}

// varPart is gen_abs_offset_varpart: the instruction that puts o's
// variable part in X, or none.
func (p *parser) varPart(o hdrOff) []xbpf.Instruction {
	if o.reg < 0 {
		return nil
	}
	p.used[o.reg] = true
	p.lpVar(o.reg)
	return []xbpf.Instruction{xbpf.LoadScratch{Dst: xbpf.RegX, N: o.reg}}
}

// ref gives the instructions that put the variable part of b's offset in
// X (none for a constant offset) and its constant part.
func (p *parser) ref(b base) ([]xbpf.Instruction, int) {
	switch b {
	case bLinkHdr:
		return p.varPart(p.hdr), p.hdr.k
	case bLinkType:
		return p.varPart(p.lt), p.lt.k
	case bLLC:
		return p.varPart(p.pl), p.pl.k
	case bNet:
		return p.varPart(p.pl), p.pl.k + p.nl
	case bNetNoSnap:
		return p.varPart(p.pl), p.pl.k + p.nlNoSnap
	case bTransIPv4:
		// gen_loadx_iphdrlen: X is the IPv4 header's length (plus the
		// variable part of the payload's offset).
		k := p.pl.k + p.nl
		x := p.varPart(p.pl)
		if x == nil {
			return []xbpf.Instruction{xbpf.LoadMemShift{Off: uint32(k)}}, k
		}
		return append(x, xbpf.LoadIndirect{Off: uint32(k), Size: 1}, xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0xf},
			xbpf.ALUOpConstant{Op: xbpf.ALUOpShiftLeft, Val: 2}, xbpf.ALUOpX{Op: xbpf.ALUOpAdd}, xbpf.TAX{}), k
	case bTransIPv6:
		return p.varPart(p.pl), p.pl.k + p.nl + 40
	}
	return nil, 0
}

// at loads size bytes at off from b (gen_load_a). An offset past any
// frame (a negative one, or one past 32 bits) makes a load that fails.
func at(x []xbpf.Instruction, k int64, size int) []xbpf.Instruction {
	if k < 0 || k > 0xffffffff {
		k = 0xffffffff
	}
	if x == nil {
		return []xbpf.Instruction{xbpf.LoadAbsolute{Off: uint32(k), Size: size}}
	}
	return append(x[:len(x):len(x)], xbpf.LoadIndirect{Off: uint32(k), Size: size})
}

func (p *parser) load(b base, off, size int) []xbpf.Instruction {
	x, k := p.ref(b)
	return at(x, int64(k)+int64(off), size)
}

// cmp is gen_cmp, mcmp gen_mcmp, set gen_set (the bits are set).
func (p *parser) cmp(b base, off, size int, v uint32) cond {
	return atom{pre: p.load(b, off, size), test: xbpf.JumpEqual, val: v}
}

func (p *parser) mcmp(b base, off, size int, v, mask uint32) cond {
	if mask == 0xffffffff {
		return p.cmp(b, off, size, v)
	}
	return atom{pre: append(p.load(b, off, size), xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: mask}), test: xbpf.JumpEqual, val: v}
}

func (p *parser) set(b base, off, size int, bits uint32) cond {
	return atom{pre: p.load(b, off, size), test: xbpf.JumpBitsSet, val: bits}
}

// bcmp is gen_bcmp: the bytes v at off, 4 at a time from the end, then 2, then 1.
func (p *parser) bcmp(b base, off int, v []byte) cond {
	var c cond = condTrue{}
	n := len(v)
	for ; n >= 4; n -= 4 {
		w := uint32(v[n-4])<<24 | uint32(v[n-3])<<16 | uint32(v[n-2])<<8 | uint32(v[n-1])
		c = and(c, p.cmp(b, off+n-4, 4, w))
	}
	for ; n >= 2; n -= 2 {
		c = and(c, p.cmp(b, off+n-2, 2, uint32(v[n-2])<<8|uint32(v[n-1])))
	}
	if n > 0 {
		c = and(c, p.cmp(b, off, 1, uint32(v[0])))
	}
	return c
}

// Protocol numbers gen_linktype is asked about: EtherTypes, and 802.2
// SAPs (at most 1500).
const (
	etherIP      = 0x0800
	etherARP     = 0x0806
	etherRARP    = 0x8035
	etherIPv6    = 0x86dd
	etherVLAN    = 0x8100
	etherQinQ    = 0x88a8
	etherVLAN91  = 0x9100
	etherMPLS    = 0x8847
	etherPPPoED  = 0x8863
	etherPPPoES  = 0x8864
	etherIPX     = 0x8137
	etherATalk   = 0x809b
	etherAARP    = 0x80f3
	etherNS      = 0x0600
	etherDECnet  = 0x6003
	sapISONS     = 0xfe
	sapIP        = 0x06
	sapNetBEUI   = 0xf0
	sapIPX       = 0xe0
	sap8021D     = 0x42
	pppMPLS      = 0x0281
	ethernetMTU  = 1500
	sllP8022     = 0x0004 // Linux's protocol for 802.2 LLC frames
	sllP8023     = 0x0001 // and for Novell 802.3 frames
	wlanTypeData = 0x08
	wlanTypeCtl  = 0x04
)

// linktype is gen_linktype: the frame carries protocol ll.
func (p *parser) linktype(ll uint32) (cond, error) {
	if p.mplsDepth > 0 {
		return p.mplsLinktype(ll)
	}
	if p.opt.Cooked {
		return atom{pre: []xbpf.Instruction{xbpf.LoadExtension{Num: xbpf.ExtProto}}, test: xbpf.JumpEqual, val: ll}, nil
	}
	ipVersion := func() cond {
		switch ll {
		case etherIP:
			return p.mcmp(bLinkHdr, 0, 1, 0x40, 0xf0)
		case etherIPv6:
			return p.mcmp(bLinkHdr, 0, 1, 0x60, 0xf0)
		}
		return condFalse{}
	}
	byAF := func(v4, v6 cond) cond {
		switch ll {
		case etherIP:
			return v4
		case etherIPv6:
			return v6
		}
		return condFalse{}
	}
	switch p.dlt {
	case pcap.LinkEthernet, pcap.LinkNetAnalyzer, pcap.LinkNetAnalyzerTransparent:
		return p.etherLinktype(ll), nil
	case pcap.LinkCHDLC:
		if ll == sapISONS {
			ll = sapISONS<<8 | sapISONS
		}
		return p.cmp(bLinkType, 0, 2, ll), nil
	case pcap.LinkIEEE80211, pcap.LinkRadiotap, pcap.LinkAVS, pcap.LinkPrism:
		return and(p.wlanDataFrame(), p.llcLinktype(ll)), nil
	case pcap.LinkFDDI, pcap.LinkTokenRing, pcap.LinkATMRFC1483, pcap.LinkIPOverFC:
		return p.llcLinktype(ll), nil
	case pcap.LinkSunATM:
		return and(p.mcmp(bLinkHdr, 0, 1, 2, 0x0f), p.llcLinktype(ll)), nil // SunATM's "LLC-encapsulated"
	case pcap.LinkSLL:
		return p.sllLinktype(ll), nil
	case pcap.LinkSLIP, pcap.LinkRaw, pcap.LinkRaw12, pcap.LinkRaw14:
		return ipVersion(), nil
	case pcap.LinkIPv4:
		return byAF(condTrue{}, condFalse{}), nil
	case pcap.LinkIPv6:
		return byAF(condFalse{}, condTrue{}), nil
	case pcap.LinkPPP, pcap.LinkPPPHDLC, pcap.LinkPPPoE:
		return p.cmp(bLinkType, 0, 2, pppType(ll)), nil
	case pcap.LinkNull, pcap.LinkLoop, pcap.LinkENC:
		// The AF_ values of BSD loopback; IPv6 has three, one per BSD.
		af := func(v uint32) cond {
			if p.dlt != pcap.LinkLoop && !p.opt.BigEndian {
				v = v>>24 | v>>8&0xff00 | v<<8&0xff0000 | v<<24
			}
			return p.cmp(bLinkHdr, 0, 4, v)
		}
		return byAF(af(2), or(af(30), or(af(24), af(28)))), nil
	case pcap.LinkPFLOG:
		// The address family in the byte order of the machine that runs
		// libpcap: Linux's AF_INET6 is 10, OpenBSD's 24.
		return byAF(p.cmp(bLinkHdr, 1, 1, 2), p.cmp(bLinkHdr, 1, 1, 10)), nil
	case pcap.LinkFrameRelay:
		// UI and the NLPID, behind a 2-byte address.
		if ll == sapISONS {
			return or(p.cmp(bLinkHdr, 2, 2, 0x0381), or(p.cmp(bLinkHdr, 2, 2, 0x0382), p.cmp(bLinkHdr, 2, 2, 0x0383))), nil
		}
		return byAF(p.cmp(bLinkHdr, 2, 2, 0x03cc), p.cmp(bLinkHdr, 2, 2, 0x038e)), nil
	case pcap.LinkJuniperEther:
		// Juniper's magic number, whatever the protocol.
		return p.mcmp(bLinkHdr, 0, 4, 0x4d474300, 0xffffff00), nil
	case pcap.LinkIPNET:
		return byAF(p.cmp(bLinkType, 0, 1, 2), p.cmp(bLinkType, 0, 1, 26)), nil
	}
	if p.lt.k != noField {
		return p.cmp(bLinkType, 0, 2, ll), nil
	}
	return nil, fmt.Errorf("link-layer type filtering not implemented for %v", p.dlt)
}

func (p *parser) mustLinktype(ll uint32) (cond, error) { return p.linktype(ll) }

// etherLinktype is gen_ether_linktype: an EtherType, or an 802.2 SAP in a
// frame whose type field is a length.
func (p *parser) etherLinktype(ll uint32) cond {
	is8023 := not(atom{pre: p.load(bLinkType, 0, 2), test: xbpf.JumpGreaterThan, val: ethernetMTU})
	switch ll {
	case sapISONS, sapIP, sapNetBEUI:
		return and(is8023, p.cmp(bLLC, 0, 2, ll<<8|ll))
	case sapIPX:
		llc := or(p.snap(0, etherIPX), or(p.cmp(bLLC, 0, 1, sapIPX), p.cmp(bLLC, 0, 2, 0xffff)))
		return or(p.cmp(bLinkType, 0, 2, etherIPX), and(is8023, llc))
	case etherATalk, etherAARP:
		return or(p.cmp(bLinkType, 0, 2, ll), and(is8023, p.atalkSnap(ll)))
	}
	if ll <= ethernetMTU {
		return and(is8023, p.cmp(bLinkType, 2, 1, ll))
	}
	return p.cmp(bLinkType, 0, 2, ll)
}

// sllLinktype is gen_linux_sll_linktype: Linux gives 802.2 frames the
// protocol 4.
func (p *parser) sllLinktype(ll uint32) cond {
	is8022 := p.cmp(bLinkType, 0, 2, sllP8022)
	switch ll {
	case sapISONS, sapIP, sapNetBEUI:
		return and(is8022, p.cmp(bLLC, 0, 2, ll<<8|ll))
	case sapIPX:
		return or(p.cmp(bLinkType, 0, 2, etherIPX), or(p.cmp(bLinkType, 0, 2, sllP8023),
			and(is8022, or(p.cmp(bLLC, 0, 1, sapIPX), p.snap(0, etherIPX)))))
	case etherATalk, etherAARP:
		return or(p.cmp(bLinkType, 0, 2, ll), and(is8022, p.atalkSnap(ll)))
	}
	if ll <= ethernetMTU {
		return and(is8022, p.cmp(bLLC, 0, 1, ll))
	}
	return p.cmp(bLinkType, 0, 2, ll)
}

// llcLinktype is gen_llc_linktype, for the links whose frames all carry
// 802.2 LLC: an EtherType is looked for where SNAP puts it, without
// checking the SNAP header itself.
func (p *parser) llcLinktype(ll uint32) cond {
	switch ll {
	case sapIP, sapISONS, sapNetBEUI:
		return p.cmp(bLLC, 0, 2, ll<<8|ll)
	case sapIPX:
		return p.cmp(bLLC, 0, 1, sapIPX)
	case etherATalk:
		return p.snap(0x080007, etherATalk)
	}
	if ll <= ethernetMTU {
		return p.cmp(bLLC, 0, 1, ll)
	}
	return p.cmp(bLLC, 6, 2, ll)
}

func (p *parser) atalkSnap(ll uint32) cond {
	if ll == etherATalk {
		return p.snap(0x080007, etherATalk)
	}
	return p.snap(0, etherAARP)
}

// snap is gen_snap: LLC (SNAP, SNAP, UI) and a SNAP header.
func (p *parser) snap(org, ptype uint32) cond {
	return p.bcmp(bLLC, 0, []byte{0xaa, 0xaa, 0x03, byte(org >> 16), byte(org >> 8), byte(org), byte(ptype >> 8), byte(ptype)})
}

// wlanDataFrame is gen_check_802_11_data_frame.
func (p *parser) wlanDataFrame() cond {
	return and(not(p.set(bLinkHdr, 0, 1, wlanTypeCtl)), p.set(bLinkHdr, 0, 1, wlanTypeData))
}

// pppType is ethertype_to_ppptype.
func pppType(ll uint32) uint32 {
	switch ll {
	case etherIP:
		return 0x0021
	case etherIPv6:
		return 0x0057
	case etherDECnet:
		return 0x0027
	case etherATalk:
		return 0x0029
	case etherNS:
		return 0x0025
	case sapISONS:
		return 0x0023
	case sap8021D:
		return 0x0031
	case sapIPX:
		return 0x002b
	}
	return ll
}

// mplsLinktype is gen_mpls_linktype: after "mpls", IPv4 or IPv6 right
// behind the bottom of the label stack.
func (p *parser) mplsLinktype(ll uint32) (cond, error) {
	bottom := p.mcmp(bNet, -2, 1, 0x01, 0x01)
	switch ll {
	case etherIP:
		return and(bottom, p.mcmp(bNet, 0, 1, 0x40, 0xf0)), nil
	case etherIPv6:
		return and(bottom, p.mcmp(bNet, 0, 1, 0x60, 0xf0)), nil
	}
	return nil, fmt.Errorf("unsupported protocol over mpls")
}

// prologue is insert_compute_vloffsets: the code that runs before the
// filter to compute the variable parts of the offsets its loads use.
func (p *parser) prologue() []xbpf.Instruction {
	var out []xbpf.Instruction
	hdrVar := p.outer == pcap.LinkRadiotap || p.outer == pcap.LinkAVS || p.outer == pcap.LinkPrism
	needPL := p.used[regLinkPL]
	if hdrVar && (p.used[regLinkHdr] || needPL) {
		switch p.outer {
		case pcap.LinkRadiotap: // a little-endian length at 2
			out = append(out, xbpf.LoadAbsolute{Off: 3, Size: 1}, xbpf.ALUOpConstant{Op: xbpf.ALUOpShiftLeft, Val: 8},
				xbpf.TAX{}, xbpf.LoadAbsolute{Off: 2, Size: 1}, xbpf.ALUOpX{Op: xbpf.ALUOpOr})
		case pcap.LinkAVS:
			out = append(out, xbpf.LoadAbsolute{Off: 4, Size: 4})
		case pcap.LinkPrism: // some drivers write an AVS header instead
			out = append(out, xbpf.LoadAbsolute{Off: 0, Size: 4}, xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0xfffff000},
				xbpf.JumpIf{Cond: xbpf.JumpEqual, Val: 0x80211000, SkipTrue: 0, SkipFalse: 2},
				xbpf.LoadAbsolute{Off: 4, Size: 4}, xbpf.Jump{Skip: 1}, xbpf.LoadConstant{Dst: xbpf.RegA, Val: 144})
		}
		out = append(out, xbpf.StoreScratch{Src: xbpf.RegA, N: regLinkHdr}, xbpf.TAX{})
	}
	if !needPL {
		return out
	}
	switch p.outer {
	case pcap.LinkPFLOG: // the header's length, rounded up to 4
		return append(out, xbpf.LoadAbsolute{Off: 0, Size: 1}, xbpf.ALUOpConstant{Op: xbpf.ALUOpAdd, Val: 3},
			xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0xfffffffc}, xbpf.StoreScratch{Src: xbpf.RegA, N: regLinkPL}, xbpf.TAX{})
	case pcap.LinkIEEE80211, pcap.LinkRadiotap, pcap.LinkAVS, pcap.LinkPrism:
	default:
		return out
	}
	// gen_load_802_11_header_len: 24 bytes, 26 for QoS data frames, and
	// behind radiotap rounded up to 4 when its flags say the driver
	// padded the header (libpcap looks at the first presence word only).
	if !hdrVar {
		out = append(out, xbpf.LoadConstant{Dst: xbpf.RegX, Val: 0})
	}
	rt := p.outer == pcap.LinkRadiotap
	end := 10 // instructions from here to the filter
	if rt {
		end = 22
	}
	to := func(from, target int) uint8 { return uint8(target - from - 1) }
	out = append(out,
		xbpf.TXA{}, xbpf.ALUOpConstant{Op: xbpf.ALUOpAdd, Val: 24}, xbpf.StoreScratch{Src: xbpf.RegA, N: regLinkPL},
		xbpf.LoadIndirect{Off: 0, Size: 1},
		xbpf.JumpIf{Cond: xbpf.JumpBitsSet, Val: wlanTypeData, SkipTrue: 0, SkipFalse: to(4, end)},
		xbpf.JumpIf{Cond: xbpf.JumpBitsSet, Val: wlanTypeCtl, SkipTrue: to(5, end), SkipFalse: 0},
		xbpf.JumpIf{Cond: xbpf.JumpBitsSet, Val: 0x80, SkipTrue: 0, SkipFalse: 3}, // QoS
		xbpf.LoadScratch{Dst: xbpf.RegA, N: regLinkPL}, xbpf.ALUOpConstant{Op: xbpf.ALUOpAdd, Val: 2},
		xbpf.StoreScratch{Src: xbpf.RegA, N: regLinkPL})
	if rt {
		out = append(out,
			xbpf.LoadAbsolute{Off: 4, Size: 4},
			xbpf.JumpIf{Cond: xbpf.JumpBitsSet, Val: 0x02000000, SkipTrue: 0, SkipFalse: to(11, end)}, // flags present
			xbpf.JumpIf{Cond: xbpf.JumpBitsSet, Val: 0x00000080, SkipTrue: to(12, end), SkipFalse: 0}, // another presence word
			xbpf.JumpIf{Cond: xbpf.JumpBitsSet, Val: 0x01000000, SkipTrue: 0, SkipFalse: 2},           // TSFT present
			xbpf.LoadAbsolute{Off: 16, Size: 1},
			xbpf.JumpIf{Cond: xbpf.JumpBitsSet, Val: 0x20, SkipTrue: to(15, 18), SkipFalse: to(15, end)},
			xbpf.LoadAbsolute{Off: 8, Size: 1},
			xbpf.JumpIf{Cond: xbpf.JumpBitsSet, Val: 0x20, SkipTrue: 0, SkipFalse: to(17, end)},
			xbpf.LoadScratch{Dst: xbpf.RegA, N: regLinkPL}, xbpf.ALUOpConstant{Op: xbpf.ALUOpAdd, Val: 3},
			xbpf.ALUOpConstant{Op: xbpf.ALUOpAnd, Val: 0xfffffffc}, xbpf.StoreScratch{Src: xbpf.RegA, N: regLinkPL})
	}
	return out
}
