//go:build unix

package sockdiag

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCgroupPath names cgroups by their id, the inode of their directory
// in the cgroup2 file system, as ss -e does; here on a mount table of the
// test's own naming a directory tree of the test's own.
func TestCgroupPath(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "system.slice", "sshd.service"), 0o755); err != nil {
		t.Fatal(err)
	}
	mounts := filepath.Join(t.TempDir(), "mountinfo")
	os.WriteFile(mounts, []byte("25 30 0:22 / /sys rw - sysfs sysfs rw\n36 35 0:30 / "+root+" rw,nosuid shared:9 - cgroup2 cgroup2 rw\n"), 0o644)
	ino := func(p string) uint64 {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := inodeOf(info)
		return n
	}
	c := &Cgroups{Mounts: mounts}
	for p, want := range map[string]string{root: "/", filepath.Join(root, "system.slice", "sshd.service"): "/system.slice/sshd.service"} {
		if got := c.Path(ino(p)); got != want {
			t.Errorf("Path(%s) = %q, want %q", p, got, want)
		}
	}
	if got := c.Path(0xdeadbeef); got != "unreachable:deadbeef" {
		t.Errorf("an unknown id: %q", got)
	}
	if got := (&Cgroups{Mounts: filepath.Join(root, "none")}).Path(1); got != "unreachable:1" {
		t.Errorf("no cgroup2 mount: %q", got)
	}
}
