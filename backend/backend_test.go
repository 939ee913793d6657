package backend

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/testwait"
)

func TestRegisterDigest(t *testing.T) {
	b := startBackend(t, nil)
	for _, tt := range []struct {
		name, transport, alg string
	}{
		{"tls md5", "TLS", "MD5"},
		{"tls sha-256", "TLS", "SHA-256"},
		{"tcp md5", "TCP", "MD5"},
		{"udp sha-256", "UDP", "SHA-256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPhoneOn(t, b, "alice", "secret", tt.transport)
			res, err := p.register(ctxT(t), tt.alg, 600)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != sip.StatusOK {
				t.Fatalf("register = %s, want 200", res.Short())
			}
			if c := res.Contact(); c == nil || c.Address.User != "alice" {
				t.Errorf("200 lists contact %v", c)
			}
		})
	}
}

func TestCallThroughBackendForks(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice := newPhone(t, b, "alice")
	bobDesk := newPhone(t, b, "bob")
	bobSpare := newPhone(t, b, "bob")
	bobSpare.mode.Store(int32(answerRing))
	// bob's desk phone answers once alice has heard it ring. (Set before
	// the phone connects, so its handlers see it.)
	bobDesk.answerGate = make(chan struct{})
	for _, p := range []*testPhone{alice, bobDesk, bobSpare} {
		p.mustRegister(ctx)
	}
	if n := len(b.Registrations()); n != 3 {
		t.Fatalf("%d registrations, want 3", n)
	}

	var codes []int
	sess, err := alice.callObserved(ctx, "1002", func(res *sip.Response) {
		codes = append(codes, res.StatusCode)
		if res.StatusCode == sip.StatusRinging && !slices.Contains(codes[:len(codes)-1], sip.StatusRinging) {
			close(bobDesk.answerGate)
		}
	})
	if err != nil {
		t.Fatalf("call: %v (responses %v)", err, codes)
	}
	if !slices.Contains(codes, sip.StatusRinging) || codes[len(codes)-1] != sip.StatusOK {
		t.Errorf("responses %v, want 180 ... 200", codes)
	}
	answered := recv(t, bobDesk.invites, "INVITE at bob's desk phone")
	ringing := recv(t, bobSpare.invites, "INVITE at bob's spare phone")
	// The losing fork is cancelled.
	waitDone(t, ringing.Context(), "the spare phone's INVITE to be cancelled")

	if err := sess.Ack(ctx); err != nil {
		t.Fatalf("ACK: %v", err)
	}
	testwait.For(t, testTimeout, "ACK at bob", func() bool { return answered.LoadState() == sip.DialogStateConfirmed })

	if err := sess.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
	recv(t, bobDesk.byes, "BYE at bob")
	testwait.For(t, testTimeout, "bob's dialog to end", func() bool { return answered.LoadState() == sip.DialogStateEnded })
}

// After MaxAuthFailures wrong passwords the user is locked out with its own
// reason phrase, even with the right password, until AuthLockout has passed
// on the cloud's clock.
func TestLockoutAfterWrongPasswords(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	b := startBackend(t, func(c *Config) { c.Clock = clk })
	ctx := ctxT(t)
	wrong := newPhoneOn(t, b, "carol", "wrong", "TLS")
	for i := 1; i <= MaxAuthFailures; i++ {
		res, err := wrong.register(ctx, "MD5", 3600)
		if err != nil {
			t.Fatal(err)
		}
		if i == MaxAuthFailures && (res.StatusCode != sip.StatusForbidden || res.Reason != LockedOutReason) {
			t.Fatalf("attempt %d: %s, want 403 %s", i, res.Short(), LockedOutReason)
		}
	}
	right := newPhoneOn(t, b, "carol", "secret", "TLS")
	if res, err := right.register(ctx, "MD5", 3600); err != nil || res.StatusCode != sip.StatusForbidden || res.Reason != LockedOutReason {
		t.Fatalf("right password while locked out: %v %v", res, err)
	}
	clk.Advance(AuthLockout)
	if res, err := right.register(ctx, "MD5", 3600); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("right password after the lockout: %v %v", res, err)
	}
}

