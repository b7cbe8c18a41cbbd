//go:build unix

package cli

import (
	"os"
	"syscall"
)

// mapFile maps a regular file into memory for reading: the capture reader
// then hands out frames as views into the file, with no copy from the page
// cache and no read system call per block (on a gigabyte that is a tenth
// of a second of the kernel's time saved), and the analysis can pass the
// views to its workers as they are. It reports false for anything else
// (a pipe, a device, an empty file, a mapping refused), which is read as a
// stream.
//
// A file truncated while it is mapped faults the reader (SIGBUS); captures
// are written by appending, which the mapping does not see and which does
// no harm.
func mapFile(f *os.File) ([]byte, bool) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 || st.Size() != int64(int(st.Size())) {
		return nil, false
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, false
	}
	return data, true
}

func unmapFile(data []byte) { _ = syscall.Munmap(data) }

// releaseMapped gives back the pages of part of a mapping: they leave the
// process's resident set, and stay in the page cache.
func releaseMapped(b []byte) {
	if len(b) > 0 {
		_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
	}
}

var pageSize = int64(os.Getpagesize())
