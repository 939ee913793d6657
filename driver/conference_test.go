package driver_test

import (
	"testing"

	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/phone"
)

// TestConferenceEachHearsTheOtherTwo: three phones on the embedded cloud,
// the AudioCodes hosting a conference of a Yealink on PCMU and a Poly on
// G.722; each phone hears the tones of the other two, and hanging up on
// the host ends both calls.
func TestConferenceEachHearsTheOtherTwo(t *testing.T) {
	b := drivertest.Cloud(t, nil)
	start := func(model, user, audio, codecs string) *phone.Phone {
		return drivertest.Phone(t, driver.Spec{Model: model, Account: drivertest.Account(b, user), Audio: audio, Codecs: codecs})
	}
	alice := start("c450hd", "alice", "tone:1000", "")
	bob := start("t46g", "bob", "tone:600", "PCMU;PCMA")
	carol := start("vvx501", "carol", "tone:440", "")
	for _, p := range []*phone.Phone{alice, bob, carol} {
		drivertest.Status(t, p, "registered", "yes")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(alice.Call("bob"))
	drivertest.Status(t, bob, "call", "ringing")
	must(bob.Answer())
	drivertest.Status(t, alice, "call", "connected")
	must(alice.Hold())
	drivertest.Status(t, alice, "call", "held")
	must(alice.Line().NewCall())
	must(alice.Call("carol"))
	drivertest.Status(t, carol, "call", "ringing")
	must(carol.Answer())
	drivertest.Wait(t, alice, driver.Cond{Status: map[string]string{"call": "connected", "remote": "carol", "held_calls": "1"}})

	must(alice.Line().Conference())
	drivertest.Wait(t, alice, driver.Cond{Status: map[string]string{"conference": "yes", "held_calls": "0"}})
	for _, h := range []struct {
		p     *phone.Phone
		tones []int
	}{{bob, []int{1000, 440}}, {carol, []int{1000, 600}}, {alice, []int{600, 440}}} {
		for _, hz := range h.tones {
			drivertest.Wait(t, h.p, driver.Cond{Tone: hz})
		}
	}
	drivertest.Status(t, bob, "codec", "PCMU")
	drivertest.Status(t, carol, "codec", "G722")

	must(alice.Hangup())
	drivertest.Status(t, bob, "call", "idle")
	drivertest.Status(t, carol, "call", "idle")
	drivertest.Wait(t, alice, driver.Cond{Status: map[string]string{"call": "idle", "conference": "no"}})
}
