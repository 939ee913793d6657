package phone

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/deskphone/deskphone/phone/catalog"
)

// Sign-in timing. Every poll, expiry and refresh is a timer on the
// phone's clock; these bound what the identity provider says.
const (
	// pollDefault is RFC 8628's interval when the provider names none.
	pollDefault = 5 * time.Second
	// slowDownStep is what slow_down adds to the interval (RFC 8628 §3.5).
	slowDownStep = 5 * time.Second
	// idpRetry is the wait after the provider could not be reached or
	// answered what is not OAuth, before the next poll or refresh.
	idpRetry = 30 * time.Second
	// idpTimeout bounds one request to the provider. Wall time on purpose:
	// it guards a network exchange, which no phone clock moves.
	idpTimeout = 20 * time.Second
	// refreshBefore is how long before expiry an access token is renewed.
	refreshBefore = 5 * time.Minute
)

// SignIn configures sign-in with an OpenID Connect provider.
type SignIn struct {
	// Issuer is the provider's issuer URL; its endpoints come from
	// ISSUER/.well-known/openid-configuration.
	Issuer string
	// ClientID overrides the firmware's client ID (the catalog's, by the
	// firmware's client ID kind); ClientSecret makes it a confidential
	// client (sent by HTTP Basic).
	ClientID     string
	ClientSecret string
	// Scopes asked for; default openid, offline_access and sip, the
	// scope the cloud's registrar names in its Bearer challenge (RFC 8898)
	// and requires of a token (providers ignore scopes they do not know).
	Scopes []string
	// Method, when set, starts that sign-in at boot if the phone kept no
	// tokens (web, pc).
	Method string
	// OnPremises: the account is on premises, where PIN authentication is
	// offered.
	OnPremises bool
}

// WithSignIn makes the phone sign in with an identity provider: it boots
// signed out (unless it kept tokens) and registers with its access token.
func WithSignIn(s SignIn) Option {
	return func(p *Phone) error {
		u, err := url.Parse(s.Issuer)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("sign-in: issuer %q: want an http(s) URL", s.Issuer)
		}
		if len(s.Scopes) == 0 {
			s.Scopes = []string{"openid", "offline_access", "sip"}
		}
		p.signin = &s
		return nil
	}
}

// Errors of the sign-in part.
var (
	ErrNoSignIn      = errors.New("no identity provider configured")
	ErrMethodOffered = errors.New("sign-in method not offered")
)

// clientID is the OAuth client ID this boot signs in with: the
// configured one, else the catalog's for the firmware's client ID kind.
func (p *Phone) clientID() string {
	if p.signin.ClientID != "" {
		return p.signin.ClientID
	}
	return p.model.Vendor.SignIn.ClientIDs[p.s.session.clientID]
}

// oauthConfig is what discovery found, as golang.org/x/oauth2 takes it.
func (p *Phone) oauthConfig(ep oauth2.Endpoint) *oauth2.Config {
	ep.AuthStyle = oauth2.AuthStyleInParams // public client: client_id only
	if p.signin.ClientSecret != "" {
		ep.AuthStyle = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{ClientID: p.clientID(), ClientSecret: p.signin.ClientSecret, Endpoint: ep, Scopes: p.signin.Scopes}
}

// idpDo runs f (a request to the identity provider) off the loop and hands
// its result to done on the loop, unless a newer attempt started. The
// exchange is held in the in-flight tracker until done has run, so virtual
// time never jumps over it.
func (p *Phone) idpDo(f func(ctx context.Context) (any, error), done func(any, error)) {
	gen := p.s.session.gen
	release := p.inflight.Hold()
	p.goWork(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, idpTimeout)
		ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: idpTimeout})
		v, err := f(ctx)
		cancel()
		if !p.post(nil, func() {
			defer release()
			if p.s.session.gen == gen {
				done(v, err)
			}
		}) {
			release()
		}
	})
}

