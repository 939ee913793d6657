// The phone's side of its SIP user agent: what the line asks of it, so a
// test can put a scripted line (phonetest) where the real one would be.

package phone

import (
	"context"
	"errors"
	"time"

	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone/sipua"
)

// SIPLine is what the phone asks of its SIP user agent. *sipua.UA is the
// real one; the UA reports back through the events function it was made
// with, and the phone acts on each event on its loop.
type SIPLine interface {
	Register(expires time.Duration)
	Unregister(ctx context.Context) error
	KeepAlive() error
	SubscribeMWI(expires time.Duration)
	SubscribeProvisioning(expires time.Duration)
	SetCodecOrder(order string)
	SetBearer(token string)
	Invite(target string) (string, error)
	Cancel(id string) error
	Answer(id string) error
	Reject(id string, code int) error
	// Redirect answers the ringing incoming call id with 302 Moved
	// Temporarily, target in its Contact and a Diversion with reason (RFC
	// 5806: unconditional, user-busy, no-answer): call forwarding.
	Redirect(id, target, reason string) error
	Hangup(id string) error
	Hold(id string, hold bool) error
	Transfer(id, target string) error
	// TransferReplacing REFERs call id's far end to call other's, replacing
	// other (attended transfer).
	TransferReplacing(id, other string) error
	Media(id string) (*media.Session, error)
	LocalAddr() string
	// Busy reports a request waiting for its answer (Settled reads it).
	Busy() bool
	Close() error
}

// NewSIPLine makes the phone's user agent for an account: cfg is what the
// phone would give sipua.New, events where the line reports.
type NewSIPLine func(cfg sipua.Config, events func(sipua.Event)) (SIPLine, error)

// WithSIPLine replaces the phone's SIP user agent with the one f makes, at
// every boot: a scripted line for tests of the phone's own states.
func WithSIPLine(f NewSIPLine) Option {
	return func(p *Phone) error {
		if f == nil {
			return errors.New("no SIP line")
		}
		p.newLine = f
		return nil
	}
}

// newUA is the real line.
func newUA(cfg sipua.Config, events func(sipua.Event)) (SIPLine, error) {
	return sipua.New(cfg, events)
}
