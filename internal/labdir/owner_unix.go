//go:build unix

package labdir

import (
	"io/fs"
	"os"
	"syscall"
)

// ownedByUsOrRoot reports whether this user or root owns the file, as
// ssh asks of a private key: another user's file is theirs to swap.
func ownedByUsOrRoot(st fs.FileInfo) bool {
	s, ok := st.Sys().(*syscall.Stat_t)
	return !ok || s.Uid == 0 || int(s.Uid) == os.Getuid()
}

// inOurGroup reports whether the file's group is this process's group or
// one of its supplementary groups (a pod's fsGroup), root's group aside.
func inOurGroup(st fs.FileInfo) bool {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok || s.Gid == 0 {
		return false
	}
	if int(s.Gid) == os.Getgid() {
		return true
	}
	groups, err := os.Getgroups()
	if err != nil {
		return false
	}
	for _, g := range groups {
		if g == int(s.Gid) {
			return true
		}
	}
	return false
}
