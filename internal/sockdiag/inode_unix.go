//go:build unix

package sockdiag

import (
	"io/fs"
	"syscall"
)

// inodeOf is a file's inode number.
func inodeOf(info fs.FileInfo) (uint64, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Ino), true
}
