// The sign-in agent: interactive sign-in, the tokens' life, sign-out.

package signin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Firmware is what the booted firmware says of sign-in.
type Firmware struct {
	Version string
	// Offered are its sign-in methods (the catalog's).
	Offered []string
	// ClientID is the catalog's client ID for its client ID kind.
	ClientID string
}

// notOffered is the alert for a method the firmware does not offer.
const notOffered = "Not available on this phone"

// begin starts an interactive sign-in: a new attempt, older answers
// dropped.
func (s *Session) begin(method Method) error {
	if s.cfg == nil {
		return ErrNoSignIn
	}
	if !s.Offers(string(method)) {
		s.env.Alert(notOffered)
		return fmt.Errorf("%w: %s (firmware %s offers %s)", ErrMethodOffered, method, s.fw.Version, strings.Join(s.fw.Offered, ", "))
	}
	if s.tok != nil {
		s.SignOut(WhySignedOut, "signed out to sign in again")
	}
	s.stopTimers()
	s.gen++
	s.web, s.err, s.why, s.busy = nil, "", "", true
	s.Start(method)
	s.env.CloseMenu()
	return nil
}

// Retry asks for a new code after the last one expired.
func (s *Session) Retry() {
	if s.web == nil || !s.web.expired {
		return
	}
	_ = s.Web(s.method)
}

// Cancel drops the attempt (the screen goes back to the sign-in menu).
func (s *Session) Cancel() {
	if s.state != SigningIn || s.tok != nil {
		return
	}
	s.End(WhyCancelled, "sign-in cancelled")
	s.env.Log("info", "sign-in cancelled")
}

// Password signs in with user credentials: the resource-owner password
// grant.
func (s *Session) Password(user, password string) error {
	if err := s.begin("user"); err != nil {
		return err
	}
	issuer := s.cfg.Issuer
	cfg := s.oauthConfig(oauth2.Endpoint{})
	s.env.Log("info", "user credentials sign-in as %s at %s", user, issuer)
	s.do(func(ctx context.Context) (any, error) {
		ep, err := discover(ctx, issuer)
		if err != nil {
			return nil, err
		}
		cfg.Endpoint.TokenURL = ep.TokenURL
		return cfg.PasswordCredentialsToken(ctx, user, password)
	}, func(v any, err error) {
		s.busy = false
		if err != nil {
			s.failed(err)
			return
		}
		s.tokensCame(cfg, v.(*oauth2.Token))
	})
	return nil
}

// MayAskCredentials reports whether the keypad may ask for user
// credentials; it alerts when not.
func (s *Session) MayAskCredentials() bool {
	if s.cfg == nil || !s.Offers("user") {
		s.env.Alert(notOffered)
		return false
	}
	return true
}

// PIN is PIN authentication, which only an on-premises account has.
func (s *Session) PIN(extension, _ string) error {
	if s.cfg == nil {
		return ErrNoSignIn
	}
	if !s.Offers("pin") {
		s.env.Alert(notOffered)
		return fmt.Errorf("%w: pin", ErrMethodOffered)
	}
	if !s.cfg.OnPremises {
		reason := "PIN authentication is for on-premises accounts only; use Web Sign-in"
		s.err, s.why = reason, WhyPIN
		s.env.Log("warn", "PIN sign-in for %s refused: %s", extension, reason)
		s.env.Alert("PIN Authentication not available")
		return fmt.Errorf("%w: %s", ErrMethodOffered, reason)
	}
	reason := "no on-premises PIN service is reachable"
	s.err, s.why = reason, WhyPIN
	s.env.Log("err", "PIN sign-in for %s failed: %s", extension, reason)
	return errors.New(reason)
}

// failed ends the attempt with the reason on the screen and in the log.
func (s *Session) failed(err error) {
	reason := idpReason(err)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && strings.Contains(strings.ToLower(re.ErrorDescription), "legacy") && !strings.Contains(strings.ToLower(reason), "web sign-in") {
		reason += "; use Web Sign-in"
	}
	s.End(idpProblem(err), reason)
	s.env.Log("err", "sign-in failed: %s", reason)
	s.env.Alert(s.env.FailedAlert)
}

// tokensCame keeps the tokens and goes on to SIP. The access token's
// expiry runs on the phone's clock from expires_in.
func (s *Session) tokensCame(cfg *oauth2.Config, tok *oauth2.Token) {
	if tok.AccessToken == "" {
		s.failed(errors.New("the provider answered without an access token"))
		return
	}
	life := tokenLife(tok)
	user, err := tokenUser(tok.AccessToken, s.cfg.Issuer)
	if err != nil {
		s.failed(err)
		return
	}
	if idt, ok := tok.Extra("id_token").(string); ok && user == "" {
		// An opaque access token: the ID token names the user.
		if user, err = tokenUser(idt, s.cfg.Issuer); err != nil {
			s.failed(err)
			return
		}
	}
	if user == "" {
		user = s.env.User()
	}
	t := &Tokens{
		Issuer: s.cfg.Issuer, ClientID: cfg.ClientID, Method: string(s.method), User: user,
		Access: tok.AccessToken, Refresh: tok.RefreshToken, Expiry: s.env.Clock().Now().Add(life),
	}
	if err := saveTokens(s.env.Dir, t); err != nil {
		s.env.Log("err", "%v", err)
	}
	s.tok, s.err, s.why = t, "", ""
	s.env.Log("notice", "signed in as %s by %s, token valid for %v", user, t.Method, life)
	s.scheduleRefresh(cfg)
	s.env.SignedIn()
}

