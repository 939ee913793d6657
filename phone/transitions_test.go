package phone_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// transitions records, in order, every (call state, registration state) a
// phone publishes, each once when it changes.
type transitions struct {
	mu   sync.Mutex
	seen []string
}

func (r *transitions) observe(_ phone.Screen, st phone.Status) {
	reg := "registering"
	switch {
	case st.Registered:
		reg = "registered"
	case st.RegistrationError != "":
		reg = "failed: " + st.RegistrationError
	case st.Session == phone.SignedOut:
		reg = "signed out"
	}
	s := st.Call.String() + ", " + reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) == 0 || r.seen[len(r.seen)-1] != s {
		r.seen = append(r.seen, s)
	}
}

func (r *transitions) check(t *testing.T, name string, want ...string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Equal(r.seen, want) {
		t.Errorf("%s went through\n  %s\nwant\n  %s", name, strings.Join(r.seen, "\n  "), strings.Join(want, "\n  "))
	}
}

// recorded boots a phone with an account on the cloud, watched from its
// boot on.
func recorded(t *testing.T, b *backend.Backend, model, user, password string, clk *clock.Fake) (*phone.Phone, *transitions) {
	t.Helper()
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model(model)
	must(t, err)
	p, err := phone.New(m, "", phone.WithClock(clk), phone.WithStateDir(t.TempDir()),
		phone.WithAccount(statedir.Account{Server: "sips:" + b.Addr("tls"), User: user, Password: password, Domain: b.Domain()}))
	must(t, err)
	r := &transitions{}
	cancel := p.Watch(r.observe)
	t.Cleanup(cancel)
	must(t, p.Start(context.Background()))
	t.Cleanup(func() { p.Close() })
	return p, r
}

// A call typed on the keypad: dialing, the callee ringing, both connected,
// both idle after the caller hangs up.
func TestTransitionsCall(t *testing.T) {
	b := cloud(t)
	alice, ra := recorded(t, b, "vvx601", "alice", "secret", clock.NewFake(start))
	bob, rb := recorded(t, b, "t48g", "bob", "secret", clock.NewFake(start))
	waitStatus(t, alice, "registered", "yes")
	waitStatus(t, bob, "registered", "yes")

	must(t, alice.Dial("1002"))
	must(t, alice.Press(phone.KeyPound))
	waitStatus(t, bob, "call", "ringing")
	must(t, bob.SoftkeyLabel("Answer"))
	waitStatus(t, alice, "call", "connected")
	waitStatus(t, bob, "call", "connected")
	if err := alice.Call("carol"); !errors.Is(err, phone.ErrBusy) {
		t.Fatalf("a second call while connected: %v, want ErrBusy", err)
	}
	must(t, alice.Hangup())
	waitStatus(t, alice, "call", "idle")
	waitStatus(t, bob, "call", "idle")

	ra.check(t, "alice",
		"idle, registering",
		"idle, registered",
		"dialing, registered",
		"calling, registered",
		"connected, registered",
		"idle, registered")
	rb.check(t, "bob",
		"idle, registering",
		"idle, registered",
		"ringing, registered",
		"connected, registered",
		"idle, registered")
}

// Hold and resume, then a blind transfer: the transferee calls the target
// in place of the old call, the transferor is free.
func TestTransitionsHoldAndTransfer(t *testing.T) {
	b := cloud(t)
	alice, ra := recorded(t, b, "c450hd", "alice", "secret", clock.NewFake(start))
	bob, rb := recorded(t, b, "vvx501", "bob", "secret", clock.NewFake(start))
	carol, rc := recorded(t, b, "t46g", "carol", "secret", clock.NewFake(start))
	for _, p := range []*phone.Phone{alice, bob, carol} {
		waitStatus(t, p, "registered", "yes")
	}
	must(t, alice.Call("bob"))
	waitStatus(t, bob, "call", "ringing")
	must(t, bob.Answer())
	waitStatus(t, alice, "call", "connected")
	waitStatus(t, bob, "call", "connected")
	must(t, alice.Press(phone.KeyHold))
	waitStatus(t, alice, "call", "held")
	must(t, alice.Press(phone.KeyHold))
	waitStatus(t, alice, "call", "connected")

	must(t, bob.Transfer("carol"))
	waitStatus(t, carol, "call", "ringing")
	must(t, carol.Answer())
	waitStatus(t, carol, "call", "connected")
	waitStatus(t, alice, "call", "connected")
	waitStatus(t, bob, "call", "idle")
	waitStatus(t, alice, "remote", "carol")
	must(t, carol.Hangup())
	waitStatus(t, alice, "call", "idle")
	waitStatus(t, carol, "call", "idle")

	ra.check(t, "alice",
		"idle, registering",
		"idle, registered",
		"calling, registered",
		"connected, registered",
		"held, registered",
		"connected, registered",
		"calling, registered", // transferred: calling carol
		"connected, registered",
		"idle, registered")
	rb.check(t, "bob",
		"idle, registering",
		"idle, registered",
		"ringing, registered",
		"connected, registered",
		"idle, registered")
	rc.check(t, "carol",
		"idle, registering",
		"idle, registered",
		"ringing, registered",
		"connected, registered",
		"idle, registered")
}

// A registration that fails, backs off and succeeds once the server knows
// the user; the phone's clock drives the retry.
func TestTransitionsRegistrationFailure(t *testing.T) {
	b := cloud(t)
	clk := clock.NewFake(start)
	p, r := recorded(t, b, "430hd", "erin", "secret", clk)
	waitStatus(t, p, "registration_error", "Unknown user (404)")
	must(t, b.AddUser(backend.User{User: "erin", Password: "secret", Extension: "1005"}))
	clk.Advance(5 * time.Second)
	waitStatus(t, p, "registered", "yes")
	r.check(t, "erin",
		"idle, registering",
		"idle, failed: Unknown user (404)",
		"idle, registered")
}
