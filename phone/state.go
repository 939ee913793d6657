package phone

// The phone's state is split into independent dimensions so that later
// capabilities (sign-in, lock, update) add a dimension instead of multiplying
// the states of one big machine.

// Session is where the phone stands with its account.
type Session int

// Session states.
const (
	SessionUnknown Session = iota
	SignedOut
	SigningIn
	SignedIn
)

func (s Session) String() string {
	return [...]string{"unknown", "signed-out", "signing-in", "signed-in"}[s]
}

// LockState is the phone lock (Device-Lock or Phone-Lock by firmware).
type LockState int

// Lock states.
const (
	LockUnknown LockState = iota
	Unlocked
	Locked
)

func (s LockState) String() string { return [...]string{"unknown", "unlocked", "locked"}[s] }

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
)

func (s CallState) String() string {
	return [...]string{"unknown", "idle", "dialing", "calling", "ringing", "connected", "held"}[s]
}

// UpdateState is the firmware self-update agent's progress.
type UpdateState int

// Update states.
const (
	UpdateUnknown UpdateState = iota
	UpdateNone
	UpdatePending
	UpdateDownloading
	UpdateInstalling
)

func (s UpdateState) String() string {
	return [...]string{"unknown", "none", "pending", "downloading", "installing"}[s]
}

// AudioPath is where the phone's audio goes; any path but AudioNone is off-hook.
type AudioPath int

// Audio paths.
const (
	AudioNone AudioPath = iota
	AudioHandset
	AudioSpeaker
	AudioHeadset
)

func (a AudioPath) String() string {
	return [...]string{"none", "handset", "speaker", "headset"}[a]
}

// LED is the state of one indicator light.
type LED int

// LED states.
const (
	LEDOff LED = iota
	LEDOn
	LEDBlink
)

func (l LED) String() string { return [...]string{"off", "on", "blink"}[l] }
