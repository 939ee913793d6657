package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend/updatesvc"
	"github.com/deskphone/deskphone/internal/testwait"
)

// updateStats reads the counts of the update service at addr.
func updateStats(t *testing.T, addr string) updatesvc.Stats {
	t.Helper()
	res, err := http.Get("http://" + addr + "/admin/firmware/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st updatesvc.Stats
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// A phone registered to a standalone `deskphone backend` learns the
// cloud's update service from the in-band provisioning: an approval
// reaches it without --update. A phone given --update asks that service
// only.
func TestBackendProvisionsUpdateService(t *testing.T) {
	state := t.TempDir()
	cloud := startProc(t, "backend", "--listen", "tls:127.0.0.1:0", "--state", state, "--admin", "", "--update", "127.0.0.1:0", "--image-size", "64KiB")
	server := "sips:" + strings.TrimPrefix(cloud.line("listening tls "), "listening tls ")
	svc := strings.TrimPrefix(cloud.line("update service http://"), "update service http://")
	if _, stderr, code := deskphone(t, "", "backend", "admin", "--update", svc, "firmware", "approve", "430hd", "3.4.6.537"); code != 0 {
		t.Fatalf("approve: %s", stderr)
	}
	phone := func(user string, extra ...string) *proc {
		return startProc(t, append([]string{"run", "--headless", "--model", "430hd", "--firmware", "3.2.1.580",
			"--state", t.TempDir(), "--server", server, "--user", user, "--password", "secret"}, extra...)...)
	}

	alice := phone("alice")
	alice.exec("wait update=available 30s")
	if st := alice.exec("status"); !strings.Contains(st, "update_version=UC430HD_3.4.6.537\n") {
		t.Fatalf("alice, without --update, was not offered the approved firmware:\n%s", st)
	}

	// --update wins: a service of its own, where nothing is approved.
	own := startProc(t, "backend", "--provisioning", "--state", t.TempDir(), "--update", "127.0.0.1:0")
	ownAddr := strings.Fields(strings.TrimPrefix(own.line("provisioning server http://"), "provisioning server http://"))[0]
	before := updateStats(t, svc).Checks
	bob := phone("bob", "--update", "http://"+ownAddr)
	bob.exec("wait registered=yes 20s")
	bob.exec("wait policy_version=1 20s") // the provisioning has named the cloud's service
	bob.exec("update check")
	// Power-on (or sign-in) and update check.
	testwait.For(t, 20*time.Second, "bob asking the update service given with --update twice",
		func() bool { return updateStats(t, ownAddr).Checks >= 2 })
	if st := bob.exec("status"); !strings.Contains(st, "update=none\n") {
		t.Errorf("bob, with --update, took an offer from elsewhere:\n%s", st)
	}
	if after := updateStats(t, svc).Checks; after != before {
		t.Errorf("bob, with --update, asked the cloud's update service too (%d checks, %d before)", after, before)
	}
}
