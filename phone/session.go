package phone

import "github.com/deskphone/deskphone/phone/catalog"

// signInMethod is how the phone's user signed in: one of the firmware's
// sign-in methods from the catalog (user, web, pin, pc, usb), or
// signInProvisioned.
type signInMethod string

// signInProvisioned is an account given in the phone's configuration (the
// state directory, run --user/--password): the phone signs in with it at
// every boot, without asking anyone.
const signInProvisioned signInMethod = "provisioned"

// session is the sign-in part: whether the phone has a signed-in user and
// how. Today the only way in is a provisioned account, whose SIP
// registration the line part runs; an interactive sign-in (user, PIN, web
// code) adds its states and timers here, offered as the firmware allows.
type session struct {
	state  Session
	method signInMethod
	// offered are the firmware's sign-in methods; clientID the kind of
	// client ID it signs in with. Both come from the booted firmware.
	offered  []string
	clientID string
}

// newSession is the session part at boot: signed out.
func newSession(fw *catalog.Firmware) session {
	return session{state: SignedOut, offered: fw.SignIn, clientID: fw.ClientID}
}

// start begins signing in with method.
func (s *session) start(method signInMethod) { s.state, s.method = SigningIn, method }

// established records that the sign-in succeeded.
func (s *session) established() { s.state = SignedIn }

// lost goes back to signing in with the same method (a failed or lost
// registration is retried).
func (s *session) lost() { s.state = SigningIn }

// end signs out.
func (s *session) end() { s.state, s.method = SignedOut, "" }
