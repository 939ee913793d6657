package sipua

import "time"

// Event is something the UA reports to the phone.
type Event interface{ event() }

// Registered: the server accepted the registration for Expires.
type Registered struct {
	Expires    time.Duration
	TLSVersion uint16 // 0 when not over TLS
	// FlowTimer is the registrar's RFC 5626 Flow-Timer: how often it
	// wants keep-alives on the flow. Zero when the response has none.
	FlowTimer time.Duration
}

// RegisterFailed: the registration did not go through. Code is the SIP
// status (401, 403, 404, ...) or 0 when no response came (Err says why: a
// TLS failure, a refused connection, a timeout).
type RegisterFailed struct {
	Code   int
	Reason string
	Err    error
	// TokenError is the registrar's error_description when it refused the
	// bearer token the UA answered with (RFC 8898 invalid_token); empty
	// otherwise.
	TokenError string
}

// Unregistered: the registration was removed (Expires: 0 accepted).
type Unregistered struct{}

// CallProgress: the far end answered an outgoing call with a provisional
// response (180 Ringing, 183 Session Progress).
type CallProgress struct {
	ID     string
	Code   int
	Reason string
	// ForwardedTo is the party the proxy sent the call on to, when the
	// response says so (History-Info with a cause, or Diversion).
	ForwardedTo string
}

// CallAnswered: a call is established (outgoing: 200 received and ACKed;
// incoming: our 200 sent).
type CallAnswered struct {
	ID     string
	Remote string
	// ForwardedTo: as CallProgress's, from the 2xx of an outgoing call.
	ForwardedTo string
}

// CallRedirected: an outgoing call got a 3xx; Target is its first
// Contact's URI, "" when it had none. The UA has ended that INVITE; the
// phone decides whether to call Target.
type CallRedirected struct {
	ID     string
	Code   int
	Reason string
	Target string
}

// CallFailed: an outgoing call ended before it was answered. Code is the
// final status (486, 404, 480, 487 after CANCEL, ...), 0 when none came.
type CallFailed struct {
	ID     string
	Code   int
	Reason string
	Err    error
}

// CallEnded: an established call ended, by BYE from either side.
type CallEnded struct {
	ID       string
	ByRemote bool
}

// IncomingCall: an INVITE arrived and 180 Ringing went back.
type IncomingCall struct {
	ID          string
	From        string // user part or URI of the caller
	DisplayName string
}

// IncomingCancelled: the caller gave up before we answered.
type IncomingCancelled struct{ ID string }

// CallHoldChanged: the re-INVITE that holds (Hold) or resumes (!Hold) a
// call got its answer; Err says why it failed. Whether the call is held
// is the phone's to decide.
type CallHoldChanged struct {
	ID   string
	Hold bool
	Err  error
}

// TransferResult: the outcome of a blind transfer (REFER, then the NOTIFY
// sipfrag with the transfer target's final status).
type TransferResult struct {
	ID     string
	Target string
	Code   int
	Reason string // the reason phrase of a refusal (Code >= 300)
	Err    error
}

// Transferred: the far end of call ID transferred us (REFER): a new
// outgoing call NewID to Target has started in its place.
// Replaces is set for an attended transfer (the Refer-To carried
// Replaces): call ID stays until the transferor ends it.
type Transferred struct {
	ID       string
	NewID    string
	Target   string
	Replaces bool
}

// MessageWaiting: a message-summary NOTIFY (RFC 3842).
type MessageWaiting struct {
	Waiting  bool
	New, Old int
}

func (Registered) event()        {}
func (RegisterFailed) event()    {}
func (Unregistered) event()      {}
func (CallProgress) event()      {}
func (CallAnswered) event()      {}
func (CallFailed) event()        {}
func (CallRedirected) event()    {}
func (CallEnded) event()         {}
func (IncomingCall) event()      {}
func (IncomingCancelled) event() {}
func (CallHoldChanged) event()   {}
func (TransferResult) event()    {}
func (MessageWaiting) event()    {}
func (Transferred) event()       {}