// signInStart begins an interactive sign-in: a new attempt, older answers
// dropped.
func (p *Phone) signInStart(method signInMethod) error {
	if p.signin == nil {
		return ErrNoSignIn
	}
	if !p.s.session.offers(string(method)) {
		p.showAlert("Not available on this phone")
		return fmt.Errorf("%w: %s (firmware %s offers %s)", ErrMethodOffered, method, p.s.fw.Version, strings.Join(p.s.session.offered, ", "))
	}
	if p.s.session.tok != nil {
		p.signOut(whySignedOut, "signed out to sign in again")
	}
	p.stopSignInTimers()
	p.s.session.gen++
	p.s.session.web, p.s.session.err, p.s.session.why, p.s.session.busy = nil, "", "", true
	p.s.session.start(method)
	p.closeMenu()
	return nil
}

func (p *Phone) stopSignInTimers() {
	p.s.session.poll.stop()
	p.s.session.expiry.stop()
	p.s.session.refresh.stop()
}

// signInRetry asks for a new code after the last one expired.
func (p *Phone) signInRetry() {
	if p.s.session.web == nil || !p.s.session.web.expired {
		return
	}
	_ = p.signInWeb(p.s.session.method)
}

// signInCancel drops the attempt and goes back to the sign-in menu.
func (p *Phone) signInCancel() {
	if p.s.session.state != SigningIn || p.s.session.tok != nil {
		return
	}
	p.endSession(whyCancelled, "sign-in cancelled")
	p.logf("signin", "info", "signin", "sign-in cancelled")
}

// signInPassword signs in with user credentials: the resource-owner
// password grant.
func (p *Phone) signInPassword(user, password string) error {
	if err := p.signInStart("user"); err != nil {
		return err
	}
	issuer := p.signin.Issuer
	cfg := p.oauthConfig(oauth2.Endpoint{})
	p.logf("signin", "info", "signin", "user credentials sign-in as %s at %s", user, issuer)
	p.idpDo(func(ctx context.Context) (any, error) {
		ep, err := discover(ctx, issuer)
		if err != nil {
			return nil, err
		}
		cfg.Endpoint.TokenURL = ep.TokenURL
		tok, err := cfg.PasswordCredentialsToken(ctx, user, password)
		if err != nil {
			return nil, err
		}
		return passwordResult{cfg, tok}, nil
	}, func(v any, err error) {
		p.s.session.busy = false
		if err != nil {
			p.signInFailed(err)
			return
		}
		r := v.(passwordResult)
		p.tokenSignedIn(r.cfg, r.tok)
	})
	return nil
}

type passwordResult struct {
	cfg *oauth2.Config
	tok *oauth2.Token
}

// askCredentials types the user name and password on the keypad.
func (p *Phone) askCredentials() {
	if p.signin == nil || !p.s.session.offers("user") {
		p.showAlert("Not available on this phone")
		return
	}
	p.closeMenu()
	p.s.entry.ask("User name (UPN):", func(user string) {
		p.s.entry.ask("Password:", func(password string) {
			if err := p.signInPassword(strings.TrimSpace(user), password); err != nil {
				p.logf("signin", "warn", "signin", "%v", err)
			}
		}).secret = true
	})
}

// signInPIN is PIN authentication, which only an on-premises account has.
func (p *Phone) signInPIN(extension, _ string) error {
	if p.signin == nil {
		return ErrNoSignIn
	}
	if !p.s.session.offers("pin") {
		p.showAlert("Not available on this phone")
		return fmt.Errorf("%w: pin", ErrMethodOffered)
	}
	if !p.signin.OnPremises {
		reason := "PIN authentication is for on-premises accounts only; use Web Sign-in"
		p.s.session.err, p.s.session.why = reason, whyPIN
		p.logf("signin", "warn", "signin", "PIN sign-in for %s refused: %s", extension, reason)
		p.showAlert("PIN Authentication not available")
		return fmt.Errorf("%w: %s", ErrMethodOffered, reason)
	}
	reason := "no on-premises PIN service is reachable"
	p.s.session.err, p.s.session.why = reason, whyPIN
	p.logf("signin", "err", "signin", "PIN sign-in for %s failed: %s", extension, reason)
	return errors.New(reason)
}

