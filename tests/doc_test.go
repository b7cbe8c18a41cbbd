// Package tests holds the tests that reach outside the tcplens binary:
// DuckDB reading an export (the nested module duckdb/, which needs cgo),
// arrow-rs and hyparquet reading it (parquet-readers/, from npm, on Node),
// and scripts/dask-export.py on a real local Dask cluster. They skip
// where the machine lacks what they need, and fail instead under
// NETLAB_REQUIRE=1, as CI runs them.
package tests

import (
	"crypto/sha256"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// required says CI requires every test to run: a skip is a failure.
var required = os.Getenv("NETLAB_REQUIRE") == "1"

// skip skips the test for why, or fails it where CI requires it.
func skip(t *testing.T, why string) {
	t.Helper()
	if required {
		t.Fatalf("%s (NETLAB_REQUIRE=1: CI requires this test to run)", why)
	}
	t.Skip(why)
}

// dependOn reads every file the test's child processes read (the
// repository's Go sources, go.mod files, test data, scripts and the Node
// readers' script and package files), so that
// go test's cache, which sees only what this process opens, runs the test
// again when any of them changes.
func dependOn(t *testing.T, roots ...string) {
	t.Helper()
	h := sha256.New()
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "node_modules" { // npm ci makes it from package-lock.json
					return filepath.SkipDir
				}
				return nil
			}
			if n := d.Name(); !strings.HasSuffix(n, ".go") && n != "go.mod" && n != "go.sum" && !strings.Contains(path, "testdata") &&
				!strings.HasSuffix(n, ".py") && !strings.HasSuffix(n, ".mjs") && !strings.HasPrefix(n, "package") {
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(h, f)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
