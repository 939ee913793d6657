package driver_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/phone"
)

// do runs a command line on p, failing the test on an error.
func do(t *testing.T, p *phone.Phone, line string) {
	t.Helper()
	if _, err := driver.Exec(context.Background(), &driver.Target{Phone: p}, line); err != nil {
		t.Fatalf("%s: %s: %v\n%s", p.Model().ID, line, err, p.Screen().Text())
	}
}

// Three phones of three vendors on the cloud: alice (Poly) talks to bob
// (Yealink), consults carol (AudioCodes) and completes the transfer. Bob
// calls carol with Replaces through the cloud, carol's call with alice
// becomes her call with bob, alice is left with no call, and bob and
// carol hear each other.
func TestConsultativeTransferEndToEnd(t *testing.T) {
	cloud := drivertest.Cloud(t, nil)
	alice := drivertest.Phone(t, driver.Spec{Model: "vvx601", Account: drivertest.Account(cloud, "alice")})
	bob := drivertest.Phone(t, driver.Spec{Model: "t48g", Account: drivertest.Account(cloud, "bob")})
	carol := drivertest.Phone(t, driver.Spec{Model: "c450hd", Account: drivertest.Account(cloud, "carol")})
	for _, p := range []*phone.Phone{alice, bob, carol} {
		drivertest.Status(t, p, "registered", "yes")
	}
	answer := func(p *phone.Phone) {
		t.Helper()
		drivertest.Status(t, p, "call", "ringing")
		do(t, p, "answer")
		drivertest.Status(t, p, "call", "connected")
	}

	do(t, alice, "call bob")
	answer(bob)
	drivertest.Status(t, alice, "call", "connected")
	if _, err := driver.Exec(context.Background(), &driver.Target{Phone: alice}, "transfer complete"); err == nil ||
		!strings.Contains(err.Error(), "no consultation call") {
		t.Fatalf("complete without a consultation: %v", err)
	}

	do(t, alice, "transfer consult carol")
	answer(carol)
	drivertest.Wait(t, alice, driver.Cond{Call: "connected", Status: map[string]string{"remote": "carol", "calls": "2", "held_calls": "1"}})
	cs, err := alice.Calls()
	if err != nil || len(cs) != 2 || cs[0].State != phone.CallHeld || cs[0].Remote != "bob" {
		t.Fatalf("alice's calls %+v %v: want bob held beside carol", cs, err)
	}

	do(t, alice, "transfer complete")
	drivertest.Wait(t, alice, driver.Cond{Call: "idle", Status: map[string]string{"calls": "0"}})
	drivertest.Wait(t, bob, driver.Cond{Call: "connected", Status: map[string]string{"remote": "carol", "calls": "1"}})
	drivertest.Wait(t, carol, driver.Cond{Call: "connected", Status: map[string]string{"remote": "bob", "calls": "1"}})
	drivertest.Wait(t, alice, driver.Cond{Screen: regexp.MustCompile("Call transferred")})

	do(t, bob, "play tone 800")
	drivertest.Wait(t, carol, driver.Cond{Tone: 800})
	do(t, carol, "play tone 1200")
	drivertest.Wait(t, bob, driver.Cond{Tone: 1200})

	do(t, carol, "hangup")
	drivertest.Status(t, bob, "call", "idle")
}

// A consultation the target turns away (busy) leaves the held call held:
// the reason is on the screen and in syslog, and complete has nothing to
// complete.
func TestConsultativeTransferTargetBusy(t *testing.T) {
	cloud := drivertest.Cloud(t, nil)
	alice := drivertest.Phone(t, driver.Spec{Model: "t48g", Account: drivertest.Account(cloud, "alice")})
	bob := drivertest.Phone(t, driver.Spec{Model: "vvx601", Account: drivertest.Account(cloud, "bob")})
	drivertest.Status(t, alice, "registered", "yes")
	drivertest.Status(t, bob, "registered", "yes")
	do(t, alice, "call bob")
	drivertest.Status(t, bob, "call", "ringing")
	do(t, bob, "answer")
	drivertest.Status(t, alice, "call", "connected")

	do(t, alice, "transfer consult busy")
	drivertest.Wait(t, alice, driver.Cond{Call: "held", Status: map[string]string{"remote": "bob", "calls": "1"}})
	drivertest.Wait(t, alice, driver.Cond{Screen: regexp.MustCompile("Busy"), Log: regexp.MustCompile("call to busy failed")})
	if _, err := driver.Exec(context.Background(), &driver.Target{Phone: alice}, "transfer complete"); err == nil {
		t.Fatal("complete after the consultation failed")
	}
	do(t, alice, "resume")
	drivertest.Status(t, alice, "call", "connected")
	drivertest.Status(t, bob, "call", "connected")
}
