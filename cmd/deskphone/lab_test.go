package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/labdir"
	"github.com/deskphone/deskphone/internal/testwait"
)

// The probe of issue 19 item 3: a cloud and an update service someone runs
// from another installation (another lab directory) must not be trusted by
// this installation's phones, neither its TLS certificate nor the firmware
// it signs; separate processes of one installation still agree with no
// set-up.
func TestAnotherInstallationsCloudIsRefused(t *testing.T) {
	labA := "DESKPHONE_LAB=" + filepath.Join(t.TempDir(), "lab-a")
	labB := "DESKPHONE_LAB=" + filepath.Join(t.TempDir(), "lab-b")
	cloud := startProcEnv(t, []string{labA}, "backend", "--listen", "tls:127.0.0.1:0", "--state", t.TempDir(), "--admin", "",
		"--update", "127.0.0.1:0", "--image-size", "64KiB")
	server := "sips:" + strings.TrimPrefix(cloud.line("listening tls "), "listening tls ")
	svc := strings.TrimPrefix(cloud.line("update service http://"), "update service http://")
	if _, stderr, code := deskphone(t, "", "backend", "admin", "--update", svc, "firmware", "approve", "430hd", "3.4.6.537"); code != 0 {
		t.Fatalf("approve: %s", stderr)
	}
	phone := func(lab, user string) *proc {
		return startProcEnv(t, []string{lab}, "run", "--headless", "--model", "430hd", "--firmware", "3.2.1.580",
			"--state", t.TempDir(), "--server", server, "--user", user, "--password", "secret", "--update", "http://"+svc)
	}

	t.Run("same installation", func(t *testing.T) {
		alice := phone(labA, "alice")
		alice.exec("wait registered=yes 20s")
		alice.exec("wait update=available 30s")
	})

	t.Run("other installation", func(t *testing.T) {
		bob := phone(labB, "bob")
		st := waitStatusLine(t, bob, "registration_error=", "TLS: Untrusted certificate")
		if strings.Contains(st, "registered=yes") {
			t.Fatalf("a phone registered with another installation's cloud:\n%s", st)
		}
		bob.exec("wait update=available 30s")
		bob.exec("update now")
		st = waitStatusLine(t, bob, "update_error=", "not trusted")
		if !strings.Contains(st, "firmware=UC430HD_3.2.1.580\n") {
			t.Fatalf("a phone took firmware signed by another installation:\n%s", st)
		}
	})
}

// waitStatusLine polls the phone's status until its line starting with key
// contains want, and returns that status.
func waitStatusLine(t *testing.T, p *proc, key, want string) string {
	t.Helper()
	var st string
	if !testwait.Poll(30*time.Second, func() bool {
		st = p.exec("status")
		for _, l := range strings.Split(st, "\n") {
			if strings.HasPrefix(l, key) && strings.Contains(l, want) {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("status never had %s...%s:\n%s", key, want, st)
	}
	return st
}

// The tests run in a lab directory of their own (TestMain), never the
// user's: the binary they start inherits it.
func TestTestsUseATemporaryLab(t *testing.T) {
	dir := os.Getenv(labdir.EnvVar)
	if dir == "" || !strings.HasPrefix(dir, os.TempDir()) {
		t.Fatalf("%s=%q: tests must not use the user's lab directory", labdir.EnvVar, dir)
	}
}
