package signin

import (
	"context"
	"slices"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone/agenttimer"
)

// Env is what a Session needs of the phone it signs in for: the phone
// itself (Host) and the facts it names the device by.
type Env struct {
	Host
	// Dir is the phone's state directory, where the tokens are kept.
	Dir string
	// Manufacturer and Model name the phone to the provider.
	Manufacturer, Model string
	// FailedAlert is the vendor's words for a failed sign-in.
	FailedAlert string
}

// Host is the phone a Session signs in for. The Session is called on the
// phone's loop, and calls these methods there, but for Post, which the
// work Go runs calls to hand its result back.
type Host interface {
	Clock() clock.Clock
	// Log writes a syslog line of the sign-in part at level.
	Log(level, format string, args ...any)
	// Go runs f off the loop under the phone's lifetime: the phone's end
	// cancels ctx and waits for f. Called on the loop only.
	Go(f func(ctx context.Context))
	// Post hands f to the loop, reporting false when the loop has ended
	// (f never runs). Called from Go's goroutines.
	Post(f func()) bool
	// Hold keeps virtual time from jumping over an exchange until release
	// is called (the phone's in-flight tracker).
	Hold() (release func())
	// AfterFunc runs f on the loop after d on the phone's clock, unless
	// stop is called first.
	AfterFunc(d time.Duration, f func()) (stop func())
	// Alert shows a transient message.
	Alert(msg string)
	// CloseMenu leaves the menu when an interactive sign-in starts.
	CloseMenu()
	// User is the configured account's user, for tokens that name none.
	User() string
	// SignedIn: the tokens came; the phone goes on to register with them
	// (and calls Established once registered, or at once without a SIP
	// server).
	SignedIn()
	// Bearer hands a refreshed access token to the line; Register
	// registers again with it.
	Bearer(access string)
	Register()
	// StopLine ends the line, unregistering (a sign-out).
	StopLine()
	// Ended: the session ended; the phone ends what belongs to it.
	Ended()
}

// Session is the sign-in part of one phone: whether the phone has a
// signed-in user and how. A provisioned account (a digest password) signs
// in at boot; with an identity provider the phone boots signed out unless
// it kept tokens, and signs in by the firmware's methods.
type Session struct {
	env Env
	cfg *Config // nil: provisioned accounts only

	state  State
	method Method
	// fw is what the booted firmware offers.
	fw Firmware

	// gen is bumped whenever a sign-in starts, is cancelled or ends and at
	// every boot, so the answer of an identity provider request made for
	// an older attempt is dropped (see do).
	gen int
	// web is the device code being shown (web sign-in, via PC); nil when
	// none.
	web *deviceCode
	// busy: a request of the current attempt is out (password grant,
	// device authorization).
	busy bool
	// err is why the last sign-in failed or the session ended, as the
	// syslog and the status say it (raw: the provider's own words); why
	// is that reason's key in catalog.SignInReasons.
	err, why string
	// tok are the signed-in user's tokens; nil when signed out.
	tok *Tokens
	// refreshedForSIP: the registrar refused the token once and the phone
	// refreshed it; a second refusal signs out.
	refreshedForSIP bool
	// poll asks the provider whether the web sign-in is done; expiry ends
	// its code; refresh renews the tokens.
	poll, expiry, refresh timer
}

// New is the sign-in part of a phone, signed out; cfg nil: the phone has
// provisioned accounts only.
func New(env Env, cfg *Config) *Session {
	return &Session{env: env, cfg: cfg, state: SignedOut}
}

// Boot starts the session afresh for a booted firmware: signed out, every
// answer still out dropped.
func (s *Session) Boot(fw Firmware) {
	s.stopTimers()
	*s = Session{env: s.env, cfg: s.cfg, gen: s.gen + 1, state: SignedOut, fw: fw}
}

// Configured reports whether the phone signs in with an identity provider.
func (s *Session) Configured() bool { return s.cfg != nil }

// State is where the phone stands with its account.
func (s *Session) State() State { return s.state }

// Method is how the user signs or signed in ("" when signed out).
func (s *Session) Method() Method { return s.method }

// Err is why the last sign-in failed or the session ended, raw; Why is
// its key in catalog.SignInReasons.
func (s *Session) Err() string { return s.err }

// Why is the key of Err in catalog.SignInReasons.
func (s *Session) Why() string { return s.why }

// Tokens are the signed-in user's tokens, nil when there are none.
func (s *Session) Tokens() *Tokens { return s.tok }

// Busy reports whether a request of the current attempt is out.
func (s *Session) Busy() bool { return s.busy }

// Code is the web sign-in code on the screen, its address and the time it
// has left; "" when none is shown.
func (s *Session) Code() (code, u string, left time.Duration) {
	dc := s.web
	if dc == nil || dc.expired {
		return "", "", 0
	}
	return dc.userCode, dc.url, max(dc.expiry.Sub(s.env.Clock().Now()), 0)
}

// Expired reports whether the web sign-in code expired (the screen offers
// a new one).
func (s *Session) Expired() bool { return s.web != nil && s.web.expired }

// Start begins signing in with method: the line registers for a
// provisioned account or with the tokens of the signed-in user.
func (s *Session) Start(method Method) { s.state, s.method = SigningIn, method }

// Established records that the sign-in succeeded (registered, or tokens
// without a SIP server). It reports whether a user just signed in by an
// interactive method, which the parts acting on a fresh sign-in answer
// (the lock asks for its PIN).
func (s *Session) Established() bool {
	fresh := s.state != SignedIn && s.method != "" && s.method != Provisioned
	s.state, s.refreshedForSIP = SignedIn, false
	return fresh
}

// Lost goes back to signing in with the same method (a failed or lost
// registration is retried).
func (s *Session) Lost() { s.state = SigningIn }

// End is the one way a session ends, whatever ends it (the user, the
// provider, the registrar, the lock): the attempt is forgotten, answers
// still out are dropped, the timers stop, and why (a key of
// catalog.SignInReasons), worded err, is kept; then the phone ends what
// belongs to the session.
func (s *Session) End(why, err string) {
	s.stopTimers()
	s.state, s.method, s.why, s.err = SignedOut, "", why, err
	s.gen++
	s.web, s.busy = nil, false
	s.env.Ended()
}

// Offers reports whether the firmware offers method.
func (s *Session) Offers(method string) bool { return slices.Contains(s.fw.Offered, method) }

// SignedInBy is the interactive method the user signed in with ("" when
// signed out or on a provisioned account): what the lock part asks when it
// wants a PIN after an identity-provider sign-in.
func (s *Session) SignedInBy() Method {
	if s.state != SignedIn || s.method == Provisioned {
		return ""
	}
	return s.method
}

func (s *Session) stopTimers() {
	s.poll.Stop()
	s.expiry.Stop()
	s.refresh.Stop()
}

// timer is one of the session's timers; its zero value is stopped.
type timer = agenttimer.Timer

// start (re)starts t: f runs on the loop after d on the phone's clock.
func (s *Session) start(t *timer, d time.Duration, f func()) { t.Start(s.env.AfterFunc, d, f) }
