package sockdiag

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Resolver finds the processes that hold sockets, as ss -p does: every
// /proc/PID/fd/N that is a link to "socket:[INODE]". Scanning /proc costs
// one readlink per open file on the host, so a Resolver remembers what it
// found and scans again only when a socket it has not seen appears.
// Processes it may not inspect (other users', without root) are skipped:
// their sockets stay without owner.
type Resolver struct {
	Root string // the proc file system, "/proc" when empty

	owners map[uint32][]Owner
}

// Resolve fills Owners of every socket that has an inode.
func (r *Resolver) Resolve(sockets []Socket) {
	stale := r.owners == nil
	for i := range sockets {
		if in := sockets[i].Inode; in != 0 {
			if _, ok := r.owners[in]; !ok {
				stale = true
				break
			}
		}
	}
	if stale {
		r.scan(sockets)
	}
	for i := range sockets {
		sockets[i].Owners = r.owners[sockets[i].Inode]
	}
}

// scan rebuilds the inode map for the inodes of sockets. Inodes no process
// holds map to nil, so they do not trigger another scan.
func (r *Resolver) scan(sockets []Socket) {
	root := r.Root
	if root == "" {
		root = "/proc"
	}
	want := make(map[uint32][]Owner, len(sockets))
	for i := range sockets {
		if in := sockets[i].Inode; in != 0 {
			want[in] = nil
		}
	}
	dirs, _ := os.ReadDir(root)
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid <= 0 {
			continue
		}
		fdDir := filepath.Join(root, d.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // gone, or not ours to read
		}
		comm := ""
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			in, ok := socketInode(target)
			if !ok {
				continue
			}
			if _, ok := want[in]; !ok {
				continue
			}
			n, err := strconv.Atoi(fd.Name())
			if err != nil {
				continue
			}
			if comm == "" {
				b, _ := os.ReadFile(filepath.Join(root, d.Name(), "comm"))
				comm = strings.TrimSuffix(string(b), "\n")
			}
			want[in] = append(want[in], Owner{PID: pid, Comm: comm, FD: n})
		}
	}
	for _, o := range want {
		sort.Slice(o, func(i, j int) bool {
			if o[i].PID != o[j].PID {
				return o[i].PID < o[j].PID
			}
			return o[i].FD < o[j].FD
		})
	}
	r.owners = want
}

// socketInode parses the target of a /proc/PID/fd link to a socket,
// "socket:[12345]".
func socketInode(target string) (uint32, bool) {
	s, ok := strings.CutPrefix(target, "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}
