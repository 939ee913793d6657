package sipua

import (
	"errors"
	"fmt"
)

// The UA's errors. Callers test them with errors.Is and errors.As; the
// phone maps them to what its screen and status say.
var (
	// ErrNoCall: the call id names no call of this UA (it ended).
	ErrNoCall = errors.New("no such call")
	// ErrCallState: the call is not in a state the request applies to
	// (cancelling an answered call, answering one that does not ring).
	ErrCallState = errors.New("call is not in that state")
	// ErrRefused: the far end answered a request with a failure; the
	// *StatusError says which.
	ErrRefused = errors.New("request refused")
	// ErrBadResponse: the connection to the server was up, but what came
	// back could not be read as SIP (garbage, an oversized message, a
	// Content-Length that lies) or the server closed it without answering.
	ErrBadResponse = errors.New("bad response from server")
	// ErrNoBinding: the server answered a REGISTER with 200 but kept no
	// binding for our contact (Expires: 0, RFC 3261 10.3).
	ErrNoBinding = errors.New("the server kept no registration")
	// ErrNoChallenge: a 401/407 offered no digest challenge we support.
	ErrNoChallenge = errors.New("no digest challenge we support (MD5, SHA-256)")
	// ErrConfig: the UA cannot be built from its configuration.
	ErrConfig = errors.New("invalid UA configuration")
)

// StatusError is a final failure response to one of our requests.
type StatusError struct {
	Method string
	Code   int
	Reason string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s refused: %d %s", e.Method, e.Code, e.Reason)
}

// Unwrap lets errors.Is match ErrRefused.
func (e *StatusError) Unwrap() error { return ErrRefused }
