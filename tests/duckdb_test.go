package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestDuckDB runs the tests of the duckdb module: DuckDB, through its Go
// module, queries what tcplens export writes. That module links DuckDB's
// C++ library with cgo, so it needs a C compiler and the module from the
// Go module proxy (or the module cache).
func TestDuckDB(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: DuckDB's module takes a while to build")
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		skip(t, "no C compiler ("+cc+"): DuckDB's Go module needs cgo")
	}
	dependOn(t, "../internal", "../cmd", "../go.mod", "../testdata/captures", "duckdb")
	gocmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	start := time.Now()
	cmd := exec.Command(gocmd, "test", "-count=1", "./...")
	cmd.Dir = "duckdb"
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.CombinedOutput()
	if err != nil && !required && unreachable(string(out)) {
		t.Skipf("DuckDB's Go module could not be fetched:\n%s", out)
	}
	if err != nil {
		t.Fatalf("go test in tests/duckdb: %v\n%s", err, out)
	}
	t.Logf("tests/duckdb passed in %s:\n%s", time.Since(start).Round(time.Second), out)
}

// unreachable says go could not download a module: the machine has no
// way to the module proxy and an empty module cache.
func unreachable(out string) bool {
	for _, s := range []string{"dial tcp", "no such host", "connection refused", "i/o timeout", "GOPROXY=off", "GOFLAGS=-mod=mod"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}
