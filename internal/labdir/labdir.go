// Package labdir is an installation's lab directory: the private keys of
// the lab's TLS roots and of the vendors' update roots, generated on first
// use and kept 0600 in a directory only its user can enter, as mkcert keeps
// its local CA. Phones and clouds of one installation trust what it holds;
// a cloud run from another installation (another directory) has other keys
// and phones refuse its certificates and its firmware.
//
// Nothing in the directory is derived from public data and nothing is
// committed: the first process that needs a key makes it, and every other
// process of the installation reads the same file.
package labdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"

	"github.com/deskphone/deskphone/internal/atomicfile"
)

// EnvVar names the lab directory when set; otherwise it is DefaultPath.
const EnvVar = "DESKPHONE_LAB"

// Errors of the package.
var (
	// ErrLoose means other users can write to the directory or read a
	// key file in it: the keys are refused, as ssh refuses a loose
	// private key.
	ErrLoose = errors.New("lab directory: open to other users")
	// ErrBadName means a file name that is not a plain lab file name.
	ErrBadName = errors.New("lab directory: bad file name")
)

// Dir is one lab directory. Files are read once and kept in memory; its
// methods are safe for concurrent use, and several processes may share
// the directory.
type Dir struct {
	path  string
	mu    sync.Mutex
	files map[string][]byte
}

// Open opens the lab directory path, creating it (mode 0700) if missing.
// A directory other users can write to is refused, as ssh refuses one:
// they could replace the keys. A read-only lab (a Kubernetes Secret
// mounted with defaultMode 0400) is used as it is, but a key missing
// from it cannot be made.
func Open(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("lab directory: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("lab directory %s: %w", path, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("lab directory: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("lab directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("lab directory %s: not a directory", abs)
	}
	// A sticky directory (a Kubernetes Secret volume) keeps others from
	// replacing our files; what they add is refused by its owner.
	if loose(st.Mode(), 0o022) && st.Mode()&fs.ModeSticky == 0 {
		return nil, fmt.Errorf("%s (mode %04o; chmod 700 it): %w", abs, st.Mode().Perm(), ErrLoose)
	}
	return &Dir{path: abs, files: map[string][]byte{}}, nil
}

// loose reports whether mode m has any of the permission bits bad set.
// Windows reports no useful permission bits, so the check is Unix only.
func loose(m, bad fs.FileMode) bool {
	return runtime.GOOS != "windows" && m.Perm()&bad != 0
}

// DefaultPath is where the lab directory is when EnvVar is not set: the
// user's configuration directory (~/.config/deskphone/lab on Linux).
func DefaultPath() (string, error) {
	if p := os.Getenv(EnvVar); p != "" {
		return p, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("lab directory: %w (set %s)", err, EnvVar)
	}
	return filepath.Join(base, "deskphone", "lab"), nil
}

// defaults caches the default directory per path, so every caller in a
// process shares one in-memory copy of the keys.
var defaults struct {
	mu     sync.Mutex
	byPath map[string]*Dir
	test   string // a test binary's own directory, see Default
}

// Default opens the lab directory of this installation: EnvVar, else
// DefaultPath. A test binary with EnvVar unset gets a directory of its own
// under the system's temporary folder instead, so that no test ever writes
// keys into its user's home.
func Default() (*Dir, error) {
	defaults.mu.Lock()
	defer defaults.mu.Unlock()
	path := os.Getenv(EnvVar)
	if path == "" && testing.Testing() {
		if defaults.test == "" {
			dir, err := os.MkdirTemp("", "deskphone-lab-")
			if err != nil {
				return nil, fmt.Errorf("lab directory: %w", err)
			}
			defaults.test = dir
		}
		path = defaults.test
	}
	if path == "" {
		var err error
		if path, err = DefaultPath(); err != nil {
			return nil, err
		}
	}
	if d, ok := defaults.byPath[path]; ok {
		return d, nil
	}
	d, err := Open(path)
	if err != nil {
		return nil, err
	}
	if defaults.byPath == nil {
		defaults.byPath = map[string]*Dir{}
	}
	defaults.byPath[path] = d
	return d, nil
}

// Or is d, or the default directory when d is nil: how packages that take
// a lab directory in their configuration fill in the default.
func Or(d *Dir) (*Dir, error) {
	if d != nil {
		return d, nil
	}
	return Default()
}

// Path is the directory's absolute path.
func (d *Dir) Path() string { return d.path }

// validName is a plain file name: no separators, no leading dot (the
// temporary files start with one).
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// File returns the contents of the lab file name, making it with gen if it
// does not exist yet. A new file is written whole to a temporary file and
// linked into place, which fails if another process linked its own first:
// then that one is read, so every process of the installation ends with
// the same contents. Files are 0600; a file others can read is refused.
func (d *Dir) File(name string, gen func() ([]byte, error)) ([]byte, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("%q: %w", name, ErrBadName)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if b, ok := d.files[name]; ok {
		return b, nil
	}
	p := filepath.Join(d.path, name)
	b, err := d.readPrivate(p)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = d.create(p, gen)
	}
	if err != nil {
		return nil, err
	}
	d.files[name] = b
	return b, nil
}

