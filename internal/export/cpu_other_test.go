//go:build !linux

package export

// cpuSeconds is 0 where the benchmark does not measure CPU time.
func cpuSeconds() float64 { return 0 }
