package sockwatch

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tcplens/tcplens/internal/sockdiag"
)

// Filter selects sockets as ss(8)'s filter does:
//
//	[state STATE]... [exclude STATE]... [EXPRESSION]
//
// STATE is a state name in ss's spelling (established, syn-sent, syn-recv,
// fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack,
// listening, closing) or the kernel's (ESTABLISHED, FIN_WAIT1, ...), in any
// case, or one of ss's groups: all, connected (all but listening and
// closed), synchronized (connected but syn-sent), bucket (syn-recv and
// time-wait: the minisockets), big (all but bucket). EXPRESSION combines
// with and, or, not (also &&, ||, !) and parentheses:
//
//	sport OP PORT, dport OP PORT     OP one of = == != < <= > >= eq ne lt le gt ge; PORT as 80 or :80
//	src ADDR[/BITS][:PORT], dst ...  an address, a CIDR prefix, optionally a port: 10.0.0.0/8, [::1]:443
//
// Like ss, an expression without a state selects every state.
type Filter struct {
	states uint32 // bit i set: State i selected
	stated bool   // the filter names states (state, exclude)
	expr   node   // nil: everything
}

// Match reports whether s passes the filter.
func (f *Filter) Match(s *sockdiag.Socket) bool {
	if f == nil {
		return true
	}
	if f.states&(1<<s.State) == 0 {
		return false
	}
	return f.expr == nil || f.expr.match(s)
}

// Both returns a filter that passes what a and b both pass.
func Both(a, b *Filter) *Filter {
	f := &Filter{states: a.states & b.states, expr: a.expr}
	switch {
	case f.expr == nil:
		f.expr = b.expr
	case b.expr != nil:
		f.expr = andNode{a.expr, b.expr}
	}
	return f
}

var stateGroups = func() map[string]uint32 {
	bit := func(ss ...sockdiag.State) uint32 {
		var m uint32
		for _, s := range ss {
			m |= 1 << s
		}
		return m
	}
	all := bit(sockdiag.States...)
	bucket := bit(sockdiag.SynRecv, sockdiag.TimeWait)
	connected := all &^ bit(sockdiag.Listen, sockdiag.Close)
	return map[string]uint32{
		"all":          all,
		"connected":    connected,
		"synchronized": connected &^ bit(sockdiag.SynSent),
		"bucket":       bucket,
		"big":          all &^ bucket,
		// ss spellings that differ from the kernel's
		"estab":      bit(sockdiag.Established),
		"listening":  bit(sockdiag.Listen),
		"closed":     bit(sockdiag.Close),
		"unconn":     bit(sockdiag.Close),
		"fin_wait_1": bit(sockdiag.FinWait1),
		"fin_wait_2": bit(sockdiag.FinWait2),
	}
}()

// ParseState parses one state name or group into its bit set.
func ParseState(name string) (uint32, error) {
	n := strings.ToLower(strings.ReplaceAll(name, "-", "_"))
	if m, ok := stateGroups[n]; ok {
		return m, nil
	}
	for _, s := range sockdiag.States {
		if strings.ToLower(s.String()) == n {
			return 1 << s, nil
		}
	}
	return 0, fmt.Errorf("unknown state %q (established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack, listening, closing, or a group: all, connected, synchronized, bucket, big)", name)
}

// ParseFilter parses a filter given as separate words (the command line
// after the flags); words may also hold several tokens.
func ParseFilter(words []string) (*Filter, error) {
	toks := tokenize(strings.Join(words, " "))
	f := &Filter{}
	var include, exclude uint32
	i := 0
	for i+1 < len(toks) && (toks[i] == "state" || toks[i] == "exclude") {
		m, err := ParseState(toks[i+1])
		if err != nil {
			return nil, err
		}
		if toks[i] == "state" {
			include |= m
		} else {
			exclude |= m
		}
		i += 2
	}
	f.stated = include|exclude != 0
	if include == 0 {
		include = stateGroups["all"]
	}
	f.states = include &^ exclude
	if i < len(toks) {
		p := &parser{toks: toks[i:]}
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.pos < len(p.toks) {
			return nil, fmt.Errorf("filter: unexpected %q", p.toks[p.pos])
		}
		f.expr = e
	}
	return f, nil
}

func tokenize(s string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		for w != "" {
			switch {
			case strings.HasPrefix(w, "&&"), strings.HasPrefix(w, "||"):
				out = append(out, w[:2])
				w = w[2:]
			case w[0] == '(' || w[0] == ')':
				out = append(out, w[:1])
				w = w[1:]
			case w[0] == '!' && !strings.HasPrefix(w, "!="):
				out = append(out, "!")
				w = w[1:]
			default:
				j := strings.IndexAny(w, "()")
				if j < 0 {
					j = len(w)
				}
				out = append(out, w[:j])
				w = w[j:]
			}
		}
	}
	return out
}

type node interface {
	match(s *sockdiag.Socket) bool
}

type andNode struct{ a, b node }
type orNode struct{ a, b node }
type notNode struct{ a node }

