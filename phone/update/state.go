package update

import (
	"errors"
	"fmt"
)

// State is the agent's progress, the phone's `update` status key.
type State int

// Update states.
const (
	Unknown State = iota
	None
	Available
	Downloading
	Installing
	Postponed
	Verifying
	Rebooting
	Failed
	RolledBack
	LoopStopped
)

var stateNames = []string{"unknown", "none", "available", "downloading", "installing", "postponed", "verifying", "rebooting", "failed", "rolled-back", "loop-stopped"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("unknown(%d)", int(s))
	}
	return stateNames[s]
}

// Status is what the agent shows in the phone's status.
type Status struct {
	State State
	// Version is the version the status is about: the one offered, else
	// the one on trial.
	Version  string
	Progress int // percent of the download
	// Error is what went wrong last, raw (the screen words it).
	Error string
	// Slot holds the running firmware: "a" or "b".
	Slot string
}

// Errors the agent's requests return, wrapped in the message a user reads.
var (
	// ErrNoUpdate: nothing to act on (no service, no offer, updates
	// disabled or stopped).
	ErrNoUpdate = errors.New("no update")
	// ErrInCall: a call is in progress, which no update interrupts.
	ErrInCall = errors.New("a call is in progress")
)

// refusal keeps the message a user reads (headless replies print it as it
// always was) while errors.Is finds its sentinel.
type refusal struct {
	msg  string
	kind error
}

func (e *refusal) Error() string { return e.msg }
func (e *refusal) Unwrap() error { return e.kind }

func refuse(kind error, format string, args ...any) error {
	return &refusal{msg: fmt.Sprintf(format, args...), kind: kind}
}
