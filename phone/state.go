package phone

import (
	"fmt"

	"github.com/deskphone/deskphone/phone/signin"
)

// The phone's state is split into independent dimensions, each held by the
// part of the firmware that owns it (phone/signin, lock.go, update.go, the
// line's call appearance), so that later capabilities add a dimension or a
// value instead of multiplying the states of one big machine.

// stateName is the name of v in names, or unknown(v) for a value outside
// them: printing a state never panics.
func stateName(names []string, v int) string {
	if v < 0 || v >= len(names) {
		return fmt.Sprintf("unknown(%d)", v)
	}
	return names[v]
}

// Session is where the phone stands with its account (the sign-in part's
// state, phone/signin).
type Session = signin.State

// Session states.
const (
	SessionUnknown = signin.Unknown
	SignedOut      = signin.SignedOut
	SigningIn      = signin.SigningIn
	SignedIn       = signin.SignedIn
)

// LockState is the phone lock (Device-Lock or Phone-Lock by firmware).
type LockState int

// Lock states.
const (
	LockUnknown LockState = iota
	Unlocked
	Locked
	// LockNone: no PIN protects the phone.
	LockNone
)

var lockNames = []string{"unknown", "unlocked", "locked", "none"}

func (s LockState) String() string { return stateName(lockNames, int(s)) }

// CallState is the state of the phone's one call appearance.
type CallState int

// Call states. Dialing collects digits; Calling waits for the far end.
const (
	CallUnknown CallState = iota
	CallIdle
	CallDialing
	CallCalling
	CallRinging
	CallConnected
	CallHeld
	numCallStates
)

var callNames = []string{"unknown", "idle", "dialing", "calling", "ringing", "connected", "held"}

func (s CallState) String() string { return stateName(callNames, int(s)) }

// AudioPath is where the phone's audio goes; any path but AudioNone is off-hook.
type AudioPath int

// Audio paths.
const (
	AudioNone AudioPath = iota
	AudioHandset
	AudioSpeaker
	AudioHeadset
)

var audioNames = []string{"none", "handset", "speaker", "headset"}

func (a AudioPath) String() string { return stateName(audioNames, int(a)) }

// LED is the state of one indicator light.
type LED int

// LED states.
const (
	LEDOff LED = iota
	LEDOn
	LEDBlink
)

var ledNames = []string{"off", "on", "blink"}

func (l LED) String() string { return stateName(ledNames, int(l)) }
