//go:build !unix

package sockdiag

import "io/fs"

// inodeOf has no inode to give: only Unix file systems number files so.
func inodeOf(fs.FileInfo) (uint64, bool) { return 0, false }
