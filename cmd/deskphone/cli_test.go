package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/fleet"
	"github.com/deskphone/deskphone/phone/statedir"
)

// runCLI runs the command line in-process and returns stdout, stderr and the
// exit code.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// Asking for help is not an error: every command prints its usage on stdout
// and exits 0, like `deskphone` alone does.
func TestHelpExitsZero(t *testing.T) {
	for name := range commands() {
		for _, flag := range []string{"--help", "-h"} {
			t.Run(name+flag, func(t *testing.T) {
				out, stderr, code := runCLI(t, name, flag)
				if code != 0 {
					t.Fatalf("exit %d, stderr %q", code, stderr)
				}
				if !strings.Contains(out, "Usage") {
					t.Fatalf("stdout has no usage: %q", out)
				}
			})
		}
	}
}

func TestVersionFlag(t *testing.T) {
	out, _, code := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "deskphone ") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}

// An unknown certs command is named as such before any flag is asked for.
func TestCertsUnknownCommand(t *testing.T) {
	_, stderr, code := runCLI(t, "certs", "frob")
	if code != 2 || !strings.Contains(stderr, `unknown command "frob"`) || strings.Contains(stderr, "--state") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// A lab PKI whose roots phones may trust is never replaced by accident.
func TestCertsLabKeepsExistingRoots(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := runCLI(t, "certs", "lab", "--out", dir); code != 0 {
		t.Fatalf("first lab: exit %d: %s", code, stderr)
	}
	before, err := os.ReadFile(filepath.Join(dir, "old-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, "certs", "lab", "--out", dir)
	if code != 1 || !strings.Contains(stderr, "--force") {
		t.Fatalf("second lab: exit %d, stderr %q", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "old-root.pem"))
	if !bytes.Equal(before, after) {
		t.Fatal("the old root was replaced without --force")
	}
	if _, stderr, code := runCLI(t, "certs", "lab", "--out", dir, "--force"); code != 0 {
		t.Fatalf("lab --force: exit %d: %s", code, stderr)
	}
	after, _ = os.ReadFile(filepath.Join(dir, "old-root.pem"))
	if bytes.Equal(before, after) {
		t.Fatal("--force did not make a new lab")
	}
}

// Importing a root the store already holds says so instead of "imported".
func TestCertsImportTwice(t *testing.T) {
	lab := t.TempDir()
	if _, stderr, code := runCLI(t, "certs", "lab", "--out", lab); code != 0 {
		t.Fatalf("lab: exit %d: %s", code, stderr)
	}
	state := t.TempDir()
	if _, stderr, code := runCLI(t, "models"); code != 0 {
		t.Fatalf("models: %s", stderr)
	}
	// A state directory is made by booting a phone once.
	if _, stderr, code := deskphone(t, "quit\n", "run", "--headless", "--no-backend", "--clock", "virtual", "--state", state); code != 0 {
		t.Fatalf("boot: exit %d: %s", code, stderr)
	}
	root := filepath.Join(lab, "old-root.pem")
	out, stderr, code := runCLI(t, "certs", "import", "--state", state, root)
	if code != 0 || !strings.Contains(out, "imported ") {
		t.Fatalf("first import: exit %d, %q %q", code, out, stderr)
	}
	out, stderr, code = runCLI(t, "certs", "import", "--state", state, root)
	if code != 0 || strings.Contains(out, "imported ") || !strings.Contains(out, "already present") {
		t.Fatalf("second import: exit %d, %q %q", code, out, stderr)
	}
}

// A damaged config.json stops the boot with the file's name; state repair
// moves it aside and the next boot works again.
func TestDamagedStateAndRepair(t *testing.T) {
	state := t.TempDir()
	if _, stderr, code := deskphone(t, "quit\n", "run", "--headless", "--no-backend", "--clock", "virtual", "--state", state); code != 0 {
		t.Fatalf("boot: exit %d: %s", code, stderr)
	}
	cfg := filepath.Join(state, "config.json")
	if err := os.WriteFile(cfg, []byte("null"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := deskphone(t, "quit\n", "run", "--headless", "--no-backend", "--clock", "virtual", "--state", state)
	if code == 0 || !strings.Contains(stderr, cfg) || !strings.Contains(stderr, "state repair") {
		t.Fatalf("boot on a null config: exit %d, stderr %q", code, stderr)
	}
	out, stderr, code := runCLI(t, "state", "repair", "--state", state)
	if code != 0 || !strings.Contains(out, "moved aside "+cfg+".damaged-") {
		t.Fatalf("repair: exit %d, %q %q", code, out, stderr)
	}
	if _, stderr, code := deskphone(t, "quit\n", "run", "--headless", "--no-backend", "--clock", "virtual", "--state", state); code != 0 {
		t.Fatalf("boot after repair: exit %d: %s", code, stderr)
	}
}

// state reset is a factory reset: the settings, the PIN and the rest go,
// the identity and firmware stay, and the phone boots; a running phone's
// directory is refused.
func TestStateFactoryReset(t *testing.T) {
	state := t.TempDir()
	script := "softkey DND\npin set 24681357\nstatus\nquit\n"
	out, stderr, code := deskphone(t, script, "run", "--headless", "--no-backend", "--clock", "virtual", "--model", "430hd", "--state", state)
	if code != 0 || !strings.Contains(out, "dnd=on") || !strings.Contains(out, "pin_set=yes") {
		t.Fatalf("boot: exit %d: %s\n%s", code, stderr, out)
	}
	id, err := os.ReadFile(filepath.Join(state, "identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A reset killed half way left its trash: the next one clears it.
	if err := os.MkdirAll(filepath.Join(state, ".reset-trash", "0"), 0o700); err != nil {
		t.Fatal(err)
	}

	// Not while a phone runs on it.
	d, _, err := statedir.Open(state, "430hd", "00:90:8f")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Lock(); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCLI(t, "state", "reset", "--state", state)
	d.Unlock()
	if code == 0 || !strings.Contains(stderr, "in use") {
		t.Fatalf("reset of a directory in use: exit %d, %q", code, stderr)
	}

	out, stderr, code = runCLI(t, "state", "reset", "--state", state)
	if code != 0 || !strings.Contains(out, "removed config.json") || !strings.Contains(out, "removed phonelock.json") || !strings.Contains(out, "reset to factory settings") {
		t.Fatalf("reset: exit %d, %q %q", code, out, stderr)
	}
	for _, kept := range []string{"identity.json", "firmware.json"} {
		if _, err := os.Stat(filepath.Join(state, kept)); err != nil {
			t.Errorf("%s lost: %v", kept, err)
		}
	}
	for _, gone := range []string{"config.json", "phonelock.json", ".reset-trash"} {
		if _, err := os.Stat(filepath.Join(state, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived: %v", gone, err)
		}
	}
	out, stderr, code = deskphone(t, "status\nquit\n", "run", "--headless", "--no-backend", "--clock", "virtual", "--model", "430hd", "--state", state)
	if code != 0 || !strings.Contains(out, "dnd=off") || !strings.Contains(out, "pin_set=no") {
		t.Fatalf("boot after the reset: exit %d: %s\n%s", code, stderr, out)
	}
	if id2, _ := os.ReadFile(filepath.Join(state, "identity.json")); string(id2) != string(id) {
		t.Errorf("identity changed: %s, was %s", id2, id)
	}
	if _, stderr, code := runCLI(t, "state", "reset", "--state", t.TempDir()); code == 0 || !strings.Contains(stderr, "not a phone's state directory") {
		t.Errorf("reset of an empty directory: exit %d, %q", code, stderr)
	}
}

// A server address that cannot work is refused at start, with exit 2 and
// the reason, before any phone boots.
func TestRunValidatesServer(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--server", "sips:", "--user", "a"}, "no host"},
		{[]string{"--server", "sips:127.0.0.1:99999", "--user", "a"}, "port 99999 is not in 1-65535"},
		{[]string{"--server", "http://foo", "--user", "a"}, "want sips:HOST"},
		{[]string{"--server", "sips:127.0.0.1"}, "--server needs --user"},
		{[]string{"--clock", "virtual", "--start", "yesterday"}, `--start "yesterday": want a time like`},
		{[]string{"--clock", "sundial"}, `--clock "sundial"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, append([]string{"run", "--headless", "--no-backend"}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

// The call load flags are checked before any phone starts.
func TestFleetValidatesLoadFlags(t *testing.T) {
	base := []string{"fleet", "--phones", "2", "--server", "sips:127.0.0.1:5061", "--user", "u{n}", "--password", "p", "--progress", "none"}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--call-to", "echo"}, "--call-to needs --call-rate"},
		{[]string{"--call-rate", "0", "--call-to", "echo"}, "--call-rate 0: want more than 0"},
		{[]string{"--call-rate", "2"}, "call load needs --call-to"},
		{[]string{"--call-rate", "2", "--call-to", "echo", "--max-calls", "-1"}, "--max-calls -1"},
		{[]string{"--call-rate", "2", "--call-to", "echo", "--calls", "0"}, "--calls 0: want at least 1"},
		{[]string{"--call-rate", "2", "--call-to", "echo", "--call-timeout", "0s"}, "--call-timeout 0s"},
		{[]string{"--call-rate", "2", "--call-to", "echo", "--call-duration", "-1s"}, "--call-duration -1s is negative"},
		{[]string{"--call-rate", "2", "--call-to", "load{n:5d}"}, "bad name pattern"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, append(base, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

// The --call-* flags given win over the fleet file's load section, key by
// key; without either there is no load.
func TestLoadConfigMerge(t *testing.T) {
	if c, err := loadConfig(nil, nil, fleet.LoadConfig{}); c != nil || err != nil {
		t.Errorf("no load asked: %+v, %v", c, err)
	}
	file := &fleet.LoadConfig{Rate: 2, Duration: 10 * time.Second, Calls: 100, Timeout: fleet.DefaultCallTimeout, To: "echo"}
	flags := fleet.LoadConfig{Rate: 0, Calls: 5, To: "ignored", Timeout: fleet.DefaultCallTimeout}
	c, err := loadConfig(file, map[string]bool{"calls": true}, flags)
	want := fleet.LoadConfig{Rate: 2, Duration: 10 * time.Second, Calls: 5, Timeout: fleet.DefaultCallTimeout, To: "echo"}
	if err != nil || c == nil || *c != want {
		t.Errorf("merged %+v, %v; want %+v", c, err, want)
	}
	if file.Calls != 100 {
		t.Error("the merge changed the file's load")
	}
}

// A run that fails on --ca leaves no temporary state directory behind.
func TestRunCAFailureCleansUp(t *testing.T) {
	tmp := t.TempDir()
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "run", "--headless", "--no-backend", "--ca", bad)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.Stdin = strings.NewReader("quit\n")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--ca") {
		t.Fatalf("run with a bad --ca: %v\n%s", err, out)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "deskphone-*"))
	if len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// One damaged imported root does not lock the store: list shows it and
// remove deletes it.
func TestCertsDamagedImport(t *testing.T) {
	state := t.TempDir()
	if _, stderr, code := deskphone(t, "quit\n", "run", "--headless", "--no-backend", "--clock", "virtual", "--state", state); code != 0 {
		t.Fatalf("boot: exit %d: %s", code, stderr)
	}
	fp := strings.Repeat("ab", 32)
	if err := os.WriteFile(filepath.Join(state, "ca", "imported", fp+".pem"), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, "certs", "list", "--state", state)
	if code != 0 || !strings.Contains(out, fp[:16]) || !strings.Contains(out, "DAMAGED") || !strings.Contains(stderr, "certs remove") {
		t.Fatalf("list: exit %d\n%s\n%s", code, out, stderr)
	}
	if out, stderr, code := runCLI(t, "certs", "remove", "--state", state, fp[:16]); code != 0 {
		t.Fatalf("remove: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code = runCLI(t, "certs", "list", "--state", state)
	if code != 0 || strings.Contains(out, "DAMAGED") || stderr != "" {
		t.Fatalf("list after remove: exit %d\n%s\n%s", code, out, stderr)
	}
}

// What a command's error tells the user, and the exit status: never Go's
// "context canceled" for an interrupt.
func TestExitCodeMessages(t *testing.T) {
	tests := []struct {
		err    error
		code   int
		stderr string
	}{
		{nil, 0, ""},
		{fmt.Errorf("run: %w", context.Canceled), 130, "deskphone run: interrupted\n"},
		{badFlag("--root %q: unknown root", "x"), 2, "deskphone run: --root \"x\": unknown root\n"},
		{errors.New("disk full"), 1, "deskphone run: disk full\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if code := exitCode("run", tt.err, &b); code != tt.code || b.String() != tt.stderr {
			t.Errorf("exitCode(%v) = %d, %q; want %d, %q", tt.err, code, b.String(), tt.code, tt.stderr)
		}
	}
}

// --sip-trace and --keylog never write through a planted symbolic link or
// into a file others can read: the run stops with the flag and the reason,
// and the file stays as it was. (Issue 19, low.)
func TestTraceFlagsRefusePlantedFiles(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(loose, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--sip-trace", "--keylog"} {
		for _, path := range []string{link, loose} {
			_, stderr, code := deskphone(t, "quit\n", "run", "--headless", "--clock", "virtual", flag, path)
			if code == 0 || !strings.Contains(stderr, flag) || !strings.Contains(stderr, "not a private file") {
				t.Errorf("run %s %s: exit %d, stderr %q", flag, path, code, stderr)
			}
		}
	}
	for _, path := range []string{victim, loose} {
		if data, err := os.ReadFile(path); err != nil || string(data) != "precious" {
			t.Errorf("%s was written: %q %v", path, data, err)
		}
	}
}

// A damaged phonelock.json boots the phone locked and named; state check
// lists it, state repair moves it aside. A state directory others may
// write is refused at run --state with the chmod that fixes it. (Issue 19,
// item 9 and low.)
func TestDamagedLockRecordAndLooseStateDir(t *testing.T) {
	state := t.TempDir()
	if _, stderr, code := deskphone(t, "pin set 123456\nquit\n", "run", "--headless", "--no-backend", "--clock", "virtual", "--model", "t48g", "--state", state); code != 0 {
		t.Fatalf("boot: exit %d: %s", code, stderr)
	}
	lockFile := filepath.Join(state, "phonelock.json")
	if err := os.WriteFile(lockFile, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := deskphone(t, "status\nquit\n", "run", "--headless", "--no-backend", "--clock", "virtual", "--state", state)
	if code != 0 || !strings.Contains(out, "lock=locked") || !strings.Contains(out, "state_damaged=phonelock.json") {
		t.Fatalf("boot on a damaged lock record: exit %d\n%s\n%s", code, out, stderr)
	}
	out, _, code = runCLI(t, "state", "check", "--state", state)
	if code == 0 || !strings.Contains(out, "damaged "+lockFile) {
		t.Fatalf("check: exit %d, %q", code, out)
	}
	out, stderr, code = runCLI(t, "state", "repair", "--state", state)
	if code != 0 || !strings.Contains(out, "moved aside "+lockFile+".damaged-") {
		t.Fatalf("repair: exit %d, %q %q", code, out, stderr)
	}
	if out, _, code := runCLI(t, "state", "check", "--state", state); code != 0 || !strings.Contains(out, "no damaged state files") {
		t.Fatalf("check after repair: exit %d, %q", code, out)
	}
	if err := os.Chmod(state, 0o777); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = deskphone(t, "quit\n", "run", "--headless", "--no-backend", "--clock", "virtual", "--state", state)
	if code == 0 || !strings.Contains(stderr, state) || !strings.Contains(stderr, "chmod go-w") {
		t.Fatalf("run on a world-writable state directory: exit %d, %q", code, stderr)
	}
}
