package communityid

import (
	"net/netip"
	"testing"
)

// The spec's own vectors (community-id-spec, baseline/README.md and
// baseline/baseline_deflt.json; the last of its README is Zeek's test of
// community_id_v1): each flow in both directions.
func TestSpecVectors(t *testing.T) {
	tests := []struct {
		seed         uint16
		proto        uint8
		saddr, daddr string
		sport, dport uint16
		want         string
	}{
		{0, ProtoTCP, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM="},
		{0, ProtoTCP, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM="},
		{0, ProtoUDP, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="},
		{0, ProtoSCTP, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="},
		{1, ProtoTCP, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
		{1, ProtoTCP, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
		{1, ProtoUDP, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:OShq+iKDAMVouh/4bMxB9Sz4amw="},
		// From packets (baseline_deflt.json): IPv6 and IPv4 TCP, UDP.
		{0, ProtoTCP, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
		{0, ProtoTCP, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
		{0, ProtoTCP, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{0, ProtoTCP, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{0, ProtoUDP, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
		{0, ProtoSCTP, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
		{0, ProtoSCTP, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
		// An IPv4-mapped IPv6 address hashes as the IPv4 address.
		{0, ProtoTCP, "::ffff:1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM="},
	}
	for _, tc := range tests {
		a := netip.AddrPortFrom(netip.MustParseAddr(tc.saddr), tc.sport)
		b := netip.AddrPortFrom(netip.MustParseAddr(tc.daddr), tc.dport)
		if got := Of(tc.seed, a, b, tc.proto); got != tc.want {
			t.Errorf("Of(%d, %v, %v, %d) = %s, want %s", tc.seed, a, b, tc.proto, got, tc.want)
		}
	}
}

func TestAppendAllocs(t *testing.T) {
	a := netip.MustParseAddrPort("10.0.0.1:40000")
	b := netip.MustParseAddrPort("10.0.0.2:80")
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], 0, a, b, ProtoTCP) }); n != 0 {
		t.Errorf("Append allocates %v times per call, want 0", n)
	}
}