// signInFailed ends the attempt with the reason on the screen and in the
// log.
func (p *Phone) signInFailed(err error) {
	reason := idpReason(err)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && strings.Contains(strings.ToLower(re.ErrorDescription), "legacy") && !strings.Contains(strings.ToLower(reason), "web sign-in") {
		reason += "; use Web Sign-in"
	}
	p.endSession(idpProblem(err), reason)
	p.logf("signin", "err", "signin", "sign-in failed: %s", reason)
	p.showAlert(p.model.Vendor.SignIn.Failed)
}

// tokenSignedIn keeps the tokens and goes on to SIP. The access token's expiry
// runs on the phone's clock from expires_in.
func (p *Phone) tokenSignedIn(cfg *oauth2.Config, tok *oauth2.Token) {
	if tok.AccessToken == "" {
		p.signInFailed(errors.New("the provider answered without an access token"))
		return
	}
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	user, err := tokenUser(tok.AccessToken, p.signin.Issuer)
	if err != nil {
		p.signInFailed(err)
		return
	}
	if idt, ok := tok.Extra("id_token").(string); ok && user == "" {
		// An opaque access token: the ID token names the user.
		if user, err = tokenUser(idt, p.signin.Issuer); err != nil {
			p.signInFailed(err)
			return
		}
	}
	if user == "" {
		user = p.s.cfg.Account.User
	}
	t := &storedTokens{
		Issuer: p.signin.Issuer, ClientID: cfg.ClientID, Method: string(p.s.session.method), User: user,
		Access: tok.AccessToken, Refresh: tok.RefreshToken, Expiry: p.clock.Now().Add(life),
	}
	if err := p.saveTokens(t); err != nil {
		p.logf("signin", "err", "signin", "%v", err)
	}
	p.s.session.tok, p.s.session.err, p.s.session.why = t, "", ""
	p.logf("signin", "notice", "signin", "signed in as %s by %s, token valid for %v", user, t.Method, life)
	p.scheduleRefresh(cfg)
	p.signedInGoOn()
}

// signedInGoOn registers with the token where there is a SIP server; the
// session is signed in once registered (or at once without one).
func (p *Phone) signedInGoOn() {
	if p.s.cfg.Account.Server == "" {
		p.s.session.established()
		p.afterSignIn()
		return
	}
	p.startLine()
}

// afterSignIn runs once the user is signed in by an interactive method:
// the parts that act on a fresh sign-in do so here (the lock asks for its
// PIN).
func (p *Phone) afterSignIn() {
	p.s.lock.signedIn()
}

