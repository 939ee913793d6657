package idp

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestDiscovery(t *testing.T) {
	e := newEnv(t, nil)
	res, err := http.Get(e.ts.URL + DiscoveryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var d map[string]any
	if err := jsonDecode(res, &d); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"issuer":                        e.ts.URL + "/deskphone.test/v2.0",
		"device_authorization_endpoint": e.ts.URL + "/deskphone.test/oauth2/v2.0/devicecode",
		"token_endpoint":                e.ts.URL + "/deskphone.test/oauth2/v2.0/token",
		"jwks_uri":                      e.ts.URL + "/deskphone.test/discovery/v2.0/keys",
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v, want %s", k, d[k], v)
		}
	}
	// The issuer's own discovery document is the same one.
	res2, err := http.Get(e.s.Issuer() + DiscoveryPath)
	if err != nil || res2.StatusCode != http.StatusOK {
		t.Fatalf("issuer discovery: %v %v", res2, err)
	}
	res2.Body.Close()
}

// TestDeviceFlowErrors walks the RFC 8628 §3.5 and RFC 6749 §5.2 answers
// of the token endpoint on a fake clock.
func TestDeviceFlowErrors(t *testing.T) {
	const poly = PolyClientID
	tests := []struct {
		name   string
		run    func(e *env) reply
		status int
		code   string // "" for success
	}{
		{"first poll is pending", func(e *env) reply {
			return e.poll(poly, e.deviceCode(poly).str("device_code"))
		}, 400, "authorization_pending"},
		{"poll at the interval is pending", func(e *env) reply {
			dc := e.deviceCode(poly).str("device_code")
			e.poll(poly, dc)
			e.clk.Advance(5 * time.Second)
			return e.poll(poly, dc)
		}, 400, "authorization_pending"},
		{"poll faster than the interval slows down", func(e *env) reply {
			dc := e.deviceCode(poly).str("device_code")
			e.poll(poly, dc)
			e.clk.Advance(4 * time.Second)
			return e.poll(poly, dc)
		}, 400, "slow_down"},
		{"slow_down adds 5 s to the interval", func(e *env) reply {
			dc := e.deviceCode(poly).str("device_code")
			e.poll(poly, dc)
			e.clk.Advance(time.Second)
			e.poll(poly, dc) // slow_down: interval 10 s
			e.clk.Advance(6 * time.Second)
			return e.poll(poly, dc)
		}, 400, "slow_down"},
		{"code expires after 900 s", func(e *env) reply {
			dc := e.deviceCode(poly).str("device_code")
			e.clk.Advance(900 * time.Second)
			return e.poll(poly, dc)
		}, 400, "expired_token"},
		{"denied on the page", func(e *env) reply {
			r := e.deviceCode(poly)
			if err := e.approve(r.str("user_code"), "", "", false); err != nil {
				e.t.Fatal(err)
			}
			return e.poll(poly, r.str("device_code"))
		}, 400, "access_denied"},
		{"approved on the page", func(e *env) reply {
			r := e.deviceCode(poly)
			if err := e.approve(r.str("user_code"), "alice", "secret", true); err != nil {
				e.t.Fatal(err)
			}
			return e.poll(poly, r.str("device_code"))
		}, 200, ""},
		{"a device code is good once", func(e *env) reply {
			r := e.deviceCode(poly)
			if err := e.approve(r.str("user_code"), "alice", "secret", true); err != nil {
				e.t.Fatal(err)
			}
			if first := e.poll(poly, r.str("device_code")); first.status != 200 {
				e.t.Fatalf("first: %v", first)
			}
			return e.poll(poly, r.str("device_code"))
		}, 400, "invalid_grant"},
		{"unknown device code", func(e *env) reply { return e.poll(poly, "nonsense") }, 400, "invalid_grant"},
		{"device code of another client", func(e *env) reply {
			return e.poll(YealinkClientID, e.deviceCode(poly).str("device_code"))
		}, 400, "invalid_grant"},
		{"missing device code", func(e *env) reply { return e.poll(poly, "") }, 400, "invalid_request"},
		{"unknown client", func(e *env) reply { return e.poll("nobody", "x") }, 401, "invalid_client"},
		{"no client", func(e *env) reply { return e.poll("", "x") }, 401, "invalid_client"},
		{"unknown client asks for a code", func(e *env) reply {
			return e.post(e.s.DeviceAuthorizationURL(), url.Values{"client_id": {"nobody"}})
		}, 401, "invalid_client"},
		{"unsupported grant type", func(e *env) reply {
			return e.post(e.s.TokenURL(), url.Values{"client_id": {poly}, "grant_type": {"authorization_code"}, "code": {"x"}})
		}, 400, "unsupported_grant_type"},
		{"missing grant type", func(e *env) reply {
			return e.post(e.s.TokenURL(), url.Values{"client_id": {poly}})
		}, 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := tc.run(e)
			if tc.code == "" {
				if r.status != 200 || r.str("access_token") == "" || r.str("refresh_token") == "" || r.str("token_type") != "Bearer" {
					t.Fatalf("got %d %v, want tokens", r.status, r.body)
				}
				return
			}
			wantError(t, r, tc.status, tc.code)
			if r.str("error_description") == "" {
				t.Errorf("no error_description in %v", r.body)
			}
		})
	}
}

