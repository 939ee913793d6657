package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.pem")
	for _, content := range []string{"first", "second, longer than the first"} {
		if err := Write(path, []byte(content), 0o600); err != nil {
			t.Fatalf("Write: %v", err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("content = %q, want %q", got, content)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 {
		t.Errorf("dir holds %d files, want only f.pem (temp files left behind?)", len(names))
	}
	if err := Write(filepath.Join(dir, "missing", "f"), nil, 0o644); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

// OpenPrivate appends to a file of ours with mode 0600 and refuses, without
// writing or blocking, a symbolic link, a FIFO and a file others can read.
func TestOpenPrivate(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "own.log")
	if err := os.WriteFile(own, []byte("one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenPrivate(own, false)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("two\n")
	f.Close()
	if data, _ := os.ReadFile(own); string(data) != "one\ntwo\n" {
		t.Fatalf("append: %q", data)
	}
	fresh := filepath.Join(dir, "fresh.log")
	f, err = OpenPrivate(fresh, true)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("a new file: %v %v", st.Mode(), err)
	}

	link := filepath.Join(dir, "link.log")
	if err := os.Symlink(own, link); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose.log")
	if err := os.WriteFile(loose, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{link, loose, fifo} {
		done := make(chan error, 1)
		go func() {
			f, err := OpenPrivate(path, true)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotPrivate) || !strings.Contains(err.Error(), path) {
				t.Errorf("OpenPrivate(%s) = %v", path, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("OpenPrivate(%s) blocks", path)
		}
	}
	if data, _ := os.ReadFile(loose); string(data) != "x" {
		t.Errorf("the loose file was truncated: %q", data)
	}
}
