package sockdiag

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Cgroups names cgroups by their id, as ss -e does: a cgroup v2 id is the
// inode number of its directory in the cgroup2 file system, so the names
// come from a walk of that file system, made once, when a name is first
// asked for.
type Cgroups struct {
	// Mounts is the mount table to find the cgroup2 file system in;
	// /proc/self/mountinfo when empty.
	Mounts string
	paths  map[uint64]string
}

// Path returns the cgroup's path from the root of the hierarchy ("/",
// "/system.slice/sshd.service"), or, for an id the walk did not find,
// "unreachable:" and the id in hex, as ss prints it.
func (c *Cgroups) Path(id uint64) string {
	if c.paths == nil {
		c.paths = map[uint64]string{}
		if root := c.mount(); root != "" {
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil || !d.IsDir() {
					return nil
				}
				info, err := d.Info()
				if err != nil {
					return nil
				}
				if ino, ok := inodeOf(info); ok {
					rel, _ := filepath.Rel(root, p)
					if rel == "." {
						rel = ""
					}
					c.paths[ino] = "/" + filepath.ToSlash(rel)
				}
				return nil
			})
		}
	}
	if p, ok := c.paths[id]; ok {
		return p
	}
	return "unreachable:" + strconv.FormatUint(id, 16)
}

// mount finds where the cgroup2 file system is mounted.
func (c *Cgroups) mount() string {
	name := c.Mounts
	if name == "" {
		name = "/proc/self/mountinfo"
	}
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 0:30 / /sys/fs/cgroup/unified rw,... shared:9 - cgroup2 cgroup2 rw
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		if fs := strings.Fields(post); len(fs) > 0 && fs[0] == "cgroup2" {
			if f := strings.Fields(pre); len(f) > 4 {
				return f[4]
			}
		}
	}
	return ""
}