func TestDeviceAuthorizationResponse(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DeviceCodeLifetime = 120 * time.Second })
	r := e.deviceCode(PolyClientID)
	code := r.str("user_code")
	if len(code) != 9 || code[4] != '-' || strings.Trim(strings.Replace(code, "-", "", 1), userCodeAlphabet) != "" {
		t.Errorf("user_code %q, want XXXX-XXXX of %s", code, userCodeAlphabet)
	}
	if r.body["expires_in"] != 120.0 || r.body["interval"] != 5.0 {
		t.Errorf("expires_in %v interval %v, want 120 and 5", r.body["expires_in"], r.body["interval"])
	}
	if r.str("verification_uri") != e.ts.URL+VerificationPath ||
		r.str("verification_uri_complete") != e.ts.URL+VerificationPath+"?code="+code {
		t.Errorf("verification URIs %q %q", r.str("verification_uri"), r.str("verification_uri_complete"))
	}
	if !strings.Contains(r.str("message"), code) {
		t.Errorf("message %q does not show the code", r.str("message"))
	}
}

func TestPasswordGrant(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(e *env)
		user, pw string
		code     string
		desc     string // in error_description
	}{
		{"right password", nil, "alice", "secret", "", ""},
		{"user name is case-insensitive", nil, "Alice", "secret", "", ""},
		{"wrong password", nil, "alice", "wrong", "invalid_grant", "wrong user name or password"},
		{"unknown user", nil, "mallory", "secret", "invalid_grant", "wrong user name or password"},
		{"legacy authentication blocked", func(e *env) { e.s.SetBlockLegacyAuth(true) }, "alice", "secret",
			"invalid_grant", "legacy authentication"},
		{"disabled user", func(e *env) {
			if err := e.s.SetUserDisabled("alice", true); err != nil {
				e.t.Fatal(err)
			}
		}, "alice", "secret", "invalid_grant", "disabled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tc.setup != nil {
				tc.setup(e)
			}
			r := e.password(PolyClientID, tc.user, tc.pw)
			if tc.code == "" {
				if r.status != 200 || r.str("access_token") == "" {
					t.Fatalf("got %d %v", r.status, r.body)
				}
				return
			}
			wantError(t, r, 400, tc.code)
			if !strings.Contains(r.str("error_description"), tc.desc) {
				t.Errorf("error_description %q, want it to mention %q", r.str("error_description"), tc.desc)
			}
		})
	}
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, nil)
	first := e.password(PolyClientID, "alice", "secret")
	refresh := func(client, token string) reply {
		return e.post(e.s.TokenURL(), url.Values{"client_id": {client}, "grant_type": {GrantRefreshToken}, "refresh_token": {token}})
	}
	second := refresh(PolyClientID, first.str("refresh_token"))
	if second.status != 200 || second.str("refresh_token") == first.str("refresh_token") || second.str("access_token") == "" {
		t.Fatalf("refresh: %v, want a new refresh token", second.body)
	}
	wantError(t, refresh(YealinkClientID, second.str("refresh_token")), 400, "invalid_grant")
	// The first token was rotated away: presenting it again revokes the
	// family, the second token included.
	wantError(t, refresh(PolyClientID, first.str("refresh_token")), 400, "invalid_grant")
	wantError(t, refresh(PolyClientID, second.str("refresh_token")), 400, "invalid_grant")

	// Revocation and expiry.
	third := e.password(PolyClientID, "alice", "secret")
	if _, err := e.s.RevokeUser("alice"); err != nil {
		t.Fatal(err)
	}
	wantError(t, refresh(PolyClientID, third.str("refresh_token")), 400, "invalid_grant")
	fourth := e.password(PolyClientID, "alice", "secret")
	e.clk.Advance(DefaultRefreshTokenLifetime)
	wantError(t, refresh(PolyClientID, fourth.str("refresh_token")), 400, "invalid_grant")
	wantError(t, refresh(PolyClientID, ""), 400, "invalid_request")
}

