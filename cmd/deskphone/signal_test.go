package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend"
)

// exitWithin is how soon a phone or a fleet idle on loopback must exit
// after SIGTERM, unregistering included: it takes milliseconds, and a
// loaded CI machine is given far more, yet less than the 2 s an
// unanswered unregister may wait.
const exitWithin = time.Second

// SIGTERM to an idle headless phone, and to a fleet, unregisters every
// phone (REGISTER with Expires: 0, its answer awaited) and exits at once.
func TestSIGTERMUnregistersAtOnce(t *testing.T) {
	state := t.TempDir()
	cloud := startProc(t, "backend", "--listen", "tls:127.0.0.1:0", "--state", state, "--admin", "127.0.0.1:0",
		"--update", "", "--load-users", "load{n:05d}:secret:5")
	server := "sips:" + strings.TrimPrefix(cloud.line("listening tls "), "listening tls ")
	admin := strings.TrimSuffix(strings.TrimPrefix(cloud.line("admin http://"), "admin http://"), "/admin/")
	registered := func() map[string]bool {
		t.Helper()
		res, err := http.Get("http://" + admin + "/admin/registrations")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var regs []backend.Registration
		if err := json.NewDecoder(res.Body).Decode(&regs); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, r := range regs {
			out[r.AOR] = true
		}
		return out
	}
	stop := func(p *proc, what string) {
		t.Helper()
		exited := make(chan error, 1)
		start := time.Now()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		go func() { exited <- p.cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s: exit %v", what, err)
			}
			if d := time.Since(start); d > exitWithin {
				t.Errorf("%s exited %v after SIGTERM, want within %v", what, d.Round(time.Millisecond), exitWithin)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still running 10 s after SIGTERM", what)
		}
	}

	phone := startProc(t, "run", "--headless", "--state", t.TempDir(), "--server", server,
		"--user", "load00005", "--password", "secret")
	phone.exec("wait registered=yes 20s")
	if !registered()["load00005"] {
		t.Fatal("the phone is not in the cloud's registrations")
	}
	stop(phone, "the headless phone")
	if registered()["load00005"] {
		t.Error("the headless phone exited without unregistering")
	}

	fleet := startProc(t, "fleet", "--phones", "4", "--server", server, "--user", "load{n:05d}",
		"--password", "secret", "--progress", "none")
	fleet.line("fleet: started in ")
	if got := len(registered()); got != 4 {
		t.Fatalf("%d fleet phones registered, want 4", got)
	}
	stop(fleet, "the fleet")
	if left := registered(); len(left) != 0 {
		t.Errorf("the fleet exited leaving %v registered", left)
	}
}

// A fleet that starts with phones unregistered says why, counted by reason.
func TestFleetSaysWhyPhonesAreNotRegistered(t *testing.T) {
	cloud := startProc(t, "backend", "--listen", "tls:127.0.0.1:0", "--state", t.TempDir(), "--admin", "",
		"--update", "", "--load-users", "load{n:05d}:secret:3")
	server := "sips:" + strings.TrimPrefix(cloud.line("listening tls "), "listening tls ")
	fleet := startProc(t, "fleet", "--phones", "3", "--server", server, "--user", "load{n:05d}",
		"--password", "wrong", "--progress", "none")
	if got := fleet.line("fleet: started in "); !strings.HasSuffix(got, ": 3 phones, 0 registered, 0 failed to start") {
		t.Errorf("started line %q, want 3 phones, 0 registered", got)
	}
	if got, want := fleet.line("fleet: not registered: "), "fleet: not registered: Wrong password (401) ×3"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
