package bpf

import (
	"fmt"
	"net/netip"
	"strings"
)

type tokKind uint8

const (
	tEnd  tokKind = iota
	tWord         // a keyword, or a name
	tName         // a name escaped with a backslash (\tcp): never a keyword
	tNum          // a number, or one of libpcap's named numbers (tcp-syn, icmptype)
	tHID          // a dotted IPv4 address or prefix: 10.1, 10.1.2.3
	tHID6         // an IPv6 address
	tEID          // a MAC address
	tOp           // punctuation and operators: ( ) [ ] : + - * / % & | ^ ! = == != < <= > >= << >> && ||
)

type token struct {
	kind tokKind
	s    string // the text (of a tName without its backslash)
	pos  int    // byte offset in the expression
	n    uint32 // the value of a tNum
}

// keywords are the words scanner.l turns into tokens of their own; a
// name that is one must be escaped (\tcp) to be taken as a name.
var keywords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`dst src link ether ppp slip fddi tr wlan arp rarp ip sctp tcp udp
		icmp igmp igrp pim vrrp carp radio ip6 icmp6 ah esp atalk aarp decnet lat sca moprc mopdl
		iso esis es-is isis is-is l1 l2 iih lsp snp csnp psnp clnp stp ipx netbeui host net mask port
		portrange proto protochain gateway type subtype direction dir address1 addr1 address2 addr2
		address3 addr3 address4 addr4 ra ta less greater byte broadcast multicast and or not len
		length inbound outbound ifindex vlan mpls pppoed pppoes geneve batadv lane llc metac bcc oam
		oamf4 oamf4ec oamf4sc sc ilmic vpi vci connectmsg metaconnect on ifname rset ruleset rnr
		rulenum srnr subrulenum reason action fisu lssu lsu msu hfisu hlssu hmsu sio opc dpc sls
		hsio hopc hdpc hsls`) {
		keywords[w] = true
	}
}

// namedNumbers are libpcap's words that stand for numbers.
var namedNumbers = map[string]uint32{
	"tcpflags": 13, "tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08,
	"tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
	"icmptype": 0, "icmpcode": 1, "icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4,
	"icmp-redirect": 5, "icmp-echo": 8, "icmp-routeradvert": 9, "icmp-routersolicit": 10,
	"icmp-timxceed": 11, "icmp-paramprob": 12, "icmp-tstamp": 13, "icmp-tstampreply": 14,
	"icmp-ireq": 15, "icmp-ireqreply": 16, "icmp-maskreq": 17, "icmp-maskreply": 18,
	"icmp6type": 0, "icmp6code": 1, "icmp6-destinationunreach": 1, "icmp6-packettoobig": 2,
	"icmp6-timeexceeded": 3, "icmp6-parameterproblem": 4, "icmp6-echo": 128, "icmp6-echoreply": 129,
	"icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
	"icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133, "icmp6-routeradvert": 134,
	"icmp6-neighborsolicit": 135, "icmp6-neighboradvert": 136, "icmp6-redirect": 137,
	"icmp6-routerrenum": 138, "icmp6-nodeinformationquery": 139, "icmp6-nodeinformationresponse": 140,
	"icmp6-ineighbordiscoverysolicit": 141, "icmp6-ineighbordiscoveryadvert": 142,
	"icmp6-multicastlistenerreportv2": 143, "icmp6-homeagentdiscoveryrequest": 144,
	"icmp6-homeagentdiscoveryreply": 145, "icmp6-mobileprefixsolicit": 146,
	"icmp6-mobileprefixadvert": 147, "icmp6-certpathsolicit": 148, "icmp6-certpathadvert": 149,
	"icmp6-multicastrouteradvert": 151, "icmp6-multicastroutersolicit": 152,
	"icmp6-multicastrouterterm": 153,
}

var twoCharOps = []string{">=", "<=", "!=", "==", "<<", ">>", "&&", "||"}

const oneCharOps = "+-*/%:[]!<>()&|^="

