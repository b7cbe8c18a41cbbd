package flowhash

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestFixedVectors holds the hash to values computed once: shards written
// by different versions of tcplens must agree, so a change here is a
// change of the dataset format, not a refactoring.
func TestFixedVectors(t *testing.T) {
	tests := []struct {
		a, b string
		want uint64
	}{
		{"10.77.0.1:40001", "10.77.0.2:8000", 0x7ec5b3d482d3b117},
		{"192.168.1.10:443", "10.0.0.1:51234", 0x4a9aef6f55d4ccb3},
		{"[fd00:77::1]:40001", "[fd00:77::2]:8000", 0xcd902bc2c18bf6f0},
		{"[2001:db8::1]:0", "[2001:db8::1]:0", 0x1811dc8643fd5ee1},
	}
	for _, tc := range tests {
		a, b := netip.MustParseAddrPort(tc.a), netip.MustParseAddrPort(tc.b)
		if got := Of(a, b); got != tc.want {
			t.Errorf("Of(%s, %s) = %#x, want %#x", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSymmetric(t *testing.T) {
	pairs := [][2]string{
		{"10.77.0.1:40001", "10.77.0.2:8000"},
		{"10.77.0.1:8000", "10.77.0.1:40001"}, // same address, ports decide the order
		{"[fd00:77::1]:40001", "[fd00:77::2]:8000"},
		{"1.2.3.4:5", "[::ffff:1.2.3.4]:6"},
	}
	for _, p := range pairs {
		a, b := netip.MustParseAddrPort(p[0]), netip.MustParseAddrPort(p[1])
		if Of(a, b) != Of(b, a) {
			t.Errorf("Of(%s, %s) = %#x but Of(%s, %s) = %#x", a, b, Of(a, b), b, a, Of(b, a))
		}
	}
	v4 := Of(netip.MustParseAddrPort("1.2.3.4:5"), netip.MustParseAddrPort("5.6.7.8:9"))
	mapped := Of(netip.MustParseAddrPort("[::ffff:1.2.3.4]:5"), netip.MustParseAddrPort("[::ffff:5.6.7.8]:9"))
	if v4 != mapped {
		t.Errorf("IPv4 %#x and IPv4-mapped %#x hash differently", v4, mapped)
	}
	if Of(netip.MustParseAddrPort("1.2.3.4:5"), netip.MustParseAddrPort("5.6.7.8:9")) == Of(netip.MustParseAddrPort("1.2.3.4:9"), netip.MustParseAddrPort("5.6.7.8:5")) {
		t.Error("swapping only the ports gives the same hash")
	}
}

// TestOf4 holds the IPv4 fast path to Of: the shards it decides must be
// the ones export's --shard and every other caller of Of decide.
func TestOf4(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	addrs := []uint32{0, 1, 0x0a4d0001, 0x0a4d0002, 0xc0a8010a, 0xffffffff}
	ports := []uint16{0, 1, 80, 443, 8000, 40001, 65535}
	check := func(a uint32, pa uint16, b uint32, pb uint16) {
		x := netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), pa)
		y := netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)}), pb)
		if got, want := Of4(a, pa, b, pb), Of(x, y); got != want {
			t.Fatalf("Of4(%v, %v) = %#x, Of = %#x", x, y, got, want)
		}
	}
	for _, a := range addrs {
		for _, b := range addrs {
			for _, pa := range ports {
				for _, pb := range ports {
					check(a, pa, b, pb)
				}
			}
		}
	}
	for range 100000 {
		check(rng.Uint32(), uint16(rng.Uint32()), rng.Uint32(), uint16(rng.Uint32()))
	}
}

// TestShardSpread checks that consecutive client ports, the common case
// of one client's many connections, spread evenly over any shard count.
func TestShardSpread(t *testing.T) {
	server := netip.MustParseAddrPort("10.0.0.2:443")
	for _, n := range []int{1, 2, 3, 7, 64} {
		counts := make([]int, n)
		const conns = 64000
		for p := range conns {
			client := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(1024+p))
			s := Shard(Of(client, server), n)
			if s < 0 || s >= n {
				t.Fatalf("Shard(_, %d) = %d", n, s)
			}
			counts[s]++
		}
		want := conns / n
		for s, c := range counts {
			if c < want*9/10 || c > want*11/10 {
				t.Errorf("n=%d: shard %d holds %d connections, want about %d", n, s, c, want)
			}
		}
	}
}

func BenchmarkOf(b *testing.B) {
	x, y := netip.MustParseAddrPort("10.77.0.1:40001"), netip.MustParseAddrPort("10.77.0.2:8000")
	var sink uint64
	for b.Loop() {
		sink += Of(x, y)
	}
	_ = sink
}

func BenchmarkOf4(b *testing.B) {
	var sink uint64
	for i := uint32(0); b.Loop(); i++ {
		sink += Of4(0x0a4d0001, uint16(i), 0x0a4d0002, 8000)
	}
	_ = sink
}
