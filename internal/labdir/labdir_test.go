package labdir

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(RunTests(m)) }

func randomKey() ([]byte, error) { return []byte(rand.Text()), nil }

// A lab made on first use is 0700, its key files 0600.
func TestFirstUseModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	path := filepath.Join(t.TempDir(), "home", ".config", "deskphone", "lab")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.File("tls-lab-2019.pem", randomKey); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{path: 0o700, filepath.Dir(path): 0o700, filepath.Join(path, "tls-lab-2019.pem"): 0o600} {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", name, st.Mode().Perm(), want)
		}
	}
	ents, err := os.ReadDir(path)
	if err != nil || len(ents) != 1 {
		t.Errorf("lab holds %v (%v), want the key alone: no temporary file left", ents, err)
	}
}

// Many openers of one new lab, each its own Dir as separate processes
// would be, end with one key.
func TestConcurrentFirstUseAgrees(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lab")
	const n = 16
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d, err := Open(path)
			if err != nil {
				errs[i] = err
				return
			}
			got[i], errs[i] = d.File("update-audiocodes-1.keys", randomKey)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("opener %d has key %q, opener 0 %q", i, got[i], got[0])
		}
	}
	onDisk, err := os.ReadFile(filepath.Join(path, "update-audiocodes-1.keys"))
	if err != nil || !bytes.Equal(onDisk, got[0]) {
		t.Fatalf("on disk %q (%v), in memory %q", onDisk, err, got[0])
	}
}

const childEnv = "LABDIR_TEST_CHILD"

// Two processes starting at once on a new lab agree on its key.
func TestTwoProcessesAgree(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		d, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.File("tls-lab-2022.pem", randomKey)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("key=%s\n", b)
		return
	}
	path := filepath.Join(t.TempDir(), "lab")
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcessesAgree$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+path)
			outs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	keys := make([]string, 2)
	for i, out := range outs {
		if errs[i] != nil {
			t.Fatalf("child %d: %v\n%s", i, errs[i], out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if k, ok := strings.CutPrefix(l, "key="); ok {
				keys[i] = k
			}
		}
	}
	if keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("the two processes hold %q and %q", keys[0], keys[1])
	}
}

// A lab others can write to, or a key others can read, is refused; so is
// a file name that leads elsewhere.
func TestRefusesLooseAndStrange(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(open); !errors.Is(err, ErrLoose) {
		t.Errorf("world-writable lab: %v, want ErrLoose", err)
	}

	path := filepath.Join(t.TempDir(), "lab")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "readable.key"), []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.File("readable.key", randomKey); !errors.Is(err, ErrLoose) {
		t.Errorf("world-readable key: %v, want ErrLoose", err)
	}
	secret := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(secret, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(path, "linked.key")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.File("linked.key", randomKey); err == nil {
		t.Error("a symlinked key was read")
	}
	for _, name := range []string{"../x", ".hidden", "a/b", "", "update-../../p.keys"} {
		if _, err := d.File(name, randomKey); !errors.Is(err, ErrBadName) {
			t.Errorf("File(%q): %v, want ErrBadName", name, err)
		}
	}
}

// Tests never use the user's lab: RunTests set EnvVar, and Default is it.
func TestDefaultIsTheTestsLab(t *testing.T) {
	d, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if want := os.Getenv(EnvVar); want == "" || d.Path() != want {
		t.Fatalf("Default() = %s, %s = %q", d.Path(), EnvVar, want)
	}
	if home, err := os.UserConfigDir(); err == nil && strings.HasPrefix(d.Path(), home) {
		t.Fatalf("tests use %s, under the user's configuration", d.Path())
	}
}

// A lab shared read-only as a Kubernetes Secret volume (a sticky 1777
// folder whose files link into ..data/, mode 0400) is used as it is.
func TestSecretVolumeLab(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	vol := filepath.Join(t.TempDir(), "lab")
	data := filepath.Join(vol, "..2026_01_05", "")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "tls-lab-2019.pem"), []byte("shared"), 0o400); err != nil {
		t.Fatal(err)
	}
	for old, new := range map[string]string{"..2026_01_05": "..data", "..data/tls-lab-2019.pem": "tls-lab-2019.pem"} {
		if err := os.Symlink(old, filepath.Join(vol, new)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(vol, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	d, err := Open(vol)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.File("tls-lab-2019.pem", func() ([]byte, error) { return nil, errors.New("must not make a key") })
	if err != nil || string(b) != "shared" {
		t.Fatalf("File = %q, %v", b, err)
	}
}

// A non-root pod reads its lab Secret through its fsGroup: kubelet makes
// the files 0440, group the pod's. That group's read is allowed for a
// Secret volume's linked files only, and nothing more.
func TestTooOpen(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	for _, c := range []struct {
		name             string
		mode             fs.FileMode
		linked, ourGroup bool
		want             bool
	}{
		{"owner only", 0o600, false, false, false},
		{"secret 0400", 0o400, true, false, false},
		{"secret with fsGroup", 0o440, true, true, false},
		{"group read, not a secret", 0o440, false, true, true},
		{"group read, another group", 0o440, true, false, true},
		{"group write", 0o460, true, true, true},
		{"others read", 0o444, true, true, true},
	} {
		if got := tooOpen(c.mode, c.linked, c.ourGroup); got != c.want {
			t.Errorf("%s: tooOpen(%04o, linked %v, our group %v) = %v, want %v", c.name, c.mode, c.linked, c.ourGroup, got, c.want)
		}
	}
}