// lex splits an expression into tokens as libpcap's scanner.l does: at
// each point the longest of its patterns wins, and of two equally long
// the one scanner.l lists first (a keyword before a name, so tcp-syn is a
// number and 1-1023 a name). Every step consumes at least one byte, so
// lex ends on any input; an unknown character is an error at its offset.
func lex(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '\\':
			j := i + 1
			for j < len(s) && !strings.ContainsRune(" !()\n\t", rune(s[j])) {
				j++
			}
			if j == i+1 {
				return nil, &SyntaxError{Expr: s, Pos: i, Len: 1, Msg: `"\" must be followed by a name`}
			}
			out = append(out, token{kind: tName, s: s[i+1 : j], pos: i})
			i = j
			continue
		case isAlnum(c):
			t, err := lexWord(s, i)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
			i += len(t.s)
			continue
		}
		if i+1 < len(s) {
			two := s[i : i+2]
			for _, op := range twoCharOps {
				if two == op {
					out = append(out, token{kind: tOp, s: op, pos: i})
					i += 2
					goto next
				}
			}
		}
		if strings.IndexByte(oneCharOps, c) >= 0 {
			out = append(out, token{kind: tOp, s: s[i : i+1], pos: i})
			i++
			continue
		}
		return nil, &SyntaxError{Expr: s, Pos: i, Len: 1, Msg: fmt.Sprintf("unexpected character %q", rune(c))}
	next:
	}
	return out, nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// lexWord reads the token that starts with a letter or digit at i.
func lexWord(s string, i int) (token, error) {
	// A name: [A-Za-z0-9]([-_.A-Za-z0-9]*[.A-Za-z0-9])?
	j := i + 1
	for j < len(s) && (isAlnum(s[j]) || s[j] == '-' || s[j] == '_' || s[j] == '.') {
		j++
	}
	for j > i+1 && (s[j-1] == '-' || s[j-1] == '_') {
		j--
	}
	idLen := j - i
	word := s[i:j]
	numLen := numberLen(s, i)
	hidLen := hidLen(s, i)
	macLen := macLen(s, i)
	v6Len := v6Len(s, i)
	best := max(idLen, numLen, hidLen, macLen, v6Len)
	if bogus := bogusMACLen(s, i); bogus > best {
		return token{}, &SyntaxError{Expr: s, Pos: i, Len: bogus, Msg: fmt.Sprintf("bogus ethernet address %s", clip(s[i:i+bogus]))}
	}
	switch {
	case idLen == best && keywords[word]:
		return token{kind: tWord, s: word, pos: i}, nil
	case macLen == best:
		return token{kind: tEID, s: s[i : i+macLen], pos: i}, nil
	case numLen == best:
		text := s[i : i+numLen]
		n, err := parseNumber(text)
		if err != nil {
			return token{}, &SyntaxError{Expr: s, Pos: i, Len: numLen, Msg: err.Error()}
		}
		return token{kind: tNum, s: text, pos: i, n: n}, nil
	case hidLen == best:
		return token{kind: tHID, s: s[i : i+hidLen], pos: i}, nil
	case v6Len == best:
		text := s[i : i+v6Len]
		if _, err := netip.ParseAddr(text); err != nil {
			return token{}, &SyntaxError{Expr: s, Pos: i, Len: v6Len, Msg: fmt.Sprintf("bogus IPv6 address %s", clip(text))}
		}
		return token{kind: tHID6, s: text, pos: i}, nil
	}
	if n, ok := namedNumbers[word]; ok {
		return token{kind: tNum, s: word, pos: i, n: n}, nil
	}
	return token{kind: tWord, s: word, pos: i}, nil
}

// numberLen is the length of {N}: decimal digits, or 0x and hex digits.
func numberLen(s string, i int) int {
	if i+2 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && isHex(s[i+2]) {
		j := i + 2
		for j < len(s) && isHex(s[j]) {
			j++
		}
		return j - i
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return j - i
}

// parseNumber converts {N} as libpcap's stou does: 0x hex, a leading 0
// octal, else decimal, and no more than 32 bits.
func parseNumber(t string) (uint32, error) {
	base, digits := uint64(10), t
	switch {
	case len(t) > 2 && (t[1] == 'x' || t[1] == 'X'):
		base, digits = 16, t[2:]
	case len(t) > 1 && t[0] == '0':
		base, digits = 8, t[1:]
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		default:
			d = uint64(c-'A') + 10
		}
		if d >= base {
			return 0, fmt.Errorf("number %s contains non-octal digit", clip(t))
		}
		n = n*base + d
		if n > 0xffffffff {
			return 0, fmt.Errorf("number %s overflows 32 bits", clip(t))
		}
	}
	return uint32(n), nil
}

