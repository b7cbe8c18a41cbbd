// Package duckdb tests that a real query engine reads what tcplens export
// writes: DuckDB, through its Go module, which links DuckDB's C++ library
// (cgo). It is a module of its own so that the tcplens binary stays pure
// Go; the root module's tests/ package runs it (go test ./... from the
// repository's root does not enter a nested module).
package duckdb
