package idp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestApprove(t *testing.T) {
	tests := []struct {
		name     string
		code     func(shown string) string
		user, pw string
		allow    bool
		before   func(e *env)
		wantPage string // "" for success
	}{
		{"allow", func(c string) string { return c }, "alice", "secret", true, nil, ""},
		{"lower case without the dash", func(c string) string { return strings.ToLower(strings.Replace(c, "-", "", 1)) }, "alice", "secret", true, nil, ""},
		{"deny", func(c string) string { return c }, "", "", false, nil, ""},
		{"code with spaces", func(c string) string { return " " + strings.Replace(c, "-", " ", 1) + " " }, "alice", "secret", true, nil, ""},
		{"wrong password", func(c string) string { return c }, "alice", "nope", true, nil, PageSignIn},
		{"unknown code", func(string) string { return "BCDF-GHJK" }, "alice", "secret", true, nil, PageUnknown},
		{"expired code", func(c string) string { return c }, "alice", "secret", true,
			func(e *env) { e.clk.Advance(DefaultDeviceCodeLifetime) }, PageExpired},
		{"disabled user", func(c string) string { return c }, "alice", "secret", true,
			func(e *env) { _ = e.s.SetUserDisabled("alice", true) }, PageDisabled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := e.deviceCode(PolyClientID)
			if tc.before != nil {
				tc.before(e)
			}
			err := e.approve(tc.code(r.str("user_code")), tc.user, tc.pw, tc.allow)
			if tc.wantPage == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrPage) || !strings.Contains(err.Error(), `"`+tc.wantPage+`"`) {
				t.Fatalf("Approve: %v, want to end on %q", err, tc.wantPage)
			}
		})
	}
}

func TestApproveBaseURLs(t *testing.T) {
	e := newEnv(t, nil)
	for _, base := range []string{"", VerificationPath, VerificationPath + "?code=XXXX-XXXX", "/"} {
		r := e.deviceCode(PolyClientID)
		if err := Approve(context.Background(), e.ts.URL+base, r.str("user_code"), "alice", "secret", true); err != nil {
			t.Errorf("base %q: %v", e.ts.URL+base, err)
		}
	}
	if err := Approve(context.Background(), "ftp://x", "BCDF-BCDF", "alice", "secret", true); err == nil {
		t.Error("an ftp base URL was accepted")
	}
}

