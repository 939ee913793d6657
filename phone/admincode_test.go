package phone_test

import (
	"errors"
	"testing"

	"github.com/deskphone/deskphone/phone"
)

// The administrator's code of an AudioCodes phone is the catalog's
// admin_code unless the cloud's policy sets AdminPassword: then only the
// policy's code unlocks the phone after too many wrong PINs.
func TestAdminCodeFromThePolicy(t *testing.T) {
	b := cloud(t)
	if _, err := b.SetPolicy("", map[string]string{"AdminPassword": "9876"}); err != nil {
		t.Fatal(err)
	}
	p := signedIn(t, b, "c450hd", "", "alice", "secret")
	waitStatus(t, p, "registered", "yes")
	waitStatus(t, p, "policy_version", "2")
	must(t, p.SetPIN("123456"))
	must(t, p.Lock())
	for range 5 {
		_ = p.Unlock("000000")
	}
	if !p.Screen().Contains("Enter administrator code:") {
		t.Fatalf("no admin code entry after 5 wrong PINs:\n%s", p.Screen().Text())
	}
	if err := p.Unlock("1234"); !errors.Is(err, phone.ErrWrongPIN) {
		t.Fatalf("the catalog's code under a policy that sets its own: %v", err)
	}
	must(t, p.Unlock("9876"))
	if got := status(t, p, "pin_set"); got != "no" {
		t.Fatalf("pin_set=%s after the policy's admin code", got)
	}
}