func TestRegisterRejections(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	tests := []struct {
		name     string
		user     string
		password string
		expires  int
		want     []int // responses to successive attempts
	}{
		{"unknown user", "mallory", "secret", 3600, []int{sip.StatusNotFound}},
		{"service user", "echo", "secret", 3600, []int{sip.StatusForbidden}},
		{"wrong password, then locked out after three", "carol", "wrong", 3600, []int{sip.StatusUnauthorized, sip.StatusUnauthorized, sip.StatusForbidden, sip.StatusForbidden}},
		{"interval too brief", "dave", "secret", 30, []int{sip.StatusIntervalToBrief}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPhoneOn(t, b, tt.user, tt.password, "TLS")
			for i, want := range tt.want {
				res, err := p.register(ctx, "MD5", tt.expires)
				if err != nil {
					t.Fatal(err)
				}
				if res.StatusCode != want {
					t.Fatalf("attempt %d: %s, want %d", i+1, res.Short(), want)
				}
				if want == sip.StatusUnauthorized && countChallenges(res, "Digest") != 2 {
					t.Errorf("401 without both digest challenges: %v", res.GetHeaders("WWW-Authenticate"))
				}
				if want == sip.StatusIntervalToBrief {
					if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
						t.Errorf("Min-Expires = %v, want 60", h)
					}
				}
			}
		})
	}
	if regs := b.Registrations(); len(regs) != 0 {
		t.Errorf("rejected phones registered: %+v", regs)
	}
}

func TestRegisterWithAnotherUsersCredentials(t *testing.T) {
	b := startBackend(t, nil)
	p := newPhone(t, b, "alice")
	req := p.newRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: p.domain})
	req.ReplaceHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "bob", Host: p.domain}})
	res, err := p.cli.Do(ctxT(t), req)
	if err != nil || res.StatusCode != sip.StatusUnauthorized {
		t.Fatalf("first REGISTER: %v %v", res, err)
	}
	if err := p.authorize(req, res, "WWW-Authenticate", "Authorization", "SHA-256"); err != nil {
		t.Fatal(err)
	}
	res, err = p.cli.Do(ctxT(t), req, sipgo.ClientRequestIncreaseCSEQ, sipgo.ClientRequestAddVia)
	if err != nil || res.StatusCode != sip.StatusForbidden {
		t.Fatalf("alice's credentials for bob: %v %v, want 403", res, err)
	}
}

func TestDigestAlgorithmsConfig(t *testing.T) {
	algs := []string{"md5"}
	b := startBackend(t, func(c *Config) { c.DigestAlgorithms = algs })
	if algs[0] != "md5" {
		t.Error("New modified Config.DigestAlgorithms")
	}
	p := newPhone(t, b, "alice")
	if _, err := p.register(ctxT(t), "SHA-256", 3600); err == nil || !strings.Contains(err.Error(), "no WWW-Authenticate challenge for SHA-256") {
		t.Errorf("SHA-256 offered although only MD5 is configured: %v", err)
	}
	if res, err := p.register(ctxT(t), "MD5", 3600); err != nil || res.StatusCode != sip.StatusOK {
		t.Errorf("MD5 register: %v %v", res, err)
	}
}

// The registrar finds the user of a flow and the binding of a contact by
// index: a binding that moves to another connection leaves its old flow,
// and one that is removed leaves both indexes.
func TestFlowAndContactIndexFollowBindings(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	first := newPhone(t, b, "alice")
	first.mustRegister(ctx)
	regs := b.Registrations()
	if len(regs) != 1 {
		t.Fatalf("registrations %+v, want one", regs)
	}
	old := flow{transport: regs[0].Transport, addr: regs[0].Source}
	if u, ok := b.userOnFlow(old); !ok || u.User != "alice" {
		t.Fatalf("user on the first flow: %v %v, want alice", u.User, ok)
	}
	var contact sip.Uri
	if err := sip.ParseUri(regs[0].Contact, &contact); err != nil {
		t.Fatal(err)
	}
	if bd := b.bindingForContact(contact); bd == nil || bd.AOR != "alice" {
		t.Fatalf("binding for %s: %v", regs[0].Contact, bd)
	}

	second := newPhone(t, b, "alice") // another connection, the same contact
	second.contact = first.contact
	second.mustRegister(ctx)
	regs = b.Registrations()
	moved := flow{transport: regs[0].Transport, addr: regs[0].Source}
	if len(regs) != 1 || moved == old {
		t.Fatalf("registrations %+v, want the one binding on the second flow", regs)
	}
	if u, ok := b.userOnFlow(old); ok {
		t.Fatalf("the first flow still speaks for %s after the binding moved", u.User)
	}
	if u, ok := b.userOnFlow(moved); !ok || u.User != "alice" {
		t.Fatalf("user on the second flow: %v %v, want alice", u.User, ok)
	}

	if res, err := second.register(ctx, "SHA-256", 0); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("unregister: %v %v", res, err)
	}
	if _, ok := b.userOnFlow(moved); ok {
		t.Fatal("the flow still speaks for alice after she unregistered")
	}
	if bd := b.bindingForContact(contact); bd != nil {
		t.Fatalf("binding for %s after unregistering: %+v", regs[0].Contact, bd.Registration)
	}
}
