package backend

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// capturedRegister registers p and returns the Authorization header of
// its successful REGISTER, as an eavesdropper would see it.
func capturedRegister(t *testing.T, p *testPhone) string {
	t.Helper()
	ctx := ctxT(t)
	req := p.newRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: p.domain})
	req.ReplaceHeader(&sip.ToHeader{Address: p.aor()})
	req.AppendHeader(sip.NewHeader("Expires", "3600"))
	res, err := p.cli.Do(ctx, req)
	if err != nil || res.StatusCode != sip.StatusUnauthorized {
		t.Fatalf("REGISTER: %v %v", res, err)
	}
	if err := p.authorize(req, res, "WWW-Authenticate", "Authorization", "SHA-256"); err != nil {
		t.Fatal(err)
	}
	res, err = p.cli.Do(ctx, req, sipgo.ClientRequestIncreaseCSEQ, sipgo.ClientRequestAddVia)
	if err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER with credentials: %v %v", res, err)
	}
	return req.GetHeader("Authorization").Value()
}

// TestDigestReplayRefused (issue 19, item 8): a captured REGISTER
// Authorization replayed (same nonce and nc) from another connection
// with Expires: 86400 binds nothing and costs its user nothing.
func TestDigestReplayRefused(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	alice := newPhone(t, b, "alice")
	captured := capturedRegister(t, alice)

	attacker := newPhone(t, b, "alice")
	for i := range MaxAuthFailures + 1 {
		req := attacker.newRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: attacker.domain})
		req.ReplaceHeader(&sip.ToHeader{Address: attacker.aor()})
		req.AppendHeader(sip.NewHeader("Expires", "86400"))
		req.AppendHeader(sip.NewHeader("Authorization", captured))
		res, err := attacker.cli.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != sip.StatusUnauthorized {
			t.Fatalf("replay %d: %s, want 401", i+1, res.Short())
		}
	}
	if regs := b.Registrations(); len(regs) != 1 || regs[0].Contact != alice.contact.Address.String() {
		t.Fatalf("bindings after the replays: %+v", regs)
	}
	// Replays are not wrong passwords: alice is not locked out.
	alice.mustRegister(ctx)
}

// TestRegisterExpiresCapped (issue 19, item 8): a REGISTER asking for a
// day is granted an hour (MaxExpires, the README's figure), and the 200
// OK says so.
func TestRegisterExpiresCapped(t *testing.T) {
	b := startBackend(t, nil)
	alice := newPhone(t, b, "alice")
	res, err := alice.register(ctxT(t), "SHA-256", 86400)
	if err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER: %v %v", res, err)
	}
	c, ok := res.Contact().Params.Get("expires")
	if !ok || c != "3600" {
		t.Errorf("granted expires=%q, want 3600", c)
	}
	if regs := b.Registrations(); len(regs) != 1 || regs[0].Expires.After(time.Now().Add(time.Hour)) {
		t.Errorf("bindings: %+v", regs)
	}
}

// TestProxyAuthorizationBoundToRequest (issue 19, item 8): credentials
// computed for uri=echo do not authenticate an INVITE to another user,
// nor a second INVITE to echo.
func TestProxyAuthorizationBoundToRequest(t *testing.T) {
	b := startBackend(t, nil)
	ctx := ctxT(t)
	bob := newPhone(t, b, "bob") // never registers: authenticates per request
	invite := func(target, cred string) *sip.Response {
		t.Helper()
		req := bob.newRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: target, Host: bob.domain})
		if cred != "" {
			req.AppendHeader(sip.NewHeader("Proxy-Authorization", cred))
		}
		res, err := bob.cli.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	credFor := func(target string) string {
		t.Helper()
		req := bob.newRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: target, Host: bob.domain})
		res := invite(target, "")
		if res.StatusCode != sip.StatusProxyAuthRequired {
			t.Fatalf("INVITE %s: %s, want 407", target, res.Short())
		}
		if err := bob.authorize(req, res, "Proxy-Authenticate", "Proxy-Authorization", "SHA-256"); err != nil {
			t.Fatal(err)
		}
		return req.GetHeader("Proxy-Authorization").Value()
	}

	// For echo, used on an INVITE to the busy service: a 486 would mean
	// the cloud took them.
	if res := invite(ServiceBusy, credFor(ServiceEcho)); res.StatusCode != sip.StatusBadRequest || !strings.Contains(res.Reason, "uri") {
		t.Errorf("echo's credentials on an INVITE to busy: %s, want 400", res.Short())
	}
	// Good once, then a replay.
	cred := credFor(ServiceBusy)
	if res := invite(ServiceBusy, cred); res.StatusCode != sip.StatusBusyHere {
		t.Fatalf("INVITE busy with its credentials: %s, want 486", res.Short())
	}
	if res := invite(ServiceBusy, cred); res.StatusCode != sip.StatusProxyAuthRequired {
		t.Errorf("replayed credentials: %s, want 407", res.Short())
	}
	// Credentials for the server itself, as SIPp computes them for every
	// request (uri="sip:HOST:PORT" of the server): good once, then a replay.
	host, port, _ := sip.ParseAddr(b.Addr("tcp"))
	server := sip.Uri{Scheme: "sip", Host: host, Port: port}
	req := bob.newRequest(sip.INVITE, server)
	res := invite(ServiceBusy, "")
	if err := bob.authorize(req, res, "Proxy-Authenticate", "Proxy-Authorization", "SHA-256"); err != nil {
		t.Fatal(err)
	}
	cred = req.GetHeader("Proxy-Authorization").Value()
	if res := invite(ServiceBusy, cred); res.StatusCode != sip.StatusBusyHere {
		t.Errorf("credentials naming the server: %s, want 486", res.Short())
	}
	if res := invite(ServiceBusy, cred); res.StatusCode != sip.StatusProxyAuthRequired {
		t.Errorf("replayed credentials naming the server: %s, want 407", res.Short())
	}
}
