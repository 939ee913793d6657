package backend

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/deskphone/deskphone/backend/idp"
	"github.com/deskphone/deskphone/clock"
)

// countChallenges counts the WWW-Authenticate challenges of a scheme.
func countChallenges(res *sip.Response, scheme string) int {
	n := 0
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		if strings.HasPrefix(h.Value(), scheme+" ") {
			n++
		}
	}
	return n
}

func bearerChallengeOf(res *sip.Response) string {
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		if strings.HasPrefix(h.Value(), "Bearer ") {
			return h.Value()
		}
	}
	return ""
}

// registerBearer sends REGISTER with RFC 8898 bearer credentials.
func (p *testPhone) registerBearer(token string) *sip.Response {
	p.t.Helper()
	req := p.newRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: p.domain})
	req.ReplaceHeader(&sip.ToHeader{Address: p.aor()})
	req.AppendHeader(sip.NewHeader("Expires", "3600"))
	req.AppendHeader(sip.NewHeader("Authorization", "Bearer "+token))
	res, err := p.cli.Do(ctxT(p.t), req)
	if err != nil {
		p.t.Fatalf("register: %v", err)
	}
	return res
}

// tokenFor signs user in with the password grant and returns the access token.
func tokenFor(t *testing.T, b *Backend, user string) string {
	t.Helper()
	res, err := http.PostForm(b.IdP().TokenURL(), url.Values{
		"grant_type": {idp.GrantPassword}, "client_id": {idp.PolyClientID}, "username": {user}, "password": {"secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("token for %s: %d %+v %v", user, res.StatusCode, body, err)
	}
	return body.AccessToken
}

func TestRegisterChallengesDigestAndBearer(t *testing.T) {
	b := startBackend(t, nil)
	p := newPhone(t, b, "alice")
	req := p.newRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: p.domain})
	req.ReplaceHeader(&sip.ToHeader{Address: p.aor()})
	res, err := p.cli.Do(ctxT(t), req)
	if err != nil || res.StatusCode != sip.StatusUnauthorized {
		t.Fatalf("REGISTER: %v %v", res, err)
	}
	if n := countChallenges(res, "Digest"); n != 2 {
		t.Errorf("%d digest challenges, want 2", n)
	}
	want := fmt.Sprintf(`Bearer realm="deskphone.test", scope="sip", authz_server="%s"`, b.IdP().Issuer())
	if got := bearerChallengeOf(res); got != want {
		t.Errorf("bearer challenge %q, want %q", got, want)
	}
	hs := res.GetHeaders("WWW-Authenticate")
	if !strings.HasPrefix(hs[0].Value(), "Digest ") {
		t.Errorf("first challenge %q, want digest first for clients that read only one", hs[0].Value())
	}
}

// TestNoBearerWithoutIdP: without the admin listener nobody can get a
// token, so the registrar offers digest alone (clients such as baresip
// give up on a challenge they cannot parse).
func TestNoBearerWithoutIdP(t *testing.T) {
	b := startBackend(t, func(c *Config) { c.AdminListen = "" })
	p := newPhone(t, b, "alice")
	res := p.registerBearer("whatever")
	if res.StatusCode != sip.StatusUnauthorized || bearerChallengeOf(res) != "" || countChallenges(res, "Digest") != 2 {
		t.Fatalf("got %s %v, want 401 with digest only", res.Short(), res.GetHeaders("WWW-Authenticate"))
	}
}

func TestRegisterWithBearer(t *testing.T) {
	tests := []struct {
		name      string
		as        string // phone user
		tokenUser string
		before    func(t *testing.T, b *Backend, clk *clock.Fake)
		status    int
		tokenErr  string // in the error_description of invalid_token
	}{
		{"valid token", "alice", "alice", nil, sip.StatusOK, ""},
		{"token of another user", "alice", "bob", nil, sip.StatusForbidden, ""},
		{"expired on the cloud clock", "alice", "alice", func(t *testing.T, b *Backend, clk *clock.Fake) {
			clk.Advance(idp.DefaultAccessTokenLifetime)
		}, sip.StatusUnauthorized, "expired"},
		{"revoked", "alice", "alice", func(t *testing.T, b *Backend, clk *clock.Fake) {
			if _, err := b.IdP().RevokeUser("alice"); err != nil {
				t.Fatal(err)
			}
		}, sip.StatusUnauthorized, "revoked"},
		{"user disabled", "alice", "alice", func(t *testing.T, b *Backend, clk *clock.Fake) {
			if err := b.IdP().SetUserDisabled("alice", true); err != nil {
				t.Fatal(err)
			}
		}, sip.StatusUnauthorized, "disabled"},
		{"garbage", "alice", "", nil, sip.StatusUnauthorized, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
			b := startBackend(t, func(c *Config) { c.Clock = clk })
			token := "ey.garbage.x"
			if tc.tokenUser != "" {
				token = tokenFor(t, b, tc.tokenUser)
			}
			if tc.before != nil {
				tc.before(t, b, clk)
			}
			p := newPhone(t, b, tc.as)
			res := p.registerBearer(token)
			if res.StatusCode != tc.status {
				t.Fatalf("REGISTER: %s, want %d", res.Short(), tc.status)
			}
			switch tc.status {
			case sip.StatusOK:
				if regs := b.Registrations(); len(regs) != 1 || regs[0].AOR != tc.as {
					t.Errorf("registrations %+v", regs)
				}
			case sip.StatusUnauthorized:
				ch := bearerChallengeOf(res)
				if !strings.Contains(ch, `error="invalid_token"`) || !strings.Contains(ch, tc.tokenErr) {
					t.Errorf("bearer challenge %q, want invalid_token mentioning %q", ch, tc.tokenErr)
				}
				if countChallenges(res, "Digest") != 2 {
					t.Errorf("no digest fallback in %v", res.GetHeaders("WWW-Authenticate"))
				}
				if n := len(b.Registrations()); n != 0 {
					t.Errorf("%d registrations after a refused token", n)
				}
			}
		})
	}
}

