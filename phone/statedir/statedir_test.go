package statedir_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/deskphone/deskphone/phone/statedir"
)

func TestIdentityGeneratedOnce(t *testing.T) {
	dir := t.TempDir()
	_, id, err := statedir.Open(dir, "c450hd", "00:90:8f")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id.MAC, "00:90:8f:") || len(id.MAC) != 17 || id.Serial == "" {
		t.Fatalf("identity %+v", id)
	}
	_, again, err := statedir.Open(dir, "c450hd", "00:90:8f")
	if err != nil || again != id {
		t.Fatalf("identity changed: %+v -> %+v (%v)", id, again, err)
	}
	if _, _, err := statedir.Open(dir, "t46g", ""); err == nil {
		t.Fatal("a C450HD state dir opened as T46G")
	}
}

func TestDamagedFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	d, _, err := statedir.Open(dir, "c450hd", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, statedir.ConfigFile), []byte("{trunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.LoadConfig(); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("LoadConfig of a torn file: %v", err)
	}
}

// The child half of TestKillDuringWrites: save the configuration as fast as
// possible and report each revision once SaveConfig has returned.
func TestMain(m *testing.M) {
	if dir := os.Getenv("STATEDIR_CRASH_CHILD"); dir != "" {
		d, _, err := statedir.Open(dir, "c450hd", "00:90:8f")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		cfg, _ := d.LoadConfig()
		for {
			cfg.Revision++
			cfg.LastDialed = strings.Repeat(strconv.FormatInt(cfg.Revision, 10), 50)
			if err := d.SaveConfig(cfg); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Println("acked", cfg.Revision)
		}
	}
	os.Exit(m.Run())
}

// A child killed with SIGKILL in the middle of its writes leaves a state
// directory that loads, holding at least every revision it acknowledged.
func TestKillDuringWrites(t *testing.T) {
	dir := t.TempDir()
	var lastAcked int64
	for round, killAfter := range []int{1, 7, 50, 133, 400} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "STATEDIR_CRASH_CHILD="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		acks := 0
		for sc.Scan() {
			line := sc.Text()
			rev, ok := strings.CutPrefix(line, "acked ")
			if !ok {
				t.Fatalf("child: %s", line)
			}
			if lastAcked, err = strconv.ParseInt(rev, 10, 64); err != nil {
				t.Fatal(err)
			}
			if acks++; acks == killAfter {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		cmd.Wait()

		d, _, err := statedir.Open(dir, "c450hd", "00:90:8f")
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		cfg, err := d.LoadConfig()
		if err != nil {
			t.Fatalf("round %d: load after kill: %v", round, err)
		}
		if cfg.Revision < lastAcked {
			t.Fatalf("round %d: revision %d on disk, but %d was acknowledged", round, cfg.Revision, lastAcked)
		}
		if want := strings.Repeat(strconv.FormatInt(cfg.Revision, 10), 50); cfg.LastDialed != want {
			t.Fatalf("round %d: revision %d with the content of another write", round, cfg.Revision)
		}
	}
	if _, _, err := statedir.Open(dir, "c450hd", "00:90:8f"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("Open left the temporary file %s of a killed write", e.Name())
		}
	}
}
