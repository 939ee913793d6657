package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrNotPrivate is returned (wrapped with the file and why) by OpenPrivate
// for a path that is a symbolic link, not a regular file, another user's,
// or readable or writable by group or others.
var ErrNotPrivate = errors.New("not a private file")

// OpenPrivate opens path for writing a file that holds secrets (a SIP
// trace, a TLS key log): created 0600 if it does not exist, else only
// when it is a regular file of this user with no access for group or
// others. It never follows a symbolic link at path, nor blocks on a FIFO
// put there, and it checks before writing anything: a file someone else
// planted (and may be reading) is refused rather than written through.
// truncate empties a file it accepts; otherwise writes append.
func OpenPrivate(path string, truncate bool) (*os.File, error) {
	flag := os.O_WRONLY | os.O_CREATE | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
	if !truncate {
		flag |= os.O_APPEND
	}
	f, err := os.OpenFile(path, flag, 0o600)
	switch {
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("%s: %w: it is a symbolic link", path, ErrNotPrivate)
	case errors.Is(err, syscall.ENXIO): // a FIFO or socket nobody reads
		return nil, fmt.Errorf("%s: %w: it is not a regular file", path, ErrNotPrivate)
	}
	if err != nil {
		return nil, err
	}
	refuse := func(why string) (*os.File, error) {
		f.Close()
		return nil, fmt.Errorf("%s: %w: %s; remove it or name another file", path, ErrNotPrivate, why)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return refuse(fmt.Sprintf("it is not a regular file (%v)", fi.Mode().Type()))
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return refuse(fmt.Sprintf("it belongs to user id %d", st.Uid))
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return refuse(fmt.Sprintf("its mode %#o lets group or others in (want 0600)", perm))
	}
	if truncate {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}
