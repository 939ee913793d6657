// Package gateway is the mock cloud's Teams SIP Gateway: the provisioning
// service phones on their vendor's plain SIP firmware onboard with (per
// region, optionally tagged with a tenant for bulk sign-in), the device
// records, pairing-code sign-in, common-area enrollment, bulk sign-in, the
// feature codes' per-user settings and the offboarding of stale devices.
// Everything it counts runs on the cloud's clock.
//
// The SIP side (the registrar accepting the credentials it issues, the
// feature codes dialled, the check-sync NOTIFY, the routing of calls to a
// user with DND or forwarding) lives in package backend, which holds a
// *Service and calls the methods below; the Service reaches the rest of
// the cloud only through Config.
package gateway

import (
	"errors"
	"time"
)

// Device states, as the admin's device list and the phone's status show
// them.
const (
	StateSignedOut  = "signed-out"
	StateSignedIn   = "signed-in"
	StateOffboarded = "offboarded"
)

// User is what the gateway needs of one of the cloud's users.
type User struct {
	Name        string
	DisplayName string
	// Number is the user's phone number (the cloud's extension); "" means
	// no number is assigned ("User missing phone number assignment.").
	Number string
}

// Pairing is one pairing-code sign-in the identity provider runs on a
// device's behalf (the OAuth device authorization grant).
type Pairing struct {
	Code            string // as the phone shows it
	VerificationURI string
	Expires         time.Time
	Interval        time.Duration
	// Poll asks how it ends: ("", nil) while pending, (user, nil) once
	// approved, ErrPairingExpired or ErrPairingDenied.
	Poll func() (user string, err error)
	// Cancel, when set, tells the identity provider the pairing was
	// given up (a new one replaced it, the device signed in otherwise).
	Cancel func()
}

// Config is what the Service is given by the cloud.
type Config struct {
	Now func() time.Time
	// Lookup finds one of the cloud's users by name.
	Lookup func(name string) (User, bool)
	// StartPairing asks the identity provider for a device code whose
	// verification page names the device by label ("SIP device ...").
	StartPairing func(label string) (Pairing, error)
	// CheckSync tells the phone registered with account user to fetch its
	// provisioning again (a SIP NOTIFY, Event: check-sync); the
	// Service calls it after a sign-in, sign-out or enrollment done
	// elsewhere than on the phone. It must not block.
	CheckSync func(user string)
	// Registered says whether account user is registered now (a device
	// that is not is "offline").
	Registered func(user string) bool
	// After runs f once d passed on the cloud's clock (a bulk sign-in
	// batch is processed BatchProcessing after it is submitted); the
	// func it returns stops it. nil: batches are processed at once.
	After func(d time.Duration, f func()) (stop func() bool)
	// BatchDelay is that delay; 0 is BatchProcessing.
	BatchDelay time.Duration
	// Registrar is the SIP server phones register to: "sips:HOST:PORT".
	Registrar string
	// Domain is the SIP domain of the accounts it issues.
	Domain string
	// AddCommonArea, when set, finds or creates the cloud's user for a
	// common-area phone enrolled with *55*: name (cap- and the MAC's 12
	// hex digits), the location as display name, a number the cloud
	// picks. Nil: the account lives in the gateway only, numbered from
	// CommonAreaFirst.
	AddCommonArea func(name, displayName string) (User, error)
}

// Account is a SIP account the gateway issues to a device: the device's
// own while signed out, the user's (with a password for that device
// only) once signed in.
type Account struct {
	User        string `json:"user"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name,omitempty"`
	Number      string `json:"number,omitempty"`
}

// Settings are a user's gateway call settings the feature codes change.
type Settings struct {
	DND bool `json:"dnd"`
	// ForwardTo forwards every call (*33*NUMBER); "" is none.
	ForwardTo string `json:"forward_to,omitempty"`
	// ForwardNoAnswer forwards a call not answered in NoAnswerAfter
	// (*34*NUMBER, or voicemail for a bare *34*); "" is none.
	ForwardNoAnswer string `json:"forward_no_answer,omitempty"`
	// SimRing rings NUMBER beside the user's phone (*35*NUMBER).
	SimRing string `json:"sim_ring,omitempty"`
}

// NoAnswerAfter is how long a call rings before *34* forwards it.
const NoAnswerAfter = 20 * time.Second

// Errors a feature code or enrollment is refused with.
var (
	ErrUnknownCode    = errors.New("unknown feature code")
	ErrBadEnrollCode  = errors.New("the verification code is not valid")
	ErrUsedEnrollCode = errors.New("the verification code was already used")
	ErrNotDevice      = errors.New("not a gateway device")
	ErrPairingExpired = errors.New("the pairing code expired")
	ErrPairingDenied  = errors.New("the sign-in was declined")
)
