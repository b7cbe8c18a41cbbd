package bpf

import (
	"fmt"

	"github.com/tcplens/tcplens/internal/pcap"
)

// A Filter is an expression compiled once for each kind of frame it
// meets: a pcapng file's interfaces may each have their own link type,
// and a BSD loopback header is in its writer's byte order, so one
// expression can need several programs, as it would in tcpdump had
// tcpdump read such files.
type Filter struct {
	expr  string
	progs map[filterKey]*Program
	last  filterKey
	prog  *Program
}

type filterKey struct {
	link      pcap.LinkType
	bigEndian bool
}

// NewFilter checks expr and returns a Filter that compiles it for each
// link type as frames of it come. The expression must compile for at
// least one link type ("inbound" compiles for Linux cooked captures
// alone); the error is then Ethernet's.
func NewFilter(expr string) (*Filter, error) {
	f := &Filter{expr: expr, progs: map[filterKey]*Program{}}
	var first error
	for _, l := range []pcap.LinkType{pcap.LinkEthernet, pcap.LinkSLL2, pcap.LinkSLL, pcap.LinkRaw, pcap.LinkNull} {
		_, err := f.program(filterKey{link: l})
		if err == nil {
			return f, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// String is the expression.
func (f *Filter) String() string { return f.expr }

func (f *Filter) program(k filterKey) (*Program, error) {
	if p, ok := f.progs[k]; ok {
		return p, nil
	}
	p, err := NewProgram(f.expr, Options{Link: k.link, BigEndian: k.bigEndian})
	if err != nil {
		return nil, err
	}
	f.progs[k] = p
	return p, nil
}

// Match reports whether the frame passes. bigEndian is the byte order of
// the file it came from (it matters for BSD loopback alone). The error
// says that the expression cannot be compiled for the frame's link type.
// A Filter is not safe for concurrent use.
func (f *Filter) Match(fr *pcap.Frame, bigEndian bool) (bool, error) {
	k := filterKey{link: fr.Link, bigEndian: bigEndian && (fr.Link == pcap.LinkNull || fr.Link == pcap.LinkENC)}
	if f.prog == nil || k != f.last {
		p, err := f.program(k)
		if err != nil {
			return false, fmt.Errorf("frame %d (%v): %w", fr.Number, fr.Link, err)
		}
		f.prog, f.last = p, k
	}
	return f.prog.Match(fr.Data, fr.Length), nil
}
