package cli

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// schemaCaptures between them make read --json and conns --json use every
// key: retransmissions of each kind, dup ACKs, zero windows and probes,
// Fast Open, IPv6, a mid-stream connection, malformed headers, copies.
var schemaCaptures = []string{
	filepath.Join(testdata, "kernel", "fast-retransmit.pcap"),
	filepath.Join(testdata, "kernel", "zero-window.pcap"),
	filepath.Join(testdata, "kernel", "fast-open.pcap"),
	filepath.Join(testdata, "kernel", "syn-timeout.pcap"),
	filepath.Join(testdata, "kernel", "client-close-ipv6.pcap"),
	capturePath("zeek-http-get_nosyn.pcap"),
	capturePath("zeek-tcp-truncated-header.pcap"),
	capturePath("zeek-tcp-ssh-dups.pcap"),
	capturePath("suri-tcp-empty-sack-tcp-opt.pcap"),
	capturePath("tcpdump-mptcp-v1.pcap"),
	capturePath("tcpdump-accecn_handshake.pcap"),
}

// linuxStates are the state names the JSON may carry: the Linux kernel's,
// as ss and /proc/net/tcp know them, and UNKNOWN.
var linuxStates = map[string]bool{
	"UNKNOWN": true, "LISTEN": true, "SYN_SENT": true, "SYN_RECV": true, "ESTABLISHED": true,
	"FIN_WAIT1": true, "FIN_WAIT2": true, "CLOSING": true, "TIME_WAIT": true, "CLOSE_WAIT": true,
	"LAST_ACK": true, "CLOSED": true,
}

// keysOf collects every object key in v, at any depth.
func keysOf(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			into[k] = true
			keysOf(e, into)
		}
	case []any:
		for _, e := range x {
			keysOf(e, into)
		}
	}
}

func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for i, l := range lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, l)
		}
		objs = append(objs, m)
	}
	return objs
}

// documented checks that every key is named in the command's help.
func documented(t *testing.T, cmd string, keys map[string]bool) {
	t.Helper()
	help, _, code := run(t, nil, cmd, "--help")
	if code != 0 {
		t.Fatalf("%s --help: exit %d", cmd, code)
	}
	var missing []string
	for k := range keys {
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(k) + `\b`).MatchString(help) {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%s --json has keys its --help does not document: %s", cmd, strings.Join(missing, ", "))
	}
}

func TestReadJSONSchema(t *testing.T) {
	keys := map[string]bool{}
	for _, file := range schemaCaptures {
		out, _, _ := run(t, nil, "read", "--json", file)
		for _, m := range jsonLines(t, out) {
			keysOf(m, keys)
			for _, k := range []string{"frame", "time", "analysis"} {
				if _, ok := m[k]; !ok {
					t.Errorf("%s: a segment without %q: %v", filepath.Base(file), k, m)
				}
			}
			if _, ok := m["conn"]; ok {
				if d := m["dir"]; d != "c2s" && d != "s2c" {
					t.Errorf("%s frame %v: dir %v", filepath.Base(file), m["frame"], d)
				}
				st, _ := m["state_after"].(map[string]any)
				for _, end := range []string{"client", "server"} {
					if s, _ := st[end].(string); !linuxStates[s] {
						t.Errorf("%s frame %v: state_after.%s %v is not a Linux state name", filepath.Base(file), m["frame"], end, st[end])
					}
				}
			}
			if rtt, ok := m["rtt"]; ok {
				if f, _ := m["flags"].(string); !strings.Contains(f, ".") || rtt.(float64) <= 0 {
					t.Errorf("%s frame %v: rtt %v on flags %q: a sample comes from an ACK", filepath.Base(file), m["frame"], rtt, f)
				}
			}
			for _, ch := range asList(m["changes"]) {
				c := ch.(map[string]any)
				if !linuxStates[c["from"].(string)] || !linuxStates[c["to"].(string)] {
					t.Errorf("%s frame %v: change %v", filepath.Base(file), m["frame"], c)
				}
			}
		}
	}
	documented(t, "read", keys)
}

func TestConnsJSONSchema(t *testing.T) {
	keys := map[string]bool{}
	for _, file := range schemaCaptures {
		out, _, _ := run(t, nil, "conns", "--json", file)
		for _, m := range jsonLines(t, out) {
			keysOf(m, keys)
			name := filepath.Base(file)
			oneOf := func(k string, allowed ...string) {
				v, _ := m[k].(string)
				for _, a := range allowed {
					if v == a {
						return
					}
				}
				t.Errorf("%s conn %v: %s %q, want one of %v", name, m["id"], k, v, allowed)
			}
			oneOf("closed_by", "client", "server", "both", "none")
			oneOf("close", "fin", "rst", "none")
			oneOf("vantage", "client", "server", "middle", "unknown")
			for _, k := range []string{"client_state", "server_state"} {
				if s, _ := m[k].(string); !linuxStates[s] {
					t.Errorf("%s conn %v: %s %q is not a Linux state name", name, m["id"], k, s)
				}
			}
			states, _ := m["states"].(map[string]any)
			for _, end := range []string{"client", "server"} {
				for _, s := range asList(states[end]) {
					if st, _ := s.(map[string]any)["state"].(string); !linuxStates[st] {
						t.Errorf("%s conn %v: states.%s has %q", name, m["id"], end, st)
					}
				}
			}
		}
	}
	documented(t, "conns", keys)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// TestCompareJSONSchema: compare --json on every router recording and on a
// pair through a path that does much at once uses only keys its --help
// documents, and each item's kind is one of those --help lists.
func TestCompareJSONSchema(t *testing.T) {
	keys := map[string]bool{}
	help, _, _ := run(t, nil, "compare", "--help")
	dirs, _ := filepath.Glob(filepath.Join(testdata, "kernel", "router", "*"))
	hostileA, hostileB := hostilePair(t)
	pairs := [][2]string{{hostileA, hostileB}}
	for _, d := range dirs {
		pairs = append(pairs, [2]string{filepath.Join(d, "client.pcap"), filepath.Join(d, "server.pcap")})
	}
	for _, p := range pairs {
		out, errOut, code := run(t, nil, "compare", "--json", p[0], p[1])
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", p, code, errOut)
		}
		objs := jsonLines(t, out)
		for i, m := range objs {
			keysOf(m, keys)
			kind, _ := m["kind"].(string)
			if i == len(objs)-1 {
				if kind != "summary" {
					t.Errorf("%v: the last object is %q, want the summary", p, kind)
				}
				continue
			}
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(kind) + `\b`).MatchString(help) {
				t.Errorf("%v: kind %q is not in compare --help", p, kind)
			}
		}
	}
	documented(t, "compare", keys)
}
