package sockwatch

import (
	"testing"

	"github.com/tcplens/tcplens/internal/sockdiag"
)

// TestTableStates: ss's choice of the sockets its table lists: a state in
// the filter wins; else -a every state, -l listeners and unconnected
// sockets, and by default the connected ones but SYN_RECV and TIME_WAIT.
func TestTableStates(t *testing.T) {
	bits := func(ss ...sockdiag.State) uint32 {
		var m uint32
		for _, s := range ss {
			m |= 1 << s
		}
		return m
	}
	parse := func(words ...string) *Filter {
		f, err := ParseFilter(words)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, tc := range []struct {
		name           string
		f              *Filter
		all, listening bool
		want           uint32
	}{
		{"default", nil, false, false, bits(sockdiag.Established, sockdiag.SynSent, sockdiag.FinWait1, sockdiag.FinWait2, sockdiag.CloseWait, sockdiag.LastAck, sockdiag.Closing)},
		{"expression only", parse("sport", "=", ":80"), false, false, ssConnected},
		{"-a", nil, true, false, stateGroups["all"]},
		{"-l", parse("dport = :443"), false, true, bits(sockdiag.Listen, sockdiag.Close)},
		{"state wins over -l", parse("state", "time-wait"), false, true, bits(sockdiag.TimeWait)},
		{"exclude", parse("exclude", "listening"), false, false, stateGroups["all"] &^ bits(sockdiag.Listen)},
	} {
		if got := tc.f.TableStates(tc.all, tc.listening); got != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.name, got, tc.want)
		}
	}
}