// readPrivate reads the lab file p: a regular file, or a link to one
// inside the lab directory (a Kubernetes Secret volume links each file to
// ..data/), owned by this user or root and readable by nobody else.
// A linked file may also be readable by its group when that group is one
// of ours: a Secret mounted for a non-root pod is root's, and the pod's
// fsGroup is the only way its user can read it (kubelet then adds 0440 to
// the Secret's defaultMode 0400); the group is the pod's own.
func (d *Dir) readPrivate(p string) ([]byte, error) {
	st, err := os.Lstat(p)
	if err != nil {
		return nil, fmt.Errorf("lab file: %w", err)
	}
	linked := st.Mode()&fs.ModeSymlink != 0
	if linked {
		target, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil, fmt.Errorf("lab file: %w", err)
		}
		dir, err := filepath.EvalSymlinks(d.path)
		if err != nil {
			return nil, fmt.Errorf("lab file: %w", err)
		}
		if rel, err := filepath.Rel(dir, target); err != nil || !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("lab file %s: links outside the lab directory", p)
		}
		p = target
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("lab file: %w", err)
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("lab file: %w", err)
	}
	switch {
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("lab file %s: not a regular file", p)
	case tooOpen(st.Mode(), linked, linked && inOurGroup(st)):
		return nil, fmt.Errorf("%s (mode %04o; chmod 600 it): %w", p, st.Mode().Perm(), ErrLoose)
	case !ownedByUsOrRoot(st):
		return nil, fmt.Errorf("%s (owned by another user): %w", p, ErrLoose)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFile))
	if err != nil {
		return nil, fmt.Errorf("lab file: %w", err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("lab file %s: empty", p)
	}
	return b, nil
}

// tooOpen reports whether a lab file of mode m is open to others: any
// access beyond its owner, except read access for its group when the file
// is a Secret volume's (linked) and the group is ours (ourGroup).
func tooOpen(m fs.FileMode, linked, ourGroup bool) bool {
	if !loose(m, 0o077) {
		return false
	}
	return !linked || !ourGroup || loose(m, 0o037)
}

// maxFile bounds what a lab file may hold: a few keys and certificates.
const maxFile = 64 << 10

// create writes gen's output to p unless another process got there first.
func (d *Dir) create(p string, gen func() ([]byte, error)) ([]byte, error) {
	b, err := gen()
	if err != nil {
		return nil, fmt.Errorf("lab file %s: %w", filepath.Base(p), err)
	}
	tmp, err := os.CreateTemp(d.path, "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("lab file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("lab file: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("lab file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("lab file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("lab file: %w", err)
	}
	// Link, unlike rename, never replaces: the first process to link wins.
	if err := os.Link(tmp.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return d.readPrivate(p)
		}
		return nil, fmt.Errorf("lab file: %w", err)
	}
	if err := atomicfile.SyncDir(d.path); err != nil {
		return nil, fmt.Errorf("lab file: %w", err)
	}
	return b, nil
}

// testEnv marks a lab directory RunTests made, so that a test binary the
// tests start again (a crash test's child) keeps its parent's directory
// while a developer's own DESKPHONE_LAB is never used by tests.
const testEnv = "DESKPHONE_LAB_TESTS"

// RunTests runs a test binary's tests (m is its *testing.M) with EnvVar
// set to a fresh directory, removed afterwards, so that the tests and the
// programs they start share one lab and never touch the user's own.
func RunTests(m interface{ Run() int }) int {
	if dir := os.Getenv(testEnv); dir != "" && dir == os.Getenv(EnvVar) {
		return m.Run() // a child of a test binary: its parent's lab
	}
	dir, err := os.MkdirTemp("", "deskphone-lab-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for k, v := range map[string]string{EnvVar: dir, testEnv: dir} {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}
