package memdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The first base that takes a directory gets it; one that is missing or
// refuses is passed over.
func TestMkdirTempFallsBack(t *testing.T) {
	good := t.TempDir()
	readOnly := t.TempDir()
	if err := os.Chmod(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(readOnly, 0o700)
	saved := bases
	defer func() { bases = saved }()
	bases = []string{filepath.Join(good, "missing"), good}
	if os.Geteuid() != 0 { // root writes anywhere
		bases = []string{filepath.Join(good, "missing"), readOnly, good}
	}
	dir, err := MkdirTemp("x-")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != good || !strings.HasPrefix(filepath.Base(dir), "x-") {
		t.Fatalf("made %s, want x-* in %s", dir, good)
	}
	bases = []string{filepath.Join(good, "missing")}
	if _, err := MkdirTemp("x-"); err == nil {
		t.Fatal("no base, and no error")
	}
}
