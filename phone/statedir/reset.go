// Factory reset: the state directory back to what a phone out of the box
// has, its identity and installed firmware aside.

package statedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/deskphone/deskphone/internal/atomicfile"
)

// FirmwareDir holds the installed images (slot-a.img, slot-b.img), the
// download in progress and the update metadata.
const FirmwareDir = "firmware"

// resetTrash is where a reset moves what it removes before deleting it: a
// kill leaves it behind, and the next reset finishes the job.
const resetTrash = ".reset-trash"

// kept are what a factory reset leaves: the identity (the MAC and serial
// are the hardware's), the firmware slots and the lock the phone holds, and
// the PC socket of a running phone (not state).
var kept = []string{IdentityFile, FirmwareFile, LockFile, "btoe.sock"}

// keptImage reports whether name, inside FirmwareDir, is an installed image.
func keptImage(name string) bool {
	return strings.HasPrefix(name, "slot-") && strings.HasSuffix(name, ".img")
}

// Reset is `deskphone state reset`: a factory reset of the state directory
// dir of a phone that is not running (its lock says so; ErrInUse
// otherwise). It returns the names it removed, relative to dir.
func Reset(dir string) ([]string, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("state: %s is not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, IdentityFile)); err != nil {
		return nil, fmt.Errorf("state: %s is not a phone's state directory (no %s)", dir, IdentityFile)
	}
	d := &Dir{Path: dir}
	if err := d.Lock(); err != nil {
		return nil, err
	}
	defer d.Unlock()
	return d.Reset()
}

// Reset removes every state file but the identity, the firmware slots and
// their images: the user's configuration and account, the sign-in tokens,
// the phone lock and its PIN, the policy, the call history, the imported
// roots, the update record and metadata, and anything else a phone keeps
// there. The phone holding the directory calls it (then reboots); each
// entry is first moved into a trash directory by an atomic rename, so a
// kill at any instant leaves a directory that boots (every removed file is
// one a phone out of the box lacks), and the trash is deleted last.
func (d *Dir) Reset() ([]string, error) {
	trash := filepath.Join(d.Path, resetTrash)
	// A reset killed half way left its trash: it goes first.
	if err := os.RemoveAll(trash); err != nil {
		return nil, fmt.Errorf("state: reset: %w", err)
	}
	victims, err := d.resetVictims()
	if err != nil {
		return nil, err
	}
	if len(victims) == 0 {
		return nil, nil
	}
	if err := os.Mkdir(trash, 0o700); err != nil {
		return nil, fmt.Errorf("state: reset: %w", err)
	}
	var errs []error
	var removed []string
	for i, v := range victims {
		if err := os.Rename(filepath.Join(d.Path, v), filepath.Join(trash, fmt.Sprint(i))); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, v)
	}
	for _, sub := range []string{d.Path, filepath.Join(d.Path, FirmwareDir)} {
		if _, err := os.Stat(sub); err == nil {
			if err := atomicfile.SyncDir(sub); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := os.RemoveAll(trash); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("state: reset %s: %w", d.Path, err)
	}
	return removed, nil
}

// resetVictims lists what a reset removes, relative to the directory.
func (d *Dir) resetVictims() ([]string, error) {
	top, err := os.ReadDir(d.Path)
	if err != nil {
		return nil, fmt.Errorf("state: reset: %w", err)
	}
	var out []string
	for _, e := range top {
		name := e.Name()
		switch {
		case slices.Contains(kept, name) || name == resetTrash:
		case name == FirmwareDir && e.IsDir():
			inner, err := os.ReadDir(filepath.Join(d.Path, FirmwareDir))
			if err != nil {
				return nil, fmt.Errorf("state: reset: %w", err)
			}
			for _, f := range inner {
				if !keptImage(f.Name()) || !f.Type().IsRegular() {
					out = append(out, filepath.Join(FirmwareDir, f.Name()))
				}
			}
		default:
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}
