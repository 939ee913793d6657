package backend

import (
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/deskphone/deskphone/clock"
)

func TestRegistrationExpiresOnClock(t *testing.T) {
	clk := clock.NewFake(time.Now())
	b := startBackend(t, func(c *Config) { c.Clock = clk })
	ctx := ctxT(t)
	alice, bob := newPhone(t, b, "alice"), newPhone(t, b, "bob")
	alice.mustRegister(ctx)
	if res, err := bob.register(ctx, "MD5", 60); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("bob register: %v %v", res, err)
	}
	if regs := b.Registrations(); len(regs) != 2 || regs[1].AOR != "bob" || !regs[1].Expires.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("registrations %+v", regs)
	}

	clk.Advance(59 * time.Second)
	if n := len(b.Registrations()); n != 2 {
		t.Fatalf("after 59s: %d registrations, want 2", n)
	}
	clk.Advance(2 * time.Second)
	regs := b.Registrations()
	if len(regs) != 1 || regs[0].AOR != "alice" {
		t.Fatalf("after 61s: %+v, want alice only", regs)
	}

	// bob is known but has no phone now: 480.
	if _, err := alice.call(ctx, "bob"); statusOf(err) != sip.StatusTemporarilyUnavailable {
		t.Errorf("call to expired bob: %v, want 480", err)
	}

	// Expires: 0 removes the binding.
	if res, err := alice.register(ctx, "MD5", 0); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("unregister: %v %v", res, err)
	}
	if regs := b.Registrations(); len(regs) != 0 {
		t.Errorf("after Expires: 0: %+v", regs)
	}
}

func TestStaleNonce(t *testing.T) {
	clk := clock.NewFake(time.Now())
	b := startBackend(t, func(c *Config) { c.Clock = clk })
	ctx := ctxT(t)
	p := newPhone(t, b, "alice")

	req := p.newRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: p.domain})
	req.ReplaceHeader(&sip.ToHeader{Address: p.aor()})
	res, err := p.cli.Do(ctx, req)
	if err != nil || res.StatusCode != sip.StatusUnauthorized {
		t.Fatalf("REGISTER: %v %v", res, err)
	}
	chal, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		t.Fatal(err)
	}
	send := func(count int) *sip.Response {
		t.Helper()
		cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: req.Recipient.Addr(), Username: "alice", Password: "secret", Count: count})
		if err != nil {
			t.Fatal(err)
		}
		req.RemoveHeader("Authorization")
		req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
		req.RemoveHeader("Via")
		res, err := p.cli.Do(ctx, req, sipgo.ClientRequestIncreaseCSEQ, sipgo.ClientRequestAddVia)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := send(1); res.StatusCode != sip.StatusOK {
		t.Fatalf("fresh nonce: %s", res.Short())
	}
	clk.Advance(NonceLifetime + time.Second)
	res = send(2)
	if res.StatusCode != sip.StatusUnauthorized {
		t.Fatalf("old nonce: %s, want 401", res.Short())
	}
	stale, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if err != nil || !stale.Stale || stale.Nonce == chal.Nonce {
		t.Errorf("challenge after an old nonce: %+v (err %v), want stale=true and a new nonce", stale, err)
	}
}
