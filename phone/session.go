package phone

import (
	"time"

	"github.com/deskphone/deskphone/phone/catalog"
)

// signInMethod is how the phone's user signed in: one of the firmware's
// sign-in methods from the catalog (user, web, pin, pc, usb), or
// signInProvisioned.
type signInMethod string

// signInProvisioned is an account given in the phone's configuration (the
// state directory, run --user/--password): the phone signs in with it at
// every boot, without asking anyone.
const signInProvisioned signInMethod = "provisioned"

// session is the sign-in part: whether the phone has a signed-in user and
// how. A provisioned account (a digest password) signs in at boot; with an
// identity provider (WithSignIn) the phone boots signed out unless it kept
// tokens, and signs in by the firmware's methods (signin.go).
type session struct {
	state  Session
	method signInMethod
	// offered are the firmware's sign-in methods; clientID the kind of
	// client ID it signs in with. Both come from the booted firmware.
	offered  []string
	clientID string

	// gen is bumped whenever a sign-in starts, is cancelled or ends, so the
	// answer of an identity provider request made for an older attempt is
	// dropped.
	gen int
	// web is the device code being shown (web sign-in, via PC); nil when
	// none.
	web *deviceCode
	// busy: a request of the current attempt is out (password grant,
	// device authorization).
	busy bool
	// err is why the last sign-in failed or the session ended, as the
	// syslog and the status say it (raw: the provider's own words); why
	// is that reason's key in catalog.SignInReasons, which the screen
	// words in the vendor's way.
	err, why string
	// tok are the signed-in user's tokens; nil when signed out.
	tok *storedTokens
	// refreshedForSIP: the registrar refused the token once and the phone
	// refreshed it; a second refusal signs out.
	refreshedForSIP bool
	// poll asks the provider whether the web sign-in is done; expiry
	// ends its code; refresh renews the tokens.
	poll, expiry, refresh timer
}

// deviceCode is a web sign-in code on the screen (RFC 8628).
type deviceCode struct {
	deviceCode string // secret: never logged
	userCode   string
	url        string
	expiry     time.Time // phone clock
	interval   time.Duration
	expired    bool
}

// newSession is the session part at boot: signed out.
func newSession(fw *catalog.Firmware) session {
	return session{state: SignedOut, offered: fw.SignIn, clientID: fw.ClientID}
}

// start begins signing in with method.
func (s *session) start(method signInMethod) { s.state, s.method = SigningIn, method }

// established records that the sign-in succeeded.
func (s *session) established() { s.state, s.refreshedForSIP = SignedIn, false }

// lost goes back to signing in with the same method (a failed or lost
// registration is retried).
func (s *session) lost() { s.state = SigningIn }

// end signs out for a reason (a key of catalog.SignInReasons) worded
// err. Answers of the provider still out are dropped.
func (s *session) end(why, err string) {
	s.state, s.method, s.why, s.err = SignedOut, "", why, err
	s.gen++
	s.web, s.busy = nil, false
}

// Reasons a session ends for, beyond the provider's (idpProblem).
const (
	whySignedOut   = "signed_out"
	whyCancelled   = "cancelled"
	whyEnded       = "ended"
	whyTooManyPINs = "too_many_pins"
	whyLineFailed  = "line_failed"
	whyPIN         = "pin_unavailable"
)

// endSession is the one way a session ends, whatever ends it (the user,
// the provider, the registrar, the lock): the sign-in part forgets the
// attempt and keeps why, and what belongs to the session ends with it:
// the sign-in timers, an open PIN entry (a PIN typed after the session
// ended would be saved for nobody), a call or a number being dialled
// whose line is gone, the voice messages of the user's mailbox.
func (p *Phone) endSession(why, err string) {
	p.stopSignInTimers()
	p.s.session.end(why, err)
	p.s.entry.sessionEnded()
	if p.s.line == nil {
		p.s.calls.endAll()
		p.s.mwi = 0
	}
}

// offers reports whether the firmware offers method.
func (s *session) offers(method string) bool {
	for _, m := range s.offered {
		if m == method {
			return true
		}
	}
	return false
}

// signedInBy is the interactive method the user signed in with ("" when
// signed out or on a provisioned account): what the lock part asks when it
// wants a PIN after an identity-provider sign-in.
func (s *session) signedInBy() signInMethod {
	if s.state != SignedIn || s.method == signInProvisioned {
		return ""
	}
	return s.method
}
