package sockwatch

import (
	"strings"
	"testing"
)

// TestFilterDepth: nesting is bounded, so that no filter can overflow the
// parser's stack (a million parentheses did: a fatal error, not a panic).
func TestFilterDepth(t *testing.T) {
	nest := func(n int, open, close string) string {
		return strings.Repeat(open, n) + "sport = :22" + strings.Repeat(close, n)
	}
	for _, tc := range []struct {
		filter string
		ok     bool
	}{
		{nest(maxFilterDepth-1, "( ", " )"), true},
		{nest(maxFilterDepth, "( ", " )"), false},
		{nest(1_000_000, "(", ")"), false},
		{nest(maxFilterDepth-1, "not ", ""), true},
		{nest(1_000_000, "! ", ""), false},
	} {
		_, err := ParseFilter([]string{tc.filter})
		if (err == nil) != tc.ok {
			t.Errorf("ParseFilter(%d bytes of nesting) = %v, want ok=%v", len(tc.filter), err, tc.ok)
		}
	}
}

// FuzzParseFilter: no filter panics the parser or the matcher, and a
// filter that parses means what it says: with EXPR accepted, "not ( EXPR )"
// matches exactly the sockets EXPR does not, and "EXPR or EXPR" the same
// as EXPR.
func FuzzParseFilter(f *testing.F) {
	for _, tc := range filterCases {
		f.Add(tc.filter)
	}
	// ss(8)'s examples, and iproute2's own filter forms.
	for _, s := range []string{
		"state established '( dport = :ssh or sport = :ssh )'",
		"dst 193.233.7/24",
		"state fin-wait-1 '( sport = :http or sport = :https )' dst 193.233.7/24",
		"( dport >= :1024 )",
		"dport != :22 and sport != :22",
		"src [::1]:22 or dst [::ffff:127.0.0.1]:*",
		"exclude time-wait exclude syn-recv",
		"state all exclude listening sport ge :1024",
		"not ( src 10.0.0.0/8 or src 192.168.0.0/16 ) && dport lt :1024",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter([]string{s})
		if err != nil {
			return
		}
		for i := range filterSockets {
			flt.Match(&filterSockets[i])
		}
		words := strings.Fields(s)
		if len(words) == 0 || words[0] == "state" || words[0] == "exclude" {
			return
		}
		not, err := ParseFilter([]string{"not (", s, ")"})
		if err != nil {
			t.Fatalf("%q parses, not ( %s ) does not: %v", s, s, err)
		}
		or, err := ParseFilter([]string{s, "or", s})
		if err != nil {
			t.Fatalf("%q parses, %[1]s or %[1]s does not: %v", s, err)
		}
		for i := range filterSockets {
			sk := &filterSockets[i]
			m := flt.Match(sk)
			if not.Match(sk) == m {
				t.Fatalf("socket %d: %q matches %v, and so does its negation", i, s, m)
			}
			if or.Match(sk) != m {
				t.Fatalf("socket %d: %q matches %v, %[2]q or itself %v", i, s, m, !m)
			}
		}
	})
}