// TestClientPolicy is seed 000: from the cutoff the shared client ID is
// refused and each vendor's app needs the tenant's consent.
func TestClientPolicy(t *testing.T) {
	cutoff := time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		after   bool // advance past the cutoff
		consent bool // to Poly's app
		client  string
		status  int
		code    string
		desc    string
	}{
		{"shared ID before the cutoff", false, false, SharedClientID, 200, "", ""},
		{"vendor ID before the cutoff", false, false, PolyClientID, 200, "", ""},
		{"shared ID after the cutoff", true, true, SharedClientID, 401, "invalid_client", "2019-07-01"},
		{"vendor ID without consent", true, false, PolyClientID, 400, "unauthorized_client", "consent"},
		{"vendor ID with consent", true, true, PolyClientID, 200, "", ""},
		{"another vendor's ID without consent", true, true, YealinkClientID, 400, "unauthorized_client", "Yealink"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.s.SetVendorClientCutoff(cutoff)
			if tc.consent {
				if err := e.s.Consent(PolyClientID, true); err != nil {
					t.Fatal(err)
				}
			}
			if tc.after {
				e.clk.AdvanceTo(cutoff)
			}
			for _, r := range []reply{
				e.post(e.s.DeviceAuthorizationURL(), url.Values{"client_id": {tc.client}}),
				e.password(tc.client, "alice", "secret"),
			} {
				if tc.code == "" {
					if r.status != 200 {
						t.Fatalf("got %d %v, want 200", r.status, r.body)
					}
					continue
				}
				wantError(t, r, tc.status, tc.code)
				if !strings.Contains(r.str("error_description"), tc.desc) {
					t.Errorf("error_description %q, want it to mention %q", r.str("error_description"), tc.desc)
				}
			}
		})
	}
	if err := newEnv(t, nil).s.Consent("nobody", true); !errors.Is(err, ErrUnknownClient) {
		t.Errorf("consent to an unknown client: %v", err)
	}
}

func TestValidateAccessToken(t *testing.T) {
	other := newEnv(t, nil)
	foreign := other.password(PolyClientID, "alice", "secret").str("access_token")
	tests := []struct {
		name  string
		setup func(e *env, token string) string
		want  error
	}{
		{"valid", func(e *env, tok string) string { return tok }, nil},
		{"expired", func(e *env, tok string) string { e.clk.Advance(DefaultAccessTokenLifetime); return tok }, ErrTokenExpired},
		{"just before expiry", func(e *env, tok string) string { e.clk.Advance(DefaultAccessTokenLifetime - time.Second); return tok }, nil},
		{"revoked", func(e *env, tok string) string { _, _ = e.s.RevokeUser("alice"); return tok }, ErrTokenRevoked},
		{"user disabled", func(e *env, tok string) string { _ = e.s.SetUserDisabled("alice", true); return tok }, ErrUserDisabled},
		{"tampered", func(e *env, tok string) string { return tok[:len(tok)-4] + "AAAA" }, ErrTokenInvalid},
		{"garbage", func(e *env, tok string) string { return "not.a.jwt" }, ErrTokenInvalid},
		{"signed by another IdP", func(e *env, tok string) string { return foreign }, ErrTokenInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			tok := tc.setup(e, e.password(PolyClientID, "alice", "secret").str("access_token"))
			c, err := e.s.ValidateAccessToken(tok)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("ValidateAccessToken: %v, want %v", err, tc.want)
			}
			if tc.want == nil && (c.Subject != "alice" || c.ClientID != PolyClientID) {
				t.Errorf("claims %+v", c)
			}
		})
	}
}

// TestJWKSVerifiesTokens checks the token against the published key set,
// as any resource server would.
func TestJWKSVerifiesTokens(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.password(PolyClientID, "alice", "secret").str("access_token")
	res, err := http.Get(e.s.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := jsonDecode(res, &set); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS %+v", parsed.Headers[0].KeyID, set)
	}
	var c Claims
	if err := parsed.Claims(keys[0].Key, &c); err != nil {
		t.Fatalf("verify with JWKS key: %v", err)
	}
	if c.Issuer != e.s.Issuer() || !c.Audience.Contains("sip:deskphone.test") || c.Subject != "alice" {
		t.Errorf("claims %+v", c)
	}
}

// TestPasswordGuessLimit: wrong passwords at the token endpoint count per
// client address; past the limit even the right one is refused until the
// window has passed on the IdP's clock.
func TestPasswordGuessLimit(t *testing.T) {
	e := newEnv(t, nil)
	for i := range DefaultCodeGuesses {
		wantError(t, e.password(PolyClientID, "alice", fmt.Sprint("guess", i)), 400, "invalid_grant")
	}
	r := e.password(PolyClientID, "alice", "secret")
	wantError(t, r, http.StatusTooManyRequests, "invalid_grant")
	if !strings.Contains(r.str("error_description"), "too many wrong passwords") {
		t.Errorf("error_description %q", r.str("error_description"))
	}
	e.clk.Advance(DefaultCodeGuessWindow)
	if r := e.password(PolyClientID, "alice", "secret"); r.status != 200 {
		t.Fatalf("after the window: %d %v", r.status, r.body)
	}
}
