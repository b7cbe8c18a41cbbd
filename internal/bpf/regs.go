package bpf

import (
	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/pcap"
)

// libpcap keeps every value of a filter's arithmetic in a scratch word,
// allocated in turn and freed after use (gencode.c's alloc_reg and
// free_reg), and allocates the words that hold variable header offsets
// the first time a load needs one. A word freed by an earlier comparison
// can so become the offset's word, and the earlier comparison, which runs
// after the prologue has set the offset, overwrites it: "len < 100 and
// tcp" on 802.11 looks for TCP at offsets based on 100. tcpdump filters
// so; tcplens follows libpcap's allocator while it parses, and where a
// comparison would overwrite an offset's word it writes the same value
// into its own word for that offset, before the comparison, so that the
// tests after it read what libpcap's read.

// lpRegs is libpcap's allocator: the words in use, the last one handed
// out, and the words it gave the variable offsets (-1 until it has).
type lpRegs struct {
	used        [16]bool
	cur         int
	hdr, linkPL int
}

func newLPRegs() lpRegs { return lpRegs{hdr: -1, linkPL: -1} }

// A relFix is one comparison's: the values libpcap stores, in order, and
// the code that repeats the stores that land on an offset's word.
type relFix struct {
	writes []lpWrite
	code   []xbpf.Instruction
}

type lpWrite struct {
	reg  int
	node *arth
}

// lpAlloc is alloc_reg: the first free word from the last one handed
// out on. Past 16 words libpcap fails; tcplens's own limit on nesting
// comes first, so the last word is reused instead.
func (p *parser) lpAlloc() int {
	for range 16 {
		if !p.lp.used[p.lp.cur] {
			p.lp.used[p.lp.cur] = true
			return p.lp.cur
		}
		p.lp.cur = (p.lp.cur + 1) % 16
	}
	return p.lp.cur
}

func (p *parser) lpFree(r int) { p.lp.used[r] = false }

// lpStore records that libpcap stores a's value in its word.
func (p *parser) lpStore(a *arth) *arth {
	if p.fix != nil {
		p.fix.writes = append(p.fix.writes, lpWrite{a.reg, a})
	}
	return a
}

// lpVar gives the variable offset in our word reg its libpcap word, the
// first time a load uses it.
func (p *parser) lpVar(reg int) {
	switch {
	case reg == regLinkHdr && p.lp.hdr < 0:
		p.lp.hdr = p.lpAlloc()
	case reg == regLinkPL && p.lp.linkPL < 0:
		p.lp.linkPL = p.lpAlloc()
	}
}

// clobbers ends the parse as libpcap's does (insert_compute_vloffsets
// allocates the radio header's word if only the payload's was needed)
// and makes each comparison's code that overwrites an offset's word.
func (p *parser) clobbers() error {
	if p.used[regLinkPL] && p.lp.hdr < 0 &&
		(p.outer == pcap.LinkRadiotap || p.outer == pcap.LinkAVS || p.outer == pcap.LinkPrism) {
		p.used[regLinkHdr] = true
		p.lp.hdr = p.lpAlloc()
	}
	for _, f := range p.fixes {
		for _, v := range []struct{ lp, ours int }{{p.lp.hdr, regLinkHdr}, {p.lp.linkPL, regLinkPL}} {
			if v.lp < 0 {
				continue
			}
			var last *arth
			for _, w := range f.writes {
				if w.reg == v.lp {
					last = w.node
				}
			}
			if last == nil {
				continue
			}
			code, err := p.emit(f.code, last, 0)
			if err != nil {
				return &SyntaxError{Expr: p.text, Msg: err.Error()}
			}
			f.code = append(code, xbpf.StoreScratch{Src: xbpf.RegA, N: v.ours})
		}
	}
	return nil
}
