package netlab

import (
	"os"
	"testing"
)

// Require skips t, with the reason, when Run cannot work here: not root,
// not Linux, or ip(8), tcpdump(8) or ethtool(8) missing. With
// NETLAB_REQUIRE=1 in the environment (CI, which runs as root) it fails t
// instead, so that the kernel-truth tests cannot silently stop running.
func Require(t testing.TB) {
	t.Helper()
	require(t, Available())
}

func require(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("NETLAB_REQUIRE") == "1" {
		t.Fatalf("netlab: needs root and ip netns, tcpdump, ethtool: %v (NETLAB_REQUIRE=1)", err)
	}
	t.Skipf("netlab: needs root and ip netns, tcpdump, ethtool: %v", err)
}