func TestPageNamesThePhone(t *testing.T) {
	e := newEnv(t, nil)
	r := e.deviceCode(PolyClientID)
	jar := newJar(t)
	c := &http.Client{Jar: jar}
	kind, body, err := fetch(context.Background(), c, http.MethodGet, r.str("verification_uri_complete"), nil)
	if err != nil || kind != PageCode || !strings.Contains(body, `value="`+r.str("user_code")+`"`) {
		t.Fatalf("complete URI: %s %v, want the code filled in", kind, err)
	}
	kind, body, err = fetch(context.Background(), c, http.MethodPost, r.str("verification_uri"), url.Values{
		"csrf": {hiddenValue(body, "csrf")}, "step": {PageCode}, "code": {r.str("user_code")}})
	if err != nil || kind != PageSignIn {
		t.Fatalf("after the code: %s %v", kind, err)
	}
	for _, want := range []string{"Poly VVX 601 wants to sign in", "Poly Skype for Business Certified Phone"} {
		if !strings.Contains(body, want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}
	// Without the phone's own words the page names the client's vendor.
	y := e.post(e.s.DeviceAuthorizationURL(), url.Values{"client_id": {YealinkClientID}})
	_, body, _ = fetch(context.Background(), c, http.MethodPost, e.s.VerificationURI(), url.Values{
		"csrf": {hiddenValue(body, "csrf")}, "step": {PageCode}, "code": {y.str("user_code")}})
	if !strings.Contains(body, "Yealink wants to sign in") {
		t.Errorf("page for a Yealink client without model does not name Yealink")
	}
}

func TestPageCSRF(t *testing.T) {
	e := newEnv(t, nil)
	r := e.deviceCode(PolyClientID)
	tests := []struct {
		name   string
		cookie bool
		token  func(good string) string
		status int
	}{
		{"no cookie, no token", false, func(string) string { return "" }, http.StatusForbidden},
		{"cookie, wrong token", true, func(string) string { return "forged" }, http.StatusForbidden},
		{"cookie and its token", true, func(good string) string { return good }, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{}
			good := ""
			if tc.cookie {
				c.Jar = newJar(t)
				_, body, err := fetch(context.Background(), c, http.MethodGet, e.s.VerificationURI(), nil)
				if err != nil {
					t.Fatal(err)
				}
				good = hiddenValue(body, "csrf")
			}
			res, err := c.PostForm(e.s.VerificationURI(), url.Values{"csrf": {tc.token(good)}, "step": {PageCode}, "code": {r.str("user_code")}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Errorf("status %d, want %d", res.StatusCode, tc.status)
			}
		})
	}
	// A browser's cross-site form post is refused before the form is read.
	req, _ := http.NewRequest(http.MethodPost, e.s.VerificationURI(), strings.NewReader("step=code"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %d, want 403", res.StatusCode)
	}
}

// TestGuessLimit: wrong codes count per client address on the IdP's
// clock; the sixth guess within a minute is turned away, also with a
// right code, until the window has passed.
func TestGuessLimit(t *testing.T) {
	e := newEnv(t, nil)
	r := e.deviceCode(PolyClientID)
	for i := range DefaultCodeGuesses {
		if err := e.approve("BCDF-BCDF", "alice", "secret", true); err == nil || !strings.Contains(err.Error(), PageUnknown) {
			t.Fatalf("wrong guess %d: %v", i+1, err)
		}
	}
	if err := e.approve(r.str("user_code"), "alice", "secret", true); err == nil || !strings.Contains(err.Error(), PageLimited) {
		t.Fatalf("after %d wrong guesses: %v, want %q", DefaultCodeGuesses, err, PageLimited)
	}
	e.clk.Advance(DefaultCodeGuessWindow)
	if err := e.approve(r.str("user_code"), "alice", "secret", true); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// TestStandardClient runs golang.org/x/oauth2's device flow and refresh
// against the endpoints from discovery, on the real clock with a 1 s
// interval (the client polls on wall time).
func TestStandardClient(t *testing.T) {
	real := newEnvReal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := oauth2.Config{
		ClientID: PolyClientID,
		Scopes:   []string{"openid", "offline_access", "sip"},
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: real.s.DeviceAuthorizationURL(),
			TokenURL:      real.s.TokenURL(),
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
	da, err := cfg.DeviceAuth(ctx, oauth2.SetAuthURLParam("manufacturer", "Poly"), oauth2.SetAuthURLParam("model", "VVX 601"))
	if err != nil {
		t.Fatal(err)
	}
	if da.VerificationURIComplete == "" || da.Interval != 1 || da.Expiry.IsZero() {
		t.Fatalf("device auth %+v", da)
	}
	if err := Approve(ctx, da.VerificationURI, da.UserCode, "bob", "hunter2", true); err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := real.s.ValidateAccessToken(tok.AccessToken); err != nil || c.Subject != "bob" {
		t.Fatalf("token: %+v %v", c, err)
	}
	// Refresh through a token source, as a client does when the access
	// token has expired.
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh did not rotate")
	}
	// The password grant, with the client ID in Basic authentication.
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if _, err := cfg.PasswordCredentialsToken(ctx, "bob", "hunter2"); err != nil {
		t.Fatalf("password grant: %v", err)
	}
	real.s.SetBlockLegacyAuth(true)
	var re *oauth2.RetrieveError
	if _, err := cfg.PasswordCredentialsToken(ctx, "bob", "hunter2"); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("password grant with legacy auth blocked: %v", err)
	}
}

// The page's title is not the client's to write (issue 19): a forged
// manufacturer ("Microsoft Security check - enter your password") is not
// shown; the vendor a client ID is registered to is, and for the shared
// ID only a registered vendor's name.
func TestPageShowsOnlyRegisteredVendors(t *testing.T) {
	e := newEnv(t, nil)
	c := &http.Client{Jar: newJar(t)}
	_, body, err := fetch(context.Background(), c, http.MethodGet, e.s.VerificationURI(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ client, manufacturer, model, title string }{
		{SharedClientID, "Microsoft Security check - enter your password", "", "A phone wants to sign in"},
		{SharedClientID, "poly", "VVX 601", "Poly VVX 601 wants to sign in"},
		{YealinkClientID, "Microsoft", "<b>Urgent</b>: call 555", "Yealink wants to sign in"},
	} {
		r := e.post(e.s.DeviceAuthorizationURL(), url.Values{"client_id": {tc.client}, "manufacturer": {tc.manufacturer}, "model": {tc.model}})
		var kind string
		kind, body, err = fetch(context.Background(), c, http.MethodPost, e.s.VerificationURI(), url.Values{
			"csrf": {hiddenValue(body, "csrf")}, "step": {PageCode}, "code": {r.str("user_code")}})
		if err != nil || kind != PageSignIn {
			t.Fatalf("%s: %q %v", tc.manufacturer, kind, err)
		}
		if !strings.Contains(body, "<title>"+tc.title+"</title>") || strings.Contains(body, "Microsoft") || strings.Contains(body, "Urgent") {
			t.Errorf("%s %s: want title %q, got\n%s", tc.manufacturer, tc.model, tc.title, body)
		}
	}
}