// tokenUser reads the user a JWT access token is for (preferred_username,
// upn or sub) and checks its issuer; an opaque token gives "". The
// signature is the resource server's to check (the registrar's).
func tokenUser(token, issuer string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", nil
	}
	var c struct {
		Iss  string `json:"iss"`
		Sub  string `json:"sub"`
		UPN  string `json:"upn"`
		Name string `json:"preferred_username"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", nil
	}
	if c.Iss != "" && strings.TrimRight(c.Iss, "/") != strings.TrimRight(issuer, "/") {
		return "", fmt.Errorf("the access token is from issuer %q, not %q", c.Iss, issuer)
	}
	for _, u := range []string{c.UPN, c.Name, c.Sub} {
		if u != "" {
			if name, _, ok := strings.Cut(u, "@"); ok && name != "" {
				return name, nil
			}
			return u, nil
		}
	}
	return "", nil
}

// scheduleRefresh renews the access token before it expires, on the
// phone's clock.
func (p *Phone) scheduleRefresh(cfg *oauth2.Config) {
	t := p.s.session.tok
	if t == nil || t.Refresh == "" {
		return
	}
	wait := max(t.Expiry.Sub(p.clock.Now())-refreshBefore, time.Second)
	p.tm.start(&p.s.session.refresh, wait, func() { p.refresh(cfg, nil) })
}

// refresh renews the tokens with the refresh-token grant (oauth2's
// TokenSource, handed a token without an access token so that it refreshes
// now rather than by the host's clock). then runs on success.
func (p *Phone) refresh(cfg *oauth2.Config, then func()) {
	t := p.s.session.tok
	if t == nil {
		return
	}
	if cfg == nil {
		cfg = p.oauthConfig(oauth2.Endpoint{})
		cfg.ClientID = t.ClientID
	}
	rt, issuer := t.Refresh, t.Issuer
	if rt == "" {
		p.signOut(whyEnded, "the token expired and there is no refresh token")
		return
	}
	p.idpDo(func(ctx context.Context) (any, error) {
		if cfg.Endpoint.TokenURL == "" {
			ep, err := discover(ctx, issuer)
			if err != nil {
				return nil, err
			}
			cfg.Endpoint.TokenURL = ep.TokenURL
		}
		return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	}, func(v any, err error) {
		if p.s.session.tok != t {
			return
		}
		var re *oauth2.RetrieveError
		switch {
		case err == nil:
			tok := v.(*oauth2.Token)
			life := time.Duration(tok.ExpiresIn) * time.Second
			if life <= 0 {
				life = time.Hour
			}
			nt := *t
			nt.Access, nt.Expiry = tok.AccessToken, p.clock.Now().Add(life)
			if tok.RefreshToken != "" {
				nt.Refresh = tok.RefreshToken
			}
			if err := p.saveTokens(&nt); err != nil {
				p.logf("signin", "err", "signin", "%v", err)
			}
			p.s.session.tok = &nt
			p.logf("signin", "info", "signin", "token refreshed, valid for %v", life)
			if l := p.s.line; l != nil {
				l.ua.SetBearer(nt.Access)
			}
			p.scheduleRefresh(cfg)
			if then != nil {
				then()
			}
		case errors.As(err, &re) && re.ErrorCode != "":
			p.signOut(sessionProblem(err), "refresh refused: "+idpReason(err))
		default:
			reason := idpReason(err)
			if p.clock.Now().After(t.Expiry) {
				p.s.session.err, p.s.session.why = reason, idpProblem(err)
			}
			p.logf("signin", "warn", "signin", "token refresh failed: %s; next try in %v", reason, idpRetry)
			p.tm.start(&p.s.session.refresh, idpRetry, func() { p.refresh(cfg, then) })
		}
	})
}

// tokenRefused handles the registrar refusing the access token: refresh
// once and register again; a second refusal signs out. It reports whether
// it took the failure over.
func (p *Phone) tokenRefused(reason string) bool {
	if p.s.session.tok == nil {
		return false
	}
	if p.s.session.refreshedForSIP {
		p.signOut(whyEnded, "the registrar refused the token: "+reason)
		return true
	}
	p.s.session.refreshedForSIP = true
	p.logf("signin", "warn", "signin", "the registrar refused the token (%s); refreshing it", reason)
	p.refresh(nil, func() {
		if l := p.s.line; l != nil {
			l.ua.Register(registerExpires)
		}
	})
	return true
}

// signOut clears the tokens, unregisters and ends the session for why (a
// key of catalog.SignInReasons), worded reason for the syslog and the
// sign-in error.
func (p *Phone) signOut(why, reason string) {
	hadTokens := p.s.session.tok != nil
	p.s.session.tok = nil
	if err := p.clearTokens(); err != nil {
		p.logf("signin", "err", "signin", "%v", err)
	}
	if p.signin != nil || hadTokens {
		p.stopLine(true)
	}
	p.endSession(why, reason)
	if why == whySignedOut {
		p.logf("signin", "notice", "signin", "signed out")
	} else {
		p.logf("signin", "err", "signin", "signed out: %s", reason)
	}
}

// reasonSignedOut is the sign-in error after the user signed out.
const reasonSignedOut = "signed out by the user"

// signInBoot restores a kept sign-in at boot; it reports whether the line
// may start (tokens kept). A phone without tokens stays signed out, or
// starts the configured method.
func (p *Phone) signInBoot() bool {
	t, err := p.loadTokens()
	if err != nil {
		p.logf("signin", "err", "signin", "%v; sign in again", err)
	}
	if t != nil && t.Issuer == p.signin.Issuer {
		p.s.session.tok = t
		p.s.session.method = signInMethod(t.Method)
		p.logf("signin", "info", "signin", "signed in as %s (kept from before the restart)", t.User)
		if !p.clock.Now().Before(t.Expiry.Add(-refreshBefore)) {
			p.refresh(nil, func() { p.signedInGoOn() })
			return false
		}
		cfg := p.oauthConfig(oauth2.Endpoint{})
		cfg.ClientID = t.ClientID
		p.scheduleRefresh(cfg)
		if p.s.cfg.Account.Server == "" {
			p.s.session.established()
			return false
		}
		return true
	}
	if m := signInMethod(p.signin.Method); m == "web" || m == "pc" {
		if err := p.signInWeb(m); err != nil {
			p.logf("signin", "warn", "signin", "%v", err)
		}
	}
	return false
}

// askPIN types the extension and PIN on the keypad.
func (p *Phone) askPIN() {
	p.closeMenu()
	p.s.entry.ask("Extension:", func(ext string) {
		p.s.entry.ask("PIN:", func(pin string) { _ = p.signInPIN(ext, pin) }).secret = true
	})
}

// SignInWeb starts web sign-in ("web") or sign-in via PC ("pc"), as the
// sign-in screen's softkey does; the code shows in the status once the
// provider gave it.
func (p *Phone) SignInWeb(method string) error {
	if method != "web" && method != "pc" {
		return fmt.Errorf("%w: %q is not a device-code method", ErrMethodOffered, method)
	}
	return p.doErr(func() error { return p.signInWeb(signInMethod(method)) })
}

// SignInPassword signs in with user credentials (the password grant).
func (p *Phone) SignInPassword(user, password string) error {
	return p.doErr(func() error { return p.signInPassword(user, password) })
}

// SignInPIN signs in with an extension and PIN (on-premises accounts).
func (p *Phone) SignInPIN(extension, pin string) error {
	return p.doErr(func() error { return p.signInPIN(extension, pin) })
}

// SignInRetry asks for a new web sign-in code after the last expired.
func (p *Phone) SignInRetry() error { return p.do(p.signInRetry) }

// SignOut signs out: tokens cleared, registration removed.
func (p *Phone) SignOut() error { return p.do(func() { p.signOut(whySignedOut, reasonSignedOut) }) }

// maxIdPResponse bounds what the phone reads of one answer of the identity
// provider.
const maxIdPResponse = 1 << 20

// addSignInActions puts the sign-in part's actions into the action table.
func addSignInActions(t *[catalog.ActionCount]func(*Phone)) {
	t[catalog.ActionSignInWeb] = func(p *Phone) { _ = p.signInWeb("web") }
	t[catalog.ActionSignInPC] = func(p *Phone) { _ = p.signInWeb("pc") }
	t[catalog.ActionSignInUser] = (*Phone).askCredentials
	t[catalog.ActionSignInPIN] = (*Phone).askPIN
	t[catalog.ActionSignInRetry] = (*Phone).signInRetry
	t[catalog.ActionSignInCancel] = (*Phone).signInCancel
	t[catalog.ActionSignOut] = func(p *Phone) { p.closeMenu(); p.signOut(whySignedOut, reasonSignedOut) }
}
