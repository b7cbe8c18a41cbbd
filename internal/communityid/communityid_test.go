package communityid

import (
	"net/netip"
	"testing"
)

// The vectors are the specification's (its baseline for the TCP flow of
// its README) and their reversals: both directions give one ID.
func TestOf(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		seed uint16
		want string
	}{
		{"128.232.110.120:34855", "66.35.250.204:80", 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{"66.35.250.204:80", "128.232.110.120:34855", 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{"1.2.3.4:1122", "5.6.7.8:3344", 0, "1:wCb3OG7yAFWelaUydu0D+125CLM="}, // Zeek's test of community_id_v1
	} {
		got := Of(tc.seed, netip.MustParseAddrPort(tc.a), netip.MustParseAddrPort(tc.b), ProtoTCP)
		if got != tc.want {
			t.Errorf("Of(%d, %s, %s) = %s, want %s", tc.seed, tc.a, tc.b, got, tc.want)
		}
	}
}
