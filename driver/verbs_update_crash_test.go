package driver_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend/updatesvc"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/firmware"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

const (
	crashOld = "UCC450HD_3.2.0.1003.61"
	crashNew = "UCC450HD_3.4.6.537"
)

// TestUpdateCrashChild is the phone a crash round kills: run by
// TestUpdateSurvivesKill in a child process, it starts an update at once
// and says so on stdout.
func TestUpdateCrashChild(t *testing.T) {
	dir, url := os.Getenv("DESKPHONE_UPDATE_CHILD_STATE"), os.Getenv("DESKPHONE_UPDATE_CHILD_URL")
	if dir == "" {
		t.Skip("run as a child process by TestUpdateSurvivesKill")
	}
	p, stop, err := driver.Build(context.Background(), driver.Spec{Model: "c450hd", StateDir: dir,
		Options: []phone.Option{phone.WithUpdateService(url)}})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := p.UpdateNow(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("updating")
	// Until killed: the download, the install and the first boot.
	time.Sleep(time.Minute)
}

// A kill -9 at any moment of download, install or first boot leaves a
// phone that boots a firmware it had verified, says what happened, and
// does not loop.
func TestUpdateSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 20 child processes")
	}
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := updatesvc.New(updatesvc.Config{Dir: t.TempDir(), Clock: clock.Real{}, Describe: driver.FirmwareDescriber(cat),
		ImageSize: 1 << 20, RateLimit: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := svc.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := svc.Approve("c450hd", crashNew); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(13, 2026))
	outcomes := map[string]int{}
	for round := range 20 {
		dir := filepath.Join(t.TempDir(), "phone")
		// The phone's first boot installs the old firmware.
		_, stop, err := driver.Build(context.Background(), driver.Spec{Model: "c450hd", Firmware: crashOld, StateDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		stop()
		cmd := exec.Command(os.Args[0], "-test.run=^TestUpdateCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DESKPHONE_UPDATE_CHILD_STATE="+dir, "DESKPHONE_UPDATE_CHILD_URL="+srv.URL())
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		started := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(out)
			ok := false
			for sc.Scan() {
				if sc.Text() == "updating" && !ok {
					ok = true
					started <- true
				}
			}
			if !ok {
				started <- false
			}
		}()
		if !<-started {
			cmd.Wait()
			t.Fatalf("round %d: the child never started its update", round)
		}
		// The download takes about 250 ms at the rate limit; the kill
		// falls in it, in the install or in the first boot.
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()

		p, stop, err := driver.Build(context.Background(), driver.Spec{Model: "c450hd", StateDir: dir})
		if err != nil {
			t.Fatalf("round %d: the phone does not boot after the kill: %v", round, err)
		}
		st, err := p.State()
		if err != nil {
			t.Fatal(err)
		}
		stop()
		switch st.Firmware {
		case crashOld:
		case crashNew:
			// The new firmware runs only from a slot that holds its
			// verified image.
			f, err := os.Open(filepath.Join(dir, "firmware", "slot-"+st.FirmwareSlot+".img"))
			if err != nil {
				t.Fatalf("round %d: running %s from slot %s: %v", round, st.Firmware, st.FirmwareSlot, err)
			}
			m, err := firmware.Check(f, "c450hd")
			f.Close()
			if err != nil || m.Version != crashNew {
				t.Fatalf("round %d: slot %s image: %v (%s)", round, st.FirmwareSlot, err, m.Version)
			}
		default:
			t.Fatalf("round %d: booted %q", round, st.Firmware)
		}
		if st.Update == phone.UpdateLoopStopped || st.Update == phone.UpdateFailed {
			t.Fatalf("round %d: update=%s (%s)", round, st.Update, st.UpdateError)
		}
		outcomes[st.Firmware+" "+st.Update.String()]++
	}
	var lines []string
	for k, n := range outcomes {
		lines = append(lines, fmt.Sprintf("%s ×%d", k, n))
	}
	t.Logf("outcomes: %s", strings.Join(lines, ", "))
}
