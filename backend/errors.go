package backend

import "errors"

// Sentinel errors. Methods wrap them with context; test with errors.Is.
var (
	// ErrConfig means a Config field is invalid; the message says which.
	ErrConfig = errors.New("invalid configuration")

	// ErrUsersFile means the users file could not be read or is invalid;
	// the message gives every problem at its FILE:LINE:COL.
	ErrUsersFile = errors.New("invalid users file")

	// ErrInvalidUser means a User fails validation (empty name or
	// password, bad characters, non-numeric extension, reserved name).
	ErrInvalidUser = errors.New("invalid user")

	// ErrUserExists means AddUser was given a name or extension that is
	// already taken (by a user or a service).
	ErrUserExists = errors.New("user exists")

	// ErrUnknownUser means no user has that name or extension.
	ErrUnknownUser = errors.New("unknown user")

	// ErrUnknownRoot means RotateCertificate or Config.ServerRoot named a
	// root that is not an embedded factory root.
	ErrUnknownRoot = errors.New("unknown factory root")

	// ErrStarted means Start was called twice.
	ErrStarted = errors.New("already started")

	// ErrClosed means the backend has been closed.
	ErrClosed = errors.New("closed")

	// errFlowFailed means the connection a phone registered on is gone; a
	// phone behind TLS or TCP does not listen, so there is no other way
	// to it (430 Flow Failed, RFC 5626).
	errFlowFailed = errors.New("flow failed")
)
