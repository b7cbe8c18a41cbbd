package netlab

import (
	"time"

	"golang.org/x/sys/unix"
)

// rtPriority is the SCHED_FIFO priority of the lab's timing threads: low
// among real-time priorities (kernel threads that need it run above), but
// above every ordinary task.
const rtPriority = 10

// realtime makes the calling thread SCHED_FIFO and returns a function
// that makes it an ordinary thread again; the caller must have locked the
// goroutine to its thread. It reports false (and changes nothing) where
// real-time scheduling is refused.
//
// Why: the pollers and the relay sleep most of the time but must wake
// within a fraction of a millisecond. On a machine whose cores are busy
// with other work (a fuzzer, a build), ordinary threads, even at nice
// -20 (autogroups make nice relative to the session), wait tens to
// hundreds of milliseconds to run: polls miss 10 ms states and a 5 ms
// path becomes a 200 ms one. A FIFO thread that blocks in the kernel
// (nanosleep, ppoll) runs as soon as it wakes. They cannot hog a core:
// every loop blocks each turn, and the kernel caps real-time threads at
// sched_rt_runtime_us (95 % by default).
func realtime() (restore func(), ok bool) {
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: rtPriority}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return func() {}, false
	}
	return func() {
		normal := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}
		unix.SchedSetAttr(0, &normal, 0)
	}, true
}

// sleepThread blocks the calling thread for d in the kernel, bypassing the
// runtime's timers (whose wake-up goes through other, ordinary threads).
func sleepThread(d time.Duration) {
	if d <= 0 {
		return
	}
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}
