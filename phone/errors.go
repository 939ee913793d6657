package phone

import (
	"errors"
	"fmt"
)

// Errors the phone's public methods return, wrapped with context. A control
// API maps them to its own codes with errors.Is instead of reading messages.
var (
	// ErrClosed: the phone has been closed (or its context ended).
	ErrClosed = errors.New("phone is closed")
	// ErrStarted: Start was called a second time.
	ErrStarted = errors.New("phone already started")
	// ErrNotStarted: an input or query came before Start.
	ErrNotStarted = errors.New("phone not started")
	// ErrStuck: the loop did not stop when the phone was closed.
	ErrStuck = errors.New("phone loop did not stop")
	// ErrUnknownKey: no such hard key.
	ErrUnknownKey = errors.New("unknown key")
	// ErrNoSuchSoftkey: the softkey position or label is not on the screen.
	ErrNoSuchSoftkey = errors.New("no such softkey")
	// ErrNotAsking: text was typed while no text entry is open.
	ErrNotAsking = errors.New("the phone is not asking for text")
	// ErrBusy: the phone is in a state that refuses the request (a call
	// while another is up, a firmware install during a call).
	ErrBusy = errors.New("phone is busy")
	// ErrNoCall: the request needs a call in progress.
	ErrNoCall = errors.New("no call in progress")
	// ErrNoMedia: the phone carries no audio (built without a media engine).
	ErrNoMedia = errors.New("no media engine")
	// ErrNotDialable: a character that is not on the keypad.
	ErrNotDialable = errors.New("not on the keypad")
	// ErrBadSource: an audio source spec that cannot be played.
	ErrBadSource = errors.New("bad audio source")
	// ErrBadForward: a call forwarding without a known mode, a target or
	// a sane no-answer time.
	ErrBadForward = errors.New("bad call forwarding")
)

// phoneError keeps the message a user reads (headless replies print it as
// it always was) while errors.Is finds both its sentinel and its cause.
type phoneError struct {
	msg   string
	kind  error
	cause error
}

func (e *phoneError) Error() string { return e.msg }

func (e *phoneError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// errorf formats a message like fmt.Errorf (a %w verb names the cause) and
// tags it with the sentinel kind.
func errorf(kind error, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &phoneError{msg: err.Error(), kind: kind, cause: errors.Unwrap(err)}
}
