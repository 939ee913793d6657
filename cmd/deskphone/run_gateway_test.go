package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/gwtest"
	"github.com/deskphone/deskphone/internal/testwait"
)

// run --provisioning with a gateway URL onboards the phone and starts no
// embedded cloud: its SIP server and account are the gateway's. The URL
// is kept: a second run without the flag onboards again, with its key.
func TestRunProvisioningGateway(t *testing.T) {
	gw := gwtest.New(t)
	gw.Key, gw.User = "KEY-9", "dev-gw"
	state := t.TempDir()
	script := "wait gateway=signed-out 10s\nstatus\nquit\n"
	for i, args := range [][]string{
		{"run", "--headless", "--model", "t46g", "--state", state, "--provisioning", gw.URL + "/emea"},
		{"run", "--headless", "--state", state},
	} {
		out, stderr, code := deskphone(t, script, args...)
		if code != 0 {
			t.Fatalf("run %d: exit %d: %s", i+1, code, stderr)
		}
		for _, want := range []string{"gateway=signed-out", "user=dev-gw", "server=sips:127.0.0.1:1"} {
			if !strings.Contains(out, "\n"+want+"\n") {
				t.Errorf("run %d: no %s in:\n%s", i+1, want, out)
			}
		}
	}
	if keys := gw.Sent("device_key"); len(keys) != 2 || keys[0] != "" || keys[1] != "KEY-9" {
		t.Errorf("device keys sent %q, want none then the gateway's", keys)
	}
}

// A gateway phone's cloud is the gateway's: the embedded cloud's policy
// does not go with it.
func TestRunProvisioningGatewayFlags(t *testing.T) {
	_, stderr, code := runCLI(t, "run", "--headless", "--provisioning", "http://127.0.0.1:1/emea", "--policy", "PhoneLockTimeout=00:01:00")
	if code == 0 || !strings.Contains(stderr, "--policy sets the embedded cloud's policy") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// deskphone fleet --provisioning GATEWAY --bulk-csv FILE: the phones
// onboard with no server, and the CSV of their MACs is written once they
// are built.
func TestFleetBulkCSV(t *testing.T) {
	gw := gwtest.New(t)
	csvFile := filepath.Join(t.TempDir(), "bulk.csv")
	cmd := exec.Command(binary, "fleet", "--phones", "3", "--model", "t46g", "--user", "desk{n:02d}",
		"--provisioning", gw.URL+"/emea", "--bulk-csv", csvFile, "--progress", "none")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	testwait.For(t, 20*time.Second, "the CSV", func() bool { _, err := os.Stat(csvFile); return err == nil })
	data, err := os.ReadFile(csvFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	row := regexp.MustCompile(`^desk0[1-3](,[0-9a-f]{2})(-[0-9a-f]{2}){5}$`)
	if len(lines) != 4 || lines[0] != "Username,HardwareId" || !row.MatchString(lines[1]) || !strings.HasPrefix(lines[3], "desk03,") {
		t.Errorf("CSV:\n%s", data)
	}
}
