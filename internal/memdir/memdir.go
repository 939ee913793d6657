// Package memdir makes throw-away directories in memory when the host has
// a memory file system (/dev/shm), so that state nobody keeps (a scenario's
// phones, a fleet's with --ephemeral) is not written through to a disk:
// every phone's state is written atomically, with an fsync per file.
package memdir

import (
	"errors"
	"fmt"
	"os"
)

// bases are tried in order; the system's temporary folder is the fallback.
var bases = []string{"/dev/shm", os.TempDir()}

// MkdirTemp makes a new directory named by pattern (as os.MkdirTemp) in
// the first base that takes one.
func MkdirTemp(pattern string) (string, error) {
	var errs []error
	for _, base := range bases {
		if st, err := os.Stat(base); err != nil || !st.IsDir() {
			continue
		}
		dir, err := os.MkdirTemp(base, pattern)
		if err == nil {
			return dir, nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("no folder for throw-away state: %w", errors.Join(errs...))
}
