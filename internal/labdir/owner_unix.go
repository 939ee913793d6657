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
