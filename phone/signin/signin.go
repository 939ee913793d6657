// Package signin is the phone's sign-in part: whether the phone has a
// signed-in user and how, and the agent that signs in with an OpenID
// Connect provider (the password grant, RFC 8628 web sign-in and sign-in
// via PC, token refresh) and keeps the tokens in the state directory.
//
// A Session lives on the phone's loop: the phone calls it there, and it
// reaches the phone only through its Env (clock, log, work off the loop
// under the phone's lifetime, timers on the loop, the state directory and
// the few things it asks of the rest of the phone).
package signin

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Errors of the sign-in part.
var (
	ErrNoSignIn      = errors.New("no identity provider configured")
	ErrMethodOffered = errors.New("sign-in method not offered")
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
	// codeLifeDefault is a device code's life when the provider's answer
	// gives none oauth2 understood.
	codeLifeDefault = 15 * time.Minute
	// maxIdPResponse bounds what the phone reads of one answer of the
	// identity provider.
	maxIdPResponse = 1 << 20
)

// Config configures sign-in with an OpenID Connect provider.
type Config struct {
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

// Check validates c and fills in its defaults.
func (c *Config) Check() error {
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("sign-in: issuer %q: want an http(s) URL", c.Issuer)
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"openid", "offline_access", "sip"}
	}
	return nil
}

// Method is how the phone's user signed in: one of the firmware's sign-in
// methods from the catalog (user, web, pin, pc, usb), or Provisioned.
type Method string

// Provisioned is an account given in the phone's configuration (the state
// directory, run --user/--password): the phone signs in with it at every
// boot, without asking anyone.
const Provisioned Method = "provisioned"

// State is where the phone stands with its account.
type State int

// Session states.
const (
	Unknown State = iota
	SignedOut
	SigningIn
	SignedIn
)

var stateNames = []string{"unknown", "signed-out", "signing-in", "signed-in"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("unknown(%d)", int(s))
	}
	return stateNames[s]
}

// Reasons a session ends for, beyond the provider's (see Problem): keys of
// catalog.SignInReasons, which the screen words in the vendor's way.
const (
	WhySignedOut   = "signed_out"
	WhyCancelled   = "cancelled"
	WhyEnded       = "ended"
	WhyTooManyPINs = "too_many_pins"
	WhyLineFailed  = "line_failed"
	WhyPIN         = "pin_unavailable"
	// WhyEndOfLife: the cloud no longer serves Skype for Business (3PIP)
	// firmware: its provider refuses grants (unauthorized_client with
	// suberror 3pip_end_of_life), its registrar REGISTER (403 3PIP End Of
	// Life).
	WhyEndOfLife = "3pip_end_of_life"
)

// ReasonSignedOut is the sign-in error after the user signed out.
const ReasonSignedOut = "signed out by the user"