// hidLen is the length of {N}.{N}, {N}.{N}.{N} or {N}.{N}.{N}.{N}.
func hidLen(s string, i int) int {
	j := i + numberLen(s, i)
	if j == i {
		return 0
	}
	parts, end := 1, 0
	for parts < 4 && j < len(s) && s[j] == '.' {
		n := numberLen(s, j+1)
		if n == 0 {
			break
		}
		j += 1 + n
		parts++
		end = j
	}
	if parts == 1 {
		return 0
	}
	return end - i
}

// hexRun is the length of the run of hex digits at i, at most max.
func hexRun(s string, i, max int) int {
	j := i
	for j < len(s) && j-i < max && isHex(s[j]) {
		j++
	}
	return j - i
}

// macLen is the length of a MAC address in one of scanner.l's forms:
// 1:2:3:4:5:6, 1-2-3-4-5-6, 1.2.3.4.5.6, 0102.0304.0506, 010203040506.
func macLen(s string, i int) int {
	best := 0
	for _, sep := range []byte{':', '-', '.'} {
		j := i
		ok := true
		for g := 0; g < 6; g++ {
			if g > 0 {
				if j >= len(s) || s[j] != sep {
					ok = false
					break
				}
				j++
			}
			n := hexRun(s, j, 2)
			if n == 0 {
				ok = false
				break
			}
			j += n
		}
		if ok {
			best = max(best, j-i)
		}
	}
	j := i
	ok := true
	for g := 0; g < 3; g++ {
		if g > 0 {
			if j >= len(s) || s[j] != '.' {
				ok = false
				break
			}
			j++
		}
		if hexRun(s, j, 4) != 4 {
			ok = false
			break
		}
		j += 4
	}
	if ok {
		best = max(best, j-i)
	}
	if hexRun(s, i, 12) == 12 {
		best = max(best, 12)
	}
	return best
}

// bogusMACLen is the length of {B}:+({B}:+)+, which libpcap rejects.
func bogusMACLen(s string, i int) int {
	j, groups := i, 0
	for {
		n := hexRun(s, j, 2)
		if n == 0 || j+n >= len(s) || s[j+n] != ':' {
			break
		}
		j += n
		for j < len(s) && s[j] == ':' {
			j++
		}
		groups++
	}
	if groups < 2 {
		return 0
	}
	return j - i
}

// v6Len is the length of the longest IPv6 address in scanner.l's forms
// at i: groups of at most four hex digits, with :: at most once, and
// optionally a dotted IPv4 address in the last 32 bits.
func v6Len(s string, i int) int {
	run := 0
	for i+run < len(s) && run < 45 && (isHex(s[i+run]) || s[i+run] == ':' || s[i+run] == '.') {
		run++
	}
	for l := run; l > 1; l-- {
		if v6Form(s[i : i+l]) {
			return l
		}
	}
	return 0
}

func v6Form(t string) bool {
	if !strings.Contains(t, ":") {
		return false
	}
	head, tail, double := strings.Cut(t, "::")
	if double && strings.Contains(tail, "::") {
		return false
	}
	groups := func(p string, last bool) (int, bool) {
		if p == "" {
			return 0, true
		}
		fields := strings.Split(p, ":")
		n := 0
		for k, f := range fields {
			if last && k == len(fields)-1 && strings.Contains(f, ".") {
				if hidLen(f, 0) != len(f) || strings.Count(f, ".") != 3 {
					return 0, false
				}
				n += 2
				continue
			}
			if len(f) == 0 || len(f) > 4 || hexRun(f, 0, 4) != len(f) {
				return 0, false
			}
			n++
		}
		return n, true
	}
	if !double {
		n, ok := groups(t, true)
		return ok && n == 8
	}
	a, ok1 := groups(head, tail == "")
	b, ok2 := groups(tail, true)
	return ok1 && ok2 && a+b <= 7
}
