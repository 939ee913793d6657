package statedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/deskphone/deskphone/internal/atomicfile"
)

// LockFile is the file in a state directory that its one user holds locked.
const LockFile = "lock"

// ErrInUse is returned (wrapped with the holder's process id) when another
// process, or another phone in this one, already runs on a state directory:
// two phones on one directory would share a MAC and serial and overwrite each
// other's configuration.
var ErrInUse = errors.New("state directory is in use")

// Lock takes the directory's lock for as long as the phone runs on it; Unlock
// (or the process ending, even by kill -9) releases it. The lock is an
// advisory flock, so a crashed holder never leaves a stale lock behind.
func (d *Dir) Lock() error {
	if d.lock != nil {
		return nil
	}
	path := filepath.Join(d.Path, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("state: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := "another process"
		if data, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(data))); perr == nil {
				holder = "process " + strconv.Itoa(pid)
				if pid == os.Getpid() {
					holder = "another phone in this process"
				}
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%s: %w by %s", d.Path, ErrInUse, holder)
		}
		return fmt.Errorf("state: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	d.lock = f
	return nil
}

// Unlock releases the lock taken by Lock.
func (d *Dir) Unlock() {
	if d.lock == nil {
		return
	}
	d.lock.Close() // closing the descriptor drops the flock
	d.lock = nil
}

// Repair moves each damaged state file of dir aside (to NAME.damaged-TIME,
// kept for inspection) so the phone boots on defaults for that file, and
// returns the new names. The phone's own files (files) are checked beside
// the identity, configuration and firmware slots. A damaged identity means
// the next boot makes a new MAC address and serial number; a damaged phone
// lock record means the phone boots without a PIN. Files that read back
// fine are left alone.
func Repair(dir string, now time.Time, files ...File) ([]string, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("state: %s is not a directory", dir)
	}
	d := &Dir{Path: dir}
	if err := d.Lock(); err != nil {
		return nil, err
	}
	defer d.Unlock()
	var moved []string
	for _, de := range d.damaged(files) {
		to, err := moveAside(de.Path, now)
		if err != nil {
			return moved, fmt.Errorf("state: repair: %w", err)
		}
		moved = append(moved, to)
	}
	if len(moved) > 0 {
		if err := atomicfile.SyncDir(dir); err != nil {
			return moved, fmt.Errorf("state: repair: %w", err)
		}
	}
	return moved, nil
}

// Check lists the damaged state files of dir, the phone's own (files)
// included, without changing anything.
func Check(dir string, files ...File) ([]*DamagedError, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("state: %s is not a directory", dir)
	}
	return (&Dir{Path: dir}).damaged(files), nil
}

// damaged reads every state file and returns those that are damaged.
func (d *Dir) damaged(files []File) []*DamagedError {
	all := []File{
		{Name: IdentityFile, Required: requiredKeys[IdentityFile], New: func() any { return &Identity{} }},
		{Name: ConfigFile, Required: requiredKeys[ConfigFile], New: func() any { return &Config{} }},
		{Name: FirmwareFile, Required: requiredKeys[FirmwareFile], New: func() any { return &Firmware{} }},
	}
	var out []*DamagedError
	for _, f := range append(all, files...) {
		_, err := d.Load(f, f.New())
		if de := (*DamagedError)(nil); errors.As(err, &de) {
			out = append(out, de)
			continue
		}
		if f.Name == ConfigFile {
			// What decodes may still not be whole (a forwarding without
			// its target).
			var de *DamagedError
			if _, err := d.LoadConfig(); errors.As(err, &de) {
				out = append(out, de)
			}
		}
	}
	return out
}

// MoveAside renames the damaged state file path to NAME.damaged-TIME, kept
// for inspection, and returns the new name: what repair does, and what the
// phone does with a damaged lock record once the administrator's code or
// the vendor's retry action has cleared the lock.
func MoveAside(path string, now time.Time) (string, error) {
	to, err := moveAside(path, now)
	if err != nil {
		return "", fmt.Errorf("state: %w", err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return to, fmt.Errorf("state: %w", err)
	}
	return to, nil
}

func moveAside(path string, now time.Time) (string, error) {
	to := path + ".damaged-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(path, to); err != nil {
		return "", err
	}
	return to, nil
}
