package statedir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/memdir"
	"github.com/deskphone/deskphone/phone/statedir"
)

// A state file that does not read back as what was written is refused with
// its name, never replaced by defaults in silence.
func TestDamagedFilesAreNamed(t *testing.T) {
	cases := []struct {
		name, file, content, reason string
	}{
		{"config null", statedir.ConfigFile, "null", "null"},
		{"config without known fields", statedir.ConfigFile, `{"colour": "blue"}`, `"volume" field is missing`},
		{"config wrong type", statedir.ConfigFile, `{"volume": "loud", "account": {}, "revision": 1}`, `"volume" field holds a string`},
		{"config array", statedir.ConfigFile, `[1, 2]`, "JSON array, not an object"},
		{"config forward without target", statedir.ConfigFile, `{"volume": 5, "account": {}, "revision": 1, "forward": {"mode": "always", "target": ""}}`, "forward has no target"},
		{"config forward unknown mode", statedir.ConfigFile, `{"volume": 5, "account": {}, "revision": 1, "forward": {"mode": "sometimes", "target": "2002"}}`, `forward mode "sometimes"`},
		{"firmware torn", statedir.FirmwareFile, `{"act`, "not valid JSON"},
		{"firmware null", statedir.FirmwareFile, "null", "null"},
		{"identity null", statedir.IdentityFile, "null", "null"},
		{"identity empty object", statedir.IdentityFile, "{}", `"model" field is missing`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d, _, err := statedir.Open(dir, "c450hd", "")
			if err != nil {
				t.Fatal(err)
			}
			if err := d.SaveFirmware(statedir.Firmware{Active: "3.4.8"}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = loadAll(dir)
			var de *statedir.DamagedError
			if !errors.As(err, &de) || !errors.Is(err, statedir.ErrDamaged) {
				t.Fatalf("got %v, want a DamagedError", err)
			}
			if de.Path != path || !strings.Contains(err.Error(), tc.reason) || !strings.Contains(err.Error(), "state repair") {
				t.Fatalf("error %q: want the path %s, %q and the way out", err, path, tc.reason)
			}
		})
	}
}

// loadAll reads every state file the way a boot does.
func loadAll(dir string) (statedir.Config, error) {
	d, _, err := statedir.Open(dir, "c450hd", "")
	if err != nil {
		return statedir.Config{}, err
	}
	if _, err := d.LoadFirmware(); err != nil {
		return statedir.Config{}, err
	}
	return d.LoadConfig()
}

// A FIFO in a state file's place is refused at once instead of hanging the
// boot on an open that waits for a writer.
func TestFIFOIsRefused(t *testing.T) {
	for _, file := range []string{statedir.ConfigFile, statedir.IdentityFile} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			if _, _, err := statedir.Open(dir, "c450hd", ""); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, file)
			os.Remove(path)
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { _, err := loadAll(dir); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, statedir.ErrDamaged) || !strings.Contains(err.Error(), "FIFO") {
					t.Fatalf("got %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("reading a FIFO state file hangs")
			}
		})
	}
}

func TestLockRefusesASecondUser(t *testing.T) {
	dir := t.TempDir()
	a, _, err := statedir.Open(dir, "c450hd", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Lock(); err != nil {
		t.Fatal(err)
	}
	b, _, err := statedir.Open(dir, "c450hd", "")
	if err != nil {
		t.Fatal(err)
	}
	err = b.Lock()
	if !errors.Is(err, statedir.ErrInUse) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "in this process") {
		t.Fatalf("second lock: %v", err)
	}
	a.Unlock()
	if err := b.Lock(); err != nil {
		t.Fatalf("lock after the first user left: %v", err)
	}
	b.Unlock()
}

func TestRepairMovesOnlyDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	d, id, err := statedir.Open(dir, "c450hd", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SaveFirmware(statedir.Firmware{Active: "3.4.8"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, statedir.ConfigFile), []byte("null"), 0o600); err != nil {
		t.Fatal(err)
	}
	moved, err := statedir.Repair(dir, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, statedir.ConfigFile+".damaged-20260102T030405Z")
	if len(moved) != 1 || moved[0] != want {
		t.Fatalf("moved %v, want [%s]", moved, want)
	}
	if data, err := os.ReadFile(want); err != nil || string(data) != "null" {
		t.Fatalf("the damaged file was not kept: %q %v", data, err)
	}
	cfg, err := loadAll(dir)
	if err != nil || cfg != statedir.DefaultConfig() {
		t.Fatalf("after repair: %+v %v", cfg, err)
	}
	if _, again, _ := statedir.Open(dir, "c450hd", ""); again != id {
		t.Fatalf("a sound identity changed: %+v -> %+v", id, again)
	}
}

// A state directory another local user may write (or that one owns) is
// refused with its name and the chmod that fixes it: they could delete
// phonelock.json and open a locked phone. A throw-away directory made by
// memdir is this user's and private. (Issue 19, low.)
func TestLooseStateDirectoryIsRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o770, 0o722, 0o777 | os.ModeSticky} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "phone")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			_, _, err := statedir.Open(dir, "c450hd", "")
			if !errors.Is(err, statedir.ErrLoose) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "chmod") {
				t.Fatalf("Open on a %v directory: %v", mode, err)
			}
			if _, err := os.Stat(filepath.Join(dir, statedir.IdentityFile)); err == nil {
				t.Fatal("an identity was written into the loose directory")
			}
			if err := os.Chmod(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if _, _, err := statedir.Open(dir, "c450hd", ""); err != nil {
				t.Fatalf("after chmod 700: %v", err)
			}
		})
	}
	for _, mode := range []os.FileMode{0o700, 0o755, 0o750} {
		dir := filepath.Join(t.TempDir(), "phone")
		if err := os.Mkdir(dir, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		if _, _, err := statedir.Open(dir, "c450hd", ""); err != nil {
			t.Fatalf("Open on a %v directory: %v", mode, err)
		}
	}
	tmp, err := memdir.MkdirTemp("deskphone-statedir-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if _, _, err := statedir.Open(filepath.Join(tmp, "phone"), "c450hd", ""); err != nil {
		t.Fatalf("a memdir phone: %v", err)
	}
}