func (n andNode) match(s *sockdiag.Socket) bool { return n.a.match(s) && n.b.match(s) }
func (n orNode) match(s *sockdiag.Socket) bool  { return n.a.match(s) || n.b.match(s) }
func (n notNode) match(s *sockdiag.Socket) bool { return !n.a.match(s) }

type portNode struct {
	dst bool
	op  string
	val uint16
}

func (n portNode) match(s *sockdiag.Socket) bool {
	p := s.Local.Port()
	if n.dst {
		p = s.Peer.Port()
	}
	switch n.op {
	case "=", "==", "eq":
		return p == n.val
	case "!=", "ne", "neq":
		return p != n.val
	case "<", "lt":
		return p < n.val
	case "<=", "le":
		return p <= n.val
	case ">", "gt":
		return p > n.val
	case ">=", "ge":
		return p >= n.val
	}
	return false
}

type addrNode struct {
	dst    bool
	prefix netip.Prefix
	port   uint16 // 0: any
}

func (n addrNode) match(s *sockdiag.Socket) bool {
	ap := s.Local
	if n.dst {
		ap = s.Peer
	}
	if n.port != 0 && ap.Port() != n.port {
		return false
	}
	if !n.prefix.IsValid() {
		return true
	}
	// An IPv4-mapped address matches an IPv4 prefix, as ss's does.
	return n.prefix.Contains(ap.Addr()) || n.prefix.Contains(ap.Addr().Unmap())
}

type parser struct {
	toks  []string
	pos   int
	depth int // parentheses and nots open around the current term
}

// maxFilterDepth bounds the nesting of parentheses and nots. The parser
// recurses once per level, and a goroutine's stack is bounded (a million
// levels overflow it, which no recover catches); a real filter nests a
// few levels.
const maxFilterDepth = 1000

func (p *parser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *parser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *parser) or() (node, error) {
	a, err := p.and()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t == "or" || t == "||"; t = p.peek() {
		p.next()
		b, err := p.and()
		if err != nil {
			return nil, err
		}
		a = orNode{a, b}
	}
	return a, nil
}

func (p *parser) and() (node, error) {
	a, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t == "and" || t == "&&" {
			p.next()
		} else if t == "" || t == ")" || t == "or" || t == "||" {
			return a, nil
		} // juxtaposition means and, as in ss
		b, err := p.unary()
		if err != nil {
			return nil, err
		}
		a = andNode{a, b}
	}
}

func (p *parser) unary() (node, error) {
	if p.depth++; p.depth > maxFilterDepth {
		return nil, fmt.Errorf("filter: parentheses and nots nested more than %d deep", maxFilterDepth)
	}
	defer func() { p.depth-- }()
	switch t := p.next(); t {
	case "not", "!":
		a, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{a}, nil
	case "(":
		a, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("filter: missing )")
		}
		return a, nil
	case "sport", "dport":
		op := "="
		switch p.peek() {
		case "=", "==", "!=", "<", "<=", ">", ">=", "eq", "ne", "neq", "lt", "le", "gt", "ge":
			op = p.next()
		}
		v := strings.TrimPrefix(p.next(), ":")
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("filter: %s %s: port %q is not a number", t, op, v)
		}
		return portNode{dst: t == "dport", op: op, val: uint16(n)}, nil
	case "src", "dst":
		if o := p.peek(); o == "=" || o == "==" {
			p.next()
		}
		v := p.next()
		if v == "" || v == "(" || v == ")" {
			return nil, fmt.Errorf("filter: %s needs an address", t)
		}
		n, err := parseAddrFilter(v)
		if err != nil {
			return nil, fmt.Errorf("filter: %s %s: %v", t, v, err)
		}
		n.dst = t == "dst"
		return n, nil
	case "":
		return nil, fmt.Errorf("filter: unexpected end")
	default:
		return nil, fmt.Errorf("filter: unexpected %q (want sport, dport, src, dst, not, or a parenthesis)", t)
	}
}

// parseAddrFilter parses ADDR, ADDR/BITS, ADDR:PORT, [V6]:PORT, :PORT or *:PORT.
func parseAddrFilter(v string) (addrNode, error) {
	var n addrNode
	host, port := v, ""
	switch {
	case strings.HasPrefix(v, "["):
		end := strings.Index(v, "]")
		if end < 0 {
			return n, fmt.Errorf("missing ]")
		}
		host, port = v[1:end], strings.TrimPrefix(v[end+1:], ":")
	case strings.Count(v, ":") == 1:
		host, port, _ = strings.Cut(v, ":")
	}
	if port != "" && port != "*" {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return n, fmt.Errorf("port %q is not a number", port)
		}
		n.port = uint16(p)
	}
	if host == "" || host == "*" {
		return n, nil
	}
	if strings.Contains(host, "/") {
		pf, err := netip.ParsePrefix(host)
		if err != nil {
			return n, err
		}
		n.prefix = pf.Masked()
		return n, nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return n, err
	}
	n.prefix = netip.PrefixFrom(a, a.BitLen())
	return n, nil
}