// tokenLife is how long an access token lives: its expires_in, an hour
// when the provider says nothing.
func tokenLife(tok *oauth2.Token) time.Duration {
	if life := time.Duration(tok.ExpiresIn) * time.Second; life > 0 {
		return life
	}
	return time.Hour
}

// scheduleRefresh renews the access token before it expires, on the
// phone's clock.
func (s *Session) scheduleRefresh(cfg *oauth2.Config) {
	t := s.tok
	if t == nil || t.Refresh == "" {
		return
	}
	wait := max(t.Expiry.Sub(s.env.Clock().Now())-refreshBefore, time.Second)
	s.start(&s.refresh, wait, func() { s.renew(cfg, nil) })
}

// renew renews the tokens with the refresh-token grant (oauth2's
// TokenSource, handed a token without an access token so that it refreshes
// now rather than by the host's clock). then runs on success.
func (s *Session) renew(cfg *oauth2.Config, then func()) {
	t := s.tok
	if t == nil {
		return
	}
	if cfg == nil {
		cfg = s.oauthConfig(oauth2.Endpoint{})
		cfg.ClientID = t.ClientID
	}
	rt, issuer := t.Refresh, t.Issuer
	if rt == "" {
		s.SignOut(WhyEnded, "the token expired and there is no refresh token")
		return
	}
	s.do(func(ctx context.Context) (any, error) {
		if cfg.Endpoint.TokenURL == "" {
			ep, err := discover(ctx, issuer)
			if err != nil {
				return nil, err
			}
			cfg.Endpoint.TokenURL = ep.TokenURL
		}
		return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	}, func(v any, err error) {
		if s.tok != t {
			return
		}
		var re *oauth2.RetrieveError
		switch {
		case err == nil:
			tok := v.(*oauth2.Token)
			life := tokenLife(tok)
			nt := *t
			nt.Access, nt.Expiry = tok.AccessToken, s.env.Clock().Now().Add(life)
			if tok.RefreshToken != "" {
				nt.Refresh = tok.RefreshToken
			}
			if err := saveTokens(s.env.Dir, &nt); err != nil {
				s.env.Log("err", "%v", err)
			}
			s.tok = &nt
			s.env.Log("info", "token refreshed, valid for %v", life)
			s.env.Bearer(nt.Access)
			s.scheduleRefresh(cfg)
			if then != nil {
				then()
			}
		case errors.As(err, &re) && re.ErrorCode != "":
			s.SignOut(sessionProblem(err), "refresh refused: "+idpReason(err))
		default:
			reason := idpReason(err)
			if s.env.Clock().Now().After(t.Expiry) {
				s.err, s.why = reason, idpProblem(err)
			}
			s.env.Log("warn", "token refresh failed: %s; next try in %v", reason, idpRetry)
			s.start(&s.refresh, idpRetry, func() { s.renew(cfg, then) })
		}
	})
}

// TokenRefused handles the registrar refusing the access token: refresh
// once and register again; a second refusal signs out. It reports whether
// it took the failure over.
func (s *Session) TokenRefused(reason string) bool {
	if s.tok == nil {
		return false
	}
	if s.refreshedForSIP {
		s.SignOut(WhyEnded, "the registrar refused the token: "+reason)
		return true
	}
	s.refreshedForSIP = true
	s.env.Log("warn", "the registrar refused the token (%s); refreshing it", reason)
	s.renew(nil, s.env.Register)
	return true
}

// EndOfLife handles the registrar refusing the firmware (403 3PIP End Of
// Life): a signed-in session ends with the reason, as a refresh the
// provider refuses for it does. It reports whether it took the failure
// over (false without tokens: the line shows it).
func (s *Session) EndOfLife(reason string) bool {
	if s.tok == nil {
		return false
	}
	s.SignOut(WhyEndOfLife, "the registrar refused the firmware: "+reason)
	return true
}

// SignOut clears the tokens, unregisters and ends the session for why (a
// key of catalog.SignInReasons), worded reason for the syslog and the
// sign-in error.
func (s *Session) SignOut(why, reason string) {
	hadTokens := s.tok != nil
	s.tok = nil
	if err := clearTokens(s.env.Dir); err != nil {
		s.env.Log("err", "%v", err)
	}
	if s.cfg != nil || hadTokens {
		s.env.StopLine()
	}
	s.End(why, reason)
	if why == WhySignedOut {
		s.env.Log("notice", "signed out")
	} else {
		s.env.Log("err", "signed out: %s", reason)
	}
}

// Restore brings back a kept sign-in at boot; it reports whether the line
// may start (tokens kept and fresh, and a SIP server to register with). A
// phone without tokens stays signed out, or starts the configured method.
func (s *Session) Restore(hasServer bool) bool {
	t, err := loadTokens(s.env.Dir)
	if err != nil {
		s.env.Log("err", "%v; sign in again", err)
	}
	if t != nil && t.Issuer == s.cfg.Issuer {
		s.tok = t
		s.method = Method(t.Method)
		s.env.Log("info", "signed in as %s (kept from before the restart)", t.User)
		if !s.env.Clock().Now().Before(t.Expiry.Add(-refreshBefore)) {
			s.renew(nil, s.env.SignedIn)
			return false
		}
		cfg := s.oauthConfig(oauth2.Endpoint{})
		cfg.ClientID = t.ClientID
		s.scheduleRefresh(cfg)
		if !hasServer {
			s.Established()
			return false
		}
		return true
	}
	if m := Method(s.cfg.Method); m == "web" || m == "pc" {
		if err := s.Web(m); err != nil {
			s.env.Log("warn", "%v", err)
		}
	}
	return false
}
