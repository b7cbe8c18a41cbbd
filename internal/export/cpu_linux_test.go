package export

import "syscall"

// cpuSeconds is the CPU time the process has used, user and system: a
// benchmark's rows per CPU second hold on a machine other processes
// share, where its wall time does not.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