// TestWebSignInToRegistration is the whole story on a fake clock: the
// phone asks for a code, the person approves it on the page, the phone's
// next poll gets tokens and it registers with the access token; after
// an hour on the cloud clock the token is refused, a refreshed one works.
func TestWebSignInToRegistration(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	b := startBackend(t, func(c *Config) { c.Clock = clk })
	s := b.IdP()
	post := func(endpoint string, form url.Values) map[string]any {
		t.Helper()
		res, err := http.PostForm(endpoint, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	da := post(s.DeviceAuthorizationURL(), url.Values{"client_id": {idp.YealinkClientID}, "model": {"SIP-T48G"}})
	poll := url.Values{"client_id": {idp.YealinkClientID}, "grant_type": {idp.GrantDeviceCode}, "device_code": {da["device_code"].(string)}}
	if r := post(s.TokenURL(), poll); r["error"] != "authorization_pending" {
		t.Fatalf("first poll: %v", r)
	}
	if err := idp.Approve(ctxT(t), da["verification_uri"].(string), da["user_code"].(string), "bob", "secret", true); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	tok := post(s.TokenURL(), poll)
	access, _ := tok["access_token"].(string)
	if access == "" {
		t.Fatalf("token: %v", tok)
	}
	p := newPhone(t, b, "bob")
	if res := p.registerBearer(access); res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER with the token: %s", res.Short())
	}
	clk.Advance(time.Hour)
	if res := p.registerBearer(access); res.StatusCode != sip.StatusUnauthorized || !strings.Contains(bearerChallengeOf(res), "invalid_token") {
		t.Fatalf("REGISTER with the expired token: %s", res.Short())
	}
	fresh := post(s.TokenURL(), url.Values{"client_id": {idp.YealinkClientID}, "grant_type": {idp.GrantRefreshToken}, "refresh_token": {tok["refresh_token"].(string)}})
	if res := p.registerBearer(fresh["access_token"].(string)); res.StatusCode != sip.StatusOK {
		t.Fatalf("REGISTER with the refreshed token: %s", res.Short())
	}
}

// TestProxyBearer: an unregistered phone's INVITE passes the proxy with
// Proxy-Authorization: Bearer (RFC 8898 covers 407 as well as 401).
func TestProxyBearer(t *testing.T) {
	b := startBackend(t, nil)
	p := newPhone(t, b, "alice")
	invite := func(cred string) *sip.Response {
		t.Helper()
		req := p.newRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "busy", Host: p.domain})
		if cred != "" {
			req.AppendHeader(sip.NewHeader("Proxy-Authorization", cred))
		}
		res, err := p.cli.Do(ctxT(t), req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	tests := []struct {
		name string
		cred string
		want int
	}{
		{"no credentials", "", sip.StatusProxyAuthRequired},
		{"bad token", "Bearer nonsense", sip.StatusProxyAuthRequired},
		{"alice's token", "Bearer " + tokenFor(t, b, "alice"), sip.StatusBusyHere},
		{"bob's token", "Bearer " + tokenFor(t, b, "bob"), sip.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := invite(tc.cred)
			if res.StatusCode != tc.want {
				t.Fatalf("INVITE: %s, want %d", res.Short(), tc.want)
			}
			if tc.cred == "Bearer nonsense" {
				var bearer string
				for _, h := range res.GetHeaders("Proxy-Authenticate") {
					if strings.HasPrefix(h.Value(), "Bearer ") {
						bearer = h.Value()
					}
				}
				if !strings.Contains(bearer, `error="invalid_token"`) {
					t.Errorf("407 for a bad token: %v", res.GetHeaders("Proxy-Authenticate"))
				}
			}
		})
	}
}

// A token for other resources does not register (issue 19): one whose
// scope is only "openid profile" gets 403 insufficient_scope naming the
// scope needed, and an ID token (whose audience is the client) gets 401
// invalid_token.
func TestBearerNeedsSIPScopeAndAudience(t *testing.T) {
	b := startBackend(t, nil)
	res, err := http.PostForm(b.IdP().TokenURL(), url.Values{
		"grant_type": {idp.GrantPassword}, "client_id": {idp.PolyClientID}, "username": {"alice"}, "password": {"secret"},
		"scope": {"openid profile"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if err != nil || body.AccessToken == "" || body.IDToken == "" {
		t.Fatalf("tokens: %+v %v", body, err)
	}
	p := newPhone(t, b, "alice")
	if r := p.registerBearer(body.AccessToken); r.StatusCode != sip.StatusForbidden || !strings.Contains(bearerChallengeOf(r), `error="insufficient_scope"`) || !strings.Contains(bearerChallengeOf(r), `scope="sip"`) {
		t.Fatalf("openid profile token: %s %q", r.Short(), bearerChallengeOf(r))
	}
	if r := p.registerBearer(body.IDToken); r.StatusCode != sip.StatusUnauthorized || !strings.Contains(bearerChallengeOf(r), "invalid_token") {
		t.Fatalf("ID token: %s %q", r.Short(), bearerChallengeOf(r))
	}
	if n := len(b.Registrations()); n != 0 {
		t.Fatalf("%d registrations", n)
	}
}
